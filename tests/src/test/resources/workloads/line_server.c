/* A TCP server for the network-lock tests: listens on 127.0.0.1:PORT (argv[1]) and serves any
 * number of clients with poll. A client sends lines holding a number; for each the server answers
 * "N COUNT SUM": COUNT lines received on this connection so far, SUM the running sum of their
 * numbers, so the client sees at once whether a line was lost, doubled or reordered. The line
 * "userfaultfd" makes the server open a userfaultfd and keep it (something sls refuses to
 * checkpoint); it answers "userfaultfd FD". "pair N" sends N over a TCP connection the server holds
 * to itself (made on first use: both ends in the server), whose accepted end answers as to any
 * client; the server relays that answer as "pair N COUNT SUM". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <sys/socket.h>

#define MAX 64

struct client {
    int fd;
    long count, sum;
    char buf[256];
    size_t len;
};

static struct client clients[MAX];
static struct client inner = {.fd = -1}; /* the accepted end of the connection to itself */
static int pairfd = -1;                    /* its connecting end */
static int listener;
static struct sockaddr_in self;

/* reads one line (blocking) from fd into buf, without the newline; -1 on EOF or error */
static int read_line(int fd, char *buf, size_t size) {
    size_t n = 0;
    while (n + 1 < size) {
        char ch;
        if (read(fd, &ch, 1) != 1) {
            return -1;
        }
        if (ch == '\n') {
            break;
        }
        buf[n++] = ch;
    }
    buf[n] = 0;
    return (int) n;
}

static void answer(struct client *c, const char *line);

/* "pair N": N through the connection to itself, the inner end's answer back */
static void pair(struct client *c, const char *n, char *out, size_t size) {
    char line[128];
    if (pairfd < 0) {
        pairfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(pairfd, (struct sockaddr *) &self, sizeof self) < 0
                || (inner.fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) < 0) {
            snprintf(out, size, "pair error\n");
            return;
        }
    }
    dprintf(pairfd, "%s\n", n);
    if (read_line(inner.fd, line, sizeof line) < 0) {
        snprintf(out, size, "pair inner eof\n");
        return;
    }
    answer(&inner, line);
    if (read_line(pairfd, line, sizeof line) < 0) {
        snprintf(out, size, "pair outer eof\n");
        return;
    }
    snprintf(out, size, "pair %s\n", line);
    (void) c;
}

static void answer(struct client *c, const char *line) {
    char out[256];
    int n;
    if (strncmp(line, "pair ", 5) == 0) {
        pair(c, line + 5, out, sizeof out);
        n = strlen(out);
    } else if (strcmp(line, "userfaultfd") == 0) {
        n = snprintf(out, sizeof out, "userfaultfd %d\n", (int) syscall(SYS_userfaultfd, O_CLOEXEC));
    } else {
        long v = atol(line);
        c->count++;
        c->sum += v;
        n = snprintf(out, sizeof out, "%ld %ld %ld\n", v, c->count, c->sum);
    }
    if (write(c->fd, out, n) != n) {
        perror("write");
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: line_server PORT\n");
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    listener = ls;
    self = a;
    if (bind(ls, (struct sockaddr *) &a, sizeof a) < 0 || listen(ls, 16) < 0) {
        perror("bind/listen");
        return 1;
    }
    for (int i = 0; i < MAX; i++) {
        clients[i].fd = -1;
    }
    for (;;) {
        struct pollfd p[MAX + 1];
        int idx[MAX + 1];
        int n = 0;
        p[n].fd = ls;
        p[n].events = POLLIN;
        idx[n++] = -1;
        for (int i = 0; i < MAX; i++) {
            if (clients[i].fd >= 0) {
                p[n].fd = clients[i].fd;
                p[n].events = POLLIN;
                idx[n++] = i;
            }
        }
        if (poll(p, n, -1) < 0) {
            continue; /* EINTR */
        }
        for (int k = 0; k < n; k++) {
            if (!p[k].revents) {
                continue;
            }
            if (idx[k] < 0) {
                int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
                for (int i = 0; fd >= 0 && i < MAX; i++) {
                    if (clients[i].fd < 0) {
                        memset(&clients[i], 0, sizeof clients[i]);
                        clients[i].fd = fd;
                        fd = -1;
                    }
                }
                if (fd >= 0) {
                    close(fd);
                }
                continue;
            }
            struct client *c = &clients[idx[k]];
            ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
            if (r <= 0) {
                close(c->fd);
                c->fd = -1;
                continue;
            }
            c->len += r;
            char *nl;
            while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
                *nl = 0;
                answer(c, c->buf);
                size_t used = nl + 1 - c->buf;
                memmove(c->buf, nl + 1, c->len - used);
                c->len -= used;
            }
            if (c->len == sizeof c->buf - 1) {
                c->len = 0; /* a line too long: dropped */
            }
        }
    }
}
