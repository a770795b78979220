/* Bus command handling and per-connection output queues (docs/design.md §6).
 *
 * Every message for a connection is encoded straight into its output buffer,
 * which the I/O layer writes out in large batches. A connection whose queue
 * passes the high-water mark stops receiving plain SETs: it is "owed" the
 * latest value of those tags instead (a bitmap plus a list in first-owed
 * order) and gets them once its queue drains. ID, LIST, RTA, ERR and SETs of
 * BYTES values are never dropped; past the hard cap the connection closes.
 * Replies leave through the connection's wire form (ms_bus_proto), chosen
 * by the server per port: the binary frames here, or text lines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_core.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"
#include "mscada/value.h"

#define BITWORDS ((MS_BUS_MAX_ID + 1) / 64)

static inline bool bit_get(const uint64_t *b, uint16_t id)
{
    return b && (b[id >> 6] >> (id & 63)) & 1;
}
static inline void bit_set(uint64_t *b, uint16_t id)
{
    b[id >> 6] |= 1ull << (id & 63);
}
static inline void bit_clear(uint64_t *b, uint16_t id)
{
    if (b)
        b[id >> 6] &= ~(1ull << (id & 63));
}

int ms_bus_core_init(ms_bus_core *c, const ms_bus_limits *lim)
{
    memset(c, 0, sizeof *c);
    c->lim = *lim;
    if (!c->lim.max_payload)
        c->lim.max_payload = MS_FRAME_DEFAULT_CAP;
    return ms_bus_tags_init(&c->tags);
}

int ms_bus_core_start(ms_bus_core *c)
{
    static const uint8_t started[] = "\x03started";
    return ms_bus_core_set_own(c, MS_BUS_TAG_NAME, started,
                               sizeof started - 1, ms_time_now_us());
}

void ms_bus_core_free(ms_bus_core *c)
{
    while (c->conns)
        ms_bus_core_conn_free(c->conns);
    ms_bus_tags_free(&c->tags);
    ms_buf_free(&c->scratch);
    memset(c, 0, sizeof *c);
}

ms_bus_conn *ms_bus_core_conn_new(ms_bus_core *c, const char *peer, void *io,
                                  const ms_bus_proto *proto)
{
    ms_bus_conn *conn = calloc(1, sizeof *conn);
    if (!conn)
        return NULL;
    conn->core = c;
    conn->io = io;
    conn->proto = proto;
    snprintf(conn->peer, sizeof conn->peer, "%s", peer);
    ms_frame_reader_init(&conn->reader, c->lim.max_payload);
    conn->next = c->conns;
    if (c->conns)
        c->conns->prev = conn;
    c->conns = conn;
    c->n.connections++;
    return conn;
}

static void subs_remove(ms_bus_tag *tag, ms_bus_conn *conn)
{
    for (uint32_t i = 0; i < tag->nsubs; i++) {
        if (tag->subs[i] == conn) {
            tag->subs[i] = tag->subs[--tag->nsubs];
            return;
        }
    }
}

void ms_bus_core_conn_free(ms_bus_conn *conn)
{
    ms_bus_core *c = conn->core;
    ms_bus_tags *t = &c->tags;
    if (conn->subbits) {
        for (uint32_t w = 0; w < BITWORDS; w++) {
            uint64_t bits = conn->subbits[w];
            while (bits) {
                uint16_t id = (uint16_t)(w * 64 + (uint32_t)__builtin_ctzll(bits));
                bits &= bits - 1;
                ms_bus_tag *tag = ms_bus_tags_get(t, id);
                if (tag)
                    subs_remove(tag, conn);
            }
        }
    }
    /* RTA to a tag it authored now gets "author gone". */
    for (uint32_t id = 1; id < t->next_id && id <= MS_BUS_MAX_ID; id++) {
        ms_bus_tag *tag = ms_bus_tags_get(t, (uint16_t)id);
        if (tag && tag->author == conn)
            tag->author = NULL;
    }
    if (conn->pending) {
        for (ms_bus_conn **p = &c->pending; *p; p = &(*p)->next_pending) {
            if (*p == conn) {
                *p = conn->next_pending;
                break;
            }
        }
    }
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        c->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    c->n.connections--;
    ms_frame_reader_free(&conn->reader);
    ms_buf_free(&conn->out);
    free(conn->cbits);
    free(conn->clist);
    free(conn->subbits);
    free(conn);
}

ms_bus_conn *ms_bus_core_pop_pending(ms_bus_core *c)
{
    ms_bus_conn *conn = c->pending;
    if (conn) {
        c->pending = conn->next_pending;
        conn->next_pending = NULL;
        conn->pending = false;
    }
    return conn;
}

