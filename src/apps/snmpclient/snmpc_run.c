/* snmpclient's runtime (docs/snmp.md): per agent a session and a poll
 * timer. A poll GETs the polled OIDs in PDUs of max_oids_per_pdu (a
 * tooBig answer splits its PDU in two; an error-status that names one
 * varbind, as v1's noSuchName, drops that OID and asks again for the
 * rest) and walks each `walk:` subtree (GETBULK, GETNEXT on v1). Values
 * go to tags; counters become deltas (int_roc) or rates; sysUpTime going
 * back re-primes every counter of the agent. An <rtu>_status tag says
 * how the agent answers.
 *
 * Writes follow modbusclient's safety rules: only values set on the bus
 * after this process connected to it are sent (never the stale value a
 * subscribe hands out), and a poll answer that left before a write of the
 * same tag does not republish the old value. SNMP has no connection, so
 * nothing is replayed: a SET that fails is logged and counted. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "apps/common/drv.h"
#include "apps/snmpclient/snmpc_run.h"
#include "core/fault.h"
#include "core/grow.h"
#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

#define BAD_OIDS_SHOWN 16

/* A tag fed by an OID: a config tag, or one a walk made. */
typedef struct {
    ms_tag *tag;
    ms_snmpc_kind kind;
    ms_snmp_oidref oid;   /* the config's, or a walk's own dup */
    ms_snmp_counter ctr;
    uint8_t bad;          /* the exception type it last got, 0 when fine */
    uint64_t write_seq;   /* seq of its latest SET */
    ms_fault set_fault;
} snmpc_point;

typedef struct snmpc_rtu snmpc_rtu;

/* One request in flight. */
typedef struct {
    snmpc_rtu *r;
    ms_snmp_op op;
    size_t walk;          /* GETBULK/GETNEXT: which walk */
    size_t n;
    size_t *idx;          /* GET: indexes into r->get of each OID */
    uint64_t seq, sent_us;
    snmpc_point *wp;      /* SET: the point written */
} snmpc_req;

typedef struct {
    snmpc_point *pts;     /* the tags it made, by index */
    size_t n, cap;
    bool active;
} snmpc_walk;

struct snmpc_rtu {
    ms_snmpc *m;
    size_t i;
    ms_snmp_session *sess;
    uv_timer_t poll;
    ms_snmp_oidref *get;  /* sysUpTime.0 (if counters) then cfg's get */
    snmpc_point **get_pt; /* per get: its point or NULL */
    size_t nget;
    bool has_uptime;
    uint64_t uptime;      /* last sysUpTime, ticks */
    bool uptime_ok;
    snmpc_walk *walks;
    int in_flight;        /* poll requests out */
    uint64_t seq_now;
    /* status */
    bool ok;
    char last_error[160];
    uint64_t polls, overruns, requests, answers, timeouts, errors, resets,
        write_errors, set_errors;
    double rtt_ms;
    ms_drv_status status;
};

struct ms_snmpc {
    ms_drv drv;           /* first: bus, status timer, handles (each poll) */
    ms_snmpc_config *cfg;
    const ms_tagdescs *descs;
    snmpc_rtu *rtus;
    snmpc_point *tags;    /* per config tag */
};

static const uint32_t sys_uptime[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};

/* ---- status ----------------------------------------------------------------- */

static void point_bad_list(snmpc_rtu *r, json_t *arr, size_t *n,
                           snmpc_point *p)
{
    (void)r;
    if (!p->bad || (*n)++ >= BAD_OIDS_SHOWN)
        return;
    char o[MS_SNMP_OID_TEXT], s[MS_SNMP_OID_TEXT + 40];
    ms_snmp_oidref_format(p->oid, o, sizeof o);
    snprintf(s, sizeof s, "%s: %s", o, ms_snmp_type_name(p->bad));
    json_array_append_new(arr, json_string(s));
}

