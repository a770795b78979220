/* net-snmp's single-session async API on a libuv loop (snmp_session.h).
 *
 * Per session: the transport's one UDP fd in a uv_poll (readable ->
 * snmp_sess_read2) and one uv_timer armed from snmp_sess_select_info2_flags
 * after every send, read and timeout (fire -> snmp_sess_timeout, which
 * retransmits or ends a request as timed out). NETSNMP_SELECT_NOALARMS:
 * the library's alarms are not used. SNMPv3 sessions are opened with
 * SNMP_FLAGS_DONT_PROBE, because net-snmp's own engine-id probe is a
 * blocking round trip; the probe PDU (noAuth, empty user) is sent async
 * instead, and its Report's engine id localises the user's keys. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>
#include <net-snmp/library/snmpusm.h>
#include <net-snmp/library/transform_oids.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "mscada/error.h"
#include "mscada/log.h"
#include "snmp/snmp_mib.h"
#include "snmp/snmp_session.h"


typedef struct {
    struct ms_snmp_session *s;
    ms_snmp_cb cb;
    void *arg;
    bool probe;
} snmp_req;

struct ms_snmp_session {
    uv_loop_t *loop;
    void *sessp;
    uv_poll_t poll;
    uv_timer_t timer;
    netsnmp_large_fd_set fds;
    int handles;       /* open uv handles; freed at 0 after close */
    bool closing;
    bool ready;        /* v1/v2c, or v3 with the engine id found */
    bool probing;      /* v3 discovery in flight */
    char state[160];   /* v3 not ready: why */
    char sec_error[120]; /* a security error since the last answer */
    char send_error[120]; /* why the last send failed */
    ms_snmp_session_config cfg;
    snmp_req probe_req;  /* the discovery request's context: net-snmp may
                          * call back more than once for it (it resends
                          * the probe itself once it has the engine id) */
};

/* ---- the library ------------------------------------------------------------ */

static int on_lib_log(int major, int minor, void *server, void *client)
{
    const struct snmp_log_message *m = server;
    (void)major;
    (void)minor;
    (void)client;
    if (!m || !m->msg)
        return 0;
    size_t n = strlen(m->msg);
    while (n && (m->msg[n - 1] == '\n' || m->msg[n - 1] == '\r'))
        n--;
    if (!n)
        return 0;
    ms_log_level lv = m->priority <= LOG_ERR       ? MS_LOG_ERROR
                      : m->priority == LOG_WARNING ? MS_LOG_WARN
                      : m->priority <= LOG_INFO    ? MS_LOG_INFO
                                                   : MS_LOG_DEBUG;
    if (lv <= ms_log_get_level())
        ms_log(lv, "net-snmp: %.*s", (int)n, m->msg);
    return 0;
}

void ms_snmp_lib_init(const char *mibs, const char *mib_dirs)
{
    if (ms_snmp_mib_ready())
        return;
    /* The MIB search (MIBS, MIBDIRS) is read by init_snmp. */
    ms_snmp_mib_setup(mibs, mib_dirs);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    snmp_disable_log();
    snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING,
                           on_lib_log, NULL);
    snmp_enable_calllog();
    init_snmp("mscada");
}

void ms_snmp_lib_shutdown(void)
{
    if (!ms_snmp_mib_ready())
        return;
    snmp_shutdown("mscada");
    ms_snmp_mib_teardown();
}

/* ---- config ----------------------------------------------------------------- */

void ms_snmp_session_config_init(ms_snmp_session_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = 161;
    cfg->version = MS_SNMP_V2C;
    snprintf(cfg->community, sizeof cfg->community, "public");
    cfg->timeout = 1.0;
    cfg->retries = 1;
}

static const struct {
    const char *name;
    ms_snmp_auth auth;
} auth_names[] = {
    {"MD5", MS_SNMP_AUTH_MD5},       {"SHA", MS_SNMP_AUTH_SHA},
    {"SHA1", MS_SNMP_AUTH_SHA},      {"SHA-1", MS_SNMP_AUTH_SHA},
    {"SHA-224", MS_SNMP_AUTH_SHA224}, {"SHA-256", MS_SNMP_AUTH_SHA256},
    {"SHA-384", MS_SNMP_AUTH_SHA384}, {"SHA-512", MS_SNMP_AUTH_SHA512},
    {"SHA224", MS_SNMP_AUTH_SHA224}, {"SHA256", MS_SNMP_AUTH_SHA256},
    {"SHA384", MS_SNMP_AUTH_SHA384}, {"SHA512", MS_SNMP_AUTH_SHA512},
};