void ms_bus_core_fail(ms_bus_conn *conn, const char *why)
{
    if (conn->closing)
        return;
    conn->closing = true;
    snprintf(conn->why, sizeof conn->why, "%s", why);
    conn->core->n.dropped++;
    /* Let the I/O layer see it on its next flush pass. */
    if (!conn->pending) {
        conn->pending = true;
        conn->next_pending = conn->core->pending;
        conn->core->pending = conn;
    }
}

/* Queues n encoded bytes, or closes the connection past the hard cap. */
bool ms_bus_core_queue(ms_bus_conn *conn, const uint8_t *msg, size_t n)
{
    ms_bus_core *c = conn->core;
    if (conn->closing)
        return false;
    if (ms_bus_conn_queued(conn) + n > c->lim.hard_cap) {
        ms_bus_core_fail(conn, "output queue over the hard cap (client not reading)");
        return false;
    }
    if (ms_buf_append(&conn->out, msg, n) < 0) {
        ms_bus_core_fail(conn, "out of memory for its output queue");
        return false;
    }
    conn->msgs_out++;
    c->n.msgs_out++;
    c->n.bytes_out += n;
    if (!conn->pending) {
        conn->pending = true;
        conn->next_pending = c->pending;
        c->pending = conn;
    }
    return true;
}

/* Encodes one message into the core's scratch buffer. */
static const uint8_t *encode(ms_bus_core *c, uint8_t cmd, uint16_t tag_id,
                             uint64_t time_us, const uint8_t *data,
                             size_t len, size_t *n)
{
    c->scratch.off = c->scratch.len = 0;
    size_t need = ms_frame_wire_size(len);
    uint8_t *p = ms_buf_reserve(&c->scratch, need);
    if (!p)
        return NULL;
    *n = ms_frame_encode(p, cmd, tag_id, time_us, data, len);
    return p;
}

/* ---- the binary port's output: frames ------------------------------------ */

static void frames_msg(ms_bus_conn *conn, uint8_t cmd, uint16_t tag_id,
                       uint64_t time_us, const uint8_t *data, size_t len)
{
    size_t n;
    const uint8_t *msg = encode(conn->core, cmd, tag_id, time_us, data, len,
                                &n);
    if (!msg)
        ms_bus_core_fail(conn, "out of memory encoding a reply");
    else
        ms_bus_core_queue(conn, msg, n);
}

static bool frames_value(ms_bus_conn *conn, const ms_bus_tag *tag,
                         const uint8_t *frame, size_t n)
{
    if (conn->closing)
        return false;
    if (!frame && !(frame = encode(conn->core, MS_CMD_SET, tag->id,
                                   tag->time_us, tag->value, tag->len, &n))) {
        ms_bus_core_fail(conn, "out of memory encoding a value");
        return false;
    }
    return ms_bus_core_queue(conn, frame, n);
}

const ms_bus_proto ms_bus_proto_frames = {
    .input = ms_bus_core_input, .msg = frames_msg, .value = frames_value};

/* ---- command handling ------------------------------------------------------ */

/* Queues a message that is never dropped. */
static void conn_send(ms_bus_conn *conn, uint8_t cmd, uint16_t tag_id,
                      uint64_t time_us, const uint8_t *data, size_t len)
{
    conn->proto->msg(conn, cmd, tag_id, time_us, data, len);
}

static void conn_err(ms_bus_conn *conn, uint16_t tag_id, uint64_t time_us,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void conn_err(ms_bus_conn *conn, uint16_t tag_id, uint64_t time_us,
                     const char *fmt, ...)
{
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof text)
        n = sizeof text - 1;
    ms_log_debug("%s: ERR %s", conn->peer, text);
    conn_send(conn, MS_CMD_ERR, tag_id, time_us, (const uint8_t *)text,
              (size_t)n);
}

/* cbits holds two bitmaps: which tags are owed, then which ids are in
 * clist. An owed bit may be cleared while its id stays in the list (the
 * value was superseded); the second map keeps the list free of repeats, so
 * it never holds more entries than there are tags. */
static inline uint64_t *listed_bits(ms_bus_conn *conn)
{
    return conn->cbits + BITWORDS;
}

