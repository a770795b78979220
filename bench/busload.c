/* busload: a load generator for the tag bus (docs/design.md §6).
 *
 * One publisher connection sets T INT tags (busload_0 .. busload_<T-1>)
 * round-robin, N SETs in all, each value the monotonic send time in ns; S
 * subscriber connections subscribe to every tag and measure each delivery's
 * latency (receive time - value). Optionally a probe connection sends a GET
 * every 10 ms and times the reply.
 *
 * One epoll loop, non-blocking sockets: the publisher writes 64 KB
 * batches, readers read up to 256 KB at a time and take the clock once per
 * read, so that busload itself is not what limits the figures. The GET
 * probe runs on a thread of its own with a blocking socket, so that the
 * time the main loop spends parsing deliveries is not counted as GET time. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <unistd.h>

#include "mscada/frame.h"
#include "mscada/mstime.h"
#include "mscada/value.h"

#include "benchutil.h"

#define SET_WIRE (MS_FRAME_HEAD + 1 + 8) /* one INT SET: 23 bytes */
#define BATCH_BYTES (64 * 1024)
#define BATCH_MSGS (BATCH_BYTES / SET_WIRE)
#define IN_CAP (256 * 1024)
#define MAX_SUBS 1000
#define MAX_TAGS 60000
#define PROBE_PERIOD_NS 10000000ull
#define NAME_PREFIX "busload_"

/* ---- latency histogram: log-linear, < 0.8 % error, every sample counted -- */

#define H_BITS 8
#define H_HALF (1u << (H_BITS - 1))
#define H_SIZE ((64 - H_BITS + 2) * H_HALF)

typedef struct {
    uint64_t n;
    uint64_t max;
    uint64_t sum;
    uint64_t b[H_SIZE];
} hist;

static inline unsigned hist_index(uint64_t v)
{
    if (v < (1u << H_BITS))
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned e = msb - (H_BITS - 1);
    return e * H_HALF + (unsigned)(v >> e);
}

static inline void hist_add(hist *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->n++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

/* Middle of bucket i. */
static double hist_value(unsigned i)
{
    if (i < (1u << H_BITS))
        return i;
    unsigned e = i / H_HALF - 1;
    uint64_t sub = i - e * H_HALF;
    uint64_t lo = sub << e, hi = ((sub + 1) << e) - 1;
    return (lo + hi) / 2.0;
}

/* The value at fraction q (0..1] of the samples, in ns. */
static double hist_quantile(const hist *h, double q)
{
    if (!h->n)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->n);
    if (want < 1)
        want = 1;
    if (want > h->n)
        want = h->n;
    uint64_t acc = 0;
    for (unsigned i = 0; i < H_SIZE; i++) {
        acc += h->b[i];
        if (acc >= want) {
            double v = hist_value(i);
            return v > (double)h->max ? (double)h->max : v;
        }
    }
    return (double)h->max;
}

/* ---- options ---------------------------------------------------------- */

static struct {
    char host[256];
    char port[16];
    unsigned subs;
    unsigned tags;
    uint64_t sets;
    uint64_t rate; /* 0 = as fast as the bus takes them */
    bool probe;
    uint64_t window; /* bytes; 0 = no limit */
    double quiet;    /* seconds */
} opt = {"127.0.0.1", "1324", 10, 100, 1000000, 0, false, 256u << 10, 2.0};

#define SYNOPSIS                                                            \
    "usage: busload [--bus HOST:PORT] [-S subscribers] [-T tags] [-N sets]\n" \
    "               [--rate SETS_PER_S] [--probe-get] [--window BYTES]\n"     \
    "               [--quiet SECONDS]\n"

static void short_usage(void)
{
    fputs(SYNOPSIS "'busload --help' explains every option.\n", stderr);
}

