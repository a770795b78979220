/* Typed readers of the config tree (mscada/conf.h): a scalar's text as an
 * integer, a number, a boolean or text, read as pymscada's YAML 1.1 loader
 * reads it, each failure a positioned message naming the setting; and the
 * check for keys a module does not know. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conf_int.h"
#include "core/yaml11.h"
#include "mscada/conf.h"
#include "mscada/error.h"
#include "mscada/log.h"

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool has_nul(const ms_conf_node *n)
{
    return strlen(n->text) != n->len;
}

/* Decimal or 0x/0X hex, optional sign, nothing else: quoted text ('010'
 * is 10, as Python's int() reads it) and, for plain scalars, 0X hex. */
static bool parse_int_text(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    unsigned base = 10;
    if (i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
    }
    if (i >= len)
        return false;
    for (; i < len; i++) {
        char ch = s[i];
        unsigned d;
        if (ch >= '0' && ch <= '9')
            d = (unsigned)(ch - '0');
        else if (base == 16 && ch >= 'a' && ch <= 'f')
            d = (unsigned)(ch - 'a' + 10);
        else if (base == 16 && ch >= 'A' && ch <= 'F')
            d = (unsigned)(ch - 'A' + 10);
        else
            return false;
        if (v > (lim - d) / base)
            return false;
        v = v * base + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Bytes of a leading sign: 0 or 1. */
static size_t sign_len(const ms_conf_node *n)
{
    return n->len && (n->text[0] == '+' || n->text[0] == '-');
}

/* A plain scalar is read as pymscada's YAML 1.1 loader reads it (010 is
 * octal 8, 1_000 is 1000, 1:30 is 90), and 0X1F as hex besides; quoted
 * text as decimal or 0x hex. */
static bool parse_int(const ms_conf_node *n, int64_t *out)
{
    if (n->quoted)
        return parse_int_text(n->text, n->len, out);
    if (ms_yaml11_int(n->text, n->len, out))
        return true;
    size_t i = sign_len(n);
    return n->len > i + 1 && n->text[i] == '0' && n->text[i + 1] == 'X' &&
           parse_int_text(n->text, n->len, out);
}

/* 08, -09: digits with a leading 0 that are not octal (text to YAML 1.1). */
static bool bad_octal(const ms_conf_node *n)
{
    size_t i = sign_len(n);
    if (n->quoted || n->len < i + 2 || n->text[i] != '0')
        return false;
    for (size_t j = i; j < n->len; j++)
        if (!is_digit(n->text[j]) && n->text[j] != '_')
            return false;
    return true;
}

int ms_conf_int(const ms_conf_node *n, const char *what, int64_t min,
                int64_t max, int64_t *out, ms_conf_error *err)
{
    int64_t v;
    if (n && n->kind == MS_CONF_SCALAR && !has_nul(n) && parse_int(n, &v) &&
        v >= min && v <= max) {
        *out = v;
        return 0;
    }
    if (n && n->kind == MS_CONF_SCALAR && bad_octal(n))
        return ms_conf_fail(err, n, "%s must be an integer: %s has a leading "
                            "0, which YAML 1.1 (and so pymscada) reads as "
                            "octal, and 8 and 9 are no octal digits", what,
                            n->text);
    if (min == INT64_MIN && max == INT64_MAX)
        return ms_conf_fail(err, n, "%s must be an integer", what);
    if (max == INT64_MAX)
        return ms_conf_fail(err, n, "%s must be an integer >= %" PRId64, what,
                            min);
    if (min == INT64_MIN)
        return ms_conf_fail(err, n, "%s must be an integer <= %" PRId64, what,
                            max);
    return ms_conf_fail(err, n, "%s must be an integer from %" PRId64
                                " to %" PRId64, what, min, max);
}

/* Integers as above, YAML 1.1 floats for a plain scalar, and besides
 * (also quoted) decimals with an optional exponent, e.g. 1e3, which PyYAML
 * leaves as text, and YAML's .inf, -.inf and .nan spellings; never
 * strtod's own extras (hex floats, "inf", leading spaces), and nothing too
 * large for a double. */
static bool parse_double(const ms_conf_node *n, double *out)
{
    int64_t iv;
    if (parse_int(n, &iv)) {
        *out = (double)iv;
        return true;
    }
    const char *s = n->text;
    size_t len = n->len;
    /* PyYAML turns 1.0e+400 into inf; a setting refuses it as too big. */
    if (!n->quoted && ms_yaml11_float(s, len, out) &&
        (!isinf(*out) || s[len - 1] == 'f' || s[len - 1] == 'F'))
        return true;
    if (bad_octal(n))
        return false;
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    const char *r = s + i;
    size_t rl = len - i;
    if (rl == 4 && (memcmp(r, ".inf", 4) == 0 || memcmp(r, ".Inf", 4) == 0 ||
                    memcmp(r, ".INF", 4) == 0)) {
        *out = neg ? -INFINITY : INFINITY;
        return true;
    }
    if (i == 0 && rl == 4 &&
        (memcmp(r, ".nan", 4) == 0 || memcmp(r, ".NaN", 4) == 0 ||
         memcmp(r, ".NAN", 4) == 0)) {
        *out = NAN;
        return true;
    }
    size_t digits = 0;
    while (i < len && is_digit(s[i]))
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i]))
            i++, digits++;
    }
    if (digits == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < len && is_digit(s[i]))
            i++, ed++;
        if (ed == 0)
            return false;
    }
    if (i != len)
        return false;
    /* s is NUL-terminated right after len (checked by the caller). */
    errno = 0;
    char *end;
    double d = strtod(s, &end);
    if (end != s + len || (errno == ERANGE && isinf(d)))
        return false;
    *out = d;
    return true;
}

