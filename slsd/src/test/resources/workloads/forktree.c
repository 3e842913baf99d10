/* A fork tree three levels deep: root, 2 children, 4 grandchildren; each process keeps a
 * per-process value in memory. usage: forktree OUT. Each process reports "pid=P ppid=Q value=V at=0x..". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static volatile uint64_t value;
static void live(FILE *out, int level) {
    value = 1000003ULL * (uint64_t) getpid();
    fprintf(out, "pid=%d ppid=%d level=%d value=%llu at=%p\n", getpid(), getppid(), level,
            (unsigned long long) value, (void *) &value);
    fflush(out);
    for (;;) pause();
}
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    for (int c = 0; c < 2; c++) {
        if (fork() == 0) {
            for (int g = 0; g < 2; g++) {
                if (fork() == 0) live(out, 2);
            }
            live(out, 1);
        }
    }
    live(out, 0);
}
