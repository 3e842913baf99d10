/* Holds the write end of a pipe whose read end belongs to a child that is not in the partition,
 * and reports "pid=P fd=N count=C" to argv[1]; the child reports its pid as "child=Q". */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int p[2];
    if (pipe(p) != 0) { perror("pipe"); return 1; }
    pid_t child = fork();
    if (child == 0) {
        close(p[1]);
        char buf[256];
        for (;;) { if (read(p[0], buf, sizeof buf) <= 0) pause(); }
    }
    close(p[0]);
    FILE *f = fopen(argv[1], "a");
    if (f) { fprintf(f, "child=%d\n", child); fclose(f); }
    for (unsigned long count = 1;; count++) {
        f = fopen(argv[1], "a");
        if (f) { fprintf(f, "pid=%d fd=%d count=%lu\n", getpid(), p[1], count); fclose(f); }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
