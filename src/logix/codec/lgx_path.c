/* EPATHs: symbolic tag addresses (0x91 names, 0x28/0x29/0x2A element
 * indexes, one per dimension), logical class/instance/attribute segments,
 * port segments of a route, and the parse of logixclient.yaml's
 * read/write addresses (which carry a bit the wire never sees: bits are
 * read as the word and written with Read-Modify-Write). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logix/codec/lgx_codec.h"

static bool name_char(char c, bool first)
{
    return isalpha((unsigned char)c) || c == '_' ||
           (!first && (isdigit((unsigned char)c) || c == ':'));
}

static void put_index(ms_lgx_w *w, uint32_t v)
{
    if (v <= 0xFF) {
        ms_lgx_put8(w, 0x28);
        ms_lgx_put8(w, (uint8_t)v);
    } else if (v <= 0xFFFF) {
        ms_lgx_put8(w, 0x29);
        ms_lgx_put8(w, 0);
        ms_lgx_put16(w, (uint16_t)v);
    } else {
        ms_lgx_put8(w, 0x2A);
        ms_lgx_put8(w, 0);
        ms_lgx_put32(w, v);
    }
}

/* Parses "[i,j,k]" at *s into idx; returns the count or -1. */
static int parse_indexes(const char **s, uint32_t *idx)
{
    const char *p = *s + 1;
    int n = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (!isdigit((unsigned char)*p) || n == MS_LGX_DIMS)
            return -1;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (v > 0xFFFFFFFFull)
            return -1;
        idx[n++] = (uint32_t)v;
        p = end;
        while (*p == ' ')
            p++;
        if (*p == ']')
            break;
        if (*p != ',')
            return -1;
        p++;
    }
    *s = p + 1;
    return n;
}

static int encode(const char *tag, const uint32_t *extra, int nextra,
                  uint8_t *out, size_t cap)
{
    ms_lgx_w w;
    ms_lgx_w_init(&w, out, cap < MS_LGX_PATH_MAX ? cap : MS_LGX_PATH_MAX);
    const char *s = tag;
    for (;;) {
        const char *b = s;
        /* Program:Name is one segment; a ':' only after the first char */
        if (!name_char(*s, true))
            return -1;
        while (name_char(*s, false))
            s++;
        size_t len = (size_t)(s - b);
        if (len > 255)
            return -1;
        ms_lgx_put8(&w, 0x91);
        ms_lgx_put8(&w, (uint8_t)len);
        ms_lgx_put(&w, b, len);
        if (len & 1)
            ms_lgx_put8(&w, 0);
        if (*s == '[') {
            uint32_t idx[MS_LGX_DIMS];
            int n = parse_indexes(&s, idx);
            if (n < 0)
                return -1;
            for (int i = 0; i < n; i++)
                put_index(&w, idx[i]);
        }
        if (*s == 0)
            break;
        if (*s != '.')
            return -1;
        s++;
    }
    for (int i = 0; i < nextra; i++)
        put_index(&w, extra[i]);
    return w.err ? -1 : (int)w.len;
}

int ms_lgx_path_tag(const char *tag, uint8_t *out, size_t cap)
{
    return encode(tag, NULL, 0, out, cap);
}

int ms_lgx_path_tag_at(const char *tag, const uint32_t *idx, int ndim,
                       uint8_t *out, size_t cap)
{
    if (ndim < 0 || ndim > MS_LGX_DIMS)
        return -1;
    return encode(tag, idx, ndim, out, cap);
}

int ms_lgx_path_logical(uint16_t cls, uint32_t inst, uint8_t *out,
                        size_t cap)
{
    ms_lgx_w w;
    ms_lgx_w_init(&w, out, cap);
    if (cls <= 0xFF) {
        ms_lgx_put8(&w, 0x20);
        ms_lgx_put8(&w, (uint8_t)cls);
    } else {
        ms_lgx_put8(&w, 0x21);
        ms_lgx_put8(&w, 0);
        ms_lgx_put16(&w, cls);
    }
    if (inst <= 0xFF) {
        ms_lgx_put8(&w, 0x24);
        ms_lgx_put8(&w, (uint8_t)inst);
    } else if (inst <= 0xFFFF) {
        ms_lgx_put8(&w, 0x25);
        ms_lgx_put8(&w, 0);
        ms_lgx_put16(&w, (uint16_t)inst);
    } else {
        ms_lgx_put8(&w, 0x26);
        ms_lgx_put8(&w, 0);
        ms_lgx_put32(&w, inst);
    }
    return w.err ? -1 : (int)w.len;
}

