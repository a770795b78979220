/* The RTU scanner a serial line keeps with its input (src/modbus/codec/
 * mb_rtu_scan.c, mb_rtu_scan.h) makes the framing decisions a scan of all
 * that is held from its start makes (the scanner before it remembered
 * anything, mb_rtu_ref.h), however the bytes are split as
 * they arrive: the same frames, the same garbage skipped in the same steps
 * (the debug lines and counts of mb_serial.c), the same bytes held. Streams
 * of frames with garbage before and between them, frames with bad CRCs,
 * cut short, with byte counts that disagree, functions ended by their CRC,
 * both directions, fed whole, byte by byte and in random pieces (fixed
 * seeds), with and without the master's flushes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mb_rtu_ref.h"
#include "mb_testutil.h"
#include "modbus/codec/mb_rtu_scan.h"
#include "mscada/error.h"
#include "mscada/mbserial.h"

#define REQ MS_MB_REQUEST
#define RSP MS_MB_RESPONSE
#define FRAME_MAX MB_REF_FRAME_MAX

/* ---- a line: what mb_serial.c does with what arrives ---- */

enum { EV_SKIP, EV_FRAME, EV_FLUSH };

typedef struct {
    int kind;
    size_t at; /* stream offset */
    size_t n;  /* bytes skipped, framed or flushed */
} event;

typedef struct {
    event *ev;
    size_t nev, cap;
    size_t garbage, held;
} record;

static void add(record *r, int kind, size_t at, size_t n)
{
    assert_true(r->nev < r->cap);
    r->ev[r->nev++] = (event){kind, at, n};
}

/* Simple LCG: fixed seeds give the same pieces every run. */
static uint32_t rnd(uint32_t *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 16;
}

/* How the stream arrives: piece 0 whole, 1 a byte at a time, else pieces
 * of 1..max bytes from seed; flush_every > 0: the master forgets what it
 * holds before about one piece in flush_every (a new request). */
typedef struct {
    size_t piece;
    uint32_t seed;
    size_t max;
    unsigned flush_every;
} split;

static void feed(ms_mb_dir dir, bool incremental, const uint8_t *s,
                 size_t n, split sp, record *r)
{
    uint8_t *buf = malloc(n + 1);
    assert_non_null(buf);
    ms_mb_rtu_scanner sc;
    ms_mb_rtu_scanner_init(&sc, dir);
    size_t base = 0, len = 0; /* buf[0] is stream byte base */
    uint32_t x = sp.seed;
    r->nev = r->garbage = 0;
    for (size_t at = 0; at < n;) {
        size_t k = sp.piece ? sp.piece : n;
        if (sp.max)
            k = 1 + rnd(&x) % sp.max;
        if (k > n - at)
            k = n - at;
        if (sp.flush_every && rnd(&x) % sp.flush_every == 0 && len) {
            add(r, EV_FLUSH, base, len);
            r->garbage += len;
            base += len;
            len = 0;
            ms_mb_rtu_scanner_reset(&sc);
        }
        memcpy(buf + len, s + at, k);
        len += k;
        at += k;
        for (;;) {
            ms_mb_adu adu;
            size_t skip = (size_t)-1;
            int rc = incremental
                         ? ms_mb_rtu_scanner_scan(&sc, buf, len, &adu, &skip)
                         : mb_ref_scan(dir, buf, len, &adu, &skip);
            assert_true(rc >= 0);
            assert_true(skip <= len);
            if (rc > 0) {
                assert_true(skip + (size_t)rc <= len);
                assert_ptr_equal(adu.pdu, buf + skip + 1);
                assert_int_equal(adu.unit, buf[skip]);
                assert_int_equal(adu.pdu_len, (size_t)rc - 3);
            }
            if (skip) {
                add(r, EV_SKIP, base, skip);
                r->garbage += skip;
                memmove(buf, buf + skip, len - skip);
                base += skip;
                len -= skip;
            }
            if (rc == 0)
                break;
            add(r, EV_FRAME, base, (size_t)rc);
            memmove(buf, buf + rc, len - (size_t)rc);
            base += (size_t)rc;
            len -= (size_t)rc;
        }
        if (len > 2 * MS_MB_ADU_MAX) { /* as mb_serial.c: can't be pending */
            add(r, EV_FLUSH, base, len);
            r->garbage += len;
            base += len;
            len = 0;
            ms_mb_rtu_scanner_reset(&sc);
        }
    }
    assert_int_equal(base + len, n);
    r->held = len;
    free(buf);
}

static void record_init(record *r, size_t n)
{
    r->cap = 2 * n + 16;
    r->ev = calloc(r->cap, sizeof *r->ev);
    assert_non_null(r->ev);
}

static void assert_same(const record *a, const record *b)
{
    assert_int_equal(a->nev, b->nev);
    for (size_t i = 0; i < a->nev; i++) {
        assert_int_equal(a->ev[i].kind, b->ev[i].kind);
        assert_int_equal(a->ev[i].at, b->ev[i].at);
        assert_int_equal(a->ev[i].n, b->ev[i].n);
    }
    assert_int_equal(a->garbage, b->garbage);
    assert_int_equal(a->held, b->held);
}

