/* Holds a userfaultfd of its own (a kind sls refuses: it cannot be recreated faithfully) and
 * reports "fd=N tick=T" to argv[1] every 50 ms. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
    if (fd < 0) { perror("userfaultfd"); return 1; }
    for (unsigned long tick = 1;; tick++) {
        FILE *f = fopen(argv[1], "a");
        if (f) { fprintf(f, "fd=%d tick=%lu\n", fd, tick); fclose(f); }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
