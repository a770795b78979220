/* The Modbus side's lifecycle rule (docs/design.md, "Lifecycles"):
 * config_init sets every default and values are taken as they are;
 * _new/_start refuse a bad config with a reason, and a start that fails half-way (the second RTU)
 * closes what it made, leaves *out NULL, and the loop runs dry with
 * nothing leaked (ASan); one teardown verb otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <cmocka.h>

#include "apps/modbusclient/mbc_run.h"
#include "apps/modbusserver/mbs_run.h"
#include "mscada/error.h"
#include "mscada/mbclient.h"

/* ---- ms_mb_client_config: each bad setting named ------------------------ */

typedef struct {
    const char *what;
    void (*spoil)(ms_mb_client_config *c);
    const char *why;
} bad_client;

#define SPOIL(name, stmt)                                                     \
    static void name(ms_mb_client_config *c) { stmt; }
SPOIL(no_timeout, c->timeout = 0)
SPOIL(many_retries, c->retries = MS_MB_RETRIES_MAX + 1)
SPOIL(no_in_flight, c->max_in_flight = 0)
SPOIL(big_in_flight, c->max_in_flight = MS_MB_IN_FLIGHT_MAX + 1)
SPOIL(no_connect_timeout, c->connect_timeout = 0)
SPOIL(no_backoff, c->backoff_min = 0)
SPOIL(backoff_upside_down, c->backoff_max = 0.05)
SPOIL(no_host, c->host[0] = 0)
SPOIL(no_port, c->port = 0)
SPOIL(udp_rtu, (c->transport = MS_MB_TRANSPORT_UDP,
                c->framing = MS_MB_FRAMING_RTU))
SPOIL(serial_no_device, c->transport = MS_MB_TRANSPORT_SERIAL)
SPOIL(serial_baud, (c->transport = MS_MB_TRANSPORT_SERIAL,
                    snprintf(c->serial.device, 8, "/dev/x"),
                    c->serial.baud = 1000))
SPOIL(bad_transport, c->transport = (ms_mb_transport)7)

static const bad_client bad_clients[] = {
    {"timeout 0", no_timeout, "timeout must be more than 0 seconds"},
    {"retries 101", many_retries, "retries must be from 0 to 100 (is 101)"},
    {"max_in_flight 0", no_in_flight,
     "max_in_flight must be from 1 to 64 (is 0)"},
    {"max_in_flight 65", big_in_flight,
     "max_in_flight must be from 1 to 64 (is 65)"},
    {"connect_timeout 0", no_connect_timeout,
     "connect_timeout must be more than 0 seconds"},
    {"backoff_min 0", no_backoff, "backoff_min must be more than 0 seconds"},
    {"backoff_max < min", backoff_upside_down,
     "backoff_max must be at least backoff_min (0.1 s)"},
    {"host ''", no_host, "host must be an address or a name"},
    {"port 0", no_port, "port must be from 1 to 65535 (is 0)"},
    {"udp with rtu framing", udp_rtu, "framing over UDP must be MBAP"},
    {"serial without device", serial_no_device,
     "device must be a path to a serial device"},
    {"serial baud 1000", serial_baud,
     "baud 1000 is not one a line can be set to (1200, 2400, ... 115200, "
     "230400)"},
    {"transport 7", bad_transport, "transport must be TCP, UDP or SERIAL"},
};

