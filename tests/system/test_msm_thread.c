/* Modbus shared memory with real peers, all in this process (so it also
 * runs under ThreadSanitizer): a master worker against a libmodbus server
 * thread (values both ways, every area, the server stopped, values set
 * during the outage, the server back -> they arrive); a slave worker read
 * and written by a libmodbus client (write callback); a master worker
 * against our own slave worker; threads hammering accessors (numbers and
 * strings) while both workers run; declarations racing ms_worker_run.
 * Threads meet on conditions (the slave's write callbacks counted under a
 * condition variable, the server thread's listen); MS_TEST_WAIT_FOR polls
 * a state where no callback tells of it, with a deadline that only turns a
 * hang into a failure. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/select.h>

#include <cmocka.h>
#include <modbus.h>

#include "modbus/msm/msm_int.h"
#include "ms_lmb.h"
#include "ms_syshelp.h"
#include "msm_testmem.h"
#include "mscada/error.h"
#include "mscada/msm.h"

/* ---- master against libmodbus ------------------------------------------------- */

static void test_master_libmodbus(void **state)
{
    (void)state;
    lmb_server s;
    memset(&s, 0, sizeof s);
    lmb_init(&s);
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
    ms_memory *m;
    assert_int_equal(ms_memory_new_layout(&l, &m), 0);
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

    ms_worker *mw;

    assert_int_equal(ms_master_tcp(m, "127.0.0.1", s.port, 1, &mw), 0);
    assert_int_equal(ms_worker_set_period(mw, 0.05), 0);
    assert_int_equal(ms_worker_run(mw), 0);
    assert_int_equal(ms_worker_set_period(mw, 1), MS_ERUNNING);
    /* Reads of every area. */
    MS_TEST_WAIT_FOR(ms_memory_get_word(m, w) == 0x1234);
    MS_TEST_WAIT_FOR(ms_memory_get_u32(m, u32l) == 0x01020304);
    MS_TEST_WAIT_FOR(ms_memory_get_word(m, ir3) == 0xBEEF);
    MS_TEST_WAIT_FOR(ms_memory_get_bool(m, di2));
    MS_TEST_WAIT_FOR(ms_memory_get_bool(m, c4));
    /* Writes: registers, a bit (its neighbours kept), coils, a string. */
    ms_memory_set_f64(m, f64, -2.5);
    ms_memory_set_bool(m, bit3, true);
    ms_memory_set_bool(m, c6, true);
    ms_memory_set_str(m, str, "PUMP");
    MS_TEST_WAIT_FOR(lmb_reg(&s, 60) == 0x8009);
    MS_TEST_WAIT_FOR(lmb_coil(&s, 6) == 1);
    /* -2.5 big: C004 0000 0000 0000 */
    MS_TEST_WAIT_FOR(lmb_reg(&s, 53) == 0xC004);
    MS_TEST_WAIT_FOR(lmb_reg(&s, 62) == 0x5055 && lmb_reg(&s, 63) == 0x4D50);
    /* The device changes too. */
    lmb_set_reg(&s, 50, 77);
    MS_TEST_WAIT_FOR(ms_memory_get_word(m, w) == 77);
    ms_worker_status st;
    ms_worker_get_status(mw, &st);
    assert_true(st.running && st.connected);
    assert_true(st.cycles > 0 && st.requests > 0);

    /* The device goes away; values set meanwhile arrive once it is back
     * (kept: an exchange without a connection leaves the marks alone). */
    lmb_stop(&s);
    MS_TEST_WAIT_FOR((ms_worker_get_status(mw, &st), !st.connected));
    ms_memory_set_word(m, w, 4321);
    ms_memory_set_u32(m, u32l, 0xA0B0C0D0);
    ms_memory_set_bool(m, c6, false);
    assert_int_equal(ms_memory_get_word(m, w), 4321);
    lmb_start(&s);
    MS_TEST_WAIT_FOR(lmb_reg(&s, 50) == 4321);
    MS_TEST_WAIT_FOR(lmb_reg(&s, 51) == 0xC0D0 && lmb_reg(&s, 52) == 0xA0B0);
    MS_TEST_WAIT_FOR(lmb_coil(&s, 6) == 0);
    MS_TEST_WAIT_FOR((ms_worker_get_status(mw, &st), st.reconnects >= 1));
    assert_true(st.last_error != 0);
    assert_true(st.last_error_text[0] != '\0');
    ms_worker_kill(mw);
    ms_memory_free(m);
    lmb_stop(&s);
    lmb_destroy(&s);
}

