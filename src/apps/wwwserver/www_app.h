/* `mscada wwwserver` at run time (docs/www.md): wwwserver.yaml (pymscada's
 * keys, the 2024 `paths:` form too) and tags.yaml loaded, then the relay
 * between the bus (client library) and the browsers (src/www): a bus tag
 * per tag browsers subscribe to, once for all of them; browsers' sets and
 * requests to the bus; bus down and up told to browsers; the status tag. */
#ifndef MS_APPS_WWW_APP_H
#define MS_APPS_WWW_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "mscada/client.h"
#include "mscada/conf.h"
#include "www/codec/www_users.h"

typedef struct {
    ms_client_config client;   /* bus_ip, bus_port */
    char *ip;                  /* default 127.0.0.1 */
    int port;                  /* default 8324 */
    char *get_path;            /* NULL: the built-in page */
    char *serve_path;          /* NULL: none */
    char **paths;              /* 2024 form */
    size_t npaths;
    char *www_tag;             /* "__wwwserver__"; "" for none */
    ms_conf_doc *doc;          /* holds config: and pages: */
    const ms_conf_node *config, *pages;
    size_t queue_max;          /* per browser; 16M */
    size_t max_message;        /* from a browser; 1M */
    int history_max_points;    /* 100000 */
    double status_interval;    /* seconds between status updates; 10 */
    int batch_ms;              /* writes to a browser at most this often; 2 */
    /* docs/security.md: logins, roles, audit, TLS (all off by default) */
    char *users;               /* the users file; NULL: no login */
    ms_www_users users_list;   /* loaded from it */
    double session_idle;       /* seconds; 1800 */
    double session_max;        /* seconds; 43200 */
    char *session_key;         /* key file: sessions survive a restart */
    char **origins;            /* other Origins allowed for the websocket */
    size_t norigins;
    char *audit;               /* the audit file; with users: audit.jsonl */
    size_t audit_max;          /* bytes before rotating; 10M */
    char *tls_cert, *tls_key;  /* PEM files: HTTPS/WSS */
    bool hsts;
} ms_www_app_config;

void ms_www_app_config_init(ms_www_app_config *cfg);
/* Loads wwwserver.yaml. Returns 0, or MS_ENOENT / MS_ECONFIG with err. */
int ms_www_app_config_load(const char *path, ms_www_app_config *cfg,
                           ms_conf_error *err);
void ms_www_app_config_free(ms_www_app_config *cfg);

typedef struct ms_www_app ms_www_app;

/* Starts the relay: tags_doc is tags.yaml (NULL: no tags; the HMI's system
 * tags are always there). Returns 0, MS_EIO (cannot listen; why says so),
 * MS_ENOMEM. */
int ms_www_app_start(uv_loop_t *loop, const ms_www_app_config *cfg,
                     const ms_conf_node *tags, ms_www_app **out, char *why,
                     size_t whylen);
/* Closes browsers (1001), the listener and the bus client; uv_run returns
 * once everything has closed. */
void ms_www_app_stop(ms_www_app *app);

#endif
