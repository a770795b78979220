/* A Modbus slave on a serial line (mscada/mbserial.h): RTU frames found by
 * content on the line (mb_serial.c), answered from memory by
 * ms_mb_serve_pdu. On a shared RS-485 line other slaves answer other units
 * and the master hears everything, so a unit without memory here gets
 * silence, never exception 11. */
#include <stdlib.h>
#include <string.h>

#include "modbus/link/mb_serial.h"
#include "mscada/error.h"
#include "mscada/log.h"

struct ms_mb_serial_slave {
    uv_loop_t *loop;
    ms_mb_serial_config cfg;
    ms_mb_handler h;
    ms_mb_line *line;
    uv_timer_t reopen;
    bool stopping, fail_logged;
    uint64_t answered, garbage_before;
};

static void try_open(ms_mb_serial_slave *s);

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

/* A broadcast write goes to every unit with memory, unanswered. */
static void broadcast(ms_mb_serial_slave *s, const ms_mb_adu *adu)
{
    uint8_t out[MS_MB_PDU_MAX];
    for (unsigned u = 1; u < 248; u++)
        if (ms_mb_mem_has_unit(s->h.mem, (uint8_t)u))
            ms_mb_serve_pdu(&s->h, (uint8_t)u, adu->pdu, adu->pdu_len, out);
}

static void on_frame(ms_mb_line *l, const ms_mb_adu *adu, void *arg)
{
    ms_mb_serial_slave *s = arg;
    uint8_t out[1 + MS_MB_PDU_MAX + 2];
    if (adu->unit == 0) {
        if (adu->pdu[0] == MS_MB_WRITE_SINGLE_COIL ||
            adu->pdu[0] == MS_MB_WRITE_SINGLE_REGISTER ||
            adu->pdu[0] == MS_MB_WRITE_MULTIPLE_COILS ||
            adu->pdu[0] == MS_MB_WRITE_MULTIPLE_REGISTERS ||
            adu->pdu[0] == MS_MB_MASK_WRITE_REGISTER)
            broadcast(s, adu);
        return;
    }
    if (!ms_mb_mem_has_unit(s->h.mem, adu->unit))
        return; /* another slave's */
    int n = ms_mb_serve_pdu(&s->h, adu->unit, adu->pdu, adu->pdu_len,
                            out + 1);
    if (n < 0)
        return;
    int len = ms_mb_adu_wrap(MS_MB_FRAMING_RTU, 0, adu->unit, out, (size_t)n);
    if (len > 0 && ms_mb_line_send(l, out, (size_t)len) == 0)
        s->answered++;
}

static void on_reopen(uv_timer_t *t)
{
    try_open(t->data);
}

static void on_error(ms_mb_line *l, int err, void *arg)
{
    ms_mb_serial_slave *s = arg;
    ms_log_warn("%s: %s; opening it again in 1 s", s->cfg.device,
                uv_strerror(err));
    s->garbage_before += l->garbage;
    s->line = NULL;
    ms_mb_line_close(l);
    s->fail_logged = true;
    uv_timer_start(&s->reopen, on_reopen, 1000, 0);
}

static void try_open(ms_mb_serial_slave *s)
{
    if (s->stopping || s->line)
        return;
    int rc = ms_mb_line_open(s->loop, &s->cfg, MS_MB_REQUEST, on_frame,
                             on_error, s, &s->line);
    if (rc < 0) {
        if (!s->fail_logged)
            ms_log_warn("%s: cannot open: %s; retrying every second",
                        s->cfg.device, uv_strerror(rc));
        s->fail_logged = true;
        uv_timer_start(&s->reopen, on_reopen, 1000, 0);
        return;
    }
    if (s->fail_logged)
        ms_log_info("%s: opened again", s->cfg.device);
    s->fail_logged = false;
}

int ms_mb_serial_slave_start(uv_loop_t *loop, const ms_mb_serial_config *cfg,
                             const ms_mb_handler *h,
                             ms_mb_serial_slave **out)
{
    *out = NULL;
    if (ms_mb_serial_config_check(cfg) < 0 || !h || !h->mem)
        return MS_EINVAL;
    ms_mb_serial_slave *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ENOMEM;
    s->loop = loop;
    s->cfg = *cfg;
    s->h = *h;
    uv_timer_init(loop, &s->reopen);
    s->reopen.data = s;
    int rc = ms_mb_line_open(loop, cfg, MS_MB_REQUEST, on_frame, on_error, s,
                             &s->line);
    if (rc < 0) {
        ms_log_error("%s: cannot open: %s", cfg->device, uv_strerror(rc));
        s->stopping = true;
        uv_close((uv_handle_t *)&s->reopen, on_closed);
        return rc;
    }
    ms_log_info("%s: serving as a Modbus RTU slave (%u %c%u%u)", cfg->device,
                cfg->baud, cfg->parity, cfg->data_bits, cfg->stop_bits);
    *out = s;
    return 0;
}

uint64_t ms_mb_serial_slave_answered(const ms_mb_serial_slave *s)
{
    return s->answered;
}

uint64_t ms_mb_serial_slave_garbage(const ms_mb_serial_slave *s)
{
    return s->garbage_before + (s->line ? s->line->garbage : 0);
}

void ms_mb_serial_slave_stop(ms_mb_serial_slave *s)
{
    if (!s || s->stopping)
        return;
    s->stopping = true;
    ms_mb_line_close(s->line);
    s->line = NULL;
    uv_close((uv_handle_t *)&s->reopen, on_closed);
}
