/* YAML 1.1 implicit numbers as PyYAML 6 does them: its resolver's regular
 * expressions decide whether a plain scalar is an int or a float, then its
 * constructor drops every '_' and converts. Written out by hand here, one
 * branch per alternative of those expressions. */
#include "core/yaml11.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_dig(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_val(char c)
{
    if (is_dig(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* v = v * base + d, false on passing lim. */
static bool acc(uint64_t *v, unsigned base, unsigned d, uint64_t lim)
{
    if (*v > (lim - d) / base)
        return false;
    *v = *v * base + d;
    return true;
}

/* Digits of `base` and '_' from s[i] to the end, at least one digit. */
static bool digits_to(const char *s, size_t i, size_t len, unsigned base,
                      uint64_t lim, uint64_t *v)
{
    bool any = false;
    for (; i < len; i++) {
        if (s[i] == '_')
            continue;
        int d = hex_val(s[i]);
        if (d < 0 || (unsigned)d >= base || !acc(v, base, (unsigned)d, lim))
            return false;
        any = true;
    }
    return any;
}

/* One ":[0-5]?[0-9]" part after the first, at s[*i] (just past ':'). */
static bool sexa_part(const char *s, size_t len, size_t *i, unsigned *out)
{
    size_t j = *i;
    if (j >= len || !is_dig(s[j]))
        return false;
    unsigned d = (unsigned)(s[j++] - '0');
    if (j < len && is_dig(s[j])) {
        if (d > 5)
            return false;
        d = d * 10 + (unsigned)(s[j++] - '0');
    }
    *out = d;
    *i = j;
    return true;
}

bool ms_yaml11_int(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i >= len || !is_dig(s[i]))
        return false;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool ok;
    if (s[i] == '0' && i + 1 < len && s[i + 1] == 'b') {
        ok = digits_to(s, i + 2, len, 2, lim, &v);
    } else if (s[i] == '0' && i + 1 < len && s[i + 1] == 'x') {
        ok = digits_to(s, i + 2, len, 16, lim, &v);
    } else if (s[i] == '0') {
        ok = digits_to(s, i, len, 8, lim, &v); /* 0[0-7_]* */
    } else {
        /* [1-9][0-9_]*, then base-60 parts if any. */
        size_t j = i;
        while (j < len && (is_dig(s[j]) || s[j] == '_'))
            j++;
        ok = digits_to(s, i, j, 10, lim, &v);
        while (ok && j < len) {
            unsigned d;
            ok = s[j++] == ':' && sexa_part(s, len, &j, &d) &&
                 acc(&v, 60, d, lim);
        }
    }
    if (!ok)
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* [eE][-+][0-9]+ from s[*i], if there. */
static bool exponent(const char *s, size_t len, size_t *i)
{
    size_t j = *i;
    if (j >= len || (s[j] != 'e' && s[j] != 'E'))
        return true;
    j++;
    if (j >= len || (s[j] != '+' && s[j] != '-'))
        return false;
    j++;
    size_t d0 = j;
    while (j < len && is_dig(s[j]))
        j++;
    *i = j;
    return j > d0;
}

/* strtod of s without its '_' (PyYAML's float() of the same). */
static double to_double(const char *s, size_t len)
{
    char small[128], *buf = len < sizeof small ? small : malloc(len + 1);
    if (!buf)
        return NAN;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] != '_')
            buf[n++] = s[i];
    buf[n] = '\0';
    double d = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    return d;
}

/* One of three spellings: .inf .Inf .INF, .nan .NaN .NAN */
static bool spelled(const char *s, size_t len, const char *const w[3])
{
    for (int k = 0; k < 3; k++)
        if (len == 3 && memcmp(s, w[k], 3) == 0)
            return true;
    return false;
}

#define SEXA_MAX 32

bool ms_yaml11_float(const char *s, size_t len, double *out)
{
    size_t i = 0;
    bool signed_ = false, neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        signed_ = true;
        neg = s[i++] == '-';
    }
    if (i < len && s[i] == '.') {
        /* [-+]?\.inf, \.nan, \.[0-9][0-9_]*(exp)? */
        static const char *const inf[3] = {"inf", "Inf", "INF"};
        static const char *const nan[3] = {"nan", "NaN", "NAN"};
        if (spelled(s + i + 1, len - i - 1, inf)) {
            *out = neg ? -INFINITY : INFINITY;
            return true;
        }
        if (signed_)
            return false;
        if (spelled(s + i + 1, len - i - 1, nan)) {
            *out = NAN;
            return true;
        }
        size_t j = i + 1;
        if (j >= len || !is_dig(s[j]))
            return false;
        while (j < len && (is_dig(s[j]) || s[j] == '_'))
            j++;
        if (!exponent(s, len, &j) || j != len)
            return false;
        *out = to_double(s, len);
        return true;
    }
    /* [0-9][0-9_]*, then either \.[0-9_]*(exp)? or (:[0-5]?[0-9])+\.[0-9_]* */
    if (i >= len || !is_dig(s[i]))
        return false;
    size_t j = i;
    while (j < len && (is_dig(s[j]) || s[j] == '_'))
        j++;
    if (j < len && s[j] == '.') {
        j++;
        while (j < len && (is_dig(s[j]) || s[j] == '_'))
            j++;
        if (!exponent(s, len, &j) || j != len)
            return false;
        *out = to_double(s, len);
        return true;
    }
    /* Base 60: whole parts, the last with the fraction; summed from the
     * last part up, as PyYAML does, so the rounding is the same. */
    size_t start[SEXA_MAX], end[SEXA_MAX], n = 0;
    start[n] = i;
    end[n++] = j;
    while (j < len && s[j] == ':' && n < SEXA_MAX) {
        start[n] = ++j;
        unsigned d;
        if (!sexa_part(s, len, &j, &d))
            return false;
        end[n++] = j;
        if (j < len && s[j] == '.') {
            j++;
            while (j < len && (is_dig(s[j]) || s[j] == '_'))
                j++;
            if (j != len)
                return false;
            end[n - 1] = len;
            double v = 0, base = 1;
            for (size_t k = n; k-- > 0; base *= 60)
                v += to_double(s + start[k], end[k] - start[k]) * base;
            *out = neg ? -v : v;
            return true;
        }
    }
    return false; /* no '.': an int, or text */
}
