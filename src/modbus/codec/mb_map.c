/* The Modbus map: address text, register types, value <-> register
 * conversion with clamping and scaling, and the server's block memory. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mscada/error.h"
#include "mscada/mbmap.h"

static int fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return MS_EINVAL;
}

/* ---- files, types, addresses ---------------------------------------------- */

const char *ms_mb_file_name(ms_mb_file f)
{
    switch (f) {
    case MS_MB_COILS: return "0x";
    case MS_MB_DISCRETE_INPUTS: return "1x";
    case MS_MB_INPUT_REGISTERS: return "3x";
    case MS_MB_HOLDING_REGISTERS: return "4x";
    }
    return NULL;
}

int ms_mb_file_parse(const char *text, ms_mb_file *out)
{
    static const ms_mb_file files[] = {MS_MB_COILS, MS_MB_DISCRETE_INPUTS,
                                       MS_MB_INPUT_REGISTERS,
                                       MS_MB_HOLDING_REGISTERS};
    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(text, ms_mb_file_name(files[i]))) {
            *out = files[i];
            return 0;
        }
    }
    return MS_EINVAL;
}

static const char *const type_names[] = {"bool",   "int16",   "uint16",
                                         "int32",  "uint32",  "int64",
                                         "uint64", "float32", "float64"};
static const unsigned type_regs[] = {1, 1, 1, 2, 2, 4, 4, 2, 4};
#define NTYPES (sizeof type_names / sizeof type_names[0])

const char *ms_mb_type_name(ms_mb_type t)
{
    return (unsigned)t < NTYPES ? type_names[t] : NULL;
}

int ms_mb_type_parse(const char *text, ms_mb_type *out)
{
    for (size_t i = 0; i < NTYPES; i++) {
        if (!strcmp(text, type_names[i])) {
            *out = (ms_mb_type)i;
            return 0;
        }
    }
    return MS_EINVAL;
}

unsigned ms_mb_type_regs(ms_mb_type t)
{
    return (unsigned)t < NTYPES ? type_regs[t] : 0;
}

int ms_mb_word_order_parse(const char *text, ms_mb_word_order *out)
{
    if (!strcmp(text, "big"))
        *out = MS_MB_WORDS_BIG;
    else if (!strcmp(text, "little"))
        *out = MS_MB_WORDS_LITTLE;
    else
        return MS_EINVAL;
    return 0;
}

/* A decimal number of digits only, at most max; *end after it. */
static bool parse_uint(const char *s, const char **end, unsigned long max,
                       unsigned long *out)
{
    if (*s < '0' || *s > '9')
        return false;
    unsigned long v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (unsigned long)(*s++ - '0');
        if (v > max)
            return false;
    }
    *end = s;
    *out = v;
    return true;
}

int ms_mb_addr_parse(const char *text, ms_mb_addr *a, char *err, size_t cap)
{
    const char *p = text;
    const char *colon = strchr(p, ':');
    memset(a, 0, sizeof *a);
    a->bit = -1;
    if (!colon)
        return fail(err, cap, "'%s': an address is RTU:UNIT:FILE:WORD[.BIT] "
                              "(e.g. RTU:1:4x:3)", text);
    size_t n = (size_t)(colon - p);
    if (n == 0 || n > MS_MB_RTU_NAME_MAX)
        return fail(err, cap, "'%s': RTU name must be 1 to %d characters",
                    text, MS_MB_RTU_NAME_MAX);
    memcpy(a->rtu, p, n);
    a->rtu[n] = '\0';
    p = colon + 1;
    unsigned long v;
    if (!parse_uint(p, &p, 255, &v) || *p != ':')
        return fail(err, cap, "'%s': UNIT must be a number 0 to 255", text);
    a->unit = (uint8_t)v;
    p++;
    char file[3] = {0};
    if (p[0] && p[1]) {
        file[0] = p[0];
        file[1] = p[1];
    }
    if (ms_mb_file_parse(file, &a->file) < 0 || p[2] != ':')
        return fail(err, cap, "'%s': FILE must be 0x (coils), 1x (discrete "
                              "inputs), 3x (input registers) or 4x (holding "
                              "registers)", text);
    p += 3;
    if (!parse_uint(p, &p, 65536, &v) || v < 1)
        return fail(err, cap, "'%s': WORD must be a number 1 to 65536", text);
    a->word = (uint32_t)v;
    a->addr = (uint16_t)(v - 1);
    if (*p == '.') {
        p++;
        if (ms_mb_file_is_bits(a->file))
            return fail(err, cap, "'%s': .BIT is only for registers (3x, 4x); "
                                  "a %s address is a bit already",
                        text, ms_mb_file_name(a->file));
        if (!parse_uint(p, &p, 15, &v))
            return fail(err, cap, "'%s': BIT must be 0 to 15", text);
        a->bit = (int)v;
    }
    if (*p)
        return fail(err, cap, "'%s': unexpected '%s' after the address", text,
                    p);
    return 0;
}

