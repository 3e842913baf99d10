/* Interval timers and POSIX timers across a checkpoint. usage: timers OUT [FOREIGN_PID | pending | thread]
 *
 * Before: three timers created and deleted (so the kept ones do not start at id 0), then
 *   sig   CLOCK_MONOTONIC, SIGEV_SIGNAL SIGUSR1, sigev_value 0x1234abcd5678, every 20 ms
 *   thr   CLOCK_REALTIME, SIGEV_THREAD_ID SIGUSR2 to a worker thread, every 20 ms
 *   none  CLOCK_BOOTTIME, SIGEV_NONE, once in 1000 s (polled with timer_gettime)
 *   cpu   the process's own CPU-time clock (clock_getcpuclockid(getpid())), SIGEV_NONE, 1000 s
 *   off   CLOCK_MONOTONIC, SIGEV_SIGNAL SIGRTMIN, never armed
 * and alarm(8), a timerfd armed at an absolute CLOCK_MONOTONIC time 8 s ahead, ITIMER_VIRTUAL and
 * ITIMER_PROF every 10 ms of CPU time. The main thread watches
 * CLOCK_MONOTONIC every 10 ms and notes if it ever goes backwards. Writes "ready ids=..." and waits
 * for OUT.go; then checks every timer and writes one "timers ..." line.
 * With FOREIGN_PID: only a timer on that process's CPU-time clock (which cannot be restored), then
 * "ready id=N clock=C" and it runs until killed.
 * With "pending": only a 10 ms ITIMER_REAL whose SIGALRM stays blocked and pending until OUT.go,
 * then unblocked: "pending alarms=5" once it has fired 5 times.
 * With "thread": only a glibc SIGEV_THREAD timer every 20 ms; "thread callbacks=ok" once its
 * callback ran 10 more times after OUT.go. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SIVAL ((void *) 0x1234abcd5678ULL)
#define PERIOD_NS 20000000L

static char out[4096], go[4096];
static timer_t t_sig, t_thr, t_none, t_cpu, t_off;
static volatile sig_atomic_t alarms, vt, prof;
static volatile long sig_n, sig_overruns, sig_bad, thr_n, thr_overruns, thr_bad;
static volatile pid_t worker_tid;

static void on_alarm(int s) { (void) s; alarms++; }
static void on_vt(int s) { (void) s; vt++; }
static void on_prof(int s) { (void) s; prof++; }

static void on_usr1(int s, siginfo_t *si, void *u) {
    (void) s; (void) u;
    sig_n++;
    sig_overruns += si->si_overrun;
    if (si->si_code != SI_TIMER || si->si_value.sival_ptr != SIVAL || si->si_timerid != (int) (long) t_sig) sig_bad++;
}

static void on_usr2(int s, siginfo_t *si, void *u) {
    (void) s; (void) u;
    thr_n++;
    thr_overruns += si->si_overrun;
    if (gettid() != worker_tid || si->si_value.sival_int != 77) thr_bad++;
}

static volatile long callbacks, callback_bad;
static void on_callback(union sigval v) {
    callbacks++;
    if (v.sival_int != 5) callback_bad++;
}

static void *worker(void *a) {
    (void) a;
    worker_tid = gettid();
    for (;;) pause();
    return NULL;
}

static long mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static long ns(struct timespec t) { return t.tv_sec * 1000000000L + t.tv_nsec; }

static void line(const char *fmt, ...) {
    FILE *f = fopen(out, "a");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static void handle(int sig, void (*h)(int, siginfo_t *, void *)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(sig, &sa, NULL);
}

static void handle_simple(int sig, void (*h)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_RESTART;
    sigaction(sig, &sa, NULL);
}

static void arm(timer_t t, long value_ns, long interval_ns) {
    struct itimerspec its = {{interval_ns / 1000000000L, interval_ns % 1000000000L},
                             {value_ns / 1000000000L, value_ns % 1000000000L}};
    timer_settime(t, 0, &its, NULL);
}

/* Waits (up to 20 s) for 10 more signals from a 20 ms timer, counting overruns too; "ok" when it
 * keeps firing and never faster than its period, else what it saw. */
