/* A Modbus server's answers from block memory: one request PDU in, one
 * response PDU out. Pure (no I/O), so the fuzzer drives it directly. */
#include <string.h>

#include "mscada/error.h"
#include "mscada/mbserver.h"

#ifndef MSCADA_VERSION
#define MSCADA_VERSION "0"
#endif

static int exception(uint8_t fc, uint8_t exc, uint8_t *out)
{
    out[0] = (uint8_t)(fc | 0x80);
    out[1] = exc;
    return 2;
}

static void notify(const ms_mb_handler *h, uint8_t unit, ms_mb_file f,
                   uint16_t addr, uint16_t count)
{
    if (h->on_write)
        h->on_write(unit, f, addr, count, h->arg);
}

/* FC1/FC2: bits straight into the response. */
static int read_bits(const ms_mb_request *q, const uint8_t *bits, uint8_t *out)
{
    size_t nb = ms_mb_bits_bytes(q->count);
    out[0] = q->fc;
    out[1] = (uint8_t)nb;
    memset(out + 2, 0, nb);
    for (size_t i = 0; i < q->count; i++)
        if (bits[i])
            out[2 + (i >> 3)] |= (uint8_t)(1u << (i & 7));
    return (int)(2 + nb);
}

/* FC3/FC4/FC23's read: registers into the response, big-endian. */
static int read_regs(uint8_t fc, const uint16_t *regs, uint16_t count,
                     uint8_t *out)
{
    out[0] = fc;
    out[1] = (uint8_t)(2 * count);
    ms_mb_regs_store(out + 2, regs, count);
    return 2 + 2 * count;
}

/* An echo of the request's first five bytes (FC5, 6, 15, 16 answer so). */
static int echo5(const uint8_t *pdu, uint8_t *out)
{
    memcpy(out, pdu, 5);
    return 5;
}

/* ---- FC43/14 read device identification ------------------------------------ */

typedef struct {
    uint8_t id;
    const char *value;
} devobj;

static size_t devid_objects(const ms_mb_handler *h, devobj *objs)
{
    size_t n = 0;
    objs[n++] = (devobj){0, h->vendor ? h->vendor : "mscada"};
    objs[n++] = (devobj){1, h->product_code ? h->product_code
                                            : "mscada-modbusserver"};
    objs[n++] = (devobj){2, h->version ? h->version : MSCADA_VERSION};
    objs[n++] = (devobj){4, h->product_name ? h->product_name
                                            : "mscada modbusserver"};
    return n;
}

static int devid(const ms_mb_handler *h, const ms_mb_request *q, uint8_t *out)
{
    devobj objs[8];
    size_t n = devid_objects(h, objs);
    /* Stream access: basic is objects 0-2, regular 0-0x7F, extended all. */
    uint8_t last = q->dev_code == MS_MB_DEVID_BASIC ? 2
                   : q->dev_code == MS_MB_DEVID_REGULAR ? 0x7F : 0xFF;
    uint8_t list[MS_MB_PDU_MAX];
    size_t used = 0, cap = MS_MB_PDU_MAX - 7;
    ms_mb_response r;
    memset(&r, 0, sizeof r);
    r.fc = MS_MB_ENCAPSULATED;
    r.mei = MS_MB_MEI_DEVICE_ID;
    r.dev_code = q->dev_code;
    r.conformity = 0x82; /* regular identification, stream and individual */
    if (q->dev_code == MS_MB_DEVID_SPECIFIC) {
        size_t i = 0;
        while (i < n && objs[i].id != q->object_id)
            i++;
        if (i == n)
            return exception(q->fc, MS_MB_EX_ILLEGAL_DATA_ADDRESS, out);
        size_t len = strlen(objs[i].value);
        ms_mb_devid_put(list, cap, &used, objs[i].id, objs[i].value,
                        (uint8_t)(len > 200 ? 200 : len));
        r.nobjects = 1;
    } else {
        /* An object id outside the category, or one we lack, restarts the
         * stream at object 0, as the spec asks. */
        uint8_t from = q->object_id;
        bool known = false;
        for (size_t i = 0; i < n; i++)
            known |= objs[i].id == from;
        if (!known || from > last)
            from = 0;
        for (size_t i = 0; i < n; i++) {
            if (objs[i].id < from || objs[i].id > last)
                continue;
            size_t len = strlen(objs[i].value);
            if (len > 200)
                len = 200;
            if (ms_mb_devid_put(list, cap, &used, objs[i].id, objs[i].value,
                                (uint8_t)len) < 0) {
                r.more_follows = 0xFF;
                r.next_object_id = objs[i].id;
                break;
            }
            r.nobjects++;
        }
    }
    r.data = list;
    r.nbytes = used;
    int len = ms_mb_response_encode(&r, out, MS_MB_PDU_MAX);
    return len > 0 ? len
                   : exception(q->fc, MS_MB_EX_SERVER_DEVICE_FAILURE, out);
}