int ms_lgx_path_split(const uint8_t *p, size_t n, ms_lgx_seg *out,
                      size_t cap)
{
    size_t off = 0;
    int count = 0;
    while (off < n) {
        if ((size_t)count == cap)
            return -1;
        ms_lgx_seg *s = &out[count++];
        memset(s, 0, sizeof *s);
        uint8_t t = p[off];
        size_t left = n - off;
        if (t == 0x91) {
            if (left < 2 || (size_t)p[off + 1] + 2 > left)
                return -1;
            s->kind = MS_LGX_SEG_NAME;
            s->len = p[off + 1];
            s->name = p + off + 2;
            off += 2 + s->len + (s->len & 1u);
            if (off > n)
                return -1;
            continue;
        }
        if (t < 0x20) { /* port segment */
            s->kind = MS_LGX_SEG_PORT;
            s->value = t & 0x0Fu;
            if (s->value == 0x0F) /* 16-bit port numbers: not taken */
                return -1;
            if (t & 0x10) {
                if (left < 2 || (size_t)p[off + 1] + 2 > left)
                    return -1;
                s->len = p[off + 1];
                s->name = p + off + 2;
                off += 2 + s->len + (s->len & 1u);
                if (off > n)
                    return -1;
            } else {
                if (left < 2)
                    return -1;
                s->len = 1;
                s->name = p + off + 1;
                off += 2;
            }
            continue;
        }
        uint8_t kind;
        switch (t & 0xFC) {
        case 0x20: kind = MS_LGX_SEG_CLASS; break;
        case 0x24: kind = MS_LGX_SEG_INSTANCE; break;
        case 0x28: kind = MS_LGX_SEG_INDEX; break;
        case 0x30: kind = MS_LGX_SEG_ATTR; break;
        default: return -1;
        }
        s->kind = kind;
        switch (t & 3) {
        case 0:
            if (left < 2)
                return -1;
            s->value = p[off + 1];
            off += 2;
            break;
        case 1:
            if (left < 4)
                return -1;
            s->value = ms_lgx_u16(p + off + 2);
            off += 4;
            break;
        case 2:
            if (left < 6)
                return -1;
            s->value = ms_lgx_u32(p + off + 2);
            off += 6;
            break;
        default:
            return -1;
        }
    }
    return count;
}

int ms_lgx_addr_parse(const char *text, ms_lgx_addr *a)
{
    memset(a, 0, sizeof *a);
    a->bit = -1;
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof a->tag)
        return -1;
    memcpy(a->tag, text, n + 1);
    /* a last member of digits only is a bit */
    char *dot = strrchr(a->tag, '.');
    if (dot && dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1)) {
        long bit = strtol(dot + 1, NULL, 10);
        if (strlen(dot + 1) > 2 || bit > 63)
            return -1;
        a->bit = (int)bit;
        *dot = 0;
    }
    n = strlen(a->tag);
    if (n && a->tag[n - 1] == ']') {
        char *open = strrchr(a->tag, '[');
        if (!open)
            return -1;
        const char *s = open;
        int nd = parse_indexes(&s, a->idx);
        if (nd < 0 || *s)
            return -1;
        a->ndim = nd;
        *open = 0;
    }
    uint8_t path[MS_LGX_PATH_MAX];
    return ms_lgx_path_tag_at(a->tag, a->idx, a->ndim, path, sizeof path) < 0
               ? -1 : 0;
}

/* One link address: a number (slot), or an IPv4 text. */
static int put_port(ms_lgx_w *w, unsigned port, const char *link, size_t len)
{
    if (port == 0 || port >= 15 || len == 0 || len > 63)
        return -1;
    bool digits = true;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)link[i]))
            digits = false;
    if (digits && len <= 3) {
        unsigned v = (unsigned)strtoul(link, NULL, 10);
        if (v > 255)
            return -1;
        ms_lgx_put8(w, (uint8_t)port);
        ms_lgx_put8(w, (uint8_t)v);
        return 0;
    }
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)link[i]) && link[i] != '.')
            return -1;
    ms_lgx_put8(w, (uint8_t)(0x10 | port));
    ms_lgx_put8(w, (uint8_t)len);
    ms_lgx_put(w, link, len);
    if (len & 1)
        ms_lgx_put8(w, 0);
    return 0;
}

int ms_lgx_route_encode(const char *text, uint8_t *out, size_t cap)
{
    ms_lgx_w w;
    ms_lgx_w_init(&w, out, cap);
    const char *s = text;
    while (*s == ' ')
        s++;
    while (*s) {
        size_t plen = strcspn(s, ",/");
        if (!s[plen])
            return -1; /* a port without its link */
        unsigned port;
        if (plen == 2 && !strncmp(s, "bp", 2))
            port = 1;
        else if (plen == 4 && !strncmp(s, "enet", 4))
            port = 2;
        else if (plen >= 1 && plen <= 2 && strspn(s, "0123456789") == plen)
            port = (unsigned)strtoul(s, NULL, 10);
        else
            return -1;
        s += plen + 1;
        size_t llen = strcspn(s, ",/");
        if (put_port(&w, port, s, llen) < 0)
            return -1;
        s += llen;
        if (*s)
            s++;
    }
    return w.err ? -1 : (int)w.len;
}