static void usage(FILE *f)
{
    fprintf(f,
SYNOPSIS
"\n"
"Loads an mscada (or pymscada) bus: one publisher sets T INT tags named\n"
"busload_0 .. busload_<T-1> round-robin, N SETs in all, each value being\n"
"its send time (monotonic ns); S subscribers subscribe to every tag and\n"
"time each delivery. Prints deliveries/s, sets/s, latency p50/p99/max (us,\n"
"every delivery counted) and how many deliveries the bus conflated.\n"
"\n"
"  -b, --bus HOST:PORT   the bus (default 127.0.0.1:1324)\n"
"  -S, --subscribers S   subscriber connections, 1..%d (default 10)\n"
"  -T, --tags T          tags, 1..%d (default 100)\n"
"  -N, --sets N          SETs the publisher sends (default 1000000)\n"
"  -r, --rate R          pace the publisher at R SETs/s (small batches from\n"
"                        a 250 us timer); without it, send as fast as the\n"
"                        socket takes them, in 64 KB writes\n"
"  -g, --probe-get       add a connection that GETs busload_0 every 10 ms\n"
"                        while the load runs and times each reply\n"
"  -w, --window BYTES    the publisher stays at most BYTES of SETs (23 bytes\n"
"                        each) ahead of the slowest subscriber, so that the\n"
"                        bus's queues stay bounded and it need not conflate\n"
"                        (default 262144; 0 = no limit, which will make a\n"
"                        bus conflate once it can't fan out as fast as the\n"
"                        publisher writes)\n"
"  -q, --quiet SECONDS   end the run when nothing has moved for this long\n"
"                        (default 2); what was not delivered by then is\n"
"                        reported as conflated\n"
"  -h, --help            this text\n"
"\n"
"The run ends when every subscriber has the last value of every tag, or\n"
"after the quiet timeout. Exit status: 0 done, 1 failure, 2 bad arguments.\n",
            MAX_SUBS, MAX_TAGS);
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_bus(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1])
        return false;
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (h[0] == '[') { /* [v6]:port */
        if (hl < 3 || h[hl - 1] != ']')
            return false;
        h++;
        hl -= 2;
    }
    uint64_t port;
    if (hl >= sizeof opt.host || !parse_u64(colon + 1, 1, 65535, &port))
        return false;
    memcpy(opt.host, h, hl);
    opt.host[hl] = 0;
    snprintf(opt.port, sizeof opt.port, "%u", (unsigned)port);
    return true;
}

static int bad_arg(const char *what, const char *val)
{
    fprintf(stderr, "busload: bad %s: '%s'\n", what, val);
    short_usage();
    return 2;
}

static int parse_args(int argc, char **argv)
{
    static const struct option lo[] = {
        {"bus", required_argument, NULL, 'b'},
        {"subscribers", required_argument, NULL, 'S'},
        {"tags", required_argument, NULL, 'T'},
        {"sets", required_argument, NULL, 'N'},
        {"rate", required_argument, NULL, 'r'},
        {"probe-get", no_argument, NULL, 'g'},
        {"window", required_argument, NULL, 'w'},
        {"quiet", required_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    uint64_t v;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":b:S:T:N:r:gw:q:h", lo, NULL)) !=
           -1) {
        switch (c) {
        case 'b':
            if (!parse_bus(optarg))
                return bad_arg("--bus (want HOST:PORT)", optarg);
            break;
        case 'S':
            if (!parse_u64(optarg, 1, MAX_SUBS, &v))
                return bad_arg("-S (subscribers)", optarg);
            opt.subs = (unsigned)v;
            break;
        case 'T':
            if (!parse_u64(optarg, 1, MAX_TAGS, &v))
                return bad_arg("-T (tags)", optarg);
            opt.tags = (unsigned)v;
            break;
        case 'N':
            if (!parse_u64(optarg, 1, 1000000000000ull, &v))
                return bad_arg("-N (sets)", optarg);
            opt.sets = v;
            break;
        case 'r':
            if (!parse_u64(optarg, 1, 1000000000ull, &v))
                return bad_arg("--rate (SETs/s)", optarg);
            opt.rate = v;
            break;
        case 'g':
            opt.probe = true;
            break;
        case 'w':
            if (!parse_u64(optarg, 0, 1ull << 40, &v) ||
                (v && v < SET_WIRE))
                return bad_arg("--window (0 or >= 23 bytes)", optarg);
            opt.window = v;
            break;
        case 'q': {
            char *end;
            errno = 0;
            double d = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(d >= 0.1 && d <= 3600))
                return bad_arg("--quiet (0.1..3600 seconds)", optarg);
            opt.quiet = d;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "busload: %s needs a value\n",
                    argv[optind - 1]);
            short_usage();
            return 2;
        default:
            fprintf(stderr, "busload: unknown option '%s'\n",
                    argv[optind - 1]);
            short_usage();
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "busload: unexpected argument '%s'\n",
                argv[optind]);
        short_usage();
        return 2;
    }
    return -1;
}