/* ---- FC17 report server id ------------------------------------------------- */

/* The id, then the run indicator, and no additional data: the layout that
 * libmodbus and mbpoll (one id byte, then the run indicator) and pymodbus
 * (the run indicator last) all read right. */
static int report_server_id(const ms_mb_handler *h, uint8_t unit,
                            uint8_t *out)
{
    const uint8_t *id = h->server_id;
    size_t n = h->server_id_len;
    if (!id) {
        id = &unit;
        n = 1;
    }
    if (n > MS_MB_MAX_SERVER_ID)
        n = MS_MB_MAX_SERVER_ID;
    out[0] = MS_MB_REPORT_SERVER_ID;
    out[1] = (uint8_t)(n + 1);
    if (n)
        memcpy(out + 2, id, n);
    out[2 + n] = h->run_off ? MS_MB_RUN_OFF : MS_MB_RUN_ON;
    return (int)(n + 3);
}

/* ---- the dispatcher ------------------------------------------------------- */

/* Units 0 and 255 as "this device" (unit_any): the lowest unit with
 * memory, unless they have memory of their own. */
static uint8_t this_unit(const ms_mb_handler *h, uint8_t unit)
{
    if (!h->unit_any || (unit != 0 && unit != 255) ||
        ms_mb_mem_has_unit(h->mem, unit))
        return unit;
    for (unsigned u = 1; u < 255; u++)
        if (ms_mb_mem_has_unit(h->mem, (uint8_t)u))
            return (uint8_t)u;
    return unit;
}

