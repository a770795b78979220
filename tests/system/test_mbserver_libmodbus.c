/* `mscada modbusserver` against libmodbus 3.1.6 as an independent master:
 * every function code libmodbus has (1, 2, 3, 4, 5, 6, 15, 16, 17, 22, 23),
 * exceptions 1, 2, 3 and 11, units 0 and 255 as unit 1 (unit_any), a
 * master's writes appearing on the bus (seen
 * through the client library) and bus values appearing in registers; and,
 * on raw sockets, pipelined requests answered in order, a request split
 * over many writes, garbage and wrong lengths dropping only that master,
 * and a master stalled mid-frame dropped after the timeout while another
 * keeps getting answers. Real `mscada bus` and `mscada modbusserver`
 * processes, stopped by pid. */
#include <errno.h>
#include <math.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <modbus.h>

#include "ms_syshelp.h"
#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/tag.h"

typedef struct {
    int bus_port, mb_port;
    pid_t bus, mbs;
    char log[512];
    uv_loop_t loop;
    ms_client *client;
    modbus_t *mb;
} world;

static world W;

static const char *config =
    "bus_ip: 127.0.0.1\n"
    "bus_port: %d\n"
    "rtus:\n"
    "- name: PLC\n"
    "  port: %d\n"
    "  timeout: 1\n"
    "  server_id: [0x2A, 1]\n"
    "  unit_any: true\n"
    "  serve:\n"
    "  - {unit: 1, file: 4x, start: 1, end: 200}\n"
    "  - {unit: 1, file: 3x, start: 1, end: 50}\n"
    "  - {unit: 1, file: 0x, start: 1, end: 100}\n"
    "  - {unit: 1, file: 1x, start: 1, end: 100}\n"
    "  - {unit: 2, file: 4x, start: 1000, end: 1009}\n"
    "tags:\n"
    "  t_int16: {type: int16, addr: 'PLC:1:4x:101'}\n"
    "  t_float: {type: float32, addr: 'PLC:1:4x:102'}\n"
    "  t_u32le: {type: uint32, addr: 'PLC:1:4x:104', word_order: little}\n"
    "  t_f64: {type: float64, addr: 'PLC:1:4x:106'}\n"
    "  t_bit5: {type: bool, addr: 'PLC:1:4x:110.5'}\n"
    "  t_coil: {type: bool, addr: 'PLC:1:0x:7'}\n"
    "  t_input: {type: bool, addr: 'PLC:1:1x:3'}\n"
    "  t_ireg: {type: int32, addr: 'PLC:1:3x:10'}\n"
    "  t_scaled: {type: uint16, addr: 'PLC:1:4x:111', scale: 0.1, "
    "offset: -50}\n"
    "  t_unit2: {type: int64, addr: 'PLC:2:4x:1002'}\n";

static modbus_t *master(int unit)
{
    modbus_t *m = modbus_new_tcp("127.0.0.1", W.mb_port);
    assert_non_null(m);
    modbus_set_slave(m, unit);
    modbus_set_response_timeout(m, 10, 0);
    assert_int_equal(modbus_connect(m), 0);
    return m;
}

