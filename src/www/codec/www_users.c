/* The users file and the write rules (www_users.h). */
#include "www/codec/www_users.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "mscada/error.h"
#include "mscada/log.h"

static const char *const role_names[] = {NULL, "viewer", "operator",
                                          "admin"};

const char *ms_www_role_name(ms_www_role r)
{
    return r >= MS_WWW_VIEWER && r <= MS_WWW_ADMIN ? role_names[r] : "none";
}

ms_www_role ms_www_role_parse(const char *s)
{
    for (int r = MS_WWW_VIEWER; r <= MS_WWW_ADMIN; r++)
        if (s && !strcmp(s, role_names[r]))
            return (ms_www_role)r;
    return 0;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void ms_www_users_free(ms_www_users *u)
{
    for (size_t i = 0; i < u->n; i++) {
        ms_www_user *x = &u->v[i];
        free(x->name);
        if (x->hash)
            memset(x->hash, 0, strlen(x->hash));
        free(x->hash);
        strv_free(x->write, x->nwrite);
        strv_free(x->pages, x->npages);
        strv_free(x->page_tags, x->npage_tags);
    }
    free(u->v);
    memset(u, 0, sizeof *u);
}

/* A list of strings, or one string. */
static int str_list(const ms_conf_node *n, const char *what, char ***out,
                    size_t *nout, ms_conf_error *err)
{
    if (!n || n->null)
        return 0;
    const ms_conf_node *one[1] = {n};
    ms_conf_node *const *items = (ms_conf_node *const *)one;
    size_t cnt = 1;
    if (n->kind == MS_CONF_SEQ) {
        items = n->items;
        cnt = n->n;
    }
    *out = calloc(cnt + 1, sizeof **out);
    if (!*out)
        return MS_ENOMEM;
    for (size_t i = 0; i < cnt; i++) {
        const char *s;
        if (ms_conf_str(items[i], what, &s, err) < 0)
            return MS_ECONFIG;
        (*out)[(*nout)++] = strdup(s);
    }
    return 0;
}

int ms_www_users_parse(const ms_conf_node *root, ms_www_users *out,
                       ms_conf_error *err)
{
    memset(out, 0, sizeof *out);
    if (root && root->kind == MS_CONF_MAP && root->n == 0)
        return 0;
    if (ms_conf_want(root, MS_CONF_MAP, "the users file (user name: "
                     "{role, hash})", err) < 0)
        return MS_ECONFIG;
    out->v = calloc(root->n + 1, sizeof *out->v);
    if (!out->v)
        return MS_ENOMEM;
    static const char *const known[] = {"hash", "role", "write", "pages",
                                        NULL};
    for (size_t i = 0; i < root->n; i++) {
        const ms_conf_node *e = root->items[i];
        ms_www_user *u = &out->v[out->n++];
        u->name = strdup(root->keys[i]->text);
        if (!u->name[0] || strpbrk(u->name, ":\"\\\n\r\t "))
            return ms_conf_fail(err, root->keys[i], "user name '%s' must be "
                                "non-empty, without spaces, quotes, colons "
                                "or backslashes", u->name);
        if (ms_conf_want(e, MS_CONF_MAP, u->name, err) < 0)
            return MS_ECONFIG;
        ms_conf_warn_unknown(e, known, "a user");
        const char *s;
        const ms_conf_node *n = ms_conf_get(e, "role");
        if (!n || ms_conf_str(n, "role", &s, err) < 0 ||
            !(u->role = ms_www_role_parse(s)))
            return ms_conf_fail(err, n ? n : e, "%s: role must be viewer, "
                                "operator or admin", u->name);
        n = ms_conf_get(e, "hash");
        if (n && !n->null) {
            if (ms_conf_str(n, "hash", &s, err) < 0)
                return MS_ECONFIG;
            if (s[0] != '$')
                return ms_conf_fail(err, n, "%s: hash is not a password "
                                    "hash (set one with `mscada passwd "
                                    "FILE %s`)", u->name, u->name);
            u->hash = strdup(s);
        }
        if (str_list(ms_conf_get(e, "write"), "write", &u->write,
                     &u->nwrite, err) < 0 ||
            str_list(ms_conf_get(e, "pages"), "pages", &u->pages,
                     &u->npages, err) < 0)
            return MS_ECONFIG;
        if ((u->nwrite || u->npages) && u->role != MS_WWW_OPERATOR)
            return ms_conf_fail(err, e, "%s: write and pages are for "
                                "operators (a viewer writes nothing, an "
                                "admin everything)", u->name);
        for (size_t j = 0; j + 1 < out->n; j++)
            if (!strcmp(out->v[j].name, u->name))
                return ms_conf_fail(err, root->keys[i], "user %s given "
                                    "twice", u->name);
    }
    return 0;
}

const ms_www_user *ms_www_users_find(const ms_www_users *u, const char *name)
{
    for (size_t i = 0; name && i < u->n; i++)
        if (!strcmp(u->v[i].name, name))
            return &u->v[i];
    return NULL;
}

static void add_page_tags(ms_www_user *u, const json_t *items)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *t = json_string_value(json_object_get(it, "tagname"));
        if (!t)
            continue;
        char **v = realloc(u->page_tags, (u->npage_tags + 1) * sizeof *v);
        if (!v)
            return;
        u->page_tags = v;
        v[u->npage_tags++] = strdup(t);
    }
}

