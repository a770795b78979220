/* `mscada modbusclient` with max_in_flight 8 against libmodbus 3.1.6 (an
 * independent Modbus TCP server, in a thread of this test; it answers one
 * request at a time per connection, in order): 62 read requests per poll
 * (holding registers, input registers, coils) whose answers all land on the
 * right tags, twice (values changed between), with the status tag counting
 * no error. The slave measures how many requests wait unread in its socket
 * before each one it takes: at least two (the client pipelines) and never
 * more than eight (max_in_flight holds). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <modbus.h>

#include "ms_lmb.h"
#include "ms_syshelp.h"
#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"

#define NHR 40       /* holding register blocks of 3 */
#define NIR 10       /* input register blocks of 2 */
#define NCO 12       /* coil blocks of 8 */
#define REQ_ADU 12   /* every read request: MBAP 7 + FC, addr, count */

/* The values of round r (0 or 1) of block k. */
static int32_t hr_i32(int r, int k) { return (r ? -1 : 1) * (100003 * k + 7); }
static uint16_t hr_u16(int r, int k) { return (uint16_t)(r * 1000 + k + 1); }
static int16_t ir_i16(int r, int k) { return (int16_t)((r ? 500 : -500) - k); }
static int co_bit(int r, int k) { return (k + r) % 2; }

static void fill(lmb_server *s, int r)
{
    pthread_mutex_lock(&s->lock);
    modbus_mapping_t *m = s->map;
    for (int k = 0; k < NHR; k++) {
        uint32_t v = (uint32_t)hr_i32(r, k);
        m->tab_registers[10 * k] = (uint16_t)(v >> 16);
        m->tab_registers[10 * k + 1] = (uint16_t)v;
        m->tab_registers[10 * k + 2] = hr_u16(r, k);
    }
    for (int k = 0; k < NIR; k++)
        m->tab_input_registers[5 * k + 1] = (uint16_t)ir_i16(r, k);
    for (int k = 0; k < NCO; k++)
        m->tab_bits[20 * k + 3] = (uint8_t)co_bit(r, k);
    pthread_mutex_unlock(&s->lock);
}

static lmb_server sl;
static int bus_port;
static pid_t bus_pid, mbc_pid;
static uv_loop_t loop;
static ms_client *bc;
static ms_tag *t_i32[NHR], *t_u16[NHR], *t_ir[NIR], *t_co[NCO], *t_status;

