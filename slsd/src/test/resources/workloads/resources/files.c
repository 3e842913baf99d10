// Files whose content only the checkpoint keeps, across a checkpoint. argv: OUT DIR SHMNAME.
// Before: DIR/del (4 MiB + 100 bytes, pattern) open at offset 5000, mapped shared (2 pages), then
// deleted; DIR/priv mapped private (2 pages, page 1 written privately), closed and deleted; a memfd
// "sls-memfd" (3 pages, pattern, seals SHRINK|GROW) mapped shared and open at offset 123, shared
// with a child by fork; the POSIX shm object SHMNAME (2 pages) open and mapped. After OUT.go each
// reports what it finds; the child marks the memfd through its fd and the parent waits to see the
// mark through its mapping.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[4096], go[4096];

static unsigned char pat(long i, int salt) { return (unsigned char) ((i * 31 + salt + i / 4096) & 0xff); }

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void report(const char *fmt, ...) {
    FILE *f = fopen(out, "a");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static void fill(int fd, long size, int salt) {
    unsigned char *b = malloc(size);
    for (long i = 0; i < size; i++) b[i] = pat(i, salt);
    pwrite(fd, b, size, 0);
    free(b);
}

static int check(int fd, long size, int salt, long skip_from, long skip_to) {
    unsigned char *b = malloc(size);
    int ok = pread(fd, b, size, 0) == size;
    for (long i = 0; ok && i < size; i++) ok = (i >= skip_from && i < skip_to) || b[i] == pat(i, salt);
    free(b);
    return ok;
}

int main(int argc, char **argv) {
    snprintf(out, sizeof out, "%s", argv[1]);
    snprintf(go, sizeof go, "%s.go", argv[1]);
    char del[4096], priv[4096];
    snprintf(del, sizeof del, "%s/del", argv[2]);
    snprintf(priv, sizeof priv, "%s/priv", argv[2]);
    const long dsize = 1024 * 4096 + 100;

    int dfd = open(del, O_RDWR | O_CREAT | O_TRUNC, 0640);
    fill(dfd, dsize, 1);
    lseek(dfd, 5000, SEEK_SET);
    unsigned char *dmap = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
    dmap[10] = pat(10, 1); // touched, same value
    unlink(del);

    int pfd = open(priv, O_RDWR | O_CREAT | O_TRUNC, 0600);
    fill(pfd, 2 * 4096, 2);
    unsigned char *pmap = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, pfd, 0);
    close(pfd);
    unlink(priv);
    memset(pmap + 4096, 0x5a, 4096);

    int mfd = memfd_create("sls-memfd", MFD_ALLOW_SEALING);
    fill(mfd, 3 * 4096, 3);
    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    volatile unsigned char *mmapd = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    lseek(mfd, 123, SEEK_SET);

    int sfd = shm_open(argv[3], O_RDWR | O_CREAT, 0600);
    ftruncate(sfd, 2 * 4096);
    fill(sfd, 2 * 4096, 4);
    unsigned char *smap = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);

    pid_t child = fork();
    if (child == 0) {
        while (access(go, F_OK) != 0) usleep(10000);
        int ok = pwrite(mfd, "MARK", 4, 8192 + 16) == 4;
        report("child marked=%d offset=%ld\n", ok, (long) lseek(mfd, 0, SEEK_CUR));
        for (;;) pause();
    }
    report("ready child=%d\n", child);
    while (access(go, F_OK) != 0) usleep(10000);

    struct stat st;
    fstat(dfd, &st);
    char link[4096], lp[64];
    snprintf(lp, sizeof lp, "/proc/self/fd/%d", dfd);
    ssize_t n = readlink(lp, link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    int dmap_ok = 1;
    for (long i = 0; i < 2 * 4096; i++) dmap_ok &= dmap[i] == pat(i, 1);
    pwrite(dfd, "Z", 1, 20);
    report("deleted offset=%ld size=%ld nlink=%ld mode=%o content=%d map=%d shared=%d link=%s\n",
           (long) lseek(dfd, 0, SEEK_CUR), (long) st.st_size, (long) st.st_nlink, st.st_mode & 07777,
           check(dfd, dsize, 1, 20, 21), dmap_ok, dmap[20] == 'Z', link);

    int p0 = 1, p1 = 1;
    for (long i = 0; i < 4096; i++) p0 &= pmap[i] == pat(i, 2);
    for (long i = 4096; i < 8192; i++) p1 &= pmap[i] == 0x5a;
    long bad = -1;
    for (long i = 0; i < 4096 && bad < 0; i++) if (pmap[i] != pat(i, 2)) bad = i;
    if (bad >= 0) report("debug private bad=%ld got=%d want=%d\n", bad, pmap[bad], pat(bad, 2));
    report("private file=%d own=%d\n", p0, p1);

    snprintf(lp, sizeof lp, "/proc/self/fd/%d", mfd);
    n = readlink(lp, link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    int mmap_ok = 1;
    for (long i = 0; i < 8192; i++) mmap_ok &= mmapd[i] == pat(i, 3);
    struct stat ms;
    fstat(mfd, &ms);
    report("memfd offset=%ld size=%ld seals=%d content=%d map=%d link=%s\n", (long) lseek(mfd, 0, SEEK_CUR),
           (long) ms.st_size, fcntl(mfd, F_GET_SEALS), check(mfd, 8192, 3, -1, -1), mmap_ok, link);
    int seen = 0;
    for (int i = 0; i < 2000 && !seen; i++) {
        seen = memcmp((const void *) (mmapd + 8192 + 16), "MARK", 4) == 0;
        if (!seen) usleep(10000);
    }
    report("memfd shared=%d\n", seen);

    int smap_ok = 1;
    for (long i = 0; i < 8192; i++) smap_ok &= smap[i] == pat(i, 4);
    smap[100] = 'S';
    char c = 0;
    pread(sfd, &c, 1, 100);
    report("shm content=%d map=%d shared=%d\n", check(sfd, 8192, 4, 100, 101), smap_ok, c == 'S');
    report("done\n");
    for (;;) pause();
}
