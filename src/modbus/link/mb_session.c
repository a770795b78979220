/* The pure core of a Modbus client connection: queues, tids, matching,
 * timeouts and retries (see mb_session.h). */
#include <stdlib.h>
#include <string.h>

#include "core/htab.h"
#include "modbus/link/mb_session.h"
#include "mscada/error.h"
#include "mscada/log.h"

void ms_mb_session_init(ms_mb_session *s, ms_mb_framing f,
                        unsigned max_in_flight, double timeout_s,
                        unsigned retries, double probe_every_s,
                        const char *peer)
{
    memset(s, 0, sizeof *s);
    s->framing = f;
    /* RTU frames carry no transaction id: only one can be matched. */
    if (f != MS_MB_FRAMING_MBAP || max_in_flight < 1)
        max_in_flight = 1;
    if (max_in_flight > MS_MB_IN_FLIGHT_MAX)
        max_in_flight = MS_MB_IN_FLIGHT_MAX;
    s->max_in_flight = max_in_flight;
    s->retries = retries > 100 ? 100 : retries;
    s->timeout_ns = (uint64_t)(timeout_s * 1e9);
    if (!s->timeout_ns)
        s->timeout_ns = 1;
    s->probe_every_ns = (uint64_t)(probe_every_s * 1e9);
    s->peer = peer ? peer : "modbus";
}

/* ---- queues --------------------------------------------------------------- */

static void ring_push(ms_mb_session *s, uint8_t unit)
{
    ms_mb_unitq *u = &s->units[unit];
    if (u->in_ring)
        return;
    u->in_ring = true;
    s->ring[(s->ring_head + s->ring_len) % 256] = unit;
    s->ring_len++;
}

static void queue_back(ms_mb_session *s, ms_mb_txn *t)
{
    ms_mb_unitq *u = &s->units[t->unit];
    t->next = NULL;
    if (u->tail)
        u->tail->next = t;
    else
        u->head = t;
    u->tail = t;
    s->queued++;
    ring_push(s, t->unit);
}

/* A retry goes before the unit's other requests: order per unit holds. */
static void queue_front(ms_mb_session *s, ms_mb_txn *t)
{
    ms_mb_unitq *u = &s->units[t->unit];
    t->next = u->head;
    u->head = t;
    if (!u->tail)
        u->tail = t;
    s->queued++;
    ring_push(s, t->unit);
}

static ms_mb_txn *queue_pop(ms_mb_session *s, uint8_t unit)
{
    ms_mb_unitq *u = &s->units[unit];
    ms_mb_txn *t = u->head;
    if (t) {
        u->head = t->next;
        if (!u->head)
            u->tail = NULL;
        t->next = NULL;
        s->queued--;
    }
    return t;
}

static void unit_set_up(ms_mb_session *s, uint8_t unit, bool up)
{
    ms_mb_unitq *u = &s->units[unit];
    if (u->down == !up)
        return;
    u->down = !up;
    if (s->on_unit)
        s->on_unit(s, unit, up, s->arg);
}

/* Ends a request that is in neither a queue nor the in-flight table. */
static void finish(ms_mb_session *s, ms_mb_txn *t, int status,
                   const ms_mb_response *rsp)
{
    if (status) {
        s->stats.errors++;
        s->stats.last_error = status;
    }
    ms_mb_request req = t->req;
    /* Hand the caller its payload back, as submitted. */
    if (req.fc == MS_MB_WRITE_MULTIPLE_COILS ||
        req.fc == MS_MB_WRITE_MULTIPLE_REGISTERS)
        req.data = t->pdu + 6;
    else if (req.fc == MS_MB_READ_WRITE_REGISTERS)
        req.data = t->pdu + 10;
    ms_mb_done_cb cb = t->cb;
    void *arg = t->arg;
    uint8_t unit = t->unit;
    if (cb)
        cb(status, unit, &req, rsp, arg);
    free(t);
}

static void inflight_remove(ms_mb_session *s, unsigned i)
{
    ms_mb_txn *t = s->inflight[i];
    s->inflight[i] = s->inflight[--s->ninflight];
    s->inflight[s->ninflight] = NULL;
    s->units[t->unit].inflight--;
}

/* ---- public --------------------------------------------------------------- */

