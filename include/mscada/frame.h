/* The bus wire codec (docs/design.md §6): a 14-byte big-endian header
 *   u8 version (1), u8 command, u16 tag_id, u16 size, u64 time_us
 * then `size` payload bytes. A payload is sent as chunks of MS_FRAME_MAX_LEN
 * bytes; a chunk of exactly MS_FRAME_MAX_LEN means "more follows for this
 * tag_id", the first shorter chunk (possibly empty) ends it. Pure: no I/O. */
#ifndef MSCADA_FRAME_H
#define MSCADA_FRAME_H

#include "mscada/export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MS_FRAME_VERSION 1
#define MS_FRAME_HEAD 14
#define MS_FRAME_MAX_LEN 65521
#define MS_FRAME_DEFAULT_CAP (64u * 1024 * 1024)

typedef enum {
    MS_CMD_ID = 1,
    MS_CMD_SET = 2,
    MS_CMD_GET = 3,
    MS_CMD_RTA = 4, /* request to author; RQS in older pymscada */
    MS_CMD_SUB = 5,
    MS_CMD_UNSUB = 6,
    MS_CMD_LIST = 7,
    MS_CMD_ERR = 8,
    MS_CMD_LOG = 9
} ms_cmd;

/* "ID", "SET", ... or NULL for an unknown command. */
MS_EXTERN const char *ms_cmd_name(int cmd);

typedef struct {
    uint8_t version;
    uint8_t cmd;
    uint16_t tag_id;
    uint16_t size;
    uint64_t time_us;
} ms_frame_head;

/* Decodes a header from len bytes at buf. Returns MS_FRAME_HEAD, 0 when fewer
 * than 14 bytes are there, or MS_EPROTO for a version other than 1 (h is
 * filled in all the same, so the caller can say which version). */
MS_EXTERN int ms_frame_head_decode(const uint8_t *buf, size_t len, ms_frame_head *h);

/* Writes one 14-byte header with version 1. */
MS_EXTERN void ms_frame_head_encode(uint8_t out[MS_FRAME_HEAD], uint8_t cmd,
                          uint16_t tag_id, uint16_t size, uint64_t time_us);

/* Bytes on the wire for a payload of len bytes, chunks and headers
 * included: (len / MAX_LEN + 1) headers. */
MS_EXTERN size_t ms_frame_wire_size(size_t len);

/* Writes the whole chunked message into out, which must hold
 * ms_frame_wire_size(len) bytes. Returns the bytes written. */
MS_EXTERN size_t ms_frame_encode(uint8_t *out, uint8_t cmd, uint16_t tag_id,
                       uint64_t time_us, const uint8_t *data, size_t len);

/* One whole (re-assembled) message. */
typedef struct {
    uint8_t cmd;
    uint16_t tag_id;
    uint64_t time_us;
    const uint8_t *data; /* valid until the next ms_frame_reader call */
    size_t len;
} ms_msg;

/* Re-assembles chunked payloads from a byte stream. Keeps a partial payload
 * per tag_id (as pymscada does); the cap bounds the sum of partial payloads
 * held at once, and so any one message. */
typedef struct ms_frame_pending ms_frame_pending;
typedef struct {
    size_t cap;
    size_t held;            /* bytes in partial payloads */
    ms_frame_pending *pend; /* partial payloads, few at a time */
    size_t npend, apend;
    uint8_t *out;           /* the last message handed out, if assembled */
    size_t out_alloc;
    uint8_t *spare;         /* a payload buffer kept for the next one */
    size_t spare_alloc;
    ms_frame_head bad;      /* the header that caused MS_EPROTO/MS_ETOOBIG */
} ms_frame_reader;

MS_EXTERN void ms_frame_reader_init(ms_frame_reader *r, size_t cap);
/* Words an error of ms_frame_reader_next for a log line: "bad protocol
 * version 7 (want 1)", "payload for tag id 5 over the 1048576-byte cap". */
MS_EXTERN void ms_frame_reader_describe(const ms_frame_reader *r, int err, char *why,
                              size_t cap);
MS_EXTERN void ms_frame_reader_free(ms_frame_reader *r);
/* Empties the reader for a new stream with this cap (as a fresh
 * ms_frame_reader_init), keeping one payload buffer for reuse. */
MS_EXTERN void ms_frame_reader_reset(ms_frame_reader *r, size_t cap);

/* Reads from len bytes at buf. Sets *used to the bytes consumed. Returns 1
 * with *msg set when a whole message is ready (call again with the rest),
 * 0 when the remaining bytes hold no whole message yet (keep them and call
 * again when more arrive), MS_EPROTO for a bad version byte, MS_ETOOBIG when
 * a payload would pass the cap, MS_ENOMEM. After an error the stream can't
 * be trusted: drop it. msg->data points into buf (zero-copy) or into the
 * reader's own memory, valid until the next call. */
MS_EXTERN int ms_frame_reader_next(ms_frame_reader *r, const uint8_t *buf, size_t len,
                         size_t *used, ms_msg *msg);

#ifdef __cplusplus
}
#endif
#endif
