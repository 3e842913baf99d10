// TCP and UDP across a checkpoint. argv: OUT.
// Parent: an IPv4 listener (SO_REUSEADDR, backlog 7, O_NONBLOCK), a dual-stack IPv6 listener on ::
// (v6only 0), a UDP socket u bound with a set SO_RCVBUF and a UDP socket u2 bound and connected to
// u, and a connection x -> y through the IPv6 listener from an IPv4 client with "q-from-x" unread at
// y and 300000 bytes from y partly in x's receive queue and partly in y's send queue.
// Child C talks to child S (the accepted end, also held by the parent) without pause: 8-byte
// counters, echoed. After OUT.go, C goes on 2000 more rounds and reports; the parent checks the rest.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[4096], go[4096];

static void say(const char *s) {
    FILE *f = fopen(out, "a");
    fprintf(f, "%s\n", s);
    fclose(f);
}

static int gone(void) { return access(go, F_OK) == 0; }

static int port_of(int fd) {
    struct sockaddr_in6 a;
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *) &a, &l);
    return ntohs(a.sin6_port); // same offset in sockaddr_in
}

static int full(int fd, void *b, int n, int rd) {
    int done = 0;
    while (done < n) {
        int r = rd ? read(fd, (char *) b + done, n - done) : write(fd, (char *) b + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        done += r;
    }
    return 0;
}

static int connect4(int port) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(c, (struct sockaddr *) &a, sizeof a) == 0 ? c : -1;
}

static int connect6(int port) {
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    return connect(c, (struct sockaddr *) &a, sizeof a) == 0 ? c : -1;
}

static int accept_wait(int l) {
    struct pollfd p = {.fd = l, .events = POLLIN};
    poll(&p, 1, 5000);
    return accept(l, NULL, NULL);
}

int main(int argc, char **argv) {
    snprintf(out, sizeof out, "%s", argv[1]);
    snprintf(go, sizeof go, "%s.go", argv[1]);
    int one = 1, zero = 0;

    int l4 = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(l4, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(l4, (struct sockaddr *) &a4, sizeof a4);
    listen(l4, 7);
    fcntl(l4, F_SETFL, O_NONBLOCK);
    int p4 = port_of(l4);

    int l6 = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    bind(l6, (struct sockaddr *) &a6, sizeof a6);
    listen(l6, 5);
    int p6 = port_of(l6);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    int rcv = 300000;
    setsockopt(u, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    bind(u, (struct sockaddr *) &a4, sizeof a4);
    int u2 = socket(AF_INET, SOCK_DGRAM, 0);
    bind(u2, (struct sockaddr *) &a4, sizeof a4);
    struct sockaddr_in ua = a4;
    ua.sin_port = htons(port_of(u));
    connect(u2, (struct sockaddr *) &ua, sizeof ua);
    int rcvbuf_before;
    socklen_t ol = sizeof rcvbuf_before;
    getsockopt(u, SOL_SOCKET, SO_RCVBUF, &rcvbuf_before, &ol);

    // x (IPv4) -> y (accepted on the dual-stack listener)
    int x = connect4(p6);
    int y = accept_wait(l6);
    send(x, "q-from-x", 8, 0);
    fcntl(y, F_SETFL, O_NONBLOCK);
    static unsigned char big[300000];
    for (int i = 0; i < (int) sizeof big; i++) big[i] = (unsigned char) (i * 7 + i / 1000);
    int sent = 0;
    while (sent < (int) sizeof big) {
        int r = send(y, big + sent, sizeof big - sent, 0);
        if (r <= 0) break;
        sent += r;
    }
    fcntl(y, F_SETFL, 0);

    // the conversation: C talks, S echoes (the accepted end stays open in the parent too)
    pid_t c = fork();
    if (c == 0) {
        int s = connect4(p4);
        int nd = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &nd, sizeof nd);
        uint64_t i = 0, left = 2000, bad = 0;
        while (left > 0) {
            i++;
            uint64_t back = 0;
            if (full(s, &i, 8, 0) || full(s, &back, 8, 1)) {
                char line[128];
                snprintf(line, sizeof line, "conv broke at %llu errno=%d", (unsigned long long) i, errno);
                say(line);
                return 1;
            }
            if (back != i) bad++;
            if (i % 64 == 0 && gone()) left = left > 64 ? left - 64 : 0;
        }
        int nd2 = 0;
        socklen_t l = sizeof nd2;
        getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &nd2, &l);
        char line[128];
        snprintf(line, sizeof line, "conv rounds_ok=%d bad=%llu nodelay=%d", i > 2000, (unsigned long long) bad, nd2);
        say(line);
        return 0;
    }
    int acc = accept_wait(l4);
    pid_t s = fork();
    if (s == 0) {
        int k = 1;
        setsockopt(acc, SOL_SOCKET, SO_KEEPALIVE, &k, sizeof k);
        uint64_t v;
        while (full(acc, &v, 8, 1) == 0) {
            if (full(acc, &v, 8, 0)) break;
        }
        return 0;
    }
    char ready[256];
    snprintf(ready, sizeof ready, "ready c=%d s=%d p4=%d p6=%d sent=%d", c, s, p4, p6, sent);
    say(ready);
    while (!gone()) usleep(10000);

    // listeners: new connections, v4 and v6 on the dual-stack one
    int n4 = connect4(p4), a_4 = n4 >= 0 ? accept_wait(l4) : -1;
    int n64 = connect4(p6), a_64 = n64 >= 0 ? accept_wait(l6) : -1;
    int n66 = connect6(p6), a_66 = n66 >= 0 ? accept_wait(l6) : -1;
    int reuse = 0, v6only = 9, rcvbuf = 0;
    ol = sizeof reuse;
    getsockopt(l4, SOL_SOCKET, SO_REUSEADDR, &reuse, &ol);
    ol = sizeof v6only;
    getsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &ol);
    ol = sizeof rcvbuf;
    getsockopt(u, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &ol);
    int nonblock = (fcntl(l4, F_GETFL) & O_NONBLOCK) != 0;
    // UDP: u2 is still connected to u
    char dg[32] = {0};
    send(u2, "dgram", 5, 0);
    struct pollfd pu = {.fd = u, .events = POLLIN};
    poll(&pu, 1, 2000);
    recv(u, dg, sizeof dg - 1, MSG_DONTWAIT);
    // x/y: the unread bytes and the queued stream
    char q[16] = {0};
    recv(y, q, 8, MSG_DONTWAIT);
    static unsigned char got[300000];
    int have = 0;
    struct pollfd px = {.fd = x, .events = POLLIN};
    while (have < sent && poll(&px, 1, 3000) > 0) {
        int r = recv(x, got + have, sent - have, 0);
        if (r <= 0) break;
        have += r;
    }
    int bad = 0;
    for (int i = 0; i < have; i++) bad += got[i] != big[i];
    char line[512];
    snprintf(line, sizeof line, "parent l4=%d l6v4=%d l6v6=%d reuse=%d nonblock=%d v6only=%d udp=%s rcvbuf=%d q=%s big=%d bad=%d",
            a_4 >= 0, a_64 >= 0, a_66 >= 0, reuse, nonblock, v6only, dg, rcvbuf == rcvbuf_before, q,
            have == sent, bad);
    say(line);
    int st;
    waitpid(c, &st, 0);
    kill(s, 9);
    waitpid(s, &st, 0);
    say("done");
    return 0;
}
