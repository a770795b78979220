/* snmpbench: the CPU `mscada snmpclient` takes to poll many SNMP agents,
 * beside two other ways of doing the same polls (bench/README.md, "SNMP").
 *
 * One Debian snmpd, started here with a config of our own (-C) in a temp
 * dir, listens on A loopback UDP ports: A agents. Each is polled every
 * second for the same 50 OIDs (system, ifTable/ifXTable of lo, the snmp
 * group: present on every Linux snmpd), one GET of 50 varbinds per agent:
 *
 *   mscada     `mscada bus` + `mscada snmpclient` (A rtus, 50 tags each,
 *              rate 1); the bench watches every tag and status tag on the
 *              bus and reads snmpclient's CPU and RSS from /proc.
 *   snmpget-seq  a shell loop: every second, `snmpget` per agent in turn.
 *   snmpget-par  a shell loop: every second, `snmpget &` per agent, wait.
 *   sync-seq   one blocking GET per agent in turn, every second: the
 *              pattern of a poller that waits for each answer (as
 *              docs/snmp.md reads pymscada: one GET per agent per poll),
 *              emulated here in C with net-snmp's synchronous API.
 *
 * Every process started runs in its own process group and is stopped by
 * pid; the temp dir is removed at the end.
 *
 *   snmpbench [--mscada PATH] [--agents 200] [--seconds 30] [--settle 5]
 *             [--pdu 50] [--dead 0]
 *             [--only mscada|snmpget-seq|snmpget-par|sync-seq]
 *
 * --dead N: the last N agents' ports have no snmpd (every GET to them
 * times out: timeout 1 s, 1 retry, everywhere).
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "mscada/client.h"
#include "mscada/log.h"
#include "mscada/tag.h"
#include "snmp/snmp_session.h"

#include "benchutil.h"

#define SNMPD "/usr/sbin/snmpd"
#define COMMUNITY "bench"
#define NOIDS 50
#define MAX_AGENTS 2000

/* 50 OIDs every Linux snmpd has: lo is ifIndex 1. 's' marks the ones
 * published as str (OctetString, OID), the rest are numbers. */
static const struct {
    const char *oid;
    char kind;
} oids[NOIDS] = {
    {"1.3.6.1.2.1.1.1.0", 's'}, {"1.3.6.1.2.1.1.2.0", 's'},
    {"1.3.6.1.2.1.1.3.0", 'i'}, {"1.3.6.1.2.1.1.4.0", 's'},
    {"1.3.6.1.2.1.1.5.0", 's'}, {"1.3.6.1.2.1.1.6.0", 's'},
    {"1.3.6.1.2.1.1.8.0", 'i'}, {"1.3.6.1.2.1.2.1.0", 'i'},
    {"1.3.6.1.2.1.2.2.1.2.1", 's'}, {"1.3.6.1.2.1.2.2.1.3.1", 'i'},
    {"1.3.6.1.2.1.2.2.1.4.1", 'i'}, {"1.3.6.1.2.1.2.2.1.5.1", 'i'},
    {"1.3.6.1.2.1.2.2.1.7.1", 'i'}, {"1.3.6.1.2.1.2.2.1.8.1", 'i'},
    {"1.3.6.1.2.1.2.2.1.9.1", 'i'}, {"1.3.6.1.2.1.2.2.1.10.1", 'i'},
    {"1.3.6.1.2.1.2.2.1.11.1", 'i'}, {"1.3.6.1.2.1.2.2.1.13.1", 'i'},
    {"1.3.6.1.2.1.2.2.1.14.1", 'i'}, {"1.3.6.1.2.1.2.2.1.16.1", 'i'},
    {"1.3.6.1.2.1.2.2.1.17.1", 'i'}, {"1.3.6.1.2.1.2.2.1.19.1", 'i'},
    {"1.3.6.1.2.1.2.2.1.20.1", 'i'}, {"1.3.6.1.2.1.31.1.1.1.1.1", 's'},
    {"1.3.6.1.2.1.31.1.1.1.2.1", 'i'}, {"1.3.6.1.2.1.31.1.1.1.3.1", 'i'},
    {"1.3.6.1.2.1.31.1.1.1.4.1", 'i'}, {"1.3.6.1.2.1.31.1.1.1.5.1", 'i'},
    {"1.3.6.1.2.1.31.1.1.1.6.1", 'i'}, {"1.3.6.1.2.1.31.1.1.1.7.1", 'i'},
    {"1.3.6.1.2.1.31.1.1.1.8.1", 'i'}, {"1.3.6.1.2.1.31.1.1.1.9.1", 'i'},
    {"1.3.6.1.2.1.31.1.1.1.10.1", 'i'}, {"1.3.6.1.2.1.31.1.1.1.11.1", 'i'},
    {"1.3.6.1.2.1.31.1.1.1.12.1", 'i'}, {"1.3.6.1.2.1.31.1.1.1.13.1", 'i'},
    {"1.3.6.1.2.1.31.1.1.1.15.1", 'i'}, {"1.3.6.1.2.1.11.1.0", 'i'},
    {"1.3.6.1.2.1.11.2.0", 'i'}, {"1.3.6.1.2.1.11.3.0", 'i'},
    {"1.3.6.1.2.1.11.4.0", 'i'}, {"1.3.6.1.2.1.11.5.0", 'i'},
    {"1.3.6.1.2.1.11.6.0", 'i'}, {"1.3.6.1.2.1.11.8.0", 'i'},
    {"1.3.6.1.2.1.11.9.0", 'i'}, {"1.3.6.1.2.1.11.10.0", 'i'},
    {"1.3.6.1.2.1.11.11.0", 'i'}, {"1.3.6.1.2.1.11.12.0", 'i'},
    {"1.3.6.1.2.1.11.13.0", 'i'}, {"1.3.6.1.2.1.11.14.0", 'i'},
};

