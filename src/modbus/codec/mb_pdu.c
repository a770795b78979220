/* Modbus PDU codec: requests and responses of the supported functions, the
 * spec's quantity limits (checked the same way on encode and decode, so that
 * whatever decodes re-encodes to the same bytes), and the length of a PDU
 * from its first bytes. Pure. */
#include <string.h>

#include "mscada/error.h"
#include "mscada/modbus.h"
#include "mscada/value.h"

/* ---- shared checks ---------------------------------------------------------
 * They return 0 or the exception a server would answer: decode reports it as
 * such, encode turns it into MS_EINVAL / MS_ERANGE. */

/* start .. start + n - 1 must stay inside the 16-bit address space. */
static bool range_ok(uint16_t start, uint32_t n)
{
    return (uint32_t)start + n <= 0x10000;
}

static int check_quantity(uint16_t addr, uint16_t n, uint16_t max)
{
    if (n < 1 || n > max)
        return MS_MB_EX_ILLEGAL_DATA_VALUE;
    if (!range_ok(addr, n))
        return MS_MB_EX_ILLEGAL_DATA_ADDRESS;
    return 0;
}

static int check_request(const ms_mb_request *q)
{
    int ex;
    switch (q->fc) {
    case MS_MB_READ_COILS:
    case MS_MB_READ_DISCRETE_INPUTS:
        return check_quantity(q->addr, q->count, MS_MB_MAX_READ_BITS);
    case MS_MB_READ_HOLDING_REGISTERS:
    case MS_MB_READ_INPUT_REGISTERS:
        return check_quantity(q->addr, q->count, MS_MB_MAX_READ_REGS);
    case MS_MB_WRITE_SINGLE_COIL:
    case MS_MB_WRITE_SINGLE_REGISTER:
    case MS_MB_MASK_WRITE_REGISTER:
    case MS_MB_REPORT_SERVER_ID:
        return 0;
    case MS_MB_WRITE_MULTIPLE_COILS:
        return check_quantity(q->addr, q->count, MS_MB_MAX_WRITE_BITS);
    case MS_MB_WRITE_MULTIPLE_REGISTERS:
        return check_quantity(q->addr, q->count, MS_MB_MAX_WRITE_REGS);
    case MS_MB_READ_WRITE_REGISTERS:
        /* Both quantities first (exception 3), then both ranges (2). */
        if (q->count < 1 || q->count > MS_MB_MAX_READ_REGS ||
            q->wcount < 1 || q->wcount > MS_MB_MAX_RW_WRITE_REGS)
            return MS_MB_EX_ILLEGAL_DATA_VALUE;
        ex = check_quantity(q->waddr, q->wcount, MS_MB_MAX_RW_WRITE_REGS);
        if (ex)
            return ex;
        return check_quantity(q->addr, q->count, MS_MB_MAX_READ_REGS);
    case MS_MB_ENCAPSULATED:
        if (q->mei != MS_MB_MEI_DEVICE_ID)
            return MS_MB_EX_ILLEGAL_FUNCTION;
        if (q->dev_code < MS_MB_DEVID_BASIC || q->dev_code > MS_MB_DEVID_SPECIFIC)
            return MS_MB_EX_ILLEGAL_DATA_VALUE;
        return 0;
    default:
        return MS_MB_EX_ILLEGAL_FUNCTION;
    }
}

/* Walks an object list: nobj entries must fill exactly n bytes. */
static bool devid_list_ok(const uint8_t *p, size_t n, unsigned nobj)
{
    size_t off = 0;
    for (unsigned i = 0; i < nobj; i++) {
        if (n - off < 2 || n - off - 2 < p[off + 1])
            return false;
        off += 2 + (size_t)p[off + 1];
    }
    return off == n;
}

