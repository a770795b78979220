/* The client in a background thread, for programs that want tags without
 * running a libuv loop: the thread owns a loop and a client on it. Other
 * threads hand it work through a mutex-protected queue and uv_async_send,
 * and wait for the result (so a set reports ms_tag_set's answer, and a get
 * right after a set sees it). Reads don't wait for the client thread at
 * all: the client takes `lock` whenever its tag table or a value changes,
 * and readers copy under the same lock. Callbacks run on the client
 * thread, where the whole loop API may be used. */
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "mscada/error.h"
#include "mscada/log.h"

typedef struct call call;
struct call {
    int (*fn)(ms_client *c, void *arg);
    void *arg;
    int rc;
    bool done;
    call *next;
};

struct ms_client_thread {
    uv_loop_t loop;
    uv_async_t async;
    uv_thread_t thread;
    uv_mutex_t lock;     /* the client's tag table and values; state */
    uv_mutex_t qmu;      /* the queue below, and the flags */
    uv_cond_t qcond;     /* a call is done */
    ms_client *c;
    call *head, *tail;
    bool stopping;       /* no new calls */
    bool have_tid;
    uv_thread_t tid;     /* the client thread, as it sees itself */
    ms_client_state state;
};

static bool on_client_thread(ms_client_thread *th)
{
    uv_thread_t self = uv_thread_self();
    uv_mutex_lock(&th->qmu);
    bool yes = th->have_tid && uv_thread_equal(&self, &th->tid);
    uv_mutex_unlock(&th->qmu);
    return yes;
}

static void on_async(uv_async_t *a)
{
    ms_client_thread *th = a->data;
    uv_mutex_lock(&th->qmu);
    call *list = th->head;
    th->head = th->tail = NULL;
    bool stop = th->stopping;
    uv_mutex_unlock(&th->qmu);
    while (list) {
        call *k = list;
        list = k->next; /* k lives on its caller's stack until done */
        int rc = th->c ? k->fn(th->c, k->arg) : MS_ECLOSED;
        uv_mutex_lock(&th->qmu);
        k->rc = rc;
        k->done = true;
        uv_cond_broadcast(&th->qcond);
        uv_mutex_unlock(&th->qmu);
    }
    if (stop && th->c) {
        ms_client_close(th->c);
        uv_mutex_lock(&th->lock); /* readers see no client from now on */
        th->c = NULL;
        uv_mutex_unlock(&th->lock);
        uv_close((uv_handle_t *)&th->async, NULL);
    }
}

static void state_hook(ms_client *c, ms_client_state s, void *arg)
{
    ms_client_thread *th = arg;
    (void)c;
    uv_mutex_lock(&th->lock);
    th->state = s;
    uv_mutex_unlock(&th->lock);
}

static void thread_main(void *arg)
{
    ms_client_thread *th = arg;
    uv_mutex_lock(&th->qmu);
    th->tid = uv_thread_self();
    th->have_tid = true;
    uv_mutex_unlock(&th->qmu);
    uv_run(&th->loop, UV_RUN_DEFAULT);
}

