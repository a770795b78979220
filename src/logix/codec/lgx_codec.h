/* The EtherNet/IP + CIP codec for Logix controllers (docs/logix.md): the
 * encapsulation header, Common Packet Format items, Message Router
 * requests and replies, symbolic EPATHs of tag addresses, the tag services
 * (Read/Write Tag, fragmented, Read-Modify-Write), Multiple Service Packet
 * build and split, Forward Open (large and plain) and Forward Close, route
 * paths, atomic type codes and CIP status texts. Pure: bytes in, bytes
 * out, no I/O and no allocation, so it is fuzzed as it is. All integers on
 * the wire are little-endian. */
#ifndef MS_LOGIX_CODEC_H
#define MS_LOGIX_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mscada/value.h"

/* ---- little-endian access ---------------------------------------------- */

static inline uint16_t ms_lgx_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t ms_lgx_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline uint64_t ms_lgx_u64(const uint8_t *p)
{
    return (uint64_t)ms_lgx_u32(p) | (uint64_t)ms_lgx_u32(p + 4) << 32;
}

/* A bounded writer: a put past cap sets err and writes nothing, so a
 * builder checks once at the end. */
typedef struct {
    uint8_t *p;
    size_t cap, len;
    bool err;
} ms_lgx_w;

static inline void ms_lgx_w_init(ms_lgx_w *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->cap = cap;
    w->len = 0;
    w->err = false;
}
void ms_lgx_put(ms_lgx_w *w, const void *src, size_t n);
void ms_lgx_put8(ms_lgx_w *w, uint8_t v);
void ms_lgx_put16(ms_lgx_w *w, uint16_t v);
void ms_lgx_put32(ms_lgx_w *w, uint32_t v);
void ms_lgx_put64(ms_lgx_w *w, uint64_t v);
/* Overwrites a u16 at off (a length known only at the end). */
void ms_lgx_patch16(ms_lgx_w *w, size_t off, uint16_t v);

/* ---- encapsulation (TCP 44818) ------------------------------------------ */

#define MS_LGX_PORT 44818
#define MS_LGX_HDR 24
/* The largest frame either side accepts: a Large Forward Open's 4002-byte
 * connection plus headers, with room. */
#define MS_LGX_FRAME_MAX 8192

enum {
    MS_LGX_NOP = 0x0000,
    MS_LGX_LIST_IDENTITY = 0x0063,
    MS_LGX_REGISTER = 0x0065,
    MS_LGX_UNREGISTER = 0x0066,
    MS_LGX_SEND_RR = 0x006F,
    MS_LGX_SEND_UNIT = 0x0070
};

typedef struct {
    uint16_t command, length; /* length: bytes after the header */
    uint32_t session, status;
    uint8_t context[8];
    uint32_t options;
} ms_lgx_encap;

/* The length of the whole frame at p when its header is there (n >= 24),
 * 0 when more bytes are needed, or -1 when the length is past
 * MS_LGX_FRAME_MAX (the stream can't be trusted). */
long ms_lgx_frame_len(const uint8_t *p, size_t n);
/* Decodes the header (n >= 24). */
void ms_lgx_encap_get(const uint8_t *p, ms_lgx_encap *h);
void ms_lgx_encap_put(ms_lgx_w *w, const ms_lgx_encap *h);

/* ---- Common Packet Format (SendRRData, SendUnitData) -------------------- */

enum {
    MS_LGX_ITEM_NULL = 0x0000,
    MS_LGX_ITEM_CONN_ADDR = 0x00A1,
    MS_LGX_ITEM_CONN_DATA = 0x00B1,
    MS_LGX_ITEM_UNCONN_DATA = 0x00B2,
    MS_LGX_ITEM_IDENTITY = 0x000C
};

/* The two items of a SendRRData/SendUnitData body. */
typedef struct {
    uint16_t timeout;
    uint16_t addr_type, data_type;
    uint32_t conn_id;    /* CONN_ADDR's */
    uint16_t seq;        /* CONN_DATA's first two bytes */
    const uint8_t *cip;  /* the CIP message (after seq for CONN_DATA) */
    size_t cip_len;
} ms_lgx_cpf;

/* Decodes a body (the bytes after the encapsulation header). 0, or -1
 * when malformed (fewer than two items, items past the end, an address
 * item of the wrong size, no data item). */
