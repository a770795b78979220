/* The history recorder and server: one series per int and float tag of
 * tags.yaml, fed by the tags' change callbacks (clamped, past the
 * deadband, never a value already on disk), flushed on a timer, pruned by
 * retention, and range requests (RTA) answered on rta_tag. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/fault.h"
#include "mscada/error.h"
#include "mscada/history_server.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

#define RETAIN_EVERY_MS (3600u * 1000u)
#define REPLY_HEAD 6

typedef struct {
    ms_hist_server *srv;
    ms_hist_series *h;
    ms_tag *tag;
    ms_type type;
    bool has_min, has_max;
    double min, max, deadband;
    bool has_last;
    ms_hist_rec last; /* the last record written or buffered */
    ms_fault read_fault; /* a value from the bus that can't be recorded */
} hist_tag;

struct ms_hist_server {
    uv_loop_t *loop;
    ms_hist_store *store;
    ms_client *client;
    ms_tag *rta;
    hist_tag *tags;
    size_t ntags;
    uv_timer_t flush_timer, retain_timer;
    uv_idle_t flush_idle; /* runs a flush pass a slice per loop turn */
    size_t flush_cursor;
    int open_handles;
    double retain_days;
    size_t max_reply;
    size_t early_flush;   /* buffered records that start a flush pass early */
    uint64_t recorded;
    ms_hist_result res;
    uint8_t *reply;
    size_t reply_cap;
    ms_fault reset_fault; /* setting rta_tag back to "no data" */
};

static const uint8_t zero_reply[REPLY_HEAD];

ms_hist_store *ms_hist_server_store(ms_hist_server *s)
{
    return s->store;
}

uint64_t ms_hist_server_recorded(const ms_hist_server *s)
{
    return s->recorded;
}

/* ---- recording ----------------------------------------------------------- */

/* pymscada's rule: a value at or past a limit is the limit and is always
 * recorded (deadband 0); otherwise a change smaller than the deadband
 * from the last record is not. */
static bool take_float(hist_tag *ht, double *v)
{
    double db = ht->deadband;
    if (ht->has_min && *v <= ht->min) {
        *v = ht->min;
        db = 0;
    } else if (ht->has_max && *v >= ht->max) {
        *v = ht->max;
        db = 0;
    }
    return !(ht->has_last && fabs(*v - ht->last.u.f) < db);
}

static bool take_int(hist_tag *ht, int64_t *v)
{
    double db = ht->deadband;
    if (ht->has_min && (double)*v <= ht->min) {
        *v = (int64_t)ceil(ht->min);
        db = 0;
    } else if (ht->has_max && (double)*v >= ht->max) {
        *v = (int64_t)floor(ht->max);
        db = 0;
    }
    return !(ht->has_last &&
             fabs((double)*v - (double)ht->last.u.i) < db);
}

static ms_value rec_value(const hist_tag *ht, const ms_hist_rec *r)
{
    return ht->type == MS_TYPE_INT ? ms_value_int(r->u.i)
                                   : ms_value_float(r->u.f);
}

static void flush_pass_start(ms_hist_server *s);

static void on_value(ms_tag *t, void *arg)
{
    hist_tag *ht = arg;
    ms_hist_rec r;
    memset(&r, 0, sizeof r);
    r.time_us = ms_tag_time_us(t);
    /* A value that doesn't read as the series' type can't be recorded:
     * say so, once until the tag records again. */
    int rc = ht->type == MS_TYPE_INT ? ms_tag_get_int(t, &r.u.i)
                                     : ms_tag_get_float(t, &r.u.f);
    if (rc == MS_ENOENT)
        return; /* no value: nothing to record */
    ms_fault_note(&ht->read_fault, rc, ms_tag_name(t), "recording a value");
    if (rc < 0)
        return;
    if (ht->type == MS_TYPE_INT ? !take_int(ht, &r.u.i)
                                : !take_float(ht, &r.u.f))
        return;
    /* The same sample again (the bus hands back the latest value on
     * subscribe, e.g. after our restart): it is on disk already. */
    ms_value now = rec_value(ht, &r), last = rec_value(ht, &ht->last);
    if (ht->has_last && r.time_us == ht->last.time_us &&
        ms_value_same(&now, &last))
        return;
    rc = ms_hist_series_append(ht->h, r);
    /* Many tags that each fill their buffer slowly can together reach the
     * memory cap before the next flush, where the store would have to write
     * everything at once (the loop stops reading the bus meanwhile, and the
     * bus conflates what history hasn't read). Start the sliced pass early
     * instead. */
    if (ms_hist_store_buffered(ht->srv->store) > ht->srv->early_flush)
        flush_pass_start(ht->srv);
    if (rc == 0 || rc == MS_EIO) { /* MS_EIO: kept in memory, retried */
        ht->last = r;
        ht->has_last = true;
        ht->srv->recorded++;
    } else if (rc == MS_EINVAL) {
        ms_log_debug("%s: a zero record (time 0, value 0) is not "
                     "recorded", ms_tag_name(t));
    }
}

