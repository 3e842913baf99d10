// A pidfd on a child across a checkpoint. argv: OUT.
// The process forks a child that pauses and holds a pidfd on it (non-blocking). After OUT.go it
// sends SIGTERM through the pidfd, waits for it with waitid(P_PIDFD) and reports
// "pidfd sent=1 waited=CHILD signal=15 nonblock=1".
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int main(int argc, char **argv) {
    char go[4096];
    snprintf(go, sizeof go, "%s.go", argv[1]);
    pid_t child = fork();
    if (child == 0) {
        for (;;) pause();
    }
    int pfd = (int) syscall(SYS_pidfd_open, child, O_NONBLOCK);
    FILE *f = fopen(argv[1], "a");
    fprintf(f, "ready child=%d\n", child);
    fclose(f);
    while (access(go, F_OK) != 0) usleep(10000);
    int sent = syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0) == 0;
    siginfo_t si = {0};
    int r = -1;
    for (int i = 0; i < 2000 && r != 0; i++) {
        r = waitid((idtype_t) P_PIDFD, pfd, &si, WEXITED | WNOHANG);
        if (r == 0 && si.si_pid == 0) r = -1;
        if (r != 0) usleep(10000);
    }
    f = fopen(argv[1], "a");
    fprintf(f, "pidfd sent=%d waited=%d signal=%d nonblock=%d\n", sent, r == 0 && si.si_pid == child, si.si_status,
            (fcntl(pfd, F_GETFL) & O_NONBLOCK) != 0);
    fclose(f);
    for (;;) pause();
}
