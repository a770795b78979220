/* The client's background-thread mode against a live `mscada bus`: four
 * threads hammer one client with sets and gets (their own tags, a shared
 * tag, and each other's) while a second background client watches what
 * arrives; a callback on the client thread can't set the tag that fired it
 * but can set another; ms_client_thread_call runs loop API calls (LIST);
 * both stop cleanly. Also run under ThreadSanitizer (label tsan). Worker
 * threads only count failures; cmocka asserts on the main thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ms_syshelp.h"
#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/tag.h"

#define WAIT 120.0
#define NTHREADS 4
#define N 1000
#define NWATCH (2 * NTHREADS + 1)

typedef struct {
    int port;
    pid_t bus;
    ms_client_thread *wr, *obs;
} world;
static world W;

/* ---- the observer ----------------------------------------------------------- */

/* What the observer saw of one tag (written on its client thread). */
typedef struct {
    char name[32];
    int64_t last;     /* the latest INT, or the number in a "k:i" STR */
    int count;
    int backwards;    /* values that came out of order */
} seen;

static uv_mutex_t seen_mu;
static seen seen_tags[NWATCH];

static int64_t str_number(const char *s)
{
    const char *colon = s ? strchr(s, ':') : NULL;
    return colon ? strtoll(colon + 1, NULL, 10) : -1;
}

static void on_seen(ms_tag *t, void *arg)
{
    seen *s = arg;
    ms_value v;
    if (ms_tag_get(t, &v) < 0)
        return;
    int64_t x = v.type == MS_TYPE_INT ? v.u.i : str_number(ms_tag_get_str(t));
    uv_mutex_lock(&seen_mu);
    /* Per tag, the bus keeps order (conflation only skips). The shared tag
     * has four writers, so order means nothing there. */
    if (x < s->last && strcmp(s->name, "th_shared") != 0)
        s->backwards++;
    s->last = x;
    s->count++;
    uv_mutex_unlock(&seen_mu);
}

/* Runs on the observer's thread: declare and watch every tag. */
static int watch_all(ms_client *c, void *arg)
{
    (void)arg;
    for (int i = 0; i < NWATCH; i++) {
        ms_tag *t;
        ms_type type = i == NWATCH - 1 ? MS_TYPE_INT
                       : (i % 2) ? MS_TYPE_STR : MS_TYPE_INT;
        int rc = ms_tag_new(c, seen_tags[i].name, type, &t);
        if (rc < 0)
            return rc;
        if ((rc = ms_tag_watch(t, on_seen, &seen_tags[i])) < 0)
            return rc;
    }
    return 0;
}

/* th_echo: the observer answers each value v with th_echo_ack = v, from
 * the callback (on its client thread); setting th_echo itself is refused. */
static atomic_int echo_self_rc = 1;
static void on_echo(ms_tag *t, void *arg)
{
    ms_client_thread *obs = arg;
    int64_t v = 0;
    ms_tag_get_int(t, &v);
    atomic_store(&echo_self_rc,
                 ms_client_thread_set_int(obs, "th_echo", v + 1));
    ms_client_thread_set_int(obs, "th_echo_ack", v);
}

/* ---- the writers -------------------------------------------------------------- */

/* A LIST answer arrives on the client thread while the worker polls. */
typedef struct {
    atomic_int done; /* 0 pending, 1 answered, -1 failed */
} list_res;

typedef struct {
    int k;
    int failures;
    char first[160]; /* the first failure, for the report */
    uv_thread_t tid;
    list_res lr;     /* outlives the thread: the answer may come late */
} worker;

static void fail_once(worker *w, const char *what, int i, int rc)
{
    if (!w->failures++)
        snprintf(w->first, sizeof w->first, "thread %d, i=%d: %s (rc %d %s)",
                 w->k, i, what, rc, ms_strerror(rc));
}

