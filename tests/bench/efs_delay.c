/* efs_delay.so: an LD_PRELOAD layer that makes a local directory behave, for SQLite, like a file
 * system reached over the network: every sync, every byte-range lock request and every metadata
 * operation (open, close, unlink) of a file under EFS_DELAY_DIR waits a fixed time, as an NFS
 * client waits for the server's answer. Everything else (Python's own imports, pipes) is untouched.
 *
 * Built by tests/bench/efs.py with `gcc -shared -fPIC -O2 -o efs_delay.so efs_delay.c -ldl`.
 *
 * Environment (microseconds):
 *   EFS_DELAY_DIR      path prefix of the emulated mount (required: without it nothing is delayed)
 *   EFS_DELAY_LOCK_US  per fcntl lock command: F_SETLK, F_SETLKW, F_GETLK and the OFD variants
 *                      (default 1000: one NFSv4 LOCK/LOCKU/LOCKT round trip at ~1 ms RTT)
 *   EFS_DELAY_SYNC_US  per fsync/fdatasync (default 2700: EFS Standard's published durable write
 *                      latency, "as low as 2.7 ms" for Regional file systems:
 *                      Amazon EFS User Guide, "Amazon EFS performance specifications",
 *                      docs.aws.amazon.com/efs/latest/ug/performance.html, read 2026-12-02)
 *   EFS_DELAY_META_US  per open/close/unlink (default 1000: OPEN, CLOSE and REMOVE are round trips)
 *
 * Half of each delay is spent before the real call and half after, as a request travels to the
 * server and its answer back: a lock is granted half a round trip after it is asked for, and a
 * released lock is free half a round trip before the client hears so.
 *
 * Not modelled: reads and writes of pages (an NFS client buffers writes until the sync, which is
 * delayed, and may re-read pages after taking a lock, which is not), so the layer is, if anything,
 * kind to the per-transaction path. efs_delay_counts() (for ctypes) returns the operations seen.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FD 65536

enum { LOCKS, SYNCS, METAS, N_KINDS };

static unsigned long counts[N_KINDS];
static unsigned char tracked[MAX_FD];
static long delay_us[N_KINDS] = {1000, 2700, 1000};
static char prefix[4096];
static size_t prefix_len;

static int (*real_fcntl)(int, int, ...);
static int (*real_fcntl64)(int, int, ...);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_unlink)(const char *);

static long env_long(const char *name, long fallback) {
    const char *value = getenv(name);
    return value && *value ? strtol(value, NULL, 10) : fallback;
}

__attribute__((constructor)) static void init(void) {
    real_fcntl = dlsym(RTLD_NEXT, "fcntl");
    real_fcntl64 = dlsym(RTLD_NEXT, "fcntl64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_open = dlsym(RTLD_NEXT, "open");
    real_open64 = dlsym(RTLD_NEXT, "open64");
    real_openat = dlsym(RTLD_NEXT, "openat");
    real_openat64 = dlsym(RTLD_NEXT, "openat64");
    real_close = dlsym(RTLD_NEXT, "close");
    real_unlink = dlsym(RTLD_NEXT, "unlink");
    delay_us[LOCKS] = env_long("EFS_DELAY_LOCK_US", delay_us[LOCKS]);
    delay_us[SYNCS] = env_long("EFS_DELAY_SYNC_US", delay_us[SYNCS]);
    delay_us[METAS] = env_long("EFS_DELAY_META_US", delay_us[METAS]);
    const char *dir = getenv("EFS_DELAY_DIR");
    if (dir && *dir && strlen(dir) < sizeof prefix) {
        strcpy(prefix, dir);
        prefix_len = strlen(prefix);
    }
}

static void half_delay(int kind) {
    long us = delay_us[kind] / 2;
    if (us <= 0) return;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0) {}
}

static void count(int kind) { __atomic_fetch_add(&counts[kind], 1, __ATOMIC_RELAXED); }

static int under_mount(const char *path) {
    return prefix_len && path && strncmp(path, prefix, prefix_len) == 0;
}

static int is_tracked(int fd) { return fd >= 0 && fd < MAX_FD && tracked[fd]; }

static int opened(int fd, int mine) {
    if (fd >= 0 && fd < MAX_FD) tracked[fd] = (unsigned char)mine;
    return fd;
}

static int is_lock(int cmd) {
    switch (cmd) {
    case F_SETLK: case F_SETLKW: case F_GETLK:
#ifdef F_OFD_SETLK
    case F_OFD_SETLK: case F_OFD_SETLKW: case F_OFD_GETLK:
#endif
        return 1;
    default:
        return 0;
    }
}

static int do_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg) {
    if (!is_lock(cmd) || !is_tracked(fd)) return real(fd, cmd, arg);
    count(LOCKS);
    half_delay(LOCKS);
    int rc = real(fd, cmd, arg);
    half_delay(LOCKS);
    return rc;
}

/* fcntl's third argument is an int or a pointer; both travel in one register on x86_64 and
 * aarch64, so it is passed on as a pointer whatever it is (glibc's own wrappers do the same). */
int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return do_fcntl(real_fcntl, fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return do_fcntl(real_fcntl64 ? real_fcntl64 : real_fcntl, fd, cmd, arg);
}

static int do_sync(int (*real)(int), int fd) {
    if (!is_tracked(fd)) return real(fd);
    count(SYNCS);
    half_delay(SYNCS);
    int rc = real(fd);
    half_delay(SYNCS);
    return rc;
}

int fsync(int fd) { return do_sync(real_fsync, fd); }
int fdatasync(int fd) { return do_sync(real_fdatasync, fd); }

static mode_t mode_arg(int flags, va_list ap) {
#ifdef O_TMPFILE
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) return va_arg(ap, mode_t);
#else
    if (flags & O_CREAT) return va_arg(ap, mode_t);
#endif
    return 0;
}

/* openat's dirfd is ignored for matching: SQLite opens by absolute path. */
static int do_open(int dirfd, int (*plain)(const char *, int, ...), int (*at)(int, const char *, int, ...),
                   const char *path, int flags, mode_t mode) {
    int mine = under_mount(path);
    if (mine) { count(METAS); half_delay(METAS); }
    int fd = plain ? plain(path, flags, mode) : at(dirfd, path, flags, mode);
    if (mine) half_delay(METAS);
    return opened(fd, mine);
}

int open(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return do_open(0, real_open, NULL, path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return do_open(0, real_open64 ? real_open64 : real_open, NULL, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return do_open(dirfd, NULL, real_openat, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return do_open(dirfd, NULL, real_openat64 ? real_openat64 : real_openat, path, flags, mode);
}

int close(int fd) {
    if (!is_tracked(fd)) return real_close(fd);
    tracked[fd] = 0;
    count(METAS);
    half_delay(METAS);
    int rc = real_close(fd);
    half_delay(METAS);
    return rc;
}

int unlink(const char *path) {
    if (!under_mount(path)) return real_unlink(path);
    count(METAS);
    half_delay(METAS);
    int rc = real_unlink(path);
    half_delay(METAS);
    return rc;
}

/* locks, syncs, metadata operations seen so far by this process */
void efs_delay_counts(unsigned long out[3]) {
    for (int i = 0; i < N_KINDS; i++) out[i] = __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
}