/* 0 when rsp (not an exception) is well formed, else MS_EPROTO/MS_EINVAL. */
static int check_response(const ms_mb_response *r)
{
    size_t n = r->nbytes;
    switch (r->fc) {
    case MS_MB_READ_COILS:
    case MS_MB_READ_DISCRETE_INPUTS:
        return n >= 1 && n <= ms_mb_bits_bytes(MS_MB_MAX_READ_BITS)
                   ? 0
                   : MS_EPROTO;
    case MS_MB_READ_HOLDING_REGISTERS:
    case MS_MB_READ_INPUT_REGISTERS:
    case MS_MB_READ_WRITE_REGISTERS:
        return n >= 2 && n <= 2 * MS_MB_MAX_READ_REGS && n % 2 == 0
                   ? 0
                   : MS_EPROTO;
    case MS_MB_WRITE_SINGLE_COIL:
    case MS_MB_WRITE_SINGLE_REGISTER:
    case MS_MB_MASK_WRITE_REGISTER:
        return 0;
    case MS_MB_REPORT_SERVER_ID:
        /* At least the run indicator; the byte count must fit the PDU. */
        return n >= 1 && n <= MS_MB_PDU_MAX - 2 ? 0 : MS_EPROTO;
    case MS_MB_WRITE_MULTIPLE_COILS:
        return check_quantity(r->addr, r->count, MS_MB_MAX_WRITE_BITS)
                   ? MS_EPROTO
                   : 0;
    case MS_MB_WRITE_MULTIPLE_REGISTERS:
        return check_quantity(r->addr, r->count, MS_MB_MAX_WRITE_REGS)
                   ? MS_EPROTO
                   : 0;
    case MS_MB_ENCAPSULATED:
        if (r->mei != MS_MB_MEI_DEVICE_ID)
            return MS_EINVAL;
        if (r->dev_code < MS_MB_DEVID_BASIC ||
            r->dev_code > MS_MB_DEVID_SPECIFIC ||
            (r->more_follows != 0 && r->more_follows != 0xFF))
            return MS_EPROTO;
        if (n > MS_MB_PDU_MAX - 7 || (n && !r->data) ||
            !devid_list_ok(r->data, n, r->nobjects))
            return MS_EPROTO;
        return 0;
    default:
        return MS_EINVAL;
    }
}

/* ---- requests -------------------------------------------------------------- */

int ms_mb_request_encode(const ms_mb_request *q, uint8_t *out, size_t cap)
{
    int ex = check_request(q);
    if (ex == MS_MB_EX_ILLEGAL_FUNCTION)
        return MS_EINVAL;
    if (ex)
        return MS_ERANGE;
    size_t nd = 0; /* payload bytes after the fixed part */
    size_t fixed;
    switch (q->fc) {
    case MS_MB_WRITE_MULTIPLE_COILS:
        nd = ms_mb_bits_bytes(q->count);
        fixed = 6;
        break;
    case MS_MB_WRITE_MULTIPLE_REGISTERS:
        nd = 2u * q->count;
        fixed = 6;
        break;
    case MS_MB_MASK_WRITE_REGISTER:
        fixed = 7;
        break;
    case MS_MB_READ_WRITE_REGISTERS:
        nd = 2u * q->wcount;
        fixed = 10;
        break;
    case MS_MB_ENCAPSULATED:
        fixed = 4;
        break;
    case MS_MB_REPORT_SERVER_ID:
        fixed = 1;
        break;
    default:
        fixed = 5;
        break;
    }
    if (nd && !q->data)
        return MS_EINVAL;
    if (cap < fixed + nd)
        return MS_ETOOBIG;
    out[0] = q->fc;
    switch (q->fc) {
    case MS_MB_WRITE_SINGLE_COIL:
        ms_put_u16(out + 1, q->addr);
        ms_put_u16(out + 3, q->value ? MS_MB_COIL_ON : 0);
        break;
    case MS_MB_WRITE_SINGLE_REGISTER:
        ms_put_u16(out + 1, q->addr);
        ms_put_u16(out + 3, q->value);
        break;
    case MS_MB_MASK_WRITE_REGISTER:
        ms_put_u16(out + 1, q->addr);
        ms_put_u16(out + 3, q->and_mask);
        ms_put_u16(out + 5, q->or_mask);
        break;
    case MS_MB_READ_WRITE_REGISTERS:
        ms_put_u16(out + 1, q->addr);
        ms_put_u16(out + 3, q->count);
        ms_put_u16(out + 5, q->waddr);
        ms_put_u16(out + 7, q->wcount);
        out[9] = (uint8_t)nd;
        memcpy(out + 10, q->data, nd);
        break;
    case MS_MB_ENCAPSULATED:
        out[1] = q->mei;
        out[2] = q->dev_code;
        out[3] = q->object_id;
        break;
    case MS_MB_REPORT_SERVER_ID:
        break;
    default: /* 1-4, 15, 16: address and quantity */
        ms_put_u16(out + 1, q->addr);
        ms_put_u16(out + 3, q->count);
        if (fixed == 6) {
            out[5] = (uint8_t)nd;
            memcpy(out + 6, q->data, nd);
        }
        break;
    }
    return (int)(fixed + nd);
}

