/* Modbus shared memory: the areas, variable declarations and the
 * thread-safe accessors. A set stores the value and marks what changed;
 * a master worker writes the marked elements (msm_plan.c). Everything of a
 * memory, its variable table included, is read and written under its
 * lock; what leaves a critical section is a copy, or a name that never
 * moves nor changes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "modbus/msm/msm_int.h"
#include "mscada/error.h"

static const ms_mb_file files[4] = {MS_MB_COILS, MS_MB_DISCRETE_INPUTS,
                                    MS_MB_INPUT_REGISTERS,
                                    MS_MB_HOLDING_REGISTERS};

static const char *area_name(ms_mb_file f)
{
    switch (f) {
    case MS_MB_COILS: return "coil";
    case MS_MB_DISCRETE_INPUTS: return "discrete input";
    case MS_MB_INPUT_REGISTERS: return "input register";
    case MS_MB_HOLDING_REGISTERS: return "holding register";
    }
    return "?";
}

static bool valid_area(ms_mb_file f)
{
    return f == MS_MB_COILS || f == MS_MB_DISCRETE_INPUTS ||
           f == MS_MB_INPUT_REGISTERS || f == MS_MB_HOLDING_REGISTERS;
}

/* ---- the memory ------------------------------------------------------------- */

/* The layout's fields, in files[] order, with their names in messages. */
static const ms_memory_area *layout_area(const ms_memory_layout *l, int i,
                                         const char **name)
{
    static const char *const names[4] = {"coils", "discrete_inputs",
                                         "input_registers", "holding"};
    const ms_memory_area *la[4] = {&l->coils, &l->discrete_inputs,
                                   &l->input_registers, &l->holding};
    *name = names[i];
    return la[i];
}

int ms_memory_layout_check(const ms_memory_layout *l, char *why, size_t cap)
{
    char none[1];
    if (!why || !cap) {
        why = none;
        cap = sizeof none;
    }
    if (!l) {
        snprintf(why, cap, "no layout");
        return MS_EINVAL;
    }
    for (int i = 0; i < 4; i++) {
        const char *name;
        const ms_memory_area *a = layout_area(l, i, &name);
        /* A Modbus address is 16 bits: elements 0-65535. */
        if (a->size > 65536) {
            snprintf(why, cap, "%s: size must be at most 65536 (is %u)",
                     name, a->size);
            return MS_EINVAL;
        }
        if ((uint32_t)a->base + a->size > 65536) {
            snprintf(why, cap, "%s: base %u + size %u must be at most 65536",
                     name, a->base, a->size);
            return MS_EINVAL;
        }
    }
    return 0;
}

static int area_init(msm_area *a, ms_mb_file f, const ms_memory_area *l)
{
    a->size = l->size;
    a->base = l->base;
    size_t n = l->size ? l->size : 1;
    if (ms_mb_file_is_bits(f))
        a->bits = calloc(n, 1);
    else
        a->regs = calloc(n, sizeof *a->regs);
    if (f == MS_MB_COILS || f == MS_MB_HOLDING_REGISTERS)
        a->dirty = calloc(n, 1);
    if (f == MS_MB_HOLDING_REGISTERS)
        a->bitmask = calloc(n, sizeof *a->bitmask);
    bool ok = (a->bits || a->regs) &&
              (a->dirty || (f != MS_MB_COILS && f != MS_MB_HOLDING_REGISTERS)) &&
              (a->bitmask || f != MS_MB_HOLDING_REGISTERS);
    return ok ? 0 : MS_ENOMEM;
}

/* The areas' arrays (what ms_memory_free frees). */
static void areas_free(ms_memory *m)
{
    for (int i = 0; i < 5; i++) {
        free(m->area[i].regs);
        free(m->area[i].bits);
        free(m->area[i].dirty);
        free(m->area[i].bitmask);
    }
}

int ms_memory_new_layout(const ms_memory_layout *l, ms_memory **out)
{
    if (!out)
        return MS_EINVAL;
    *out = NULL;
    if (ms_memory_layout_check(l, NULL, 0) < 0)
        return MS_EINVAL;
    ms_memory *m = calloc(1, sizeof *m);
    if (!m)
        return MS_ENOMEM;
    for (int i = 0; i < 4; i++) {
        const char *name;
        if (area_init(&m->area[files[i]], files[i],
                      layout_area(l, i, &name)) < 0) {
            areas_free(m);
            free(m);
            return MS_ENOMEM;
        }
    }
    if (uv_mutex_init(&m->lock) < 0) {
        areas_free(m);
        free(m);
        return MS_ENOMEM;
    }
    *out = m;
    return 0;
}

