/* Config tree: YAML text (libyaml's event API) -> ms_conf_node tree in which
 * every node keeps file:line:column. Owns loading, aliases and `<<` merge
 * keys, duplicate-key checks, the caps on expanded size and depth, and
 * positioned error messages. ${ENV_VAR} expansion is conf_env.c's, the
 * typed readers conf_read.c's. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/buf.h"
#include "core/conf_int.h"
#include "core/grow.h"
#include "core/htab.h"
#include "mscada/conf.h"
#include "mscada/error.h"

/* Aliases share nodes, so a tiny file can stand for a huge tree ("billion
 * laughs"). Whoever walks the tree (JSON conversion, ...) would pay for the
 * expanded size, so the expanded size and depth are capped at load. */
#define CONF_MAX_NODES 1000000
#define CONF_MAX_DEPTH 256

typedef struct cnode cnode;
struct cnode {
    ms_conf_node pub; /* first, so a cnode * is an ms_conf_node * */
    size_t weight;    /* nodes in this subtree, aliases expanded */
    int height;       /* levels in this subtree; 1 for a scalar */
    size_t cap;       /* room in pub.items (and pub.keys) */
    bool has_key;     /* map being built: keys[n] waits for its value */
    cnode *next;      /* every node of the doc, for freeing */
};

struct ms_conf_doc {
    char *file;
    cnode *nodes;
    ms_conf_node *root;
};

/* ---- errors ---------------------------------------------------------------- */

static void err_vset(ms_conf_error *err, const char *file, int line, int col,
                     const char *fmt, va_list ap)
{
    if (!err)
        return;
    int n = 0;
    if (file && line > 0)
        n = snprintf(err->text, sizeof err->text, "%s:%d:%d: ", file, line,
                     col);
    else if (file)
        n = snprintf(err->text, sizeof err->text, "%s: ", file);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof err->text)
        return;
    if (vsnprintf(err->text + n, sizeof err->text - (size_t)n, fmt, ap) < 0)
        err->text[n] = '\0';
}

static int err_set(ms_conf_error *err, const char *file, int line, int col,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int err_set(ms_conf_error *err, const char *file, int line, int col,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, file, line, col, fmt, ap);
    va_end(ap);
    return MS_ECONFIG;
}

int ms_conf_fail(ms_conf_error *err, const ms_conf_node *n, const char *fmt,
                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (n)
        err_vset(err, n->file, n->line, n->col, fmt, ap);
    else
        err_vset(err, NULL, 0, 0, fmt, ap);
    va_end(ap);
    return MS_ECONFIG;
}

/* ---- building the tree from libyaml events --------------------------------- */

typedef struct {
    ms_conf_doc *doc;
    const char *text; /* the input, to place reader errors */
    size_t len;
    ms_conf_error *err;
    size_t total; /* nodes so far, aliases expanded */
    ms_htab anchors; /* name -> cnode * (names owned by `names`) */
    char **names;
    size_t nnames, names_cap;
    struct frame {
        cnode *node;
        char *anchor; /* registered when the node is complete */
    } *stack;
    size_t depth, stack_cap;
} pstate;

