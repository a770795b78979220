/* logixserver's transport: sessions, CIP connections and the
 * encapsulation around lgx_db's answers (lgx_server.h). The listener's
 * sweep drops a client that has sat mid-frame longer than the timeout, so
 * one that stops costs the others nothing, not even its slot. List
 * Identity is also answered over UDP on the same port, as EtherNet/IP
 * devices do for browsers that broadcast it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "logix/server/lgx_server.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "net/listener.h"

#define UCMM_ROOM 504 /* the largest unconnected reply Logix sends */
#define CONNS_PER_CLIENT 4

typedef struct {
    bool open;
    uint32_t ot_id, to_id;
    uint16_t serial, vendor;
    uint32_t orig_serial;
    uint16_t size;
} lgx_cconn;

typedef struct {
    ms_listen_conn base;   /* first: the listener's part; base.out: replies */
    ms_lgx_server *srv;
    uint32_t session;      /* 0: not registered */
    lgx_cconn conns[CONNS_PER_CLIENT];
} lgx_conn;

struct ms_lgx_server {
    ms_lgx_server_config cfg;
    ms_listener *listener;
    uv_udp_t udp;          /* List Identity; open when udp_on */
    bool udp_on;
    int port;
    int handles;           /* the listener and the udp */
    uint32_t next_id;      /* sessions and connection ids */
    uint8_t reply[MS_LGX_FRAME_MAX], cip[MS_LGX_FRAME_MAX];
    uint8_t dgram[MS_LGX_HDR + 64];
};

static uint32_t new_id(ms_lgx_server *s)
{
    /* distinct and never 0; not guessable is not a goal here */
    s->next_id = s->next_id * 1103515245u + 12345u;
    return s->next_id | 1u;
}

static lgx_cconn *find_conn(lgx_conn *c, uint32_t ot_id)
{
    for (int i = 0; i < CONNS_PER_CLIENT; i++)
        if (c->conns[i].open && c->conns[i].ot_id == ot_id)
            return &c->conns[i];
    return NULL;
}

/* A connection with this serial triple is open (any client's). */
static bool serial_in_use(ms_lgx_server *s, const ms_lgx_fo *fo)
{
    for (ms_listen_conn *lc = ms_listener_first(s->listener); lc;
         lc = lc->next) {
        lgx_conn *c = (lgx_conn *)lc;
        for (int i = 0; i < CONNS_PER_CLIENT; i++)
            if (c->conns[i].open && c->conns[i].serial == fo->serial &&
                c->conns[i].vendor == fo->vendor &&
                c->conns[i].orig_serial == fo->orig_serial)
                return true;
    }
    return false;
}

static size_t forward_open(lgx_conn *c, const ms_lgx_req *q, ms_lgx_w *w)
{
    ms_lgx_server *s = c->srv;
    ms_lgx_db *db = s->cfg.db;
    ms_lgx_fo fo;
    if (db->no_fo ||
        (q->service == MS_LGX_SVC_LARGE_FWD_OPEN && db->no_large_fo)) {
        ms_lgx_rsp_put(w, q->service, 0x08, 0, NULL, 0);
        return w->len;
    }
    if (ms_lgx_fo_get(q, &fo) < 0) {
        ms_lgx_rsp_put(w, q->service, 0x13, 0, NULL, 0);
        return w->len;
    }
    uint16_t ext = 0;
    lgx_cconn *slot = NULL;
    for (int i = 0; i < CONNS_PER_CLIENT && !slot; i++)
        if (!c->conns[i].open)
            slot = &c->conns[i];
    if (db->refuse_fo) {
        db->refuse_fo--;
        ext = 0x0113;
    } else if (db->in_use_fo) {
        db->in_use_fo--;
        ext = 0x0100;
    } else if (serial_in_use(s, &fo)) {
        ext = 0x0100;
    } else if (!slot) {
        ext = 0x0113;
    } else if (fo.size < 100 || (!fo.large && fo.size > 511)) {
        ext = 0x0109;
    }
    if (ext) {
        ms_log_info("%s: forward open refused (0x01/0x%04X), serial 0x%04X",
                    c->base.peer, ext, fo.serial);
        ms_lgx_rsp_put(w, q->service, 0x01, ext, NULL, 0);
        return w->len;
    }
    slot->open = true;
    slot->ot_id = new_id(s);
    slot->to_id = fo.to_id;
    slot->serial = fo.serial;
    slot->vendor = fo.vendor;
    slot->orig_serial = fo.orig_serial;
    slot->size = fo.size;
    fo.ot_id = slot->ot_id;
    ms_log_info("%s: %sforward open, %u bytes, serial 0x%04X", c->base.peer,
                fo.large ? "large " : "", fo.size, fo.serial);
    ms_lgx_rsp_put(w, q->service, 0, 0, NULL, 0);
    ms_lgx_fo_reply_put(w, &fo);
    return w->len;
}

