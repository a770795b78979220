/* spbbench: `mscada sparkplug` under load (bench/README.md, "Sparkplug").
 *
 * N edge sites into one centre through one broker, all on this machine,
 * all started here in a temp dir, each in its own process group, stopped
 * by pid at the end:
 *
 *   mosquitto                  one broker on a free loopback port
 *   N x (mscada bus + mscada sparkplug)   edge node E<i> of group Bench,
 *                              T int tags t0..t<T-1> each
 *   mscada bus + mscada sparkplug --mode host   the centre
 *
 * This program sets every edge tag once a second (spread evenly over the
 * second in 10 ms steps), the value being the wall clock in microseconds
 * at the SET, and watches the T x N mirrored tags on the centre's bus
 * (Bench/E<i>/t<j>): latency = arrival on the centre's bus - the value.
 * After --settle seconds it measures for --seconds: deliveries, latency
 * percentiles, the CPU of each kind of process; then it stops setting and
 * checks that every centre tag ends at the last value set (the host kept
 * up: nothing lost).
 *
 *   spbbench [--mscada PATH] [--nodes 10] [--tags 6000] [--seconds 30]
 *            [--settle 10] [--broker-nagle]
 *
 * The broker runs with set_tcp_nodelay true (as docs/sparkplug.md
 * advises); --broker-nagle leaves mosquitto's default (false).
 *
 * One bus holds at most 65,535 tags, so the centre can mirror at most
 * about 65,000 metrics: --nodes x --tags is held below that. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "mscada/client.h"
#include "mscada/log.h"
#include "mscada/mstime.h"
#include "mscada/tag.h"

#include "benchutil.h"

#define MOSQUITTO "/usr/sbin/mosquitto"
#define MAX_NODES 64
#define STEPS 100               /* SET slices per second */
#define HBUCKETS 200000         /* 10 us each: up to 2 s */

static char dir[] = "/tmp/spbbench-XXXXXX";
static char mscada[1024] = "./mscada";
static int nodes = 10, ntags = 6000;
static double secs = 30, settle = 10;
static bool nodelay = true;     /* mosquitto's set_tcp_nodelay */

static pid_t broker_pid, bus_pid[MAX_NODES + 1], spb_pid[MAX_NODES + 1];

/* ---- processes and /proc ---------------------------------------------------- */

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void stop_all(void)
{
    for (int i = 0; i <= nodes; i++)
        bench_stop(spb_pid[i], 5);
    for (int i = 0; i <= nodes; i++)
        bench_stop(bus_pid[i], 5);
    bench_stop(broker_pid, 5);
}

/* ---- the processes under test ----------------------------------------------- */

static int start_bus(int i, int *port)
{
    char name[32];
    snprintf(name, sizeof name, "bus%d", i);
    bus_pid[i] = bench_bus_start(mscada, dir, name, NULL, port);
    return bus_pid[i] < 0 ? -1 : 0;
}

static int start_spb(int i, const char *cfg_text, const char *tags)
{
    char conf[300], log[300], name[32];
    snprintf(name, sizeof name, "spb%d.yaml", i);
    path_in(conf, sizeof conf, name);
    snprintf(name, sizeof name, "spb%d.log", i);
    path_in(log, sizeof log, name);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fputs(cfg_text, f);
    fclose(f);
    char *argv[] = {mscada, (char *)"sparkplug", (char *)"--config", conf,
                    (char *)"--tags", (char *)tags, NULL};
    if (!tags)
        argv[4] = NULL;
    spb_pid[i] = bench_spawn(argv, log);
    if (bench_wait_log(log, "MQTT 127.0.0.1", 10, spb_pid[i]) < 0) {
        fprintf(stderr, "spbbench: sparkplug %d did not connect; see %s\n",
                i, log);
        return -1;
    }
    return 0;
}