/* The splits every stream is fed in. */
static const split SPLITS[] = {
    {0, 0, 0, 0},   {1, 0, 0, 0},    {0, 7, 5, 0},   {0, 99, 40, 0},
    {0, 3, 600, 0}, {0, 11, 16, 9},  {1, 5, 0, 300},
};
#define NSPLITS (sizeof SPLITS / sizeof SPLITS[0])

/* Feeds s every way, each through the scanner and the reference: the same
 * events each time. Returns the scanner's records (caller frees ev). */
static void check_stream(ms_mb_dir dir, const uint8_t *s, size_t n,
                         record out[NSPLITS])
{
    record ref;
    record_init(&ref, n);
    for (size_t i = 0; i < NSPLITS; i++) {
        record_init(&out[i], n);
        feed(dir, true, s, n, SPLITS[i], &out[i]);
        feed(dir, false, s, n, SPLITS[i], &ref);
        assert_same(&out[i], &ref);
    }
    free(ref.ev);
}

/* ---- streams of known frames ---- */

typedef struct {
    uint8_t *b;
    size_t n, cap;
    size_t frames[64][2]; /* offset, length of each whole frame put in */
    size_t nframes;
} stream;

static void put(stream *s, const uint8_t *p, size_t n)
{
    assert_true(s->n + n <= s->cap);
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

/* A frame from hex (unit, PDU) with its CRC; good: one the scanner must
 * find, else its CRC is spoiled. */
static void put_frame(stream *s, const char *hex, bool good)
{
    uint8_t f[FRAME_MAX];
    size_t n = mb_hex(hex, f, sizeof f - 2);
    uint16_t crc = ms_mb_crc16(f, n);
    f[n] = (uint8_t)crc;
    f[n + 1] = (uint8_t)(crc >> 8);
    if (!good)
        f[n + 1] ^= 0x5A;
    if (good) {
        assert_true(s->nframes < 64);
        s->frames[s->nframes][0] = s->n;
        s->frames[s->nframes++][1] = n + 2;
    }
    put(s, f, n + 2);
}

/* Line noise that starts no frame of its own: bytes >= 0x80 are no
 * request's function code, and a response's exception frame from them
 * would need a CRC to match by chance. */
static void put_noise(stream *s, uint32_t *x, size_t max)
{
    size_t k = 1 + rnd(x) % max;
    for (size_t i = 0; i < k; i++) {
        uint8_t b = (uint8_t)(0x80 | rnd(x));
        put(s, &b, 1);
    }
}

static void put_hex(stream *s, const char *hex)
{
    uint8_t b[FRAME_MAX];
    put(s, b, mb_hex(hex, b, sizeof b));
}

/* The frames put in are the frames found, whichever way the stream came;
 * everything else was counted as garbage or is held. */
static void check_known(ms_mb_dir dir, const stream *s)
{
    record recs[NSPLITS];
    check_stream(dir, s->b, s->n, recs);
    size_t framed = 0;
    for (size_t i = 0; i < s->nframes; i++)
        framed += s->frames[i][1];
    for (size_t i = 0; i < NSPLITS; i++) {
        size_t k = 0;
        /* A flush cuts what it drops out of the stream: only the
         * reference tells what must be found then. */
        for (size_t e = 0; !SPLITS[i].flush_every && e < recs[i].nev; e++) {
            if (recs[i].ev[e].kind != EV_FRAME)
                continue;
            assert_true(k < s->nframes);
            assert_int_equal(recs[i].ev[e].at, s->frames[k][0]);
            assert_int_equal(recs[i].ev[e].n, s->frames[k][1]);
            k++;
        }
        if (!SPLITS[i].flush_every) {
            assert_int_equal(k, s->nframes);
            assert_int_equal(recs[i].garbage + framed + recs[i].held, s->n);
            assert_int_equal(recs[i].garbage, recs[0].garbage);
            assert_int_equal(recs[i].held, recs[0].held);
        }
        free(recs[i].ev);
    }
}

static void test_requests_split(void **state)
{
    (void)state;
    uint8_t mem[4096];
    stream s = {.b = mem, .cap = sizeof mem};
    uint32_t x = 2024;
    for (int round = 0; round < 4; round++) {
        put_noise(&s, &x, 30);
        put_frame(&s, "01 03 00 00 00 0A", true);
        put_frame(&s, "11 06 00 01 00 03", true);
        put_noise(&s, &x, 8);
        put_frame(&s, "01 03 00 00 00 0A", false); /* bad CRC */
        put_frame(&s, "01 10 00 01 00 02 04 00 0A 01 02", true);
        put_hex(&s, "01 03 00"); /* cut short by noise */
        put_noise(&s, &x, 5);
        put_frame(&s, "11 08 00 00 12 34", true); /* ends at its CRC */
        put_frame(&s, "01 10 00 01 00 02 00 00 0A 01 02", true); /* count 0 */
        put_frame(&s, "02 07", true);
        put_frame(&s, "01 10 00 01 00 01 04 00 0A", true); /* count long */
        put_frame(&s, "01 05 00 13 FF 00", true);
        put_frame(&s, "11 08 00 00 AB CD", false); /* bad CRC, open long */
        put_frame(&s, "01 0F 00 13 00 0A 02 CD 01", true);
        put_noise(&s, &x, 20);
        put_frame(&s, "01 17 00 03 00 01 00 0E 00 01 02 00 FF", true);
        put_frame(&s, "01 2B 0E 01 00", true);
    }
    put_hex(&s, "01 03 00 00"); /* the next frame, still arriving */
    check_known(REQ, &s);
}

static void test_responses_split(void **state)
{
    (void)state;
    uint8_t mem[4096];
    stream s = {.b = mem, .cap = sizeof mem};
    uint32_t x = 77;
    for (int round = 0; round < 4; round++) {
        put_noise(&s, &x, 30);
        put_frame(&s, "01 03 06 02 2B 00 00 00 64", true);
        put_hex(&s, "01 03 06 02 2B 00"); /* a reply cut short */
        put_frame(&s, "01 03 06 02 2B 00 00 00 64", true);
        put_noise(&s, &x, 8);
        put_frame(&s, "01 83 02", true);
        put_frame(&s, "01 01 02 CD 6B", false); /* bad CRC */
        put_frame(&s, "01 01 02 CD 6B", true);
        put_frame(&s, "11 11 05 0A FF 01 02 03", true);
        put_noise(&s, &x, 5);
        put_frame(&s, "01 2B 0E 01 01 00 00 02 00 03 41 42 43 01 02 76 31",
                  true);
        put_frame(&s, "01 10 00 01 00 02", true);
        put_frame(&s, "01 17 04 00 01 00 02", false);
        put_frame(&s, "01 06 00 01 00 03", true);
    }
    put_hex(&s, "01 03 06 02"); /* still arriving */
    check_known(RSP, &s);
}

/* ---- streams that keep many offsets open: the scanner against the
 * reference only (frames by chance are frames too) ---- */

static void check_random(ms_mb_dir dir, uint32_t seed, const uint8_t *alpha,
                         size_t nalpha, size_t n)
{
    uint8_t *s = malloc(n);
    assert_non_null(s);
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++)
        s[i] = nalpha ? alpha[rnd(&x) % nalpha] : (uint8_t)rnd(&x);
    /* Whole frames here and there, so that some are found among the
     * open offsets. */
    for (size_t at = 40; at + 12 < n; at += 100 + rnd(&x) % 200) {
        uint8_t f[12] = {0x01, 0x03, 0x00, 0x00, 0x00, 0x0A};
        if (dir == RSP) {
            f[1] = 0x83;
            f[2] = 0x02;
        }
        size_t k = dir == RSP ? 3 : 6;
        uint16_t crc = ms_mb_crc16(f, k);
        f[k] = (uint8_t)crc;
        f[k + 1] = (uint8_t)(crc >> 8);
        memcpy(s + at, f, k + 2);
    }
    record recs[NSPLITS];
    check_stream(dir, s, n, recs);
    for (size_t i = 0; i < NSPLITS; i++)
        free(recs[i].ev);
    free(s);
}