int ms_mb_request_decode(const uint8_t *pdu, size_t len, ms_mb_request *q)
{
    memset(q, 0, sizeof *q);
    if (len == 0)
        return MS_EPROTO;
    uint8_t fc = pdu[0];
    q->fc = fc;
    /* 0 and 128-255 are no functions: there is no exception to answer. */
    if (fc == 0 || (fc & 0x80))
        return MS_EPROTO;
    size_t want; /* the length the function and byte count imply */
    size_t nbytes = 0, expect = 0;
    switch (fc) {
    case MS_MB_READ_COILS:
    case MS_MB_READ_DISCRETE_INPUTS:
    case MS_MB_READ_HOLDING_REGISTERS:
    case MS_MB_READ_INPUT_REGISTERS:
    case MS_MB_WRITE_SINGLE_COIL:
    case MS_MB_WRITE_SINGLE_REGISTER:
        want = 5;
        break;
    case MS_MB_MASK_WRITE_REGISTER:
        want = 7;
        break;
    case MS_MB_REPORT_SERVER_ID:
        want = 1;
        break;
    case MS_MB_WRITE_MULTIPLE_COILS:
    case MS_MB_WRITE_MULTIPLE_REGISTERS:
        if (len < 6)
            return ms_mb_exc_err(fc, MS_MB_EX_ILLEGAL_DATA_VALUE);
        nbytes = pdu[5];
        want = 6 + nbytes;
        break;
    case MS_MB_READ_WRITE_REGISTERS:
        if (len < 10)
            return ms_mb_exc_err(fc, MS_MB_EX_ILLEGAL_DATA_VALUE);
        nbytes = pdu[9];
        want = 10 + nbytes;
        break;
    case MS_MB_ENCAPSULATED:
        if (len < 2)
            return ms_mb_exc_err(fc, MS_MB_EX_ILLEGAL_DATA_VALUE);
        q->mei = pdu[1];
        if (q->mei != MS_MB_MEI_DEVICE_ID)
            return ms_mb_exc_err(fc, MS_MB_EX_ILLEGAL_FUNCTION);
        want = 4;
        break;
    default:
        return ms_mb_exc_err(fc, MS_MB_EX_ILLEGAL_FUNCTION);
    }
    if (len != want)
        return ms_mb_exc_err(fc, MS_MB_EX_ILLEGAL_DATA_VALUE);

    switch (fc) {
    case MS_MB_WRITE_SINGLE_COIL: {
        q->addr = ms_get_u16(pdu + 1);
        uint16_t v = ms_get_u16(pdu + 3);
        if (v != 0 && v != MS_MB_COIL_ON)
            return ms_mb_exc_err(fc, MS_MB_EX_ILLEGAL_DATA_VALUE);
        q->value = v ? 1 : 0;
        break;
    }
    case MS_MB_WRITE_SINGLE_REGISTER:
        q->addr = ms_get_u16(pdu + 1);
        q->value = ms_get_u16(pdu + 3);
        break;
    case MS_MB_MASK_WRITE_REGISTER:
        q->addr = ms_get_u16(pdu + 1);
        q->and_mask = ms_get_u16(pdu + 3);
        q->or_mask = ms_get_u16(pdu + 5);
        break;
    case MS_MB_READ_WRITE_REGISTERS:
        q->addr = ms_get_u16(pdu + 1);
        q->count = ms_get_u16(pdu + 3);
        q->waddr = ms_get_u16(pdu + 5);
        q->wcount = ms_get_u16(pdu + 7);
        q->data = pdu + 10;
        expect = 2u * q->wcount;
        break;
    case MS_MB_ENCAPSULATED:
        q->dev_code = pdu[2];
        q->object_id = pdu[3];
        break;
    case MS_MB_REPORT_SERVER_ID:
        break;
    default:
        q->addr = ms_get_u16(pdu + 1);
        q->count = ms_get_u16(pdu + 3);
        if (fc == MS_MB_WRITE_MULTIPLE_COILS)
            expect = ms_mb_bits_bytes(q->count);
        else if (fc == MS_MB_WRITE_MULTIPLE_REGISTERS)
            expect = 2u * q->count;
        if (fc == MS_MB_WRITE_MULTIPLE_COILS ||
            fc == MS_MB_WRITE_MULTIPLE_REGISTERS)
            q->data = pdu + 6;
        break;
    }
    int ex = check_request(q);
    /* The spec checks quantity and byte count together (exception 3)
     * before the address range (2). */
    if (ex != MS_MB_EX_ILLEGAL_DATA_VALUE && nbytes != expect)
        ex = MS_MB_EX_ILLEGAL_DATA_VALUE;
    return ex ? ms_mb_exc_err(fc, (uint8_t)ex) : 0;
}

