/* Audit line and its CSV row (www_auditline.h). */
#include "www/codec/www_auditline.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mscada/mstime.h"

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

char *ms_www_audit_line(const ms_www_audit_rec *r)
{
    char iso[40];
    ms_time_iso(r->time_us, iso, sizeof iso);
    json_t *o = json_object();
    json_object_set_new(o, "time", json_string(iso));
    json_object_set_new(o, "time_us", json_integer((json_int_t)r->time_us));
    json_object_set_new(o, "event", str_or_null(r->event));
    json_object_set_new(o, "user", str_or_null(r->user));
    json_object_set_new(o, "role", str_or_null(r->role));
    json_object_set_new(o, "peer", str_or_null(r->peer));
    json_object_set_new(o, "tag", str_or_null(r->tag));
    json_object_set(o, "old", r->old_value ? (json_t *)r->old_value
                                           : json_null());
    json_object_set(o, "new", r->new_value ? (json_t *)r->new_value
                                           : json_null());
    json_object_set_new(o, "result", json_string(r->accepted ? "accepted"
                                                             : "refused"));
    json_object_set_new(o, "why", str_or_null(r->why));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
    json_decref(o);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        free(s);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = 0;
    return line;
}

static const char *const cols[] = {"time", "event", "user", "role", "peer",
                                   "tag", "old", "new", "result", "why"};
#define NCOLS (sizeof cols / sizeof cols[0])

const char *ms_www_audit_csv_header(void)
{
    return "time,event,user,role,peer,tag,old,new,result,why\n";
}

/* RFC 4180: quoted when it holds a comma, quote or line break. */
static void csv_field(ms_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        ms_buf_append(b, s, strlen(s));
        return;
    }
    ms_buf_append(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            ms_buf_append(b, "\"", 1);
        ms_buf_append(b, s, 1);
    }
    ms_buf_append(b, "\"", 1);
}

int ms_www_audit_csv(const char *line, size_t len, uint64_t from_us,
                     uint64_t to_us, char **out)
{
    *out = NULL;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *t = json_object_get(o, "time_us");
    if (!json_is_object(o) || !json_is_integer(t) ||
        !json_is_string(json_object_get(o, "event"))) {
        json_decref(o);
        return -1;
    }
    uint64_t us = (uint64_t)json_integer_value(t);
    if (us < from_us || us >= to_us) {
        json_decref(o);
        return 0;
    }
    ms_buf b = {0};
    for (size_t i = 0; i < NCOLS; i++) {
        json_t *v = json_object_get(o, cols[i]);
        if (i)
            ms_buf_append(&b, ",", 1);
        if (!v || json_is_null(v))
            continue;
        if (json_is_string(v) && i != 6 && i != 7) {
            csv_field(&b, json_string_value(v));
        } else { /* values as JSON: "old" 1.5, a string "on" stays "on" */
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                                        JSON_PRESERVE_ORDER);
            if (s)
                csv_field(&b, s);
            free(s);
        }
    }
    ms_buf_append(&b, "\n", 2); /* with the NUL */
    json_decref(o);
    *out = (char *)ms_buf_head(&b);
    if (!*out) {
        ms_buf_free(&b);
        return -1;
    }
    return 1;
}