/* Whether any holding register of m is marked changed (not yet written). */
static bool holding_changed(ms_memory *m)
{
    bool any = false;
    uv_mutex_lock(&m->lock);
    const msm_area *a = &m->area[MS_MB_HOLDING_REGISTERS];
    for (uint32_t i = 0; i < a->size; i++)
        any = any || a->dirty[i];
    uv_mutex_unlock(&m->lock);
    return any;
}

/* Drop mode: changes made during an outage are not written. */
static void test_master_drop_writes(void **state)
{
    (void)state;
    lmb_server s;
    memset(&s, 0, sizeof s);
    lmb_init(&s);
    s.map = modbus_mapping_new(0, 0, 10, 0);
    lmb_start(&s);
    ms_memory *m;
    assert_int_equal(ms_memory_new(4, &m), 0);
    ms_var w = ms_memory_word(m, "W", 0);
    ms_worker *mw;
    assert_int_equal(ms_master_tcp(m, "127.0.0.1", s.port, 1, &mw), 0);
    ms_worker_set_period(mw, 0.05);
    ms_worker_set_keep_writes(mw, false);
    assert_int_equal(ms_worker_run(mw), 0);
    ms_memory_set_word(m, w, 5);
    MS_TEST_WAIT_FOR(lmb_reg(&s, 0) == 5);
    lmb_stop(&s);
    ms_worker_status st;
    MS_TEST_WAIT_FOR((ms_worker_get_status(mw, &st), !st.connected));
    ms_memory_set_word(m, w, 9);
    /* The next exchange without the device drops the change. */
    MS_TEST_WAIT_FOR(!holding_changed(m));
    lmb_start(&s);
    MS_TEST_WAIT_FOR((ms_worker_get_status(mw, &st), st.connected));
    /* The device's value replaces the dropped change. */
    MS_TEST_WAIT_FOR(ms_memory_get_word(m, w) == 5);
    assert_int_equal(lmb_reg(&s, 0), 5);
    ms_worker_kill(mw);
    ms_memory_free(m);
    lmb_stop(&s);
    lmb_destroy(&s);
}

/* ---- slave against a libmodbus client ------------------------------------------ */

/* A slave's write callbacks counted, in all and per variable, under a
 * condition variable that waiters sleep on. */
#define WROTE_VARS 1100

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    int last;
    int per[WROTE_VARS];
} wrote;

static void wrote_init(wrote *x)
{
    memset(x, 0, sizeof *x);
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
}

static void wrote_destroy(wrote *x)
{
    pthread_cond_destroy(&x->cv);
    pthread_mutex_destroy(&x->mu);
}

