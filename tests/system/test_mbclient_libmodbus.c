/* `mscada modbusclient` against libmodbus (an independent Modbus TCP
 * server, in a thread of this test): every register type in both word
 * orders, a bit of a register, coils, inputs and input registers, scale and
 * offset read from the device onto a real `mscada bus`; writes from the bus
 * (FC5, FC6, FC16, FC22) checked in libmodbus' mapping; the status tag; the
 * slave stopped and started again -> reconnect and resume; SIGTERM -> exit
 * 0. Each test gets its own bus, slave and modbusclient (setup/teardown per
 * test), so any one runs alone: `test_mbclient_libmodbus test_writes`. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/select.h>

#include <cmocka.h>
#include <modbus.h>

#include "ms_lmb.h"
#include "ms_syshelp.h"
#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"

/* ---- the libmodbus slave (ms_lmb.h) ----------------------------------------- */

/* Holding register `word`, numbered from 1 as the config numbers it. */
static uint16_t hreg(lmb_server *s, int word)
{
    return lmb_reg(s, word - 1);
}

static void set_hreg(lmb_server *s, int word, uint16_t v)
{
    lmb_set_reg(s, word - 1, v);
}

/* 64-bit values, high word first (big) or low word first (little). */
static void put64(uint16_t *r, uint64_t v, int little)
{
    for (int i = 0; i < 4; i++) {
        uint16_t w = (uint16_t)(v >> (48 - 16 * i));
        r[little ? 3 - i : i] = w;
    }
}
static void put32(uint16_t *r, uint32_t v, int little)
{
    r[little ? 1 : 0] = (uint16_t)(v >> 16);
    r[little ? 0 : 1] = (uint16_t)v;
}
static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static uint64_t d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static void fill(modbus_mapping_t *m)
{
    uint16_t *r = m->tab_registers;
    r[0] = (uint16_t)-1234;                       /* 1: int16 */
    r[1] = 54321;                                 /* 2: uint16 */
    put32(r + 2, (uint32_t)-123456789, 0);        /* 3: int32 big */
    put32(r + 4, 3000000000u, 0);                 /* 5: uint32 big */
    put64(r + 6, (uint64_t)-1234567890123LL, 0);  /* 7: int64 big */
    put64(r + 10, 12345678901234567ull, 0);       /* 11: uint64 big */
    put32(r + 14, f2u(3.5f), 0);                  /* 15: float32 big */
    put64(r + 16, d2u(-2.25e10), 0);              /* 17: float64 big */
    put32(r + 20, (uint32_t)-123456789, 1);       /* 21: int32 little */
    put32(r + 22, f2u(1.25f), 1);                 /* 23: float32 little */
    put64(r + 24, d2u(6.5e-3), 1);                /* 25: float64 little */
    r[28] = 0x0008;                               /* 29: bit 3 */
    r[29] = 1234;                                 /* 30: scaled */
    put64(r + 38, (uint64_t)-5, 1);               /* 39: int64 little */
    put32(r + 42, 4000000000u, 1);                /* 43: uint32 little */
    m->tab_bits[2] = 1;                           /* coil 3 */
    m->tab_input_bits[1] = 1;                     /* input 2 */
    put32(m->tab_input_registers, 305419896u, 1); /* 3x 1: uint32 little */
}

