/* The bus's text port: line input turned into core messages, core output
 * formatted as lines. Pure over the core: no I/O here. */
#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_text.h"
#include "core/dtoa.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"
#include "mscada/value.h"

static const char help_line[] =
    "HELP list [^prefix|suffix$|part] | get TAG... | set TAG VALUE | "
    "sub TAG... | unsub TAG... | help | quit  (VALUE is JSON: 5, 2.5, "
    "\"text\", [1,2]; a bare word is a string)\n";

static bool queue_str(ms_bus_conn *conn, const char *s)
{
    return ms_bus_core_queue(conn, (const uint8_t *)s, strlen(s));
}

void ms_bus_text_greet(ms_bus_conn *conn)
{
    queue_str(conn, "# mscada bus text port; type help\n");
}

/* ---- formatting ----------------------------------------------------------- */

static int put(ms_buf *out, const char *s, size_t n)
{
    return ms_buf_append(out, s, n);
}

/* Bytes of the UTF-8 sequence starting at p, or 0 when it is not valid. */
static size_t utf8_seq(const uint8_t *p, size_t left)
{
    size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2
                               : (p[0] & 0xF0) == 0xE0 ? 3
                               : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || n > left || !ms_utf8_valid(p, n))
        return 0;
    return n;
}

/* A JSON string of any bytes: invalid UTF-8 bytes become \u00XX. */
static int put_json_string(ms_buf *out, const uint8_t *p, size_t len)
{
    if (put(out, "\"", 1) < 0)
        return MS_ENOMEM;
    for (size_t i = 0; i < len;) {
        uint8_t c = p[i];
        char esc[8];
        const char *e = NULL;
        size_t en = 2;
        if (c == '"')
            e = "\\\"";
        else if (c == '\\')
            e = "\\\\";
        else if (c == '\n')
            e = "\\n";
        else if (c == '\r')
            e = "\\r";
        else if (c == '\t')
            e = "\\t";
        size_t n = e ? 1 : utf8_seq(p + i, len - i);
        if (!e && (n == 0 || c < 0x20 || c == 0x7f)) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            e = esc;
            en = 6;
            n = 1;
        }
        if ((e ? put(out, e, en) : put(out, (const char *)p + i, n)) < 0)
            return MS_ENOMEM;
        i += n;
    }
    return put(out, "\"", 1);
}

/* As Python's json writes a float: 3 -> 3.0, NaN, Infinity. */
static int put_double(ms_buf *out, double d)
{
    char s[MS_DTOA_MAX];
    return put(out, s, ms_dtoa(d, MS_DTOA_PYTHON, s));
}

