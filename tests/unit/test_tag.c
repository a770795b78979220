/* Tags (src/client/tag_*.c) on a client that is not connected, fed crafted
 * bus events: typed sets and reads, clamping and deadband, JSON checks and
 * padding, the callback rules (bus values only; a SUB reply or a SET that
 * repeats the held sample is not a change; no set of the firing tag; safe
 * unwatch), own values against a SUB reply, init values, RTA handlers and
 * the queue of RTAs waiting for an id, and ERR matched to an RTA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/client_int.h"
#include "client/client_tags.h"
#include "client/tag_int.h"
#include "mscada/error.h"
#include "mscada/log.h"

/* ---- an offline client ------------------------------------------------------ */

static ms_client *offline(const ms_tagdescs *descs, bool use_init)
{
    ms_client *c = calloc(1, sizeof *c);
    assert_non_null(c);
    ms_client_config_init(&c->cfg);
    c->cfg.tagdescs = descs;
    c->cfg.use_init = use_init;
    c->state = MS_CLIENT_CONNECTING;
    ms_client_decoder_init(&c->dec, 0);
    return c;
}

static void offline_free(ms_client *c)
{
    ms_tags_free(c);
    ms_reqs_free(c);
    ms_client_decoder_free(&c->dec);
    ms_client_writer_free(&c->w);
    free(c);
}

static ms_tag *new_tag(ms_client *c, const char *name, ms_type type)
{
    ms_tag *t;
    assert_int_equal(ms_tag_new(c, name, type, &t), 0);
    return t;
}

/* The bus says: name has id. */
static void bus_id(ms_client *c, const char *name, uint16_t id)
{
    ms_client_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MS_CEV_ID;
    ev.cmd = MS_CMD_ID;
    ev.tag_id = id;
    ev.data = (const uint8_t *)name;
    ev.len = strlen(name);
    ms_client_dispatch(c, &ev);
}

/* The bus sends a SET of v (NONE: never set). */
static void bus_set(ms_client *c, uint16_t id, uint64_t time_us, ms_value v)
{
    ms_client_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MS_CEV_SET;
    ev.cmd = MS_CMD_SET;
    ev.tag_id = id;
    ev.time_us = time_us;
    ev.value = v;
    ms_client_dispatch(c, &ev);
}

typedef struct {
    int calls;
    int self_rc;
    ms_tag *other;
    int other_rc;
    bool unwatch_self;
} watch_rec;

