/* The pure core of the Modbus client transport (mb_session.c): round-robin
 * per unit, max_in_flight, tid matching (answers out of order, split into
 * single bytes), retries with a new tid (a late answer to the old one is
 * ignored), a down unit refused until its probe, exceptions, answers that
 * do not fit, a garbled stream, and failing everything on a disconnect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "modbus/link/mb_session.h"
#include "mscada/error.h"

#define S 1000000000ull

typedef struct {
    int n;
    int status[32];
    uint8_t unit[32];
    uint16_t addr[32];
    uint16_t reg0[32];
} record;

static void on_done(int status, uint8_t unit, const ms_mb_request *req,
                    const ms_mb_response *rsp, void *arg)
{
    record *r = arg;
    assert_true(r->n < 32);
    r->status[r->n] = status;
    r->unit[r->n] = unit;
    r->addr[r->n] = req->addr;
    r->reg0[r->n] = status == 0 && rsp && rsp->nbytes >= 2
                        ? ms_mb_reg_get(rsp->data, 0) : 0;
    r->n++;
}

static ms_mb_request rd(uint16_t addr, uint16_t count)
{
    ms_mb_request q;
    memset(&q, 0, sizeof q);
    q.fc = MS_MB_READ_HOLDING_REGISTERS;
    q.addr = addr;
    q.count = count;
    return q;
}

/* The ADUs a take produced: tid, unit and request of each. */
typedef struct {
    uint16_t tid;
    uint8_t unit;
    ms_mb_request req;
} sent;

static int parse_sent(ms_buf *out, sent *v, int max)
{
    int n = 0;
    while (ms_buf_size(out)) {
        ms_mb_adu adu;
        int rc = ms_mb_adu_decode(MS_MB_FRAMING_MBAP, MS_MB_REQUEST,
                                  ms_buf_head(out), ms_buf_size(out), &adu);
        assert_true(rc > 0);
        assert_true(n < max);
        v[n].tid = adu.tid;
        v[n].unit = adu.unit;
        assert_int_equal(ms_mb_request_decode(adu.pdu, adu.pdu_len,
                                              &v[n].req), 0);
        n++;
        ms_buf_consume(out, (size_t)rc);
    }
    return n;
}

/* An answer to a read of count registers, each holding base + i. */
static size_t answer(const sent *q, uint16_t base, uint8_t *buf, size_t cap)
{
    uint8_t regs[250];
    for (unsigned i = 0; i < q->req.count; i++)
        ms_mb_reg_set(regs, i, (uint16_t)(base + i));
    ms_mb_response r;
    memset(&r, 0, sizeof r);
    r.fc = q->req.fc;
    r.data = regs;
    r.nbytes = 2u * q->req.count;
    int n = ms_mb_response_frame(MS_MB_FRAMING_MBAP, q->tid, q->unit, &r, buf,
                                 cap);
    assert_true(n > 0);
    return (size_t)n;
}

static void feed_all(ms_mb_session *s, uint64_t now, const uint8_t *b,
                     size_t n)
{
    size_t used;
    assert_int_equal(ms_mb_session_feed(s, now, b, n, &used), 0);
    assert_int_equal(used, n);
}

static void test_round_robin(void **state)
{
    (void)state;
    ms_mb_session s;
    ms_buf out = {0};
    record r = {0};
    ms_mb_session_init(&s, MS_MB_FRAMING_MBAP, 1, 1.0, 1, 5.0, "t");
    for (int i = 0; i < 3; i++) {
        ms_mb_request q = rd((uint16_t)(10 + i), 1);
        assert_int_equal(ms_mb_session_submit(&s, 0, 1, &q, on_done, &r), 0);
    }
    ms_mb_request q = rd(99, 1);
    assert_int_equal(ms_mb_session_submit(&s, 0, 2, &q, on_done, &r), 0);
    /* One at a time; unit 2 goes second, not after all of unit 1. */
    uint8_t order[4];
    for (int k = 0; k < 4; k++) {
        assert_int_equal(ms_mb_session_take(&s, 0, &out), 1);
        assert_int_equal(ms_mb_session_take(&s, 0, &out), 0);
        sent v[4];
        assert_int_equal(parse_sent(&out, v, 4), 1);
        order[k] = v[0].unit;
        uint8_t b[300];
        feed_all(&s, 1, b, answer(&v[0], 7, b, sizeof b));
    }
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 1);
    assert_int_equal(order[3], 1);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.addr[0], 10);
    assert_int_equal(r.addr[1], 99);
    assert_int_equal(r.addr[2], 11);
    for (int k = 0; k < 4; k++)
        assert_int_equal(r.status[k], 0);
    assert_int_equal(s.stats.requests, 4);
    assert_int_equal(s.stats.responses, 4);
    ms_buf_free(&out);
}

