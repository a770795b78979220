/* Finding RTU frames in a byte stream that may hold garbage (mscada/
 * mbserial.h, mb_rtu_scan.h): a serial line delivers noise, frames cut
 * short and echoes, and timers can't be trusted to mark frame ends under
 * load, so a frame is recognised by its content alone: a length its
 * function implies and a CRC that matches, or, for a request whose length
 * can't be told or whose byte count is wrong, the first CRC that matches (a
 * slave must answer those with an exception, not silence). The scanner
 * carries what each offset has shown so far from one call to the next, so
 * bytes trickling in are not tried again from the start. Pure. */
#include "modbus/codec/mb_rtu_scan.h"

#include "modbus/codec/mb_framing.h"
#include "mscada/error.h"
#include "mscada/mbserial.h"

/* What an open offset waits for. */
enum {
    TRY_LENGTH, /* to tell the frame's length from its function */
    TRY_END,    /* the length is known: the bytes up to it */
    TRY_CRC,    /* a request's end where its CRC first matches */
};

/* Where a request's length comes from its byte count (FC15, 16, 23), a
 * master's wrong count puts the content-derived end in the wrong place. */
static bool counted(uint8_t fc)
{
    return fc == MS_MB_WRITE_MULTIPLE_COILS ||
           fc == MS_MB_WRITE_MULTIPLE_REGISTERS ||
           fc == MS_MB_READ_WRITE_REGISTERS;
}

/* A frame starting at buf, carried on from what o holds to len bytes: its
 * length, 0 when it may be one still arriving (o then holds how far it
 * got), MS_EPROTO when it is not one. What it says for len bytes does not
 * depend on how many it saw before: a function's length, once told, stays
 * (ms_mb_pdu_length), and bytes already there do not change. */
static int frame_at(ms_mb_dir dir, ms_mb_rtu_open *o, const uint8_t *buf,
                    size_t len, ms_mb_adu *adu)
{
    if (o->how == TRY_END && len < o->need)
        return 0;
    if (o->how != TRY_CRC) {
        int rc = ms_mb_adu_decode(MS_MB_FRAMING_RTU, dir, buf, len, adu);
        if (rc == 0 && len >= 2) {
            /* Not again before the bytes its length asks for are here. */
            int n = ms_mb_pdu_length(dir, buf + 1, len - 1);
            if (n > 0) {
                o->how = TRY_END;
                o->need = (uint16_t)(1 + n + 2);
            }
        }
        if (rc != MS_EPROTO || dir != MS_MB_REQUEST || len < 2)
            return rc;
        uint8_t fc = buf[1];
        if (fc == 0 || fc > 127 || (ms_mb_fc_name(fc) && !counted(fc)))
            return MS_EPROTO; /* a known function with a bad CRC or length */
        /* A function whose length can't be told, or a byte count that
         * does not fit what follows: the first CRC match ends it, so that
         * the slave can answer "illegal function" or "illegal data value".
         * The CRC runs along (one pass, not one per candidate end). */
        o->how = TRY_CRC;
        o->need = 2;
        o->crc = ms_mb_crc16(buf, 2);
    }
    size_t end = len < MS_MB_RTU_FRAME_MAX ? len : MS_MB_RTU_FRAME_MAX;
    size_t n = o->need;
    uint16_t crc = o->crc;
    for (; n + 2 <= end; n++) {
        if ((uint16_t)(buf[n] | buf[n + 1] << 8) == crc) {
            adu->tid = 0;
            adu->unit = buf[0];
            adu->pdu = buf + 1;
            adu->pdu_len = n - 1;
            return (int)(n + 2);
        }
        crc = ms_mb_crc16_step(crc, buf[n]);
    }
    o->need = (uint16_t)n;
    o->crc = crc;
    return len >= MS_MB_RTU_FRAME_MAX ? MS_EPROTO : 0;
}

void ms_mb_rtu_scanner_init(ms_mb_rtu_scanner *s, ms_mb_dir dir)
{
    s->dir = dir;
    ms_mb_rtu_scanner_reset(s);
}

void ms_mb_rtu_scanner_reset(ms_mb_rtu_scanner *s)
{
    s->looked = 0;
    s->nopen = 0;
}

/* The caller drops the first n bytes: offsets move down, those below go. */
static void drop(ms_mb_rtu_scanner *s, size_t from, size_t n)
{
    size_t k = 0;
    for (size_t i = from; i < s->nopen; i++)
        if (s->open[i].off >= n) {
            s->open[k] = s->open[i];
            s->open[k++].off -= n;
        }
    s->nopen = k;
    s->looked = s->looked > n ? s->looked - n : 0;
}

/* A frame of n bytes at offset at: it and what is before it go; offsets
 * from open[from] on were not carried on this time, and those past the
 * frame stay as they were. */
static int found(ms_mb_rtu_scanner *s, size_t from, size_t at, int n,
                 size_t *skip)
{
    drop(s, from, at + (size_t)n);
    *skip = at;
    return n;
}

int ms_mb_rtu_scanner_scan(ms_mb_rtu_scanner *s, const uint8_t *buf,
                           size_t len, ms_mb_adu *adu, size_t *skip)
{
    if (s->looked > len)
        ms_mb_rtu_scanner_reset(s); /* not the bytes it saw: start over */
    /* Offsets in order, the first whole frame wins: the ones still open,
     * then the new ones. An offset that is not open was ruled out, and
     * stays so as bytes arrive. A whole frame further on wins over an
     * open one: noise that looks like the start of a long frame must not
     * hide the real frame behind it. */
    size_t kept = 0;
    for (size_t i = 0; i < s->nopen; i++) {
        ms_mb_rtu_open o = s->open[i];
        int rc = frame_at(s->dir, &o, buf + o.off, len - o.off, adu);
        if (rc > 0)
            return found(s, i + 1, o.off, rc, skip);
        if (rc == 0)
            s->open[kept++] = o;
    }
    s->nopen = kept;
    for (; s->looked < len; s->looked++) {
        ms_mb_rtu_open o = {.off = s->looked, .how = TRY_LENGTH};
        int rc = frame_at(s->dir, &o, buf + o.off, len - o.off, adu);
        if (rc > 0)
            return found(s, s->nopen, o.off, rc, skip);
        /* Open only while fewer than a longest frame's bytes are there
         * (ms_mb_pdu_length tells any length from 253 bytes), so they
         * fit; the test is for safety's sake. */
        if (rc == 0 && s->nopen < MS_MB_RTU_FRAME_MAX)
            s->open[s->nopen++] = o;
    }
    /* hold: the first offset where a frame may still be arriving. */
    size_t hold = s->nopen ? s->open[0].off : len;
    drop(s, 0, hold);
    *skip = hold;
    return 0;
}

int ms_mb_rtu_scan(ms_mb_dir dir, const uint8_t *buf, size_t len,
                   ms_mb_adu *adu, size_t *skip)
{
    ms_mb_rtu_scanner s;
    ms_mb_rtu_scanner_init(&s, dir);
    return ms_mb_rtu_scanner_scan(&s, buf, len, adu, skip);
}
