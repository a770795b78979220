/* Modbus shared memory internals: the memory's arrays and change marks,
 * and the pure parts the workers use (request planning, applying reads),
 * apart so that unit tests drive them without threads. */
#ifndef MSCADA_MSM_INT_H
#define MSCADA_MSM_INT_H

#include <uv.h>

#include "mscada/msm.h"

#define MSM_NAME_MAX 47

typedef struct {
    char name[MSM_NAME_MAX + 1];
    ms_mb_file area;
    uint32_t offset;
    uint32_t count; /* elements taken (registers; 1 for a bool) */
    ms_var_type type;
    ms_mb_word_order order;
    int bit;
    unsigned len;
} msm_var;

/* One area's storage: registers or bits, and what the program changed. */
typedef struct {
    uint32_t size;
    uint16_t base;
    uint16_t *regs;    /* 3x/4x */
    uint8_t *bits;     /* 0x/1x */
    uint8_t *dirty;    /* 0x/4x: element changed as a whole */
    uint16_t *bitmask; /* 4x: bits changed (register bit variables) */
} msm_area;

struct ms_memory {
    uv_mutex_t lock; /* everything below */
    msm_area area[5]; /* indexed by ms_mb_file (2 unused) */
    /* Each variable allocated on its own, so that a name handed out by
     * ms_var_name stays put while the table grows; a variable never
     * changes once declared. */
    msm_var **vars;
    size_t nvars, cap;
    unsigned running; /* workers running (or starting): declaring is refused */
    char err[192];
};

/* Records why making something of m failed (ms_memory_error), under its
 * lock; returns code. */
int msm_memory_fail(ms_memory *m, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline msm_area *msm_area_of(ms_memory *m, ms_mb_file f)
{
    return &m->area[f];
}

/* One planned request with its payload; what a failed write puts back. */
typedef struct {
    ms_mb_request req;
    ms_mb_file area;
    uint32_t offset; /* first element, area-relative */
    uint32_t count;
    uint16_t mask;   /* FC22: the bits written */
    uint8_t data[MS_MB_PDU_MAX];
} msm_req;

typedef struct {
    msm_req *reqs;
    size_t n, cap;
} msm_plan;

void msm_plan_free(msm_plan *p);
/* With m locked: plans the writes of every changed coil and holding
 * register (runs of adjacent ones as FC15/FC16, single ones FC5/FC6, bits
 * of registers FC22) and clears their marks. Returns 0 or MS_ENOMEM. */
int msm_plan_writes(ms_memory *m, msm_plan *p);
/* Plans reads of every area (FC1-4, split at the spec's limits). */
int msm_plan_reads(ms_memory *m, msm_plan *p);
/* With m locked: a write that failed is marked changed again. */
void msm_unplan(ms_memory *m, const msm_req *r);
/* With m locked: drops every change mark. */
void msm_drop_changes(ms_memory *m);
/* With m locked: puts a read's answer (rsp of r) into memory, except
 * elements and bits changed locally since they were last written. */
void msm_apply_read(ms_memory *m, const msm_req *r,
                    const ms_mb_response *rsp);

#endif
