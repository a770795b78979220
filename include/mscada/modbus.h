/* The Modbus codec (docs/design.md §8): PDUs for function codes 1-6, 15, 16, 17, 22,
 * 23 and 43/14, requests and responses, both directions (a server decodes
 * requests and encodes responses, a client the other way round); exception
 * responses as errors that name the function and the exception; data helpers
 * (bit packing, big-endian registers, word order of 32/64-bit values); and
 * ADU framing with interchangeable backends: MBAP (Modbus TCP) and RTU
 * (unit + PDU + CRC-16, for serial lines and rtu-over-tcp).
 *
 * Pure: no I/O, no globals, no allocation. Decoded payloads point into the
 * decoded buffer, in their wire form (packed bits, big-endian registers). */
#ifndef MSCADA_MODBUS_H
#define MSCADA_MODBUS_H

#include "mscada/export.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- function and exception codes ----------------------------------------- */

typedef enum {
    MS_MB_READ_COILS = 1,
    MS_MB_READ_DISCRETE_INPUTS = 2,
    MS_MB_READ_HOLDING_REGISTERS = 3,
    MS_MB_READ_INPUT_REGISTERS = 4,
    MS_MB_WRITE_SINGLE_COIL = 5,
    MS_MB_WRITE_SINGLE_REGISTER = 6,
    MS_MB_WRITE_MULTIPLE_COILS = 15,
    MS_MB_WRITE_MULTIPLE_REGISTERS = 16,
    MS_MB_REPORT_SERVER_ID = 17,
    MS_MB_MASK_WRITE_REGISTER = 22,
    MS_MB_READ_WRITE_REGISTERS = 23,
    MS_MB_ENCAPSULATED = 43 /* only MEI type 14, read device identification */
} ms_mb_fc;

#define MS_MB_MEI_DEVICE_ID 14

typedef enum {
    MS_MB_EX_ILLEGAL_FUNCTION = 1,
    MS_MB_EX_ILLEGAL_DATA_ADDRESS = 2,
    MS_MB_EX_ILLEGAL_DATA_VALUE = 3,
    MS_MB_EX_SERVER_DEVICE_FAILURE = 4,
    MS_MB_EX_ACKNOWLEDGE = 5,
    MS_MB_EX_SERVER_DEVICE_BUSY = 6,
    MS_MB_EX_MEMORY_PARITY_ERROR = 8,
    MS_MB_EX_GATEWAY_PATH_UNAVAILABLE = 10,
    MS_MB_EX_GATEWAY_TARGET_FAILED = 11
} ms_mb_exception;

/* ---- limits (Modbus Application Protocol v1.1b3) -------------------------- */

#define MS_MB_PDU_MAX 253           /* function code + data */
#define MS_MB_MAX_READ_BITS 2000    /* FC1, FC2 */
#define MS_MB_MAX_READ_REGS 125     /* FC3, FC4, FC23 read */
#define MS_MB_MAX_WRITE_BITS 1968   /* FC15 */
#define MS_MB_MAX_WRITE_REGS 123    /* FC16 */
#define MS_MB_MAX_RW_WRITE_REGS 121 /* FC23 write */
#define MS_MB_COIL_ON 0xFF00        /* FC5's wire value for "on" */
#define MS_MB_MAX_SERVER_ID 250     /* FC17: id bytes before the run byte */
#define MS_MB_RUN_ON 0xFF           /* FC17 run indicator: running */
#define MS_MB_RUN_OFF 0x00          /* FC17 run indicator: not running */

/* ---- errors ----------------------------------------------------------------
 * A Modbus exception travels as a negative int like every mscada error, in
 * its own range, so that the function and the exception survive being passed
 * up through callbacks: ms_mb_exc_err(3, 2) is "FC3 read holding registers:
 * exception 2 illegal data address". Other codes are MS_E* (error.h). */
#define MS_MB_ERR_BASE (-0x10000)

static inline int ms_mb_exc_err(uint8_t fc, uint8_t exc)
{
    return MS_MB_ERR_BASE - (int)(((unsigned)(fc & 0x7f) << 8) | exc);
}
static inline bool ms_mb_err_is_exc(int err)
{
    return err <= MS_MB_ERR_BASE && err > MS_MB_ERR_BASE - 0x8000;
}
static inline uint8_t ms_mb_err_fc(int err)
{
    return (uint8_t)((MS_MB_ERR_BASE - err) >> 8);
}
static inline uint8_t ms_mb_err_exc(int err)
{
    return (uint8_t)((MS_MB_ERR_BASE - err) & 0xff);
}

