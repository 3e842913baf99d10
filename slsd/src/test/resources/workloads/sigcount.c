/* Counts SIGRTMIN deliveries; on SIGUSR1 reports "count=N". usage: sigcount OUT */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
static volatile sig_atomic_t count, report;
static void on_rt(int s) { (void) s; count++; }
static void on_usr1(int s) { (void) s; report++; }
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_rt;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGRTMIN, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    fprintf(out, "ready rt=%d\n", SIGRTMIN);
    int seen = 0;
    for (;;) {
        usleep(1000);
        if (report != seen) { seen = report; fprintf(out, "count=%d\n", (int) count); }
    }
}