int ms_memory_new(uint32_t n, ms_memory **out)
{
    ms_memory_layout l;
    memset(&l, 0, sizeof l);
    l.holding.size = n;
    return ms_memory_new_layout(&l, out);
}

void ms_memory_free(ms_memory *m)
{
    if (!m)
        return;
    areas_free(m);
    uv_mutex_destroy(&m->lock);
    for (size_t i = 0; i < m->nvars; i++)
        free(m->vars[i]);
    free(m->vars);
    free(m);
}

/* ---- declarations ------------------------------------------------------------ */

static ms_var failv(ms_memory *m, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ms_var failv(ms_memory *m, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return (ms_var){code};
}

static unsigned type_count(const ms_var_decl *d)
{
    if (d->type == MS_VAR_STRING)
        return (d->len + 1) / 2;
    return ms_mb_type_regs((ms_mb_type)d->type);
}

static bool overlaps(const msm_var *a, ms_mb_file area, uint32_t off,
                     uint32_t count, int bit)
{
    if (a->area != area || off + count <= a->offset ||
        a->offset + a->count <= off)
        return false;
    /* Distinct bits of one register share it legally. */
    return !(bit >= 0 && a->bit >= 0 && bit != a->bit);
}

static ms_var declare_locked(ms_memory *m, const ms_var_decl *d)
{
    char dflt[24];
    const char *name = d->name;
    if (!name || !*name) {
        snprintf(dflt, sizeof dflt, "var%zu", m->nvars);
        name = dflt;
    }
    if (strlen(name) > MSM_NAME_MAX)
        return failv(m, MS_EINVAL, "%.40s...: a name is at most %d bytes",
                     name, MSM_NAME_MAX);
    /* A running slave has sized its write callbacks to the variables it
     * started with. ms_worker_run counts itself in before it looks. */
    if (m->running)
        return failv(m, MS_ERUNNING, "%s: declared while %u worker%s run%s; "
                     "declare every variable before ms_worker_run", name,
                     m->running, m->running == 1 ? "" : "s",
                     m->running == 1 ? "s" : "");
    if (!valid_area(d->area))
        return failv(m, MS_EINVAL, "%s: unknown area %d", name, (int)d->area);
    bool bits = ms_mb_file_is_bits(d->area);
    bool known = d->type == MS_VAR_STRING ||
                 ((unsigned)d->type <= MS_VAR_FLOAT64);
    if (!known)
        return failv(m, MS_EINVAL, "%s: unknown type %d", name, (int)d->type);
    const char *tname = d->type == MS_VAR_STRING
                            ? "string"
                            : ms_mb_type_name((ms_mb_type)d->type);
    if (bits && d->type != MS_VAR_BOOL)
        return failv(m, MS_EINVAL, "%s: a %s holds a bool, not a %s", name,
                     area_name(d->area), tname);
    int bit = bits ? -1 : d->bit;
    if (!bits && d->type == MS_VAR_BOOL && (d->bit < 0 || d->bit > 15))
        return failv(m, MS_EINVAL, "%s: a bool in a %s needs a bit 0-15, "
                     "not %d", name, area_name(d->area), d->bit);
    if (d->type != MS_VAR_BOOL)
        bit = -1;
    if (d->type == MS_VAR_STRING && (d->len < 1 || d->len > 250))
        return failv(m, MS_EINVAL, "%s: a string is 1 to 250 bytes, not %u",
                     name, d->len);
    if (d->order != MS_MB_WORDS_BIG && d->order != MS_MB_WORDS_LITTLE)
        return failv(m, MS_EINVAL, "%s: unknown word order %d", name,
                     (int)d->order);
    uint32_t count = type_count(d);
    const msm_area *a = &m->area[d->area];
    if ((uint64_t)d->offset + count > a->size) {
        const char *an = a->size == 8 || a->size == 11 || a->size == 18 ||
                                 (a->size >= 80 && a->size <= 89)
                             ? "an" : "a";
        if (count > 1) /* only registers hold more than one element */
            return failv(m, MS_EINVAL, "%s at %s %u (%u registers) goes past "
                         "the end of %s %u-register area", name,
                         area_name(d->area), d->offset, count, an, a->size);
        return failv(m, MS_EINVAL, "%s at %s %u is past the end of %s "
                     "%u-%s area", name, area_name(d->area), d->offset, an,
                     a->size, area_name(d->area));
    }
    for (size_t i = 0; i < m->nvars; i++) {
        if (overlaps(m->vars[i], d->area, d->offset, count, bit))
            return failv(m, MS_EINVAL, "%s at %s %u overlaps %s at %s %u",
                         name, area_name(d->area), d->offset,
                         m->vars[i]->name, area_name(d->area),
                         m->vars[i]->offset);
    }
    msm_var **nv = ms_grow(m->vars, m->nvars, &m->cap, sizeof *nv, 16);
    if (!nv)
        return failv(m, MS_ENOMEM, "%s: out of memory", name);
    m->vars = nv;
    msm_var *v = calloc(1, sizeof *v);
    if (!v)
        return failv(m, MS_ENOMEM, "%s: out of memory", name);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->area = d->area;
    v->offset = d->offset;
    v->count = count;
    v->type = d->type;
    v->order = d->order;
    v->bit = bit;
    v->len = d->len;
    m->vars[m->nvars] = v;
    m->err[0] = '\0';
    return (ms_var){(int)m->nvars++};
}

ms_var ms_memory_declare(ms_memory *m, const ms_var_decl *d)
{
    if (!m || !d)
        return (ms_var){MS_EINVAL};
    uv_mutex_lock(&m->lock);
    ms_var v = declare_locked(m, d);
    uv_mutex_unlock(&m->lock);
    return v;
}

int msm_memory_fail(ms_memory *m, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    uv_mutex_lock(&m->lock);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    uv_mutex_unlock(&m->lock);
    va_end(ap);
    return code;
}

const char *ms_memory_error(const ms_memory *m)
{
    /* A copy per thread: another thread's declaration may rewrite m->err
     * while the caller reads the text. */
    static _Thread_local char copy[sizeof m->err];
    if (!m)
        return "no memory";
    ms_memory *mm = (ms_memory *)m; /* the lock is not part of the value */
    uv_mutex_lock(&mm->lock);
    memcpy(copy, m->err, sizeof copy);
    uv_mutex_unlock(&mm->lock);
    return copy;
}

const char *ms_var_name(const ms_memory *m, ms_var v)
{
    if (!m || v.id < 0)
        return "";
    ms_memory *mm = (ms_memory *)m;
    uv_mutex_lock(&mm->lock);
    /* The table may be reallocated by a declaration; the variable itself
     * stays where it is and never changes. */
    const msm_var *x = (size_t)v.id < m->nvars ? m->vars[v.id] : NULL;
    uv_mutex_unlock(&mm->lock);
    return x ? x->name : "";
}

static ms_var shorthand(ms_memory *m, const char *name, ms_mb_file area,
                        uint32_t offset, ms_var_type t, int bit, unsigned len)
{
    ms_var_decl d = {name, area, offset, t, MS_MB_WORDS_BIG, bit, len};
    return ms_memory_declare(m, &d);
}

#define HOLDING(fn, t)                                                     \
    ms_var fn(ms_memory *m, const char *name, uint32_t offset)             \
    {                                                                      \
        return shorthand(m, name, MS_MB_HOLDING_REGISTERS, offset, t, -1,  \
                         0);                                               \
    }
HOLDING(ms_memory_word, MS_VAR_UINT16)
HOLDING(ms_memory_int16, MS_VAR_INT16)
HOLDING(ms_memory_int32, MS_VAR_INT32)
HOLDING(ms_memory_uint32, MS_VAR_UINT32)
HOLDING(ms_memory_int64, MS_VAR_INT64)
HOLDING(ms_memory_uint64, MS_VAR_UINT64)
HOLDING(ms_memory_float32, MS_VAR_FLOAT32)
HOLDING(ms_memory_float64, MS_VAR_FLOAT64)

ms_var ms_memory_string(ms_memory *m, const char *name, uint32_t offset,
                        unsigned len)
{
    return shorthand(m, name, MS_MB_HOLDING_REGISTERS, offset, MS_VAR_STRING,
                     -1, len);
}

ms_var ms_memory_bit(ms_memory *m, const char *name, uint32_t offset, int bit)
{
    return shorthand(m, name, MS_MB_HOLDING_REGISTERS, offset, MS_VAR_BOOL,
                     bit, 0);
}

ms_var ms_memory_coil(ms_memory *m, const char *name, uint32_t offset)
{
    return shorthand(m, name, MS_MB_COILS, offset, MS_VAR_BOOL, -1, 0);
}

ms_var ms_memory_input(ms_memory *m, const char *name, uint32_t offset)
{
    return shorthand(m, name, MS_MB_DISCRETE_INPUTS, offset, MS_VAR_BOOL, -1,
                     0);
}

/* ---- accessors ---------------------------------------------------------------
 * Values move as raw registers: a getter copies the variable's registers
 * and its declaration out in one critical section, a setter builds the
 * registers from the declaration and stores them in another, marking them
 * changed. */

/* Width classes: accessors of one width serve every type of that width. */
static int width_of(ms_var_type t)
{
    switch (t) {
    case MS_VAR_BOOL: return 0;
    case MS_VAR_INT16: case MS_VAR_UINT16: return 16;
    case MS_VAR_INT32: case MS_VAR_UINT32: return 32;
    case MS_VAR_INT64: case MS_VAR_UINT64: return 64;
    case MS_VAR_FLOAT32: return 'f';
    case MS_VAR_FLOAT64: return 'd';
    case MS_VAR_STRING: return 's';
    }
    return -1;
}

/* With m locked: the variable, if v is one of m's and of width w. */
static const msm_var *var_of(ms_memory *m, ms_var v, int w, int *rc)
{
    if (v.id < 0 || (size_t)v.id >= m->nvars) {
        *rc = MS_EINVAL;
        return NULL;
    }
    const msm_var *x = m->vars[v.id];
    if (width_of(x->type) != w) {
        *rc = MS_ETYPE;
        return NULL;
    }
    *rc = 0;
    return x;
}

/* Copies a variable's registers out (a bool as 0/1 in regs[0]) and its
 * declaration into *decl (word order, a string's length). */
static int load(ms_memory *m, ms_var v, int w, uint16_t *regs, msm_var *decl)
{
    int rc;
    if (!m)
        return MS_EINVAL;
    uv_mutex_lock(&m->lock);
    const msm_var *x = var_of(m, v, w, &rc);
    if (x) {
        const msm_area *a = &m->area[x->area];
        *decl = *x;
        if (a->bits)
            regs[0] = a->bits[x->offset];
        else if (x->bit >= 0)
            regs[0] = (a->regs[x->offset] >> x->bit) & 1;
        else
            memcpy(regs, a->regs + x->offset, x->count * sizeof *regs);
    }
    uv_mutex_unlock(&m->lock);
    return rc;
}

/* Builds a variable's registers (at most 125) from a value. */
typedef void (*encode_fn)(const msm_var *x, const void *val, uint16_t *regs);

static int store(ms_memory *m, ms_var v, int w, encode_fn enc,
                 const void *val)
{
    int rc;
    uint16_t regs[125];
    if (!m)
        return MS_EINVAL;
    uv_mutex_lock(&m->lock);
    const msm_var *x = var_of(m, v, w, &rc);
    if (x) {
        msm_area *a = &m->area[x->area];
        enc(x, val, regs);
        if (a->bits) {
            a->bits[x->offset] = regs[0] != 0;
        } else if (x->bit >= 0) {
            uint16_t mask = (uint16_t)(1u << x->bit);
            a->regs[x->offset] = (uint16_t)(regs[0]
                                                ? a->regs[x->offset] | mask
                                                : a->regs[x->offset] & ~mask);
            if (a->bitmask)
                a->bitmask[x->offset] |= mask;
        } else {
            memcpy(a->regs + x->offset, regs, x->count * sizeof *regs);
        }
        if (a->dirty && x->bit < 0)
            memset(a->dirty + x->offset, 1, x->count);
    }
    uv_mutex_unlock(&m->lock);
    return rc;
}

static void enc_word(const msm_var *x, const void *val, uint16_t *r)
{
    (void)x;
    r[0] = *(const uint16_t *)val;
}

static void enc_u32(const msm_var *x, const void *val, uint16_t *r)
{
    ms_mb_u32_set(r, *(const uint32_t *)val, x->order);
}

static void enc_u64(const msm_var *x, const void *val, uint16_t *r)
{
    ms_mb_u64_set(r, *(const uint64_t *)val, x->order);
}

static void enc_f32(const msm_var *x, const void *val, uint16_t *r)
{
    ms_mb_f32_set(r, *(const float *)val, x->order);
}

static void enc_f64(const msm_var *x, const void *val, uint16_t *r)
{
    ms_mb_f64_set(r, *(const double *)val, x->order);
}

/* Two bytes a register, first in the high byte, NUL padded; cut at len
 * (an odd length's last low byte stays 0). */
static void enc_str(const msm_var *x, const void *val, uint16_t *r)
{
    const char *s = val;
    memset(r, 0, x->count * sizeof *r);
    for (unsigned i = 0; i < x->len && s[i]; i++) {
        uint8_t c = (uint8_t)s[i];
        r[i / 2] |= (uint16_t)(i & 1 ? c : c << 8);
    }
}

bool ms_memory_get_bool(ms_memory *m, ms_var v)
{
    uint16_t r[1] = {0};
    msm_var x;
    return load(m, v, 0, r, &x) == 0 && r[0];
}

int ms_memory_set_bool(ms_memory *m, ms_var v, bool x)
{
    uint16_t r = x;
    return store(m, v, 0, enc_word, &r);
}

uint16_t ms_memory_get_word(ms_memory *m, ms_var v)
{
    uint16_t r[1] = {0};
    msm_var x;
    return load(m, v, 16, r, &x) == 0 ? r[0] : 0;
}

int ms_memory_set_word(ms_memory *m, ms_var v, uint16_t x)
{
    return store(m, v, 16, enc_word, &x);
}

int16_t ms_memory_get_i16(ms_memory *m, ms_var v)
{
    return (int16_t)ms_memory_get_word(m, v);
}

int ms_memory_set_i16(ms_memory *m, ms_var v, int16_t x)
{
    return ms_memory_set_word(m, v, (uint16_t)x);
}

uint32_t ms_memory_get_u32(ms_memory *m, ms_var v)
{
    uint16_t r[2];
    msm_var x;
    return load(m, v, 32, r, &x) == 0 ? ms_mb_u32_get(r, x.order) : 0;
}

int ms_memory_set_u32(ms_memory *m, ms_var v, uint32_t x)
{
    return store(m, v, 32, enc_u32, &x);
}

int32_t ms_memory_get_i32(ms_memory *m, ms_var v)
{
    return (int32_t)ms_memory_get_u32(m, v);
}

int ms_memory_set_i32(ms_memory *m, ms_var v, int32_t x)
{
    return ms_memory_set_u32(m, v, (uint32_t)x);
}

uint64_t ms_memory_get_u64(ms_memory *m, ms_var v)
{
    uint16_t r[4];
    msm_var x;
    return load(m, v, 64, r, &x) == 0 ? ms_mb_u64_get(r, x.order) : 0;
}

int ms_memory_set_u64(ms_memory *m, ms_var v, uint64_t x)
{
    return store(m, v, 64, enc_u64, &x);
}

int64_t ms_memory_get_i64(ms_memory *m, ms_var v)
{
    return (int64_t)ms_memory_get_u64(m, v);
}

int ms_memory_set_i64(ms_memory *m, ms_var v, int64_t x)
{
    return ms_memory_set_u64(m, v, (uint64_t)x);
}

float ms_memory_get_f32(ms_memory *m, ms_var v)
{
    uint16_t r[2];
    msm_var x;
    return load(m, v, 'f', r, &x) == 0 ? ms_mb_f32_get(r, x.order) : 0;
}

int ms_memory_set_f32(ms_memory *m, ms_var v, float x)
{
    return store(m, v, 'f', enc_f32, &x);
}

double ms_memory_get_f64(ms_memory *m, ms_var v)
{
    uint16_t r[4];
    msm_var x;
    return load(m, v, 'd', r, &x) == 0 ? ms_mb_f64_get(r, x.order) : 0;
}

int ms_memory_set_f64(ms_memory *m, ms_var v, double x)
{
    return store(m, v, 'd', enc_f64, &x);
}

int ms_memory_get_str(ms_memory *m, ms_var v, char *buf, size_t cap)
{
    uint16_t r[125];
    msm_var x;
    if (!buf || cap == 0)
        return MS_EINVAL;
    buf[0] = '\0';
    int rc = load(m, v, 's', r, &x);
    if (rc < 0)
        return rc;
    size_t n = 0;
    for (unsigned i = 0; i < x.len && n + 1 < cap; i++) {
        char c = (char)(i & 1 ? r[i / 2] & 0xff : r[i / 2] >> 8);
        if (!c)
            break;
        buf[n++] = c;
    }
    buf[n] = '\0';
    return (int)n;
}

int ms_memory_set_str(ms_memory *m, ms_var v, const char *s)
{
    if (!s)
        return MS_EINVAL;
    return store(m, v, 's', enc_str, s);
}