int ms_client_thread_start(const ms_client_config *cfg,
                           ms_client_thread **out)
{
    if (!out)
        return MS_EINVAL;
    *out = NULL;
    /* Refused before a loop or a thread is made for it. */
    if (ms_client_config_check(cfg, NULL, 0) < 0)
        return MS_EINVAL;
    ms_client_thread *th = calloc(1, sizeof *th);
    if (!th)
        return MS_ENOMEM;
    int rc = MS_ENOMEM;
    if (uv_mutex_init(&th->lock) < 0)
        goto fail_lock;
    if (uv_mutex_init(&th->qmu) < 0)
        goto fail_qmu;
    if (uv_cond_init(&th->qcond) < 0)
        goto fail_cond;
    if (uv_loop_init(&th->loop) < 0)
        goto fail_loop;
    if (uv_async_init(&th->loop, &th->async, on_async) < 0) {
        rc = MS_EIO; /* no eventfd/pipe: out of file descriptors */
        goto fail_async;
    }
    th->async.data = th;
    /* Made here, before the thread exists: nothing races with it yet. */
    rc = ms_client_new(&th->loop, cfg, &th->c);
    if (rc == 0) {
        th->c->lock = &th->lock;
        th->c->state_hook = state_hook;
        th->c->state_hook_arg = th;
        th->state = th->c->state;
        if (uv_thread_create(&th->thread, thread_main, th) < 0)
            rc = MS_EIO;
    }
    if (rc == 0) {
        *out = th;
        return 0;
    }
    if (th->c)
        ms_client_close(th->c);
    uv_close((uv_handle_t *)&th->async, NULL);
    uv_run(&th->loop, UV_RUN_DEFAULT);
fail_async:
    uv_loop_close(&th->loop);
fail_loop:
    uv_cond_destroy(&th->qcond);
fail_cond:
    uv_mutex_destroy(&th->qmu);
fail_qmu:
    uv_mutex_destroy(&th->lock);
fail_lock:
    free(th);
    return rc;
}

void ms_client_thread_stop(ms_client_thread *th)
{
    if (!th)
        return;
    if (on_client_thread(th)) {
        ms_log_error("ms_client_thread_stop called from the client thread "
                     "(a callback): refused; call it from another thread");
        return;
    }
    uv_mutex_lock(&th->qmu);
    bool again = th->stopping;
    th->stopping = true;
    uv_mutex_unlock(&th->qmu);
    if (again)
        return;
    uv_async_send(&th->async);
    uv_thread_join(&th->thread);
    if (uv_loop_close(&th->loop) != 0)
        ms_log_warn("client thread: its loop still had handles at stop");
    uv_cond_destroy(&th->qcond);
    uv_mutex_destroy(&th->qmu);
    uv_mutex_destroy(&th->lock);
    free(th);
}

ms_client_state ms_client_thread_state(ms_client_thread *th)
{
    uv_mutex_lock(&th->lock);
    ms_client_state s = th->state;
    uv_mutex_unlock(&th->lock);
    return s;
}

int ms_client_thread_call(ms_client_thread *th,
                          int (*fn)(ms_client *c, void *arg), void *arg)
{
    if (!th || !fn)
        return MS_EINVAL;
    if (on_client_thread(th))
        return th->c ? fn(th->c, arg) : MS_ECLOSED;
    call k = {fn, arg, 0, false, NULL};
    uv_mutex_lock(&th->qmu);
    if (th->stopping) {
        uv_mutex_unlock(&th->qmu);
        return MS_ECLOSED;
    }
    if (th->tail)
        th->tail->next = &k;
    else
        th->head = &k;
    th->tail = &k;
    uv_mutex_unlock(&th->qmu);
    uv_async_send(&th->async);
    uv_mutex_lock(&th->qmu);
    while (!k.done)
        uv_cond_wait(&th->qcond, &th->qmu);
    uv_mutex_unlock(&th->qmu);
    return k.rc;
}

/* ---- tag calls ------------------------------------------------------------ */

typedef struct {
    const char *name;
    ms_type type;
    const ms_value *v;
    uint64_t time_us;
    ms_tag_cb cb;
    void *arg;
} tag_args;

static int do_tag(ms_client *c, void *arg)
{
    tag_args *a = arg;
    ms_tag *t;
    return ms_tag_new(c, a->name, a->type, &t);
}

static int do_set(ms_client *c, void *arg)
{
    tag_args *a = arg;
    ms_tag *t = ms_tag_find(c, a->name);
    if (!t) {
        int rc = ms_tag_new(c, a->name, a->v->type, &t);
        if (rc < 0)
            return rc;
    }
    return ms_tag_set(t, a->v, a->time_us);
}

static int do_watch(ms_client *c, void *arg)
{
    tag_args *a = arg;
    ms_tag *t;
    int rc = ms_tag_new(c, a->name, MS_TYPE_NONE, &t);
    return rc < 0 ? rc : ms_tag_watch(t, a->cb, a->arg);
}

