/* src/core/fault.c: a failure that repeats is logged once, with the name
 * of what failed and why, and counted; a different failure is logged
 * again; recovery is logged. Fed by a real tag set failing with a type
 * error (an INT tag given a STR), as modbusclient's poll and history's
 * recorder would meet it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "core/fault.h"
#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/tag.h"

/* ---- stderr captured around a call ------------------------------------------ */

static int saved_fd = -1;
static FILE *cap;

static void capture_start(void)
{
    fflush(stderr);
    cap = tmpfile();
    assert_non_null(cap);
    saved_fd = dup(STDERR_FILENO);
    assert_true(saved_fd >= 0);
    assert_true(dup2(fileno(cap), STDERR_FILENO) >= 0);
}

/* What was logged since capture_start (static buffer). */
static const char *capture_end(void)
{
    static char text[4096];
    fflush(stderr);
    assert_true(dup2(saved_fd, STDERR_FILENO) >= 0);
    close(saved_fd);
    rewind(cap);
    size_t n = fread(text, 1, sizeof text - 1, cap);
    text[n] = '\0';
    fclose(cap);
    return text;
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_tag_type_error_logged_once(void **state)
{
    (void)state;
    ms_log_setup("test", MS_LOG_INFO);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ms_client_config cfg;
    ms_client_config_init(&cfg);
    cfg.port = 1; /* never reached: the loop does not run until the end */
    ms_client *c;
    assert_int_equal(ms_client_new(&loop, &cfg, &c), 0);
    ms_tag *t;
    assert_int_equal(ms_tag_new(c, "Pump1_Flow", MS_TYPE_INT, &t), 0);
    ms_value bad = ms_value_buf(MS_TYPE_STR, "fast", 4);
    ms_fault f = {0};

    capture_start();
    int rc = ms_tag_set(t, &bad, 0);
    bool logged = ms_fault_note(&f, rc, ms_tag_name(t),
                                "publishing a polled value");
    const char *log = capture_end();
    assert_int_equal(rc, MS_ETYPE);
    assert_true(logged);
    assert_int_equal(lines(log), 1);
    assert_non_null(strstr(log, "WARN"));
    assert_non_null(strstr(log, "Pump1_Flow: publishing a polled value "
                                "failed: "));
    assert_non_null(strstr(log, ms_strerror(MS_ETYPE)));
    assert_int_equal(f.count, 1);

    /* The same failure at every poll: counted, not logged. */
    capture_start();
    for (int i = 0; i < 5; i++)
        assert_false(ms_fault_note(&f, ms_tag_set(t, &bad, 0),
                                   ms_tag_name(t),
                                   "publishing a polled value"));
    log = capture_end();
    assert_string_equal(log, "");
    assert_int_equal(f.count, 6);

    /* Another kind of failure is news. */
    capture_start();
    assert_true(ms_fault_note(&f, MS_ENOMEM, ms_tag_name(t),
                              "publishing a polled value"));
    log = capture_end();
    assert_non_null(strstr(log, ms_strerror(MS_ENOMEM)));
    assert_int_equal(f.count, 7);

    /* A good value: recovery is logged once, then silence. */
    capture_start();
    ms_value good = ms_value_int(42);
    rc = ms_tag_set(t, &good, 0);
    assert_int_equal(rc, 0);
    assert_true(ms_fault_note(&f, rc, ms_tag_name(t),
                              "publishing a polled value"));
    assert_false(ms_fault_note(&f, 0, ms_tag_name(t),
                               "publishing a polled value"));
    log = capture_end();
    assert_int_equal(lines(log), 1);
    assert_non_null(strstr(log, "Pump1_Flow: publishing a polled value works "
                                "again (7 failures so far)"));
    assert_int_equal(f.rc, 0);

    /* And the first failure after that is logged again. */
    capture_start();
    assert_true(ms_fault_note(&f, ms_tag_set(t, &bad, 0), ms_tag_name(t),
                              "publishing a polled value"));
    capture_end();
    assert_int_equal(f.count, 8);

    ms_client_close(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_success_first_is_silent(void **state)
{
    (void)state;
    ms_fault f = {0};
    capture_start();
    assert_false(ms_fault_note(&f, 0, "X", "doing"));
    assert_false(ms_fault_note(&f, 1, "X", "doing")); /* 1: ignored set */
    const char *log = capture_end();
    assert_string_equal(log, "");
    assert_int_equal(f.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_type_error_logged_once),
        cmocka_unit_test(test_success_first_is_silent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
