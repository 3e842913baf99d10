// Pipes and a FIFO holding bytes across a checkpoint. argv: OUT FIFO.
// p1: parent -> child, 5000 bytes buffered; the parent closes its end after restore, so the child
// must see exactly those bytes and then EOF. p2: inside the parent, 1 MiB pipe, 150000 bytes,
// read end O_NONBLOCK. The FIFO holds "fifo-data". Both wait for OUT.go, then report to OUT.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[4096], go[4096];

static void report(const char *fmt, long a, long b, long c, long d) {
    FILE *f = fopen(out, "a");
    fprintf(f, fmt, a, b, c, d);
    fclose(f);
}

static void waitgo(void) {
    while (access(go, F_OK) != 0) usleep(10000);
}

int main(int argc, char **argv) {
    snprintf(out, sizeof out, "%s", argv[1]);
    snprintf(go, sizeof go, "%s.go", argv[1]);
    int p1[2], p2[2];
    pipe(p1);
    pipe(p2);
    mkfifo(argv[2], 0600);
    int fifo = open(argv[2], O_RDWR);
    write(fifo, "fifo-data", 9);
    pid_t child = fork();
    if (child == 0) {
        close(p1[1]);
        close(p2[0]);
        close(p2[1]);
        close(fifo);
        waitgo();
        char buf[8192];
        long total = 0, bad = 0;
        ssize_t n;
        while ((n = read(p1[0], buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < n; i++) if (buf[i] != (char) ('a' + (total + i) % 26)) bad++;
            total += n;
        }
        report("child bytes=%ld bad=%ld eof=%ld x=%ld\n", total, bad, n == 0, 0);
        return 0;
    }
    close(p1[0]);
    char *b = malloc(150000);
    for (long i = 0; i < 150000; i++) b[i] = (char) ('a' + i % 26);
    write(p1[1], b, 5000);
    fcntl(p2[1], F_SETPIPE_SZ, 1 << 20);
    write(p2[1], b, 150000);
    fcntl(p2[0], F_SETFL, O_NONBLOCK);
    report("ready child=%ld x=%ld x=%ld x=%ld\n", child, 0, 0, 0);
    waitgo();
    close(p1[1]);
    long total = 0, bad = 0;
    ssize_t n;
    char buf[65536];
    while ((n = read(p2[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) if (buf[i] != (char) ('a' + (total + i) % 26)) bad++;
        total += n;
    }
    long nonblock = (fcntl(p2[0], F_GETFL) & O_NONBLOCK) != 0;
    long size = fcntl(p2[1], F_GETPIPE_SZ);
    char fb[64] = {0};
    fcntl(fifo, F_SETFL, O_NONBLOCK);
    ssize_t fn = read(fifo, fb, sizeof fb);
    report("parent bytes=%ld bad=%ld nonblock=%ld size=%ld\n", total, bad, nonblock, size);
    report("parent fifo=%ld fifo_ok=%ld x=%ld x=%ld\n", fn, fn == 9 && memcmp(fb, "fifo-data", 9) == 0, 0, 0);
    int st;
    waitpid(child, &st, 0);
    report("done x=%ld x=%ld x=%ld x=%ld\n", 0, 0, 0, 0);
    return 0;
}
