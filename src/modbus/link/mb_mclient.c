/* The Modbus client over a serial line or UDP (mb_mclient.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/backoff.h"
#include "core/buf.h"
#include "modbus/link/mb_mclient.h"
#include "modbus/link/mb_serial.h"
#include "modbus/link/mb_session.h"
#include "modbus/link/mb_udp.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

struct ms_mb_mclient {
    uv_loop_t *loop;
    ms_mb_client *owner;
    ms_mb_client_config cfg;
    ms_mb_session s;
    ms_mb_line *line;  /* SERIAL */
    ms_mb_udp *udp;    /* UDP */
    uv_timer_t otimer; /* reopen backoff */
    uv_timer_t rtimer; /* the earliest request deadline */
    uv_idle_t idle;    /* sends new requests at the next loop turn */
    bool idle_on, closing, fail_logged;
    int handles;
    ms_backoff backoff; /* no jitter: one opener per line or socket */
    ms_buf out;
};

static void try_open(ms_mb_mclient *m);

static bool is_up(const ms_mb_mclient *m)
{
    return !m->closing && (m->line || m->udp);
}

/* ---- requests out, answers in -------------------------------------------- */

static void on_rtimer(uv_timer_t *t);

static void arm_rtimer(ms_mb_mclient *m)
{
    uint64_t d = ms_mb_session_deadline(&m->s);
    if (!d || m->closing) {
        uv_timer_stop(&m->rtimer);
        return;
    }
    uint64_t now = ms_time_mono_ns();
    uint64_t ms = d > now ? (d - now + 999999) / 1000000 : 0;
    uv_timer_start(&m->rtimer, on_rtimer, ms, 0);
}

static void pump(ms_mb_mclient *m)
{
    if (is_up(m) && ms_mb_session_take(&m->s, ms_time_mono_ns(), &m->out) > 0) {
        const uint8_t *p = ms_buf_head(&m->out);
        size_t len = ms_buf_size(&m->out);
        if (m->line) {
            /* One request in flight: whatever came before is no answer. */
            ms_mb_line_flush_input(m->line);
            ms_mb_line_send(m->line, p, len);
        } else {
            /* The session appended whole ADUs: one datagram each. */
            size_t off = 0;
            ms_mb_adu adu;
            int n;
            while (off < len &&
                   (n = ms_mb_adu_decode(MS_MB_FRAMING_MBAP, MS_MB_REQUEST,
                                         p + off, len - off, &adu)) > 0) {
                int rc = ms_mb_udp_send(m->udp, p + off, (size_t)n);
                if (rc < 0)
                    ms_log_debug("%s: udp send: %s", m->cfg.name,
                                 uv_strerror(rc));
                off += (size_t)n;
            }
        }
        m->out.off = m->out.len = 0;
    }
    if (!m->closing)
        arm_rtimer(m);
}

static void on_rtimer(uv_timer_t *t)
{
    ms_mb_mclient *m = t->data;
    ms_mb_session_expire(&m->s, ms_time_mono_ns());
    pump(m);
}

static void on_idle(uv_idle_t *h)
{
    ms_mb_mclient *m = h->data;
    uv_idle_stop(h);
    m->idle_on = false;
    pump(m);
}

static void feed(ms_mb_mclient *m, const uint8_t *p, size_t len)
{
    size_t used;
    if (ms_mb_session_feed(&m->s, ms_time_mono_ns(), p, len, &used) < 0)
        ms_log_warn("%s: an answer that is no Modbus ADU; ignored",
                    m->cfg.name);
    if (!m->closing)
        pump(m);
}

static void on_line_frame(ms_mb_line *l, const ms_mb_adu *adu, void *arg)
{
    (void)l;
    /* The frame is unit + PDU + CRC, contiguous from adu->pdu - 1. */
    feed(arg, adu->pdu - 1, 1 + adu->pdu_len + 2);
}

static void on_udp_frame(ms_mb_udp *u, const uint8_t *p, size_t len,
                         void *arg)
{
    (void)u;
    feed(arg, p, len);
}

/* ---- opening and failing ------------------------------------------------- */

static void on_otimer(uv_timer_t *t)
{
    try_open(t->data);
}

static void schedule_open(ms_mb_mclient *m)
{
    uv_timer_start(&m->otimer, on_otimer, ms_backoff_next_ms(&m->backoff),
                   0);
}

static void on_line_error(ms_mb_line *l, int err, void *arg)
{
    ms_mb_mclient *m = arg;
    if (m->closing || m->line != l)
        return;
    ms_log_warn("%s: %s: %s; opening it again", m->cfg.name,
                m->cfg.serial.device, uv_strerror(err));
    m->line = NULL;
    ms_mb_line_close(l);
    m->fail_logged = true;
    ms_mb_session_fail_all(&m->s, MS_ECLOSED);
    arm_rtimer(m);
    schedule_open(m);
    if (m->cfg.on_state)
        m->cfg.on_state(m->owner, false, m->cfg.arg);
}