static void on_change(ms_tag *t, void *arg)
{
    watch_rec *w = arg;
    w->calls++;
    w->self_rc = ms_tag_set_int(t, 99);
    if (w->other)
        w->other_rc = ms_tag_set_int(w->other, 5);
    if (w->unwatch_self)
        assert_int_equal(ms_tag_unwatch(t, on_change, arg), 0);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_typed_sets(void **state)
{
    (void)state;
    ms_client *c = offline(NULL, false);
    ms_tag *i = new_tag(c, "i", MS_TYPE_INT);
    ms_tag *f = new_tag(c, "f", MS_TYPE_FLOAT);
    ms_tag *s = new_tag(c, "s", MS_TYPE_STR);
    ms_tag *b = new_tag(c, "b", MS_TYPE_BYTES);
    ms_tag *j = new_tag(c, "j", MS_TYPE_JSON);
    ms_tag *any = new_tag(c, "any", MS_TYPE_NONE);
    ms_value v;
    int64_t iv;
    double fv;

    assert_int_equal(ms_tag_get(i, &v), MS_ENOENT);
    assert_false(ms_tag_has_value(i));
    assert_int_equal(ms_tag_get_int(i, &iv), MS_ENOENT);
    assert_int_equal(ms_tag_set_int(i, -5), 0);
    assert_int_equal(ms_tag_get_int(i, &iv), 0);
    assert_true(iv == -5);
    assert_true(ms_tag_is_own(i));
    assert_true(ms_tag_time_us(i) > 0);
    assert_int_equal(ms_tag_get_float(i, &fv), 0); /* INT reads as float */
    assert_int_equal(ms_tag_set_float(i, 1.5), MS_ETYPE);
    assert_int_equal(ms_tag_set_int(f, 3), 0); /* INT into FLOAT */
    assert_int_equal(ms_tag_get(f, &v), 0);
    assert_int_equal(v.type, MS_TYPE_FLOAT);
    assert_int_equal(ms_tag_get_int(f, &iv), MS_ETYPE);

    assert_int_equal(ms_tag_set_str(s, "abc"), 0);
    assert_string_equal(ms_tag_get_str(s), "abc");
    ms_value bad = ms_value_buf(MS_TYPE_STR, "\xff", 1);
    assert_int_equal(ms_tag_set(s, &bad, 0), MS_EINVAL);
    assert_string_equal(ms_tag_get_str(s), "abc");
    /* A value read from the tag itself may be set back (no overlap). */
    assert_int_equal(ms_tag_get(s, &v), 0);
    v.u.buf.ptr++;
    v.u.buf.len--;
    assert_int_equal(ms_tag_set(s, &v, 7), 0);
    assert_string_equal(ms_tag_get_str(s), "bc");
    assert_true(ms_tag_time_us(s) == 7);

    assert_int_equal(ms_tag_set_bytes(b, "\0\1", 2), 0);
    assert_int_equal(ms_tag_get(b, &v), 0);
    assert_int_equal(v.u.buf.len, 2);
    assert_null(ms_tag_get_str(b));

    assert_int_equal(ms_tag_set_json(j, "{\"a\": 1}"), 0);
    assert_string_equal(ms_tag_get_str(j), "{\"a\": 1}");
    assert_int_equal(ms_tag_set_json(j, "1"), MS_EINVAL);
    assert_int_equal(ms_tag_set_json(j, "[1,"), MS_EINVAL);
    /* A payload of exactly MAX_LEN (type byte + text) gets one space more,
     * which pymscada's reader needs. */
    size_t n = MS_FRAME_MAX_LEN - 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '[';
    big[n - 1] = ']';
    big[n] = 0;
    assert_int_equal(ms_tag_set_json(j, big), 0);
    assert_int_equal(ms_tag_get(j, &v), 0);
    assert_int_equal(v.u.buf.len, n + 1);
    assert_int_equal(v.u.buf.ptr[n], ' ');
    free(big);

    ms_value none = ms_value_none();
    assert_int_equal(ms_tag_set(any, &none, 0), MS_EINVAL);
    assert_int_equal(ms_tag_set_str(any, "x"), 0);
    assert_int_equal(ms_tag_set_int(any, 1), 0); /* untyped: any type */

    /* max_payload */
    c->cfg.max_payload = 10;
    assert_int_equal(ms_tag_set_bytes(b, "0123456789", 10), MS_ETOOBIG);

    /* Names and types. */
    ms_tag *t;
    assert_int_equal(ms_tag_new(c, "", MS_TYPE_INT, &t), MS_EINVAL);
    assert_int_equal(ms_tag_new(c, "a b", MS_TYPE_INT, &t), MS_EINVAL);
    assert_int_equal(ms_tag_new(c, "i", MS_TYPE_STR, &t), MS_ETYPE);
    assert_ptr_equal(ms_tag_find(c, "j"), j);
    assert_null(ms_tag_find(c, "nope"));
    /* An untyped tag takes the first type asked, if its value fits. */
    ms_tag *u = new_tag(c, "u", MS_TYPE_NONE);
    assert_ptr_equal(new_tag(c, "u", MS_TYPE_INT), u);
    assert_int_equal(ms_tag_type(u), MS_TYPE_INT);
    assert_int_equal(ms_tag_new(c, "any", MS_TYPE_STR, &t), MS_ETYPE);
    offline_free(c);
}

static void test_many_tags(void **state)
{
    (void)state;
    ms_client *c = offline(NULL, false);
    char name[32];
    for (int k = 0; k < 3000; k++) {
        snprintf(name, sizeof name, "t%d", k);
        ms_tag *t = new_tag(c, name, MS_TYPE_INT);
        ms_tag_set_data(t, (void *)(intptr_t)k);
        bus_id(c, name, (uint16_t)(k + 2));
    }
    for (int k = 0; k < 3000; k++) {
        snprintf(name, sizeof name, "t%d", k);
        ms_tag *t = ms_tag_find(c, name);
        assert_non_null(t);
        assert_int_equal((intptr_t)ms_tag_data(t), k);
        assert_int_equal(ms_tag_id(t), k + 2);
    }
    offline_free(c);
}

static void test_limits(void **state)
{
    (void)state;
    static const char yaml[] =
        "lim: {type: float, min: 0, max: 10, deadband: 0.5}\n"
        "mode: {multi: ['Off', Manual, Auto]}\n"
        "free: {type: float}\n";
    ms_conf_doc *doc;
    ms_conf_error err;
    ms_tagdescs descs;
    assert_int_equal(ms_conf_parse("tags.yaml", yaml, sizeof yaml - 1, &doc,
                                   &err), 0);
    assert_int_equal(ms_tagdesc_from_conf(ms_conf_root(doc), &descs, &err),
                     0);
    ms_client *c = offline(&descs, false);
    ms_tag *lim = new_tag(c, "lim", MS_TYPE_FLOAT);
    ms_tag *mode = new_tag(c, "mode", MS_TYPE_INT);
    ms_tag *fr = new_tag(c, "free", MS_TYPE_FLOAT);
    double v;
    int64_t iv;
    assert_int_equal(ms_tag_set_float(lim, 5), 0);
    assert_int_equal(ms_tag_set_float(lim, 5.4), 1); /* within 0.5 */
    assert_int_equal(ms_tag_set_float(lim, 5.5), 1); /* equal: not over */
    assert_int_equal(ms_tag_set_float(lim, 5.6), 0);
    assert_int_equal(ms_tag_set_float(lim, 1e9), 0); /* clamped to 10 */
    ms_tag_get_float(lim, &v);
    assert_true(v == 10);
    assert_int_equal(ms_tag_set_float(lim, 11), 1); /* clamped, no change */
    assert_int_equal(ms_tag_set_float(lim, 9.9), 1);
    assert_int_equal(ms_tag_set_float(lim, -1), 0);
    ms_tag_get_float(lim, &v);
    assert_true(v == 0);
    assert_int_equal(ms_tag_set_int(mode, 7), 0); /* multi: 0..2 */
    ms_tag_get_int(mode, &iv);
    assert_true(iv == 2);
    assert_int_equal(ms_tag_set_int(mode, -1), 0);
    ms_tag_get_int(mode, &iv);
    assert_true(iv == 0);
    assert_int_equal(ms_tag_set_int(mode, 0), 0); /* no deadband: always */
    assert_int_equal(ms_tag_set_float(fr, 1e300), 0);
    /* A value from the bus is taken as it is. */
    bus_id(c, "lim", 3);
    bus_set(c, 3, 1, ms_value_float(50));
    bus_set(c, 3, 2, ms_value_float(51));
    ms_tag_get_float(lim, &v);
    assert_true(v == 51);
    offline_free(c);
    ms_tagdescs_free(&descs);
    ms_conf_free(doc);
}

static void test_callback_rules(void **state)
{
    (void)state;
    ms_client *c = offline(NULL, false);
    ms_tag *t = new_tag(c, "t", MS_TYPE_INT);
    ms_tag *o = new_tag(c, "o", MS_TYPE_INT);
    watch_rec w = {0, 0, o, 0, false};
    assert_int_equal(ms_tag_watch(t, on_change, &w), 0);
    assert_int_equal(ms_tag_watch(t, on_change, &w), 0); /* once only */

    /* Own sets don't fire. */
    assert_int_equal(ms_tag_set_int(t, 1), 0);
    assert_int_equal(w.calls, 0);

    /* SUB reply with nothing: no change. */
    bus_id(c, "t", 2);
    assert_int_equal(ms_tag_id(t), 2);
    ms_tags_reset(c); /* as on a reconnect: forget our own value's claim */
    t->own = false;
    bus_id(c, "t", 2);
    bus_set(c, 2, 0, ms_value_none());
    assert_int_equal(w.calls, 0);
    /* A bus SET fires, and the callback can't set its own tag. */
    bus_set(c, 2, 100, ms_value_int(10));
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.self_rc, MS_EBUSY);
    assert_int_equal(w.other_rc, 0);
    assert_false(ms_tag_is_own(t));
    /* The same sample again (a re-publish): not a change. */
    bus_set(c, 2, 100, ms_value_int(10));
    assert_int_equal(w.calls, 1);
    /* Same value, new time: a change. */
    bus_set(c, 2, 101, ms_value_int(10));
    assert_int_equal(w.calls, 2);

    /* Reconnect: a SUB reply holding what we have is not a change; one
     * holding something else is. */
    ms_tags_reset(c);
    assert_int_equal(ms_tag_id(t), 0);
    bus_id(c, "t", 5); /* ids may change */
    bus_set(c, 5, 101, ms_value_int(10));
    assert_int_equal(w.calls, 2);
    ms_tags_reset(c);
    bus_id(c, "t", 6);
    bus_set(c, 6, 150, ms_value_int(11));
    assert_int_equal(w.calls, 3);
    /* A SET for the old id goes nowhere. */
    bus_set(c, 5, 160, ms_value_int(12));
    assert_int_equal(w.calls, 3);

    /* A value of the wrong type from the bus is ignored. */
    bus_set(c, 6, 170, ms_value_float(1.5));
    assert_int_equal(w.calls, 3);
    int64_t iv;
    ms_tag_get_int(t, &iv);
    assert_true(iv == 11);

    /* Unwatching inside the callback is safe; later changes don't call. */
    w.unwatch_self = true;
    bus_set(c, 6, 180, ms_value_int(13));
    assert_int_equal(w.calls, 4);
    bus_set(c, 6, 190, ms_value_int(14));
    assert_int_equal(w.calls, 4);
    assert_int_equal(ms_tag_unwatch(t, on_change, &w), MS_ENOENT);
    offline_free(c);
}