/* ---- connections ------------------------------------------------------- */

enum role { R_PUB, R_SUB, R_PROBE };
enum phase { P_ID, P_SUB, P_LOAD, P_END };

typedef struct {
    int fd;
    enum role role;
    unsigned index;
    bool want_out; /* EPOLLOUT registered */
    uint8_t *in;
    size_t inlen;
    uint8_t *out;
    size_t outoff, outlen, outcap;
    unsigned ids_got;     /* ID replies */
    unsigned initial_got; /* SET replies to SUB */
    uint64_t received;    /* load deliveries (INT SETs of our tags) */
    uint64_t other;       /* SETs that were not ours */
    uint64_t *last_seen;  /* per tag, the last value received */
    unsigned done_tags;   /* tags whose last value has arrived */
} conn;

static int ep;
static conn pub, probe;
static conn *subs;
static int32_t id2idx[65536];
static uint16_t *tag_id; /* per tag index */
static uint64_t *last_val; /* per tag: the last value sent (0 = none) */
static enum phase phase = P_ID;
static hist lat, getlat;
static uint64_t errs_setup, errs_load;
static uint64_t t_first_send, t_last_send, t_last_delivery, t_last_move;
static uint64_t sent, received_total, last_value;
static bool pub_done;
static uint64_t pace_t0, pace_behind_max;
static pthread_t probe_thread;
static atomic_bool probe_stop;
static unsigned probe_sent, probe_unanswered;
static uint64_t probe_errs;
static uint64_t stray;
static volatile sig_atomic_t interrupted;

static void die(const char *fmt, const char *a)
{
    fprintf(stderr, "busload: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    exit(1);
}

static const char *role_name(const conn *c)
{
    static char buf[32];
    switch (c->role) {
    case R_PUB:
        return "publisher";
    case R_PROBE:
        return "probe";
    default:
        snprintf(buf, sizeof buf, "subscriber %u", c->index);
        return buf;
    }
}

static void conn_open(conn *c, enum role role, unsigned index)
{
    struct addrinfo hints = {0}, *res, *ai;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(opt.host, opt.port, &hints, &res);
    if (rc)
        die("can't resolve the bus address: %s", gai_strerror(rc));
    int fd = -1, err = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        die("can't connect to the bus: %s", strerror(err));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        die("fcntl: %s", strerror(errno));
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->role = role;
    c->index = index;
    c->in = malloc(IN_CAP);
    if (!c->in)
        die("%s", "out of memory");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl: %s", strerror(errno));
}

static void conn_want_out(conn *c, bool want)
{
    if (c->want_out == want)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                             .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl: %s", strerror(errno));
    c->want_out = want;
}

/* Room for n more bytes at the end of c's output. */
static uint8_t *conn_reserve(conn *c, size_t n)
{
    if (c->outoff == c->outlen)
        c->outoff = c->outlen = 0;
    if (c->outlen + n > c->outcap && c->outoff) {
        memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
        c->outlen -= c->outoff;
        c->outoff = 0;
    }
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 4096;
        while (cap < c->outlen + n)
            cap *= 2;
        uint8_t *p = realloc(c->out, cap);
        if (!p)
            die("%s", "out of memory");
        c->out = p;
        c->outcap = cap;
    }
    return c->out + c->outlen;
}

static void conn_queue(conn *c, uint8_t cmd, uint16_t id, const void *data,
                       size_t len)
{
    uint8_t *p = conn_reserve(c, MS_FRAME_HEAD + len);
    ms_frame_head_encode(p, cmd, id, (uint16_t)len, ms_time_now_us());
    if (len)
        memcpy(p + MS_FRAME_HEAD, data, len);
    c->outlen += MS_FRAME_HEAD + len;
}

/* Writes what c has queued, as far as the socket takes it. Returns true
 * when the write was cut short (the socket is full). */
static bool conn_flush(conn *c, int max_writes)
{
    bool full = false;
    while (c->outoff < c->outlen && max_writes-- > 0) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                full = true;
                break;
            }
            fprintf(stderr, "busload: %s: write: %s\n", role_name(c),
                    strerror(errno));
            exit(1);
        }
        c->outoff += (size_t)n;
        if (c == &pub && phase == P_LOAD)
            t_last_send = t_last_move = ms_time_mono_ns();
    }
    conn_want_out(c, c->outoff < c->outlen);
    return full;
}

/* ---- the publisher ------------------------------------------------------ */

