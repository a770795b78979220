/* The Modbus client (mscada/mbclient.h): the pure session (mb_session.c:
 * queues, matching, timeouts, retries, down units) on a libuv loop, with
 * one timer for request deadlines and an idle handle that sends what was
 * submitted in one callback in one write. The transport is a table of
 * functions (mb_link.h), one file per transport: mb_link_tcp.c,
 * mb_link_serial.c, mb_link_udp.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "modbus/link/mb_link.h"
#include "modbus/link/mb_session.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mbclient.h"
#include "mscada/mstime.h"

struct ms_mb_client {
    const ms_mb_link_ops *ops;
    ms_mb_link *link;
    uv_loop_t *loop;
    ms_mb_client_config cfg;
    ms_mb_session s;
    uv_timer_t rtimer; /* the earliest request deadline */
    uv_idle_t idle;    /* sends new requests at the next loop turn */
    bool idle_on, up, closing;
    int handles;       /* rtimer, idle and the link, while open */
    ms_buf out;        /* what the session takes, handed to the link */
};

static const ms_mb_link_ops *const links[] = {
    [MS_MB_TRANSPORT_TCP] = &ms_mb_link_tcp,
    [MS_MB_TRANSPORT_UDP] = &ms_mb_link_udp,
    [MS_MB_TRANSPORT_SERIAL] = &ms_mb_link_serial,
};

void ms_mb_client_config_init(ms_mb_client_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->transport = MS_MB_TRANSPORT_TCP;
    ms_mb_serial_config_init(&cfg->serial);
    snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
    cfg->port = 502;
    cfg->framing = MS_MB_FRAMING_MBAP;
    cfg->timeout = 1.0;
    cfg->retries = 1;
    cfg->max_in_flight = 1;
    cfg->connect_timeout = 3.0;
    cfg->backoff_min = 0.1;
    cfg->backoff_max = 5.0;
}

#define BAD(...) (snprintf(why, cap, __VA_ARGS__), MS_EINVAL)

int ms_mb_client_config_check(const ms_mb_client_config *cfg, char *why,
                              size_t cap)
{
    char none[1];
    if (!why || !cap) {
        why = none;
        cap = sizeof none;
    }
    if (!cfg)
        return BAD("no config");
    if ((unsigned)cfg->transport >= sizeof links / sizeof links[0])
        return BAD("transport must be TCP, UDP or SERIAL");
    if (!memchr(cfg->name, 0, sizeof cfg->name))
        return BAD("name must be shorter than %zu bytes", sizeof cfg->name);
    if (!(cfg->timeout > 0))
        return BAD("timeout must be more than 0 seconds");
    if (cfg->retries > MS_MB_RETRIES_MAX)
        return BAD("retries must be from 0 to %d (is %u)", MS_MB_RETRIES_MAX,
                   cfg->retries);
    if (cfg->max_in_flight < 1 || cfg->max_in_flight > MS_MB_IN_FLIGHT_MAX)
        return BAD("max_in_flight must be from 1 to %d (is %u)",
                   MS_MB_IN_FLIGHT_MAX, cfg->max_in_flight);
    if (!(cfg->connect_timeout > 0))
        return BAD("connect_timeout must be more than 0 seconds");
    if (!(cfg->backoff_min > 0))
        return BAD("backoff_min must be more than 0 seconds");
    if (!(cfg->backoff_max >= cfg->backoff_min))
        return BAD("backoff_max must be at least backoff_min (%g s)",
                   cfg->backoff_min);
    return links[cfg->transport]->check(cfg, why, cap);
}

static void maybe_free(ms_mb_client *c)
{
    if (c->handles > 0)
        return;
    ms_buf_free(&c->out);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    ms_mb_client *c = h->data;
    c->handles--;
    maybe_free(c);
}

/* ---- request deadlines ---------------------------------------------------- */

static void on_rtimer(uv_timer_t *t);

static void arm_rtimer(ms_mb_client *c)
{
    uint64_t d = ms_mb_session_deadline(&c->s);
    if (!d || c->closing) {
        uv_timer_stop(&c->rtimer);
        return;
    }
    uint64_t now = ms_time_mono_ns();
    uint64_t ms = d > now ? (d - now + 999999) / 1000000 : 0;
    uv_timer_start(&c->rtimer, on_rtimer, ms, 0);
}

/* Sends what the session lets go now, and re-arms the deadline timer. */
static void pump(ms_mb_client *c)
{
    if (c->closing)
        return;
    if (c->up && ms_mb_session_take(&c->s, ms_time_mono_ns(), &c->out) > 0) {
        c->ops->send(c->link, ms_buf_head(&c->out), ms_buf_size(&c->out));
        c->out.off = c->out.len = 0;
    }
    if (!c->closing)
        arm_rtimer(c);
}

static void on_rtimer(uv_timer_t *t)
{
    ms_mb_client *c = t->data;
    uint64_t timeouts = c->s.stats.timeouts;
    ms_mb_session_expire(&c->s, ms_time_mono_ns());
    if (c->s.stats.timeouts != timeouts && c->up && c->ops->timed_out)
        c->ops->timed_out(c->link);
    pump(c);
}

