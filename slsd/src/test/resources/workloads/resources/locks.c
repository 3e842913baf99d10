// File locks across a checkpoint. argv: OUT DIR.
// The process takes an flock write lock on DIR/a, a POSIX write lock on bytes 0-99 of DIR/b and an
// OFD read lock on bytes 200-299 of DIR/b. A forked checker (a process of its own, with fresh open
// files) reports what another process sees: "PREFIX flock=busy|free posix=TYPE/PID free=0|1 ofd=TYPE";
// once before the checkpoint ("before"), once after OUT.go ("after"). A forked child shares the
// flock'ed open file: after the "after" check it releases the flock through its own fd (the lock
// is the open file's), the process drops its POSIX lock, and the checker sees both free ("dropped").
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[4096], go[4096], a[4096], b[4096];

static const char *type(short t) { return t == F_RDLCK ? "read" : t == F_WRLCK ? "write" : "none"; }

static void check(const char *prefix, pid_t owner) {
    fflush(NULL);
    pid_t c = fork();
    if (c == 0) {
        int fa = open(a, O_RDWR);
        int fb = open(b, O_RDWR);
        int busy = flock(fa, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
        struct flock p = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 5};
        fcntl(fb, F_GETLK, &p);
        struct flock f = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 150, .l_len = 10};
        fcntl(fb, F_GETLK, &f);
        struct flock o = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 250, .l_len = 1};
        fcntl(fb, F_OFD_GETLK, &o);
        FILE *fo = fopen(out, "a");
        fprintf(fo, "%s flock=%s posix=%s/%s free=%d ofd=%s\n", prefix, busy ? "busy" : "free", type(p.l_type),
                p.l_pid == owner ? "owner" : "other", f.l_type == F_UNLCK, type(o.l_type));
        fclose(fo);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

int main(int argc, char **argv) {
    snprintf(out, sizeof out, "%s", argv[1]);
    snprintf(go, sizeof go, "%s.go", argv[1]);
    snprintf(a, sizeof a, "%s/a", argv[2]);
    snprintf(b, sizeof b, "%s/b", argv[2]);
    int fa = open(a, O_RDWR | O_CREAT, 0600);
    int fb = open(b, O_RDWR | O_CREAT, 0600);
    int fo = open(b, O_RDWR);
    flock(fa, LOCK_EX);
    struct flock p = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
    fcntl(fb, F_SETLK, &p);
    struct flock o = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 100};
    fcntl(fo, F_OFD_SETLK, &o);
    int down[2], up[2];
    pipe(down);
    pipe(up);
    if (fork() == 0) {
        char c;
        read(down[0], &c, 1);
        flock(fa, LOCK_UN);
        write(up[1], "u", 1);
        for (;;) pause();
    }
    check("before", getpid());
    FILE *f = fopen(out, "a");
    fprintf(f, "ready\n");
    fclose(f);
    while (access(go, F_OK) != 0) usleep(10000);
    check("after", getpid());
    char c;
    write(down[1], "d", 1);
    read(up[0], &c, 1);
    p.l_type = F_UNLCK;
    fcntl(fb, F_SETLK, &p);
    check("dropped", getpid());
    f = fopen(out, "a");
    fprintf(f, "done\n");
    fclose(f);
    for (;;) pause();
}
