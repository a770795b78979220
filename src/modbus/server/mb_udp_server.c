/* Modbus over UDP served from memory (mscada/mbserver.h): one request ADU
 * per datagram, answered with one datagram to its sender. A datagram that
 * is not exactly one MBAP ADU is refused (logged at debug, counted): UDP
 * has no stream to drop, and masters retry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/link/mb_udp.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mbserver.h"

struct ms_mb_udp_server {
    uv_udp_t udp;
    ms_mb_handler h;
    int port;
    uint64_t refused;
    uint8_t rbuf[2048];
};

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    ms_mb_udp_server *s = hd->data;
    (void)suggested;
    *buf = uv_buf_init((char *)s->rbuf, sizeof s->rbuf);
}

static void on_recv(uv_udp_t *hd, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *from, unsigned flags)
{
    ms_mb_udp_server *s = hd->data;
    if (nread <= 0 || !from)
        return;
    ms_mb_adu adu;
    if ((flags & UV_UDP_PARTIAL) ||
        ms_mb_udp_datagram(MS_MB_FRAMING_MBAP, MS_MB_REQUEST,
                           (const uint8_t *)buf->base, (size_t)nread,
                           &adu) < 0) {
        s->refused++;
        ms_log_debug("udp:%d: refused a %zd-byte datagram that is not one "
                     "Modbus ADU", s->port, nread);
        return;
    }
    uint8_t out[MS_MB_ADU_MAX];
    size_t head = ms_mb_adu_head(MS_MB_FRAMING_MBAP);
    int n = ms_mb_serve_pdu(&s->h, adu.unit, adu.pdu, adu.pdu_len,
                            out + head);
    if (n < 0)
        return;
    n = ms_mb_adu_wrap(MS_MB_FRAMING_MBAP, adu.tid, adu.unit, out,
                       (size_t)n);
    if (n < 0)
        return;
    uv_buf_t b = uv_buf_init((char *)out, (unsigned)n);
    /* A full socket buffer drops the answer: the master retries. */
    uv_udp_try_send(&s->udp, &b, 1, from);
}

int ms_mb_udp_server_start(uv_loop_t *loop, const ms_mb_server_config *cfg,
                           const ms_mb_handler *h, ms_mb_udp_server **out)
{
    *out = NULL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(cfg->ip, cfg->port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(cfg->ip, cfg->port, (struct sockaddr_in6 *)&ss) != 0)
        return MS_EINVAL;
    ms_mb_udp_server *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ENOMEM;
    s->h = *h;
    uv_udp_init(loop, &s->udp);
    s->udp.data = s;
    int rc = uv_udp_bind(&s->udp, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&s->udp, on_alloc, on_recv);
    if (rc < 0) {
        ms_log_error("udp %s:%d: %s", cfg->ip, cfg->port, uv_strerror(rc));
        ms_mb_udp_server_stop(s);
        return rc;
    }
    struct sockaddr_storage me;
    int len = sizeof me;
    uv_udp_getsockname(&s->udp, (struct sockaddr *)&me, &len);
    s->port = ntohs(me.ss_family == AF_INET6
                        ? ((struct sockaddr_in6 *)&me)->sin6_port
                        : ((struct sockaddr_in *)&me)->sin_port);
    ms_log_info("serving Modbus over UDP on %s:%d", cfg->ip, s->port);
    *out = s;
    return 0;
}

int ms_mb_udp_server_port(const ms_mb_udp_server *s)
{
    return s->port;
}

static void on_closed(uv_handle_t *hd)
{
    free(hd->data);
}

void ms_mb_udp_server_stop(ms_mb_udp_server *s)
{
    if (s)
        uv_close((uv_handle_t *)&s->udp, on_closed);
}