int ms_snmp_auth_parse(const char *s, ms_snmp_auth *out)
{
    for (size_t i = 0; i < sizeof auth_names / sizeof auth_names[0]; i++)
        if (!strcasecmp(s, auth_names[i].name)) {
            *out = auth_names[i].auth;
            return 0;
        }
    return MS_EINVAL;
}

int ms_snmp_priv_parse(const char *s, ms_snmp_priv *out)
{
    if (!strcasecmp(s, "AES") || !strcasecmp(s, "AES-128") ||
        !strcasecmp(s, "AES128"))
        *out = MS_SNMP_PRIV_AES;
    else if (!strcasecmp(s, "DES"))
        *out = MS_SNMP_PRIV_DES;
    else
        return MS_EINVAL;
    return 0;
}

static oid *auth_oid(ms_snmp_auth a)
{
    switch (a) {
    case MS_SNMP_AUTH_MD5: return usmHMACMD5AuthProtocol;
    case MS_SNMP_AUTH_SHA: return usmHMACSHA1AuthProtocol;
    case MS_SNMP_AUTH_SHA224: return usmHMAC128SHA224AuthProtocol;
    case MS_SNMP_AUTH_SHA256: return usmHMAC192SHA256AuthProtocol;
    case MS_SNMP_AUTH_SHA384: return usmHMAC256SHA384AuthProtocol;
    case MS_SNMP_AUTH_SHA512: return usmHMAC384SHA512AuthProtocol;
    default: return usmNoAuthProtocol;
    }
}

