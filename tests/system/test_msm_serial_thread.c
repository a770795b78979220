/* Modbus shared memory on a serial line, all in this process (so it also
 * runs under ThreadSanitizer), over a pseudo-terminal pair made by socat
 * (8N1: a socat pty refuses parity settings):
 *
 * - ms_master_serial against a libmodbus RTU slave thread: values of
 *   several types read (the slave's mapping changes appear in memory) and
 *   written (memory sets appear in the mapping), every area;
 * - a libmodbus RTU master against ms_slave_serial: reads of every area,
 *   writes seen in memory and by the write callback, exception 2 outside
 *   (and a slave on a line that won't open fails ms_worker_run);
 * - ms_master_serial against ms_slave_serial, values both ways.
 *
 * socat ends when one side hangs up, so each test gets a fresh pair and no
 * side reopens its line. Deadlines only turn a hang into a failure. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <modbus.h>

#include "ms_lmb.h"
#include "ms_syshelp.h"
#include "msm_testmem.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/msm.h"

static char pty_a[200], pty_b[200];
static pid_t socat_pid;

static int setup(void **state)
{
    (void)state;
    socat_pid = ms_test_pty_pair(pty_a, pty_b, sizeof pty_a);
    assert_true(socat_pid > 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ms_test_stop_pid(socat_pid, 5);
    socat_pid = 0;
    return 0;
}

static void line_cfg(ms_mb_serial_config *c, const char *dev)
{
    ms_mb_serial_config_init(c);
    snprintf(c->device, sizeof c->device, "%s", dev);
    c->baud = 19200;
    c->parity = 'N';
    c->data_bits = 8;
    c->stop_bits = 1;
}

static void test_master_vs_libmodbus_slave(void **state)
{
    (void)state;
    lmb_server s;
    memset(&s, 0, sizeof s);
    lmb_init(&s);
    s.map = modbus_mapping_new(16, 8, 20, 10);
    assert_non_null(s.map);
    s.map->tab_registers[0] = 0x1234;  /* W */
    s.map->tab_registers[2] = 0xFFFE;  /* I32 -100000, big */
    s.map->tab_registers[3] = 0x7960;
    s.map->tab_registers[4] = 0x3FC0;  /* F32 1.5, big */
    s.map->tab_registers[6] = 0x0004;  /* U64 0x0001000200030004, little */
    s.map->tab_registers[7] = 0x0003;
    s.map->tab_registers[8] = 0x0002;
    s.map->tab_registers[9] = 0x0001;
    s.map->tab_registers[10] = 0x4F4B; /* STR "OK" */
    s.map->tab_registers[12] = 0x8001; /* bits around bit 5 */
    s.map->tab_input_registers[2] = 0xFFFE; /* IR2 -2 */
    s.map->tab_input_bits[3] = 1;
    s.map->tab_bits[1] = 1;
    lmb_rtu_start(&s, pty_b, 'N');

    ms_memory_layout l;
    memset(&l, 0, sizeof l);
    l.coils = (ms_memory_area){8, 0};
    l.discrete_inputs = (ms_memory_area){8, 0};
    l.input_registers = (ms_memory_area){4, 0};
    l.holding = (ms_memory_area){16, 0};
    ms_memory *m;
    assert_int_equal(ms_memory_new_layout(&l, &m), 0);
    ms_var w = ms_memory_word(m, "W", 0);
    ms_var i32 = ms_memory_int32(m, "I32", 2);
    ms_var f32 = ms_memory_float32(m, "F32", 4);
    ms_var_decl d = {"U64L", MS_MB_HOLDING_REGISTERS, 6, MS_VAR_UINT64,
                     MS_MB_WORDS_LITTLE, -1, 0};
    ms_var u64l = ms_memory_declare(m, &d);
    ms_var str = ms_memory_string(m, "STR", 10, 4);
    ms_var bit5 = ms_memory_bit(m, "BIT5", 12, 5);
    ms_var w13 = ms_memory_word(m, "W13", 13);
    ms_var c1 = ms_memory_coil(m, "C1", 1);
    ms_var c5 = ms_memory_coil(m, "C5", 5);
    ms_var di3 = ms_memory_input(m, "DI3", 3);
    d = (ms_var_decl){"IR2", MS_MB_INPUT_REGISTERS, 2, MS_VAR_INT16,
                      MS_MB_WORDS_BIG, -1, 0};
    ms_var ir2 = ms_memory_declare(m, &d);
    assert_true(ms_var_ok(w) && ms_var_ok(i32) && ms_var_ok(f32) &&
                ms_var_ok(u64l) && ms_var_ok(str) && ms_var_ok(bit5) &&
                ms_var_ok(w13) && ms_var_ok(c1) && ms_var_ok(c5) &&
                ms_var_ok(di3) && ms_var_ok(ir2));

    ms_mb_serial_config lc;
    line_cfg(&lc, pty_a);
    ms_worker *mw;
    assert_int_equal(ms_master_serial(m, &lc, 1, &mw), 0);
    assert_int_equal(ms_worker_set_period(mw, 0.05), 0);
    assert_int_equal(ms_worker_run(mw), 0);

    /* Reads of every area, several types. */
    MS_TEST_WAIT_FOR(ms_memory_get_word(m, w) == 0x1234);
    MS_TEST_WAIT_FOR(ms_memory_get_i32(m, i32) == -100000);
    MS_TEST_WAIT_FOR(ms_memory_get_f32(m, f32) == 1.5f);
    MS_TEST_WAIT_FOR(ms_memory_get_u64(m, u64l) == 0x0001000200030004ULL);
    char buf[16];
    MS_TEST_WAIT_FOR(ms_memory_get_str(m, str, buf, sizeof buf) == 2 &&
             strcmp(buf, "OK") == 0);
    MS_TEST_WAIT_FOR(ms_memory_get_i16(m, ir2) == -2);
    MS_TEST_WAIT_FOR(ms_memory_get_bool(m, di3));
    MS_TEST_WAIT_FOR(ms_memory_get_bool(m, c1));
    assert_false(ms_memory_get_bool(m, bit5));

    /* Writes: registers, a register's bit (its neighbours kept), a
     * string, a coil. */
    assert_int_equal(ms_memory_set_f32(m, f32, -0.25f), 0);
    assert_int_equal(ms_memory_set_i32(m, i32, 123456789), 0);
    assert_int_equal(ms_memory_set_bool(m, bit5, true), 0);
    assert_int_equal(ms_memory_set_str(m, str, "PUMP"), 0);
    assert_int_equal(ms_memory_set_word(m, w13, 777), 0);
    assert_int_equal(ms_memory_set_bool(m, c5, true), 0);
    MS_TEST_WAIT_FOR(lmb_reg(&s, 4) == 0xBE80 && lmb_reg(&s, 5) == 0);
    MS_TEST_WAIT_FOR(lmb_reg(&s, 2) == 0x075B && lmb_reg(&s, 3) == 0xCD15);
    MS_TEST_WAIT_FOR(lmb_reg(&s, 12) == 0x8021);
    MS_TEST_WAIT_FOR(lmb_reg(&s, 10) == 0x5055 && lmb_reg(&s, 11) == 0x4D50);
    MS_TEST_WAIT_FOR(lmb_reg(&s, 13) == 777);
    MS_TEST_WAIT_FOR(lmb_coil(&s, 5) == 1);
    /* The written values stay (the reads that follow see the writes). */
    MS_TEST_WAIT_FOR(ms_memory_get_f32(m, f32) == -0.25f);
    assert_int_equal(ms_memory_get_i32(m, i32), 123456789);

    /* The slave's mapping changes. */
    pthread_mutex_lock(&s.lock);
    s.map->tab_registers[0] = 99;
    s.map->tab_registers[6] = 0xFFFF;
    s.map->tab_input_registers[2] = 7;
    s.map->tab_input_bits[3] = 0;
    s.map->tab_bits[1] = 0;
    pthread_mutex_unlock(&s.lock);
    MS_TEST_WAIT_FOR(ms_memory_get_word(m, w) == 99);
    MS_TEST_WAIT_FOR(ms_memory_get_u64(m, u64l) == 0x000100020003FFFFULL);
    MS_TEST_WAIT_FOR(ms_memory_get_i16(m, ir2) == 7);
    MS_TEST_WAIT_FOR(!ms_memory_get_bool(m, di3));
    MS_TEST_WAIT_FOR(!ms_memory_get_bool(m, c1));
    assert_true(ms_memory_get_bool(m, c5));

    ms_worker_status st;
    ms_worker_get_status(mw, &st);
    assert_true(st.running && st.connected);
    assert_true(st.cycles > 0 && st.requests > 0);

    ms_worker_kill(mw);
    ms_memory_free(m);
    lmb_stop(&s);
    lmb_destroy(&s);
}

