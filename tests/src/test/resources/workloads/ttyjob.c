/*
 * An interactive program for terminal tests, run in a pseudo-terminal (script, tmux). It writes
 * "pid=P" to the report file argv[1], opens /dev/tty once at start, then answers lines from its
 * terminal:
 *   set V      remembers V                        -> "value set V"
 *   get        prints what it remembers           -> "value is V"
 *   tty        writes through the /dev/tty fd opened at start and through a fresh open of
 *              /dev/tty, then prints its terminal's foreground group, its group and session
 *   job        starts a foreground job, as a shell does: a child in a process group of its own,
 *              made the terminal's foreground group, which echoes lines ("job: LINE") until it is
 *              stopped (Ctrl-Z); then the parent takes the terminal back ("job P stopped").
 * Every answer ends with a newline; a prompt "> " is printed before each read of the parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int early_tty = -1;
static char value[512] = "(none)";

static void report(const char *path, const char *fmt, int a) {
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, fmt, a);
        fclose(f);
    }
}

static void run_job(const char *rep) {
    pid_t child = fork();
    if (child == 0) {
        setpgid(0, 0);
        signal(SIGTSTP, SIG_DFL);
        signal(SIGTTIN, SIG_DFL);
        signal(SIGTTOU, SIG_DFL);
        while (tcgetpgrp(0) != getpgrp()) {
            usleep(1000);
        }
        report(rep, "job=%d\n", getpid());
        printf("job ready pgrp=%d\n", (int) getpgrp());
        fflush(stdout);
        char line[512];
        while (fgets(line, sizeof line, stdin)) {
            printf("job: %s", line);
            fflush(stdout);
        }
        _exit(0);
    }
    setpgid(child, child);
    tcsetpgrp(0, child);
    int st;
    while (waitpid(child, &st, WUNTRACED) < 0 && errno == EINTR) {
    }
    tcsetpgrp(0, getpgrp());
    if (WIFSTOPPED(st)) {
        printf("job %d stopped by signal %d\n", (int) child, WSTOPSIG(st));
        kill(child, SIGKILL);
        kill(child, SIGCONT);
        waitpid(child, &st, 0);
    } else {
        printf("job %d ended\n", (int) child);
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *rep = argc > 1 ? argv[1] : "/dev/null";
    signal(SIGTTOU, SIG_IGN); /* as a shell: it hands the terminal to jobs and takes it back */
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTSTP, SIG_IGN);
    early_tty = open("/dev/tty", O_RDWR);
    report(rep, "pid=%d\n", getpid());
    char line[512];
    for (;;) {
        printf("> ");
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin)) {
            if (errno == EINTR || errno == EIO) {
                clearerr(stdin);
                usleep(10000);
                continue;
            }
            return 0;
        }
        line[strcspn(line, "\r\n")] = 0;
        if (strncmp(line, "set ", 4) == 0) {
            snprintf(value, sizeof value, "%s", line + 4);
            printf("value set %s\n", value);
        } else if (strcmp(line, "get") == 0) {
            printf("value is %s\n", value);
        } else if (strcmp(line, "tty") == 0) {
            const char *m1 = "early /dev/tty fd works\n";
            int ok1 = early_tty >= 0 && write(early_tty, m1, strlen(m1)) == (ssize_t) strlen(m1);
            int fresh = open("/dev/tty", O_RDWR);
            const char *m2 = "fresh /dev/tty open works\n";
            int ok2 = fresh >= 0 && write(fresh, m2, strlen(m2)) == (ssize_t) strlen(m2);
            printf("tty ok=%d,%d fg=%d pgrp=%d sid=%d pid=%d\n", ok1, ok2, fresh >= 0 ? (int) tcgetpgrp(fresh) : -1,
                   (int) getpgrp(), (int) getsid(0), (int) getpid());
            if (fresh >= 0) {
                close(fresh);
            }
        } else if (strcmp(line, "job") == 0) {
            run_job(rep);
        } else if (line[0]) {
            printf("unknown: %s\n", line);
        }
        fflush(stdout);
    }
}
