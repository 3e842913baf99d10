/* Holds one resource sls refuses, chosen by argv[1], and reports "fd=N tick=T" to argv[2] every
 * 50 ms (N: the fd that holds it, -1 for none). Kinds: io_uring, bpf_map, perf_event, fanotify,
 * userfaultfd, pidfd (of its parent, outside the partition), scm_rights (a unix socket with an fd in flight), uts_ns (its own UTS namespace). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int make(const char *kind) {
    if (!strcmp(kind, "io_uring")) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        return (int) syscall(__NR_io_uring_setup, 4, &p);
    }
    if (!strcmp(kind, "bpf_map")) {
        union bpf_attr a;
        memset(&a, 0, sizeof a);
        a.map_type = BPF_MAP_TYPE_ARRAY;
        a.key_size = 4;
        a.value_size = 8;
        a.max_entries = 4;
        return (int) syscall(__NR_bpf, BPF_MAP_CREATE, &a, sizeof a);
    }
    if (!strcmp(kind, "perf_event")) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.type = PERF_TYPE_SOFTWARE;
        a.config = PERF_COUNT_SW_TASK_CLOCK;
        a.disabled = 1;
        return (int) syscall(__NR_perf_event_open, &a, 0, -1, -1, 0);
    }
    if (!strcmp(kind, "fanotify")) return fanotify_init(FAN_CLASS_NOTIF, O_RDONLY);
    if (!strcmp(kind, "userfaultfd")) return (int) syscall(__NR_userfaultfd, O_CLOEXEC);
    if (!strcmp(kind, "pidfd")) return (int) syscall(__NR_pidfd_open, getppid(), 0); /* outside */
    if (!strcmp(kind, "scm_rights")) {
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        int passed = open("/dev/null", O_RDONLY);
        char c = 'x';
        struct iovec iov = {&c, 1};
        char ctl[CMSG_SPACE(sizeof(int))];
        memset(ctl, 0, sizeof ctl);
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &passed, sizeof(int));
        if (sendmsg(sv[0], &m, 0) != 1) return -1;
        close(passed);
        return sv[1];
    }
    if (!strcmp(kind, "uts_ns")) return unshare(CLONE_NEWUTS) == 0 ? -1 : -2;
    return -2;
}

int main(int argc, char **argv) {
    int fd = make(argv[1]);
    if (fd < -1) { perror(argv[1]); return 1; }
    for (unsigned long tick = 1;; tick++) {
        FILE *f = fopen(argv[2], "a");
        if (f) { fprintf(f, "fd=%d tick=%lu\n", fd, tick); fclose(f); }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
