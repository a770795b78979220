/* Typed tags: the client's tag table (by name and by bus id), each tag's
 * value (owned by the tag, in wire form), the program's own sets with
 * clamping and deadband, change callbacks, and RTA handling.
 *
 * Who authored a value decides what happens on a reconnect: a tag whose
 * latest value is our own set is "own"; after every (re)connect it is
 * "dirty" until the SUB reply shows what the bus holds: ours goes out again
 * unless the bus holds a newer time_us (then the bus's value wins), so the
 * bus forwards RTAs to us again after it restarts.
 *
 * Callbacks fire only for values from the bus (and for an `init` value the
 * library publishes on the program's behalf), never for own sets. A SUB
 * reply fires them only when it differs (time_us or value) from the copy
 * kept here, so a reconnect doesn't repeat values the program has seen. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

/* ---- the table ------------------------------------------------------------ */

static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static ms_tag *find(const ms_client *c, const char *name, size_t len)
{
    if (!c->hsize)
        return NULL;
    ms_tag *t = c->hash[name_hash(name, len) & (c->hsize - 1)];
    for (; t; t = t->hnext)
        if (t->name_len == len && !memcmp(t->name, name, len))
            return t;
    return NULL;
}

/* Adds t to the name hash and the list (the caller holds the lock). */
static int table_add(ms_client *c, ms_tag *t)
{
    if (c->ntags == c->atags) {
        size_t na = c->atags ? 2 * c->atags : 16;
        ms_tag **nt = realloc(c->tags, na * sizeof *nt);
        if (!nt)
            return MS_ENOMEM;
        c->tags = nt;
        c->atags = na;
    }
    if (c->ntags + 1 > c->hsize) {
        size_t ns = c->hsize ? 2 * c->hsize : 16;
        ms_tag **nh = calloc(ns, sizeof *nh);
        if (!nh)
            return MS_ENOMEM;
        for (size_t i = 0; i < c->ntags; i++) {
            ms_tag *x = c->tags[i];
            uint32_t b = name_hash(x->name, x->name_len) & (ns - 1);
            x->hnext = nh[b];
            nh[b] = x;
        }
        free(c->hash);
        c->hash = nh;
        c->hsize = ns;
    }
    uint32_t b = name_hash(t->name, t->name_len) & (c->hsize - 1);
    t->hnext = c->hash[b];
    c->hash[b] = t;
    c->tags[c->ntags++] = t;
    return 0;
}

static ms_tag *by_id(const ms_client *c, uint16_t id)
{
    return id && id < c->nby_id ? c->by_id[id] : NULL;
}

static int by_id_put(ms_client *c, uint16_t id, ms_tag *t)
{
    if (id >= c->nby_id) {
        size_t n = c->nby_id ? c->nby_id : 64;
        while (n <= id)
            n *= 2;
        ms_tag **nb = realloc(c->by_id, n * sizeof *nb);
        if (!nb)
            return MS_ENOMEM;
        memset(nb + c->nby_id, 0, (n - c->nby_id) * sizeof *nb);
        c->by_id = nb;
        c->nby_id = n;
    }
    c->by_id[id] = t;
    return 0;
}

/* ---- values --------------------------------------------------------------- */

static bool has_value(const ms_tag *t)
{
    return t->value.type != MS_TYPE_NONE;
}

