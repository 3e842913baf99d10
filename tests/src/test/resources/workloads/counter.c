/* A counter that keeps its state in memory: every 50 ms it bumps a counter, rewrites a 4 MiB
 * buffer derived from it and appends "count=N sum=S" to the report file given as argv[1].
 * After a restore it must carry on from the checkpointed count with a matching checksum. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUF (4 << 20)

static uint64_t checksum(const unsigned char *b, size_t n) {
    uint64_t s = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i += 64) { s ^= b[i]; s *= 1099511628211ULL; }
    return s;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: counter REPORT\n"); return 2; }
    unsigned char *buf = malloc(BUF);
    uint64_t count = 0;
    for (;;) {
        count++;
        for (size_t i = 0; i < BUF; i += 64) buf[i] = (unsigned char)(count * 31 + i / 64);
        uint64_t sum = checksum(buf, BUF);
        /* the expected sum is recomputed from count alone: memory and counter must agree */
        uint64_t expect = 1469598103934665603ULL;
        for (size_t i = 0; i < BUF; i += 64) { expect ^= (unsigned char)(count * 31 + i / 64); expect *= 1099511628211ULL; }
        FILE *f = fopen(argv[1], "a");
        if (f) { fprintf(f, "pid=%d count=%llu sum=%llu ok=%d\n", getpid(), (unsigned long long)count,
                         (unsigned long long)sum, sum == expect); fclose(f); }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
