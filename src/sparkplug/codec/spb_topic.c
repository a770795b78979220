/* Sparkplug B topic names, STATE payloads and ids (spb_topic.h). */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "mscada/error.h"
#include "sparkplug/codec/spb_topic.h"

static const char *const msg_names[] = {"NBIRTH", "NDEATH", "NDATA", "NCMD",
                                        "DBIRTH", "DDEATH", "DDATA", "DCMD",
                                        "STATE"};

const char *ms_spb_msg_name(ms_spb_msg m)
{
    return (unsigned)m <= MS_SPB_STATE ? msg_names[m] : "?";
}

bool ms_spb_msg_is_device(ms_spb_msg m)
{
    return m >= MS_SPB_DBIRTH && m <= MS_SPB_DCMD;
}

bool ms_spb_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > MS_SPB_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '+' || c == '#')
            return false;
    }
    return true;
}

/* The level [*p, next '/' or end); advances p past it and its '/'. */
static bool level(const char **p, const char *end, const char **s,
                  size_t *n)
{
    if (*p > end)
        return false;
    const char *slash = memchr(*p, '/', (size_t)(end - *p));
    *s = *p;
    *n = (size_t)((slash ? slash : end) - *p);
    *p = slash ? slash + 1 : end + 1;
    return true;
}

static bool copy_id(char *out, const char *s, size_t n)
{
    if (!ms_spb_id_valid(s, n))
        return false;
    memcpy(out, s, n);
    out[n] = 0;
    return true;
}

int ms_spb_topic_parse(const char *topic, size_t len, ms_spb_topic *t)
{
    memset(t, 0, sizeof *t);
    const char *p = topic, *end = topic + len, *s;
    size_t n;
    if (!level(&p, end, &s, &n) || n != strlen(MS_SPB_NAMESPACE) ||
        memcmp(s, MS_SPB_NAMESPACE, n))
        return MS_EINVAL;
    if (!level(&p, end, &s, &n))
        return MS_EINVAL;
    if (n == 5 && !memcmp(s, "STATE", 5)) {
        t->type = MS_SPB_STATE;
        if (!level(&p, end, &s, &n) || !copy_id(t->node, s, n) || p <= end)
            return MS_EINVAL;
        return 0;
    }
    if (!copy_id(t->group, s, n) || !level(&p, end, &s, &n))
        return MS_EINVAL;
    int type = -1;
    for (int i = 0; i < MS_SPB_STATE; i++)
        if (strlen(msg_names[i]) == n && !memcmp(s, msg_names[i], n))
            type = i;
    if (type < 0)
        return MS_EINVAL;
    t->type = (ms_spb_msg)type;
    if (!level(&p, end, &s, &n) || !copy_id(t->node, s, n))
        return MS_EINVAL;
    if (ms_spb_msg_is_device(t->type) &&
        (!level(&p, end, &s, &n) || !copy_id(t->device, s, n)))
        return MS_EINVAL;
    return p <= end ? MS_EINVAL : 0; /* nothing may follow */
}

int ms_spb_topic_format(const ms_spb_topic *t, char *out, size_t cap)
{
    int k;
    if (t->type == MS_SPB_STATE) {
        if (!ms_spb_id_valid(t->node, strlen(t->node)))
            return MS_EINVAL;
        k = snprintf(out, cap, MS_SPB_NAMESPACE "/STATE/%s", t->node);
    } else {
        bool dev = ms_spb_msg_is_device(t->type);
        if ((unsigned)t->type > MS_SPB_STATE ||
            !ms_spb_id_valid(t->group, strlen(t->group)) ||
            !ms_spb_id_valid(t->node, strlen(t->node)) ||
            (dev && !ms_spb_id_valid(t->device, strlen(t->device))) ||
            (!dev && t->device[0]))
            return MS_EINVAL;
        k = snprintf(out, cap, MS_SPB_NAMESPACE "/%s/%s/%s%s%s", t->group,
                     msg_names[t->type], t->node, dev ? "/" : "",
                     dev ? t->device : "");
    }
    return k >= 0 && (size_t)k < cap ? k : MS_ETOOBIG;
}

int ms_spb_state_format(bool online, uint64_t time_ms, char *out, size_t cap)
{
    int k = snprintf(out, cap, "{\"online\":%s,\"timestamp\":%" PRIu64 "}",
                     online ? "true" : "false", time_ms);
    return k >= 0 && (size_t)k < cap ? k : MS_ETOOBIG;
}

int ms_spb_state_parse(const uint8_t *p, size_t len, bool *online,
                       uint64_t *time_ms)
{
    json_t *j = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES,
                           NULL);
    json_t *on = json_object_get(j, "online");
    json_t *ts = json_object_get(j, "timestamp");
    int rc = MS_EPROTO;
    if (json_is_boolean(on) && (!ts || json_is_integer(ts))) {
        *online = json_is_true(on);
        *time_ms = ts && json_integer_value(ts) > 0
                       ? (uint64_t)json_integer_value(ts) : 0;
        rc = 0;
    }
    json_decref(j);
    return rc;
}
