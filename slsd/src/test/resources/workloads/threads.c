/* 16 threads, each bumping its own slot of a shared array. usage: threads OUT
 * OUT gets "slots=0x.. threads=16" once all threads run, then "alive" lines. */
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
        struct timespec ts = { 0, 1000000 };
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
    fprintf(out, "slots=%p threads=%d\n", (void *) slots, N);
    for (;;) { sleep(1); }
}