int ms_mb_session_submit(ms_mb_session *s, uint64_t now_ns, uint8_t unit,
                         const ms_mb_request *req, ms_mb_done_cb cb,
                         void *arg)
{
    if (s->closed)
        return MS_ECLOSED;
    ms_mb_unitq *u = &s->units[unit];
    bool probe = false;
    if (u->down) {
        if (u->inflight || u->head || now_ns < u->probe_ns)
            return MS_EDOWN;
        probe = true;
    }
    if (s->queued >= MS_MB_SESSION_QUEUE_MAX)
        return MS_EFULL;
    ms_mb_txn *t = malloc(sizeof *t);
    if (!t)
        return MS_ENOMEM;
    int n = ms_mb_request_encode(req, t->pdu, sizeof t->pdu);
    if (n < 0) {
        free(t);
        return n;
    }
    t->pdu_len = (uint16_t)n;
    t->req = *req;
    t->req.data = NULL;
    t->unit = unit;
    t->tries = 0;
    t->tid = 0;
    t->probe = probe;
    t->sent_ns = t->deadline_ns = 0;
    t->cb = cb;
    t->arg = arg;
    if (probe)
        u->probe_ns = now_ns + s->probe_every_ns;
    queue_back(s, t);
    s->stats.requests++;
    return 0;
}

static bool tid_in_use(const ms_mb_session *s, uint16_t tid)
{
    for (unsigned i = 0; i < s->ninflight; i++)
        if (s->inflight[i]->tid == tid)
            return true;
    return false;
}

int ms_mb_session_take(ms_mb_session *s, uint64_t now_ns, ms_buf *out)
{
    int n = 0;
    size_t head = ms_mb_adu_head(s->framing);
    size_t tail = ms_mb_adu_tail(s->framing);
    while (!s->closed && s->ninflight < s->max_in_flight && s->ring_len) {
        uint8_t unit = s->ring[s->ring_head];
        s->ring_head = (s->ring_head + 1) % 256;
        s->ring_len--;
        s->units[unit].in_ring = false;
        ms_mb_txn *t = queue_pop(s, unit);
        if (!t)
            continue;
        if (s->units[unit].head)
            ring_push(s, unit); /* to the back: the next unit goes first */
        uint8_t *p = ms_buf_reserve(out, head + t->pdu_len + tail);
        if (!p) {
            queue_front(s, t);
            return n ? n : MS_ENOMEM;
        }
        do
            s->next_tid++;
        while (tid_in_use(s, s->next_tid));
        t->tid = s->next_tid;
        memcpy(p + head, t->pdu, t->pdu_len);
        int len = ms_mb_adu_wrap(s->framing, t->tid, unit, p, t->pdu_len);
        ms_buf_commit(out, (size_t)len);
        t->tries++;
        t->sent_ns = now_ns;
        t->deadline_ns = now_ns + s->timeout_ns;
        s->inflight[s->ninflight++] = t;
        s->units[unit].inflight++;
        n++;
    }
    return n;
}

static int find_inflight(const ms_mb_session *s, const ms_mb_adu *adu)
{
    if (s->framing != MS_MB_FRAMING_MBAP)
        return s->ninflight ? 0 : -1;
    for (unsigned i = 0; i < s->ninflight; i++)
        if (s->inflight[i]->tid == adu->tid)
            return (int)i;
    return -1;
}

/* An answer that does not fit its request. A device that answers one
 * request wrong does so at every poll: each kind (request and answer
 * shape) is a warning once, then debug lines; the caller counts them. */
static void log_misfit(ms_mb_session *s, const ms_mb_txn *t,
                       const ms_mb_adu *adu)
{
    unsigned bc = adu->pdu_len > 1 ? adu->pdu[1] : 0; /* a byte count */
    uint64_t k[2] = {(uint64_t)t->unit << 56 | (uint64_t)t->req.fc << 48 |
                         (uint64_t)t->req.addr << 32 | t->req.count,
                     (uint64_t)adu->unit << 32 | (uint64_t)bc << 24 |
                         adu->pdu_len};
    uint64_t key = ms_hash_bytes(k, sizeof k);
    bool seen = false;
    for (unsigned i = 0; i < s->nmisfit && !seen; i++)
        seen = s->misfit[i] == key;
    if (!seen) {
        /* the oldest kind makes room */
        unsigned n = sizeof s->misfit / sizeof s->misfit[0];
        memmove(s->misfit + 1, s->misfit,
                (s->nmisfit < n ? s->nmisfit : n - 1) * sizeof *s->misfit);
        s->misfit[0] = key;
        if (s->nmisfit < n)
            s->nmisfit++;
    }
    ms_log(seen ? MS_LOG_DEBUG : MS_LOG_WARN,
        "%s: unit %u FC%u %u+%u: the answer does not fit the request "
        "(unit %u, %zu bytes starting %02x %02x)%s", s->peer, t->unit,
        t->req.fc, t->req.addr, t->req.count, adu->unit, adu->pdu_len,
        adu->pdu_len ? adu->pdu[0] : 0u, bc,
        seen ? "" : "; the same again is logged at debug level");
}

