/* SIGTRAP held three ways, for syscall injection: usage: trapper OUT handle|ignore|block.
 * Counts SIGTRAPs it handles; on SIGUSR1 reports "traps=N". */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static volatile int traps, usr1;
static void on_trap(int s) { (void) s; traps++; }
static void on_usr1(int s) { (void) s; usr1++; }
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = strcmp(argv[2], "ignore") == 0 ? SIG_IGN : on_trap;
    sigaction(SIGTRAP, &sa, NULL);
    if (strcmp(argv[2], "block") == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGTRAP);
        sigprocmask(SIG_BLOCK, &s, NULL);
    }
    fprintf(out, "ready\n");
    for (;;) {
        int seen = usr1;
        pause();
        if (usr1 != seen) fprintf(out, "traps=%d\n", traps);
    }
}
