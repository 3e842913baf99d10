/* A private writable mapping of a data file: page 3 zeroed (an all-zero private copy), page 5
 * rewritten, the rest as in the file. Reports "sum=X" of the whole mapping at start and on each
 * SIGUSR2 ("report sum=X"). usage: filepriv OUT DATAFILE (16 pages) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#define LEN (16 * 4096)
static volatile sig_atomic_t report;
static void on_usr2(int s) { (void) s; report++; }
static uint64_t sum(const void *p, size_t len) {
    const uint64_t *q = p; uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len / 8; i++) { h ^= q[i]; h *= 1099511628211ULL; }
    return h;
}
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t block, waitmask;
    sigemptyset(&block); sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGUSR2);
    int fd = open(argv[2], O_RDONLY);
    char *m = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    memset(m + 3 * 4096, 0, 4096);
    memset(m + 5 * 4096, 0x5c, 4096);
    fprintf(out, "start sum=%llx\n", (unsigned long long) sum(m, LEN));
    for (;;) {
        int r = report;
        sigsuspend(&waitmask);
        if (report != r) fprintf(out, "report sum=%llx\n", (unsigned long long) sum(m, LEN));
    }
}
