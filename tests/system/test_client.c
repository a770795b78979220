/* The bus client against a live `mscada bus` (a real process on a free
 * loopback port): two clients on one loop exchange every value type; own
 * sets are not echoed to callbacks; a callback can't set its own tag; RTA
 * both ways with a 5 MB BYTES reply, and ERR for a tag with no author;
 * LIST, LOG, init values, clamping and deadband; the tagwatch example;
 * look-only tags (a reader never creates a tag, and finds it later); and
 * the bus killed (-9) and restarted on the same port without a snapshot:
 * the clients reconnect, register again (ids may differ), values flow
 * again, the latest value set while down arrives, and an RTA reaches the
 * re-published author. Deadlines only turn hangs into failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "ms_syshelp.h"
#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/tag.h"
#include "mscada/tagdesc.h"

#define WAIT 60.0 /* seconds before a wait counts as a hang */
#define BIG (5u * 1024 * 1024)

typedef struct {
    int port;
    pid_t bus;
    pid_t tagwatch;
    char tw_out[512];
    uv_loop_t loop;
    ms_client *a, *b;
} world;
static world W;

/* ---- helpers -------------------------------------------------------------- */

/* What a watcher saw: the count and a copy of the latest value. */
typedef struct {
    int count;
    ms_value v;
    uint8_t *buf;
    uint64_t time_us;
    int64_t ints[64]; /* every INT seen, in order */
    int nints;
} rec;

static void rec_cb(ms_tag *t, void *arg)
{
    rec *r = arg;
    ms_value v;
    assert_int_equal(ms_tag_get(t, &v), 0);
    r->count++;
    r->time_us = ms_tag_time_us(t);
    free(r->buf);
    r->buf = NULL;
    r->v = v;
    if (v.type >= MS_TYPE_STR) {
        r->buf = malloc(v.u.buf.len + 1);
        assert_non_null(r->buf);
        if (v.u.buf.len)
            memcpy(r->buf, v.u.buf.ptr, v.u.buf.len);
        r->v.u.buf.ptr = r->buf;
    }
    if (v.type == MS_TYPE_INT && r->nints < 64)
        r->ints[r->nints++] = v.u.i;
}

static void rec_free(rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].buf);
        memset(&r[i], 0, sizeof r[i]);
    }
}

static ms_client *client(const ms_tagdescs *descs, bool use_init)
{
    ms_client_config cfg;
    ms_client_config_init(&cfg);
    cfg.port = W.port;
    cfg.backoff_max = 1.0; /* quicker reconnects in tests */
    cfg.tagdescs = descs;
    cfg.use_init = use_init;
    ms_client *c;
    assert_int_equal(ms_client_new(&W.loop, &cfg, &c), 0);
    return c;
}

static ms_tag *tag(ms_client *c, const char *name, ms_type type)
{
    ms_tag *t;
    assert_int_equal(ms_tag_new(c, name, type, &t), 0);
    return t;
}

static ms_tag *watched(ms_client *c, const char *name, ms_type type, rec *r)
{
    ms_tag *t = tag(c, name, type);
    assert_int_equal(ms_tag_watch(t, rec_cb, r), 0);
    return t;
}

static bool both_up(void *arg)
{
    (void)arg;
    return ms_client_get_state(W.a) == MS_CLIENT_CONNECTED &&
           ms_client_get_state(W.b) == MS_CLIENT_CONNECTED;
}

static bool rec_count(void *arg)
{
    return ((rec *)arg)->count > 0;
}

#define WAIT_FOR(pred, arg, what)                                            \
    do {                                                                     \
        if (!ms_test_run_until(&W.loop, pred, arg, WAIT))                    \
            fail_msg("timed out waiting for %s", what);                      \
    } while (0)

/* Every change the bus had for us before a LIST answer has arrived: the bus
 * answers in order, so this is a barrier for "nothing more is coming". */
static void on_list_done(ms_client *c, int status, const char *const *names,
                         size_t n, void *arg)
{
    (void)c;
    (void)names;
    (void)n;
    *(int *)arg = status == 0 ? 1 : -1;
}
static bool flag_set(void *arg)
{
    return *(int *)arg != 0;
}
static void barrier(ms_client *c)
{
    int done = 0;
    assert_int_equal(ms_client_list(c, "^no_such_tag_", 0, on_list_done,
                                     &done), 0);
    WAIT_FOR(flag_set, &done, "a LIST answer");
    assert_int_equal(done, 1);
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 11)) & 0xff);
}

static bool pattern_ok(const uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)((i * 131 + seed * 7 + (i >> 11)) & 0xff))
            return false;
    return true;
}

