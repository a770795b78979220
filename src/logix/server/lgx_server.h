/* The EtherNet/IP side of a logixserver: a TCP listener (net/listener.h)
 * whose connections register sessions and open CIP connections (Forward
 * Open, large and plain; Forward Close), and whose SendRRData and
 * SendUnitData requests are answered from a tag database (lgx_db.h),
 * every whole encapsulation packet of a read in order (pipelined). Many
 * clients at once; a client stopping mid-frame holds only its own bytes. */
#ifndef MS_LOGIX_SERVER_H
#define MS_LOGIX_SERVER_H

#include <uv.h>

#include "logix/server/lgx_db.h"

typedef struct ms_lgx_server ms_lgx_server;

typedef struct {
    const char *ip;       /* listen address */
    int port;             /* 0: a free one */
    unsigned max_conns;   /* 0: any */
    double timeout;       /* seconds a client may sit mid-frame; 0: 30 */
    ms_lgx_db *db;        /* borrowed */
} ms_lgx_server_config;

/* Listens; logs "serving EtherNet/IP on IP:PORT". A libuv error (logged)
 * when it can't. */
int ms_lgx_server_start(uv_loop_t *loop, const ms_lgx_server_config *cfg,
                        ms_lgx_server **out);
int ms_lgx_server_port(const ms_lgx_server *s);
/* Closes the listener and every connection; frees s when closed. */
void ms_lgx_server_stop(ms_lgx_server *s);

#endif
