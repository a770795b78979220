/* Requests the bus answers or refuses (client_req.c): pending LISTs, and
 * the RTAs sent lately, so that an ERR refusing one reaches whoever sent
 * it. Knows nothing of tags: an RTA is noted with a callback. */
#ifndef MS_CLIENT_REQ_H
#define MS_CLIENT_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "client/client_proto.h"
#include "mscada/client.h"

/* The bus refused the RTA noted with this: why is its ERR text. */
typedef void (*ms_req_refused_cb)(void *arg, const char *why);

/* An RTA sent, remembered so that an ERR for it reaches its sender. */
typedef struct {
    uint16_t tag_id;
    uint64_t time_us;
    ms_req_refused_cb refused; /* NULL: a free slot */
    void *arg;
} ms_req_rta;
#define MS_REQ_RTA_RING 64

typedef struct {
    uint64_t time_us;
    ms_client_list_cb cb;
    void *arg;
} ms_req_list;

typedef struct {
    ms_req_list *lists;   /* pending, in the order asked */
    size_t nlists, alists;
    ms_req_rta rtas[MS_REQ_RTA_RING];
    size_t rta_next;      /* the ring's oldest slot, next to be reused */
} ms_client_reqs;

/* Remembers an RTA sent with tag_id and time_us; the oldest noted is
 * forgotten past MS_REQ_RTA_RING. */
void ms_reqs_note_rta(ms_client *c, uint16_t tag_id, uint64_t time_us,
                      ms_req_refused_cb refused, void *arg);
void ms_reqs_on_list(ms_client *c, const ms_client_event *ev);
void ms_reqs_on_err(ms_client *c, const ms_client_event *ev);
/* The connection went: LIST callbacks get status, RTAs are forgotten. */
void ms_reqs_fail(ms_client *c, int status);
void ms_reqs_free(ms_client *c);

#endif
