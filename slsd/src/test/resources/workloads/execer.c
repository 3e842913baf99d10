/* Dirties memory until SIGUSR1, then execs the program given. usage: execer OUT PROG ARGS... */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static volatile sig_atomic_t go;
static void on_usr1(int s) { (void) s; go = 1; }
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    signal(SIGUSR1, on_usr1);
    char *junk = malloc(1 << 20);
    fprintf(out, "execer ready\n");
    for (int i = 0; !go; i++) { memset(junk, i, 1 << 20); usleep(2000); }
    fclose(out);
    execv(argv[2], argv + 2);
    return 1;
}
