/* The Sparkplug edge node (docs/sparkplug.md): the selected tags of
 * tags.yaml are metrics of the node or of its devices, alias = index + 1.
 * Once the MQTT session is up (and the primary host online, when one is
 * named) and every tag has answered (at most MS_SPB_READY_MS): NBIRTH (seq 0, bdSeq, Node Control/Rebirth, every node metric
 * with its value, datatype and properties), a DBIRTH per device that is
 * up, the values queued meanwhile (historical, their own timestamps, in
 * order), then NDATA/DDATA of the tags that changed, batched per loop
 * turn, by alias. NDEATH is the will (bdSeq of that session), and is
 * published before a clean stop. NCMD/DCMD writes become bus SETs only
 * for tags `writable` names. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "apps/common/drv.h"
#include "apps/sparkplug/spb_run.h"
#include "core/htab.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"
#include "sparkplug/codec/spb_payload.h"

#define REBIRTH "Node Control/Rebirth"
#define HIST_BATCH 500
/* The longest the first NBIRTH waits for the tags' values. */
#define MS_SPB_READY_MS 2000

typedef struct {
    ms_tag *tag;
    const ms_tagdesc *desc;
    int dev;              /* -1: a node metric */
    bool writable, dirty;
    bool answered;        /* the bus gave its value, or said it has none */
    uint32_t pending;     /* id known, no value: the barrier that settles it */
} edge_point;

typedef struct {
    ms_tag *status;
    bool up, born;
} edge_dev;

typedef struct {
    size_t point;
    ms_value v;           /* STR/BYTES/JSON own their bytes */
    uint64_t time_us;
} edge_item;

struct ms_spb_edge {
    ms_drv drv;           /* first: bus, handles (flush, ready_timer) */
    ms_spb_config *cfg;
    const ms_tagdescs *descs;
    ms_spb_link *link;
    edge_point *pts;
    size_t npts;
    edge_dev *devs;
    ms_htab by_name;
    size_t *dirty;        /* indexes of dirty points */
    size_t ndirty;
    edge_item *q;         /* ring of values held while not live */
    size_t qhead, qlen;
    uint64_t dropped;
    uv_timer_t flush;
    /* The first NBIRTH waits until every tag has answered (or ready_ms) so
     * that it carries values, not nulls. */
    uv_timer_t ready_timer;
    size_t unanswered;
    uint32_t barrier_next;  /* the next LIST barrier's number (from 1) */
    bool barrier_out, ready, want_birth;
    uint8_t seq;
    uint64_t bdseq;
    bool attempted, live, host_online;
};

/* ---- publishing ------------------------------------------------------------- */

static void topic_of(const ms_spb_edge *e, ms_spb_msg type, int dev,
                     char *out, size_t cap)
{
    ms_spb_topic t;
    memset(&t, 0, sizeof t);
    t.type = type;
    snprintf(t.group, sizeof t.group, "%s", e->cfg->group);
    snprintf(t.node, sizeof t.node, "%s", e->cfg->node);
    if (dev >= 0)
        snprintf(t.device, sizeof t.device, "%s", e->cfg->devices[dev].name);
    ms_spb_topic_format(&t, out, cap);
}

static void publish_msg(ms_spb_edge *e, ms_spb_msg type, int dev,
                 ms_spb_payload *pl)
{
    char topic[600];
    topic_of(e, type, dev, topic, sizeof topic);
    pl->has_time = true;
    pl->time_ms = ms_time_now_us() / 1000;
    if (type != MS_SPB_NDEATH) {
        pl->has_seq = true;
        pl->seq = type == MS_SPB_NBIRTH ? (e->seq = 0)
                                        : (e->seq = ms_spb_seq_next(e->seq));
    }
    ms_spb_buf b = {0};
    int rc = ms_spb_encode(pl, &b);
    if (rc == 0)
        rc = ms_spb_link_publish(e->link, topic, b.p, b.len, 0, false);
    if (rc < 0)
        ms_log_warn("%s: not published: %s", topic, ms_strerror(rc));
    ms_spb_buf_free(&b);
}

static ms_type point_type(const edge_point *p)
{
    return p->desc->type;
}