static int ps_fail(pstate *ps, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ps_fail(pstate *ps, yaml_mark_t m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(ps->err, ps->doc->file, (int)m.line + 1, (int)m.column + 1, fmt,
             ap);
    va_end(ap);
    return MS_ECONFIG;
}

static int ps_nomem(pstate *ps)
{
    err_set(ps->err, ps->doc->file, 0, 0, "out of memory");
    return MS_ENOMEM;
}

static cnode *node_new(pstate *ps, ms_conf_kind kind, yaml_mark_t m)
{
    cnode *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->pub.kind = kind;
    c->pub.file = ps->doc->file;
    c->pub.line = (int)m.line + 1;
    c->pub.col = (int)m.column + 1;
    c->weight = 1;
    c->height = 1;
    c->next = ps->doc->nodes;
    ps->doc->nodes = c;
    return c;
}

static int node_grow(cnode *c)
{
    if (c->pub.n < c->cap)
        return 0;
    size_t ncap = c->cap ? c->cap * 2 : 4;
    ms_conf_node **it = realloc(c->pub.items, ncap * sizeof *it);
    if (!it)
        return MS_ENOMEM;
    c->pub.items = it;
    if (c->pub.kind == MS_CONF_MAP) {
        ms_conf_node **k = realloc(c->pub.keys, ncap * sizeof *k);
        if (!k)
            return MS_ENOMEM;
        c->pub.keys = k;
    }
    c->cap = ncap;
    return 0;
}

/* The scalar's text with ${NAME} expanded. The error points at the
 * scalar: libyaml gives no positions inside one (quoted and folded scalars
 * don't map text offsets to columns). */
static int scalar_text(pstate *ps, const char *s, size_t len, yaml_mark_t m,
                       cnode *c)
{
    char why[256];
    int rc = ms_conf_env_expand(s, len, &c->pub.text, &c->pub.len, why,
                                sizeof why);
    if (rc == MS_ENOMEM)
        return ps_nomem(ps);
    if (rc)
        return ps_fail(ps, m, "%s", why);
    return 0;
}

const char *ms_conf_kind_name(ms_conf_kind k)
{
    switch (k) {
    case MS_CONF_SCALAR: return "a single value";
    case MS_CONF_SEQ: return "a list";
    case MS_CONF_MAP: return "a map";
    }
    return "?";
}

/* Counts nodes toward the cap; `extra` is the weight added to the tree. */
static int ps_count(pstate *ps, size_t extra, yaml_mark_t m)
{
    if (extra > CONF_MAX_NODES || ps->total + extra > CONF_MAX_NODES)
        return ps_fail(ps, m, "document has more than %d nodes (aliases "
                              "expanded)", CONF_MAX_NODES);
    ps->total += extra;
    return 0;
}

/* Puts a finished (or, for containers, just started) node under the open
 * container, or makes it the root. */
static int ps_attach(pstate *ps, cnode *c, yaml_mark_t m)
{
    if (ps->depth == 0) {
        ps->doc->root = &c->pub;
        return 0;
    }
    cnode *p = ps->stack[ps->depth - 1].node;
    if (node_grow(p) != 0)
        return ps_nomem(ps);
    if (p->pub.kind == MS_CONF_SEQ) {
        p->pub.items[p->pub.n++] = &c->pub;
    } else if (!p->has_key) {
        if (c->pub.kind != MS_CONF_SCALAR)
            return ps_fail(ps, m, "a map key must be a single value, not %s",
                           ms_conf_kind_name(c->pub.kind));
        p->pub.keys[p->pub.n] = &c->pub;
        p->has_key = true;
    } else {
        p->pub.items[p->pub.n++] = &c->pub;
        p->has_key = false;
    }
    return 0;
}

static int ps_anchor(pstate *ps, const char *name, cnode *c)
{
    if (!name)
        return 0;
    char **nn = ms_grow(ps->names, ps->nnames, &ps->names_cap, sizeof *nn, 8);
    if (!nn)
        return ps_nomem(ps);
    ps->names = nn;
    char *copy = strdup(name);
    if (!copy)
        return ps_nomem(ps);
    ps->names[ps->nnames++] = copy;
    /* A later anchor of the same name replaces the earlier one (YAML). */
    if (ms_htab_put(&ps->anchors, copy, strlen(copy), c) != 0)
        return ps_nomem(ps);
    return 0;
}

static bool is_merge_key(const ms_conf_node *k)
{
    return !k->quoted && k->len == 2 && memcmp(k->text, "<<", 2) == 0;
}

/* Checks a finished map for duplicate keys, then applies `<<` merge keys
 * (YAML 1.1, which pymscada's loader honours): the map's own keys win, then
 * the merged maps' keys in the order listed. */
static int map_finish(pstate *ps, cnode *c)
{
    ms_conf_node *m = &c->pub;
    ms_htab seen = {0};
    size_t merges = 0;
    int rc = 0;
    for (size_t i = 0; i < m->n && rc == 0; i++) {
        ms_conf_node *k = m->keys[i];
        ms_conf_node *first = ms_htab_get(&seen, k->text, k->len);
        if (first) {
            rc = err_set(ps->err, k->file, k->line, k->col,
                         "duplicate key '%s' (first at line %d column %d)",
                         k->text, first->line, first->col);
            break;
        }
        if (ms_htab_put(&seen, k->text, k->len, k) != 0)
            rc = ps_nomem(ps);
        if (is_merge_key(k))
            merges++;
    }
    if (rc || merges == 0) {
        ms_htab_free(&seen);
        return rc;
    }

    /* Sources of merged pairs, in priority order. */
    ms_conf_node *mv = NULL;
    size_t mi = 0;
    for (; mi < m->n; mi++)
        if (is_merge_key(m->keys[mi]))
            break;
    mv = m->items[mi];
    ms_conf_node *const *src = &mv;
    size_t nsrc = 1;
    if (mv->kind == MS_CONF_SEQ) {
        src = mv->items;
        nsrc = mv->n;
    }
    for (size_t s = 0; s < nsrc; s++)
        if (src[s]->kind != MS_CONF_MAP) {
            ms_htab_free(&seen);
            return err_set(ps->err, src[s]->file, src[s]->line, src[s]->col,
                           "'<<' merges a map or a list of maps, not %s",
                           ms_conf_kind_name(src[s]->kind));
        }

    /* The `<<` key itself leaves the map; the merged keys join it. */
    size_t cap = m->n;
    for (size_t s = 0; s < nsrc; s++)
        cap += src[s]->n;
    ms_conf_node **nk = malloc(cap * sizeof *nk);
    ms_conf_node **ni = malloc(cap * sizeof *ni);
    if (!nk || !ni) {
        free(nk);
        free(ni);
        ms_htab_free(&seen);
        return ps_nomem(ps);
    }
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        if (i != mi) {
            nk[n] = m->keys[i];
            ni[n++] = m->items[i];
        }
    yaml_mark_t mark = {0, (size_t)mv->line - 1, (size_t)mv->col - 1};
    for (size_t s = 0; s < nsrc && rc == 0; s++) {
        const ms_conf_node *sm = src[s];
        for (size_t j = 0; j < sm->n && rc == 0; j++) {
            ms_conf_node *k = sm->keys[j];
            if (ms_htab_get(&seen, k->text, k->len))
                continue;
            if (ms_htab_put(&seen, k->text, k->len, k) != 0) {
                rc = ps_nomem(ps);
                break;
            }
            const cnode *kv = (const cnode *)sm->items[j];
            rc = ps_count(ps, 1 + kv->weight, mark);
            nk[n] = k;
            ni[n++] = sm->items[j];
        }
    }
    ms_htab_free(&seen);
    if (rc) {
        free(nk);
        free(ni);
        return rc;
    }
    free(m->keys);
    free(m->items);
    m->keys = nk;
    m->items = ni;
    m->n = n;
    c->cap = cap;
    return 0;
}

/* A container is complete: fix its weight and height for later aliases. */
static void node_measure(cnode *c)
{
    size_t w = 1;
    int h = 0;
    for (size_t i = 0; i < c->pub.n; i++) {
        const cnode *it = (const cnode *)c->pub.items[i];
        w += it->weight;
        if (it->height > h)
            h = it->height;
        if (c->pub.kind == MS_CONF_MAP)
            w += 1; /* the key, always a scalar */
    }
    c->weight = w;
    c->height = h + 1;
}

/* A node of kind at m, counted against the limits (node count, depth). */
static int ps_node(pstate *ps, ms_conf_kind kind, yaml_mark_t m, cnode **out)
{
    int rc = ps_count(ps, 1, m);
    if (rc)
        return rc;
    if (ps->depth + 1 > CONF_MAX_DEPTH)
        return ps_fail(ps, m, "nesting is deeper than %d levels",
                       CONF_MAX_DEPTH);
    *out = node_new(ps, kind, m);
    return *out ? 0 : ps_nomem(ps);
}

static int ps_scalar(pstate *ps, const yaml_event_t *ev)
{
    const yaml_mark_t m = ev->start_mark;
    cnode *c;
    int rc = ps_node(ps, MS_CONF_SCALAR, m, &c);
    if (rc)
        return rc;
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    /* An explicit !!str (or the non-specific "!") makes plain text text. */
    bool text_tag = tag && (strcmp(tag, YAML_STR_TAG) == 0 ||
                            strcmp(tag, "!") == 0);
    c->pub.quoted = !plain || text_tag;
    c->pub.null = !c->pub.quoted &&
                  (len == 0 || (len == 1 && s[0] == '~') ||
                   (len == 4 && (memcmp(s, "null", 4) == 0 ||
                                 memcmp(s, "Null", 4) == 0 ||
                                 memcmp(s, "NULL", 4) == 0)));
    rc = scalar_text(ps, s, len, m, c);
    if (rc)
        return rc;
    rc = ps_attach(ps, c, m);
    if (rc)
        return rc;
    return ps_anchor(ps, (const char *)ev->data.scalar.anchor, c);
}

static int ps_start(pstate *ps, const yaml_event_t *ev, ms_conf_kind kind)
{
    const yaml_mark_t m = ev->start_mark;
    cnode *c;
    int rc = ps_node(ps, kind, m, &c);
    if (rc)
        return rc;
    rc = ps_attach(ps, c, m);
    if (rc)
        return rc;
    struct frame *ns =
        ms_grow(ps->stack, ps->depth, &ps->stack_cap, sizeof *ns, 16);
    if (!ns)
        return ps_nomem(ps);
    ps->stack = ns;
    const char *anchor = kind == MS_CONF_MAP
                             ? (const char *)ev->data.mapping_start.anchor
                             : (const char *)ev->data.sequence_start.anchor;
    char *a = NULL;
    if (anchor && !(a = strdup(anchor)))
        return ps_nomem(ps);
    ps->stack[ps->depth].node = c;
    ps->stack[ps->depth].anchor = a;
    ps->depth++;
    return 0;
}

static int ps_end(pstate *ps)
{
    if (ps->depth == 0)
        return 0; /* libyaml balances events; be safe anyway */
    struct frame f = ps->stack[--ps->depth];
    int rc = 0;
    if (f.node->pub.kind == MS_CONF_MAP)
        rc = map_finish(ps, f.node);
    if (rc == 0) {
        node_measure(f.node);
        rc = ps_anchor(ps, f.anchor, f.node);
    }
    free(f.anchor);
    return rc;
}

static int ps_alias(pstate *ps, const yaml_event_t *ev)
{
    const yaml_mark_t m = ev->start_mark;
    const char *name = (const char *)ev->data.alias.anchor;
    cnode *t = ms_htab_get(&ps->anchors, name, strlen(name));
    if (!t)
        return ps_fail(ps, m, "unknown alias *%s (its anchor must come "
                              "first and be complete)", name);
    int rc = ps_count(ps, t->weight, m);
    if (rc)
        return rc;
    if (ps->depth + (size_t)t->height > CONF_MAX_DEPTH)
        return ps_fail(ps, m, "nesting is deeper than %d levels",
                       CONF_MAX_DEPTH);
    return ps_attach(ps, t, m);
}

/* Turns libyaml's error into "file:line:col: problem (context ...)". */
static int ps_syntax(pstate *ps, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return ps_nomem(ps);
    const char *problem = p->problem ? p->problem : "YAML error";
    if (p->error == YAML_READER_ERROR) {
        /* Reader errors (bad encoding) carry a byte offset, not a mark. */
        size_t off = p->problem_offset < ps->len ? p->problem_offset : ps->len;
        int line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            unsigned char ch = (unsigned char)ps->text[i];
            if (ch == '\n') {
                line++;
                col = 1;
            } else if ((ch & 0xC0) != 0x80) {
                col++;
            }
        }
        return err_set(ps->err, ps->doc->file, line, col, "%s", problem);
    }
    yaml_mark_t m = p->problem_mark;
    if (p->context)
        return err_set(ps->err, ps->doc->file, (int)m.line + 1,
                       (int)m.column + 1, "%s (%s at line %d column %d)",
                       problem, p->context, (int)p->context_mark.line + 1,
                       (int)p->context_mark.column + 1);
    return err_set(ps->err, ps->doc->file, (int)m.line + 1, (int)m.column + 1,
                   "%s", problem);
}

