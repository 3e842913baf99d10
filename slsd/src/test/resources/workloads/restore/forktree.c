/* A fork tree three levels deep: root, 2 children, 4 grandchildren. Every process keeps a value
 * derived from its pid at the fork and reports every 50 ms:
 * "pid=P ppid=Q level=L n=N value=V" (ppid from getppid() each time). usage: forktree OUT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static volatile uint64_t value;
static void live(FILE *out, int level) {
    value = 1000003ULL * (uint64_t) getpid();
    for (unsigned long n = 1;; n++) {
        fprintf(out, "pid=%d ppid=%d level=%d n=%lu value=%llu\n", getpid(), getppid(), level, n,
                (unsigned long long) value);
        usleep(50000);
    }
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