/* The metric of point i with value v (NULL: the tag's own). */
static void fill_metric(ms_spb_edge *e, size_t i, ms_spb_metric *m,
                        const ms_value *v, uint64_t time_us, bool birth)
{
    edge_point *p = &e->pts[i];
    memset(m, 0, sizeof *m);
    m->has_alias = true;
    m->alias = i + 1;
    ms_value own;
    if (!v && ms_tag_get(p->tag, &own) == 0) {
        v = &own;
        time_us = ms_tag_time_us(p->tag);
    }
    ms_value conv;
    if (v && v->type == MS_TYPE_INT && point_type(p) == MS_TYPE_FLOAT) {
        conv = ms_value_float((double)v->u.i);
        v = &conv;
    }
    ms_value typed = ms_value_none();
    typed.type = point_type(p);
    ms_spb_metric_set_value(m, &typed); /* the declared datatype */
    uint32_t dt = m->datatype;
    if (v && v->type != MS_TYPE_NONE && ms_spb_metric_set_value(m, v) == 0 &&
        m->datatype == dt) {
        m->has_time = time_us != 0;
        m->time_ms = time_us / 1000;
    } else {
        m->datatype = dt;
        m->is_null = true;
        m->kind = MS_SPB_V_NONE;
    }
    if (!birth)
        return;
    m->name = p->desc->name;
    m->name_len = strlen(p->desc->name);
    if (p->desc->units) {
        m->unit = p->desc->units;
        m->unit_len = strlen(p->desc->units);
    }
    m->has_low = p->desc->has_min;
    m->low = p->desc->min;
    m->has_high = p->desc->has_max;
    m->high = p->desc->max;
    m->has_readonly = true;
    m->readonly = !p->writable;
}

static void birth_device(ms_spb_edge *e, int dev)
{
    size_t n = 0;
    ms_spb_metric *ms = calloc(e->npts + 1, sizeof *ms);
    if (!ms)
        return;
    for (size_t i = 0; i < e->npts; i++)
        if (e->pts[i].dev == dev) {
            fill_metric(e, i, &ms[n++], NULL, 0, true);
            e->pts[i].dirty = false;
        }
    ms_spb_payload pl = {0};
    pl.metrics = ms;
    pl.n = n;
    publish_msg(e, MS_SPB_DBIRTH, dev, &pl);
    e->devs[dev].born = true;
    free(ms);
}

static void replay_queue(ms_spb_edge *e);

static void birth_now(ms_spb_edge *e)
{
    ms_spb_metric *ms = calloc(e->npts + 2, sizeof *ms);
    if (!ms)
        return;
    size_t n = 0;
    ms_value bd = ms_value_int((int64_t)e->bdseq);
    ms[n].name = "bdSeq";
    ms[n].name_len = 5;
    ms_spb_metric_set_value(&ms[n++], &bd);
    ms[n].name = REBIRTH;
    ms[n].name_len = strlen(REBIRTH);
    ms[n].datatype = MS_SPB_BOOLEAN;
    ms[n++].kind = MS_SPB_V_BOOL;
    for (size_t i = 0; i < e->npts; i++)
        if (e->pts[i].dev < 0) {
            fill_metric(e, i, &ms[n++], NULL, 0, true);
            e->pts[i].dirty = false;
        }
    ms_spb_payload pl = {0};
    pl.metrics = ms;
    pl.n = n;
    publish_msg(e, MS_SPB_NBIRTH, -1, &pl);
    free(ms);
    e->live = true;
    for (size_t d = 0; d < e->cfg->ndevices; d++) {
        e->devs[d].born = false;
        if (e->devs[d].up)
            birth_device(e, (int)d);
    }
    replay_queue(e);
    ms_log_info("%s/%s: born (bdSeq %llu, %zu metrics)", e->cfg->group,
                e->cfg->node, (unsigned long long)e->bdseq, e->npts);
}

/* NBIRTH now, or once the tags have answered. */
static void birth(ms_spb_edge *e)
{
    if (e->ready) {
        birth_now(e);
        return;
    }
    e->want_birth = true;
}