static void test_random_bytes(void **state)
{
    (void)state;
    check_random(REQ, 1, NULL, 0, 2000);
    check_random(RSP, 2, NULL, 0, 2000);
}

static void test_open_offsets(void **state)
{
    (void)state;
    /* Units and function codes whose frames wait long: unknown functions
     * (ended by a CRC in requests), byte counts, FC43 objects. */
    static const uint8_t alpha[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x06,
                                    0x08, 0x0E, 0x0F, 0x10, 0x11, 0x17,
                                    0x2B, 0x41, 0x83, 0xFF};
    check_random(REQ, 3, alpha, sizeof alpha, 1200);
    check_random(RSP, 4, alpha, sizeof alpha, 1200);
    static const uint8_t fc43[] = {0x2B, 0x0E, 0x01, 0x02, 0x00};
    check_random(RSP, 5, fc43, sizeof fc43, 1200);
    static const uint8_t unknown[] = {0x41};
    check_random(REQ, 6, unknown, sizeof unknown, 800);
}

/* A caller that drops more than it was told and does not reset: the
 * scanner starts over rather than trust offsets past the end. */
static void test_shorter_than_seen(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = mb_hex("11 08 00 00 12 34 56 78 9A", b, sizeof b);
    ms_mb_rtu_scanner sc;
    ms_mb_rtu_scanner_init(&sc, REQ);
    ms_mb_adu adu;
    size_t skip = 9;
    assert_int_equal(ms_mb_rtu_scanner_scan(&sc, b, n, &adu, &skip), 0);
    assert_int_equal(skip, 0);
    n = mb_hex("01 03 00 00 00 0A C5 CD", b, sizeof b);
    assert_int_equal(ms_mb_rtu_scanner_scan(&sc, b, n, &adu, &skip), 8);
    assert_int_equal(skip, 0);
    assert_int_equal(adu.unit, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_split),
        cmocka_unit_test(test_responses_split),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_open_offsets),
        cmocka_unit_test(test_shorter_than_seen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
