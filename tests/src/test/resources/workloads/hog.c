/* Touches argv[2] MiB of distinct non-zero pages (so none is stored as a hole) and reports
 * "pid=P tick=N" to argv[1] every 50 ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    size_t mib = (size_t)atol(argv[2]);
    unsigned char *m = malloc(mib << 20);
    for (size_t i = 0; i < (mib << 20); i += 64) m[i] = (unsigned char)(i * 7 + 1);
    for (unsigned long tick = 1;; tick++) {
        FILE *f = fopen(argv[1], "a");
        if (f) { fprintf(f, "pid=%d tick=%lu\n", getpid(), tick); fclose(f); }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