/* ---- the test --------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *spec;
    int is_float;
    int64_t i;
    double f;
} expect;

static const expect reads[] = {
    {"I16", "{type: int16, read: 'PLC:1:4x:1'}", 0, -1234, 0},
    {"U16", "{type: uint16, read: 'PLC:1:4x:2'}", 0, 54321, 0},
    {"I32", "{type: int32, read: 'PLC:1:4x:3'}", 0, -123456789, 0},
    {"U32", "{type: uint32, read: 'PLC:1:4x:5'}", 0, 3000000000LL, 0},
    {"I64", "{type: int64, read: 'PLC:1:4x:7'}", 0, -1234567890123LL, 0},
    {"U64", "{type: uint64, read: 'PLC:1:4x:11'}", 0, 12345678901234567LL, 0},
    {"F32", "{type: float32, read: 'PLC:1:4x:15'}", 1, 0, 3.5},
    {"F64", "{type: float64, read: 'PLC:1:4x:17'}", 1, 0, -2.25e10},
    {"I32L", "{type: int32, read: 'PLC:1:4x:21', word_order: little}", 0,
     -123456789, 0},
    {"F32L", "{type: float32, read: 'PLC:1:4x:23', word_order: little}", 1, 0,
     1.25},
    {"F64L", "{type: float64, read: 'PLC:1:4x:25', word_order: little}", 1, 0,
     6.5e-3},
    {"BIT3", "{type: bool, read: 'PLC:1:4x:29.3'}", 0, 1, 0},
    {"BIT4", "{type: bool, read: 'PLC:1:4x:29.4'}", 0, 0, 0},
    {"SCALED", "{type: int16, read: 'PLC:1:4x:30', scale: 0.1, offset: 5}",
     1, 0, 128.4},
    {"C3", "{type: bool, read: 'PLC:1:0x:3'}", 0, 1, 0},
    {"C4", "{type: bool, read: 'PLC:1:0x:4'}", 0, 0, 0},
    {"DI2", "{type: bool, read: 'PLC:1:1x:2'}", 0, 1, 0},
    {"IR1", "{type: uint32, read: 'PLC:1:3x:1', word_order: little}", 0,
     305419896, 0},
    {"I64L", "{type: int64, read: 'PLC:1:4x:39', word_order: little}", 0, -5,
     0},
    {"U32L", "{type: uint32, read: 'PLC:1:4x:43', word_order: little}", 0,
     4000000000LL, 0},
};
#define NREADS (sizeof reads / sizeof reads[0])

static const char *writes =
    "  W_I16: {type: int16, read: 'PLC:1:4x:31', write: 'PLC:1:4x:31'}\n"
    "  W_F32: {type: float32, write: 'PLC:1:4x:32'}\n"
    "  W_BIT: {type: bool, read: 'PLC:1:4x:34.5', write: 'PLC:1:4x:34.5'}\n"
    "  W_F64L: {type: float64, write: 'PLC:1:4x:35', word_order: little}\n"
    "  W_C10: {type: bool, read: 'PLC:1:0x:10', write: 'PLC:1:0x:10'}\n"
    "  W_SC: {type: uint16, write: 'PLC:1:4x:40', scale: 0.5, offset: 1}\n";

static lmb_server sl;
static int bus_port;
static pid_t bus_pid, mbc_pid;
static uv_loop_t loop;
static ms_client *bc;
static ms_tag *tags[NREADS];

static int setup(void **state)
{
    (void)state;
    ms_log_setup("test", MS_LOG_WARN);
    memset(&sl, 0, sizeof sl);
    memset(tags, 0, sizeof tags);
    const char *dir = ms_test_dir();
    bus_port = ms_test_free_port();
    bus_pid = ms_test_bus_start(bus_port);
    assert_true(bus_pid > 0);
    lmb_init(&sl);
    sl.map = modbus_mapping_new(100, 0, 100, 10);
    sl.map->tab_input_bits = calloc(10, 1);
    sl.map->nb_input_bits = 10;
    fill(sl.map);
    lmb_start(&sl);

    char conf[512], log[512];
    snprintf(conf, sizeof conf, "%s/modbusclient.yaml", dir);
    snprintf(log, sizeof log, "%s/modbusclient.log", dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f,
            "bus_ip: 127.0.0.1\nbus_port: %d\nrtus:\n"
            "- name: PLC\n  ip: 127.0.0.1\n  port: %d\n  tcp_udp: tcp\n"
            "  rate: 0.1\n  timeout: 0.5\n  retries: 0\n"
            "  poll:\n"
            "  - {unit: 1, file: 4x, start: 1, end: 50}\n"
            "  - {unit: 1, file: 0x, start: 1, end: 16}\n"
            "  - {unit: 1, file: 1x, start: 1, end: 8}\n"
            "  - {unit: 1, file: 3x, start: 1, end: 4}\n"
            "  writes:\n"
            "  - {unit: 1, file: 4x, start: 31, end: 60}\n"
            "  - {unit: 1, file: 0x, start: 10, end: 10}\n"
            "tags:\n",
            bus_port, sl.port);
    for (size_t i = 0; i < NREADS; i++)
        fprintf(f, "  %s: %s\n", reads[i].name, reads[i].spec);
    fputs(writes, f);
    fclose(f);
    char *argv[] = {(char *)MS_MSCADA_BIN, (char *)"modbusclient",
                    (char *)"--config", conf, NULL};
    mbc_pid = ms_test_spawn(argv, log);
    assert_true(mbc_pid > 0);

    uv_loop_init(&loop);
    ms_client_config cc;
    ms_client_config_init(&cc);
    cc.port = bus_port;
    assert_int_equal(ms_client_new(&loop, &cc, &bc), 0);
    for (size_t i = 0; i < NREADS; i++)
        assert_int_equal(ms_tag_new(bc, reads[i].name, MS_TYPE_NONE,
                                    &tags[i]), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ms_client_close(bc);
    ms_test_run_drain(&loop, 5);
    uv_loop_close(&loop);
    ms_test_kill_all();
    lmb_stop(&sl);
    lmb_destroy(&sl);
    ms_test_cleanup();
    return 0;
}

static bool matches(const expect *e, ms_tag *t)
{
    if (e->is_float) {
        double d;
        return ms_tag_get_float(t, &d) == 0 && fabs(d - e->f) <=
                                                   fabs(e->f) * 1e-9;
    }
    int64_t i;
    ms_value v;
    return ms_tag_get(t, &v) == 0 && v.type == MS_TYPE_INT &&
           ms_tag_get_int(t, &i) == 0 && i == e->i;
}

static bool all_read(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < NREADS; i++)
        if (!matches(&reads[i], tags[i]))
            return false;
    return true;
}

static void dump(void)
{
    for (size_t i = 0; i < NREADS; i++) {
        double d = 0;
        ms_tag_get_float(tags[i], &d);
        fprintf(stderr, "%s: has %d value %.17g %s\n", reads[i].name,
                ms_tag_has_value(tags[i]), d,
                matches(&reads[i], tags[i]) ? "ok" : "WRONG");
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cat %s/modbusclient.log >&2", ms_test_dir());
    if (system(cmd) != 0)
        fprintf(stderr, "no log\n");
}

static void test_reads_every_type(void **state)
{
    (void)state;
    bool ok = ms_test_run_until(&loop, all_read, NULL, 30);
    if (!ok)
        dump();
    assert_true(ok);
}

typedef struct {
    int word;
    uint16_t want;
    uint16_t mask;
} reg_wait;

static bool reg_is(void *arg)
{
    reg_wait *w = arg;
    return (hreg(&sl, w->word) & w->mask) == w->want;
}

static bool coil10_on(void *arg)
{
    (void)arg;
    bool on = lmb_coil(&sl, 9) != 0;
    return on;
}

/* Waits until modbusclient is on the bus (its tags have values), then
 * writes W_I16 = -42 through the bus and waits for it in the device. */