static void publish_status(snmpc_rtu *r)
{
    json_t *bad = json_array();
    size_t nbad = 0;
    for (size_t k = 0; k < r->nget; k++)
        if (r->get_pt[k])
            point_bad_list(r, bad, &nbad, r->get_pt[k]);
    const char *state = ms_snmp_session_state(r->sess);
    json_t *j = json_pack(
        "{s:b, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:o}",
        "ok", r->ok, "last_error",
        r->last_error[0] ? r->last_error : (*state ? state : NULL), "polls",
        (json_int_t)r->polls, "overruns", (json_int_t)r->overruns,
        "requests", (json_int_t)r->requests, "answers",
        (json_int_t)r->answers, "timeouts", (json_int_t)r->timeouts,
        "errors", (json_int_t)r->errors, "resets", (json_int_t)r->resets,
        "write_errors", (json_int_t)r->write_errors, "bad_oids",
        (json_int_t)nbad, "rtt_ms", round(r->rtt_ms * 1000) / 1000,
        "bad", bad);
    ms_drv_status_publish(&r->status, j, "publishing the agent status");
}

static void on_status_tick(ms_drv *d)
{
    ms_snmpc *m = (ms_snmpc *)d;
    for (size_t i = 0; i < m->cfg->nrtus; i++)
        publish_status(&m->rtus[i]);
}

static void set_ok(snmpc_rtu *r, bool ok, const char *why)
{
    const char *name = r->m->cfg->rtus[r->i].name;
    if (ok && !r->ok)
        ms_log_info("%s: answering", name);
    if (!ok && (r->ok || strcmp(r->last_error, why)))
        ms_log_warn("%s: %s", name, why);
    bool changed = ok != r->ok;
    r->ok = ok;
    if (ok)
        r->last_error[0] = 0;
    else
        snprintf(r->last_error, sizeof r->last_error, "%s", why);
    if (changed)
        publish_status(r);
}

/* ---- values to tags --------------------------------------------------------- */

static void publish(snmpc_rtu *r, snmpc_point *p, const ms_value *v)
{
    if (ms_drv_value_publish(p->tag, v, &p->set_fault) < 0)
        r->set_errors++;
}

static void point_bad(snmpc_rtu *r, snmpc_point *p, uint8_t type)
{
    if (p->bad != type) {
        char o[MS_SNMP_OID_TEXT];
        ms_snmp_oidref_format(p->oid, o, sizeof o);
        ms_log_warn("%s: %s (%s): %s; the tag keeps its last value",
                    r->m->cfg->rtus[r->i].name, o, ms_tag_name(p->tag),
                    ms_snmp_type_name(type));
    }
    p->bad = type;
}

static void update_point(snmpc_rtu *r, snmpc_point *p, const ms_snmp_vb *vb,
                         uint64_t seq, uint64_t mono_us)
{
    if (ms_snmp_is_exception(vb->type)) {
        point_bad(r, p, vb->type);
        return;
    }
    if (p->bad) {
        char o[MS_SNMP_OID_TEXT];
        ms_snmp_oidref_format(p->oid, o, sizeof o);
        ms_log_info("%s: %s (%s) answers again",
                    r->m->cfg->rtus[r->i].name, o, ms_tag_name(p->tag));
        p->bad = 0;
    }
    if (p->write_seq > seq)
        return; /* asked before a write of it: the next poll tells */
    ms_value v;
    char buf[1024];
    if (p->kind == MS_SNMPC_INT_ROC || p->kind == MS_SNMPC_RATE) {
        bool number = vb->type == MS_SNMP_INTEGER || vb->type ==
                      MS_SNMP_GAUGE32 || vb->type == MS_SNMP_TIMETICKS ||
                      ms_snmp_is_counter(vb->type);
        if (!number) {
            point_bad(r, p, vb->type);
            return;
        }
        int64_t d;
        double rate;
        ms_snmp_step st = ms_snmp_counter_step(&p->ctr, vb, mono_us, &d,
                                               &rate);
        if (st == MS_SNMP_STEP_RESET) {
            r->resets++;
            ms_log_info("%s: %s went back (agent restart or reset): "
                        "primed again", r->m->cfg->rtus[r->i].name,
                        ms_tag_name(p->tag));
        }
        if (st != MS_SNMP_STEP_DELTA)
            return;
        v = p->kind == MS_SNMPC_RATE ? ms_value_float(rate)
                                     : ms_value_int(d);
        publish(r, p, &v);
        return;
    }
    int rc = ms_snmp_vb_to_value(vb, ms_tag_type(p->tag), buf, sizeof buf,
                                 &v);
    if (rc < 0) {
        if (p->bad != vb->type)
            ms_log_warn("%s: %s: a %s can't be a %s tag (%s)",
                        r->m->cfg->rtus[r->i].name, ms_tag_name(p->tag),
                        ms_snmp_type_name(vb->type),
                        ms_type_name(ms_tag_type(p->tag)), ms_strerror(rc));
        p->bad = vb->type;
        return;
    }
    publish(r, p, &v);
}