static void on_list(ms_client *c, int status, const char *const *names,
                    size_t n, void *arg)
{
    list_res *r = arg;
    (void)c;
    (void)names;
    atomic_store(&r->done, status == 0 && n >= 2 * NTHREADS ? 1 : -1);
}
/* Runs on the writer's client thread: starts a LIST (answered later). */
static int start_list(ms_client *c, void *arg)
{
    return ms_client_list(c, "^th_", 0, on_list, arg);
}

static void hammer(void *arg)
{
    worker *w = arg;
    ms_client_thread *th = W.wr;
    char name_i[32], name_s[32], name_o[32], text[32];
    snprintf(name_i, sizeof name_i, "th_%d_int", w->k);
    snprintf(name_s, sizeof name_s, "th_%d_str", w->k);
    snprintf(name_o, sizeof name_o, "th_%d_str", (w->k + 1) % NTHREADS);
    list_res *lr = &w->lr;
    atomic_store(&lr->done, 1);
    for (int i = 1; i <= N; i++) {
        int rc = ms_client_thread_set_int(th, name_i, i);
        if (rc != 0)
            fail_once(w, "set int", i, rc);
        int64_t got = -1;
        rc = ms_client_thread_get_int(th, name_i, &got);
        if (rc != 0 || got != i)
            fail_once(w, "get after set", i, rc);
        snprintf(text, sizeof text, "%d:%d", w->k, i);
        if ((rc = ms_client_thread_set_str(th, name_s, text)) != 0)
            fail_once(w, "set str", i, rc);
        ms_value v;
        uint64_t t = 0;
        rc = ms_client_thread_get(th, name_s, &v, &t);
        if (rc != 0 || v.type != MS_TYPE_STR ||
            strcmp((const char *)v.u.buf.ptr, text) != 0 || !t)
            fail_once(w, "get str after set", i, rc);
        ms_client_value_free(&v);
        /* Another thread's tag: any value of its own type, or none yet. */
        rc = ms_client_thread_get(th, name_o, &v, NULL);
        if (rc == 0 && (v.type != MS_TYPE_STR || str_number(
                            (const char *)v.u.buf.ptr) < 1))
            fail_once(w, "get of another thread's tag", i, rc);
        else if (rc != 0 && rc != MS_ENOENT)
            fail_once(w, "get of another thread's tag", i, rc);
        ms_client_value_free(&v);
        if ((rc = ms_client_thread_set_int(th, "th_shared", w->k * N + i)) !=
            0)
            fail_once(w, "set shared", i, rc);
        if ((rc = ms_client_thread_set_str(th, name_i, "x")) != MS_ETYPE)
            fail_once(w, "a STR into an INT tag", i, rc);
        if (i % 250 == 0) {
            ms_client_thread_state(th);
            int d = atomic_load(&lr->done);
            if (d == 0)
                continue; /* the last LIST is still out */
            if (d < 0)
                fail_once(w, "LIST answer", i, d);
            atomic_store(&lr->done, 0);
            if ((rc = ms_client_thread_call(th, start_list, lr)) != 0)
                fail_once(w, "LIST through call", i, rc);
        }
    }
    /* The last answer, before the thread's result is read. */
    double end = ms_test_now() + WAIT;
    while (atomic_load(&lr->done) == 0 && ms_test_now() < end)
        usleep(1000);
    if (atomic_load(&lr->done) != 1)
        fail_once(w, "the last LIST answer", N, atomic_load(&lr->done));
}

/* ---- the test ------------------------------------------------------------------- */

static bool wait_cond(bool (*pred)(void *), void *arg, double seconds)
{
    double end = ms_test_now() + seconds;
    while (!pred(arg)) {
        if (ms_test_now() > end)
            return false;
        usleep(5000);
    }
    return true;
}

static bool up(void *arg)
{
    return ms_client_thread_state(arg) == MS_CLIENT_CONNECTED;
}

static bool all_final(void *arg)
{
    (void)arg;
    bool ok = true;
    uv_mutex_lock(&seen_mu);
    for (int i = 0; i < 2 * NTHREADS; i++)
        if (seen_tags[i].last != N)
            ok = false;
    uv_mutex_unlock(&seen_mu);
    return ok;
}