const char *ms_mb_addr_format(const ms_mb_addr *a, char *buf, size_t cap)
{
    if (a->bit >= 0)
        snprintf(buf, cap, "%s:%u:%s:%u.%d", a->rtu, a->unit,
                 ms_mb_file_name(a->file), a->word, a->bit);
    else
        snprintf(buf, cap, "%s:%u:%s:%u", a->rtu, a->unit,
                 ms_mb_file_name(a->file), a->word);
    return buf;
}

/* ---- conversion ------------------------------------------------------------ */

ms_mb_conv ms_mb_conv_make(ms_mb_type type)
{
    ms_mb_conv c = {type, MS_MB_WORDS_BIG, -1, false, 1.0, 0.0};
    return c;
}

int ms_mb_conv_check(const ms_mb_conv *c, const ms_mb_addr *a, char *err,
                     size_t cap)
{
    char at[96];
    ms_mb_addr_format(a, at, sizeof at);
    if ((unsigned)c->type >= NTYPES)
        return fail(err, cap, "%s: unknown type", at);
    if (ms_mb_file_is_bits(a->file) && c->type != MS_MB_BOOL)
        return fail(err, cap, "%s: a %s address holds a bool, not %s", at,
                    ms_mb_file_name(a->file), ms_mb_type_name(c->type));
    if (c->bit >= 0 && c->type != MS_MB_BOOL)
        return fail(err, cap, "%s: a register bit holds a bool, not %s", at,
                    ms_mb_type_name(c->type));
    if (c->bit > 15)
        return fail(err, cap, "%s: BIT must be 0 to 15", at);
    if ((uint32_t)a->addr + ms_mb_type_regs(c->type) > 65536)
        return fail(err, cap, "%s: a %s takes %u registers, past 65536", at,
                    ms_mb_type_name(c->type), ms_mb_type_regs(c->type));
    if (c->scaled && (!isfinite(c->scale) || c->scale == 0 ||
                      !isfinite(c->offset)))
        return fail(err, cap, "%s: scale must be a nonzero number and offset "
                              "a number", at);
    return 0;
}

/* Integer range of each integer type, as doubles and as int64 where it
 * fits (uint64's top is handled apart). */
static void int_range(ms_mb_type t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case MS_MB_BOOL: *lo = 0; *hi = 1; break;
    case MS_MB_INT16: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case MS_MB_UINT16: *lo = 0; *hi = UINT16_MAX; break;
    case MS_MB_INT32: *lo = INT32_MIN; *hi = INT32_MAX; break;
    case MS_MB_UINT32: *lo = 0; *hi = UINT32_MAX; break;
    case MS_MB_UINT64: *lo = 0; *hi = INT64_MAX; break;
    default: *lo = INT64_MIN; *hi = INT64_MAX; break;
    }
}

static void put_int(const ms_mb_conv *c, uint64_t u, uint16_t *regs)
{
    switch (c->type) {
    case MS_MB_INT16:
    case MS_MB_UINT16: regs[0] = (uint16_t)u; break;
    case MS_MB_INT32:
    case MS_MB_UINT32: ms_mb_u32_set(regs, (uint32_t)u, c->order); break;
    default: ms_mb_u64_set(regs, u, c->order); break;
    }
}

