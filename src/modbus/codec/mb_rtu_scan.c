/* Finding RTU frames in a byte stream that may hold garbage (mscada/
 * mbserial.h): a serial line delivers noise, frames cut short and echoes,
 * and timers can't be trusted to mark frame ends under load, so a frame is
 * recognised by its content alone: a length its function implies and a
 * CRC that matches, or, for a request whose length can't be told or whose
 * byte count is wrong, the first CRC that matches (a slave must answer
 * those with an exception, not silence). Pure. */
#include "modbus/codec/mb_framing.h"
#include "mscada/error.h"
#include "mscada/mbserial.h"

/* Where a request's length comes from its byte count (FC15, 16, 23), a
 * master's wrong count puts the content-derived end in the wrong place. */
static bool counted(uint8_t fc)
{
    return fc == MS_MB_WRITE_MULTIPLE_COILS ||
           fc == MS_MB_WRITE_MULTIPLE_REGISTERS ||
           fc == MS_MB_READ_WRITE_REGISTERS;
}

/* A frame starting at buf: its length, 0 when it may be one still
 * arriving, MS_EPROTO when it is not one. */
static int frame_at(ms_mb_dir dir, const uint8_t *buf, size_t len,
                    ms_mb_adu *adu)
{
    int rc = ms_mb_adu_decode(MS_MB_FRAMING_RTU, dir, buf, len, adu);
    if (rc != MS_EPROTO || dir != MS_MB_REQUEST || len < 2)
        return rc;
    uint8_t fc = buf[1];
    if (fc == 0 || fc > 127 || (ms_mb_fc_name(fc) && !counted(fc)))
        return MS_EPROTO; /* a known function with a bad CRC or length */
    /* A function whose length can't be told, or a byte count that does
     * not fit what follows: the first CRC match ends it, so that the slave
     * can answer "illegal function" or "illegal data value". The CRC runs
     * along (one pass, not one per candidate end). */
    size_t max = 1 + MS_MB_PDU_MAX + 2;
    size_t end = len < max ? len : max;
    uint16_t crc = ms_mb_crc16(buf, 2);
    for (size_t n = 2; n + 2 <= end; n++) {
        if ((uint16_t)(buf[n] | buf[n + 1] << 8) == crc) {
            adu->tid = 0;
            adu->unit = buf[0];
            adu->pdu = buf + 1;
            adu->pdu_len = n - 1;
            return (int)(n + 2);
        }
        crc = ms_mb_crc16_step(crc, buf[n]);
    }
    return len >= max ? MS_EPROTO : 0;
}

int ms_mb_rtu_scan(ms_mb_dir dir, const uint8_t *buf, size_t len,
                   ms_mb_adu *adu, size_t *skip)
{
    /* hold: the first offset where a frame may still be arriving. A whole
     * frame further on wins over it: noise that looks like the start of a
     * long frame must not hide the real frame behind it. */
    size_t hold = len;
    for (size_t i = 0; i < len; i++) {
        int rc = frame_at(dir, buf + i, len - i, adu);
        if (rc > 0) {
            *skip = i;
            return rc;
        }
        if (rc == 0 && hold == len)
            hold = i;
    }
    *skip = hold;
    return 0;
}
