/* Timers for the command line's tests. usage: ticker REPORT [FOREIGN_PID]
 * A POSIX timer (CLOCK_MONOTONIC, SIGUSR1, every 20 ms) and an interval timer (ITIMER_REAL, every
 * 50 ms) count their signals; every 10 POSIX timer signals it appends
 * "pid=P timer=ID ticks=N alarms=M" to REPORT. With FOREIGN_PID it also holds a timer on that
 * process's CPU-time clock, which sls cannot restore, and appends "foreign=ID clock=C" first. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks, alarms;
static void on_usr1(int s) { (void) s; ticks++; }
static void on_alarm(int s) { (void) s; alarms++; }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: ticker REPORT [FOREIGN_PID]\n"); return 2; }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    if (argc > 2) {
        clockid_t foreign;
        timer_t f;
        sev.sigev_notify = SIGEV_NONE;
        if (clock_getcpuclockid(atoi(argv[2]), &foreign) != 0 || timer_create(foreign, &sev, &f) != 0) return 3;
        FILE *o = fopen(argv[1], "a");
        fprintf(o, "foreign=%d clock=%d\n", (int) (long) f, (int) foreign);
        fclose(o);
    }
    timer_t t;
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    timer_create(CLOCK_MONOTONIC, &sev, &t);
    struct itimerspec its = {{0, 20000000}, {0, 20000000}};
    timer_settime(t, 0, &its, NULL);
    struct itimerval itv = {{0, 50000}, {0, 50000}};
    setitimer(ITIMER_REAL, &itv, NULL);
    int reported = 0;
    for (;;) {
        usleep(5000);
        if (ticks / 10 != reported) {
            reported = ticks / 10;
            FILE *o = fopen(argv[1], "a");
            fprintf(o, "pid=%d timer=%d ticks=%d alarms=%d\n", (int) getpid(), (int) (long) t, (int) ticks, (int) alarms);
            fclose(o);
        }
    }
}
