/* libwebsockets transport of the wwwserver (www_server.h). lws 4.1.6 on a
 * foreign libuv loop needs four workarounds (docs/www.md "Transport"):
 * - the context is destroyed twice, the second time only once every lws
 *   handle on the loop has closed (a uv_walk gate);
 * - a server-side close is started from outside lws's service with
 *   lws_set_timeout(..., LWS_TO_KILL_SYNC), never by returning -1 from
 *   WRITEABLE (Debian's debug build then kills the socket before the close
 *   frame goes out);
 * - lws picks the ws protocol by subprotocol, not URL: /ws is checked in
 *   FILTER_PROTOCOL_CONNECTION;
 * - unhandled HTTP reasons go to lws_callback_http_dummy, ws ones never.
 * Frames are made whole by the hub and written many at a time as raw bytes
 * (LWS_WRITE_HTTP on a ws connection is passed through unframed). */
#include "www/server/www_server.h"

#include <dlfcn.h>
#include <libwebsockets.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "net/listener.h"
#include "net/peer.h"

/* Marks the handles of this file on the loop, to tell them from lws's. */
static char own_tag;

typedef struct pss pss;

struct ms_www_server {
    ms_www_server_config cfg;
    uv_loop_t *loop;
    struct lws_context *ctx;
    struct lws_protocols protocols[3];
    struct lws_protocol_vhost_options pvo_default, pvo;
    void *foreign[1];
    uv_timer_t kick_timer, drain_timer, final_timer;
    uv_timer_t flush_timer;    /* writes what came, batch_ms after the last
                                * flush at the earliest */
    uv_timer_t auth_timer;     /* ends websockets of ended sessions */
    /* The session FILTER_PROTOCOL_CONNECTION accepted, for ESTABLISHED
     * (the same wsi, right after). */
    struct lws *filter_wsi;
    uint8_t filter_sid[MS_WWW_SID_LEN];
    const ms_www_user *filter_user;
    pss *flushes;              /* websockets with something to send */
    uint64_t last_flush_ns;
    int closing;               /* own handles still closing */
    pss *sessions;             /* established websockets */
    pss *kicks;                /* to close with 1008 */
    int ws_alive;              /* ws wsis not yet destroyed */
    bool stopping;
    uint64_t drain_start;
    void (*done)(void *);
    void *done_arg;
    int handles_open;
    ms_buf out;
};

/* Per connection: an HTTP transaction or a websocket. */
struct pss {
    ms_www_server *srv;
    struct lws *wsi;
    /* websocket */
    ms_www_conn *conn;
    pss *prev, *next;
    pss *kick_next;
    pss *flush_next;
    bool kicked, is_ws, in_flush;
    bool holds;               /* holds its session (ms_www_auth_hold) */
    ms_buf rx;
    const char *kick_why;     /* the close reason (default "too slow") */
    uint8_t sid[MS_WWW_SID_LEN];
    const ms_www_user *user;  /* with logins: whose websocket it is */
    /* HTTP body */
    ms_www_reply reply;
    uint64_t sent;
    bool head;
    /* POST /login */
    bool post_login, body_over, login_ready;
    ms_www_login *login;
    int login_status;
    unsigned retry_s;
    size_t body_len;
    char body[2048];
    char next_path[256];
    char token[MS_WWW_TOKEN_MAX];
};

static void peer_of(struct lws *wsi, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = lws_get_socket_fd(wsi);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        snprintf(out, cap, "unknown peer");
    else
        ms_peer_name((struct sockaddr *)&ss, out, cap);
}

/* ---- HTTP ----------------------------------------------------------------- */

static int hdr(struct lws *wsi, enum lws_token_indexes t, char *buf, int cap)
{
    if (lws_hdr_total_length(wsi, t) <= 0 ||
        lws_hdr_total_length(wsi, t) >= cap)
        return -1;
    return lws_hdr_copy(wsi, buf, cap, t);
}

static int add_hdr(struct lws *wsi, const char *name, const char *v,
                   uint8_t **p, uint8_t *end)
{
    return lws_add_http_header_by_name(wsi, (const uint8_t *)name,
                                       (const uint8_t *)v, (int)strlen(v), p,
                                       end);
}

/* A small answer written whole: an error, the login page, a redirect
 * (location), with a session cookie to set or clear (cookie). */