static void owe(ms_bus_conn *conn, uint16_t id)
{
    if (!conn->cbits) {
        conn->cbits = calloc(2 * BITWORDS, sizeof *conn->cbits);
        if (!conn->cbits) {
            ms_bus_core_fail(conn, "out of memory for conflation");
            return;
        }
    }
    if (bit_get(conn->cbits, id))
        return;
    if (bit_get(listed_bits(conn), id)) {
        bit_set(conn->cbits, id);
        return;
    }
    if (conn->nclist == conn->aclist) {
        size_t na = conn->aclist ? conn->aclist * 2 : 64;
        uint16_t *nl = realloc(conn->clist, na * sizeof *nl);
        if (!nl) {
            ms_bus_core_fail(conn, "out of memory for conflation");
            return;
        }
        conn->clist = nl;
        conn->aclist = na;
    }
    bit_set(conn->cbits, id);
    bit_set(listed_bits(conn), id);
    conn->clist[conn->nclist++] = id;
}

/* Gives one SET of tag (already encoded as msg) to conn, conflating it when
 * the connection is behind. */
static void deliver_set(ms_bus_conn *conn, const ms_bus_tag *tag,
                        const uint8_t *msg, size_t n)
{
    ms_bus_core *c = conn->core;
    if (conn->closing)
        return;
    bool plain = tag->len == 0 || tag->value[0] != MS_TYPE_BYTES;
    if (plain) {
        if (bit_get(conn->cbits, tag->id)) {
            c->n.conflated++; /* already owed: the latest goes later */
            return;
        }
        if (ms_bus_conn_queued(conn) + n > c->lim.high_water) {
            owe(conn, tag->id);
            c->n.conflated++;
            return;
        }
    } else {
        /* This newer value supersedes whatever plain value was owed. */
        bit_clear(conn->cbits, tag->id);
    }
    conn->proto->value(conn, tag, msg, n); /* tag holds the value sent */
}

bool ms_bus_core_drain(ms_bus_conn *conn)
{
    ms_bus_core *c = conn->core;
    if (!conn->nclist || conn->closing ||
        ms_bus_conn_queued(conn) >= c->lim.high_water / 2)
        return false;
    bool any = false;
    size_t i = 0;
    for (; i < conn->nclist && ms_bus_conn_queued(conn) < c->lim.high_water;
         i++) {
        uint16_t id = conn->clist[i];
        bit_clear(listed_bits(conn), id);
        if (!bit_get(conn->cbits, id))
            continue; /* superseded since */
        bit_clear(conn->cbits, id);
        ms_bus_tag *tag = ms_bus_tags_get(&c->tags, id);
        if (!tag)
            continue;
        if (conn->proto->value(conn, tag, NULL, 0)) {
            c->n.conflated--; /* this one was delivered after all */
            any = true;
        }
    }
    memmove(conn->clist, conn->clist + i,
            (conn->nclist - i) * sizeof *conn->clist);
    conn->nclist -= i;
    return any;
}

/* Stores a new value and tells every subscriber but the sender. */
static int tag_publish(ms_bus_core *c, ms_bus_tag *tag, ms_bus_conn *from,
                       const uint8_t *value, size_t len, uint64_t time_us)
{
    int rc = ms_bus_tag_store(tag, value, len, time_us);
    if (rc < 0)
        return rc;
    tag->author = from;
    c->changed = true;
    if (from)
        bit_clear(from->cbits, tag->id); /* it knows its own value */
    if (!tag->nsubs)
        return 0;
    size_t n;
    const uint8_t *msg = encode(c, MS_CMD_SET, tag->id, time_us, value, len,
                                &n);
    if (!msg)
        return MS_ENOMEM;
    for (uint32_t i = 0; i < tag->nsubs; i++) {
        ms_bus_conn *sub = tag->subs[i];
        if (sub != from)
            deliver_set(sub, tag, msg, n);
    }
    return 0;
}

int ms_bus_core_set_own(ms_bus_core *c, const char *name, const uint8_t *value,
                        size_t len, uint64_t time_us)
{
    size_t nl = strlen(name);
    ms_bus_tag *tag = ms_bus_tags_find(&c->tags, (const uint8_t *)name, nl);
    if (!tag) {
        int err = 0;
        tag = ms_bus_tags_add(&c->tags, (const uint8_t *)name, nl, 0, &err);
        if (!tag)
            return err;
    }
    return tag_publish(c, tag, NULL, value, len, time_us);
}

/* A SET reply (to GET or SUB) with the tag's current value. */
static void reply_value(ms_bus_conn *conn, const ms_bus_tag *tag)
{
    size_t n;
    const uint8_t *msg = encode(conn->core, MS_CMD_SET, tag->id, tag->time_us,
                                tag->value, tag->len, &n);
    if (!msg)
        ms_bus_core_fail(conn, "out of memory encoding a value");
    else
        deliver_set(conn, tag, msg, n);
}

