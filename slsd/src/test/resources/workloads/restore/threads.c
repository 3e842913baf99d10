/* 16 threads, each bumping its own slot; the main thread reports every slot.
 * usage: threads OUT
 * OUT gets "ready slots=0x.." once all threads run, then "tick=N pid=P s=a,b,c,..." every 50 ms. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <time.h>
#define N 16
static volatile uint64_t slots[N * 8];
static volatile int started;
static void *worker(void *arg) {
    long i = (long) arg;
    __sync_fetch_and_add(&started, 1);
    for (;;) {
        slots[i * 8]++;
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    pthread_t t[N];
    for (long i = 0; i < N; i++) pthread_create(&t[i], NULL, worker, (void *) i);
    while (started < N) usleep(1000);
    fprintf(out, "ready slots=%p\n", (void *) slots);
    for (unsigned long tick = 1;; tick++) {
        char line[1024];
        int o = snprintf(line, sizeof line, "tick=%lu pid=%d s=", tick, (int) getpid());
        for (int i = 0; i < N; i++) o += snprintf(line + o, sizeof line - o, "%s%llu", i ? "," : "", (unsigned long long) slots[i * 8]);
        fprintf(out, "%s\n", line);
        usleep(50000);
    }
}
