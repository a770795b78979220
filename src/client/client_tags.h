/* What the connection (client.c) asks of the tag table (tag_*.c): events
 * from the bus, and the turns of the connection. */
#ifndef MS_CLIENT_TAGS_H
#define MS_CLIENT_TAGS_H

#include "client/client_proto.h"
#include "mscada/client.h"

/* Forgets ids and subscriptions (a new or lost connection): our own values
 * become dirty, to be re-published after the SUB reply. */
void ms_tags_reset(ms_client *c);
/* Sends ID for every tag (on a new connection). */
void ms_tags_send_ids(ms_client *c);
void ms_tags_on_id(ms_client *c, const ms_client_event *ev);
void ms_tags_on_set(ms_client *c, const ms_client_event *ev);
void ms_tags_on_rta(ms_client *c, const ms_client_event *ev);
/* Asks LIST for every look-only tag without an id (on a new connection),
 * and stops looking (at close): tag_look.c. */
void ms_tags_look_all(ms_client *c);
void ms_tags_look_close(ms_client *c);
/* Sends held-back values while the output queue is below its mark. */
void ms_tags_drain(ms_client *c);
void ms_tags_free(ms_client *c);

#endif