/* ---- a libmodbus RTU master against our slave ------------------------------ */

typedef struct {
    atomic_int calls;
    atomic_uint seen; /* bit per variable id */
} wrote;

static void on_wrote(ms_worker *w, ms_memory *m, ms_var v, void *arg)
{
    wrote *x = arg;
    (void)w;
    (void)ms_memory_get_word(m, v); /* accessors work in the callback */
    atomic_fetch_or(&x->seen, 1u << v.id);
    atomic_fetch_add(&x->calls, 1);
}

static void test_slave_vs_libmodbus_master(void **state)
{
    (void)state;
    slave_mem sm;
    slave_mem_new(&sm);
    ms_memory *m = sm.m;
    ms_var state_v = sm.state, counter = sm.counter, c = sm.c;

    /* A line that won't open: ms_worker_run says so. */
    ms_mb_serial_config lc;
    char missing[200];
    snprintf(missing, sizeof missing, "%.150s/missing", ms_test_dir());
    line_cfg(&lc, missing);
    ms_worker *bad;
    assert_int_equal(ms_slave_serial(m, &lc, 1, &bad), 0);
    assert_true(ms_worker_run(bad) < 0);
    ms_worker_kill(bad);

    line_cfg(&lc, pty_b);
    ms_worker *sw;
    assert_int_equal(ms_slave_serial(m, &lc, 1, &sw), 0);
    wrote x = {0};
    assert_int_equal(ms_worker_on_write(sw, on_wrote, &x), 0);
    assert_int_equal(ms_worker_run(sw), 0);
    ms_worker_status st;
    ms_worker_get_status(sw, &st);
    assert_true(st.running && st.connected);

    modbus_t *ctx = modbus_new_rtu(pty_a, 19200, 'N', 8, 1);
    assert_non_null(ctx);
    if (getenv("MB_DEBUG"))
        modbus_set_debug(ctx, TRUE);
    assert_int_equal(modbus_connect(ctx), 0);
    modbus_set_slave(ctx, 1);
    modbus_set_response_timeout(ctx, 5, 0);
    uint16_t r[8];
    assert_int_equal(modbus_read_registers(ctx, 100, 5, r), 5);
    assert_int_equal(r[1], 5);
    assert_int_equal(r[2], 6);
    assert_int_equal(r[3], 0x4020); /* 2.5f = 0x40200000 */
    assert_int_equal(r[4], 0);
    assert_int_equal(modbus_read_input_registers(ctx, 0, 1, r), 1);
    assert_int_equal(r[0], 0xFFFD);
    uint8_t b[8];
    assert_int_equal(modbus_read_input_bits(ctx, 0, 2, b), 2);
    assert_int_equal(b[0], 0);
    assert_int_equal(b[1], 1);

    /* Writes: FC6, FC16, FC5, each seen in memory and by the callback. */
    assert_int_equal(modbus_write_register(ctx, 100, 42), 1);
    assert_int_equal(ms_memory_get_word(m, state_v), 42);
    MS_TEST_WAIT_FOR(atomic_load(&x.calls) == 1);
    assert_int_equal(atomic_load(&x.seen), 1u << state_v.id);
    uint16_t wv[2] = {0x0102, 0x0304};
    assert_int_equal(modbus_write_registers(ctx, 101, 2, wv), 2);
    assert_int_equal(ms_memory_get_u32(m, counter), 0x01020304);
    MS_TEST_WAIT_FOR(atomic_load(&x.calls) == 2);
    assert_true(atomic_load(&x.seen) & (1u << counter.id));
    assert_int_equal(modbus_write_bit(ctx, 12, 1), 1);
    assert_true(ms_memory_get_bool(m, c));
    MS_TEST_WAIT_FOR(atomic_load(&x.calls) == 3);
    assert_true(atomic_load(&x.seen) & (1u << c.id));
    assert_int_equal(modbus_read_bits(ctx, 10, 8, b), 8);
    assert_int_equal(b[2], 1);
    assert_int_equal(b[1], 0);
    /* A value the program sets is what the master reads next. */
    ms_memory_set_word(m, state_v, 7);
    assert_int_equal(modbus_read_registers(ctx, 100, 1, r), 1);
    assert_int_equal(r[0], 7);
    /* Outside the memory: exception 2. */
    assert_int_equal(modbus_read_registers(ctx, 0, 1, r), -1);
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(atomic_load(&x.calls), 3);

    ms_worker_get_status(sw, &st);
    assert_true(st.requests >= 9);
    modbus_close(ctx);
    modbus_free(ctx);
    ms_worker_kill(sw);
    ms_memory_free(m);
}