static size_t forward_close(lgx_conn *c, const ms_lgx_req *q, ms_lgx_w *w)
{
    ms_lgx_fo fo;
    if (ms_lgx_fc_get(q, &fo) < 0) {
        ms_lgx_rsp_put(w, q->service, 0x13, 0, NULL, 0);
        return w->len;
    }
    for (int i = 0; i < CONNS_PER_CLIENT; i++) {
        lgx_cconn *k = &c->conns[i];
        if (k->open && k->serial == fo.serial && k->vendor == fo.vendor &&
            k->orig_serial == fo.orig_serial) {
            k->open = false;
            ms_lgx_rsp_put(w, q->service, 0, 0, NULL, 0);
            ms_lgx_put16(w, fo.serial);
            ms_lgx_put16(w, fo.vendor);
            ms_lgx_put32(w, fo.orig_serial);
            ms_lgx_put16(w, 0);
            return w->len;
        }
    }
    ms_lgx_rsp_put(w, q->service, 0x01, 0x0107, NULL, 0);
    return w->len;
}

/* An unconnected request: Connection Manager services, or a message
 * (possibly inside an Unconnected Send) for the Message Router. */
static size_t unconnected(lgx_conn *c, const uint8_t *p, size_t n)
{
    ms_lgx_server *s = c->srv;
    ms_lgx_w w;
    ms_lgx_w_init(&w, s->cip, sizeof s->cip);
    ms_lgx_req q;
    ms_lgx_seg seg[2];
    if (ms_lgx_req_get(p, n, &q) == 0 &&
        ms_lgx_path_split(q.path, q.path_len, seg, 2) == 2 &&
        seg[0].kind == MS_LGX_SEG_CLASS && seg[0].value == 6) {
        switch (q.service) {
        case MS_LGX_SVC_FWD_OPEN:
        case MS_LGX_SVC_LARGE_FWD_OPEN:
            return forward_open(c, &q, &w);
        case MS_LGX_SVC_FWD_CLOSE:
            return forward_close(c, &q, &w);
        case MS_LGX_SVC_READ_FRAG: { /* Unconnected Send */
            ms_lgx_slice m;
            if (ms_lgx_ucmm_get(&q, &m) == 0)
                return ms_lgx_db_serve(s->cfg.db, m.p, m.n, s->cip,
                                       sizeof s->cip, UCMM_ROOM);
            break;
        }
        default:
            break;
        }
        ms_lgx_rsp_put(&w, q.service, 0x08, 0, NULL, 0);
        return w.len;
    }
    return ms_lgx_db_serve(s->cfg.db, p, n, s->cip, sizeof s->cip,
                           UCMM_ROOM);
}

static int queue(lgx_conn *c, const uint8_t *p, size_t n)
{
    if (!n)
        return -1;
    return ms_buf_append(&c->base.out, p, n);
}

/* The List Identity reply to header h: the identity item, as the
 * Identity object says, in a CPF. Returns its length; 0 on failure. */
