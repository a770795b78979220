/* The client's protocol codec (src/client/client_proto.c): the real
 * pymscada server's bytes from ../shared/fixtures/pymscada-bus/
 * transcript.json decoded into events, whole and byte by byte; requests
 * encoded into the very bytes pymscada's clients sent; chunking at
 * MAX_LEN; names and LIST answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "client/client_proto.h"
#include "core/buf.h"
#include "mscada/error.h"
#include "mscada/frame.h"
#include "mscada/value.h"
#include "ms_fixture.h"

#define TRANSCRIPT "pymscada-bus/transcript.json"
#define T0 1700000000000000ull

/* ---- helpers -------------------------------------------------------------- */

static size_t unhex(const char *hex, ms_buf *out)
{
    size_t n = strlen(hex);
    assert_int_equal(n % 2, 0);
    uint8_t *p = ms_buf_reserve(out, n / 2 + 1);
    assert_non_null(p);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned x;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &x), 1);
        p[i] = (uint8_t)x;
    }
    ms_buf_commit(out, n / 2);
    return n / 2;
}

static json_t *transcript(void)
{
    json_error_t e;
    const char *path = ms_fixture(TRANSCRIPT);
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("%s: %s", path, e.text);
    return j;
}

/* Everything client `who` received, in order. */
static void stream_of(json_t *doc, const char *who, ms_buf *out)
{
    json_t *steps = json_object_get(doc, "steps");
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
    {
        const char *hex =
            json_string_value(json_object_get(json_object_get(s, "recv"), who));
        assert_non_null(hex);
        unhex(hex, out);
    }
}

/* The bytes step `index` sent. */
static void sent_by(json_t *doc, size_t index, ms_buf *out)
{
    json_t *s = json_array_get(json_object_get(doc, "steps"), index);
    assert_non_null(s);
    unhex(json_string_value(json_object_get(s, "send")), out);
}

/* A decoded event, with its payload copied. */
typedef struct {
    ms_cev_kind kind;
    uint16_t tag_id;
    uint64_t time_us;
    uint8_t *data;
    size_t len;
    ms_value value;
    int value_err;
} ev_copy;

typedef struct {
    ev_copy ev[32];
    size_t n;
    int rc;
} ev_list;

static void keep(ev_list *l, const ms_client_event *ev)
{
    assert_true(l->n < 32);
    ev_copy *c = &l->ev[l->n++];
    c->kind = ev->kind;
    c->tag_id = ev->tag_id;
    c->time_us = ev->time_us;
    c->len = ev->len;
    c->data = malloc(ev->len + 1);
    assert_non_null(c->data);
    if (ev->len)
        memcpy(c->data, ev->data, ev->len);
    c->data[ev->len] = 0;
    c->value_err = ev->value_err;
    c->value = ev->value;
    /* Re-point a STR/BYTES/JSON value into the copy (after the type). */
    if (ev->value.type >= MS_TYPE_STR)
        c->value.u.buf.ptr = c->data + 1;
}

static void list_free(ev_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->ev[i].data);
    l->n = 0;
}

/* Decodes s fed in pieces of `piece` bytes (0: all at once), keeping the
 * unused rest as a real caller does. */
static void decode(const uint8_t *s, size_t n, size_t piece, ev_list *l)
{
    ms_client_decoder d;
    ms_client_decoder_init(&d, 0);
    ms_buf b = {0};
    size_t pos = 0;
    l->rc = 0;
    while (pos < n) {
        size_t k = piece ? piece : n;
        if (k > n - pos)
            k = n - pos;
        assert_int_equal(ms_buf_append(&b, s + pos, k), 0);
        pos += k;
        for (;;) {
            size_t used;
            ms_client_event ev;
            int rc = ms_client_decoder_next(&d, ms_buf_head(&b),
                                            ms_buf_size(&b), &used, &ev);
            l->rc = rc;
            ms_buf_consume(&b, used);
            if (rc != 1)
                break;
            keep(l, &ev);
        }
        if (l->rc < 0)
            break;
    }
    if (l->rc == 0)
        assert_int_equal(ms_buf_size(&b), 0);
    ms_buf_free(&b);
    ms_client_decoder_free(&d);
}

/* ---- the transcript -------------------------------------------------------- */

