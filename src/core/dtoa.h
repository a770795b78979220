/* A double as the shortest text that reads back as the same double: the
 * one float formatter of libmscada (the text port, the console, the CSV
 * export). Internal to libmscada. */
#ifndef MS_CORE_DTOA_H
#define MS_CORE_DTOA_H

#include <stddef.h>

/* Room for any result, NUL included. */
#define MS_DTOA_MAX 32

typedef enum {
    /* Plain notation for exponents -4..15 (10.0 -> "10", 1000.0 ->
     * "1000", 0.001 -> "0.001"), elsewhere unless scientific is shorter
     * (1e20 -> "1e20", 1.5e-7 -> "1.5e-7"); "nan", "inf", "-inf". */
    MS_DTOA_SHORT,
    /* As Python's repr (and json) writes it: plain for exponents -4..15,
     * always with a point (3 -> "3.0"), else "1e+16", "1.5e-05"; "NaN",
     * "Infinity", "-Infinity". */
    MS_DTOA_PYTHON,
} ms_dtoa_style;

/* Writes d into out (MS_DTOA_MAX bytes); returns the text's length. */
size_t ms_dtoa(double d, ms_dtoa_style style, char out[MS_DTOA_MAX]);

#endif
