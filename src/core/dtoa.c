/* The shortest round-trip text of a double (see dtoa.h). The digits come
 * from printf's correctly rounded %.*e at the fewest digits that strtod
 * reads back exactly; only the notation differs between styles. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtoa.h"

/* Plain notation of significant digits dig (ndig of them) times
 * 10^(exp - ndig + 1), after an optional sign; `point` adds ".0" to a
 * whole number. */
static size_t plain(char *o, const char *dig, int ndig, int exp, int point)
{
    size_t n = 0;
    if (exp < 0) {
        o[n++] = '0';
        o[n++] = '.';
        for (int i = 0; i < -exp - 1; i++)
            o[n++] = '0';
        memcpy(o + n, dig, (size_t)ndig);
        n += (size_t)ndig;
    } else if (ndig <= exp + 1) {
        memcpy(o + n, dig, (size_t)ndig);
        n += (size_t)ndig;
        for (int i = ndig; i <= exp; i++)
            o[n++] = '0';
        if (point) {
            o[n++] = '.';
            o[n++] = '0';
        }
    } else {
        memcpy(o + n, dig, (size_t)exp + 1);
        n += (size_t)exp + 1;
        o[n++] = '.';
        memcpy(o + n, dig + exp + 1, (size_t)(ndig - exp - 1));
        n += (size_t)(ndig - exp - 1);
    }
    o[n] = '\0';
    return n;
}

size_t ms_dtoa(double d, ms_dtoa_style style, char out[MS_DTOA_MAX])
{
    const char *special = NULL;
    if (isnan(d))
        special = style == MS_DTOA_PYTHON ? "NaN" : "nan";
    else if (isinf(d) && d > 0)
        special = style == MS_DTOA_PYTHON ? "Infinity" : "inf";
    else if (isinf(d))
        special = style == MS_DTOA_PYTHON ? "-Infinity" : "-inf";
    if (special) {
        strcpy(out, special);
        return strlen(out);
    }
    char e[MS_DTOA_MAX]; /* "-d.ddddddddddddddddde-308" fits */
    int p = 0;
    for (; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p, d);
        if (strtod(e, NULL) == d)
            break;
    }
    /* split "-1.2345e+06" into sign, digits "12345", exponent 6 */
    char dig[20];
    int ndig = 0;
    const char *s = e;
    size_t n = 0;
    if (*s == '-')
        out[n++] = *s++;
    for (; *s != 'e'; s++)
        if (*s != '.')
            dig[ndig++] = *s;
    int exp = atoi(s + 1);
    if (style == MS_DTOA_PYTHON) {
        if (exp >= -4 && exp < 16)
            return n + plain(out + n, dig, ndig, exp, 1);
        strcpy(out, e);
        return strlen(out);
    }
    char sci[MS_DTOA_MAX];
    size_t m = 0;
    sci[m++] = dig[0];
    if (ndig > 1) {
        sci[m++] = '.';
        memcpy(sci + m, dig + 1, (size_t)ndig - 1);
        m += (size_t)ndig - 1;
    }
    m += (size_t)snprintf(sci + m, sizeof sci - m, "e%d", exp);
    /* plain is at most 17 digits + 324 zeros: build it only when it can
     * be as short as the scientific form */
    size_t plen = exp < 0 ? (size_t)(1 - exp + ndig)
                          : (ndig <= exp + 1 ? (size_t)exp + 1
                                             : (size_t)ndig + 1);
    /* Plain where people read numbers plain (1000, 0.001: the exponents
     * Python's repr writes plain), elsewhere when it is as short. */
    if ((exp >= -4 && exp < 16) || plen <= m)
        return n + plain(out + n, dig, ndig, exp, 0);
    memcpy(out + n, sci, m + 1);
    return n + m;
}