static void check_a(const ev_list *l)
{
    /* A: ERR (pymscada's notice for a new name), ID 2, three LIST answers,
     * the RTA forwarded from B. */
    assert_int_equal(l->rc, 0);
    assert_int_equal(l->n, 6);
    assert_int_equal(l->ev[0].kind, MS_CEV_ERR);
    assert_int_equal(l->ev[0].tag_id, 0);
    assert_string_equal((char *)l->ev[0].data, "ID b'flow' undefined");
    assert_int_equal(l->ev[1].kind, MS_CEV_ID);
    assert_int_equal(l->ev[1].tag_id, 2);
    assert_int_equal(l->ev[1].len, 4);
    assert_memory_equal(l->ev[1].data, "flow", 4);
    for (int i = 2; i < 5; i++) {
        assert_int_equal(l->ev[i].kind, MS_CEV_LIST);
        assert_int_equal(l->ev[i].tag_id, 0);
        assert_string_equal((char *)l->ev[i].data, "flow");
        char text[8];
        const char *names[4];
        memcpy(text, l->ev[i].data, 5);
        assert_int_equal(ms_client_list_split(text, 4, names, 4), 1);
        assert_string_equal(names[0], "flow");
    }
    const ev_copy *r = &l->ev[5];
    assert_int_equal(r->kind, MS_CEV_RTA);
    assert_int_equal(r->tag_id, 2);
    /* Forwarded with the tag's time_us (A's last set), not B's. */
    assert_true(r->time_us == T0 + 1);
    assert_int_equal(r->value_err, 0);
    assert_int_equal(r->value.type, MS_TYPE_JSON);
    assert_int_equal(r->value.u.buf.len, 10);
    assert_memory_equal(r->value.u.buf.ptr, "{\"ask\": 1}", 10);
}

static void check_b(const ev_list *l)
{
    assert_int_equal(l->rc, 0);
    assert_int_equal(l->n, 7);
    assert_int_equal(l->ev[0].kind, MS_CEV_ID);
    assert_int_equal(l->ev[0].tag_id, 2);
    assert_string_equal((char *)l->ev[0].data, "flow");
    /* SUB reply: never set. */
    assert_int_equal(l->ev[1].kind, MS_CEV_SET);
    assert_int_equal(l->ev[1].tag_id, 2);
    assert_int_equal(l->ev[1].len, 0);
    assert_int_equal(l->ev[1].value.type, MS_TYPE_NONE);
    assert_int_equal(l->ev[1].value_err, 0);
    /* 12.5, then 7 twice (the SET and the GET reply). */
    assert_int_equal(l->ev[2].kind, MS_CEV_SET);
    assert_int_equal(l->ev[2].value.type, MS_TYPE_FLOAT);
    assert_true(l->ev[2].value.u.f == 12.5);
    assert_true(l->ev[2].time_us == T0);
    for (int i = 3; i < 5; i++) {
        assert_int_equal(l->ev[i].kind, MS_CEV_SET);
        assert_int_equal(l->ev[i].value.type, MS_TYPE_INT);
        assert_int_equal(l->ev[i].value.u.i, 7);
        assert_true(l->ev[i].time_us == T0 + 1);
    }
    /* The 100000-byte STR payload (type byte + 99999 'x'), re-assembled
     * from its two chunks. */
    const ev_copy *s = &l->ev[5];
    assert_int_equal(s->kind, MS_CEV_SET);
    assert_int_equal(s->tag_id, 2);
    assert_int_equal(s->value_err, 0);
    assert_int_equal(s->value.type, MS_TYPE_STR);
    assert_int_equal(s->len, 100000);
    assert_int_equal(s->value.u.buf.len, 99999);
    for (size_t i = 0; i < 99999; i++)
        if (s->value.u.buf.ptr[i] != 'x')
            fail_msg("byte %zu of the STR is 0x%02x", i,
                     s->value.u.buf.ptr[i]);
    /* GET of id 999: ERR with the request's tag_id. */
    assert_int_equal(l->ev[6].kind, MS_CEV_ERR);
    assert_int_equal(l->ev[6].tag_id, 999);
    assert_true(l->ev[6].len > 0);
}

