/* histrec: how many values per second `mscada history` records when they
 * arrive over the bus (bench/README.md, "History recording").
 *
 * Starts `mscada bus` and `mscada history` (their own process groups,
 * logs in a temp folder) with a tags.yaml of T float tags, waits until
 * history answers an RTA (so every tag is subscribed), then one publisher
 * connection sets N values round-robin over the tags, in 64 KB writes, as
 * fast as the bus takes them or at --rate values/s. An RTA sent after the
 * last value is answered only once history has taken every value before
 * it (the bus forwards one connection's messages in order), which ends the
 * clock. history is then stopped with SIGTERM and the records on disk are
 * counted: values the bus conflated because history fell behind would be
 * missing there. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mscada/frame.h"
#include "mscada/mstime.h"
#include "mscada/value.h"

#include "benchutil.h"

#define SET_WIRE (MS_FRAME_HEAD + 1 + 8)
#define BATCH (64 * 1024 / SET_WIRE)

typedef struct {
    const char *mscada;
    long tags;
    uint64_t values;
    double rate;
    double flush;
    bool keep;
    char dir[256];
    int port;
    pid_t bus, hist;
} bench;

static void die(const char *what)
{
    fprintf(stderr, "histrec: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void write_text(const bench *b, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", b->dir, name);
    if (bench_write(p, "%s", text) < 0)
        die(p);
}

static void send_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("write to the bus");
        p += n;
        len -= (size_t)n;
    }
}

static void send_msg(int fd, uint8_t cmd, uint16_t id, uint64_t t,
                     const void *data, size_t len)
{
    uint8_t buf[MS_FRAME_HEAD + 512];
    size_t n = ms_frame_encode(buf, cmd, id, t, data, len);
    send_all(fd, buf, n);
}

/* Reads one whole message (payloads here are small: no chunks). */
static void recv_msg(int fd, ms_frame_head *h, uint8_t *data, size_t cap)
{
    uint8_t head[MS_FRAME_HEAD];
    size_t got = 0;
    while (got < sizeof head) {
        ssize_t n = read(fd, head + got, sizeof head - got);
        if (n <= 0)
            die("read from the bus");
        got += (size_t)n;
    }
    ms_frame_head_decode(head, sizeof head, h);
    size_t want = h->size;
    got = 0;
    while (got < want) {
        uint8_t sink[4096];
        uint8_t *dst = got < cap ? data + got : sink;
        size_t room = got < cap ? cap - got : sizeof sink;
        ssize_t n = read(fd, dst, want - got < room ? want - got : room);
        if (n <= 0)
            die("read from the bus");
        got += (size_t)n;
    }
}

static uint16_t tag_id(int fd, const char *name)
{
    send_msg(fd, MS_CMD_ID, 0, 0, name, strlen(name));
    for (;;) {
        ms_frame_head h;
        uint8_t d[512];
        recv_msg(fd, &h, d, sizeof d);
        if (h.cmd == MS_CMD_ID && h.size == strlen(name) &&
            !memcmp(d, name, h.size))
            return h.tag_id;
    }
}

/* Sends an RTA for one record-free range; true when history answered,
 * false when the bus said it has no author yet. */
static bool rta_round_trip(int fd, uint16_t hid, uint16_t rta_id)
{
    char req[200];
    int n = snprintf(req + 1, sizeof req - 1,
                     "{\"__rta_id__\": %u, \"tagname\": \"hr_0\", "
                     "\"start_us\": 0, \"end_us\": 1}",
                     rta_id);
    req[0] = MS_TYPE_JSON;
    send_msg(fd, MS_CMD_RTA, hid, ms_time_now_us(), req, (size_t)n + 1);
    for (;;) {
        ms_frame_head h;
        uint8_t d[64];
        recv_msg(fd, &h, d, sizeof d);
        if (h.cmd == MS_CMD_ERR)
            return false;
        if (h.cmd == MS_CMD_SET && h.tag_id == hid && h.size >= 7 &&
            ms_get_u16(d + 1) == rta_id)
            return true;
    }
}