int ms_lgx_cpf_get(const uint8_t *body, size_t n, ms_lgx_cpf *out);

/* Writes a whole frame: header (session, context) and the CPF of an
 * unconnected (conn_id == 0 and !connected) or connected request or reply,
 * around cip. Returns the frame's length, or 0 when it does not fit. */
size_t ms_lgx_frame_rr(uint8_t *out, size_t cap, uint32_t session,
                       const uint8_t context[8], const uint8_t *cip,
                       size_t cip_len);
size_t ms_lgx_frame_unit(uint8_t *out, size_t cap, uint32_t session,
                         uint32_t conn_id, uint16_t seq, const uint8_t *cip,
                         size_t cip_len);
/* RegisterSession (session 0, context 0, protocol version 1). */
size_t ms_lgx_frame_register(uint8_t *out, size_t cap, uint32_t session);

/* ---- EPATH ---------------------------------------------------------------- */

#define MS_LGX_NAME_MAX 40 /* Logix's longest tag or member name */
#define MS_LGX_DIMS 3
#define MS_LGX_PATH_MAX 255 /* bytes: the word count is one byte */

enum {
    MS_LGX_SEG_NAME = 1,  /* 0x91 symbolic */
    MS_LGX_SEG_INDEX,     /* 0x28/0x29/0x2A member (element) */
    MS_LGX_SEG_CLASS,     /* 0x20/0x21 */
    MS_LGX_SEG_INSTANCE,  /* 0x24/0x25 */
    MS_LGX_SEG_ATTR,      /* 0x30/0x31 */
    MS_LGX_SEG_PORT       /* port segment (route) */
};

typedef struct {
    uint8_t kind;
    uint8_t len;          /* NAME: bytes of name; PORT: link bytes */
    const uint8_t *name;  /* NAME: the ASCII (not NUL-terminated); PORT:
                           * the link address */
    uint32_t value;       /* INDEX/CLASS/INSTANCE/ATTR; PORT: port */
} ms_lgx_seg;

/* Splits an EPATH of n bytes into at most cap segments. Returns the count
 * or -1 (an unknown or cut segment, too many). */
int ms_lgx_path_split(const uint8_t *p, size_t n, ms_lgx_seg *out,
                      size_t cap);

/* Encodes a tag address: `name`, `name[i]`, `name[i,j,k]`, members
 * `a.b[3].c`, `Program:Main.x`. No bit (see ms_lgx_addr_parse). Returns
 * the bytes written (even) or -1 when the address is malformed or the path
 * does not fit cap. */
int ms_lgx_path_tag(const char *tag, uint8_t *out, size_t cap);
/* The same with the last element's indexes replaced by idx (ndim of
 * them; 0: the address as written). Polls read `name[start]`. */
int ms_lgx_path_tag_at(const char *tag, const uint32_t *idx, int ndim,
                       uint8_t *out, size_t cap);
/* class/instance logical path (8 or 16-bit each as the value needs). */
int ms_lgx_path_logical(uint16_t cls, uint32_t inst, uint8_t *out,
                        size_t cap);

/* A read/write address of logixclient.yaml: `var`, `var[i]`, `var[i,j]`,
 * `var.bit`, `var[i].bit`, `a.b[2].c.3`, `Program:P.x`. The bit is a last
 * member made of digits only. */
typedef struct {
    char tag[128];          /* without the index of the last element and
                             * without the bit: what a poll entry names */
    uint32_t idx[MS_LGX_DIMS];
    int ndim;               /* indexes after tag, 0: none */
    int bit;                /* -1: none */
} ms_lgx_addr;

/* 0, or -1 when malformed (text empty, a bad character or index, a bit
 * past 63, too long). */
int ms_lgx_addr_parse(const char *text, ms_lgx_addr *a);

/* A route (the part of `ip` after the first '/', or `path:`): "1,0",
 * "1/0", "bp/0", "enet/10.0.0.2/bp/2", comma- or slash-separated pairs of
 * port and link address (a number, or an IPv4 text). Empty: no route
 * (Micro800). Encoded as port segments into out; returns bytes (even) or
 * -1. */
int ms_lgx_route_encode(const char *text, uint8_t *out, size_t cap);

/* ---- CIP Message Router --------------------------------------------------- */

