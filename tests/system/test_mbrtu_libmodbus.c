/* Modbus RTU on a serial line against libmodbus 3.1 (an independent RTU
 * implementation), over a pseudo-terminal pair made by socat, at 19200 8E1:
 *
 * - the serial client (ms_mb_client, tcp_udp: serial) against a libmodbus
 *   RTU slave in a thread: FC3, FC16, FC1, FC5 checked in libmodbus'
 *   mapping, FC17 report server id, exception 2 outside the mapping;
 * - the client against a raw slave that answers after line noise: frames
 *   are found after garbage (resync), the request succeeds;
 * - the serial slave (ms_mb_serial_slave) against a libmodbus RTU master in
 *   a thread: reads, writes seen in memory, silence for another unit,
 *   FC17 report server id (the default: the unit), exception 1 for FC8 (a
 *   function whose length RTU can't derive), exception 3 for an FC16 and
 *   an FC15 whose byte count is 0 but which carry data (libmodbus' test
 *   suite's raw frames, CRC at their real end), no byte taken for garbage;
 * - `mscada modbusserver` with tcp_udp: serial, read and written by a
 *   libmodbus RTU master (FC17 as configured: server_id, run_status), and
 *   mbpoll -u (report slave id). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <modbus.h>

#include "ms_lmb.h"
#include "ms_syshelp.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mbclient.h"
#include "mscada/mbserial.h"
#include "mscada/mbserver.h"

static char pty_a[200], pty_b[200];
static pid_t socat_pid;
static uv_loop_t loop;

/* A fresh pty pair per test: socat ends when one side hangs up. */
static int setup(void **state)
{
    (void)state;
    socat_pid = ms_test_pty_pair(pty_a, pty_b, sizeof pty_a);
    assert_true(socat_pid > 0);
    uv_loop_init(&loop);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ms_test_run_drain(&loop, 5);
    uv_loop_close(&loop);
    ms_test_stop_pid(socat_pid, 5);
    return 0;
}

static void serial_cfg(ms_mb_serial_config *c, const char *dev)
{
    ms_mb_serial_config_init(c);
    snprintf(c->device, sizeof c->device, "%s", dev);
    c->baud = 19200;
    c->parity = 'E';
}

typedef struct {
    int status;
    uint16_t regs[16];
    uint8_t bits[16];
    uint8_t raw[64]; /* FC17's bytes after the count */
    size_t nraw;
    int done;
} result;

static void on_done(int status, uint8_t unit, const ms_mb_request *req,
                    const ms_mb_response *rsp, void *arg)
{
    result *r = arg;
    (void)unit;
    r->status = status;
    if (status == 0 && (req->fc == 3 || req->fc == 4))
        ms_mb_regs_load(r->regs, rsp->data, rsp->nbytes / 2);
    if (status == 0 && (req->fc == 1 || req->fc == 2))
        ms_mb_bits_unpack((bool *)r->bits, rsp->data,
                          req->count < 16 ? req->count : 16);
    if (status == 0 && req->fc == MS_MB_REPORT_SERVER_ID &&
        rsp->nbytes <= sizeof r->raw) {
        memcpy(r->raw, rsp->data, rsp->nbytes);
        r->nraw = rsp->nbytes;
    }
    r->done = 1;
}

static bool is_done(void *arg)
{
    return ((result *)arg)->done;
}

static bool is_up(void *arg)
{
    return ms_mb_client_connected(arg);
}

static int run_req(ms_mb_client *c, uint8_t unit, const ms_mb_request *q,
                   result *r)
{
    memset(r, 0, sizeof *r);
    int rc = ms_mb_client_submit(c, unit, q, on_done, r);
    if (rc < 0)
        return rc;
    assert_true(ms_test_run_until(&loop, is_done, r, 20));
    return r->status;
}