static void on_wrote(ms_worker *w, ms_memory *m, ms_var v, void *arg)
{
    wrote *x = arg;
    (void)w;
    (void)ms_memory_get_word(m, v); /* accessors work in the callback */
    pthread_mutex_lock(&x->mu);
    x->calls++;
    x->last = v.id;
    if (v.id >= 0 && v.id < WROTE_VARS)
        x->per[v.id]++;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

/* Callbacks of variable id so far (id -1: of all). */
static int wrote_count(wrote *x, int id)
{
    pthread_mutex_lock(&x->mu);
    int n = id < 0 ? x->calls : x->per[id];
    pthread_mutex_unlock(&x->mu);
    return n;
}

/* Waits until variable id (-1: any) was called back n times in all. */
static bool wrote_wait(wrote *x, int id, int n)
{
    struct timespec end = lmb_deadline();
    pthread_mutex_lock(&x->mu);
    while ((id < 0 ? x->calls : x->per[id]) < n &&
           pthread_cond_timedwait(&x->cv, &x->mu, &end) != ETIMEDOUT)
        ;
    bool ok = (id < 0 ? x->calls : x->per[id]) >= n;
    pthread_mutex_unlock(&x->mu);
    return ok;
}

static int wrote_last(wrote *x)
{
    pthread_mutex_lock(&x->mu);
    int id = x->last;
    pthread_mutex_unlock(&x->mu);
    return id;
}

static void test_slave_libmodbus(void **state)
{
    (void)state;
    slave_mem sm;
    slave_mem_new(&sm);
    ms_memory *m = sm.m;
    ms_var state_v = sm.state, c = sm.c;
    ms_worker *sw;
    assert_int_equal(ms_slave_tcp(m, NULL, 0, 1, &sw), 0);
    wrote x;
    wrote_init(&x);
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
    assert_true(wrote_wait(&x, -1, 1));
    assert_int_equal(wrote_last(&x), state_v.id);
    assert_int_equal(modbus_write_bit(ctx, 12, 1), 1);
    assert_true(ms_memory_get_bool(m, c));
    assert_true(wrote_wait(&x, -1, 2));
    assert_int_equal(wrote_last(&x), c.id);
    assert_int_equal(wrote_count(&x, -1), 2);
    /* Outside the memory: exception 2. */
    assert_int_equal(modbus_read_registers(ctx, 0, 1, r), -1);
    modbus_close(ctx);
    modbus_free(ctx);
    ms_worker_kill(sw);
    /* Stopped: declaring works again. */
    assert_true(ms_memory_word(m, "LATE", 7).id >= 0);
    ms_memory_free(m);
    wrote_destroy(&x);
}

/* ---- our master against our slave, with accessors hammered ------------------- */

/* A master and a slave, each on a memory of 32 holding registers holding
 * the same variables, the master exchanging every 20 ms. */
typedef struct {
    ms_memory *sm, *mm;
    ms_worker *sw, *mw;
    wrote x;
} pair;

static void pair_start(pair *p)
{
    wrote_init(&p->x);
    assert_int_equal(ms_slave_tcp(p->sm, "127.0.0.1", 0, 1, &p->sw), 0);
    assert_int_equal(ms_worker_on_write(p->sw, on_wrote, &p->x), 0);
    assert_int_equal(ms_worker_run(p->sw), 0);
    ms_worker_status st;
    ms_worker_get_status(p->sw, &st);
    assert_int_equal(ms_master_tcp(p->mm, "127.0.0.1", st.port, 1, &p->mw),
                     0);
    assert_int_equal(ms_worker_set_period(p->mw, 0.02), 0);
    assert_int_equal(ms_worker_run(p->mw), 0);
}

static void pair_stop(pair *p)
{
    ms_worker_status st;
    ms_worker_get_status(p->mw, &st);
    assert_true(st.connected);
    ms_worker_kill(p->mw);
    ms_worker_kill(p->sw);
    ms_memory_free(p->mm);
    ms_memory_free(p->sm);
    wrote_destroy(&p->x);
}

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
            sched_yield(); /* let the workers in on a busy machine */
    }
    return NULL;
}

