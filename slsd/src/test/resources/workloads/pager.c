/* 64 touched pages; each SIGUSR1 writes pages 3, 10, 11 (and 20 through read()) and reports "wrote N". usage: pager OUT */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <fcntl.h>
static volatile sig_atomic_t go;
static void on_usr1(int s) { (void) s; go++; }
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    signal(SIGUSR1, on_usr1);
    sigset_t usr1, unblocked;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &unblocked);
    char *m = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 1, 64 * 4096);
    fprintf(out, "addr=%p\n", (void *) m);
    for (int n = 1;; n++) {
        int seen = go;
        while (go == seen) sigsuspend(&unblocked); /* no lost wake-up between test and wait */
        m[3 * 4096] = n; m[10 * 4096 + 7] = n; m[11 * 4096 + 4095] = n;
        int fd = open("/dev/urandom", O_RDONLY); /* the kernel writes page 20 */
        if (read(fd, m + 20 * 4096 + 100, 64) != 64) { fprintf(out, "read failed\n"); }
        close(fd);
        fprintf(out, "wrote %d\n", n);
    }
}
