/* mbclientbench: the CPU `mscada modbusclient` takes to poll many PLCs.
 *
 * A child process simulates P PLCs (one libuv loop, one listening port
 * each, answering FC1-4 from our codec; register values move once a
 * second so tags change). The bench starts `mscada bus` and `mscada
 * modbusclient` with P RTUs of 4 read blocks each (4x 1-100, 4x 101-200,
 * 3x 1-50, 0x 1-64) at the given rate and 10 tags per RTU, lets it settle,
 * then reads modbusclient's user+system CPU from /proc over the measured
 * seconds and the requests its status tags counted.
 *
 *   mbclientbench [--mscada PATH] [--plcs 100] [--rate 0.1] [--seconds 10]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "core/buf.h"
#include "mscada/modbus.h"

#include "benchutil.h"

/* ---- the simulated PLCs ----------------------------------------------------- */

typedef struct {
    uv_tcp_t tcp;
    ms_buf in;
    uint8_t out[16384];
} sim_conn;

static uint16_t sim_tick;
static volatile uint64_t *answered; /* shared with the parent */

static void sim_closed(uv_handle_t *h)
{
    sim_conn *c = h->data;
    ms_buf_free(&c->in);
    free(c);
}

static void sim_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
    sim_conn *c = h->data;
    (void)n;
    uint8_t *p = ms_buf_reserve(&c->in, 4096);
    *b = uv_buf_init((char *)p, 4096);
}

static void sim_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    sim_conn *c = s->data;
    (void)b;
    if (nread < 0) {
        uv_close((uv_handle_t *)s, sim_closed);
        return;
    }
    ms_buf_commit(&c->in, (size_t)nread);
    size_t off = 0, olen = 0;
    for (;;) {
        ms_mb_adu adu;
        int rc = ms_mb_adu_decode(MS_MB_FRAMING_MBAP, MS_MB_REQUEST,
                                  ms_buf_head(&c->in) + off,
                                  ms_buf_size(&c->in) - off, &adu);
        if (rc <= 0)
            break;
        off += (size_t)rc;
        (*answered)++;
        ms_mb_request q;
        ms_mb_response r;
        uint8_t data[260];
        memset(&r, 0, sizeof r);
        if (ms_mb_request_decode(adu.pdu, adu.pdu_len, &q) < 0 || q.fc > 4) {
            r.fc = q.fc;
            r.exception = 1;
        } else if (q.fc <= 2) {
            r.fc = q.fc;
            r.nbytes = ms_mb_bits_bytes(q.count);
            for (size_t i = 0; i < r.nbytes; i++)
                data[i] = (uint8_t)(sim_tick + i);
            if (q.count % 8)
                data[r.nbytes - 1] &= (uint8_t)((1u << (q.count % 8)) - 1);
            r.data = data;
        } else {
            r.fc = q.fc;
            r.nbytes = 2u * q.count;
            for (unsigned i = 0; i < q.count; i++)
                ms_mb_reg_set(data, i, (uint16_t)(q.addr + i + sim_tick));
            r.data = data;
        }
        int n = ms_mb_response_frame(MS_MB_FRAMING_MBAP, adu.tid, adu.unit,
                                     &r, c->out + olen,
                                     sizeof c->out - olen);
        if (n > 0)
            olen += (size_t)n;
        if (sizeof c->out - olen < 300)
            break;
    }
    ms_buf_consume(&c->in, off);
    if (olen) {
        uv_buf_t w = uv_buf_init((char *)c->out, (unsigned)olen);
        uv_try_write(s, &w, 1); /* small answers on loopback: taken whole */
    }
}

static void sim_accept(uv_stream_t *srv, int status)
{
    if (status < 0)
        return;
    sim_conn *c = calloc(1, sizeof *c);
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) == 0) {
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, sim_alloc, sim_read);
    } else {
        uv_close((uv_handle_t *)&c->tcp, sim_closed);
    }
}

static void sim_tick_cb(uv_timer_t *t)
{
    (void)t;
    sim_tick++;
}

static void simulate(const int *ports, int n)
{
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t *srv = calloc((size_t)n, sizeof *srv);
    for (int i = 0; i < n; i++) {
        struct sockaddr_in a;
        uv_ip4_addr("127.0.0.1", ports[i], &a);
        uv_tcp_init(loop, &srv[i]);
        if (uv_tcp_bind(&srv[i], (struct sockaddr *)&a, 0) < 0 ||
            uv_listen((uv_stream_t *)&srv[i], 16, sim_accept) < 0) {
            fprintf(stderr, "simulator: cannot listen on %d\n", ports[i]);
            _exit(1);
        }
    }
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, sim_tick_cb, 1000, 1000);
    uv_run(loop, UV_RUN_DEFAULT);
    _exit(0);
}

