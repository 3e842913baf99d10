/* Shared anonymous memory and a memfd shared between a parent and its child.
 * usage: shmem OUT. Both processes write their part, then report
 * "pid=P anon=0x.. memfd=0x.. len=N sumanon=X summemfd=X" once both parts are written. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#define LEN (16 * 4096)
static uint64_t sum(const void *p, size_t len) {
    const uint64_t *q = p; uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len / 8; i++) { h ^= q[i]; h *= 1099511628211ULL; }
    return h;
}
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    volatile char *anon = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fd = memfd_create("slstest", 0);
    ftruncate(fd, LEN);
    volatile char *mf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    memset((char *) anon, 0x11, LEN / 2);
    memset((char *) mf, 0x22, 4096);
    pid_t child = fork();
    if (child == 0) {
        memset((char *) anon + LEN / 2, 0x33, 4096);
        mf[5 * 4096] = 0x44;
        anon[LEN - 1] = 1; /* done flag */
        for (;;) {
            if (anon[LEN - 2]) break;
            usleep(1000);
        }
    } else {
        while (!anon[LEN - 1]) usleep(1000);
        anon[LEN - 2] = 1;
    }
    usleep(20000);
    fprintf(out, "pid=%d anon=%p memfd=%p len=%d sumanon=%llx summemfd=%llx\n", getpid(), (void *) anon, (void *) mf, LEN,
            (unsigned long long) sum((const void *) anon, LEN), (unsigned long long) sum((const void *) mf, LEN));
    for (;;) pause();
}