static void test_transcript_whole(void **state)
{
    (void)state;
    json_t *doc = transcript();
    ms_buf a = {0}, b = {0};
    stream_of(doc, "A", &a);
    stream_of(doc, "B", &b);
    ev_list l = {0};
    decode(ms_buf_head(&a), ms_buf_size(&a), 0, &l);
    check_a(&l);
    list_free(&l);
    decode(ms_buf_head(&b), ms_buf_size(&b), 0, &l);
    check_b(&l);
    list_free(&l);
    ms_buf_free(&a);
    ms_buf_free(&b);
    json_decref(doc);
}

static void test_transcript_pieces(void **state)
{
    (void)state;
    json_t *doc = transcript();
    ms_buf a = {0}, b = {0};
    stream_of(doc, "A", &a);
    stream_of(doc, "B", &b);
    static const size_t pieces[] = {1, 13, 14, 15, 4096, 65535};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        ev_list l = {0};
        /* Byte by byte is slow for B's 100 kB: A only for piece 1. */
        decode(ms_buf_head(&a), ms_buf_size(&a), pieces[i], &l);
        check_a(&l);
        list_free(&l);
        if (pieces[i] > 1) {
            decode(ms_buf_head(&b), ms_buf_size(&b), pieces[i], &l);
            check_b(&l);
            list_free(&l);
        }
    }
    ms_buf_free(&a);
    ms_buf_free(&b);
    json_decref(doc);
}

/* Our encoder writes exactly what pymscada's clients sent. */
static void test_encode_matches_transcript(void **state)
{
    (void)state;
    json_t *doc = transcript();
    ms_buf want = {0}, got = {0};

    sent_by(doc, 0, &want); /* ID flow */
    assert_int_equal(ms_client_put(&got, MS_CMD_ID, 0, 0,
                                   (const uint8_t *)"flow", 4, NULL, 0), 0);
    assert_int_equal(ms_buf_size(&got), ms_buf_size(&want));
    assert_memory_equal(ms_buf_head(&got), ms_buf_head(&want),
                        ms_buf_size(&want));

    want.off = want.len = got.off = got.len = 0;
    sent_by(doc, 2, &want); /* SUB 2 */
    assert_int_equal(ms_client_put(&got, MS_CMD_SUB, 2, 0, NULL, 0, NULL, 0),
                     0);
    assert_memory_equal(ms_buf_head(&got), ms_buf_head(&want), 14);

    want.off = want.len = got.off = got.len = 0;
    sent_by(doc, 3, &want); /* SET 12.5 */
    ms_value f = ms_value_float(12.5);
    assert_int_equal(ms_client_put_value(&got, MS_CMD_SET, 2, T0, &f), 0);
    assert_int_equal(ms_buf_size(&got), ms_buf_size(&want));
    assert_memory_equal(ms_buf_head(&got), ms_buf_head(&want),
                        ms_buf_size(&want));

    want.off = want.len = got.off = got.len = 0;
    sent_by(doc, 4, &want); /* SET 7 */
    ms_value i7 = ms_value_int(7);
    assert_int_equal(ms_client_put_value(&got, MS_CMD_SET, 2, T0 + 1, &i7),
                     0);
    assert_memory_equal(ms_buf_head(&got), ms_buf_head(&want),
                        ms_buf_size(&want));

    want.off = want.len = got.off = got.len = 0;
    sent_by(doc, 9, &want); /* RTA {"ask": 1} */
    ms_value rq = ms_value_buf(MS_TYPE_JSON, "{\"ask\": 1}", 10);
    uint64_t t = ms_get_u64(ms_buf_head(&want) + 6);
    assert_int_equal(ms_client_put_value(&got, MS_CMD_RTA, 2, t, &rq), 0);
    assert_int_equal(ms_buf_size(&got), ms_buf_size(&want));
    assert_memory_equal(ms_buf_head(&got), ms_buf_head(&want),
                        ms_buf_size(&want));

    want.off = want.len = got.off = got.len = 0;
    sent_by(doc, 10, &want); /* SET of a 100000-byte payload, chunked */
    char *x = malloc(99999);
    assert_non_null(x);
    memset(x, 'x', 99999);
    ms_value s = ms_value_buf(MS_TYPE_STR, x, 99999);
    t = ms_get_u64(ms_buf_head(&want) + 6);
    assert_int_equal(ms_client_put_value(&got, MS_CMD_SET, 2, t, &s), 0);
    assert_int_equal(ms_buf_size(&got), ms_buf_size(&want));
    assert_memory_equal(ms_buf_head(&got), ms_buf_head(&want),
                        ms_buf_size(&want));
    free(x);

    ms_buf_free(&want);
    ms_buf_free(&got);
    json_decref(doc);
}