static bool do_id(ms_bus_conn *conn, const ms_msg *m)
{
    ms_bus_core *c = conn->core;
    if (!ms_tag_name_valid(m->data, m->len)) {
        conn_err(conn, m->tag_id, m->time_us,
                 "ID invalid tag name (1-255 bytes of UTF-8, no spaces or "
                 "control characters)");
        return false;
    }
    ms_bus_tag *tag = ms_bus_tags_find(&c->tags, m->data, m->len);
    if (!tag) {
        int err = 0;
        tag = ms_bus_tags_add(&c->tags, m->data, m->len, 0, &err);
        if (!tag) {
            if (err == MS_EFULL)
                ms_log_warn("%s: ID %.*s refused: all %d tag ids are used",
                            conn->peer, (int)m->len, (const char *)m->data,
                            MS_BUS_MAX_ID);
            conn_err(conn, m->tag_id, m->time_us, "ID %.*s: %s",
                     (int)m->len, (const char *)m->data,
                     err == MS_EFULL ? "tag table full" : ms_strerror(err));
            return false;
        }
        /* Not `changed`: the snapshot keeps only tags with a value. */
    }
    conn_send(conn, MS_CMD_ID, tag->id, tag->time_us,
              (const uint8_t *)tag->name, tag->name_len);
    return true;
}

static void do_sub(ms_bus_conn *conn, ms_bus_tag *tag)
{
    if (!conn->subbits) {
        conn->subbits = calloc(BITWORDS, sizeof *conn->subbits);
        if (!conn->subbits) {
            ms_bus_core_fail(conn, "out of memory for subscriptions");
            return;
        }
    }
    if (!bit_get(conn->subbits, tag->id)) {
        if (tag->nsubs == tag->asubs) {
            uint32_t na = tag->asubs ? tag->asubs * 2 : 4;
            ms_bus_conn **ns = realloc(tag->subs, na * sizeof *ns);
            if (!ns) {
                ms_bus_core_fail(conn, "out of memory for subscriptions");
                return;
            }
            tag->subs = ns;
            tag->asubs = na;
        }
        tag->subs[tag->nsubs++] = conn;
        bit_set(conn->subbits, tag->id);
    }
    reply_value(conn, tag);
}

static bool list_match(const ms_bus_tag *tag, const ms_msg *m)
{
    const uint8_t *d = m->data;
    size_t n = m->len;
    if (n == 0)
        return tag->time_us > m->time_us;
    if (d[0] == '^')
        return tag->name_len >= n - 1 && !memcmp(tag->name, d + 1, n - 1);
    if (d[n - 1] == '$')
        return tag->name_len >= n - 1 &&
               !memcmp(tag->name + tag->name_len - (n - 1), d, n - 1);
    return memmem(tag->name, tag->name_len, d, n) != NULL;
}

static void do_list(ms_bus_conn *conn, const ms_msg *m)
{
    ms_bus_core *c = conn->core;
    ms_buf names = {0};
    for (uint32_t id = 1; id < c->tags.next_id && id <= MS_BUS_MAX_ID; id++) {
        ms_bus_tag *tag = ms_bus_tags_get(&c->tags, (uint16_t)id);
        if (!tag || !list_match(tag, m))
            continue;
        if ((ms_buf_size(&names) && ms_buf_append(&names, " ", 1) < 0) ||
            ms_buf_append(&names, tag->name, tag->name_len) < 0) {
            ms_buf_free(&names);
            ms_bus_core_fail(conn, "out of memory for a LIST reply");
            return;
        }
    }
    conn_send(conn, MS_CMD_LIST, 0, m->time_us, ms_buf_head(&names),
              ms_buf_size(&names));
    ms_buf_free(&names);
}

static bool do_log(ms_bus_conn *conn, const ms_msg *m)
{
    if (m->len > MS_BUS_LOG_MAX || !ms_utf8_valid(m->data, m->len)) {
        ms_log_warn("%s: LOG refused: %s", conn->peer,
                    m->len > MS_BUS_LOG_MAX ? "over 300 bytes" : "not UTF-8");
        conn_err(conn, 0, m->time_us, "LOG message %s",
                 m->len > MS_BUS_LOG_MAX ? "over 300 bytes" : "not UTF-8");
        return false;
    }
    ms_log_info("%s: LOG %.*s", conn->peer, (int)m->len,
                (const char *)m->data);
    uint8_t value[1 + MS_BUS_LOG_MAX];
    value[0] = MS_TYPE_STR;
    if (m->len)
        memcpy(value + 1, m->data, m->len);
    if (ms_bus_core_set_own(conn->core, MS_BUS_TAG_NAME, value, 1 + m->len,
                            ms_time_now_us()) < 0)
        ms_bus_core_fail(conn, "out of memory setting __bus__");
    return true;
}

