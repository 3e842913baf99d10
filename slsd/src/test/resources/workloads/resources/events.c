// eventfd, timerfd, signalfd and epoll across a checkpoint. argv: OUT.
// Before: eventfd count 42, a semaphore eventfd at 3, a 100 ms interval timerfd, a signalfd for
// SIGUSR1 (blocked), a pipe with 3 bytes and an empty pipe; epoll watches eventfd (data 1), the full
// pipe (2), the empty pipe (4) and the timerfd (8). After OUT.go: reports what each says.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

static char out[4096], go[4096];

int main(int argc, char **argv) {
    snprintf(out, sizeof out, "%s", argv[1]);
    snprintf(go, sizeof go, "%s.go", argv[1]);
    int efd = eventfd(0, EFD_NONBLOCK);
    uint64_t v = 42;
    write(efd, &v, 8);
    int sem = eventfd(3, EFD_SEMAPHORE);
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {{0, 100000000}, {0, 100000000}};
    timerfd_settime(tfd, 0, &its, NULL);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int sfd = signalfd(-1, &m, SFD_NONBLOCK);
    int full[2], empty[2];
    pipe(full);
    pipe(empty);
    write(full[1], "abc", 3);
    int ep = epoll_create1(0);
    struct epoll_event e1 = {EPOLLIN, {.u64 = 1}}, e2 = {EPOLLIN, {.u64 = 2}}, e4 = {EPOLLIN, {.u64 = 4}},
                       e8 = {EPOLLIN, {.u64 = 8}};
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e1);
    epoll_ctl(ep, EPOLL_CTL_ADD, full[0], &e2);
    epoll_ctl(ep, EPOLL_CTL_ADD, empty[0], &e4);
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &e8);
    FILE *f = fopen(out, "a");
    fprintf(f, "ready\n");
    fclose(f);
    while (access(go, F_OK) != 0) usleep(10000);

    // epoll first, before anything is read; the timer may or may not be due: mask it out
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, 8, 0);
    long mask = 0;
    for (int i = 0; i < n; i++) mask |= evs[i].data.u64;
    mask &= ~8L;
    uint64_t count = 0, one = 0, ticks = 0, ticks2 = 0;
    read(efd, &count, 8);
    read(sem, &one, 8);
    read(tfd, &ticks, 8);   // blocks until the timer fires
    read(tfd, &ticks2, 8);  // and again: it keeps its interval
    struct itimerspec cur;
    timerfd_gettime(tfd, &cur);
    // the epoll set still tells a new event on the empty pipe
    write(empty[1], "x", 1);
    n = epoll_wait(ep, evs, 8, 1000);
    long mask2 = 0;
    for (int i = 0; i < n; i++) mask2 |= evs[i].data.u64;
    raise(SIGUSR1);
    struct signalfd_siginfo si;
    memset(&si, 0, sizeof si);
    ssize_t sn = read(sfd, &si, sizeof si);
    f = fopen(out, "a");
    fprintf(f, "events epoll=%ld efd=%llu sem=%llu ticked=%d interval_ms=%ld epoll2=%ld sig=%d signalfd_read=%zd\n",
            mask, (unsigned long long) count, (unsigned long long) one, ticks >= 1 && ticks2 >= 1,
            cur.it_interval.tv_nsec / 1000000 + cur.it_interval.tv_sec * 1000, mask2 & 4, si.ssi_signo, sn);
    fclose(f);
    return 0;
}
