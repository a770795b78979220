/* tags.yaml -> ms_tagdesc (pymscada's format, docs/design.md §5): checks every
 * property with a file:line:col error, types `init` by the tag's type
 * (list/dict become compact JSON text through jansson) and owns the
 * resulting strings. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/yaml11.h"
#include "mscada/conf.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/tagdesc.h"

#define TAG_NAME_MAX 255
#define TAG_DP_MAX 64

/* The keys mscada reads, then pymscada's keys for modules mscada has not
 * (alarms, groups): accepted without a warning, so that a pymscada
 * tags.yaml passes `mscada validate`, which fails on warnings. */
static const char *const tag_keys[] = {"desc",  "type",   "units", "dp",
                                       "min",   "max",    "deadband",
                                       "init",  "multi",  "format",
                                       "alarm", "group",  NULL};

static const struct {
    const char *name;
    ms_type type;
} tag_types[] = {
    {"int", MS_TYPE_INT},     {"float", MS_TYPE_FLOAT},
    {"str", MS_TYPE_STR},     {"bytes", MS_TYPE_BYTES},
    {"list", MS_TYPE_JSON},   {"dict", MS_TYPE_JSON},
};

/* A property's value; an empty (null) value counts as absent, as pymscada's
 * None does. */
static const ms_conf_node *prop(const ms_conf_node *map, const char *key)
{
    const ms_conf_node *n = ms_conf_get(map, key);
    if (n && n->kind == MS_CONF_SCALAR && n->null)
        return NULL;
    return n;
}

/* Plain words that YAML 1.1 (pymscada's PyYAML) reads as booleans. */
static bool yaml11_bool(const ms_conf_node *n, bool *val)
{
    static const char *const t[] = {"yes", "Yes", "YES", "true", "True",
                                    "TRUE", "on", "On", "ON"};
    static const char *const f[] = {"no", "No", "NO", "false", "False",
                                    "FALSE", "off", "Off", "OFF"};
    if (n->kind != MS_CONF_SCALAR || n->quoted)
        return false;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcmp(n->text, t[i]) == 0) {
            *val = true;
            return true;
        }
        if (strcmp(n->text, f[i]) == 0) {
            *val = false;
            return true;
        }
    }
    return false;
}

/* Text that leaves this process (HMI, bus) must be UTF-8 without NULs. */
static int dup_text(const ms_conf_node *n, const char *what, char **out,
                    ms_conf_error *err)
{
    const char *s;
    int rc = ms_conf_str(n, what, &s, err);
    if (rc)
        return rc;
    if (!ms_utf8_valid((const uint8_t *)s, n->len))
        return ms_conf_fail(err, n, "%s must be valid UTF-8 text", what);
    if (!(*out = strdup(s)))
        return MS_ENOMEM;
    return 0;
}

static int check_name(const ms_conf_node *k, ms_conf_error *err)
{
    if (k->null || k->len == 0)
        return ms_conf_fail(err, k, "tag name must not be empty or null");
    if (k->len > TAG_NAME_MAX)
        return ms_conf_fail(err, k, "tag name is longer than %d bytes",
                            TAG_NAME_MAX);
    if (!ms_utf8_valid((const uint8_t *)k->text, k->len))
        return ms_conf_fail(err, k, "tag name must be valid UTF-8");
    if (!ms_tag_name_valid((const uint8_t *)k->text, k->len))
        return ms_conf_fail(err, k, "tag name '%s' must not contain "
                                    "spaces or control characters",
                            k->text);
    return 0;
}

/* ---- init of list/dict tags: YAML -> JSON ---------------------------------- */

/* Significant digits that give d back, at least `from`: the document is
 * dumped with the largest, so 0.1 dumps as 0.1 and nothing loses bits. */
static int digits_needed(double d, int from)
{
    char buf[40];
    for (int p = from; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            return p;
    }
    return 17;
}

/* Plain scalars are typed exactly as pymscada's loader would (null, YAML
 * 1.1 booleans and numbers: 010 is 8, 1e3 is text); quoted ones are
 * strings. `bad` gets the node that could not be converted. */