static int count_fds(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(p);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static uint64_t disk_records(const bench *b, long *files)
{
    char p[512];
    snprintf(p, sizeof p, "%s/data", b->dir);
    DIR *d = opendir(p);
    uint64_t bytes = 0;
    struct dirent *de;
    *files = 0;
    while (d && (de = readdir(d))) {
        struct stat st;
        char f[1024];
        snprintf(f, sizeof f, "%s/%s", p, de->d_name);
        if (strstr(de->d_name, ".dat") && stat(f, &st) == 0) {
            bytes += (uint64_t)st.st_size;
            (*files)++;
        }
    }
    if (d)
        closedir(d);
    return bytes / 16;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: histrec --mscada PATH [--tags T] [--values N] "
            "[--rate R] [--flush S] [--keep]\n"
            "  --tags T     float tags recorded (default 10000)\n"
            "  --values N   values set in all (default 5000000)\n"
            "  --rate R     values/s (default 0: as fast as possible)\n"
            "  --flush S    history's flush_interval (default 10)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    bench b = {.tags = 10000, .values = 5000000, .flush = 10};
    static const struct option opts[] = {
        {"mscada", 1, 0, 'm'}, {"tags", 1, 0, 't'}, {"values", 1, 0, 'n'},
        {"rate", 1, 0, 'r'},   {"flush", 1, 0, 'f'}, {"keep", 0, 0, 'k'},
        {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': b.mscada = optarg; break;
        case 't': b.tags = atol(optarg); break;
        case 'n': b.values = strtoull(optarg, NULL, 10); break;
        case 'r': b.rate = atof(optarg); break;
        case 'f': b.flush = atof(optarg); break;
        case 'k': b.keep = true; break;
        default: usage();
        }
    }
    if (!b.mscada || b.tags < 1 || b.tags > 60000 || !b.values)
        usage();
    signal(SIGPIPE, SIG_IGN);
    snprintf(b.dir, sizeof b.dir, "/tmp/mscada-histrec.XXXXXX");
    if (!mkdtemp(b.dir))
        die("mkdtemp");

    size_t cap = (size_t)b.tags * 40 + 64;
    char *text = malloc(cap), *p = text;
    for (long i = 0; i < b.tags; i++)
        p += sprintf(p, "hr_%ld:\n  type: float\n", i);
    write_text(&b, "tags.yaml", text);
    char tags[300], conf[300], log[300];
    snprintf(tags, sizeof tags, "%s/tags.yaml", b.dir);
    snprintf(conf, sizeof conf, "%s/history.yaml", b.dir);
    snprintf(log, sizeof log, "%s/history.log", b.dir);
    b.bus = bench_bus_start(b.mscada, b.dir, "bus", tags, &b.port);
    if (b.bus < 0)
        return 1;
    snprintf(text, cap,
             "bus_port: %d\npath: %s/data\nflush_interval: %g\n", b.port,
             b.dir, b.flush);
    write_text(&b, "history.yaml", text);
    free(text);

    int fd = bench_dial(b.port, 30);
    if (fd < 0)
        die("connect to the bus");
    char *hargv[] = {(char *)b.mscada, (char *)"history", (char *)"--config",
                     conf, (char *)"--tags", tags, NULL};
    b.hist = bench_spawn(hargv, log);
    uint16_t hid = tag_id(fd, "__history__");
    send_msg(fd, MS_CMD_SUB, hid, 0, NULL, 0);
    uint16_t *ids = malloc((size_t)b.tags * sizeof *ids);
    for (long i = 0; i < b.tags; i++) {
        char name[32];
        snprintf(name, sizeof name, "hr_%ld", i);
        ids[i] = tag_id(fd, name);
    }
    uint64_t t_wait = ms_time_mono_ns();
    uint16_t rid = 1;
    while (!rta_round_trip(fd, hid, rid++)) {
        if (ms_time_mono_ns() - t_wait > 120e9) {
            fprintf(stderr, "histrec: history did not answer in 120 s "
                            "(log in %s)\n", b.dir);
            bench_stop(b.hist, 30);
            bench_stop(b.bus, 30);
            return 1;
        }
        usleep(100000);
    }
    double ready_s = (double)(ms_time_mono_ns() - t_wait) / 1e9;

    /* The flood: unique, increasing times per tag. */
    uint8_t *batch = malloc((size_t)BATCH * SET_WIRE);
    uint64_t base = ms_time_now_us() - b.values - 1000000;
    double cpu0 = bench_cpu_s(b.hist);
    uint64_t t0 = ms_time_mono_ns();
    int fds_mid = 0;
    for (uint64_t i = 0; i < b.values;) {
        size_t n = 0;
        for (; n < BATCH && i < b.values; n++, i++) {
            uint8_t v[9];
            ms_value fv = ms_value_float((double)i * 0.5);
            ms_value_encode(&fv, v, sizeof v);
            ms_frame_encode(batch + n * SET_WIRE, MS_CMD_SET,
                            ids[i % (uint64_t)b.tags], base + i, v, 9);
        }
        send_all(fd, batch, n * SET_WIRE);
        if (b.rate > 0) {
            uint64_t due = t0 + (uint64_t)((double)i / b.rate * 1e9);
            uint64_t now = ms_time_mono_ns();
            if (due > now) {
                struct timespec ts = {(time_t)((due - now) / 1000000000u),
                                      (long)((due - now) % 1000000000u)};
                nanosleep(&ts, NULL);
            }
        }
        if (!fds_mid && i >= b.values / 2)
            fds_mid = count_fds(b.hist);
    }
    double send_s = (double)(ms_time_mono_ns() - t0) / 1e9;
    while (!rta_round_trip(fd, hid, rid++))
        usleep(100000);
    double done_s = (double)(ms_time_mono_ns() - t0) / 1e9;
    double cpu1 = bench_cpu_s(b.hist);
    long rss = bench_status_kib(b.hist, "VmHWM");
    bench_stop(b.hist, 30);
    long files;
    uint64_t recs = disk_records(&b, &files);
    close(fd);
    bench_stop(b.bus, 30);

    printf("tags %ld, values %" PRIu64 ", rate %s\n", b.tags, b.values,
           b.rate > 0 ? "paced" : "as fast as the bus takes them");
    printf("history ready (all tags subscribed) after %.2f s\n", ready_s);
    printf("sent in %.2f s, all taken by history after %.2f s: "
           "%.0f values/s\n", send_s, done_s, (double)b.values / done_s);
    printf("history CPU %.2f s (%.0f%% of one core), peak RSS %ld MB, "
           "open fds %d\n", cpu1 - cpu0, 100 * (cpu1 - cpu0) / done_s,
           rss / 1024, fds_mid);
    printf("on disk after SIGTERM: %" PRIu64 " records in %ld files "
           "(%s)\n", recs, files,
           recs == b.values ? "none lost" : "SOME LOST (conflated)");
    if (!b.keep) {
        if (bench_rm_dir(b.dir) < 0)
            fprintf(stderr, "histrec: could not remove %s\n", b.dir);
    } else {
        printf("kept %s\n", b.dir);
    }
    free(batch);
    free(ids);
    return recs == b.values ? 0 : 1;
}
