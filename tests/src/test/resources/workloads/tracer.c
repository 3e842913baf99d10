/* Holds another process with PTRACE_SEIZE, as gdb or strace would, until killed. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv) {
    pid_t pid = atoi(argv[1]);
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) { perror("PTRACE_SEIZE"); return 1; }
    printf("seized\n");
    fflush(stdout);
    for (;;) pause();
}