/* Stores a copy of v (the caller has checked it) as the tag's value. */
static int store(ms_tag *t, const ms_value *v, uint64_t time_us)
{
    size_t n = ms_value_wire_size(v);
    const uint8_t *src = v->type >= MS_TYPE_STR ? v->u.buf.ptr : NULL;
    /* A value read from this very tag must not be overwritten mid-copy. */
    bool overlap = src && t->wire && src >= t->wire &&
                   src < t->wire + t->wire_alloc;
    bool shrink = t->wire_alloc > 65536 && n + 1 < t->wire_alloc / 4;
    uint8_t *fresh = NULL;
    if (n + 1 > t->wire_alloc || overlap || shrink) {
        fresh = malloc(n + 1);
        if (!fresh)
            return MS_ENOMEM;
        if (ms_value_encode(v, fresh, n) < 0) {
            free(fresh);
            return MS_ETYPE;
        }
    }
    ms_client_lock(t->c);
    if (fresh) {
        free(t->wire);
        t->wire = fresh;
        t->wire_alloc = n + 1;
    } else {
        ms_value_encode(v, t->wire, n);
    }
    t->wire[n] = 0; /* STR and JSON read as C strings */
    t->wire_len = n;
    t->value.type = v->type;
    if (v->type == MS_TYPE_INT || v->type == MS_TYPE_FLOAT)
        t->value.u = v->u;
    else if (v->type != MS_TYPE_NONE)
        t->value = ms_value_buf(v->type, t->wire + 1, n - 1);
    t->time_us = time_us;
    ms_client_unlock(t->c);
    return 0;
}

static bool same_value(const ms_tag *t, const ms_value *v)
{
    return ms_value_same(&t->value, v);
}

static bool json_ok(const uint8_t *p, size_t len)
{
    /* Flags 0: only a list or an object at the top, as DESIGN §5 says. */
    json_error_t e;
    json_t *j = json_loadb((const char *)p, len, 0, &e);
    if (!j)
        return false;
    json_decref(j);
    return true;
}

/* Fits v to the tag's type: an INT becomes a FLOAT for a FLOAT tag. */
static bool type_fit(const ms_tag *t, ms_value *v)
{
    if (t->type == MS_TYPE_NONE || v->type == t->type)
        return true;
    if (t->type == MS_TYPE_FLOAT && v->type == MS_TYPE_INT) {
        *v = ms_value_float((double)v->u.i);
        return true;
    }
    return false;
}

static int64_t clamp_i(double lim, bool up)
{
    /* The nearest int64 inside the limit. */
    if (lim >= 9223372036854775807.0)
        return INT64_MAX;
    if (lim <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)(up ? ceil(lim) : floor(lim));
}

/* min/max and deadband for the program's own numeric sets (pymscada's
 * rule: a clamped value passes whenever it differs). Returns true when
 * the change is within the deadband and is to be ignored. */
static bool limit(const ms_tag *t, ms_value *v)
{
    bool clamped = false;
    double x;
    if (v->type == MS_TYPE_INT) {
        if (t->has_min && (double)v->u.i < t->min) {
            v->u.i = clamp_i(t->min, true);
            clamped = true;
        }
        if (t->has_max && (double)v->u.i > t->max) {
            v->u.i = clamp_i(t->max, false);
            clamped = true;
        }
        x = (double)v->u.i;
    } else if (v->type == MS_TYPE_FLOAT) {
        if (t->has_min && v->u.f < t->min) {
            v->u.f = t->min;
            clamped = true;
        }
        if (t->has_max && v->u.f > t->max) {
            v->u.f = t->max;
            clamped = true;
        }
        x = v->u.f;
    } else {
        return false;
    }
    if (!(t->deadband > 0) || !has_value(t))
        return false;
    double old;
    if (t->value.type == MS_TYPE_INT)
        old = (double)t->value.u.i;
    else if (t->value.type == MS_TYPE_FLOAT)
        old = t->value.u.f;
    else
        return false;
    if (clamped)
        return old == x && t->value.type == v->type;
    return fabs(old - x) <= t->deadband;
}

/* ---- publishing ------------------------------------------------------------ */

static void backlog_add(ms_tag *t)
{
    ms_client *c = t->c;
    if (t->in_backlog)
        return;
    t->in_backlog = true;
    t->bnext = NULL;
    if (c->backlog_tail)
        c->backlog_tail->bnext = t;
    else
        c->backlog = t;
    c->backlog_tail = t;
}

/* Sends our latest value when possible; otherwise it stays dirty (latest
 * only) until the id comes or the queue drains. BYTES (e.g. RTA replies)
 * are always queued: each one matters. */
