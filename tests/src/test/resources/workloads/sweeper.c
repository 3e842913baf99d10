/* Sweeps 2048 pages (8 MiB) one at a time, about one every 100 us, writing the pass number into
 * each, and after each page the number of steps so far into one more page, rewritten at every
 * step. Before it writes page i in pass p it checks that the page holds p - 1 and that the steps
 * page holds (p - 1) * 2048 + i: memory restored from a checkpoint that mixed pages of different
 * moments (a page kept from a copy made before the freeze although it was written since, as the
 * steps page always is) is caught within a pass (about 0.3 s). Appends to the report file given
 * as argv[1] "pid=P pass=N ok=1" at each pass, and "bad page=I holds=H pass=N" on a mismatch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGES 2048

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: sweeper REPORT\n"); return 2; }
    volatile uint64_t *m = mmap(NULL, (PAGES + 1) * 4096L, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) { perror("mmap"); return 1; }
    madvise((void *) m, (PAGES + 1) * 4096L, MADV_NOHUGEPAGE); /* the same on machines with THP "always" */
    for (long i = 0; i <= PAGES; i++) m[i * 512] = 0;
    volatile uint64_t *steps = m + PAGES * 512;
    struct timespec pause = {0, 100 * 1000};
    int bad = 0;
    for (uint64_t pass = 1;; pass++) {
        for (long i = 0; i < PAGES; i++) {
            uint64_t held = m[i * 512], done = *steps, expect = (pass - 1) * PAGES + i;
            if ((held != pass - 1 || done != expect) && !bad) {
                FILE *f = fopen(argv[1], "a");
                fprintf(f, "bad page=%ld holds=%llu pass=%llu steps=%llu expected=%llu\n", i, (unsigned long long) held,
                        (unsigned long long) pass, (unsigned long long) done, (unsigned long long) expect);
                fclose(f);
                bad = 1;
            }
            m[i * 512] = pass;
            *steps = expect + 1;
            nanosleep(&pause, NULL);
        }
        FILE *f = fopen(argv[1], "a");
        fprintf(f, "pid=%d pass=%llu ok=%d\n", (int) getpid(), (unsigned long long) pass, !bad);
        fclose(f);
    }
}