static void on_idle(uv_idle_t *h)
{
    ms_mb_client *c = h->data;
    uv_idle_stop(h);
    c->idle_on = false;
    pump(c);
}

/* ---- what links call (mb_link.h) ------------------------------------------ */

void ms_mb_client_link_up(ms_mb_client *c)
{
    if (c->closing)
        return;
    c->up = true;
    c->s.stats.connects++;
    if (c->cfg.on_state)
        c->cfg.on_state(c, true, c->cfg.arg);
    pump(c);
}

void ms_mb_client_link_failed(ms_mb_client *c, const char *why)
{
    if (c->cfg.on_fail && !c->closing)
        c->cfg.on_fail(c, why, c->cfg.arg);
}

void ms_mb_client_link_down(ms_mb_client *c)
{
    if (!c->up)
        return;
    c->up = false;
    ms_mb_session_fail_all(&c->s, MS_ECLOSED);
    arm_rtimer(c);
    if (c->cfg.on_state && !c->closing)
        c->cfg.on_state(c, false, c->cfg.arg);
}

int ms_mb_client_link_feed(ms_mb_client *c, const uint8_t *p, size_t len,
                           size_t *used)
{
    *used = 0;
    int rc = ms_mb_session_feed(&c->s, ms_time_mono_ns(), p, len, used);
    if (rc >= 0)
        pump(c);
    return rc;
}

void ms_mb_client_link_closed(ms_mb_client *c)
{
    c->handles--;
    maybe_free(c);
}

int ms_mb_link_check_host(const ms_mb_client_config *cfg, char *why,
                          size_t cap)
{
    if (!cfg->host[0] || !memchr(cfg->host, 0, sizeof cfg->host))
        return BAD("host must be an address or a name");
    if (cfg->port < 1 || cfg->port > 65535)
        return BAD("port must be from 1 to 65535 (is %d)", cfg->port);
    return 0;
}

/* ---- public --------------------------------------------------------------- */

static void on_unit(ms_mb_session *s, uint8_t unit, bool up, void *arg)
{
    ms_mb_client *c = arg;
    (void)s;
    if (up)
        ms_log_info("%s: unit %u answers again", c->cfg.name, unit);
    else
        ms_log_warn("%s: unit %u does not answer", c->cfg.name, unit);
    if (c->cfg.on_unit && !c->closing)
        c->cfg.on_unit(c, unit, up, c->cfg.arg);
}

int ms_mb_client_new(uv_loop_t *loop, const ms_mb_client_config *cfg,
                     ms_mb_client **out)
{
    if (!out)
        return MS_EINVAL;
    *out = NULL;
    if (!loop || ms_mb_client_config_check(cfg, NULL, 0) < 0)
        return MS_EINVAL;
    ms_mb_client *c = calloc(1, sizeof *c);
    if (!c)
        return MS_ENOMEM;
    c->loop = loop;
    c->cfg = *cfg;
    c->ops = links[cfg->transport];
    ms_mb_framing framing;
    c->ops->prepare(&c->cfg, &framing);
    ms_mb_session_init(&c->s, framing, c->cfg.max_in_flight, c->cfg.timeout,
                       c->cfg.retries, c->cfg.backoff_max, c->cfg.name);
    c->s.on_unit = on_unit;
    c->s.arg = c;
    int rc = c->ops->start(c, loop, &c->cfg, &c->link);
    if (rc < 0) {
        free(c);
        return rc;
    }
    uv_timer_init(loop, &c->rtimer);
    uv_idle_init(loop, &c->idle);
    c->rtimer.data = c->idle.data = c;
    c->handles = 3;
    *out = c;
    return 0;
}

void ms_mb_client_close(ms_mb_client *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    c->up = false;
    c->ops->close(c->link);
    ms_mb_session_close(&c->s);
    uv_close((uv_handle_t *)&c->rtimer, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
}

int ms_mb_client_submit(ms_mb_client *c, uint8_t unit,
                        const ms_mb_request *req, ms_mb_done_cb cb,
                        void *arg)
{
    if (c->closing || !c->up)
        return MS_ECLOSED;
    int rc = ms_mb_session_submit(&c->s, ms_time_mono_ns(), unit, req, cb,
                                  arg);
    if (rc == 0 && !c->idle_on) {
        /* Requests submitted in one callback leave in one write. */
        uv_idle_start(&c->idle, on_idle);
        c->idle_on = true;
    }
    return rc;
}

bool ms_mb_client_connected(const ms_mb_client *c)
{
    return c->up && !c->closing;
}

bool ms_mb_client_unit_up(const ms_mb_client *c, uint8_t unit)
{
    return !c->s.units[unit].down;
}

void ms_mb_client_get_stats(const ms_mb_client *c, ms_mb_client_stats *st)
{
    *st = c->s.stats;
}

const char *ms_mb_client_name(const ms_mb_client *c)
{
    return c->cfg.name;
}
