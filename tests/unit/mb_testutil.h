/* Helpers shared by the Modbus codec tests: bytes written as hex text
 * ("01 03 00 6B"), as the spec and libmodbus' debug output show them. */
#ifndef MS_TEST_MB_TESTUTIL_H
#define MS_TEST_MB_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Parses hex pairs, skipping spaces, into out (cap bytes). Returns the count;
 * fails the test on bad text. */
static inline size_t mb_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        unsigned x;
        assert_true(n < cap);
        assert_int_equal(sscanf(s, "%2x", &x), 1);
        out[n++] = (uint8_t)x;
        s += 2;
    }
    return n;
}

#endif
