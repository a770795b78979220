/* modbusclient's runtime (docs/modbus.md): one ms_mb_client per RTU and a
 * poll timer -> tags on a bus client; bus changes written back (FC22 mask
 * writes, or read-then-write one at a time where a device refuses FC22);
 * an <RTU>_status tag per RTU that says what the log says: connected,
 * answering (and which units don't), the fault now with its time (moved
 * to last_recovered when it ends), failed writes with the last one's tag.
 * Polled values are published as the device has them unless a tag asks
 * for tags.yaml's min/max (clamp), as pymscada's modbusclient does.
 *
 * Rules that keep a plant safe: only values set on the bus after this
 * process (re)connected to the bus are written (not the stale value the
 * bus hands out on subscribe); a poll answer that left before a write of
 * the same tag does not republish the old value; writes lost with a
 * connection are replayed only with write_on_reconnect. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "apps/common/drv.h"
#include "apps/modbusclient/mbc_run.h"
#include "core/fault.h"
#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mbclient.h"
#include "mscada/mstime.h"

/* Something the status tag reports: what, and when (UTC us). */
typedef struct {
    char text[256];      /* "" when none */
    uint64_t time_us;
} mbc_event;

typedef struct {
    ms_mbc *m;
    size_t i;            /* index in cfg.rtus */
    ms_mb_client *mb;
    uv_timer_t poll;
    bool *pending;       /* per read request: in flight */
    uint64_t *seq;       /* per read request: seq when submitted */
    ms_fault *read_fault; /* per read request: failures logged once */
    uint64_t seq_now;    /* counts submits, orders polls and writes */
    bool no_fc22;        /* the device rejected mask write */
    void *rmw;           /* the mbc_tag whose read-then-write is under way */
    uint64_t write_errors;
    mbc_event write_err; /* the last failed write: reason */
    const char *write_err_tag; /* and its tag (a cfg name) */
    uint64_t set_errors; /* polled values the bus client refused */
    mbc_event fault;     /* the latest error while the RTU is not well */
    mbc_event fault_was; /* the last fault that ended, */
    uint64_t recovered_us; /* and when */
    uint64_t req_at_up, resp_at_up; /* session counters at the last up */
    ms_drv_status status;
} mbc_rtu;

typedef struct {
    ms_mbc *m;
    size_t i;            /* index in cfg.tags */
    ms_tag *tag;
    uint64_t write_seq;  /* seq of the latest write */
    bool replay;         /* a write lost with the connection */
    bool want_bit;       /* read-then-write of a bit: the value wanted */
    bool rmw_wait;       /* its read-then-write waits for another's */
    ms_fault set_fault;  /* publishing its polled value fails */
} mbc_tag;

struct ms_mbc {
    ms_drv drv;         /* first: bus, status timer, handles (each poll) */
    ms_mbc_config *cfg;        /* borrowed */
    const ms_tagdescs *descs;  /* borrowed */
    ms_tagdescs limits; /* the min/max of clamped tags (copies of descs') */
    mbc_rtu *rtus;
    mbc_tag *tags;
};

static void do_write(mbc_tag *mt);

/* ---- status tags ------------------------------------------------------------ */

static json_t *event_json(const mbc_event *e)
{
    char iso[40];
    if (!e->text[0])
        return json_null();
    return json_pack("{s:s, s:s}", "text", e->text, "time",
                     ms_time_iso(e->time_us, iso, sizeof iso));
}

/* Connected, no unit down, and something answered since the link came up
 * (or nothing was asked). */
static bool rtu_answering(const mbc_rtu *r, json_t *down)
{
    ms_mb_client_stats st;
    bool ok = ms_mb_client_connected(r->mb);
    for (unsigned u = 0; u < 256; u++)
        if (!ms_mb_client_unit_up(r->mb, (uint8_t)u)) {
            ok = false;
            if (down)
                json_array_append_new(down, json_integer(u));
        }
    ms_mb_client_get_stats(r->mb, &st);
    return ok && (st.responses > r->resp_at_up || st.requests == r->req_at_up);
}