static void try_open(ms_mb_mclient *m)
{
    if (m->closing || is_up(m))
        return;
    int rc;
    const char *what;
    if (m->cfg.transport == MS_MB_TRANSPORT_SERIAL) {
        what = m->cfg.serial.device;
        rc = ms_mb_line_open(m->loop, &m->cfg.serial, MS_MB_RESPONSE,
                             on_line_frame, on_line_error, m, &m->line);
    } else {
        what = m->cfg.host;
        rc = ms_mb_udp_open(m->loop, m->cfg.host, m->cfg.port, m->cfg.name,
                            on_udp_frame, m, &m->udp);
    }
    if (rc < 0) {
        if (!m->fail_logged)
            ms_log_warn("%s: cannot open %s: %s; retrying every %gs at most",
                        m->cfg.name, what, uv_strerror(rc),
                        m->cfg.backoff_max);
        m->fail_logged = true;
        schedule_open(m);
        return;
    }
    ms_backoff_reset(&m->backoff);
    m->s.stats.connects++;
    ms_log_info("%s: %s %s", m->cfg.name,
                m->fail_logged ? "opened again" : "opened", what);
    m->fail_logged = false;
    if (m->cfg.on_state)
        m->cfg.on_state(m->owner, true, m->cfg.arg);
    pump(m);
}

/* ---- public (through ms_mb_client) --------------------------------------- */

static void on_unit(ms_mb_session *s, uint8_t unit, bool up, void *arg)
{
    ms_mb_mclient *m = arg;
    (void)s;
    if (up)
        ms_log_info("%s: unit %u answers again", m->cfg.name, unit);
    else
        ms_log_warn("%s: unit %u does not answer", m->cfg.name, unit);
    if (m->cfg.on_unit && !m->closing)
        m->cfg.on_unit(m->owner, unit, up, m->cfg.arg);
}

int ms_mb_mclient_new(uv_loop_t *loop, const ms_mb_client_config *cfg,
                      ms_mb_client *owner, ms_mb_mclient **out)
{
    if (cfg->transport == MS_MB_TRANSPORT_SERIAL
            ? ms_mb_serial_config_check(&cfg->serial) < 0
            : cfg->transport != MS_MB_TRANSPORT_UDP ||
                  cfg->framing != MS_MB_FRAMING_MBAP)
        return MS_EINVAL;
    ms_mb_mclient *m = calloc(1, sizeof *m);
    if (!m)
        return MS_ENOMEM;
    m->loop = loop;
    m->owner = owner;
    m->cfg = *cfg;
    ms_mb_framing f = MS_MB_FRAMING_MBAP;
    unsigned max_in_flight = cfg->max_in_flight;
    if (cfg->transport == MS_MB_TRANSPORT_SERIAL) {
        /* RTU has no transaction id: one request on the line at a time,
         * shared by every unit on it. */
        f = MS_MB_FRAMING_RTU;
        max_in_flight = 1;
        if (!m->cfg.name[0])
            snprintf(m->cfg.name, sizeof m->cfg.name, "%.60s",
                     cfg->serial.device);
    } else if (!m->cfg.name[0]) {
        snprintf(m->cfg.name, sizeof m->cfg.name, "udp:%.40s:%d", cfg->host,
                 cfg->port);
    }
    ms_mb_session_init(&m->s, f, max_in_flight, m->cfg.timeout,
                       m->cfg.retries, m->cfg.backoff_max, m->cfg.name);
    m->s.on_unit = on_unit;
    m->s.arg = m;
    ms_backoff_init(&m->backoff, m->cfg.backoff_min, m->cfg.backoff_max, 0);
    uv_timer_init(loop, &m->otimer);
    uv_timer_init(loop, &m->rtimer);
    uv_idle_init(loop, &m->idle);
    m->otimer.data = m->rtimer.data = m->idle.data = m;
    m->handles = 3;
    *out = m;
    /* Opened from the loop, as a TCP connect completes: on_state never
     * runs before the caller has its client. */
    uv_timer_start(&m->otimer, on_otimer, 0, 0);
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    ms_mb_mclient *m = h->data;
    if (--m->handles == 0) {
        ms_buf_free(&m->out);
        free(m);
    }
}

void ms_mb_mclient_close(ms_mb_mclient *m)
{
    if (!m || m->closing)
        return;
    m->closing = true;
    ms_mb_line_close(m->line);
    ms_mb_udp_close(m->udp);
    m->line = NULL;
    m->udp = NULL;
    ms_mb_session_close(&m->s);
    uv_close((uv_handle_t *)&m->otimer, on_closed);
    uv_close((uv_handle_t *)&m->rtimer, on_closed);
    uv_close((uv_handle_t *)&m->idle, on_closed);
}

int ms_mb_mclient_submit(ms_mb_mclient *m, uint8_t unit,
                         const ms_mb_request *req, ms_mb_done_cb cb,
                         void *arg)
{
    if (!is_up(m))
        return MS_ECLOSED;
    int rc = ms_mb_session_submit(&m->s, ms_time_mono_ns(), unit, req, cb,
                                  arg);
    if (rc == 0 && !m->idle_on) {
        uv_idle_start(&m->idle, on_idle);
        m->idle_on = true;
    }
    return rc;
}

bool ms_mb_mclient_connected(const ms_mb_mclient *m)
{
    return is_up(m);
}

bool ms_mb_mclient_unit_up(const ms_mb_mclient *m, uint8_t unit)
{
    return !m->s.units[unit].down;
}

void ms_mb_mclient_get_stats(const ms_mb_mclient *m, ms_mb_client_stats *st)
{
    *st = m->s.stats;
}

const char *ms_mb_mclient_name(const ms_mb_mclient *m)
{
    return m->cfg.name;
}
