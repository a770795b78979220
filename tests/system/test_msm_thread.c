/* Modbus shared memory with real peers, all in this process (so it also
 * runs under ThreadSanitizer): a master worker against a libmodbus server
 * thread (values both ways, every area, the server stopped, values set
 * during the outage, the server back -> they arrive); a slave worker read
 * and written by a libmodbus client (write callback); a master worker
 * against our own slave worker; threads hammering accessors while both
 * workers run. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/select.h>

#include <cmocka.h>
#include <modbus.h>

#include "ms_syshelp.h"
#include "mscada/error.h"
#include "mscada/msm.h"

/* ---- a libmodbus server in a thread ---------------------------------------- */

typedef struct {
    int port;
    modbus_mapping_t *map; /* coils 0-15, inputs 0-7, input regs 0-9,
                            * holding 0-99 */
    pthread_mutex_t lock;
    pthread_t th;
    atomic_int stop;
    int running;
} lmb_server;

static void *lmb_main(void *arg)
{
    lmb_server *s = arg;
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", s->port);
    int lfd = modbus_tcp_listen(ctx, 4);
    if (lfd < 0) {
        modbus_free(ctx);
        return NULL;
    }
    int fds[8], nfd = 0;
    uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
    while (!atomic_load(&s->stop)) {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(lfd, &rs);
        int mx = lfd;
        for (int i = 0; i < nfd; i++) {
            FD_SET(fds[i], &rs);
            mx = fds[i] > mx ? fds[i] : mx;
        }
        struct timeval tv = {0, 20000};
        if (select(mx + 1, &rs, NULL, NULL, &tv) <= 0)
            continue;
        if (FD_ISSET(lfd, &rs)) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0 && nfd < 8)
                fds[nfd++] = fd;
            else if (fd >= 0)
                close(fd);
        }
        for (int i = 0; i < nfd; i++) {
            if (!FD_ISSET(fds[i], &rs))
                continue;
            modbus_set_socket(ctx, fds[i]);
            int rc = modbus_receive(ctx, q);
            if (rc > 0) {
                pthread_mutex_lock(&s->lock);
                modbus_reply(ctx, q, rc, s->map);
                pthread_mutex_unlock(&s->lock);
            } else if (rc < 0) {
                close(fds[i]);
                fds[i--] = fds[--nfd];
            }
        }
    }
    for (int i = 0; i < nfd; i++)
        close(fds[i]);
    close(lfd);
    modbus_free(ctx);
    return NULL;
}

static void lmb_start(lmb_server *s)
{
    atomic_store(&s->stop, 0);
    assert_int_equal(pthread_create(&s->th, NULL, lmb_main, s), 0);
    s->running = 1;
    double end = ms_test_now() + 10;
    while (!ms_test_port_open(s->port) && ms_test_now() < end)
        usleep(10000);
}

static void lmb_stop(lmb_server *s)
{
    if (!s->running)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    s->running = 0;
}

static uint16_t lmb_reg(lmb_server *s, int addr)
{
    pthread_mutex_lock(&s->lock);
    uint16_t v = s->map->tab_registers[addr];
    pthread_mutex_unlock(&s->lock);
    return v;
}

static void lmb_set_reg(lmb_server *s, int addr, uint16_t v)
{
    pthread_mutex_lock(&s->lock);
    s->map->tab_registers[addr] = v;
    pthread_mutex_unlock(&s->lock);
}

static uint8_t lmb_coil(lmb_server *s, int addr)
{
    pthread_mutex_lock(&s->lock);
    uint8_t v = s->map->tab_bits[addr];
    pthread_mutex_unlock(&s->lock);
    return v;
}

/* Waits up to 20 s for cond (a deadline only: nothing asserts timing). */
#define WAIT_FOR(cond)                                                     \
    do {                                                                   \
        double end_ = ms_test_now() + 20;                                  \
        while (!(cond) && ms_test_now() < end_)                            \
            usleep(10000);                                                 \
        assert_true(cond);                                                 \
    } while (0)

/* ---- master against libmodbus ------------------------------------------------- */