/* ---- setup ---------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    ms_log_setup("test_client", MS_LOG_INFO);
    if (uv_loop_init(&W.loop) != 0)
        return -1;
    W.port = ms_test_free_port();
    W.bus = ms_test_bus_start(W.port);
    if (W.bus < 0)
        return -1;
    W.a = client(NULL, false);
    W.b = client(NULL, false);
    if (!ms_test_run_until(&W.loop, both_up, NULL, WAIT))
        return -1;
    return 0;
}

static void walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "left open: %s active=%d closing=%d\n",
            uv_handle_type_name(h->type), uv_is_active(h), uv_is_closing(h));
}

static int teardown(void **state)
{
    (void)state;
    ms_client_close(W.a);
    ms_client_close(W.b);
    if (!ms_test_run_drain(&W.loop, WAIT))
        uv_walk(&W.loop, walk_cb, NULL);
    int rc = uv_loop_close(&W.loop);
    if (W.tagwatch > 0)
        ms_test_stop_pid(W.tagwatch, 5);
    if (W.bus > 0)
        ms_test_stop_pid(W.bus, 5);
    ms_test_cleanup();
    return rc == 0 ? 0 : -1;
}

/* ---- two clients, every type ---------------------------------------------- */

#define NTYPES 5
static const char *const xt_names[NTYPES] = {"xt_int", "xt_float", "xt_str",
                                             "xt_bytes", "xt_json"};
static const ms_type xt_types[NTYPES] = {MS_TYPE_INT, MS_TYPE_FLOAT,
                                         MS_TYPE_STR, MS_TYPE_BYTES,
                                         MS_TYPE_JSON};

static void check_value(const rec *r, const ms_value *want)
{
    assert_int_equal(r->v.type, want->type);
    switch (want->type) {
    case MS_TYPE_INT: assert_true(r->v.u.i == want->u.i); break;
    case MS_TYPE_FLOAT:
        assert_memory_equal(&r->v.u.f, &want->u.f, sizeof want->u.f);
        break;
    default:
        assert_int_equal(r->v.u.buf.len, want->u.buf.len);
        assert_memory_equal(r->v.u.buf.ptr, want->u.buf.ptr, want->u.buf.len);
    }
}

typedef struct {
    rec *r;
    int n;
    int want;
} recs_wait;
static bool recs_at_least(void *arg)
{
    recs_wait *w = arg;
    for (int i = 0; i < w->n; i++)
        if (w->r[i].count < w->want)
            return false;
    return true;
}

/* A callback that tries to set the tag that fired it, and another tag. */
typedef struct {
    int calls;
    int self_rc, other_rc;
    ms_tag *other;
} self_setter;
static void self_set_cb(ms_tag *t, void *arg)
{
    self_setter *s = arg;
    s->calls++;
    s->self_rc = ms_tag_set_int(t, 1000);
    s->other_rc = ms_tag_set_int(s->other, 2000);
}

