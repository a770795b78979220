/* Modbus shared memory, master side: every period one exchange through an
 * ms_mb_client (TCP or serial): the writes of what the program changed,
 * then reads of every area, all queued at once to the one unit, which the
 * client sends in order, so the reads see the writes. The next exchange
 * starts only once every request of this one has ended.
 *
 * Rules (docs/msm.md): a change not yet written wins over a value read in
 * the same period, and is written in the next one. A write that fails for
 * want of a connection (closed, timed out) is kept and written again once
 * the device answers, unless the worker was told to drop such writes; a
 * write the device refuses (an exception) is dropped and reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/msm/msm_worker.h"
#include "mscada/error.h"
#include "mscada/mbclient.h"

typedef struct msm_master msm_master;

/* One request of an exchange in flight. */
typedef struct {
    msm_master *ms;
    msm_req *r;
    bool write;
} msm_call;

struct msm_master {
    ms_worker *w;
    ms_memory *mem;
    bool keep;
    ms_mb_client_config cfg; /* transport, where, timeout */
    uint8_t unit;
    /* on the worker's thread */
    ms_mb_client *client;
    uv_timer_t timer;
    msm_plan plan;
    msm_call *calls;
    size_t outstanding;
};

static void count_cycle(msm_master *ms)
{
    ms_worker_status *st = msm_worker_status_lock(ms->w);
    st->cycles++;
    msm_worker_status_unlock(ms->w);
}

static void sync_stats(msm_master *ms)
{
    ms_mb_client_stats cs;
    if (!ms->client) /* closing: requests fail from inside the close */
        return;
    ms_mb_client_get_stats(ms->client, &cs);
    ms_worker_status *st = msm_worker_status_lock(ms->w);
    st->requests = cs.requests;
    st->errors = cs.errors;
    st->reconnects = cs.connects ? cs.connects - 1 : 0;
    st->rtt_ms = cs.rtt_ms;
    msm_worker_status_unlock(ms->w);
}

static void call_done(msm_master *ms, msm_call *k, int status,
                      const ms_mb_response *rsp)
{
    ms_memory *m = ms->mem;
    if (status < 0) {
        msm_worker_error(ms->w, status);
        /* Refused by the device: writing it again would be refused again. */
        if (k->write && ms->keep && !ms_mb_err_is_exc(status)) {
            uv_mutex_lock(&m->lock);
            msm_unplan(m, k->r);
            uv_mutex_unlock(&m->lock);
        }
    } else if (!k->write) {
        uv_mutex_lock(&m->lock);
        msm_apply_read(m, k->r, rsp);
        uv_mutex_unlock(&m->lock);
    }
    if (--ms->outstanding == 0)
        count_cycle(ms);
}

static void on_done(int status, uint8_t unit, const ms_mb_request *req,
                    const ms_mb_response *rsp, void *arg)
{
    msm_call *k = arg;
    (void)unit;
    (void)req;
    msm_master *ms = k->ms;
    call_done(ms, k, status, rsp);
    sync_stats(ms);
}

/* Out of memory mid-plan: what was planned is written next time. */
static void unplan_writes(msm_master *ms, size_t nwrites)
{
    uv_mutex_lock(&ms->mem->lock);
    for (size_t i = 0; i < nwrites; i++)
        msm_unplan(ms->mem, &ms->plan.reqs[i]);
    uv_mutex_unlock(&ms->mem->lock);
    msm_worker_error(ms->w, MS_ENOMEM);
}

static void exchange(msm_master *ms)
{
    ms_memory *m = ms->mem;
    if (ms->outstanding)
        return;
    if (!ms_mb_client_connected(ms->client)) {
        if (!ms->keep) {
            uv_mutex_lock(&m->lock);
            msm_drop_changes(m);
            uv_mutex_unlock(&m->lock);
        }
        return;
    }
    ms->plan.n = 0;
    uv_mutex_lock(&m->lock);
    int rc = msm_plan_writes(m, &ms->plan);
    size_t nwrites = ms->plan.n;
    if (rc == 0)
        rc = msm_plan_reads(m, &ms->plan);
    uv_mutex_unlock(&m->lock);
    msm_call *calls = rc == 0 ? realloc(ms->calls, (ms->plan.n + 1) *
                                                       sizeof *calls)
                              : NULL;
    if (!calls) {
        unplan_writes(ms, nwrites);
        return;
    }
    ms->calls = calls;
    /* Counted up front, so a failure handled in the loop below can't end
     * the exchange early. */
    ms->outstanding = ms->plan.n + 1;
    for (size_t i = 0; i < ms->plan.n; i++) {
        msm_call *k = &calls[i];
        k->ms = ms;
        k->r = &ms->plan.reqs[i];
        k->write = i < nwrites;
        rc = ms_mb_client_submit(ms->client, ms->unit, &k->r->req, on_done,
                                 k);
        if (rc < 0)
            call_done(ms, k, rc, NULL);
    }
    calls[ms->plan.n].ms = ms;
    calls[ms->plan.n].write = false;
    if (--ms->outstanding == 0)
        count_cycle(ms);
    sync_stats(ms);
}