/* ---- chunking ------------------------------------------------------------- */

/* Two-part payloads cut at every interesting place come back whole, and
 * a payload of k x MAX_LEN ends with an empty chunk. */
static void test_put_chunks(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 65520, 65521, 65522, 131042, 200001};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        uint8_t *p = malloc(n + 1);
        assert_non_null(p);
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)(i * 31 + si);
        size_t cuts[] = {0, 1, n / 2, n ? n - 1 : 0, n};
        for (size_t ci = 0; ci < 5; ci++) {
            size_t cut = cuts[ci] > n ? n : cuts[ci];
            ms_buf b = {0};
            assert_int_equal(ms_client_put(&b, MS_CMD_SET, 7, 99, p, cut,
                                           p + cut, n - cut),
                             0);
            assert_int_equal(ms_buf_size(&b), ms_frame_wire_size(n));
            /* The last header says size < MAX_LEN. */
            size_t chunks = n / MS_FRAME_MAX_LEN + 1;
            const uint8_t *last =
                ms_buf_head(&b) + (chunks - 1) * (MS_FRAME_HEAD +
                                                  MS_FRAME_MAX_LEN);
            assert_int_equal(ms_get_u16(last + 4), n % MS_FRAME_MAX_LEN);
            ev_list l = {0};
            decode(ms_buf_head(&b), ms_buf_size(&b), 0, &l);
            assert_int_equal(l.rc, 0);
            assert_int_equal(l.n, 1);
            assert_int_equal(l.ev[0].tag_id, 7);
            assert_int_equal(l.ev[0].len, n);
            if (n)
                assert_memory_equal(l.ev[0].data, p, n);
            list_free(&l);
            ms_buf_free(&b);
        }
        free(p);
    }
}

/* Every value type survives put_value -> decoder. */
static void test_value_round_trip(void **state)
{
    (void)state;
    static const char json[] = "[1, {\"a\": null}]";
    static const uint8_t raw[] = {0, 1, 2, 255};
    ms_value vals[] = {
        ms_value_none(),
        ms_value_int(INT64_MIN),
        ms_value_int(-1),
        ms_value_float(-0.0),
        ms_value_float(1e300),
        ms_value_buf(MS_TYPE_STR, "h\xc3\xa9llo", 6),
        ms_value_buf(MS_TYPE_STR, "", 0),
        ms_value_buf(MS_TYPE_BYTES, raw, sizeof raw),
        ms_value_buf(MS_TYPE_JSON, json, sizeof json - 1),
    };
    ms_buf b = {0};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        assert_int_equal(ms_client_put_value(&b, MS_CMD_SET, (uint16_t)i + 1,
                                             i, &vals[i]),
                         0);
    ev_list l = {0};
    decode(ms_buf_head(&b), ms_buf_size(&b), 3, &l);
    assert_int_equal(l.n, sizeof vals / sizeof vals[0]);
    for (size_t i = 0; i < l.n; i++) {
        const ms_value *a = &vals[i], *g = &l.ev[i].value;
        assert_int_equal(l.ev[i].value_err, 0);
        assert_int_equal(g->type, a->type);
        assert_int_equal(l.ev[i].tag_id, i + 1);
        if (a->type == MS_TYPE_INT)
            assert_true(g->u.i == a->u.i);
        else if (a->type == MS_TYPE_FLOAT)
            assert_memory_equal(&g->u.f, &a->u.f, sizeof a->u.f);
        else if (a->type != MS_TYPE_NONE) {
            assert_int_equal(g->u.buf.len, a->u.buf.len);
            if (a->u.buf.len)
                assert_memory_equal(g->u.buf.ptr, a->u.buf.ptr,
                                    a->u.buf.len);
        }
    }
    list_free(&l);
    ms_buf_free(&b);
}

