/* A region most of which every round rewrites (a "hot" one), then rounds that write little and zap.
 * One round per SIGUSR1, "round n=N sum=X" after each; on SIGUSR2 "report n=N sum=X" (computed again).
 * rounds 1-5: every page of the 128-page region written
 * round 6:    pages 40-55 zapped with MADV_DONTNEED, pages 0-9 written
 * round 7:    page 100 written, page 5 zapped
 * round 8+:   page 7 written
 * usage: hotpages OUT */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#define PAGES 128
#define LEN (PAGES * 4096UL)
static volatile sig_atomic_t go, report;
static void on_usr1(int s) { (void) s; go++; }
static void on_usr2(int s) { (void) s; report++; }
static uint64_t sum(const void *p, size_t len) {
    const uint64_t *q = p; uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len / 8; i++) { h ^= q[i]; h *= 1099511628211ULL; }
    return h;
}
static void fill(char *page, int n) { for (int i = 0; i < 4096; i += 8) page[i] = (char) (n * 31 + i / 8); }
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t both, waitmask;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    sigprocmask(SIG_BLOCK, &both, &waitmask);
    /* PROT_NONE on both sides: the region stays a VMA of its own */
    char *base = mmap(NULL, LEN + 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *m = mmap(base + 4096, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    for (int n = 1;; n++) {
        if (n <= 5) {
            for (int p = 0; p < PAGES; p++) fill(m + p * 4096UL, n + p);
        } else if (n == 6) {
            madvise(m + 40 * 4096UL, 16 * 4096UL, MADV_DONTNEED);
            for (int p = 0; p < 10; p++) fill(m + p * 4096UL, n + p);
        } else if (n == 7) {
            fill(m + 100 * 4096UL, n);
            madvise(m + 5 * 4096UL, 4096, MADV_DONTNEED);
        } else {
            fill(m + 7 * 4096UL, n);
        }
        fprintf(out, "round n=%d sum=%llx\n", n, (unsigned long long) sum(m, LEN));
        int seen = go;
        while (go == seen) {
            int r = report;
            sigsuspend(&waitmask);
            if (report != r) fprintf(out, "report n=%d sum=%llx\n", n, (unsigned long long) sum(m, LEN));
        }
    }
}