static void on_tick(uv_timer_t *t)
{
    exchange(t->data);
}

static void on_state(ms_mb_client *c, bool up, void *arg)
{
    msm_master *ms = arg;
    (void)c;
    ms_worker_status *st = msm_worker_status_lock(ms->w);
    st->connected = up;
    msm_worker_status_unlock(ms->w);
    if (!up)
        msm_worker_error(ms->w, MS_ECLOSED);
}

/* ---- the role ------------------------------------------------------------------ */

static int master_start(void *role, ms_worker *w)
{
    msm_master *ms = role;
    const msm_worker_opts *o = msm_worker_opts_of(w);
    ms->w = w;
    ms->mem = msm_worker_memory(w);
    ms->keep = o->keep;
    ms->cfg.timeout = o->timeout;
    ms->cfg.backoff_max = 1.0; /* a PLC back after a restart is seen soon */
    ms->cfg.on_state = on_state;
    ms->cfg.arg = ms;
    uv_loop_t *loop = msm_worker_loop(w);
    int rc = ms_mb_client_new(loop, &ms->cfg, &ms->client);
    if (rc < 0)
        return rc;
    uv_timer_init(loop, &ms->timer);
    ms->timer.data = ms;
    uint64_t ms_ = (uint64_t)(o->period * 1000 + 0.5);
    uv_timer_start(&ms->timer, on_tick, ms_ ? ms_ : 1, ms_ ? ms_ : 1);
    return 0;
}

static void master_stop(void *role)
{
    msm_master *ms = role;
    uv_timer_stop(&ms->timer);
    uv_close((uv_handle_t *)&ms->timer, NULL);
    if (ms->client) {
        ms_mb_client_close(ms->client); /* fails what is in flight */
        ms->client = NULL;
    }
}

static void master_free(void *role)
{
    msm_master *ms = role;
    msm_plan_free(&ms->plan);
    free(ms->calls);
    free(ms);
}

static const msm_role_ops master_ops = {master_start, master_stop,
                                        master_free};

/* The makers' common end: cfg as ms_mb_client_new will take it. */
static int master_new(ms_memory *m, const ms_mb_client_config *cfg,
                      uint8_t unit, ms_worker **out)
{
    char why[160];
    if (ms_mb_client_config_check(cfg, why, sizeof why) < 0)
        return msm_memory_fail(m, MS_EINVAL, "master: %s", why);
    msm_master *ms = calloc(1, sizeof *ms);
    if (ms) {
        ms->cfg = *cfg;
        ms->unit = unit;
    }
    return msm_worker_new(m, &master_ops, ms, out);
}

int ms_master_tcp(ms_memory *m, const char *host, int port, uint8_t unit,
                  ms_worker **out)
{
    ms_mb_client_config cfg;
    if (!out)
        return MS_EINVAL;
    *out = NULL;
    if (!m)
        return MS_EINVAL;
    if (!host || strlen(host) >= sizeof cfg.host)
        return msm_memory_fail(m, MS_EINVAL, "master: host must be an "
                               "address or a name, shorter than %zu bytes",
                               sizeof cfg.host);
    ms_mb_client_config_init(&cfg);
    cfg.transport = MS_MB_TRANSPORT_TCP;
    snprintf(cfg.host, sizeof cfg.host, "%s", host);
    cfg.port = port;
    return master_new(m, &cfg, unit, out);
}

int ms_master_serial(ms_memory *m, const ms_mb_serial_config *line,
                     uint8_t unit, ms_worker **out)
{
    ms_mb_client_config cfg;
    if (!out)
        return MS_EINVAL;
    *out = NULL;
    if (!m)
        return MS_EINVAL;
    if (!line)
        return msm_memory_fail(m, MS_EINVAL, "master: no serial line");
    ms_mb_client_config_init(&cfg);
    cfg.transport = MS_MB_TRANSPORT_SERIAL;
    cfg.serial = *line;
    return master_new(m, &cfg, unit, out);
}
