/* modbusclient's poll plan: read blocks split into legal requests, and each
 * read tag bound to the request(s) that hold its registers. */
#include <stdlib.h>
#include <string.h>

#include "apps/modbusclient/mbc_plan.h"
#include "mscada/error.h"
#include "mscada/log.h"

uint8_t ms_mbc_read_fc(ms_mb_file f)
{
    switch (f) {
    case MS_MB_COILS: return MS_MB_READ_COILS;
    case MS_MB_DISCRETE_INPUTS: return MS_MB_READ_DISCRETE_INPUTS;
    case MS_MB_INPUT_REGISTERS: return MS_MB_READ_INPUT_REGISTERS;
    case MS_MB_HOLDING_REGISTERS: return MS_MB_READ_HOLDING_REGISTERS;
    }
    return 0;
}

size_t ms_mbc_split(const ms_mbc_block *b, ms_mbc_read *out, size_t cap)
{
    uint32_t maxn = ms_mb_file_is_bits(b->file) ? MS_MB_MAX_READ_BITS
                                                : MS_MB_MAX_READ_REGS;
    size_t n = 0;
    for (uint32_t a = b->start; a <= b->end; a += maxn) {
        uint32_t count = b->end - a + 1;
        if (count > maxn)
            count = maxn;
        if (n < cap) {
            memset(&out[n], 0, sizeof out[n]);
            out[n].unit = b->unit;
            out[n].file = b->file;
            out[n].addr = (uint16_t)a;
            out[n].count = (uint16_t)count;
        }
        n++;
    }
    return n;
}

/* The request of rtu that holds address a of (unit, file), or -1. */
static long find_req(const ms_mbc_rtu *r, uint8_t unit, ms_mb_file file,
                     uint32_t a)
{
    for (size_t i = 0; i < r->nreq; i++) {
        const ms_mbc_read *q = &r->req[i];
        if (q->unit == unit && q->file == file && a >= q->addr &&
            a < (uint32_t)q->addr + q->count)
            return (long)i;
    }
    return -1;
}

static int add_tag(ms_mbc_read *q, size_t tag)
{
    for (size_t i = 0; i < q->ntags; i++)
        if (q->tags[i] == tag)
            return 0;
    size_t *nt = realloc(q->tags, (q->ntags + 1) * sizeof *nt);
    if (!nt)
        return MS_ENOMEM;
    q->tags = nt;
    q->tags[q->ntags++] = tag;
    return 0;
}

int ms_mbc_plan(ms_mbc_config *cfg)
{
    for (size_t k = 0; k < cfg->nrtus; k++) {
        ms_mbc_rtu *r = &cfg->rtus[k];
        size_t n = 0;
        for (size_t b = 0; b < r->nreads; b++)
            n += ms_mbc_split(&r->reads[b], NULL, 0);
        r->req = calloc(n ? n : 1, sizeof *r->req);
        if (!r->req)
            return MS_ENOMEM;
        for (size_t b = 0; b < r->nreads; b++)
            r->nreq += ms_mbc_split(&r->reads[b], r->req + r->nreq,
                                    n - r->nreq);
        for (size_t i = 0; i < r->nreq; i++) {
            r->req[i].vals = calloc(r->req[i].count, sizeof(uint16_t));
            if (!r->req[i].vals)
                return MS_ENOMEM;
        }
    }
    for (size_t i = 0; i < cfg->ntags; i++) {
        ms_mbc_tag *t = &cfg->tags[i];
        t->r0 = t->r1 = -1;
        if (!t->has_read)
            continue;
        ms_mbc_rtu *r = &cfg->rtus[t->rtu_r];
        unsigned nregs = t->conv.type == MS_MB_BOOL ? 1
                                                    : ms_mb_type_regs(t->conv.type);
        uint32_t first = t->read.addr, last = first + nregs - 1;
        long r0 = find_req(r, t->read.unit, t->read.file, first);
        long r1 = r0 >= 0 ? find_req(r, t->read.unit, t->read.file, last) : -1;
        /* Every register between must be polled too: with at most four
         * registers, first and last in two requests that meet suffice. */
        bool whole = r0 >= 0 && r1 >= 0 &&
                     (r0 == r1 || (uint32_t)r->req[r0].addr +
                                          r->req[r0].count ==
                                      r->req[r1].addr);
        if (!whole) {
            char a[128];
            ms_log_warn("tag %s: %s is not inside a poll block of %s; it is "
                        "never read", t->name,
                        ms_mb_addr_format(&t->read, a, sizeof a), r->name);
            continue;
        }
        t->r0 = r0;
        t->r1 = r1 == r0 ? -1 : r1;
        if (add_tag(&r->req[r0], i) < 0 ||
            (t->r1 >= 0 && add_tag(&r->req[t->r1], i) < 0))
            return MS_ENOMEM;
    }
    return 0;
}

bool ms_mbc_gather(const ms_mbc_config *cfg, size_t i, uint16_t *regs)
{
    const ms_mbc_tag *t = &cfg->tags[i];
    if (t->r0 < 0)
        return false;
    const ms_mbc_rtu *r = &cfg->rtus[t->rtu_r];
    const ms_mbc_read *q0 = &r->req[t->r0];
    const ms_mbc_read *q1 = t->r1 >= 0 ? &r->req[t->r1] : NULL;
    if (!q0->ok || (q1 && !q1->ok))
        return false;
    unsigned n = t->conv.type == MS_MB_BOOL ? 1 : ms_mb_type_regs(t->conv.type);
    for (unsigned k = 0; k < n; k++) {
        uint32_t a = (uint32_t)t->read.addr + k;
        if (a < (uint32_t)q0->addr + q0->count)
            regs[k] = q0->vals[a - q0->addr];
        else
            regs[k] = q1->vals[a - q1->addr];
    }
    return true;
}