static json_t *status_json(mbc_rtu *r)
{
    ms_mb_client_stats st;
    ms_mb_client_get_stats(r->mb, &st);
    json_t *down = json_array();
    bool answering = rtu_answering(r, down);
    json_t *was = NULL, *werr = NULL;
    char iso[40], iso2[40];
    if (r->fault_was.text[0])
        was = json_pack("{s:s, s:s, s:s}", "text", r->fault_was.text,
                        "error_time",
                        ms_time_iso(r->fault_was.time_us, iso, sizeof iso),
                        "time", ms_time_iso(r->recovered_us, iso2,
                                            sizeof iso2));
    if (r->write_err.text[0])
        werr = json_pack("{s:s, s:s, s:s}", "tag", r->write_err_tag,
                         "reason", r->write_err.text, "time",
                         ms_time_iso(r->write_err.time_us, iso, sizeof iso));
    return json_pack(
        "{s:b, s:b, s:o, s:o, s:o?, s:I, s:I, s:I, s:I, s:o?, s:I, s:I, "
        "s:f}",
        "connected", ms_mb_client_connected(r->mb), "answering", answering,
        "units_down", down, "last_error", event_json(&r->fault),
        "last_recovered", was, "requests", (json_int_t)st.requests,
        "errors", (json_int_t)(st.errors + r->write_errors), "timeouts",
        (json_int_t)st.timeouts, "write_errors", (json_int_t)r->write_errors,
        "last_write_error", werr, "set_errors", (json_int_t)r->set_errors,
        "connects", (json_int_t)st.connects, "rtt_ms",
        round(st.rtt_ms * 1000) / 1000);
}

static void publish_status(mbc_rtu *r)
{
    if (!r->status.tag || !r->mb)
        return;
    ms_drv_status_publish(&r->status, status_json(r),
                          "publishing the RTU status");
}

static void on_status_tick(ms_drv *d)
{
    ms_mbc *m = (ms_mbc *)d;
    for (size_t i = 0; i < m->cfg->nrtus; i++)
        publish_status(&m->rtus[i]);
}

/* An error the log just told: it is the RTU's fault now (its time that of
 * its first report; a repeat keeps it), shown at once. */
static void fault_set(mbc_rtu *r, const char *fmt, ...)
{
    char text[sizeof r->fault.text];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (!strcmp(text, r->fault.text))
        return;
    memcpy(r->fault.text, text, sizeof text);
    r->fault.time_us = ms_time_now_us();
    publish_status(r);
}

/* The RTU is well again (answering, every poll block read): its fault
 * moves to last_recovered. */
static void fault_check_over(mbc_rtu *r)
{
    if (!r->fault.text[0] || !rtu_answering(r, NULL))
        return;
    const ms_mbc_rtu *cr = &r->m->cfg->rtus[r->i];
    for (size_t k = 0; k < cr->nreq; k++)
        if (r->read_fault[k].rc)
            return;
    r->fault_was = r->fault;
    r->recovered_us = ms_time_now_us();
    r->fault.text[0] = 0;
    publish_status(r);
}

/* ---- reading ---------------------------------------------------------------- */

static void update_tag(mbc_rtu *r, size_t ti, uint64_t seq)
{
    mbc_tag *mt = &r->m->tags[ti];
    /* A write of this tag went out after this poll: the answer may hold
     * the old value. The next poll tells. */
    if (mt->write_seq > seq)
        return;
    uint16_t regs[4];
    if (!ms_mbc_gather(r->m->cfg, ti, regs))
        return;
    const ms_mbc_tag *t = &r->m->cfg->tags[ti];
    ms_value v = ms_mb_decode(&t->conv, regs);
    if (ms_drv_value_publish(mt->tag, &v, &mt->set_fault) < 0)
        r->set_errors++;
}