static void test_pipelined_out_of_order_split(void **state)
{
    (void)state;
    ms_mb_session s;
    ms_buf out = {0};
    record r = {0};
    ms_mb_session_init(&s, MS_MB_FRAMING_MBAP, 3, 1.0, 1, 5.0, "t");
    for (int i = 0; i < 5; i++) {
        ms_mb_request q = rd((uint16_t)(100 * i), 2);
        assert_int_equal(ms_mb_session_submit(&s, 0, 1, &q, on_done, &r), 0);
    }
    /* Never more than max_in_flight. */
    assert_int_equal(ms_mb_session_take(&s, 0, &out), 3);
    assert_int_equal(ms_mb_session_take(&s, 0, &out), 0);
    sent v[3];
    assert_int_equal(parse_sent(&out, v, 3), 3);
    assert_true(v[0].tid != v[1].tid && v[1].tid != v[2].tid);
    /* Answers in reverse order, glued together, fed one byte at a time. */
    uint8_t b[1000];
    size_t n = 0;
    for (int i = 2; i >= 0; i--)
        n += answer(&v[i], (uint16_t)(1000 + v[i].req.addr), b + n,
                    sizeof b - n);
    size_t have = 0, start = 0;
    for (size_t k = 0; k < n; k++) {
        have++;
        size_t used;
        assert_int_equal(ms_mb_session_feed(&s, 1, b + start, have, &used), 0);
        start += used;
        have -= used;
    }
    assert_int_equal(have, 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.addr[0], 200);
    assert_int_equal(r.reg0[0], 1200);
    assert_int_equal(r.addr[2], 0);
    assert_int_equal(r.reg0[2], 1000);
    /* The slots came free: the other two go now. */
    assert_int_equal(ms_mb_session_take(&s, 2, &out), 2);
    ms_mb_session_fail_all(&s, MS_ECLOSED);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.status[3], MS_ECLOSED);
    assert_int_equal(r.status[4], MS_ECLOSED);
    ms_buf_free(&out);
}

static void test_timeout_retry_down_probe(void **state)
{
    (void)state;
    ms_mb_session s;
    ms_buf out = {0};
    record r = {0};
    ms_mb_session_init(&s, MS_MB_FRAMING_MBAP, 1, 1.0, 1, 5.0, "t");
    ms_mb_request q = rd(5, 1);
    assert_int_equal(ms_mb_session_submit(&s, 0, 9, &q, on_done, &r), 0);
    assert_int_equal(ms_mb_session_submit(&s, 0, 9, &q, on_done, &r), 0);
    assert_int_equal(ms_mb_session_take(&s, 0, &out), 1);
    sent first[1];
    assert_int_equal(parse_sent(&out, first, 1), 1);
    assert_int_equal(ms_mb_session_deadline(&s), S);
    ms_mb_session_expire(&s, S - 1);
    assert_int_equal(r.n, 0);
    ms_mb_session_expire(&s, S);
    assert_int_equal(r.n, 0); /* retried, not failed */
    assert_int_equal(ms_mb_session_take(&s, S, &out), 1);
    sent second[1];
    assert_int_equal(parse_sent(&out, second, 1), 1);
    assert_true(second[0].tid != first[0].tid);
    assert_int_equal(second[0].req.addr, 5);
    /* The late answer to the first try matches nothing now. */
    uint8_t b[300];
    feed_all(&s, S + 1, b, answer(&first[0], 1, b, sizeof b));
    assert_int_equal(r.n, 0);
    assert_int_equal(s.stale, 1);
    /* The retry times out too: it fails, and so does the one queued
     * behind it; the unit is down. */
    ms_mb_session_expire(&s, 2 * S);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.status[0], MS_ETIMEDOUT);
    assert_int_equal(r.status[1], MS_ETIMEDOUT);
    assert_true(s.units[9].down);
    assert_int_equal(s.stats.timeouts, 2);
    /* Other units are unaffected; the down one waits for its probe. */
    assert_int_equal(ms_mb_session_submit(&s, 2 * S, 9, &q, on_done, &r),
                     MS_EDOWN);
    assert_int_equal(ms_mb_session_submit(&s, 2 * S, 8, &q, on_done, &r), 0);
    assert_int_equal(ms_mb_session_submit(&s, 7 * S, 9, &q, on_done, &r), 0);
    assert_int_equal(ms_mb_session_submit(&s, 7 * S, 9, &q, on_done, &r),
                     MS_EDOWN);
    /* Both go, one at a time; the probe is answered: up again. */
    for (int k = 0; k < 2; k++) {
        assert_int_equal(ms_mb_session_take(&s, 7 * S, &out), 1);
        sent v[1];
        assert_int_equal(parse_sent(&out, v, 1), 1);
        feed_all(&s, 7 * S, b, answer(&v[0], (uint16_t)(v[0].unit * 10), b,
                                      sizeof b));
    }
    assert_false(s.units[9].down);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.status[2], 0);
    assert_int_equal(r.status[3], 0);
    assert_int_equal(r.reg0[2] + r.reg0[3], 170);
    ms_buf_free(&out);
}

