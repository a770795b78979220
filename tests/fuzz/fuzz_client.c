/* Fuzz target for the bus client's decoder (src/client/client_proto.c) and
 * for what the client does with each event (the tag table, values, change
 * callbacks, RTA handlers, ERR matching), on a client that is not
 * connected, so nothing is sent.
 *
 * Input layout:
 *   byte 0     piece size - 1 for feeding the stream (0: all at once);
 *              bit 7 picks a small cap (65536 bytes) instead of 64 MiB
 *   the rest   the bytes a bus sends
 *
 * Checks, with abort(): every event's kind matches its command; a decoded
 * SET/RTA value encodes back to the very payload; LIST answers split into
 * names without spaces; the decoder never claims more bytes than given; and
 * the tags only ever hold values of their own type. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "client/client_tags.h"
#include "core/buf.h"
#include "mscada/error.h"
#include "mscada/log.h"

#define CHECK(c)                                                             \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "fuzz_client: %s:%d: check failed: %s\n",        \
                    __FILE__, __LINE__, #c);                                 \
            abort();                                                         \
        }                                                                    \
    } while (0)

static const struct {
    const char *name;
    ms_type type;
} tag_defs[] = {
    {"a", MS_TYPE_INT},  {"b", MS_TYPE_FLOAT}, {"c", MS_TYPE_STR},
    {"d", MS_TYPE_BYTES}, {"e", MS_TYPE_JSON}, {"flow", MS_TYPE_NONE},
};
#define NTAGS (sizeof tag_defs / sizeof tag_defs[0])

/* A change callback that breaks the rules on purpose. */
static void on_change(ms_tag *t, void *arg)
{
    ms_tag **all = arg;
    ms_value v;
    CHECK(ms_tag_get(t, &v) == 0);
    CHECK(ms_tag_type(t) == MS_TYPE_NONE || v.type == ms_tag_type(t));
    /* Setting the tag that fired is refused, never recursed. */
    CHECK(ms_tag_set(t, &v, 0) == MS_EBUSY);
    /* Another tag is fine (or of the wrong type). */
    ms_tag *other = all[(size_t)(t == all[0])];
    int rc = ms_tag_set(other, &v, 0);
    CHECK(rc == 0 || rc == 1 || rc == MS_ETYPE || rc == MS_EINVAL);
}

static void on_rta(ms_tag *t, const ms_value *req, void *arg)
{
    (void)arg;
    int rc = ms_tag_set(t, req, 0);
    CHECK(rc == 0 || rc == 1 || rc == MS_ETYPE || rc == MS_EINVAL);
}

static void check_event(const ms_client_event *ev)
{
    switch (ev->cmd) {
    case MS_CMD_ID: CHECK(ev->kind == MS_CEV_ID); break;
    case MS_CMD_SET: CHECK(ev->kind == MS_CEV_SET); break;
    case MS_CMD_RTA: CHECK(ev->kind == MS_CEV_RTA); break;
    case MS_CMD_LIST: CHECK(ev->kind == MS_CEV_LIST); break;
    case MS_CMD_ERR: CHECK(ev->kind == MS_CEV_ERR); break;
    default: CHECK(ev->kind == MS_CEV_OTHER); break;
    }
    if (ev->kind == MS_CEV_SET || ev->kind == MS_CEV_RTA) {
        if (ev->value_err == 0) {
            /* The value encodes back to the same bytes. */
            ms_buf b = {0};
            CHECK(ms_client_put_value(&b, ev->cmd, ev->tag_id, ev->time_us,
                                      &ev->value) == 0);
            CHECK(ms_buf_size(&b) == ms_frame_wire_size(ev->len));
            if (ev->len < MS_FRAME_MAX_LEN)
                CHECK(!memcmp(ms_buf_head(&b) + MS_FRAME_HEAD, ev->data,
                              ev->len));
            ms_buf_free(&b);
        } else {
            CHECK(ev->value_err == MS_ETYPE || ev->value_err == MS_EPROTO);
            CHECK(ev->value.type == MS_TYPE_NONE);
        }
    }
    if (ev->kind == MS_CEV_LIST) {
        char *text = malloc(ev->len + 1);
        const char *names[64];
        CHECK(text != NULL);
        if (ev->len)
            memcpy(text, ev->data, ev->len);
        text[ev->len] = 0;
        size_t n = ms_client_list_split(text, ev->len, names, 64);
        for (size_t i = 0; i < n; i++)
            for (const char *p = names[i]; p == names[i] || *p; p++)
                CHECK((unsigned char)*p > ' ');
        free(text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ms_log_setup("fuzz_client", MS_LOG_ERROR);
    size_t piece = (size_t)(data[0] & 0x7f);
    size_t cap = (data[0] & 0x80) ? 65536 : 0;
    data++;
    size--;

    /* A client that never connects: everything but the sending runs. */
    ms_client *c = calloc(1, sizeof *c);
    CHECK(c != NULL);
    ms_client_config_init(&c->cfg);
    c->state = MS_CLIENT_CONNECTING;
    ms_client_decoder_init(&c->dec, cap);
    ms_tag *tags[NTAGS];
    for (size_t i = 0; i < NTAGS; i++) {
        CHECK(ms_tag_new(c, tag_defs[i].name, tag_defs[i].type, &tags[i]) ==
              0);
        CHECK(ms_tag_watch(tags[i], on_change, tags) == 0);
        ms_tag_on_rta(tags[i], on_rta, NULL);
    }
    ms_tag_set_int(tags[0], 1); /* an own value, so SUB replies compare */

    ms_buf b = {0};
    size_t pos = 0;
    int rc = 0;
    while (pos < size && rc >= 0) {
        size_t k = piece ? piece : size;
        if (k > size - pos)
            k = size - pos;
        CHECK(ms_buf_append(&b, data + pos, k) == 0);
        pos += k;
        for (;;) {
            size_t used = (size_t)-1;
            ms_client_event ev;
            rc = ms_client_decoder_next(&c->dec, ms_buf_head(&b),
                                        ms_buf_size(&b), &used, &ev);
            CHECK(used <= ms_buf_size(&b));
            ms_buf_consume(&b, used);
            if (rc != 1)
                break;
            check_event(&ev);
            ms_client_dispatch(c, &ev);
        }
    }
    for (size_t i = 0; i < NTAGS; i++) {
        ms_value v;
        if (ms_tag_get(tags[i], &v) == 0)
            CHECK(tag_defs[i].type == MS_TYPE_NONE ||
                  v.type == tag_defs[i].type);
    }
    ms_buf_free(&b);
    ms_tags_free(c);
    ms_reqs_free(c);
    ms_client_decoder_free(&c->dec);
    free(c);
    return 0;
}
