/* Tags, connections, subscriptions and per-connection send state of the
 * wwwserver (www_hub.h). */
#include "www/codec/www_hub.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mscada/error.h"
#include "mscada/log.h"
#include "www/codec/www_json.h"
#include "www/codec/www_msg.h"
#include "www/codec/www_taginfo.h"

/* One whole frame, shared by every connection it is queued for. */
typedef struct {
    int refs;
    size_t len;
    uint8_t data[];
} blob;

static blob *blob_take(ms_buf *b)
{
    blob *x = malloc(sizeof *x + ms_buf_size(b));
    if (x) {
        x->refs = 1;
        x->len = ms_buf_size(b);
        memcpy(x->data, ms_buf_head(b), x->len);
    }
    b->off = b->len = 0;
    return x;
}

static void blob_unref(blob *x)
{
    if (x && --x->refs == 0)
        free(x);
}

/* Per (connection, tag) flags. */
enum { SUBBED = 1, DIRTY = 2 };

typedef struct {
    char *name;
    json_t *info;
    ms_type type;
    uint16_t id;
    bool wanted;
    bool has_value;
    ms_value value;        /* STR/BYTES/JSON point into buf */
    uint8_t *buf;
    uint64_t time_us;
    int rta_id;            /* of a BYTES or dict value */
    blob *info_frame;      /* tag_info with the current id */
    blob *value_frame;     /* list, dict, BYTES: the frame of the value */
    ms_www_conn **subs;
    size_t nsubs, asubs;
} hub_tag;

struct ms_www_conn {
    ms_www_hub *hub;
    ms_www_conn *prev, *next;
    char peer[64];
    void *user;
    int rta_id;
    uint8_t *flags;        /* per tag: SUBBED, DIRTY */
    int *dirty;            /* tags with DIRTY, in order of change */
    size_t ndirty;
    int *subs;             /* tags with SUBBED */
    size_t nsubs, asubs;
    blob **q;              /* ring of queued frames */
    size_t qhead, qn, qcap;
    size_t qbytes;
    bool armed;            /* want_write called, not yet drained */
    bool overflowed;
    ms_www_conn_stats st;
};

struct ms_www_hub {
    ms_www_hub_config cfg;
    hub_tag *tags;
    size_t ntags, atags;
    blob *config_frame, *pages_frame;
    ms_www_conn *conns;
    size_t nconns;
    uint8_t *ids_used;     /* 1..rta_ids */
    int next_id;
    ms_buf scratch;
    ms_www_hub_stats st;
};

void ms_www_hub_config_init(ms_www_hub_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->queue_max = 16u << 20;
    cfg->rta_ids = 999;
    cfg->history_tag = "__history__";
    cfg->history_max_points = 100000;
}

void ms_www_hub_set_io(ms_www_hub *h,
                       void (*want_write)(ms_www_conn *c, void *arg),
                       void (*overflow)(ms_www_conn *c, void *arg),
                       void *arg)
{
    h->cfg.want_write = want_write;
    h->cfg.overflow = overflow;
    h->cfg.arg = arg;
}

static blob *json_frame(ms_www_hub *h, const char *type, const json_t *p)
{
    h->scratch.off = h->scratch.len = 0;
    if (ms_www_frame_json(&h->scratch, type, p) < 0)
        return NULL;
    return blob_take(&h->scratch);
}

int ms_www_hub_new(const ms_www_hub_config *cfg, const json_t *config,
                   const json_t *pages, ms_www_hub **out)
{
    ms_www_hub *h = calloc(1, sizeof *h);
    if (!h)
        return MS_ENOMEM;
    h->cfg = *cfg;
    if (h->cfg.rta_ids < 1 || h->cfg.rta_ids > 65535)
        h->cfg.rta_ids = 999;
    h->ids_used = calloc((size_t)h->cfg.rta_ids + 1, 1);
    h->next_id = 1;
    json_t *empty = json_array();
    h->pages_frame = json_frame(h, "pages", pages ? pages : empty);
    json_decref(empty);
    if (config)
        h->config_frame = json_frame(h, "config", config);
    if (!h->ids_used || !h->pages_frame || (config && !h->config_frame)) {
        ms_www_hub_free(h);
        return MS_ENOMEM;
    }
    *out = h;
    return 0;
}