static size_t list_identity(ms_lgx_server *s, ms_lgx_encap *h, ms_lgx_w *w)
{
    static const uint8_t get_all[] = {0x01, 0x02, 0x20, 0x01, 0x24, 0x01};
    size_t r = ms_lgx_db_serve(s->cfg.db, get_all, sizeof get_all, s->cip,
                               sizeof s->cip, UCMM_ROOM);
    if (r < 4)
        return 0;
    h->session = 0;
    h->status = 0;
    ms_lgx_encap_put(w, h);
    ms_lgx_put16(w, 1);
    ms_lgx_put16(w, MS_LGX_ITEM_IDENTITY);
    size_t at = w->len;
    ms_lgx_put16(w, 0);
    ms_lgx_put16(w, 1);        /* protocol version */
    uint8_t sa[16] = {0, 2, (uint8_t)(s->port >> 8),
                      (uint8_t)s->port}; /* sockaddr, big-endian */
    ms_lgx_put(w, sa, sizeof sa);
    ms_lgx_put(w, s->cip + 4, r - 4);
    ms_lgx_put8(w, 3);         /* state */
    ms_lgx_patch16(w, at, (uint16_t)(w->len - at - 2));
    ms_lgx_patch16(w, 2, (uint16_t)(w->len - MS_LGX_HDR));
    return w->err ? 0 : w->len;
}

/* Answers one whole frame; -1 to drop the client. */
static int answer(lgx_conn *c, const uint8_t *f, size_t n)
{
    ms_lgx_server *s = c->srv;
    ms_lgx_encap h;
    ms_lgx_encap_get(f, &h);
    const uint8_t *body = f + MS_LGX_HDR;
    size_t blen = n - MS_LGX_HDR;
    ms_lgx_w w;
    ms_lgx_w_init(&w, s->reply, sizeof s->reply);
    switch (h.command) {
    case MS_LGX_REGISTER:
        if (blen < 4 || ms_lgx_u16(body) != 1) {
            h.status = 0x69; /* unsupported protocol revision */
        } else {
            if (!c->session)
                c->session = new_id(s);
            h.session = c->session;
        }
        h.length = 4;
        ms_lgx_encap_put(&w, &h);
        ms_lgx_put16(&w, 1);
        ms_lgx_put16(&w, 0);
        return queue(c, s->reply, w.len);
    case MS_LGX_UNREGISTER:
        return -1;
    case MS_LGX_NOP:
        return 0;
    case MS_LGX_LIST_IDENTITY:
        return queue(c, s->reply, list_identity(s, &h, &w));
    case MS_LGX_SEND_RR:
    case MS_LGX_SEND_UNIT:
        break;
    default:
        h.status = 0x01; /* invalid command */
        h.length = 0;
        ms_lgx_encap_put(&w, &h);
        return queue(c, s->reply, w.len);
    }
    if (!c->session || h.session != c->session) {
        h.status = 0x64; /* invalid session handle */
        h.length = 0;
        ms_lgx_encap_put(&w, &h);
        return queue(c, s->reply, w.len);
    }
    ms_lgx_cpf cpf;
    if (ms_lgx_cpf_get(body, blen, &cpf) < 0) {
        h.status = 0x03; /* incorrect data */
        h.length = 0;
        ms_lgx_encap_put(&w, &h);
        return queue(c, s->reply, w.len);
    }
    if (h.command == MS_LGX_SEND_RR) {
        size_t r = unconnected(c, cpf.cip, cpf.cip_len);
        return queue(c, s->reply,
                     ms_lgx_frame_rr(s->reply, sizeof s->reply, c->session,
                                     h.context, s->cip, r));
    }
    lgx_cconn *k = find_conn(c, cpf.conn_id);
    if (!k) {
        ms_log_warn("%s: data for connection 0x%08X, which is not open; "
                    "dropping the client", c->base.peer, cpf.conn_id);
        return -1;
    }
    size_t r = ms_lgx_db_serve(s->cfg.db, cpf.cip, cpf.cip_len, s->cip,
                               sizeof s->cip, k->size);
    return queue(c, s->reply,
                 ms_lgx_frame_unit(s->reply, sizeof s->reply, c->session,
                                   k->to_id, cpf.seq, s->cip, r));
}

static long on_data(ms_listen_conn *lc, const uint8_t *data, size_t len)
{
    lgx_conn *c = (lgx_conn *)lc;
    size_t used = 0;
    long fl;
    for (;;) {
        fl = ms_lgx_frame_len(data + used, len - used);
        if (fl == 0)
            break;
        if (fl < 0) {
            ms_log_warn("%s: not EtherNet/IP: length %u past %u; dropping "
                        "the client", lc->peer, ms_lgx_u16(data + used + 2),
                        MS_LGX_FRAME_MAX);
            break;
        }
        if (answer(c, data + used, (size_t)fl) < 0) {
            fl = -1;
            break;
        }
        used += (size_t)fl;
    }
    ms_listen_conn_flush(lc); /* the replies before a fault still go */
    if (fl < 0) {
        ms_listen_conn_close(lc);
        return -1;
    }
    return (long)used; /* the listener keeps the rest: a partial frame */
}