static char dir[] = "/tmp/snmpbench-XXXXXX";
static char mscada[1024];
static int nagents = 200, ndead = 0, pdu = NOIDS;
static double secs = 30, settle = 5;
static int ports[MAX_AGENTS];
static pid_t snmpd_pid;

/* ---- helpers ---------------------------------------------------------------- */

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static double median(double *v, int n)
{
    if (n <= 0)
        return 0;
    for (int i = 1; i < n; i++) /* insertion sort: n is small */
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the agents: one snmpd on every port ------------------------------------ */

/* A net-snmp single session to the agent on port (v2c, our community),
 * or NULL. */
static void *session_open(int port, long timeout_us, int retries)
{
    netsnmp_session s;
    char peer[64];
    snmp_sess_init(&s);
    snprintf(peer, sizeof peer, "udp:127.0.0.1:%d", port);
    s.peername = peer;
    s.version = SNMP_VERSION_2c;
    s.community = (u_char *)COMMUNITY;
    s.community_len = strlen(COMMUNITY);
    s.timeout = timeout_us;
    s.retries = retries;
    return snmp_sess_open(&s);
}

/* One synchronous GET of sysUpTime.0 on port: 0 when it answers. */
static int probe(int port)
{
    void *sp = session_open(port, 300000, 0);
    if (!sp)
        return -1;
    oid name[MAX_OID_LEN];
    size_t len = MAX_OID_LEN;
    read_objid(".1.3.6.1.2.1.1.3.0", name, &len);
    netsnmp_pdu *q = snmp_pdu_create(SNMP_MSG_GET), *r = NULL;
    snmp_add_null_var(q, name, len);
    int st = snmp_sess_synch_response(sp, q, &r);
    int ok = st == STAT_SUCCESS && r && r->errstat == SNMP_ERR_NOERROR;
    if (r)
        snmp_free_pdu(r);
    snmp_sess_close(sp);
    return ok ? 0 : -1;
}

static int snmpd_start(void)
{
    char conf[300], log[300], out[300], persist[300];
    path_in(conf, sizeof conf, "snmpd.conf");
    path_in(log, sizeof log, "snmpd.log");
    path_in(out, sizeof out, "snmpd.out");
    path_in(persist, sizeof persist, "persist");
    mkdir(persist, 0700);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    /* The ports go on the command line: snmpd keeps only about 2560
     * characters of `agentaddress` (128 of 200 ports were bound). */
    fprintf(f, "# snmpbench: %d agents, one snmpd, ports on the command "
               "line\nrocommunity %s 127.0.0.1\n"
               "dontLogTCPWrappersConnects yes\n", nagents, COMMUNITY);
    fclose(f);
    size_t cap = (size_t)nagents * 24 + 1, len = 0;
    char *addrs = malloc(cap);
    addrs[0] = 0;
    int live = nagents - ndead;
    for (int i = 0; i < live; i++)
        len += (size_t)snprintf(addrs + len, cap - len, "%sudp:127.0.0.1:%d",
                                i ? "," : "", ports[i]);
    /* snmpd (and every snmpget later) inherits these: no MIBs, state in
     * the temp dir. */
    setenv("MIBS", "", 1);
    setenv("SNMP_PERSISTENT_DIR", persist, 1);
    /* -I -smux: no SMUX port (127.0.0.1:199), which another snmpd may
     * hold. */
    char *argv[] = {(char *)SNMPD, (char *)"-f", (char *)"-C", (char *)"-c",
                    conf, (char *)"-r", (char *)"-I", (char *)"-smux",
                    (char *)"-Lf", log, addrs, NULL};
    snmpd_pid = bench_spawn(argv, out);
    free(addrs);
    for (int i = 0; i < 100; i++) {
        if (waitpid(snmpd_pid, NULL, WNOHANG) == snmpd_pid) {
            snmpd_pid = 0;
            break;
        }
        if (probe(ports[0]) == 0 && probe(ports[live - 1]) == 0) {
            printf("snmpd: pid %d, %d agents on 127.0.0.1 UDP ports %d..%d "
                   "(e.g.)", (int)snmpd_pid, live, ports[0],
                   ports[live - 1]);
            if (ndead)
                printf("; %d dead agents (ports nobody listens on)", ndead);
            printf("\n");
            return 0;
        }
        usleep(100000);
    }
    fprintf(stderr, "snmpbench: snmpd did not answer; see %s and %s\n", log,
            out);
    return -1;
}

/* ---- mscada snmpclient ------------------------------------------------------ */

typedef struct {
    uint64_t changes;     /* data tag updates seen on the bus */
    uint64_t status_msgs;
    json_int_t *polls, *timeouts, *overruns; /* per agent, latest */
    int *ok;
} watch_counts;

static watch_counts wc;

static void on_data(ms_tag *t, void *arg)
{
    (void)t;
    (void)arg;
    wc.changes++;
}

static void on_status(ms_tag *t, void *arg)
{
    int i = (int)(intptr_t)arg;
    ms_value v;
    wc.status_msgs++;
    if (ms_tag_get(t, &v) < 0 || v.type != MS_TYPE_JSON)
        return;
    json_t *j = json_loadb((const char *)v.u.buf.ptr, v.u.buf.len, 0, NULL);
    if (!j)
        return;
    wc.polls[i] = json_integer_value(json_object_get(j, "polls"));
    wc.timeouts[i] = json_integer_value(json_object_get(j, "timeouts"));
    wc.overruns[i] = json_integer_value(json_object_get(j, "overruns"));
    wc.ok[i] = json_is_true(json_object_get(j, "ok"));
    json_decref(j);
}

typedef struct {
    json_int_t polls, timeouts, overruns;
    uint64_t changes;
    int ok;
    double t, client, snmpd, bus, self, machine;
} snap;

static pid_t bus_pid, snmpc_pid;
static snap s0, s1;
static ms_client *watcher;
static int snap_n;

static void take(snap *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < nagents; i++) {
        s->polls += wc.polls[i];
        s->timeouts += wc.timeouts[i];
        s->overruns += wc.overruns[i];
        s->ok += wc.ok[i];
    }
    s->changes = wc.changes;
    s->t = bench_now_s();
    s->client = bench_cpu_s(snmpc_pid);
    s->snmpd = bench_cpu_s(snmpd_pid);
    s->bus = bench_cpu_s(bus_pid);
    s->self = bench_cpu_s(getpid());
    s->machine = bench_machine_s();
}

