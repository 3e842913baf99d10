/* Appends "record N" lines to a data file (in slfs) through one fd it keeps open, keeps N in
 * memory, and reports "pid=P count=N" to a report file outside slfs. After a restore, file and
 * memory must agree: the records in the file run 1..N without a gap or a repeat. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void append_forever(int data, const char *report) {
    unsigned long count = 0;
    char line[64];
    for (;;) {
        count++;
        int n = snprintf(line, sizeof line, "record %lu\n", count);
        if (write(data, line, n) != n) { perror("write"); return; }
        FILE *f = fopen(report, "a");
        if (f) { fprintf(f, "pid=%d count=%lu\n", getpid(), count); fclose(f); }
        struct timespec ts = {0, 30 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv) {
    int data = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (data < 0) { perror(argv[1]); return 1; }
    append_forever(data, argv[2]);
    return 1;
}