static void test_exception_mismatch_garbage(void **state)
{
    (void)state;
    ms_mb_session s;
    ms_buf out = {0};
    record r = {0};
    ms_mb_session_init(&s, MS_MB_FRAMING_MBAP, 4, 1.0, 1, 5.0, "t");
    ms_mb_request q = rd(0, 3);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ms_mb_session_submit(&s, 0, 1, &q, on_done, &r), 0);
    assert_int_equal(ms_mb_session_take(&s, 0, &out), 4);
    sent v[4];
    assert_int_equal(parse_sent(&out, v, 4), 4);
    uint8_t b[300];
    /* An exception. */
    ms_mb_response e;
    memset(&e, 0, sizeof e);
    e.fc = 3;
    e.exception = 2;
    int n = ms_mb_response_frame(MS_MB_FRAMING_MBAP, v[0].tid, 1, &e, b,
                                 sizeof b);
    feed_all(&s, 1, b, (size_t)n);
    assert_int_equal(r.status[0], ms_mb_exc_err(3, 2));
    /* Two registers for a read of three. */
    sent w = v[1];
    w.req.count = 2;
    feed_all(&s, 1, b, answer(&w, 0, b, sizeof b));
    assert_int_equal(r.status[1], MS_EPROTO);
    /* The wrong unit. */
    w = v[2];
    w.unit = 2;
    feed_all(&s, 1, b, answer(&w, 0, b, sizeof b));
    assert_int_equal(r.status[2], MS_EPROTO);
    /* A protocol id that is not 0: the stream can't be trusted. */
    n = (int)answer(&v[3], 0, b, sizeof b);
    b[3] = 1;
    size_t used;
    assert_int_equal(ms_mb_session_feed(&s, 1, b, (size_t)n, &used),
                     MS_EPROTO);
    assert_int_equal(r.n, 3);
    ms_mb_session_close(&s);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.status[3], MS_ECLOSED);
    assert_int_equal(ms_mb_session_submit(&s, 0, 1, &q, on_done, &r),
                     MS_ECLOSED);
    assert_int_equal(s.stats.errors, 4);
    ms_buf_free(&out);
}

static void test_bad_request_refused(void **state)
{
    (void)state;
    ms_mb_session s;
    record r = {0};
    ms_mb_session_init(&s, MS_MB_FRAMING_MBAP, 1, 1.0, 1, 5.0, "t");
    ms_mb_request q = rd(0, 126);
    assert_int_equal(ms_mb_session_submit(&s, 0, 1, &q, on_done, &r),
                     MS_ERANGE);
    assert_int_equal(s.queued, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_pipelined_out_of_order_split),
        cmocka_unit_test(test_timeout_retry_down_probe),
        cmocka_unit_test(test_exception_mismatch_garbage),
        cmocka_unit_test(test_bad_request_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
