/* Modbus shared memory workers: the background thread (its own libuv loop,
 * stopped through a uv_async, joined), options and status. What the worker
 * does on that loop is its role's (msm_master.c, msm_slave.c), reached
 * through the role's ops table only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/msm/msm_worker.h"
#include "mscada/error.h"
#include "mscada/log.h"

struct ms_worker {
    ms_memory *mem;
    const msm_role_ops *ops;
    void *role;
    msm_worker_opts opts; /* written under smu until started, then fixed */

    uv_loop_t loop;
    uv_async_t async;
    uv_thread_t thread;
    uv_mutex_t smu;  /* the flags and st */
    bool started;    /* ms_worker_run called (and not failed) */
    bool running;    /* the thread exists */
    bool stopping;
    ms_worker_status st;
};

int msm_worker_new(ms_memory *m, const msm_role_ops *ops, void *role,
                   ms_worker **out)
{
    *out = NULL;
    ms_worker *w = role ? calloc(1, sizeof *w) : NULL;
    if (w && uv_mutex_init(&w->smu) < 0) {
        free(w);
        w = NULL;
    }
    if (!w) {
        if (role)
            ops->free(role);
        return msm_memory_fail(m, MS_ENOMEM, "worker: out of memory");
    }
    w->mem = m;
    w->ops = ops;
    w->role = role;
    w->opts.period = 0.1;
    w->opts.timeout = 1.0;
    w->opts.keep = true;
    *out = w;
    return 0;
}

uv_loop_t *msm_worker_loop(ms_worker *w)
{
    return &w->loop;
}

ms_memory *msm_worker_memory(ms_worker *w)
{
    return w->mem;
}

const msm_worker_opts *msm_worker_opts_of(ms_worker *w)
{
    return &w->opts;
}

ms_worker_status *msm_worker_status_lock(ms_worker *w)
{
    uv_mutex_lock(&w->smu);
    return &w->st;
}

void msm_worker_status_unlock(ms_worker *w)
{
    uv_mutex_unlock(&w->smu);
}

/* ---- options ------------------------------------------------------------------ */

/* Locks the options for a change; MS_ERUNNING (unlocked) once run. */
static int opts_begin(ms_worker *w)
{
    uv_mutex_lock(&w->smu);
    if (!w->started)
        return 0;
    uv_mutex_unlock(&w->smu);
    return MS_ERUNNING;
}

int ms_worker_set_period(ms_worker *w, double seconds)
{
    if (!w || !(seconds >= 0.001 && seconds <= 86400))
        return MS_EINVAL;
    int rc = opts_begin(w);
    if (rc == 0) {
        w->opts.period = seconds;
        uv_mutex_unlock(&w->smu);
    }
    return rc;
}

int ms_worker_set_timeout(ms_worker *w, double seconds)
{
    if (!w || !(seconds >= 0.001 && seconds <= 3600))
        return MS_EINVAL;
    int rc = opts_begin(w);
    if (rc == 0) {
        w->opts.timeout = seconds;
        uv_mutex_unlock(&w->smu);
    }
    return rc;
}

int ms_worker_set_keep_writes(ms_worker *w, bool keep)
{
    if (!w)
        return MS_EINVAL;
    int rc = opts_begin(w);
    if (rc == 0) {
        w->opts.keep = keep;
        uv_mutex_unlock(&w->smu);
    }
    return rc;
}

int ms_worker_on_write(ms_worker *w, ms_worker_write_cb cb, void *arg)
{
    if (!w)
        return MS_EINVAL;
    int rc = opts_begin(w);
    if (rc == 0) {
        w->opts.on_write = cb;
        w->opts.arg = arg;
        uv_mutex_unlock(&w->smu);
    }
    return rc;
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
    w->ops->stop(w->role);
    uv_close((uv_handle_t *)&w->async, NULL);
}

static void thread_main(void *arg)
{
    ms_worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* The loop, the role started on it, the thread; on failure none of them. */
static int start(ms_worker *w)
{
    if (uv_loop_init(&w->loop) < 0)
        return MS_ENOMEM;
    if (uv_async_init(&w->loop, &w->async, on_async) < 0) {
        uv_loop_close(&w->loop);
        return MS_EIO; /* no eventfd/pipe: out of file descriptors */
    }
    w->async.data = w;
    /* Started here, before the thread exists: nothing races with it yet,
     * and a slave's listen error reaches the caller. */
    int rc = w->ops->start(w->role, w);
    if (rc == 0 && uv_thread_create(&w->thread, thread_main, w) < 0) {
        rc = MS_EIO;
        w->ops->stop(w->role);
    }
    if (rc < 0) {
        uv_close((uv_handle_t *)&w->async, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
    }
    return rc;
}

static void count_running(ms_memory *m, int d)
{
    uv_mutex_lock(&m->lock);
    m->running = (unsigned)((int)m->running + d);
    uv_mutex_unlock(&m->lock);
}

int ms_worker_run(ms_worker *w)
{
    if (!w)
        return MS_EINVAL;
    uv_mutex_lock(&w->smu);
    bool again = w->started;
    w->started = true; /* options fixed from here */
    uv_mutex_unlock(&w->smu);
    if (again)
        return MS_ERUNNING;
    /* Counted in before the role looks at the memory: a declaration made
     * meanwhile on another thread either came first (and the role sees it)
     * or is refused. */
    count_running(w->mem, 1);
    int rc = start(w);
    uv_mutex_lock(&w->smu);
    w->started = rc == 0;
    w->running = rc == 0;
    w->st.running = rc == 0;
    uv_mutex_unlock(&w->smu);
    if (rc < 0)
        count_running(w->mem, -1);
    return rc;
}

void ms_worker_kill(ms_worker *w)
{
    if (!w)
        return;
    uv_mutex_lock(&w->smu);
    bool running = w->running;
    w->stopping = true;
    uv_mutex_unlock(&w->smu);
    if (running) {
        uv_async_send(&w->async);
        uv_thread_join(&w->thread);
        if (uv_loop_close(&w->loop) != 0)
            ms_log_warn("msm worker: its loop still had handles at kill");
        count_running(w->mem, -1);
    }
    w->ops->free(w->role);
    uv_mutex_destroy(&w->smu);
    free(w);
}
