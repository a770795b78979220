/* Sparkplug B topics and state rules (Eclipse Sparkplug 3.0), pure:
 * spBv1.0/<group>/<NBIRTH|NDEATH|NDATA|NCMD>/<node>,
 * spBv1.0/<group>/<DBIRTH|DDEATH|DDATA|DCMD>/<node>/<device> and the
 * primary host's spBv1.0/STATE/<host>, its JSON payload, and the 0-255
 * sequence numbers (seq per node message, bdSeq per MQTT session). */
#ifndef MS_SPARKPLUG_SPB_TOPIC_H
#define MS_SPARKPLUG_SPB_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_SPB_NAMESPACE "spBv1.0"
#define MS_SPB_ID_MAX 128 /* bytes of a group, node, device or host id */

typedef enum {
    MS_SPB_NBIRTH, MS_SPB_NDEATH, MS_SPB_NDATA, MS_SPB_NCMD,
    MS_SPB_DBIRTH, MS_SPB_DDEATH, MS_SPB_DDATA, MS_SPB_DCMD,
    MS_SPB_STATE
} ms_spb_msg;

typedef struct {
    ms_spb_msg type;
    char group[MS_SPB_ID_MAX + 1];  /* "" for STATE */
    char node[MS_SPB_ID_MAX + 1];   /* STATE: the host id */
    char device[MS_SPB_ID_MAX + 1]; /* "" for node messages */
} ms_spb_topic;

/* "NBIRTH", ... "STATE". */
const char *ms_spb_msg_name(ms_spb_msg m);
/* True for a D* message (it names a device). */
bool ms_spb_msg_is_device(ms_spb_msg m);
/* An id Sparkplug allows: 1..MS_SPB_ID_MAX bytes, none of '/', '+', '#'
 * and no control characters. */
bool ms_spb_id_valid(const char *s, size_t len);

/* Parses a topic of len bytes. Returns 0, or MS_EINVAL (not a Sparkplug B
 * topic: another namespace, an unknown message type, a missing or extra
 * level, an invalid id). */
int ms_spb_topic_parse(const char *topic, size_t len, ms_spb_topic *t);
/* Writes t's topic. Returns its length, or MS_EINVAL (an invalid id, a
 * device on a node message or none on a device message), MS_ETOOBIG. */
int ms_spb_topic_format(const ms_spb_topic *t, char *out, size_t cap);

/* The seq that follows s (255 -> 0). */
static inline uint8_t ms_spb_seq_next(uint8_t s)
{
    return (uint8_t)(s + 1);
}
/* True when got is the seq that follows last. */
static inline bool ms_spb_seq_follows(uint64_t last, uint64_t got)
{
    return got <= 255 && got == ((last + 1) & 255);
}

/* The STATE payload {"online":B,"timestamp":MS}. Returns its length or
 * MS_ETOOBIG. */
int ms_spb_state_format(bool online, uint64_t time_ms, char *out,
                        size_t cap);
/* Reads a STATE payload. Returns 0, MS_EPROTO (not that JSON object). */
int ms_spb_state_parse(const uint8_t *p, size_t len, bool *online,
                       uint64_t *time_ms);

#endif
