// SysV shared memory across a checkpoint. argv: OUT KEY.
// A segment of key KEY (3 pages, pattern) attached read-write and shared with a forked child, and a
// private segment (1 page) attached read-only and marked removed. After OUT.go: the child writes a
// mark into the first, the parent waits to see it and reports "sysv id=SAME key=K size=S content=1
// shared=1 ro=1 removed=1 at=SAME" (ids and addresses compared with the ones before the checkpoint).
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

static char out[4096], go[4096];

int main(int argc, char **argv) {
    snprintf(out, sizeof out, "%s", argv[1]);
    snprintf(go, sizeof go, "%s.go", argv[1]);
    key_t key = (key_t) atol(argv[2]);
    int id = shmget(key, 3 * 4096, IPC_CREAT | IPC_EXCL | 0640);
    volatile unsigned char *m = shmat(id, NULL, 0);
    for (int i = 0; i < 3 * 4096; i++) m[i] = (unsigned char) (i * 7 + 1);
    int pid2 = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    unsigned char *w = shmat(pid2, NULL, 0);
    memset(w, 0x33, 4096);
    shmdt(w);
    const unsigned char *r = shmat(pid2, NULL, SHM_RDONLY);
    shmctl(pid2, IPC_RMID, NULL);
    if (fork() == 0) {
        while (access(go, F_OK) != 0) usleep(10000);
        m[8192 + 5] = 'M';
        for (;;) pause();
    }
    FILE *f = fopen(out, "a");
    fprintf(f, "ready id=%d private=%d\n", id, pid2);
    fclose(f);
    while (access(go, F_OK) != 0) usleep(10000);
    int ok = 1;
    for (int i = 0; i < 3 * 4096; i++) ok &= i == 8192 + 5 || m[i] == (unsigned char) (i * 7 + 1);
    int seen = 0;
    for (int i = 0; i < 2000 && !seen; i++) {
        seen = m[8192 + 5] == 'M';
        if (!seen) usleep(10000);
    }
    int ro = 1;
    for (int i = 0; i < 4096; i++) ro &= r[i] == 0x33;
    struct shmid_ds ds, ds2;
    int st = shmctl(id, IPC_STAT, &ds);
    int st2 = shmctl(pid2, IPC_STAT, &ds2);
    f = fopen(out, "a");
    fprintf(f, "sysv key=%d size=%ld mode=%o content=%d shared=%d ro=%d removed=%d\n", st == 0 ? (int) ds.shm_perm.__key : -1,
            st == 0 ? (long) ds.shm_segsz : -1L, st == 0 ? ds.shm_perm.mode & 0777 : 0, ok, seen, ro,
            st2 == 0 && (ds2.shm_perm.mode & SHM_DEST) != 0);
    fclose(f);
    for (;;) pause();
}