static void publish(ms_tag *t)
{
    ms_client *c = t->c;
    t->dirty = true;
    if (!ms_client_online(c) || !t->id || !has_value(t))
        return;
    if (t->value.type != MS_TYPE_BYTES &&
        ms_client_queued(c) > c->cfg.queue_high_water) {
        backlog_add(t);
        return;
    }
    if (ms_client_send_raw_value(c, MS_CMD_SET, t->id, t->time_us, t->wire,
                                 t->wire_len) < 0) {
        ms_log_error("tag %s: out of memory queueing its value; it goes out "
                     "after the next reconnect", t->name);
        return;
    }
    t->dirty = false;
}

void ms_tags_drain(ms_client *c)
{
    while (c->backlog && ms_client_queued(c) < c->cfg.queue_high_water) {
        ms_tag *t = c->backlog;
        c->backlog = t->bnext;
        if (!c->backlog)
            c->backlog_tail = NULL;
        t->in_backlog = false;
        t->bnext = NULL;
        if (t->dirty && t->subbed)
            publish(t);
    }
}

/* ---- callbacks ------------------------------------------------------------ */

static void fire(ms_tag *t)
{
    ms_client *c = t->c;
    size_t n = t->nwatchers; /* ones added meanwhile wait for the next */
    t->in_cb++;
    for (size_t i = 0; i < n && i < t->nwatchers && !c->closing; i++) {
        ms_tag_watcher w = t->watchers[i];
        if (!w.dead)
            w.cb(t, w.arg);
    }
    if (--t->in_cb == 0) {
        size_t k = 0;
        for (size_t i = 0; i < t->nwatchers; i++)
            if (!t->watchers[i].dead)
                t->watchers[k++] = t->watchers[i];
        t->nwatchers = k;
    }
}

int ms_tag_watch(ms_tag *t, ms_tag_cb cb, void *arg)
{
    if (!t || !cb)
        return MS_EINVAL;
    for (size_t i = 0; i < t->nwatchers; i++) {
        if (t->watchers[i].cb == cb && t->watchers[i].arg == arg) {
            t->watchers[i].dead = false;
            return 0;
        }
    }
    if (t->nwatchers == t->awatchers) {
        size_t na = t->awatchers ? 2 * t->awatchers : 2;
        ms_tag_watcher *nw = realloc(t->watchers, na * sizeof *nw);
        if (!nw)
            return MS_ENOMEM;
        t->watchers = nw;
        t->awatchers = na;
    }
    t->watchers[t->nwatchers++] = (ms_tag_watcher){cb, arg, false};
    return 0;
}

int ms_tag_unwatch(ms_tag *t, ms_tag_cb cb, void *arg)
{
    for (size_t i = 0; t && i < t->nwatchers; i++) {
        ms_tag_watcher *w = &t->watchers[i];
        if (w->cb != cb || w->arg != arg || w->dead)
            continue;
        if (t->in_cb) {
            w->dead = true; /* compacted when the callbacks are done */
        } else {
            memmove(w, w + 1, (t->nwatchers - i - 1) * sizeof *w);
            t->nwatchers--;
        }
        return 0;
    }
    return MS_ENOENT;
}

/* A value from the bus becomes ours to show. */
static void adopt(ms_tag *t, const ms_value *v, uint64_t time_us)
{
    if (store(t, v, time_us) < 0) {
        ms_log_error("tag %s: out of memory for a value from the bus; "
                     "ignored", t->name);
        return;
    }
    t->own = false;
    t->dirty = false;
    t->bad_logged = false;
    fire(t);
}

/* ---- the program's sets ---------------------------------------------------- */

static const char *const type_names[] = {"none", "int", "float", "str",
                                         "bytes", "json"};

/* Checks v against the tag (converting INT for FLOAT tags). */
static int check_value(const ms_tag *t, ms_value *v)
{
    if (v->type == MS_TYPE_NONE || (unsigned)v->type > MS_TYPE_JSON)
        return MS_EINVAL;
    if (!type_fit(t, v))
        return MS_ETYPE;
    if (v->type == MS_TYPE_STR && v->u.buf.len &&
        !ms_utf8_valid(v->u.buf.ptr, v->u.buf.len))
        return MS_EINVAL;
    if (v->type == MS_TYPE_JSON &&
        (!ms_utf8_valid(v->u.buf.ptr, v->u.buf.len) ||
         !json_ok(v->u.buf.ptr, v->u.buf.len)))
        return MS_EINVAL;
    if (v->type >= MS_TYPE_STR && v->u.buf.len && !v->u.buf.ptr)
        return MS_EINVAL;
    return 0;
}

