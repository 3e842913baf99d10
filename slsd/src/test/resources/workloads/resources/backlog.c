/* A TCP listener on 127.0.0.1 that accepts the first ACCEPT connections and closes each at once
 * (the server closes first: those end in TIME_WAIT on its side, on its port), then accepts no more:
 * later connections wait in its accept queue. Prints "ready port=P" once listening and "closed n=N"
 * after each close. usage: backlog OUT ACCEPT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    FILE *out = fopen(argv[1], "a");
    setvbuf(out, NULL, _IOLBF, 0);
    int n = atoi(argv[2]);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(l, (struct sockaddr *) &a, sizeof a) != 0 || listen(l, 64) != 0 || getsockname(l, (struct sockaddr *) &a, &len) != 0) {
        perror("listen");
        return 1;
    }
    fprintf(out, "ready port=%d\n", ntohs(a.sin_port));
    for (int i = 0; i < n; i++) {
        int c = accept(l, NULL, NULL);
        close(c);
        fprintf(out, "closed n=%d\n", i + 1);
    }
    for (;;) pause();
}