static void test_exchange_types(void **state)
{
    (void)state;
    rec ra[NTYPES], rb[NTYPES];
    memset(ra, 0, sizeof ra);
    memset(rb, 0, sizeof rb);
    ms_tag *ta[NTYPES], *tb[NTYPES];
    uint8_t *bytes = malloc(300000);
    assert_non_null(bytes);
    pattern(bytes, 300000, 3);
    static const char str[] = "h\xc3\xa9llo w\xc3\xb6rld";
    static const char json[] = "{\"a\": [1, 2, 3], \"b\": null}";
    ms_value va[NTYPES] = {
        ms_value_int(-42), ms_value_float(0.1),
        ms_value_buf(MS_TYPE_STR, str, sizeof str - 1),
        ms_value_buf(MS_TYPE_BYTES, bytes, 300000), /* > one chunk */
        ms_value_buf(MS_TYPE_JSON, json, sizeof json - 1)};
    for (int i = 0; i < NTYPES; i++) {
        ta[i] = watched(W.a, xt_names[i], xt_types[i], &ra[i]);
        tb[i] = watched(W.b, xt_names[i], xt_types[i], &rb[i]);
        /* Set at once, before the id is known: published when it is. */
        assert_int_equal(ms_tag_set(ta[i], &va[i], 0), 0);
        assert_true(ms_tag_is_own(ta[i]));
    }
    recs_wait wb = {rb, NTYPES, 1};
    WAIT_FOR(recs_at_least, &wb, "B to get A's values");
    for (int i = 0; i < NTYPES; i++) {
        check_value(&rb[i], &va[i]);
        assert_true(rb[i].time_us == ms_tag_time_us(ta[i]));
        assert_false(ms_tag_is_own(tb[i]));
    }

    /* And back: B sets, A gets. */
    static const char str2[] = "second";
    static const char json2[] = "[true, false]";
    uint8_t small[3] = {0, 255, 7};
    ms_value vb[NTYPES] = {
        ms_value_int(INT64_MAX), ms_value_float(-1e-300),
        ms_value_buf(MS_TYPE_STR, str2, sizeof str2 - 1),
        ms_value_buf(MS_TYPE_BYTES, small, 3),
        ms_value_buf(MS_TYPE_JSON, json2, sizeof json2 - 1)};
    for (int i = 0; i < NTYPES; i++)
        assert_int_equal(ms_tag_set(tb[i], &vb[i], 1700000000000000 + i), 0);
    recs_wait wa = {ra, NTYPES, 1};
    WAIT_FOR(recs_at_least, &wa, "A to get B's values");
    for (int i = 0; i < NTYPES; i++) {
        check_value(&ra[i], &vb[i]);
        assert_true(ra[i].time_us == 1700000000000000u + (unsigned)i);
        assert_false(ms_tag_is_own(ta[i]));
        assert_true(ms_tag_is_own(tb[i]));
    }

    /* Own sets were never echoed to the setter's callbacks. */
    barrier(W.a);
    barrier(W.b);
    for (int i = 0; i < NTYPES; i++) {
        assert_int_equal(ra[i].count, 1);
        assert_int_equal(rb[i].count, 1);
    }

    /* Typed reads, and a wrong type refused. */
    int64_t iv;
    double dv;
    assert_int_equal(ms_tag_get_int(ta[0], &iv), 0);
    assert_true(iv == INT64_MAX);
    assert_int_equal(ms_tag_get_float(ta[1], &dv), 0);
    assert_true(dv == -1e-300);
    assert_string_equal(ms_tag_get_str(ta[2]), "second");
    assert_int_equal(ms_tag_set_str(ta[0], "no"), MS_ETYPE);
    assert_int_equal(ms_tag_set_json(ta[4], "not json"), MS_EINVAL);
    assert_int_equal(ms_tag_set_json(ta[4], "3"), MS_EINVAL);
    assert_int_equal(ms_tag_set_int(ta[1], 7), 0); /* INT into FLOAT */
    assert_int_equal(ms_tag_get_float(ta[1], &dv), 0);
    assert_true(dv == 7.0);
    ms_tag *dup;
    assert_int_equal(ms_tag_new(W.a, "xt_int", MS_TYPE_STR, &dup), MS_ETYPE);
    assert_int_equal(ms_tag_new(W.a, "xt_int", MS_TYPE_NONE, &dup), 0);
    assert_ptr_equal(dup, ta[0]);
    assert_int_equal(ms_tag_new(W.a, "bad name", MS_TYPE_INT, &dup),
                     MS_EINVAL);

    /* A callback may not set its own tag (refused, no recursion), but may
     * set another. */
    self_setter ss = {0, 0, 0, tag(W.b, "xt_other", MS_TYPE_INT)};
    ms_tag *self_b = tag(W.b, "xt_self", MS_TYPE_INT);
    assert_int_equal(ms_tag_watch(self_b, self_set_cb, &ss), 0);
    rec rother = {0};
    watched(W.a, "xt_other", MS_TYPE_INT, &rother);
    ms_tag *self_a = tag(W.a, "xt_self", MS_TYPE_INT);
    assert_int_equal(ms_tag_set_int(self_a, 5), 0);
    WAIT_FOR(rec_count, &rother, "the other tag set from a callback");
    assert_int_equal(ss.calls, 1);
    assert_int_equal(ss.self_rc, MS_EBUSY);
    assert_int_equal(ss.other_rc, 0);
    assert_true(rother.v.u.i == 2000);
    int64_t sv;
    assert_int_equal(ms_tag_get_int(self_b, &sv), 0);
    assert_true(sv == 5);

    /* A late subscriber gets the current value through its callback. */
    rec late = {0};
    ms_client *c = client(NULL, false);
    watched(c, "xt_str", MS_TYPE_STR, &late);
    WAIT_FOR(rec_count, &late, "a late subscriber's first value");
    assert_int_equal(late.v.u.buf.len, sizeof str2 - 1);
    ms_client_close(c);

    rec_free(ra, NTYPES);
    rec_free(rb, NTYPES);
    rec_free(&rother, 1);
    rec_free(&late, 1);
    free(bytes);
}

/* ---- RTA -------------------------------------------------------------------- */

/* The author's side: {"size": N, "seed": S} -> set the tag to N pattern
 * bytes, then back to six zero bytes (as pymscada's history does). */
typedef struct {
    int requests;
} author;
static void on_rta(ms_tag *t, const ms_value *req, void *arg)
{
    author *au = arg;
    au->requests++;
    assert_int_equal(req->type, MS_TYPE_JSON);
    json_error_t e;
    json_t *j = json_loadb((const char *)req->u.buf.ptr, req->u.buf.len, 0,
                           &e);
    assert_non_null(j);
    size_t n = (size_t)json_integer_value(json_object_get(j, "size"));
    unsigned seed = (unsigned)json_integer_value(json_object_get(j, "seed"));
    json_decref(j);
    uint8_t *p = malloc(n);
    assert_non_null(p);
    pattern(p, n, seed);
    assert_int_equal(ms_tag_set_bytes(t, p, n), 0);
    free(p);
    static const uint8_t zero[6] = {0};
    assert_int_equal(ms_tag_set_bytes(t, zero, 6), 0);
}

typedef struct {
    bool big_ok;
    int big;
    int count;
    unsigned seed;
} reply_rec;
static void on_reply(ms_tag *t, void *arg)
{
    reply_rec *r = arg;
    ms_value v;
    ms_tag_get(t, &v);
    r->count++;
    if (v.type == MS_TYPE_BYTES && v.u.buf.len == BIG) {
        r->big++;
        r->big_ok = pattern_ok(v.u.buf.ptr, v.u.buf.len, r->seed);
    }
}
static bool got_big(void *arg)
{
    return ((reply_rec *)arg)->big > 0;
}

