/* MBAP framing (Modbus Messaging on TCP/IP): a 7-byte header
 *   u16 transaction id, u16 protocol id (0), u16 length, u8 unit id
 * then the PDU; length counts the unit id and the PDU, so 2..254. The length
 * delimits the frame whatever the PDU holds, so direction does not matter. */
#include "modbus/codec/mb_framing.h"
#include "mscada/error.h"
#include "mscada/value.h"

static int mbap_decode(ms_mb_dir dir, const uint8_t *buf, size_t len,
                       ms_mb_adu *adu)
{
    (void)dir;
    if (len < MS_MB_MBAP_HEAD)
        return 0;
    uint16_t proto = ms_get_u16(buf + 2);
    uint16_t n = ms_get_u16(buf + 4);
    /* Either fault means we no longer know where frames start. */
    if (proto != 0 || n < 2 || n > MS_MB_PDU_MAX + 1)
        return MS_EPROTO;
    if (len < 6 + (size_t)n)
        return 0;
    adu->tid = ms_get_u16(buf);
    adu->unit = buf[6];
    adu->pdu = buf + MS_MB_MBAP_HEAD;
    adu->pdu_len = (size_t)n - 1;
    return 6 + n;
}

static void mbap_wrap(uint16_t tid, uint8_t unit, uint8_t *out,
                      size_t pdu_len)
{
    ms_put_u16(out, tid);
    ms_put_u16(out + 2, 0);
    ms_put_u16(out + 4, (uint16_t)(pdu_len + 1));
    out[6] = unit;
}

const ms_mb_framer ms_mb_framer_mbap = {"mbap", MS_MB_MBAP_HEAD, 0,
                                        mbap_decode, mbap_wrap};