int ms_conf_double(const ms_conf_node *n, const char *what, double *out,
                   ms_conf_error *err)
{
    double d;
    if (n && n->kind == MS_CONF_SCALAR && !has_nul(n) && parse_double(n, &d)) {
        *out = d;
        return 0;
    }
    return ms_conf_fail(err, n, "%s must be a number", what);
}

int ms_conf_bool(const ms_conf_node *n, const char *what, bool *out,
                 ms_conf_error *err)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    if (n && n->kind == MS_CONF_SCALAR && !has_nul(n)) {
        for (int i = 0; i < 3; i++) {
            bool t = strcasecmp(n->text, yes[i]) == 0;
            bool f = strcasecmp(n->text, no[i]) == 0;
            if (!t && !f)
                continue;
            if (n->quoted)
                return ms_conf_fail(err, n, "%s must be true or false "
                                            "without quotes", what);
            *out = t;
            return 0;
        }
    }
    return ms_conf_fail(err, n, "%s must be true or false", what);
}

int ms_conf_str(const ms_conf_node *n, const char *what, const char **out,
                ms_conf_error *err)
{
    if (!n)
        return ms_conf_fail(err, n, "%s is missing", what);
    if (n->kind != MS_CONF_SCALAR)
        return ms_conf_fail(err, n, "%s must be text, not %s", what,
                            ms_conf_kind_name(n->kind));
    if (has_nul(n))
        return ms_conf_fail(err, n, "%s must not contain NUL characters",
                            what);
    *out = n->text;
    return 0;
}

int ms_conf_want(const ms_conf_node *n, ms_conf_kind kind, const char *what,
                 ms_conf_error *err)
{
    if (!n)
        return ms_conf_fail(err, n, "%s is missing", what);
    if (n->kind != kind)
        return ms_conf_fail(err, n, "%s must be %s", what, ms_conf_kind_name(kind));
    return 0;
}

/* Edits (insert, delete, change, swap two neighbours) from a to b, or
 * more than cap: names of at most 64 bytes. */
static size_t edit_distance(const char *a, size_t la, const char *b,
                            size_t lb, size_t cap)
{
    if (la > 64 || lb > 64)
        return cap + 1;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

const char *ms_conf_near_key(const char *key, size_t len,
                             const char *const *known)
{
    /* Near: one or two edits, and fewer than the key is long. */
    size_t cap = len > 4 ? 2 : 1;
    const char *best = NULL;
    size_t best_d = cap + 1;
    for (size_t j = 0; known && known[j]; j++) {
        size_t d = edit_distance(key, len, known[j], strlen(known[j]), cap);
        if (d < best_d && d < len) {
            best = known[j];
            best_d = d;
        }
    }
    return best;
}

int ms_conf_warn_unknown(const ms_conf_node *map, const char *const *known,
                         const char *what)
{
    if (!map || map->kind != MS_CONF_MAP)
        return 0;
    int count = 0;
    for (size_t i = 0; i < map->n; i++) {
        const ms_conf_node *k = map->keys[i];
        bool found = false;
        for (size_t j = 0; known && known[j] && !found; j++)
            found = strlen(known[j]) == k->len &&
                    memcmp(known[j], k->text, k->len) == 0;
        if (found)
            continue;
        const char *near = ms_conf_near_key(k->text, k->len, known);
        if (near)
            ms_log_warn("%s:%d:%d: unknown key '%s' in %s (ignored): did "
                        "you mean '%s'?", k->file, k->line, k->col, k->text,
                        what, near);
        else
            ms_log_warn("%s:%d:%d: unknown key '%s' in %s (ignored)",
                        k->file, k->line, k->col, k->text, what);
        count++;
    }
    return count;
}
