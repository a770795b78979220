/* benchutil: the process plumbing the benchmark programs in bench/ share
 * (see benchutil.h). */
#include "benchutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int bench_free_ports(int type, int *ports, int n)
{
    /* Held open together, so that no two are the same port. */
    int *fds = malloc((size_t)n * sizeof *fds);
    int rc = fds ? 0 : -1, i = 0;
    for (; rc == 0 && i < n; i++) {
        struct sockaddr_in a = loopback(0);
        socklen_t al = sizeof a;
        fds[i] = socket(AF_INET, type, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof a) < 0 ||
            getsockname(fds[i], (struct sockaddr *)&a, &al) < 0)
            rc = -1;
        else
            ports[i] = ntohs(a.sin_port);
    }
    int err = errno;
    while (i-- > 0)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    errno = err;
    return rc;
}

int bench_free_port(int type)
{
    int port;
    return bench_free_ports(type, &port, 1) < 0 ? -1 : port;
}

int bench_dial(int port, double wait_s)
{
    double end = bench_now_s() + wait_s;
    for (;;) {
        struct sockaddr_in a = loopback(port);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        int err = errno;
        close(fd);
        errno = err;
        if (bench_now_s() >= end)
            return -1;
        usleep(10000);
    }
}

pid_t bench_fork(void)
{
    pid_t parent = getpid();
    fflush(NULL); /* or the child would print what we buffered */
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) /* the bench died before prctl */
            _exit(1);
    }
    return pid;
}

int bench_pin_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

pid_t bench_spawn_on(char *const argv[], const char *out, const char *err,
                     int cpu)
{
    pid_t pid = bench_fork();
    if (pid == 0) {
        if (cpu >= 0 && bench_pin_cpu(cpu) < 0)
            _exit(126);
        int in = open("/dev/null", O_RDONLY);
        int o = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int e = err ? open(err, O_WRONLY | O_CREAT | O_APPEND, 0644) : o;
        if (in < 0 || o < 0 || e < 0)
            _exit(127);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

pid_t bench_spawn(char *const argv[], const char *log)
{
    return bench_spawn_on(argv, log, NULL, -1);
}

void bench_stop(pid_t pid, double grace_s)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (double t = 0; t < grace_s; t += 0.01) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(10000);
    }
    fprintf(stderr, "%s: pid %d ignored SIGTERM for %g s: SIGKILL\n",
            program_invocation_short_name, (int)pid, grace_s);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

double bench_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* The name, in parentheses, may hold spaces: fields count from the
     * last ')'. Then state and 10 fields, then utime and stime. */
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                            "%lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double bench_cpu_self(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 +
           (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}

double bench_machine_s(void)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8)
        return 0;
    /* all but idle (3) and iowait (4) */
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
           (double)sysconf(_SC_CLK_TCK);
}

long bench_status_kib(pid_t pid, const char *key)
{
    char path[64], line[256];
    size_t kl = strlen(key);
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            kib = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* Has child pid exited? Asked without reaping it: bench_stop still may. */
static bool exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    return pid > 0 &&
           waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           si.si_pid == pid;
}

int bench_wait_log(const char *path, const char *text, double secs,
                   pid_t pid)
{
    char line[512];
    for (double t = 0; t < secs; t += 0.05) {
        bool gone = exited(pid); /* before reading: its last words count */
        FILE *f = fopen(path, "r");
        int found = 0;
        while (f && !found && fgets(line, sizeof line, f))
            found = strstr(line, text) != NULL;
        if (f)
            fclose(f);
        if (found)
            return 0;
        if (gone || pid < 0)
            return -1;
        usleep(50000);
    }
    return -1;
}

int bench_write(const char *path, const char *fmt, ...)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(f, fmt, ap);
    va_end(ap);
    return fclose(f) != 0 || n < 0 ? -1 : 0;
}

void bench_mscada_path(char *out, size_t cap, const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    int dir_len = slash ? (int)(slash + 1 - argv0) : 0;
    snprintf(out, cap, "%.*s../mscada", dir_len, argv0);
}

pid_t bench_bus_start(const char *mscada, const char *dir, const char *name,
                      const char *tags, int *port)
{
    char conf[512], log[512];
    snprintf(conf, sizeof conf, "%s/%s.yaml", dir, name);
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    *port = bench_free_port(SOCK_STREAM);
    if (*port < 0) {
        fprintf(stderr, "%s: no free port for the bus: %s\n",
                program_invocation_short_name, strerror(errno));
        return -1;
    }
    if (bench_write(conf, "ip: 127.0.0.1\nport: %d\n", *port) < 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n",
                program_invocation_short_name, conf, strerror(errno));
        return -1;
    }
    char *argv[] = {(char *)mscada, (char *)"bus", (char *)"--config", conf,
                    (char *)(tags ? "--tags" : NULL), (char *)tags, NULL};
    pid_t pid = bench_spawn(argv, log);
    if (pid < 0 || bench_wait_log(log, "listening on", 10, pid) < 0) {
        fprintf(stderr, "%s: the bus did not start; see %s\n",
                program_invocation_short_name, log);
        bench_stop(pid, 5);
        return -1;
    }
    return pid;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int bench_rm_dir(const char *dir)
{
    return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