static json_t *to_json(const ms_conf_node *n, int *prec,
                       const ms_conf_node **bad)
{
    json_t *j = NULL;
    if (n->kind == MS_CONF_SCALAR) {
        int64_t iv;
        double dv;
        bool bv;
        if (n->null)
            return json_null();
        if (yaml11_bool(n, &bv))
            return json_boolean(bv);
        if (!n->quoted && ms_yaml11_int(n->text, n->len, &iv))
            return json_integer(iv);
        if (!n->quoted && ms_yaml11_float(n->text, n->len, &dv)) {
            if (!isfinite(dv)) {
                *bad = n;
                return NULL; /* JSON has no inf or nan */
            }
            *prec = digits_needed(dv, *prec);
            j = json_real(dv);
        } else {
            j = json_stringn(n->text, n->len);
        }
        if (!j)
            *bad = n;
        return j;
    }
    if (n->kind == MS_CONF_SEQ) {
        if (!(j = json_array()))
            return NULL;
        for (size_t i = 0; i < n->n; i++) {
            json_t *it = to_json(n->items[i], prec, bad);
            if (!it || json_array_append_new(j, it) != 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    }
    if (!(j = json_object()))
        return NULL;
    for (size_t i = 0; i < n->n; i++) {
        const ms_conf_node *k = n->keys[i];
        json_t *it = to_json(n->items[i], prec, bad);
        if (!it) {
            json_decref(j);
            return NULL;
        }
        /* json_object_setn_new takes it even on failure. */
        if (json_object_setn_new(j, k->text, k->len, it) != 0) {
            *bad = k;
            json_decref(j);
            return NULL;
        }
    }
    return j;
}

static int init_json(const ms_conf_node *n, ms_tagdesc *t, ms_conf_error *err)
{
    bool list = strcmp(t->type_text, "list") == 0;
    if (n->kind != (list ? MS_CONF_SEQ : MS_CONF_MAP))
        return ms_conf_fail(err, n, "init must be %s for a %s tag",
                            list ? "a list" : "a map", t->type_text);
    int prec = 1;
    const ms_conf_node *bad = NULL;
    json_t *j = to_json(n, &prec, &bad);
    if (!j && bad)
        return ms_conf_fail(err, bad, "init: this value has no JSON form "
                                      "(not UTF-8, or .inf/.nan)");
    if (!j)
        return MS_ENOMEM;
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(prec));
    json_decref(j);
    if (!s)
        return MS_ENOMEM;
    t->init_buf = s; /* jansson's default allocator is malloc */
    t->init = ms_value_buf(MS_TYPE_JSON, s, strlen(s));
    t->has_init = true;
    return 0;
}

static int init_value(const ms_conf_node *n, ms_tagdesc *t,
                      ms_conf_error *err)
{
    switch (t->type) {
    case MS_TYPE_INT: {
        int64_t v;
        int64_t top = (int64_t)t->nmulti - 1;
        if (!t->multi) {
            if (ms_conf_int(n, "init", INT64_MIN, INT64_MAX, &v, err) != 0)
                return MS_ECONFIG;
        } else if (ms_conf_int(n, "init", 0, top, &v, NULL) != 0) {
            /* A multi tag's init is a state number or a state name. */
            size_t i = 0;
            while (n->kind == MS_CONF_SCALAR && i < t->nmulti &&
                   strcmp(t->multi[i], n->text) != 0)
                i++;
            if (n->kind != MS_CONF_SCALAR || i == t->nmulti)
                return ms_conf_fail(err, n, "init must be a state name or "
                                            "an integer from 0 to %" PRId64,
                                    top);
            v = (int64_t)i;
        }
        t->init = ms_value_int(v);
        t->has_init = true;
        return 0;
    }
    case MS_TYPE_FLOAT: {
        double d;
        if (ms_conf_double(n, "init", &d, err) != 0)
            return MS_ECONFIG;
        t->init = ms_value_float(d);
        t->has_init = true;
        return 0;
    }
    case MS_TYPE_STR:
    case MS_TYPE_BYTES: {
        const char *s;
        if (n->kind != MS_CONF_SCALAR)
            return ms_conf_str(n, "init", &s, err);
        if (t->type == MS_TYPE_STR &&
            !ms_utf8_valid((const uint8_t *)n->text, n->len))
            return ms_conf_fail(err, n, "init must be valid UTF-8 text");
        if (!(t->init_buf = malloc(n->len + 1)))
            return MS_ENOMEM;
        memcpy(t->init_buf, n->text, n->len + 1);
        t->init = ms_value_buf(t->type, t->init_buf, n->len);
        t->has_init = true;
        return 0;
    }
    default:
        return init_json(n, t, err);
    }
}

/* ---- one tag ---------------------------------------------------------------- */

static int tag_type(const ms_conf_node *v, ms_tagdesc *t, ms_conf_error *err)
{
    const ms_conf_node *n = prop(v, "type");
    const char *s = "float";
    if (n) {
        size_t i, nt = sizeof tag_types / sizeof tag_types[0];
        for (i = 0; i < nt && n->kind == MS_CONF_SCALAR; i++)
            if (strcmp(n->text, tag_types[i].name) == 0)
                break;
        if (n->kind != MS_CONF_SCALAR || i == nt)
            return ms_conf_fail(err, n, "type must be one of int, float, "
                                        "str, bytes, list, dict");
        s = tag_types[i].name;
    }
    for (size_t i = 0; i < sizeof tag_types / sizeof tag_types[0]; i++)
        if (strcmp(s, tag_types[i].name) == 0)
            t->type = tag_types[i].type;
    if (!(t->type_text = strdup(s)))
        return MS_ENOMEM;
    return 0;
}

static int tag_multi(const ms_conf_node *v, ms_tagdesc *t, ms_conf_error *err)
{
    const ms_conf_node *n = prop(v, "multi");
    if (!n)
        return 0;
    if (n->kind != MS_CONF_SEQ)
        return ms_conf_fail(err, n, "multi must be a list of state names");
    if (n->n == 0)
        return ms_conf_fail(err, n, "multi must list at least one state");
    const ms_conf_node *tn = prop(v, "type");
    if (tn && t->type != MS_TYPE_INT)
        return ms_conf_fail(err, tn, "type must be int for a multi tag");
    if (!(t->multi = calloc(n->n, sizeof *t->multi)))
        return MS_ENOMEM;
    for (size_t i = 0; i < n->n; i++) {
        const ms_conf_node *s = n->items[i];
        bool b;
        if (s->kind == MS_CONF_SCALAR && s->null)
            return ms_conf_fail(err, s, "multi state must not be empty");
        int rc = dup_text(s, "multi state", &t->multi[i], err);
        if (rc)
            return rc;
        t->nmulti = i + 1;
        if (yaml11_bool(s, &b))
            ms_log_warn("%s:%d:%d: multi state %s is taken as text here, "
                        "but pymscada's YAML 1.1 reads a bare %s as a "
                        "boolean: quote it ('%s')",
                        s->file, s->line, s->col, s->text, s->text, s->text);
    }
    free(t->type_text);
    if (!(t->type_text = strdup("int")))
        return MS_ENOMEM;
    t->type = MS_TYPE_INT;
    t->has_min = t->has_max = true;
    t->min = 0;
    t->max = (double)(n->n - 1);
    return 0;
}

static int tag_limits(const ms_conf_node *v, ms_tagdesc *t,
                      ms_conf_error *err)
{
    static const char *const names[] = {"min", "max"};
    const ms_conf_node *n[2];
    for (int i = 0; i < 2; i++) {
        n[i] = prop(v, names[i]);
        if (!n[i])
            continue;
        double d;
        if (ms_conf_double(n[i], names[i], &d, err) != 0 || isnan(d))
            return ms_conf_fail(err, n[i], "%s must be a number", names[i]);
        if (t->multi) {
            ms_log_warn("%s:%d:%d: %s is ignored for a multi tag (it is "
                        "%s)", n[i]->file, n[i]->line, n[i]->col, names[i],
                        i ? "the last state's number" : "0");
            continue;
        }
        if (i == 0) {
            t->has_min = true;
            t->min = d;
        } else {
            t->has_max = true;
            t->max = d;
        }
    }
    if (t->has_min && t->has_max && t->min > t->max)
        return ms_conf_fail(err, n[1], "max (%g) must not be less than min "
                                       "(%g)", t->max, t->min);
    const ms_conf_node *db = prop(v, "deadband");
    if (db) {
        double d;
        if (ms_conf_double(db, "deadband", &d, NULL) != 0 || !(d >= 0))
            return ms_conf_fail(err, db, "deadband must be a number >= 0");
        t->deadband = d;
    }
    return 0;
}

static int tag_format(const ms_conf_node *v, ms_tagdesc *t,
                      ms_conf_error *err)
{
    static const char *const names[] = {"date", "time", "datetime"};
    static const ms_tagfmt fmts[] = {MS_TAGFMT_DATE, MS_TAGFMT_TIME,
                                     MS_TAGFMT_DATETIME};
    const ms_conf_node *n = prop(v, "format");
    if (!n)
        return 0;
    for (int i = 0; i < 3 && n->kind == MS_CONF_SCALAR; i++)
        if (strcmp(n->text, names[i]) == 0)
            t->format = fmts[i];
    if (t->format == MS_TAGFMT_NONE)
        return ms_conf_fail(err, n, "format must be date, time or datetime");
    if (t->type != MS_TYPE_INT)
        return ms_conf_fail(err, n, "format applies only to int tags");
    return 0;
}

static int tag_parse(const ms_conf_node *k, const ms_conf_node *v,
                     ms_tagdesc *t, ms_conf_error *err)
{
    int rc = check_name(k, err);
    if (rc)
        return rc;
    t->line = k->line;
    t->col = k->col;
    t->dp = -1;
    t->type = MS_TYPE_FLOAT;
    if (!(t->name = strdup(k->text)))
        return MS_ENOMEM;
    if (v->kind == MS_CONF_SCALAR && v->null)
        v = NULL; /* `Name:` alone: a tag with every default */
    else if (v->kind != MS_CONF_MAP)
        return ms_conf_fail(err, v, "tag %s must be a map of properties",
                            t->name);
    if (v) {
        char what[TAG_NAME_MAX + 8];
        snprintf(what, sizeof what, "tag %s", t->name);
        ms_conf_warn_unknown(v, tag_keys, what);
    }
    if ((rc = tag_type(v, t, err)) || (rc = tag_multi(v, t, err)))
        return rc;

    const ms_conf_node *n;
    if ((n = prop(v, "desc")))
        rc = dup_text(n, "desc", &t->desc, err);
    else if (!(t->desc = strdup("")))
        rc = MS_ENOMEM;
    if (rc == 0 && (n = prop(v, "units")))
        rc = dup_text(n, "units", &t->units, err);
    if (rc == 0 && (n = prop(v, "dp"))) {
        int64_t dp;
        rc = ms_conf_int(n, "dp", 0, TAG_DP_MAX, &dp, err);
        t->dp = (int)dp;
    }
    if (rc == 0)
        rc = tag_limits(v, t, err);
    if (rc == 0)
        rc = tag_format(v, t, err);
    if (rc == 0 && (n = prop(v, "init")))
        rc = init_value(n, t, err);
    return rc;
}

/* ---- the file --------------------------------------------------------------- */

static void tag_free(ms_tagdesc *t)
{
    free(t->name);
    free(t->desc);
    free(t->type_text);
    free(t->units);
    free(t->init_buf);
    for (size_t i = 0; i < t->nmulti; i++)
        free(t->multi[i]);
    free(t->multi);
}

void ms_tagdescs_free(ms_tagdescs *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        tag_free(&t->tags[i]);
    free(t->tags);
    t->tags = NULL;
    t->n = 0;
}

int ms_tagdesc_from_conf(const ms_conf_node *root, ms_tagdescs *out,
                         ms_conf_error *err)
{
    out->tags = NULL;
    out->n = 0;
    if (err)
        err->text[0] = '\0';
    if (!root || root->kind != MS_CONF_MAP)
        return ms_conf_fail(err, root, "the tags file must be a map of tag "
                                       "names to their properties");
    if (root->n == 0)
        return 0;
    if (!(out->tags = calloc(root->n, sizeof *out->tags)))
        return MS_ENOMEM;
    for (size_t i = 0; i < root->n; i++) {
        out->n = i + 1; /* the partial tag is freed with the rest */
        int rc = tag_parse(root->keys[i], root->items[i], &out->tags[i], err);
        if (rc) {
            if (rc == MS_ENOMEM && err)
                snprintf(err->text, sizeof err->text, "%s: out of memory",
                         root->file);
            ms_tagdescs_free(out);
            return rc;
        }
    }
    return 0;
}

int ms_tagdesc_load(const char *path, bool missing_ok, ms_tagdescs *out,
                    ms_conf_error *err)
{
    out->tags = NULL;
    out->n = 0;
    ms_conf_doc *doc;
    int rc = ms_conf_load(path, &doc, err);
    if (rc == MS_ENOENT && missing_ok) {
        if (err)
            err->text[0] = '\0';
        return 0;
    }
    if (rc)
        return rc;
    rc = ms_tagdesc_from_conf(ms_conf_root(doc), out, err);
    ms_conf_free(doc);
    return rc;
}

const ms_tagdesc *ms_tagdesc_find(const ms_tagdescs *t, const char *name)
{
    for (size_t i = 0; t && name && i < t->n; i++)
        if (strcmp(t->tags[i].name, name) == 0)
            return &t->tags[i];
    return NULL;
}
