/* The Modbus client on a serial line (mb_link.h): RTU frames on an
 * ms_mb_line (mb_serial.c), one request on the line at a time whatever
 * max_in_flight says (RTU has no transaction id), the line opened again
 * with backoff when it fails (mb_link_msg.c). */
#include <stdio.h>

#include "modbus/link/mb_link_msg.h"
#include "modbus/link/mb_serial.h"

struct ms_mb_link {
    ms_mb_reopen m;    /* first: client, config, loop, reopening */
    ms_mb_line *line;  /* when open */
};

static int link_check(const ms_mb_client_config *cfg, char *why, size_t cap)
{
    return ms_mb_serial_config_why(&cfg->serial, why, cap);
}

static void link_prepare(ms_mb_client_config *cfg, ms_mb_framing *framing)
{
    if (!cfg->name[0])
        snprintf(cfg->name, sizeof cfg->name, "%.60s", cfg->serial.device);
    *framing = MS_MB_FRAMING_RTU;
}

static void on_frame(ms_mb_line *line, const ms_mb_adu *adu, void *arg)
{
    ms_mb_link *l = arg;
    (void)line;
    /* The frame is unit + PDU + CRC, contiguous from adu->pdu - 1. */
    ms_mb_msg_feed(l->m.c, l->m.cfg, adu->pdu - 1, 1 + adu->pdu_len + 2);
}

static void on_error(ms_mb_line *line, int err, void *arg)
{
    ms_mb_link *l = arg;
    if (l->line != line)
        return;
    l->line = NULL;
    ms_mb_line_close(line);
    ms_mb_reopen_failed(&l->m, err);
}

static int open_line(void *arg)
{
    ms_mb_link *l = arg;
    return ms_mb_line_open(l->m.loop, &l->m.cfg->serial, MS_MB_RESPONSE,
                           on_frame, on_error, l, &l->line);
}

static int link_start(ms_mb_client *c, uv_loop_t *loop,
                      const ms_mb_client_config *cfg, ms_mb_link **out)
{
    return ms_mb_msg_link_new(sizeof(ms_mb_link), c, loop, cfg,
                              cfg->serial.device, open_line, out);
}

static void link_send(ms_mb_link *l, const uint8_t *p, size_t len)
{
    if (!l->line)
        return;
    /* One request in flight: whatever came before is no answer. */
    ms_mb_line_flush_input(l->line);
    ms_mb_line_send(l->line, p, len);
}

static void link_close(ms_mb_link *l)
{
    ms_mb_line_close(l->line);
    l->line = NULL;
    ms_mb_reopen_close(&l->m);
}

const ms_mb_link_ops ms_mb_link_serial = {
    .check = link_check, .prepare = link_prepare, .start = link_start,
    .send = link_send, .close = link_close};