static void uptime_seen(snmpc_rtu *r, const ms_snmp_vb *vb)
{
    if (vb->type != MS_SNMP_TIMETICKS)
        return;
    if (r->uptime_ok && vb->u < r->uptime) {
        ms_log_info("%s: sysUpTime went back: the agent restarted; counters "
                    "primed again", r->m->cfg->rtus[r->i].name);
        r->resets++;
        for (size_t k = 0; k < r->nget; k++)
            if (r->get_pt[k])
                ms_snmp_counter_reset(&r->get_pt[k]->ctr);
        for (size_t w = 0; w < r->m->cfg->rtus[r->i].nwalks; w++)
            for (size_t k = 0; k < r->walks[w].n; k++)
                ms_snmp_counter_reset(&r->walks[w].pts[k].ctr);
    }
    r->uptime = vb->u;
    r->uptime_ok = true;
}

/* ---- requests --------------------------------------------------------------- */

static void on_answer(const ms_snmp_result *res, void *arg);

static void req_free(snmpc_req *q)
{
    if (!q)
        return;
    free(q->idx);
    free(q);
}

static snmpc_req *req_new(snmpc_rtu *r, ms_snmp_op op, size_t n)
{
    snmpc_req *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->r = r;
    q->op = op;
    q->n = n;
    q->idx = calloc(n + 1, sizeof *q->idx);
    if (!q->idx) {
        req_free(q);
        return NULL;
    }
    return q;
}

/* Sends q (taking it) for oids (copied into the PDU: net-snmp keeps
 * the request's OIDs until it ends); counts it in flight. False when it
 * could not go. */
static bool req_send(snmpc_req *q, const ms_snmp_oidref *oids,
                     const ms_snmp_vb *vals)
{
    snmpc_rtu *r = q->r;
    const ms_snmpc_rtu *cr = &r->m->cfg->rtus[r->i];
    q->sent_us = ms_time_mono_ns() / 1000;
    if (!q->seq)
        q->seq = ++r->seq_now;
    int rc = ms_snmp_session_send(r->sess, q->op, oids, vals, q->n,
                                  (int)cr->max_rep, on_answer, q);
    if (rc < 0) {
        if (rc != MS_EAGAIN) {
            r->errors++;
            set_ok(r, false, "cannot send a request");
        }
        req_free(q);
        return false;
    }
    r->requests++;
    if (q->op != MS_SNMP_SET)
        r->in_flight++;
    return true;
}

/* A GET of the gets idx[0..n) of r. */
static void send_get(snmpc_rtu *r, const size_t *idx, size_t n, uint64_t seq)
{
    if (!n)
        return;
    snmpc_req *q = req_new(r, MS_SNMP_GET, n);
    ms_snmp_oidref *oids = malloc(n * sizeof *oids);
    if (!q || !oids) {
        req_free(q);
        free(oids);
        return;
    }
    q->seq = seq;
    for (size_t k = 0; k < n; k++) {
        q->idx[k] = idx[k];
        oids[k] = r->get[idx[k]];
    }
    req_send(q, oids, NULL);
    free(oids);
}

static void send_walk(snmpc_rtu *r, size_t w, ms_snmp_oidref from,
                      uint64_t seq)
{
    bool v1 = r->m->cfg->rtus[r->i].net.version == MS_SNMP_V1;
    snmpc_req *q = req_new(r, v1 ? MS_SNMP_GETNEXT : MS_SNMP_GETBULK, 1);
    if (!q)
        return;
    q->seq = seq;
    q->walk = w;
    r->walks[w].active = req_send(q, &from, NULL);
}

