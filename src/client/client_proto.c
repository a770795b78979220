/* The client's protocol codec: bus bytes -> events, requests -> bytes.
 * Pure: no I/O, no globals. */
#include <string.h>

#include "client/client_proto.h"
#include "mscada/error.h"

#define NAME_MAX_LEN 255

void ms_client_decoder_init(ms_client_decoder *d, size_t cap)
{
    ms_frame_reader_init(&d->reader, cap);
}

void ms_client_decoder_free(ms_client_decoder *d)
{
    ms_frame_reader_free(&d->reader);
}

void ms_client_event_from_msg(const ms_msg *m, ms_client_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->cmd = m->cmd;
    ev->tag_id = m->tag_id;
    ev->time_us = m->time_us;
    ev->data = m->data;
    ev->len = m->len;
    ev->value = ms_value_none();
    switch (m->cmd) {
    case MS_CMD_ID:
        ev->kind = MS_CEV_ID;
        break;
    case MS_CMD_SET:
    case MS_CMD_RTA:
        ev->kind = m->cmd == MS_CMD_SET ? MS_CEV_SET : MS_CEV_RTA;
        ev->value_err = ms_value_decode(m->data, m->len, &ev->value);
        if (ev->value_err < 0)
            ev->value = ms_value_none();
        break;
    case MS_CMD_LIST:
        ev->kind = MS_CEV_LIST;
        break;
    case MS_CMD_ERR:
        ev->kind = MS_CEV_ERR;
        break;
    default:
        ev->kind = MS_CEV_OTHER;
        break;
    }
}

int ms_client_decoder_next(ms_client_decoder *d, const uint8_t *buf,
                           size_t len, size_t *used, ms_client_event *ev)
{
    ms_msg m;
    int rc = ms_frame_reader_next(&d->reader, buf, len, used, &m);
    if (rc == 1)
        ms_client_event_from_msg(&m, ev);
    return rc;
}

int ms_client_put(ms_buf *out, uint8_t cmd, uint16_t tag_id,
                  uint64_t time_us, const uint8_t *a, size_t alen,
                  const uint8_t *b, size_t blen)
{
    size_t total = alen + blen;
    uint8_t *p = ms_buf_reserve(out, ms_frame_wire_size(total));
    if (!p)
        return MS_ENOMEM;
    uint8_t *start = p;
    size_t done = 0;
    for (;;) {
        size_t n = total - done;
        if (n > MS_FRAME_MAX_LEN)
            n = MS_FRAME_MAX_LEN;
        ms_frame_head_encode(p, cmd, tag_id, (uint16_t)n, time_us);
        p += MS_FRAME_HEAD;
        /* Copy this chunk's share of a, then of b. */
        size_t k = 0;
        if (done < alen) {
            size_t fa = alen - done < n ? alen - done : n;
            memcpy(p, a + done, fa);
            k = fa;
        }
        if (k < n)
            memcpy(p + k, b + (done + k - alen), n - k);
        p += n;
        done += n;
        /* A full chunk always needs a follower, even an empty one. */
        if (n < MS_FRAME_MAX_LEN)
            break;
    }
    ms_buf_commit(out, (size_t)(p - start));
    return 0;
}

int ms_client_put_value(ms_buf *out, uint8_t cmd, uint16_t tag_id,
                        uint64_t time_us, const ms_value *v)
{
    uint8_t head[9];
    switch (v->type) {
    case MS_TYPE_NONE:
        return ms_client_put(out, cmd, tag_id, time_us, NULL, 0, NULL, 0);
    case MS_TYPE_INT:
    case MS_TYPE_FLOAT:
        if (ms_value_encode(v, head, sizeof head) != 9)
            return MS_ETYPE;
        return ms_client_put(out, cmd, tag_id, time_us, head, 9, NULL, 0);
    case MS_TYPE_STR:
    case MS_TYPE_BYTES:
    case MS_TYPE_JSON:
        head[0] = (uint8_t)v->type;
        return ms_client_put(out, cmd, tag_id, time_us, head, 1,
                             v->u.buf.ptr, v->u.buf.len);
    }
    return MS_ETYPE;
}

bool ms_client_name_valid(const char *name, size_t len)
{
    const uint8_t *p = (const uint8_t *)name;
    if (len == 0 || len > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (p[i] <= 0x20 || p[i] == 0x7f)
            return false;
    return ms_utf8_valid(p, len);
}

/* Names never hold spaces or control bytes: any of them separates. */
static bool list_sep(char ch)
{
    return (unsigned char)ch <= ' ';
}

size_t ms_client_list_split(char *text, size_t len, const char **names,
                            size_t max)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && list_sep(text[i]))
            text[i++] = '\0';
        if (i >= len)
            break;
        if (n < max)
            names[n++] = text + i;
        while (i < len && !list_sep(text[i]))
            i++;
    }
    return n;
}
