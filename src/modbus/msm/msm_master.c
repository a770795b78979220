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
#include <stdlib.h>
#include <string.h>

#include "modbus/msm/msm_worker.h"
#include "mscada/error.h"

static void sync_stats(ms_worker *w)
{
    ms_mb_client_stats cs;
    if (!w->client) /* closing: requests fail from inside the close */
        return;
    ms_mb_client_get_stats(w->client, &cs);
    uv_mutex_lock(&w->smu);
    w->st.requests = cs.requests;
    w->st.errors = cs.errors;
    w->st.reconnects = cs.connects ? cs.connects - 1 : 0;
    w->st.rtt_ms = cs.rtt_ms;
    uv_mutex_unlock(&w->smu);
}

static void call_done(ms_worker *w, msm_call *k, int status,
                      const ms_mb_response *rsp)
{
    ms_memory *m = w->mem;
    if (status < 0) {
        msm_worker_error(w, status);
        /* Refused by the device: writing it again would be refused again. */
        if (k->write && w->keep && !ms_mb_err_is_exc(status)) {
            uv_mutex_lock(&m->lock);
            msm_unplan(m, k->r);
            uv_mutex_unlock(&m->lock);
        }
    } else if (!k->write) {
        uv_mutex_lock(&m->lock);
        msm_apply_read(m, k->r, rsp);
        uv_mutex_unlock(&m->lock);
    }
    if (--w->outstanding == 0) {
        uv_mutex_lock(&w->smu);
        w->st.cycles++;
        uv_mutex_unlock(&w->smu);
    }
}

static void on_done(int status, uint8_t unit, const ms_mb_request *req,
                    const ms_mb_response *rsp, void *arg)
{
    msm_call *k = arg;
    (void)unit;
    (void)req;
    ms_worker *w = k->w;
    call_done(w, k, status, rsp);
    sync_stats(w);
}

static void exchange(ms_worker *w)
{
    ms_memory *m = w->mem;
    if (w->outstanding)
        return;
    if (!ms_mb_client_connected(w->client)) {
        if (!w->keep) {
            uv_mutex_lock(&m->lock);
            msm_drop_changes(m);
            uv_mutex_unlock(&m->lock);
        }
        return;
    }
    w->plan.n = 0;
    uv_mutex_lock(&m->lock);
    int rc = msm_plan_writes(m, &w->plan);
    size_t nwrites = w->plan.n;
    if (rc == 0)
        rc = msm_plan_reads(m, &w->plan);
    if (rc < 0) /* out of memory: whatever was planned goes again */
        for (size_t i = 0; i < nwrites; i++)
            msm_unplan(m, &w->plan.reqs[i]);
    uv_mutex_unlock(&m->lock);
    if (rc < 0) {
        msm_worker_error(w, rc);
        return;
    }
    msm_call *calls = realloc(w->calls, (w->plan.n + 1) * sizeof *calls);
    if (!calls) {
        uv_mutex_lock(&m->lock);
        for (size_t i = 0; i < nwrites; i++)
            msm_unplan(m, &w->plan.reqs[i]);
        uv_mutex_unlock(&m->lock);
        msm_worker_error(w, MS_ENOMEM);
        return;
    }
    w->calls = calls;
    /* Counted up front, so a failure handled in the loop below can't end
     * the exchange early. */
    w->outstanding = w->plan.n + 1;
    for (size_t i = 0; i < w->plan.n; i++) {
        msm_call *k = &calls[i];
        k->w = w;
        k->r = &w->plan.reqs[i];
        k->write = i < nwrites;
        rc = ms_mb_client_submit(w->client, w->unit, &k->r->req, on_done, k);
        if (rc < 0)
            call_done(w, k, rc, NULL);
    }
    calls[w->plan.n].w = w;
    calls[w->plan.n].write = false;
    if (--w->outstanding == 0) {
        uv_mutex_lock(&w->smu);
        w->st.cycles++;
        uv_mutex_unlock(&w->smu);
    }
    sync_stats(w);
}

static void on_tick(uv_timer_t *t)
{
    exchange(t->data);
}

static void on_state(ms_mb_client *c, bool up, void *arg)
{
    ms_worker *w = arg;
    (void)c;
    uv_mutex_lock(&w->smu);
    w->st.connected = up;
    uv_mutex_unlock(&w->smu);
    if (!up)
        msm_worker_error(w, MS_ECLOSED);
}

int msm_master_start(ms_worker *w)
{
    ms_mb_client_config cfg;
    ms_mb_client_config_init(&cfg);
    cfg.transport = w->transport;
    if (w->transport == MS_MB_TRANSPORT_SERIAL) {
        cfg.serial = w->line;
    } else {
        memcpy(cfg.host, w->host, sizeof cfg.host);
        cfg.port = w->port;
    }
    cfg.timeout = w->timeout;
    cfg.backoff_max = 1.0; /* a PLC back after a restart is seen soon */
    cfg.on_state = on_state;
    cfg.arg = w;
    int rc = ms_mb_client_new(&w->loop, &cfg, &w->client);
    if (rc < 0)
        return rc;
    uv_timer_init(&w->loop, &w->timer);
    w->timer.data = w;
    uint64_t ms = (uint64_t)(w->period * 1000 + 0.5);
    uv_timer_start(&w->timer, on_tick, ms ? ms : 1, ms ? ms : 1);
    return 0;
}

void msm_master_stop(ms_worker *w)
{
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, NULL);
    if (w->client) {
        ms_mb_client_close(w->client); /* fails what is in flight */
        w->client = NULL;
    }
}
