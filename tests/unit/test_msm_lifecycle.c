/* Modbus shared memory's lifecycle rule (docs/design.md §10): every maker
 * returns 0 with the object through its last argument, or MS_EINVAL with
 * it NULL and nothing made; ms_memory_layout_check names an area that
 * doesn't fit, ms_memory_error the setting a worker's maker refused; every
 * call takes a NULL memory or worker harmlessly; a worker ends with
 * ms_worker_kill whether it ran or not. Leaks: the ASan build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mscada/error.h"
#include "mscada/msm.h"

/* ---- layouts -------------------------------------------------------------- */

typedef struct {
    const char *what;
    ms_memory_layout l;
    const char *why;
} bad_layout;

static void test_layouts(void **state)
{
    (void)state;
    static const bad_layout bad[] = {
        {"coils too many", {.coils = {65537, 0}},
         "coils: size must be at most 65536 (is 65537)"},
        {"inputs past the end", {.discrete_inputs = {2, 65535}},
         "discrete_inputs: base 65535 + size 2 must be at most 65536"},
        {"input registers past the end", {.input_registers = {100, 65500}},
         "input_registers: base 65500 + size 100 must be at most 65536"},
        {"holding past the end", {.holding = {10, 65530}},
         "holding: base 65530 + size 10 must be at most 65536"},
        {"holding far too many", {.holding = {UINT32_MAX, 0}},
         "holding: size must be at most 65536 (is 4294967295)"},
    };
    char why[160];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = 0;
        int rc = ms_memory_layout_check(&bad[i].l, why, sizeof why);
        if (rc != MS_EINVAL || strcmp(why, bad[i].why))
            fail_msg("%s: rc %d, why '%s' (want '%s')", bad[i].what, rc, why,
                     bad[i].why);
        ms_memory *m = (ms_memory *)&why; /* must be set to NULL */
        assert_int_equal(ms_memory_new_layout(&bad[i].l, &m), MS_EINVAL);
        assert_null(m);
    }
    assert_int_equal(ms_memory_layout_check(NULL, why, sizeof why),
                     MS_EINVAL);
    assert_string_equal(why, "no layout");
    ms_memory *m = (ms_memory *)&why;
    assert_int_equal(ms_memory_new_layout(NULL, &m), MS_EINVAL);
    assert_null(m);
    assert_int_equal(ms_memory_new(8, NULL), MS_EINVAL);
    m = (ms_memory *)&why;
    assert_int_equal(ms_memory_new(65537, &m), MS_EINVAL);
    assert_null(m);

    /* The edges are legal: every area full, an empty memory (an area of
     * size 0 is none), 0 holding registers. */
    ms_memory_layout full = {{65536, 0}, {1, 65535}, {65536, 0}, {65536, 0}};
    assert_int_equal(ms_memory_layout_check(&full, why, sizeof why), 0);
    assert_int_equal(ms_memory_new_layout(&full, &m), 0);
    assert_non_null(m);
    assert_true(ms_var_ok(ms_memory_word(m, "LAST", 65535)));
    ms_memory_free(m);
    ms_memory_layout none;
    memset(&none, 0, sizeof none);
    assert_int_equal(ms_memory_new_layout(&none, &m), 0);
    assert_false(ms_var_ok(ms_memory_coil(m, "C", 0)));
    ms_memory_free(m);
    assert_int_equal(ms_memory_new(0, &m), 0);
    assert_false(ms_var_ok(ms_memory_word(m, "W", 0)));
    ms_memory_free(m);
    ms_memory_free(NULL);
}

/* ---- workers -------------------------------------------------------------- */

typedef enum { MASTER_TCP, MASTER_SERIAL, SLAVE_TCP, SLAVE_SERIAL } maker;

typedef struct {
    const char *what;
    maker kind;
    const char *host; /* TCP */
    int port;         /* TCP */
    void (*spoil)(ms_mb_serial_config *line); /* serial; NULL: no line */
    const char *why;
} bad_worker;

static void no_device(ms_mb_serial_config *l) { l->device[0] = 0; }
static void baud_1000(ms_mb_serial_config *l) { l->baud = 1000; }
static void parity_x(ms_mb_serial_config *l) { l->parity = 'X'; }
static void stop_3(ms_mb_serial_config *l) { l->stop_bits = 3; }

static char long_host[300];

static int make(const bad_worker *b, ms_memory *m, ms_worker **out)
{
    ms_mb_serial_config line;
    ms_mb_serial_config_init(&line);
    snprintf(line.device, sizeof line.device, "/dev/ttyNONE");
    if (b->spoil)
        b->spoil(&line);
    const ms_mb_serial_config *lp = b->spoil ? &line : NULL;
    switch (b->kind) {
    case MASTER_TCP: return ms_master_tcp(m, b->host, b->port, 1, out);
    case MASTER_SERIAL: return ms_master_serial(m, lp, 1, out);
    case SLAVE_TCP: return ms_slave_tcp(m, b->host, b->port, 1, out);
    case SLAVE_SERIAL: return ms_slave_serial(m, lp, 1, out);
    }
    return 0;
}