static bool echo_acked(void *arg)
{
    int64_t v = -1;
    return ms_client_thread_get_int(arg, "th_echo_ack", &v) == 0 && v == 77;
}

static void test_hammer(void **state)
{
    (void)state;
    ms_client_config cfg;
    ms_client_config_init(&cfg);
    cfg.port = W.port;
    assert_int_equal(ms_client_thread_start(&cfg, &W.wr), 0);
    assert_int_equal(ms_client_thread_start(&cfg, &W.obs), 0);

    for (int k = 0; k < NTHREADS; k++) {
        snprintf(seen_tags[2 * k].name, 32, "th_%d_int", k);
        snprintf(seen_tags[2 * k + 1].name, 32, "th_%d_str", k);
    }
    snprintf(seen_tags[NWATCH - 1].name, 32, "th_shared");
    assert_int_equal(ms_client_thread_call(W.obs, watch_all, NULL), 0);
    assert_int_equal(ms_client_thread_watch(W.obs, "th_echo", on_echo,
                                            W.obs), 0);
    /* Before anything is set: no value, and no such tag. */
    int64_t x;
    assert_int_equal(ms_client_thread_get_int(W.obs, "th_0_int", &x),
                     MS_ENOENT);
    assert_int_equal(ms_client_thread_get_int(W.obs, "th_nobody", &x),
                     MS_ENOENT);
    assert_true(wait_cond(up, W.wr, WAIT));
    assert_true(wait_cond(up, W.obs, WAIT));

    worker ws[NTHREADS];
    memset(ws, 0, sizeof ws);
    for (int k = 0; k < NTHREADS; k++) {
        ws[k].k = k;
        assert_int_equal(uv_thread_create(&ws[k].tid, hammer, &ws[k]), 0);
    }
    /* Meanwhile, a round trip through a callback on the observer's thread. */
    assert_int_equal(ms_client_thread_tag(W.wr, "th_echo_ack", MS_TYPE_INT),
                     0);
    assert_int_equal(ms_client_thread_set_int(W.wr, "th_echo", 77), 0);
    for (int k = 0; k < NTHREADS; k++)
        uv_thread_join(&ws[k].tid);
    for (int k = 0; k < NTHREADS; k++)
        if (ws[k].failures)
            fail_msg("%d failures; first: %s", ws[k].failures, ws[k].first);

    if (!wait_cond(all_final, NULL, WAIT)) {
        for (int i = 0; i < NWATCH; i++)
            print_message("%s: last %lld after %d changes\n",
                          seen_tags[i].name, (long long)seen_tags[i].last,
                          seen_tags[i].count);
        fail_msg("the observer never saw every final value");
    }
    uv_mutex_lock(&seen_mu);
    for (int i = 0; i < NWATCH; i++)
        assert_int_equal(seen_tags[i].backwards, 0);
    assert_true(seen_tags[NWATCH - 1].count > 0);
    uv_mutex_unlock(&seen_mu);

    assert_true(wait_cond(echo_acked, W.wr, WAIT));
    assert_int_equal(atomic_load(&echo_self_rc), MS_EBUSY);

    /* The observer's copies agree with the writer's. */
    ms_value v;
    assert_int_equal(ms_client_thread_get(W.obs, "th_2_str", &v, NULL), 0);
    assert_string_equal((const char *)v.u.buf.ptr, "2:1000");
    ms_client_value_free(&v);

    ms_client_thread_stop(W.wr);
    ms_client_thread_stop(W.obs);
    W.wr = W.obs = NULL;
}

static int setup(void **state)
{
    (void)state;
    ms_log_setup("test_client_thread", MS_LOG_INFO);
    uv_mutex_init(&seen_mu);
    W.port = ms_test_free_port();
    W.bus = ms_test_bus_start(W.port);
    return W.bus > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (W.wr)
        ms_client_thread_stop(W.wr);
    if (W.obs)
        ms_client_thread_stop(W.obs);
    if (W.bus > 0)
        ms_test_stop_pid(W.bus, 5);
    ms_test_cleanup();
    uv_mutex_destroy(&seen_mu);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hammer),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
