/* efs_delay.so: an LD_PRELOAD layer that makes a local directory behave, for SQLite, like a file
 * system reached over the network: every sync, byte-range lock request, read and metadata
 * operation (open, close, unlink) of a file under EFS_DELAY_DIR waits a fixed time, as an NFS
 * client waits for the server's answer. Everything else (Python's own imports, pipes) is untouched.
 *
 * Built by tests/bench/efs.py with `gcc -shared -fPIC -O2 -o efs_delay.so efs_delay.c -ldl`.
 *
 * Environment (microseconds):
 *   EFS_DELAY_DIR      path prefix of the emulated mount (required: without it nothing is delayed)
 *   EFS_DELAY_LOCK_US  per fcntl lock command: F_SETLK, F_SETLKW, F_GETLK and the OFD variants
 *                      (default 1000: one NFSv4 LOCK/LOCKU/LOCKT round trip at ~1 ms RTT)
 *   EFS_DELAY_SYNC_US  per fsync/fdatasync (default 2700: EFS's published write latency, ~2.7 ms,
 *                      for Regional file systems with elastic throughput)
 *   EFS_DELAY_READ_US  per read/pread (default 1000: the same table's ~1 ms read latency). Linux's
 *                      NFS client drops a file's cached data whenever it takes a lock on it
 *                      (fs/nfs/file.c, do_setlk: "locking acts as a cache coherency point") and
 *                      SQLite reads only under a lock, so each read it makes goes to the server.
 *                      SQLite itself re-reads its pages only when another process has written
 *                      since: this is what makes many writers slower than one.
 *   EFS_DELAY_META_US  per open/close/unlink (default 1000: OPEN, CLOSE and REMOVE are round trips)
 *
 * Latencies: Amazon EFS User Guide, "Amazon EFS performance specifications", General Purpose mode,
 * Regional, Elastic (docs.aws.amazon.com/efs/latest/ug/performance.html, read 2026-12-02).
 *
 * Half of each delay is spent before the real call and half after, as a request travels to the
 * server and its answer back: a lock is granted half a round trip after it is asked for, and a
 * released lock is free half a round trip before the client hears so.
 *
 * Not modelled: writes of pages (an NFS client buffers them until the sync, which is delayed),
 * readahead (a read fetching neighbouring pages too), the attribute revalidations (GETATTR) of
 * open and lock, and the server's own lock contention: the layer is, if anything, kind to the
 * per-transaction path. efs_delay_counts() (for ctypes) returns the operations seen.
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

enum { LOCKS, SYNCS, METAS, READS, N_KINDS };

static unsigned long counts[N_KINDS];
static unsigned char tracked[MAX_FD];
static long delay_us[N_KINDS] = {1000, 2700, 1000, 1000};
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
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off64_t);

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
    real_read = dlsym(RTLD_NEXT, "read");
    real_pread = dlsym(RTLD_NEXT, "pread");
    real_pread64 = dlsym(RTLD_NEXT, "pread64");
    delay_us[LOCKS] = env_long("EFS_DELAY_LOCK_US", delay_us[LOCKS]);
    delay_us[SYNCS] = env_long("EFS_DELAY_SYNC_US", delay_us[SYNCS]);
    delay_us[METAS] = env_long("EFS_DELAY_META_US", delay_us[METAS]);
    delay_us[READS] = env_long("EFS_DELAY_READ_US", delay_us[READS]);
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

/* `call`, as one round trip of `kind` when `mine`: counted, half the delay before, half after. */
#define ROUND_TRIP(kind, mine, type, call) ({   \
    int mine_ = (mine);                          \
    if (mine_) { count(kind); half_delay(kind); } \
    type rc_ = (call);                           \
    if (mine_) half_delay(kind);                 \
    rc_; })

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

/* fcntl's third argument is an int or a pointer; both travel in one register on x86_64 and
 * aarch64, so it is passed on as a pointer whatever it is (glibc's own wrappers do the same). */
#define FCNTL(name, real)                                                                  \
    int name(int fd, int cmd, ...) {                                                       \
        va_list ap;                                                                        \
        va_start(ap, cmd);                                                                 \
        void *arg = va_arg(ap, void *);                                                    \
        va_end(ap);                                                                        \
        return ROUND_TRIP(LOCKS, is_lock(cmd) && is_tracked(fd), int, (real)(fd, cmd, arg)); \
    }
FCNTL(fcntl, real_fcntl)
FCNTL(fcntl64, real_fcntl64 ? real_fcntl64 : real_fcntl)

int fsync(int fd) { return ROUND_TRIP(SYNCS, is_tracked(fd), int, real_fsync(fd)); }
int fdatasync(int fd) { return ROUND_TRIP(SYNCS, is_tracked(fd), int, real_fdatasync(fd)); }

ssize_t read(int fd, void *buf, size_t n) {
    return ROUND_TRIP(READS, is_tracked(fd), ssize_t, real_read(fd, buf, n));
}
ssize_t pread(int fd, void *buf, size_t n, off_t offset) {
    return ROUND_TRIP(READS, is_tracked(fd), ssize_t, real_pread(fd, buf, n, offset));
}
ssize_t pread64(int fd, void *buf, size_t n, off64_t offset) {
    return ROUND_TRIP(READS, is_tracked(fd), ssize_t, real_pread64(fd, buf, n, offset));
}

/* The mode argument exists only when a file may be created. */
#ifdef O_TMPFILE
#define CREATES(flags) (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE)
#else
#define CREATES(flags) ((flags) & O_CREAT)
#endif

/* openat's dirfd is not used for matching: SQLite opens by absolute path. */
#define OPEN(name, real, params, args)                                           \
    int name params {                                                            \
        mode_t mode = 0;                                                         \
        if (CREATES(flags)) {                                                    \
            va_list ap;                                                          \
            va_start(ap, flags);                                                 \
            mode = va_arg(ap, mode_t);                                           \
            va_end(ap);                                                          \
        }                                                                        \
        int mine = under_mount(path);                                            \
        return opened(ROUND_TRIP(METAS, mine, int, (real) args), mine);          \
    }
OPEN(open, real_open, (const char *path, int flags, ...), (path, flags, mode))
OPEN(open64, real_open64 ? real_open64 : real_open, (const char *path, int flags, ...), (path, flags, mode))
OPEN(openat, real_openat, (int dirfd, const char *path, int flags, ...), (dirfd, path, flags, mode))
OPEN(openat64, real_openat64 ? real_openat64 : real_openat, (int dirfd, const char *path, int flags, ...),
     (dirfd, path, flags, mode))

int close(int fd) {
    int mine = is_tracked(fd);
    if (mine) tracked[fd] = 0;
    return ROUND_TRIP(METAS, mine, int, real_close(fd));
}

int unlink(const char *path) { return ROUND_TRIP(METAS, under_mount(path), int, real_unlink(path)); }

/* locks, syncs, metadata operations, reads seen so far by this process */
void efs_delay_counts(unsigned long out[N_KINDS]) {
    for (int i = 0; i < N_KINDS; i++) out[i] = __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
}
