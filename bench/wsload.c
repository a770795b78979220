/* wsload: a websocket load generator for `mscada wwwserver` (bench/README.md
 * "wwwserver"). One thread, epoll, a raw RFC 6455 client per tab and a raw
 * bus publisher:
 *   - opens --tabs websockets to the wwwserver, each subscribing to the
 *     same --tags int tags (Bench000, Bench001, ...), --slow of them never
 *     reading after the handshake;
 *   - sets those tags on the bus round robin at --rate updates/s in total
 *     for --seconds, each value stamped with the time it was sent;
 *   - per frame received: latency = now - the frame's time_us (the SET's
 *     stamp), into a 10 us histogram;
 *   - at the end (after a quiet second) checks every reading tab holds the
 *     last value of every tag, and reports frames/s, p50/p99/max latency,
 *     its own CPU and (with --pid) the server's CPU and RSS.
 * Usage: wsload --www PORT --bus PORT [--tabs 100] [--tags 100]
 *        [--rate 1000] [--seconds 10] [--slow 0] [--pid SERVER_PID]
 * (the history reply is timed by bench/www_history.py, not here) */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

#define HIST_BUCKETS 200000 /* 10 us each: 2 s */

typedef struct {
    int fd;
    int state; /* 0 handshake, 1 open */
    int slow;
    uint8_t *buf;
    size_t len, cap;
    int64_t *last; /* per tag index: last value seen */
    uint64_t frames;
} tab;

static uint64_t hist[HIST_BUCKETS + 1];
static uint64_t frames_total, lat_max;
static int ntags = 100;
static uint16_t *tag_ids;     /* bus id per index */
static int id_to_index[65536];

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static int dial(int port)
{
    int fd = bench_dial(port, 0);
    if (fd < 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

static void write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            usleep(100);
            continue;
        }
        if (w <= 0) {
            perror("write");
            exit(1);
        }
        b += w;
        n -= (size_t)w;
    }
}

/* ---- the bus publisher: raw protocol v1 ------------------------------- */

static void bus_send(int fd, int cmd, uint16_t id, uint64_t t,
                     const void *data, uint16_t len)
{
    uint8_t m[14 + 64];
    m[0] = 1;
    m[1] = (uint8_t)cmd;
    m[2] = (uint8_t)(id >> 8);
    m[3] = (uint8_t)id;
    m[4] = (uint8_t)(len >> 8);
    m[5] = (uint8_t)len;
    put64(m + 6, t);
    memcpy(m + 14, data, len);
    write_all(fd, m, 14u + len);
}

