/* Changes its memory layout one phase per SIGUSR1, reporting after each phase:
 * "phase=N a=0x.. b=0x.. c=0x.. heap=0x.. heaplen=N stack=0x.. suma=X sumb=X sumc=X sumheap=X sumstack=X"
 * phase 1: regions a, b, c (64 pages each) filled
 * phase 2: half of a zapped with MADV_DONTNEED, b unmapped and mapped again (fresh, partly written),
 *          c moved with mremap, heap grown with sbrk and written, stack grown by recursion
 * phase 3: a's zapped half written again in part, c written at its new place */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <fcntl.h>
#define PAGES 64
#define LEN (PAGES * 4096UL)
static volatile sig_atomic_t go;
static void on_usr1(int s) { (void) s; go++; }
static uint64_t sum(const void *p, size_t len) {
    const uint64_t *q = p; uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len / 8; i++) { h ^= q[i]; h *= 1099511628211ULL; }
    return h;
}
static char *stackbuf; static size_t stacklen;
static void deep(int n) {
    char frame[8192];
    memset(frame, n & 0xff, sizeof frame);
    if (n > 0) { deep(n - 1); return; }
    stackbuf = frame; stacklen = sizeof frame;
    __asm__ volatile("" ::: "memory");
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
    /* a, b, c apart from each other (PROT_NONE gaps) so that they stay separate VMAs */
    char *base = mmap(NULL, 8 * LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *a = mmap(base + LEN, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    char *b = mmap(base + 3 * LEN, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    char *c = mmap(base + 5 * LEN, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    char *heap = sbrk(0); size_t heaplen = 0;
    /* a private mapping of a file of 0x66 bytes; page 2 gets copied on write in phase 1 */
    char fpath[4096];
    snprintf(fpath, sizeof fpath, "%s.data", argv[1]);
    int fd = open(fpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char fill[4096];
    memset(fill, 0x66, sizeof fill);
    for (int i = 0; i < 4; i++) write(fd, fill, sizeof fill);
    char *f = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    for (int phase = 1; phase <= 3; phase++) {
        if (phase == 1) {
            for (size_t i = 0; i < LEN; i++) { a[i] = (char) (i * 7); b[i] = (char) (i * 11); c[i] = (char) (i * 13); }
            memset(f + 2 * 4096, 0x99, 4096);
            memset(f + 3 * 4096, 0, 4096); /* a private copy that is all zeros: not the file's 0x66 */
        } else if (phase == 2) {
            madvise(a, LEN / 2, MADV_DONTNEED);
            madvise(f + 2 * 4096, 4096, MADV_DONTNEED); /* back to the file's 0x66 */
            munmap(b, LEN);
            char *nb = mmap(b, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            b = nb;
            memset(b + 8 * 4096, 0x5a, 4096);
            char *nc = mremap(c, LEN, LEN * 2, MREMAP_MAYMOVE | MREMAP_FIXED, c + 64 * LEN);
            c = nc;
            heaplen = 40 * 4096;
            heap = sbrk(heaplen);
            memset(heap, 0x77, heaplen);
            deep(16);
        } else {
            memset(a + 4096 * 3, 0x33, 4096 * 2);
            memset(c + LEN, 0x44, 4096);
        }
        fprintf(out, "phase=%d f=%p sumf=%llx a=%p b=%p c=%p heap=%p heaplen=%zu stack=%p stacklen=%zu suma=%llx sumb=%llx sumc=%llx sumheap=%llx\n",
                phase, (void *) f, (unsigned long long) sum(f, 4 * 4096), (void *) a, (void *) b, (void *) c, (void *) heap, heaplen, (void *) stackbuf, stacklen,
                (unsigned long long) sum(a, LEN), (unsigned long long) sum(b, LEN),
                (unsigned long long) sum(c, LEN * 2 / (phase == 1 ? 2 : 1)),
                (unsigned long long) (heaplen ? sum(heap, heaplen) : 0));
        int seen = go;
        while (go == seen) sigsuspend(&unblocked); /* no lost wake-up between test and wait */
    }
    for (;;) pause();
}