static void test_worker_makers(void **state)
{
    (void)state;
    memset(long_host, 'h', sizeof long_host - 1);
    const bad_worker bad[] = {
        {"master host NULL", MASTER_TCP, NULL, 502, NULL,
         "master: host must be an address or a name, shorter than 256 "
         "bytes"},
        {"master host ''", MASTER_TCP, "", 502, NULL,
         "master: host must be an address or a name"},
        {"master host too long", MASTER_TCP, long_host, 502, NULL,
         "master: host must be an address or a name, shorter than 256 "
         "bytes"},
        {"master port 0", MASTER_TCP, "localhost", 0, NULL,
         "master: port must be from 1 to 65535 (is 0)"},
        {"master port 65536", MASTER_TCP, "localhost", 65536, NULL,
         "master: port must be from 1 to 65535 (is 65536)"},
        {"master no line", MASTER_SERIAL, NULL, 0, NULL,
         "master: no serial line"},
        {"master no device", MASTER_SERIAL, NULL, 0, no_device,
         "master: device must be a path to a serial device"},
        {"master baud 1000", MASTER_SERIAL, NULL, 0, baud_1000,
         "master: baud 1000 is not one a line can be set to (1200, 2400, "
         "... 115200, 230400)"},
        {"slave ip too long", SLAVE_TCP, long_host, 502, NULL,
         "slave: ip must be an address shorter than 64 bytes"},
        {"slave port -1", SLAVE_TCP, NULL, -1, NULL,
         "slave: port must be from 0 (any free one) to 65535 (is -1)"},
        {"slave port 65536", SLAVE_TCP, NULL, 65536, NULL,
         "slave: port must be from 0 (any free one) to 65535 (is 65536)"},
        {"slave no line", SLAVE_SERIAL, NULL, 0, NULL,
         "slave: no serial line"},
        {"slave parity X", SLAVE_SERIAL, NULL, 0, parity_x,
         "slave: parity must be N, E or O"},
        {"slave stop bits 3", SLAVE_SERIAL, NULL, 0, stop_3,
         "slave: stop_bits must be 1 or 2"},
    };
    ms_memory *m;
    assert_int_equal(ms_memory_new(8, &m), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms_worker *w = (ms_worker *)m; /* must be set to NULL */
        int rc = make(&bad[i], m, &w);
        const char *why = ms_memory_error(m);
        if (rc != MS_EINVAL || strcmp(why, bad[i].why))
            fail_msg("%s: rc %d, why '%s' (want '%s')", bad[i].what, rc, why,
                     bad[i].why);
        assert_null(w);
        /* Without a memory: refused the same, nowhere to say why. */
        w = (ms_worker *)m;
        assert_int_equal(make(&bad[i], NULL, &w), MS_EINVAL);
        assert_null(w);
    }
    assert_string_equal(ms_memory_error(NULL), "no memory");
    assert_int_equal(ms_master_tcp(m, "localhost", 502, 1, NULL), MS_EINVAL);
    assert_int_equal(ms_slave_tcp(m, NULL, 0, 1, NULL), MS_EINVAL);

    /* A refused worker doesn't hide a declaration's error, nor clear it. */
    assert_false(ms_var_ok(ms_memory_uint32(m, "PAST", 7)));
    char decl_err[200];
    snprintf(decl_err, sizeof decl_err, "%s", ms_memory_error(m));
    ms_worker *w;
    assert_int_equal(ms_master_tcp(m, "localhost", 502, 1, &w), 0);
    assert_string_equal(ms_memory_error(m), decl_err);
    /* Made, never run: killed all the same (the one teardown). */
    assert_int_equal(ms_worker_set_period(w, 1), 0);
    ms_worker_kill(w);

    /* Legal edges: port 0 (a slave picks one), any serial line a device
     * may be (it opens at ms_worker_run, not here). */
    assert_int_equal(ms_slave_tcp(m, NULL, 0, 1, &w), 0);
    ms_worker_kill(w);
    ms_mb_serial_config line;
    ms_mb_serial_config_init(&line);
    snprintf(line.device, sizeof line.device, "/dev/ttyNONE");
    line.baud = 115200;
    line.parity = 'E';
    assert_int_equal(ms_master_serial(m, &line, 1, &w), 0);
    ms_worker_kill(w);
    assert_int_equal(ms_slave_serial(m, &line, 1, &w), 0);
    ms_worker_kill(w);
    ms_worker_kill(NULL);
    ms_memory_free(m);
}

/* ---- NULL everywhere: a program may check once ---------------------------- */

static void test_null_memory(void **state)
{
    (void)state;
    ms_memory *m = NULL;
    ms_var v = ms_memory_word(m, "W", 0);
    assert_false(ms_var_ok(v));
    assert_int_equal(ms_memory_set_word(m, v, 1), MS_EINVAL);
    assert_int_equal(ms_memory_get_word(m, v), 0);
    char s[8];
    assert_true(ms_memory_get_str(m, v, s, sizeof s) < 0);
    assert_string_equal(ms_var_name(m, v), "");
    ms_worker *w;
    assert_int_equal(ms_master_tcp(m, "localhost", 502, 1, &w), MS_EINVAL);
    assert_null(w);
    assert_int_equal(ms_worker_run(w), MS_EINVAL);
    assert_int_equal(ms_worker_set_period(w, 1), MS_EINVAL);
    ms_worker_status st;
    memset(&st, 0xff, sizeof st);
    ms_worker_get_status(w, &st);
    ms_worker_kill(w);
    ms_memory_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_worker_makers),
        cmocka_unit_test(test_null_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