static int ps_run(pstate *ps, yaml_parser_t *p)
{
    int docs = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(p, &ev))
            return ps_syntax(ps, p);
        int rc = 0;
        bool done = false;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (docs++ > 0)
                rc = ps_fail(ps, ev.start_mark,
                             "more than one document in the file");
            break;
        case YAML_SCALAR_EVENT:
            rc = ps_scalar(ps, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = ps_start(ps, &ev, MS_CONF_SEQ);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = ps_start(ps, &ev, MS_CONF_MAP);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = ps_end(ps);
            break;
        case YAML_ALIAS_EVENT:
            rc = ps_alias(ps, &ev);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc)
            return rc;
        if (done)
            return 0;
    }
}

/* ---- loading ---------------------------------------------------------------- */

int ms_conf_parse(const char *name, const char *text, size_t len,
                  ms_conf_doc **out, ms_conf_error *err)
{
    *out = NULL;
    if (err)
        err->text[0] = '\0';
    if (!name)
        name = "<config>";
    if (!text) {
        text = "";
        len = 0;
    }
    ms_conf_doc *doc = calloc(1, sizeof *doc);
    if (!doc || !(doc->file = strdup(name))) {
        free(doc);
        err_set(err, name, 0, 0, "out of memory");
        return MS_ENOMEM;
    }
    pstate ps = {.doc = doc, .text = text, .len = len, .err = err};
    yaml_parser_t p;
    int rc;
    if (!yaml_parser_initialize(&p)) {
        rc = ps_nomem(&ps);
    } else {
        yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
        rc = ps_run(&ps, &p);
        yaml_parser_delete(&p);
    }
    for (size_t i = 0; i < ps.depth; i++)
        free(ps.stack[i].anchor);
    free(ps.stack);
    for (size_t i = 0; i < ps.nnames; i++)
        free(ps.names[i]);
    free(ps.names);
    ms_htab_free(&ps.anchors);

    /* An empty file (or a lone ~) is an empty map: "nothing configured". */
    const ms_conf_node *r = doc->root;
    if (rc == 0 && (!r || (r->kind == MS_CONF_SCALAR && r->null))) {
        yaml_mark_t m = {0, r ? (size_t)r->line - 1 : 0,
                         r ? (size_t)r->col - 1 : 0};
        cnode *c = node_new(&ps, MS_CONF_MAP, m);
        if (!c)
            rc = ps_nomem(&ps);
        else
            doc->root = &c->pub;
    }
    if (rc) {
        ms_conf_free(doc);
        return rc;
    }
    *out = doc;
    return 0;
}