static int serve(const ms_mb_handler *h, uint8_t unit, const uint8_t *pdu,
                 size_t len, uint8_t *out)
{
    ms_mb_request q;
    int rc = ms_mb_request_decode(pdu, len, &q);
    if (rc == MS_EPROTO || len == 0)
        return MS_EPROTO;
    unit = this_unit(h, unit);
    if (!ms_mb_mem_has_unit(h->mem, unit))
        return exception(pdu[0], MS_MB_EX_GATEWAY_TARGET_FAILED, out);
    if (rc < 0)
        return exception(pdu[0], ms_mb_err_exc(rc), out);
    const ms_mb_mem *m = h->mem;
    uint16_t *regs = NULL;
    uint8_t *bits = NULL;
    int exc = 0;
    switch (q.fc) {
    case MS_MB_READ_COILS:
    case MS_MB_READ_DISCRETE_INPUTS:
        exc = ms_mb_mem_lookup(m, unit,
                               q.fc == MS_MB_READ_COILS ? MS_MB_COILS
                                                        : MS_MB_DISCRETE_INPUTS,
                               q.addr, q.count, NULL, &bits);
        return exc ? exception(q.fc, (uint8_t)exc, out)
                   : read_bits(&q, bits, out);
    case MS_MB_READ_HOLDING_REGISTERS:
    case MS_MB_READ_INPUT_REGISTERS:
        exc = ms_mb_mem_lookup(m, unit,
                               q.fc == MS_MB_READ_HOLDING_REGISTERS
                                   ? MS_MB_HOLDING_REGISTERS
                                   : MS_MB_INPUT_REGISTERS,
                               q.addr, q.count, &regs, NULL);
        return exc ? exception(q.fc, (uint8_t)exc, out)
                   : read_regs(q.fc, regs, q.count, out);
    case MS_MB_WRITE_SINGLE_COIL:
        exc = ms_mb_mem_lookup(m, unit, MS_MB_COILS, q.addr, 1, NULL, &bits);
        if (exc)
            return exception(q.fc, (uint8_t)exc, out);
        bits[0] = q.value != 0;
        notify(h, unit, MS_MB_COILS, q.addr, 1);
        return echo5(pdu, out);
    case MS_MB_WRITE_SINGLE_REGISTER:
        exc = ms_mb_mem_lookup(m, unit, MS_MB_HOLDING_REGISTERS, q.addr, 1,
                               &regs, NULL);
        if (exc)
            return exception(q.fc, (uint8_t)exc, out);
        regs[0] = q.value;
        notify(h, unit, MS_MB_HOLDING_REGISTERS, q.addr, 1);
        return echo5(pdu, out);
    case MS_MB_WRITE_MULTIPLE_COILS:
        exc = ms_mb_mem_lookup(m, unit, MS_MB_COILS, q.addr, q.count, NULL,
                               &bits);
        if (exc)
            return exception(q.fc, (uint8_t)exc, out);
        for (size_t i = 0; i < q.count; i++)
            bits[i] = ms_mb_bit_get(q.data, i);
        notify(h, unit, MS_MB_COILS, q.addr, q.count);
        return echo5(pdu, out);
    case MS_MB_WRITE_MULTIPLE_REGISTERS:
        exc = ms_mb_mem_lookup(m, unit, MS_MB_HOLDING_REGISTERS, q.addr,
                               q.count, &regs, NULL);
        if (exc)
            return exception(q.fc, (uint8_t)exc, out);
        ms_mb_regs_load(regs, q.data, q.count);
        notify(h, unit, MS_MB_HOLDING_REGISTERS, q.addr, q.count);
        return echo5(pdu, out);
    case MS_MB_MASK_WRITE_REGISTER:
        exc = ms_mb_mem_lookup(m, unit, MS_MB_HOLDING_REGISTERS, q.addr, 1,
                               &regs, NULL);
        if (exc)
            return exception(q.fc, (uint8_t)exc, out);
        regs[0] = (uint16_t)((regs[0] & q.and_mask) |
                             (q.or_mask & (uint16_t)~q.and_mask));
        notify(h, unit, MS_MB_HOLDING_REGISTERS, q.addr, 1);
        memcpy(out, pdu, 7);
        return 7;
    case MS_MB_READ_WRITE_REGISTERS: {
        uint16_t *wregs;
        /* Both ranges are checked before anything is written. */
        exc = ms_mb_mem_lookup(m, unit, MS_MB_HOLDING_REGISTERS, q.waddr,
                               q.wcount, &wregs, NULL);
        if (!exc)
            exc = ms_mb_mem_lookup(m, unit, MS_MB_HOLDING_REGISTERS, q.addr,
                                   q.count, &regs, NULL);
        if (exc)
            return exception(q.fc, (uint8_t)exc, out);
        ms_mb_regs_load(wregs, q.data, q.wcount); /* the write goes first */
        notify(h, unit, MS_MB_HOLDING_REGISTERS, q.waddr, q.wcount);
        return read_regs(q.fc, regs, q.count, out);
    }
    case MS_MB_ENCAPSULATED:
        return devid(h, &q, out);
    case MS_MB_REPORT_SERVER_ID:
        return report_server_id(h, unit, out);
    default:
        return exception(q.fc, MS_MB_EX_ILLEGAL_FUNCTION, out);
    }
}

int ms_mb_serve_pdu(const ms_mb_handler *h, uint8_t unit, const uint8_t *pdu,
                    size_t len, uint8_t *out)
{
    if (h->guard)
        h->guard(true, h->arg);
    int n = serve(h, unit, pdu, len, out);
    if (h->guard)
        h->guard(false, h->arg);
    return n;
}