static snmpc_point *walk_point(snmpc_rtu *r, size_t w, const ms_snmp_oid *o)
{
    snmpc_walk *sw = &r->walks[w];
    const ms_snmpc_walk *cw = &r->m->cfg->rtus[r->i].walks[w];
    ms_snmp_oidref ro = ms_snmp_oid_ref(o);
    for (size_t k = 0; k < sw->n; k++)
        if (!ms_snmp_oidref_cmp(sw->pts[k].oid, ro))
            return &sw->pts[k];
    /* A config tag reading it wins over the walk's template. */
    for (size_t i = 0; i < r->m->cfg->ntags; i++) {
        const ms_snmpc_tag *t = &r->m->cfg->tags[i];
        if (t->has_read && t->rtu_r == r->i &&
            !ms_snmp_oidref_cmp(t->read, ro))
            return &r->m->tags[i];
    }
    char name[300];
    if (!cw->tag || ms_snmpc_walk_tag_name(cw, o, name, sizeof name) < 0)
        return NULL;
    snmpc_point *pts = ms_grow(sw->pts, sw->n, &sw->cap, sizeof *pts, 16);
    if (!pts)
        return NULL;
    sw->pts = pts;
    snmpc_point *p = &sw->pts[sw->n];
    memset(p, 0, sizeof *p);
    p->kind = cw->kind;
    int rc = ms_snmp_oidref_dup(ro, &p->oid);
    if (rc == 0)
        rc = ms_tag_new(r->m->drv.bus, name, ms_snmpc_kind_type(cw->kind),
                        &p->tag);
    if (rc < 0) {
        ms_snmp_oidref_free(&p->oid);
        ms_log_warn("%s: walk tag %s: %s", r->m->cfg->rtus[r->i].name, name,
                    ms_strerror(rc));
        return NULL;
    }
    sw->n++;
    return p;
}

static void walk_answer(snmpc_req *q, const ms_snmp_result *res)
{
    snmpc_rtu *r = q->r;
    const ms_snmp_oid *root = &r->m->cfg->rtus[r->i].walks[q->walk].root;
    uint64_t now = ms_time_mono_ns() / 1000;
    r->walks[q->walk].active = false;
    if (res->errstat) {
        /* v1 says noSuchName at the end of the MIB view. */
        if (res->errstat != 2)
            r->errors++;
        return;
    }
    const ms_snmp_oid *last = NULL;
    for (size_t k = 0; k < res->n; k++) {
        const ms_snmp_vb *vb = &res->vbs[k];
        if (vb->type == MS_SNMP_ENDOFMIBVIEW || !ms_snmp_oid_under(&vb->name,
                                                                   root))
            return; /* the walk is done */
        if (last && ms_snmp_oid_cmp(&vb->name, last) <= 0) {
            ms_log_warn("%s: walk: the agent went backwards; walk stopped",
                        r->m->cfg->rtus[r->i].name);
            return;
        }
        last = &vb->name;
        snmpc_point *p = walk_point(r, q->walk, &vb->name);
        if (p)
            update_point(r, p, vb, q->seq, now);
    }
    if (last)
        send_walk(r, q->walk, ms_snmp_oid_ref(last), q->seq);
}

