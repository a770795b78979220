/* YAML 1.1 implicit numbers, exactly as PyYAML (pymscada's loader)
 * resolves and constructs a plain scalar, so one config file means the same
 * numbers to both programs:
 *   ints    0b101, 010 (octal: 8), 0x1F, 1_000, 1:30 (base 60: 90), -0
 *   floats  1.5, 5., .5, 1_0.5, 1.5e+3 (an exponent needs a '.' and its
 *           sign), 1:30.5 (base 60), .inf, -.Inf, .nan
 * Anything else (08, 1e3, 0X1F, -.5, 1:60) is text to PyYAML, and false
 * here. Pure functions (a number over 127 characters is copied to the heap
 * to drop its '_'; floats convert with strtod, so LC_NUMERIC must be "C",
 * as it is unless the program changes it). */
#ifndef MS_CORE_YAML11_H
#define MS_CORE_YAML11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* False also when the value doesn't fit an int64_t. */
bool ms_yaml11_int(const char *s, size_t len, int64_t *out);
/* Too large a float gives +-inf, as in Python. */
bool ms_yaml11_float(const char *s, size_t len, double *out);

#endif