/* "read holding registers", ... or NULL for a function code not supported. */
MS_EXTERN const char *ms_mb_fc_name(uint8_t fc);
/* "illegal data address", ... or NULL for an unknown exception code. */
MS_EXTERN const char *ms_mb_exc_name(uint8_t exc);
/* Writes err's text into buf (cap bytes) and returns buf: for an exception
 * "FC3 read holding registers: exception 2 illegal data address", else
 * ms_strerror(err). */
MS_EXTERN const char *ms_mb_strerror(int err, char *buf, size_t cap);

/* ---- requests and responses ----------------------------------------------- */

/* Which way a PDU goes: needed where its shape differs (lengths, decode). */
typedef enum { MS_MB_REQUEST = 0, MS_MB_RESPONSE = 1 } ms_mb_dir;

/* A request. Fields by function:
 *   1-4   addr, count
 *   5     addr, value (0 off, else on; 0x0000/0xFF00 on the wire)
 *   6     addr, value
 *   15    addr, count, data = ceil(count/8) bytes of packed bits (LSB first)
 *   16    addr, count, data = 2*count bytes of big-endian registers
 *   17    nothing (report server id)
 *   22    addr, and_mask, or_mask
 *   23    addr, count (the read), waddr, wcount, data = 2*wcount bytes
 *   43    mei (14), dev_code (1-4), object_id
 * data is borrowed: a decode points it into the PDU. */
typedef struct {
    uint8_t fc;
    uint16_t addr;
    uint16_t count;
    uint16_t value;
    uint16_t and_mask, or_mask;
    uint16_t waddr, wcount;
    const uint8_t *data;
    uint8_t mei, dev_code, object_id;
} ms_mb_request;

/* A response. exception != 0 means an exception response (only fc and
 * exception are meaningful). Otherwise, by function:
 *   1-4, 23  nbytes, data = the bytes (packed bits or big-endian registers)
 *   5, 6     addr, value (FC5: 0 or 1, as in the request)
 *   15, 16   addr, count
 *   17       nbytes (1..251), data = what follows the byte
 *            count: the server id, the run indicator (MS_MB_RUN_ON/OFF)
 *            and any additional data, split as the device defines
 *   22       addr, and_mask, or_mask
 *   43       mei, dev_code, conformity, more_follows (0 or 0xFF),
 *            next_object_id, nobjects, data/nbytes = the object list
 *            (id, length, bytes; walk it with ms_mb_devid_next)
 * data is borrowed: a decode points it into the PDU. */
typedef struct {
    uint8_t fc;
    uint8_t exception;
    uint16_t addr;
    uint16_t count;
    uint16_t value;
    uint16_t and_mask, or_mask;
    const uint8_t *data;
    size_t nbytes;
    uint8_t mei, dev_code, conformity, more_follows, next_object_id, nobjects;
} ms_mb_response;

/* Encodes req's PDU into out (cap bytes). Returns its length, MS_ETOOBIG when
 * cap is too small, MS_EINVAL for an unsupported function (or MEI type,
 * device id code), MS_ERANGE for a quantity outside the spec's limits or
 * an address range past 65535. */
MS_EXTERN int ms_mb_request_encode(const ms_mb_request *req, uint8_t *out, size_t cap);

/* Decodes the len bytes of one whole request PDU (a server's side). Returns
 * 0, MS_EPROTO when len is 0 or the function code is 0 or above 127 (no
 * exception can answer those), or the exception a server must answer, as
 * ms_mb_exc_err(fc, exc): 1 for a function (or MEI type) not supported, 3
 * for a quantity out of limits, a byte count or length that does not match
 * or a bad value (FC5), 2 for an address range past 65535. req->fc is set
 * whenever len > 0. */
MS_EXTERN int ms_mb_request_decode(const uint8_t *pdu, size_t len, ms_mb_request *req);

/* Encodes rsp's PDU (an exception response when rsp->exception != 0).
 * Returns its length, MS_ETOOBIG, MS_EINVAL or MS_ERANGE as above. */
MS_EXTERN int ms_mb_response_encode(const ms_mb_response *rsp, uint8_t *out,
                          size_t cap);

