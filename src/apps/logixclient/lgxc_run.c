/* logixclient's runtime (docs/logix.md): per PLC a Logix link and a poll
 * timer; each poll sends the plan's requests (MSPs filled to the
 * connection size, Read Tag Fragmented for an array larger than it) and
 * publishes tags whose value changed; bus changes are written back (Write
 * Tag, Read-Modify-Write for bits, STRING with the handle learnt from a
 * read); an <rtu>_status JSON tag says what the log says.
 *
 * The modbusclient's safety rules: only values set on the bus after we
 * connected to it are written; a poll answer that left before a write of
 * the same tag does not publish the old value; writes lost with the
 * connection are replayed only with write_on_reconnect. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/common/drv.h"
#include "apps/logixclient/lgxc_app.h"
#include "logix/link/lgx_link.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

typedef struct lgxc_rtu lgxc_rtu;

/* One request of a poll in flight. */
typedef struct {
    lgxc_rtu *r;
    size_t g;
    uint64_t seq;
    size_t offset;      /* fragmented: bytes so far */
} lgxc_inflight;

struct lgxc_rtu {
    ms_lgxc *c;
    size_t i;
    ms_lgx_link *link;
    uv_timer_t poll;
    ms_lgxc_group *groups;
    size_t ngroups;
    lgxc_inflight *inflight;  /* per group */
    size_t pending;           /* groups of this poll not answered yet */
    bool no_msp;
    uint64_t seq_now;
    uint64_t errors, write_errors;
    char last_error[256];
    uint64_t last_error_us;
    ms_tag *status;
    char *status_text;
};

typedef struct {
    ms_lgxc *c;
    size_t i;
    ms_tag *tag;
    uint64_t write_seq;
    bool replay;
    uint16_t handle;          /* a STRING's, learnt from a read */
    ms_fault set_fault;
} lgxc_tag;

struct ms_lgxc {
    ms_drv drv;         /* first: bus, status timer, handles (each poll
                         * timer, each link while it closes) */
    ms_lgxc_config *cfg;
    lgxc_rtu *rtus;
    lgxc_tag *tags;
};

static void do_write(lgxc_tag *mt);

/* ---- status ----------------------------------------------------------------- */

static void publish_status(lgxc_rtu *r)
{
    if (!r->status || !r->link)
        return;
    ms_lgx_link_stats st;
    ms_lgx_link_stats_get(r->link, &st);
    char iso[40];
    json_t *le = r->last_error[0]
                     ? json_pack("{s:s, s:s}", "text", r->last_error, "time",
                                 ms_time_iso(r->last_error_us, iso,
                                             sizeof iso))
                     : json_null();
    bool up = ms_lgx_link_up(r->link);
    json_t *j = json_pack(
        "{s:b, s:o, s:I, s:I, s:I, s:I, s:I, s:i, s:b, s:b, s:f}",
        "connected", up, "last_error", le, "requests",
        (json_int_t)st.requests, "errors", (json_int_t)r->errors, "timeouts",
        (json_int_t)st.timeouts, "write_errors", (json_int_t)r->write_errors,
        "connects", (json_int_t)st.connects, "connection_size",
        up ? (int)ms_lgx_link_room(r->link) : 0, "connected_messaging",
        up && ms_lgx_link_connected_messaging(r->link), "msp", !r->no_msp,
        "rtt_ms", round(st.rtt_ms * 1000) / 1000);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (!text)
        return;
    if (r->status_text && !strcmp(text, r->status_text)) {
        free(text);
        return;
    }
    free(r->status_text);
    r->status_text = text;
    if (ms_tag_set_json(r->status, text) < 0) {
        free(r->status_text);
        r->status_text = NULL;
    }
}

static void on_status_tick(ms_drv *d)
{
    ms_lgxc *c = (ms_lgxc *)d;
    for (size_t i = 0; i < c->cfg->nrtus; i++)
        publish_status(&c->rtus[i]);
}

static void set_error(lgxc_rtu *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->last_error, sizeof r->last_error, fmt, ap);
    va_end(ap);
    r->last_error_us = ms_time_now_us();
    publish_status(r);
}

/* ---- reading ---------------------------------------------------------------- */