enum {
    MS_LGX_SVC_GET_ALL = 0x01,
    MS_LGX_SVC_GET_LIST = 0x03,  /* Get_Attribute_List */
    MS_LGX_SVC_MSP = 0x0A,
    MS_LGX_SVC_READ = 0x4C,
    MS_LGX_SVC_WRITE = 0x4D,
    MS_LGX_SVC_RMW = 0x4E,       /* Forward Close to class 6 too */
    MS_LGX_SVC_READ_FRAG = 0x52, /* Unconnected Send to class 6 too */
    MS_LGX_SVC_WRITE_FRAG = 0x53,
    MS_LGX_SVC_FWD_OPEN = 0x54,
    MS_LGX_SVC_INSTANCE_LIST = 0x55,
    MS_LGX_SVC_LARGE_FWD_OPEN = 0x5B,
    MS_LGX_SVC_FWD_CLOSE = 0x4E
};

typedef struct {
    uint8_t service;
    const uint8_t *path;
    size_t path_len;          /* bytes */
    const uint8_t *data;
    size_t data_len;
} ms_lgx_req;

typedef struct {
    uint8_t service;          /* without 0x80 */
    uint8_t status;           /* general status */
    uint16_t ext;             /* first extended status word, 0 if none */
    const uint8_t *data;
    size_t data_len;
} ms_lgx_rsp;

/* Decodes a request / a reply; 0 or -1 when cut or (reply) without the
 * 0x80 bit. */
int ms_lgx_req_get(const uint8_t *p, size_t n, ms_lgx_req *r);
int ms_lgx_rsp_get(const uint8_t *p, size_t n, ms_lgx_rsp *r);
/* Writes a request's or a reply's header and data. */
void ms_lgx_req_put(ms_lgx_w *w, uint8_t service, const uint8_t *path,
                    size_t path_len, const uint8_t *data, size_t data_len);
void ms_lgx_rsp_put(ms_lgx_w *w, uint8_t service, uint8_t status,
                    uint16_t ext, const uint8_t *data, size_t data_len);

/* ---- tag services --------------------------------------------------------- */

#define MS_LGX_TYPE_STRUCT 0x02A0

/* Read Tag (offset < 0) or Read Tag Fragmented. */
void ms_lgx_read_put(ms_lgx_w *w, const uint8_t *path, size_t path_len,
                     uint16_t elements, long offset);
/* Write Tag (offset < 0) or Write Tag Fragmented; handle is used when type
 * is MS_LGX_TYPE_STRUCT. */
void ms_lgx_write_put(ms_lgx_w *w, const uint8_t *path, size_t path_len,
                      uint16_t type, uint16_t handle, uint16_t elements,
                      long offset, const uint8_t *data, size_t len);
/* Read-Modify-Write of one bit of a word of size bytes (1, 2, 4 or 8):
 * OR and AND masks of exactly size bytes. -1 for a bad size or bit. */
int ms_lgx_rmw_put(ms_lgx_w *w, const uint8_t *path, size_t path_len,
                   unsigned size, unsigned bit, bool value);

/* A read reply's data: its type, handle and the value bytes. -1 when
 * shorter than its type. */
typedef struct {
    uint16_t type, handle;
    const uint8_t *data;
    size_t len;
} ms_lgx_value;
int ms_lgx_value_get(const uint8_t *p, size_t n, ms_lgx_value *v);

/* Bytes of a Read Tag reply of len data bytes, inside an MSP or alone. */
size_t ms_lgx_read_reply_size(uint16_t type, size_t len);

/* ---- Multiple Service Packet ---------------------------------------------- */

#define MS_LGX_MSP_MAX 200 /* services per packet we build or take */

typedef struct {
    const uint8_t *p;
    size_t n;
} ms_lgx_slice;

/* Writes an MSP request (to the Message Router) of the n requests. */
void ms_lgx_msp_put(ms_lgx_w *w, const ms_lgx_slice *reqs, size_t n);
/* Splits an MSP's data (request or reply, the same layout) into its
 * services; returns the count or -1 (offsets out of order or past the
 * end, more than cap). */
int ms_lgx_msp_split(const uint8_t *data, size_t n, ms_lgx_slice *out,
                     size_t cap);
