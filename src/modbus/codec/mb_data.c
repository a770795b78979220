/* Modbus data helpers: packed bits (LSB first), big-endian registers, and the
 * word order of 32/64-bit values spread over consecutive registers. */
#include <string.h>

#include "mscada/modbus.h"

void ms_mb_bits_pack(uint8_t *out, const bool *in, size_t n)
{
    memset(out, 0, ms_mb_bits_bytes(n));
    for (size_t i = 0; i < n; i++)
        if (in[i])
            out[i >> 3] = (uint8_t)(out[i >> 3] | (1u << (i & 7)));
}

void ms_mb_bits_unpack(bool *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ms_mb_bit_get(in, i);
}

void ms_mb_regs_load(uint16_t *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ms_mb_reg_get(in, i);
}

void ms_mb_regs_store(uint8_t *out, const uint16_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ms_mb_reg_set(out, i, in[i]);
}

/* Word k (0 = most significant) of an n-word value sits at index k in
 * BIG order and at n - 1 - k in LITTLE order. */
static size_t word_at(size_t k, size_t n, ms_mb_word_order o)
{
    return o == MS_MB_WORDS_LITTLE ? n - 1 - k : k;
}

uint32_t ms_mb_u32_get(const uint16_t *regs, ms_mb_word_order o)
{
    return ((uint32_t)regs[word_at(0, 2, o)] << 16) | regs[word_at(1, 2, o)];
}

void ms_mb_u32_set(uint16_t *regs, uint32_t v, ms_mb_word_order o)
{
    regs[word_at(0, 2, o)] = (uint16_t)(v >> 16);
    regs[word_at(1, 2, o)] = (uint16_t)v;
}

uint64_t ms_mb_u64_get(const uint16_t *regs, ms_mb_word_order o)
{
    uint64_t v = 0;
    for (size_t k = 0; k < 4; k++)
        v = (v << 16) | regs[word_at(k, 4, o)];
    return v;
}

void ms_mb_u64_set(uint16_t *regs, uint64_t v, ms_mb_word_order o)
{
    for (size_t k = 0; k < 4; k++)
        regs[word_at(k, 4, o)] = (uint16_t)(v >> (48 - 16 * k));
}

/* Floats go through their IEEE 754 bit patterns (memcpy: no aliasing). */
float ms_mb_f32_get(const uint16_t *regs, ms_mb_word_order o)
{
    uint32_t u = ms_mb_u32_get(regs, o);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void ms_mb_f32_set(uint16_t *regs, float v, ms_mb_word_order o)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    ms_mb_u32_set(regs, u, o);
}

double ms_mb_f64_get(const uint16_t *regs, ms_mb_word_order o)
{
    uint64_t u = ms_mb_u64_get(regs, o);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

void ms_mb_f64_set(uint16_t *regs, double v, ms_mb_word_order o)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    ms_mb_u64_set(regs, u, o);
}