/* A DATA message per node/device of the dirty points. */
static void flush(ms_spb_edge *e)
{
    if (!e->ndirty || !e->live)
        return;
    ms_spb_metric *ms = calloc(e->ndirty + 1, sizeof *ms);
    if (!ms)
        return;
    for (int dev = -1; dev < (int)e->cfg->ndevices; dev++) {
        size_t n = 0;
        for (size_t k = 0; k < e->ndirty; k++) {
            edge_point *p = &e->pts[e->dirty[k]];
            if (p->dev != dev || !p->dirty)
                continue;
            if (dev >= 0 && !e->devs[dev].born)
                continue; /* its DBIRTH will carry it */
            fill_metric(e, e->dirty[k], &ms[n++], NULL, 0, false);
        }
        if (n) {
            ms_spb_payload pl = {0};
            pl.metrics = ms;
            pl.n = n;
            publish_msg(e, dev < 0 ? MS_SPB_NDATA : MS_SPB_DDATA, dev, &pl);
        }
    }
    for (size_t k = 0; k < e->ndirty; k++)
        e->pts[e->dirty[k]].dirty = false;
    e->ndirty = 0;
    free(ms);
}

static void on_flush(uv_timer_t *t)
{
    flush(t->data);
}

/* ---- the queue while not live ------------------------------------------------ */

static void item_free(edge_item *it)
{
    if (it->v.type == MS_TYPE_STR || it->v.type == MS_TYPE_BYTES ||
        it->v.type == MS_TYPE_JSON)
        free((void *)it->v.u.buf.ptr);
    it->v = ms_value_none();
}

static void enqueue(ms_spb_edge *e, size_t i)
{
    size_t cap = e->cfg->queue;
    ms_value v;
    if (!cap || ms_tag_get(e->pts[i].tag, &v) < 0)
        return;
    if (e->qlen == cap) { /* full: the oldest goes */
        item_free(&e->q[e->qhead]);
        e->qhead = (e->qhead + 1) % cap;
        e->qlen--;
        if (e->dropped++ == 0)
            ms_log_warn("%s/%s: queue of %zu values full while the broker "
                        "is away; dropping the oldest", e->cfg->group,
                        e->cfg->node, cap);
    }
    edge_item *it = &e->q[(e->qhead + e->qlen) % cap];
    it->point = i;
    it->time_us = ms_tag_time_us(e->pts[i].tag);
    it->v = v;
    if (v.type == MS_TYPE_STR || v.type == MS_TYPE_BYTES ||
        v.type == MS_TYPE_JSON) {
        void *c = malloc(v.u.buf.len + 1);
        if (!c)
            return;
        memcpy(c, v.u.buf.ptr, v.u.buf.len);
        it->v.u.buf.ptr = c;
    }
    e->qlen++;
}

static void replay_queue(ms_spb_edge *e)
{
    size_t cap = e->cfg->queue;
    if (!e->qlen)
        return;
    ms_log_info("%s/%s: sending %zu values held while away%s", e->cfg->group,
                e->cfg->node, e->qlen, e->dropped ? " (the oldest dropped)"
                                                  : "");
    ms_spb_metric *ms = calloc(HIST_BATCH, sizeof *ms);
    if (!ms)
        return;
    while (e->qlen) {
        /* a run of items of one node/device, in order */
        int dev = e->pts[e->q[e->qhead].point].dev;
        size_t n = 0;
        while (e->qlen && n < HIST_BATCH &&
               e->pts[e->q[e->qhead].point].dev == dev) {
            edge_item *it = &e->q[e->qhead];
            fill_metric(e, it->point, &ms[n], &it->v, it->time_us, false);
            ms[n].historical = true;
            n++;
            e->qhead = (e->qhead + 1) % cap;
            e->qlen--;
        }
        bool ok = dev < 0 || e->devs[dev].born;
        if (ok) {
            ms_spb_payload pl = {0};
            pl.metrics = ms;
            pl.n = n;
            publish_msg(e, dev < 0 ? MS_SPB_NDATA : MS_SPB_DDATA, dev, &pl);
        }
        /* the bytes of these items go now */
        for (size_t k = 0; k < n; k++) {
            size_t at = (e->qhead + cap - n + k) % cap;
            item_free(&e->q[at]);
        }
    }
    e->qhead = 0;
    e->dropped = 0;
    free(ms);
}