static void test_master_slave_hammered(void **state)
{
    (void)state;
    pair p;
    memset(&p, 0, sizeof p);
    assert_int_equal(ms_memory_new(16, &p.sm), 0);
    ms_var s_state = ms_memory_word(p.sm, "STATE", 0);
    ms_var s_counter = ms_memory_uint32(p.sm, "COUNTER", 1);
    ms_var s_h = ms_memory_uint32(p.sm, "H", 4);
    ms_var s_g = ms_memory_uint32(p.sm, "G", 8);
    assert_int_equal(ms_memory_new(16, &p.mm), 0);
    ms_var m_state = ms_memory_word(p.mm, "STATE", 0);
    ms_var m_counter = ms_memory_uint32(p.mm, "COUNTER", 1);
    ms_var m_h = ms_memory_uint32(p.mm, "H", 4);
    ms_var m_g = ms_memory_uint32(p.mm, "G", 8);
    pair_start(&p);

    ms_memory_set_u32(p.sm, s_counter, 123456);
    MS_TEST_WAIT_FOR(ms_memory_get_u32(p.mm, m_counter) == 123456);
    ms_memory_set_word(p.mm, m_state, 1);
    assert_true(wrote_wait(&p.x, s_state.id, 1));
    assert_int_equal(ms_memory_get_word(p.sm, s_state), 1);

    atomic_int stop = 0;
    hammer hs[3] = {{p.mm, m_h, &stop, 0}, {p.sm, s_g, &stop, 0},
                    {p.sm, s_counter, &stop, 0}};
    pthread_t th[3];
    int h0 = wrote_count(&p.x, s_h.id);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &hs[i]),
                         0);
    /* Hammered through several exchanges: the master wrote H five more
     * times meanwhile (each exchange reads G and COUNTER too). */
    assert_true(wrote_wait(&p.x, s_h.id, h0 + 5));
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_true(hs[i].n > 0);
    }
    /* Whatever each side set last ends up on the other. */
    uint32_t hv = ms_memory_get_u32(p.mm, m_h);
    MS_TEST_WAIT_FOR(ms_memory_get_u32(p.sm, s_h) == hv);
    uint32_t gv = ms_memory_get_u32(p.sm, s_g);
    MS_TEST_WAIT_FOR(ms_memory_get_u32(p.mm, m_g) == gv);
    pair_stop(&p);
}

/* ---- strings from several threads while both workers run --------------------- */

/* Each setter writes one letter repeated, 1 to len times: a reader sees
 * one letter only, or the string is torn. */
typedef struct {
    ms_memory *m;
    ms_var v;
    unsigned len;
    char letter; /* a setter; 0: a reader */
    atomic_int *stop;
    int n, torn, errors;
    char last[256]; /* a setter's last value */
} strham;

static bool one_letter(const char *s)
{
    for (const char *p = s; *p; p++)
        if (*p != s[0])
            return false;
    return true;
}

static void *strham_main(void *arg)
{
    strham *h = arg;
    char buf[256];
    unsigned i = 0;
    while (!atomic_load(h->stop)) {
        if (h->letter) {
            unsigned n = 1 + i++ % h->len;
            memset(buf, h->letter, n);
            buf[n] = '\0';
            if (ms_memory_set_str(h->m, h->v, buf) < 0)
                h->errors++;
            memcpy(h->last, buf, n + 1);
        }
        int n = ms_memory_get_str(h->m, h->v, buf, sizeof buf);
        if (n < 0 || (unsigned)n > h->len || strlen(buf) != (size_t)n)
            h->errors++;
        else if (!one_letter(buf))
            h->torn++;
        h->n++;
        if ((h->n & 255) == 0)
            sched_yield();
    }
    return NULL;
}

static void test_strings_hammered(void **state)
{
    (void)state;
    pair p;
    memset(&p, 0, sizeof p);
    /* S1 (20 bytes) set on the master's side, S2 (odd: 21 bytes) on the
     * slave's; each read on both. */
    assert_int_equal(ms_memory_new(32, &p.sm), 0);
    ms_var s_s1 = ms_memory_string(p.sm, "S1", 0, 20);
    ms_var s_s2 = ms_memory_string(p.sm, "S2", 10, 21);
    assert_int_equal(ms_memory_new(32, &p.mm), 0);
    ms_var m_s1 = ms_memory_string(p.mm, "S1", 0, 20);
    ms_var m_s2 = ms_memory_string(p.mm, "S2", 10, 21);
    assert_true(ms_var_ok(s_s1) && ms_var_ok(s_s2) && ms_var_ok(m_s1) &&
                ms_var_ok(m_s2));
    pair_start(&p);

    atomic_int stop = 0;
    strham hs[] = {
        {.m = p.mm, .v = m_s1, .len = 20, .letter = 'A', .stop = &stop},
        {.m = p.mm, .v = m_s1, .len = 20, .letter = 'B', .stop = &stop},
        {.m = p.sm, .v = s_s2, .len = 21, .letter = 'C', .stop = &stop},
        {.m = p.sm, .v = s_s2, .len = 21, .letter = 'D', .stop = &stop},
        {.m = p.sm, .v = s_s1, .len = 20, .stop = &stop},
        {.m = p.mm, .v = m_s2, .len = 21, .stop = &stop},
    };
    enum { N = sizeof hs / sizeof hs[0] };
    pthread_t th[N];
    int w0 = wrote_count(&p.x, s_s1.id);
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, strham_main, &hs[i]),
                         0);
    /* Through several exchanges: S1 written to the slave five times. */
    assert_true(wrote_wait(&p.x, s_s1.id, w0 + 5));
    atomic_store(&stop, 1);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_true(hs[i].n > 0);
        assert_int_equal(hs[i].errors, 0);
        assert_int_equal(hs[i].torn, 0);
    }
    /* The last string set on each side arrives whole on the other. */
    char want[256], got[256];
    assert_true(ms_memory_get_str(p.mm, m_s1, want, sizeof want) > 0);
    assert_true(strcmp(want, hs[0].last) == 0 || strcmp(want, hs[1].last) == 0);
    MS_TEST_WAIT_FOR(ms_memory_get_str(p.sm, s_s1, got, sizeof got) >= 0 &&
             strcmp(got, want) == 0);
    assert_true(ms_memory_get_str(p.sm, s_s2, want, sizeof want) > 0);
    MS_TEST_WAIT_FOR(ms_memory_get_str(p.mm, m_s2, got, sizeof got) >= 0 &&
             strcmp(got, want) == 0);
    pair_stop(&p);
}