static void update_tag(lgxc_rtu *r, size_t ti)
{
    lgxc_tag *mt = &r->c->tags[ti];
    const ms_lgxc_tag *t = &r->c->cfg->tags[ti];
    const ms_lgxc_poll *p = &r->c->cfg->rtus[r->i].poll[t->poll];
    if (!p->ok || mt->write_seq > p->seq)
        return; /* a write went out after this poll: the next one tells */
    ms_value v;
    if (ms_lgx_to_value(p->type, p->vals + t->off * p->esize, p->esize,
                        t->bit, &v) < 0)
        return;
    if (t->bus == MS_TYPE_INT && v.type == MS_TYPE_FLOAT)
        v = ms_value_int((int64_t)llround(v.u.f));
    else if (t->bus == MS_TYPE_FLOAT && v.type == MS_TYPE_INT)
        v = ms_value_float((double)v.u.i);
    ms_drv_value_publish(mt->tag, &v, &mt->set_fault);
}

static void item_done(lgxc_rtu *r, size_t pi)
{
    for (size_t i = 0; i < r->c->cfg->ntags; i++) {
        const ms_lgxc_tag *t = &r->c->cfg->tags[i];
        if (t->has_read && t->rtu_r == r->i && t->poll == (long)pi)
            update_tag(r, i);
    }
}

/* One poll entry's reply (status, value): into its buffer, or its
 * failure noted once. */
static void item_reply(lgxc_rtu *r, size_t pi, const ms_lgx_rsp *rsp,
                       uint64_t seq, size_t offset)
{
    ms_lgxc_rtu *cr = &r->c->cfg->rtus[r->i];
    ms_lgxc_poll *p = &cr->poll[pi];
    uint32_t code = (uint32_t)rsp->status << 16 | rsp->ext;
    ms_lgx_value v;
    if ((rsp->status == 0 || rsp->status == 0x06) &&
        ms_lgx_value_get(rsp->data, rsp->data_len, &v) == 0) {
        if (v.type != p->type && !p->type_logged) {
            p->type_logged = true;
            ms_log_warn("%s: %s is a %s in the PLC, not the %s of the "
                        "config; not read", cr->name, p->addr,
                        ms_lgx_type_name(v.type) ? ms_lgx_type_name(v.type)
                                                 : "?",
                        ms_lgx_type_name(p->type));
        }
        if (v.type != p->type)
            return;
        size_t total = (size_t)p->count * p->esize;
        size_t n = v.len;
        if (offset > total)
            return;
        if (n > total - offset)
            n = total - offset;
        memcpy(p->vals + offset, v.data, n);
        p->handle = v.handle;
        if (rsp->status == 0x06)
            return; /* the caller asks for the rest */
        if (p->fail_code)
            ms_log_info("%s: %s is read again", cr->name, p->addr);
        p->fail_code = 0;
        p->ok = true;
        p->seq = seq;
        item_done(r, pi);
        return;
    }
    r->errors++;
    if (code != p->fail_code) {
        char text[160];
        ms_lgx_status_text(rsp->status, rsp->ext, text, sizeof text);
        ms_log_warn("%s: reading %s failed: %s", cr->name, p->addr, text);
        set_error(r, "reading %s failed: %s", p->addr, text);
    }
    p->fail_code = code;
}

static int submit_group(lgxc_rtu *r, size_t g);

static void plan(lgxc_rtu *r)
{
    ms_lgxc_rtu *cr = &r->c->cfg->rtus[r->i];
    size_t room = ms_lgx_link_room(r->link);
    r->ngroups = ms_lgxc_plan(cr, room, !r->no_msp, r->groups, cr->npoll);
    size_t reqs = 0;
    for (size_t g = 0; g < r->ngroups; g++)
        reqs += r->groups[g].frag
                    ? ((size_t)cr->poll[r->groups[g].first].count *
                           cr->poll[r->groups[g].first].esize +
                       room - 11) / (room - 10)
                    : 1;
    ms_log_info("%s: %zu poll entries in %zu requests per poll (%zu-byte "
                "connection%s)", cr->name, cr->npoll, reqs, room,
                r->no_msp ? ", no MSP" : "");
}

