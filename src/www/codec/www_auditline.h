/* The audit trail's line, without I/O (docs/security.md "Audit"): one JSON
 * object per line
 *   {"time":"2026-12-07T06:53:18.123456Z","time_us":...,"event":"set",
 *    "user":"op","role":"operator","peer":"10.0.0.5:50212","tag":"X",
 *    "old":1.5,"new":2,"result":"accepted","why":null}
 * event: set | rta | login | logout; result: accepted | refused. And the
 * same line as a CSV row for `mscada audit-export`. */
#ifndef MS_WWW_AUDITLINE_H
#define MS_WWW_AUDITLINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t time_us;
    const char *event, *user, *role, *peer, *tag; /* NULL: null */
    const json_t *old_value, *new_value;         /* NULL: null */
    bool accepted;
    const char *why;                             /* NULL: null */
} ms_www_audit_rec;

/* The line (with its '\n'), malloc'd; NULL when out of memory. */
char *ms_www_audit_line(const ms_www_audit_rec *r);

/* The CSV header row (with '\n'). */
const char *ms_www_audit_csv_header(void);
/* The CSV row of one line when its time is in [from_us, to_us), malloc'd
 * in *out (with '\n'). Returns 1 (a row), 0 (outside the range), -1 (not
 * an audit line). */
int ms_www_audit_csv(const char *line, size_t len, uint64_t from_us,
                     uint64_t to_us, char **out);

#endif
