/* Stream I/O on a dialer's up connection, for its owner: reads into the
 * owner's input buffer, which the owner decodes, and writes its output
 * buffer in batches (ms_outq). Every callback may drop the connection or
 * close the owner, so each is followed by a look at conn->dropped. */
#include "net/dial.h"

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    ms_dial_conn *conn = h->data;
    size_t n = conn->io->chunk;
    (void)suggested;
    uint8_t *p = ms_buf_reserve(conn->in, n);
    *buf = uv_buf_init((char *)p, p ? (unsigned)n : 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    ms_dial_conn *conn = s->data;
    (void)buf;
    if (conn->dropped)
        return;
    if (nread < 0) {
        conn->io->on_broken(conn, nread == UV_EOF ? conn->io->eof_why
                                                  : uv_strerror((int)nread));
        return;
    }
    if (nread == 0)
        return;
    ms_buf_commit(conn->in, (size_t)nread);
    conn->io->on_data(conn);
}

static void on_written(void *data, int status)
{
    ms_dial_conn *conn = data;
    if (conn->dropped)
        return;
    if (status < 0) {
        conn->io->on_broken(conn, uv_strerror(status));
        return;
    }
    ms_dial_conn_flush(conn);
}

int ms_dial_conn_start(ms_dial_conn *conn, ms_buf *in, ms_buf *out,
                       const ms_dial_io *io)
{
    conn->in = in;
    conn->io = io;
    ms_outq_init(&conn->q, (uv_stream_t *)&conn->tcp, out, on_written, conn);
    in->off = in->len = 0;
    out->off = out->len = 0;
    return uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
}

void ms_dial_conn_flush(ms_dial_conn *conn)
{
    while (conn && !conn->dropped && !conn->q.inflight) {
        if (ms_buf_size(conn->q.out) == 0) {
            if (!conn->io->on_drained)
                return;
            conn->io->on_drained(conn);
            if (ms_buf_size(conn->q.out) == 0)
                return;
            continue;
        }
        int rc = ms_outq_write(&conn->q);
        if (rc < 0) {
            conn->io->on_broken(conn, uv_strerror(rc));
            return;
        }
    }
}
