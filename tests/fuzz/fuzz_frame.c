/* Fuzz target for the bus frame reader (ms_frame_reader_next) and, through
 * round trips, ms_frame_encode.
 *
 * Input layout:
 *   byte 0        control: bits 0-1 pick the cap (65521, 131049, 200000,
 *                 256 KiB); bit 2 "expand"; bits 3-5 k = number of piece-size
 *                 bytes; bit 6 multiplies piece sizes by 257
 *   bytes 1..k    piece sizes (each byte + 1), used in turn; k = 0 feeds the
 *                 whole stream at once
 *   the rest      the byte stream. With "expand", every 14-byte header whose
 *                 size is above 256 is followed by ONE filler byte that stands
 *                 for its whole payload, so small inputs reach big chunked
 *                 payloads and the cap.
 *
 * The stream is read twice: all at once (the reference) and in the pieces,
 * keeping the unused bytes as a real caller would. Both must give the same
 * messages, the same final result and the same byte count. Every message is
 * encoded again with ms_frame_encode and read back by a fresh reader, which
 * must give it back unchanged. Invariants are checked with abort(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/value.h"

/* The harness's own byte loops need no coverage feedback and cost most of
 * the time when instrumented. */
#if defined(__clang__) && __clang_major__ >= 13
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

/* Bytes of expanded stream at most: past the largest cap (so that it is
 * reached), small enough that an input costs well under a millisecond
 * (the stream is hashed, copied and read twice; it was 1.5 MiB, for a
 * 1 MiB cap, and the target ran at 470 inputs/s). */
#define EXPAND_LIMIT (320u * 1024)

#define CHECK(c)                                                             \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "fuzz_frame: %s:%d: check failed: %s\n",         \
                    __FILE__, __LINE__, #c);                                 \
            abort();                                                         \
        }                                                                    \
    } while (0)

static const size_t caps[4] = {MS_FRAME_MAX_LEN, 2 * MS_FRAME_MAX_LEN + 7,
                               200000, 256 * 1024};

typedef struct {
    uint8_t cmd;
    uint16_t tag_id;
    uint64_t time_us;
    size_t len;
    uint64_t hash;
} digest;

typedef struct {
    digest *d;
    size_t n, alloc;
    int rc;          /* the reader's last result */
    size_t consumed; /* bytes it used in all */
} run_log;

/* A hash of every byte, a word at a time (big payloads are common). */
NO_COVERAGE static uint64_t hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* ms_frame_encode the message, read it back with an emptied reader. The
 * reader and the wire buffer are kept from message to message (and input to
 * input): fresh ones cost new pages every time under ASan, whose quarantine
 * keeps freed memory from coming back soon. ms_frame_reader_reset leaves
 * nothing of the last stream but memory. */
static void round_trip(const ms_msg *m)
{
    static ms_frame_reader r;
    static uint8_t *w;
    static size_t wcap;
    size_t n = ms_frame_wire_size(m->len);
    CHECK(n >= m->len + MS_FRAME_HEAD);
    if (n > wcap) {
        free(w);
        w = malloc(n);
        CHECK(w != NULL);
        wcap = n;
    }
    CHECK(ms_frame_encode(w, m->cmd, m->tag_id, m->time_us, m->data, m->len) ==
          n);
    ms_frame_reader_reset(&r, m->len > MS_FRAME_DEFAULT_CAP ? m->len : 0);
    size_t used = (size_t)-1;
    ms_msg back;
    CHECK(ms_frame_reader_next(&r, w, n, &used, &back) == 1);
    CHECK(used == n);
    CHECK(back.cmd == m->cmd);
    CHECK(back.tag_id == m->tag_id);
    CHECK(back.time_us == m->time_us);
    CHECK(back.len == m->len);
    CHECK(m->len == 0 || memcmp(back.data, m->data, m->len) == 0);
    CHECK(ms_frame_reader_next(&r, w + n, 0, &used, &back) == 0);
    CHECK(used == 0);
    CHECK(r.held == 0 && r.npend == 0);
}

/* One call's invariants. Returns the reader's result. */
static int step(ms_frame_reader *r, const uint8_t *buf, size_t len,
                size_t *used, run_log *log, const run_log *ref)
{
    ms_msg m;
    memset(&m, 0, sizeof m);
    *used = (size_t)-1;
    int rc = ms_frame_reader_next(r, buf, len, used, &m);
    CHECK(*used <= len);
    CHECK(r->held <= r->cap);
    CHECK(r->npend <= r->apend);
    log->consumed += *used;
    if (rc == 1) {
        CHECK(*used >= MS_FRAME_HEAD);
        uintptr_t d = (uintptr_t)m.data, lo = (uintptr_t)buf;
        if (m.len && d >= lo && d < lo + len) {
            /* zero copy: a single chunk, inside what was used */
            CHECK(m.len <= 0xffff);
            CHECK(m.len <= *used - MS_FRAME_HEAD);
            CHECK(d + m.len <= lo + *used);
        } else if (m.len) {
            /* assembled: at least one full chunk, within the cap */
            CHECK(m.len >= MS_FRAME_MAX_LEN);
            CHECK(m.len <= r->cap);
        }
        digest g = {m.cmd, m.tag_id, m.time_us, m.len,
                    hash(m.data, m.len)}; /* reads every byte */
        if (ref) {
            CHECK(log->n < ref->n);
            const digest *e = &ref->d[log->n];
            CHECK(e->cmd == g.cmd && e->tag_id == g.tag_id &&
                  e->time_us == g.time_us && e->len == g.len &&
                  e->hash == g.hash);
            log->n++;
        } else {
            if (log->n == log->alloc) {
                size_t na = log->alloc ? 2 * log->alloc : 16;
                digest *nd = realloc(log->d, na * sizeof *nd);
                CHECK(nd != NULL);
                log->d = nd;
                log->alloc = na;
            }
            log->d[log->n++] = g;
            round_trip(&m);
        }
    } else if (rc == 0) {
        /* What is left holds no whole chunk. */
        size_t rest = len - *used;
        if (rest >= MS_FRAME_HEAD) {
            CHECK(buf[*used] == MS_FRAME_VERSION);
            CHECK(rest < MS_FRAME_HEAD + (size_t)ms_get_u16(buf + *used + 4));
        }
    } else if (rc == MS_EPROTO) {
        CHECK(r->bad.version != MS_FRAME_VERSION);
        CHECK(len - *used >= MS_FRAME_HEAD);
        CHECK(buf[*used] == r->bad.version);
    } else if (rc == MS_ETOOBIG) {
        CHECK(r->bad.version == MS_FRAME_VERSION);
        CHECK(*used >= MS_FRAME_HEAD + (size_t)r->bad.size);
        CHECK(r->held + r->bad.size > r->cap);
    } else {
        CHECK(rc == MS_ENOMEM);
    }
    log->rc = rc;
    return rc;
}

