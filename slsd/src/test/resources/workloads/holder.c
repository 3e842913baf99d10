/* Holds an fd of a kind checkpoints refuse (its own userfaultfd), blocks SIGUSR1 so that it stays pending,
 * and keeps counting. usage: holder OUT */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    sigset_t s; sigemptyset(&s); sigaddset(&s, SIGUSR1); sigprocmask(SIG_BLOCK, &s, NULL);
    int efd = (int) syscall(SYS_userfaultfd, O_CLOEXEC);
    fprintf(out, "ready efd=%d\n", efd);
    for (unsigned long n = 0;; n++) { usleep(20000); if (n % 10 == 0) fprintf(out, "tick=%lu\n", n); }
}