/* ---- responses ------------------------------------------------------------- */

int ms_mb_response_encode(const ms_mb_response *r, uint8_t *out, size_t cap)
{
    if (r->exception) {
        if (r->fc == 0 || r->fc > 0x7f)
            return MS_EINVAL;
        if (cap < 2)
            return MS_ETOOBIG;
        out[0] = (uint8_t)(r->fc | 0x80);
        out[1] = r->exception;
        return 2;
    }
    int rc = check_response(r);
    if (rc == MS_EPROTO)
        return MS_ERANGE;
    if (rc)
        return rc;
    size_t n = 0, fixed;
    switch (r->fc) {
    case MS_MB_READ_COILS:
    case MS_MB_READ_DISCRETE_INPUTS:
    case MS_MB_READ_HOLDING_REGISTERS:
    case MS_MB_READ_INPUT_REGISTERS:
    case MS_MB_READ_WRITE_REGISTERS:
    case MS_MB_REPORT_SERVER_ID:
        n = r->nbytes;
        fixed = 2;
        break;
    case MS_MB_MASK_WRITE_REGISTER:
        fixed = 7;
        break;
    case MS_MB_ENCAPSULATED:
        n = r->nbytes;
        fixed = 7;
        break;
    default:
        fixed = 5;
        break;
    }
    if (n && !r->data)
        return MS_EINVAL;
    if (cap < fixed + n)
        return MS_ETOOBIG;
    out[0] = r->fc;
    switch (r->fc) {
    case MS_MB_WRITE_SINGLE_COIL:
        ms_put_u16(out + 1, r->addr);
        ms_put_u16(out + 3, r->value ? MS_MB_COIL_ON : 0);
        break;
    case MS_MB_WRITE_SINGLE_REGISTER:
        ms_put_u16(out + 1, r->addr);
        ms_put_u16(out + 3, r->value);
        break;
    case MS_MB_WRITE_MULTIPLE_COILS:
    case MS_MB_WRITE_MULTIPLE_REGISTERS:
        ms_put_u16(out + 1, r->addr);
        ms_put_u16(out + 3, r->count);
        break;
    case MS_MB_MASK_WRITE_REGISTER:
        ms_put_u16(out + 1, r->addr);
        ms_put_u16(out + 3, r->and_mask);
        ms_put_u16(out + 5, r->or_mask);
        break;
    case MS_MB_ENCAPSULATED:
        out[1] = r->mei;
        out[2] = r->dev_code;
        out[3] = r->conformity;
        out[4] = r->more_follows;
        out[5] = r->next_object_id;
        out[6] = r->nobjects;
        if (n)
            memcpy(out + 7, r->data, n);
        break;
    default: /* reads and FC17: byte count and data */
        out[1] = (uint8_t)n;
        memcpy(out + 2, r->data, n);
        break;
    }
    return (int)(fixed + n);
}

