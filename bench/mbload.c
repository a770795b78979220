/* mbload: Modbus/TCP load against `mscada modbusserver` and against the
 * libmodbus select() server (bench/mbref.c), started side by side in one
 * run. Every request is FC3 for 125 registers.
 *
 *   mbload [--mscada PATH] [--mbref PATH] [--seconds S] [--pin]
 *
 * Phases per server: 1 and 10 blocking libmodbus masters (a thread each);
 * 10 connections with one request in flight each, driven by one epoll
 * thread (the same access pattern at a fraction of the load's CPU, so the
 * server rather than the load is the limit); one raw connection keeping 8
 * and 32 requests in flight; bursts of 8 (time until all 8 answers); and,
 * for mscada only (the libmodbus server is single-threaded and blocks on a
 * stalled master by design), one master stalled mid-frame plus one that
 * never reads, while another measures its latency, and how long until the
 * never-reader is dropped. CPU is user+system time over the phase (from
 * /proc) of the server process and of this load process. --pin puts the
 * load on CPU 0 and the servers on CPU 1, so neither steals the other's. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <modbus.h>

#include "benchutil.h"

/* The servers run in their own sessions: stop them on Ctrl-C too. */
static volatile pid_t children[2];

static void on_signal(int sig)
{
    for (int i = 0; i < 2; i++)
        if (children[i] > 0)
            kill(children[i], SIGTERM);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void wait_port(int port)
{
    int fd = bench_dial(port, 5);
    if (fd < 0) {
        fprintf(stderr, "mbload: nothing listens on %d\n", port);
        exit(1);
    }
    close(fd);
}

/* ---- blocking libmodbus masters ------------------------------------------- */

typedef struct {
    int port;
    double until;
    long n;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    modbus_t *m = modbus_new_tcp("127.0.0.1", w->port);
    modbus_set_slave(m, 1);
    if (modbus_connect(m) < 0)
        return NULL;
    uint16_t r[125];
    while (bench_now_s() < w->until) {
        if (modbus_read_registers(m, 0, 125, r) != 125) {
            fprintf(stderr, "mbload: read failed: %s\n",
                    modbus_strerror(errno));
            break;
        }
        w->n++;
    }
    modbus_close(m);
    modbus_free(m);
    return NULL;
}

static double blocking(int port, int nconn, double secs)
{
    pthread_t th[64];
    worker w[64];
    double t0 = bench_now_s();
    for (int i = 0; i < nconn; i++) {
        w[i] = (worker){port, t0 + secs, 0};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    long n = 0;
    for (int i = 0; i < nconn; i++) {
        pthread_join(th[i], NULL);
        n += w[i].n;
    }
    return (double)n / (bench_now_s() - t0);
}

/* ---- raw pipelining ---------------------------------------------------------- */

#define RSP_LEN (7 + 2 + 250)

static size_t put_req(uint8_t *p, uint16_t tid)
{
    uint8_t q[12] = {tid >> 8, tid & 0xff, 0, 0, 0, 6, 1, 3, 0, 0, 0, 125};
    memcpy(p, q, 12);
    return 12;
}

static double pipelined(int port, int depth, double secs)
{
    int fd = bench_dial(port, 0);
    uint8_t req[12 * 64], in[RSP_LEN * 64];
    size_t have = 0;
    uint16_t tid = 0;
    size_t n = 0;
    for (int i = 0; i < depth; i++)
        n += put_req(req + n, tid++);
    if (send(fd, req, n, 0) != (ssize_t)n)
        return 0;
    long done = 0;
    double t0 = bench_now_s(), end = t0 + secs;
    while (bench_now_s() < end) {
        ssize_t k = recv(fd, in + have, sizeof in - have, 0);
        if (k <= 0)
            break;
        have += (size_t)k;
        size_t whole = have / RSP_LEN;
        if (!whole)
            continue;
        done += (long)whole;
        memmove(in, in + whole * RSP_LEN, have - whole * RSP_LEN);
        have -= whole * RSP_LEN;
        n = 0;
        for (size_t i = 0; i < whole; i++)
            n += put_req(req + n, tid++);
        if (send(fd, req, n, 0) != (ssize_t)n)
            break;
    }
    double rate = (double)done / (bench_now_s() - t0);
    close(fd);
    return rate;
}


/* One thread, epoll over nconn connections, each with one request in
 * flight: the access pattern of nconn blocking masters at a fraction of
 * their cost, so the server rather than the load is the limit. */
static double multiplexed(int port, int nconn, double secs)
{
    int ep = epoll_create1(0), fds[64];
    size_t have[64] = {0};
    uint8_t in[RSP_LEN], req[12];
    uint16_t tid = 0;
    long done = 0;
    double t0 = bench_now_s();
    for (int i = 0; i < nconn; i++) {
        fds[i] = bench_dial(port, 0);
        if (fds[i] < 0) {
            fprintf(stderr, "mbload: connect: %s\n", strerror(errno));
            nconn = i;
            goto out;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
        put_req(req, tid++);
        if (send(fds[i], req, 12, 0) != 12) {
            nconn = i + 1;
            goto out;
        }
    }
    t0 = bench_now_s();
    double end = t0 + secs;
    struct epoll_event evs[64];
    while (bench_now_s() < end) {
        int k = epoll_wait(ep, evs, 64, 1000);
        for (int j = 0; j < k; j++) {
            int i = (int)evs[j].data.u32;
            ssize_t r = recv(fds[i], in, RSP_LEN - have[i], 0);
            if (r <= 0)
                goto out;
            have[i] += (size_t)r;
            if (have[i] < RSP_LEN)
                continue;
            have[i] = 0;
            done++;
            put_req(req, tid++);
            if (send(fds[i], req, 12, 0) != 12)
                goto out;
        }
    }
out:;
    double rate = (double)done / (bench_now_s() - t0);
    for (int i = 0; i < nconn; i++)
        close(fds[i]);
    close(ep);
    return rate;
}

/* ---- latency ----------------------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_d);
    return n ? v[(size_t)(p * (double)(n - 1))] : 0;
}

/* Sends `burst` requests at once and times until every answer is in. */
static size_t bursts(int port, int burst, double secs, double *lat,
                     size_t cap)
{
    int fd = bench_dial(port, 0);
    uint8_t req[12 * 64], in[RSP_LEN * 64];
    size_t k = 0;
    double end = bench_now_s() + secs;
    while (bench_now_s() < end && k < cap) {
        size_t n = 0;
        for (int i = 0; i < burst; i++)
            n += put_req(req + n, (uint16_t)i);
        double t0 = bench_now_s();
        if (send(fd, req, n, 0) != (ssize_t)n)
            break;
        size_t have = 0, want = (size_t)burst * RSP_LEN;
        while (have < want) {
            ssize_t r = recv(fd, in + have, want - have, 0);
            if (r <= 0)
                goto out;
            have += (size_t)r;
        }
        lat[k++] = bench_now_s() - t0;
        usleep(200);
    }
out:
    close(fd);
    return k;
}

typedef struct {
    int port;
    volatile bool stop;
    double dropped_after; /* seconds until the server dropped it; -1 */
} hog;

/* Sends requests and never reads an answer. */
static void *never_reads(void *arg)
{
    hog *h = arg;
    h->dropped_after = -1;
    int fd = bench_dial(h->port, 0);
    int sz = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    struct timeval tv = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static uint8_t req[12 * 1000];
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        n += put_req(req + n, (uint16_t)i);
    double t0 = bench_now_s();
    while (!h->stop) {
        ssize_t k = send(fd, req, n, MSG_NOSIGNAL);
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            h->dropped_after = bench_now_s() - t0;
            break;
        }
    }
    close(fd);
    return NULL;
}

/* ---- the run ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    int port;
    pid_t pid;
} target;

static void phase(const target *t, const char *what, double (*fn)(int, int,
                                                                double),
                  int arg, double secs)
{
    double c0 = bench_cpu_s(t->pid), l0 = bench_cpu_s(getpid()), t0 = bench_now_s();
    double rate = fn(t->port, arg, secs);
    double dt = bench_now_s() - t0;
    double cpu = (bench_cpu_s(t->pid) - c0) / dt * 100;
    double load = (bench_cpu_s(getpid()) - l0) / dt * 100;
    printf("%-22s %-26s %10.0f req/s   server CPU %5.1f%%   load CPU %5.1f%%\n",
           t->name, what, rate, cpu, load);
    fflush(stdout);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mbload [--mscada PATH] [--mbref PATH] [--seconds S] "
            "[--pin]\n"
            "Loads `mscada modbusserver` and the libmodbus select() server "
            "(bench/mbref)\nside by side with FC3 x 125 registers and prints "
            "req/s and CPU per phase.\n"
            "  --mscada PATH   the mscada binary (default ./mscada)\n"
            "  --mbref PATH    the reference server (default ./bench/mbref)\n"
            "  --seconds S     length of each phase (default 3)\n"
            "  --pin           load on CPU 0, both servers on CPU 1\n"
            "Run it from the build folder; see bench/README.md.\n");
}

int main(int argc, char **argv)
{
    const char *mscada = "./mscada", *mbref = "./bench/mbref";
    double secs = 3;
    bool pin = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--pin")) {
            pin = true;
            continue;
        }
        if (strcmp(a, "--mscada") && strcmp(a, "--mbref") &&
            strcmp(a, "--seconds")) {
            fprintf(stderr, "mbload: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "mbload: %s needs a value\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        char *end;
        if (!strcmp(a, "--mscada")) {
            mscada = v;
        } else if (!strcmp(a, "--mbref")) {
            mbref = v;
        } else {
            secs = strtod(v, &end);
            if (*end || !(secs > 0 && secs <= 3600)) {
                fprintf(stderr, "mbload: --seconds wants a number of "
                                "seconds (0 < S <= 3600), not '%s'\n", v);
                return 2;
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        const char *bin = i ? mbref : mscada;
        if (access(bin, X_OK) != 0) {
            fprintf(stderr, "mbload: can't run %s (%s); run me from the "
                            "build folder or give --mscada/--mbref\n", bin,
                    strerror(errno));
            return 2;
        }
    }
    int server_cpu = -1;
    if (pin) {
        if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || bench_pin_cpu(0) < 0) {
            fprintf(stderr, "mbload: --pin needs CPUs 0 and 1\n");
            return 2;
        }
        server_cpu = 1;
    }
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/mbload-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    int port[3]; /* mscada's, libmodbus's, and a bus nobody runs */
    if (bench_free_ports(SOCK_STREAM, port, 3) < 0) {
        perror("mbload: no free ports");
        return 1;
    }
    int mport = port[0], rport = port[1];
    char conf[256], mlog[256], rlog[256], rps[16];
    snprintf(conf, sizeof conf, "%s/modbusserver.yaml", dir);
    snprintf(mlog, sizeof mlog, "%s/modbusserver.log", dir);
    snprintf(rlog, sizeof rlog, "%s/mbref.log", dir);
    FILE *f = fopen(conf, "w");
    /* No bus runs: the module keeps retrying it, which costs nothing. */
    fprintf(f, "bus_port: %d\nrtus:\n- name: B\n  port: %d\n  timeout: 5\n"
               "  serve:\n  - {unit: 1, file: 4x, start: 1, end: 200}\n",
            port[2], mport);
    fclose(f);
    char *margv[] = {(char *)mscada, "modbusserver", "--config", conf, NULL};
    snprintf(rps, sizeof rps, "%d", rport);
    char *rargv[] = {(char *)mbref, rps, NULL};
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    target ts[2] = {{"mscada modbusserver", mport, 0},
                    {"libmodbus select()", rport, 0}};
    children[0] = ts[0].pid = bench_spawn_on(margv, mlog, NULL, server_cpu);
    children[1] = ts[1].pid = bench_spawn_on(rargv, rlog, NULL, server_cpu);
    wait_port(mport);
    wait_port(rport);
    printf("FC3 x 125 registers, %g s per phase, loopback%s\n", secs,
           pin ? ", load on CPU 0, servers on CPU 1" : "");
    for (int i = 0; i < 2; i++) {
        phase(&ts[i], "1 conn (libmodbus)", blocking, 1, secs);
        phase(&ts[i], "10 conns (libmodbus)", blocking, 10, secs);
        phase(&ts[i], "10 conns (epoll master)", multiplexed, 10, secs);
        phase(&ts[i], "pipelined depth 8", pipelined, 8, secs);
        phase(&ts[i], "pipelined depth 32", pipelined, 32, secs);
    }
    static double lat[100000];
    for (int i = 0; i < 2; i++) {
        size_t n = bursts(ts[i].port, 8, secs, lat, 100000);
        printf("%-22s burst of 8: all answered p50 %.3f ms, p99 %.3f ms "
               "(%zu bursts)\n", ts[i].name, pct(lat, n, 0.5) * 1e3,
               pct(lat, n, 0.99) * 1e3, n);
    }
    /* Stalls, against mscada only. */
    size_t n = bursts(mport, 1, secs, lat, 100000);
    printf("%-22s alone:            1 request p50 %.3f ms, p99 %.3f ms\n",
           ts[0].name, pct(lat, n, 0.5) * 1e3, pct(lat, n, 0.99) * 1e3);
    int stall = bench_dial(mport, 0);
    uint8_t part[5] = {0, 1, 0, 0, 0};
    if (send(stall, part, sizeof part, 0) != 5)
        return 1;
    hog h = {mport, false, -1};
    pthread_t th;
    pthread_create(&th, NULL, never_reads, &h);
    usleep(500000);
    n = bursts(mport, 1, 4, lat, 100000);
    printf("%-22s with a stalled + a never-reading master: 1 request p50 "
           "%.3f ms, p99 %.3f ms\n", ts[0].name, pct(lat, n, 0.5) * 1e3,
           pct(lat, n, 0.99) * 1e3);
    double end = bench_now_s() + 15;
    while (h.dropped_after < 0 && bench_now_s() < end)
        usleep(50000);
    h.stop = true;
    pthread_join(th, NULL);
    printf("%-22s never-reading master dropped after %.1f s (timeout: 5)\n",
           ts[0].name, h.dropped_after);
    close(stall);
    for (int i = 0; i < 2; i++)
        bench_stop(ts[i].pid, 5);
    return bench_rm_dir(dir) == 0 ? 0 : 1;
}
