/* Console values as text and back: readable output using a tag's
 * description (dp, units, multi, format), and typed values from what the
 * operator typed. Pure: no I/O. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/dtoa.h"
#include "modules/console.h"

#define HEX_HEAD 32

/* One line whatever the text holds: control bytes escaped. */
static void put_text(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch == '\\')
            fputs("\\\\", f);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch == '\r')
            fputs("\\r", f);
        else if (ch == '\t')
            fputs("\\t", f);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\x%02x", ch);
        else
            fputc(ch, f);
    }
}

static void put_json(FILE *f, const ms_value *v)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)v->u.buf.ptr, v->u.buf.len,
                           JSON_DECODE_ANY, &e);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (s)
        put_text(f, (const uint8_t *)s, strlen(s));
    else
        put_text(f, v->u.buf.ptr, v->u.buf.len);
    free(s);
    json_decref(j);
}

/* Seconds since 1970 as ISO 8601 in UTC; false when out of range. */
static bool put_time(FILE *f, double secs, ms_tagfmt fmt)
{
    if (!isfinite(secs) || secs < -62135596800.0 || secs > 253402300799.0)
        return false;
    time_t t = (time_t)floor(secs);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return false;
    char s[40];
    const char *pat = fmt == MS_TAGFMT_DATE   ? "%Y-%m-%d"
                      : fmt == MS_TAGFMT_TIME ? "%H:%M:%SZ"
                                              : "%Y-%m-%dT%H:%M:%SZ";
    strftime(s, sizeof s, pat, &tm);
    fputs(s, f);
    return true;
}

static void put_units(FILE *f, const ms_tagdesc *d)
{
    if (d && d->units && d->units[0])
        fprintf(f, " %s", d->units);
}

static void put_number(FILE *f, const ms_value *v, const ms_tagdesc *d)
{
    double x = v->type == MS_TYPE_INT ? (double)v->u.i : v->u.f;
    if (d && d->format != MS_TAGFMT_NONE && put_time(f, x, d->format))
        return;
    if (v->type == MS_TYPE_INT) {
        if (d && d->multi && v->u.i >= 0 && (uint64_t)v->u.i < d->nmulti) {
            fputs(d->multi[v->u.i], f);
            return;
        }
        fprintf(f, "%" PRId64, v->u.i);
    } else if (d && d->dp >= 0 && isfinite(x)) {
        fprintf(f, "%.*f", d->dp > 17 ? 17 : d->dp, x);
    } else {
        char s[MS_DTOA_MAX];
        ms_dtoa(x, MS_DTOA_SHORT, s);
        fputs(s, f);
    }
    put_units(f, d);
}

char *ms_con_format(const ms_value *v, const ms_tagdesc *d)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    switch (v->type) {
    case MS_TYPE_INT:
    case MS_TYPE_FLOAT:
        put_number(f, v, d);
        break;
    case MS_TYPE_STR:
        put_text(f, v->u.buf.ptr, v->u.buf.len);
        break;
    case MS_TYPE_BYTES:
        fprintf(f, "bytes[%zu]%s", v->u.buf.len, v->u.buf.len ? " " : "");
        for (size_t i = 0; i < v->u.buf.len && i < HEX_HEAD; i++)
            fprintf(f, "%02x", v->u.buf.ptr[i]);
        if (v->u.buf.len > HEX_HEAD)
            fputs("...", f);
        break;
    case MS_TYPE_JSON:
        put_json(f, v);
        break;
    default:
        fputs("(no value)", f);
        break;
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static bool parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 0);
    if (end == s || *end || errno)
        return false;
    *out = x;
    return true;
}

/* Numbers only: "nan" or "info" must not read as floats. */
static bool parse_f64(const char *s, double *out)
{
    char *end;
    bool digit = false;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p))
            digit = true;
        else if (!strchr("+-.eE", *p))
            return false;
    }
    if (!digit)
        return false;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || errno == ERANGE)
        return false;
    *out = x;
    return true;
}

static bool json_container(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    bool ok = j && (json_is_array(j) || json_is_object(j));
    json_decref(j);
    return ok;
}

ms_type ms_con_guess_type(const char *text)
{
    int64_t i;
    double f;
    if (parse_i64(text, &i))
        return MS_TYPE_INT;
    if (parse_f64(text, &f))
        return MS_TYPE_FLOAT;
    if ((text[0] == '[' || text[0] == '{') && json_container(text))
        return MS_TYPE_JSON;
    return MS_TYPE_STR;
}

/* "2026-01-02", "2026-01-02T03:04:05" with an optional Z or space for T:
 * seconds since 1970, UTC. */
static bool parse_iso(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (!p)
        return false;
    if (*p == 'T' || *p == ' ') {
        p = strptime(p + 1, "%H:%M:%S", &tm);
        if (!p)
            return false;
    }
    if (*p == 'Z')
        p++;
    if (*p)
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int parse_hex(const char *text, ms_value *out, char **owned,
                     const char **why)
{
    if (!strncasecmp(text, "0x", 2))
        text += 2;
    size_t n = strlen(text);
    if (n % 2) {
        *why = "bytes want an even number of hex digits";
        return -1;
    }
    uint8_t *b = malloc(n / 2 + 1);
    if (!b) {
        *why = "out of memory";
        return -1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_nibble(text[2 * i]), lo = hex_nibble(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            *why = "bytes want hex digits (0-9, a-f)";
            return -1;
        }
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    *owned = (char *)b;
    *out = ms_value_buf(MS_TYPE_BYTES, b, n / 2);
    return 0;
}

int ms_con_parse_value(ms_type type, const char *text, const ms_tagdesc *d,
                       ms_value *out, char **owned, const char **why)
{
    *owned = NULL;
    int64_t i;
    double f;
    bool timed = d && d->format != MS_TAGFMT_NONE;
    switch (type) {
    case MS_TYPE_INT:
        if (d && d->multi) {
            for (size_t k = 0; k < d->nmulti; k++)
                if (!strcasecmp(d->multi[k], text)) {
                    *out = ms_value_int((int64_t)k);
                    return 0;
                }
        }
        if (parse_i64(text, &i) || (timed && parse_iso(text, &i))) {
            *out = ms_value_int(i);
            return 0;
        }
        *why = d && d->multi ? "not a state name nor an integer"
                             : timed ? "not an integer nor an ISO date"
                                     : "not an integer";
        return -1;
    case MS_TYPE_FLOAT:
        if (parse_f64(text, &f)) {
            *out = ms_value_float(f);
            return 0;
        }
        if (timed && parse_iso(text, &i)) {
            *out = ms_value_float((double)i);
            return 0;
        }
        *why = "not a number";
        return -1;
    case MS_TYPE_STR:
        *out = ms_value_buf(MS_TYPE_STR, text, strlen(text));
        return 0;
    case MS_TYPE_BYTES:
        return parse_hex(text, out, owned, why);
    case MS_TYPE_JSON:
        if (!json_container(text)) {
            *why = "not a JSON list or object";
            return -1;
        }
        *out = ms_value_buf(MS_TYPE_JSON, text, strlen(text));
        return 0;
    default:
        *why = "no type";
        return -1;
    }
}