static void on_poll_reply(int status, const uint8_t *p, size_t n, void *arg)
{
    lgxc_inflight *f = arg;
    lgxc_rtu *r = f->r;
    if (r->c->drv.stopping)
        return;
    ms_lgxc_rtu *cr = &r->c->cfg->rtus[r->i];
    const ms_lgxc_group *g = &r->groups[f->g];
    ms_lgx_rsp rsp;
    if (status < 0 || ms_lgx_rsp_get(p, n, &rsp) < 0) {
        if (r->pending)
            r->pending--;
        return; /* the link logs and reports lost connections */
    }
    if (g->frag) {
        item_reply(r, g->first, &rsp, f->seq, f->offset);
        ms_lgx_value v;
        if (rsp.status == 0x06 &&
            ms_lgx_value_get(rsp.data, rsp.data_len, &v) == 0 && v.len) {
            f->offset += v.len;
            if (submit_group(r, f->g) == 0)
                return;
        }
        r->pending--;
        return;
    }
    r->pending--;
    if (g->n == 1) {
        item_reply(r, g->first, &rsp, f->seq, 0);
        return;
    }
    if (rsp.status == 0x08) {
        ms_log_info("%s: the PLC does not support Multiple Service Packet; "
                    "one request per poll entry from now on", cr->name);
        r->no_msp = true;
        plan(r);
        publish_status(r);
        return;
    }
    ms_lgx_slice part[MS_LGX_MSP_MAX];
    int k = (rsp.status == 0 || rsp.status == 0x1E)
                ? ms_lgx_msp_split(rsp.data, rsp.data_len, part,
                                   MS_LGX_MSP_MAX)
                : -1;
    if (k != (int)g->n) {
        char text[160];
        r->errors++;
        set_error(r, "a multiple service packet failed: %s",
                  ms_lgx_status_text(rsp.status, rsp.ext, text,
                                     sizeof text));
        return;
    }
    for (int i = 0; i < k; i++) {
        ms_lgx_rsp one;
        if (ms_lgx_rsp_get(part[i].p, part[i].n, &one) == 0)
            item_reply(r, g->first + (size_t)i, &one, f->seq, 0);
    }
}

static int submit_group(lgxc_rtu *r, size_t gi)
{
    ms_lgxc_rtu *cr = &r->c->cfg->rtus[r->i];
    const ms_lgxc_group *g = &r->groups[gi];
    lgxc_inflight *f = &r->inflight[gi];
    uint8_t buf[MS_LGX_FRAME_MAX];
    ms_lgx_w w;
    ms_lgx_w_init(&w, buf, sizeof buf);
    if (g->frag) {
        const ms_lgxc_poll *p = &cr->poll[g->first];
        ms_lgx_read_put(&w, p->path, p->path_len, p->count, (long)f->offset);
    } else if (g->n == 1) {
        const ms_lgxc_poll *p = &cr->poll[g->first];
        ms_lgx_read_put(&w, p->path, p->path_len, p->count, -1);
    } else {
        uint8_t sub[MS_LGX_FRAME_MAX];
        ms_lgx_slice s[MS_LGX_MSP_MAX];
        size_t at = 0;
        for (size_t i = 0; i < g->n; i++) {
            const ms_lgxc_poll *p = &cr->poll[g->first + i];
            ms_lgx_w sw;
            ms_lgx_w_init(&sw, sub + at, sizeof sub - at);
            ms_lgx_read_put(&sw, p->path, p->path_len, p->count, -1);
            s[i].p = sub + at;
            s[i].n = sw.len;
            at += sw.len;
        }
        ms_lgx_msp_put(&w, s, g->n);
    }
    if (w.err)
        return MS_ETOOBIG;
    return ms_lgx_link_submit(r->link, buf, w.len, on_poll_reply, f);
}

static void on_poll_timer(uv_timer_t *t)
{
    lgxc_rtu *r = t->data;
    if (!ms_lgx_link_up(r->link) || r->pending)
        return; /* one poll at a time: a slow PLC is not flooded */
    uint64_t seq = ++r->seq_now;
    for (size_t g = 0; g < r->ngroups; g++) {
        r->inflight[g] = (lgxc_inflight){.r = r, .g = g, .seq = seq};
        if (submit_group(r, g) == 0)
            r->pending++;
    }
}

/* ---- writing ---------------------------------------------------------------- */

static void write_error(lgxc_tag *mt, const char *why)
{
    const ms_lgxc_tag *t = &mt->c->cfg->tags[mt->i];
    lgxc_rtu *r = &mt->c->rtus[t->rtu_w];
    r->write_errors++;
    ms_log_warn("%s: write of %s failed: %s", r->c->cfg->rtus[r->i].name,
                t->name, why);
    set_error(r, "write of %s failed: %s", t->name, why);
}

