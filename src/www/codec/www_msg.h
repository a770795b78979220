/* The browser protocol's messages (docs/www.md "Protocol"): decoding what a
 * browser sends ({"type", "tagname", "value"} JSON text) and encoding what
 * the server sends (JSON {"type", "payload"} text, and the binary value
 * frame u16 id, u16 type, u64 time_us, value, all big-endian), each as a
 * whole RFC 6455 frame so many can go out in one write. Pure functions. */
#ifndef MS_WWW_MSG_H
#define MS_WWW_MSG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "mscada/value.h"

typedef enum {
    MS_WWW_SUB = 1,
    MS_WWW_SET,
    MS_WWW_RTA,   /* also the 2024 "rqs" form */
    MS_WWW_GET,   /* not implemented by pymscada either: logged */
    MS_WWW_UNSUB, /* the same */
    MS_WWW_FILE   /* an upload the HMI offers: not supported, logged */
} ms_www_cmd;

typedef struct {
    ms_www_cmd cmd;
    bool rqs;             /* the 2024 form: the id goes in __rqs_id__ */
    const char *tagname;  /* into root; NULL for FILE */
    json_t *value;        /* borrowed from root (may be JSON null) */
    json_t *root;         /* the parsed message: json_decref when done */
} ms_www_msg;

/* Decodes a text message. Returns 0, or MS_EPROTO with why (a short
 * reason naming the fault: "not JSON", "no tagname", "unknown type
 * 'x'") and nothing to free. */
int ms_www_msg_decode(const char *text, size_t len, ms_www_msg *m,
                      char *why, size_t whylen);

/* Binary frame opcodes as RFC 6455 numbers them. */
enum { MS_WS_TEXT = 1, MS_WS_BINARY = 2 };

/* Writes a server (unmasked, FIN) frame header for len bytes; hdr has 10
 * bytes. Returns the header's length (2, 4 or 10). */
size_t ms_www_ws_header(uint8_t *hdr, int opcode, size_t len);

/* Bytes of the binary value message for v (no frame header): 12 + value. */
size_t ms_www_value_size(const ms_value *v);
/* Writes the binary value message (INT, FLOAT, STR, BYTES) at out, which
 * holds ms_www_value_size(v) bytes. */
void ms_www_value_put(uint8_t *out, uint16_t id, uint64_t time_us,
                      const ms_value *v);

/* Appends a whole frame: the binary value message / a JSON text message
 * {"type": type, "payload": payload}. Return 0 or MS_ENOMEM. */
int ms_www_frame_value(ms_buf *out, uint16_t id, uint64_t time_us,
                       const ms_value *v);
int ms_www_frame_json(ms_buf *out, const char *type, const json_t *payload);
/* The `tag` message of a list or dict value, its JSON text as it came from
 * the bus (a pymscada publisher wrote it with json.dumps already). */
int ms_www_frame_tag(ms_buf *out, uint16_t id, uint64_t time_us,
                     const char *json, size_t len);

/* The rta id a value carries: the first u16 of BYTES, `__rta_id__` of a
 * dict (0 when absent or not an integer). */
int ms_www_value_rta_id(const ms_value *v, const json_t *parsed);

#endif