/* ---- bus changes ------------------------------------------------------------- */

static void mark(ms_spb_edge *e, size_t i)
{
    edge_point *p = &e->pts[i];
    if (!e->live) {
        enqueue(e, i);
        return;
    }
    if (p->dirty)
        return;
    p->dirty = true;
    e->dirty[e->ndirty++] = i;
    if (!uv_is_active((uv_handle_t *)&e->flush))
        uv_timer_start(&e->flush, on_flush, 0, 0);
}

/* ---- the first birth waits for the tags' answers ------------------------------ */

static void set_ready(ms_spb_edge *e, const char *why)
{
    if (e->ready)
        return;
    e->ready = true;
    uv_timer_stop(&e->ready_timer);
    if (e->unanswered)
        ms_log_warn("%s/%s: %zu of %zu tags have not answered in %d ms (is "
                    "the bus there?): born with null values for them",
                    e->cfg->group, e->cfg->node, e->unanswered, e->npts,
                    MS_SPB_READY_MS);
    else
        ms_log_debug("%s/%s: every tag answered (%s)", e->cfg->group,
                     e->cfg->node, why);
    if (e->want_birth && e->link && ms_spb_link_up(e->link)) {
        e->want_birth = false;
        birth_now(e);
    }
}

static void answered(ms_spb_edge *e, edge_point *p)
{
    if (p->answered)
        return;
    p->answered = true;
    p->pending = 0;
    if (--e->unanswered == 0)
        set_ready(e, "all");
}

static void on_ready_timeout(uv_timer_t *t)
{
    set_ready(t->data, "timeout");
}

static void send_barrier(ms_spb_edge *e);

/* A LIST that matches nothing: the bus answers in order, so by its answer
 * every SUB sent before it has had its reply (value or none). */
static void on_barrier(ms_client *c, int status, const char *const *names,
                       size_t n, void *arg)
{
    ms_spb_edge *e = arg;
    (void)c;
    (void)names;
    (void)n;
    e->barrier_out = false;
    if (status < 0 || e->drv.stopping || e->ready)
        return; /* the connection went: the ids come again on reconnect */
    uint32_t done = e->barrier_next - 1;
    bool more = false;
    for (size_t i = 0; i < e->npts && !e->ready; i++) {
        edge_point *p = &e->pts[i];
        if (p->pending && p->pending <= done)
            answered(e, p);
        else if (p->pending)
            more = true;
    }
    if (more && !e->ready)
        send_barrier(e);
}

static void send_barrier(ms_spb_edge *e)
{
    if (e->barrier_out)
        return;
    if (ms_client_list(e->drv.bus, NULL, UINT64_MAX, on_barrier, e) == 0) {
        e->barrier_out = true;
        e->barrier_next++;
    }
}

static void on_id(ms_tag *tag, void *arg)
{
    ms_spb_edge *e = arg;
    edge_point *p = ms_tag_data(tag);
    if (e->ready || p->answered || ms_tag_has_value(tag))
        return; /* a value: on_change answers it */
    /* settled by the next barrier sent (sent after this SUB) */
    p->pending = e->barrier_next;
    send_barrier(e);
}

static void on_absent(ms_tag *tag, void *arg)
{
    ms_spb_edge *e = arg;
    if (!e->ready)
        answered(e, ms_tag_data(tag));
}

static void on_change(ms_tag *tag, void *arg)
{
    ms_spb_edge *e = arg;
    edge_point *p = ms_tag_data(tag);
    if (!p->answered) {
        /* the bus's value at start: the NBIRTH carries it (it may be that
         * answer's birth), else the next data */
        bool live = e->live;
        answered(e, p);
        if (!live)
            return;
    }
    mark(e, (size_t)(p - e->pts));
}

static bool status_up(ms_tag *t)
{
    ms_value v;
    if (ms_tag_get(t, &v) < 0)
        return true; /* unknown: up */
    if (v.type == MS_TYPE_INT)
        return v.u.i != 0;
    if (v.type == MS_TYPE_JSON) {
        json_t *j = json_loadb((const char *)v.u.buf.ptr, v.u.buf.len, 0,
                               NULL);
        json_t *ok = json_object_get(j, "ok");
        bool up = !json_is_false(ok);
        json_decref(j);
        return up;
    }
    return true;
}

