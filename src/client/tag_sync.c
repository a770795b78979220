/* A tag and the bus: ids, SUB replies and values from the bus, change
 * callbacks, init values, and RTAs both ways.
 *
 * After every (re)connect an own tag is "dirty" until the SUB reply shows
 * what the bus holds: ours goes out again unless the bus holds a newer
 * time_us (then the bus's value wins), so the bus forwards RTAs to us
 * again after it restarts.
 *
 * Callbacks fire only for values from the bus (and for an `init` value the
 * library publishes on the program's behalf), never for own sets. A SUB
 * reply fires them only when it differs (time_us or value) from the copy
 * kept here, so a reconnect doesn't repeat values the program has seen. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_req.h"
#include "client/client_tags.h"
#include "client/client_writer.h"
#include "client/tag_int.h"
#include "core/grow.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

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
    ms_tag_watcher *nw = ms_grow(t->watchers, t->nwatchers, &t->awatchers,
                                 sizeof *nw, 2);
    if (!nw)
        return MS_ENOMEM;
    t->watchers = nw;
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
    if (ms_tag_store(t, v, time_us) < 0) {
        ms_log_error("tag %s: out of memory for a value from the bus; "
                     "ignored", t->name);
        return;
    }
    t->own = false;
    t->dirty = false;
    t->bad_logged = false;
    fire(t);
}

static const char *const type_names[] = {"none", "int", "float", "str",
                                         "bytes", "json"};

/* The description's init value, published for the program when the bus
 * has none: it came from the config, not the program's code, so the change
 * callbacks see it. */
static void apply_init(ms_tag *t)
{
    ms_value v = t->desc->init;
    if (t->type == MS_TYPE_INT && v.type == MS_TYPE_FLOAT &&
        v.u.f == floor(v.u.f) && fabs(v.u.f) < 9.2e18)
        v = ms_value_int((int64_t)v.u.f);
    if (ms_tag_check_value(t, &v) < 0) {
        ms_log_warn("tag %s: init value of type %s does not fit the tag's "
                    "type %s; not published", t->name, type_names[v.type],
                    type_names[t->type]);
        return;
    }
    ms_tag_limit(t, &v);
    if (ms_tag_store(t, &v, ms_time_now_us()) < 0)
        return;
    ms_log_info("tag %s: the bus has no value: published its init value",
                t->name);
    t->own = true;
    ms_tag_publish(t);
    fire(t);
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

void ms_tag_on_id(ms_tag *t, ms_tag_cb cb, void *arg)
{
    t->id_cb = cb;
    t->id_arg = arg;
}

/* An ERR for one of its RTAs (client_req.c matched it). */
static void rta_refused(void *arg, const char *why)
{
    ms_tag *t = arg;
    if (t->err_cb)
        t->err_cb(t, why, t->err_arg);
    else
        ms_log_warn("tag %s: RTA refused by the bus: %s", t->name, why);
}

static void rta_send(ms_tag *t, const uint8_t *wire, size_t len)
{
    ms_client *c = t->c;
    uint64_t stamp = ms_client_writer_stamp(&c->w);
    if (ms_client_writer_send(&c->w, MS_CMD_RTA, t->id, stamp, wire,
                              len) == 0)
        ms_reqs_note_rta(c, t->id, stamp, rta_refused, t);
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
        uint64_t stamp = ms_client_writer_stamp(&c->w);
        int rc = ms_client_writer_send_value(&c->w, MS_CMD_RTA, t->id,
                                             stamp, req);
        if (rc == 0)
            ms_reqs_note_rta(c, t->id, stamp, rta_refused, t);
        return rc;
    }
    /* No id yet: keep it for when the id comes. */
    if (!t->rtaq && !(t->rtaq = calloc(MS_TAG_RTAQ_MAX, sizeof *t->rtaq)))
        return MS_ENOMEM;
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
        !ms_tag_json_ok((const uint8_t *)json, len))
        return MS_EINVAL;
    ms_value v = ms_value_buf(MS_TYPE_JSON, json, len);
    return ms_tag_rta(t, &v);
}

/* ---- events from the bus -------------------------------------------------- */

void ms_tags_on_id(ms_client *c, const ms_client_event *ev)
{
    ms_tag *t = ms_tags_find(c, (const char *)ev->data, ev->len);
    if (!t || ev->tag_id == 0) {
        ms_log_debug("bus %s:%d: ID %u for a name not asked for; ignored",
                     c->cfg.host, c->cfg.port, ev->tag_id);
        return;
    }
    if (t->id == ev->tag_id)
        return; /* asked twice: subscribed already */
    if (t->id && ms_tags_by_id(c, t->id) == t)
        c->by_id[t->id] = NULL;
    if (ms_tags_by_id_put(c, ev->tag_id, t) < 0) {
        ms_log_error("tag %s: out of memory for its id", t->name);
        return;
    }
    t->id = ev->tag_id;
    t->subbed = false;
    ms_client_writer_send(&c->w, MS_CMD_SUB, t->id, 0, NULL, 0);
    for (size_t i = 0; i < t->nrtaq; i++) {
        rta_send(t, t->rtaq[i].data, t->rtaq[i].len);
        free(t->rtaq[i].data);
    }
    free(t->rtaq);
    t->rtaq = NULL;
    t->nrtaq = 0;
    if (t->id_cb)
        t->id_cb(t, t->id_arg);
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
            ms_tag_publish(t); /* ours is as new or newer: the author again */
        return;
    }
    if (v->type == MS_TYPE_NONE) {
        if (!ms_tag_has_value(t) && c->cfg.use_init && t->desc &&
            t->desc->has_init)
            apply_init(t);
        return;
    }
    if (t->time_us == time_us && ms_value_same(&t->value, v))
        return; /* seen it already (a reconnect) */
    adopt(t, v, time_us);
}

void ms_tags_on_set(ms_client *c, const ms_client_event *ev)
{
    ms_tag *t = ms_tags_by_id(c, ev->tag_id);
    if (!t) {
        ms_log_debug("bus %s:%d: SET for unknown tag id %u; ignored",
                     c->cfg.host, c->cfg.port, ev->tag_id);
        return;
    }
    bool first = !t->subbed;
    t->subbed = true;
    ms_value v = ev->value;
    bool bad = ev->value_err < 0;
    if (!bad && v.type != MS_TYPE_NONE && !ms_tag_type_fit(t, &v)) {
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
            ms_tag_publish(t);
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
    if (t->time_us == ev->time_us && ms_value_same(&t->value, &v))
        return; /* the same sample again (re-published after a restart) */
    adopt(t, &v, ev->time_us);
}

void ms_tags_on_rta(ms_client *c, const ms_client_event *ev)
{
    ms_tag *t = ms_tags_by_id(c, ev->tag_id);
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