/* ---- the loop --------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

/* The next retransmit or timeout of this session, as the library says. */
static void rearm(ms_snmp_session *s)
{
    if (s->closing)
        return;
    int n = 0, block = 1;
    struct timeval tv = {0, 0};
    NETSNMP_LARGE_FD_ZERO(&s->fds);
    snmp_sess_select_info2_flags(s->sessp, &n, &s->fds, &tv, &block,
                                 NETSNMP_SELECT_NOALARMS);
    if (block) {
        uv_timer_stop(&s->timer);
        return;
    }
    uint64_t ms = (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000;
    uv_timer_start(&s->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t)
{
    ms_snmp_session *s = t->data;
    snmp_sess_timeout(s->sessp);
    rearm(s);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    ms_snmp_session *s = p->data;
    (void)events;
    if (status < 0 || s->closing)
        return;
    int fd = snmp_sess_transport(s->sessp)->sock;
    NETSNMP_LARGE_FD_ZERO(&s->fds);
    NETSNMP_LARGE_FD_SET(fd, &s->fds);
    snmp_sess_read2(s->sessp, &s->fds);
    rearm(s);
}

/* ---- answers ---------------------------------------------------------------- */

static void vb_from(const netsnmp_variable_list *v, ms_snmp_vb *o)
{
    memset(o, 0, sizeof *o);
    size_t n = v->name_length < MS_SNMP_OID_MAX ? v->name_length
                                                : MS_SNMP_OID_MAX;
    for (size_t i = 0; i < n; i++)
        o->name.sub[i] = (uint32_t)v->name[i];
    o->name.n = n;
    o->type = v->type;
    switch (v->type) {
    case ASN_INTEGER:
        o->i = v->val.integer ? *v->val.integer : 0;
        break;
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
        o->u = v->val.integer ? (uint32_t)*v->val.integer : 0;
        break;
    case ASN_COUNTER64:
        if (v->val.counter64)
            o->u = (uint64_t)(uint32_t)v->val.counter64->high << 32 |
                   (uint32_t)v->val.counter64->low;
        break;
    case ASN_OCTET_STR:
    case ASN_IPADDRESS:
    case ASN_OPAQUE:
        o->p = v->val.string;
        o->len = v->val.string ? v->val_len : 0;
        break;
    case ASN_OBJECT_ID: {
        size_t k = v->val.objid ? v->val_len / sizeof(oid) : 0;
        if (k > MS_SNMP_OID_MAX)
            k = MS_SNMP_OID_MAX;
        for (size_t i = 0; i < k; i++)
            o->oid.sub[i] = (uint32_t)v->val.objid[i];
        o->oid.n = k;
        break;
    }
    default:
        break;
    }
}

static void finish(snmp_req *q, ms_snmp_result *r)
{
    if (q->s->closing) { /* ended by close: the owner only frees */
        memset(r, 0, sizeof *r);
        r->status = MS_ECLOSED;
        r->why = "session closed";
    }
    if (q->cb)
        q->cb(r, q->arg);
    free(q);
}

static void probe_done(snmp_req *q, int op, netsnmp_session *ns,
                       netsnmp_pdu *pdu)
{
    ms_snmp_session *s = q->s;
    s->probing = false;
    if (s->closing || s->ready)
        return;
    if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || !pdu) {
        snprintf(s->state, sizeof s->state, "engine-id discovery: %s",
                 op == NETSNMP_CALLBACK_OP_TIMED_OUT ? "timeout" : "failed");
        return;
    }
    if (ns->securityEngineIDLen == 0 && pdu->securityEngineIDLen > 0) {
        ns->securityEngineID = malloc(pdu->securityEngineIDLen);
        if (!ns->securityEngineID)
            return;
        memcpy(ns->securityEngineID, pdu->securityEngineID,
               pdu->securityEngineIDLen);
        ns->securityEngineIDLen = pdu->securityEngineIDLen;
    }
    if (ns->securityEngineIDLen == 0) {
        snprintf(s->state, sizeof s->state, "engine-id discovery: the agent "
                 "gave no engine id");
        return;
    }
    if (create_user_from_session(ns) != SNMPERR_SUCCESS) {
        snprintf(s->state, sizeof s->state, "engine-id discovery: cannot "
                 "make the user's keys");
        return;
    }
    s->ready = true;
    s->state[0] = 0;
    ms_log_debug("%s: SNMPv3 engine id found", s->cfg.name);
}

static int on_answer(int op, netsnmp_session *ns, int reqid,
                     netsnmp_pdu *pdu, void *magic)
{
    snmp_req *q = magic;
    (void)reqid;
    if (op == NETSNMP_CALLBACK_OP_RESEND)
        return 1; /* a retransmit: the request is still on */
    if (op == NETSNMP_CALLBACK_OP_SEC_ERROR) {
        /* An answer that failed its security checks (a wrong password):
         * not the end of the request, which times out later. Kept for
         * that timeout to name. */
        snprintf(q->s->sec_error, sizeof q->s->sec_error, "SNMPv3 security "
                 "error: %s", snmp_api_errstring(ns->s_snmp_errno));
        return 1;
    }
    if (q->probe) {
        probe_done(q, op, ns, pdu);
        return 1;
    }
    ms_snmp_result r;
    memset(&r, 0, sizeof r);
    ms_snmp_vb *vbs = NULL;
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu &&
        pdu->command == SNMP_MSG_REPORT) {
        r.status = MS_EPROTO;
        r.why = snmp_api_errstring(snmpv3_get_report_type(pdu));
    } else if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu) {
        size_t n = 0;
        for (netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable)
            n++;
        vbs = calloc(n ? n : 1, sizeof *vbs);
        if (!vbs) {
            r.status = MS_ENOMEM;
            r.why = "out of memory";
        } else {
            n = 0;
            for (netsnmp_variable_list *v = pdu->variables; v;
                 v = v->next_variable)
                vb_from(v, &vbs[n++]);
            r.vbs = vbs;
            r.n = n;
            r.errstat = pdu->errstat;
            r.errindex = pdu->errindex;
            q->s->sec_error[0] = 0;
        }
    } else if (op == NETSNMP_CALLBACK_OP_TIMED_OUT) {
        r.status = q->s->sec_error[0] ? MS_EPROTO : MS_ETIMEDOUT;
        r.why = q->s->sec_error[0] ? q->s->sec_error : "timeout";
    } else {
        r.status = MS_EIO;
        r.why = "send failed";
    }
    finish(q, &r);
    free(vbs);
    return 1;
}