static void bus_ids(int fd)
{
    char name[32];
    for (int i = 0; i < ntags; i++) {
        int n = snprintf(name, sizeof name, "Bench%03d", i);
        bus_send(fd, 1, 0, 0, name, (uint16_t)n);
    }
    uint8_t buf[65536];
    size_t have = 0;
    int got = 0;
    while (got < ntags) {
        ssize_t r = read(fd, buf + have, sizeof buf - have);
        if (r <= 0) {
            fprintf(stderr, "wsload: bus closed during ID\n");
            exit(1);
        }
        have += (size_t)r;
        size_t pos = 0;
        while (have - pos >= 14) {
            uint16_t size = (uint16_t)(buf[pos + 4] << 8 | buf[pos + 5]);
            if (have - pos < 14u + size)
                break;
            if (buf[pos + 1] == 1) {
                uint16_t id = (uint16_t)(buf[pos + 2] << 8 | buf[pos + 3]);
                int idx = atoi((char *)buf + pos + 14 + 5);
                if (idx >= 0 && idx < ntags && !tag_ids[idx]) {
                    tag_ids[idx] = id;
                    id_to_index[id] = idx + 1;
                    got++;
                }
            }
            pos += 14u + size;
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
    }
}

/* ---- websocket tabs ---------------------------------------------------- */

static void ws_text(int fd, const char *s)
{
    size_t n = strlen(s);
    uint8_t m[300];
    m[0] = 0x81;
    m[1] = (uint8_t)(0x80 | n); /* short messages only */
    memset(m + 2, 0, 4);      /* mask 0: the payload as is */
    memcpy(m + 6, s, n);
    write_all(fd, m, n + 6);
}

static void tab_open(tab *t, int port)
{
    t->fd = dial(port);
    const char *req = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: "
                      "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: "
                      "13\r\n\r\n";
    write_all(t->fd, req, strlen(req));
    fcntl(t->fd, F_SETFL, O_NONBLOCK);
    t->cap = 1 << 16;
    t->buf = malloc(t->cap);
    t->last = calloc((size_t)ntags, sizeof *t->last);
    for (int i = 0; i < ntags; i++)
        t->last[i] = -1;
}

static void tab_subscribe(tab *t)
{
    char m[128];
    for (int i = 0; i < ntags; i++) {
        snprintf(m, sizeof m,
                 "{\"type\":\"sub\",\"tagname\":\"Bench%03d\",\"value\":null}",
                 i);
        ws_text(t->fd, m);
    }
}

static void on_frame(tab *t, int op, const uint8_t *p, size_t n)
{
    if (op != 2 || n < 20)
        return;
    uint16_t id = (uint16_t)(p[0] << 8 | p[1]);
    int idx = id_to_index[id] - 1;
    if (idx < 0)
        return;
    uint64_t lat = now_us() - get64(p + 4);
    if ((int64_t)lat < 0)
        lat = 0;
    hist[lat / 10 < HIST_BUCKETS ? lat / 10 : HIST_BUCKETS]++;
    if (lat > lat_max)
        lat_max = lat;
    t->last[idx] = (int64_t)get64(p + 12);
    t->frames++;
    frames_total++;
}

static void tab_read(tab *t)
{
    for (;;) {
        if (t->cap - t->len < 65536) {
            t->cap *= 2;
            t->buf = realloc(t->buf, t->cap);
        }
        ssize_t r = read(t->fd, t->buf + t->len, t->cap - t->len);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (r <= 0) {
            fprintf(stderr, "wsload: a tab was closed by the server\n");
            close(t->fd);
            t->fd = -1;
            return;
        }
        t->len += (size_t)r;
        size_t pos = 0;
        if (t->state == 0) {
            uint8_t *e = memmem(t->buf, t->len, "\r\n\r\n", 4);
            if (!e)
                continue;
            pos = (size_t)(e - t->buf) + 4;
            t->state = 1;
            tab_subscribe(t);
        }
        while (t->len - pos >= 2) {
            const uint8_t *h = t->buf + pos;
            size_t n = h[1] & 0x7f, hl = 2;
            if (n == 126) {
                if (t->len - pos < 4)
                    break;
                n = (size_t)(h[2] << 8 | h[3]);
                hl = 4;
            } else if (n == 127) {
                if (t->len - pos < 10)
                    break;
                n = get64(h + 2);
                hl = 10;
            }
            if (t->len - pos < hl + n)
                break;
            on_frame(t, h[0] & 0x0f, h + hl, n);
            pos += hl + n;
        }
        memmove(t->buf, t->buf + pos, t->len - pos);
        t->len -= pos;
    }
}

static uint64_t pct(double q)
{
    uint64_t total = 0, seen = 0;
    for (int i = 0; i <= HIST_BUCKETS; i++)
        total += hist[i];
    for (int i = 0; i <= HIST_BUCKETS; i++) {
        seen += hist[i];
        if (total && seen >= q * total)
            return (uint64_t)i * 10;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int www_port = 8324, bus_port = 1324, ntabs = 100, nslow = 0, pid = 0;
    double rate = 1000, seconds = 10;
    static const struct option opts[] = {
        {"www", 1, 0, 'w'},   {"bus", 1, 0, 'b'},  {"tabs", 1, 0, 'n'},
        {"tags", 1, 0, 't'},  {"rate", 1, 0, 'r'}, {"seconds", 1, 0, 's'},
        {"slow", 1, 0, 'l'},  {"pid", 1, 0, 'p'},  {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w': www_port = atoi(optarg); break;
        case 'b': bus_port = atoi(optarg); break;
        case 'n': ntabs = atoi(optarg); break;
        case 't': ntags = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 's': seconds = atof(optarg); break;
        case 'l': nslow = atoi(optarg); break;
        case 'p': pid = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: wsload --www PORT --bus PORT [--tabs N] "
                            "[--tags N] [--rate R] [--seconds S] [--slow K] "
                            "[--pid SERVER_PID]\n");
            return 2;
        }
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    tag_ids = calloc((size_t)ntags, sizeof *tag_ids);
    int bus = dial(bus_port);
    bus_ids(bus);
    fcntl(bus, F_SETFL, O_NONBLOCK);

    int ep = epoll_create1(0);
    tab *tabs = calloc((size_t)(ntabs + nslow), sizeof *tabs);
    for (int i = 0; i < ntabs + nslow; i++) {
        tab_open(&tabs[i], www_port);
        tabs[i].slow = i >= ntabs;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tabs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, tabs[i].fd, &ev);
    }
    /* Wait until every tab is open and subscribed (slow ones stop reading
     * after their handshake and subscriptions). */
    struct epoll_event evs[256];
    double t_end = bench_now_s() + 30;
    int open = 0;
    while (open < ntabs + nslow && bench_now_s() < t_end) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            tab *t = evs[i].data.ptr;
            int was = t->state;
            tab_read(t);
            if (!was && t->state)
                open++;
            if (t->slow && t->state)
                epoll_ctl(ep, EPOLL_CTL_DEL, t->fd, NULL);
        }
    }
    /* Let tag_info and the first values arrive. */
    t_end = bench_now_s() + 1;
    while (bench_now_s() < t_end) {
        int n = epoll_wait(ep, evs, 256, 50);
        for (int i = 0; i < n; i++)
            tab_read(evs[i].data.ptr);
    }
    memset(hist, 0, sizeof hist);
    frames_total = 0;
    lat_max = 0;

    long rss0 = pid ? bench_status_kib(pid, "VmRSS") : 0;
    double scpu0 = pid ? bench_cpu_s(pid) : 0;
    double cpu0 = bench_cpu_self(), t0 = bench_now_s();
    int64_t counter = 0;
    int next_tag = 0;
    double sent = 0;
    uint64_t published = 0;
    int64_t *lastpub = calloc((size_t)ntags, sizeof *lastpub);
    while (bench_now_s() - t0 < seconds) {
        double due = (bench_now_s() - t0) * rate;
        uint8_t batch[64 * 1024];
        size_t bl = 0;
        while (sent < due && bl + 23 <= sizeof batch) {
            uint8_t *m = batch + bl;
            uint16_t id = tag_ids[next_tag];
            m[0] = 1;
            m[1] = 2;
            m[2] = (uint8_t)(id >> 8);
            m[3] = (uint8_t)id;
            m[4] = 0;
            m[5] = 9;
            put64(m + 6, now_us());
            m[14] = 1;
            put64(m + 15, (uint64_t)++counter);
            lastpub[next_tag] = counter;
            next_tag = (next_tag + 1) % ntags;
            bl += 23;
            sent += 1;
            published++;
        }
        if (bl) {
            fcntl(bus, F_SETFL, 0);
            write_all(bus, batch, bl);
            fcntl(bus, F_SETFL, O_NONBLOCK);
        }
        int n = epoll_wait(ep, evs, 256, 1);
        for (int i = 0; i < n; i++)
            tab_read(evs[i].data.ptr);
        char drain[4096];
        while (read(bus, drain, sizeof drain) > 0)
            ;
    }
    double t1 = bench_now_s(), cpu1 = bench_cpu_self();
    double scpu1 = pid ? bench_cpu_s(pid) : 0;
    long rss1 = pid ? bench_status_kib(pid, "VmRSS") : 0;
    uint64_t frames_in_window = frames_total;
    /* A quiet second: everything still queued arrives. */
    t_end = bench_now_s() + 1;
    while (bench_now_s() < t_end) {
        int n = epoll_wait(ep, evs, 256, 50);
        for (int i = 0; i < n; i++)
            tab_read(evs[i].data.ptr);
    }
    int correct = 0, reading = 0;
    for (int i = 0; i < ntabs; i++) {
        if (tabs[i].fd < 0)
            continue;
        reading++;
        int ok = 1;
        for (int k = 0; k < ntags; k++)
            if (lastpub[k] && tabs[i].last[k] != lastpub[k])
                ok = 0;
        correct += ok;
    }
    double dt = t1 - t0;
    printf("tabs %d (+%d never reading), tags %d, %.0f updates/s for %.1f s: "
           "%" PRIu64 " published\n", ntabs, nslow, ntags, rate, dt,
           published);
    printf("frames: %" PRIu64 " in the window (%.0f/s; %.0f/s expected "
           "without conflation)\n", frames_in_window, frames_in_window / dt,
           rate * ntabs);
    printf("latency SET->frame: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           pct(0.5) / 1000.0, pct(0.99) / 1000.0, lat_max / 1000.0);
    printf("latest values correct: %d of %d reading tabs still open\n",
           correct, reading);
    printf("wsload CPU: %.0f %% of a core\n", 100 * (cpu1 - cpu0) / dt);
    if (pid)
        printf("server CPU: %.0f %% of a core; RSS %ld -> %ld kB (%.1f kB "
               "per tab)\n", 100 * (scpu1 - scpu0) / dt, rss0, rss1,
               (double)rss1 / (ntabs + nslow));
    return correct == reading ? 0 : 1;
}