/* ---- declarations racing ms_worker_run ---------------------------------------------
 * A thread declares words at holding registers 1, 2, ... while the main
 * thread starts a slave on the memory once a number of them (another each
 * round) are made, and a third thread uses the memory's string, name and
 * error accessors all along (the variable table grows meanwhile). Every
 * declaration is either refused as made while running, or fully seen by
 * the slave: a master's write of it is called back. Once one is refused,
 * so is every later one. */
#define DECLS 1000
#define ROUNDS 60

typedef struct {
    ms_memory *m;
    pthread_barrier_t *go;
    atomic_int made;  /* declarations tried so far */
    int n;            /* tried in all */
    int refused;      /* the first refused, or -1 */
    char err[192];    /* its error text */
    ms_var v[DECLS];
} declarer;

static void *declarer_main(void *arg)
{
    declarer *d = arg;
    char name[16];
    d->refused = -1;
    pthread_barrier_wait(d->go);
    int i;
    for (i = 0; i < DECLS; i++) {
        snprintf(name, sizeof name, "D%d", i + 1);
        d->v[i] = ms_memory_word(d->m, name, (uint32_t)i + 1);
        if (!ms_var_ok(d->v[i]) && d->refused < 0) {
            d->refused = i;
            snprintf(d->err, sizeof d->err, "%s", ms_memory_error(d->m));
        }
        atomic_store(&d->made, i + 1);
        if (d->refused >= 0 && i >= d->refused + 3)
            break; /* and a few more, refused as well */
        if ((i & 7) == 7)
            sched_yield(); /* lets the run in on a single free core */
    }
    d->n = i < DECLS ? i + 1 : DECLS;
    return NULL;
}

typedef struct {
    ms_memory *m;
    ms_var str, first;
    pthread_barrier_t *go;
    atomic_int *stop;
    int n, bad;
} user;

static void *user_main(void *arg)
{
    user *u = arg;
    char buf[32];
    pthread_barrier_wait(u->go);
    do { /* at least once, whenever the scheduler lets it in */
        const char *s = u->n & 1 ? "ODD" : "EVEN";
        ms_memory_set_str(u->m, u->str, s);
        int n = ms_memory_get_str(u->m, u->str, buf, sizeof buf);
        if (n < 0 || strcmp(buf, s) != 0)
            u->bad++;
        if (strcmp(ms_var_name(u->m, u->first), "FIRST") != 0)
            u->bad++;
        (void)ms_memory_error(u->m);
        u->n++;
        if ((u->n & 63) == 0)
            sched_yield();
    } while (!atomic_load(u->stop));
    return NULL;
}