/* ---- odd input ------------------------------------------------------------- */

static void test_bad_values_and_commands(void **state)
{
    (void)state;
    ms_buf b = {0};
    static const uint8_t bad_int[] = {MS_TYPE_INT, 1, 2};
    static const uint8_t bad_type[] = {9, 1};
    static const uint8_t bad_utf8[] = {MS_TYPE_STR, 0xff, 0xfe};
    ms_client_put(&b, MS_CMD_SET, 1, 0, bad_int, sizeof bad_int, NULL, 0);
    ms_client_put(&b, MS_CMD_SET, 1, 0, bad_type, sizeof bad_type, NULL, 0);
    ms_client_put(&b, MS_CMD_RTA, 1, 0, bad_utf8, sizeof bad_utf8, NULL, 0);
    ms_client_put(&b, MS_CMD_SUB, 1, 0, NULL, 0, NULL, 0);
    ms_client_put(&b, 77, 1, 0, NULL, 0, NULL, 0);
    ev_list l = {0};
    decode(ms_buf_head(&b), ms_buf_size(&b), 0, &l);
    assert_int_equal(l.n, 5);
    assert_int_equal(l.ev[0].kind, MS_CEV_SET);
    assert_int_equal(l.ev[0].value_err, MS_EPROTO);
    assert_int_equal(l.ev[0].value.type, MS_TYPE_NONE);
    assert_int_equal(l.ev[1].value_err, MS_ETYPE);
    assert_int_equal(l.ev[2].kind, MS_CEV_RTA);
    assert_int_equal(l.ev[2].value_err, MS_EPROTO);
    assert_int_equal(l.ev[3].kind, MS_CEV_OTHER);
    assert_int_equal(l.ev[4].kind, MS_CEV_OTHER);
    list_free(&l);

    /* A bad version byte: the stream can't be trusted. */
    uint8_t *p = ms_buf_head(&b);
    p[0] = 7;
    decode(p, ms_buf_size(&b), 0, &l);
    assert_int_equal(l.rc, MS_EPROTO);
    assert_int_equal(l.n, 0);
    ms_buf_free(&b);
}

static void test_cap(void **state)
{
    (void)state;
    size_t n = 3 * MS_FRAME_MAX_LEN;
    uint8_t *p = calloc(1, n);
    assert_non_null(p);
    ms_buf b = {0};
    ms_client_put(&b, MS_CMD_SET, 3, 0, p, n, NULL, 0);
    ms_client_decoder d;
    ms_client_decoder_init(&d, 2 * MS_FRAME_MAX_LEN);
    size_t used;
    ms_client_event ev;
    assert_int_equal(ms_client_decoder_next(&d, ms_buf_head(&b),
                                            ms_buf_size(&b), &used, &ev),
                     MS_ETOOBIG);
    ms_client_decoder_free(&d);
    ms_buf_free(&b);
    free(p);
}

static void test_names_and_lists(void **state)
{
    (void)state;
    assert_true(ms_client_name_valid("flow", 4));
    assert_true(ms_client_name_valid("h\xc3\xa9", 3));
    assert_false(ms_client_name_valid("", 0));
    assert_false(ms_client_name_valid("a b", 3));
    assert_false(ms_client_name_valid("a\n", 2));
    assert_false(ms_client_name_valid("\xff", 1));
    char big[300];
    memset(big, 'a', sizeof big);
    assert_true(ms_client_name_valid(big, 255));
    assert_false(ms_client_name_valid(big, 256));

    char text[] = "  one two  three ";
    const char *names[8];
    size_t n = ms_client_list_split(text, strlen(text), names, 8);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "one");
    assert_string_equal(names[1], "two");
    assert_string_equal(names[2], "three");
    char text2[] = "a b c";
    assert_int_equal(ms_client_list_split(text2, 5, names, 2), 2);
    char empty[] = "";
    assert_int_equal(ms_client_list_split(empty, 0, names, 8), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transcript_whole),
        cmocka_unit_test(test_transcript_pieces),
        cmocka_unit_test(test_encode_matches_transcript),
        cmocka_unit_test(test_put_chunks),
        cmocka_unit_test(test_value_round_trip),
        cmocka_unit_test(test_bad_values_and_commands),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_names_and_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