static void on_pub_done(void)
{
    pub_done = true;
    for (unsigned s = 0; s < opt.subs; s++) {
        conn *c = &subs[s];
        c->done_tags = 0;
        for (unsigned t = 0; t < opt.tags; t++)
            if (c->last_seen[t] == last_val[t])
                c->done_tags++;
    }
}

static uint64_t min_received(void)
{
    uint64_t m = UINT64_MAX;
    for (unsigned s = 0; s < opt.subs; s++)
        if (subs[s].received < m)
            m = subs[s].received;
    return m;
}

/* Appends up to n INT SETs (round-robin over the tags) to the output. */
static void pub_build(uint64_t n)
{
    static unsigned next_tag;
    uint64_t t = ms_time_mono_ns(), tus = ms_time_now_us();
    if (!t_first_send)
        t_first_send = t;
    if (opt.rate) {
        uint64_t sched =
            pace_t0 + (uint64_t)((double)sent * 1e9 / (double)opt.rate);
        if (t > sched && t - sched > pace_behind_max)
            pace_behind_max = t - sched;
    }
    uint8_t *p = conn_reserve(&pub, (size_t)n * SET_WIRE);
    for (uint64_t i = 0; i < n; i++) {
        /* Strictly increasing, so that each value names one SET. */
        uint64_t v = t > last_value ? t : last_value + 1;
        last_value = v;
        ms_frame_head_encode(p, MS_CMD_SET, tag_id[next_tag], 9, tus);
        p[MS_FRAME_HEAD] = MS_TYPE_INT;
        ms_put_u64(p + MS_FRAME_HEAD + 1, v);
        p += SET_WIRE;
        last_val[next_tag] = v;
        if (++next_tag == opt.tags)
            next_tag = 0;
    }
    pub.outlen += (size_t)n * SET_WIRE;
    sent += n;
    if (sent == opt.sets)
        on_pub_done();
}

static void pub_pump(uint64_t now)
{
    for (int round = 0; round < 16; round++) {
        size_t pending = pub.outlen - pub.outoff;
        if (!pub_done && pending < BATCH_BYTES / 2) {
            uint64_t n = (BATCH_BYTES - pending) / SET_WIRE;
            if (n > opt.sets - sent)
                n = opt.sets - sent;
            if (opt.window) {
                uint64_t inflight = sent - min_received();
                uint64_t w = opt.window / SET_WIRE;
                n = inflight >= w ? 0 : (n < w - inflight ? n : w - inflight);
            }
            if (opt.rate) {
                uint64_t due = (uint64_t)((double)(now - pace_t0) *
                                          (double)opt.rate / 1e9) + 1;
                n = due <= sent ? 0 : (n < due - sent ? n : due - sent);
            }
            if (n)
                pub_build(n);
        }
        if (pub.outoff == pub.outlen)
            break;
        if (conn_flush(&pub, 1))
            break;
    }
    conn_want_out(&pub, pub.outoff < pub.outlen);
}

/* ---- reading ------------------------------------------------------------ */

static void on_msg(conn *c, const ms_frame_head *h, const uint8_t *d)
{
    switch (h->cmd) {
    case MS_CMD_ID: {
        size_t pl = sizeof NAME_PREFIX - 1;
        if (h->size <= pl || h->size > pl + 5 || memcmp(d, NAME_PREFIX, pl)) {
            stray++;
            return;
        }
        unsigned idx = 0;
        for (size_t i = pl; i < h->size; i++) {
            if (d[i] < '0' || d[i] > '9') {
                stray++;
                return;
            }
            idx = idx * 10 + (unsigned)(d[i] - '0');
        }
        if (idx >= opt.tags) {
            stray++;
            return;
        }
        if (h->tag_id == 0)
            die("the bus answered ID with tag id 0 for %s",
                NAME_PREFIX "...");
        if ((tag_id[idx] && tag_id[idx] != h->tag_id) ||
            (id2idx[h->tag_id] >= 0 && id2idx[h->tag_id] != (int32_t)idx)) {
            fprintf(stderr,
                    "busload: the bus gave inconsistent ids: %s%u is %u "
                    "and %u\n",
                    NAME_PREFIX, idx, tag_id[idx], h->tag_id);
            exit(1);
        }
        tag_id[idx] = h->tag_id;
        id2idx[h->tag_id] = (int32_t)idx;
        c->ids_got++;
        return;
    }
    case MS_CMD_ERR:
        if (phase == P_LOAD) {
            if (++errs_load <= 5)
                fprintf(stderr, "busload: %s: bus ERR for tag %u: %.*s\n",
                        role_name(c), h->tag_id, (int)h->size,
                        (const char *)d);
        } else {
            errs_setup++; /* pymscada answers a new name with one */
        }
        return;
    case MS_CMD_SET:
        if (c->role == R_SUB && phase == P_SUB) {
            c->initial_got++;
            return;
        }
        if (c->role == R_SUB)
            c->other++;
        else
            stray++;
        return;
    default:
        stray++;
        return;
    }
}