static void on_poll_done(int status, uint8_t unit, const ms_mb_request *req,
                         const ms_mb_response *rsp, void *arg)
{
    mbc_rtu *r = arg;
    const ms_mbc_rtu *cr = &r->m->cfg->rtus[r->i];
    (void)unit;
    /* Which request: the one with this unit, file and address. */
    size_t k;
    for (k = 0; k < cr->nreq; k++)
        if (r->pending[k] && cr->req[k].unit == unit &&
            cr->req[k].addr == req->addr && cr->req[k].count == req->count &&
            ms_mbc_read_fc(cr->req[k].file) == req->fc)
            break;
    if (k == cr->nreq)
        return;
    r->pending[k] = false;
    ms_mbc_read *q = &cr->req[k];
    /* A device that fails a read the same way at every poll (answers
     * short, an exception) is logged once, counted, and logged again when
     * it changes or stops. Timeouts and a lost connection are logged per
     * unit and per connection by the client transport. */
    char who[96];
    snprintf(who, sizeof who, "%s: unit %u %s %u-%u", cr->name, q->unit,
             ms_mb_file_name(q->file), q->addr + 1u,
             q->addr + (unsigned)q->count);
    if (status < 0) {
        char e[160];
        if (status != MS_ETIMEDOUT && status != MS_ECLOSED &&
            status != MS_EDOWN &&
            ms_fault_note(&r->read_fault[k], status, who, "reading"))
            fault_set(r, "unit %u %s %u-%u: reading failed: %s", q->unit,
                      ms_mb_file_name(q->file), q->addr + 1u,
                      q->addr + (unsigned)q->count,
                      ms_mb_strerror(status, e, sizeof e));
        return;
    }
    ms_fault_note(&r->read_fault[k], 0, who, "reading");
    fault_check_over(r);
    if (ms_mb_file_is_bits(q->file))
        for (unsigned i = 0; i < q->count; i++)
            q->vals[i] = ms_mb_bit_get(rsp->data, i);
    else
        for (unsigned i = 0; i < q->count; i++)
            q->vals[i] = ms_mb_reg_get(rsp->data, i);
    q->ok = true;
    for (size_t i = 0; i < q->ntags; i++)
        update_tag(r, q->tags[i], r->seq[k]);
}

static void on_poll_timer(uv_timer_t *t)
{
    mbc_rtu *r = t->data;
    const ms_mbc_rtu *cr = &r->m->cfg->rtus[r->i];
    if (!ms_mb_client_connected(r->mb))
        return;
    for (size_t k = 0; k < cr->nreq; k++) {
        if (r->pending[k])
            continue; /* a slow device is not flooded: one poll per block */
        ms_mb_request q;
        memset(&q, 0, sizeof q);
        q.fc = ms_mbc_read_fc(cr->req[k].file);
        q.addr = cr->req[k].addr;
        q.count = cr->req[k].count;
        if (ms_mb_client_submit(r->mb, cr->req[k].unit, &q, on_poll_done,
                                r) == 0) {
            r->pending[k] = true;
            r->seq[k] = ++r->seq_now;
        }
    }
}

/* ---- writing ---------------------------------------------------------------- */

/* A write of mt that did not happen, for the log and the status. */
static void write_error(mbc_tag *mt, const char *reason)
{
    const ms_mbc_tag *t = &mt->m->cfg->tags[mt->i];
    mbc_rtu *r = &mt->m->rtus[t->rtu_w];
    /* A new kind is shown at once; repeats at the next status tick. */
    bool news = r->write_err_tag != t->name ||
                strncmp(r->write_err.text, reason, sizeof r->write_err.text);
    r->write_errors++;
    r->write_err_tag = t->name;
    snprintf(r->write_err.text, sizeof r->write_err.text, "%s", reason);
    r->write_err.time_us = ms_time_now_us();
    ms_log_warn("%s: write of %s failed: %s", ms_mb_client_name(r->mb),
                t->name, reason);
    if (news)
        publish_status(r);
}

static void write_failed(mbc_tag *mt, int status)
{
    const ms_mbc_tag *t = &mt->m->cfg->tags[mt->i];
    mbc_rtu *r = &mt->m->rtus[t->rtu_w];
    char e[160];
    if (status == MS_ECLOSED && mt->m->cfg->rtus[t->rtu_w].write_on_reconnect) {
        mt->replay = true; /* deferred, not failed */
        ms_log_warn("%s: write of %s: not connected; written on reconnect",
                    r->mb ? ms_mb_client_name(r->mb) : "?", t->name);
        return;
    }
    write_error(mt, ms_mb_strerror(status, e, sizeof e));
}

static void on_write_done(int status, uint8_t unit, const ms_mb_request *req,
                          const ms_mb_response *rsp, void *arg);

static int submit_write(mbc_tag *mt, const ms_mb_request *q)
{
    const ms_mbc_tag *t = &mt->m->cfg->tags[mt->i];
    mbc_rtu *r = &mt->m->rtus[t->rtu_w];
    int rc = ms_mb_client_submit(r->mb, t->write.unit, q, on_write_done, mt);
    if (rc == 0)
        mt->write_seq = ++r->seq_now;
    return rc;
}

/* Read-then-write of one bit, for devices without FC22. One at a time
 * per RTU: two overlapping ones on one register would both read the old
 * value, and the second write would undo the first one's bit. */