static void on_status(ms_tag *tag, void *arg)
{
    ms_spb_edge *e = arg;
    for (size_t d = 0; d < e->cfg->ndevices; d++) {
        edge_dev *dv = &e->devs[d];
        if (dv->status != tag)
            continue;
        bool up = status_up(tag);
        if (up == dv->up)
            continue;
        dv->up = up;
        ms_log_info("%s: device %s", e->cfg->devices[d].name,
                    up ? "up" : "down");
        if (!e->live)
            continue;
        if (up) {
            flush(e);
            birth_device(e, (int)d);
        } else if (dv->born) {
            flush(e);
            ms_spb_payload pl = {0};
            publish_msg(e, MS_SPB_DDEATH, (int)d, &pl);
            dv->born = false;
        }
    }
}

/* ---- commands ---------------------------------------------------------------- */

static edge_point *cmd_point(ms_spb_edge *e, const ms_spb_metric *m)
{
    if (m->name)
        return ms_htab_get(&e->by_name, m->name, m->name_len);
    if (m->has_alias && m->alias >= 1 && m->alias <= e->npts)
        return &e->pts[m->alias - 1];
    return NULL;
}

static void command(ms_spb_edge *e, int dev, const uint8_t *p, size_t len)
{
    ms_spb_payload pl;
    if (ms_spb_decode(p, len, &pl) < 0) {
        ms_log_warn("%s: not a Sparkplug B payload; ignored",
                    dev < 0 ? "NCMD" : "DCMD");
        return;
    }
    for (size_t k = 0; k < pl.n; k++) {
        const ms_spb_metric *m = &pl.metrics[k];
        if (dev < 0 && m->name && m->name_len == strlen(REBIRTH) &&
            !memcmp(m->name, REBIRTH, m->name_len)) {
            if (m->kind == MS_SPB_V_BOOL && m->v.b && e->live) {
                ms_log_info("NCMD: rebirth asked");
                flush(e);
                birth(e);
            }
            continue;
        }
        edge_point *pt = cmd_point(e, m);
        const char *what = dev < 0 ? "NCMD" : "DCMD";
        if (!pt || pt->dev != dev) {
            ms_log_warn("%s: no metric %.*s here; ignored", what,
                        m->name ? (int)m->name_len : 0, m->name ? m->name
                                                                : "");
            continue;
        }
        if (!pt->writable) {
            ms_log_warn("%s: %s is not writable (config: writable); not "
                        "set", what, pt->desc->name);
            continue;
        }
        ms_value v;
        int rc = ms_spb_metric_get_value(m, &v);
        if (rc == 0 && v.type == MS_TYPE_STR && point_type(pt) == MS_TYPE_JSON)
            v.type = MS_TYPE_JSON;
        if (rc == 0)
            rc = ms_tag_set(pt->tag, &v, m->has_time ? m->time_ms * 1000 : 0);
        if (rc < 0) {
            ms_log_warn("%s: %s: not set: %s", what, pt->desc->name,
                        ms_strerror(rc));
            continue;
        }
        ms_log_info("%s: %s set", what, pt->desc->name);
        mark(e, (size_t)(pt - e->pts)); /* report the new value */
    }
    ms_spb_payload_free(&pl);
}

/* ---- MQTT --------------------------------------------------------------------- */

static void set_will(ms_spb_link *l, void *arg)
{
    ms_spb_edge *e = arg;
    if (e->attempted)
        e->bdseq = (e->bdseq + 1) & 255;
    e->attempted = true;
    ms_spb_metric m;
    memset(&m, 0, sizeof m);
    m.name = "bdSeq";
    m.name_len = 5;
    ms_value v = ms_value_int((int64_t)e->bdseq);
    ms_spb_metric_set_value(&m, &v);
    ms_spb_payload pl = {true, ms_time_now_us() / 1000, false, 0, &m, 1};
    ms_spb_buf b = {0};
    char topic[600];
    topic_of(e, MS_SPB_NDEATH, -1, topic, sizeof topic);
    if (ms_spb_encode(&pl, &b) == 0)
        ms_spb_link_will(l, topic, b.p, b.len, 1, false);
    ms_spb_buf_free(&b);
}