static ms_tag *write_i16(void)
{
    ms_tag *t;
    assert_true(ms_test_run_until(&loop, all_read, NULL, 30));
    assert_int_equal(ms_tag_new(bc, "W_I16", MS_TYPE_INT, &t), 0);
    assert_int_equal(ms_tag_set_int(t, -42), 0);
    reg_wait w = {31, (uint16_t)-42, 0xffff};
    assert_true(ms_test_run_until(&loop, reg_is, &w, 20));
    return t;
}

static void test_writes(void **state)
{
    (void)state;
    ms_tag *t;
    reg_wait w;
    write_i16();

    assert_int_equal(ms_tag_new(bc, "W_F32", MS_TYPE_FLOAT, &t), 0);
    assert_int_equal(ms_tag_set_float(t, 7.75), 0);
    w = (reg_wait){32, (uint16_t)(f2u(7.75f) >> 16), 0xffff};
    assert_true(ms_test_run_until(&loop, reg_is, &w, 20));
    assert_int_equal(hreg(&sl, 33), (uint16_t)f2u(7.75f));

    /* FC22 on a register with other bits set: only bit 5 changes. */
    set_hreg(&sl, 34, 0x8001);
    assert_int_equal(ms_tag_new(bc, "W_BIT", MS_TYPE_INT, &t), 0);
    assert_int_equal(ms_tag_set_int(t, 1), 0);
    w = (reg_wait){34, 0x8021, 0xffff};
    assert_true(ms_test_run_until(&loop, reg_is, &w, 20));

    assert_int_equal(ms_tag_new(bc, "W_F64L", MS_TYPE_FLOAT, &t), 0);
    assert_int_equal(ms_tag_set_float(t, 1.5), 0);
    uint64_t u = d2u(1.5);
    w = (reg_wait){38, (uint16_t)(u >> 48), 0xffff}; /* high word last */
    assert_true(ms_test_run_until(&loop, reg_is, &w, 20));
    assert_int_equal(hreg(&sl, 35), (uint16_t)u);

    assert_int_equal(ms_tag_new(bc, "W_C10", MS_TYPE_INT, &t), 0);
    assert_int_equal(ms_tag_set_int(t, 1), 0);
    assert_true(ms_test_run_until(&loop, coil10_on, NULL, 20));

    /* Scale inverted on write: (12 - 1) / 0.5 = 22. */
    assert_int_equal(ms_tag_new(bc, "W_SC", MS_TYPE_FLOAT, &t), 0);
    assert_int_equal(ms_tag_set_float(t, 12.0), 0);
    w = (reg_wait){40, 22, 0xffff};
    assert_true(ms_test_run_until(&loop, reg_is, &w, 20));
}