static void test_own_value_vs_sub_reply(void **state)
{
    (void)state;
    ms_client *c = offline(NULL, false);
    ms_tag *t = new_tag(c, "t", MS_TYPE_INT);
    watch_rec w = {0};
    ms_tag_watch(t, on_change, &w);
    assert_int_equal(ms_tag_set(t, &(ms_value){MS_TYPE_INT, {.i = 1}}, 1000),
                     0);
    /* The bus holds an older value: ours stays, still own (it would be
     * re-published when online). */
    ms_tags_reset(c);
    assert_true(t->dirty);
    bus_id(c, "t", 2);
    bus_set(c, 2, 999, ms_value_int(7));
    assert_true(ms_tag_is_own(t));
    int64_t iv;
    ms_tag_get_int(t, &iv);
    assert_true(iv == 1);
    assert_int_equal(w.calls, 0);
    /* The bus holds a newer one: it wins, and it is a change. */
    ms_tags_reset(c);
    bus_id(c, "t", 2);
    bus_set(c, 2, 2000, ms_value_int(8));
    assert_false(ms_tag_is_own(t));
    ms_tag_get_int(t, &iv);
    assert_true(iv == 8);
    assert_int_equal(w.calls, 1);
    offline_free(c);
}

static void test_init(void **state)
{
    (void)state;
    static const char yaml[] = "n: {type: float, init: 3}\n"
                               "s: {type: str, init: hello}\n";
    ms_conf_doc *doc;
    ms_conf_error err;
    ms_tagdescs descs;
    assert_int_equal(ms_conf_parse("tags.yaml", yaml, sizeof yaml - 1, &doc,
                                   &err), 0);
    assert_int_equal(ms_tagdesc_from_conf(ms_conf_root(doc), &descs, &err),
                     0);
    for (int opt = 0; opt < 2; opt++) {
        ms_client *c = offline(&descs, opt == 1);
        ms_tag *n = new_tag(c, "n", MS_TYPE_FLOAT);
        ms_tag *s = new_tag(c, "s", MS_TYPE_STR);
        watch_rec w = {0};
        ms_tag_watch(n, on_change, &w);
        bus_id(c, "n", 2);
        bus_id(c, "s", 3);
        bus_set(c, 2, 0, ms_value_none());
        bus_set(c, 3, 5, ms_value_buf(MS_TYPE_STR, "bus", 3));
        if (opt == 0) {
            assert_false(ms_tag_has_value(n));
            assert_int_equal(w.calls, 0);
        } else {
            double v;
            assert_int_equal(ms_tag_get_float(n, &v), 0);
            assert_true(v == 3);
            assert_true(ms_tag_is_own(n));
            assert_int_equal(w.calls, 1); /* init is not the program's set */
        }
        /* The bus had a value: init doesn't apply. */
        assert_string_equal(ms_tag_get_str(s), "bus");
        offline_free(c);
    }
    ms_tagdescs_free(&descs);
    ms_conf_free(doc);
}