static int write_bit_rmw(mbc_tag *mt)
{
    const ms_mbc_tag *t = &mt->m->cfg->tags[mt->i];
    mbc_rtu *r = &mt->m->rtus[t->rtu_w];
    if (r->rmw) {
        mt->rmw_wait = true;
        mt->write_seq = ++r->seq_now; /* older polls don't undo it */
        return 0;
    }
    ms_mb_request q;
    memset(&q, 0, sizeof q);
    q.fc = MS_MB_READ_HOLDING_REGISTERS;
    q.addr = t->write.addr;
    q.count = 1;
    int rc = submit_write(mt, &q);
    if (rc == 0)
        r->rmw = mt;
    return rc;
}

/* The read-then-write under way ended: start the next one waiting. */
static void rmw_next(mbc_rtu *r)
{
    r->rmw = NULL;
    for (size_t i = 0; i < r->m->cfg->ntags && !r->rmw; i++) {
        mbc_tag *mt = &r->m->tags[i];
        if (!mt->rmw_wait || r->m->cfg->tags[i].rtu_w != r->i)
            continue;
        mt->rmw_wait = false;
        int rc = write_bit_rmw(mt);
        if (rc < 0)
            write_failed(mt, rc);
    }
}

static void on_write_done(int status, uint8_t unit, const ms_mb_request *req,
                          const ms_mb_response *rsp, void *arg)
{
    mbc_tag *mt = arg;
    const ms_mbc_tag *t = &mt->m->cfg->tags[mt->i];
    mbc_rtu *r = &mt->m->rtus[t->rtu_w];
    (void)unit;
    if (mt->m->drv.stopping)
        return;
    if (status == ms_mb_exc_err(MS_MB_MASK_WRITE_REGISTER,
                                MS_MB_EX_ILLEGAL_FUNCTION)) {
        ms_log_info("%s: the device refuses FC22 (mask write); bits are "
                    "written by read, then write", ms_mb_client_name(r->mb));
        r->no_fc22 = true;
        status = write_bit_rmw(mt);
        if (status < 0)
            write_failed(mt, status);
        return;
    }
    bool rmw = r->rmw == mt && (req->fc == MS_MB_READ_HOLDING_REGISTERS ||
                                req->fc == MS_MB_WRITE_SINGLE_REGISTER);
    if (status < 0) {
        write_failed(mt, status);
        if (rmw)
            rmw_next(r);
        return;
    }
    if (req->fc == MS_MB_READ_HOLDING_REGISTERS) {
        /* The read of a read-then-write: now the write. */
        uint16_t reg = ms_mb_reg_get(rsp->data, 0);
        uint16_t mask = (uint16_t)(1u << t->write.bit);
        ms_mb_request q;
        memset(&q, 0, sizeof q);
        q.fc = MS_MB_WRITE_SINGLE_REGISTER;
        q.addr = t->write.addr;
        q.value = mt->want_bit ? (uint16_t)(reg | mask)
                               : (uint16_t)(reg & ~mask);
        int rc = submit_write(mt, &q);
        if (rc < 0) {
            write_failed(mt, rc);
            rmw_next(r);
        }
        return;
    }
    ms_log_debug("%s: wrote %s", ms_mb_client_name(r->mb), t->name);
    if (rmw)
        rmw_next(r);
    fault_check_over(r);
}