/* The device's own value goes back on the bus when it differs from the
 * last written one (as after a failed write): W_I16 reads 4x:31 too. */
static bool i16_is_99(void *arg)
{
    ms_tag *t = arg;
    int64_t v;
    return ms_tag_get_int(t, &v) == 0 && v == 99;
}

static void test_device_value_wins(void **state)
{
    (void)state;
    ms_tag *t = write_i16();
    set_hreg(&sl, 31, 99);
    assert_true(ms_test_run_until(&loop, i16_is_99, t, 20));
}

typedef struct {
    ms_tag *t;
    const char *needle;
} status_wait;

static bool status_has(void *arg)
{
    status_wait *w = arg;
    const char *s = ms_tag_get_str(w->t);
    return s && strstr(s, w->needle);
}

static bool i16_is_777(void *arg)
{
    ms_tag *t = arg;
    int64_t v;
    return ms_tag_get_int(t, &v) == 0 && v == 777;
}

/* Connected, then the slave stopped (seen in the status) and started again
 * with a new value: the value arrives and the status says connected. */
static ms_tag *bounce_slave(void)
{
    ms_tag *st, *i16;
    assert_int_equal(ms_tag_new(bc, "PLC_status", MS_TYPE_NONE, &st), 0);
    assert_int_equal(ms_tag_new(bc, "I16", MS_TYPE_NONE, &i16), 0);
    status_wait w = {st, "\"connected\":true"};
    assert_true(ms_test_run_until(&loop, status_has, &w, 20));
    const char *s = ms_tag_get_str(st);
    assert_non_null(strstr(s, "\"requests\":"));
    assert_non_null(strstr(s, "\"rtt_ms\":"));

    lmb_stop(&sl);
    w.needle = "\"connected\":false";
    assert_true(ms_test_run_until(&loop, status_has, &w, 20));
    set_hreg(&sl, 1, 777);
    lmb_start(&sl);
    assert_true(ms_test_run_until(&loop, i16_is_777, i16, 30));
    w.needle = "\"connected\":true";
    assert_true(ms_test_run_until(&loop, status_has, &w, 20));
    return st;
}

static void test_status_and_reconnect(void **state)
{
    (void)state;
    ms_tag *st = bounce_slave();
    assert_non_null(strstr(ms_tag_get_str(st), "\"connects\":2"));
}

static void test_sigterm_clean_exit(void **state)
{
    (void)state;
    bounce_slave();
    int st = ms_test_stop_pid(mbc_pid, 10);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    char cmd[1200];
    /* Logged once when the slave went and once when it came back. */
    snprintf(cmd, sizeof cmd,
             "grep -c 'connection lost' %s/modbusclient.log | grep -qx 1 && "
             "grep -q 'connected again' %s/modbusclient.log",
             ms_test_dir(), ms_test_dir());
    int rc = system(cmd);
    if (rc != 0)
        dump();
    assert_int_equal(rc, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_every_type, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_value_wins, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_status_and_reconnect, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_clean_exit, setup,
                                        teardown),
    };
    if (argc > 1) /* one test (a pattern), e.g. test_writes */
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