static void on_answer(ms_mb_session *s, uint64_t now_ns, const ms_mb_adu *adu)
{
    int i = find_inflight(s, adu);
    if (i < 0) {
        /* Most likely the late answer to a try that timed out. */
        s->stale++;
        ms_log_debug("%s: answer with tid %u matches no request; ignored",
                     s->peer, adu->tid);
        return;
    }
    ms_mb_txn *t = s->inflight[i];
    inflight_remove(s, (unsigned)i);
    ms_mb_response rsp;
    int rc;
    if (adu->unit != t->unit) {
        rc = MS_EPROTO;
    } else {
        rc = ms_mb_response_decode(adu->pdu, adu->pdu_len, &rsp);
        if (rc == 0 || ms_mb_err_is_exc(rc))
            rc = ms_mb_response_match(&t->req, &rsp);
    }
    s->stats.responses++;
    s->stats.rtt_ms = (double)(now_ns - t->sent_ns) / 1e6;
    if (rc == MS_EPROTO)
        log_misfit(s, t, adu);
    /* Something answered: the unit is alive. */
    unit_set_up(s, t->unit, true);
    finish(s, t, rc, rc == 0 || ms_mb_err_is_exc(rc) ? &rsp : NULL);
}

int ms_mb_session_feed(ms_mb_session *s, uint64_t now_ns, const uint8_t *buf,
                       size_t len, size_t *used)
{
    size_t off = 0;
    *used = 0;
    while (!s->closed && off < len) {
        ms_mb_adu adu;
        int rc = ms_mb_adu_decode(s->framing, MS_MB_RESPONSE, buf + off,
                                  len - off, &adu);
        if (rc == 0)
            break;
        if (rc < 0)
            return MS_EPROTO;
        off += (size_t)rc;
        *used = off;
        on_answer(s, now_ns, &adu);
    }
    return 0;
}

uint64_t ms_mb_session_deadline(const ms_mb_session *s)
{
    uint64_t d = 0;
    for (unsigned i = 0; i < s->ninflight; i++)
        if (!d || s->inflight[i]->deadline_ns < d)
            d = s->inflight[i]->deadline_ns;
    return d;
}

void ms_mb_session_expire(ms_mb_session *s, uint64_t now_ns)
{
    for (;;) {
        unsigned i;
        for (i = 0; i < s->ninflight; i++)
            if (s->inflight[i]->deadline_ns <= now_ns)
                break;
        if (i >= s->ninflight)
            return;
        ms_mb_txn *t = s->inflight[i];
        inflight_remove(s, i);
        s->stats.timeouts++;
        if (!t->probe && t->tries <= s->retries) {
            queue_front(s, t);
            continue;
        }
        /* Silent through every try: the unit is down. Its other waiting
         * requests would only wait as long again; end them now. */
        ms_mb_unitq *u = &s->units[t->unit];
        u->probe_ns = now_ns + s->probe_every_ns;
        uint8_t unit = t->unit;
        ms_mb_txn *rest = u->head;
        for (ms_mb_txn *r = rest; r; r = r->next)
            s->queued--;
        u->head = u->tail = NULL;
        unit_set_up(s, unit, false);
        finish(s, t, MS_ETIMEDOUT, NULL);
        while (rest) {
            ms_mb_txn *next = rest->next;
            finish(s, rest, MS_ETIMEDOUT, NULL);
            rest = next;
        }
    }
}

void ms_mb_session_fail_all(ms_mb_session *s, int status)
{
    /* Detach everything first: callbacks may submit again. */
    ms_mb_txn *list = NULL;
    for (unsigned i = 0; i < s->ninflight; i++) {
        s->inflight[i]->next = list;
        list = s->inflight[i];
        s->inflight[i] = NULL;
    }
    s->ninflight = 0;
    for (unsigned k = 0; k < s->ring_len; k++) {
        uint8_t unit = s->ring[(s->ring_head + k) % 256];
        ms_mb_unitq *u = &s->units[unit];
        ms_mb_txn *t = u->head;
        while (t) {
            ms_mb_txn *next = t->next;
            t->next = list;
            list = t;
            t = next;
        }
    }
    for (unsigned k = 0; k < 256; k++) {
        ms_mb_unitq *u = &s->units[k];
        u->head = u->tail = NULL;
        u->inflight = 0;
        u->in_ring = false;
        u->down = false;
        u->probe_ns = 0;
    }
    s->ring_head = s->ring_len = 0;
    s->queued = 0;
    while (list) {
        ms_mb_txn *next = list->next;
        finish(s, list, status, NULL);
        list = next;
    }
}

void ms_mb_session_close(ms_mb_session *s)
{
    s->closed = true;
    ms_mb_session_fail_all(s, MS_ECLOSED);
}