static void conn_parse(conn *c, uint64_t now)
{
    uint8_t *b = c->in;
    size_t len = c->inlen, off = 0;
    bool load = c->role == R_SUB && phase == P_LOAD;
    while (len - off >= MS_FRAME_HEAD) {
        ms_frame_head h;
        if (ms_frame_head_decode(b + off, len - off, &h) < 0) {
            fprintf(stderr,
                    "busload: %s: the bus sent protocol version %u\n",
                    role_name(c), h.version);
            exit(1);
        }
        size_t whole = MS_FRAME_HEAD + (size_t)h.size;
        if (len - off < whole)
            break;
        const uint8_t *d = b + off + MS_FRAME_HEAD;
        off += whole;
        if (load && h.cmd == MS_CMD_SET) {
            int32_t idx = id2idx[h.tag_id];
            if (idx >= 0 && h.size == 9 && d[0] == MS_TYPE_INT) {
                uint64_t v = ms_get_u64(d + 1);
                hist_add(&lat, now > v ? now - v : 0);
                c->received++;
                received_total++;
                if (c->last_seen[idx] != v) {
                    c->last_seen[idx] = v;
                    if (pub_done && v == last_val[idx])
                        c->done_tags++;
                }
                t_last_delivery = now;
            } else {
                c->other++;
            }
            continue;
        }
        on_msg(c, &h, d);
    }
    if (off) {
        memmove(b, b + off, len - off);
        c->inlen = len - off;
    }
}

/* One read per wake-up: epoll is level-triggered, so a connection with
 * more to read comes back at once, and the pacing timer is not kept waiting
 * behind many subscribers' backlogs. */
static void conn_read(conn *c)
{
    ssize_t n;
    do
        n = read(c->fd, c->in + c->inlen, IN_CAP - c->inlen);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        fprintf(stderr, "busload: %s: read: %s\n", role_name(c),
                strerror(errno));
        exit(1);
    }
    if (n == 0) {
        fprintf(stderr, "busload: the bus closed the %s connection\n",
                role_name(c));
        exit(1);
    }
    uint64_t now = ms_time_mono_ns();
    t_last_move = now;
    c->inlen += (size_t)n;
    conn_parse(c, now);
}

/* ---- the run ------------------------------------------------------------- */

static void on_signal(int sig)
{
    interrupted = sig;
}

/* After the partial report: die of the signal, so that a calling shell
 * sees the interrupt (and stops its script) rather than a plain failure. */
static int exit_interrupted(void)
{
    fflush(stdout);
    signal((int)interrupted, SIG_DFL);
    raise((int)interrupted);
    return 1;
}

static bool all_subs(unsigned (*get)(const conn *), unsigned want)
{
    for (unsigned s = 0; s < opt.subs; s++)
        if (get(&subs[s]) < want)
            return false;
    return true;
}
static unsigned get_ids(const conn *c) { return c->ids_got; }
static unsigned get_initial(const conn *c) { return c->initial_got; }
static unsigned get_done(const conn *c) { return c->done_tags; }

static double secs(uint64_t ns) { return (double)ns / 1e9; }

static void progress(uint64_t now, bool final)
{
    static uint64_t last_t, last_sent, last_recv;
    static bool shown;
    bool tty = isatty(2);
    if (final) {
        if (shown && tty)
            fputc('\n', stderr);
        return;
    }
    if (!last_t) {
        last_t = now;
        return;
    }
    double dt = secs(now - last_t);
    fprintf(stderr,
            "%sbusload: %.0f s: sent %" PRIu64 "/%" PRIu64
            " (%.0f sets/s), delivered %" PRIu64 " (%.0f/s)%s",
            tty ? "\r" : "", secs(now - pace_t0), sent, opt.sets,
            (double)(sent - last_sent) / dt, received_total,
            (double)(received_total - last_recv) / dt, tty ? "\033[K" : "\n");
    shown = true;
    last_t = now;
    last_sent = sent;
    last_recv = received_total;
}

