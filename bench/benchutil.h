/* benchutil: the process plumbing the benchmark programs in bench/ share.
 *
 * Free loopback ports, children in a process group of their own with their
 * output to a file (killed if the bench dies), stopping them by pid, a
 * process's CPU time and memory from /proc, the machine's busy CPU time,
 * the monotonic clock, waiting for a line in a log or for a port to
 * accept, writing small files, starting `mscada bus` and removing the
 * temp dir. */
#ifndef MSCADA_BENCH_BENCHUTIL_H
#define MSCADA_BENCH_BENCHUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Seconds on the monotonic clock. */
double bench_now_s(void);

/* n distinct free 127.0.0.1 ports of type (SOCK_STREAM or SOCK_DGRAM),
 * all bound at once and then freed: 0, or -1 (errno set). */
int bench_free_ports(int type, int *ports, int n);

/* One free 127.0.0.1 port of type, or -1 (errno set). */
int bench_free_port(int type);

/* A TCP connection to 127.0.0.1:port with TCP_NODELAY, retried for up to
 * wait_s seconds while nothing accepts: the fd, or -1 (errno set). */
int bench_dial(int port, double wait_s);

/* fork() for a child of the bench: stdout and stderr flushed first; the
 * child runs in a session of its own (no Ctrl-C from the terminal) and
 * gets SIGKILL when the bench dies. Returns as fork() does. */
pid_t bench_fork(void);

/* Runs argv[0] (a path) with argv in a bench_fork() child, stdin from
 * /dev/null and stdout and stderr appended to the file log. */
pid_t bench_spawn(char *const argv[], const char *log);

/* bench_spawn with stderr to its own file err (NULL: to out) and, when
 * cpu >= 0, the child pinned to that CPU. */
pid_t bench_spawn_on(char *const argv[], const char *out, const char *err,
                     int cpu);

/* Pins the calling process to one CPU: 0, or -1. */
int bench_pin_cpu(int cpu);

/* SIGTERM to pid, waits for it up to grace_s seconds, then SIGKILL (said
 * on stderr). pid <= 0 is ignored. */
void bench_stop(pid_t pid, double grace_s);

/* user+system CPU seconds of pid from /proc, or -1 when it is gone. */
double bench_cpu_s(pid_t pid);

/* user+system CPU seconds of this process. */
double bench_cpu_self(void);

/* Busy CPU seconds of the whole machine (all cores) from /proc/stat. */
double bench_machine_s(void);

/* A KiB field of /proc/PID/status ("VmRSS", "VmHWM"), or -1. */
long bench_status_kib(pid_t pid, const char *key);

/* Waits up to secs seconds for text to appear in the file at path (the
 * log of child pid, if pid > 0: its exit ends the wait): 0, or -1. */
int bench_wait_log(const char *path, const char *text, double secs,
                   pid_t pid);

/* Writes the file at path (truncating it) from fmt: 0, or -1. */
int bench_write(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* BUILD/mscada for a bench run as BUILD/bench/NAME: "../mscada" beside
 * the folder of argv0, into out. */
void bench_mscada_path(char *out, size_t cap, const char *argv0);

/* Starts `mscada bus` (mscada: the executable) on a free 127.0.0.1 port
 * with the config DIR/NAME.yaml, its output in DIR/NAME.log and, unless
 * tags is NULL, --tags tags, and waits up to 10 s until it listens: its
 * pid and *port, or -1 (said on stderr; nothing left running). */
pid_t bench_bus_start(const char *mscada, const char *dir, const char *name,
                      const char *tags, int *port);

/* Removes dir and everything below it: 0, or -1. */
int bench_rm_dir(const char *dir);

#endif