static void do_write(mbc_tag *mt)
{
    const ms_mbc_tag *t = &mt->m->cfg->tags[mt->i];
    mbc_rtu *r = &mt->m->rtus[t->rtu_w];
    ms_value v;
    mt->replay = false;
    if (ms_tag_get(mt->tag, &v) < 0)
        return;
    char why[160];
    if (v.type != MS_TYPE_INT && v.type != MS_TYPE_FLOAT) {
        snprintf(why, sizeof why, "it is a %s on the bus, not a number",
                 ms_type_name(v.type));
        write_error(mt, why);
        return;
    }
    ms_mb_conv c = t->conv;
    c.bit = t->write.bit;
    uint16_t regs[4] = {0};
    bool clamped = false;
    int rc = ms_mb_encode(&c, &v, regs, &clamped);
    if (rc < 0) {
        snprintf(why, sizeof why, "the value can't be written as %s",
                 ms_mb_type_name(c.type));
        write_error(mt, why);
        return;
    }
    if (clamped)
        ms_log_warn("%s: %s: value out of the range of %s; clamped",
                    ms_mb_client_name(r->mb), t->name,
                    ms_mb_type_name(c.type));
    ms_mb_request q;
    memset(&q, 0, sizeof q);
    q.addr = t->write.addr;
    uint8_t data[8];
    unsigned n = ms_mb_type_regs(c.type);
    if (t->write.file == MS_MB_COILS) {
        q.fc = MS_MB_WRITE_SINGLE_COIL;
        q.value = regs[0] ? 1 : 0;
    } else if (c.bit >= 0) {
        uint16_t mask = (uint16_t)(1u << c.bit);
        mt->want_bit = (regs[0] & mask) != 0;
        if (r->no_fc22) {
            rc = write_bit_rmw(mt);
            if (rc < 0)
                write_failed(mt, rc);
            return;
        }
        q.fc = MS_MB_MASK_WRITE_REGISTER;
        q.and_mask = (uint16_t)~mask;
        q.or_mask = mt->want_bit ? mask : 0;
    } else if (n == 1) {
        q.fc = MS_MB_WRITE_SINGLE_REGISTER;
        q.value = regs[0];
    } else {
        q.fc = MS_MB_WRITE_MULTIPLE_REGISTERS;
        q.count = (uint16_t)n;
        ms_mb_regs_store(data, regs, n);
        q.data = data;
    }
    rc = submit_write(mt, &q);
    if (rc < 0)
        write_failed(mt, rc);
}

static void on_bus_change(ms_tag *tag, void *arg)
{
    mbc_tag *mt = arg;
    (void)tag;
    /* The value the bus hands out on subscribe was set before we came: a
     * stale command is not sent to a plant. */
    if (ms_drv_fresh(&mt->m->drv, mt->tag))
        do_write(mt);
}

/* ---- connection events ------------------------------------------------------ */

static void on_rtu_state(ms_mb_client *c, bool up, void *arg)
{
    mbc_rtu *r = arg;
    (void)c;
    const ms_mbc_rtu *cr = &r->m->cfg->rtus[r->i];
    if (up) {
        ms_mb_client_stats st;
        ms_mb_client_get_stats(r->mb, &st);
        r->req_at_up = st.requests;
        r->resp_at_up = st.responses;
        for (size_t k = 0; k < cr->nreq; k++)
            r->pending[k] = false;
        if (cr->write_on_reconnect)
            for (size_t i = 0; i < r->m->cfg->ntags; i++) {
                mbc_tag *mt = &r->m->tags[i];
                if (mt->replay && r->m->cfg->tags[i].rtu_w == r->i)
                    do_write(mt);
            }
        on_poll_timer(&r->poll);
        fault_check_over(r);
    }
    publish_status(r);
}

static void on_rtu_unit(ms_mb_client *c, uint8_t unit, bool up, void *arg)
{
    mbc_rtu *r = arg;
    (void)c;
    if (up)
        fault_check_over(r);
    else
        fault_set(r, "unit %u does not answer", unit); /* as logged */
}

static void on_rtu_fail(ms_mb_client *c, const char *why, void *arg)
{
    (void)c;
    fault_set(arg, "%s", why);
}

/* ---- start and stop --------------------------------------------------------- */

static void mbc_free(ms_drv *d)
{
    ms_mbc *m = (ms_mbc *)d;
    for (size_t i = 0; m->rtus && i < m->cfg->nrtus; i++) {
        free(m->rtus[i].pending);
        free(m->rtus[i].seq);
        free(m->rtus[i].read_fault);
        ms_drv_status_free(&m->rtus[i].status);
    }
    free(m->rtus);
    free(m->tags);
    free(m->limits.tags);
    free(m);
}

/* Closes whatever start made; the Modbus and bus clients free themselves,
 * m once its timers are closed. */
void ms_mbc_stop(ms_mbc *m)
{
    if (!m || m->drv.stopping)
        return;
    m->drv.stopping = true;
    for (size_t i = 0; m->rtus && i < m->cfg->nrtus; i++) {
        mbc_rtu *r = &m->rtus[i];
        ms_drv_timer_close(&m->drv, &r->poll);
        ms_mb_client_close(r->mb);
        r->mb = NULL;
    }
    ms_drv_stop(&m->drv);
}

/* The client library keeps a program's own sets inside a tag's described
 * min/max: only clamped tags are described to it, with their min/max alone
 * (pymscada's modbusclient, which reads no tags.yaml, publishes the
 * device's value as it is). */