/* ---- the GET probe (its own thread) ---------------------------------------
 * Every 10 ms (or as soon as the previous reply is in, when that took
 * longer) it sends one GET and waits for the SET that answers it. */

/* Waits for and reads the GET reply. Returns 1 when it came, 0 when the
 * probe was told to stop and waited a second more in vain. */
static int probe_wait_reply(void)
{
    uint64_t stop_at = 0;
    for (;;) {
        /* A whole frame in the buffer? */
        while (probe.inlen >= MS_FRAME_HEAD) {
            ms_frame_head h;
            if (ms_frame_head_decode(probe.in, probe.inlen, &h) < 0) {
                fprintf(stderr, "busload: probe: the bus sent protocol "
                                "version %u\n", h.version);
                exit(1);
            }
            size_t whole = MS_FRAME_HEAD + (size_t)h.size;
            if (probe.inlen < whole)
                break;
            memmove(probe.in, probe.in + whole, probe.inlen - whole);
            probe.inlen -= whole;
            if (h.cmd == MS_CMD_SET)
                return 1;
            if (h.cmd == MS_CMD_ERR)
                probe_errs++;
        }
        struct pollfd pf = {probe.fd, POLLIN, 0};
        int r = poll(&pf, 1, 20);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "busload: probe: poll: %s\n", strerror(errno));
            exit(1);
        }
        if (r > 0) {
            ssize_t n = read(probe.fd, probe.in + probe.inlen,
                             IN_CAP - probe.inlen);
            if (n == 0) {
                fprintf(stderr, "busload: the bus closed the probe "
                                "connection\n");
                exit(1);
            }
            if (n < 0 && errno != EINTR && errno != EAGAIN) {
                fprintf(stderr, "busload: probe: read: %s\n",
                        strerror(errno));
                exit(1);
            }
            if (n > 0)
                probe.inlen += (size_t)n;
            continue;
        }
        if (atomic_load(&probe_stop)) {
            uint64_t now = ms_time_mono_ns();
            if (!stop_at)
                stop_at = now;
            else if (now - stop_at > 1000000000ull)
                return 0;
        }
    }
}