static void declare_vs_run_round(int target)
{
    ms_memory *m;
    assert_int_equal(ms_memory_new(DECLS + 24, &m), 0);
    ms_var first = ms_memory_word(m, "FIRST", 0);
    ms_var str = ms_memory_string(m, "STR", DECLS + 8, 8);
    assert_true(ms_var_ok(first) && ms_var_ok(str));
    /* The three threads set off together. */
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 3);
    atomic_int stop = 0;
    user u = {m, str, first, &go, &stop, 0, 0};
    pthread_t uth, dth;
    assert_int_equal(pthread_create(&uth, NULL, user_main, &u), 0);
    declarer *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->m = m;
    d->go = &go;
    wrote *x = malloc(sizeof *x);
    assert_non_null(x);
    wrote_init(x);
    ms_worker *sw;
    assert_int_equal(ms_slave_tcp(m, NULL, 0, 1, &sw), 0);
    assert_int_equal(ms_worker_on_write(sw, on_wrote, x), 0);
    assert_int_equal(pthread_create(&dth, NULL, declarer_main, d), 0);
    pthread_barrier_wait(&go);
    while (atomic_load(&d->made) < target) /* a state, reached surely */
        sched_yield();
    assert_int_equal(ms_worker_run(sw), 0);
    pthread_join(dth, NULL);

    /* Declared ones first, in order; then refused ones only. */
    int ok = 0;
    while (ok < d->n && ms_var_ok(d->v[ok])) {
        assert_int_equal(d->v[ok].id, ok + 2);
        ok++;
    }
    assert_true(ok >= target);
    if (ok < d->n) { /* the run came before the last one */
        assert_int_equal(d->refused, ok);
        assert_non_null(strstr(d->err, "before ms_worker_run"));
    }
    for (int i = ok; i < d->n; i++)
        assert_int_equal(d->v[i].id, MS_ERUNNING);

    /* A master writes FIRST and every word (FC16s), then FIRST alone: the
     * slave calls back in request order, so once FIRST was called back
     * twice, the callbacks of the FC16s have all run. */
    ms_worker_status st;
    ms_worker_get_status(sw, &st);
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", st.port);
    modbus_set_slave(ctx, 1);
    assert_int_equal(modbus_connect(ctx), 0);
    uint16_t r[MODBUS_MAX_WRITE_REGISTERS];
    for (int a = 0; a <= ok; a += MODBUS_MAX_WRITE_REGISTERS) {
        int n = ok + 1 - a;
        if (n > MODBUS_MAX_WRITE_REGISTERS)
            n = MODBUS_MAX_WRITE_REGISTERS;
        for (int i = 0; i < n; i++)
            r[i] = (uint16_t)(1000 + a + i);
        assert_int_equal(modbus_write_registers(ctx, a, n, r), n);
    }
    assert_int_equal(modbus_write_register(ctx, 0, 7), 1);
    assert_true(wrote_wait(x, first.id, 2));
    for (int i = 0; i < ok; i++) {
        assert_int_equal(wrote_count(x, d->v[i].id), 1);
        assert_int_equal(ms_memory_get_word(m, d->v[i]), 1001 + i);
    }
    assert_int_equal(wrote_count(x, -1), ok + 2);
    modbus_close(ctx);
    modbus_free(ctx);

    atomic_store(&stop, 1);
    pthread_join(uth, NULL);
    pthread_barrier_destroy(&go);
    assert_true(u.n > 0);
    assert_int_equal(u.bad, 0);
    ms_worker_kill(sw);
    wrote_destroy(x);
    free(x);
    free(d);
    ms_memory_free(m);
}

static void test_declare_vs_run(void **state)
{
    (void)state;
    /* The run comes after 1 to ~300 declarations: the table grows (16,
     * 32, 64... variables) while the accessors are used. */
    for (int i = 0; i < ROUNDS; i++)
        declare_vs_run_round(1 + i * 37 % 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_master_libmodbus),
        cmocka_unit_test(test_master_drop_writes),
        cmocka_unit_test(test_slave_libmodbus),
        cmocka_unit_test(test_master_slave_hammered),
        cmocka_unit_test(test_strings_hammered),
        cmocka_unit_test(test_declare_vs_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