static void get_answer(snmpc_req *q, const ms_snmp_result *res)
{
    snmpc_rtu *r = q->r;
    if (res->errstat == 1 && q->n > 1) { /* tooBig: in two halves */
        size_t h = q->n / 2;
        send_get(r, q->idx, h, q->seq);
        send_get(r, q->idx + h, q->n - h, q->seq);
        return;
    }
    if (res->errstat) {
        long e = res->errindex;
        if (e >= 1 && (size_t)e <= q->n) {
            /* One OID named: drop it and ask again for the others (v1's
             * noSuchName fails the whole PDU for one bad OID). */
            size_t bad = q->idx[e - 1];
            snmpc_point *p = r->get_pt[bad];
            if (p)
                point_bad(r, p, MS_SNMP_NOSUCHOBJECT);
            size_t *rest = malloc(q->n * sizeof *rest), nr = 0;
            if (rest) {
                for (size_t k = 0; k < q->n; k++)
                    if (k != (size_t)(e - 1))
                        rest[nr++] = q->idx[k];
                send_get(r, rest, nr, q->seq);
                free(rest);
            }
            return;
        }
        r->errors++;
        char why[80];
        snprintf(why, sizeof why, "the agent answered %s",
                 ms_snmp_errstat_name(res->errstat));
        set_ok(r, false, why);
        return;
    }
    uint64_t now = ms_time_mono_ns() / 1000;
    for (size_t k = 0; k < res->n && k < q->n; k++) {
        size_t g = q->idx[k];
        if (ms_snmp_oidref_cmp(ms_snmp_oid_ref(&res->vbs[k].name),
                               r->get[g]))
            continue; /* not what was asked: ignore */
        if (r->has_uptime && g == 0)
            uptime_seen(r, &res->vbs[k]);
        if (r->get_pt[g])
            update_point(r, r->get_pt[g], &res->vbs[k], q->seq, now);
    }
}

static void set_answer(snmpc_req *q, const ms_snmp_result *res)
{
    snmpc_rtu *r = q->r;
    if (res->status < 0 || res->errstat) {
        r->write_errors++;
        ms_log_warn("%s: SET of %s failed: %s",
                    r->m->cfg->rtus[r->i].name, ms_tag_name(q->wp->tag),
                    res->status < 0 ? res->why
                                    : ms_snmp_errstat_name(res->errstat));
        return;
    }
    ms_log_debug("%s: wrote %s", r->m->cfg->rtus[r->i].name,
                 ms_tag_name(q->wp->tag));
}

static void on_answer(const ms_snmp_result *res, void *arg)
{
    snmpc_req *q = arg;
    snmpc_rtu *r = q->r;
    if (res->status == MS_ECLOSED || r->m->drv.stopping) {
        req_free(q); /* stopping: the session ended it */
        return;
    }
    if (q->op != MS_SNMP_SET)
        r->in_flight--;
    if (q->op == MS_SNMP_SET) {
        set_answer(q, res);
    } else if (res->status < 0) {
        if (res->status == MS_ETIMEDOUT) {
            r->timeouts++;
            bool v3 = r->m->cfg->rtus[r->i].net.version == MS_SNMP_V3;
            set_ok(r, false, v3 ? "timeout: no answer (agent down or "
                                  "unreachable)"
                                : "timeout: no answer (agent down or "
                                  "unreachable, or a wrong community)");
        } else {
            r->errors++;
            char why[160];
            snprintf(why, sizeof why, "%s", res->why ? res->why : "error");
            set_ok(r, false, why);
        }
    } else {
        r->answers++;
        r->rtt_ms = (double)(ms_time_mono_ns() / 1000 - q->sent_us) / 1000.0;
        set_ok(r, true, "");
        if (q->op == MS_SNMP_GET)
            get_answer(q, res);
        else
            walk_answer(q, res);
    }
    req_free(q);
}

static void on_poll_timer(uv_timer_t *t)
{
    snmpc_rtu *r = t->data;
    const ms_snmpc_rtu *cr = &r->m->cfg->rtus[r->i];
    if (r->in_flight > 0) {
        r->overruns++; /* a slow agent is not flooded: one poll at a time */
        return;
    }
    if (!ms_snmp_session_ready(r->sess)) {
        ms_snmp_session_send(r->sess, MS_SNMP_GET, NULL, NULL, 0, 0, NULL,
                             NULL); /* starts v3 discovery again */
        if (!ms_snmp_session_ready(r->sess)) {
            const char *st = ms_snmp_session_state(r->sess);
            if (*st && strstr(st, "timeout"))
                set_ok(r, false, st);
            return;
        }
    }
    r->polls++;
    uint64_t seq = ++r->seq_now;
    size_t *idx = malloc((cr->max_oids + 1) * sizeof *idx);
    if (!idx)
        return;
    for (size_t k = 0; k < r->nget; k += cr->max_oids) {
        size_t n = r->nget - k < cr->max_oids ? r->nget - k : cr->max_oids;
        for (size_t j = 0; j < n; j++)
            idx[j] = k + j;
        send_get(r, idx, n, seq);
    }
    free(idx);
    for (size_t w = 0; w < cr->nwalks; w++)
        if (!r->walks[w].active)
            send_walk(r, w, ms_snmp_oid_ref(&cr->walks[w].root), seq);
}

