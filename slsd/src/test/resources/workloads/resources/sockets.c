// Unix sockets across a checkpoint. argv: OUT PATH ABSTRACT.
// Parent: stream pair (a has "ping" queued, b has "pong-xyz"), dgram pair (3 messages on a),
// seqpacket pair (2 messages on b), a listener on PATH and one on @ABSTRACT, and the accepted end
// of a connection whose client end the child holds (the child queued "from-child" to it, the
// parent queued "to-child"). After OUT.go both report.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[4096], go[4096];

static void say(const char *s) {
    FILE *f = fopen(out, "a");
    fprintf(f, "%s\n", s);
    fclose(f);
}

static void waitgo(void) {
    while (access(go, F_OK) != 0) usleep(10000);
}

static socklen_t addr(struct sockaddr_un *a, const char *name, int abstract) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (abstract) {
        strcpy(a->sun_path + 1, name);
        return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
    }
    strcpy(a->sun_path, name);
    return sizeof *a;
}

static int rd(int fd, char *buf, int n) {
    int r = recv(fd, buf, n - 1, MSG_DONTWAIT);
    buf[r < 0 ? 0 : r] = 0;
    return r;
}

int main(int argc, char **argv) {
    snprintf(out, sizeof out, "%s", argv[1]);
    snprintf(go, sizeof go, "%s.go", argv[1]);
    int st[2], dg[2], sp[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, st);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, dg);
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp);
    send(st[1], "ping", 4, 0);
    send(st[0], "pong-", 5, 0);
    send(st[0], "xyz", 3, 0);
    send(dg[1], "m1", 2, 0);
    send(dg[1], "m22", 3, 0);
    send(dg[1], "m333", 4, 0);
    send(sp[0], "s1", 2, 0);
    send(sp[0], "s22", 3, 0);
    struct sockaddr_un a;
    int lp = socket(AF_UNIX, SOCK_STREAM, 0);
    unlink(argv[2]);
    bind(lp, (struct sockaddr *) &a, addr(&a, argv[2], 0));
    listen(lp, 7);
    int la = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(la, (struct sockaddr *) &a, addr(&a, argv[3], 1));
    listen(la, 5);
    pid_t child = fork();
    if (child == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(c, (struct sockaddr *) &a, addr(&a, argv[2], 0));
        send(c, "from-child", 10, 0);
        waitgo();
        char buf[64];
        rd(c, buf, sizeof buf);
        char line[128];
        snprintf(line, sizeof line, "child got=%s", buf);
        say(line);
        return 0;
    }
    int acc = accept(lp, NULL, NULL);
    send(acc, "to-child", 8, 0);
    usleep(100000);
    char line[512];
    snprintf(line, sizeof line, "ready child=%d", child);
    say(line);
    waitgo();
    char b1[64], b2[64], d1[16], d2[16], d3[16], d4[16], s1[16], s2[16], fc[64];
    rd(st[0], b1, sizeof b1);
    rd(st[1], b2, sizeof b2);
    rd(dg[0], d1, sizeof d1);
    rd(dg[0], d2, sizeof d2);
    rd(dg[0], d3, sizeof d3);
    int none = rd(dg[0], d4, sizeof d4);
    rd(sp[1], s1, sizeof s1);
    rd(sp[1], s2, sizeof s2);
    rd(acc, fc, sizeof fc);
    // the pairs still talk
    send(st[1], "again", 5, 0);
    char b3[16];
    usleep(1000);
    rd(st[0], b3, sizeof b3);
    // the listeners still accept
    int c1 = socket(AF_UNIX, SOCK_STREAM, 0), c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    int ok1 = connect(c1, (struct sockaddr *) &a, addr(&a, argv[2], 0)) == 0 && accept(lp, NULL, NULL) >= 0;
    int ok2 = connect(c2, (struct sockaddr *) &a, addr(&a, argv[3], 1)) == 0 && accept(la, NULL, NULL) >= 0;
    snprintf(line, sizeof line, "parent st=%s,%s,%s dg=%s,%s,%s,%d sp=%s,%s acc=%s listen=%d,%d", b1, b2, b3, d1, d2,
             d3, none, s1, s2, fc, ok1, ok2);
    say(line);
    int status;
    waitpid(child, &status, 0);
    say("done");
    return 0;
}
