/* Batched stream output: uv_try_write first, one uv_write for the rest. */
#include <stdint.h>

#include "net/outq.h"

void ms_outq_init(ms_outq *q, uv_stream_t *stream, ms_buf *out,
                  void (*on_done)(void *data, int status), void *data)
{
    *q = (ms_outq){0};
    q->stream = stream;
    q->out = out;
    q->on_done = on_done;
    q->data = data;
}

static void outq_written(uv_write_t *req, int status)
{
    ms_outq *q = req->data;
    q->inflight = 0;
    q->wbuf.off = q->wbuf.len = 0;
    ms_buf_shrink(&q->wbuf, 1u << 20);
    q->on_done(q->data, status);
}

int ms_outq_write(ms_outq *q)
{
    while (!q->inflight) {
        size_t size = ms_buf_size(q->out);
        if (size == 0)
            return 0;
        uv_buf_t b = uv_buf_init((char *)ms_buf_head(q->out),
                                 (unsigned)(size > UINT32_MAX / 2
                                                ? UINT32_MAX / 2 : size));
        int n = uv_try_write(q->stream, &b, 1);
        if (n < 0 && n != UV_EAGAIN)
            return n;
        if (n > 0)
            ms_buf_consume(q->out, (size_t)n);
        if (n >= 0 && (size_t)n == b.len)
            continue;
        /* The kernel is full: the rest goes by uv_write, from a buffer of
         * its own so that the queue can keep growing meanwhile. */
        ms_buf tmp = q->wbuf;
        q->wbuf = *q->out;
        *q->out = tmp;
        q->out->off = q->out->len = 0;
        size_t left = ms_buf_size(&q->wbuf);
        uv_buf_t wb = uv_buf_init((char *)ms_buf_head(&q->wbuf),
                                  (unsigned)left);
        q->req.data = q;
        int rc = uv_write(&q->req, q->stream, &wb, 1, outq_written);
        if (rc < 0)
            return rc;
        q->inflight = left;
    }
    return 0;
}

void ms_outq_free(ms_outq *q)
{
    ms_buf_free(&q->wbuf);
    q->inflight = 0;
}