int ms_tag_set(ms_tag *t, const ms_value *value, uint64_t time_us)
{
    if (!t || !value)
        return MS_EINVAL;
    ms_client *c = t->c;
    if (c->closing)
        return MS_ECLOSED;
    if (t->in_cb) {
        ms_log_warn("tag %s: set refused inside its own change callback "
                    "(it would recurse)", t->name);
        return MS_EBUSY;
    }
    ms_value v = *value;
    int rc = check_value(t, &v);
    if (rc < 0)
        return rc;
    size_t wire = ms_value_wire_size(&v);
    if (wire > c->cfg.max_payload)
        return MS_ETOOBIG;
    if (limit(t, &v))
        return 1;
    if (v.type == MS_TYPE_BYTES && ms_client_online(c) && t->id &&
        ms_client_queued(c) + ms_frame_wire_size(wire) > c->cfg.queue_hard_cap)
        return MS_EFULL;
    uint8_t *pad = NULL;
    if (v.type == MS_TYPE_JSON && wire % MS_FRAME_MAX_LEN == 0) {
        /* pymscada's reader loses a payload of exactly k x MAX_LEN bytes:
         * one more space keeps the JSON the same and the bus reader happy. */
        pad = malloc(v.u.buf.len + 1);
        if (!pad)
            return MS_ENOMEM;
        memcpy(pad, v.u.buf.ptr, v.u.buf.len);
        pad[v.u.buf.len] = ' ';
        v = ms_value_buf(MS_TYPE_JSON, pad, v.u.buf.len + 1);
    }
    rc = store(t, &v, time_us ? time_us : ms_time_now_us());
    free(pad);
    if (rc < 0)
        return rc;
    t->own = true;
    publish(t);
    return 0;
}

int ms_tag_set_int(ms_tag *t, int64_t v)
{
    ms_value x = ms_value_int(v);
    return ms_tag_set(t, &x, 0);
}

int ms_tag_set_float(ms_tag *t, double v)
{
    ms_value x = ms_value_float(v);
    return ms_tag_set(t, &x, 0);
}

int ms_tag_set_str(ms_tag *t, const char *s)
{
    if (!s)
        return MS_EINVAL;
    ms_value x = ms_value_buf(MS_TYPE_STR, s, strlen(s));
    return ms_tag_set(t, &x, 0);
}

int ms_tag_set_bytes(ms_tag *t, const void *p, size_t len)
{
    ms_value x = ms_value_buf(MS_TYPE_BYTES, p, len);
    return ms_tag_set(t, &x, 0);
}

int ms_tag_set_json(ms_tag *t, const char *json)
{
    if (!json)
        return MS_EINVAL;
    ms_value x = ms_value_buf(MS_TYPE_JSON, json, strlen(json));
    return ms_tag_set(t, &x, 0);
}

/* The description's init value, published for the program when the bus
 * has none: it came from the config, not the program's code, so the change
 * callbacks see it. */
static void apply_init(ms_tag *t)
{
    ms_value v = t->desc->init;
    if (t->type == MS_TYPE_INT && v.type == MS_TYPE_FLOAT &&
        v.u.f == floor(v.u.f) && fabs(v.u.f) < 9.2e18)
        v = ms_value_int((int64_t)v.u.f);
    if (check_value(t, &v) < 0) {
        ms_log_warn("tag %s: init value of type %s does not fit the tag's "
                    "type %s; not published", t->name, type_names[v.type],
                    type_names[t->type]);
        return;
    }
    limit(t, &v);
    if (store(t, &v, ms_time_now_us()) < 0)
        return;
    ms_log_info("tag %s: the bus has no value: published its init value",
                t->name);
    t->own = true;
    publish(t);
    fire(t);
}