static void test_client_vs_libmodbus_slave(void **state)
{
    (void)state;
    lmb_server s;
    memset(&s, 0, sizeof s);
    lmb_init(&s);
    s.map = modbus_mapping_new(32, 0, 32, 0);
    for (int i = 0; i < 32; i++)
        s.map->tab_registers[i] = (uint16_t)(1000 + i);
    s.map->tab_bits[3] = 1;
    lmb_rtu_start(&s, pty_b, 'E');

    ms_mb_client_config cfg;
    ms_mb_client_config_init(&cfg);
    cfg.transport = MS_MB_TRANSPORT_SERIAL;
    serial_cfg(&cfg.serial, pty_a);
    cfg.timeout = 0.3;
    cfg.retries = 1;
    cfg.max_in_flight = 8; /* a line still carries one at a time */
    ms_mb_client *c;
    assert_int_equal(ms_mb_client_new(&loop, &cfg, &c), 0);
    assert_true(ms_test_run_until(&loop, is_up, c, 10));

    result r;
    ms_mb_request q = {.fc = 3, .addr = 2, .count = 10};
    assert_int_equal(run_req(c, 1, &q, &r), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(r.regs[i], 1002 + i);
    uint8_t data[4] = {0x12, 0x34, 0xAB, 0xCD};
    q = (ms_mb_request){.fc = 16, .addr = 20, .count = 2, .data = data};
    assert_int_equal(run_req(c, 1, &q, &r), 0);
    pthread_mutex_lock(&s.lock);
    assert_int_equal(s.map->tab_registers[20], 0x1234);
    assert_int_equal(s.map->tab_registers[21], 0xABCD);
    pthread_mutex_unlock(&s.lock);
    q = (ms_mb_request){.fc = 1, .addr = 0, .count = 8};
    assert_int_equal(run_req(c, 1, &q, &r), 0);
    assert_int_equal(r.bits[3], 1);
    assert_int_equal(r.bits[2], 0);
    q = (ms_mb_request){.fc = 5, .addr = 7, .value = 1};
    assert_int_equal(run_req(c, 1, &q, &r), 0);
    pthread_mutex_lock(&s.lock);
    assert_int_equal(s.map->tab_bits[7], 1);
    pthread_mutex_unlock(&s.lock);
    /* FC17: libmodbus' id 0xB4, run ON, "LMB" and its version. */
    q = (ms_mb_request){.fc = MS_MB_REPORT_SERVER_ID};
    assert_int_equal(run_req(c, 1, &q, &r), 0);
    assert_true(r.nraw >= 5);
    assert_memory_equal(r.raw, "\xB4\xFF" "LMB", 5);
    /* Out of the mapping: libmodbus answers exception 2. */
    q = (ms_mb_request){.fc = 3, .addr = 40, .count = 1};
    assert_int_equal(run_req(c, 1, &q, &r), ms_mb_exc_err(3, 2));

    /* (An absent unit is tested against pymodbus, test_mbrtu_pymodbus.py:
     * a libmodbus slave ignores a request for another unit by reading on
     * as if that unit's answer followed, and loses the frames after.) */
    ms_mb_client_stats st;
    ms_mb_client_get_stats(c, &st);
    assert_true(st.responses >= 3);

    ms_mb_client_close(c);
    lmb_stop(&s);
    lmb_destroy(&s);
}

/* ---- a raw slave that talks through line noise --------------------------- */

typedef struct {
    const char *dev;
    pthread_t th;
    int answered;
} noisy;

static uint16_t crc16(const uint8_t *p, size_t n)
{
    return ms_mb_crc16(p, n);
}

static void *noisy_main(void *arg)
{
    noisy *s = arg;
    int fd = open(s->dev, O_RDWR | O_NOCTTY);
    if (fd < 0)
        return NULL;
    uint8_t q[64];
    size_t got = 0;
    double t0 = ms_test_now();
    while (got < 8 && ms_test_now() - t0 < 10) {
        ssize_t n = read(fd, q + got, sizeof q - got);
        if (n > 0)
            got += (size_t)n;
    }
    if (got >= 8) {
        /* Noise, half a frame of another unit, then the answer: 2 regs. */
        uint8_t a[64] = {0x00, 0xFF, 0x13, 0x05, 0x03, 0x04, 0x00};
        size_t n = 7;
        uint8_t f[] = {0x01, 0x03, 0x04, 0x11, 0x22, 0x33, 0x44, 0, 0};
        uint16_t c = crc16(f, 7);
        f[7] = (uint8_t)c;
        f[8] = (uint8_t)(c >> 8);
        memcpy(a + n, f, sizeof f);
        n += sizeof f;
        if (write(fd, a, n) == (ssize_t)n)
            s->answered = 1;
    }
    usleep(200000);
    close(fd);
    return NULL;
}

static void test_client_resync_after_noise(void **state)
{
    (void)state;
    noisy s = {.dev = pty_b};
    pthread_create(&s.th, NULL, noisy_main, &s);
    ms_mb_client_config cfg;
    ms_mb_client_config_init(&cfg);
    cfg.transport = MS_MB_TRANSPORT_SERIAL;
    serial_cfg(&cfg.serial, pty_a);
    cfg.timeout = 2;
    ms_mb_client *c;
    assert_int_equal(ms_mb_client_new(&loop, &cfg, &c), 0);
    assert_true(ms_test_run_until(&loop, is_up, c, 10));
    result r;
    ms_mb_request q = {.fc = 3, .addr = 0, .count = 2};
    assert_int_equal(run_req(c, 1, &q, &r), 0);
    assert_int_equal(r.regs[0], 0x1122);
    assert_int_equal(r.regs[1], 0x3344);
    ms_mb_client_close(c);
    pthread_join(s.th, NULL);
    assert_int_equal(s.answered, 1);
}

/* ---- the serial slave against a libmodbus RTU master --------------------- */

typedef struct {
    const char *dev;
    const char *want_id; /* FC17's id bytes, then the run indicator */
    uint8_t want_run;
    pthread_t th;
    volatile int done;
    int failures;
    char why[200];
} master;

#define MCHECK(m, c)                                                         \
    do {                                                                     \
        if (!(c) && !(m)->failures++)                                        \
            snprintf((m)->why, sizeof (m)->why, "line %d: %s (%s)",          \
                     __LINE__, #c, modbus_strerror(errno));                  \
    } while (0)

static void *master_main(void *arg)
{
    master *m = arg;
    modbus_t *ctx = modbus_new_rtu(m->dev, 19200, 'E', 8, 1);
    MCHECK(m, ctx && modbus_connect(ctx) == 0);
    if (m->failures) {
        m->done = 1;
        return NULL;
    }
    modbus_set_response_timeout(ctx, 1, 0);
    uint16_t regs[8] = {0};
    uint8_t bits[8] = {0};
    modbus_set_slave(ctx, 1);
    MCHECK(m, modbus_read_registers(ctx, 0, 4, regs) == 4);
    MCHECK(m, regs[0] == 0 && regs[3] == 0);
    uint16_t w[3] = {111, 222, 333};
    MCHECK(m, modbus_write_registers(ctx, 2, 3, w) == 3);
    MCHECK(m, modbus_read_registers(ctx, 2, 3, regs) == 3);
    MCHECK(m, regs[0] == 111 && regs[2] == 333);
    MCHECK(m, modbus_write_register(ctx, 9, 0xBEEF) == 1);
    MCHECK(m, modbus_write_bit(ctx, 5, 1) == 1);
    MCHECK(m, modbus_read_bits(ctx, 0, 8, bits) == 8);
    MCHECK(m, bits[5] == 1 && bits[4] == 0);
    /* Outside the memory: exception 2. */
    MCHECK(m, modbus_read_registers(ctx, 50, 1, regs) == -1 &&
                  errno == EMBXILADD);
    /* FC17: the id, then the run indicator. */
    uint8_t id[64];
    size_t idn = strlen(m->want_id);
    MCHECK(m, modbus_report_slave_id(ctx, sizeof id, id) == (int)idn + 1);
    MCHECK(m, !memcmp(id, m->want_id, idn) && id[idn] == m->want_run);
    /* FC8, length unknown to RTU: exception 1. */
    uint8_t rsp[MODBUS_RTU_MAX_ADU_LENGTH];
    uint8_t fc8[] = {1, 0x08, 0x00, 0x00, 0x12, 0x34};
    MCHECK(m, modbus_send_raw_request(ctx, fc8, sizeof fc8) > 0);
    MCHECK(m, modbus_receive_confirmation(ctx, rsp) == 5 && rsp[0] == 1 &&
                  rsp[1] == 0x88 && rsp[2] == MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
    /* FC16 and FC15 with byte count 0 but data (libmodbus adds the CRC at
     * the real end): exception 3, not silence. */
    uint8_t fc16[] = {1, 0x10, 0x00, 0x01, 0x00, 0x02, 0x00,
                      0x00, 0x0A, 0x01, 0x02};
    MCHECK(m, modbus_send_raw_request(ctx, fc16, sizeof fc16) > 0);
    MCHECK(m, modbus_receive_confirmation(ctx, rsp) == 5 && rsp[1] == 0x90 &&
                  rsp[2] == MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
    uint8_t fc15[] = {1, 0x0F, 0x00, 0x00, 0x00, 0x08, 0x00, 0xFF};
    MCHECK(m, modbus_send_raw_request(ctx, fc15, sizeof fc15) > 0);
    MCHECK(m, modbus_receive_confirmation(ctx, rsp) == 5 && rsp[1] == 0x8F &&
                  rsp[2] == MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
    /* Nothing was written by them. */
    MCHECK(m, modbus_read_registers(ctx, 1, 2, regs) == 2 && regs[0] == 0 &&
                  regs[1] == 111);
    /* Another unit: silence (another slave's business). */
    modbus_set_slave(ctx, 7);
    modbus_set_response_timeout(ctx, 0, 300000);
    MCHECK(m, modbus_read_registers(ctx, 0, 1, regs) == -1 &&
                  errno == ETIMEDOUT);
    /* And unit 1 answers again after that. */
    modbus_flush(ctx);
    modbus_set_response_timeout(ctx, 1, 0);
    modbus_set_slave(ctx, 1);
    MCHECK(m, modbus_read_registers(ctx, 9, 1, regs) == 1 &&
                  regs[0] == 0xBEEF);
    modbus_close(ctx);
    modbus_free(ctx);
    m->done = 1;
    return NULL;
}

static bool master_done(void *arg)
{
    return ((master *)arg)->done;
}

typedef struct {
    int writes;
    uint16_t last_addr, last_count;
} writes_seen;

static void on_write(uint8_t unit, ms_mb_file file, uint16_t addr,
                     uint16_t count, void *arg)
{
    writes_seen *w = arg;
    (void)unit;
    (void)file;
    w->writes++;
    w->last_addr = addr;
    w->last_count = count;
}

static void test_slave_vs_libmodbus_master(void **state)
{
    (void)state;
    ms_mb_mem mem;
    ms_mb_mem_init(&mem);
    assert_int_equal(ms_mb_mem_add(&mem, 1, MS_MB_HOLDING_REGISTERS, 0, 19),
                     0);
    assert_int_equal(ms_mb_mem_add(&mem, 1, MS_MB_COILS, 0, 15), 0);
    writes_seen ws = {0};
    ms_mb_handler h = {.mem = &mem, .on_write = on_write, .arg = &ws};
    ms_mb_serial_config sc;
    serial_cfg(&sc, pty_b);
    ms_mb_serial_slave *s;
    assert_int_equal(ms_mb_serial_slave_start(&loop, &sc, &h, &s), 0);
    master m = {.dev = pty_a, .want_id = "\x01", .want_run = 0xFF};
    pthread_create(&m.th, NULL, master_main, &m);
    assert_true(ms_test_run_until(&loop, master_done, &m, 60));
    pthread_join(m.th, NULL);
    if (m.failures)
        fail_msg("libmodbus master: %d failures, first %s", m.failures,
                 m.why);
    assert_int_equal(ws.writes, 3);
    assert_true(ms_mb_serial_slave_answered(s) >= 13);
    /* Every frame was found whole: nothing skipped as garbage. */
    assert_int_equal(ms_mb_serial_slave_garbage(s), 0);
    ms_mb_serial_slave_stop(s);
    ms_test_run_drain(&loop, 5);
    ms_mb_mem_free(&mem);
}

/* ---- mscada modbusserver on a serial line -------------------------------- */

static void test_modbusserver_serial(void **state)
{
    (void)state;
    const char *dir = ms_test_dir();
    int bus_port = ms_test_free_port();
    pid_t bus = ms_test_bus_start(bus_port);
    assert_true(bus > 0);
    char conf[400], log[400];
    snprintf(conf, sizeof conf, "%s/modbusserver.yaml", dir);
    snprintf(log, sizeof log, "%s/modbusserver.log", dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f,
            "bus_ip: 127.0.0.1\nbus_port: %d\nrtus:\n"
            "- name: S\n  tcp_udp: serial\n  device: %s\n  baud: 19200\n"
            "  parity: E\n  server_id: [0x53]\n  run_status: off\n"
            "  serve:\n"
            "  - {unit: 1, file: 4x, start: 1, end: 20}\n"
            "  - {unit: 1, file: 0x, start: 1, end: 16}\n"
            "tags:\n  T1: {addr: 'S:1:4x:10', type: uint16}\n",
            bus_port, pty_b);
    fclose(f);
    char *argv[] = {(char *)MS_MSCADA_BIN, (char *)"modbusserver",
                    (char *)"--config", conf, NULL};
    pid_t srv = ms_test_spawn(argv, log);
    assert_true(srv > 0);
    /* Ready when it logs that it serves the line. */
    double t0 = ms_test_now();
    bool ready = false;
    while (!ready && ms_test_now() - t0 < 30) {
        char buf[4096] = {0};
        FILE *lf = fopen(log, "r");
        if (lf) {
            size_t n = fread(buf, 1, sizeof buf - 1, lf);
            buf[n] = 0;
            fclose(lf);
            ready = strstr(buf, "serving as a Modbus RTU slave") != NULL;
        }
        if (!ready)
            usleep(20000);
    }
    assert_true(ready);
    master m = {.dev = pty_a, .want_id = "\x53", .want_run = 0x00};
    pthread_create(&m.th, NULL, master_main, &m);
    pthread_join(m.th, NULL);
    if (m.failures) {
        char buf[4096] = {0};
        FILE *lf = fopen(log, "r");
        if (lf) {
            buf[fread(buf, 1, sizeof buf - 1, lf)] = 0;
            fclose(lf);
        }
        fail_msg("libmodbus master: %d failures, first %s\n%s", m.failures,
                 m.why, buf);
    }
    /* mbpoll -u (report slave id) reads one id byte and the run
     * indicator. */
    char mlog[400];
    snprintf(mlog, sizeof mlog, "%s/mbpoll.log", dir);
    char *mbpoll[] = {(char *)"/usr/bin/mbpoll", (char *)"-m", (char *)"rtu",
                      (char *)"-a", (char *)"1", (char *)"-b",
                      (char *)"19200", (char *)"-P", (char *)"even",
                      (char *)"-u", (char *)"-1", pty_a, NULL};
    int st = ms_test_wait_pid(ms_test_spawn(mbpoll, mlog), 30);
    char out[4096] = {0};
    FILE *mf = fopen(mlog, "r");
    assert_non_null(mf);
    out[fread(out, 1, sizeof out - 1, mf)] = 0;
    fclose(mf);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
          strstr(out, "Id    : 0x53") && strstr(out, "Status: Off")))
        fail_msg("mbpoll -u: status %d\n%s", st, out);
    assert_int_equal(ms_test_stop_pid(srv, 10), 0);
    ms_test_stop_pid(bus, 10);
}

int main(void)
{
    ms_log_setup("test", MS_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_client_vs_libmodbus_slave,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_resync_after_noise,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_slave_vs_libmodbus_master,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_modbusserver_serial, setup,
                                        teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ms_test_cleanup();
    return rc;
}
