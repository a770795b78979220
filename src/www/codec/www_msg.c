/* Browser message codec (www_msg.h). */
#include "www/codec/www_msg.h"

#include <stdio.h>
#include <string.h>

#include "mscada/error.h"
#include "www/codec/www_json.h"

int ms_www_msg_decode(const char *text, size_t len, ms_www_msg *m,
                      char *why, size_t whylen)
{
    memset(m, 0, sizeof *m);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                              &jerr);
    if (!root) {
        snprintf(why, whylen, "not JSON (%s at character %d)", jerr.text,
                 jerr.position);
        return MS_EPROTO;
    }
    if (!json_is_object(root)) {
        snprintf(why, whylen, "not a JSON object");
        goto bad;
    }
    const char *type = json_string_value(json_object_get(root, "type"));
    if (!type) {
        snprintf(why, whylen, "no \"type\"");
        goto bad;
    }
    static const struct {
        const char *name;
        ms_www_cmd cmd;
    } cmds[] = {{"sub", MS_WWW_SUB},     {"set", MS_WWW_SET},
                {"rta", MS_WWW_RTA},     {"rqs", MS_WWW_RTA},
                {"get", MS_WWW_GET},     {"unsub", MS_WWW_UNSUB},
                {"file", MS_WWW_FILE}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(type, cmds[i].name))
            m->cmd = cmds[i].cmd;
    if (!m->cmd) {
        snprintf(why, whylen, "unknown type '%.40s'", type);
        goto bad;
    }
    m->rqs = !strcmp(type, "rqs");
    m->root = root;
    if (m->cmd == MS_WWW_FILE)
        return 0;
    json_t *name = json_object_get(root, "tagname");
    if (!json_is_string(name) || !json_string_length(name)) {
        snprintf(why, whylen, "%s without a tagname", type);
        goto bad;
    }
    m->tagname = json_string_value(name);
    m->value = json_object_get(root, "value");
    if (!m->value)
        m->value = json_null(); /* a static singleton: no ref needed */
    if (m->cmd == MS_WWW_RTA && !json_is_object(m->value)) {
        snprintf(why, whylen, "%s to %.100s: value is not an object", type,
                 m->tagname);
        goto bad;
    }
    return 0;
bad:
    json_decref(root);
    memset(m, 0, sizeof *m);
    return MS_EPROTO;
}

size_t ms_www_ws_header(uint8_t *h, int opcode, size_t len)
{
    h[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        h[1] = (uint8_t)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        ms_put_u16(h + 2, (uint16_t)len);
        return 4;
    }
    h[1] = 127;
    ms_put_u64(h + 2, len);
    return 10;
}

size_t ms_www_value_size(const ms_value *v)
{
    if (v->type == MS_TYPE_INT || v->type == MS_TYPE_FLOAT)
        return 20;
    return 12 + v->u.buf.len;
}

void ms_www_value_put(uint8_t *out, uint16_t id, uint64_t time_us,
                      const ms_value *v)
{
    ms_put_u16(out, id);
    ms_put_u16(out + 2, (uint16_t)v->type);
    ms_put_u64(out + 4, time_us);
    if (v->type == MS_TYPE_INT) {
        ms_put_u64(out + 12, (uint64_t)v->u.i);
    } else if (v->type == MS_TYPE_FLOAT) {
        uint64_t bits;
        memcpy(&bits, &v->u.f, 8);
        ms_put_u64(out + 12, bits);
    } else if (v->u.buf.len) {
        memcpy(out + 12, v->u.buf.ptr, v->u.buf.len);
    }
}

int ms_www_frame_value(ms_buf *out, uint16_t id, uint64_t time_us,
                       const ms_value *v)
{
    size_t n = ms_www_value_size(v);
    uint8_t *p = ms_buf_reserve(out, n + 10);
    if (!p)
        return MS_ENOMEM;
    size_t h = ms_www_ws_header(p, MS_WS_BINARY, n);
    ms_www_value_put(p + h, id, time_us, v);
    ms_buf_commit(out, h + n);
    return 0;
}

/* Appends a text frame whose payload the caller writes at out's end from
 * mark on: the header is made room for first, then slid into place. */
static int text_frame_end(ms_buf *out, size_t mark)
{
    size_t n = out->len - mark - 10;
    uint8_t hdr[10];
    size_t h = ms_www_ws_header(hdr, MS_WS_TEXT, n);
    uint8_t *base = out->data + mark;
    memmove(base + h, base + 10, n);
    memcpy(base, hdr, h);
    out->len = mark + h + n;
    return 0;
}

int ms_www_frame_json(ms_buf *out, const char *type, const json_t *payload)
{
    size_t mark = out->len;
    if (!ms_buf_reserve(out, 10))
        return MS_ENOMEM;
    ms_buf_commit(out, 10);
    char head[64];
    int n = snprintf(head, sizeof head, "{\"type\": \"%s\", \"payload\": ",
                     type);
    if (ms_buf_append(out, head, (size_t)n) < 0 ||
        ms_www_json_dump(payload, out) < 0 || ms_buf_append(out, "}", 1) < 0) {
        out->len = mark;
        return MS_ENOMEM;
    }
    return text_frame_end(out, mark);
}

int ms_www_frame_tag(ms_buf *out, uint16_t id, uint64_t time_us,
                     const char *json, size_t len)
{
    size_t mark = out->len;
    if (!ms_buf_reserve(out, 10))
        return MS_ENOMEM;
    ms_buf_commit(out, 10);
    char head[128];
    int n = snprintf(head, sizeof head,
                     "{\"type\": \"tag\", \"payload\": {\"tagid\": %u, "
                     "\"time_us\": %llu, \"value\": ",
                     id, (unsigned long long)time_us);
    if (ms_buf_append(out, head, (size_t)n) < 0 ||
        ms_buf_append(out, json, len) < 0 || ms_buf_append(out, "}}", 2) < 0) {
        out->len = mark;
        return MS_ENOMEM;
    }
    return text_frame_end(out, mark);
}

int ms_www_value_rta_id(const ms_value *v, const json_t *parsed)
{
    if (v->type == MS_TYPE_BYTES)
        return v->u.buf.len >= 2 ? ms_get_u16(v->u.buf.ptr) : 0;
    json_t *id = json_object_get(parsed, "__rta_id__");
    if (!id)
        id = json_object_get(parsed, "__rqs_id__");
    return json_is_integer(id) ? (int)json_integer_value(id) : 0;
}