/* ---- writes ----------------------------------------------------------------- */

static void on_bus_change(ms_tag *tag, void *arg)
{
    snmpc_point *p = arg;
    ms_snmpc *m = ms_tag_data(tag);
    size_t i = (size_t)(p - m->tags);
    const ms_snmpc_tag *t = &m->cfg->tags[i];
    snmpc_rtu *r = &m->rtus[t->rtu_w];
    if (!ms_drv_fresh(&m->drv, tag))
        return;
    ms_value v;
    if (ms_tag_get(tag, &v) < 0)
        return;
    uint8_t ip[4];
    ms_snmp_vb vb;
    int rc = ms_snmp_vb_from_value(&v, t->set_type, ip, &vb);
    if (rc < 0) {
        r->write_errors++;
        ms_log_warn("%s: %s: a %s value can't be sent as %s (%s); not "
                    "written", m->cfg->rtus[t->rtu_w].name, t->name,
                    ms_type_name(v.type), ms_snmp_type_name(t->set_type),
                    ms_strerror(rc));
        return;
    }
    snmpc_req *q = req_new(r, MS_SNMP_SET, 1);
    if (!q)
        return;
    q->wp = p;
    q->seq = ++r->seq_now;
    p->write_seq = q->seq;
    if (!req_send(q, &t->write, &vb)) {
        r->write_errors++;
        ms_log_warn("%s: %s: not written (the agent's session is not "
                    "ready)", m->cfg->rtus[t->rtu_w].name, t->name);
    }
}

/* ---- start and stop --------------------------------------------------------- */

static void snmpc_free(ms_drv *d)
{
    ms_snmpc *m = (ms_snmpc *)d;
    for (size_t i = 0; m->rtus && i < m->cfg->nrtus; i++) {
        snmpc_rtu *r = &m->rtus[i];
        for (size_t w = 0; r->walks && w < m->cfg->rtus[i].nwalks; w++) {
            for (size_t k = 0; k < r->walks[w].n; k++)
                ms_snmp_oidref_free(&r->walks[w].pts[k].oid);
            free(r->walks[w].pts);
        }
        free(r->walks);
        free(r->get);
        free(r->get_pt);
        ms_drv_status_free(&r->status);
    }
    free(m->rtus);
    free(m->tags);
    free(m);
}

void ms_snmpc_stop(ms_snmpc *m)
{
    if (!m || m->drv.stopping)
        return;
    m->drv.stopping = true;
    for (size_t i = 0; m->rtus && i < m->cfg->nrtus; i++) {
        snmpc_rtu *r = &m->rtus[i];
        ms_drv_timer_close(&m->drv, &r->poll);
        ms_snmp_session_close(r->sess); /* requests out end unanswered */
        r->sess = NULL;
    }
    ms_drv_stop(&m->drv);
}

static bool has_counters(const ms_snmpc_config *cfg, size_t ri)
{
    for (size_t i = 0; i < cfg->ntags; i++)
        if (cfg->tags[i].has_read && cfg->tags[i].rtu_r == ri &&
            (cfg->tags[i].kind == MS_SNMPC_INT_ROC ||
             cfg->tags[i].kind == MS_SNMPC_RATE))
            return true;
    for (size_t w = 0; w < cfg->rtus[ri].nwalks; w++)
        if (cfg->rtus[ri].walks[w].kind == MS_SNMPC_INT_ROC ||
            cfg->rtus[ri].walks[w].kind == MS_SNMPC_RATE)
            return true;
    return false;
}