/* A bool from an engineering value: nonzero is true. */
static int encode_bool(const ms_mb_conv *c, double raw, uint16_t *regs)
{
    bool on = raw != 0;
    if (c->bit >= 0) {
        uint16_t m = (uint16_t)(1u << c->bit);
        regs[0] = on ? (uint16_t)(regs[0] | m) : (uint16_t)(regs[0] & ~m);
    } else {
        regs[0] = on;
    }
    return 0;
}

int ms_mb_encode(const ms_mb_conv *c, const ms_value *v, uint16_t *regs,
                 bool *clamped)
{
    bool clamp = false;
    if (clamped)
        *clamped = false;
    if (v->type != MS_TYPE_INT && v->type != MS_TYPE_FLOAT)
        return MS_ETYPE;
    /* Exact integers stay exact (int64 beyond 2^53) unless scaled. */
    bool exact = v->type == MS_TYPE_INT && !c->scaled;
    double raw = v->type == MS_TYPE_INT ? (double)v->u.i : v->u.f;
    if (c->scaled)
        raw = (raw - c->offset) / c->scale;
    if (c->type == MS_MB_BOOL)
        return encode_bool(c, exact ? (double)(v->u.i != 0) : raw, regs);
    if (c->type == MS_MB_FLOAT32) {
        if (isfinite(raw) && fabs(raw) > FLT_MAX) {
            raw = raw > 0 ? FLT_MAX : -FLT_MAX;
            clamp = true;
        }
        ms_mb_f32_set(regs, (float)raw, c->order);
    } else if (c->type == MS_MB_FLOAT64) {
        ms_mb_f64_set(regs, raw, c->order);
    } else {
        if (!exact && isnan(raw))
            return MS_ERANGE;
        int64_t lo, hi;
        int_range(c->type, &lo, &hi);
        uint64_t u;
        if (exact) {
            int64_t i = v->u.i;
            if (i < lo || i > hi) {
                i = i < lo ? lo : hi;
                clamp = true;
            }
            u = (uint64_t)i;
        } else {
            raw = nearbyint(raw);
            if (c->type == MS_MB_UINT64) {
                /* 2^64 is exact in a double; everything below it fits. */
                if (raw < 0 || raw >= 18446744073709551616.0) {
                    clamp = true;
                    u = raw < 0 ? 0 : UINT64_MAX;
                } else {
                    u = (uint64_t)raw;
                }
            } else if (raw < (double)lo) {
                clamp = true;
                u = (uint64_t)lo;
            } else if (raw >= (double)hi + 1.0 ||
                       (c->type == MS_MB_INT64 && raw >= 9223372036854775808.0)) {
                clamp = true;
                u = (uint64_t)hi;
            } else {
                u = (uint64_t)(int64_t)raw;
            }
        }
        put_int(c, u, regs);
    }
    if (clamped)
        *clamped = clamp;
    return 0;
}

ms_value ms_mb_decode(const ms_mb_conv *c, const uint16_t *regs)
{
    int64_t i = 0;
    double f;
    switch (c->type) {
    case MS_MB_BOOL:
        i = c->bit >= 0 ? (regs[0] >> c->bit) & 1 : regs[0] != 0;
        break;
    case MS_MB_INT16: i = (int16_t)regs[0]; break;
    case MS_MB_UINT16: i = regs[0]; break;
    case MS_MB_INT32: i = (int32_t)ms_mb_u32_get(regs, c->order); break;
    case MS_MB_UINT32: i = ms_mb_u32_get(regs, c->order); break;
    case MS_MB_INT64: i = (int64_t)ms_mb_u64_get(regs, c->order); break;
    case MS_MB_UINT64: {
        uint64_t u = ms_mb_u64_get(regs, c->order);
        if (c->scaled)
            return ms_value_float((double)u * c->scale + c->offset);
        i = u > INT64_MAX ? INT64_MAX : (int64_t)u;
        break;
    }
    case MS_MB_FLOAT32:
    case MS_MB_FLOAT64:
        f = c->type == MS_MB_FLOAT32 ? (double)ms_mb_f32_get(regs, c->order)
                                     : ms_mb_f64_get(regs, c->order);
        if (c->scaled)
            f = f * c->scale + c->offset;
        return ms_value_float(f);
    }
    if (c->scaled)
        return ms_value_float((double)i * c->scale + c->offset);
    return ms_value_int(i);
}

