/* Read-only private mappings side by side, as a library's are, changed between checkpoints; one
 * SIGUSR1 per phase, reporting after each: "phase=N m=0x.. len=N sum=X" (sum over all of m).
 * m: 12 pages of a file of 0x66 bytes mapped privately, then 4 anonymous pages, in four VMAs that
 * touch: file pages 0-3 r--, 4-7 r-x, 8-11 r--, anonymous 12-15 r--.
 * phase 1: pages 1, 5, 9 and 13 written (private copies of 1, 5 and 9) before the protections
 * phase 2: page 6 written by making 4-7 writable and read-only again (the VMAs are as before),
 *          page 1 zapped (back to the file's bytes), page 9 zapped and written as zeros
 * phase 3: nothing changes */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#define PAGE 4096UL
static volatile sig_atomic_t go;
static void on_usr1(int s) { (void) s; go++; }
static uint64_t sum(const void *p, size_t len) {
    const uint64_t *q = p; uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len / 8; i++) { h ^= q[i]; h *= 1099511628211ULL; }
    return h;
}
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, unblocked;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &unblocked);
    char path[4096];
    snprintf(path, sizeof path, "%s.data", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char fill[PAGE];
    memset(fill, 0x66, sizeof fill);
    for (int i = 0; i < 12; i++) write(fd, fill, sizeof fill);
    char *m = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mmap(m, 12 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
    close(fd);
    for (int phase = 1; phase <= 3; phase++) {
        if (phase == 1) {
            memset(m + 1 * PAGE, 0x11, PAGE);
            memset(m + 5 * PAGE, 0x55, PAGE);
            memset(m + 9 * PAGE, 0x99, PAGE);
            memset(m + 13 * PAGE, 0xdd, PAGE);
            mprotect(m, 4 * PAGE, PROT_READ);
            mprotect(m + 4 * PAGE, 4 * PAGE, PROT_READ | PROT_EXEC);
            mprotect(m + 8 * PAGE, 4 * PAGE, PROT_READ);
            mprotect(m + 12 * PAGE, 4 * PAGE, PROT_READ);
        } else if (phase == 2) {
            mprotect(m + 4 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE);
            memset(m + 6 * PAGE, 0x67, PAGE);
            mprotect(m + 4 * PAGE, 4 * PAGE, PROT_READ | PROT_EXEC);
            madvise(m + 1 * PAGE, PAGE, MADV_DONTNEED);
            mprotect(m + 8 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE);
            madvise(m + 9 * PAGE, PAGE, MADV_DONTNEED);
            memset(m + 9 * PAGE, 0, PAGE);
            mprotect(m + 8 * PAGE, 4 * PAGE, PROT_READ);
        }
        fprintf(out, "phase=%d m=%p len=%lu sum=%llx\n", phase, (void *) m, 16 * PAGE,
                (unsigned long long) sum(m, 16 * PAGE));
        int seen = go;
        while (go == seen) sigsuspend(&unblocked);
    }
    for (;;) pause();
}
