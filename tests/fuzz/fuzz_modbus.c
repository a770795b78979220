/* Fuzz target for the Modbus codec: the PDU decoders (requests and
 * responses), ms_mb_pdu_length, and the ADU stream decoder of both framings
 * with arbitrary split points.
 *
 * Input layout:
 *   byte 0        control: bit 0 framing (0 MBAP, 1 RTU); bit 1 direction
 *                 (0 request, 1 response); bits 2-4 k = number of piece-size
 *                 bytes
 *   bytes 1..k    piece sizes (each byte + 1), used in turn; k = 0 feeds the
 *                 stream byte by byte
 *   the rest      the bytes: decoded as one PDU both ways, and as a stream
 *                 of ADUs of the chosen framing and direction
 *
 * Checks: whatever decodes re-encodes to the same bytes; a decoded PDU's
 * length is what ms_mb_pdu_length says, and that answer never changes as
 * more bytes arrive; a stream read in pieces gives the same ADUs and the
 * same end as read whole; every ADU re-frames to the bytes it came from.
 * Invariants are checked with abort(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mscada/error.h"
#include "mscada/modbus.h"

#define CHECK(c)                                                             \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "fuzz_modbus: %s:%d: check failed: %s\n",        \
                    __FILE__, __LINE__, #c);                                 \
            abort();                                                         \
        }                                                                    \
    } while (0)

#define MAX_ADUS 512

/* The length ms_mb_pdu_length gives must settle once known. */
static void check_length(ms_mb_dir dir, const uint8_t *p, size_t n)
{
    int known = 0;
    for (size_t k = 0; k <= n; k++) {
        int l = ms_mb_pdu_length(dir, p, k);
        CHECK(l <= MS_MB_PDU_MAX);
        if (known)
            CHECK(l == known);
        else if (l != 0)
            known = l;
        if (l > 0 && (size_t)l <= k)
            break; /* whole: longer inputs hold the next PDU */
    }
}

static void pdu_request(const uint8_t *p, size_t n)
{
    ms_mb_request q;
    uint8_t out[MS_MB_PDU_MAX + 16];
    int rc = ms_mb_request_decode(p, n, &q);
    if (rc == 0) {
        CHECK(n <= MS_MB_PDU_MAX);
        CHECK(ms_mb_request_encode(&q, out, sizeof out) == (int)n);
        CHECK(memcmp(out, p, n) == 0);
        CHECK(ms_mb_pdu_length(MS_MB_REQUEST, p, n) == (int)n);
        CHECK(ms_mb_request_encode(&q, out, n - 1) == MS_ETOOBIG);
    } else if (ms_mb_err_is_exc(rc)) {
        /* a server can always answer it */
        uint8_t exc = ms_mb_err_exc(rc);
        CHECK(exc == 1 || exc == 2 || exc == 3);
        CHECK(ms_mb_err_fc(rc) == p[0]);
        ms_mb_response r = {.fc = q.fc, .exception = exc};
        CHECK(ms_mb_response_encode(&r, out, sizeof out) == 2);
        ms_mb_response back;
        CHECK(ms_mb_response_decode(out, 2, &back) == rc);
    } else {
        CHECK(rc == MS_EPROTO);
        CHECK(n == 0 || p[0] == 0 || (p[0] & 0x80));
    }
}

static void pdu_response(const uint8_t *p, size_t n)
{
    ms_mb_response r;
    uint8_t out[MS_MB_PDU_MAX + 16];
    int rc = ms_mb_response_decode(p, n, &r);
    if (rc == 0 || ms_mb_err_is_exc(rc)) {
        CHECK(n >= 2 && n <= MS_MB_PDU_MAX);
        CHECK(ms_mb_response_encode(&r, out, sizeof out) == (int)n);
        CHECK(memcmp(out, p, n) == 0);
        CHECK(ms_mb_pdu_length(MS_MB_RESPONSE, p, n) == (int)n);
        CHECK(ms_mb_response_encode(&r, out, n - 1) == MS_ETOOBIG);
        if (rc == 0 && r.fc == MS_MB_ENCAPSULATED) {
            size_t off = 0, k = 0;
            ms_mb_devid_obj o;
            while (ms_mb_devid_next(&r, &off, &o) == 1)
                k++;
            CHECK(k == r.nobjects && off == r.nbytes);
        }
        /* A request the response could answer matches it. */
        ms_mb_request q = {.fc = r.fc, .addr = r.addr, .count = r.count,
                           .value = r.value, .and_mask = r.and_mask,
                           .or_mask = r.or_mask, .mei = r.mei,
                           .dev_code = r.dev_code};
        if (r.fc == 1 || r.fc == 2)
            q.count = (uint16_t)(r.nbytes * 8);
        if (r.fc == 3 || r.fc == 4 || r.fc == 23)
            q.count = (uint16_t)(r.nbytes / 2);
        CHECK(ms_mb_response_match(&q, &r) == rc);
    } else {
        CHECK(rc == MS_EPROTO);
    }
}

