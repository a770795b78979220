/* libmosquitto on our loop (spb_link.h). libmosquitto calls back from
 * inside loop_read/loop_write/loop_misc; a lost connection reaches
 * on_disconnect from there (libmosquitto has closed the socket by then),
 * so the uv_poll of that socket is closed first thing in it. Each
 * connection gets its own uv_poll (the descriptor differs). */
#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mscada/error.h"
#include "mscada/log.h"
#include "sparkplug/link/spb_link.h"

#define MISC_MS 250

struct ms_spb_link {
    uv_loop_t *loop;
    ms_spb_link_config cfg;
    ms_spb_link_cbs cbs;
    struct mosquitto *mosq;
    uv_poll_t *poll;      /* the current socket's, NULL when none */
    int poll_events;
    uv_timer_t misc;      /* keepalive and write-wants */
    uv_timer_t retry;
    double backoff;
    bool up, started, closing;
    uint64_t connects;
    int handles;
    char last_why[160];
};

void ms_spb_link_config_init(ms_spb_link_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = 1883;
    c->keepalive = 30;
    c->protocol = 4;
    c->backoff_min = 0.5;
    c->backoff_max = 10;
}

static void link_free(ms_spb_link *l)
{
    if (l->mosq)
        mosquitto_destroy(l->mosq);
    free(l);
}

static void on_handle_closed(uv_handle_t *h)
{
    ms_spb_link *l = h->data;
    if (h != (uv_handle_t *)&l->misc && h != (uv_handle_t *)&l->retry)
        free(h); /* a poll, detached by poll_drop */
    if (--l->handles == 0)
        link_free(l);
}

static void poll_drop(ms_spb_link *l)
{
    if (!l->poll)
        return;
    uv_poll_t *p = l->poll;
    l->poll = NULL;
    uv_close((uv_handle_t *)p, on_handle_closed);
}

static void on_poll(uv_poll_t *h, int status, int events);
static void on_retry(uv_timer_t *t);

/* Watches what libmosquitto wants of its socket now. */
static void poll_sync(ms_spb_link *l)
{
    if (!l->poll)
        return;
    int want = UV_READABLE | (mosquitto_want_write(l->mosq) ? UV_WRITABLE
                                                           : 0);
    if (want != l->poll_events) {
        l->poll_events = want;
        uv_poll_start(l->poll, want, on_poll);
    }
}

static void schedule_retry(ms_spb_link *l)
{
    if (l->closing)
        return;
    uint64_t ms = (uint64_t)(l->backoff * 1000);
    uv_timer_start(&l->retry, on_retry, ms, 0);
    l->backoff *= 2;
    if (l->backoff > l->cfg.backoff_max)
        l->backoff = l->cfg.backoff_max;
}

static void went_down(ms_spb_link *l, const char *why)
{
    poll_drop(l);
    bool was_up = l->up;
    l->up = false;
    if (l->closing)
        return;
    if (was_up || strcmp(why, l->last_why))
        ms_log_warn("MQTT %s:%d: %s; trying again", l->cfg.host, l->cfg.port,
                    why);
    snprintf(l->last_why, sizeof l->last_why, "%s", why);
    if (l->cbs.on_down)
        l->cbs.on_down(l, why, l->cbs.arg);
    schedule_retry(l);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    ms_spb_link *l = h->data;
    if (h != l->poll)
        return;
    int rc = MOSQ_ERR_SUCCESS;
    if (status < 0) {
        /* an error on the socket: a read says what it is */
        events = UV_READABLE;
    }
    if (events & UV_READABLE)
        rc = mosquitto_loop_read(l->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && l->poll == h && (events & UV_WRITABLE))
        rc = mosquitto_loop_write(l->mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS && l->poll == h)
        went_down(l, mosquitto_strerror(rc));
    poll_sync(l);
}

static void on_misc(uv_timer_t *t)
{
    ms_spb_link *l = t->data;
    if (!l->poll)
        return;
    int rc = mosquitto_loop_misc(l->mosq);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN && l->poll)
        went_down(l, mosquitto_strerror(rc));
    else if (l->poll && mosquitto_socket(l->mosq) < 0)
        went_down(l, "keepalive: no answer from the broker");
    poll_sync(l);
}

static void on_retry(uv_timer_t *t)
{
    ms_spb_link *l = t->data;
    if (l->closing)
        return;
    if (l->cbs.before_connect)
        l->cbs.before_connect(l, l->cbs.arg);
    int rc = l->started ? mosquitto_reconnect_async(l->mosq)
                        : mosquitto_connect_async(l->mosq, l->cfg.host,
                                                  l->cfg.port,
                                                  l->cfg.keepalive);
    int fd = mosquitto_socket(l->mosq);
    if (rc != MOSQ_ERR_SUCCESS || fd < 0) {
        went_down(l, rc == MOSQ_ERR_ERRNO ? strerror(errno)
                                          : mosquitto_strerror(rc));
        return;
    }
    l->started = true;
    uv_poll_t *p = malloc(sizeof *p);
    if (!p || uv_poll_init_socket(l->loop, p, fd) < 0) {
        free(p);
        went_down(l, "cannot watch the socket");
        return;
    }
    p->data = l;
    l->handles++;
    l->poll = p;
    l->poll_events = 0;
    /* Writable first: the connect completes and CONNECT goes out. */
    l->poll_events = UV_READABLE | UV_WRITABLE;
    uv_poll_start(p, l->poll_events, on_poll);
}