/* The session's own callback: net-snmp calls it (not the request's) for
 * an answer that failed its security checks. Kept for the request's
 * timeout to name. */
static int on_session(int op, netsnmp_session *ns, int reqid,
                      netsnmp_pdu *pdu, void *magic)
{
    ms_snmp_session *s = magic;
    (void)reqid;
    (void)pdu;
    if (op == NETSNMP_CALLBACK_OP_SEC_ERROR && s && !s->closing)
        snprintf(s->sec_error, sizeof s->sec_error, "security error: %s",
                 snmp_api_errstring(ns->s_snmp_errno));
    return 1;
}

/* ---- sending ---------------------------------------------------------------- */

static int send_pdu(ms_snmp_session *s, netsnmp_pdu *pdu, snmp_req *q)
{
    if (snmp_sess_async_send(s->sessp, pdu, on_answer, q) == 0) {
        if (q->probe)
            q = NULL; /* part of the session */
        int e = snmp_sess_session(s->sessp)->s_snmp_errno;
        snprintf(s->send_error, sizeof s->send_error, "%s",
                 snmp_api_errstring(e));
        ms_log_debug("%s: cannot send: %s", s->cfg.name, s->send_error);
        snmp_free_pdu(pdu); /* not taken: still ours */
        free(q);
        return MS_EIO;
    }
    rearm(s);
    return 0;
}

static void probe(ms_snmp_session *s)
{
    if (s->probing || s->ready || s->closing)
        return;
    /* The empty user that discovery speaks as (RFC 3414 §4). */
    if (!usm_get_user(NULL, 0, "")) {
        struct usmUser *u = usm_create_user();
        if (!u)
            return;
        u->name = strdup("");
        u->secName = strdup("");
        u->authProtocol = snmp_duplicate_objid(usmNoAuthProtocol,
                                               USM_AUTH_PROTO_NOAUTH_LEN);
        u->authProtocolLen = USM_AUTH_PROTO_NOAUTH_LEN;
        u->privProtocol = snmp_duplicate_objid(usmNoPrivProtocol,
                                               USM_PRIV_PROTO_NOPRIV_LEN);
        u->privProtocolLen = USM_PRIV_PROTO_NOPRIV_LEN;
        usm_add_user(u);
    }
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
    snmp_req *q = &s->probe_req;
    if (!pdu)
        return;
    pdu->version = SNMP_VERSION_3;
    pdu->securityName = strdup("");
    pdu->securityNameLen = 0;
    pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
    pdu->securityModel = SNMP_SEC_MODEL_USM;
    q->s = s;
    q->probe = true;
    s->probing = true;
    snprintf(s->state, sizeof s->state, "engine-id discovery under way");
    if (send_pdu(s, pdu, q) < 0) {
        s->probing = false;
        snprintf(s->state, sizeof s->state, "engine-id discovery: cannot "
                 "send: %s", s->send_error);
    }
}

static int add_value(netsnmp_pdu *pdu, const oid *o, size_t n,
                     const ms_snmp_vb *v)
{
    long l;
    u_long u;
    struct counter64 c64;
    oid obj[MAX_OID_LEN];
    const void *p;
    size_t len;
    switch (v->type) {
    case ASN_INTEGER:
        if (v->i < INT32_MIN || v->i > INT32_MAX)
            return MS_ERANGE;
        l = (long)v->i;
        p = &l;
        len = sizeof l;
        break;
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
        if (v->u > UINT32_MAX)
            return MS_ERANGE;
        u = (u_long)v->u;
        p = &u;
        len = sizeof u;
        break;
    case ASN_COUNTER64:
        c64.high = (u_long)(v->u >> 32);
        c64.low = (u_long)(v->u & 0xffffffffu);
        p = &c64;
        len = sizeof c64;
        break;
    case ASN_OCTET_STR:
    case ASN_IPADDRESS:
        if (v->type == ASN_IPADDRESS && v->len != 4)
            return MS_EINVAL;
        p = v->p ? (const void *)v->p : "";
        len = v->len;
        break;
    case ASN_OBJECT_ID:
        for (size_t i = 0; i < v->oid.n; i++)
            obj[i] = v->oid.sub[i];
        p = obj;
        len = v->oid.n * sizeof(oid);
        break;
    default:
        return MS_EINVAL;
    }
    return snmp_pdu_add_variable(pdu, o, n, v->type, p, len) ? 0 : MS_ENOMEM;
}