void ms_www_users_resolve_pages(ms_www_users *us, const json_t *pages)
{
    for (size_t i = 0; i < us->n; i++) {
        ms_www_user *u = &us->v[i];
        for (size_t p = 0; p < u->npages; p++) {
            bool found = false;
            size_t k;
            json_t *pg;
            json_array_foreach(pages, k, pg) {
                const char *name =
                    json_string_value(json_object_get(pg, "name"));
                if (name && !strcmp(name, u->pages[p])) {
                    add_page_tags(u, json_object_get(pg, "items"));
                    found = true;
                }
            }
            if (!found)
                ms_log_warn("www: user %s: page '%s' is not in pages: it "
                            "gives no rights", u->name, u->pages[p]);
        }
    }
}

bool ms_www_user_may_write(const ms_www_user *u, const char *tag,
                           const char **why)
{
    *why = NULL;
    if (!u) {
        *why = "not logged in";
        return false;
    }
    switch (u->role) {
    case MS_WWW_ADMIN:
        return true;
    case MS_WWW_OPERATOR:
        if (!u->nwrite && !u->npages)
            return true;
        for (size_t i = 0; i < u->nwrite; i++)
            if (fnmatch(u->write[i], tag, 0) == 0)
                return true;
        for (size_t i = 0; i < u->npage_tags; i++)
            if (!strcmp(u->page_tags[i], tag))
                return true;
        *why = "operator without the right to write this tag";
        return false;
    default:
        *why = "viewers may not write";
        return false;
    }
}

bool ms_www_rta_is_write(const char *tag, const json_t *value)
{
    if (tag && !strcmp(tag, "__history__"))
        return false;
    const char *a = json_string_value(json_object_get(value, "action"));
    return !(a && (!strcmp(a, "BULK HISTORY") || !strcmp(a, "GET CONFIG")));
}

json_t *ms_www_user_json(const ms_www_user *u)
{
    json_t *w = NULL;
    if (u->role == MS_WWW_VIEWER) {
        w = json_array();
    } else if (u->role == MS_WWW_OPERATOR && (u->nwrite || u->npages)) {
        w = json_array();
        for (size_t i = 0; i < u->nwrite; i++)
            json_array_append_new(w, json_string(u->write[i]));
        for (size_t i = 0; i < u->npage_tags; i++)
            json_array_append_new(w, json_string(u->page_tags[i]));
    }
    return json_pack("{s:s,s:s,s:o}", "name", u->name, "role",
                     ms_www_role_name(u->role), "write",
                     w ? w : json_null());
}
