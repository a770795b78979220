/* Modbus shared memory: which requests one exchange takes. Writes carry
 * only what the program changed, in the fewest requests: adjacent changed
 * elements go as one FC15/FC16 (split at the spec's limits), a lone one as
 * FC5/FC6, bits of registers as FC22 so that the device's other bits stay
 * as they are. Reads cover every area. Applying a read keeps what the
 * program changed and has not written yet (the conflict rule, docs/msm.md). */
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "modbus/msm/msm_int.h"
#include "mscada/error.h"

void msm_plan_free(msm_plan *p)
{
    free(p->reqs);
    memset(p, 0, sizeof *p);
}

static msm_req *add(msm_plan *p)
{
    msm_req *n = ms_grow(p->reqs, p->n, &p->cap, sizeof *n, 8);
    if (!n)
        return NULL;
    p->reqs = n;
    msm_req *r = &p->reqs[p->n++];
    memset(r, 0, sizeof *r);
    return r;
}

/* One write of count elements of area a from off; sets req.data to r's
 * own buffer, so the request must be used from where it sits in the plan. */
static int plan_run(msm_plan *p, ms_mb_file f, const msm_area *a,
                    uint32_t off, uint32_t count)
{
    msm_req *r = add(p);
    if (!r)
        return MS_ENOMEM;
    r->area = f;
    r->offset = off;
    r->count = count;
    r->req.addr = (uint16_t)(a->base + off);
    if (f == MS_MB_COILS) {
        if (count == 1) {
            r->req.fc = MS_MB_WRITE_SINGLE_COIL;
            r->req.value = a->bits[off] ? MS_MB_COIL_ON : 0;
        } else {
            r->req.fc = MS_MB_WRITE_MULTIPLE_COILS;
            r->req.count = (uint16_t)count;
            for (uint32_t i = 0; i < count; i++)
                ms_mb_bit_set(r->data, i, a->bits[off + i]);
        }
    } else if (count == 1) {
        r->req.fc = MS_MB_WRITE_SINGLE_REGISTER;
        r->req.value = a->regs[off];
    } else {
        r->req.fc = MS_MB_WRITE_MULTIPLE_REGISTERS;
        r->req.count = (uint16_t)count;
        ms_mb_regs_store(r->data, a->regs + off, count);
    }
    return 0;
}

static int plan_area(ms_memory *m, ms_mb_file f, msm_plan *p)
{
    msm_area *a = &m->area[f];
    uint32_t max = f == MS_MB_COILS ? MS_MB_MAX_WRITE_BITS
                                    : MS_MB_MAX_WRITE_REGS;
    for (uint32_t i = 0; i < a->size;) {
        if (!a->dirty[i]) {
            if (a->bitmask && a->bitmask[i]) {
                msm_req *r = add(p);
                if (!r)
                    return MS_ENOMEM;
                uint16_t mask = a->bitmask[i];
                r->area = f;
                r->offset = i;
                r->count = 1;
                r->mask = mask;
                r->req.fc = MS_MB_MASK_WRITE_REGISTER;
                r->req.addr = (uint16_t)(a->base + i);
                r->req.and_mask = (uint16_t)~mask;
                r->req.or_mask = (uint16_t)(a->regs[i] & mask);
                a->bitmask[i] = 0;
            }
            i++;
            continue;
        }
        uint32_t n = 0;
        while (i + n < a->size && a->dirty[i + n] && n < max)
            n++;
        if (plan_run(p, f, a, i, n) < 0)
            return MS_ENOMEM;
        memset(a->dirty + i, 0, n);
        if (a->bitmask) /* the whole register goes, its bits with it */
            memset(a->bitmask + i, 0, n * sizeof *a->bitmask);
        i += n;
    }
    return 0;
}

/* Points the multiple writes' data at their own buffers: done after every
 * growth of the plan, as the array may have moved (reads planned after the
 * writes grow it too). */
static void point_data(msm_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->reqs[i].req.fc == MS_MB_WRITE_MULTIPLE_COILS ||
            p->reqs[i].req.fc == MS_MB_WRITE_MULTIPLE_REGISTERS)
            p->reqs[i].req.data = p->reqs[i].data;
}

int msm_plan_writes(ms_memory *m, msm_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        p->reqs[i].req.data = NULL;
    int rc = plan_area(m, MS_MB_COILS, p);
    if (rc == 0)
        rc = plan_area(m, MS_MB_HOLDING_REGISTERS, p);
    point_data(p);
    return rc;
}

int msm_plan_reads(ms_memory *m, msm_plan *p)
{
    static const struct {
        ms_mb_file f;
        uint8_t fc;
        uint32_t max;
    } reads[] = {
        {MS_MB_COILS, MS_MB_READ_COILS, MS_MB_MAX_READ_BITS},
        {MS_MB_DISCRETE_INPUTS, MS_MB_READ_DISCRETE_INPUTS,
         MS_MB_MAX_READ_BITS},
        {MS_MB_INPUT_REGISTERS, MS_MB_READ_INPUT_REGISTERS,
         MS_MB_MAX_READ_REGS},
        {MS_MB_HOLDING_REGISTERS, MS_MB_READ_HOLDING_REGISTERS,
         MS_MB_MAX_READ_REGS},
    };
    for (size_t k = 0; k < 4; k++) {
        const msm_area *a = &m->area[reads[k].f];
        for (uint32_t off = 0; off < a->size; off += reads[k].max) {
            msm_req *r = add(p);
            if (!r)
                return MS_ENOMEM;
            uint32_t n = a->size - off;
            if (n > reads[k].max)
                n = reads[k].max;
            r->area = reads[k].f;
            r->offset = off;
            r->count = n;
            r->req.fc = reads[k].fc;
            r->req.addr = (uint16_t)(a->base + off);
            r->req.count = (uint16_t)n;
        }
    }
    point_data(p);
    return 0;
}

void msm_unplan(ms_memory *m, const msm_req *r)
{
    msm_area *a = &m->area[r->area];
    if (!a->dirty)
        return;
    if (r->req.fc == MS_MB_MASK_WRITE_REGISTER)
        a->bitmask[r->offset] |= r->mask;
    else
        memset(a->dirty + r->offset, 1, r->count);
}

void msm_drop_changes(ms_memory *m)
{
    for (int f = 0; f < 5; f++) {
        msm_area *a = &m->area[f];
        if (a->dirty)
            memset(a->dirty, 0, a->size);
        if (a->bitmask)
            memset(a->bitmask, 0, a->size * sizeof *a->bitmask);
    }
}

void msm_apply_read(ms_memory *m, const msm_req *r, const ms_mb_response *rsp)
{
    msm_area *a = &m->area[r->area];
    for (uint32_t i = 0; i < r->count; i++) {
        uint32_t k = r->offset + i;
        if (a->dirty && a->dirty[k])
            continue; /* changed here, not written yet: ours wins */
        if (a->bits) {
            a->bits[k] = ms_mb_bit_get(rsp->data, i);
            continue;
        }
        uint16_t v = ms_mb_reg_get(rsp->data, i);
        uint16_t keep = a->bitmask ? a->bitmask[k] : 0;
        a->regs[k] = (uint16_t)((v & ~keep) | (a->regs[k] & keep));
    }
}