typedef struct {
    int errors;
    char text[256];
} err_rec;
static void on_rta_err(ms_tag *t, const char *text, void *arg)
{
    err_rec *e = arg;
    (void)t;
    e->errors++;
    snprintf(e->text, sizeof e->text, "%s", text);
}
static bool got_err(void *arg)
{
    return ((err_rec *)arg)->errors > 0;
}

static bool has_id(void *arg)
{
    return ms_tag_id(arg) != 0 && ms_tag_has_value(arg);
}

static bool six_bytes(void *arg)
{
    ms_value v;
    return ms_tag_get(arg, &v) == 0 && v.type == MS_TYPE_BYTES &&
           v.u.buf.len == 6;
}

static void rta_round(ms_client *auth, ms_client *asker, const char *name,
                      unsigned seed)
{
    author au = {0};
    ms_tag *ta = tag(auth, name, MS_TYPE_BYTES);
    static const uint8_t zero[6] = {0};
    assert_int_equal(ms_tag_set_bytes(ta, zero, 6), 0); /* the author */
    ms_tag_on_rta(ta, on_rta, &au);
    reply_rec rr = {false, 0, 0, seed};
    ms_tag *tb = tag(asker, name, MS_TYPE_BYTES);
    assert_int_equal(ms_tag_watch(tb, on_reply, &rr), 0);
    /* Once the asker holds the author's value, the bus knows the author. */
    WAIT_FOR(has_id, tb, "the asker to see the author's value");
    char req[100];
    snprintf(req, sizeof req, "{\"size\": %u, \"seed\": %u}", BIG, seed);
    assert_int_equal(ms_tag_rta_json(tb, req), 0);
    WAIT_FOR(got_big, &rr, "a 5 MB RTA reply");
    assert_true(rr.big_ok);
    assert_int_equal(au.requests, 1);
    /* Then back to six zero bytes. */
    WAIT_FOR(six_bytes, tb, "the reset after the reply");
    assert_int_equal(ms_tag_unwatch(tb, on_reply, &rr), 0);
    ms_tag_on_rta(ta, NULL, NULL);
}

static void test_rta(void **state)
{
    (void)state;
    rta_round(W.a, W.b, "rta_a", 1);
    rta_round(W.b, W.a, "rta_b", 2);

    /* A tag nobody set has no author: the bus answers ERR. */
    err_rec er = {0};
    ms_tag *t = tag(W.b, "rta_none", MS_TYPE_JSON);
    ms_tag_on_rta_error(t, on_rta_err, &er);
    assert_int_equal(ms_tag_rta_json(t, "{\"x\": 1}"), 0);
    WAIT_FOR(got_err, &er, "ERR for an RTA without author");
    assert_non_null(strstr(er.text, "no author"));
    assert_int_equal(ms_tag_rta_json(t, "nope"), MS_EINVAL);
}

/* ---- LIST, LOG, init, clamping, deadband ---------------------------------- */

typedef struct {
    int done;
    int status;
    char names[1024];
} list_rec;
static void on_list(ms_client *c, int status, const char *const *names,
                    size_t n, void *arg)
{
    list_rec *l = arg;
    (void)c;
    l->status = status;
    l->names[0] = 0;
    for (size_t i = 0; i < n; i++) {
        strncat(l->names, names[i], sizeof l->names - strlen(l->names) - 2);
        strcat(l->names, ",");
    }
    l->done = 1;
}
static bool list_done(void *arg)
{
    return ((list_rec *)arg)->done != 0;
}

static bool str_is(ms_tag *t, const char *s)
{
    const char *v = ms_tag_get_str(t);
    return v && !strcmp(v, s);
}
static bool bus_says_hello(void *arg)
{
    return str_is(arg, "hello from A");
}
static bool bus_says_tester(void *arg)
{
    return str_is(arg, "tester connected");
}
static bool float_zero(void *arg)
{
    double d = -1;
    return ms_tag_get_float(arg, &d) == 0 && d == 0.0;
}

