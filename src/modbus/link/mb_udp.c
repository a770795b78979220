/* Modbus over UDP (mb_udp.h): one ADU per datagram on a connected socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/link/mb_udp.h"
#include "mscada/error.h"
#include "mscada/log.h"

struct ms_mb_udp {
    uv_udp_t udp;
    char name[64];
    ms_mb_udp_frame_cb on_frame;
    void *arg;
    bool closing;
    uint64_t refused;
    uint8_t rbuf[2048]; /* a datagram larger than an ADU is refused anyway */
};

int ms_mb_udp_datagram(ms_mb_framing f, ms_mb_dir dir, const uint8_t *p,
                       size_t len, ms_mb_adu *adu)
{
    int n = ms_mb_adu_decode(f, dir, p, len, adu);
    /* Bytes left over, or an ADU cut short: a datagram is all or nothing. */
    return n > 0 && (size_t)n == len ? 0 : MS_EPROTO;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    ms_mb_udp *u = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)u->rbuf, sizeof u->rbuf);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *from, unsigned flags)
{
    ms_mb_udp *u = h->data;
    (void)from;
    if (u->closing || nread == 0)
        return;
    if (nread < 0) {
        /* e.g. ECONNREFUSED from an ICMP port unreachable: nobody listens
         * yet; the request times out and is tried again. */
        ms_log_debug("%s: udp: %s", u->name, uv_strerror((int)nread));
        return;
    }
    ms_mb_adu adu;
    if ((flags & UV_UDP_PARTIAL) ||
        ms_mb_udp_datagram(MS_MB_FRAMING_MBAP, MS_MB_RESPONSE,
                           (const uint8_t *)buf->base, (size_t)nread,
                           &adu) < 0) {
        u->refused++;
        ms_log_warn("%s: refused a %zd-byte datagram that is not one Modbus "
                    "ADU", u->name, nread);
        return;
    }
    u->on_frame(u, (const uint8_t *)buf->base, (size_t)nread, u->arg);
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void ms_mb_udp_close(ms_mb_udp *u)
{
    if (!u || u->closing)
        return;
    u->closing = true;
    uv_close((uv_handle_t *)&u->udp, on_closed);
}

int ms_mb_udp_open(uv_loop_t *loop, const char *host, int port,
                   const char *name, ms_mb_udp_frame_cb on_frame, void *arg,
                   ms_mb_udp **out)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
        /* A name: resolved synchronously (no callback), once per open;
         * devices are nearly always configured by address. */
        uv_getaddrinfo_t req;
        struct addrinfo hints;
        char ps[16];
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_DGRAM;
        snprintf(ps, sizeof ps, "%d", port);
        int rc = uv_getaddrinfo(loop, &req, NULL, host, ps, &hints);
        if (rc < 0)
            return rc;
        memcpy(&ss, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
        uv_freeaddrinfo(req.addrinfo);
    }
    ms_mb_udp *u = calloc(1, sizeof *u);
    if (!u)
        return MS_ENOMEM;
    snprintf(u->name, sizeof u->name, "%s", name);
    u->on_frame = on_frame;
    u->arg = arg;
    uv_udp_init(loop, &u->udp);
    u->udp.data = u;
    int rc = uv_udp_connect(&u->udp, (const struct sockaddr *)&ss);
    if (rc == 0)
        rc = uv_udp_recv_start(&u->udp, on_alloc, on_recv);
    if (rc < 0) {
        ms_mb_udp_close(u);
        return rc;
    }
    *out = u;
    return 0;
}

int ms_mb_udp_send(ms_mb_udp *u, const uint8_t *p, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    int rc = uv_udp_try_send(&u->udp, &b, 1, NULL);
    return rc < 0 ? rc : 0;
}

uint64_t ms_mb_udp_refused(const ms_mb_udp *u)
{
    return u->refused;
}
