/* Sweeps 2048 pages (8 MiB) one at a time, writing the pass number into each, and between two
 * pages counts 200000 ticks in one more page, rewritten at every tick (so always written between
 * any two moments). Before it writes page i in pass p it checks that the page holds p - 1, and
 * before each tick that the ticks page holds the ticks so far: memory restored from a checkpoint
 * that mixed pages of different moments (a page kept from a copy made before the freeze although
 * it was written since, as the ticks page always is) is caught at once or within a pass (a
 * fraction of a second). It runs a core flat out. Appends to the report file given
 * as argv[1] "pid=P pass=N ok=1" at each pass, and "bad page=I holds=H pass=N" on a mismatch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 2048
#define TICKS 200000

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: sweeper REPORT\n"); return 2; }
    volatile uint64_t *m = mmap(NULL, (PAGES + 1) * 4096L, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) { perror("mmap"); return 1; }
    madvise((void *) m, (PAGES + 1) * 4096L, MADV_NOHUGEPAGE); /* the same on machines with THP "always" */
    for (long i = 0; i <= PAGES; i++) m[i * 512] = 0;
    volatile uint64_t *ticks = m + PAGES * 512;
    int bad = 0;
    for (uint64_t pass = 1;; pass++) {
        for (long i = 0; i < PAGES; i++) {
            uint64_t held = m[i * 512];
            if (held != pass - 1 && !bad) {
                FILE *f = fopen(argv[1], "a");
                fprintf(f, "bad page=%ld holds=%llu pass=%llu\n", i, (unsigned long long) held, (unsigned long long) pass);
                fclose(f);
                bad = 1;
            }
            m[i * 512] = pass;
            uint64_t base = ((pass - 1) * PAGES + i) * TICKS;
            for (uint64_t k = 0; k < TICKS; k++) {
                uint64_t t = *ticks;
                if (t != base + k && !bad) {
                    FILE *f = fopen(argv[1], "a");
                    fprintf(f, "bad ticks=%llu expected=%llu pass=%llu\n", (unsigned long long) t,
                            (unsigned long long) (base + k), (unsigned long long) pass);
                    fclose(f);
                    bad = 1;
                }
                *ticks = base + k + 1;
            }
        }
        FILE *f = fopen(argv[1], "a");
        fprintf(f, "pid=%d pass=%llu ok=%d\n", (int) getpid(), (unsigned long long) pass, !bad);
        fclose(f);
    }
}