static void test_master_libmodbus(void **state)
{
    (void)state;
    lmb_server s = {.port = ms_test_free_port()};
    pthread_mutex_init(&s.lock, NULL);
    s.map = modbus_mapping_new(16, 8, 100, 10);
    assert_non_null(s.map);
    s.map->tab_registers[50] = 0x1234;       /* W at holding 50 */
    s.map->tab_registers[52] = 0x0102;       /* U32 little at 51-52 */
    s.map->tab_registers[51] = 0x0304;
    s.map->tab_input_registers[3] = 0xBEEF;
    s.map->tab_input_bits[2] = 1;
    s.map->tab_bits[4] = 1;
    s.map->tab_registers[60] = 0x8001;       /* bits around bit 3 */
    lmb_start(&s);

    ms_memory_layout l;
    memset(&l, 0, sizeof l);
    l.coils = (ms_memory_area){8, 0};
    l.discrete_inputs = (ms_memory_area){8, 0};
    l.input_registers = (ms_memory_area){10, 0};
    l.holding = (ms_memory_area){20, 50}; /* the block sits at 50 */
    ms_memory *m = ms_memory_new_layout(&l);
    assert_non_null(m);
    ms_var w = ms_memory_word(m, "W", 0);
    ms_var_decl d = {"U32L", MS_MB_HOLDING_REGISTERS, 1, MS_VAR_UINT32,
                     MS_MB_WORDS_LITTLE, -1, 0};
    ms_var u32l = ms_memory_declare(m, &d);
    ms_var f64 = ms_memory_float64(m, "F64", 3);
    ms_var bit3 = ms_memory_bit(m, "BIT3", 10, 3);
    ms_var c4 = ms_memory_coil(m, "C4", 4);
    ms_var c6 = ms_memory_coil(m, "C6", 6);
    ms_var di2 = ms_memory_input(m, "DI2", 2);
    d = (ms_var_decl){"IR3", MS_MB_INPUT_REGISTERS, 3, MS_VAR_UINT16,
                      MS_MB_WORDS_BIG, -1, 0};
    ms_var ir3 = ms_memory_declare(m, &d);
    ms_var str = ms_memory_string(m, "STR", 12, 6);
    assert_true(ms_var_ok(w) && ms_var_ok(u32l) && ms_var_ok(f64) &&
                ms_var_ok(bit3) && ms_var_ok(c4) && ms_var_ok(c6) &&
                ms_var_ok(di2) && ms_var_ok(ir3) && ms_var_ok(str));

    ms_worker *mw = ms_master_tcp(m, "127.0.0.1", s.port, 1);
    assert_non_null(mw);
    assert_int_equal(ms_worker_set_period(mw, 0.05), 0);
    assert_int_equal(ms_worker_run(mw), 0);
    assert_int_equal(ms_worker_set_period(mw, 1), MS_ERUNNING);
    /* Reads of every area. */
    WAIT_FOR(ms_memory_get_word(m, w) == 0x1234);
    WAIT_FOR(ms_memory_get_u32(m, u32l) == 0x01020304);
    WAIT_FOR(ms_memory_get_word(m, ir3) == 0xBEEF);
    WAIT_FOR(ms_memory_get_bool(m, di2));
    WAIT_FOR(ms_memory_get_bool(m, c4));
    /* Writes: registers, a bit (its neighbours kept), coils, a string. */
    ms_memory_set_f64(m, f64, -2.5);
    ms_memory_set_bool(m, bit3, true);
    ms_memory_set_bool(m, c6, true);
    ms_memory_set_str(m, str, "PUMP");
    WAIT_FOR(lmb_reg(&s, 60) == 0x8009);
    WAIT_FOR(lmb_coil(&s, 6) == 1);
    WAIT_FOR(lmb_reg(&s, 53) == 0xC004); /* -2.5 big: C004 0000 0000 0000 */
    WAIT_FOR(lmb_reg(&s, 62) == 0x5055 && lmb_reg(&s, 63) == 0x4D50);
    /* The device changes too. */
    lmb_set_reg(&s, 50, 77);
    WAIT_FOR(ms_memory_get_word(m, w) == 77);
    ms_worker_status st;
    ms_worker_get_status(mw, &st);
    assert_true(st.running && st.connected);
    assert_true(st.cycles > 0 && st.requests > 0);

    /* The device goes away; values set meanwhile arrive once it is back. */
    lmb_stop(&s);
    WAIT_FOR((ms_worker_get_status(mw, &st), !st.connected));
    ms_memory_set_word(m, w, 4321);
    ms_memory_set_u32(m, u32l, 0xA0B0C0D0);
    ms_memory_set_bool(m, c6, false);
    usleep(300000); /* a few periods without the device */
    assert_int_equal(ms_memory_get_word(m, w), 4321);
    lmb_start(&s);
    WAIT_FOR(lmb_reg(&s, 50) == 4321);
    WAIT_FOR(lmb_reg(&s, 51) == 0xC0D0 && lmb_reg(&s, 52) == 0xA0B0);
    WAIT_FOR(lmb_coil(&s, 6) == 0);
    WAIT_FOR((ms_worker_get_status(mw, &st), st.reconnects >= 1));
    assert_true(st.last_error != 0);
    assert_true(st.last_error_text[0] != '\0');
    ms_worker_kill(mw);
    ms_memory_free(m);
    lmb_stop(&s);
    modbus_mapping_free(s.map);
    pthread_mutex_destroy(&s.lock);
}