static void *probe_main(void *arg)
{
    (void)arg;
    uint8_t get[MS_FRAME_HEAD];
    uint64_t next = ms_time_mono_ns();
    while (!atomic_load(&probe_stop)) {
        uint64_t now = ms_time_mono_ns();
        if (now < next) {
            struct timespec ts = {(time_t)(next / 1000000000ull),
                                  (long)(next % 1000000000ull)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            continue;
        }
        next += PROBE_PERIOD_NS;
        ms_frame_head_encode(get, MS_CMD_GET, tag_id[0], 0,
                             ms_time_now_us());
        uint64_t t0 = ms_time_mono_ns();
        size_t off = 0;
        while (off < sizeof get) {
            ssize_t n = send(probe.fd, get + off, sizeof get - off,
                             MSG_NOSIGNAL);
            if (n < 0 && errno != EINTR && errno != EAGAIN) {
                fprintf(stderr, "busload: probe: write: %s\n",
                        strerror(errno));
                exit(1);
            }
            if (n > 0)
                off += (size_t)n;
        }
        probe_sent++;
        if (!probe_wait_reply()) {
            probe_unanswered++;
            break;
        }
        uint64_t t1 = ms_time_mono_ns();
        hist_add(&getlat, t1 - t0);
        if (next < t1)
            next = t1; /* a late reply: the next GET goes at once */
    }
    return NULL;
}

static void probe_start(void)
{
    /* From here on the thread owns the probe connection. */
    epoll_ctl(ep, EPOLL_CTL_DEL, probe.fd, NULL);
    int fl = fcntl(probe.fd, F_GETFL);
    fcntl(probe.fd, F_SETFL, fl & ~O_NONBLOCK);
    /* Signals go to the main loop, which stops the probe. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&probe_thread, NULL, probe_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        die("pthread_create: %s", strerror(rc));
}

int main(int argc, char **argv)
{
    int rc = parse_args(argc, argv);
    if (rc >= 0)
        return rc;

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    uint64_t start = ms_time_mono_ns();
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1: %s", strerror(errno));
    for (unsigned i = 0; i < 65536; i++)
        id2idx[i] = -1;
    tag_id = calloc(opt.tags, sizeof *tag_id);
    last_val = calloc(opt.tags, sizeof *last_val);
    subs = calloc(opt.subs, sizeof *subs);
    if (!tag_id || !last_val || !subs)
        die("%s", "out of memory");

    conn_open(&pub, R_PUB, 0);
    for (unsigned s = 0; s < opt.subs; s++) {
        conn_open(&subs[s], R_SUB, s);
        subs[s].last_seen = calloc(opt.tags, sizeof(uint64_t));
        if (!subs[s].last_seen)
            die("%s", "out of memory");
    }
    if (opt.probe)
        conn_open(&probe, R_PROBE, 0);

    /* Every connection asks the id of every tag (the probe: of one). */
    char name[32];
    for (unsigned t = 0; t < opt.tags; t++) {
        int nl = snprintf(name, sizeof name, NAME_PREFIX "%u", t);
        conn_queue(&pub, MS_CMD_ID, 0, name, (size_t)nl);
        for (unsigned s = 0; s < opt.subs; s++)
            conn_queue(&subs[s], MS_CMD_ID, 0, name, (size_t)nl);
        if (opt.probe && t == 0)
            conn_queue(&probe, MS_CMD_ID, 0, name, (size_t)nl);
    }
    conn_flush(&pub, 1000);
    for (unsigned s = 0; s < opt.subs; s++)
        conn_flush(&subs[s], 1000);
    if (opt.probe)
        conn_flush(&probe, 1000);

    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd < 0)
        die("timerfd_create: %s", strerror(errno));
    long tick_ns = opt.rate ? 250000 : 1000000;
    struct itimerspec its = {{0, tick_ns}, {0, tick_ns}};
    timerfd_settime(tfd, 0, &its, NULL);
    static int tmark;
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = &tmark};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

    uint64_t next_progress = 0;
    bool timed_out = false;
    t_last_move = start;
    struct epoll_event evs[256];
    while (phase != P_END && !interrupted) {
        if (phase == P_LOAD)
            pub_pump(ms_time_mono_ns());
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &tmark) {
                uint64_t x;
                if (read(tfd, &x, sizeof x) < 0) {
                    /* nothing: a tick was all it said */
                }
                continue;
            }
            conn *c = evs[i].data.ptr;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                conn_read(c);
            if ((evs[i].events & EPOLLOUT) && !(c == &pub && phase == P_LOAD))
                conn_flush(c, 16);
        }
        uint64_t now = ms_time_mono_ns();
        switch (phase) {
        case P_ID:
            if (pub.ids_got >= opt.tags && all_subs(get_ids, opt.tags) &&
                (!opt.probe || probe.ids_got >= 1)) {
                for (unsigned s = 0; s < opt.subs; s++) {
                    for (unsigned t = 0; t < opt.tags; t++)
                        conn_queue(&subs[s], MS_CMD_SUB, tag_id[t], NULL, 0);
                    conn_flush(&subs[s], 1000);
                }
                phase = P_SUB;
            }
            break;
        case P_SUB:
            if (all_subs(get_initial, opt.tags)) {
                phase = P_LOAD;
                pace_t0 = t_last_move = now;
                next_progress = now + 2000000000ull;
                if (opt.probe)
                    probe_start();
            }
            break;
        case P_LOAD:
            if (pub_done && pub.outoff == pub.outlen &&
                all_subs(get_done, opt.tags)) {
                phase = P_END;
                break;
            }
            if (now >= next_progress) {
                progress(now, false);
                next_progress = now + 1000000000ull;
            }
            break;
        default:
            break;
        }
        if (phase != P_END && now - t_last_move > opt.quiet * 1e9) {
            if (phase != P_LOAD && now - t_last_move < (opt.quiet + 10) * 1e9)
                continue; /* setup gets 10 s more */
            if (phase == P_ID || phase == P_SUB) {
                fprintf(stderr,
                        "busload: the bus stopped answering while %s "
                        "(ids %u/%u, initial SETs %u/%u on subscriber 0)\n",
                        phase == P_ID ? "asking tag ids" : "subscribing",
                        pub.ids_got, opt.tags, subs[0].initial_got,
                        opt.tags);
                return 1;
            }
            timed_out = true;
            phase = P_END;
        }
    }
    progress(0, true);
    uint64_t end = ms_time_mono_ns();
    if (phase != P_LOAD && phase != P_END) {
        fprintf(stderr, "busload: interrupted before the load started\n");
        return interrupted ? exit_interrupted() : 1;
    }

    if (opt.probe && (phase == P_LOAD || phase == P_END)) {
        atomic_store(&probe_stop, true);
        pthread_join(probe_thread, NULL);
    }

    /* ---- the report ---- */
    uint64_t expected = sent * opt.subs;
    uint64_t conflated = expected > received_total ? expected - received_total
                                                   : 0;
    uint64_t other = 0;
    for (unsigned s = 0; s < opt.subs; s++)
        other += subs[s].other;
    printf("busload: bus %s:%s, S=%u subscribers, T=%u tags, N=%" PRIu64
           " sets, ",
           opt.host, opt.port, opt.subs, opt.tags, opt.sets);
    if (opt.rate)
        printf("paced at %" PRIu64 " sets/s, ", opt.rate);
    else
        printf("saturated, ");
    if (opt.window)
        printf("window %" PRIu64 " bytes\n", opt.window);
    else
        printf("no window\n");
    if (interrupted)
        printf("  INTERRUPTED: partial figures\n");
    double send_s = t_last_send > t_first_send
                        ? secs(t_last_send - t_first_send) : 0;
    printf("  sets sent:     %" PRIu64 " of %" PRIu64 " in %.3f s = %.0f "
           "sets/s\n",
           sent, opt.sets, send_s, send_s > 0 ? (double)sent / send_s : 0);
    if (opt.rate)
        printf("  pacing:        publisher at most %.1f us behind schedule\n",
               (double)pace_behind_max / 1e3);
    printf("  deliveries:    expected %" PRIu64 ", received %" PRIu64 "\n",
           expected, received_total);
    double del_s = t_last_delivery > t_first_send
                       ? secs(t_last_delivery - t_first_send) : 0;
    printf("  deliveries/s:  %.0f (first send to last delivery %.3f s)\n",
           del_s > 0 ? (double)received_total / del_s : 0, del_s);
    printf("  latency us:    p50 %.1f  p99 %.1f  max %.1f  (%" PRIu64
           " deliveries)\n",
           hist_quantile(&lat, 0.50) / 1e3, hist_quantile(&lat, 0.99) / 1e3,
           (double)lat.max / 1e3, lat.n);
    if (opt.probe)
        printf("  GET probe us:  p50 %.1f  p99 %.1f  max %.1f  (%u GETs, %u "
               "unanswered)\n",
               hist_quantile(&getlat, 0.50) / 1e3,
               hist_quantile(&getlat, 0.99) / 1e3,
               (double)getlat.max / 1e3, probe_sent, probe_unanswered);
    if (probe_errs)
        printf("  GET probe:     %" PRIu64 " ERR replies\n", probe_errs);
    double cpu = bench_cpu_self();
    double wall = secs(end - start);
    printf("  busload cpu:   %.2f s in %.2f s (%.0f%% of a core)\n", cpu,
           wall, wall > 0 ? 100 * cpu / wall : 0);
    if (timed_out)
        printf("  ended by the quiet timeout (%.1f s without progress)\n",
               opt.quiet);
    if (errs_setup)
        printf("  setup: %" PRIu64 " ERR replies (pymscada answers a new "
               "tag name with one)\n",
               errs_setup);
    if (errs_load)
        printf("  bus ERRs during the load: %" PRIu64 "\n", errs_load);
    if (other || stray)
        printf("  unexpected messages: %" PRIu64 " on subscribers, %" PRIu64
               " elsewhere\n",
               other, stray);
    if (interrupted) {
        printf("conflated: unknown (interrupted with %" PRIu64
               " deliveries outstanding)\n",
               conflated);
    } else {
        printf("conflated: %" PRIu64 "\n", conflated);
    }
    if (conflated && !interrupted)
        printf("WARNING: the bus conflated %" PRIu64 " of %" PRIu64
               " deliveries (%.2f%%): this run is not a throughput figure\n",
               conflated, expected, 100.0 * (double)conflated / (double)expected);
    if (received_total > expected)
        printf("WARNING: %" PRIu64 " more deliveries than SETs x "
               "subscribers\n",
               received_total - expected);
    fflush(stdout);
    return interrupted ? exit_interrupted() : 0;
}