/* ---- memory ---------------------------------------------------------------- */

void ms_mb_mem_init(ms_mb_mem *m)
{
    memset(m, 0, sizeof *m);
}

static void block_free(ms_mb_block *b)
{
    free(b->regs);
    free(b->bits);
}

void ms_mb_mem_free(ms_mb_mem *m)
{
    for (size_t i = 0; i < m->n; i++)
        block_free(&m->blocks[i]);
    free(m->blocks);
    ms_mb_mem_init(m);
}

/* Copies block b's contents into nb (which covers it). */
static void block_copy(ms_mb_block *nb, const ms_mb_block *b)
{
    size_t at = (size_t)(b->start - nb->start);
    size_t n = (size_t)(b->end - b->start) + 1;
    if (nb->regs)
        memcpy(nb->regs + at, b->regs, n * sizeof *b->regs);
    else
        memcpy(nb->bits + at, b->bits, n);
}

int ms_mb_mem_add(ms_mb_mem *m, uint8_t unit, ms_mb_file file, uint16_t start,
                  uint16_t end)
{
    if (start > end || !ms_mb_file_name(file))
        return MS_EINVAL;
    uint32_t lo = start, hi = end;
    /* Grow the range over every block it touches (repeat: a merge can
     * reach further blocks). */
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < m->n; i++) {
            const ms_mb_block *b = &m->blocks[i];
            if (b->unit != unit || b->file != file)
                continue;
            if ((uint32_t)b->start <= hi + 1 && lo <= (uint32_t)b->end + 1) {
                if (b->start < lo || b->end > hi) {
                    lo = b->start < lo ? b->start : lo;
                    hi = b->end > hi ? b->end : hi;
                    grew = true;
                }
            }
        }
    }
    ms_mb_block nb = {unit, file, (uint16_t)lo, (uint16_t)hi, NULL, NULL};
    size_t n = hi - lo + 1;
    if (ms_mb_file_is_bits(file))
        nb.bits = calloc(n, 1);
    else
        nb.regs = calloc(n, sizeof *nb.regs);
    if (!nb.bits && !nb.regs)
        return MS_ENOMEM;
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 8;
        ms_mb_block *p = realloc(m->blocks, cap * sizeof *p);
        if (!p) {
            block_free(&nb);
            return MS_ENOMEM;
        }
        m->blocks = p;
        m->cap = cap;
    }
    /* Move the merged blocks' contents in and drop them. */
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        ms_mb_block *b = &m->blocks[i];
        if (b->unit == unit && b->file == file && b->start >= lo &&
            b->end <= hi) {
            block_copy(&nb, b);
            block_free(b);
        } else {
            m->blocks[k++] = *b;
        }
    }
    m->blocks[k++] = nb;
    m->n = k;
    m->units[unit] = true;
    return 0;
}

int ms_mb_mem_lookup(const ms_mb_mem *m, uint8_t unit, ms_mb_file file,
                     uint16_t addr, uint32_t count, uint16_t **regs,
                     uint8_t **bits)
{
    if (!m->units[unit])
        return MS_MB_EX_GATEWAY_TARGET_FAILED;
    uint32_t last = (uint32_t)addr + (count ? count : 1) - 1;
    for (size_t i = 0; i < m->n; i++) {
        const ms_mb_block *b = &m->blocks[i];
        if (b->unit != unit || b->file != file || addr < b->start ||
            last > b->end)
            continue;
        size_t at = (size_t)(addr - b->start);
        if (regs)
            *regs = b->regs ? b->regs + at : NULL;
        if (bits)
            *bits = b->bits ? b->bits + at : NULL;
        return 0;
    }
    return MS_MB_EX_ILLEGAL_DATA_ADDRESS;
}