/* ---- RTA ------------------------------------------------------------------ */

static int reply_room(ms_hist_server *s, size_t len)
{
    if (len <= s->reply_cap)
        return 0;
    uint8_t *p = realloc(s->reply, len);
    if (!p)
        return MS_ENOMEM;
    s->reply = p;
    s->reply_cap = len;
    return 0;
}

static void answer(ms_hist_server *s, const ms_hist_request *rq)
{
    ms_tag *qt = ms_tag_find(s->client, rq->tagname);
    hist_tag *ht = qt ? ms_tag_data(qt) : NULL;
    if (!ht) {
        ms_log_warn("request for '%s', which is not recorded "
                    "(not an int or float tag of tags.yaml)",
                    rq->tagname);
        return;
    }
    uint64_t a = rq->start_us;
    uint64_t b = rq->end_now ? ms_time_now_us() + 1 : rq->end_us;
    /* max_reply counts the whole value, its type byte too. */
    size_t limit = (s->max_reply - 1 - REPLY_HEAD) / MS_HIST_REC_SIZE;
    size_t mp = rq->max_points && rq->max_points < limit ? rq->max_points
                                                         : limit;
    int rc = ms_hist_series_query(ht->h, a, b, mp, &s->res);
    if (rc < 0) {
        ms_log_error("request for %s failed: %s", rq->tagname,
                     ms_strerror(rc));
        return;
    }
    if (s->res.downsampled && (!rq->max_points || rq->max_points > limit))
        ms_log_info("reply for %s downsampled to %zu records to "
                    "fit max_reply (%zu bytes)",
                    rq->tagname, s->res.len, s->max_reply);
    size_t len = REPLY_HEAD + s->res.len * MS_HIST_REC_SIZE;
    if (reply_room(s, len) < 0) {
        ms_log_error("no memory for a reply of %zu bytes", len);
        return;
    }
    ms_put_u16(s->reply, rq->rta_id);
    ms_put_u16(s->reply + 2, ms_tag_id(qt));
    ms_put_u16(s->reply + 4, ht->type == MS_TYPE_INT ? 1 : 2);
    for (size_t i = 0; i < s->res.len; i++)
        ms_hist_rec_encode(&s->res.recs[i],
                           s->reply + REPLY_HEAD + i * MS_HIST_REC_SIZE);
    rc = ms_tag_set_bytes(s->rta, s->reply, len);
    if (rc < 0)
        ms_log_error("reply for %s (%zu bytes) not sent: %s",
                     rq->tagname, len, ms_strerror(rc));
    else
        ms_log_debug("sent %zu records of %s", s->res.len,
                     rq->tagname);
    /* Back to "no data", as pymscada does, so a late subscriber does not
     * take an old reply for its own. */
    ms_fault_note(&s->reset_fault,
                  ms_tag_set_bytes(s->rta, zero_reply, sizeof zero_reply),
                  ms_tag_name(s->rta), "clearing the last reply");
    if (s->res.cap > ((size_t)1 << 20)) /* don't hold a big reply's memory */
        ms_hist_result_free(&s->res);
    if (s->reply_cap > ((size_t)1 << 24)) {
        free(s->reply);
        s->reply = NULL;
        s->reply_cap = 0;
    }
}

static void on_rta(ms_tag *t, const ms_value *req, void *arg)
{
    ms_hist_server *s = arg;
    (void)t;
    if (req->type != MS_TYPE_JSON && req->type != MS_TYPE_STR) {
        ms_log_warn("a request of type %s ignored (JSON expected)",
                    ms_type_name(req->type));
        return;
    }
    ms_hist_request rq;
    char why[256];
    if (ms_hist_request_parse((const char *)req->u.buf.ptr, req->u.buf.len,
                              &rq, why, sizeof why) < 0) {
        ms_log_warn("bad request %.*s: %s",
                    (int)(req->u.buf.len > 200 ? 200 : req->u.buf.len),
                    (const char *)req->u.buf.ptr, why);
        return;
    }
    answer(s, &rq);
}

/* ---- timers ---------------------------------------------------------------- */