static int start_broker(int *port)
{
    char conf[300], log[300];
    *port = bench_free_port(SOCK_STREAM);
    path_in(conf, sizeof conf, "mosquitto.conf");
    path_in(log, sizeof log, "mosquitto.log");
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    /* as root mosquitto would become user mosquitto: stay who we are */
    const char *user = getenv("USER");
    fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\n"
               "persistence false\nset_tcp_nodelay %s\nuser %s\n", *port,
            nodelay ? "true" : "false",
            user && *user ? user : (getuid() ? "nobody" : "root"));
    fclose(f);
    char *argv[] = {(char *)MOSQUITTO, (char *)"-c", conf, NULL};
    broker_pid = bench_spawn(argv, log);
    if (bench_wait_log(log, "running", 10, broker_pid) < 0) {
        fprintf(stderr, "spbbench: mosquitto did not start; see %s\n", log);
        return -1;
    }
    return 0;
}

/* ---- load and measurement ---------------------------------------------------- */

typedef struct {
    ms_client *c;
    ms_tag **tags;
} edge_side;

static uv_loop_t loop;
static edge_side edges[MAX_NODES];
static ms_client *centre;
static ms_tag **mirrored;       /* [node * ntags + tag] */
static int64_t *last_set;       /* value of the last SET per mirror */
static uint64_t hist[HBUCKETS + 1];
static uint64_t sets, deliveries, late_ones, sets_w, deliveries_w;
static double lat_max_ms;
static bool measuring, setting = true;
static int step;
static uint64_t start_us;

static void on_mirror(ms_tag *t, void *arg)
{
    (void)arg;
    int64_t v;
    if (ms_tag_get_int(t, &v) < 0)
        return;
    deliveries++;
    if (!measuring)
        return;
    deliveries_w++;
    int64_t lat = (int64_t)ms_time_now_us() - v;
    if (lat < 0)
        lat = 0;
    double ms = lat / 1000.0;
    if (ms > lat_max_ms)
        lat_max_ms = ms;
    size_t b = (size_t)(lat / 10);
    if (b > HBUCKETS) {
        b = HBUCKETS;
        late_ones++;
    }
    hist[b]++;
}

static double pct(double p)
{
    uint64_t n = 0, want;
    for (size_t b = 0; b <= HBUCKETS; b++)
        n += hist[b];
    if (!n)
        return 0;
    want = (uint64_t)(p * (double)n);
    uint64_t acc = 0;
    for (size_t b = 0; b <= HBUCKETS; b++) {
        acc += hist[b];
        if (acc > want)
            return (b + 1) * 0.01;
    }
    return HBUCKETS * 0.01;
}

static void on_step(uv_timer_t *t)
{
    (void)t;
    if (!setting)
        return;
    /* the slice of this 10 ms step: each tag once a second */
    int from = (int)((int64_t)ntags * step / STEPS);
    int to = (int)((int64_t)ntags * (step + 1) / STEPS);
    step = (step + 1) % STEPS;
    for (int n = 0; n < nodes; n++)
        for (int k = from; k < to; k++) {
            int64_t now = (int64_t)ms_time_now_us();
            ms_value v = ms_value_int(now);
            if (ms_tag_set(edges[n].tags[k], &v, 0) == 0) {
                last_set[(size_t)n * ntags + k] = now;
                sets++;
                if (measuring)
                    sets_w++;
            }
        }
}

typedef struct {
    double t, self, machine, host, edges, buses, broker;
} snap;

static void take(snap *s)
{
    s->t = bench_now_s();
    s->self = bench_cpu_self();
    s->machine = bench_machine_s();
    s->host = bench_cpu_s(spb_pid[nodes]);
    s->edges = s->buses = 0;
    for (int i = 0; i < nodes; i++)
        s->edges += bench_cpu_s(spb_pid[i]);
    for (int i = 0; i <= nodes; i++)
        s->buses += bench_cpu_s(bus_pid[i]);
    s->broker = bench_cpu_s(broker_pid);
}

static snap s0, s1;
static int phase; /* 0 settle, 1 measure, 2 drain */
static uv_timer_t phase_timer;

static size_t behind(void)
{
    size_t n = 0;
    for (size_t i = 0; i < (size_t)nodes * ntags; i++) {
        int64_t v;
        if (ms_tag_get_int(mirrored[i], &v) < 0 || v != last_set[i])
            n++;
    }
    return n;
}

