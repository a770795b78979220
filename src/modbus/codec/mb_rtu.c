/* RTU framing (Modbus over Serial Line): u8 unit, the PDU, CRC-16 sent low
 * byte first. Nothing marks where a frame ends, so the PDU's function code
 * and byte counts say it (ms_mb_pdu_length); the same framing carries
 * rtu-over-tcp. Silence-based resynchronisation is the transport's job. */
#include "modbus/codec/mb_framing.h"
#include "mscada/error.h"

uint16_t ms_mb_crc16(const uint8_t *p, size_t len)
{
    /* Bitwise: 256 bytes at most per frame, a table buys nothing here. */
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001)
                            : (uint16_t)(crc >> 1);
    }
    return crc;
}

static int rtu_decode(ms_mb_dir dir, const uint8_t *buf, size_t len,
                      ms_mb_adu *adu)
{
    if (len < 2)
        return 0;
    int n = ms_mb_pdu_length(dir, buf + 1, len - 1);
    if (n <= 0)
        return n;
    size_t total = 1 + (size_t)n + 2;
    if (len < total)
        return 0;
    uint16_t crc = ms_mb_crc16(buf, total - 2);
    if (buf[total - 2] != (uint8_t)crc || buf[total - 1] != (uint8_t)(crc >> 8))
        return MS_EPROTO;
    adu->tid = 0;
    adu->unit = buf[0];
    adu->pdu = buf + 1;
    adu->pdu_len = (size_t)n;
    return (int)total;
}

static void rtu_wrap(uint16_t tid, uint8_t unit, uint8_t *out, size_t pdu_len)
{
    (void)tid;
    out[0] = unit;
    uint16_t crc = ms_mb_crc16(out, 1 + pdu_len);
    out[1 + pdu_len] = (uint8_t)crc;
    out[2 + pdu_len] = (uint8_t)(crc >> 8);
}

const ms_mb_framer ms_mb_framer_rtu = {"rtu", 1, 2, rtu_decode, rtu_wrap};