/* One slice of a flush pass per loop turn, bounded by time, not by a
 * number of files: creating a file in a folder of 10,000 can take a third
 * of a millisecond, so 10,000 tags' files written in one go (or in slices
 * of a fixed count) keep the loop from reading the bus long enough for the
 * bus to conflate what history had not read. Between slices the loop reads
 * whatever has arrived. */
#define FLUSH_SLICE_NS 2000000u
#define FLUSH_STEP 4

static void on_flush_slice(uv_idle_t *i)
{
    ms_hist_server *s = i->data;
    bool done = false;
    uint64_t t0 = ms_time_mono_ns();
    /* failures are logged by the store */
    do {
        ms_hist_store_flush_some(s->store, &s->flush_cursor, FLUSH_STEP,
                                 &done);
    } while (!done && ms_time_mono_ns() - t0 < FLUSH_SLICE_NS);
    if (done)
        uv_idle_stop(&s->flush_idle);
}

static void flush_pass_start(ms_hist_server *s)
{
    if (uv_is_active((uv_handle_t *)&s->flush_idle))
        return; /* the last pass is still going */
    s->flush_cursor = 0;
    uv_idle_start(&s->flush_idle, on_flush_slice);
}

static void on_flush(uv_timer_t *t)
{
    flush_pass_start(t->data);
}

static void retain(ms_hist_server *s)
{
    uint64_t now = ms_time_now_us();
    uint64_t keep = (uint64_t)(s->retain_days * 86400e6);
    if (keep >= now)
        return;
    long n = ms_hist_store_retain(s->store, now - keep);
    if (n > 0)
        ms_log_info("retention deleted %ld file%s older than %g "
                    "days", n, n == 1 ? "" : "s", s->retain_days);
}

static void on_retain(uv_timer_t *t)
{
    retain(t->data);
}

/* ---- start and stop ---------------------------------------------------------- */

static void server_free(ms_hist_server *s)
{
    ms_hist_store_close(s->store);
    ms_hist_result_free(&s->res);
    free(s->reply);
    free(s->tags);
    free(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    ms_hist_server *s = h->data;
    if (--s->open_handles == 0)
        server_free(s);
}

void ms_hist_server_stop(ms_hist_server *s)
{
    if (!s || !s->client)
        return;
    int rc = ms_hist_store_flush(s->store);
    size_t left = ms_hist_store_buffered(s->store);
    if (rc < 0)
        ms_log_error("stopping with %zu records not written", left);
    ms_log_info("stopped; %" PRIu64 " values recorded this run",
                s->recorded);
    ms_client_close(s->client);
    s->client = NULL;
    uv_close((uv_handle_t *)&s->flush_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->retain_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->flush_idle, on_handle_closed);
}

static int refuse(const ms_tagdesc *d, const char *tags_file, char *why,
                  size_t cap, const char *what)
{
    if (why && cap)
        snprintf(why, cap, "%s:%d:%d: tag '%s' %s", tags_file, d->line,
                 d->col, d->name, what);
    return MS_EINVAL;
}

int ms_hist_tags_check(const ms_tagdescs *tags, const char *file, char *why,
                       size_t cap)
{
    for (size_t i = 0; i < tags->n; i++) {
        const ms_tagdesc *d = &tags->tags[i];
        if (d->type != MS_TYPE_INT && d->type != MS_TYPE_FLOAT)
            continue;
        char w[256];
        if (ms_hist_name_check(d->name, strlen(d->name), w, sizeof w) < 0)
            return refuse(d, file, why, cap,
                          "can't be a history file name (empty, over 200 "
                          "bytes, or holding '/'): history records every "
                          "int and float tag; rename it");
        if (!ms_tag_name_valid((const uint8_t *)d->name, strlen(d->name)))
            return refuse(d, file, why, cap,
                          "is not a bus tag name (spaces or control "
                          "characters)");
    }
    return 0;
}

/* A series per int and float tag; names that can't be file names are
 * refused here, before anything is recorded. */
static int add_series(ms_hist_server *s, const ms_tagdescs *tags,
                      const char *file, char *why, size_t cap)
{
    int rc = ms_hist_tags_check(tags, file, why, cap);
    if (rc < 0)
        return rc;
    s->tags = calloc(tags->n ? tags->n : 1, sizeof *s->tags);
    if (!s->tags)
        return MS_ENOMEM;
    for (size_t i = 0; i < tags->n; i++) {
        const ms_tagdesc *d = &tags->tags[i];
        if (d->type != MS_TYPE_INT && d->type != MS_TYPE_FLOAT)
            continue;
        char w[256];
        hist_tag *ht = &s->tags[s->ntags];
        int rc = ms_hist_series_add(s->store, d->name, d->type, &ht->h, w,
                                    sizeof w);
        if (rc < 0) {
            if (why && cap)
                snprintf(why, cap, "%s:%d:%d: %s", file, d->line, d->col, w);
            return rc;
        }
        ht->srv = s;
        ht->type = d->type;
        ht->has_min = d->has_min;
        ht->has_max = d->has_max;
        ht->min = d->min;
        ht->max = d->max;
        ht->deadband = d->deadband;
        rc = ms_hist_series_last(ht->h, &ht->last);
        if (rc == 0)
            ht->has_last = true;
        else if (rc != MS_ENOENT)
            ms_log_warn("%s: can't read its newest file's tail",
                        d->name);
        s->ntags++;
    }
    return 0;
}

static int connect_tags(ms_hist_server *s, const ms_hist_config *cfg)
{
    ms_client_config cc = cfg->client;
    cc.use_init = false; /* history never publishes init values */
    cc.tagdescs = NULL;  /* and sets none of the recorded tags */
    if (!cc.name[0])
        snprintf(cc.name, sizeof cc.name, "history");
    if (cc.max_payload < cfg->max_reply)
        cc.max_payload = cfg->max_reply;
    if (cc.queue_hard_cap < 2 * cc.max_payload + (1u << 20))
        cc.queue_hard_cap = 2 * cc.max_payload + (1u << 20);
    int rc = ms_client_new(s->loop, &cc, &s->client);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < s->ntags; i++) {
        hist_tag *ht = &s->tags[i];
        rc = ms_tag_new(s->client, ms_hist_series_name(ht->h), ht->type,
                        &ht->tag);
        if (rc < 0)
            return rc;
        ms_tag_set_data(ht->tag, ht);
        if ((rc = ms_tag_watch(ht->tag, on_value, ht)) < 0)
            return rc;
    }
    rc = ms_tag_new(s->client, cfg->rta_tag, MS_TYPE_BYTES, &s->rta);
    if (rc < 0)
        return rc;
    ms_tag_on_rta(s->rta, on_rta, s);
    /* Authoring the tag is what makes the bus send its RTAs here. */
    rc = ms_tag_set_bytes(s->rta, zero_reply, sizeof zero_reply);
    return rc < 0 ? rc : 0;
}