static int setup(void **state)
{
    (void)state;
    ms_log_setup("test", MS_LOG_WARN);
    const char *dir = ms_test_dir();
    bus_port = ms_test_free_port();
    bus_pid = ms_test_bus_start(bus_port);
    assert_true(bus_pid > 0);
    lmb_init(&sl);
    sl.map = modbus_mapping_new(20 * NCO, 0, 10 * NHR, 5 * NIR);
    assert_non_null(sl.map);
    fill(&sl, 0);
    lmb_start(&sl);

    char conf[512], log[512];
    snprintf(conf, sizeof conf, "%s/modbusclient.yaml", dir);
    snprintf(log, sizeof log, "%s/modbusclient.log", dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f,
            "bus_ip: 127.0.0.1\nbus_port: %d\nrtus:\n"
            "- name: PP\n  ip: 127.0.0.1\n  port: %d\n  tcp_udp: tcp\n"
            "  rate: 0.05\n  timeout: 10\n  retries: 0\n"
            "  max_in_flight: 8\n  poll:\n",
            bus_port, sl.port);
    for (int k = 0; k < NHR; k++)
        fprintf(f, "  - {unit: 1, file: 4x, start: %d, end: %d}\n",
                10 * k + 1, 10 * k + 3);
    for (int k = 0; k < NIR; k++)
        fprintf(f, "  - {unit: 1, file: 3x, start: %d, end: %d}\n",
                5 * k + 1, 5 * k + 2);
    for (int k = 0; k < NCO; k++)
        fprintf(f, "  - {unit: 1, file: 0x, start: %d, end: %d}\n",
                20 * k + 1, 20 * k + 8);
    fputs("tags:\n", f);
    for (int k = 0; k < NHR; k++)
        fprintf(f,
                "  I%d: {type: int32, read: 'PP:1:4x:%d'}\n"
                "  U%d: {type: uint16, read: 'PP:1:4x:%d'}\n",
                k, 10 * k + 1, k, 10 * k + 3);
    for (int k = 0; k < NIR; k++)
        fprintf(f, "  R%d: {type: int16, read: 'PP:1:3x:%d'}\n", k,
                5 * k + 2);
    for (int k = 0; k < NCO; k++)
        fprintf(f, "  C%d: {type: bool, read: 'PP:1:0x:%d'}\n", k,
                20 * k + 4);
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
    char name[32];
    for (int k = 0; k < NHR; k++) {
        snprintf(name, sizeof name, "I%d", k);
        assert_int_equal(ms_tag_new(bc, name, MS_TYPE_NONE, &t_i32[k]), 0);
        snprintf(name, sizeof name, "U%d", k);
        assert_int_equal(ms_tag_new(bc, name, MS_TYPE_NONE, &t_u16[k]), 0);
    }
    for (int k = 0; k < NIR; k++) {
        snprintf(name, sizeof name, "R%d", k);
        assert_int_equal(ms_tag_new(bc, name, MS_TYPE_NONE, &t_ir[k]), 0);
    }
    for (int k = 0; k < NCO; k++) {
        snprintf(name, sizeof name, "C%d", k);
        assert_int_equal(ms_tag_new(bc, name, MS_TYPE_NONE, &t_co[k]), 0);
    }
    assert_int_equal(ms_tag_new(bc, "PP_status", MS_TYPE_NONE, &t_status),
                     0);
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

static bool int_is(ms_tag *t, int64_t want)
{
    int64_t v;
    return ms_tag_get_int(t, &v) == 0 && v == want;
}

/* Which tags are wrong in round r; 0 when all are right. */
static int wrong(int r, bool print)
{
    int n = 0;
    for (int k = 0; k < NHR; k++) {
        if (!int_is(t_i32[k], hr_i32(r, k)) && ++n && print)
            fprintf(stderr, "I%d wrong\n", k);
        if (!int_is(t_u16[k], hr_u16(r, k)) && ++n && print)
            fprintf(stderr, "U%d wrong\n", k);
    }
    for (int k = 0; k < NIR; k++)
        if (!int_is(t_ir[k], ir_i16(r, k)) && ++n && print)
            fprintf(stderr, "R%d wrong\n", k);
    for (int k = 0; k < NCO; k++)
        if (!int_is(t_co[k], co_bit(r, k)) && ++n && print)
            fprintf(stderr, "C%d wrong\n", k);
    return n;
}

static bool round0(void *arg) { (void)arg; return wrong(0, false) == 0; }
static bool round1(void *arg) { (void)arg; return wrong(1, false) == 0; }

static void dump(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cat %s/modbusclient.log >&2", ms_test_dir());
    if (system(cmd) != 0)
        fprintf(stderr, "no log\n");
}

static bool status_polled(void *arg)
{
    (void)arg;
    const char *s = ms_tag_get_str(t_status);
    return s && strstr(s, "\"connected\":true") &&
           !strstr(s, "\"requests\":0,");
}

static void test_pipelined_reads(void **state)
{
    (void)state;
    bool ok = ms_test_run_until(&loop, round0, NULL, 60);
    if (!ok) {
        wrong(0, true);
        dump();
    }
    assert_true(ok);
    fill(&sl, 1);
    ok = ms_test_run_until(&loop, round1, NULL, 60);
    if (!ok) {
        wrong(1, true);
        dump();
    }
    assert_true(ok);

    pthread_mutex_lock(&sl.lock);
    int max_waiting = sl.max_waiting;
    long served = sl.served;
    pthread_mutex_unlock(&sl.lock);
    fprintf(stderr, "slave: %ld requests served, at most %d bytes (%d "
            "requests) waiting unread\n", served, max_waiting,
            max_waiting / REQ_ADU);
    /* Several requests were outstanding at once ... */
    assert_true(max_waiting >= 2 * REQ_ADU);
    /* ... and never more than max_in_flight (the one being taken counts:
     * it is still unread). */
    assert_true(max_waiting <= 8 * REQ_ADU);

    assert_true(ms_test_run_until(&loop, status_polled, NULL, 20));
    const char *s = ms_tag_get_str(t_status);
    if (!strstr(s, "\"errors\":0,"))
        fprintf(stderr, "status: %s\n", s);
    assert_non_null(strstr(s, "\"errors\":0,"));
    assert_non_null(strstr(s, "\"timeouts\":0,"));
    assert_non_null(strstr(s, "\"connects\":1,"));

    int st = ms_test_stop_pid(mbc_pid, 10);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_reads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