int ms_mb_response_decode(const uint8_t *pdu, size_t len, ms_mb_response *r)
{
    memset(r, 0, sizeof *r);
    if (len == 0 || len > MS_MB_PDU_MAX)
        return MS_EPROTO;
    uint8_t fc = pdu[0];
    r->fc = fc & 0x7f;
    if (fc & 0x80) {
        /* Function code 0 does not exist, nor exception 0 (which would
         * read as "no exception"). */
        if (len != 2 || r->fc == 0 || pdu[1] == 0)
            return MS_EPROTO;
        r->exception = pdu[1];
        return ms_mb_exc_err(r->fc, r->exception);
    }
    switch (fc) {
    case MS_MB_READ_COILS:
    case MS_MB_READ_DISCRETE_INPUTS:
    case MS_MB_READ_HOLDING_REGISTERS:
    case MS_MB_READ_INPUT_REGISTERS:
    case MS_MB_READ_WRITE_REGISTERS:
    case MS_MB_REPORT_SERVER_ID:
        if (len < 2 || len != 2 + (size_t)pdu[1])
            return MS_EPROTO;
        r->nbytes = pdu[1];
        r->data = pdu + 2;
        break;
    case MS_MB_WRITE_SINGLE_COIL: {
        if (len != 5)
            return MS_EPROTO;
        r->addr = ms_get_u16(pdu + 1);
        uint16_t v = ms_get_u16(pdu + 3);
        if (v != 0 && v != MS_MB_COIL_ON)
            return MS_EPROTO;
        r->value = v ? 1 : 0;
        break;
    }
    case MS_MB_WRITE_SINGLE_REGISTER:
        if (len != 5)
            return MS_EPROTO;
        r->addr = ms_get_u16(pdu + 1);
        r->value = ms_get_u16(pdu + 3);
        break;
    case MS_MB_WRITE_MULTIPLE_COILS:
    case MS_MB_WRITE_MULTIPLE_REGISTERS:
        if (len != 5)
            return MS_EPROTO;
        r->addr = ms_get_u16(pdu + 1);
        r->count = ms_get_u16(pdu + 3);
        break;
    case MS_MB_MASK_WRITE_REGISTER:
        if (len != 7)
            return MS_EPROTO;
        r->addr = ms_get_u16(pdu + 1);
        r->and_mask = ms_get_u16(pdu + 3);
        r->or_mask = ms_get_u16(pdu + 5);
        break;
    case MS_MB_ENCAPSULATED:
        if (len < 7)
            return MS_EPROTO;
        r->mei = pdu[1];
        r->dev_code = pdu[2];
        r->conformity = pdu[3];
        r->more_follows = pdu[4];
        r->next_object_id = pdu[5];
        r->nobjects = pdu[6];
        r->nbytes = len - 7;
        r->data = r->nbytes ? pdu + 7 : NULL;
        break;
    default:
        return MS_EPROTO;
    }
    int rc = check_response(r);
    return rc ? MS_EPROTO : 0;
}

int ms_mb_response_match(const ms_mb_request *q, const ms_mb_response *r)
{
    if (r->fc != q->fc)
        return MS_EPROTO;
    if (r->exception)
        return ms_mb_exc_err(r->fc, r->exception);
    bool ok;
    switch (q->fc) {
    case MS_MB_READ_COILS:
    case MS_MB_READ_DISCRETE_INPUTS:
        ok = r->nbytes == ms_mb_bits_bytes(q->count);
        break;
    case MS_MB_READ_HOLDING_REGISTERS:
    case MS_MB_READ_INPUT_REGISTERS:
    case MS_MB_READ_WRITE_REGISTERS:
        ok = r->nbytes == 2u * q->count;
        break;
    case MS_MB_WRITE_SINGLE_COIL:
        ok = r->addr == q->addr && !r->value == !q->value;
        break;
    case MS_MB_WRITE_SINGLE_REGISTER:
        ok = r->addr == q->addr && r->value == q->value;
        break;
    case MS_MB_WRITE_MULTIPLE_COILS:
    case MS_MB_WRITE_MULTIPLE_REGISTERS:
        ok = r->addr == q->addr && r->count == q->count;
        break;
    case MS_MB_MASK_WRITE_REGISTER:
        ok = r->addr == q->addr && r->and_mask == q->and_mask &&
             r->or_mask == q->or_mask;
        break;
    case MS_MB_ENCAPSULATED:
        ok = r->mei == q->mei && r->dev_code == q->dev_code;
        break;
    case MS_MB_REPORT_SERVER_ID:
        ok = true; /* nothing in the request to echo */
        break;
    default:
        ok = false;
        break;
    }
    return ok ? 0 : MS_EPROTO;
}