/* ---- tags ------------------------------------------------------------------- */

int ms_tag_new(ms_client *c, const char *name, ms_type type, ms_tag **out)
{
    if (!c || !name || !out || (unsigned)type > MS_TYPE_JSON)
        return MS_EINVAL;
    if (c->closing)
        return MS_ECLOSED;
    size_t len = strlen(name);
    if (!ms_client_name_valid(name, len))
        return MS_EINVAL;
    ms_tag *t = find(c, name, len);
    if (t) {
        if (type == MS_TYPE_NONE || t->type == type) {
            *out = t;
            return 0;
        }
        /* An untyped tag (e.g. made by a get) takes the first type asked,
         * if its value fits. */
        if (t->type != MS_TYPE_NONE ||
            (has_value(t) && t->value.type != type))
            return MS_ETYPE;
        ms_client_lock(c);
        t->type = type;
        ms_client_unlock(c);
        *out = t;
        return 0;
    }
    t = calloc(1, sizeof *t);
    if (!t || !(t->name = malloc(len + 1))) {
        free(t);
        return MS_ENOMEM;
    }
    memcpy(t->name, name, len + 1);
    t->name_len = len;
    t->c = c;
    t->type = type;
    t->value = ms_value_none();
    if (c->cfg.tagdescs)
        t->desc = ms_tagdesc_find(c->cfg.tagdescs, name);
    if (t->desc) {
        t->has_min = t->desc->has_min;
        t->has_max = t->desc->has_max;
        t->min = t->desc->min;
        t->max = t->desc->max;
        t->deadband = t->desc->deadband;
    }
    ms_client_lock(c);
    int rc = table_add(c, t);
    ms_client_unlock(c);
    if (rc < 0) {
        free(t->name);
        free(t);
        return rc;
    }
    if (ms_client_online(c))
        ms_client_send(c, MS_CMD_ID, 0, ms_client_stamp(c),
                       (const uint8_t *)t->name, t->name_len);
    *out = t;
    return 0;
}

ms_tag *ms_tag_find(ms_client *c, const char *name)
{
    return c && name ? find(c, name, strlen(name)) : NULL;
}

const char *ms_tag_name(const ms_tag *t) { return t->name; }
ms_type ms_tag_type(const ms_tag *t) { return t->type; }
uint16_t ms_tag_id(const ms_tag *t) { return t->id; }
ms_client *ms_tag_client(const ms_tag *t) { return t->c; }
void ms_tag_set_data(ms_tag *t, void *data) { t->data = data; }
void *ms_tag_data(const ms_tag *t) { return t->data; }
bool ms_tag_has_value(const ms_tag *t) { return has_value(t); }
uint64_t ms_tag_time_us(const ms_tag *t) { return t->time_us; }
bool ms_tag_is_own(const ms_tag *t) { return t->own; }

int ms_tag_get(const ms_tag *t, ms_value *v)
{
    *v = t->value;
    return has_value(t) ? 0 : MS_ENOENT;
}

int ms_tag_get_int(const ms_tag *t, int64_t *out)
{
    if (!has_value(t))
        return MS_ENOENT;
    if (t->value.type != MS_TYPE_INT)
        return MS_ETYPE;
    *out = t->value.u.i;
    return 0;
}

int ms_tag_get_float(const ms_tag *t, double *out)
{
    if (!has_value(t))
        return MS_ENOENT;
    if (t->value.type == MS_TYPE_INT)
        *out = (double)t->value.u.i;
    else if (t->value.type == MS_TYPE_FLOAT)
        *out = t->value.u.f;
    else
        return MS_ETYPE;
    return 0;
}

const char *ms_tag_get_str(const ms_tag *t)
{
    if (t->value.type != MS_TYPE_STR && t->value.type != MS_TYPE_JSON)
        return NULL;
    return (const char *)t->value.u.buf.ptr;
}

/* ---- RTA -------------------------------------------------------------------- */

void ms_tag_on_rta(ms_tag *t, ms_tag_rta_cb cb, void *arg)
{
    t->rta_cb = cb;
    t->rta_arg = arg;
}

