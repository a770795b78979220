/* Modbus shared memory workers: the background thread (its own libuv loop,
 * stopped through a uv_async, joined), options and status. What a master
 * or slave does on that loop is in msm_master.c and msm_slave.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/msm/msm_worker.h"
#include "mscada/error.h"
#include "mscada/log.h"

static ms_worker *worker_new(ms_memory *m, bool master)
{
    if (!m)
        return NULL;
    ms_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->mem = m;
    w->master = master;
    w->period = 0.1;
    w->timeout = 1.0;
    w->keep = true;
    uv_mutex_init(&w->smu);
    return w;
}

ms_worker *ms_master_tcp(ms_memory *m, const char *host, int port,
                         uint8_t unit)
{
    if (!host || !*host || strlen(host) >= 256 || port <= 0 || port > 65535)
        return NULL;
    ms_worker *w = worker_new(m, true);
    if (w) {
        w->transport = MS_MB_TRANSPORT_TCP;
        snprintf(w->host, sizeof w->host, "%s", host);
        w->port = port;
        w->unit = unit;
    }
    return w;
}

ms_worker *ms_master_serial(ms_memory *m, const ms_mb_serial_config *line,
                            uint8_t unit)
{
    if (!line || ms_mb_serial_config_check(line) < 0)
        return NULL;
    ms_worker *w = worker_new(m, true);
    if (w) {
        w->transport = MS_MB_TRANSPORT_SERIAL;
        w->line = *line;
        w->unit = unit;
    }
    return w;
}

ms_worker *ms_slave_tcp(ms_memory *m, const char *ip, int port, uint8_t unit)
{
    if ((ip && strlen(ip) >= 64) || port < 0 || port > 65535)
        return NULL;
    ms_worker *w = worker_new(m, false);
    if (w) {
        w->transport = MS_MB_TRANSPORT_TCP;
        snprintf(w->host, sizeof w->host, "%s", ip ? ip : "127.0.0.1");
        w->port = port;
        w->unit = unit;
    }
    return w;
}

ms_worker *ms_slave_serial(ms_memory *m, const ms_mb_serial_config *line,
                           uint8_t unit)
{
    if (!line || ms_mb_serial_config_check(line) < 0)
        return NULL;
    ms_worker *w = worker_new(m, false);
    if (w) {
        w->transport = MS_MB_TRANSPORT_SERIAL;
        w->line = *line;
        w->unit = unit;
    }
    return w;
}

int ms_worker_set_period(ms_worker *w, double seconds)
{
    if (!w || !(seconds >= 0.001 && seconds <= 86400))
        return MS_EINVAL;
    if (w->running)
        return MS_ERUNNING;
    w->period = seconds;
    return 0;
}

int ms_worker_set_timeout(ms_worker *w, double seconds)
{
    if (!w || !(seconds >= 0.001 && seconds <= 3600))
        return MS_EINVAL;
    if (w->running)
        return MS_ERUNNING;
    w->timeout = seconds;
    return 0;
}

int ms_worker_set_keep_writes(ms_worker *w, bool keep)
{
    if (!w)
        return MS_EINVAL;
    if (w->running)
        return MS_ERUNNING;
    w->keep = keep;
    return 0;
}

int ms_worker_on_write(ms_worker *w, ms_worker_write_cb cb, void *arg)
{
    if (!w)
        return MS_EINVAL;
    if (w->running)
        return MS_ERUNNING;
    w->on_write = cb;
    w->arg = arg;
    return 0;
}

void msm_worker_error(ms_worker *w, int err)
{
    char text[128];
    ms_mb_strerror(err, text, sizeof text);
    uv_mutex_lock(&w->smu);
    w->st.last_error = err;
    snprintf(w->st.last_error_text, sizeof w->st.last_error_text, "%s",
             text);
    uv_mutex_unlock(&w->smu);
}

void ms_worker_get_status(ms_worker *w, ms_worker_status *st)
{
    if (!w || !st)
        return;
    uv_mutex_lock(&w->smu);
    *st = w->st;
    uv_mutex_unlock(&w->smu);
}

/* ---- the thread ------------------------------------------------------------------ */

static void on_async(uv_async_t *a)
{
    ms_worker *w = a->data;
    uv_mutex_lock(&w->smu);
    bool stop = w->stopping;
    uv_mutex_unlock(&w->smu);
    if (!stop)
        return;
    if (w->master)
        msm_master_stop(w);
    else
        msm_slave_stop(w);
    uv_close((uv_handle_t *)&w->async, NULL);
}

static void thread_main(void *arg)
{
    ms_worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

int ms_worker_run(ms_worker *w)
{
    if (!w)
        return MS_EINVAL;
    if (w->running)
        return MS_ERUNNING;
    if (uv_loop_init(&w->loop) < 0)
        return MS_ENOMEM;
    uv_async_init(&w->loop, &w->async, on_async);
    w->async.data = w;
    /* Started here, before the thread exists: nothing races with it yet,
     * and a slave's listen error reaches the caller. */
    int rc = w->master ? msm_master_start(w) : msm_slave_start(w);
    if (rc == 0 && uv_thread_create(&w->thread, thread_main, w) < 0) {
        rc = MS_EIO;
        if (w->master)
            msm_master_stop(w);
        else
            msm_slave_stop(w);
    }
    if (rc < 0) {
        uv_close((uv_handle_t *)&w->async, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        return rc;
    }
    uv_mutex_lock(&w->smu);
    w->st.running = true;
    uv_mutex_unlock(&w->smu);
    w->running = true;
    uv_mutex_lock(&w->mem->lock);
    w->mem->running++;
    uv_mutex_unlock(&w->mem->lock);
    return 0;
}

void ms_worker_kill(ms_worker *w)
{
    if (!w)
        return;
    if (w->running) {
        uv_mutex_lock(&w->smu);
        w->stopping = true;
        uv_mutex_unlock(&w->smu);
        uv_async_send(&w->async);
        uv_thread_join(&w->thread);
        if (uv_loop_close(&w->loop) != 0)
            ms_log_warn("msm worker: its loop still had handles at kill");
        uv_mutex_lock(&w->mem->lock);
        w->mem->running--;
        uv_mutex_unlock(&w->mem->lock);
    }
    msm_plan_free(&w->plan);
    free(w->calls);
    free(w->pending);
    free(w->fired);
    uv_mutex_destroy(&w->smu);
    free(w);
}