static void on_up(ms_spb_link *l, void *arg)
{
    ms_spb_edge *e = arg;
    char topic[600];
    topic_of(e, MS_SPB_NCMD, -1, topic, sizeof topic);
    ms_spb_link_subscribe(l, topic, 1);
    snprintf(topic, sizeof topic, MS_SPB_NAMESPACE "/%s/DCMD/%s/+",
             e->cfg->group, e->cfg->node);
    ms_spb_link_subscribe(l, topic, 1);
    if (e->cfg->primary_host[0]) {
        snprintf(topic, sizeof topic, MS_SPB_NAMESPACE "/STATE/%s",
                 e->cfg->primary_host);
        ms_spb_link_subscribe(l, topic, 1);
        return; /* born when the host says it is online */
    }
    birth(e);
}

static void on_down(ms_spb_link *l, const char *why, void *arg)
{
    ms_spb_edge *e = arg;
    (void)l;
    (void)why;
    e->live = false;
    e->want_birth = false;
    e->host_online = false;
    for (size_t k = 0; k < e->ndirty; k++) { /* not sent: held */
        e->pts[e->dirty[k]].dirty = false;
        enqueue(e, e->dirty[k]);
    }
    e->ndirty = 0;
}

static void on_message(ms_spb_link *l, const char *topic, const uint8_t *p,
                       size_t len, void *arg)
{
    ms_spb_edge *e = arg;
    (void)l;
    ms_spb_topic t;
    if (ms_spb_topic_parse(topic, strlen(topic), &t) < 0)
        return;
    if (t.type == MS_SPB_STATE) {
        bool online;
        uint64_t ts;
        if (strcmp(t.node, e->cfg->primary_host) ||
            ms_spb_state_parse(p, len, &online, &ts) < 0)
            return;
        if (online && !e->host_online) {
            ms_log_info("primary host %s online", t.node);
            e->host_online = true;
            birth(e);
        } else if (!online && e->host_online) {
            ms_log_warn("primary host %s offline: values held until it is "
                        "back", t.node);
            e->host_online = false;
            e->live = false;
            e->want_birth = false;
        }
        return;
    }
    if (!e->live)
        return;
    if (t.type == MS_SPB_NCMD) {
        command(e, -1, p, len);
    } else if (t.type == MS_SPB_DCMD) {
        for (size_t d = 0; d < e->cfg->ndevices; d++)
            if (!strcmp(e->cfg->devices[d].name, t.device))
                command(e, (int)d, p, len);
    }
}

/* ---- start and stop ------------------------------------------------------------ */

static void edge_free(ms_drv *d)
{
    ms_spb_edge *e = (ms_spb_edge *)d;
    for (size_t k = 0; k < e->qlen; k++)
        item_free(&e->q[(e->qhead + k) % e->cfg->queue]);
    free(e->q);
    free(e->pts);
    free(e->devs);
    free(e->dirty);
    ms_htab_free(&e->by_name);
    free(e);
}

void ms_spb_edge_stop(ms_spb_edge *e)
{
    if (!e || e->drv.stopping)
        return;
    e->drv.stopping = true;
    if (e->link && ms_spb_link_up(e->link)) {
        flush(e);
        ms_spb_metric m;
        memset(&m, 0, sizeof m);
        m.name = "bdSeq";
        m.name_len = 5;
        ms_value v = ms_value_int((int64_t)e->bdseq);
        ms_spb_metric_set_value(&m, &v);
        ms_spb_payload pl = {false, 0, false, 0, &m, 1};
        publish_msg(e, MS_SPB_NDEATH, -1, &pl);
    }
    ms_spb_link_close(e->link);
    ms_drv_timer_close(&e->drv, &e->flush);
    ms_drv_timer_close(&e->drv, &e->ready_timer);
    ms_drv_stop(&e->drv);
}

