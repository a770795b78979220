/* An MQTT connection on our libuv loop (libmosquitto without its thread):
 * mosquitto's socket watched by a uv_poll, mosquitto_loop_read/write when
 * it is readable/writable, mosquitto_loop_misc (keepalive) on a timer.
 * Connects and reconnects by itself with capped exponential backoff;
 * MQTT 3.1.1 or 5, TLS (CA file, client certificate), username and
 * password. The will is set by the owner before each connect attempt
 * (before_connect), as Sparkplug's NDEATH carries that session's bdSeq.
 * The host name is resolved blocking, once per attempt. */
#ifndef MS_SPARKPLUG_SPB_LINK_H
#define MS_SPARKPLUG_SPB_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct ms_spb_link ms_spb_link;

typedef struct {
    char host[256];
    int port;               /* default 1883 */
    char client_id[128];    /* "" : made by libmosquitto */
    int keepalive;          /* seconds, default 30 */
    int protocol;           /* 4 (3.1.1, default) or 5 */
    char username[128], password[256]; /* "" : none */
    char ca_file[512], cert_file[512], key_file[512]; /* ca_file: TLS */
    double backoff_min, backoff_max; /* seconds, default 0.5 and 10 */
} ms_spb_link_config;

void ms_spb_link_config_init(ms_spb_link_config *c);

typedef struct {
    /* Before each connect attempt: set the will here. */
    void (*before_connect)(ms_spb_link *l, void *arg);
    /* The broker accepted the session (CONNACK 0): subscribe and birth. */
    void (*on_up)(ms_spb_link *l, void *arg);
    /* The session ended (or an attempt failed); a retry follows. */
    void (*on_down)(ms_spb_link *l, const char *why, void *arg);
    void (*on_message)(ms_spb_link *l, const char *topic, const uint8_t *p,
                       size_t len, void *arg);
    void *arg;
} ms_spb_link_cbs;

/* Makes the link and starts connecting from the loop. cfg and cbs are
 * copied. Returns 0 with *out, MS_ENOMEM, MS_ECONFIG (TLS files or
 * options libmosquitto refused, logged). */
int ms_spb_link_new(uv_loop_t *loop, const ms_spb_link_config *cfg,
                    const ms_spb_link_cbs *cbs, ms_spb_link **out);
/* Sets the will of the next connect. Returns 0 or MS_EINVAL. */
int ms_spb_link_will(ms_spb_link *l, const char *topic, const void *p,
                     size_t len, int qos, bool retain);
/* Publishes (queued in libmosquitto, written as the socket takes it).
 * Returns 0, MS_ECLOSED (no session), MS_EINVAL, MS_ENOMEM. */
int ms_spb_link_publish(ms_spb_link *l, const char *topic, const void *p,
                        size_t len, int qos, bool retain);
int ms_spb_link_subscribe(ms_spb_link *l, const char *pattern, int qos);
bool ms_spb_link_up(const ms_spb_link *l);
/* Sessions made so far. */
uint64_t ms_spb_link_connects(const ms_spb_link *l);
/* Ends the session with a DISCONNECT (so the broker drops the will: send
 * the death message first) and frees the link once the loop has closed
 * its handles. NULL-safe. */
void ms_spb_link_close(ms_spb_link *l);

#endif
