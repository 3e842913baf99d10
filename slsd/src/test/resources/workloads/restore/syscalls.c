/* Two threads stopped inside system calls: the main thread in a 30 s nanosleep (the kernel would
 * resume it with restart_syscall; a restored one returns -EINTR), another in pause() (restarted
 * as is). Reports "ready", then "nanosleep=R errno=E" when the sleep ends and "pause=R errno=E"
 * when pause returns (SIGUSR1 has a handler). usage: syscalls OUT */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
static FILE *out;
static void on_usr1(int s) { (void) s; }
static void *pauser(void *a) {
    (void) a;
    int r = pause();
    fprintf(out, "pause=%d errno=%d\n", r, errno);
    for (;;) sleep(1);
    return NULL;
}
int main(int argc, char **argv) {
    out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_t t;
    pthread_create(&t, NULL, pauser, NULL); /* inherits an empty mask */
    pthread_sigmask(SIG_BLOCK, &s, NULL);    /* only the pausing thread takes SIGUSR1 */
    fprintf(out, "ready\n");
    struct timespec ts = { 30, 0 }, rem = { 0, 0 };
    int r = nanosleep(&ts, &rem);
    fprintf(out, "nanosleep=%d errno=%d\n", r, errno);
    for (;;) sleep(1);
}