static int group_setup(void **state)
{
    (void)state;
    ms_log_setup("test_mbserver", MS_LOG_WARN);
    W.bus_port = ms_test_free_port();
    W.mb_port = ms_test_free_port();
    W.bus = ms_test_bus_start(W.bus_port);
    if (W.bus < 0)
        return -1;
    char conf[512];
    snprintf(conf, sizeof conf, "%s/modbusserver.yaml", ms_test_dir());
    snprintf(W.log, sizeof W.log, "%s/modbusserver.log", ms_test_dir());
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f, config, W.bus_port, W.mb_port);
    fclose(f);
    char *argv[] = {(char *)MS_MSCADA_BIN, (char *)"modbusserver",
                    (char *)"--config", conf, NULL};
    W.mbs = ms_test_spawn(argv, W.log);
    double end = ms_test_now() + 60;
    while (!ms_test_port_open(W.mb_port)) {
        if (ms_test_now() > end)
            return -1;
        usleep(20000);
    }
    uv_loop_init(&W.loop);
    ms_client_config cc;
    ms_client_config_init(&cc);
    cc.port = W.bus_port;
    if (ms_client_new(&W.loop, &cc, &W.client) < 0)
        return -1;
    W.mb = master(1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (W.mb) {
        modbus_close(W.mb);
        modbus_free(W.mb);
    }
    if (W.client) {
        ms_client_close(W.client);
        ms_test_run_drain(&W.loop, 10);
        uv_loop_close(&W.loop);
    }
    int st = ms_test_stop_pid(W.mbs, 10);
    ms_test_stop_pid(W.bus, 10);
    /* It stops cleanly on SIGTERM. */
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "modbusserver exit status %d; log:\n", st);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "tail -20 '%s'", W.log);
        if (system(cmd) != 0)
            return -1;
        return -1;
    }
    return 0;
}

/* ---- every function code ---------------------------------------------------- */

static void test_registers(void **state)
{
    (void)state;
    uint16_t w[125], r[125];
    for (int i = 0; i < 123; i++)
        w[i] = (uint16_t)(0x1000 + i * 7);
    assert_int_equal(modbus_write_registers(W.mb, 0, 123, w), 123);  /* FC16 */
    assert_int_equal(modbus_read_registers(W.mb, 0, 123, r), 123);   /* FC3 */
    assert_memory_equal(w, r, 123 * 2);
    assert_int_equal(modbus_write_register(W.mb, 199, 0xBEEF), 1);    /* FC6 */
    assert_int_equal(modbus_read_registers(W.mb, 199, 1, r), 1);
    assert_int_equal(r[0], 0xBEEF);
    /* FC22: (0x12 & 0xF2) | (0x25 & ~0xF2) = 0x17 (the spec's example) */
    assert_int_equal(modbus_write_register(W.mb, 198, 0x12), 1);
    assert_int_equal(modbus_mask_write_register(W.mb, 198, 0xF2, 0x25), 1);
    assert_int_equal(modbus_read_registers(W.mb, 198, 1, r), 1);
    assert_int_equal(r[0], 0x17);
    /* FC23: the write goes first, so the read sees it. */
    uint16_t ww[3] = {1, 2, 3};
    assert_int_equal(modbus_write_and_read_registers(W.mb, 10, 3, ww, 9, 5, r),
                     5);
    assert_int_equal(r[0], w[9]);
    assert_int_equal(r[1], 1);
    assert_int_equal(r[3], 3);
    assert_int_equal(r[4], w[13]);
    /* FC4 from the 3x block (zeros until a tag sets them). */
    assert_int_equal(modbus_read_input_registers(W.mb, 0, 50, r), 50);
}

static void test_bits(void **state)
{
    (void)state;
    uint8_t w[100], r[100];
    for (int i = 0; i < 100; i++)
        w[i] = (uint8_t)((i * 7 + 1) % 3 == 0);
    assert_int_equal(modbus_write_bits(W.mb, 0, 100, w), 100);   /* FC15 */
    assert_int_equal(modbus_read_bits(W.mb, 0, 100, r), 100);    /* FC1 */
    assert_memory_equal(w, r, 100);
    assert_int_equal(modbus_write_bit(W.mb, 99, 1), 1);          /* FC5 */
    assert_int_equal(modbus_write_bit(W.mb, 98, 0), 1);
    assert_int_equal(modbus_read_bits(W.mb, 98, 2, r), 2);
    assert_int_equal(r[0], 0);
    assert_int_equal(r[1], 1);
    assert_int_equal(modbus_read_input_bits(W.mb, 0, 100, r), 100); /* FC2 */
}

