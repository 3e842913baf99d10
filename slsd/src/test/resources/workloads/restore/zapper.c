/* Changes its memory layout one phase per SIGUSR1; on SIGUSR2 recomputes and reports its sums.
 * "phase=N a=.. b=.. c=.. heap=.. suma=X sumb=X sumc=X sumheap=X sumstack=X" after each phase and
 * "report phase=N suma=X ..." on SIGUSR2 (same sums, computed again from memory).
 * phase 1: regions a, b, c (64 pages each) filled, stack frames filled
 * phase 2: half of a zapped with MADV_DONTNEED, b unmapped and mapped again (fresh, partly written),
 *          c moved and grown with mremap, heap grown with sbrk and written, stack grown by recursion
 * phase 3: a's zapped half written again in part, c written at its new place
 * usage: zapper OUT */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#define PAGES 64
#define LEN (PAGES * 4096UL)
static volatile sig_atomic_t go, report;
static void on_usr1(int s) { (void) s; go++; }
static void on_usr2(int s) { (void) s; report++; }
static uint64_t sum(const void *p, size_t len) {
    const uint64_t *q = p; uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len / 8; i++) { h ^= q[i]; h *= 1099511628211ULL; }
    return h;
}
static char *stackbuf; static size_t stacklen;
static void deep(int n, int fill) {
    char frame[8192];
    memset(frame, (n + fill) & 0xff, sizeof frame);
    if (n > 0) { deep(n - 1, fill); __asm__ volatile("" ::: "memory"); return; }
    stackbuf = frame; stacklen = sizeof frame;
    __asm__ volatile("" ::: "memory");
}
static char *a, *b, *c, *heap; static size_t heaplen, clen = LEN;
static void print(FILE *out, const char *what, int phase) {
    fprintf(out, "%s phase=%d suma=%llx sumb=%llx sumc=%llx sumheap=%llx\n", what, phase,
            (unsigned long long) sum(a, LEN), (unsigned long long) sum(b, LEN), (unsigned long long) sum(c, clen),
            (unsigned long long) (heaplen ? sum(heap, heaplen) : 0));
}
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    a = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    b = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    c = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    heap = sbrk(0);
    sigset_t block, waitmask;
    sigemptyset(&block); sigaddset(&block, SIGUSR1); sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &waitmask); /* signals arrive only inside sigsuspend: no lost wake-up */
    sigdelset(&waitmask, SIGUSR1); sigdelset(&waitmask, SIGUSR2);
    for (int phase = 1; phase <= 3; phase++) {
        if (phase == 1) {
            for (size_t i = 0; i < LEN; i++) { a[i] = (char) (i * 7); b[i] = (char) (i * 11); c[i] = (char) (i * 13); }
            deep(4, 1);
        } else if (phase == 2) {
            madvise(a, LEN / 2, MADV_DONTNEED);
            munmap(b, LEN);
            b = mmap(b, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            memset(b + 8 * 4096, 0x5a, 4096);
            c = mremap(c, LEN, LEN * 2, MREMAP_MAYMOVE | MREMAP_FIXED, c + 64 * LEN);
            clen = 2 * LEN;
            heaplen = 40 * 4096;
            heap = sbrk(heaplen);
            memset(heap, 0x77, heaplen);
            deep(16, 2);
        } else {
            memset(a + 4096 * 3, 0x33, 4096 * 2);
            memset(c + LEN, 0x44, 4096);
        }
        print(out, "phase", phase);
        int seen = go;
        while (go == seen) {
            int r = report;
            sigsuspend(&waitmask);
            if (report != r) print(out, "report", phase);
        }
    }
    for (;;) { int r = report; sigsuspend(&waitmask); if (report != r) print(out, "report", 4); }
}
