/* The Modbus map (docs/design.md §8): tag <-> device address. Parses pymscada's
 * addresses `RTU:UNIT:FILE:WORD[.BIT]`, names the register types, converts
 * engineering values (ms_value INT or FLOAT) to registers or bits and back
 * with word order, linear scale/offset and clamping; and the server's
 * "memory": blocks of registers or bits per unit and file, in which an
 * address range is looked up as a master's request names it.
 *
 * Pure: no I/O, no globals; only ms_mb_mem allocates (its blocks). */
#ifndef MSCADA_MBMAP_H
#define MSCADA_MBMAP_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mscada/modbus.h"
#include "mscada/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The four Modbus "files", numbered as the address text writes them. */
typedef enum {
    MS_MB_COILS = 0,           /* 0x: read/write bits (FC1, 5, 15) */
    MS_MB_DISCRETE_INPUTS = 1, /* 1x: read-only bits (FC2) */
    MS_MB_INPUT_REGISTERS = 3, /* 3x: read-only registers (FC4) */
    MS_MB_HOLDING_REGISTERS = 4 /* 4x: read/write registers (FC3, 6, 16, 22, 23) */
} ms_mb_file;

static inline bool ms_mb_file_is_bits(ms_mb_file f)
{
    return f == MS_MB_COILS || f == MS_MB_DISCRETE_INPUTS;
}
/* "0x", "1x", "3x", "4x" (NULL for anything else). */
MS_EXTERN const char *ms_mb_file_name(ms_mb_file f);
/* Parses "0x" / "1x" / "3x" / "4x". Returns 0 or MS_EINVAL. */
MS_EXTERN int ms_mb_file_parse(const char *text, ms_mb_file *out);

#define MS_MB_RTU_NAME_MAX 63

/* A parsed address. word is the 1-based number as written; addr is the
 * protocol's 0-based address (word - 1). bit is -1, or 0-15 on 3x/4x. */
typedef struct {
    char rtu[MS_MB_RTU_NAME_MAX + 1];
    uint8_t unit;
    ms_mb_file file;
    uint32_t word;
    uint16_t addr;
    int bit;
} ms_mb_addr;

/* Parses `RTU:UNIT:FILE:WORD[.BIT]`: RTU a name (1-63 bytes, no ':'), UNIT
 * 0-255, FILE 0x/1x/3x/4x, WORD 1-65536, BIT 0-15 (3x/4x only). Returns 0,
 * or MS_EINVAL with a message in err (cap bytes), e.g.
 * "'RTU:1:4x:0': WORD must be 1 to 65536". */
MS_EXTERN int ms_mb_addr_parse(const char *text, ms_mb_addr *a, char *err, size_t cap);
/* Writes the address back as text; returns buf. */
MS_EXTERN const char *ms_mb_addr_format(const ms_mb_addr *a, char *buf, size_t cap);

/* Register types. */
typedef enum {
    MS_MB_BOOL = 0,
    MS_MB_INT16,
    MS_MB_UINT16,
    MS_MB_INT32,
    MS_MB_UINT32,
    MS_MB_INT64,
    MS_MB_UINT64,
    MS_MB_FLOAT32,
    MS_MB_FLOAT64
} ms_mb_type;

/* "bool", "int16", ... */
MS_EXTERN const char *ms_mb_type_name(ms_mb_type t);
/* Parses a type name. Returns 0 or MS_EINVAL. */
MS_EXTERN int ms_mb_type_parse(const char *text, ms_mb_type *out);
/* Registers a value of type t takes: 1 1 1 2 2 4 4 2 4 (a bool is one
 * register bit, or one coil / input). */
MS_EXTERN unsigned ms_mb_type_regs(ms_mb_type t);
/* Parses "big" / "little". Returns 0 or MS_EINVAL. */
MS_EXTERN int ms_mb_word_order_parse(const char *text, ms_mb_word_order *out);

