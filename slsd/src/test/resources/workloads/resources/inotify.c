// inotify across a checkpoint. argv: OUT DIR.
// Watches DIR (IN_CREATE) and DIR/f (IN_MODIFY), with a watch added and removed in between so that
// the wds are 1 and 3; the IN_IGNORED of the removal is read before "ready". After OUT.go: creates
// DIR/new and writes DIR/f, then reports the events read: "events wd_dir=1 wd_file=3 create=WD:NAME
// modify=WD" (the first file created).
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

static char out[4096], go[4096];

int main(int argc, char **argv) {
    snprintf(out, sizeof out, "%s", argv[1]);
    snprintf(go, sizeof go, "%s.go", argv[1]);
    char f[4096], x[4096], n[4096];
    snprintf(f, sizeof f, "%s/f", argv[2]);
    snprintf(x, sizeof x, "%s/x", argv[2]);
    snprintf(n, sizeof n, "%s/new", argv[2]);
    close(open(f, O_WRONLY | O_CREAT, 0600));
    close(open(x, O_WRONLY | O_CREAT, 0600));
    int in = inotify_init1(IN_NONBLOCK);
    int wd_dir = inotify_add_watch(in, argv[2], IN_CREATE);
    int wd_x = inotify_add_watch(in, x, IN_MODIFY);
    int wd_file = inotify_add_watch(in, f, IN_MODIFY);
    inotify_rm_watch(in, wd_x);
    char buf[4096] __attribute__((aligned(8)));
    while (read(in, buf, sizeof buf) > 0) { }
    FILE *o = fopen(out, "a");
    fprintf(o, "ready\n");
    fclose(o);
    while (access(go, F_OK) != 0) usleep(10000);

    close(open(n, O_WRONLY | O_CREAT, 0600));
    int fd = open(f, O_WRONLY);
    write(fd, "x", 1);
    close(fd);
    char create[300] = "none", modify[32] = "none";
    for (int tries = 0; tries < 100 && (!strcmp(create, "none") || !strcmp(modify, "none")); tries++) {
        struct pollfd p = {in, POLLIN, 0};
        poll(&p, 1, 100);
        ssize_t len = read(in, buf, sizeof buf);
        for (char *q = buf; len > 0 && q < buf + len;) {
            struct inotify_event *e = (struct inotify_event *) q;
            if ((e->mask & IN_CREATE) && !strcmp(create, "none")) snprintf(create, sizeof create, "%d:%s", e->wd, e->len ? e->name : "");
            if (e->mask & IN_MODIFY) snprintf(modify, sizeof modify, "%d", e->wd);
            q += sizeof *e + e->len;
        }
    }
    o = fopen(out, "a");
    fprintf(o, "events wd_dir=%d wd_file=%d create=%s modify=%s\n", wd_dir, wd_file, create, modify);
    fclose(o);
    for (;;) pause();
}