static void on_tick(uv_timer_t *t)
{
    if (snap_n++ == 0) {
        take(&s0);
        uv_timer_start(t, on_tick, (uint64_t)(secs * 1000), 0);
        return;
    }
    take(&s1);
    uv_close((uv_handle_t *)t, NULL);
    ms_client_close(watcher);
}

static int run_mscada(void)
{
    char mconf[300], tconf[300], mlog[300];
    path_in(mconf, sizeof mconf, "snmpclient.yaml");
    path_in(tconf, sizeof tconf, "tags.yaml");
    path_in(mlog, sizeof mlog, "snmpclient.log");
    int bus_port;
    bus_pid = bench_bus_start(mscada, dir, "bus", NULL, &bus_port);
    if (bus_pid < 0)
        return -1;
    bench_write(tconf, "{}\n");
    FILE *f = fopen(mconf, "w");
    fprintf(f, "bus_ip: 127.0.0.1\nbus_port: %d\nrtus:\n", bus_port);
    for (int i = 0; i < nagents; i++) {
        fprintf(f, "- name: a%d\n  ip: 127.0.0.1\n  port: %d\n  community: "
                   "%s\n  rate: 1\n  timeout: 1.0\n  retries: 1\n"
                   "  max_oids_per_pdu: %d\n  poll:\n",
                i, ports[i], COMMUNITY, pdu);
        for (int k = 0; k < NOIDS; k++)
            fprintf(f, "  - '%s'\n", oids[k].oid);
    }
    fprintf(f, "tags:\n");
    for (int i = 0; i < nagents; i++)
        for (int k = 0; k < NOIDS; k++)
            fprintf(f, "  a%d_%d: {type: %s, read: 'a%d:%s'}\n", i, k,
                    oids[k].kind == 's' ? "str" : "int", i, oids[k].oid);
    fclose(f);

    char *margv[] = {mscada, (char *)"snmpclient", (char *)"--config", mconf,
                     (char *)"--tags", tconf, NULL};
    snmpc_pid = bench_spawn(margv, mlog);
    printf("\n=== mscada: bus pid %d on port %d, snmpclient pid %d\n"
           "$ mscada snmpclient --config %s --tags %s\n"
           "  (%d rtus x %d OIDs, rate 1 s, max_oids_per_pdu %d; the bench "
           "watches every tag on the bus)\n",
           (int)bus_pid, bus_port, (int)snmpc_pid, mconf, tconf, nagents,
           NOIDS, pdu);

    wc.polls = calloc((size_t)nagents, sizeof *wc.polls);
    wc.timeouts = calloc((size_t)nagents, sizeof *wc.timeouts);
    wc.overruns = calloc((size_t)nagents, sizeof *wc.overruns);
    wc.ok = calloc((size_t)nagents, sizeof *wc.ok);
    uv_loop_t *loop = uv_default_loop();
    ms_client_config cc;
    ms_client_config_init(&cc);
    char hp[64];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", bus_port);
    ms_client_config_set_bus(&cc, hp);
    if (ms_client_new(loop, &cc, &watcher) < 0)
        return -1;
    char name[64];
    for (int i = 0; i < nagents; i++) {
        ms_tag *t;
        for (int k = 0; k < NOIDS; k++) {
            snprintf(name, sizeof name, "a%d_%d", i, k);
            if (ms_tag_new(watcher, name, MS_TYPE_NONE, &t) == 0)
                ms_tag_watch(t, on_data, NULL);
        }
        snprintf(name, sizeof name, "a%d_status", i);
        if (ms_tag_new(watcher, name, MS_TYPE_NONE, &t) == 0)
            ms_tag_watch(t, on_status, (void *)(intptr_t)i);
    }
    uv_timer_t tick;
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, on_tick, (uint64_t)(settle * 1000), 0);
    uv_run(loop, UV_RUN_DEFAULT);

    long rss = bench_status_kib(snmpc_pid, "VmRSS");
    int alive = waitpid(snmpc_pid, NULL, WNOHANG) == 0;
    bench_stop(snmpc_pid, 5);
    bench_stop(bus_pid, 5);
    if (!alive || s0.client < 0 || s1.client < 0) {
        fprintf(stderr, "snmpbench: snmpclient died; see %s\n", mlog);
        return -1;
    }
    double dt = s1.t - s0.t;
    double asked = nagents * dt;
    printf("  polls done:      %lld in %.1f s (%.0f asked at 1/s per agent: "
           "%.1f%%); %lld timeouts, %lld overruns; %d of %d agents ok\n",
           (long long)(s1.polls - s0.polls), dt, asked,
           100 * (double)(s1.polls - s0.polls) / asked,
           (long long)(s1.timeouts - s0.timeouts),
           (long long)(s1.overruns - s0.overruns), s1.ok, nagents);
    printf("  tag updates:     %llu seen on the bus (%.0f/s, of %d tags)\n",
           (unsigned long long)(s1.changes - s0.changes),
           (double)(s1.changes - s0.changes) / dt, nagents * NOIDS);
    printf("  snmpclient cpu:  %.2f s in %.1f s = %.1f%% of a core; RSS %ld "
           "KiB\n", s1.client - s0.client, dt,
           100 * (s1.client - s0.client) / dt, rss);
    printf("  others:          snmpd %.1f%%, bus %.1f%%, this bench "
           "(watching) %.1f%%, whole machine %.0f%% of a core\n",
           100 * (s1.snmpd - s0.snmpd) / dt, 100 * (s1.bus - s0.bus) / dt,
           100 * (s1.self - s0.self) / dt,
           100 * (s1.machine - s0.machine) / dt);
    return 0;
}