int main(int argc, char **argv)
{
    char mscada[1024];
    int plcs = 100;
    double rate = 0.1, secs = 10;
    bench_mscada_path(mscada, sizeof mscada, argv[0]);
    static const struct option opts[] = {
        {"mscada", required_argument, 0, 'm'},
        {"plcs", required_argument, 0, 'p'},
        {"rate", required_argument, 0, 'r'},
        {"seconds", required_argument, 0, 's'},
        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'm': snprintf(mscada, sizeof mscada, "%s", optarg); break;
        case 'p': plcs = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 's': secs = atof(optarg); break;
        default:
            fprintf(stderr, "usage: mbclientbench [--mscada PATH] [--plcs N]"
                            " [--rate S] [--seconds S]\n");
            return 2;
        }
    }
    if (plcs < 1 || plcs > 1000 || !(rate > 0) || !(secs > 0))
        return 2;
    char dir[] = "/tmp/mbclientbench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    int *ports = calloc((size_t)plcs, sizeof *ports);
    if (bench_free_ports(SOCK_STREAM, ports, plcs) < 0)
        return 1;
    answered = mmap(NULL, sizeof *answered, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (answered == MAP_FAILED)
        return 1;
    pid_t sim = bench_fork();
    if (sim == 0)
        simulate(ports, plcs);
    int bus_port;
    pid_t bus = bench_bus_start(mscada, dir, "bus", NULL, &bus_port);
    if (bus < 0) {
        bench_stop(sim, 5);
        return 1;
    }
    char mconf[300], mlog[300];
    snprintf(mconf, sizeof mconf, "%s/modbusclient.yaml", dir);
    snprintf(mlog, sizeof mlog, "%s/modbusclient.log", dir);
    FILE *f = fopen(mconf, "w");
    fprintf(f, "bus_port: %d\nrtus:\n", bus_port);
    for (int i = 0; i < plcs; i++)
        fprintf(f,
                "- name: PLC%d\n  ip: 127.0.0.1\n  port: %d\n  rate: %g\n"
                "  poll:\n"
                "  - {unit: 1, file: 4x, start: 1, end: 100}\n"
                "  - {unit: 1, file: 4x, start: 101, end: 200}\n"
                "  - {unit: 1, file: 3x, start: 1, end: 50}\n"
                "  - {unit: 1, file: 0x, start: 1, end: 64}\n",
                i, ports[i], rate);
    fprintf(f, "tags:\n");
    for (int i = 0; i < plcs; i++) {
        fprintf(f, "  P%d_a: {type: int16, read: 'PLC%d:1:4x:1'}\n", i, i);
        fprintf(f, "  P%d_b: {type: float32, read: 'PLC%d:1:4x:11'}\n", i, i);
        fprintf(f, "  P%d_c: {type: uint32, read: 'PLC%d:1:4x:150', "
                   "word_order: little}\n", i, i);
        fprintf(f, "  P%d_d: {type: int16, read: 'PLC%d:1:3x:7', scale: "
                   "0.1}\n", i, i);
        fprintf(f, "  P%d_e: {type: bool, read: 'PLC%d:1:4x:20.3'}\n", i, i);
        fprintf(f, "  P%d_f: {type: bool, read: 'PLC%d:1:0x:9'}\n", i, i);
        fprintf(f, "  P%d_g: {type: float64, read: 'PLC%d:1:4x:180'}\n", i,
                i);
        fprintf(f, "  P%d_h: {type: uint16, read: 'PLC%d:1:3x:50'}\n", i, i);
        fprintf(f, "  P%d_i: {type: int32, read: 'PLC%d:1:4x:99'}\n", i, i);
        fprintf(f, "  P%d_j: {type: bool, read: 'PLC%d:1:0x:64'}\n", i, i);
    }
    fclose(f);
    char *margv[] = {mscada, (char *)"modbusclient", (char *)"--config",
                     mconf, NULL};
    pid_t mbc = bench_spawn(margv, mlog);
    sleep(3); /* connect and settle */
    double c0 = bench_cpu_s(mbc), s0 = bench_cpu_s(sim);
    uint64_t a0 = *answered;
    double t0 = bench_now_s();
    usleep((useconds_t)(secs * 1e6));
    double c1 = bench_cpu_s(mbc), s1 = bench_cpu_s(sim);
    uint64_t a1 = *answered;
    double dt = bench_now_s() - t0;
    int alive = waitpid(mbc, NULL, WNOHANG) == 0;
    bench_stop(mbc, 3);
    bench_stop(bus, 3);
    kill(sim, SIGKILL);
    waitpid(sim, NULL, 0);
    if (!alive || c0 < 0 || c1 < 0) {
        fprintf(stderr, "modbusclient died; see %s\n", mlog);
        return 1;
    }
    double reqs = (double)plcs * 4 / rate;
    printf("modbusclient: %d PLCs x 4 blocks every %gs (%.0f requests/s "
           "asked, %.0f/s answered, %d tags): %.1f%% of one core (%.2f s CPU "
           "in %.1f s); simulator %.1f%%\n",
           plcs, rate, reqs, (double)(a1 - a0) / dt, plcs * 10,
           100 * (c1 - c0) / dt, c1 - c0, dt, 100 * (s1 - s0) / dt);
    if (bench_rm_dir(dir) < 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