static void on_write_reply(int status, const uint8_t *p, size_t n, void *arg)
{
    lgxc_tag *mt = arg;
    if (mt->c->drv.stopping)
        return;
    const ms_lgxc_tag *t = &mt->c->cfg->tags[mt->i];
    if (status == MS_ECLOSED &&
        mt->c->cfg->rtus[t->rtu_w].write_on_reconnect) {
        mt->replay = true;
        return;
    }
    if (status < 0) {
        write_error(mt, ms_strerror(status));
        return;
    }
    ms_lgx_rsp rsp;
    char text[160];
    if (ms_lgx_rsp_get(p, n, &rsp) < 0) {
        write_error(mt, "a malformed reply");
        return;
    }
    if (rsp.status) {
        if (rsp.status == 0xFF && rsp.ext == 0x2107)
            mt->handle = 0; /* learn the structure handle again */
        write_error(mt, ms_lgx_status_text(rsp.status, rsp.ext, text,
                                           sizeof text));
        return;
    }
    if (rsp.service == MS_LGX_SVC_READ) {
        /* the read that learns a STRING's structure handle */
        ms_lgx_value v;
        if (ms_lgx_value_get(rsp.data, rsp.data_len, &v) < 0 ||
            v.type != MS_LGX_TYPE_STRUCT) {
            write_error(mt, "the element is no STRING");
            return;
        }
        mt->handle = v.handle ? v.handle : 1;
        do_write(mt);
        return;
    }
    ms_log_debug("wrote %s", t->name);
}

static void do_write(lgxc_tag *mt)
{
    const ms_lgxc_tag *t = &mt->c->cfg->tags[mt->i];
    lgxc_rtu *r = &mt->c->rtus[t->rtu_w];
    mt->replay = false;
    ms_value v;
    if (ms_tag_get(mt->tag, &v) < 0)
        return;
    uint8_t buf[512], data[128];
    ms_lgx_w w;
    ms_lgx_w_init(&w, buf, sizeof buf);
    if (t->wbit >= 0) {
        if (v.type != MS_TYPE_INT && v.type != MS_TYPE_FLOAT) {
            write_error(mt, "the bus value is not a number");
            return;
        }
        bool on = v.type == MS_TYPE_INT ? v.u.i != 0 : v.u.f != 0;
        ms_lgx_rmw_put(&w, t->wpath, t->wpath_len, t->wsize,
                       (unsigned)t->wbit, on);
    } else if (t->wtype == MS_LGX_TYPE_STRUCT && !mt->handle) {
        ms_lgx_read_put(&w, t->wpath, t->wpath_len, 1, -1);
    } else {
        bool clamped;
        int n = ms_lgx_from_value(t->wtype, t->wsize, &v, data, sizeof data,
                                  &clamped);
        if (n < 0) {
            char why[96];
            snprintf(why, sizeof why, "a %s can't be written as %s",
                     ms_type_name(v.type), ms_lgx_type_name(t->wtype)
                         ? ms_lgx_type_name(t->wtype) : "STRING");
            write_error(mt, why);
            return;
        }
        if (clamped)
            ms_log_warn("%s: value out of the range of %s; clamped", t->name,
                        ms_lgx_type_name(t->wtype));
        ms_lgx_write_put(&w, t->wpath, t->wpath_len, t->wtype, mt->handle, 1,
                         -1, data, (size_t)n);
    }
    int rc = w.err ? MS_ETOOBIG
                   : ms_lgx_link_submit(r->link, buf, w.len, on_write_reply,
                                        mt);
    if (rc == 0) {
        mt->write_seq = ++r->seq_now;
        return;
    }
    if (rc == MS_ECLOSED && r->c->cfg->rtus[r->i].write_on_reconnect) {
        mt->replay = true;
        ms_log_warn("%s: write of %s: not connected; written on reconnect",
                    r->c->cfg->rtus[r->i].name, t->name);
        return;
    }
    write_error(mt, ms_strerror(rc));
}

static void on_bus_change(ms_tag *tag, void *arg)
{
    lgxc_tag *mt = arg;
    (void)tag;
    if (ms_tag_time_us(mt->tag) < mt->c->drv.bus_up_us)
        return; /* set before we came: a stale command is not sent */
    do_write(mt);
}

/* ---- connection events ------------------------------------------------------ */

static void on_link_state(ms_lgx_link *l, bool up, void *arg)
{
    lgxc_rtu *r = arg;
    (void)l;
    r->pending = 0;
    if (up) {
        plan(r);
        for (size_t i = 0; i < r->c->cfg->ntags; i++) {
            lgxc_tag *mt = &r->c->tags[i];
            if (mt->replay && r->c->cfg->tags[i].rtu_w == r->i)
                do_write(mt);
        }
        on_poll_timer(&r->poll);
    }
    publish_status(r);
}