static void test_list_log_init_deadband(void **state)
{
    (void)state;
    list_rec l = {0};
    assert_int_equal(ms_client_list(W.a, "^xt_", 0, on_list, &l), 0);
    WAIT_FOR(list_done, &l, "a LIST answer");
    assert_int_equal(l.status, 0);
    for (int i = 0; i < NTYPES; i++)
        assert_non_null(strstr(l.names, xt_names[i]));
    assert_null(strstr(l.names, "rta_"));
    memset(&l, 0, sizeof l);
    assert_int_equal(ms_client_list(W.a, "_json$", 0, on_list, &l), 0);
    WAIT_FOR(list_done, &l, "a LIST answer");
    assert_string_equal(l.names, "xt_json,");

    /* LOG sets __bus__ (mscada sends it to subscribers). */
    ms_tag *bus_b = tag(W.b, "__bus__", MS_TYPE_STR);
    WAIT_FOR(has_id, bus_b, "__bus__");
    assert_int_equal(ms_client_log(W.a, "hello from A"), 0);
    WAIT_FOR(bus_says_hello, bus_b, "the LOG line in __bus__");
    char toolong[302];
    memset(toolong, 'x', 301);
    toolong[301] = 0;
    assert_int_equal(ms_client_log(W.a, toolong), MS_ETOOBIG);
    /* A named client says so in the bus log when it connects. */
    ms_client_config ncfg;
    ms_client_config_init(&ncfg);
    ncfg.port = W.port;
    snprintf(ncfg.name, sizeof ncfg.name, "tester");
    ms_client *named;
    assert_int_equal(ms_client_new(&W.loop, &ncfg, &named), 0);
    WAIT_FOR(bus_says_tester, bus_b, "'tester connected' in __bus__");
    ms_client_close(named);

    /* tags.yaml: init only when opted in; min/max/deadband on own sets. */
    static const char yaml[] =
        "init_t: {type: int, init: 5}\n"
        "init_u: {type: int, init: 6}\n"
        "db_t: {type: float, min: 0, max: 10, deadband: 0.5}\n";
    ms_conf_doc *doc;
    ms_conf_error err;
    ms_tagdescs descs;
    assert_int_equal(ms_conf_parse("tags.yaml", yaml, sizeof yaml - 1, &doc,
                                   &err), 0);
    assert_int_equal(ms_tagdesc_from_conf(ms_conf_root(doc), &descs, &err),
                     0);
    ms_client *c = client(&descs, true);
    ms_client *d = client(&descs, false);
    rec rc_init = {0}, rb_init = {0}, rb_db = {0};
    watched(c, "init_t", MS_TYPE_INT, &rc_init);
    watched(W.b, "init_t", MS_TYPE_INT, &rb_init);
    ms_tag *tu = tag(d, "init_u", MS_TYPE_INT);
    WAIT_FOR(rec_count, &rb_init, "the init value on another client");
    assert_true(rb_init.v.u.i == 5);
    assert_int_equal(rc_init.count, 1); /* init counts as not the program's */
    WAIT_FOR(has_id, tag(d, "init_t", MS_TYPE_INT), "init_t on D");
    barrier(d);
    assert_false(ms_tag_has_value(tu)); /* D did not opt in */

    ms_tag *db = tag(c, "db_t", MS_TYPE_FLOAT);
    ms_tag *db_b = watched(W.b, "db_t", MS_TYPE_FLOAT, &rb_db);
    double v;
    assert_int_equal(ms_tag_set_float(db, 20), 0); /* clamped to 10 */
    assert_int_equal(ms_tag_get_float(db, &v), 0);
    assert_true(v == 10);
    assert_int_equal(ms_tag_set_float(db, 10.3), 1); /* still 10 */
    assert_int_equal(ms_tag_set_float(db, 9.8), 1);  /* within 0.5 */
    assert_int_equal(ms_tag_get_float(db, &v), 0);
    assert_true(v == 10);
    assert_int_equal(ms_tag_set_float(db, 9), 0);
    assert_int_equal(ms_tag_set_int(db, -3), 0); /* clamped to 0 */
    WAIT_FOR(float_zero, db_b, "the clamped value on another client");
    assert_true(rb_db.v.u.f == 0.0);

    ms_client_close(c);
    ms_client_close(d);
    rec_free(&rc_init, 1);
    rec_free(&rb_init, 1);
    rec_free(&rb_db, 1);
    ms_tagdescs_free(&descs);
    ms_conf_free(doc);
}

/* ---- tagwatch --------------------------------------------------------------- */

static char tagwatch_bin[512];

static int run_status(char *const argv[])
{
    char log[600];
    snprintf(log, sizeof log, "%s/tagwatch-args.log", ms_test_dir());
    pid_t pid = ms_test_spawn(argv, log);
    int st = ms_test_wait_pid(pid, 30);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool file_has(const char *path, const char *line)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    bool found = false;
    while (f && fgets(buf, sizeof buf, f))
        if (!strcmp(buf, line)) {
            found = true;
            break;
        }
    if (f)
        fclose(f);
    return found;
}
static const char *tw_want;
static bool tagwatch_printed(void *arg)
{
    (void)arg;
    return file_has(W.tw_out, tw_want);
}
#define WAIT_LINE(s)                                                          \
    do {                                                                      \
        tw_want = s;                                                          \
        WAIT_FOR(tagwatch_printed, NULL, "tagwatch to print " s);             \
    } while (0)

