/* Tag values and their wire form (docs/design.md §5): one type byte, then the value.
 * INT = 1 (int64, big-endian), FLOAT = 2 (IEEE double, big-endian),
 * STR = 3 (UTF-8), BYTES = 4 (raw), JSON = 5 (a JSON text). An empty wire
 * payload means "never set" (MS_TYPE_NONE). */
#ifndef MSCADA_VALUE_H
#define MSCADA_VALUE_H

#include "mscada/export.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MS_TYPE_NONE = 0,
    MS_TYPE_INT = 1,
    MS_TYPE_FLOAT = 2,
    MS_TYPE_STR = 3,
    MS_TYPE_BYTES = 4,
    MS_TYPE_JSON = 5
} ms_type;

/* A value. STR, BYTES and JSON hold a borrowed pointer: the bytes belong to
 * whoever made the value (a decode points into the decoded buffer). */
typedef struct {
    ms_type type;
    union {
        int64_t i;
        double f;
        struct {
            const uint8_t *ptr;
            size_t len;
        } buf;
    } u;
} ms_value;

static inline ms_value ms_value_none(void)
{
    ms_value v = {MS_TYPE_NONE, {0}};
    return v;
}
static inline ms_value ms_value_int(int64_t i)
{
    ms_value v = {MS_TYPE_INT, {.i = i}};
    return v;
}
static inline ms_value ms_value_float(double f)
{
    ms_value v = {MS_TYPE_FLOAT, {.f = f}};
    return v;
}
/* STR, BYTES or JSON over len bytes at p (borrowed). */
static inline ms_value ms_value_buf(ms_type t, const void *p, size_t len)
{
    ms_value v;
    v.type = t;
    v.u.buf.ptr = (const uint8_t *)p;
    v.u.buf.len = len;
    return v;
}

/* "int", "float", "str", "bytes", "json" or "none"; NULL for unknown. */
MS_EXTERN const char *ms_type_name(ms_type t);

/* True when a value of type v may be the value of a tag of type tag, the
 * one rule the client library and the bus (with tags.yaml) both apply: the
 * same type, or an INT for a FLOAT tag (read as that number). A tag of
 * type NONE takes anything, and NONE (no value) fits every tag. */
MS_EXTERN bool ms_type_fits(ms_type tag, ms_type v);

/* Bytes of the wire form of v (0 for NONE). */
MS_EXTERN size_t ms_value_wire_size(const ms_value *v);

/* Writes v's wire form into out (cap bytes). Returns the length written, or
 * MS_ETOOBIG when cap is too small, MS_ETYPE for an unknown type. */
MS_EXTERN long ms_value_encode(const ms_value *v, uint8_t *out, size_t cap);

/* Decodes a wire payload. STR/BYTES/JSON point into buf. len 0 gives NONE.
 * Returns 0, MS_ETYPE for an unknown type byte, MS_EPROTO for a wrong length
 * (INT/FLOAT not 8 bytes) or STR/JSON that is not valid UTF-8. */
MS_EXTERN int ms_value_decode(const uint8_t *buf, size_t len, ms_value *v);

/* True when a and b are the same value, the one rule every part of mscada
 * uses to decide "changed": the same type and the same wire form. So a
 * FLOAT is compared bit for bit: a NaN and the same NaN are the same (no
 * change), 0.0 and -0.0 are not (the bus carries them as different
 * values); STR, BYTES and JSON compare their bytes. */
MS_EXTERN bool ms_value_same(const ms_value *a, const ms_value *b);

/* True when the len bytes at p are valid UTF-8 (no overlongs, no
 * surrogates, nothing past U+10FFFF). */
MS_EXTERN bool ms_utf8_valid(const uint8_t *p, size_t len);

/* A tag name: 1 to MS_TAG_NAME_MAX bytes of UTF-8 with no white space
 * (ASCII or Unicode) and no control characters, because LIST replies join
 * names with spaces and clients split them. */
#define MS_TAG_NAME_MAX 255
MS_EXTERN bool ms_tag_name_valid(const uint8_t *name, size_t len);

/* Big-endian helpers shared by every codec. */
static inline uint16_t ms_get_u16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t ms_get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t ms_get_u64(const uint8_t *p)
{
    return ((uint64_t)ms_get_u32(p) << 32) | ms_get_u32(p + 4);
}
static inline void ms_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void ms_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void ms_put_u64(uint8_t *p, uint64_t v)
{
    ms_put_u32(p, (uint32_t)(v >> 32));
    ms_put_u32(p + 4, (uint32_t)v);
}

#ifdef __cplusplus
}
#endif
#endif
