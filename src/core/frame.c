/* Bus frame codec: headers, chunked encoding and re-assembly. Pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/value.h"

struct ms_frame_pending {
    uint16_t tag_id;
    uint8_t *data;
    size_t len, alloc;
};

const char *ms_cmd_name(int cmd)
{
    static const char *names[] = {NULL,    "ID",    "SET",  "GET", "RTA",
                                  "SUB",   "UNSUB", "LIST", "ERR", "LOG"};
    if (cmd < 1 || cmd > 9)
        return NULL;
    return names[cmd];
}

int ms_frame_head_decode(const uint8_t *buf, size_t len, ms_frame_head *h)
{
    if (len < MS_FRAME_HEAD)
        return 0;
    h->version = buf[0];
    h->cmd = buf[1];
    h->tag_id = ms_get_u16(buf + 2);
    h->size = ms_get_u16(buf + 4);
    h->time_us = ms_get_u64(buf + 6);
    if (h->version != MS_FRAME_VERSION)
        return MS_EPROTO;
    return MS_FRAME_HEAD;
}

void ms_frame_head_encode(uint8_t out[MS_FRAME_HEAD], uint8_t cmd,
                          uint16_t tag_id, uint16_t size, uint64_t time_us)
{
    out[0] = MS_FRAME_VERSION;
    out[1] = cmd;
    ms_put_u16(out + 2, tag_id);
    ms_put_u16(out + 4, size);
    ms_put_u64(out + 6, time_us);
}

size_t ms_frame_wire_size(size_t len)
{
    return len + (len / MS_FRAME_MAX_LEN + 1) * MS_FRAME_HEAD;
}

size_t ms_frame_encode(uint8_t *out, uint8_t cmd, uint16_t tag_id,
                       uint64_t time_us, const uint8_t *data, size_t len)
{
    uint8_t *p = out;
    for (;;) {
        size_t n = len < MS_FRAME_MAX_LEN ? len : MS_FRAME_MAX_LEN;
        ms_frame_head_encode(p, cmd, tag_id, (uint16_t)n, time_us);
        p += MS_FRAME_HEAD;
        if (n) {
            memcpy(p, data, n);
            p += n;
            data += n;
        }
        len -= n;
        /* A full chunk always needs a follower, even an empty one. */
        if (n < MS_FRAME_MAX_LEN)
            break;
    }
    return (size_t)(p - out);
}

void ms_frame_reader_init(ms_frame_reader *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->cap = cap ? cap : MS_FRAME_DEFAULT_CAP;
}

/* Keeps the larger of buf and the spare for the next partial payload: a
 * stream of chunked messages then re-assembles into the same memory instead
 * of fresh pages each time. Held at most: one buffer besides the partials. */
static void spare_keep(ms_frame_reader *r, uint8_t *buf, size_t alloc)
{
    if (alloc > r->spare_alloc) {
        free(r->spare);
        r->spare = buf;
        r->spare_alloc = alloc;
    } else {
        free(buf);
    }
}

void ms_frame_reader_reset(ms_frame_reader *r, size_t cap)
{
    for (size_t i = 0; i < r->npend; i++)
        spare_keep(r, r->pend[i].data, r->pend[i].alloc);
    spare_keep(r, r->out, r->out_alloc);
    r->out = NULL;
    r->out_alloc = 0;
    r->npend = 0;
    r->held = 0;
    r->cap = cap ? cap : MS_FRAME_DEFAULT_CAP;
    memset(&r->bad, 0, sizeof r->bad);
}

void ms_frame_reader_free(ms_frame_reader *r)
{
    for (size_t i = 0; i < r->npend; i++)
        free(r->pend[i].data);
    free(r->pend);
    free(r->out);
    free(r->spare);
    memset(r, 0, sizeof *r);
}

void ms_frame_reader_describe(const ms_frame_reader *r, int err, char *why,
                              size_t cap)
{
    if (err == MS_EPROTO)
        snprintf(why, cap, "bad protocol version %u (want %u)",
                 r->bad.version, MS_FRAME_VERSION);
    else if (err == MS_ETOOBIG)
        snprintf(why, cap, "payload for tag id %u over the %zu-byte cap",
                 r->bad.tag_id, r->cap);
    else
        snprintf(why, cap, "%s", ms_strerror(err));
}

static ms_frame_pending *pending_find(ms_frame_reader *r, uint16_t tag_id)
{
    for (size_t i = 0; i < r->npend; i++)
        if (r->pend[i].tag_id == tag_id)
            return &r->pend[i];
    return NULL;
}

/* Appends a chunk to tag_id's partial payload, creating it if needed. */
static int pending_append(ms_frame_reader *r, uint16_t tag_id,
                          const uint8_t *data, size_t n)
{
    if (r->held + n > r->cap)
        return MS_ETOOBIG;
    ms_frame_pending *p = pending_find(r, tag_id);
    if (!p) {
        ms_frame_pending *np =
            ms_grow(r->pend, r->npend, &r->apend, sizeof *np, 4);
        if (!np)
            return MS_ENOMEM;
        r->pend = np;
        p = &r->pend[r->npend++];
        memset(p, 0, sizeof *p);
        p->tag_id = tag_id;
        p->data = r->spare;
        p->alloc = r->spare_alloc;
        r->spare = NULL;
        r->spare_alloc = 0;
    }
    if (p->len + n > p->alloc) {
        size_t na = p->alloc ? p->alloc : 2 * MS_FRAME_MAX_LEN;
        while (na < p->len + n)
            na *= 2;
        uint8_t *nd = realloc(p->data, na);
        if (!nd)
            return MS_ENOMEM;
        p->data = nd;
        p->alloc = na;
    }
    memcpy(p->data + p->len, data, n);
    p->len += n;
    r->held += n;
    return 0;
}

int ms_frame_reader_next(ms_frame_reader *r, const uint8_t *buf, size_t len,
                         size_t *used, ms_msg *msg)
{
    size_t off = 0;
    spare_keep(r, r->out, r->out_alloc);
    r->out = NULL;
    r->out_alloc = 0;
    for (;;) {
        ms_frame_head h;
        int rc = ms_frame_head_decode(buf + off, len - off, &h);
        if (rc < 0) {
            r->bad = h;
            *used = off;
            return rc;
        }
        if (rc == 0 || len - off - MS_FRAME_HEAD < h.size) {
            *used = off;
            return 0;
        }
        const uint8_t *data = buf + off + MS_FRAME_HEAD;
        off += MS_FRAME_HEAD + h.size;
        if (h.size == MS_FRAME_MAX_LEN) {
            rc = pending_append(r, h.tag_id, data, h.size);
            if (rc < 0) {
                r->bad = h;
                *used = off;
                return rc;
            }
            continue;
        }
        msg->cmd = h.cmd;
        msg->tag_id = h.tag_id;
        msg->time_us = h.time_us;
        ms_frame_pending *p = pending_find(r, h.tag_id);
        if (!p && h.size > r->cap) {
            r->bad = h;
            *used = off;
            return MS_ETOOBIG;
        }
        if (!p) {
            msg->data = data;
            msg->len = h.size;
        } else {
            rc = pending_append(r, h.tag_id, data, h.size);
            if (rc < 0) {
                r->bad = h;
                *used = off;
                return rc;
            }
            p = pending_find(r, h.tag_id);
            /* Hand the assembled payload over; the slot is reused. */
            r->out = p->data;
            r->out_alloc = p->alloc;
            msg->data = p->data;
            msg->len = p->len;
            r->held -= p->len;
            *p = r->pend[--r->npend];
        }
        *used = off;
        return 1;
    }
}