void ms_www_hub_free(ms_www_hub *h)
{
    if (!h)
        return;
    while (h->conns)
        ms_www_conn_free(h->conns);
    for (size_t i = 0; i < h->ntags; i++) {
        hub_tag *t = &h->tags[i];
        free(t->name);
        json_decref(t->info);
        free(t->buf);
        blob_unref(t->info_frame);
        blob_unref(t->value_frame);
        free(t->subs);
    }
    free(h->tags);
    blob_unref(h->config_frame);
    blob_unref(h->pages_frame);
    free(h->ids_used);
    ms_buf_free(&h->scratch);
    free(h);
}

int ms_www_hub_find(const ms_www_hub *h, const char *name)
{
    for (size_t i = 0; i < h->ntags; i++)
        if (!strcmp(h->tags[i].name, name))
            return (int)i;
    return -1;
}

int ms_www_hub_add_tag(ms_www_hub *h, const char *name, json_t *info)
{
    if (ms_www_hub_find(h, name) >= 0 || h->nconns) {
        json_decref(info);
        return MS_EINVAL;
    }
    if (h->ntags == h->atags) {
        size_t na = h->atags ? 2 * h->atags : 16;
        hub_tag *nt = realloc(h->tags, na * sizeof *nt);
        if (!nt) {
            json_decref(info);
            return MS_ENOMEM;
        }
        h->tags = nt;
        h->atags = na;
    }
    hub_tag *t = &h->tags[h->ntags];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) {
        json_decref(info);
        return MS_ENOMEM;
    }
    t->info = info;
    t->type = ms_www_taginfo_type(info);
    return (int)h->ntags++;
}

size_t ms_www_hub_ntags(const ms_www_hub *h) { return h->ntags; }
const char *ms_www_hub_tag_name(const ms_www_hub *h, int tag)
{
    return h->tags[tag].name;
}
ms_type ms_www_hub_tag_type(const ms_www_hub *h, int tag)
{
    return h->tags[tag].type;
}
bool ms_www_hub_tag_wanted(const ms_www_hub *h, int tag)
{
    return h->tags[tag].wanted;
}

/* ---- sending ------------------------------------------------------------ */

static void arm(ms_www_conn *c)
{
    if (!c->armed && !c->overflowed) {
        c->armed = true;
        if (c->hub->cfg.want_write)
            c->hub->cfg.want_write(c, c->hub->cfg.arg);
    }
}