static void on_link_fail(ms_lgx_link *l, const char *why, void *arg)
{
    (void)l;
    set_error(arg, "%s", why);
}

/* ---- start and stop --------------------------------------------------------- */

static void lgxc_free(ms_drv *d)
{
    ms_lgxc *c = (ms_lgxc *)d;
    for (size_t i = 0; c->rtus && i < c->cfg->nrtus; i++) {
        free(c->rtus[i].groups);
        free(c->rtus[i].inflight);
        free(c->rtus[i].status_text);
    }
    free(c->rtus);
    free(c->tags);
    free(c);
}

static void on_link_closed(void *arg)
{
    ms_lgxc *c = arg;
    ms_drv_release(&c->drv);
}

/* Closes whatever start made; c is freed once its timers and links have
 * closed. */
void ms_lgxc_stop(ms_lgxc *c)
{
    if (!c || c->drv.stopping)
        return;
    c->drv.stopping = true;
    for (size_t i = 0; c->rtus && i < c->cfg->nrtus; i++) {
        lgxc_rtu *r = &c->rtus[i];
        ms_drv_timer_close(&c->drv, &r->poll);
        if (r->link) {
            ms_drv_hold(&c->drv);
            ms_lgx_link_close(r->link, on_link_closed, c);
            r->link = NULL;
        }
    }
    ms_drv_stop(&c->drv);
}

static int start(ms_lgxc *c)
{
    ms_lgxc_config *cfg = c->cfg;
    int rc = ms_drv_bus_new(&c->drv, &cfg->bus);
    if (rc < 0)
        return rc;
    c->rtus = calloc(cfg->nrtus + 1, sizeof *c->rtus);
    c->tags = calloc(cfg->ntags + 1, sizeof *c->tags);
    if (!c->rtus || !c->tags)
        return MS_ENOMEM;
    for (size_t i = 0; i < cfg->ntags; i++) {
        const ms_lgxc_tag *t = &cfg->tags[i];
        lgxc_tag *mt = &c->tags[i];
        mt->c = c;
        mt->i = i;
        rc = ms_drv_tag_new(c->drv.bus, t->name, t->bus,
                            t->has_write ? on_bus_change : NULL, mt,
                            &mt->tag);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < cfg->nrtus; i++) {
        ms_lgxc_rtu *cr = &cfg->rtus[i];
        lgxc_rtu *r = &c->rtus[i];
        r->c = c;
        r->i = i;
        r->groups = calloc(cr->npoll + 1, sizeof *r->groups);
        r->inflight = calloc(cr->npoll + 1, sizeof *r->inflight);
        if (!r->groups || !r->inflight)
            return MS_ENOMEM;
        char name[80];
        snprintf(name, sizeof name, "%s_status", cr->name);
        if ((rc = ms_tag_new(c->drv.bus, name, MS_TYPE_JSON,
                             &r->status)) < 0) {
            ms_log_error("%s: status tag %s: %s", cr->name, name,
                         ms_strerror(rc));
            return rc;
        }
        ms_lgx_link_config lc = {
            .name = cr->name, .host = cr->host, .port = cr->port,
            .route = cr->route, .route_len = cr->route_len,
            .timeout = cr->timeout, .conn_size = cr->conn_size,
            .backoff_min = 0.5, .backoff_max = 30,
            .on_state = on_link_state, .on_fail = on_link_fail, .arg = r};
        if ((rc = ms_lgx_link_new(c->drv.loop, &lc, &r->link)) < 0) {
            ms_log_error("%s: %s", cr->name, ms_strerror(rc));
            return rc;
        }
        uint64_t ms = (uint64_t)(cr->rate * 1000.0);
        ms_drv_timer_start(&c->drv, &r->poll, r, on_poll_timer, ms ? ms : 1,
                           ms ? ms : 1);
        publish_status(r);
    }
    ms_drv_status_start(&c->drv);
    return 0;
}

int ms_lgxc_start(uv_loop_t *loop, ms_lgxc_config *cfg, ms_lgxc **out)
{
    *out = NULL;
    ms_lgxc *c = calloc(1, sizeof *c);
    if (!c)
        return MS_ENOMEM;
    c->cfg = cfg;
    ms_drv_init(&c->drv, loop, on_status_tick, lgxc_free);
    int rc = start(c);
    if (rc < 0) {
        ms_lgxc_stop(c); /* freed once the loop has closed what it made */
        return rc;
    }
    *out = c;
    return 0;
}
