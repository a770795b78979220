/* Helpers for the C system tests: a free loopback port, a real `mscada bus`
 * (or any program) started in its own session with its output in a file
 * and stopped by pid — always, also when a test fails (teardown, atexit,
 * and PR_SET_PDEATHSIG if the test process dies) — and a libuv loop run
 * until a condition holds or a deadline passes (the deadline only turns a
 * hang into a failure; nothing asserts on timing). */
#ifndef MS_SYSHELP_H
#define MS_SYSHELP_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MS_TEST_MAX_PROCS 16

static pid_t ms_test_procs[MS_TEST_MAX_PROCS];
static char ms_test_tmp[256];

static inline double ms_test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Stops pid: SIGTERM, then SIGKILL after `grace` seconds. Returns the
 * wait status, or -1. */
static inline int ms_test_stop_pid(pid_t pid, double grace)
{
    int st = -1;
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    double end = ms_test_now() + grace;
    while (ms_test_now() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            goto done;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
done:
    for (int i = 0; i < MS_TEST_MAX_PROCS; i++)
        if (ms_test_procs[i] == pid)
            ms_test_procs[i] = 0;
    return st;
}

/* Waits up to `seconds` for pid to exit by itself, then stops it. Returns
 * the wait status. */
static inline int ms_test_wait_pid(pid_t pid, double seconds)
{
    int st = -1;
    double end = ms_test_now() + seconds;
    while (ms_test_now() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            for (int i = 0; i < MS_TEST_MAX_PROCS; i++)
                if (ms_test_procs[i] == pid)
                    ms_test_procs[i] = 0;
            return st;
        }
        usleep(10000);
    }
    return ms_test_stop_pid(pid, 3);
}

static inline void ms_test_kill_all(void)
{
    for (int i = 0; i < MS_TEST_MAX_PROCS; i++)
        if (ms_test_procs[i] > 0)
            ms_test_stop_pid(ms_test_procs[i], 3.0);
}

/* Stops what is still running and removes the temp folder. */
static inline void ms_test_cleanup(void)
{
    ms_test_kill_all();
    if (ms_test_tmp[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", ms_test_tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", ms_test_tmp);
        ms_test_tmp[0] = 0;
    }
}

/* A temp folder for this test run, removed by ms_test_cleanup (also at
 * exit, e.g. when a group setup fails and no teardown runs). */
static inline const char *ms_test_dir(void)
{
    if (!ms_test_tmp[0]) {
        snprintf(ms_test_tmp, sizeof ms_test_tmp, "/tmp/mscada-test-XXXXXX");
        if (!mkdtemp(ms_test_tmp)) {
            perror("mkdtemp");
            exit(1);
        }
        static bool registered;
        if (!registered)
            atexit(ms_test_cleanup);
        registered = true;
    }
    return ms_test_tmp;
}

/* A loopback TCP port that was free a moment ago. */
static inline int ms_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
        perror("free port");
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* A TCP connection to a loopback port: its fd, or -1. */
static inline int ms_test_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static inline bool ms_test_port_open(int port)
{
    int fd = ms_test_connect(port);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

/* Starts argv in its own session, output appended to log. */
static inline pid_t ms_test_spawn(char *const argv[], const char *log)
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        setsid();
        /* Dies with the test, even if the test crashes. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (fd < 0 || nul < 0)
            _exit(127);
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; i < MS_TEST_MAX_PROCS; i++) {
        if (ms_test_procs[i] <= 0) {
            ms_test_procs[i] = pid;
            break;
        }
    }
    return pid;
}

/* A fresh pseudo-terminal pair (socat; it ends when one side hangs up):
 * the paths of its ends in a and b (cap bytes each, inside ms_test_dir()).
 * Returns socat's pid once both exist, or -1 (socat stopped) when they
 * don't within 30 s. */
static inline pid_t ms_test_pty_pair(char *a, char *b, size_t cap)
{
    static int n;
    const char *dir = ms_test_dir();
    char la[300], lb[300], log[300];
    struct stat st;
    n++;
    snprintf(a, cap, "%.150s/a%d", dir, n);
    snprintf(b, cap, "%.150s/b%d", dir, n);
    snprintf(la, sizeof la, "pty,raw,echo=0,link=%s", a);
    snprintf(lb, sizeof lb, "pty,raw,echo=0,link=%s", b);
    snprintf(log, sizeof log, "%.150s/socat%d.log", dir, n);
    char *argv[] = {(char *)"/usr/bin/socat", (char *)"-d", (char *)"-d", la,
                    lb, NULL};
    pid_t pid = ms_test_spawn(argv, log);
    double end = ms_test_now() + 30;
    bool ok = false;
    while (pid > 0 && !(ok = stat(a, &st) == 0 && stat(b, &st) == 0) &&
           ms_test_now() < end)
        usleep(10000);
    if (pid > 0 && !ok) {
        ms_test_stop_pid(pid, 5);
        pid = -1;
    }
    return pid;
}

/* Starts `mscada bus` on port and waits until it accepts. Returns its pid
 * or -1 (it exited, or never listened within 60 s). */
static inline pid_t ms_test_bus_start(int port)
{
    char conf[512], log[512];
    const char *dir = ms_test_dir();
    snprintf(conf, sizeof conf, "%s/bus-%d.yaml", dir, port);
    snprintf(log, sizeof log, "%s/bus-%d.log", dir, port);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f, "ip: 127.0.0.1\nport: %d\nstats_interval: 3600\n", port);
    fclose(f);
    char *argv[] = {(char *)MS_MSCADA_BIN, (char *)"bus", (char *)"--config",
                    conf, NULL};
    pid_t pid = ms_test_spawn(argv, log);
    double end = ms_test_now() + 60;
    while (ms_test_now() < end) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "bus exited at start; see %s\n", log);
            return -1;
        }
        if (ms_test_port_open(port))
            return pid;
        usleep(20000);
    }
    ms_test_stop_pid(pid, 3);
    return -1;
}

/* Polls for cond (a state no callback tells of) up to 20 s, then asserts
 * it: a deadline that only turns a hang into a failure, no timing. Needs
 * cmocka. */
#define MS_TEST_WAIT_FOR(cond)                                             \
    do {                                                                   \
        double end_ = ms_test_now() + 20;                                  \
        while (!(cond) && ms_test_now() < end_)                            \
            usleep(10000);                                                 \
        assert_true(cond);                                                 \
    } while (0)

/* Runs loop until done(arg) is true; false when `seconds` pass first. */
static inline void ms_test_tick(uv_timer_t *t)
{
    (void)t; /* only makes uv_run(UV_RUN_ONCE) come back */
}

static inline bool ms_test_run_until(uv_loop_t *loop,
                                     bool (*done)(void *arg), void *arg,
                                     double seconds)
{
    uv_timer_t tick;
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, ms_test_tick, 20, 20);
    double end = ms_test_now() + seconds;
    bool ok;
    while (!(ok = done(arg)) && ms_test_now() < end)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

/* Runs loop until nothing is left on it (every handle closed); false when
 * `seconds` pass first. */
static inline bool ms_test_run_drain(uv_loop_t *loop, double seconds)
{
    double end = ms_test_now() + seconds;
    while (uv_run(loop, UV_RUN_NOWAIT) != 0) {
        if (ms_test_now() > end)
            return false;
        usleep(1000);
    }
    return true;
}

#endif
