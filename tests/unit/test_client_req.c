/* The bus client's requests (src/client/client_req.c) against the bus's
 * own core (src/bus/bus_core.c) in this process, no sockets: what the
 * client's writer queues is fed to a core connection, and what the core
 * queues back is decoded and dispatched to the client, until both are
 * quiet. Checked: the ring of RTAs sent lately wraps around many times and
 * every ERR still reaches the tag whose RTA it refuses, in order; with more
 * RTAs outstanding than the ring holds, only the latest are matched; LIST
 * patterns (^prefix, suffix$, part, empty = "set since") each get their
 * own answer, several pending LISTs answered in the order asked, and an
 * answer nobody asked for reaches nobody. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus/bus_core.h"
#include "client/client_int.h"
#include "client/client_req.h"
#include "client/client_tags.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

/* ---- a client wired to a core ------------------------------------------- */

typedef struct {
    ms_client *c;
    ms_bus_core core;
    ms_bus_conn *bc; /* the client's connection, as the core sees it */
} rig;

static void rig_init(rig *r)
{
    r->c = calloc(1, sizeof *r->c);
    assert_non_null(r->c);
    ms_client_config_init(&r->c->cfg);
    r->c->state = MS_CLIENT_CONNECTED;
    ms_client_decoder_init(&r->c->dec, 0);
    /* Up with no connection: the writer's queue is read here. */
    ms_client_writer_up(&r->c->w, NULL);
    ms_bus_limits lim = {0, 1u << 20, 64u << 20};
    assert_int_equal(ms_bus_core_init(&r->core, &lim), 0);
    assert_int_equal(ms_bus_core_start(&r->core), 0);
    r->bc = ms_bus_core_conn_new(&r->core, "test", NULL,
                                 &ms_bus_proto_frames);
    assert_non_null(r->bc);
}

static void rig_free(rig *r)
{
    ms_bus_core_free(&r->core);
    ms_tags_free(r->c);
    ms_reqs_free(r->c);
    ms_client_decoder_free(&r->c->dec);
    ms_client_writer_free(&r->c->w);
    free(r->c);
}

/* Carries each side's output to the other until neither has any. */
static void pump(rig *r)
{
    for (int turns = 0;; turns++) {
        assert_true(turns < 100); /* a request loop would never end */
        ms_buf *out = &r->c->w.out;
        ms_buf *back = &r->bc->out;
        if (!ms_buf_size(out) && !ms_buf_size(back))
            return;
        if (ms_buf_size(out)) {
            size_t used;
            assert_int_equal(ms_bus_core_input(r->bc, ms_buf_head(out),
                                               ms_buf_size(out), &used),
                             0);
            assert_int_equal(used, ms_buf_size(out));
            ms_buf_consume(out, used);
        }
        while (ms_bus_core_pop_pending(&r->core))
            ;
        assert_false(r->bc->closing);
        size_t off = 0, len = ms_buf_size(back);
        for (;;) {
            size_t used;
            ms_client_event ev;
            int rc = ms_client_decoder_next(&r->c->dec,
                                            ms_buf_head(back) + off,
                                            len - off, &used, &ev);
            off += used;
            assert_true(rc >= 0);
            if (rc == 0)
                break;
            ms_client_dispatch(r->c, &ev);
        }
        assert_int_equal(off, len);
        ms_buf_consume(back, off);
    }
}

static ms_tag *tag_new(rig *r, const char *name)
{
    ms_tag *t;
    assert_int_equal(ms_tag_new(r->c, name, MS_TYPE_NONE, &t), 0);
    return t;
}

/* ---- RTA refusals ---------------------------------------------------------- */

#define NTAGS 100

typedef struct {
    ms_tag *tags[NTAGS];
    int got[4 * NTAGS]; /* the index of the tag of each refusal, in order */
    char text[4 * NTAGS][64];
    int ngot;
} refusals;

static void on_refused(ms_tag *t, const char *text, void *arg)
{
    refusals *f = arg;
    int i = 0;
    while (i < NTAGS && f->tags[i] != t)
        i++;
    assert_true(i < NTAGS);
    assert_true(f->ngot < 4 * NTAGS);
    snprintf(f->text[f->ngot], sizeof f->text[0], "%s", text);
    f->got[f->ngot++] = i;
}

