/* Python-compatible JSON text and YAML-to-JSON (www_json.h). jansson holds
 * the trees; its own dumper prints floats with 17 digits, which Python
 * would not, so the text is made here. */
#include "www/codec/www_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/yaml11.h"
#include "mscada/error.h"

int ms_www_float_repr(double d, char *buf)
{
    if (isnan(d))
        return sprintf(buf, "NaN");
    if (isinf(d))
        return sprintf(buf, d < 0 ? "-Infinity" : "Infinity");
    /* Shortest digits that read back as d (Python's repr rule). */
    char e[40];
    int prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec, d);
        if (strtod(e, NULL) == d)
            break;
    }
    /* e: [-]D[.DDD]e[+-]XX -> digits and a decimal exponent. */
    const char *p = e;
    bool neg = *p == '-';
    if (neg)
        p++;
    char digits[24];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = 0;
    int exp = atoi(p + 1);
    char *o = buf;
    if (neg)
        *o++ = '-';
    if (exp >= 16 || exp < -4) {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        o += sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    } else if (exp < 0) {
        o += sprintf(o, "0.");
        for (int i = -1; i > exp; i--)
            *o++ = '0';
        memcpy(o, digits, (size_t)nd);
        o += nd;
    } else {
        for (int i = 0; i <= exp; i++)
            *o++ = i < nd ? digits[i] : '0';
        *o++ = '.';
        if (nd > exp + 1) {
            memcpy(o, digits + exp + 1, (size_t)(nd - exp - 1));
            o += nd - exp - 1;
        } else {
            *o++ = '0';
        }
    }
    *o = 0;
    return (int)(o - buf);
}

static int put(ms_buf *b, const char *s, size_t n)
{
    return ms_buf_append(b, s, n) < 0 ? MS_ENOMEM : 0;
}

/* A string as json.dumps(ensure_ascii=True) writes it. */
static int dump_str(const char *s, size_t len, ms_buf *b)
{
    uint8_t *o = ms_buf_reserve(b, len * 12 + 2);
    if (!o)
        return MS_ENOMEM;
    uint8_t *start = o;
    const uint8_t *p = (const uint8_t *)s, *end = p + len;
    *o++ = '"';
    while (p < end) {
        uint32_t c = *p++;
        if (c >= 0x80) { /* jansson holds valid UTF-8 */
            int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
            c &= 0x3f >> more;
            for (int i = 0; i < more && p < end; i++)
                c = (c << 6) | (*p++ & 0x3f);
        }
        switch (c) {
        case '"': *o++ = '\\'; *o++ = '"'; continue;
        case '\\': *o++ = '\\'; *o++ = '\\'; continue;
        case '\n': *o++ = '\\'; *o++ = 'n'; continue;
        case '\r': *o++ = '\\'; *o++ = 'r'; continue;
        case '\t': *o++ = '\\'; *o++ = 't'; continue;
        case '\b': *o++ = '\\'; *o++ = 'b'; continue;
        case '\f': *o++ = '\\'; *o++ = 'f'; continue;
        }
        if (c < 0x20 || (c >= 0x7f && c < 0x10000)) {
            o += sprintf((char *)o, "\\u%04x", c);
        } else if (c >= 0x10000) {
            c -= 0x10000;
            o += sprintf((char *)o, "\\u%04x\\u%04x", 0xd800 + (c >> 10),
                         0xdc00 + (c & 0x3ff));
        } else {
            *o++ = (uint8_t)c;
        }
    }
    *o++ = '"';
    ms_buf_commit(b, (size_t)(o - start));
    return 0;
}

int ms_www_json_dump(const json_t *j, ms_buf *b)
{
    char num[48];
    int rc = 0;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *v;
        bool first = true;
        rc = put(b, "{", 1);
        json_object_foreach((json_t *)j, key, v) {
            if (!first)
                rc |= put(b, ", ", 2);
            first = false;
            rc |= dump_str(key, strlen(key), b);
            rc |= put(b, ": ", 2);
            rc |= ms_www_json_dump(v, b);
        }
        return rc | put(b, "}", 1);
    }
    case JSON_ARRAY:
        rc = put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i)
                rc |= put(b, ", ", 2);
            rc |= ms_www_json_dump(json_array_get(j, i), b);
        }
        return rc | put(b, "]", 1);
    case JSON_STRING:
        return dump_str(json_string_value(j), json_string_length(j), b);
    case JSON_INTEGER:
        return put(b, num, (size_t)sprintf(num, "%lld",
                                           (long long)json_integer_value(j)));
    case JSON_REAL:
        return put(b, num, (size_t)ms_www_float_repr(json_real_value(j), num));
    case JSON_TRUE:
        return put(b, "true", 4);
    case JSON_FALSE:
        return put(b, "false", 5);
    case JSON_NULL:
    default:
        return put(b, "null", 4);
    }
}

char *ms_www_json_text(const json_t *j, size_t *len)
{
    ms_buf b = {0};
    if (ms_www_json_dump(j, &b) < 0 || ms_buf_append(&b, "", 1) < 0) {
        ms_buf_free(&b);
        return NULL;
    }
    if (len)
        *len = b.len - 1;
    return (char *)b.data;
}

/* PyYAML's bool words (YAML 1.1). */
static int yaml_bool(const char *s)
{
    static const char *const yes[] = {"yes", "Yes", "YES", "true", "True",
                                      "TRUE", "on", "On", "ON", NULL};
    static const char *const no[] = {"no", "No", "NO", "false", "False",
                                     "FALSE", "off", "Off", "OFF", NULL};
    for (int i = 0; yes[i]; i++)
        if (!strcmp(s, yes[i]))
            return 1;
    for (int i = 0; no[i]; i++)
        if (!strcmp(s, no[i]))
            return 0;
    return -1;
}

json_t *ms_www_conf_json(const ms_conf_node *n)
{
    if (!n)
        return json_null();
    if (n->kind == MS_CONF_MAP) {
        json_t *o = json_object();
        for (size_t i = 0; o && i < n->n; i++) {
            json_t *v = ms_www_conf_json(n->items[i]);
            if (!v || json_object_setn_new(o, n->keys[i]->text,
                                           n->keys[i]->len, v) < 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    if (n->kind == MS_CONF_SEQ) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n->n; i++) {
            if (json_array_append_new(a, ms_www_conf_json(n->items[i])) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    if (!n->quoted) {
        if (n->null)
            return json_null();
        int b = yaml_bool(n->text);
        if (b >= 0)
            return json_boolean(b);
        int64_t i;
        double d;
        if (ms_yaml11_int(n->text, n->len, &i))
            return json_integer(i);
        if (ms_yaml11_float(n->text, n->len, &d))
            return isfinite(d) ? json_real(d) : json_null();
    }
    return json_stringn(n->text, n->len);
}
