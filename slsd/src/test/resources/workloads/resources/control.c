// A client of slsd's control socket across a checkpoint. argv: OUT SOCKET MODE.
// Connects to SOCKET and reports "ready fd=N". MODE "block": reads at once (blocked in read(2),
// as a client waiting for its answer); MODE "wait": waits for OUT.go first. Either way it then
// reads until EOF and reports what it read and whether a write fails with EPIPE.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char out[4096], go[4096];

static void say(const char *s) {
    FILE *f = fopen(out, "a");
    fprintf(f, "%s\n", s);
    fclose(f);
}

int main(int argc, char **argv) {
    snprintf(out, sizeof out, "%s", argv[1]);
    snprintf(go, sizeof go, "%s.go", argv[1]);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {0};
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[2]);
    if (connect(s, (struct sockaddr *) &a, sizeof a) != 0) {
        perror("connect");
        return 1;
    }
    char line[8192];
    snprintf(line, sizeof line, "ready fd=%d", s);
    say(line);
    if (strcmp(argv[3], "wait") == 0) {
        while (access(go, F_OK) != 0) usleep(10000);
    }
    static char buf[65536];
    int total = 0, r;
    while (total < (int) sizeof buf - 1 && (r = read(s, buf + total, sizeof buf - 1 - total)) > 0) {
        total += r;
    }
    buf[total] = 0;
    if (total > 0 && buf[total - 1] == '\n') buf[total - 1] = 0;
    int w = send(s, "x", 1, MSG_NOSIGNAL);
    snprintf(line, sizeof line, "read bytes=%d eof=%d epipe=%d text=%s", total, r == 0, w < 0 && errno == EPIPE, buf);
    say(line);
    return 0;
}