/* ---- our master against our slave ------------------------------------------- */

static void test_master_vs_slave(void **state)
{
    (void)state;
    ms_memory_layout l;
    memset(&l, 0, sizeof l);
    l.coils = (ms_memory_area){8, 0};
    l.holding = (ms_memory_area){16, 0};
    ms_memory *sm, *mm;
    assert_int_equal(ms_memory_new_layout(&l, &sm), 0);
    assert_int_equal(ms_memory_new_layout(&l, &mm), 0);
    ms_var s_state = ms_memory_word(sm, "STATE", 0);
    ms_var s_counter = ms_memory_uint32(sm, "COUNTER", 1);
    ms_var s_f64 = ms_memory_float64(sm, "F64", 4);
    ms_var s_name = ms_memory_string(sm, "NAME", 8, 6);
    ms_var s_run = ms_memory_coil(sm, "RUN", 3);
    ms_var m_state = ms_memory_word(mm, "STATE", 0);
    ms_var m_counter = ms_memory_uint32(mm, "COUNTER", 1);
    ms_var m_f64 = ms_memory_float64(mm, "F64", 4);
    ms_var m_name = ms_memory_string(mm, "NAME", 8, 6);
    ms_var m_run = ms_memory_coil(mm, "RUN", 3);
    assert_true(ms_var_ok(s_state) && ms_var_ok(s_counter) &&
                ms_var_ok(s_f64) && ms_var_ok(s_name) && ms_var_ok(s_run) &&
                ms_var_ok(m_state) && ms_var_ok(m_counter) &&
                ms_var_ok(m_f64) && ms_var_ok(m_name) && ms_var_ok(m_run));
    ms_memory_set_u32(sm, s_counter, 123456);
    ms_memory_set_f64(sm, s_f64, -1.125);

    ms_mb_serial_config lc;
    line_cfg(&lc, pty_b);
    ms_worker *sw;
    assert_int_equal(ms_slave_serial(sm, &lc, 3, &sw), 0);
    wrote x = {0};
    assert_int_equal(ms_worker_on_write(sw, on_wrote, &x), 0);
    assert_int_equal(ms_worker_run(sw), 0);
    line_cfg(&lc, pty_a);
    ms_worker *mw;
    assert_int_equal(ms_master_serial(mm, &lc, 3, &mw), 0);
    assert_int_equal(ms_worker_set_period(mw, 0.02), 0);
    assert_int_equal(ms_worker_run(mw), 0);

    /* Slave to master. */
    MS_TEST_WAIT_FOR(ms_memory_get_u32(mm, m_counter) == 123456);
    MS_TEST_WAIT_FOR(ms_memory_get_f64(mm, m_f64) == -1.125);
    /* Master to slave, with the callback. */
    ms_memory_set_word(mm, m_state, 1);
    ms_memory_set_str(mm, m_name, "TANK1");
    ms_memory_set_bool(mm, m_run, true);
    MS_TEST_WAIT_FOR(ms_memory_get_word(sm, s_state) == 1);
    char buf[16];
    MS_TEST_WAIT_FOR(ms_memory_get_str(sm, s_name, buf, sizeof buf) == 5 &&
             strcmp(buf, "TANK1") == 0);
    MS_TEST_WAIT_FOR(ms_memory_get_bool(sm, s_run));
    unsigned want = 1u << s_state.id | 1u << s_name.id | 1u << s_run.id;
    MS_TEST_WAIT_FOR((atomic_load(&x.seen) & want) == want);
    /* Nothing the master only reads was reported written. */
    assert_int_equal(atomic_load(&x.seen) & (1u << s_counter.id), 0);
    /* The slave keeps changing; the master follows. */
    for (uint32_t i = 1; i <= 5; i++) {
        ms_memory_set_u32(sm, s_counter, 1000 + i);
        MS_TEST_WAIT_FOR(ms_memory_get_u32(mm, m_counter) == 1000 + i);
    }
    ms_worker_status st;
    ms_worker_get_status(mw, &st);
    assert_true(st.connected && st.cycles > 0);
    ms_worker_get_status(sw, &st);
    assert_true(st.requests > 0);

    ms_worker_kill(mw);
    ms_worker_kill(sw);
    ms_memory_free(mm);
    ms_memory_free(sm);
}

int main(void)
{
    ms_log_setup("test", MS_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_master_vs_libmodbus_slave,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_slave_vs_libmodbus_master,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_master_vs_slave, setup,
                                        teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ms_test_cleanup();
    return rc;
}