static void test_client_config(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ms_mb_client_config cfg;
    char why[200];
    ms_mb_client_config_init(&cfg);
    assert_int_equal(ms_mb_client_config_check(&cfg, why, sizeof why), 0);
    cfg.retries = 0; /* 0 is 0, not "the default" */
    assert_int_equal(ms_mb_client_config_check(&cfg, why, sizeof why), 0);
    for (size_t i = 0; i < sizeof bad_clients / sizeof bad_clients[0]; i++) {
        const bad_client *b = &bad_clients[i];
        ms_mb_client_config_init(&cfg);
        b->spoil(&cfg);
        why[0] = 0;
        int rc = ms_mb_client_config_check(&cfg, why, sizeof why);
        if (rc != MS_EINVAL || strcmp(why, b->why))
            fail_msg("%s: rc %d, why '%s' (want '%s')", b->what, rc, why,
                     b->why);
        ms_mb_client *c = (ms_mb_client *)&cfg; /* must be set to NULL */
        assert_int_equal(ms_mb_client_new(&loop, &cfg, &c), MS_EINVAL);
        assert_null(c);
    }
    /* Nothing was made: the loop has nothing to run. */
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- a start that fails at the second RTU ------------------------------- */

static void count_closing(uv_handle_t *h, void *arg)
{
    if (uv_is_closing(h))
        ++*(int *)arg;
}

static int closing_handles(uv_loop_t *loop)
{
    int n = 0;
    uv_walk(loop, count_closing, &n);
    return n;
}

/* Two RTUs polled over TCP (nobody listens: they keep trying); the bus on
 * a port nobody listens on either. */
#define MBC_TWO_RTUS                                                          \
    "bus_ip: 127.0.0.1\n"                                                     \
    "bus_port: 1\n"                                                           \
    "rtus:\n"                                                                 \
    "- {name: A, ip: 127.0.0.1, port: 1, reads: "                             \
    "[{unit: 1, file: 4x, start: 1, end: 10}]}\n"                             \
    "- {name: B, ip: 127.0.0.1, port: 1, reads: "                             \
    "[{unit: 1, file: 4x, start: 1, end: 10}]}\n"                             \
    "tags:\n"                                                                 \
    "  Flow: {type: int16, read: 'A:1:4x:1'}\n"

static void mbc_config(const char *yaml, ms_mbc_config *cfg)
{
    ms_conf_doc *doc;
    ms_conf_error err;
    assert_int_equal(ms_conf_parse("m.yaml", yaml, strlen(yaml), &doc, &err),
                     0);
    int rc = ms_mbc_config_from_conf(ms_conf_root(doc), cfg, &err);
    ms_conf_free(doc);
    if (rc)
        fail_msg("%s", err.text);
}

static void test_mbc_start_fails_at_second_rtu(void **state)
{
    (void)state;
    /* The tag B_status is an int16 here, and RTU B's status tag (JSON) has
     * that name: A starts, then B's status tag is refused. */
    static const char yaml[] =
        MBC_TWO_RTUS "  B_status: {type: int16, read: 'B:1:4x:2'}\n";
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ms_mbc_config cfg;
    ms_tagdescs descs;
    memset(&descs, 0, sizeof descs);
    mbc_config(yaml, &cfg);
    ms_mbc *m = (ms_mbc *)&cfg; /* must be set to NULL */
    assert_int_equal(ms_mbc_start(&loop, &cfg, &descs, &m), MS_ETYPE);
    assert_null(m);
    /* What was made is closing: the status timer, A's poll timer, A's
     * client (two timers and a dialer) and the bus client. */
    assert_true(closing_handles(&loop) >= 5);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    ms_mbc_config_free(&cfg);
}

static void on_idle_stop(uv_idle_t *h)
{
    uv_idle_stop(h);
    uv_close((uv_handle_t *)h, NULL);
    ms_mbc_stop(h->data);
}

static void test_mbc_start_and_stop(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ms_mbc_config cfg;
    ms_tagdescs descs;
    memset(&descs, 0, sizeof descs);
    mbc_config(MBC_TWO_RTUS, &cfg);
    ms_mbc *m = NULL;
    assert_int_equal(ms_mbc_start(&loop, &cfg, &descs, &m), 0);
    assert_non_null(m);
    /* Stopped from a loop callback, as a signal handler does: the one
     * teardown call, and the loop runs dry. */
    uv_idle_t idle;
    uv_idle_init(&loop, &idle);
    idle.data = m;
    uv_idle_start(&idle, on_idle_stop);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    ms_mbc_config_free(&cfg);
}

/* modbusserver: RTU A listens on TCP, RTU B's serial device does not
 * exist (a slave's line must open at start). */
static void test_mbs_start_fails_at_second_rtu(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_mb_lifecycle.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "bus_port: 1\n"
               "rtus:\n"
               "- {name: A, port: 0, serve: "
               "[{unit: 1, file: 4x, start: 1, end: 10}]}\n"
               "- {name: B, tcp_udp: serial, device: %s/no-such-tty, serve: "
               "[{unit: 1, file: 4x, start: 1, end: 10}]}\n"
               "tags:\n"
               "  T: {addr: 'A:1:4x:1'}\n", dir);
    assert_int_equal(fclose(f), 0);
    ms_mbs_config cfg;
    ms_conf_error err;
    memset(&cfg, 0, sizeof cfg);
    int rc = ms_mbs_config_load(path, &cfg, &err);
    if (rc)
        fail_msg("%s", err.text);
    unlink(path);
    rmdir(dir);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ms_mbs *s = (ms_mbs *)&cfg;
    assert_int_equal(ms_mbs_start(&loop, &cfg, &s), UV_ENOENT);
    assert_null(s);
    /* A's listener (and its timers) and the bus client are closing. */
    assert_true(closing_handles(&loop) >= 2);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    ms_mbs_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_config),
        cmocka_unit_test(test_mbc_start_fails_at_second_rtu),
        cmocka_unit_test(test_mbc_start_and_stop),
        cmocka_unit_test(test_mbs_start_fails_at_second_rtu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