/* ---- lengths --------------------------------------------------------------- */

/* A FC43/14 response: 7 fixed bytes, then (id, len, value) objects. */
static int devid_length(const uint8_t *p, size_t len)
{
    if (len < 2)
        return 0;
    if (p[1] != MS_MB_MEI_DEVICE_ID)
        return MS_EPROTO;
    if (len < 7)
        return 0;
    size_t off = 7;
    for (unsigned i = 0; i < p[6]; i++) {
        if (off + 2 > len)
            return off + 2 > MS_MB_PDU_MAX ? MS_EPROTO : 0;
        off += 2 + (size_t)p[off + 1];
        if (off > MS_MB_PDU_MAX)
            return MS_EPROTO;
    }
    return (int)off;
}

int ms_mb_pdu_length(ms_mb_dir dir, const uint8_t *p, size_t len)
{
    if (len == 0)
        return 0;
    uint8_t fc = p[0];
    size_t n;
    if (dir == MS_MB_RESPONSE && (fc & 0x80))
        return 2;
    switch (fc) {
    case MS_MB_READ_COILS:
    case MS_MB_READ_DISCRETE_INPUTS:
    case MS_MB_READ_HOLDING_REGISTERS:
    case MS_MB_READ_INPUT_REGISTERS:
        if (dir == MS_MB_REQUEST)
            return 5;
        if (len < 2)
            return 0;
        n = 2 + (size_t)p[1];
        break;
    case MS_MB_WRITE_SINGLE_COIL:
    case MS_MB_WRITE_SINGLE_REGISTER:
        return 5;
    case MS_MB_WRITE_MULTIPLE_COILS:
    case MS_MB_WRITE_MULTIPLE_REGISTERS:
        if (dir == MS_MB_RESPONSE)
            return 5;
        if (len < 6)
            return 0;
        n = 6 + (size_t)p[5];
        break;
    case MS_MB_MASK_WRITE_REGISTER:
        return 7;
    case MS_MB_REPORT_SERVER_ID:
        if (dir == MS_MB_REQUEST)
            return 1;
        if (len < 2)
            return 0;
        n = 2 + (size_t)p[1];
        break;
    case MS_MB_READ_WRITE_REGISTERS:
        if (dir == MS_MB_RESPONSE) {
            if (len < 2)
                return 0;
            n = 2 + (size_t)p[1];
        } else {
            if (len < 10)
                return 0;
            n = 10 + (size_t)p[9];
        }
        break;
    case MS_MB_ENCAPSULATED:
        if (dir == MS_MB_RESPONSE)
            return devid_length(p, len);
        if (len < 2)
            return 0;
        return p[1] == MS_MB_MEI_DEVICE_ID ? 4 : MS_EPROTO;
    default:
        return MS_EPROTO;
    }
    return n > MS_MB_PDU_MAX ? MS_EPROTO : (int)n;
}

/* ---- device identification objects ----------------------------------------- */

int ms_mb_devid_next(const ms_mb_response *r, size_t *off,
                     ms_mb_devid_obj *obj)
{
    size_t o = *off;
    if (o + 2 > r->nbytes)
        return 0;
    uint8_t n = r->data[o + 1];
    if (r->nbytes - o - 2 < n)
        return 0;
    obj->id = r->data[o];
    obj->len = n;
    obj->value = r->data + o + 2;
    *off = o + 2 + n;
    return 1;
}

int ms_mb_devid_put(uint8_t *buf, size_t cap, size_t *used, uint8_t id,
                    const void *value, uint8_t len)
{
    if (*used > cap || cap - *used < 2 + (size_t)len)
        return MS_ETOOBIG;
    buf[*used] = id;
    buf[*used + 1] = len;
    if (len)
        memcpy(buf + *used + 2, value, len);
    *used += 2 + (size_t)len;
    return 0;
}