int ms_conf_load(const char *path, ms_conf_doc **out, ms_conf_error *err)
{
    *out = NULL;
    if (err)
        err->text[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        err_set(err, path, 0, 0, "cannot open: %s", strerror(e));
        return e == ENOENT ? MS_ENOENT : MS_EIO;
    }
    ms_buf b = {0};
    int rc = 0;
    for (;;) {
        uint8_t *w = ms_buf_reserve(&b, 8192);
        if (!w) {
            rc = MS_ENOMEM;
            break;
        }
        size_t got = fread(w, 1, 8192, f);
        if (got == 0)
            break;
        ms_buf_commit(&b, got);
    }
    if (rc == 0 && ferror(f)) {
        err_set(err, path, 0, 0, "cannot read: %s", strerror(errno));
        rc = MS_EIO;
    } else if (rc) {
        err_set(err, path, 0, 0, "out of memory");
    }
    fclose(f);
    if (rc == 0)
        rc = ms_conf_parse(path, (const char *)ms_buf_head(&b), ms_buf_size(&b),
                           out, err);
    ms_buf_free(&b);
    return rc;
}

const ms_conf_node *ms_conf_root(const ms_conf_doc *doc)
{
    return doc ? doc->root : NULL;
}

void ms_conf_free(ms_conf_doc *doc)
{
    if (!doc)
        return;
    cnode *c = doc->nodes;
    while (c) {
        cnode *next = c->next;
        free(c->pub.text);
        free(c->pub.items);
        free(c->pub.keys);
        free(c);
        c = next;
    }
    free(doc->file);
    free(doc);
}

const ms_conf_node *ms_conf_get(const ms_conf_node *map, const char *key)
{
    if (!map || map->kind != MS_CONF_MAP || !key)
        return NULL;
    size_t len = strlen(key);
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->len == len &&
            memcmp(map->keys[i]->text, key, len) == 0)
            return map->items[i];
    return NULL;
}