static int limits_make(ms_mbc *m)
{
    const ms_mbc_config *cfg = m->cfg;
    m->limits.tags = calloc(cfg->ntags ? cfg->ntags : 1,
                            sizeof *m->limits.tags);
    if (!m->limits.tags)
        return MS_ENOMEM;
    for (size_t i = 0; i < cfg->ntags; i++) {
        const ms_mbc_tag *t = &cfg->tags[i];
        if (!t->clamp || !t->has_read)
            continue;
        const ms_tagdesc *d = ms_tagdesc_find(m->descs, t->name);
        if (!d || (!d->has_min && !d->has_max)) {
            ms_log_warn("%s: clamp is on but tags.yaml gives it no min or "
                        "max; its values are published as read", t->name);
            continue;
        }
        ms_tagdesc *l = &m->limits.tags[m->limits.n++];
        *l = *d; /* borrows d's strings */
        l->deadband = 0;
        l->has_init = false;
    }
    return 0;
}

static int start(ms_mbc *m)
{
    ms_mbc_config *cfg = m->cfg;
    int rc = limits_make(m);
    if (rc < 0)
        return rc;
    cfg->bus.tagdescs = &m->limits;
    if ((rc = ms_drv_bus_new(&m->drv, &cfg->bus)) < 0)
        return rc;
    m->rtus = calloc(cfg->nrtus ? cfg->nrtus : 1, sizeof *m->rtus);
    m->tags = calloc(cfg->ntags ? cfg->ntags : 1, sizeof *m->tags);
    if (!m->rtus || !m->tags)
        return MS_ENOMEM;
    for (size_t i = 0; i < cfg->ntags; i++) {
        const ms_mbc_tag *t = &cfg->tags[i];
        mbc_tag *mt = &m->tags[i];
        mt->m = m;
        mt->i = i;
        ms_type ty = t->conv.type == MS_MB_FLOAT32 ||
                             t->conv.type == MS_MB_FLOAT64 || t->conv.scaled
                         ? MS_TYPE_FLOAT : MS_TYPE_INT;
        mt->tag = NULL;
        rc = ms_drv_tag_new(m->drv.bus, t->name, ty,
                            t->has_write ? on_bus_change : NULL, mt,
                            &mt->tag);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < cfg->nrtus; i++) {
        ms_mbc_rtu *cr = &cfg->rtus[i];
        mbc_rtu *r = &m->rtus[i];
        r->m = m;
        r->i = i;
        r->pending = calloc(cr->nreq + 1, sizeof *r->pending);
        r->seq = calloc(cr->nreq + 1, sizeof *r->seq);
        r->read_fault = calloc(cr->nreq + 1, sizeof *r->read_fault);
        if (!r->pending || !r->seq || !r->read_fault)
            return MS_ENOMEM;
        char why[160];
        if ((rc = ms_drv_status_new(&m->drv, cr->name, &r->status)) < 0)
            return rc;
        cr->net.on_state = on_rtu_state;
        cr->net.on_unit = on_rtu_unit;
        cr->net.on_fail = on_rtu_fail;
        cr->net.arg = r;
        if (ms_mb_client_config_check(&cr->net, why, sizeof why) < 0) {
            ms_log_error("%s: %s", cr->name, why);
            return MS_EINVAL;
        }
        if ((rc = ms_mb_client_new(m->drv.loop, &cr->net, &r->mb)) < 0) {
            ms_log_error("%s: %s", cr->name, ms_strerror(rc));
            return rc;
        }
        uint64_t ms = (uint64_t)(cr->rate * 1000.0);
        ms_drv_timer_start(&m->drv, &r->poll, r, on_poll_timer, ms ? ms : 1,
                           ms ? ms : 1);
        publish_status(r);
    }
    ms_drv_status_start(&m->drv);
    return 0;
}

int ms_mbc_start(uv_loop_t *loop, ms_mbc_config *cfg,
                 const ms_tagdescs *descs, ms_mbc **out)
{
    *out = NULL;
    ms_mbc *m = calloc(1, sizeof *m);
    if (!m)
        return MS_ENOMEM;
    m->cfg = cfg;
    m->descs = descs;
    ms_drv_init(&m->drv, loop, on_status_tick, mbc_free);
    int rc = start(m);
    if (rc < 0) {
        ms_mbc_stop(m); /* freed once the loop has closed what it made */
        return rc;
    }
    *out = m;
    return 0;
}
