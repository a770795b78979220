/* Batched output on a libuv stream, shared by every server and client:
 * bytes collect in the caller's queue; ms_outq_write hands the kernel what
 * it takes now (uv_try_write) and the rest to one uv_write, while new bytes
 * keep collecting in the queue behind it. So a burst of small messages
 * costs one system call, and a slow peer never holds more than one write. */
#ifndef MS_CORE_OUTQ_H
#define MS_CORE_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "core/buf.h"

typedef struct {
    uv_stream_t *stream;
    ms_buf *out;     /* the caller's queue: bytes waiting to be written */
    ms_buf wbuf;     /* bytes owned by the write in flight */
    size_t inflight; /* bytes in wbuf; 0 when no write is in flight */
    uv_write_t req;
    /* Called when the write in flight ends (status < 0: the stream is
     * broken). Not called for writes that finish inside ms_outq_write. */
    void (*on_done)(void *data, int status);
    void *data;
} ms_outq;

void ms_outq_init(ms_outq *q, uv_stream_t *stream, ms_buf *out,
                  void (*on_done)(void *data, int status), void *data);
/* Writes *out: returns 0 when it is all written or a write is in flight
 * (q->inflight says which), or a negative libuv error. Does nothing while a
 * write is in flight. */
int ms_outq_write(ms_outq *q);
/* Forgets the queue's swap buffer (after the stream is closed). */
void ms_outq_free(ms_outq *q);

#endif