static int on_accept(ms_listen_conn *lc, const struct sockaddr *peer,
                     void *arg)
{
    lgx_conn *c = (lgx_conn *)lc;
    (void)peer;
    c->srv = arg;
    ms_log_info("%s: connected", lc->peer);
    return 0;
}

static void on_udp_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    ms_lgx_server *s = hd->data;
    (void)suggested;
    *buf = uv_buf_init((char *)s->dgram, sizeof s->dgram);
}

/* A datagram: List Identity is answered, anything else ignored (UDP
 * carries nothing else here; browsers retry). */
static void on_udp(uv_udp_t *hd, ssize_t nread, const uv_buf_t *buf,
                   const struct sockaddr *from, unsigned flags)
{
    ms_lgx_server *s = hd->data;
    if (nread < MS_LGX_HDR || !from || (flags & UV_UDP_PARTIAL))
        return;
    ms_lgx_encap h;
    ms_lgx_encap_get((const uint8_t *)buf->base, &h);
    if (h.command != MS_LGX_LIST_IDENTITY)
        return;
    ms_lgx_w w;
    ms_lgx_w_init(&w, s->reply, sizeof s->reply);
    size_t n = list_identity(s, &h, &w);
    if (!n)
        return;
    uv_buf_t b = uv_buf_init((char *)s->reply, (unsigned)n);
    uv_udp_try_send(&s->udp, &b, 1, from); /* full buffer: dropped */
}

static void on_part_closed(void *arg)
{
    ms_lgx_server *s = arg;
    if (--s->handles == 0)
        free(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    on_part_closed(h->data);
}

int ms_lgx_server_start(uv_loop_t *loop, const ms_lgx_server_config *cfg,
                        ms_lgx_server **out)
{
    *out = NULL;
    ms_lgx_server *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ENOMEM;
    s->cfg = *cfg;
    if (!(s->cfg.timeout > 0))
        s->cfg.timeout = 30;
    s->next_id = (uint32_t)uv_hrtime();
    ms_listener_config lc = {
        .ip = cfg->ip,
        .port = cfg->port,
        .max_conns = cfg->max_conns,
        .peers = "clients",
        .conn_size = sizeof(lgx_conn),
        .timeout = s->cfg.timeout,
        .dropping = "the client",
        .on_accept = on_accept,
        .on_data = on_data,
        .arg = s,
    };
    int rc = ms_listener_start(loop, &lc, &s->listener);
    if (rc < 0) {
        ms_listener_log_failure(&lc, rc);
        free(s);
        return rc;
    }
    s->handles = 1;
    s->port = ms_listener_port(s->listener);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(cfg->ip, s->port, (struct sockaddr_in *)&ss) != 0)
        uv_ip6_addr(cfg->ip, s->port, (struct sockaddr_in6 *)&ss);
    uv_udp_init(loop, &s->udp);
    s->udp.data = s;
    s->handles++;
    s->udp_on = true;
    rc = uv_udp_bind(&s->udp, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&s->udp, on_udp_alloc, on_udp);
    if (rc < 0) { /* TCP serves on: List Identity is there too */
        ms_log_warn("List Identity over UDP %s:%d off: %s", cfg->ip, s->port,
                    uv_strerror(rc));
        s->udp_on = false;
        uv_close((uv_handle_t *)&s->udp, on_handle_closed);
    }
    ms_log_info("serving EtherNet/IP on %s:%d%s", cfg->ip, s->port,
                s->udp_on ? " (and List Identity over UDP)" : "");
    *out = s;
    return 0;
}

int ms_lgx_server_port(const ms_lgx_server *s)
{
    return s->port;
}

void ms_lgx_server_stop(ms_lgx_server *s)
{
    if (!s)
        return;
    ms_listener_close(s->listener, on_part_closed, s);
    if (s->udp_on)
        uv_close((uv_handle_t *)&s->udp, on_handle_closed);
}
