/* Config files: YAML (libyaml) parsed into a generic tree in which every node
 * keeps file:line:column, so that every error can say where it is. Scalars
 * are text (libyaml returns every scalar as text): callers decide types by
 * their schema with the typed readers below. `${ENV_VAR}` in a scalar is
 * replaced by that environment variable's value when the file is loaded. */
#ifndef MSCADA_CONF_H
#define MSCADA_CONF_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MS_CONF_SCALAR = 1,
    MS_CONF_SEQ = 2,
    MS_CONF_MAP = 3
} ms_conf_kind;

typedef struct ms_conf_node ms_conf_node;
struct ms_conf_node {
    ms_conf_kind kind;
    const char *file; /* the file's name as given (owned by the doc) */
    int line, col;    /* 1-based, where the node starts */
    /* SCALAR: the text after ${ENV} expansion, NUL-terminated; len bytes
     * (a scalar may hold NUL through escapes). */
    char *text;
    size_t len;
    bool quoted; /* written quoted ('Off' stays text, bare Off is false) */
    bool null;   /* plain ~, null, Null, NULL or empty */
    /* SEQ: n items; MAP: n pairs keys[i] -> items[i] (keys are scalars). */
    size_t n;
    ms_conf_node **items;
    ms_conf_node **keys;
};

typedef struct ms_conf_doc ms_conf_doc;

/* What went wrong, as "file:line:column: message" (or "file: message" when
 * there is no position, e.g. a file that can't be opened). */
typedef struct {
    char text[512];
} ms_conf_error;

/* Loads and parses a YAML file. Returns 0, MS_ENOENT when the file does not
 * exist, MS_EIO when it can't be read, MS_ECONFIG for a YAML syntax error or
 * an undefined ${ENV_VAR}; err says which and where. An empty file gives an
 * empty map. Aliases are resolved; more than one document is an error. */
MS_EXTERN int ms_conf_load(const char *path, ms_conf_doc **doc, ms_conf_error *err);
/* The same from memory; `name` stands for the file name in messages. */
MS_EXTERN int ms_conf_parse(const char *name, const char *text, size_t len,
                  ms_conf_doc **doc, ms_conf_error *err);
MS_EXTERN const ms_conf_node *ms_conf_root(const ms_conf_doc *doc);
MS_EXTERN void ms_conf_free(ms_conf_doc *doc);

/* The value under key in a map, or NULL (also when map is NULL or not a
 * map). */
MS_EXTERN const ms_conf_node *ms_conf_get(const ms_conf_node *map, const char *key);

/* Formats err as "file:line:column: " + the message; returns MS_ECONFIG. */
MS_EXTERN int ms_conf_fail(ms_conf_error *err, const ms_conf_node *n, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));

/* Typed readers. `what` names the value in messages ("port", "min"): e.g.
 * "bus.yaml:3:7: port must be an integer from 1 to 65535". Each returns 0 or
 * MS_ECONFIG with err set. */
MS_EXTERN int ms_conf_int(const ms_conf_node *n, const char *what, int64_t min,
                int64_t max, int64_t *out, ms_conf_error *err);
MS_EXTERN int ms_conf_double(const ms_conf_node *n, const char *what, double *out,
                   ms_conf_error *err);
/* YAML 1.1 booleans: true/false, yes/no, on/off (any case), unquoted. */
MS_EXTERN int ms_conf_bool(const ms_conf_node *n, const char *what, bool *out,
                 ms_conf_error *err);
/* Any scalar as text (a number is text too). */
MS_EXTERN int ms_conf_str(const ms_conf_node *n, const char *what, const char **out,
                ms_conf_error *err);
/* Requires a map / a sequence. */
MS_EXTERN int ms_conf_want(const ms_conf_node *n, ms_conf_kind kind, const char *what,
                 ms_conf_error *err);

/* The known key one or two edits from key (a typo: `prot` for `port`,
 * `pol` for `poll`), or NULL. */
MS_EXTERN const char *ms_conf_near_key(const char *key, size_t len,
                             const char *const *known);
/* Logs a warning "file:line:column: unknown key 'x' in WHAT (ignored)" for
 * every key of map not in the NULL-terminated list known. Returns how many. */
MS_EXTERN int ms_conf_warn_unknown(const ms_conf_node *map, const char *const *known,
                         const char *what);

#ifdef __cplusplus
}
#endif
#endif