int ms_client_thread_tag(ms_client_thread *th, const char *name,
                         ms_type type)
{
    tag_args a = {name, type, NULL, 0, NULL, NULL};
    return name ? ms_client_thread_call(th, do_tag, &a) : MS_EINVAL;
}

int ms_client_thread_set(ms_client_thread *th, const char *name,
                         const ms_value *v, uint64_t time_us)
{
    tag_args a = {name, MS_TYPE_NONE, v, time_us, NULL, NULL};
    return name && v ? ms_client_thread_call(th, do_set, &a) : MS_EINVAL;
}

int ms_client_thread_set_int(ms_client_thread *th, const char *name,
                             int64_t v)
{
    ms_value x = ms_value_int(v);
    return ms_client_thread_set(th, name, &x, 0);
}

int ms_client_thread_set_float(ms_client_thread *th, const char *name,
                               double v)
{
    ms_value x = ms_value_float(v);
    return ms_client_thread_set(th, name, &x, 0);
}

int ms_client_thread_set_str(ms_client_thread *th, const char *name,
                             const char *s)
{
    if (!s)
        return MS_EINVAL;
    ms_value x = ms_value_buf(MS_TYPE_STR, s, strlen(s));
    return ms_client_thread_set(th, name, &x, 0);
}

int ms_client_thread_watch(ms_client_thread *th, const char *name,
                           ms_tag_cb cb, void *arg)
{
    tag_args a = {name, MS_TYPE_NONE, NULL, 0, cb, arg};
    return name && cb ? ms_client_thread_call(th, do_watch, &a) : MS_EINVAL;
}

/* ---- reads under the lock ------------------------------------------------- */

/* Finds name's value under th->lock; the caller unlocks. */
static const ms_tag *locked_find(ms_client_thread *th, const char *name)
{
    uv_mutex_lock(&th->lock);
    /* th->c is set before the thread starts and cleared only at stop. */
    return th->c ? ms_tag_find(th->c, name) : NULL;
}

int ms_client_thread_get(ms_client_thread *th, const char *name,
                         ms_value *v, uint64_t *time_us)
{
    if (!th || !name || !v)
        return MS_EINVAL;
    *v = ms_value_none();
    const ms_tag *t = locked_find(th, name);
    int rc = 0;
    if (!t || !ms_tag_has_value(t)) {
        rc = MS_ENOENT;
    } else {
        ms_value src;
        ms_tag_get(t, &src);
        if (src.type >= MS_TYPE_STR) {
            uint8_t *p = malloc(src.u.buf.len + 1);
            if (!p) {
                rc = MS_ENOMEM;
            } else {
                if (src.u.buf.len)
                    memcpy(p, src.u.buf.ptr, src.u.buf.len);
                p[src.u.buf.len] = 0;
                *v = ms_value_buf(src.type, p, src.u.buf.len);
            }
        } else {
            *v = src;
        }
        if (rc == 0 && time_us)
            *time_us = ms_tag_time_us(t);
    }
    uv_mutex_unlock(&th->lock);
    return rc;
}

void ms_client_value_free(ms_value *v)
{
    if (v && v->type >= MS_TYPE_STR && v->type <= MS_TYPE_JSON)
        free((void *)v->u.buf.ptr);
    if (v)
        *v = ms_value_none();
}

int ms_client_thread_get_int(ms_client_thread *th, const char *name,
                             int64_t *out)
{
    if (!th || !name || !out)
        return MS_EINVAL;
    const ms_tag *t = locked_find(th, name);
    int rc = t ? ms_tag_get_int(t, out) : MS_ENOENT;
    uv_mutex_unlock(&th->lock);
    return rc;
}

int ms_client_thread_get_float(ms_client_thread *th, const char *name,
                               double *out)
{
    if (!th || !name || !out)
        return MS_EINVAL;
    const ms_tag *t = locked_find(th, name);
    int rc = t ? ms_tag_get_float(t, out) : MS_ENOENT;
    uv_mutex_unlock(&th->lock);
    return rc;
}