/* Decodes one whole response PDU (a client's side), without its request:
 * check it against the request with ms_mb_response_match. Returns 0,
 * ms_mb_exc_err(fc, exc) for an exception response (rsp->fc and
 * rsp->exception are set), or MS_EPROTO for anything malformed: unknown
 * function, wrong length, byte count or quantity out of limits, exception
 * code 0. */
MS_EXTERN int ms_mb_response_decode(const uint8_t *pdu, size_t len,
                          ms_mb_response *rsp);

/* Whether rsp answers req: same function, the byte count the request's
 * quantity implies, echoes equal to the request. Returns 0, the exception
 * error when rsp is an exception response to req's function, or MS_EPROTO. */
MS_EXTERN int ms_mb_response_match(const ms_mb_request *req,
                         const ms_mb_response *rsp);

/* Length of the whole PDU that starts with the len bytes at pdu, from its
 * function code and byte counts (what RTU framing needs). Returns the length
 * (> 0, possibly more than len), 0 when more bytes are needed to tell, or
 * MS_EPROTO when it can't be told (unknown function code) or is over
 * MS_MB_PDU_MAX. */
MS_EXTERN int ms_mb_pdu_length(ms_mb_dir dir, const uint8_t *pdu, size_t len);

/* ---- read device identification (FC43/14) --------------------------------- */

typedef enum {
    MS_MB_DEVID_BASIC = 1,    /* stream: objects 0-2 */
    MS_MB_DEVID_REGULAR = 2,  /* stream: objects 0-0x7F */
    MS_MB_DEVID_EXTENDED = 3, /* stream: objects 0-0xFF */
    MS_MB_DEVID_SPECIFIC = 4  /* one object */
} ms_mb_devid_code;

typedef struct {
    uint8_t id;
    uint8_t len;
    const uint8_t *value; /* borrowed, not NUL-terminated */
} ms_mb_devid_obj;

/* Walks a FC43/14 response's object list: call with *off = 0, then again
 * while it returns 1 (obj set). Returns 0 at the end. The list of a decoded
 * response is known to be well formed. */
MS_EXTERN int ms_mb_devid_next(const ms_mb_response *rsp, size_t *off,
                     ms_mb_devid_obj *obj);

/* Appends one object (id, len, value) to an object list being built in buf
 * (cap bytes, *used so far). Returns 0 or MS_ETOOBIG. */
MS_EXTERN int ms_mb_devid_put(uint8_t *buf, size_t cap, size_t *used, uint8_t id,
                    const void *value, uint8_t len);

/* ---- data helpers ---------------------------------------------------------- */

/* Bit i of packed bits (bit 0 = LSB of byte 0, as on the wire). */
static inline bool ms_mb_bit_get(const uint8_t *bits, size_t i)
{
    return (bits[i >> 3] >> (i & 7)) & 1;
}
static inline void ms_mb_bit_set(uint8_t *bits, size_t i, bool on)
{
    if (on)
        bits[i >> 3] = (uint8_t)(bits[i >> 3] | (1u << (i & 7)));
    else
        bits[i >> 3] = (uint8_t)(bits[i >> 3] & ~(1u << (i & 7)));
}
/* Bytes that n packed bits take. */
static inline size_t ms_mb_bits_bytes(size_t n)
{
    return (n + 7) / 8;
}
/* Packs n bools into ceil(n/8) bytes, unused high bits of the last byte 0. */
MS_EXTERN void ms_mb_bits_pack(uint8_t *out, const bool *in, size_t n);
MS_EXTERN void ms_mb_bits_unpack(bool *out, const uint8_t *in, size_t n);

/* Register i of big-endian register bytes. */
static inline uint16_t ms_mb_reg_get(const uint8_t *regs, size_t i)
{
    return (uint16_t)((regs[2 * i] << 8) | regs[2 * i + 1]);
}
static inline void ms_mb_reg_set(uint8_t *regs, size_t i, uint16_t v)
{
    regs[2 * i] = (uint8_t)(v >> 8);
    regs[2 * i + 1] = (uint8_t)v;
}
MS_EXTERN void ms_mb_regs_load(uint16_t *out, const uint8_t *in, size_t n);
MS_EXTERN void ms_mb_regs_store(uint8_t *out, const uint16_t *in, size_t n);

/* Order of the 16-bit words of a 32/64-bit value in consecutive registers.
 * Bytes within a register are always big-endian. BIG ("ABCD") puts the most
 * significant word first (libmodbus, pymscada of 2024, docs/design.md §8); LITTLE
 * ("CDAB") the least significant word first. */