static void test_tagwatch(void **state)
{
    (void)state;
    /* Built beside the mscada executable (examples/). */
    snprintf(tagwatch_bin, sizeof tagwatch_bin, "%s", MS_MSCADA_BIN);
    char *slash = strrchr(tagwatch_bin, '/');
    assert_non_null(slash);
    snprintf(slash + 1, sizeof tagwatch_bin - (size_t)(slash + 1 -
                                                        tagwatch_bin),
             "tagwatch");
    if (access(tagwatch_bin, X_OK) != 0)
        fail_msg("%s is not built", tagwatch_bin);

    char *help[] = {tagwatch_bin, (char *)"--help", NULL};
    char *none[] = {tagwatch_bin, NULL};
    char *badbus[] = {tagwatch_bin, (char *)"--bus", (char *)"x:99999",
                      (char *)"t", NULL};
    char *badopt[] = {tagwatch_bin, (char *)"--frob", (char *)"t", NULL};
    char *badname[] = {tagwatch_bin, (char *)"a\tb", NULL};
    assert_int_equal(run_status(help), 0);
    assert_int_equal(run_status(none), 2);
    assert_int_equal(run_status(badbus), 2);
    assert_int_equal(run_status(badopt), 2);
    assert_int_equal(run_status(badname), 2);

    char bus[64];
    snprintf(bus, sizeof bus, "127.0.0.1:%d", W.port);
    snprintf(W.tw_out, sizeof W.tw_out, "%s/tagwatch.out", ms_test_dir());
    char *argv[] = {tagwatch_bin, (char *)"--bus", bus, (char *)"tw_i",
                    (char *)"tw_f", (char *)"tw_s", (char *)"tw_b",
                    (char *)"tw_j", (char *)"tw_typo", NULL};
    W.tagwatch = ms_test_spawn(argv, W.tw_out);
    ms_tag *ti = tag(W.a, "tw_i", MS_TYPE_INT);
    ms_tag *tf = tag(W.a, "tw_f", MS_TYPE_FLOAT);
    ms_tag *ts = tag(W.a, "tw_s", MS_TYPE_STR);
    ms_tag *tb = tag(W.a, "tw_b", MS_TYPE_BYTES);
    ms_tag *tj = tag(W.a, "tw_j", MS_TYPE_JSON);
    assert_int_equal(ms_tag_set_int(ti, 42), 0);
    assert_int_equal(ms_tag_set_float(tf, 0.1), 0);
    assert_int_equal(ms_tag_set_str(ts, "two words\nand a line"), 0);
    assert_int_equal(ms_tag_set_bytes(tb, "\x01\x02\xff", 3), 0);
    assert_int_equal(ms_tag_set_json(tj, "{ \"k\" : [1, 2] }"), 0);
    WAIT_LINE("tw_i 42\n");
    WAIT_LINE("tw_f 0.1\n");
    WAIT_LINE("tw_s two words\\nand a line\n");
    WAIT_LINE("tw_b bytes[3] 0102ff\n");
    WAIT_LINE("tw_j {\"k\":[1,2]}\n");
    /* A name nobody writes: said, and not created by watching it. */
    WAIT_LINE("tagwatch: tw_typo: no such tag on the bus; waiting for it to "
              "appear (`mscada console -c list` shows the names there)\n");
    list_rec l = {0};
    assert_int_equal(ms_client_list(W.a, "^tw_", 0, on_list, &l), 0);
    WAIT_FOR(list_done, &l, "a LIST answer");
    assert_int_equal(l.status, 0);
    assert_null(strstr(l.names, "tw_typo"));
    assert_non_null(strstr(l.names, "tw_j"));
}

/* ---- look-only tags ---------------------------------------------------------- */

static void count_cb(ms_tag *t, void *arg)
{
    (void)t;
    (*(int *)arg)++;
}
static bool positive(void *arg)
{
    return *(int *)arg > 0;
}
static bool id_known(void *arg)
{
    return ms_tag_id(arg) != 0;
}

/* ms_tag_look: a reader of a name the bus doesn't have is told once and
 * never creates it; once a writer creates and sets it, the reader finds
 * it (LIST asked again) and sees its values. */
static void test_look_only(void **state)
{
    (void)state;
    rec r = {0};
    int absent = 0;
    ms_tag *t, *again;
    assert_int_equal(ms_tag_look(W.b, "lk_later", &t), 0);
    ms_tag_on_absent(t, count_cb, &absent);
    assert_int_equal(ms_tag_watch(t, rec_cb, &r), 0);
    WAIT_FOR(positive, &absent, "the look-only tag said absent");
    list_rec l = {0};
    assert_int_equal(ms_client_list(W.a, "^lk_", 0, on_list, &l), 0);
    WAIT_FOR(list_done, &l, "a LIST answer");
    assert_int_equal(l.status, 0);
    assert_string_equal(l.names, "");
    assert_int_equal(ms_tag_id(t), 0);
    assert_int_equal(r.count, 0);

    ms_tag *w = tag(W.a, "lk_later", MS_TYPE_INT);
    assert_int_equal(ms_tag_set_int(w, 7), 0);
    WAIT_FOR(rec_count, &r, "the value once the tag appeared");
    assert_int_equal(r.v.type, MS_TYPE_INT);
    assert_true(r.v.u.i == 7);
    assert_int_equal(absent, 1); /* once, not per retry */
    assert_int_equal(ms_tag_look(W.b, "lk_later", &again), 0);
    assert_ptr_equal(again, t);

    /* ms_tag_new makes a look-only tag an ordinary one: the bus creates
     * it. */
    ms_tag *m, *m2;
    int m_absent = 0;
    assert_int_equal(ms_tag_look(W.b, "lk_made", &m), 0);
    ms_tag_on_absent(m, count_cb, &m_absent);
    WAIT_FOR(positive, &m_absent, "lk_made said absent");
    assert_int_equal(ms_tag_new(W.b, "lk_made", MS_TYPE_NONE, &m2), 0);
    assert_ptr_equal(m2, m);
    WAIT_FOR(id_known, m, "an id for lk_made");
    memset(&l, 0, sizeof l);
    assert_int_equal(ms_client_list(W.a, "^lk_", 0, on_list, &l), 0);
    WAIT_FOR(list_done, &l, "a LIST answer");
    assert_string_equal(l.names, "lk_later,lk_made,");

    assert_int_equal(ms_tag_look(W.b, "bad name", &m), MS_EINVAL);
    rec_free(&r, 1);
}