/* Tags nobody has set: an RTA to them is refused ("no author"). */
static void refusal_tags(rig *r, refusals *f)
{
    for (int i = 0; i < NTAGS; i++) {
        char name[16];
        snprintf(name, sizeof name, "rta%02d", i);
        f->tags[i] = tag_new(r, name);
        ms_tag_on_rta_error(f->tags[i], on_refused, f);
    }
    pump(r);
    for (int i = 0; i < NTAGS; i++)
        assert_int_not_equal(ms_tag_id(f->tags[i]), 0);
}

static int rtas_answered;
static void on_rta(ms_tag *t, const ms_value *req, void *arg)
{
    (void)t;
    (void)req;
    (void)arg;
    rtas_answered++;
}

static void test_rta_ring_wraps(void **state)
{
    (void)state;
    rig r;
    rig_init(&r);
    refusals *f = calloc(1, sizeof *f);
    assert_non_null(f);
    refusal_tags(&r, f);
    /* One tag we author: RTAs to it come back to us as requests, get no
     * ERR, and so leave their ring slots stale until they are reused. */
    ms_tag *mine = tag_new(&r, "mine");
    pump(&r);
    assert_int_equal(ms_tag_set_int(mine, 1), 0);
    ms_tag_on_rta(mine, on_rta, NULL);
    pump(&r);
    rtas_answered = 0;

    /* 10 rounds of 30 refused RTAs and 10 answered ones: 400 through a
     * ring of 64, never more than 40 outstanding. */
    int sent = 0;
    uint64_t last = 0; /* the stamp of the last refused RTA */
    for (int round = 0; round < 10; round++) {
        int before = f->ngot;
        for (int k = 0; k < 40; k++) {
            if (k % 4 == 3) {
                assert_int_equal(ms_tag_rta_json(mine, "{}"), 0);
                continue;
            }
            assert_int_equal(
                ms_tag_rta_json(f->tags[sent % NTAGS], "{}"), 0);
            last = r.c->w.stamp;
            sent++;
        }
        pump(&r);
        assert_int_equal(f->ngot - before, 30);
        for (int k = 0; k < 30; k++) {
            int want = (sent - 30 + k) % NTAGS;
            char name[64];
            snprintf(name, sizeof name, "RTA rta%02d: no author", want);
            assert_int_equal(f->got[before + k], want);
            assert_memory_equal(f->text[before + k], name, strlen(name));
        }
        f->ngot = 0;
    }
    assert_int_equal(rtas_answered, 100);

    /* An ERR matches once: the same refusal again reaches nobody. */
    ms_client_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MS_CEV_ERR;
    ev.cmd = MS_CMD_ERR;
    ev.tag_id = ms_tag_id(f->tags[(sent - 1) % NTAGS]);
    ev.time_us = last;
    ev.data = (const uint8_t *)"again";
    ev.len = 5;
    ms_client_dispatch(r.c, &ev);
    assert_int_equal(f->ngot, 0);

    /* The tag id alone is not enough: an ERR with another time_us than the
     * RTA outstanding on that tag reaches nobody; the real one does. */
    assert_int_equal(ms_tag_rta_json(f->tags[0], "{}"), 0);
    ev.tag_id = ms_tag_id(f->tags[0]);
    ev.time_us = r.c->w.stamp - 1;
    ms_client_dispatch(r.c, &ev);
    assert_int_equal(f->ngot, 0);
    pump(&r);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0], 0);
    free(f);
    rig_free(&r);
}

static void test_rta_ring_overrun(void **state)
{
    (void)state;
    rig r;
    rig_init(&r);
    refusals *f = calloc(1, sizeof *f);
    assert_non_null(f);
    refusal_tags(&r, f);
    /* More outstanding than the ring holds: the oldest are forgotten (their
     * ERRs are only logged), the latest MS_REQ_RTA_RING each reach their
     * own tag, in order. */
    for (int i = 0; i < NTAGS; i++)
        assert_int_equal(ms_tag_rta_json(f->tags[i], "{}"), 0);
    pump(&r);
    assert_int_equal(f->ngot, MS_REQ_RTA_RING);
    for (int k = 0; k < MS_REQ_RTA_RING; k++)
        assert_int_equal(f->got[k], NTAGS - MS_REQ_RTA_RING + k);
    free(f);
    rig_free(&r);
}