/* Reads s all at once (ref == NULL, records into log) or in pieces from
 * sizes[0..nsizes) (checks against ref). */
static void run(const uint8_t *s, size_t n, size_t cap, const uint8_t *sizes,
                size_t nsizes, unsigned mult, run_log *log,
                const run_log *ref)
{
    /* One reader for every run, emptied (as round_trip's). */
    static ms_frame_reader r;
    ms_frame_reader_reset(&r, cap);
    CHECK(r.cap == cap && r.held == 0 && r.npend == 0 && !r.out);
    log->rc = 0;
    log->consumed = 0;
    if (!ref) {
        size_t off = 0, used;
        int rc;
        while ((rc = step(&r, s + off, n - off, &used, log, NULL)) == 1)
            off += used;
        return;
    }
    /* Kept from input to input: growing a fresh one each time cost page
     * faults on every input (it already has slack past its end, so reuse
     * hides no overread). */
    static ms_buf b;
    b.off = b.len = 0;
    size_t pos = 0, k = 0;
    int rc = 0;
    while (pos < n && rc >= 0) {
        size_t p = ((size_t)sizes[k++ % nsizes] + 1) * mult;
        if (p > n - pos)
            p = n - pos;
        CHECK(ms_buf_append(&b, s + pos, p) == 0);
        pos += p;
        size_t used;
        while ((rc = step(&r, ms_buf_head(&b), ms_buf_size(&b), &used, log,
                          ref)) == 1)
            ms_buf_consume(&b, used);
        if (rc == 0)
            ms_buf_consume(&b, used);
    }
}

/* Replaces each big payload by its filler byte's repetition. The result
 * lives in a buffer kept from input to input (as in run()). */
NO_COVERAGE static size_t expand(const uint8_t *in, size_t n, uint8_t **out)
{
    static ms_buf b;
    b.off = b.len = 0;
    size_t i = 0;
    while (i < n && ms_buf_size(&b) < EXPAND_LIMIT) {
        if (n - i < MS_FRAME_HEAD) {
            CHECK(ms_buf_append(&b, in + i, n - i) == 0);
            break;
        }
        CHECK(ms_buf_append(&b, in + i, MS_FRAME_HEAD) == 0);
        size_t size = ms_get_u16(in + i + 4);
        i += MS_FRAME_HEAD;
        if (size > 256) {
            uint8_t fill = i < n ? in[i++] : 0;
            uint8_t *w = ms_buf_reserve(&b, size);
            CHECK(w != NULL);
            memset(w, fill, size);
            ms_buf_commit(&b, size);
        } else {
            size_t k = size < n - i ? size : n - i;
            CHECK(ms_buf_append(&b, in + i, k) == 0);
            i += k;
        }
    }
    *out = b.data;
    return ms_buf_size(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctrl = data[0];
    size_t cap = caps[ctrl & 3];
    int expanded = (ctrl >> 2) & 1;
    size_t nsizes = (ctrl >> 3) & 7;
    unsigned mult = (ctrl & 0x40) ? 257 : 1;
    if (size < 1 + nsizes)
        return 0;
    const uint8_t *sizes = data + 1;
    const uint8_t *s = data + 1 + nsizes;
    size_t n = size - 1 - nsizes;
    uint8_t *x = NULL;
    static const uint8_t none[1];
    if (expanded) {
        n = expand(s, n, &x);
        s = x ? x : none;
    }

    run_log ref = {0}, log = {0};
    run(s, n, cap, NULL, 0, 1, &ref, NULL);
    CHECK(ref.consumed <= n);
    if (ref.rc == 0) {
        /* Stopped for want of bytes: what is left is not a whole chunk. */
        CHECK(n - ref.consumed < MS_FRAME_HEAD ||
              n - ref.consumed <
                  MS_FRAME_HEAD + (size_t)ms_get_u16(s + ref.consumed + 4));
    }
    if (nsizes) {
        run(s, n, cap, sizes, nsizes, mult, &log, &ref);
        CHECK(log.n == ref.n);
        CHECK(log.rc == ref.rc);
        CHECK(log.consumed == ref.consumed);
    }
    free(ref.d);
    free(log.d);
    return 0;
}