/* ---- snmpget from a shell loop ---------------------------------------------- */

static int run_snmpget(int parallel)
{
    char script[300], out[300], err[300];
    path_in(script, sizeof script, parallel ? "par.sh" : "seq.sh");
    path_in(out, sizeof out, parallel ? "par.out" : "seq.out");
    path_in(err, sizeof err, parallel ? "par.err" : "seq.err");
    FILE *f = fopen(script, "w");
    if (!f)
        return -1;
    fprintf(f, "# every second, one snmpget of the %d OIDs per agent%s\n",
            NOIDS, parallel ? ", all at once" : ", in turn");
    fprintf(f, "OIDS='");
    for (int k = 0; k < NOIDS; k++)
        fprintf(f, "%s%s", k ? " " : "", oids[k].oid);
    fprintf(f, "'\nPORTS='");
    for (int i = 0; i < nagents; i++)
        fprintf(f, "%s%d", i ? " " : "", ports[i]);
    fprintf(f,
            "'\n"
            "t0=$(date +%%s%%N); end=$((t0 + %lld)); k=0\n"
            "while :; do\n"
            "  next=$((t0 + k * 1000000000)); now=$(date +%%s%%N)\n"
            "  [ $next -lt $end ] && [ $now -lt $end ] || break\n"
            "  if [ $now -lt $next ]; then\n"
            "    ms=$(( (next - now) / 1000000 ))\n"
            "    sleep $((ms / 1000)).$(printf %%03d $((ms %% 1000)))\n"
            "  fi\n"
            "  for p in $PORTS; do\n"
            "    snmpget -v2c -c %s -On -t 1 -r 1 127.0.0.1:$p $OIDS "
            ">/dev/null%s\n"
            "  done\n"
            "%s"
            "  now=$(date +%%s%%N); k=$((k + 1))\n"
            "  echo \"round $k $(( (now - t0) / 1000000 - (k - 1) * 1000 ))\"\n"
            "done\n",
            (long long)(secs * 1e9), COMMUNITY,
            parallel ? " || echo fail &" : " || echo fail",
            parallel ? "  wait\n" : "");
    fclose(f);
    printf("\n=== snmpget from a shell loop, %s\n$ sh %s   (%d agents x %d "
           "OIDs, one snmpget per agent per second%s, MIBS= )\n",
           parallel ? "all agents at once" : "one agent after the other",
           script, nagents, NOIDS, parallel ? ", `&` then `wait`" : "");
    double m0 = bench_machine_s(), d0 = bench_cpu_s(snmpd_pid);
    double t0 = bench_now_s();
    char *argv[] = {(char *)"/bin/sh", script, NULL};
    pid_t pid = bench_spawn_on(argv, out, err, -1);
    int status;
    struct rusage ru;
    /* The shell waits for its snmpgets, so their CPU is in its rusage. */
    if (wait4(pid, &status, 0, &ru) != pid)
        return -1;
    double dt = bench_now_s() - t0, d1 = bench_cpu_s(snmpd_pid);
    double m1 = bench_machine_s();
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    /* Each line: round K and how far past its second it ended (ms). */
    f = fopen(out, "r");
    int rounds = 0, fails = 0;
    long last_late = 0;
    double *durs = calloc(100000, sizeof *durs);
    long prev_end = 0;
    char line[200];
    while (f && fgets(line, sizeof line, f)) {
        int k;
        long late;
        if (sscanf(line, "round %d %ld", &k, &late) == 2 && rounds < 100000) {
            long end = late + (long)(k - 1) * 1000; /* ms since start */
            long start = prev_end > (k - 1) * 1000L ? prev_end
                                                    : (k - 1) * 1000L;
            durs[rounds++] = (double)(end - start);
            prev_end = end;
            last_late = late;
        } else if (!strncmp(line, "fail", 4)) {
            fails++;
        }
    }
    if (f)
        fclose(f);
    printf("  rounds done:     %d in %.1f s (%.0f asked): median round %.0f "
           "ms; the last ended %.1f s after its scheduled start; %d snmpget "
           "failed\n", rounds, dt, secs, median(durs, rounds), dt > 0 ?
           (double)last_late / 1000 : 0, fails);
    printf("  GETs done:       %d (%.0f/s; %.0f/s asked)\n", rounds * nagents,
           rounds * nagents / dt, (double)nagents);
    printf("  shell+snmpget cpu: %.2f s in %.1f s = %.1f%% of a core "
           "(%.2f ms per GET)\n", cpu, dt, 100 * cpu / dt,
           rounds ? 1000 * cpu / (rounds * nagents) : 0);
    printf("  others:          snmpd %.1f%%, whole machine %.0f%% of a "
           "core\n", 100 * (d1 - d0) / dt, 100 * (m1 - m0) / dt);
    free(durs);
    return 0;
}

