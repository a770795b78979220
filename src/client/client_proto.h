/* The client's side of the bus protocol, without I/O (docs/design.md §6): turns the
 * byte stream from a bus into events (ID, SET, RTA, LIST, ERR), and writes
 * outgoing messages into a buffer. Unit-tested against the real pymscada
 * server's bytes and fuzzed (tests/fuzz/fuzz_client.c). */
#ifndef MS_CLIENT_PROTO_H
#define MS_CLIENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "mscada/frame.h"
#include "mscada/value.h"

typedef enum {
    MS_CEV_ID = 1,  /* the bus gave tag_id to the tag called data[0..len) */
    MS_CEV_SET,     /* a value for tag_id (NONE: never set) */
    MS_CEV_RTA,     /* a request to us, the author of tag_id */
    MS_CEV_LIST,    /* an answer to LIST: names joined by single spaces */
    MS_CEV_ERR,     /* the bus refused a request: text in data */
    MS_CEV_OTHER    /* a command no bus sends to clients (cmd says which) */
} ms_cev_kind;

typedef struct {
    ms_cev_kind kind;
    uint8_t cmd;
    uint16_t tag_id;
    uint64_t time_us;
    const uint8_t *data; /* the whole payload; valid until the next call */
    size_t len;
    ms_value value;      /* SET, RTA: the decoded value */
    int value_err;       /* SET, RTA: 0, or MS_ETYPE / MS_EPROTO when the
                          * payload is not a valid value (value is NONE) */
} ms_client_event;

typedef struct {
    ms_frame_reader reader;
} ms_client_decoder;

/* cap: the largest payload accepted (0: MS_FRAME_DEFAULT_CAP). */
void ms_client_decoder_init(ms_client_decoder *d, size_t cap);
void ms_client_decoder_free(ms_client_decoder *d);

/* Reads the next event from len bytes at buf; *used = bytes consumed.
 * Returns 1 with *ev set (call again with the rest), 0 when the rest holds
 * no whole message (keep it), or MS_EPROTO (bad version) / MS_ETOOBIG (over
 * the cap) / MS_ENOMEM: the stream can't be trusted, drop it. */
int ms_client_decoder_next(ms_client_decoder *d, const uint8_t *buf,
                           size_t len, size_t *used, ms_client_event *ev);

/* Classifies one whole message. Pure; never fails. */
void ms_client_event_from_msg(const ms_msg *m, ms_client_event *ev);

/* Appends one whole message (chunked as needed) to out; data is the
 * concatenation of a[0..alen) and b[0..blen), so that a value's type byte
 * and body need no copy in between. Returns 0 or MS_ENOMEM. */
int ms_client_put(ms_buf *out, uint8_t cmd, uint16_t tag_id,
                  uint64_t time_us, const uint8_t *a, size_t alen,
                  const uint8_t *b, size_t blen);
/* A SET or RTA carrying v (type byte + value; NONE gives an empty
 * payload). Returns 0, MS_ETYPE, MS_ENOMEM. */
int ms_client_put_value(ms_buf *out, uint8_t cmd, uint16_t tag_id,
                        uint64_t time_us, const ms_value *v);

/* True for a name the bus accepts: 1-255 bytes of UTF-8 with no spaces or
 * control characters. */
bool ms_client_name_valid(const char *name, size_t len);

/* Splits a LIST answer in place: text holds len bytes and a NUL after
 * them; every space (or control byte, which no name holds) becomes NUL and
 * names[i] points at each name. Returns how many (at most max; the rest
 * are dropped). */
size_t ms_client_list_split(char *text, size_t len, const char **names,
                            size_t max);

#endif