int ms_snmp_session_send(ms_snmp_session *s, ms_snmp_op op,
                         const ms_snmp_oidref *oids, const ms_snmp_vb *vals,
                         size_t n, int max_rep, ms_snmp_cb cb, void *arg)
{
    if (s->closing)
        return MS_EIO;
    if (!s->ready) {
        probe(s);
        return MS_EAGAIN;
    }
    static const int cmd[] = {SNMP_MSG_GET, SNMP_MSG_GETNEXT,
                              SNMP_MSG_GETBULK, SNMP_MSG_SET};
    netsnmp_pdu *pdu = snmp_pdu_create(cmd[op]);
    snmp_req *q = calloc(1, sizeof *q);
    if (!pdu || !q) {
        free(q);
        if (pdu)
            snmp_free_pdu(pdu);
        return MS_ENOMEM;
    }
    if (op == MS_SNMP_GETBULK) {
        pdu->non_repeaters = 0;
        pdu->max_repetitions = max_rep;
    }
    if (op == MS_SNMP_SET && s->cfg.version != MS_SNMP_V3 &&
        s->cfg.write_community[0]) {
        size_t len = strlen(s->cfg.write_community);
        pdu->community = malloc(len + 1);
        if (pdu->community) {
            memcpy(pdu->community, s->cfg.write_community, len + 1);
            pdu->community_len = len;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        oid o[MAX_OID_LEN];
        if (oids[i].n > MAX_OID_LEN) {
            rc = MS_EINVAL;
            break;
        }
        for (size_t k = 0; k < oids[i].n; k++)
            o[k] = oids[i].sub[k];
        if (op == MS_SNMP_SET)
            rc = add_value(pdu, o, oids[i].n, &vals[i]);
        else if (!snmp_add_null_var(pdu, o, oids[i].n))
            rc = MS_ENOMEM;
    }
    if (rc < 0) {
        snmp_free_pdu(pdu);
        free(q);
        return rc;
    }
    q->s = s;
    q->cb = cb;
    q->arg = arg;
    return send_pdu(s, pdu, q);
}

/* ---- open and close --------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
    ms_snmp_session *s = h->data;
    if (--s->handles == 0) {
        netsnmp_large_fd_set_cleanup(&s->fds);
        free(s);
    }
}

void ms_snmp_session_close(ms_snmp_session *s)
{
    if (!s || s->closing)
        return;
    s->closing = true;
    if (s->poll.data)
        uv_poll_stop(&s->poll);
    uv_timer_stop(&s->timer);
    /* Requests still out end here: their callbacks run inside close, with
     * MS_ECLOSED, so that their owners free what they hold. */
    snmp_sess_close(s->sessp);
    s->sessp = NULL;
    if (s->poll.data)
        uv_close((uv_handle_t *)&s->poll, on_closed);
    uv_close((uv_handle_t *)&s->timer, on_closed);
}

bool ms_snmp_session_ready(const ms_snmp_session *s)
{
    return s->ready;
}

const char *ms_snmp_session_state(const ms_snmp_session *s)
{
    return s->ready ? "" : s->state;
}

