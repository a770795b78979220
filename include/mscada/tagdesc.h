/* tags.yaml: descriptions of tags for the HMI, history and clients
 * (pymscada's format, docs/design.md §5). */
#ifndef MSCADA_TAGDESC_H
#define MSCADA_TAGDESC_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>

#include "mscada/conf.h"
#include "mscada/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MS_TAGFMT_NONE = 0,
    MS_TAGFMT_DATE,
    MS_TAGFMT_TIME,
    MS_TAGFMT_DATETIME
} ms_tagfmt;

typedef struct {
    char *name;
    char *desc;        /* "" when absent */
    ms_type type;      /* INT, FLOAT (default), STR, BYTES, or JSON */
    char *type_text;   /* as written: int float str bytes list dict */
    char *units;       /* NULL when absent */
    int dp;            /* decimal places; -1 when absent */
    bool has_min, has_max;
    double min, max;   /* for multi: 0 and nmulti-1 */
    double deadband;   /* 0 when absent */
    bool has_init;
    ms_value init;     /* STR/BYTES/JSON point into init_buf */
    char *init_buf;
    char **multi;      /* state names of a multi tag (type INT), or NULL */
    size_t nmulti;
    ms_tagfmt format;
    int line, col;     /* where the tag's name is in the file */
} ms_tagdesc;

typedef struct {
    ms_tagdesc *tags;
    size_t n;
} ms_tagdescs;

/* Loads tags.yaml. A missing file is an error unless missing_ok (then there
 * are no tags). Errors: MS_ECONFIG / MS_EIO / MS_ENOENT with err as
 * "tags.yaml:12:7: min must be a number". Unknown keys (alarm, group, ...)
 * only warn. */
MS_EXTERN int ms_tagdesc_load(const char *path, bool missing_ok, ms_tagdescs *out,
                    ms_conf_error *err);
/* The same from a parsed document (its root must be a map of tags). */
MS_EXTERN int ms_tagdesc_from_conf(const ms_conf_node *root, ms_tagdescs *out,
                         ms_conf_error *err);
MS_EXTERN const ms_tagdesc *ms_tagdesc_find(const ms_tagdescs *t, const char *name);
MS_EXTERN void ms_tagdescs_free(ms_tagdescs *t);

#ifdef __cplusplus
}
#endif
#endif
