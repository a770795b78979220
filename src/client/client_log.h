/* LOG only to a bus that takes it (client_log.c). pymscada's 2024 bus has
 * no LOG command: its reader for a connection that sends one dies, and
 * nothing that connection sends is answered again. Only a LOG sets
 * `__bus__` on pymscada's bus (mscada's sets it at start), and an ID
 * reply carries the tag's time: so the first line of a connection waits
 * for the ID reply of `__bus__`, and lines go only if it was ever set. */
#ifndef MS_CLIENT_LOG_H
#define MS_CLIENT_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "client/client_proto.h"
#include "client/client_writer.h"

#define MS_LOG_HELD_MAX 16

typedef struct {
    bool asked;       /* the ID of __bus__ is out on this connection */
    int ok;           /* -1 unknown, 0 no LOG, 1 takes LOG */
    char *held[MS_LOG_HELD_MAX]; /* lines waiting for the answer */
    size_t nheld;
} ms_client_loggate;

/* A new connection (or none): nothing known, held lines dropped. */
void ms_loggate_reset(ms_client_loggate *g);
/* Sends text now, holds it for the answer (asking once), or refuses it:
 * 0, MS_EPROTO (this bus has shown no LOG), MS_ENOMEM, the writer's. */
int ms_loggate_log(ms_client_loggate *g, ms_client_writer *w,
                   const char *text);
/* An ID reply: true when it is the answer about LOG (sends or drops the
 * held lines; `where` names the bus in a log line). */
bool ms_loggate_on_id(ms_client_loggate *g, ms_client_writer *w,
                      const ms_client_event *ev, const char *where);

#endif