typedef struct {
    uint16_t tid;
    uint8_t unit;
    size_t off, len; /* the PDU's place in the stream */
} adu_rec;

typedef struct {
    adu_rec a[MAX_ADUS];
    size_t n;
    int rc;
    size_t consumed;
} run_log;

/* Reads the stream s[0..n): whole (sizes NULL) or in pieces. */
static void run(ms_mb_framing f, ms_mb_dir dir, const uint8_t *s, size_t n,
                const uint8_t *sizes, size_t nsizes, run_log *log)
{
    uint8_t *buf = malloc(n ? n : 1);
    CHECK(buf != NULL);
    size_t have = 0, fed = 0, k = 0;
    log->n = 0;
    log->rc = 0;
    log->consumed = 0;
    while (log->n < MAX_ADUS) {
        size_t piece = !sizes ? n : nsizes ? (size_t)sizes[k++ % nsizes] + 1 : 1;
        if (piece > n - fed)
            piece = n - fed;
        memcpy(buf + have, s + fed, piece);
        have += piece;
        fed += piece;
        int rc = 0;
        ms_mb_adu a;
        while (log->n < MAX_ADUS &&
               (rc = ms_mb_adu_decode(f, dir, buf, have, &a)) > 0) {
            CHECK((size_t)rc <= have);
            CHECK(a.pdu >= buf && a.pdu + a.pdu_len <= buf + rc);
            CHECK(a.pdu_len >= 1 && a.pdu_len <= MS_MB_PDU_MAX);
            size_t at = log->consumed;
            log->a[log->n++] = (adu_rec){a.tid, a.unit,
                                         at + (size_t)(a.pdu - buf),
                                         a.pdu_len};
            /* re-frame the PDU: same bytes */
            uint8_t out[MS_MB_ADU_MAX];
            size_t head = ms_mb_adu_head(f);
            memcpy(out + head, a.pdu, a.pdu_len);
            CHECK(ms_mb_adu_wrap(f, a.tid, a.unit, out, a.pdu_len) == rc);
            CHECK(memcmp(out, buf, (size_t)rc) == 0);
            if (dir == MS_MB_REQUEST)
                pdu_request(a.pdu, a.pdu_len);
            else
                pdu_response(a.pdu, a.pdu_len);
            log->consumed += (size_t)rc;
            memmove(buf, buf + rc, have - (size_t)rc);
            have -= (size_t)rc;
        }
        if (log->n == MAX_ADUS)
            break;
        CHECK(rc == 0 || rc == MS_EPROTO);
        if (rc < 0) {
            log->rc = rc;
            break;
        }
        if (fed == n)
            break;
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctrl = data[0];
    ms_mb_framing f = (ctrl & 1) ? MS_MB_FRAMING_RTU : MS_MB_FRAMING_MBAP;
    ms_mb_dir dir = (ctrl & 2) ? MS_MB_RESPONSE : MS_MB_REQUEST;
    size_t nsizes = (ctrl >> 2) & 7;
    if (size < 1 + nsizes)
        return 0;
    const uint8_t *sizes = data + 1;
    const uint8_t *s = data + 1 + nsizes;
    size_t n = size - 1 - nsizes;

    /* the bytes as one PDU, both ways */
    size_t pn = n < 300 ? n : 300;
    pdu_request(s, pn);
    pdu_response(s, pn);
    check_length(MS_MB_REQUEST, s, pn);
    check_length(MS_MB_RESPONSE, s, pn);

    /* the bytes as a stream, whole and in pieces */
    run_log ref, log;
    run(f, dir, s, n, NULL, 0, &ref);
    run(f, dir, s, n, sizes, nsizes, &log);
    CHECK(log.n == ref.n);
    for (size_t i = 0; i < ref.n; i++)
        CHECK(log.a[i].tid == ref.a[i].tid && log.a[i].unit == ref.a[i].unit &&
              log.a[i].off == ref.a[i].off && log.a[i].len == ref.a[i].len);
    if (ref.n < MAX_ADUS) {
        CHECK(log.rc == ref.rc);
        CHECK(log.consumed == ref.consumed);
    }
    return 0;
}