/* Drop mode: changes made during an outage are not written. */
static void test_master_drop_writes(void **state)
{
    (void)state;
    lmb_server s = {.port = ms_test_free_port()};
    pthread_mutex_init(&s.lock, NULL);
    s.map = modbus_mapping_new(0, 0, 10, 0);
    lmb_start(&s);
    ms_memory *m = ms_memory_new(4);
    ms_var w = ms_memory_word(m, "W", 0);
    ms_worker *mw = ms_master_tcp(m, "127.0.0.1", s.port, 1);
    ms_worker_set_period(mw, 0.05);
    ms_worker_set_keep_writes(mw, false);
    assert_int_equal(ms_worker_run(mw), 0);
    ms_memory_set_word(m, w, 5);
    WAIT_FOR(lmb_reg(&s, 0) == 5);
    lmb_stop(&s);
    ms_worker_status st;
    WAIT_FOR((ms_worker_get_status(mw, &st), !st.connected));
    ms_memory_set_word(m, w, 9);
    usleep(300000);
    lmb_start(&s);
    WAIT_FOR((ms_worker_get_status(mw, &st), st.connected));
    /* The device's value replaces the dropped change. */
    WAIT_FOR(ms_memory_get_word(m, w) == 5);
    assert_int_equal(lmb_reg(&s, 0), 5);
    ms_worker_kill(mw);
    ms_memory_free(m);
    lmb_stop(&s);
    modbus_mapping_free(s.map);
    pthread_mutex_destroy(&s.lock);
}

/* ---- slave against a libmodbus client ------------------------------------------ */

typedef struct {
    atomic_int calls;
    atomic_int last;
} wrote;

static void on_wrote(ms_worker *w, ms_memory *m, ms_var v, void *arg)
{
    wrote *x = arg;
    (void)w;
    (void)ms_memory_get_word(m, v); /* accessors work in the callback */
    atomic_store(&x->last, v.id);
    atomic_fetch_add(&x->calls, 1);
}

static void test_slave_libmodbus(void **state)
{
    (void)state;
    ms_memory_layout l;
    memset(&l, 0, sizeof l);
    l.coils = (ms_memory_area){8, 10};
    l.discrete_inputs = (ms_memory_area){4, 0};
    l.input_registers = (ms_memory_area){4, 0};
    l.holding = (ms_memory_area){8, 100};
    ms_memory *m = ms_memory_new_layout(&l);
    ms_var state_v = ms_memory_word(m, "STATE", 0);
    ms_var counter = ms_memory_uint32(m, "COUNTER", 1);
    ms_var c = ms_memory_coil(m, "C", 2);
    ms_var di = ms_memory_input(m, "DI", 1);
    ms_var_decl d = {"IR", MS_MB_INPUT_REGISTERS, 0, MS_VAR_INT16,
                     MS_MB_WORDS_BIG, -1, 0};
    ms_var ir = ms_memory_declare(m, &d);
    ms_memory_set_u32(m, counter, 0x00050006);
    ms_memory_set_bool(m, di, true);
    ms_memory_set_i16(m, ir, -3);
    ms_worker *sw = ms_slave_tcp(m, NULL, 0, 1);
    wrote x = {0};
    assert_int_equal(ms_worker_on_write(sw, on_wrote, &x), 0);
    assert_int_equal(ms_worker_run(sw), 0);
    ms_worker_status st;
    ms_worker_get_status(sw, &st);
    assert_true(st.port > 0 && st.running);
    /* Too late to declare: the slave's callbacks know its variables. */
    ms_var late = ms_memory_word(m, "LATE", 7);
    assert_int_equal(late.id, MS_ERUNNING);
    assert_non_null(strstr(ms_memory_error(m), "before ms_worker_run"));

    modbus_t *ctx = modbus_new_tcp("127.0.0.1", st.port);
    modbus_set_slave(ctx, 1);
    assert_int_equal(modbus_connect(ctx), 0);
    uint16_t r[8];
    assert_int_equal(modbus_read_registers(ctx, 100, 3, r), 3);
    assert_int_equal(r[1], 5);
    assert_int_equal(r[2], 6);
    assert_int_equal(modbus_read_input_registers(ctx, 0, 1, r), 1);
    assert_int_equal(r[0], 0xFFFD);
    uint8_t b[8];
    assert_int_equal(modbus_read_input_bits(ctx, 0, 2, b), 2);
    assert_int_equal(b[1], 1);
    assert_int_equal(modbus_write_register(ctx, 100, 42), 1);
    assert_int_equal(ms_memory_get_word(m, state_v), 42);
    WAIT_FOR(atomic_load(&x.calls) == 1);
    assert_int_equal(atomic_load(&x.last), state_v.id);
    assert_int_equal(modbus_write_bit(ctx, 12, 1), 1);
    assert_true(ms_memory_get_bool(m, c));
    WAIT_FOR(atomic_load(&x.calls) == 2);
    assert_int_equal(atomic_load(&x.last), c.id);
    /* Outside the memory: exception 2. */
    assert_int_equal(modbus_read_registers(ctx, 0, 1, r), -1);
    modbus_close(ctx);
    modbus_free(ctx);
    ms_worker_kill(sw);
    /* Stopped: declaring works again. */
    assert_true(ms_memory_word(m, "LATE", 7).id >= 0);
    ms_memory_free(m);
}