void ms_tag_on_rta_error(ms_tag *t, ms_tag_err_cb cb, void *arg)
{
    t->err_cb = cb;
    t->err_arg = arg;
}

static void rta_send(ms_tag *t, const uint8_t *wire, size_t len)
{
    ms_client *c = t->c;
    uint64_t stamp = ms_client_stamp(c);
    if (ms_client_send_raw_value(c, MS_CMD_RTA, t->id, stamp, wire, len) == 0)
        ms_reqs_note_rta(c, t, t->id, stamp);
}

int ms_tag_rta(ms_tag *t, const ms_value *req)
{
    if (!t || !req || req->type == MS_TYPE_NONE ||
        (unsigned)req->type > MS_TYPE_JSON)
        return MS_EINVAL;
    ms_client *c = t->c;
    if (c->closing)
        return MS_ECLOSED;
    size_t n = ms_value_wire_size(req);
    if (n > c->cfg.max_payload)
        return MS_ETOOBIG;
    if (ms_client_online(c) && t->id) {
        uint64_t stamp = ms_client_stamp(c);
        int rc = ms_client_send_value(c, MS_CMD_RTA, t->id, stamp, req);
        if (rc == 0)
            ms_reqs_note_rta(c, t, t->id, stamp);
        return rc;
    }
    /* No id yet: keep it for when the id comes. */
    uint8_t *w = malloc(n);
    if (!w)
        return MS_ENOMEM;
    ms_value_encode(req, w, n);
    if (t->nrtaq == MS_TAG_RTAQ_MAX) {
        ms_log_warn("tag %s: over %d RTAs waiting for the bus; dropped the "
                    "oldest", t->name, MS_TAG_RTAQ_MAX);
        free(t->rtaq[0].data);
        memmove(t->rtaq, t->rtaq + 1, (MS_TAG_RTAQ_MAX - 1) * sizeof *t->rtaq);
        t->nrtaq--;
    }
    t->rtaq[t->nrtaq++] = (ms_tag_rtaq){w, n};
    return 0;
}

int ms_tag_rta_json(ms_tag *t, const char *json)
{
    if (!json)
        return MS_EINVAL;
    size_t len = strlen(json);
    if (!ms_utf8_valid((const uint8_t *)json, len) ||
        !json_ok((const uint8_t *)json, len))
        return MS_EINVAL;
    ms_value v = ms_value_buf(MS_TYPE_JSON, json, len);
    return ms_tag_rta(t, &v);
}

/* ---- events from the bus -------------------------------------------------- */

void ms_tags_reset(ms_client *c)
{
    for (size_t i = 0; i < c->ntags; i++) {
        ms_tag *t = c->tags[i];
        t->id = 0;
        t->subbed = false;
        t->in_backlog = false;
        t->bnext = NULL;
        t->dirty = t->own && has_value(t);
    }
    c->backlog = c->backlog_tail = NULL;
    if (c->by_id)
        memset(c->by_id, 0, c->nby_id * sizeof *c->by_id);
}

void ms_tags_send_ids(ms_client *c)
{
    for (size_t i = 0; i < c->ntags; i++) {
        ms_tag *t = c->tags[i];
        ms_client_send(c, MS_CMD_ID, 0, ms_client_stamp(c),
                       (const uint8_t *)t->name, t->name_len);
    }
}

void ms_tags_on_id(ms_client *c, const ms_client_event *ev)
{
    ms_tag *t = find(c, (const char *)ev->data, ev->len);
    if (!t || ev->tag_id == 0) {
        ms_log_debug("bus %s:%d: ID %u for a name not asked for; ignored",
                     c->cfg.host, c->cfg.port, ev->tag_id);
        return;
    }
    if (t->id == ev->tag_id)
        return; /* asked twice: subscribed already */
    if (t->id && by_id(c, t->id) == t)
        c->by_id[t->id] = NULL;
    if (by_id_put(c, ev->tag_id, t) < 0) {
        ms_log_error("tag %s: out of memory for its id", t->name);
        return;
    }
    t->id = ev->tag_id;
    t->subbed = false;
    ms_client_send(c, MS_CMD_SUB, t->id, 0, NULL, 0);
    for (size_t i = 0; i < t->nrtaq; i++) {
        rta_send(t, t->rtaq[i].data, t->rtaq[i].len);
        free(t->rtaq[i].data);
    }
    t->nrtaq = 0;
}