/* ---- a full output queue, a host name --------------------------------------- */

#define NBL 100
#define ROUNDS 50

typedef struct {
    ms_tag *const *tags;
    size_t n;
    int64_t want;
} ints_wait;
static bool ints_are(void *arg)
{
    ints_wait *w = arg;
    for (size_t i = 0; i < w->n; i++) {
        int64_t v;
        if (ms_tag_get_int(w->tags[i], &v) != 0 || v != w->want)
            return false;
    }
    return true;
}
static bool ids_known(void *arg)
{
    ints_wait *w = arg;
    for (size_t i = 0; i < w->n; i++)
        if (!ms_tag_id(w->tags[i]))
            return false;
    return true;
}

typedef struct {
    int n;
    int bad; /* arrived out of order */
} bytes_seq;
static void on_bytes(ms_tag *t, void *arg)
{
    bytes_seq *s = arg;
    ms_value v;
    ms_tag_get(t, &v);
    if (v.type != MS_TYPE_BYTES || v.u.buf.len != 1 ||
        v.u.buf.ptr[0] != (uint8_t)(s->n + 1))
        s->bad++;
    s->n++;
}
static bool bytes_all(void *arg)
{
    return ((bytes_seq *)arg)->n >= ROUNDS;
}

/* Plain sets past queue_high_water keep only the latest value per tag, and
 * still every final value arrives; BYTES are never held back or dropped. */
static void test_held_back_and_host_name(void **state)
{
    (void)state;
    ms_client_config cfg;
    ms_client_config_init(&cfg);
    char hp[64];
    snprintf(hp, sizeof hp, "localhost:%d", W.port);
    assert_int_equal(ms_client_config_set_bus(&cfg, hp), 0);
    assert_string_equal(cfg.host, "localhost");
    cfg.queue_high_water = 512;
    ms_client *h;
    assert_int_equal(ms_client_new(&W.loop, &cfg, &h), 0);

    ms_tag *mine[NBL], *theirs[NBL];
    for (int i = 0; i < NBL; i++) {
        char name[32];
        snprintf(name, sizeof name, "bl_%d", i);
        mine[i] = tag(h, name, MS_TYPE_INT);
        theirs[i] = tag(W.b, name, MS_TYPE_INT);
    }
    bytes_seq seq = {0, 0};
    ms_tag *bt = tag(h, "bl_bytes", MS_TYPE_BYTES);
    ms_tag *bt_b = tag(W.b, "bl_bytes", MS_TYPE_BYTES);
    ms_tag_watch(bt_b, on_bytes, &seq);
    ms_tag *const bts[2] = {bt, bt_b};
    ints_wait ids = {mine, NBL, 0};
    WAIT_FOR(ids_known, &ids, "ids through a resolved host name");
    ints_wait ids_b = {theirs, NBL, 0};
    WAIT_FOR(ids_known, &ids_b, "the other client's ids");
    ints_wait ids_bt = {bts, 2, 0};
    WAIT_FOR(ids_known, &ids_bt, "bl_bytes's ids");
    barrier(W.b); /* B's SUB of bl_bytes is done: it will see every set */
    for (int r = 1; r <= ROUNDS; r++) {
        for (int i = 0; i < NBL; i++)
            assert_int_equal(ms_tag_set_int(mine[i], r), 0);
        uint8_t b = (uint8_t)r;
        assert_int_equal(ms_tag_set_bytes(bt, &b, 1), 0);
    }
    ints_wait fin = {theirs, NBL, ROUNDS};
    WAIT_FOR(ints_are, &fin, "every final value");
    WAIT_FOR(bytes_all, &seq, "every BYTES value");
    assert_int_equal(seq.n, ROUNDS);
    assert_int_equal(seq.bad, 0);
    ms_client_close(h);
}

/* ---- bus restart ------------------------------------------------------------ */

typedef struct {
    uint64_t a0, b0;
    ms_tag *const *tags;
    size_t n;
} reconnect_wait;
static bool reconnected(void *arg)
{
    reconnect_wait *w = arg;
    if (!both_up(NULL) || ms_client_connects(W.a) <= w->a0 ||
        ms_client_connects(W.b) <= w->b0)
        return false;
    for (size_t i = 0; i < w->n; i++)
        if (!ms_tag_id(w->tags[i]))
            return false;
    return true;
}

