/* Modbus ADUs: the framing-independent entry points, which hand the work to
 * the backend (mb_mbap.c, mb_rtu.c) named by ms_mb_framing. */
#include "modbus/codec/mb_framing.h"
#include "mscada/error.h"
#include "mscada/modbus.h"

static const ms_mb_framer *framer(ms_mb_framing f)
{
    switch (f) {
    case MS_MB_FRAMING_MBAP: return &ms_mb_framer_mbap;
    case MS_MB_FRAMING_RTU: return &ms_mb_framer_rtu;
    default: return NULL;
    }
}

size_t ms_mb_adu_head(ms_mb_framing f)
{
    const ms_mb_framer *fr = framer(f);
    return fr ? fr->head : 0;
}

size_t ms_mb_adu_tail(ms_mb_framing f)
{
    const ms_mb_framer *fr = framer(f);
    return fr ? fr->tail : 0;
}

int ms_mb_adu_decode(ms_mb_framing f, ms_mb_dir dir, const uint8_t *buf,
                     size_t len, ms_mb_adu *adu)
{
    const ms_mb_framer *fr = framer(f);
    if (!fr)
        return MS_EINVAL;
    return fr->decode(dir, buf, len, adu);
}

int ms_mb_adu_wrap(ms_mb_framing f, uint16_t tid, uint8_t unit, uint8_t *out,
                   size_t pdu_len)
{
    const ms_mb_framer *fr = framer(f);
    if (!fr || pdu_len < 1 || pdu_len > MS_MB_PDU_MAX)
        return MS_EINVAL;
    fr->wrap(tid, unit, out, pdu_len);
    return (int)(fr->head + pdu_len + fr->tail);
}

/* The PDU is encoded in place, so framing costs no copy. */
int ms_mb_request_frame(ms_mb_framing f, uint16_t tid, uint8_t unit,
                        const ms_mb_request *req, uint8_t *out, size_t cap)
{
    const ms_mb_framer *fr = framer(f);
    if (!fr)
        return MS_EINVAL;
    if (cap < fr->head + fr->tail)
        return MS_ETOOBIG;
    int n = ms_mb_request_encode(req, out + fr->head,
                                 cap - fr->head - fr->tail);
    return n < 0 ? n : ms_mb_adu_wrap(f, tid, unit, out, (size_t)n);
}

int ms_mb_response_frame(ms_mb_framing f, uint16_t tid, uint8_t unit,
                         const ms_mb_response *rsp, uint8_t *out, size_t cap)
{
    const ms_mb_framer *fr = framer(f);
    if (!fr)
        return MS_EINVAL;
    if (cap < fr->head + fr->tail)
        return MS_ETOOBIG;
    int n = ms_mb_response_encode(rsp, out + fr->head,
                                  cap - fr->head - fr->tail);
    return n < 0 ? n : ms_mb_adu_wrap(f, tid, unit, out, (size_t)n);
}