static int start_rtu(ms_snmpc *m, size_t i)
{
    ms_snmpc_config *cfg = m->cfg;
    ms_snmpc_rtu *cr = &cfg->rtus[i];
    snmpc_rtu *r = &m->rtus[i];
    r->m = m;
    r->i = i;
    /* sysUpTime.0 first, so a restart is seen before the counters. */
    r->has_uptime = has_counters(cfg, i);
    r->get = calloc(cr->nget + 1, sizeof *r->get);
    r->get_pt = calloc(cr->nget + 1, sizeof *r->get_pt);
    r->walks = calloc(cr->nwalks + 1, sizeof *r->walks);
    if (!r->get || !r->get_pt || !r->walks)
        return MS_ENOMEM;
    if (r->has_uptime)
        r->get[r->nget++] = (ms_snmp_oidref){
            sys_uptime, sizeof sys_uptime / sizeof sys_uptime[0]};
    for (size_t k = 0; k < cr->nget; k++) {
        bool dup = false;
        for (size_t j = 0; j < r->nget && !dup; j++)
            dup = !ms_snmp_oidref_cmp(r->get[j], cr->get[k]);
        if (!dup)
            r->get[r->nget++] = cr->get[k];
    }
    for (size_t t = 0; t < cfg->ntags; t++) {
        const ms_snmpc_tag *ct = &cfg->tags[t];
        if (!ct->has_read || ct->rtu_r != i)
            continue;
        for (size_t k = 0; k < r->nget; k++)
            if (!ms_snmp_oidref_cmp(r->get[k], ct->read)) {
                if (r->get_pt[k])
                    ms_log_warn("%s: tags %s and %s read the same OID; %s "
                                "is not updated", cr->name,
                                ms_tag_name(r->get_pt[k]->tag), ct->name,
                                ct->name);
                else
                    r->get_pt[k] = &m->tags[t];
            }
    }
    char why[200];
    int rc = ms_drv_status_new(&m->drv, cr->name, &r->status);
    if (rc < 0)
        return rc;
    if ((rc = ms_snmp_session_new(m->drv.loop, &cr->net, &r->sess, why,
                                  sizeof why)) < 0) {
        ms_log_error("%s: %s", cr->name, why);
        return rc;
    }
    uint64_t ms = (uint64_t)(cr->rate * 1000.0);
    /* The first poll at once (v3: once discovery had a moment). */
    ms_drv_timer_start(&m->drv, &r->poll, r, on_poll_timer,
                       cr->net.version == MS_SNMP_V3 ? 20 : 0, ms ? ms : 1);
    r->ok = true; /* until told otherwise */
    publish_status(r);
    return 0;
}

static int start(ms_snmpc *m)
{
    ms_snmpc_config *cfg = m->cfg;
    cfg->bus.tagdescs = m->descs;
    int rc = ms_drv_bus_new(&m->drv, &cfg->bus);
    if (rc < 0)
        return rc;
    m->rtus = calloc(cfg->nrtus + 1, sizeof *m->rtus);
    m->tags = calloc(cfg->ntags + 1, sizeof *m->tags);
    if (!m->rtus || !m->tags)
        return MS_ENOMEM;
    for (size_t i = 0; i < cfg->ntags; i++) {
        const ms_snmpc_tag *t = &cfg->tags[i];
        snmpc_point *p = &m->tags[i];
        p->kind = t->kind;
        p->oid = t->read;
        rc = ms_drv_tag_new(m->drv.bus, t->name,
                            ms_snmpc_kind_type(t->kind),
                            t->has_write ? on_bus_change : NULL, p, &p->tag);
        if (rc < 0)
            return rc;
        if (t->has_write)
            ms_tag_set_data(p->tag, m);
    }
    for (size_t i = 0; i < cfg->nrtus; i++)
        if ((rc = start_rtu(m, i)) < 0)
            return rc;
    ms_drv_status_start(&m->drv);
    return 0;
}

int ms_snmpc_start(uv_loop_t *loop, ms_snmpc_config *cfg,
                   const ms_tagdescs *descs, ms_snmpc **out)
{
    *out = NULL;
    ms_snmpc *m = calloc(1, sizeof *m);
    if (!m)
        return MS_ENOMEM;
    m->cfg = cfg;
    m->descs = descs;
    ms_drv_init(&m->drv, loop, on_status_tick, snmpc_free);
    int rc = start(m);
    if (rc < 0) {
        ms_snmpc_stop(m);
        return rc;
    }
    *out = m;
    return 0;
}