/* ---- LIST ------------------------------------------------------------------ */

typedef struct {
    int order;      /* when it was answered (1, 2, ...) */
    int status;
    char names[256]; /* joined by spaces */
} list_rec;

static int answers;
static void on_list(ms_client *c, int status, const char *const *names,
                    size_t n, void *arg)
{
    list_rec *l = arg;
    (void)c;
    assert_int_equal(l->order, 0); /* answered once */
    l->order = ++answers;
    l->status = status;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(l->names);
        snprintf(l->names + k, sizeof l->names - k, "%s%s", k ? " " : "",
                 names[i]);
    }
}

static void test_list_patterns(void **state)
{
    (void)state;
    rig r;
    rig_init(&r);
    /* Tag ids follow creation order, and so do the names in an answer. */
    const char *names[] = {"abc", "abcx", "xabc", "xabcx", "ab", "other"};
    ms_tag *t[6];
    for (int i = 0; i < 6; i++)
        t[i] = tag_new(&r, names[i]);
    pump(&r);
    /* Two set in the future, so that "set since" picks them alone (the
     * bus's own __bus__ was set now). */
    uint64_t now = ms_time_now_us();
    ms_value v = ms_value_int(1);
    assert_int_equal(ms_tag_set(t[1], &v, now + 1000000000), 0);
    assert_int_equal(ms_tag_set(t[5], &v, now + 2000000000), 0);
    pump(&r);

    struct {
        const char *pattern;
        uint64_t since;
        const char *want;
    } q[] = {
        {"^abc", 0, "abc abcx"},
        {"abc$", 0, "abc xabc"},
        {"abc", 0, "abc abcx xabc xabcx"},
        {"zzz", 0, ""},
        {"^abc", 0, "abc abcx"},          /* the same again: its own answer */
        {NULL, now + 1500000000, "other"}, /* set after since */
        {"", now, "abcx other"},
        {"x$", 0, "abcx xabcx"},
        {"^", 0, "__bus__ abc abcx xabc xabcx ab other"},
    };
    enum { NQ = sizeof q / sizeof q[0] };
    list_rec rec[NQ];
    memset(rec, 0, sizeof rec);
    answers = 0;
    /* All pending at once: one pump answers them all. */
    for (int i = 0; i < NQ; i++)
        assert_int_equal(ms_client_list(r.c, q[i].pattern, q[i].since,
                                        on_list, &rec[i]),
                         0);
    assert_int_equal(r.c->reqs.nlists, NQ);
    pump(&r);
    assert_int_equal(answers, NQ);
    assert_int_equal(r.c->reqs.nlists, 0);
    for (int i = 0; i < NQ; i++) {
        assert_int_equal(rec[i].order, i + 1);
        assert_int_equal(rec[i].status, 0);
        assert_string_equal(rec[i].names, q[i].want);
    }

    /* An answer nobody asked for reaches nobody; a pending one still gets
     * its own. */
    list_rec late = {0};
    answers = 0;
    assert_int_equal(ms_client_list(r.c, "^ab", 0, on_list, &late), 0);
    ms_client_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MS_CEV_LIST;
    ev.cmd = MS_CMD_LIST;
    ev.time_us = 1; /* no request has it */
    ev.data = (const uint8_t *)"stray";
    ev.len = 5;
    ms_client_dispatch(r.c, &ev);
    assert_int_equal(late.order, 0);
    pump(&r);
    assert_int_equal(late.order, 1);
    assert_string_equal(late.names, "abc abcx ab");

    /* Offline, a LIST is refused at once; pending ones get the status. */
    list_rec lost = {0};
    answers = 0;
    assert_int_equal(ms_client_list(r.c, "abc", 0, on_list, &lost), 0);
    ms_reqs_fail(r.c, MS_ECLOSED);
    assert_int_equal(lost.status, MS_ECLOSED);
    ms_client_writer_down(&r.c->w);
    assert_int_equal(ms_client_list(r.c, "abc", 0, on_list, &lost),
                     MS_ECLOSED);
    rig_free(&r);
}

int main(void)
{
    ms_log_setup("test_client_req", MS_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rta_ring_wraps),
        cmocka_unit_test(test_rta_ring_overrun),
        cmocka_unit_test(test_list_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