int ms_snmp_session_new(uv_loop_t *loop, const ms_snmp_session_config *cfg,
                        ms_snmp_session **out, char *why, size_t cap)
{
    *out = NULL;
    ms_snmp_lib_init(NULL, NULL);
    ms_snmp_session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, cap, "out of memory");
        return MS_ENOMEM;
    }
    s->loop = loop;
    s->cfg = *cfg;
    netsnmp_session ss;
    snmp_sess_init(&ss);
    char peer[300];
    snprintf(peer, sizeof peer, strchr(cfg->host, ':') ? "udp6:[%s]:%d"
                                                       : "udp:%s:%d",
             cfg->host, cfg->port);
    ss.peername = peer;
    ss.timeout = (long)(cfg->timeout * 1e6);
    ss.retries = (int)cfg->retries;
    ss.callback = on_session;
    ss.callback_magic = s;
    if (cfg->version == MS_SNMP_V3) {
        ss.version = SNMP_VERSION_3;
        ss.flags |= SNMP_FLAGS_DONT_PROBE; /* discovery is ours: async */
        ss.securityModel = SNMP_SEC_MODEL_USM;
        ss.securityName = s->cfg.user;
        ss.securityNameLen = strlen(s->cfg.user);
        ss.contextName = s->cfg.context;
        ss.contextNameLen = strlen(s->cfg.context);
        ss.securityLevel = cfg->auth == MS_SNMP_AUTH_NONE
                               ? SNMP_SEC_LEVEL_NOAUTH
                           : cfg->priv == MS_SNMP_PRIV_NONE
                               ? SNMP_SEC_LEVEL_AUTHNOPRIV
                               : SNMP_SEC_LEVEL_AUTHPRIV;
        if (cfg->priv != MS_SNMP_PRIV_NONE && cfg->auth == MS_SNMP_AUTH_NONE) {
            snprintf(why, cap, "priv_protocol needs an auth_protocol");
            free(s);
            return MS_EINVAL;
        }
        if (cfg->auth != MS_SNMP_AUTH_NONE) {
            ss.securityAuthProto = auth_oid(cfg->auth);
            ss.securityAuthProtoLen = USM_AUTH_PROTO_SHA_LEN;
            ss.securityAuthKeyLen = USM_AUTH_KU_LEN;
            if (strlen(cfg->auth_password) < 8 ||
                generate_Ku(ss.securityAuthProto, ss.securityAuthProtoLen,
                            (const u_char *)cfg->auth_password,
                            strlen(cfg->auth_password), ss.securityAuthKey,
                            &ss.securityAuthKeyLen) != SNMPERR_SUCCESS) {
                snprintf(why, cap, "auth_password must be at least 8 "
                         "characters");
                free(s);
                return MS_EINVAL;
            }
        }
        if (cfg->priv != MS_SNMP_PRIV_NONE) {
            ss.securityPrivProto = cfg->priv == MS_SNMP_PRIV_AES
                                       ? usmAESPrivProtocol
                                       : usmDESPrivProtocol;
            ss.securityPrivProtoLen = USM_PRIV_PROTO_AES_LEN;
            ss.securityPrivKeyLen = USM_PRIV_KU_LEN;
            if (strlen(cfg->priv_password) < 8 ||
                generate_Ku(ss.securityAuthProto, ss.securityAuthProtoLen,
                            (const u_char *)cfg->priv_password,
                            strlen(cfg->priv_password), ss.securityPrivKey,
                            &ss.securityPrivKeyLen) != SNMPERR_SUCCESS) {
                snprintf(why, cap, "priv_password must be at least 8 "
                         "characters");
                free(s);
                return MS_EINVAL;
            }
        }
    } else {
        ss.version = cfg->version == MS_SNMP_V1 ? SNMP_VERSION_1
                                                : SNMP_VERSION_2c;
        ss.community = (u_char *)s->cfg.community;
        ss.community_len = strlen(s->cfg.community);
        s->ready = true;
    }
    s->sessp = snmp_sess_open(&ss);
    if (!s->sessp) {
        snprintf(why, cap, "cannot open %s: %s", peer,
                 snmp_api_errstring(ss.s_snmp_errno));
        free(s);
        return MS_EIO;
    }
    netsnmp_large_fd_set_init(&s->fds, FD_SETSIZE);
    int fd = snmp_sess_transport(s->sessp)->sock;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    s->handles = 1;
    int rc = uv_poll_init_socket(loop, &s->poll, fd);
    if (rc == 0) {
        s->poll.data = s;
        s->handles++;
        rc = uv_poll_start(&s->poll, UV_READABLE, on_readable);
    }
    if (rc < 0) {
        snprintf(why, cap, "cannot watch the socket of %s: %s", peer,
                 uv_strerror(rc));
        s->poll.data = NULL; /* not made: only the timer is closed */
        ms_snmp_session_close(s);
        return MS_EIO;
    }
    if (cfg->version == MS_SNMP_V3)
        probe(s);
    *out = s;
    return 0;
}