static void on_phase(uv_timer_t *t)
{
    static int drain_ticks;
    if (phase == 0) {
        printf("settled after %.0f s: %llu sets, %llu at the centre; "
               "measuring %.0f s\n", settle, (unsigned long long)sets,
               (unsigned long long)deliveries, secs);
        fflush(stdout);
        take(&s0);
        measuring = true;
        phase = 1;
        uv_timer_start(t, on_phase, (uint64_t)(secs * 1000), 0);
        return;
    }
    if (phase == 1) {
        take(&s1);
        measuring = false;
        setting = false;
        phase = 2;
        uv_timer_start(t, on_phase, 100, 100);
        return;
    }
    size_t b = behind();
    if (b == 0 || ++drain_ticks >= 100) {
        printf("after the last SET: %zu of %d centre tags not at their last "
               "value (%.1f s later)\n", b, nodes * ntags,
               drain_ticks / 10.0);
        uv_stop(&loop);
    }
}

static void on_signal(int sig)
{
    (void)sig;
    stop_all();
    _exit(1);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"mscada", 1, 0, 'm'}, {"nodes", 1, 0, 'n'}, {"tags", 1, 0, 't'},
        {"seconds", 1, 0, 's'}, {"settle", 1, 0, 'w'},
        {"broker-nagle", 0, 0, 'g'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'm': snprintf(mscada, sizeof mscada, "%s", optarg); break;
        case 'n': nodes = atoi(optarg); break;
        case 't': ntags = atoi(optarg); break;
        case 's': secs = atof(optarg); break;
        case 'w': settle = atof(optarg); break;
        case 'g': nodelay = false; break;
        default:
            fprintf(stderr, "usage: spbbench [--mscada PATH] [--nodes 10] "
                            "[--tags 6000] [--seconds 30] [--settle 10] "
                            "[--broker-nagle]\n");
            return o == 'h' ? 0 : 2;
        }
    }
    if (nodes < 1 || nodes > MAX_NODES || ntags < STEPS ||
        (long)nodes * ntags + nodes > 65000) {
        fprintf(stderr, "spbbench: 1-%d nodes, 100+ tags each, nodes x tags "
                        "under 65,000 (one bus's tags)\n", MAX_NODES);
        return 2;
    }
    if (access(mscada, X_OK) < 0 || access(MOSQUITTO, X_OK) < 0) {
        fprintf(stderr, "spbbench: %s or %s missing (--mscada PATH; "
                        "scripts/deps.sh)\n", mscada, MOSQUITTO);
        return 1;
    }
    if (!mkdtemp(dir)) {
        perror("spbbench: mkdtemp");
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    ms_log_setup("spbbench", MS_LOG_WARN);
    printf("spbbench: %d edge nodes x %d tags at 1 Hz = %d metrics/s into "
           "one host; temp dir %s\n", nodes, ntags, nodes * ntags, dir);

    int broker_port, bus_port[MAX_NODES + 1];
    char tags[300], cfg[1024];
    path_in(tags, sizeof tags, "tags.yaml");
    FILE *f = fopen(tags, "w");
    for (int k = 0; k < ntags && f; k++)
        fprintf(f, "t%d: {type: int}\n", k);
    if (f)
        fclose(f);
    int rc = 1;
    if (start_broker(&broker_port) < 0)
        goto out;
    for (int i = 0; i <= nodes; i++)
        if (start_bus(i, &bus_port[i]) < 0)
            goto out;
    snprintf(cfg, sizeof cfg, "bus_port: %d\nbroker: 127.0.0.1\nport: %d\n"
             "mode: host\ngroups: [Bench]\nhost_id: centre\n",
             bus_port[nodes], broker_port);
    if (start_spb(nodes, cfg, NULL) < 0)
        goto out;

    uv_loop_init(&loop);
    ms_client_config cc;
    char name[64];
    mirrored = calloc((size_t)nodes * ntags, sizeof *mirrored);
    last_set = calloc((size_t)nodes * ntags, sizeof *last_set);
    ms_client_config_init(&cc);
    cc.port = bus_port[nodes];
    snprintf(cc.name, sizeof cc.name, "spbbench centre");
    ms_client_new(&loop, &cc, &centre);
    for (int n = 0; n < nodes; n++)
        for (int k = 0; k < ntags; k++) {
            snprintf(name, sizeof name, "Bench/E%d/t%d", n, k);
            ms_tag **t = &mirrored[(size_t)n * ntags + k];
            ms_tag_new(centre, name, MS_TYPE_INT, t);
            ms_tag_watch(*t, on_mirror, NULL);
        }
    for (int n = 0; n < nodes; n++) {
        ms_client_config_init(&cc);
        cc.port = bus_port[n];
        snprintf(cc.name, sizeof cc.name, "spbbench edge %d", n);
        ms_client_new(&loop, &cc, &edges[n].c);
        edges[n].tags = calloc((size_t)ntags, sizeof *edges[n].tags);
        for (int k = 0; k < ntags; k++) {
            snprintf(name, sizeof name, "t%d", k);
            ms_tag_new(edges[n].c, name, MS_TYPE_INT, &edges[n].tags[k]);
            ms_value v = ms_value_int(0);
            ms_tag_set(edges[n].tags[k], &v, 0);
        }
        snprintf(cfg, sizeof cfg, "bus_port: %d\nbroker: 127.0.0.1\n"
                 "port: %d\ngroup: Bench\nnode: E%d\nprimary_host: centre\n",
                 bus_port[n], broker_port, n);
        if (start_spb(n, cfg, tags) < 0)
            goto out;
    }
    printf("started: mosquitto, %d buses, %d edges, 1 host (logs in %s)\n",
           nodes + 1, nodes, dir);
    uv_timer_t step_timer;
    uv_timer_init(&loop, &step_timer);
    uv_timer_start(&step_timer, on_step, 10, 1000 / STEPS);
    uv_timer_init(&loop, &phase_timer);
    uv_timer_start(&phase_timer, on_phase, (uint64_t)(settle * 1000), 0);
    start_us = ms_time_now_us();
    uv_run(&loop, UV_RUN_DEFAULT);

    double dt = s1.t - s0.t;
    double rate = sets_w / dt;
    double per10k = rate / 10000.0;
    printf("\nmeasured %.1f s: %llu SETs (%.0f/s), %llu arrivals at the "
           "centre (%.0f/s)\n", dt, (unsigned long long)sets_w, rate,
           (unsigned long long)deliveries_w, deliveries_w / dt);
    printf("latency edge bus SET -> centre bus: p50 %.2f ms, p90 %.2f ms, "
           "p99 %.2f ms, p99.9 %.2f ms, max %.1f ms%s\n", pct(0.5), pct(0.9),
           pct(0.99), pct(0.999), lat_max_ms,
           late_ones ? " (some over 2 s)" : "");
    printf("CPU (%% of one core):  host %.1f  edges %.1f (%.1f each)  "
           "buses %.1f  mosquitto %.1f  this load %.1f  machine %.1f of "
           "%ld\n",
           100 * (s1.host - s0.host) / dt, 100 * (s1.edges - s0.edges) / dt,
           100 * (s1.edges - s0.edges) / dt / nodes,
           100 * (s1.buses - s0.buses) / dt,
           100 * (s1.broker - s0.broker) / dt, 100 * (s1.self - s0.self) / dt,
           100 * (s1.machine - s0.machine) / dt, sysconf(_SC_NPROCESSORS_ONLN)
               * 100);
    printf("CPU per 10,000 metrics/s: host %.1f %% of a core, edge %.1f %% "
           "of a core\n", 100 * (s1.host - s0.host) / dt / per10k,
           100 * (s1.edges - s0.edges) / dt / per10k);
    rc = 0;
out:
    stop_all();
    if (rc == 0) {
        if (bench_rm_dir(dir) < 0)
            fprintf(stderr, "spbbench: %s not removed\n", dir);
    } else {
        fprintf(stderr, "spbbench: logs kept in %s\n", dir);
    }
    return rc;
}
