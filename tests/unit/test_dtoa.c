/* src/core/dtoa.c: the shortest text of a double that reads back to the
 * same bits, in plain notation where that is as short (the console, the
 * CSV export), or as Python writes it (the bus's text port). */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/dtoa.h"

static void expect(double d, ms_dtoa_style style, const char *want)
{
    char s[MS_DTOA_MAX];
    size_t n = ms_dtoa(d, style, s);
    assert_string_equal(s, want);
    assert_int_equal(n, strlen(want));
}

static void test_short(void **state)
{
    (void)state;
    expect(10.0, MS_DTOA_SHORT, "10"); /* was 1e+01 in history-export */
    expect(0.0, MS_DTOA_SHORT, "0");
    expect(-0.0, MS_DTOA_SHORT, "-0");
    expect(0.1, MS_DTOA_SHORT, "0.1");
    expect(-2.25, MS_DTOA_SHORT, "-2.25");
    expect(100.0, MS_DTOA_SHORT, "100");
    expect(1000.0, MS_DTOA_SHORT, "1000"); /* plain up to 1e16 */
    expect(1e15, MS_DTOA_SHORT, "1000000000000000");
    expect(1e16, MS_DTOA_SHORT, "1e16");
    expect(1500.0, MS_DTOA_SHORT, "1500");
    expect(123456789.125, MS_DTOA_SHORT, "123456789.125");
    expect(0.001, MS_DTOA_SHORT, "0.001"); /* plain down to 1e-4 */
    expect(0.0001, MS_DTOA_SHORT, "0.0001");
    expect(0.00001, MS_DTOA_SHORT, "1e-5");
    expect(0.01, MS_DTOA_SHORT, "0.01");
    expect(1e-7, MS_DTOA_SHORT, "1e-7");
    expect(1.5e-7, MS_DTOA_SHORT, "1.5e-7");
    expect(1e20, MS_DTOA_SHORT, "1e20");
    expect(1.0 / 3.0, MS_DTOA_SHORT, "0.3333333333333333");
    expect(0.1 + 0.2, MS_DTOA_SHORT, "0.30000000000000004");
    expect(-DBL_MAX, MS_DTOA_SHORT, "-1.7976931348623157e308");
    expect(5e-324, MS_DTOA_SHORT, "5e-324");
    expect(NAN, MS_DTOA_SHORT, "nan");
    expect(-INFINITY, MS_DTOA_SHORT, "-inf");
}

static void test_python(void **state)
{
    (void)state;
    expect(10.0, MS_DTOA_PYTHON, "10.0");
    expect(-0.0, MS_DTOA_PYTHON, "-0.0");
    expect(1e15, MS_DTOA_PYTHON, "1000000000000000.0");
    expect(1e16, MS_DTOA_PYTHON, "1e+16");
    expect(0.0001, MS_DTOA_PYTHON, "0.0001");
    expect(1.5e-5, MS_DTOA_PYTHON, "1.5e-05");
    expect(123456789.125, MS_DTOA_PYTHON, "123456789.125");
    expect(NAN, MS_DTOA_PYTHON, "NaN");
    expect(INFINITY, MS_DTOA_PYTHON, "Infinity");
}

/* Any double's text reads back to the same bits, in both styles, and
 * SHORT is never longer than %.17g nor than Python's form. */
static void test_round_trips(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof d);
        if (!isfinite(d))
            continue;
        char s[MS_DTOA_MAX], p[MS_DTOA_MAX], g[40];
        size_t n = ms_dtoa(d, MS_DTOA_SHORT, s);
        size_t m = ms_dtoa(d, MS_DTOA_PYTHON, p);
        double back = strtod(s, NULL), pback = strtod(p, NULL);
        assert_memory_equal(&back, &d, sizeof d);
        assert_memory_equal(&pback, &d, sizeof d);
        snprintf(g, sizeof g, "%.17g", d);
        assert_true(n <= strlen(g));
        assert_true(n <= m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short),
        cmocka_unit_test(test_python),
        cmocka_unit_test(test_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