static void test_exceptions(void **state)
{
    (void)state;
    uint16_t r[125];
    uint8_t b[8];
    /* Outside every block: 2. */
    assert_int_equal(modbus_read_registers(W.mb, 195, 10, r), -1);
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(modbus_read_input_registers(W.mb, 50, 1, r), -1);
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(modbus_write_bit(W.mb, 100, 1), -1);
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(modbus_read_input_bits(W.mb, 200, 1, b), -1);
    assert_int_equal(errno, EMBXILADD);
    /* Unit 2 has only 4x 1000-1009. */
    modbus_t *u2 = master(2);
    assert_int_equal(modbus_read_registers(u2, 999, 10, r), 10);
    assert_int_equal(modbus_read_registers(u2, 998, 2, r), -1);
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(modbus_read_bits(u2, 0, 1, b), -1);
    assert_int_equal(errno, EMBXILADD);
    modbus_close(u2);
    modbus_free(u2);
    /* An unknown unit: 11. */
    modbus_t *u9 = master(9);
    assert_int_equal(modbus_read_registers(u9, 0, 1, r), -1);
    assert_int_equal(errno, EMBXGTAR);
    modbus_close(u9);
    modbus_free(u9);
    /* An unsupported function (FC8 diagnostics): 1. */
    uint8_t raw[] = {1, 0x08, 0, 0, 0x12, 0x34};
    uint8_t rsp[MODBUS_TCP_MAX_ADU_LENGTH];
    assert_true(modbus_send_raw_request(W.mb, raw, sizeof raw) > 0);
    assert_int_equal(modbus_receive_confirmation(W.mb, rsp), 9);
    assert_int_equal(rsp[7], 0x88);
    assert_int_equal(rsp[8], MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
    /* A quantity over the limit: 3 (libmodbus refuses to send one). */
    uint8_t raw3[] = {1, 0x03, 0, 0, 0, 126};
    assert_true(modbus_send_raw_request(W.mb, raw3, sizeof raw3) > 0);
    assert_int_equal(modbus_receive_confirmation(W.mb, rsp), 9);
    assert_int_equal(rsp[7], 0x83);
    assert_int_equal(rsp[8], MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
    /* The connection is still good. */
    assert_int_equal(modbus_read_registers(W.mb, 0, 1, r), 1);
}

/* FC17: server_id [0x2A, 1] and the run indicator ON. */
static void test_report_server_id(void **state)
{
    (void)state;
    uint8_t id[16];
    memset(id, 0xEE, sizeof id);
    assert_int_equal(modbus_report_slave_id(W.mb, sizeof id, id), 3);
    assert_int_equal(id[0], 0x2A);
    assert_int_equal(id[1], 0x01);
    assert_int_equal(id[2], 0xFF);
    assert_int_equal(id[3], 0xEE);
    /* An unknown unit: 11, as for any function. */
    modbus_t *u9 = master(9);
    assert_int_equal(modbus_report_slave_id(u9, sizeof id, id), -1);
    assert_int_equal(errno, EMBXGTAR);
    modbus_close(u9);
    modbus_free(u9);
}

/* unit_any: 255 (MODBUS_TCP_SLAVE) and 0 are unit 1, not unit 2. */
static void test_unit_any(void **state)
{
    (void)state;
    modbus_t *u255 = master(MODBUS_TCP_SLAVE), *u0 = master(0);
    uint16_t r[2];
    assert_int_equal(modbus_write_register(u255, 150, 0x5A5A), 1);
    assert_int_equal(modbus_read_registers(W.mb, 150, 1, r), 1);
    assert_int_equal(r[0], 0x5A5A);
    assert_int_equal(modbus_write_register(W.mb, 151, 0xA5A5), 1);
    assert_int_equal(modbus_read_registers(u0, 150, 2, r), 2);
    assert_int_equal(r[0], 0x5A5A);
    assert_int_equal(r[1], 0xA5A5);
    /* Unit 2's memory is not what 255 sees. */
    assert_int_equal(modbus_read_registers(u255, 1000, 1, r), -1);
    assert_int_equal(errno, EMBXILADD);
    uint8_t id[16];
    assert_int_equal(modbus_report_slave_id(u0, sizeof id, id), 3);
    modbus_close(u255);
    modbus_free(u255);
    modbus_close(u0);
    modbus_free(u0);
}

/* ---- tags both ways --------------------------------------------------------- */

typedef struct {
    const char *name;
    double want;
} want_t;

static bool tag_is(void *arg)
{
    want_t *w = arg;
    ms_tag *t = ms_tag_find(W.client, w->name);
    double v;
    return t && ms_tag_get_float(t, &v) == 0 && fabs(v - w->want) < 1e-9;
}

static ms_tag *tag(const char *name, ms_type type)
{
    ms_tag *t;
    assert_int_equal(ms_tag_new(W.client, name, type, &t), 0);
    return t;
}

static void expect_bus(const char *name, double v)
{
    tag(name, MS_TYPE_NONE);
    want_t w = {name, v};
    if (!ms_test_run_until(&W.loop, tag_is, &w, 30)) {
        double got = NAN;
        ms_tag_get_float(ms_tag_find(W.client, name), &got);
        fail_msg("%s: bus has %g, want %g", name, got, v);
    }
}

static void test_master_writes_reach_bus(void **state)
{
    (void)state;
    uint16_t r[4];
    assert_int_equal(modbus_write_register(W.mb, 100, (uint16_t)-1234), 1);
    expect_bus("t_int16", -1234);
    /* 3.5f = 0x40600000, high word first. (libmodbus 3.1.6's
     * modbus_set_float_abcd swaps the bytes on little-endian hosts.) */
    r[0] = 0x4060;
    r[1] = 0x0000;
    assert_int_equal(modbus_write_registers(W.mb, 101, 2, r), 2);
    expect_bus("t_float", 3.5);
    r[0] = 0x5678; /* little word order: low word first */
    r[1] = 0x1234;
    assert_int_equal(modbus_write_registers(W.mb, 103, 2, r), 2);
    expect_bus("t_u32le", 0x12345678);
    /* A bit set by mask write (FC22) and by FC23. */
    assert_int_equal(modbus_mask_write_register(W.mb, 109, 0xFFFF, 1u << 5),
                     1);
    expect_bus("t_bit5", 1);
    uint16_t z = 0;
    assert_int_equal(modbus_write_and_read_registers(W.mb, 109, 1, &z, 109, 1,
                                                     r), 1);
    expect_bus("t_bit5", 0);
    assert_int_equal(modbus_write_bit(W.mb, 6, 1), 1);
    expect_bus("t_coil", 1);
    /* raw 800 * 0.1 - 50 = 30 */
    assert_int_equal(modbus_write_register(W.mb, 110, 800), 1);
    expect_bus("t_scaled", 30);
    modbus_t *u2 = master(2);
    uint16_t q[4] = {0, 0, 0, 77};
    assert_int_equal(modbus_write_registers(u2, 1001, 4, q), 4);
    expect_bus("t_unit2", 77);
    modbus_close(u2);
    modbus_free(u2);
}

typedef struct {
    int addr, n;
    bool input, bits;
    uint16_t want[4];
} regs_want;

static bool regs_are(void *arg)
{
    regs_want *w = arg;
    uint16_t r[4];
    uint8_t b[4];
    int n;
    if (w->bits) {
        n = w->input ? modbus_read_input_bits(W.mb, w->addr, 1, b)
                     : modbus_read_bits(W.mb, w->addr, 1, b);
        r[0] = b[0];
    } else {
        n = w->input ? modbus_read_input_registers(W.mb, w->addr, w->n, r)
                     : modbus_read_registers(W.mb, w->addr, w->n, r);
    }
    return n == w->n && !memcmp(r, w->want, (size_t)w->n * 2);
}

static void expect_regs(regs_want w)
{
    if (!ms_test_run_until(&W.loop, regs_are, &w, 30))
        fail_msg("registers at %d never became the bus value", w.addr);
}

static void test_bus_values_reach_registers(void **state)
{
    (void)state;
    assert_int_equal(ms_tag_set_float(tag("t_float", MS_TYPE_NONE), -123.25),
                     0);
    expect_regs((regs_want){101, 2, false, false, {0xC2F6, 0x8000}});
    assert_int_equal(ms_tag_set_float(tag("t_f64", MS_TYPE_NONE), 1.5), 0);
    expect_regs((regs_want){105, 4, false, false, {0x3FF8, 0, 0, 0}});
    assert_int_equal(ms_tag_set_int(tag("t_u32le", MS_TYPE_NONE), 0xAABBCCDD),
                     0);
    expect_regs((regs_want){103, 2, false, false, {0xCCDD, 0xAABB}});
    assert_int_equal(ms_tag_set_int(tag("t_ireg", MS_TYPE_NONE), -2), 0);
    expect_regs((regs_want){9, 2, true, false, {0xFFFF, 0xFFFE}});
    assert_int_equal(ms_tag_set_int(tag("t_input", MS_TYPE_NONE), 1), 0);
    expect_regs((regs_want){2, 1, true, true, {1}});
    /* A bit leaves the rest of its register alone. */
    assert_int_equal(modbus_write_register(W.mb, 109, 0x8001), 1);
    assert_int_equal(ms_tag_set_int(tag("t_bit5", MS_TYPE_NONE), 1), 0);
    expect_regs((regs_want){109, 1, false, false, {0x8021}});
    /* Clamped into int16; scaled: (95 + 50) / 0.1 = 1450. */
    assert_int_equal(ms_tag_set_int(tag("t_int16", MS_TYPE_NONE), 100000), 0);
    expect_regs((regs_want){100, 1, false, false, {0x7FFF}});
    assert_int_equal(ms_tag_set_float(tag("t_scaled", MS_TYPE_NONE), 95), 0);
    expect_regs((regs_want){110, 1, false, false, {1450}});
}

/* ---- raw sockets: pipelining, splits, garbage, stalls ----------------------- */

static int raw_connect(void)
{
    int fd = ms_test_connect(W.mb_port);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = recv(fd, p, n, 0);
        if (k <= 0)
            fail_msg("recv: %zd (%s)", k, strerror(errno));
        p += k;
        n -= (size_t)k;
    }
}

/* True when the server closes fd within `seconds`. */
static bool closed_by_server(int fd, double seconds)
{
    struct timeval tv = {(time_t)seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    uint8_t b[512];
    for (;;) {
        ssize_t k = recv(fd, b, sizeof b, 0);
        if (k == 0 || (k < 0 && errno == ECONNRESET))
            return true;
        if (k < 0)
            return false;
    }
}

static size_t fc3_req(uint8_t *p, uint16_t tid, uint16_t addr, uint16_t n)
{
    uint8_t q[12] = {tid >> 8, tid & 0xff, 0, 0, 0, 6, 1, 3,
                     addr >> 8, addr & 0xff, n >> 8, n & 0xff};
    memcpy(p, q, 12);
    return 12;
}

static void test_pipelined(void **state)
{
    (void)state;
    uint16_t w[50];
    for (int i = 0; i < 50; i++)
        w[i] = (uint16_t)(i * 3);
    assert_int_equal(modbus_write_registers(W.mb, 0, 50, w), 50);
    int fd = raw_connect();
    uint8_t req[12 * 200];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += fc3_req(req + n, (uint16_t)(1000 + i), (uint16_t)(i % 50), 1);
    assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
    for (int i = 0; i < 200; i++) {
        uint8_t r[11];
        read_full(fd, r, sizeof r);
        assert_int_equal((r[0] << 8) | r[1], 1000 + i); /* in order */
        assert_int_equal(r[7], 3);
        assert_int_equal((r[9] << 8) | r[10], (i % 50) * 3);
    }
    /* One request split over many writes, one byte at a time. */
    n = fc3_req(req, 7, 5, 1);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(send(fd, req + i, 1, 0), 1);
        usleep(2000);
    }
    uint8_t r[11];
    read_full(fd, r, sizeof r);
    assert_int_equal((r[0] << 8) | r[1], 7);
    assert_int_equal((r[9] << 8) | r[10], 15);
    /* A PDU longer than its function says: exception 3, not a drop. */
    uint8_t longer[] = {0, 9, 0, 0, 0, 8, 1, 3, 0, 0, 0, 1, 0xAA, 0xBB};
    assert_int_equal(send(fd, longer, sizeof longer, 0), (ssize_t)sizeof longer);
    uint8_t e[9];
    read_full(fd, e, sizeof e);
    assert_int_equal(e[7], 0x83);
    assert_int_equal(e[8], 3);
    close(fd);
}

static void test_garbage_drops_only_that_master(void **state)
{
    (void)state;
    static const uint8_t bad[][12] = {
        /* protocol id 1 */
        {0, 1, 0, 1, 0, 6, 1, 3, 0, 0, 0, 1},
        /* length 300 */
        {0, 1, 0, 0, 0x01, 0x2C, 1, 3, 0, 0, 0, 1},
        /* length 1: no function code */
        {0, 1, 0, 0, 0, 1, 1, 3, 0, 0, 0, 1},
        /* function code 0x90: no request */
        {0, 1, 0, 0, 0, 6, 1, 0x90, 0, 0, 0, 1},
        /* HTTP */
        {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1'},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = raw_connect();
        assert_int_equal(send(fd, bad[i], 12, 0), 12);
        if (!closed_by_server(fd, 20))
            fail_msg("garbage %zu: the server kept the connection", i);
        close(fd);
        uint16_t r;
        assert_int_equal(modbus_read_registers(W.mb, 0, 1, &r), 1);
    }
}

static void test_stall_mid_frame(void **state)
{
    (void)state;
    int fd = raw_connect();
    uint8_t part[5] = {0, 1, 0, 0, 0};
    assert_int_equal(send(fd, part, sizeof part, 0), 5);
    /* A short frame (header only) too. */
    int fd2 = raw_connect();
    uint8_t hdr[9] = {0, 2, 0, 0, 0, 6, 1, 3, 0};
    assert_int_equal(send(fd2, hdr, sizeof hdr, 0), 9);
    /* Meanwhile the other master gets every answer. */
    double end = ms_test_now() + 1.5;
    int n = 0;
    while (ms_test_now() < end) {
        uint16_t r[125];
        assert_int_equal(modbus_read_registers(W.mb, 0, 125, r), 125);
        n++;
    }
    assert_true(n > 10);
    /* timeout: 1 in the config; the sweep runs each second. */
    assert_true(closed_by_server(fd, 20));
    assert_true(closed_by_server(fd2, 20));
    close(fd);
    close(fd2);
}

/* A master that sends but never reads: reading it stops at out_cap, and
 * after the timeout it is dropped; the others never notice. */
static void test_never_reads(void **state)
{
    (void)state;
    int fd = raw_connect();
    int sz = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    static uint8_t req[12 * 1000];
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        n += fc3_req(req + n, (uint16_t)i, 0, 125);
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    double end = ms_test_now() + 30;
    bool dropped = false;
    while (ms_test_now() < end && !dropped) {
        ssize_t k = send(fd, req, n, MSG_NOSIGNAL);
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            dropped = true;
        uint16_t r[125];
        assert_int_equal(modbus_read_registers(W.mb, 0, 125, r), 125);
    }
    assert_true(dropped);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers),
        cmocka_unit_test(test_bits),
        cmocka_unit_test(test_exceptions),
        cmocka_unit_test(test_report_server_id),
        cmocka_unit_test(test_unit_any),
        cmocka_unit_test(test_master_writes_reach_bus),
        cmocka_unit_test(test_bus_values_reach_registers),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_garbage_drops_only_that_master),
        cmocka_unit_test(test_stall_mid_frame),
        cmocka_unit_test(test_never_reads),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