/* How one tag's value sits in registers or bits. */
typedef struct {
    ms_mb_type type;
    ms_mb_word_order order;
    int bit;          /* -1, or a bool's bit 0-15 in a register */
    bool scaled;      /* engineering = raw * scale + offset */
    double scale, offset;
} ms_mb_conv;

/* A conversion with no scaling: type, big word order, no bit. */
MS_EXTERN ms_mb_conv ms_mb_conv_make(ms_mb_type type);
/* Checks conv against where it goes: a bool on 0x/1x or with a bit on
 * 3x/4x (a bool on a whole register reads nonzero, writes 0/1); any other
 * type only on 3x/4x, with no bit; the value's registers must fit below
 * 65536; scale finite and nonzero. Returns 0 or MS_EINVAL with err. */
MS_EXTERN int ms_mb_conv_check(const ms_mb_conv *c, const ms_mb_addr *a, char *err,
                     size_t cap);

/* Encodes an engineering value (INT or FLOAT) into ms_mb_type_regs(type)
 * host-order registers. A bool with a bit changes only that bit of regs[0]
 * (pass the register's current value in); a bool on a coil or input gives
 * regs[0] = 0 or 1. Values beyond the type's range are clamped to it and
 * *clamped is set (the caller logs one line); floats are rounded to the
 * nearest integer for integer types. Returns 0, MS_ETYPE for a value of
 * another type, MS_ERANGE for NaN into an integer type (nothing written). */
MS_EXTERN int ms_mb_encode(const ms_mb_conv *c, const ms_value *v, uint16_t *regs,
                 bool *clamped);
/* Decodes registers (or regs[0] = a coil/input's 0/1) into a value: INT
 * for bool and integer types without scaling (uint64 above INT64_MAX reads
 * as INT64_MAX), FLOAT for float types or when scaled. */
MS_EXTERN ms_value ms_mb_decode(const ms_mb_conv *c, const uint16_t *regs);

/* ---- the server's memory ---------------------------------------------------
 * Blocks of registers (host-order uint16_t) or bits (one uint8_t 0/1 each)
 * per (unit, file). Overlapping or adjacent blocks of the same unit and file
 * merge, so any range inside their union is one piece of memory. */
typedef struct {
    uint8_t unit;
    ms_mb_file file;
    uint16_t start, end; /* 0-based protocol addresses, inclusive */
    uint16_t *regs;      /* 3x/4x: end - start + 1 registers, else NULL */
    uint8_t *bits;       /* 0x/1x: end - start + 1 bits, else NULL */
} ms_mb_block;

typedef struct {
    ms_mb_block *blocks;
    size_t n, cap;
    bool units[256]; /* units that have any block */
} ms_mb_mem;

MS_EXTERN void ms_mb_mem_init(ms_mb_mem *m);
MS_EXTERN void ms_mb_mem_free(ms_mb_mem *m);
/* Adds zeroed memory for addresses start..end (0-based, inclusive) of unit
 * and file, merging with blocks it overlaps or touches (their contents
 * kept). Returns 0, MS_EINVAL (start > end), MS_ENOMEM. */
MS_EXTERN int ms_mb_mem_add(ms_mb_mem *m, uint8_t unit, ms_mb_file file, uint16_t start,
                  uint16_t end);
/* Looks up count addresses from addr: returns 0 with *regs (3x/4x) or
 * *bits (0x/1x) pointing at addr's place in memory, or the Modbus exception
 * a server answers: MS_MB_EX_GATEWAY_TARGET_FAILED (11) when no block has
 * that unit, MS_MB_EX_ILLEGAL_DATA_ADDRESS (2) when any address of the range
 * is outside every block. Pointers stay valid until the next ms_mb_mem_add.
 * Either out pointer may be NULL. */
MS_EXTERN int ms_mb_mem_lookup(const ms_mb_mem *m, uint8_t unit, ms_mb_file file,
                     uint16_t addr, uint32_t count, uint16_t **regs,
                     uint8_t **bits);
static inline bool ms_mb_mem_has_unit(const ms_mb_mem *m, uint8_t unit)
{
    return m->units[unit];
}

#ifdef __cplusplus
}
#endif
#endif
