/* Blocks in a syscall forever, counting wake-ups; reports "ticks=N" on SIGUSR1. usage: sleeper OUT */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/time.h>
static volatile int usr1;
static void on_usr1(int s) { (void) s; usr1++; }
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGUSR2, SIG_IGN);
    struct itimerval it = { { 3600, 0 }, { 3600, 0 } }; /* armed, never fires during a test */
    setitimer(ITIMER_REAL, &it, NULL);
    fprintf(out, "ready\n");
    for (;;) {
        int seen = usr1;
        pause();
        if (usr1 != seen) fprintf(out, "usr1=%d\n", usr1);
    }
}