int ms_bus_text_format_value(ms_buf *out, const uint8_t *value, size_t len)
{
    ms_value v;
    if (len == 0)
        return put(out, "null", 4);
    ms_type t = (ms_type)value[0];
    if (t == MS_TYPE_INT || t == MS_TYPE_FLOAT) {
        if (ms_value_decode(value, len, &v) < 0)
            return put_json_string(out, value + 1, len - 1);
        if (t == MS_TYPE_FLOAT)
            return put_double(out, v.u.f);
        char s[32];
        int n = snprintf(s, sizeof s, "%" PRId64, v.u.i);
        return put(out, s, (size_t)n);
    }
    if (t == MS_TYPE_BYTES) {
        static const char hex[] = "0123456789abcdef";
        uint8_t *w = ms_buf_reserve(out, 2 * (len - 1) + 2);
        if (!w)
            return MS_ENOMEM;
        *w++ = '"';
        for (size_t i = 1; i < len; i++) {
            *w++ = (uint8_t)hex[value[i] >> 4];
            *w++ = (uint8_t)hex[value[i] & 15];
        }
        *w++ = '"';
        ms_buf_commit(out, 2 * (len - 1) + 2);
        return 0;
    }
    if (t == MS_TYPE_JSON) {
        /* Re-written compact: the sender's newlines can't break our line. */
        json_t *j = json_loadb((const char *)value + 1, len - 1,
                               JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(j);
        int rc = s ? put(out, s, strlen(s))
                   : put_json_string(out, value + 1, len - 1);
        free(s);
        return rc;
    }
    return put_json_string(out, value + (t == MS_TYPE_STR), len - (t == MS_TYPE_STR));
}

/* ---- output: the text port's wire form ------------------------------------- */

/* "NAME VALUE TIME\n" with the tag's current value; the binary frame, if
 * any, is of no use here. */
static bool text_value(ms_bus_conn *conn, const ms_bus_tag *tag,
                       const uint8_t *frame, size_t n)
{
    (void)frame;
    (void)n;
    ms_buf line = {0};
    char ts[40];
    ms_time_iso(tag->time_us, ts, sizeof ts);
    bool ok = put(&line, tag->name, tag->name_len) == 0 &&
              put(&line, " ", 1) == 0 &&
              ms_bus_text_format_value(&line, tag->value, tag->len) == 0 &&
              put(&line, " ", 1) == 0 && put(&line, ts, strlen(ts)) == 0 &&
              put(&line, "\n", 1) == 0;
    ok = ok && ms_bus_core_queue(conn, ms_buf_head(&line), ms_buf_size(&line));
    ms_buf_free(&line);
    return ok;
}

/* A reply line for a core message: ERR, LIST, RTA; ID is silent. */
static void text_msg(ms_bus_conn *conn, uint8_t cmd, uint16_t tag_id,
                     uint64_t time_us, const uint8_t *data, size_t len)
{
    (void)time_us;
    ms_buf line = {0};
    bool ok = true;
    if (cmd == MS_CMD_ERR) {
        ok = put(&line, "ERR ", 4) == 0;
        /* ERR texts are ours, but may quote a client's bytes. */
        for (size_t i = 0; ok && i < len; i++) {
            char c = (char)(data[i] < 0x20 ? '?' : data[i]);
            ok = put(&line, &c, 1) == 0;
        }
    } else if (cmd == MS_CMD_LIST) {
        ok = put(&line, "LIST", 4) == 0 &&
             (len == 0 || (put(&line, " ", 1) == 0 &&
                           put(&line, (const char *)data, len) == 0));
    } else if (cmd == MS_CMD_RTA) {
        const ms_bus_tag *tag = ms_bus_tags_get(&conn->core->tags, tag_id);
        ok = tag && put(&line, "RTA ", 4) == 0 &&
             put(&line, tag->name, tag->name_len) == 0 &&
             put(&line, " ", 1) == 0 &&
             ms_bus_text_format_value(&line, data, len) == 0;
    } else {
        return; /* ID replies: the text port asks no ids */
    }
    if (ok && put(&line, "\n", 1) == 0)
        ms_bus_core_queue(conn, ms_buf_head(&line), ms_buf_size(&line));
    ms_buf_free(&line);
}

/* ---- input ---------------------------------------------------------------- */

/* An ERR line quoting a client's word, cut to 200 bytes so the line (and
 * its newline) always fits. */
static void reply_err(ms_bus_conn *conn, const char *fmt, const char *arg)
{
    char word[204], s[600];
    snprintf(word, sizeof word, "%s", arg);
    if (strlen(arg) > 200)
        strcpy(word + 200, "...");
    int n = snprintf(s, sizeof s - 1, fmt, word);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof s - 2)
        n = (int)sizeof s - 2;
    s[n] = '\n';
    ms_bus_core_queue(conn, (const uint8_t *)s, (size_t)n + 1);
}

/* The next space-separated word of *p (advanced past it), or NULL. */
static char *next_word(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *w = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return w;
}

static ms_bus_tag *find_tag(ms_bus_conn *conn, const char *name)
{
    return ms_bus_tags_find(&conn->core->tags, (const uint8_t *)name,
                            strlen(name));
}

/* False when the core refused it (its ERR line is queued). */
static bool send_msg(ms_bus_conn *conn, uint8_t cmd, uint16_t id,
                     const uint8_t *data, size_t len)
{
    ms_msg m = {cmd, id, 0, data, len};
    if (cmd == MS_CMD_SET)
        m.time_us = ms_time_now_us();
    return ms_bus_core_handle(conn, &m);
}

/* VALUE as JSON -> wire value in out; a bare word is a string. */
static int parse_value(const char *text, ms_buf *out)
{
    uint8_t wire[9];
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    long n;
    if (!j || json_is_string(j)) {
        const char *s = j ? json_string_value(j) : text;
        size_t len = j ? json_string_length(j) : strlen(text);
        int rc = ms_utf8_valid((const uint8_t *)s, len)
                     ? (ms_buf_append(out, "\x03", 1) < 0 ||
                        ms_buf_append(out, s, len) < 0 ? MS_ENOMEM : 0)
                     : MS_EINVAL;
        json_decref(j);
        return rc;
    }
    if (json_is_integer(j) || json_is_boolean(j)) {
        ms_value v = ms_value_int(json_is_boolean(j) ? json_is_true(j)
                                                     : json_integer_value(j));
        n = ms_value_encode(&v, wire, sizeof wire);
    } else if (json_is_real(j)) {
        ms_value v = ms_value_float(json_real_value(j));
        n = ms_value_encode(&v, wire, sizeof wire);
    } else if (json_is_array(j) || json_is_object(j)) {
        char *s = json_dumps(j, JSON_COMPACT);
        int rc = s && ms_buf_append(out, "\x05", 1) == 0 &&
                         ms_buf_append(out, s, strlen(s)) == 0
                     ? 0 : MS_ENOMEM;
        free(s);
        json_decref(j);
        return rc;
    } else {
        json_decref(j);
        return MS_EINVAL; /* null */
    }
    json_decref(j);
    return ms_buf_append(out, wire, (size_t)n);
}