typedef struct {
    int calls;
    char req[64];
    char err[64];
    int errs;
} rta_rec;
static void on_rta(ms_tag *t, const ms_value *req, void *arg)
{
    rta_rec *r = arg;
    r->calls++;
    snprintf(r->req, sizeof r->req, "%.*s", (int)req->u.buf.len,
             (const char *)req->u.buf.ptr);
    /* The handler may set its tag (the reply). */
    assert_int_equal(ms_tag_set_json(t, "[1]"), 0);
}
static void on_err(ms_tag *t, const char *text, void *arg)
{
    rta_rec *r = arg;
    (void)t;
    r->errs++;
    snprintf(r->err, sizeof r->err, "%s", text);
}

static void test_rta(void **state)
{
    (void)state;
    ms_client *c = offline(NULL, false);
    ms_tag *t = new_tag(c, "t", MS_TYPE_JSON);
    rta_rec r = {0};
    ms_tag_on_rta(t, on_rta, &r);
    bus_id(c, "t", 4);
    ms_client_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MS_CEV_RTA;
    ev.cmd = MS_CMD_RTA;
    ev.tag_id = 4;
    ev.value = ms_value_buf(MS_TYPE_JSON, "{\"q\": 1}", 8);
    ms_client_dispatch(c, &ev);
    assert_int_equal(r.calls, 1);
    assert_string_equal(r.req, "{\"q\": 1}");
    assert_string_equal(ms_tag_get_str(t), "[1]");
    ev.value_err = MS_EPROTO; /* malformed: not handed over */
    ms_client_dispatch(c, &ev);
    assert_int_equal(r.calls, 1);

    /* Offline: RTAs wait for the id, at most 16, the oldest dropped. */
    ms_tag *q = new_tag(c, "q", MS_TYPE_JSON);
    for (int i = 0; i < 20; i++)
        assert_int_equal(ms_tag_rta_json(q, "{}"), 0);
    assert_int_equal(q->nrtaq, MS_TAG_RTAQ_MAX);
    assert_int_equal(ms_tag_rta_json(q, "{"), MS_EINVAL);
    ms_value none = ms_value_none();
    assert_int_equal(ms_tag_rta(q, &none), MS_EINVAL);
    bus_id(c, "q", 9); /* sent (here: nowhere) once the id is known */
    assert_int_equal(q->nrtaq, 0);

    /* An ERR carrying an RTA's tag_id and time_us reaches its tag. Up, with
     * no connection: what is sent stays in the writer's queue. */
    ms_tag_on_rta_error(q, on_err, &r);
    c->state = MS_CLIENT_CONNECTED;
    ms_client_writer_up(&c->w, NULL);
    assert_int_equal(ms_tag_rta_json(q, "{}"), 0);
    assert_true(ms_buf_size(&c->w.out) > 0);
    memset(&ev, 0, sizeof ev);
    ev.kind = MS_CEV_ERR;
    ev.cmd = MS_CMD_ERR;
    ev.tag_id = 9;
    ev.time_us = c->w.stamp; /* the RTA's */
    ev.data = (const uint8_t *)"RTA q: no author";
    ev.len = 16;
    ms_client_dispatch(c, &ev);
    assert_int_equal(r.errs, 1);
    assert_string_equal(r.err, "RTA q: no author");
    ms_client_dispatch(c, &ev); /* matched once only: now just logged */
    assert_int_equal(r.errs, 1);
    offline_free(c);
}

