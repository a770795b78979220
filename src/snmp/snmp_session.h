/* One SNMP agent on the process's libuv loop, through net-snmp's
 * single-session async API: its UDP socket watched by a uv_poll, its
 * retransmits and timeouts by a uv_timer, SNMPv3 engine-id discovery sent
 * like any other request (never net-snmp's blocking probe). Also the
 * library's one-time setup, its logs routed to ms_log, and OID names
 * resolved through MIBs when asked for (docs/snmp.md). */
#ifndef MS_SNMP_SESSION_H
#define MS_SNMP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "snmp/snmp_value.h"

#define MS_SNMP_NAME_MAX 63
#define MS_SNMP_SECRET_MAX 127

typedef enum { MS_SNMP_V1 = 1, MS_SNMP_V2C = 2, MS_SNMP_V3 = 3 } ms_snmp_version;

typedef enum {
    MS_SNMP_AUTH_NONE = 0, MS_SNMP_AUTH_MD5, MS_SNMP_AUTH_SHA,
    MS_SNMP_AUTH_SHA224, MS_SNMP_AUTH_SHA256, MS_SNMP_AUTH_SHA384,
    MS_SNMP_AUTH_SHA512
} ms_snmp_auth;

typedef enum { MS_SNMP_PRIV_NONE = 0, MS_SNMP_PRIV_DES, MS_SNMP_PRIV_AES }
    ms_snmp_priv;

typedef struct {
    char name[MS_SNMP_NAME_MAX + 1]; /* for log lines */
    char host[256];
    int port;                        /* 161 */
    ms_snmp_version version;         /* 2c */
    char community[MS_SNMP_SECRET_MAX + 1];       /* public */
    char write_community[MS_SNMP_SECRET_MAX + 1]; /* "" = community */
    double timeout;                  /* seconds per try: 1.0 */
    unsigned retries;                /* 1 */
    /* SNMPv3 (USM) */
    char user[MS_SNMP_SECRET_MAX + 1];
    ms_snmp_auth auth;
    char auth_password[MS_SNMP_SECRET_MAX + 1];
    ms_snmp_priv priv;
    char priv_password[MS_SNMP_SECRET_MAX + 1];
    char context[MS_SNMP_SECRET_MAX + 1];
} ms_snmp_session_config;

void ms_snmp_session_config_init(ms_snmp_session_config *cfg);
/* "SHA", "SHA-256", "MD5"... / "AES", "DES" (case-insensitive). 0 or
 * MS_EINVAL. */
int ms_snmp_auth_parse(const char *s, ms_snmp_auth *out);
int ms_snmp_priv_parse(const char *s, ms_snmp_priv *out);

typedef enum {
    MS_SNMP_GET, MS_SNMP_GETNEXT, MS_SNMP_GETBULK, MS_SNMP_SET
} ms_snmp_op;

/* What came back. status 0: an answer, errstat/errindex (1-based) as the
 * agent said and vbs its varbinds (valid during the callback only).
 * status < 0: MS_ETIMEDOUT (no answer after the retries: agent down,
 * unreachable, or a wrong community, which agents don't answer),
 * MS_EPROTO (SNMPv3 security: why says which, e.g. wrong password), or
 * MS_EIO (could not send: why says), MS_ECLOSED (the session was closed
 * with the request out: only clean up). */
typedef struct {
    int status;
    const char *why;
    long errstat, errindex;
    const ms_snmp_vb *vbs;
    size_t n;
} ms_snmp_result;

typedef void (*ms_snmp_cb)(const ms_snmp_result *r, void *arg);

typedef struct ms_snmp_session ms_snmp_session;

/* Once per process, before the first session: net-snmp without config
 * files or persistent state, its logs to ms_log, and the MIBs that OIDs by
 * name need (snmp_mib.h): mibs NULL or "" for none (numeric OIDs only),
 * else as the MIBS variable ("IF-MIB:UCD-SNMP-MIB", "ALL"); mib_dirs NULL
 * or folders joined by ':' searched before net-snmp's own. Later calls do
 * nothing until ms_snmp_lib_shutdown. */
void ms_snmp_lib_init(const char *mibs, const char *mib_dirs);
/* At exit, after every session is closed (or to load other MIBs). */
void ms_snmp_lib_shutdown(void);

/* Opens the agent's session (its UDP socket) on loop. Returns 0 with *out
 * set, or MS_EINVAL / MS_EIO with why (cap bytes) saying what. An SNMPv3
 * session starts its engine-id discovery at once. */
int ms_snmp_session_new(uv_loop_t *loop, const ms_snmp_session_config *cfg,
                        ms_snmp_session **out, char *why, size_t cap);
/* Closes the socket; requests in flight end at once, their callbacks
 * called with MS_ECLOSED. The memory goes once the loop has run the close
 * callbacks. NULL-safe. */
void ms_snmp_session_close(ms_snmp_session *s);
/* v1/v2c: always; v3: once discovery has found the agent's engine id. */
bool ms_snmp_session_ready(const ms_snmp_session *s);
/* v3 not ready: why not (e.g. "engine-id discovery: timeout"); else "". */
const char *ms_snmp_session_state(const ms_snmp_session *s);

/* Sends one request for n OIDs, copied into its PDU (SET: vals[i] gives
 * each value's type and value; GETBULK: max_rep repetitions, no
 * non-repeaters). cb runs once with the result. Returns 0, MS_EAGAIN (v3
 * discovery not done: it is started again if it had failed), MS_EINVAL
 * (a value that can't be sent, an OID longer than MS_SNMP_OID_MAX) or
 * MS_EIO. */
int ms_snmp_session_send(ms_snmp_session *s, ms_snmp_op op,
                         const ms_snmp_oidref *oids, const ms_snmp_vb *vals,
                         size_t n, int max_rep, ms_snmp_cb cb, void *arg);

#endif
