/* The Modbus client over UDP (mb_link.h): one MBAP ADU per datagram on a
 * connected socket (mb_udp.c); no retransmission here, the session's
 * timeout and retries are the retry. A socket that can't be opened (a name
 * that does not resolve) is tried again with backoff (mb_link_msg.c). */
#include <stdio.h>

#include "modbus/link/mb_link_msg.h"
#include "modbus/link/mb_udp.h"
#include "mscada/error.h"
#include "mscada/log.h"

struct ms_mb_link {
    ms_mb_reopen m;    /* first: client, config, loop, reopening */
    ms_mb_udp *udp;    /* when open */
};

static int link_check(const ms_mb_client_config *cfg, char *why, size_t cap)
{
    if (cfg->framing != MS_MB_FRAMING_MBAP) {
        snprintf(why, cap, "framing over UDP must be MBAP");
        return MS_EINVAL;
    }
    return ms_mb_link_check_host(cfg, why, cap);
}

static void link_prepare(ms_mb_client_config *cfg, ms_mb_framing *framing)
{
    if (!cfg->name[0])
        snprintf(cfg->name, sizeof cfg->name, "udp:%.40s:%d", cfg->host,
                 cfg->port);
    *framing = MS_MB_FRAMING_MBAP;
}

static void on_frame(ms_mb_udp *u, const uint8_t *p, size_t len, void *arg)
{
    ms_mb_link *l = arg;
    (void)u;
    ms_mb_msg_feed(l->m.c, l->m.cfg, p, len);
}

static int open_socket(void *arg)
{
    ms_mb_link *l = arg;
    const ms_mb_client_config *cfg = l->m.cfg;
    return ms_mb_udp_open(l->m.loop, cfg->host, cfg->port, cfg->name,
                          on_frame, l, &l->udp);
}

static int link_start(ms_mb_client *c, uv_loop_t *loop,
                      const ms_mb_client_config *cfg, ms_mb_link **out)
{
    return ms_mb_msg_link_new(sizeof(ms_mb_link), c, loop, cfg, cfg->host,
                              open_socket, out);
}

/* The session appended whole ADUs: one datagram each. */
static void link_send(ms_mb_link *l, const uint8_t *p, size_t len)
{
    size_t off = 0;
    ms_mb_adu adu;
    int n;
    while (l->udp && off < len &&
           (n = ms_mb_adu_decode(MS_MB_FRAMING_MBAP, MS_MB_REQUEST, p + off,
                                 len - off, &adu)) > 0) {
        int rc = ms_mb_udp_send(l->udp, p + off, (size_t)n);
        if (rc < 0)
            ms_log_debug("%s: udp send: %s", l->m.cfg->name, uv_strerror(rc));
        off += (size_t)n;
    }
}

static void link_close(ms_mb_link *l)
{
    ms_mb_udp_close(l->udp);
    l->udp = NULL;
    ms_mb_reopen_close(&l->m);
}

const ms_mb_link_ops ms_mb_link_udp = {
    .check = link_check, .prepare = link_prepare, .start = link_start,
    .send = link_send, .close = link_close};
