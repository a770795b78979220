/* Modbus shared memory workers: what master and slave share (a thread with
 * its own loop, stopped through a uv_async; options; status). */
#ifndef MSCADA_MSM_WORKER_H
#define MSCADA_MSM_WORKER_H

#include <uv.h>

#include "modbus/msm/msm_int.h"
#include "mscada/mbclient.h"
#include "mscada/mbserver.h"

typedef struct {
    ms_worker *w;
    msm_req *r;
    bool write;
} msm_call;

struct ms_worker {
    ms_memory *mem;
    bool master;
    ms_mb_transport transport; /* TCP or SERIAL */
    char host[256];
    int port;
    uint8_t unit;
    ms_mb_serial_config line;
    double period, timeout;
    bool keep;
    ms_worker_write_cb on_write;
    void *arg;

    uv_loop_t loop;
    uv_async_t async;
    uv_timer_t timer;
    uv_thread_t thread;
    bool running;   /* the thread exists (caller's thread only) */
    bool stopping;  /* under smu */
    uv_mutex_t smu; /* st and stopping */
    ms_worker_status st;

    /* master, on the worker's thread */
    ms_mb_client *client;
    msm_plan plan;
    msm_call *calls;
    size_t outstanding;

    /* slave, on the worker's thread */
    ms_mb_server *server;
    ms_mb_serial_slave *serial;
    ms_mb_mem smem;        /* blocks pointing into the memory's arrays */
    ms_mb_block blocks[4];
    size_t nvars;          /* variables declared when it started */
    uint8_t *pending;      /* per variable: written by a master */
    int *fired;            /* the ones to call back, outside the lock */
};

/* The error for the status (worker's thread). */
void msm_worker_error(ms_worker *w, int err);
/* Start and stop of the master's and slave's parts, on their loop. */
int msm_master_start(ms_worker *w);
void msm_master_stop(ms_worker *w);
int msm_slave_start(ms_worker *w);
void msm_slave_stop(ms_worker *w);

#endif
