/* The wwwserver's session table (src/www/codec/www_session.h), with the
 * clocks given: idle in milliseconds (no rounding to whole seconds), the
 * absolute end in wall seconds, a session with an open websocket never
 * idling however long between its requests and idling from the close of
 * its last one, logout, and the sweep auditing each end once and keeping a
 * revoked cookie dead till its absolute end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "www/codec/www_session.h"

static const ms_www_user alice = {.name = "alice"};
static const ms_www_user bob = {.name = "bob"};

static void sid_of(uint8_t sid[MS_WWW_SID_LEN], int n)
{
    memset(sid, 0, MS_WWW_SID_LEN);
    sid[0] = (uint8_t)n;
}

typedef struct {
    int n;
    const char *user[8];
    const char *why[8];
} ends;

static void on_end(const ms_www_session *s, const char *why, void *arg)
{
    ends *e = arg;
    assert_true(e->n < 8);
    e->user[e->n] = s->user->name;
    e->why[e->n++] = why;
}

static void test_idle_ms(void **state)
{
    (void)state;
    ms_www_sessions t;
    ms_www_sessions_init(&t, 1000, 3600);
    uint8_t sid[MS_WWW_SID_LEN];
    sid_of(sid, 1);
    ms_www_session *s = ms_www_sessions_add(&t, sid, &alice, 5000, 999);
    assert_non_null(s);
    assert_ptr_equal(ms_www_sessions_find(&t, sid), s);
    /* used at 999 ms: alive for the whole 1000 ms, whatever whole second
     * the wall clock shows (the old table rounded to seconds and ended
     * it 1 ms later) */
    assert_null(ms_www_session_dead(&t, s, 5001, 1000));
    assert_null(ms_www_session_dead(&t, s, 5001, 1998));
    assert_string_equal(ms_www_session_dead(&t, s, 5001, 1999),
                        "session expired (idle)");
    /* a use moves it on; an earlier time never moves it back */
    ms_www_session_use(s, 1500);
    ms_www_session_use(s, 1200);
    assert_null(ms_www_session_dead(&t, s, 5001, 2499));
    assert_non_null(ms_www_session_dead(&t, s, 5001, 2500));
    /* a wall clock step of a day ends nothing but by max_s */
    assert_null(ms_www_session_dead(&t, s, 5000 + 3599, 2000));
    assert_string_equal(ms_www_session_dead(&t, s, 5000 + 3600, 2000),
                        "session expired (absolute timeout)");
    sid_of(sid, 2);
    assert_null(ms_www_sessions_find(&t, sid));
    ms_www_sessions_free(&t);
}

static void test_held_never_idles(void **state)
{
    (void)state;
    ms_www_sessions t;
    ms_www_sessions_init(&t, 1000, 3600);
    uint8_t sid[MS_WWW_SID_LEN];
    sid_of(sid, 1);
    ms_www_session *s = ms_www_sessions_add(&t, sid, &alice, 5000, 0);
    ms_www_session_hold(s);
    ms_www_session_hold(s); /* two tabs */
    /* an hour without a request: the tabs keep it */
    ends e = {0};
    ms_www_sessions_sweep(&t, 5000 + 3599, 3599 * 1000, on_end, &e);
    assert_int_equal(e.n, 0);
    assert_null(ms_www_session_dead(&t, s, 5000 + 3599, 3599 * 1000));
    /* one tab closes: still held */
    ms_www_session_release(s, 3599 * 1000);
    assert_null(ms_www_session_dead(&t, s, 5000 + 3599, 3599 * 1000 + 5000));
    /* the last closes at 3599.5 s: idle from then */
    ms_www_session_release(s, 3599 * 1000 + 500);
    assert_null(ms_www_session_dead(&t, s, 5000 + 3599, 3599 * 1000 + 1499));
    assert_string_equal(
        ms_www_session_dead(&t, s, 5000 + 3599, 3599 * 1000 + 1500),
        "session expired (idle)");
    /* a release too many (never happens) does not wrap the count */
    ms_www_session_release(s, 3599 * 1000 + 500);
    assert_int_equal(s->held, 0);
    /* held or not, max_s ends it */
    ms_www_session_hold(s);
    assert_string_equal(ms_www_session_dead(&t, s, 5000 + 3600, 0),
                        "session expired (absolute timeout)");
    ms_www_sessions_free(&t);
}

static void test_sweep(void **state)
{
    (void)state;
    ms_www_sessions t;
    ms_www_sessions_init(&t, 1000, 100);
    uint8_t a[MS_WWW_SID_LEN], b[MS_WWW_SID_LEN], c[MS_WWW_SID_LEN];
    sid_of(a, 1);
    sid_of(b, 2);
    sid_of(c, 3);
    ms_www_sessions_add(&t, a, &alice, 1000, 0);
    ms_www_session_hold(ms_www_sessions_add(&t, b, &bob, 1000, 0));
    ms_www_sessions_add(&t, c, &bob, 1050, 0);
    ends e = {0};
    ms_www_sessions_sweep(&t, 1010, 999, on_end, &e);
    assert_int_equal(e.n, 0);
    /* a and c idle; b held */
    ms_www_sessions_sweep(&t, 1010, 1000, on_end, &e);
    assert_int_equal(e.n, 2);
    assert_string_equal(e.why[0], "session expired (idle)");
    assert_int_equal(t.n, 3); /* kept: their cookies stay dead */
    assert_string_equal(
        ms_www_session_dead(&t, ms_www_sessions_find(&t, a), 1010, 0),
        "logged out");
    /* audited once */
    ms_www_sessions_sweep(&t, 1020, 5000, on_end, &e);
    assert_int_equal(e.n, 2);
    /* at their absolute end a and b go (b audited: its tab is closed by
     * the server, which asks whether the session is alive) */
    ms_www_sessions_sweep(&t, 1100, 5000, on_end, &e);
    assert_int_equal(e.n, 3);
    assert_string_equal(e.user[2], "bob");
    assert_string_equal(e.why[2], "session expired (absolute timeout)");
    assert_int_equal(t.n, 1);
    assert_null(ms_www_sessions_find(&t, a));
    assert_null(ms_www_sessions_find(&t, b));
    assert_non_null(ms_www_sessions_find(&t, c));
    ms_www_sessions_sweep(&t, 1150, 5000, on_end, &e);
    assert_int_equal(t.n, 0);
    assert_int_equal(e.n, 3);
    /* many: the table grows */
    for (int i = 0; i < 100; i++) {
        uint8_t s[MS_WWW_SID_LEN];
        sid_of(s, i);
        s[1] = 1;
        assert_non_null(ms_www_sessions_add(&t, s, &alice, 2000, 0));
    }
    ms_www_sessions_sweep(&t, 2100, 0, NULL, NULL);
    assert_int_equal(t.n, 0);
    ms_www_sessions_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_ms),
        cmocka_unit_test(test_held_never_idles),
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
