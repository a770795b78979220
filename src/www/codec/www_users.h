/* Who may do what in the wwwserver (docs/security.md), decided without any
 * I/O: the users file (name -> password hash, role, optional write rights)
 * as loaded YAML, and the rules a browser's write is checked against:
 * a viewer writes nothing, an admin everything, an operator what its
 * `write:` patterns and `pages:` allow (everything when it has neither).
 * "A write" is a `set`, or an `rta` other than a read (a `__history__`
 * request, or an action BULK HISTORY / GET CONFIG). */
#ifndef MS_WWW_USERS_H
#define MS_WWW_USERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "mscada/conf.h"

typedef enum {
    MS_WWW_VIEWER = 1,
    MS_WWW_OPERATOR,
    MS_WWW_ADMIN
} ms_www_role;

typedef struct {
    char *name;
    char *hash;        /* crypt-style ($argon2id$...); NULL: cannot log in */
    ms_www_role role;
    char **write;      /* fnmatch patterns of tag names (operators) */
    size_t nwrite;
    char **pages;      /* page names whose tags it may write (operators) */
    size_t npages;
    char **page_tags;  /* the tags of those pages, once resolved */
    size_t npage_tags;
} ms_www_user;

typedef struct {
    ms_www_user *v;
    size_t n;
} ms_www_users;

/* Reads the users file's root: a map of user name -> {hash, role, write,
 * pages}. Returns 0, or MS_ECONFIG with err (file:line:column). */
int ms_www_users_parse(const ms_conf_node *root, ms_www_users *out,
                       ms_conf_error *err);
void ms_www_users_free(ms_www_users *u);
const ms_www_user *ms_www_users_find(const ms_www_users *u, const char *name);
/* Resolves each operator's `pages:` against the HMI's pages (a JSON list
 * of {"name", "items": [{"tagname"}...]}). A page name not found is
 * logged: it gives no rights. */
void ms_www_users_resolve_pages(ms_www_users *u, const json_t *pages);

const char *ms_www_role_name(ms_www_role r);
/* "viewer" | "operator" | "admin" -> role; 0 for anything else. */
ms_www_role ms_www_role_parse(const char *s);

/* Whether u may write tag; when not, why says so (static text). */
bool ms_www_user_may_write(const ms_www_user *u, const char *tag,
                           const char **why);
/* The `user` message's payload telling the HMI who is logged in and what
 * it may write: {"name", "role", "write": null (everything) or a list of
 * fnmatch patterns and tag names ([] for a viewer)}. */
json_t *ms_www_user_json(const ms_www_user *u);
/* Whether an rta with this request value writes (see above). */
bool ms_www_rta_is_write(const char *tag, const json_t *value);

#endif
