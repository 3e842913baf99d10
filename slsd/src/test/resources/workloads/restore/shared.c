/* Shared memory between a parent and its child: 16 pages of shared anonymous memory and 8 pages of
 * a memfd, both mapped before the fork. The child bumps anon[0] and mfd[0] every 10 ms; the parent
 * reports what it sees every 50 ms, with a check of a pattern written before the fork:
 * "pid=P anon=N memfd=M pattern=ok|bad". usage: shared OUT */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    volatile uint64_t *anon = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fd = memfd_create("sls-test", 0);
    ftruncate(fd, 8 * 4096);
    volatile uint64_t *mfd = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    for (int i = 512; i < 16 * 512; i++) anon[i] = (uint64_t) i * 7919;
    for (int i = 512; i < 8 * 512; i++) mfd[i] = (uint64_t) i * 104729;
    if (fork() == 0) {
        for (;;) { anon[0]++; mfd[0]++; usleep(10000); }
    }
    for (;;) {
        int ok = 1;
        for (int i = 512; i < 16 * 512; i++) ok &= anon[i] == (uint64_t) i * 7919;
        for (int i = 512; i < 8 * 512; i++) ok &= mfd[i] == (uint64_t) i * 104729;
        fprintf(out, "pid=%d anon=%llu memfd=%llu pattern=%s\n", getpid(), (unsigned long long) anon[0],
                (unsigned long long) mfd[0], ok ? "ok" : "bad");
        usleep(50000);
    }
}
