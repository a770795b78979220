/* Modbus shared memory workers, as a role sees them: a worker owns a thread
 * with its own loop, its options and status, and runs one role (master or
 * slave) through the ops table the role's constructor chose. The worker
 * knows nothing of what a role does; a role knows the worker only through
 * the calls below. */
#ifndef MSCADA_MSM_WORKER_H
#define MSCADA_MSM_WORKER_H

#include <uv.h>

#include "modbus/msm/msm_int.h"

/* What a role does, on the worker's loop. */
typedef struct {
    /* From ms_worker_run, on the caller's thread before the worker's thread
     * exists (so a listen error reaches the caller): open what the role
     * needs on msm_worker_loop(w). On failure it returns the error and
     * leaves nothing open on the loop. */
    int (*start)(void *role, ms_worker *w);
    /* On the loop (or after a failed thread start): close what start
     * opened; in-flight work fails. */
    void (*stop)(void *role);
    /* Once the thread is joined, or the worker never ran: free the role. */
    void (*free)(void *role);
} msm_role_ops;

/* Options, fixed once ms_worker_run was called (read-only for roles). */
typedef struct {
    double period, timeout; /* master */
    bool keep;              /* master */
    ms_worker_write_cb on_write; /* slave */
    void *arg;
} msm_worker_opts;

/* A stopped worker of m running role, through *out. Takes role: on
 * failure (MS_ENOMEM, also when role is NULL: its allocation failed) it is
 * freed through ops->free, *out is NULL and ms_memory_error(m) says so. */
int msm_worker_new(ms_memory *m, const msm_role_ops *ops, void *role,
                   ms_worker **out);

uv_loop_t *msm_worker_loop(ms_worker *w);
ms_memory *msm_worker_memory(ms_worker *w);
const msm_worker_opts *msm_worker_opts_of(ms_worker *w);

/* The status, locked for an update from the role; unlock right after. */
ms_worker_status *msm_worker_status_lock(ms_worker *w);
void msm_worker_status_unlock(ms_worker *w);
/* Records err (and its text) as the last error. */
void msm_worker_error(ms_worker *w, int err);

#endif