/* ---- one blocking GET per agent in turn ------------------------------------- */

static void sync_child(void)
{
    ms_log_setup("snmpbench", MS_LOG_WARN);
    ms_snmp_lib_init(NULL, NULL);
    void **sess = calloc((size_t)nagents, sizeof *sess);
    for (int i = 0; i < nagents; i++) {
        sess[i] = session_open(ports[i], 1000000, 1);
        if (!sess[i]) {
            fprintf(stderr, "snmpbench: cannot open a session to "
                            "udp:127.0.0.1:%d\n", ports[i]);
            _exit(1);
        }
    }
    oid names[NOIDS][MAX_OID_LEN];
    size_t lens[NOIDS];
    for (int k = 0; k < NOIDS; k++) {
        lens[k] = MAX_OID_LEN;
        read_objid(oids[k].oid, names[k], &lens[k]);
    }
    double cpu0 = bench_cpu_self();
    double t0 = bench_now_s(), *durs = calloc(100000, sizeof *durs);
    int rounds = 0, fails = 0;
    long vbs = 0;
    double late = 0;
    for (;;) {
        double next = t0 + rounds, start = bench_now_s();
        if (next - t0 >= secs || start - t0 >= secs)
            break; /* no round starts after the window */
        if (start < next) {
            usleep((useconds_t)((next - start) * 1e6));
            start = bench_now_s();
        }
        for (int i = 0; i < nagents; i++) {
            netsnmp_pdu *q = snmp_pdu_create(SNMP_MSG_GET), *r = NULL;
            for (int k = 0; k < NOIDS; k++)
                snmp_add_null_var(q, names[k], lens[k]);
            int st = snmp_sess_synch_response(sess[i], q, &r);
            if (st != STAT_SUCCESS || !r || r->errstat != SNMP_ERR_NOERROR)
                fails++;
            else
                for (netsnmp_variable_list *v = r->variables; v;
                     v = v->next_variable)
                    vbs++;
            if (r)
                snmp_free_pdu(r);
        }
        double end = bench_now_s();
        if (rounds < 100000)
            durs[rounds] = (end - start) * 1000;
        rounds++;
        late = end - next;
    }
    double cpu = bench_cpu_self() - cpu0;
    double dt = bench_now_s() - t0;
    printf("  rounds done:     %d in %.1f s (%.0f asked): median round of %d "
           "GETs %.1f ms; the last ended %.2f s after its scheduled start\n",
           rounds, dt, secs, nagents,
           median(durs, rounds < 100000 ? rounds : 100000), late);
    printf("  GETs done:       %d (%.0f/s), %ld varbinds, %d failed\n",
           rounds * nagents, rounds * nagents / dt, vbs, fails);
    printf("  poller cpu:      %.2f s in %.1f s = %.1f%% of a core; RSS %ld "
           "KiB\n", cpu, dt, 100 * cpu / dt,
           bench_status_kib(getpid(), "VmRSS"));
    for (int i = 0; i < nagents; i++)
        snmp_sess_close(sess[i]);
    fflush(stdout);
    _exit(0);
}

