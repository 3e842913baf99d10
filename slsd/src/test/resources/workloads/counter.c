/* A counter that keeps a buffer and its checksum under a seqlock, and reports itself.
 * usage: counter OUT BUF_KIB [PERIOD_MS [PAGES_PER_ROUND]] (8 pages a round unless told, scattered)
 * OUT gets "state=0x.. buf=0x.. len=N" once, then "counter=N sum=X" every period. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/mman.h>

struct state { volatile uint64_t seq; volatile uint64_t counter; volatile uint64_t sum; uint64_t magic; };
static struct state st = { 0, 0, 0, 0x534c53434f554e54ULL };

static uint64_t checksum(const uint64_t *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    return h;
}

int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    size_t len = (size_t) atol(argv[2]) * 1024;
    long period = argc > 3 ? atol(argv[3]) : 100;
    size_t per = argc > 4 ? (size_t) atol(argv[4]) : 8;
    uint64_t *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    size_t n = len / 8;
    for (size_t i = 0; i < n; i++) buf[i] = i * 2654435761ULL;
    setvbuf(out, NULL, _IOLBF, 0);
    fprintf(out, "state=%p buf=%p len=%zu\n", (void *) &st, (void *) buf, len);
    for (uint64_t c = 1;; c++) {
        st.seq++;
        __sync_synchronize();
        size_t pages = n / 512;
        for (size_t k = 0; k < per; k++) buf[((c * 131 + k * 977) % pages) * 512 + (c % 512)] += c;
        st.sum = checksum(buf, n);
        st.counter = c;
        __sync_synchronize();
        st.seq++;
        fprintf(out, "counter=%llu sum=%llx\n", (unsigned long long) c, (unsigned long long) st.sum);
        struct timespec ts = { period / 1000, (period % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
}