static void check_rate(volatile long *n, volatile long *overruns, char *verdict, size_t len) {
    long n0 = *n, o0 = *overruns, t0 = mono_ns();
    while ((*n - n0 < 10 || mono_ns() - t0 < 500000000L) && mono_ns() - t0 < 20000000000L) usleep(5000);
    long t = mono_ns() - t0;
    long expirations = (*n - n0) + (*overruns - o0);
    long most = t / PERIOD_NS + 3;
    if (*n - n0 >= 10 && expirations <= most && expirations >= t / PERIOD_NS / 4)
        snprintf(verdict, len, "ok");
    else
        snprintf(verdict, len, "signals=%ld,expirations=%ld,ms=%ld", *n - n0, expirations, t / 1000000);
}

int main(int argc, char **argv) {
    snprintf(out, sizeof out, "%s", argv[1]);
    snprintf(go, sizeof go, "%s.go", argv[1]);
    struct sigevent sev;
    if (argc > 2 && strcmp(argv[2], "thread") == 0) {
        /* glibc's SIGEV_THREAD: a helper thread waits for SIGTIMER and starts the callback */
        memset(&sev, 0, sizeof sev);
        sev.sigev_notify = SIGEV_THREAD;
        sev.sigev_notify_function = on_callback;
        sev.sigev_value.sival_int = 5;
        timer_t t;
        if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0) return 4;
        arm(t, PERIOD_NS, PERIOD_NS);
        while (callbacks < 3) usleep(1000);
        line("ready thread=%d\n", (int) (long) t);
        while (access(go, F_OK) != 0) usleep(10000);
        long c0 = callbacks, t0 = mono_ns();
        while (callbacks - c0 < 10 && mono_ns() - t0 < 20000000000L) usleep(1000);
        line("thread callbacks=%s bad=%ld\n", callbacks - c0 >= 10 ? "ok" : "stuck", callback_bad);
        return 0;
    }
    if (argc > 2 && strcmp(argv[2], "pending") == 0) {
        /* a periodic ITIMER_REAL whose SIGALRM is pending: the kernel re-arms it only once the
         * signal is dequeued, so getitimer says 0 left until then */
        sigset_t alrm;
        sigemptyset(&alrm);
        sigaddset(&alrm, SIGALRM);
        sigprocmask(SIG_BLOCK, &alrm, NULL);
        handle_simple(SIGALRM, on_alarm);
        struct itimerval every = {{0, 10000}, {0, 10000}};
        setitimer(ITIMER_REAL, &every, NULL);
        sigset_t pending;
        do {
            usleep(1000);
            sigpending(&pending);
        } while (!sigismember(&pending, SIGALRM));
        struct itimerval left;
        getitimer(ITIMER_REAL, &left);
        line("ready pending=1 left_us=%ld\n", left.it_value.tv_sec * 1000000L + left.it_value.tv_usec);
        while (access(go, F_OK) != 0) usleep(10000);
        sigprocmask(SIG_UNBLOCK, &alrm, NULL);
        long t0 = mono_ns();
        while (alarms < 5 && mono_ns() - t0 < 20000000000L) usleep(1000);
        line("pending alarms=%d\n", alarms >= 5 ? 5 : (int) alarms);
        return 0;
    }
    if (argc > 2) {
        clockid_t foreign;
        if (clock_getcpuclockid(atoi(argv[2]), &foreign) != 0) return 2;
        memset(&sev, 0, sizeof sev);
        sev.sigev_notify = SIGEV_NONE;
        timer_t t;
        if (timer_create(foreign, &sev, &t) != 0) return 3;
        arm(t, 1000000000000L, 0);
        line("ready id=%d clock=%d\n", (int) (long) t, (int) foreign);
        for (;;) pause();
    }

    handle(SIGUSR1, on_usr1);
    handle(SIGUSR2, on_usr2);
    handle_simple(SIGALRM, on_alarm);
    handle_simple(SIGVTALRM, on_vt);
    handle_simple(SIGPROF, on_prof);
    /* only the worker takes SIGUSR2 (SIGEV_THREAD_ID targets it anyway) */
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_t w;
    pthread_create(&w, NULL, worker, NULL);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);
    while (worker_tid == 0) usleep(1000);

    timer_t dummy[3];
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    for (int i = 0; i < 3; i++) timer_create(CLOCK_MONOTONIC, &sev, &dummy[i]);
    for (int i = 0; i < 3; i++) timer_delete(dummy[i]);

    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_value.sival_ptr = SIVAL;
    timer_create(CLOCK_MONOTONIC, &sev, &t_sig);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev._sigev_un._tid = worker_tid;
    sev.sigev_signo = SIGUSR2;
    sev.sigev_value.sival_int = 77;
    timer_create(CLOCK_REALTIME, &sev, &t_thr);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_BOOTTIME, &sev, &t_none);
    clockid_t own;
    clock_getcpuclockid(getpid(), &own);
    timer_create(own, &sev, &t_cpu);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN;
    timer_create(CLOCK_MONOTONIC, &sev, &t_off);

    arm(t_sig, PERIOD_NS, PERIOD_NS);
    arm(t_thr, PERIOD_NS, PERIOD_NS);
    arm(t_none, 1000000000000L, 0);
    arm(t_cpu, 1000000000000L, 0);
    struct itimerval cpu = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_VIRTUAL, &cpu, NULL);
    setitimer(ITIMER_PROF, &cpu, NULL);
    alarm(8);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec at;
    memset(&at, 0, sizeof at);
    clock_gettime(CLOCK_MONOTONIC, &at.it_value);
    at.it_value.tv_sec += 8;
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &at, NULL);

    line("ready ids=%d,%d,%d,%d,%d worker=%d\n", (int) (long) t_sig, (int) (long) t_thr, (int) (long) t_none,
         (int) (long) t_cpu, (int) (long) t_off, (int) worker_tid);
    long last = mono_ns(), backwards = 0;
    while (access(go, F_OK) != 0) {
        usleep(10000);
        long now = mono_ns();
        if (now < last) backwards++;
        last = now;
    }
    long alarms_at_go = alarms;

    char sig_verdict[128], thr_verdict[128];
    check_rate(&sig_n, &sig_overruns, sig_verdict, sizeof sig_verdict);
    check_rate(&thr_n, &thr_overruns, thr_verdict, sizeof thr_verdict);

    /* SIGEV_NONE: still counting down, and gettime works on the same ids */
    struct itimerspec a, b, c, off, s;
    int none_ok = timer_gettime(t_none, &a) == 0;
    usleep(50000);
    none_ok = none_ok && timer_gettime(t_none, &b) == 0 && ns(a.it_value) > 0
              && ns(a.it_value) <= 1000000000000L && ns(b.it_value) < ns(a.it_value) && ns(b.it_interval) == 0;
    int cpu_ok = timer_gettime(t_cpu, &c) == 0 && ns(c.it_value) > 0 && ns(c.it_value) <= 1000000000000L;
    int off_ok = timer_gettime(t_off, &off) == 0 && ns(off.it_value) == 0 && ns(off.it_interval) == 0;
    int sig_interval = timer_gettime(t_sig, &s) == 0 ? (int) (ns(s.it_interval) / 1000000) : -1;

    /* the absolute timerfd fires (late after a reboot, never not at all) */
    struct pollfd pfd = {tfd, POLLIN, 0};
    int tfd_fired = 0;
    long tp = mono_ns();
    while (!tfd_fired && mono_ns() - tp < 30000000000L) tfd_fired = poll(&pfd, 1, 100) == 1; /* timer signals interrupt it */
    /* alarm(8) fires once; ITIMER_VIRTUAL and ITIMER_PROF tick as the process burns CPU */
    long t0 = mono_ns();
    while (alarms == 0 && mono_ns() - t0 < 30000000000L) usleep(10000);
    t0 = mono_ns();
    volatile unsigned long spin = 0;
    while ((vt < 3 || prof < 3) && mono_ns() - t0 < 20000000000L) spin++;
    long now = mono_ns();
    line("timers sig=%s thr=%s thr_bad=%ld sig_bad=%ld none=%d cpu=%d off=%d interval_ms=%d alarm=%d tfd=%d"
         " alarm_before_go=%ld virtual=%d prof=%d backwards=%ld mono_ns=%ld\n",
         sig_verdict, thr_verdict, thr_bad, sig_bad, none_ok, cpu_ok, off_ok, sig_interval, (int) alarms, tfd_fired,
         alarms_at_go, vt >= 3, prof >= 3, backwards + (now < last), now);
    return 0;
}
