/* The bus client's outgoing queue (client_writer.h). Output collects in
 * w->out and is flushed at the next loop turn: the kernel takes what it
 * can (uv_try_write), the rest goes to one uv_write at a time while new
 * output collects behind it (net/dial_io.c). */
#include <string.h>

#include "client/client_writer.h"
#include "mscada/error.h"
#include "mscada/mstime.h"

static void on_idle(uv_idle_t *h)
{
    ms_client_writer *w = h->data;
    uv_idle_stop(h);
    w->idle_on = false;
    ms_dial_conn_flush(w->conn);
}

void ms_client_writer_init(ms_client_writer *w, uv_loop_t *loop)
{
    memset(w, 0, sizeof *w);
    uv_idle_init(loop, &w->idle);
    w->idle.data = w;
}

void ms_client_writer_up(ms_client_writer *w, ms_dial_conn *conn)
{
    w->conn = conn;
    w->up = true;
}

void ms_client_writer_down(ms_client_writer *w)
{
    w->conn = NULL;
    w->up = false;
    w->out.off = w->out.len = 0;
    ms_buf_shrink(&w->out, 0);
}

static void on_idle_closed(uv_handle_t *h)
{
    ms_client_writer *w = h->data;
    w->on_closed(w->closed_arg);
}

void ms_client_writer_close(ms_client_writer *w, void (*on_closed)(void *arg),
                            void *arg)
{
    w->closing = true;
    w->on_closed = on_closed;
    w->closed_arg = arg;
    uv_close((uv_handle_t *)&w->idle, on_idle_closed);
}

void ms_client_writer_free(ms_client_writer *w)
{
    ms_buf_free(&w->out);
}

void ms_client_writer_trim(ms_client_writer *w)
{
    if (ms_buf_size(&w->out) == 0)
        ms_buf_shrink(&w->out, 1u << 20);
}

uint64_t ms_client_writer_stamp(ms_client_writer *w)
{
    uint64_t now = ms_time_now_us();
    if (now <= w->stamp)
        now = w->stamp + 1;
    w->stamp = now;
    return now;
}

/* Flushes at the next loop turn: the idle handle keeps the loop from
 * blocking in poll until then. */
static void kick(ms_client_writer *w)
{
    if (!w->idle_on && w->conn && !w->conn->q.inflight && !w->closing) {
        uv_idle_start(&w->idle, on_idle);
        w->idle_on = true;
    }
}

int ms_client_writer_send(ms_client_writer *w, uint8_t cmd, uint16_t tag_id,
                          uint64_t time_us, const uint8_t *data, size_t len)
{
    if (!w->up)
        return MS_ECLOSED;
    int rc = ms_client_put(&w->out, cmd, tag_id, time_us, data, len, NULL, 0);
    if (rc == 0)
        kick(w);
    return rc;
}

int ms_client_writer_send_value(ms_client_writer *w, uint8_t cmd,
                                uint16_t tag_id, uint64_t time_us,
                                const ms_value *v)
{
    if (!w->up)
        return MS_ECLOSED;
    int rc = ms_client_put_value(&w->out, cmd, tag_id, time_us, v);
    if (rc == 0)
        kick(w);
    return rc;
}
