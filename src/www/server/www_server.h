/* The wwwserver's transport: libwebsockets 4.1 on the program's own libuv
 * loop (the only file that includes libwebsockets). HTTP GETs answered from
 * www_files, one websocket per browser tab at /ws or <dir>/ws, each tied to
 * a connection of the hub (src/www/codec), its sends batched: many frames
 * per write. */
#ifndef MS_WWW_SERVER_H
#define MS_WWW_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "www/codec/www_hub.h"
#include "www/server/www_auth.h"
#include "www/server/www_files.h"

typedef struct ms_www_server ms_www_server;

typedef struct {
    const char *ip;          /* listen address; default 127.0.0.1 */
    int port;                /* default 8324 */
    ms_www_roots roots;      /* borrowed while the server runs */
    size_t max_message;      /* largest browser message; 1 MiB */
    size_t write_batch;      /* bytes gathered per write; 64 KiB */
    unsigned batch_ms;       /* writes at most every batch_ms (0: every
                              * loop turn); 2 */
    ms_www_hub *hub;
    /* Logins (docs/security.md); NULL: none, every route open (pymscada).
     * Borrowed while the server runs. */
    ms_www_auth *auth;
    const char *const *origins; /* Origin hosts allowed besides Host's */
    size_t norigins;
    const char *tls_cert;       /* PEM files: HTTPS and WSS; plain HTTP */
    const char *tls_key;        /* on the same port is redirected */
    bool hsts;                  /* Strict-Transport-Security under TLS */
    /* A browser's message asks the relay to act on the bus. */
    void (*on_action)(ms_www_conn *c, ms_www_action *act, void *arg);
    void *arg;
} ms_www_server_config;

void ms_www_server_config_init(ms_www_server_config *cfg);

/* Listens. Returns 0, or MS_EIO with why ("cannot listen on ...: ..."). */
int ms_www_server_start(uv_loop_t *loop, const ms_www_server_config *cfg,
                        ms_www_server **out, char *why, size_t whylen);
/* Closes every websocket politely (1001), waits at most 2 s for them, then
 * frees libwebsockets and calls done(arg) (on the loop, later). */
void ms_www_server_stop(ms_www_server *s, void (*done)(void *arg), void *arg);
/* The logged-in user of a websocket (NULL without logins). */
const ms_www_user *ms_www_server_conn_user(const ms_www_conn *c);

/* The port it listens on (useful with port 0). */
int ms_www_server_port(const ms_www_server *s);

#endif
