/* Holds an eventfd (a kind the checkpoint engine refuses for now) and reports liveness. */
#include <stdio.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fd = eventfd(0, 0);
    unsigned long n = 0;
    for (;;) {
        FILE *f = fopen(argv[1], "a");
        if (f) { fprintf(f, "fd=%d tick=%lu\n", fd, ++n); fclose(f); }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