static void do_set(ms_bus_conn *conn, char *args)
{
    char *name = next_word(&args);
    while (*args == ' ' || *args == '\t')
        args++;
    if (!name || !*args) {
        queue_str(conn, "ERR usage: set TAG VALUE\n");
        return;
    }
    if (!ms_tag_name_valid((const uint8_t *)name, strlen(name))) {
        reply_err(conn, "ERR invalid tag name '%s'", name);
        return;
    }
    ms_buf value = {0};
    if (parse_value(args, &value) < 0) {
        reply_err(conn, "ERR bad value '%s' (JSON, or a bare word)", args);
        ms_buf_free(&value);
        return;
    }
    ms_bus_tag *tag = find_tag(conn, name);
    if (!tag) {
        int err = 0;
        tag = ms_bus_tags_add(&conn->core->tags, (const uint8_t *)name,
                              strlen(name), 0, &err);
        if (!tag) {
            reply_err(conn, "ERR cannot create '%s': tag table full", name);
            ms_buf_free(&value);
            return;
        }
    }
    /* A refused SET (a value tags.yaml's type doesn't take) has its ERR. */
    if (send_msg(conn, MS_CMD_SET, tag->id, ms_buf_head(&value),
                 ms_buf_size(&value)))
        queue_str(conn, "OK\n");
    ms_buf_free(&value);
}

/* One line, NUL-terminated, without its end of line. */
static void handle_line(ms_bus_conn *conn, char *line)
{
    char *p = line;
    char *cmd = next_word(&p);
    if (!cmd)
        return;
    for (char *c = cmd; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (!strcmp(cmd, "list")) {
        char *filter = next_word(&p);
        if (!filter)
            filter = "^"; /* every tag */
        send_msg(conn, MS_CMD_LIST, 0, (const uint8_t *)filter,
                 strlen(filter));
    } else if (!strcmp(cmd, "get") || !strcmp(cmd, "sub") ||
               !strcmp(cmd, "unsub")) {
        uint8_t op = cmd[0] == 'g' ? MS_CMD_GET
                     : cmd[0] == 's' ? MS_CMD_SUB : MS_CMD_UNSUB;
        char *name = next_word(&p);
        if (!name) {
            reply_err(conn, "ERR usage: %s TAG...", cmd);
            return;
        }
        for (; name; name = next_word(&p)) {
            /* Looking never creates a tag. */
            ms_bus_tag *tag = find_tag(conn, name);
            if (!tag) {
                reply_err(conn, "ERR unknown tag '%s'", name);
                continue;
            }
            send_msg(conn, op, tag->id, NULL, 0);
            if (op == MS_CMD_UNSUB)
                queue_str(conn, "OK\n");
        }
    } else if (!strcmp(cmd, "set")) {
        do_set(conn, p);
    } else if (!strcmp(cmd, "help")) {
        queue_str(conn, help_line);
    } else if (!strcmp(cmd, "quit") || !strcmp(cmd, "exit")) {
        queue_str(conn, "BYE\n");
        conn->quit = true;
    } else {
        reply_err(conn, "ERR unknown command '%s'; try help", cmd);
    }
}

int ms_bus_text_input(ms_bus_conn *conn, const uint8_t *buf, size_t len,
                      size_t *used)
{
    size_t off = 0;
    while (off < len && !conn->closing && !conn->quit) {
        const uint8_t *nl = memchr(buf + off, '\n', len - off);
        if (!nl)
            break;
        size_t n = (size_t)(nl - (buf + off));
        if (n > MS_BUS_TEXT_LINE_MAX)
            break;
        char *line = malloc(n + 1);
        if (!line) {
            *used = off;
            ms_bus_core_fail(conn, "out of memory reading a text line");
            return MS_ENOMEM;
        }
        memcpy(line, buf + off, n);
        line[n] = '\0';
        if (n && line[n - 1] == '\r')
            line[n - 1] = '\0';
        conn->msgs_in++;
        conn->core->n.msgs_in++;
        if (memchr(line, '\0', n - (n && buf[off + n - 1] == '\r')))
            queue_str(conn, "ERR NUL byte in line\n");
        else
            handle_line(conn, line);
        free(line);
        off += n + 1;
    }
    if (len - off > MS_BUS_TEXT_LINE_MAX && !conn->quit && !conn->closing) {
        /* Tell the client why, then close once that line is written, as
         * after quit. */
        ms_log_warn("%s: text line over %d bytes; closing the connection",
                    conn->peer, MS_BUS_TEXT_LINE_MAX);
        char err[80];
        snprintf(err, sizeof err, "ERR line over %d bytes; closing the "
                 "connection\n", MS_BUS_TEXT_LINE_MAX);
        queue_str(conn, err);
        conn->quit = true;
        conn->core->n.dropped++;
    }
    conn->core->n.bytes_in += off;
    *used = off;
    return 0;
}

const ms_bus_proto ms_bus_proto_text = {
    .input = ms_bus_text_input, .msg = text_msg, .value = text_value};
