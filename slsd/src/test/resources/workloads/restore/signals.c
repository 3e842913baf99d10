/* Signal state that must survive a restore: SIGHUP and SIGPIPE ignored, SIGUSR1 caught on an
 * alternate signal stack, SIGUSR2 caught but blocked (so a SIGUSR2 sent before the checkpoint stays
 * pending). Reports "usr1=N onstack=0|1" for each SIGUSR1; the first SIGUSR1 unblocks SIGUSR2,
 * whose delivery reports "usr2=N". usage: signals OUT */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static volatile sig_atomic_t usr1, usr2, onstack;
static char *alt;
#define ALT_SIZE (64 * 1024)
static void on_usr1(int s) {
    char here;
    (void) s;
    onstack = &here >= alt && &here < alt + ALT_SIZE;
    usr1++;
}
static void on_usr2(int s) { (void) s; usr2++; }
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    alt = malloc(ALT_SIZE);
    stack_t ss = { .ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK | SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t s2;
    sigemptyset(&s2);
    sigaddset(&s2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &s2, NULL);
    fprintf(out, "ready\n");
    int seen1 = 0, seen2 = 0;
    for (;;) {
        usleep(20000);
        if (usr1 != seen1) {
            seen1 = usr1;
            fprintf(out, "usr1=%d onstack=%d\n", seen1, (int) onstack);
            if (seen1 == 1) sigprocmask(SIG_UNBLOCK, &s2, NULL);
        }
        if (usr2 != seen2) {
            seen2 = usr2;
            fprintf(out, "usr2=%d\n", seen2);
        }
    }
}