int ms_hist_server_start(uv_loop_t *loop, const ms_hist_config *cfg,
                         const ms_tagdescs *tags, ms_hist_server **out,
                         char *why, size_t cap)
{
    *out = NULL;
    if (why && cap)
        why[0] = '\0';
    ms_hist_server *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ENOMEM;
    s->loop = loop;
    s->retain_days = cfg->retain_days;
    s->max_reply = cfg->max_reply;
    s->early_flush = cfg->mem_cap / 2 / MS_HIST_REC_SIZE;
    ms_hist_opts o;
    ms_hist_opts_default(&o);
    o.file_records = cfg->file_records;
    o.mem_cap = cfg->mem_cap;
    int rc = ms_hist_store_open(&s->store, cfg->path, &o, why, cap);
    if (rc == 0)
        rc = add_series(s, tags, cfg->tags_file ? cfg->tags_file : "tags.yaml",
                        why, cap);
    if (rc == 0 && (rc = connect_tags(s, cfg)) < 0 && why && cap)
        snprintf(why, cap, "history: can't start the bus client: %s",
                 ms_strerror(rc));
    if (rc < 0) {
        if (s->client)
            ms_client_close(s->client);
        server_free(s);
        return rc;
    }
    uv_timer_init(loop, &s->flush_timer);
    uv_timer_init(loop, &s->retain_timer);
    uv_idle_init(loop, &s->flush_idle);
    s->flush_timer.data = s->retain_timer.data = s->flush_idle.data = s;
    s->open_handles = 3;
    uint64_t ms = (uint64_t)(cfg->flush_interval * 1000 + 0.5);
    uv_timer_start(&s->flush_timer, on_flush, ms ? ms : 1, ms ? ms : 1);
    if (s->retain_days > 0) {
        retain(s);
        uv_timer_start(&s->retain_timer, on_retain, RETAIN_EVERY_MS,
                       RETAIN_EVERY_MS);
    }
    ms_log_info("recording %zu tags in %s (flush every %gs); "
                "answering requests on %s",
                s->ntags, cfg->path, cfg->flush_interval, cfg->rta_tag);
    *out = s;
    return 0;
}