/* Bytes of an MSP request / reply holding n services of total bytes. */
static inline size_t ms_lgx_msp_size(size_t n, size_t total)
{
    return 6 + 2 + 2 * n + total;
}
static inline size_t ms_lgx_msp_reply_size(size_t n, size_t total)
{
    return 4 + 2 + 2 * n + total;
}

/* ---- Connection Manager ----------------------------------------------------- */

typedef struct {
    bool large;               /* 0x5B with 32-bit params, else 0x54 */
    uint32_t ot_id, to_id;    /* to_id: ours */
    uint16_t serial, vendor;
    uint32_t orig_serial;
    uint32_t rpi_us;
    uint16_t size;            /* connection size, bytes */
    const uint8_t *route;     /* port segments, may be empty */
    size_t route_len;
} ms_lgx_fo;

/* A Forward Open request (the CIP message) to class 6 instance 1, with
 * the connection path route + Message Router. */
void ms_lgx_fo_put(ms_lgx_w *w, const ms_lgx_fo *fo);
/* Decodes one (the server's side). -1 when cut. */
int ms_lgx_fo_get(const ms_lgx_req *r, ms_lgx_fo *fo);
/* A successful reply's data: the two ids and serials. */
void ms_lgx_fo_reply_put(ms_lgx_w *w, const ms_lgx_fo *fo);
int ms_lgx_fo_reply_get(const uint8_t *p, size_t n, ms_lgx_fo *fo);
void ms_lgx_fc_put(ms_lgx_w *w, const ms_lgx_fo *fo);
int ms_lgx_fc_get(const ms_lgx_req *r, ms_lgx_fo *fo);

/* Unconnected Send (0x52 to class 6) around a request, routed by route
 * (non-empty). */
void ms_lgx_ucmm_put(ms_lgx_w *w, const uint8_t *msg, size_t len,
                     const uint8_t *route, size_t route_len);
/* Unwraps one: msg is the embedded request. -1 when cut. */
int ms_lgx_ucmm_get(const ms_lgx_req *r, ms_lgx_slice *msg);

/* ---- types and status --------------------------------------------------- */

enum {
    MS_LGX_BOOL = 0xC1,
    MS_LGX_SINT = 0xC2,
    MS_LGX_INT = 0xC3,
    MS_LGX_DINT = 0xC4,
    MS_LGX_LINT = 0xC5,
    MS_LGX_USINT = 0xC6,
    MS_LGX_UINT = 0xC7,
    MS_LGX_UDINT = 0xC8,
    MS_LGX_ULINT = 0xC9,
    MS_LGX_REAL = 0xCA,
    MS_LGX_LREAL = 0xCB,
    MS_LGX_DWORD = 0xD3
};

/* Bytes of one element of an atomic type, 0 when unknown. */
unsigned ms_lgx_type_size(uint16_t type);
/* "DINT"; "STRUCT" for 0x02A0; NULL when unknown. */
const char *ms_lgx_type_name(uint16_t type);
/* The code of a Logix type name (REAL, DINT, ..., case-insensitive), 0
 * when unknown; STRING gives MS_LGX_TYPE_STRUCT. */
uint16_t ms_lgx_type_code(const char *name, size_t len);

/* General status + extended status named: "0x04 path segment error (the
 * tag does not exist)", "0xFF/0x2105 access beyond end of object". */
const char *ms_lgx_status_text(uint8_t status, uint16_t ext, char *buf,
                               size_t cap);


/* ---- values --------------------------------------------------------------- */

/* One element of type (esize bytes; a STRING/STRINGnn: LEN DINT then the
 * characters) as a bus value: integers (and a bit of one, bit >= 0) INT,
 * REAL/LREAL FLOAT, a string STR borrowing p. -1 when len is short, the
 * type unknown, or the bit past the word. */
int ms_lgx_to_value(uint16_t type, const uint8_t *p, size_t len, int bit,
                    ms_value *v);
/* A bus value into one element of type: esize bytes written to out (a
 * string: LEN, the characters cut at esize - 4 (Logix pads them), zeros).
 * *clamped says an integer was out of the type's range. -1 when v is not a
 * number (or not text for a string), or cap is short. */
int ms_lgx_from_value(uint16_t type, unsigned esize, const ms_value *v,
                      uint8_t *out, size_t cap, bool *clamped);

#endif
