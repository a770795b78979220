/* Modbus shared memory, slave side: the memory served by the existing
 * servers (TCP, serial) through an adapter: a block memory whose blocks
 * point into the memory's arrays, and a guard that holds the memory's lock
 * while each request is answered. Variables a master wrote are called back
 * after the lock is released, on the worker's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/link/mb_serial.h"
#include "modbus/msm/msm_worker.h"
#include "mscada/error.h"
#include "mscada/mbserver.h"

typedef struct {
    ms_worker *w;
    ms_memory *mem;
    bool serial_line;          /* else TCP */
    char ip[64];
    int port;
    ms_mb_serial_config line;
    uint8_t unit;
    ms_worker_write_cb on_write;
    void *arg;
    /* on the worker's thread */
    ms_mb_server *server;
    ms_mb_serial_slave *serial;
    ms_mb_mem smem;        /* blocks pointing into the memory's arrays */
    ms_mb_block blocks[4];
    size_t nvars;          /* variables declared when it started */
    uint8_t *pending;      /* per variable: written by a master */
    int *fired;            /* the ones to call back, outside the lock */
} msm_slave;

static void on_master_write(uint8_t unit, ms_mb_file file, uint16_t addr,
                            uint16_t count, void *arg)
{
    msm_slave *sl = arg;
    ms_memory *m = sl->mem;
    (void)unit;
    if (!sl->on_write)
        return;
    /* Called inside the guard: the memory is locked. */
    const msm_area *a = &m->area[file];
    uint32_t lo = (uint32_t)addr - a->base, hi = lo + count;
    for (size_t i = 0; i < sl->nvars; i++) {
        const msm_var *v = m->vars[i];
        if (v->area == file && v->offset < hi && lo < v->offset + v->count)
            sl->pending[i] = 1;
    }
}

static void guard(bool enter, void *arg)
{
    msm_slave *sl = arg;
    ms_memory *m = sl->mem;
    if (enter) {
        uv_mutex_lock(&m->lock);
        return;
    }
    size_t n = 0;
    if (sl->on_write) {
        for (size_t i = 0; i < sl->nvars; i++) {
            if (sl->pending[i]) {
                sl->pending[i] = 0;
                sl->fired[n++] = (int)i;
            }
        }
    }
    uv_mutex_unlock(&m->lock);
    ms_worker_status *st = msm_worker_status_lock(sl->w);
    st->requests++;
    msm_worker_status_unlock(sl->w);
    for (size_t i = 0; i < n; i++)
        sl->on_write(sl->w, m, (ms_var){sl->fired[i]}, sl->arg);
}

/* The adapter: one block per area that has a size. */
static void build_mem(msm_slave *sl)
{
    static const ms_mb_file files[4] = {MS_MB_COILS, MS_MB_DISCRETE_INPUTS,
                                        MS_MB_INPUT_REGISTERS,
                                        MS_MB_HOLDING_REGISTERS};
    ms_mb_mem *mm = &sl->smem;
    memset(mm, 0, sizeof *mm);
    mm->blocks = sl->blocks;
    mm->cap = 4;
    for (int i = 0; i < 4; i++) {
        msm_area *a = &sl->mem->area[files[i]];
        if (!a->size)
            continue;
        ms_mb_block *b = &sl->blocks[mm->n++];
        b->unit = sl->unit;
        b->file = files[i];
        b->start = a->base;
        b->end = (uint16_t)(a->base + a->size - 1);
        b->regs = a->regs;
        b->bits = a->bits;
    }
    mm->units[sl->unit] = true;
}

/* ---- the role ------------------------------------------------------------------ */

static int slave_start(void *role, ms_worker *w)
{
    msm_slave *sl = role;
    const msm_worker_opts *o = msm_worker_opts_of(w);
    ms_memory *m = msm_worker_memory(w);
    sl->w = w;
    sl->mem = m;
    sl->on_write = o->on_write;
    sl->arg = o->arg;
    /* The worker counted itself running first: no variable comes later. */
    uv_mutex_lock(&m->lock);
    size_t nvars = sl->nvars = m->nvars;
    uv_mutex_unlock(&m->lock);
    free(sl->pending); /* from a run that failed */
    free(sl->fired);
    sl->pending = calloc(nvars + 1, 1);
    sl->fired = calloc(nvars + 1, sizeof *sl->fired);
    if (!sl->pending || !sl->fired)
        return MS_ENOMEM;
    build_mem(sl);
    ms_mb_handler h;
    memset(&h, 0, sizeof h);
    h.mem = &sl->smem;
    h.product_name = "mscada shared memory";
    h.on_write = on_master_write;
    h.guard = guard;
    h.arg = sl;
    int rc, port = 0;
    uv_loop_t *loop = msm_worker_loop(w);
    if (sl->serial_line) {
        rc = ms_mb_serial_slave_start(loop, &sl->line, &h, &sl->serial);
    } else {
        ms_mb_server_config cfg;
        ms_mb_server_config_init(&cfg);
        memcpy(cfg.ip, sl->ip, sizeof cfg.ip - 1);
        cfg.port = sl->port;
        rc = ms_mb_server_start(loop, &cfg, &h, &sl->server);
        if (rc == 0)
            port = ms_mb_server_port(sl->server);
    }
    if (rc == 0) {
        ms_worker_status *st = msm_worker_status_lock(w);
        st->connected = true;
        st->port = port;
        msm_worker_status_unlock(w);
    }
    return rc;
}

static void slave_stop(void *role)
{
    msm_slave *sl = role;
    if (sl->server)
        ms_mb_server_stop(sl->server);
    if (sl->serial)
        ms_mb_serial_slave_stop(sl->serial);
    sl->server = NULL;
    sl->serial = NULL;
}

static void slave_free(void *role)
{
    msm_slave *sl = role;
    free(sl->pending);
    free(sl->fired);
    free(sl);
}

static const msm_role_ops slave_ops = {slave_start, slave_stop, slave_free};

int ms_slave_tcp(ms_memory *m, const char *ip, int port, uint8_t unit,
                 ms_worker **out)
{
    msm_slave *sl;
    if (!out)
        return MS_EINVAL;
    *out = NULL;
    if (!m)
        return MS_EINVAL;
    if (ip && strlen(ip) >= sizeof sl->ip)
        return msm_memory_fail(m, MS_EINVAL, "slave: ip must be an address "
                               "shorter than %zu bytes", sizeof sl->ip);
    if (port < 0 || port > 65535)
        return msm_memory_fail(m, MS_EINVAL, "slave: port must be from 0 "
                               "(any free one) to 65535 (is %d)", port);
    sl = calloc(1, sizeof *sl);
    if (sl) {
        snprintf(sl->ip, sizeof sl->ip, "%s", ip ? ip : "127.0.0.1");
        sl->port = port;
        sl->unit = unit;
    }
    return msm_worker_new(m, &slave_ops, sl, out);
}

int ms_slave_serial(ms_memory *m, const ms_mb_serial_config *line,
                    uint8_t unit, ms_worker **out)
{
    char why[160];
    if (!out)
        return MS_EINVAL;
    *out = NULL;
    if (!m)
        return MS_EINVAL;
    if (!line)
        return msm_memory_fail(m, MS_EINVAL, "slave: no serial line");
    if (ms_mb_serial_config_why(line, why, sizeof why) < 0)
        return msm_memory_fail(m, MS_EINVAL, "slave: %s", why);
    msm_slave *sl = calloc(1, sizeof *sl);
    if (sl) {
        sl->serial_line = true;
        sl->line = *line;
        sl->unit = unit;
    }
    return msm_worker_new(m, &slave_ops, sl, out);
}