static void on_connect(struct mosquitto *m, void *arg, int rc)
{
    ms_spb_link *l = arg;
    (void)m;
    if (rc != 0) {
        char why[160];
        snprintf(why, sizeof why, "the broker refused the connection: %s",
                 mosquitto_connack_string(rc));
        went_down(l, why);
        return;
    }
    l->up = true;
    l->connects++;
    l->backoff = l->cfg.backoff_min;
    l->last_why[0] = 0;
    ms_log_info("MQTT %s:%d: connected", l->cfg.host, l->cfg.port);
    if (l->cbs.on_up)
        l->cbs.on_up(l, l->cbs.arg);
}

static void on_disconnect(struct mosquitto *m, void *arg, int rc)
{
    ms_spb_link *l = arg;
    (void)m;
    went_down(l, rc == 0 ? "disconnected" : "connection lost");
}

static void on_message(struct mosquitto *m, void *arg,
                       const struct mosquitto_message *msg)
{
    ms_spb_link *l = arg;
    (void)m;
    if (l->cbs.on_message && !l->closing)
        l->cbs.on_message(l, msg->topic, msg->payload,
                          (size_t)(msg->payloadlen > 0 ? msg->payloadlen : 0),
                          l->cbs.arg);
}

static int setup(ms_spb_link *l)
{
    const ms_spb_link_config *c = &l->cfg;
    l->mosq = mosquitto_new(c->client_id[0] ? c->client_id : NULL, true, l);
    if (!l->mosq)
        return MS_ENOMEM;
    mosquitto_int_option(l->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         c->protocol == 5 ? MQTT_PROTOCOL_V5
                                          : MQTT_PROTOCOL_V311);
    /* Each message is written whole: Nagle would hold a small NDATA back
     * for the ACK of the last one (tens of ms at a delayed ACK). */
    mosquitto_int_option(l->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(l->mosq, on_connect);
    mosquitto_disconnect_callback_set(l->mosq, on_disconnect);
    mosquitto_message_callback_set(l->mosq, on_message);
    int rc;
    if (c->username[0] &&
        (rc = mosquitto_username_pw_set(l->mosq, c->username,
                                        c->password[0] ? c->password
                                                       : NULL))) {
        ms_log_error("MQTT username: %s", mosquitto_strerror(rc));
        return MS_ECONFIG;
    }
    if (c->ca_file[0] &&
        (rc = mosquitto_tls_set(l->mosq, c->ca_file, NULL,
                                c->cert_file[0] ? c->cert_file : NULL,
                                c->key_file[0] ? c->key_file : NULL,
                                NULL))) {
        ms_log_error("MQTT TLS (ca_file %s, cert_file %s, key_file %s): %s; "
                     "check that the files exist and are readable",
                     c->ca_file, c->cert_file, c->key_file,
                     rc == MOSQ_ERR_ERRNO ? strerror(errno)
                                          : mosquitto_strerror(rc));
        return MS_ECONFIG;
    }
    return 0;
}

int ms_spb_link_new(uv_loop_t *loop, const ms_spb_link_config *cfg,
                    const ms_spb_link_cbs *cbs, ms_spb_link **out)
{
    *out = NULL;
    mosquitto_lib_init();
    ms_spb_link *l = calloc(1, sizeof *l);
    if (!l)
        return MS_ENOMEM;
    l->loop = loop;
    l->cfg = *cfg;
    l->cbs = *cbs;
    l->backoff = cfg->backoff_min;
    int rc = setup(l);
    if (rc < 0) {
        link_free(l);
        return rc;
    }
    uv_timer_init(loop, &l->misc);
    uv_timer_init(loop, &l->retry);
    l->misc.data = l->retry.data = l;
    l->handles = 2;
    uv_timer_start(&l->misc, on_misc, MISC_MS, MISC_MS);
    uv_timer_start(&l->retry, on_retry, 0, 0);
    *out = l;
    return 0;
}

int ms_spb_link_will(ms_spb_link *l, const char *topic, const void *p,
                     size_t len, int qos, bool retain)
{
    return mosquitto_will_set(l->mosq, topic, (int)len, p, qos, retain)
               ? MS_EINVAL : 0;
}

static int map_rc(int rc)
{
    switch (rc) {
    case MOSQ_ERR_SUCCESS: return 0;
    case MOSQ_ERR_NOMEM: return MS_ENOMEM;
    case MOSQ_ERR_NO_CONN:
    case MOSQ_ERR_CONN_LOST: return MS_ECLOSED;
    default: return MS_EINVAL;
    }
}

int ms_spb_link_publish(ms_spb_link *l, const char *topic, const void *p,
                        size_t len, int qos, bool retain)
{
    if (!l->up)
        return MS_ECLOSED;
    int rc = map_rc(mosquitto_publish(l->mosq, NULL, topic, (int)len, p, qos,
                                      retain));
    poll_sync(l);
    return rc;
}

int ms_spb_link_subscribe(ms_spb_link *l, const char *pattern, int qos)
{
    if (!l->up)
        return MS_ECLOSED;
    int rc = map_rc(mosquitto_subscribe(l->mosq, NULL, pattern, qos));
    poll_sync(l);
    return rc;
}

bool ms_spb_link_up(const ms_spb_link *l)
{
    return l->up;
}

uint64_t ms_spb_link_connects(const ms_spb_link *l)
{
    return l->connects;
}

void ms_spb_link_close(ms_spb_link *l)
{
    if (!l || l->closing)
        return;
    l->closing = true;
    if (l->up) {
        mosquitto_disconnect(l->mosq);
        /* what is queued goes now: the loop stops after this */
        for (int i = 0; i < 100 && mosquitto_want_write(l->mosq); i++)
            if (mosquitto_loop_write(l->mosq, 1) != MOSQ_ERR_SUCCESS)
                break;
    }
    l->up = false;
    poll_drop(l);
    uv_close((uv_handle_t *)&l->misc, on_handle_closed);
    uv_close((uv_handle_t *)&l->retry, on_handle_closed);
}