typedef struct {
    int calls, status;
    size_t n;
    char first[16];
} list_rec;
static void on_list(ms_client *c, int status, const char *const *names,
                    size_t n, void *arg)
{
    list_rec *l = arg;
    (void)c;
    l->calls++;
    l->status = status;
    l->n = n;
    if (n)
        snprintf(l->first, sizeof l->first, "%s", names[0]);
}

static void on_id(ms_tag *t, void *arg)
{
    uint16_t *seen = arg;
    *seen = ms_tag_id(t);
}

/* ms_tag_on_id: called with the new id on each ID answer, not for a repeat
 * of the same id, not once removed. */
static void test_on_id(void **state)
{
    (void)state;
    ms_client *c = offline(NULL, false);
    ms_tag *t = new_tag(c, "t", MS_TYPE_INT);
    uint16_t seen = 0;
    ms_tag_on_id(t, on_id, &seen);
    bus_id(c, "t", 7);
    assert_int_equal(seen, 7);
    seen = 0;
    bus_id(c, "t", 7);
    assert_int_equal(seen, 0);
    ms_tags_reset(c); /* a reconnect: the bus may give another id */
    bus_id(c, "t", 9);
    assert_int_equal(seen, 9);
    ms_tag_on_id(t, NULL, NULL);
    ms_tags_reset(c);
    seen = 0;
    bus_id(c, "t", 3);
    assert_int_equal(seen, 0);
    assert_int_equal(ms_tag_id(t), 3);
    offline_free(c);
}

static void test_list_matching(void **state)
{
    (void)state;
    ms_client *c = offline(NULL, false);
    list_rec a = {0}, b = {0};
    /* ms_client_list needs a connection: queue the requests by hand. */
    c->reqs.lists = calloc(2, sizeof *c->reqs.lists);
    c->reqs.alists = 2;
    c->reqs.lists[0] = (ms_req_list){10, on_list, &a};
    c->reqs.lists[1] = (ms_req_list){20, on_list, &b};
    c->reqs.nlists = 2;
    ms_client_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MS_CEV_LIST;
    ev.cmd = MS_CMD_LIST;
    ev.time_us = 20;
    ev.data = (const uint8_t *)"x yy";
    ev.len = 4;
    ms_client_dispatch(c, &ev);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.first, "x");
    assert_int_equal(a.calls, 0);
    ms_reqs_fail(c, MS_ECLOSED);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, MS_ECLOSED);
    offline_free(c);
}

int main(void)
{
    ms_log_setup("test_tag", MS_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typed_sets),
        cmocka_unit_test(test_many_tags),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_callback_rules),
        cmocka_unit_test(test_own_value_vs_sub_reply),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_rta),
        cmocka_unit_test(test_list_matching),
        cmocka_unit_test(test_on_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