static int http_small(struct lws *wsi, int status, const char *body, size_t n,
                      const char *location, const char *cookie,
                      unsigned retry_s)
{
    uint8_t buf[LWS_PRE + 8192], *start = buf + LWS_PRE, *p = start,
                                 *end = buf + sizeof buf - 1;
    char ra[16];
    snprintf(ra, sizeof ra, "%u", retry_s);
    if (n > 4096 ||
        lws_add_http_common_headers(wsi, (unsigned)status,
                                    "text/html; charset=utf-8",
                                    (lws_filepos_t)n, &p, end) ||
        add_hdr(wsi, "cache-control:", "no-store", &p, end) ||
        add_hdr(wsi, "x-content-type-options:", "nosniff", &p, end) ||
        add_hdr(wsi, "x-frame-options:", "DENY", &p, end) ||
        (location && add_hdr(wsi, "location:", location, &p, end)) ||
        (cookie && add_hdr(wsi, "set-cookie:", cookie, &p, end)) ||
        (retry_s && add_hdr(wsi, "retry-after:", ra, &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (n) {
        memcpy(start, body, n);
        if (lws_write(wsi, start, n, LWS_WRITE_HTTP_FINAL) != (int)n)
            return -1;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_error(struct lws *wsi, int status, const char *reason)
{
    char body[256];
    int n = snprintf(body, sizeof body,
                     "<!doctype html><title>%d</title><p>%d: %s</p>\n",
                     status, status, reason);
    return http_small(wsi, status, body, (size_t)n, NULL, NULL, 0);
}

/* ---- logins ------------------------------------------------------------- */

static int login_page(struct lws *wsi, int status, const char *msg,
                      const char *next, unsigned retry_s)
{
    size_t n;
    char *page = ms_www_login_page(msg, next, &n);
    if (!page)
        return -1;
    int rc = http_small(wsi, status, page, n, NULL, NULL, retry_s);
    free(page);
    return rc;
}

static bool tls(const ms_www_server *srv)
{
    return srv->cfg.tls_cert != NULL;
}

/* The session cookie: a token, or NULL to clear it. */
static void cookie_text(const ms_www_server *srv, const char *token,
                        char *out, size_t cap)
{
    snprintf(out, cap, "%s=%s; Path=/; Max-Age=%u; HttpOnly; "
             "SameSite=Strict%s", MS_WWW_COOKIE, token ? token : "",
             token ? ms_www_auth_max_s(srv->cfg.auth) : 0,
             tls(srv) ? "; Secure" : "");
}

/* A browser's page on this server, or one the config names: the Origin
 * header's host is the Host header's, or in origins:. Without Origin: not
 * a browser's cross-site request (browsers send it on websockets and
 * POSTs); allowed only where want is false. */
static bool origin_ok(ms_www_server *srv, struct lws *wsi, bool want,
                      char *origin, size_t cap)
{
    char host[256];
    if (hdr(wsi, WSI_TOKEN_ORIGIN, origin, (int)cap) < 0) {
        snprintf(origin, cap, "(none)");
        return !want;
    }
    const char *oh = ms_www_origin_host(origin);
    if (!oh)
        return false;
    if (hdr(wsi, WSI_TOKEN_HOST, host, sizeof host) >= 0 &&
        !strcasecmp(oh, host))
        return true;
    for (size_t i = 0; i < srv->cfg.norigins; i++)
        if (!strcasecmp(oh, srv->cfg.origins[i]) ||
            !strcasecmp(origin, srv->cfg.origins[i]))
            return true;
    return false;
}

static void login_done(void *arg, int status, const char *token,
                       unsigned retry_s)
{
    pss *s = arg;
    s->login = NULL;
    s->login_status = status;
    s->retry_s = retry_s;
    snprintf(s->token, sizeof s->token, "%s", token ? token : "");
    s->login_ready = true;
    lws_callback_on_writable(s->wsi);
}

static int login_post(pss *s, struct lws *wsi)
{
    ms_www_server *srv = s->srv;
    char peer[MS_PEER_NAME_MAX], origin[256], name[MS_WWW_NAME_MAX + 1],
        pass[256];
    peer_of(wsi, peer, sizeof peer);
    if (!origin_ok(srv, wsi, false, origin, sizeof origin)) {
        ms_log_warn("www: %s: login from a page of %.100s refused (not "
                    "this server's; add it to origins: if it is)", peer,
                    origin);
        return http_error(wsi, 403, "login from another site's page");
    }
    int rc = ms_www_form_get(s->body, s->body_len, "next", s->next_path,
                             sizeof s->next_path);
    if (rc < 0)
        snprintf(s->next_path, sizeof s->next_path, "/");
    if (s->body_over ||
        ms_www_form_get(s->body, s->body_len, "name", name, sizeof name) <=
            0 ||
        ms_www_form_get(s->body, s->body_len, "password", pass,
                        sizeof pass) < 0) {
        sodium_memzero(s->body, sizeof s->body);
        return login_page(wsi, 400, "Give a name and a password.", s->next_path,
                          0);
    }
    s->login = ms_www_auth_login(srv->cfg.auth, name, pass, peer, login_done,
                                 s);
    sodium_memzero(s->body, sizeof s->body);
    sodium_memzero(pass, sizeof pass);
    if (!s->login)
        return http_error(wsi, 503, "out of memory");
    return 0; /* login_done, then WRITEABLE answers */
}

static int login_answer(pss *s, struct lws *wsi)
{
    ms_www_server *srv = s->srv;
    s->login_ready = false;
    char cookie[MS_WWW_TOKEN_MAX + 128], msg[128];
    switch (s->login_status) {
    case 200:
        cookie_text(srv, s->token, cookie, sizeof cookie);
        sodium_memzero(s->token, sizeof s->token);
        return http_small(wsi, 303, "", 0, ms_www_login_next(s->next_path), cookie,
                          0);
    case 429:
        snprintf(msg, sizeof msg, "Too many failed logins: try again in %u "
                 "s.", s->retry_s);
        return login_page(wsi, 429, msg, s->next_path, s->retry_s);
    case 401:
        return login_page(wsi, 401, "Wrong name or password.", s->next_path, 0);
    default:
        return login_page(wsi, 503, "The server is busy: try again.",
                          s->next_path, 1);
    }
}

/* With logins, before any file: /login, /logout, and a session for the
 * rest. Returns 1 when the request was answered here (rc in *rc). */
static int auth_route(pss *s, struct lws *wsi, const char *uri, int *rc)
{
    ms_www_server *srv = s->srv;
    char cookie[1024], peer[MS_PEER_NAME_MAX];
    if (!strcmp(uri, "/login")) {
        *rc = login_page(wsi, 200, NULL, "/", 0);
        return 1;
    }
    int clen = hdr(wsi, WSI_TOKEN_HTTP_COOKIE, cookie, sizeof cookie);
    uint8_t sid[MS_WWW_SID_LEN];
    const ms_www_user *u;
    const char *why;
    int ok = ms_www_auth_check(srv->cfg.auth, clen >= 0 ? cookie : NULL,
                               clen >= 0 ? (size_t)clen : 0, sid, &u, &why);
    if (!strcmp(uri, "/logout")) {
        peer_of(wsi, peer, sizeof peer);
        if (ok == 0)
            ms_www_auth_logout(srv->cfg.auth, sid, peer);
        char clear[256];
        cookie_text(srv, NULL, clear, sizeof clear);
        *rc = http_small(wsi, 303, "", 0, "/login", clear, 0);
        return 1;
    }
    if (ok == 0)
        return 0;
    size_t n = strlen(uri);
    if (!strcmp(uri, "/") || (n > 5 && !strcmp(uri + n - 5, ".html"))) {
        *rc = http_small(wsi, 303, "", 0, "/login", NULL, 0);
    } else {
        peer_of(wsi, peer, sizeof peer);
        ms_log_info("www: %s: GET %.200s: 401 %s", peer, uri, why);
        *rc = http_error(wsi, 401, "log in first (/login)");
    }
    return 1;
}

static int http_get(pss *s, struct lws *wsi)
{
    ms_www_server *srv = s->srv;
    char uri[4096], inm[256], ae[256];
    int n = hdr(wsi, WSI_TOKEN_GET_URI, uri, sizeof uri);
    s->head = false;
    if (n < 0) {
        n = hdr(wsi, WSI_TOKEN_HEAD_URI, uri, sizeof uri);
        s->head = n >= 0;
    }
    if (n < 0 && srv->cfg.auth &&
        hdr(wsi, WSI_TOKEN_POST_URI, uri, sizeof uri) >= 0 &&
        !strcmp(uri, "/login")) {
        s->post_login = true; /* the form comes as the body */
        return 0;
    }
    if (n < 0) /* POST, PUT, ...: nothing here takes them */
        return http_error(wsi, 405, "only GET and HEAD");
    char *q = strchr(uri, '?');
    if (q)
        *q = 0;
    int rc;
    if (srv->cfg.auth && auth_route(s, wsi, uri, &rc))
        return rc;
    bool has_inm = hdr(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, inm, sizeof inm) >= 0;
    bool has_ae = hdr(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, ae, sizeof ae) >= 0;
    /* lws has percent-decoded the path; a NUL from %00 ends it early, so
     * the length it reports is compared (a shorter string: refused). */
    size_t len = strlen(uri);
    ms_www_reply *r = &s->reply;
    if ((int)len != n)
        r->status = 403, r->reason = "path not allowed";
    else
        ms_www_files_get(&srv->cfg.roots, uri, len, has_inm ? inm : NULL,
                         has_ae ? ae : NULL, r);
    char peer[MS_PEER_NAME_MAX];
    if (r->status >= 400) {
        peer_of(wsi, peer, sizeof peer);
        ms_log_info("www: %s: GET %.200s: %d %s", peer, uri, r->status,
                    r->reason);
        return http_error(wsi, r->status, r->reason);
    }
    uint8_t buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start,
                                 *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)r->status,
                                    r->status == 304 ? NULL : r->mime,
                                    r->status == 304 ? LWS_ILLEGAL_HTTP_CONTENT_LEN
                                                     : (lws_filepos_t)r->size,
                                    &p, end) ||
        lws_add_http_header_by_name(wsi, (const uint8_t *)"cache-control:",
                                    (const uint8_t *)r->cache,
                                    (int)strlen(r->cache), &p, end) ||
        lws_add_http_header_by_name(wsi, (const uint8_t *)"etag:",
                                    (const uint8_t *)r->etag,
                                    (int)strlen(r->etag), &p, end) ||
        lws_add_http_header_by_name(wsi, (const uint8_t *)"vary:",
                                    (const uint8_t *)"Accept-Encoding", 15,
                                    &p, end) ||
        (r->gzip && lws_add_http_header_by_name(
                        wsi, (const uint8_t *)"content-encoding:",
                        (const uint8_t *)"gzip", 4, &p, end)) ||
        (r->status == 200 && lws_add_http_header_by_name(
                                 wsi, (const uint8_t *)"x-content-type-options:",
                                 (const uint8_t *)"nosniff", 7, &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (r->status == 304 || s->head || r->size == 0) {
        ms_www_reply_free(r);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    s->sent = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

static int http_writeable(pss *s, struct lws *wsi)
{
    ms_www_reply *r = &s->reply;
    if (r->status != 200 || (r->fd < 0 && !r->body))
        return 0;
    static uint8_t buf[LWS_PRE + 65536];
    uint8_t *start = buf + LWS_PRE;
    size_t want = r->size - s->sent;
    if (want > 65536)
        want = 65536;
    if (r->body) {
        memcpy(start, r->body + s->sent, want);
    } else {
        ssize_t n = pread(r->fd, start, want, (off_t)s->sent);
        if (n <= 0)
            return -1; /* the file shrank: the length is a lie now */
        want = (size_t)n;
    }
    s->sent += want;
    bool last = s->sent >= r->size;
    if (lws_write(wsi, start, want,
                  last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)want)
        return -1;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    ms_www_reply_free(r);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason,
                   void *user, void *in, size_t len)
{
    pss *s = user;
    ms_www_server *srv = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        memset(s, 0, sizeof *s);
        s->reply.fd = -1;
        s->srv = srv;
        s->wsi = wsi;
        return http_get(s, wsi);
    case LWS_CALLBACK_HTTP_BODY:
        if (s && s->post_login) {
            if (s->body_len + len >= sizeof s->body)
                s->body_over = true;
            else
                memcpy(s->body + s->body_len, in, len), s->body_len += len;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (s && s->post_login && !s->login && !s->login_ready)
            return login_post(s, wsi);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (s && s->login_ready)
            return login_answer(s, wsi);
        return http_writeable(s, wsi);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s && s->srv) {
            ms_www_reply_free(&s->reply);
            ms_www_login_cancel(s->login);
            s->login = NULL;
            sodium_memzero(s->token, sizeof s->token);
        }
        break;
    case LWS_CALLBACK_WSI_DESTROY: {
        /* Every wsi ends here (protocols[0] only); count websockets. */
        const struct lws_protocols *p = lws_get_protocol(wsi);
        if (srv && p && p->name && !strcmp(p->name, "mscada-ws") && s &&
            s->is_ws)
            srv->ws_alive--;
        return 0;
    }
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- websocket -------------------------------------------------------------- */

static bool ws_path(struct lws *wsi)
{
    char uri[1024];
    int n = hdr(wsi, WSI_TOKEN_GET_URI, uri, sizeof uri);
    if (n < 3)
        return false;
    char *q = strchr(uri, '?');
    if (q)
        *q = 0;
    n = (int)strlen(uri);
    return n >= 3 && !strcmp(uri + n - 3, "/ws");
}

static void session_unlink(ms_www_server *srv, pss *s)
{
    if (s->holds) /* the tab closed: its session idles from now */
        ms_www_auth_release(srv->cfg.auth, s->sid);
    s->holds = false;
    if (s->prev)
        s->prev->next = s->next;
    else if (srv->sessions == s)
        srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    for (pss **k = &srv->kicks; *k; k = &(*k)->kick_next) {
        if (*k == s) {
            *k = s->kick_next;
            break;
        }
    }
    if (s->in_flush) {
        for (pss **k = &srv->flushes; *k; k = &(*k)->flush_next) {
            if (*k == s) {
                *k = s->flush_next;
                break;
            }
        }
        s->in_flush = false;
    }
}

static int ws_writeable(ms_www_server *srv, pss *s, struct lws *wsi)
{
    if (!s->conn || s->kicked)
        return 0;
    ms_buf *out = &srv->out;
    out->off = 0;
    out->len = LWS_PRE;
    if (!ms_buf_reserve(out, srv->cfg.write_batch))
        return 0;
    bool more = ms_www_conn_fill(s->conn, out, srv->cfg.write_batch +
                                               LWS_PRE);
    size_t n = out->len - LWS_PRE;
    if (n && lws_write(wsi, out->data + LWS_PRE, n, LWS_WRITE_HTTP) <
                 (int)n) {
        char peer[MS_PEER_NAME_MAX];
        peer_of(wsi, peer, sizeof peer);
        ms_log_warn("www: %s: write failed; closing", peer);
        return -1;
    }
    ms_buf_shrink(out, 1 << 20);
    if (more)
        lws_callback_on_writable(wsi);
    return 0;
}

static int ws_receive(ms_www_server *srv, pss *s, struct lws *wsi,
                      const void *in, size_t len)
{
    if (!s->conn)
        return 0;
    if (ms_buf_size(&s->rx) + len > srv->cfg.max_message) {
        ms_log_warn("www: %s: message over max_message (%zu bytes); "
                    "closing (1009)", ms_www_conn_peer(s->conn),
                    srv->cfg.max_message);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                         (unsigned char *)"too big", 7);
        return -1;
    }
    if (ms_buf_append(&s->rx, in, len) < 0)
        return -1;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return 0;
    if (lws_frame_is_binary(wsi)) {
        ms_www_conn_recv_binary(s->conn, ms_buf_size(&s->rx));
    } else {
        ms_www_action act;
        ms_www_conn_recv(s->conn, (const char *)ms_buf_head(&s->rx),
                         ms_buf_size(&s->rx), &act);
        if (act.kind != MS_WWW_ACT_NONE && srv->cfg.on_action)
            srv->cfg.on_action(s->conn, &act, srv->cfg.arg);
        ms_www_action_done(&act);
    }
    s->rx.off = s->rx.len = 0;
    ms_buf_shrink(&s->rx, 4096);
    return 0;
}

/* A websocket with logins: a live session's cookie, from a page of this
 * server (the Origin check stops another site's page from riding on the
 * browser's cookie). Returns 0 to accept, 1 to refuse. */
static int ws_auth(ms_www_server *srv, struct lws *wsi)
{
    char peer[MS_PEER_NAME_MAX], origin[256], cookie[1024];
    const char *why;
    const ms_www_user *u;
    peer_of(wsi, peer, sizeof peer);
    if (!origin_ok(srv, wsi, true, origin, sizeof origin)) {
        ms_log_warn("www: %s: websocket refused: Origin %.100s is not this "
                    "server (a page of another site; if it is yours, add "
                    "it to origins:)", peer, origin);
        return 1;
    }
    int n = hdr(wsi, WSI_TOKEN_HTTP_COOKIE, cookie, sizeof cookie);
    if (ms_www_auth_check(srv->cfg.auth, n >= 0 ? cookie : NULL,
                          n >= 0 ? (size_t)n : 0, srv->filter_sid, &u,
                          &why) < 0) {
        ms_log_info("www: %s: websocket refused: %s", peer, why);
        return 1;
    }
    srv->filter_wsi = wsi;
    srv->filter_user = u;
    return 0;
}

const ms_www_user *ms_www_server_conn_user(const ms_www_conn *c)
{
    const pss *s = ms_www_conn_user(c);
    return s ? s->user : NULL;
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason,
                 void *user, void *in, size_t len)
{
    pss *s = user;
    ms_www_server *srv = lws_context_user(lws_get_context(wsi));
    char peer[MS_PEER_NAME_MAX];
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (srv->stopping || !ws_path(wsi)) {
            peer_of(wsi, peer, sizeof peer);
            ms_log_info("www: %s: websocket refused (%s)", peer,
                        srv->stopping ? "stopping" : "not at /ws");
            return 1;
        }
        return srv->cfg.auth ? ws_auth(srv, wsi) : 0;
    case LWS_CALLBACK_ESTABLISHED:
        memset(s, 0, sizeof *s);
        s->srv = srv;
        s->wsi = wsi;
        s->reply.fd = -1;
        s->is_ws = true;
        srv->ws_alive++;
        if (srv->cfg.auth) {
            if (srv->filter_wsi != wsi)
                return -1;
            memcpy(s->sid, srv->filter_sid, sizeof s->sid);
            s->user = srv->filter_user;
            srv->filter_wsi = NULL;
        }
        peer_of(wsi, peer, sizeof peer);
        s->conn = ms_www_conn_new(srv->cfg.hub, peer, s);
        if (!s->conn) {
            lws_close_reason(wsi, (enum lws_close_status)1013,
                             (unsigned char *)"full", 4);
            return -1;
        }
        s->next = srv->sessions;
        if (s->next)
            s->next->prev = s;
        srv->sessions = s;
        /* Not held (ended meanwhile): auth_cb closes it. */
        s->holds = srv->cfg.auth && ms_www_auth_hold(srv->cfg.auth, s->sid);
        if (s->user) { /* after config and pages: who, and may it write */
            json_t *p = ms_www_user_json(s->user);
            ms_www_conn_send(s->conn, "user", p);
            json_decref(p);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(srv, s, wsi);
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(srv, s, wsi, in, len);
    case LWS_CALLBACK_CLOSED:
        if (s && s->srv && s->is_ws) {
            session_unlink(srv, s);
            ms_www_conn_free(s->conn);
            s->conn = NULL;
            ms_buf_free(&s->rx);
        }
        return 0;
    default:
        return 0;
    }
}

/* ---- hub callbacks: writable and kick ------------------------------------- */

static void kick(ms_www_server *srv, pss *s);

/* After the loop turn's input (bus values, browser messages) has been
 * handled (a timer runs at the start of the next turn, before it polls):
 * every websocket with something new is written at once, one write each,
 * unless lws still holds unsent bytes of it (then lws waits for POLLOUT).
 * This saves the two epoll_ctl calls per write of asking lws for a
 * writable callback for every small batch. */
static void flush_cb(uv_timer_t *h)
{
    ms_www_server *srv =
        (ms_www_server *)((char *)h - offsetof(ms_www_server, flush_timer));
    while (srv->flushes) {
        pss *s = srv->flushes;
        srv->flushes = s->flush_next;
        s->in_flush = false;
        if (!s->conn || s->kicked)
            continue;
        if (lws_partial_buffered(s->wsi)) { /* lws still holds some */
            lws_callback_on_writable(s->wsi);
            continue;
        }
        if (ws_writeable(srv, s, s->wsi) < 0)
            kick(srv, s);
    }
    srv->last_flush_ns = uv_hrtime();
}

static void want_write(ms_www_conn *c, void *arg)
{
    ms_www_server *srv = arg;
    pss *s = ms_www_conn_user(c);
    if (!s || !s->wsi || s->in_flush)
        return;
    bool first = !srv->flushes;
    s->in_flush = true;
    s->flush_next = srv->flushes;
    srv->flushes = s;
    if (!first)
        return;
    /* At most one flush per batch_ms: more frames per write, fewer
     * writes, at the cost of at most batch_ms of latency. */
    uint64_t since_ms = (uv_hrtime() - srv->last_flush_ns) / 1000000u;
    uv_timer_start(&srv->flush_timer, flush_cb,
                   since_ms >= srv->cfg.batch_ms ? 0
                                                 : srv->cfg.batch_ms - since_ms,
                   0);
}

static void kick_cb(uv_timer_t *t)
{
    ms_www_server *srv =
        (ms_www_server *)((char *)t - offsetof(ms_www_server, kick_timer));
    while (srv->kicks) {
        pss *s = srv->kicks;
        srv->kicks = s->kick_next;
        s->kick_next = NULL;
        const char *why = s->kick_why ? s->kick_why : "too slow";
        lws_close_reason(s->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                         (unsigned char *)why, strlen(why));
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
    }
}

static void overflow(ms_www_conn *c, void *arg)
{
    pss *s = ms_www_conn_user(c);
    if (s)
        kick(arg, s);
}

/* Closes with 1008 soon (never from inside hub or lws calls). */
static void kick(ms_www_server *srv, pss *s)
{
    if (s->kicked)
        return;
    s->kicked = true;
    s->kick_next = srv->kicks;
    srv->kicks = s;
    uv_timer_start(&srv->kick_timer, kick_cb, 0, 0);
}

/* Every second with logins: websockets whose session ended (logout,
 * absolute timeout) are closed with 1008, and sessions that ended are
 * audited. An open websocket holds its session: it does not idle. */
static void auth_cb(uv_timer_t *t)
{
    ms_www_server *srv =
        (ms_www_server *)((char *)t - offsetof(ms_www_server, auth_timer));
    for (pss *s = srv->sessions; s; s = s->next) {
        if (!s->kicked && !ms_www_auth_alive(srv->cfg.auth, s->sid)) {
            ms_log_info("www: %s: session of %s ended: closing its "
                        "websocket", ms_www_conn_peer(s->conn),
                        s->user ? s->user->name : "?");
            s->kick_why = "session ended";
            kick(srv, s);
        }
    }
    ms_www_auth_sweep(srv->cfg.auth);
}

/* ---- start and stop ----------------------------------------------------------- */

void ms_www_server_config_init(ms_www_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->ip = "127.0.0.1";
    cfg->port = 8324;
    cfg->max_message = 1u << 20;
    cfg->write_batch = 64u << 10;
    cfg->batch_ms = 2;
}

static void lws_to_ms_log(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    ms_log(level == LLL_ERR ? MS_LOG_WARN : MS_LOG_DEBUG, "lws: %.*s",
           (int)n, line);
}

static void close_own(ms_www_server *srv);

/* lws 4.1 dlopen()s its libuv glue and dlclose()s it when a context is
 * freed, also inside a failed lws_create_context() (a port in use), while
 * uv handles it is closing still point into it: the loop then calls
 * unmapped code. Our own RTLD_NODELETE reference keeps the plugin mapped
 * for the life of the process (a second dlopen only counts a reference).
 * Failure is not fatal: lws then fails to load it too and says so. */
static void pin_evlib(void)
{
    (void)dlopen("libwebsockets-evlib_uv.so", RTLD_NOW | RTLD_NODELETE);
}

/* A failed bind inside lws_create_context() also frees the context while
 * uv handles it is closing still use it: a port in use is found here
 * first, by binding it the way lws will. An ip that is not an address
 * (lws also takes interface names) is left to lws. */
static int port_check(const char *ip, int port)
{
    uv_os_sock_t fd;
    int got;
    int rc = ms_listen_socket(ip, port, &fd, &got);
    if (rc == 0)
        close(fd);
    return rc == UV_EINVAL ? 0 : rc;
}

int ms_www_server_start(uv_loop_t *loop, const ms_www_server_config *cfg,
                        ms_www_server **out, char *why, size_t whylen)
{
    ms_www_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return MS_ENOMEM;
    srv->cfg = *cfg;
    srv->loop = loop;
    if (!srv->cfg.write_batch)
        srv->cfg.write_batch = 64u << 10;
    if (!srv->cfg.max_message)
        srv->cfg.max_message = 1u << 20;
    ms_www_hub_set_io(cfg->hub, want_write, overflow, srv);
    lws_set_log_level(LLL_ERR | (ms_log_get_level() >= MS_LOG_DEBUG
                                     ? LLL_WARN : 0), lws_to_ms_log);
    srv->protocols[0] = (struct lws_protocols){
        "http", cb_http, sizeof(pss), 0, 0, NULL, 0};
    srv->protocols[1] = (struct lws_protocols){
        "mscada-ws", cb_ws, sizeof(pss), 65536, 0, NULL, 0};
    srv->pvo_default = (struct lws_protocol_vhost_options){
        NULL, NULL, "default", "1"};
    srv->pvo = (struct lws_protocol_vhost_options){
        NULL, &srv->pvo_default, "mscada-ws", ""};
    srv->foreign[0] = loop;
    pin_evlib();
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (cfg->tls_cert) {
        /* HTTPS and WSS; plain HTTP on the same port gets a redirect. HTTP/1
         * only: the websocket's frames are written raw (no h2 framing). */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                        LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT |
                        LWS_SERVER_OPTION_REDIRECT_HTTP_TO_HTTPS;
        if (cfg->hsts)
            info.options |= LWS_SERVER_OPTION_STS;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        info.alpn = "http/1.1";
    }
    if (!strchr(cfg->ip, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = srv->foreign;
    info.pcontext = &srv->ctx;
    info.port = cfg->port;
    info.iface = cfg->ip;
    info.protocols = srv->protocols;
    info.pvo = &srv->pvo;
    info.user = srv;
    info.timeout_secs = 30;
    info.ka_time = 60; /* TCP keepalive finds browsers that vanished */
    info.ka_probes = 3;
    info.ka_interval = 10;
    uv_timer_init(loop, &srv->kick_timer);
    uv_timer_init(loop, &srv->drain_timer);
    uv_timer_init(loop, &srv->final_timer);
    uv_timer_init(loop, &srv->flush_timer);
    uv_timer_init(loop, &srv->auth_timer);
    srv->flush_timer.data = srv->auth_timer.data = &own_tag;
    srv->kick_timer.data = srv->drain_timer.data = srv->final_timer.data =
        &own_tag;
    int in_use = port_check(cfg->ip, cfg->port);
    srv->ctx = in_use < 0 ? NULL : lws_create_context(&info);
    struct lws_vhost *vh =
        srv->ctx ? lws_get_vhost_by_name(srv->ctx, "default") : NULL;
    if (in_use < 0) {
        snprintf(why, whylen, "wwwserver: cannot listen on %s:%d: %s: "
                 "change ip/port in wwwserver.yaml", cfg->ip, cfg->port,
                 uv_strerror(in_use));
    } else if (!vh || lws_get_vhost_listen_port(vh) <= 0) {
        snprintf(why, whylen, "wwwserver: cannot listen on %s:%d (in use, "
                 "or not an address of this machine; or the package "
                 "libwebsockets-evlib-uv is missing): change ip/port in "
                 "wwwserver.yaml", cfg->ip, cfg->port);
    }
    if (in_use < 0 || !vh || lws_get_vhost_listen_port(vh) <= 0) {
        *out = NULL;
        if (!srv->ctx) {
            close_own(srv);
        } else {
            ms_www_server_stop(srv, NULL, NULL); /* frees it, later */
        }
        return MS_EIO;
    }
    if (cfg->auth)
        uv_timer_start(&srv->auth_timer, auth_cb, 1000, 1000);
    *out = srv;
    return 0;
}

int ms_www_server_port(const ms_www_server *s)
{
    struct lws_vhost *vh =
        s->ctx ? lws_get_vhost_by_name(s->ctx, "default") : NULL;
    return vh ? lws_get_vhost_listen_port(vh) : 0;
}

static void count_lws(uv_handle_t *h, void *arg)
{
    if (h->data != &own_tag && uv_is_closing(h))
        (*(int *)arg)++;
}

static void free_on_close(uv_handle_t *h)
{
    /* libuv runs close callbacks newest first: free after the last. */
    ms_www_server *srv = h->data;
    if (--srv->closing > 0)
        return;
    void (*done)(void *) = srv->done;
    void *arg = srv->done_arg;
    free(srv);
    if (done)
        done(arg);
}

static void close_own(ms_www_server *srv)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&srv->flush_timer,
                         (uv_handle_t *)&srv->kick_timer,
                         (uv_handle_t *)&srv->drain_timer,
                         (uv_handle_t *)&srv->final_timer,
                         (uv_handle_t *)&srv->auth_timer};
    srv->closing = 5;
    for (int i = 0; i < 5; i++) {
        hs[i]->data = srv;
        uv_close(hs[i], free_on_close);
    }
}

static void final_cb(uv_timer_t *t)
{
    ms_www_server *srv =
        (ms_www_server *)((char *)t - offsetof(ms_www_server, final_timer));
    int closing = 0;
    uv_walk(srv->loop, count_lws, &closing);
    if (closing)
        return; /* lws's handles still closing: the plugin must stay */
    uv_timer_stop(t);
    lws_context_destroy(srv->ctx); /* the second time frees it */
    srv->ctx = NULL;
    ms_buf_free(&srv->out);
    close_own(srv);
}

static void drain_cb(uv_timer_t *t)
{
    ms_www_server *srv =
        (ms_www_server *)((char *)t - offsetof(ms_www_server, drain_timer));
    if (srv->ws_alive > 0 && uv_now(srv->loop) - srv->drain_start < 2000)
        return;
    uv_timer_stop(t);
    lws_context_destroy(srv->ctx); /* the first time: closes every wsi */
    uv_timer_start(&srv->final_timer, final_cb, 5, 5);
}

void ms_www_server_stop(ms_www_server *srv, void (*done)(void *), void *arg)
{
    if (!srv || srv->stopping)
        return;
    srv->stopping = true;
    srv->done = done;
    srv->done_arg = arg;
    uv_timer_stop(&srv->kick_timer);
    uv_timer_stop(&srv->flush_timer);
    uv_timer_stop(&srv->auth_timer);
    srv->kicks = NULL;
    for (pss *s = srv->flushes; s; s = s->flush_next)
        s->in_flush = false;
    srv->flushes = NULL;
    ms_www_hub_set_io(srv->cfg.hub, NULL, NULL, NULL);
    while (srv->sessions) {
        pss *s = srv->sessions;
        srv->sessions = s->next; /* CLOSED runs inside the calls below */
        if (srv->sessions)
            srv->sessions->prev = NULL;
        s->prev = s->next = NULL;
        if (s->holds)
            ms_www_auth_release(srv->cfg.auth, s->sid);
        s->holds = false;
        lws_close_reason(s->wsi, LWS_CLOSE_STATUS_GOINGAWAY,
                         (unsigned char *)"shutdown", 8);
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
    }
    srv->drain_start = uv_now(srv->loop);
    uv_timer_start(&srv->drain_timer, drain_cb, 10, 10);
}