typedef enum { MS_MB_WORDS_BIG = 0, MS_MB_WORDS_LITTLE = 1 } ms_mb_word_order;

/* Values from/to host-order registers (uint16_t arrays). */
MS_EXTERN uint32_t ms_mb_u32_get(const uint16_t *regs, ms_mb_word_order o);
MS_EXTERN void ms_mb_u32_set(uint16_t *regs, uint32_t v, ms_mb_word_order o);
MS_EXTERN uint64_t ms_mb_u64_get(const uint16_t *regs, ms_mb_word_order o);
MS_EXTERN void ms_mb_u64_set(uint16_t *regs, uint64_t v, ms_mb_word_order o);
MS_EXTERN float ms_mb_f32_get(const uint16_t *regs, ms_mb_word_order o);
MS_EXTERN void ms_mb_f32_set(uint16_t *regs, float v, ms_mb_word_order o);
MS_EXTERN double ms_mb_f64_get(const uint16_t *regs, ms_mb_word_order o);
MS_EXTERN void ms_mb_f64_set(uint16_t *regs, double v, ms_mb_word_order o);

/* ---- ADU framing ------------------------------------------------------------
 * One core, several backends: the PDU codec above does not know how it is
 * carried. MBAP: tid u16, protocol 0 u16, length u16 (= 1 + PDU bytes,
 * 2..254), unit u8, PDU. RTU: unit u8, PDU, CRC-16 (low byte first); its
 * frames end where the PDU's function implies (ms_mb_pdu_length), which is
 * also what rtu-over-tcp needs. */
typedef enum { MS_MB_FRAMING_MBAP = 0, MS_MB_FRAMING_RTU = 1 } ms_mb_framing;

#define MS_MB_MBAP_HEAD 7
#define MS_MB_ADU_MAX 260 /* MBAP: 7 + 253; RTU: 1 + 253 + 2 = 256 */

/* One decoded ADU: addressing plus the PDU bytes (borrowed from the buffer).
 * tid is 0 on RTU. */
typedef struct {
    uint16_t tid;
    uint8_t unit;
    const uint8_t *pdu;
    size_t pdu_len;
} ms_mb_adu;

/* Bytes a framing puts before and after the PDU. */
MS_EXTERN size_t ms_mb_adu_head(ms_mb_framing f);
MS_EXTERN size_t ms_mb_adu_tail(ms_mb_framing f);

/* Reads one ADU from the start of a stream (len bytes at buf). Returns the
 * bytes it takes (> 0) with adu set, 0 when more bytes are needed, or
 * MS_EPROTO: MBAP protocol id != 0 or length outside 2..254; RTU with a bad
 * CRC or a function whose length can't be told. After MS_EPROTO a TCP stream
 * can't be trusted; a serial line resynchronises on silence. dir matters
 * only to RTU. */
MS_EXTERN int ms_mb_adu_decode(ms_mb_framing f, ms_mb_dir dir, const uint8_t *buf,
                     size_t len, ms_mb_adu *adu);

/* Frames a PDU already written at out + ms_mb_adu_head(f) (pdu_len bytes,
 * 1..MS_MB_PDU_MAX): writes the header and trailer around it. out must hold
 * head + pdu_len + tail bytes. Returns the ADU's length or MS_EINVAL. */
MS_EXTERN int ms_mb_adu_wrap(ms_mb_framing f, uint16_t tid, uint8_t unit, uint8_t *out,
                   size_t pdu_len);

/* Encode and frame in one go. Return the ADU's length or an error of
 * ms_mb_*_encode. */
MS_EXTERN int ms_mb_request_frame(ms_mb_framing f, uint16_t tid, uint8_t unit,
                        const ms_mb_request *req, uint8_t *out, size_t cap);
MS_EXTERN int ms_mb_response_frame(ms_mb_framing f, uint16_t tid, uint8_t unit,
                         const ms_mb_response *rsp, uint8_t *out, size_t cap);

/* CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF) of len bytes; sent low
 * byte first. */
MS_EXTERN uint16_t ms_mb_crc16(const uint8_t *p, size_t len);
/* The same CRC carried on over len more bytes from crc (ms_mb_crc16 is
 * ms_mb_crc16_add(0xFFFF, p, len)): one pass along a stream whose frame end
 * is not known yet. */
MS_EXTERN uint16_t ms_mb_crc16_add(uint16_t crc, const uint8_t *p,
                                   size_t len);

#ifdef __cplusplus
}
#endif
#endif