static int device_of(const ms_spb_config *cfg, const char *name)
{
    for (size_t d = 0; d < cfg->ndevices; d++)
        if (ms_spb_patterns_match(&cfg->devices[d].tags, name))
            return (int)d;
    return -1;
}

static int start(ms_spb_edge *e)
{
    ms_spb_config *cfg = e->cfg;
    int rc = ms_drv_bus_new(&e->drv, &cfg->bus);
    if (rc < 0)
        return rc;
    e->pts = calloc(e->descs->n + 1, sizeof *e->pts);
    e->dirty = calloc(e->descs->n + 1, sizeof *e->dirty);
    e->devs = calloc(cfg->ndevices + 1, sizeof *e->devs);
    e->q = calloc(cfg->queue + 1, sizeof *e->q);
    if (!e->pts || !e->dirty || !e->devs || !e->q)
        return MS_ENOMEM;
    for (size_t i = 0; i < e->descs->n; i++) {
        const ms_tagdesc *d = &e->descs->tags[i];
        int dev = device_of(cfg, d->name);
        if (dev < 0 && cfg->tags.n && !ms_spb_patterns_match(&cfg->tags,
                                                             d->name))
            continue;
        edge_point *p = &e->pts[e->npts];
        p->desc = d;
        p->dev = dev;
        p->writable = ms_spb_patterns_match(&cfg->writable, d->name);
        if ((rc = ms_tag_look(e->drv.bus, d->name, &p->tag)) < 0 ||
            (rc = ms_tag_watch(p->tag, on_change, e)) < 0 ||
            (rc = ms_htab_put(&e->by_name, d->name, strlen(d->name), p)) <
                0) {
            ms_log_error("tag %s: %s", d->name, ms_strerror(rc));
            return rc;
        }
        ms_tag_set_data(p->tag, p);
        ms_tag_on_id(p->tag, on_id, e);
        ms_tag_on_absent(p->tag, on_absent, e);
        e->npts++;
    }
    e->unanswered = e->npts;
    if (!e->npts)
        e->ready = true;
    else
        uv_timer_start(&e->ready_timer, on_ready_timeout, MS_SPB_READY_MS, 0);
    if (!e->npts)
        ms_log_warn("no tags of tags.yaml are selected (tags:, devices:): "
                    "the node has no metrics");
    for (size_t d = 0; d < cfg->ndevices; d++) {
        e->devs[d].up = true;
        if (!cfg->devices[d].status)
            continue;
        if ((rc = ms_tag_look(e->drv.bus, cfg->devices[d].status,
                              &e->devs[d].status)) < 0 ||
            (rc = ms_tag_watch(e->devs[d].status, on_status, e)) < 0) {
            ms_log_error("device %s: status tag %s: %s",
                         cfg->devices[d].name, cfg->devices[d].status,
                         ms_strerror(rc));
            return rc;
        }
    }
    ms_spb_link_cbs cbs = {set_will, on_up, on_down, on_message, e};
    if (!cfg->mqtt.client_id[0])
        snprintf(cfg->mqtt.client_id, sizeof cfg->mqtt.client_id,
                 "mscada-%.50s-%.50s", cfg->group, cfg->node);
    if ((rc = ms_spb_link_new(e->drv.loop, &cfg->mqtt, &cbs, &e->link)) < 0) {
        ms_log_error("MQTT: %s", ms_strerror(rc));
        return rc;
    }
    return 0;
}

int ms_spb_edge_start(uv_loop_t *loop, ms_spb_config *cfg,
                      const ms_tagdescs *descs, ms_spb_edge **out)
{
    *out = NULL;
    ms_spb_edge *e = calloc(1, sizeof *e);
    if (!e)
        return MS_ENOMEM;
    e->cfg = cfg;
    e->descs = descs;
    ms_drv_init(&e->drv, loop, NULL, edge_free);
    ms_drv_timer_open(&e->drv, &e->flush, e);
    ms_drv_timer_open(&e->drv, &e->ready_timer, e);
    e->barrier_next = 1;
    int rc = start(e);
    if (rc < 0) {
        ms_spb_edge_stop(e);
        return rc;
    }
    *out = e;
    return 0;
}
