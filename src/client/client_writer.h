/* The bus client's outgoing messages: the queue they are framed into, the
 * unique stamps requests carry, and the flush at the next loop turn (an
 * idle handle), so that many sets in one callback go out in one write.
 * The connection (client.c) hands it a dial connection when up and takes
 * it back when down; the tags and the requests write through it. It calls
 * none of them. */
#ifndef MS_CLIENT_WRITER_H
#define MS_CLIENT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "client/client_proto.h"
#include "core/buf.h"
#include "net/dial.h"
#include "mscada/value.h"

typedef struct {
    ms_buf out;           /* queued, not yet handed to the kernel */
    ms_dial_conn *conn;   /* writes `out` while up; NULL when nobody does */
    bool up;              /* sends are taken (else MS_ECLOSED) */
    bool closing;
    uv_idle_t idle;       /* flushes output at the next loop turn */
    bool idle_on;
    uint64_t stamp;       /* last request time_us handed out */
    void (*on_closed)(void *arg);
    void *closed_arg;
} ms_client_writer;

/* A writer that is down. A zeroed writer is one too, with no idle handle:
 * it never flushes by itself (tests read `out`). */
void ms_client_writer_init(ms_client_writer *w, uv_loop_t *loop);
/* Sends are taken from now on; conn writes them (NULL: they stay in out
 * for the owner to read). */
void ms_client_writer_up(ms_client_writer *w, ms_dial_conn *conn);
/* The connection is gone: what is queued goes with it, and sends fail
 * until the next up. */
void ms_client_writer_down(ms_client_writer *w);
/* Closes the idle handle; on_closed(arg) when it is. Then _free. */
void ms_client_writer_close(ms_client_writer *w, void (*on_closed)(void *arg),
                            void *arg);
void ms_client_writer_free(ms_client_writer *w);

static inline bool ms_client_writer_is_up(const ms_client_writer *w)
{
    return w->up;
}
/* Bytes waiting and in flight on the connection. */
static inline size_t ms_client_writer_queued(const ms_client_writer *w)
{
    return ms_buf_size(&w->out) + (w->conn ? w->conn->q.inflight : 0);
}
/* All is written: a burst's memory goes. */
void ms_client_writer_trim(ms_client_writer *w);

/* A unique, increasing time_us for a request, so that an ERR (which echoes
 * it) can be matched. */
uint64_t ms_client_writer_stamp(ms_client_writer *w);

/* Queues one message and arranges a flush. Returns 0, MS_ECLOSED (down),
 * MS_ENOMEM. */
int ms_client_writer_send(ms_client_writer *w, uint8_t cmd, uint16_t tag_id,
                          uint64_t time_us, const uint8_t *data, size_t len);
/* A SET or RTA carrying v; also MS_ETYPE. */
int ms_client_writer_send_value(ms_client_writer *w, uint8_t cmd,
                                uint16_t tag_id, uint64_t time_us,
                                const ms_value *v);

#endif
