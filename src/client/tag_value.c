/* A tag's value: stored in wire form (owned by the tag), checked against
 * the tag's type, clamped and deadbanded for the program's own sets, typed
 * set and get, and published to the bus (held back while the output queue
 * is over its mark, latest value only).
 *
 * Who authored a value decides what happens on a reconnect: a tag whose
 * latest value is our own set is "own"; after every (re)connect it is
 * "dirty" until the SUB reply shows what the bus holds (tag_sync.c). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_tags.h"
#include "client/client_writer.h"
#include "client/tag_int.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

/* ---- values --------------------------------------------------------------- */

/* Stores a copy of v (the caller has checked it) as the tag's value. */
int ms_tag_store(ms_tag *t, const ms_value *v, uint64_t time_us)
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

bool ms_tag_json_ok(const uint8_t *p, size_t len)
{
    /* Flags 0: only a list or an object at the top, as docs/design.md §5 says. */
    json_error_t e;
    json_t *j = json_loadb((const char *)p, len, 0, &e);
    if (!j)
        return false;
    json_decref(j);
    return true;
}

/* Fits v to the tag's type: an INT becomes a FLOAT for a FLOAT tag. */
bool ms_tag_type_fit(const ms_tag *t, ms_value *v)
{
    if (!ms_type_fits(t->type, v->type))
        return false;
    if (t->type == MS_TYPE_FLOAT && v->type == MS_TYPE_INT)
        *v = ms_value_float((double)v->u.i);
    return true;
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
bool ms_tag_limit(const ms_tag *t, ms_value *v)
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
    if (!(t->deadband > 0) || !ms_tag_has_value(t))
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

/* ---- the program's sets ---------------------------------------------------- */

/* Checks v against the tag (converting INT for FLOAT tags). */
int ms_tag_check_value(const ms_tag *t, ms_value *v)
{
    if (v->type == MS_TYPE_NONE || (unsigned)v->type > MS_TYPE_JSON)
        return MS_EINVAL;
    if (!ms_tag_type_fit(t, v))
        return MS_ETYPE;
    if (v->type == MS_TYPE_STR && v->u.buf.len &&
        !ms_utf8_valid(v->u.buf.ptr, v->u.buf.len))
        return MS_EINVAL;
    if (v->type == MS_TYPE_JSON &&
        (!ms_utf8_valid(v->u.buf.ptr, v->u.buf.len) ||
         !ms_tag_json_ok(v->u.buf.ptr, v->u.buf.len)))
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
    int rc = ms_tag_check_value(t, &v);
    if (rc < 0)
        return rc;
    size_t wire = ms_value_wire_size(&v);
    if (wire > c->cfg.max_payload)
        return MS_ETOOBIG;
    if (ms_tag_limit(t, &v))
        return 1;
    if (v.type == MS_TYPE_BYTES && ms_client_online(c) && t->id &&
        ms_client_writer_queued(&c->w) + ms_frame_wire_size(wire) >
            c->cfg.queue_hard_cap)
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
    rc = ms_tag_store(t, &v, time_us ? time_us : ms_time_now_us());
    free(pad);
    if (rc < 0)
        return rc;
    t->own = true;
    ms_tag_publish(t);
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
void ms_tag_publish(ms_tag *t)
{
    ms_client *c = t->c;
    t->dirty = true;
    if (!ms_client_online(c) || !t->id || !ms_tag_has_value(t))
        return;
    if (t->value.type != MS_TYPE_BYTES &&
        ms_client_writer_queued(&c->w) > c->cfg.queue_high_water) {
        backlog_add(t);
        return;
    }
    if (ms_client_writer_send(&c->w, MS_CMD_SET, t->id, t->time_us, t->wire,
                              t->wire_len) < 0) {
        ms_log_error("tag %s: out of memory queueing its value; it goes out "
                     "after the next reconnect", t->name);
        return;
    }
    t->dirty = false;
}

void ms_tags_drain(ms_client *c)
{
    while (c->backlog &&
           ms_client_writer_queued(&c->w) < c->cfg.queue_high_water) {
        ms_tag *t = c->backlog;
        c->backlog = t->bnext;
        if (!c->backlog)
            c->backlog_tail = NULL;
        t->in_backlog = false;
        t->bnext = NULL;
        if (t->dirty && t->subbed)
            ms_tag_publish(t);
    }
}

/* ---- reading --------------------------------------------------------------- */

int ms_tag_get(const ms_tag *t, ms_value *v)
{
    *v = t->value;
    return ms_tag_has_value(t) ? 0 : MS_ENOENT;
}

int ms_tag_get_int(const ms_tag *t, int64_t *out)
{
    if (!ms_tag_has_value(t))
        return MS_ENOENT;
    if (t->value.type != MS_TYPE_INT)
        return MS_ETYPE;
    *out = t->value.u.i;
    return 0;
}

int ms_tag_get_float(const ms_tag *t, double *out)
{
    if (!ms_tag_has_value(t))
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