/* A SET's value: refused (ERR, and false) when its shape would break every
 * subscriber's decoder (type byte, INT/FLOAT length), or when tags.yaml
 * gives the tag a type the value does not fit (the modules would ignore
 * it). The bus never interprets a value beyond this. */
static bool set_ok(ms_bus_conn *conn, const ms_bus_tag *tag, const ms_msg *m)
{
    if (!m->len)
        return true;
    uint8_t t = m->data[0];
    if (t < MS_TYPE_INT || t > MS_TYPE_JSON ||
        ((t == MS_TYPE_INT || t == MS_TYPE_FLOAT) && m->len != 9)) {
        conn_err(conn, m->tag_id, m->time_us,
                 "SET %s: bad value (type byte %u, %zu bytes)", tag->name, t,
                 m->len);
        return false;
    }
    if (!ms_type_fits(tag->type, (ms_type)t)) {
        conn_err(conn, m->tag_id, m->time_us,
                 "SET %s: %s value, but tags.yaml gives the tag type %s; "
                 "not stored", tag->name, ms_type_name((ms_type)t),
                 ms_type_name(tag->type));
        return false;
    }
    return true;
}

bool ms_bus_core_handle(ms_bus_conn *conn, const ms_msg *m)
{
    ms_bus_core *c = conn->core;
    const char *cmd = ms_cmd_name(m->cmd);
    if (m->cmd == MS_CMD_ID)
        return do_id(conn, m);
    if (m->cmd == MS_CMD_LIST) {
        do_list(conn, m);
        return true;
    }
    if (m->cmd == MS_CMD_LOG)
        return do_log(conn, m);
    if (!cmd || m->cmd == MS_CMD_ERR) {
        ms_log_debug("%s: unsupported command %u", conn->peer, m->cmd);
        conn_err(conn, m->tag_id, m->time_us, "unsupported command %u",
                 m->cmd);
        return false;
    }
    ms_bus_tag *tag = ms_bus_tags_get(&c->tags, m->tag_id);
    if (!tag) {
        conn_err(conn, m->tag_id, m->time_us, "%s unknown tag id %u", cmd,
                 m->tag_id);
        return false;
    }
    switch (m->cmd) {
    case MS_CMD_SET:
        if (!set_ok(conn, tag, m))
            return false;
        if (tag_publish(c, tag, conn, m->data, m->len, m->time_us) < 0)
            ms_bus_core_fail(conn, "out of memory storing a value");
        break;
    case MS_CMD_GET:
        reply_value(conn, tag);
        break;
    case MS_CMD_SUB:
        do_sub(conn, tag);
        break;
    case MS_CMD_UNSUB:
        if (bit_get(conn->subbits, tag->id)) {
            bit_clear(conn->subbits, tag->id);
            bit_clear(conn->cbits, tag->id); /* owes it nothing more */
            subs_remove(tag, conn);
        }
        break;
    case MS_CMD_RTA:
        if (!tag->author || tag->author->closing) {
            conn_err(conn, m->tag_id, m->time_us,
                     "RTA %s: no author (the client that set it is gone)",
                     tag->name);
            break;
        }
        conn_send(tag->author, MS_CMD_RTA, tag->id, tag->time_us, m->data,
                  m->len);
        break;
    default:
        break;
    }
    return true;
}

int ms_bus_core_input(ms_bus_conn *conn, const uint8_t *buf, size_t len,
                      size_t *used)
{
    ms_bus_core *c = conn->core;
    size_t off = 0;
    int rc = 0;
    while (!conn->closing) {
        size_t u;
        ms_msg m;
        rc = ms_frame_reader_next(&conn->reader, buf + off, len - off, &u, &m);
        off += u;
        if (rc <= 0)
            break;
        conn->msgs_in++;
        c->n.msgs_in++;
        ms_bus_core_handle(conn, &m);
    }
    c->n.bytes_in += off;
    *used = off;
    if (rc < 0) {
        char why[96];
        ms_frame_reader_describe(&conn->reader, rc, why, sizeof why);
        ms_bus_core_fail(conn, why);
        return rc;
    }
    return 0;
}