/* ---- our master against our slave, with accessors hammered ------------------- */

typedef struct {
    ms_memory *m;
    ms_var v;
    atomic_int *stop;
    int n;
} hammer;

static void *hammer_main(void *arg)
{
    hammer *h = arg;
    uint32_t i = 0;
    while (!atomic_load(h->stop)) {
        ms_memory_set_u32(h->m, h->v, ++i);
        (void)ms_memory_get_u32(h->m, h->v);
        h->n++;
        if ((i & 255) == 0)
            usleep(1000);
    }
    return NULL;
}

static void test_master_slave_hammered(void **state)
{
    (void)state;
    ms_memory *sm = ms_memory_new(16);
    ms_var s_state = ms_memory_word(sm, "STATE", 0);
    ms_var s_counter = ms_memory_uint32(sm, "COUNTER", 1);
    ms_var s_h = ms_memory_uint32(sm, "H", 4);
    ms_var s_g = ms_memory_uint32(sm, "G", 8);
    ms_worker *sw = ms_slave_tcp(sm, "127.0.0.1", 0, 1);
    wrote x = {0};
    ms_worker_on_write(sw, on_wrote, &x);
    assert_int_equal(ms_worker_run(sw), 0);
    ms_worker_status st;
    ms_worker_get_status(sw, &st);

    ms_memory *mm = ms_memory_new(16);
    ms_var m_state = ms_memory_word(mm, "STATE", 0);
    ms_var m_counter = ms_memory_uint32(mm, "COUNTER", 1);
    ms_var m_h = ms_memory_uint32(mm, "H", 4);
    ms_var m_g = ms_memory_uint32(mm, "G", 8);
    ms_worker *mw = ms_master_tcp(mm, "127.0.0.1", st.port, 1);
    ms_worker_set_period(mw, 0.02);
    assert_int_equal(ms_worker_run(mw), 0);

    ms_memory_set_u32(sm, s_counter, 123456);
    WAIT_FOR(ms_memory_get_u32(mm, m_counter) == 123456);
    ms_memory_set_word(mm, m_state, 1);
    WAIT_FOR(ms_memory_get_word(sm, s_state) == 1);
    WAIT_FOR(atomic_load(&x.calls) >= 1);

    atomic_int stop = 0;
    hammer hs[3] = {{mm, m_h, &stop, 0}, {sm, s_g, &stop, 0},
                    {sm, s_counter, &stop, 0}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &hs[i]),
                         0);
    usleep(500000);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_true(hs[i].n > 0);
    }
    /* Whatever each side set last ends up on the other. */
    uint32_t hv = ms_memory_get_u32(mm, m_h);
    WAIT_FOR(ms_memory_get_u32(sm, s_h) == hv);
    uint32_t gv = ms_memory_get_u32(sm, s_g);
    WAIT_FOR(ms_memory_get_u32(mm, m_g) == gv);
    ms_worker_get_status(mw, &st);
    assert_true(st.connected);
    ms_worker_kill(mw);
    ms_worker_kill(sw);
    ms_memory_free(mm);
    ms_memory_free(sm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_master_libmodbus),
        cmocka_unit_test(test_master_drop_writes),
        cmocka_unit_test(test_slave_libmodbus),
        cmocka_unit_test(test_master_slave_hammered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
