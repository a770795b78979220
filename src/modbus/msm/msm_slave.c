/* Modbus shared memory, slave side: the memory served by the existing
 * servers (TCP, serial) through an adapter: a block memory whose blocks
 * point into the memory's arrays, and a guard that holds the memory's lock
 * while each request is answered. Variables a master wrote are called back
 * after the lock is released, on the worker's thread. */
#include <stdlib.h>
#include <string.h>

#include "modbus/msm/msm_worker.h"
#include "mscada/error.h"

static void on_master_write(uint8_t unit, ms_mb_file file, uint16_t addr,
                            uint16_t count, void *arg)
{
    ms_worker *w = arg;
    ms_memory *m = w->mem;
    (void)unit;
    if (!w->on_write)
        return;
    /* Called inside the guard: the memory is locked. */
    const msm_area *a = &m->area[file];
    uint32_t lo = (uint32_t)addr - a->base, hi = lo + count;
    for (size_t i = 0; i < w->nvars; i++) {
        const msm_var *v = &m->vars[i];
        if (v->area == file && v->offset < hi && lo < v->offset + v->count)
            w->pending[i] = 1;
    }
}

static void guard(bool enter, void *arg)
{
    ms_worker *w = arg;
    ms_memory *m = w->mem;
    if (enter) {
        uv_mutex_lock(&m->lock);
        return;
    }
    size_t n = 0;
    if (w->on_write) {
        for (size_t i = 0; i < w->nvars; i++) {
            if (w->pending[i]) {
                w->pending[i] = 0;
                w->fired[n++] = (int)i;
            }
        }
    }
    uv_mutex_unlock(&m->lock);
    uv_mutex_lock(&w->smu);
    w->st.requests++;
    uv_mutex_unlock(&w->smu);
    for (size_t i = 0; i < n; i++)
        w->on_write(w, m, (ms_var){w->fired[i]}, w->arg);
}

/* The adapter: one block per area that has a size. */
static void build_mem(ms_worker *w)
{
    static const ms_mb_file files[4] = {MS_MB_COILS, MS_MB_DISCRETE_INPUTS,
                                        MS_MB_INPUT_REGISTERS,
                                        MS_MB_HOLDING_REGISTERS};
    ms_mb_mem *mm = &w->smem;
    memset(mm, 0, sizeof *mm);
    mm->blocks = w->blocks;
    mm->cap = 4;
    for (int i = 0; i < 4; i++) {
        msm_area *a = &w->mem->area[files[i]];
        if (!a->size)
            continue;
        ms_mb_block *b = &w->blocks[mm->n++];
        b->unit = w->unit;
        b->file = files[i];
        b->start = a->base;
        b->end = (uint16_t)(a->base + a->size - 1);
        b->regs = a->regs;
        b->bits = a->bits;
    }
    mm->units[w->unit] = true;
}

int msm_slave_start(ms_worker *w)
{
    ms_memory *m = w->mem;
    uv_mutex_lock(&m->lock);
    size_t nvars = w->nvars = m->nvars;
    uv_mutex_unlock(&m->lock);
    w->pending = calloc(nvars + 1, 1);
    w->fired = calloc(nvars + 1, sizeof *w->fired);
    if (!w->pending || !w->fired)
        return MS_ENOMEM;
    build_mem(w);
    ms_mb_handler h;
    memset(&h, 0, sizeof h);
    h.mem = &w->smem;
    h.product_name = "mscada shared memory";
    h.on_write = on_master_write;
    h.guard = guard;
    h.arg = w;
    int rc;
    if (w->transport == MS_MB_TRANSPORT_SERIAL) {
        rc = ms_mb_serial_slave_start(&w->loop, &w->line, &h, &w->serial);
    } else {
        ms_mb_server_config cfg;
        ms_mb_server_config_init(&cfg);
        memcpy(cfg.ip, w->host, sizeof cfg.ip - 1);
        cfg.port = w->port;
        rc = ms_mb_server_start(&w->loop, &cfg, &h, &w->server);
        if (rc == 0)
            w->st.port = ms_mb_server_port(w->server);
    }
    if (rc == 0)
        w->st.connected = true;
    return rc;
}

void msm_slave_stop(ms_worker *w)
{
    if (w->server)
        ms_mb_server_stop(w->server);
    if (w->serial)
        ms_mb_serial_slave_stop(w->serial);
    w->server = NULL;
    w->serial = NULL;
}