static void rs_rta(ms_tag *t, const ms_value *req, void *arg)
{
    (void)req;
    (*(int *)arg)++;
    assert_int_equal(ms_tag_set_int(t, 42), 0);
}

typedef struct {
    rec *r;
    int64_t want;
} int_wait;
static bool rec_int_is(void *arg)
{
    int_wait *w = arg;
    return w->r->count && w->r->v.type == MS_TYPE_INT &&
           w->r->v.u.i == w->want;
}

/* A raw client that creates tags on the fresh bus, so ids shift. */
static void shift_ids(int port, int n)
{
    int fd = ms_test_connect(port);
    assert_true(fd >= 0);
    for (int i = 0; i < n; i++) {
        uint8_t m[14 + 32];
        int len = snprintf((char *)m + 14, 32, "zz_shift_%d", i);
        memset(m, 0, 14);
        m[0] = 1;
        m[1] = 1; /* ID */
        m[4] = 0;
        m[5] = (uint8_t)len;
        assert_int_equal(write(fd, m, 14 + (size_t)len), 14 + len);
    }
    close(fd);
}

static void test_bus_restart(void **state)
{
    (void)state;
    int rtas = 0;
    rec rb_author = {0}, rb_val = {0};
    ms_tag *author = tag(W.a, "rs_author", MS_TYPE_INT);
    ms_tag *val = tag(W.a, "rs_val", MS_TYPE_INT);
    ms_tag_on_rta(author, rs_rta, &rtas);
    assert_int_equal(ms_tag_set_int(author, 41), 0);
    assert_int_equal(ms_tag_set_int(val, 1), 0);
    ms_tag *b_author = watched(W.b, "rs_author", MS_TYPE_INT, &rb_author);
    ms_tag *b_val = watched(W.b, "rs_val", MS_TYPE_INT, &rb_val);
    int_wait w1 = {&rb_val, 1};
    WAIT_FOR(rec_int_is, &w1, "rs_val 1 before the restart");
    uint16_t old_id = ms_tag_id(b_val);

    /* kill -9, and while it is down set three values: only the last
     * should ever reach the bus. */
    uint64_t a0 = ms_client_connects(W.a), b0 = ms_client_connects(W.b);
    kill(W.bus, SIGKILL);
    ms_test_stop_pid(W.bus, 5);
    W.bus = -1;
    for (int64_t i = 10; i <= 12; i++)
        assert_int_equal(ms_tag_set_int(val, i), 0);
    /* Let the clients notice; no assumption on when. */
    ms_test_run_until(&W.loop, flag_set, &(int){0}, 0.3);
    W.bus = ms_test_bus_start(W.port);
    assert_true(W.bus > 0);
    shift_ids(W.port, 7);

    ms_tag *const watch[] = {author, val, b_author, b_val};
    reconnect_wait rw = {a0, b0, watch, 4};
    WAIT_FOR(reconnected, &rw, "both clients to reconnect and re-register");
    print_message("rs_val id %u before the restart, %u after\n", old_id,
                  ms_tag_id(b_val));

    int_wait w12 = {&rb_val, 12};
    WAIT_FOR(rec_int_is, &w12, "the value set while the bus was down");
    for (int i = 0; i < rb_val.nints; i++)
        assert_true(rb_val.ints[i] != 10 && rb_val.ints[i] != 11);
    assert_int_equal(ms_tag_set_int(val, 13), 0);
    int_wait w13 = {&rb_val, 13};
    WAIT_FOR(rec_int_is, &w13, "values to flow again");

    /* The author re-published rs_author, so the bus forwards RTAs to it
     * again. The RTA may still race the re-publish: retry on ERR. */
    err_rec er = {0};
    ms_tag_on_rta_error(b_author, on_rta_err, &er);
    int_wait w42 = {&rb_author, 42};
    double end = ms_test_now() + WAIT;
    bool ok = false;
    while (!ok && ms_test_now() < end) {
        er.errors = 0;
        assert_int_equal(ms_tag_rta_json(b_author, "{\"please\": 42}"), 0);
        ok = ms_test_run_until(&W.loop, rec_int_is, &w42, 2.0);
    }
    assert_true(ok);
    assert_true(rtas >= 1);

    /* tagwatch kept going too. */
    ms_tag *ti = tag(W.a, "tw_i", MS_TYPE_INT);
    assert_int_equal(ms_tag_set_int(ti, 43), 0);
    WAIT_LINE("tw_i 43\n");
    int st = ms_test_stop_pid(W.tagwatch, 10);
    W.tagwatch = -1;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    rec_free(&rb_author, 1);
    rec_free(&rb_val, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exchange_types),
        cmocka_unit_test(test_rta),
        cmocka_unit_test(test_list_log_init_deadband),
        cmocka_unit_test(test_tagwatch),
        cmocka_unit_test(test_look_only),
        cmocka_unit_test(test_held_back_and_host_name),
        cmocka_unit_test(test_bus_restart),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
