/* Counts; on SIGUSR1 vforks a child that sleeps 2 s before exiting, which keeps the parent in
 * an uninterruptible wait meanwhile. usage: vforker OUT */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
static volatile sig_atomic_t go;
static void on_usr1(int s) { (void) s; go = 1; }
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    signal(SIGUSR1, on_usr1);
    fprintf(out, "ready\n");
    for (unsigned long n = 1;; n++) {
        if (go) {
            go = 0;
            fprintf(out, "vforking\n");
            if (vfork() == 0) { sleep(2); _exit(0); }
            fprintf(out, "back\n");
        }
        usleep(10000);
        if (n % 10 == 0) fprintf(out, "tick %lu\n", n);
    }
}