/* The first SET after SUB: what the bus holds now. */
static void sub_reply(ms_tag *t, const ms_value *v, uint64_t time_us)
{
    ms_client *c = t->c;
    if (t->own) {
        if (!t->dirty)
            return; /* we set it since subscribing: the bus has ours */
        if (v->type != MS_TYPE_NONE && time_us > t->time_us)
            adopt(t, v, time_us);
        else
            publish(t); /* ours is as new or newer: the author again */
        return;
    }
    if (v->type == MS_TYPE_NONE) {
        if (!has_value(t) && c->cfg.use_init && t->desc &&
            t->desc->has_init)
            apply_init(t);
        return;
    }
    if (t->time_us == time_us && same_value(t, v))
        return; /* seen it already (a reconnect) */
    adopt(t, v, time_us);
}

void ms_tags_on_set(ms_client *c, const ms_client_event *ev)
{
    ms_tag *t = by_id(c, ev->tag_id);
    if (!t) {
        ms_log_debug("bus %s:%d: SET for unknown tag id %u; ignored",
                     c->cfg.host, c->cfg.port, ev->tag_id);
        return;
    }
    bool first = !t->subbed;
    t->subbed = true;
    ms_value v = ev->value;
    bool bad = ev->value_err < 0;
    if (!bad && v.type != MS_TYPE_NONE && !type_fit(t, &v)) {
        if (!t->bad_logged)
            ms_log_warn("tag %s: the bus sent a %s value for this %s tag; "
                        "ignored", t->name, type_names[v.type],
                        type_names[t->type]);
        t->bad_logged = true;
        bad = true;
    } else if (bad) {
        if (!t->bad_logged)
            ms_log_warn("tag %s: the bus sent a malformed value (%s); "
                        "ignored", t->name, ms_strerror(ev->value_err));
        t->bad_logged = true;
    }
    if (bad) {
        if (first && t->own && t->dirty)
            publish(t);
        return;
    }
    if (first) {
        sub_reply(t, &v, ev->time_us);
        return;
    }
    if (v.type == MS_TYPE_NONE)
        return;
    /* Someone else set it after us: theirs is the bus's value now, and an
     * own value still held back would only overwrite it out of order. */
    t->own = false;
    t->dirty = false;
    if (t->time_us == ev->time_us && same_value(t, &v))
        return; /* the same sample again (re-published after a restart) */
    adopt(t, &v, ev->time_us);
}

void ms_tags_on_rta(ms_client *c, const ms_client_event *ev)
{
    ms_tag *t = by_id(c, ev->tag_id);
    if (!t) {
        ms_log_warn("bus %s:%d: RTA for unknown tag id %u; ignored",
                    c->cfg.host, c->cfg.port, ev->tag_id);
        return;
    }
    if (ev->value_err < 0) {
        ms_log_warn("tag %s: malformed RTA (%s); ignored", t->name,
                    ms_strerror(ev->value_err));
        return;
    }
    if (!t->rta_cb) {
        ms_log_warn("tag %s: RTA but no handler; ignored", t->name);
        return;
    }
    t->rta_cb(t, &ev->value, t->rta_arg);
}

void ms_tags_free(ms_client *c)
{
    for (size_t i = 0; i < c->ntags; i++) {
        ms_tag *t = c->tags[i];
        for (size_t k = 0; k < t->nrtaq; k++)
            free(t->rtaq[k].data);
        free(t->watchers);
        free(t->wire);
        free(t->name);
        free(t);
    }
    free(c->tags);
    free(c->hash);
    free(c->by_id);
    c->tags = c->hash = c->by_id = NULL;
    c->ntags = c->atags = c->hsize = c->nby_id = 0;
}