static void enqueue(ms_www_conn *c, blob *x)
{
    ms_www_hub *h = c->hub;
    if (c->overflowed || !x)
        return;
    if (c->qbytes + x->len > h->cfg.queue_max) {
        c->overflowed = true;
        h->st.overflows++;
        ms_log_warn("www: %s: %zu bytes waiting for a browser that does not "
                    "read (queue_max %zu): closing it (1008)", c->peer,
                    c->qbytes + x->len, h->cfg.queue_max);
        if (h->cfg.overflow)
            h->cfg.overflow(c, h->cfg.arg);
        return;
    }
    if (c->qn == c->qcap) {
        size_t nc = c->qcap ? 2 * c->qcap : 8;
        blob **nq = malloc(nc * sizeof *nq);
        if (!nq)
            return;
        for (size_t i = 0; i < c->qn; i++)
            nq[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = nq;
        c->qhead = 0;
        c->qcap = nc;
    }
    x->refs++;
    c->q[(c->qhead + c->qn++) % c->qcap] = x;
    c->qbytes += x->len;
    arm(c);
}

static void mark_dirty(ms_www_conn *c, int tag)
{
    if (c->flags[tag] & DIRTY) {
        c->st.conflated++;
        c->hub->st.conflated++;
        return;
    }
    c->flags[tag] |= DIRTY;
    c->dirty[c->ndirty++] = tag;
    arm(c);
}

static bool scalar(ms_type t)
{
    return t == MS_TYPE_INT || t == MS_TYPE_FLOAT || t == MS_TYPE_STR;
}

/* Sends tag's current value to c, as pymscada's publish() would. */
static void publish(ms_www_conn *c, hub_tag *t, int tag)
{
    if (!t->has_value || !t->id)
        return;
    if (scalar(t->value.type)) {
        mark_dirty(c, tag);
        return;
    }
    if (t->rta_id != 0 && t->rta_id != c->rta_id)
        return;
    enqueue(c, t->value_frame);
}

static void send_info(ms_www_conn *c, hub_tag *t, int tag)
{
    enqueue(c, t->info_frame);
    publish(c, t, tag);
}

/* The frame of a list, dict or BYTES value, made with the current id. */
static void remake_frame(ms_www_hub *h, hub_tag *t)
{
    blob_unref(t->value_frame);
    t->value_frame = NULL;
    if (!t->id || !t->has_value || scalar(t->value.type))
        return;
    h->scratch.off = h->scratch.len = 0;
    int rc = t->value.type == MS_TYPE_JSON
                 ? ms_www_frame_tag(&h->scratch, t->id, t->time_us,
                                    (const char *)t->value.u.buf.ptr,
                                    t->value.u.buf.len)
                 : ms_www_frame_value(&h->scratch, t->id, t->time_us,
                                      &t->value);
    if (rc == 0)
        t->value_frame = blob_take(&h->scratch);
}

void ms_www_hub_set_id(ms_www_hub *h, int tag, uint16_t id)
{
    hub_tag *t = &h->tags[tag];
    t->id = id;
    blob_unref(t->info_frame);
    t->info_frame = NULL;
    remake_frame(h, t);
    if (!id)
        return;
    json_object_set_new(t->info, "id", json_integer(id));
    t->info_frame = json_frame(h, "tag_info", t->info);
    for (size_t i = 0; i < t->nsubs; i++)
        send_info(t->subs[i], t, tag);
}

void ms_www_hub_value(ms_www_hub *h, int tag, const ms_value *v,
                      uint64_t time_us)
{
    hub_tag *t = &h->tags[tag];
    if (v->type == MS_TYPE_NONE)
        return; /* never set: nothing to send (pymscada the same) */
    ms_type want = t->type;
    if (v->type != want && !(want == MS_TYPE_FLOAT && v->type == MS_TYPE_INT)) {
        ms_log_warn("www: tag %s: a %s value from the bus for a %s tag "
                    "(tags.yaml); not sent to browsers", t->name,
                    ms_type_name(v->type), ms_type_name(want));
        return;
    }
    ms_value nv = *v;
    if (want == MS_TYPE_FLOAT && v->type == MS_TYPE_INT)
        nv = ms_value_float((double)v->u.i);
    json_t *parsed = NULL;
    if (nv.type == MS_TYPE_JSON) {
        parsed = json_loadb((const char *)nv.u.buf.ptr, nv.u.buf.len,
                            JSON_DECODE_ANY, NULL);
        if (!json_is_object(parsed) && !json_is_array(parsed)) {
            ms_log_warn("www: tag %s: a value from the bus that is not a "
                        "JSON list or object; not sent", t->name);
            json_decref(parsed);
            return;
        }
    }
    if (nv.type == MS_TYPE_STR || !scalar(nv.type)) {
        uint8_t *copy = malloc(nv.u.buf.len + 1);
        if (!copy) {
            json_decref(parsed);
            return;
        }
        if (nv.u.buf.len)
            memcpy(copy, nv.u.buf.ptr, nv.u.buf.len);
        copy[nv.u.buf.len] = 0;
        free(t->buf);
        t->buf = copy;
        nv.u.buf.ptr = copy;
    }
    t->value = nv;
    t->time_us = time_us;
    t->has_value = true;
    t->rta_id = 0; /* lists and dicts without an id go to everybody */
    if (nv.type == MS_TYPE_BYTES || json_is_object(parsed))
        t->rta_id = ms_www_value_rta_id(&nv, parsed);
    json_decref(parsed);
    if (scalar(nv.type)) {
        for (size_t i = 0; t->id && i < t->nsubs; i++)
            mark_dirty(t->subs[i], tag);
        return;
    }
    remake_frame(h, t);
    for (size_t i = 0; i < t->nsubs; i++)
        publish(t->subs[i], t, tag);
}

void ms_www_conn_send(ms_www_conn *c, const char *type, const json_t *payload)
{
    blob *x = json_frame(c->hub, type, payload);
    enqueue(c, x);
    blob_unref(x);
}

void ms_www_hub_bus(ms_www_hub *h, bool up)
{
    if (!up)
        for (size_t i = 0; i < h->ntags; i++)
            ms_www_hub_set_id(h, (int)i, 0);
    json_t *p = json_pack("{s:b}", "connected", up);
    blob *x = json_frame(h, "bus", p);
    json_decref(p);
    for (ms_www_conn *c = h->conns; c; c = c->next)
        enqueue(c, x);
    blob_unref(x);
}

bool ms_www_conn_fill(ms_www_conn *c, ms_buf *out, size_t cap)
{
    ms_www_hub *h = c->hub;
    size_t start = ms_buf_size(out);
    uint64_t frames = 0;
    while (c->qn && ms_buf_size(out) < cap) {
        blob *x = c->q[c->qhead];
        if (ms_buf_append(out, x->data, x->len) < 0)
            break;
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qn--;
        c->qbytes -= x->len;
        blob_unref(x);
        frames++;
    }
    size_t i = 0;
    if (!c->qn) {
        for (; i < c->ndirty && ms_buf_size(out) < cap; i++) {
            int tag = c->dirty[i];
            hub_tag *t = &h->tags[tag];
            c->flags[tag] &= (uint8_t)~DIRTY;
            if (!t->has_value || !t->id || !scalar(t->value.type))
                continue;
            if (ms_www_frame_value(out, t->id, t->time_us, &t->value) < 0)
                break;
            frames++;
        }
        if (i && i < c->ndirty)
            memmove(c->dirty, c->dirty + i,
                    (c->ndirty - i) * sizeof *c->dirty);
        c->ndirty -= i;
    }
    size_t bytes = ms_buf_size(out) - start;
    c->st.frames_out += frames;
    c->st.bytes_out += bytes;
    h->st.frames_out += frames;
    h->st.bytes_out += bytes;
    bool more = c->qn || c->ndirty;
    if (!more)
        c->armed = false;
    return more;
}

/* ---- connections ------------------------------------------------------- */

ms_www_conn *ms_www_conn_new(ms_www_hub *h, const char *peer, void *user)
{
    int id = 0;
    for (int k = 0; k < h->cfg.rta_ids; k++) {
        int cand = (h->next_id - 1 + k) % h->cfg.rta_ids + 1;
        if (!h->ids_used[cand]) {
            id = cand;
            break;
        }
    }
    if (!id) {
        ms_log_warn("www: %s: all %d rta ids are in use (one per browser "
                    "tab): refused", peer, h->cfg.rta_ids);
        return NULL;
    }
    ms_www_conn *c = calloc(1, sizeof *c);
    if (c)
        c->flags = calloc(h->ntags ? h->ntags : 1, 1);
    if (!c || !c->flags) {
        free(c);
        return NULL;
    }
    h->ids_used[id] = 1;
    h->next_id = id % h->cfg.rta_ids + 1; /* recycled last, not at once */
    c->rta_id = id;
    c->hub = h;
    c->user = user;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->nconns++;
    if (h->config_frame)
        enqueue(c, h->config_frame);
    enqueue(c, h->pages_frame);
    ms_log_info("www: %s: browser connected (rta id %d)", c->peer, id);
    return c;
}

void ms_www_conn_free(ms_www_conn *c)
{
    if (!c)
        return;
    ms_www_hub *h = c->hub;
    for (size_t i = 0; i < c->nsubs; i++) {
        hub_tag *t = &h->tags[c->subs[i]];
        for (size_t k = 0; k < t->nsubs; k++) {
            if (t->subs[k] == c) {
                t->subs[k] = t->subs[--t->nsubs];
                break;
            }
        }
    }
    while (c->qn) {
        blob_unref(c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qn--;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->nconns--;
    h->ids_used[c->rta_id] = 0;
    ms_log_info("www: %s: browser gone (rta id %d)", c->peer, c->rta_id);
    free(c->q);
    free(c->flags);
    free(c->dirty);
    free(c->subs);
    free(c);
}

int ms_www_conn_rta_id(const ms_www_conn *c) { return c->rta_id; }
const char *ms_www_conn_peer(const ms_www_conn *c) { return c->peer; }
void *ms_www_conn_user(const ms_www_conn *c) { return c->user; }
bool ms_www_conn_overflowed(const ms_www_conn *c) { return c->overflowed; }
ms_www_conn *ms_www_hub_conn_first(ms_www_hub *h) { return h->conns; }
ms_www_conn *ms_www_conn_next(ms_www_conn *c) { return c->next; }

void ms_www_conn_get_stats(const ms_www_conn *c, ms_www_conn_stats *s)
{
    *s = c->st;
    s->queued = c->qbytes;
    s->subs = c->nsubs;
}

void ms_www_hub_get_stats(const ms_www_hub *h, ms_www_hub_stats *s)
{
    *s = h->st;
    s->conns = h->nconns;
}

/* ---- from the browser ---------------------------------------------------- */

static int do_sub(ms_www_conn *c, int tag)
{
    ms_www_hub *h = c->hub;
    hub_tag *t = &h->tags[tag];
    bool first = !t->wanted;
    if (!(c->flags[tag] & SUBBED)) {
        if (c->nsubs == c->asubs) {
            /* dirty holds subscribed tags only: the same room */
            size_t na = c->asubs ? 2 * c->asubs : 16;
            int *ns = realloc(c->subs, na * sizeof *ns);
            if (ns)
                c->subs = ns;
            int *nd = ns ? realloc(c->dirty, na * sizeof *nd) : NULL;
            if (!nd)
                return MS_WWW_ACT_NONE;
            c->dirty = nd;
            c->asubs = na;
        }
        if (t->nsubs == t->asubs) {
            size_t na = t->asubs ? 2 * t->asubs : 8;
            ms_www_conn **ns = realloc(t->subs, na * sizeof *ns);
            if (!ns)
                return MS_WWW_ACT_NONE;
            t->subs = ns;
            t->asubs = na;
        }
        c->subs[c->nsubs++] = tag;
        t->subs[t->nsubs++] = c;
        c->flags[tag] |= SUBBED;
    }
    t->wanted = true;
    if (t->id)
        send_info(c, t, tag); /* again on a repeated sub, as pymscada */
    return first ? MS_WWW_ACT_SUB : MS_WWW_ACT_NONE;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Checks a browser's set value against the tag's type and tags.yaml's
 * min/max (pymscada checks neither: quirks 3 and 5). */
static bool set_value(ms_www_conn *c, hub_tag *t, json_t *v,
                      ms_www_action *act)
{
    const char *why = NULL;
    char whybuf[160];
    double num = 0;
    switch (t->type) {
    case MS_TYPE_INT:
        if (json_is_integer(v)) {
            act->value = ms_value_int(json_integer_value(v));
            num = (double)act->value.u.i;
        } else if (json_is_real(v) && json_real_value(v) ==
                                          floor(json_real_value(v)) &&
                   fabs(json_real_value(v)) < 9.2e18) {
            act->value = ms_value_int((int64_t)json_real_value(v));
            num = json_real_value(v);
        } else {
            why = "not an integer";
        }
        break;
    case MS_TYPE_FLOAT:
        if (json_is_number(v)) {
            num = json_number_value(v);
            act->value = ms_value_float(num);
        } else {
            why = "not a number";
        }
        break;
    case MS_TYPE_STR:
        if (!json_is_string(v)) {
            why = "not a string";
            break;
        }
        act->text = strndup(json_string_value(v), json_string_length(v));
        if (!act->text || strlen(act->text) != json_string_length(v)) {
            why = "a string with NUL";
            break;
        }
        act->value = ms_value_buf(MS_TYPE_STR, act->text, strlen(act->text));
        break;
    case MS_TYPE_JSON: {
        const char *tt = json_string_value(json_object_get(t->info, "type"));
        bool dict = tt && !strcmp(tt, "dict");
        if (dict ? !json_is_object(v) : !json_is_array(v)) {
            why = dict ? "not an object" : "not a list";
            break;
        }
        size_t len;
        act->text = ms_www_json_text(v, &len);
        if (!act->text) {
            why = "out of memory";
            break;
        }
        act->value = ms_value_buf(MS_TYPE_JSON, act->text, len);
        break;
    }
    default:
        why = "a bytes tag (browsers can't set those)";
    }
    if (!why && (t->type == MS_TYPE_INT || t->type == MS_TYPE_FLOAT)) {
        json_t *mn = json_object_get(t->info, "min");
        json_t *mx = json_object_get(t->info, "max");
        json_t *multi = json_object_get(t->info, "multi");
        if (json_is_number(mn) && num < json_number_value(mn)) {
            snprintf(whybuf, sizeof whybuf, "%g is below min %g", num,
                     json_number_value(mn));
            why = whybuf;
        } else if (json_is_number(mx) && num > json_number_value(mx)) {
            snprintf(whybuf, sizeof whybuf, "%g is above max %g", num,
                     json_number_value(mx));
            why = whybuf;
        } else if (json_is_array(multi) &&
                   (num < 0 || num >= (double)json_array_size(multi))) {
            snprintf(whybuf, sizeof whybuf, "%g is not a state of multi "
                     "(0 to %zu)", num, json_array_size(multi) - 1);
            why = whybuf;
        }
    }
    if (why) {
        ms_log_warn("www: %s: set %s refused: %s%s%s", c->peer, t->name,
                    why, why == whybuf ? "" : ", got ",
                    why == whybuf ? "" : json_kind(v));
        free(act->text);
        act->text = NULL;
        return false;
    }
    return true;
}

/* The request with this connection's id, and for history a max_points
 * sized to the range when the browser gave none. */
static bool rta_text(ms_www_conn *c, hub_tag *t, bool rqs, json_t *req,
                     ms_www_action *act)
{
    ms_www_hub *h = c->hub;
    json_t *v = json_copy(req);
    if (!v)
        return false;
    /* The 2024 form names the id __rqs_id__; mscada history answers
     * __rta_id__ only, so that form carries both. */
    if (rqs)
        json_object_set_new(v, "__rqs_id__", json_integer(c->rta_id));
    json_object_set_new(v, "__rta_id__", json_integer(c->rta_id));
    if (h->cfg.history_tag && !strcmp(t->name, h->cfg.history_tag) &&
        h->cfg.history_max_points > 0 && !json_object_get(v, "max_points")) {
        double s = json_number_value(json_object_get(v, "start_ms")) * 1e3;
        double e = json_number_value(json_object_get(v, "end_ms")) * 1e3;
        if (json_object_get(v, "start_us"))
            s = json_number_value(json_object_get(v, "start_us"));
        if (json_object_get(v, "end_us"))
            e = json_number_value(json_object_get(v, "end_us"));
        double span_s = (e - s) / 1e6; /* at most one point a second */
        double n = h->cfg.history_max_points;
        if (e > s && span_s < n)
            n = span_s < 1000 ? 1000 : ceil(span_s);
        json_object_set_new(v, "max_points", json_integer((json_int_t)n));
    }
    act->text = ms_www_json_text(v, NULL);
    json_decref(v);
    return act->text != NULL;
}

void ms_www_conn_recv(ms_www_conn *c, const char *text, size_t len,
                      ms_www_action *act)
{
    ms_www_hub *h = c->hub;
    memset(act, 0, sizeof *act);
    c->st.msgs_in++;
    h->st.msgs_in++;
    ms_www_msg m;
    char why[200];
    if (ms_www_msg_decode(text, len, &m, why, sizeof why) < 0) {
        h->st.refused++;
        ms_log_warn("www: %s: message ignored: %s", c->peer, why);
        return;
    }
    ms_log_debug("www: %s: %.*s", c->peer, (int)(len > 300 ? 300 : len),
                 text);
    if (m.cmd == MS_WWW_FILE) {
        ms_log_warn("www: %s: file upload ignored: not supported",
                    c->peer);
        goto refused;
    }
    int tag = ms_www_hub_find(h, m.tagname);
    if (tag < 0) {
        ms_log_warn("www: %s: %s of %.100s ignored: not in tags.yaml",
                    c->peer, json_string_value(json_object_get(m.root,
                                                               "type")),
                    m.tagname);
        goto refused;
    }
    hub_tag *t = &h->tags[tag];
    act->tag = tag;
    switch (m.cmd) {
    case MS_WWW_SUB:
        act->kind = do_sub(c, tag);
        break;
    case MS_WWW_SET:
        if (!(c->flags[tag] & SUBBED)) {
            ms_log_warn("www: %s: set %s ignored: not subscribed first",
                        c->peer, t->name);
            goto refused;
        }
        if (!set_value(c, t, m.value, act))
            goto refused;
        act->kind = MS_WWW_ACT_SET;
        break;
    case MS_WWW_RTA:
        if (!rta_text(c, t, m.rqs, m.value, act))
            goto refused;
        act->kind = MS_WWW_ACT_RTA;
        break;
    default:
        ms_log_info("www: %s: %s of %s: not implemented (ignored, as "
                    "pymscada)", c->peer, m.cmd == MS_WWW_GET ? "get"
                                                             : "unsub",
                    t->name);
        break;
    }
    json_decref(m.root);
    return;
refused:
    h->st.refused++;
    json_decref(m.root);
    memset(act, 0, sizeof *act);
}

void ms_www_conn_recv_binary(ms_www_conn *c, size_t len)
{
    c->st.msgs_in++;
    c->hub->st.msgs_in++;
    c->hub->st.refused++;
    ms_log_warn("www: %s: binary message of %zu bytes ignored (browsers "
                "send JSON text)", c->peer, len);
}

void ms_www_action_done(ms_www_action *act)
{
    free(act->text);
    memset(act, 0, sizeof *act);
}