static int run_sync(void)
{
    printf("\n=== one blocking GET per agent in turn (net-snmp "
           "snmp_sess_synch_response, C; the pattern, not pymscada itself)\n"
           "  (%d agents x %d OIDs in one GET each, every second; sessions "
           "opened once)\n", nagents, NOIDS);
    double d0 = bench_cpu_s(snmpd_pid), t0 = bench_now_s();
    pid_t pid = bench_fork();
    if (pid == 0)
        sync_child();
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    double dt = bench_now_s() - t0;
    printf("  others:          snmpd %.1f%%\n",
           100 * (bench_cpu_s(snmpd_pid) - d0) / dt);
    return 0;
}

/* ---- main ------------------------------------------------------------------- */

static void on_signal(int sig)
{
    (void)sig;
    _exit(130); /* the children die with us (PR_SET_PDEATHSIG) */
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    bench_mscada_path(mscada, sizeof mscada, argv[0]);
    static const struct option opts[] = {
        {"mscada", required_argument, 0, 'm'},
        {"agents", required_argument, 0, 'a'},
        {"seconds", required_argument, 0, 's'},
        {"settle", required_argument, 0, 'w'},
        {"pdu", required_argument, 0, 'p'},
        {"dead", required_argument, 0, 'd'},
        {"only", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'm': snprintf(mscada, sizeof mscada, "%s", optarg); break;
        case 'a': nagents = atoi(optarg); break;
        case 's': secs = atof(optarg); break;
        case 'w': settle = atof(optarg); break;
        case 'p': pdu = atoi(optarg); break;
        case 'd': ndead = atoi(optarg); break;
        case 'o': only = optarg; break;
        default:
            fprintf(o == 'h' ? stdout : stderr,
                    "usage: snmpbench [--mscada PATH] [--agents 200] "
                    "[--seconds 30] [--settle 5] [--pdu 50] [--dead 0]\n"
                    "                 [--only mscada|snmpget-seq|"
                    "snmpget-par|sync-seq]\n");
            return o == 'h' ? 0 : 2;
        }
    }
    if (nagents < 1 || nagents > MAX_AGENTS || ndead < 0 || ndead >= nagents ||
        !(secs > 0) || settle < 0 ||
        pdu < 1 || pdu > 1000)
        return 2;
    if (access(SNMPD, X_OK) != 0) {
        fprintf(stderr, "snmpbench: %s is missing: run scripts/deps.sh "
                        "(apt-get install snmpd snmp)\n", SNMPD);
        return 1;
    }
    if (!mkdtemp(dir))
        return 1;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    ms_log_setup("snmpbench", MS_LOG_WARN);
    ms_snmp_lib_init(NULL, NULL);
    int rc = 0;
    printf("snmpbench: %d agents x %d OIDs every second, %g s measured per "
           "way (%ld CPUs)\n", nagents, NOIDS, secs,
           sysconf(_SC_NPROCESSORS_ONLN));
    if (bench_free_ports(SOCK_DGRAM, ports, nagents) < 0 ||
        snmpd_start() < 0) {
        rc = 1;
    } else {
        if (!only || !strcmp(only, "mscada"))
            rc |= run_mscada() < 0;
        if (!only || !strcmp(only, "snmpget-seq"))
            rc |= run_snmpget(0) < 0;
        if (!only || !strcmp(only, "snmpget-par"))
            rc |= run_snmpget(1) < 0;
        if (!only || !strcmp(only, "sync-seq"))
            rc |= run_sync() < 0;
    }
    bench_stop(snmpd_pid, 5);
    if (rc) {
        fprintf(stderr, "snmpbench: logs kept in %s\n", dir);
    } else {
        if (bench_rm_dir(dir) < 0)
            fprintf(stderr, "snmpbench: could not remove %s\n", dir);
    }
    return rc;
}
