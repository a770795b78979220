/* RTA requests to the history author (docs/design.md §7): JSON in, a checked
 * request out. Pure: the caller answers it. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mscada/error.h"
#include "mscada/history_server.h"

static int fail(char *why, size_t cap, const char *fmt, const char *arg)
{
    if (why && cap)
        snprintf(why, cap, fmt, arg);
    return MS_EINVAL;
}

/* A JSON number as a double (integers exactly up to 2^53, which covers
 * every time in microseconds until the year 2255). */
static bool number(const json_t *v, double *out)
{
    if (json_is_integer(v)) {
        *out = (double)json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && isfinite(json_real_value(v))) {
        *out = json_real_value(v);
        return true;
    }
    return false;
}

/* One end of the range from key_us or key_ms: sets *us; *now when it is
 * -1, null or absent (with absent_now) — for end, "now". */
static int range_end(json_t *o, const char *key_us, const char *key_ms,
                     bool absent_now, uint64_t *us, bool *now, char *why,
                     size_t cap)
{
    double scale = 1;
    json_t *v = json_object_get(o, key_us);
    const char *key = key_us;
    if (!v) {
        v = json_object_get(o, key_ms);
        key = key_ms;
        scale = 1000;
    }
    *now = false;
    *us = 0;
    if (!v || json_is_null(v)) {
        *now = absent_now;
        return 0;
    }
    double d;
    if (!number(v, &d))
        return fail(why, cap, "%s must be a number", key);
    if (d == -1) {
        *now = absent_now;
        return 0;
    }
    if (d < 0)
        return fail(why, cap, "%s must be >= 0 (or -1 for now)", key);
    d *= scale;
    *us = d >= 18446744073709549568.0 ? UINT64_MAX : (uint64_t)d;
    return 0;
}

int ms_hist_request_parse(const char *json, size_t len, ms_hist_request *rq,
                          char *why, size_t cap)
{
    memset(rq, 0, sizeof *rq);
    json_error_t jerr;
    json_t *o = json_loadb(json, len, 0, &jerr);
    if (!o)
        return fail(why, cap, "not JSON: %s", jerr.text);
    int rc = 0;
    json_t *v;
    double d;
    if (!json_is_object(o)) {
        rc = fail(why, cap, "%s", "the request must be a JSON object");
        goto out;
    }
    v = json_object_get(o, "tagname");
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) >= sizeof rq->tagname ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        rc = fail(why, cap, "%s", "tagname must be a tag name (a string)");
        goto out;
    }
    memcpy(rq->tagname, json_string_value(v), json_string_length(v) + 1);
    /* __rqs_id__ is pymscada 2024's name for it: its web clients send that */
    const char *id_key = "__rta_id__";
    if (!(v = json_object_get(o, id_key)) || json_is_null(v))
        v = json_object_get(o, id_key = "__rqs_id__");
    if (v && !json_is_null(v)) {
        if (!number(v, &d) || d < 0 || d > 65535 || d != floor(d)) {
            rc = fail(why, cap, "%s must be 0 to 65535", id_key);
            goto out;
        }
        rq->rta_id = (uint16_t)d;
    }
    bool start_now;
    if ((rc = range_end(o, "start_us", "start_ms", false, &rq->start_us,
                        &start_now, why, cap)) < 0 ||
        (rc = range_end(o, "end_us", "end_ms", true, &rq->end_us,
                        &rq->end_now, why, cap)) < 0)
        goto out;
    if ((v = json_object_get(o, "max_points")) && !json_is_null(v)) {
        if (!number(v, &d) || d < 0 || d != floor(d) || d > 1e9) {
            rc = fail(why, cap, "%s", "max_points must be a whole number");
            goto out;
        }
        rq->max_points = (size_t)d;
    }
out:
    json_decref(o);
    return rc;
}
