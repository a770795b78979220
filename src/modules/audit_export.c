/* `mscada audit-export`: the wwwserver's audit trail (docs/security.md) as
 * CSV on stdout, for a time range, read line by line from the audit file
 * and its rotated files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/module.h"
#include "mscada/history.h"
#include "mscada/log.h"
#include "www/codec/www_auditline.h"

#define MAX_FILES 64

static int usage_error(const ms_module *m, const char *what, const char *arg)
{
    fprintf(stderr, "mscada %s: %s%s%s\nTry 'mscada %s --help'.\n", m->name,
            what, arg ? ": " : "", arg ? arg : "", m->name);
    return MS_EXIT_USAGE;
}

/* Rotated files first (oldest: FILE.9 ... FILE.1), then FILE: time order. */
static int export_file(const char *path, uint64_t from, uint64_t to,
                       bool must, size_t *bad)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (must)
            fprintf(stderr, "mscada audit-export: cannot read %s\n", path);
        return must ? -1 : 0;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        char *row;
        int rc = ms_www_audit_csv(line, (size_t)n, from, to, &row);
        if (rc > 0)
            fputs(row, stdout);
        else if (rc < 0)
            (*bad)++;
        free(row);
    }
    free(line);
    fclose(f);
    return 0;
}

static int audit_export_run(const ms_module *m, int argc, char **argv)
{
    const char *from_s = NULL, *to_s = NULL, *files[MAX_FILES];
    size_t nfiles = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            printf("Usage: mscada %s [--from T] [--to T] [FILE...]\n\n%s\n\n"
                   "%s\nOptions:\n  --from T        first time (included)\n"
                   "  --to T          end time (excluded)\n"
                   "  -h, --help      this text\n", m->name, m->summary,
                   m->usage);
            return MS_EXIT_OK;
        } else if (ms_cli_version(m, s)) {
            return MS_EXIT_OK;
        } else if (!strcmp(s, "--from") || !strcmp(s, "--to")) {
            if (i + 1 >= argc)
                return usage_error(m, "a value is needed after", s);
            *(s[2] == 'f' ? &from_s : &to_s) = argv[++i];
        } else if (s[0] == '-' && s[1]) {
            return usage_error(m, "unknown option", s);
        } else if (nfiles == MAX_FILES) {
            return usage_error(m, "at most 64 files; also got", s);
        } else {
            files[nfiles++] = s;
        }
    }
    ms_log_setup(m->name, MS_LOG_WARN);
    uint64_t from = 0, to = UINT64_MAX;
    char why[256];
    if ((from_s && ms_hist_time_parse(from_s, &from, why, sizeof why) < 0) ||
        (to_s && ms_hist_time_parse(to_s, &to, why, sizeof why) < 0))
        return usage_error(m, why, NULL);
    if (!nfiles)
        files[nfiles++] = "audit.jsonl";
    fputs(ms_www_audit_csv_header(), stdout);
    size_t bad = 0;
    int status = MS_EXIT_OK;
    for (size_t i = 0; i < nfiles; i++) {
        char rot[4096];
        for (int k = 9; k >= 1; k--) {
            snprintf(rot, sizeof rot, "%s.%d", files[i], k);
            export_file(rot, from, to, false, &bad);
        }
        if (export_file(files[i], from, to, true, &bad) < 0)
            status = MS_EXIT_FAIL;
    }
    if (bad)
        fprintf(stderr, "mscada audit-export: %zu lines were not audit "
                "lines (skipped)\n", bad);
    if (fflush(stdout) != 0)
        status = MS_EXIT_FAIL;
    return status;
}

const ms_module ms_module_audit_export = {
    .name = "audit-export",
    .summary = "the wwwserver's audit trail as CSV (who wrote what, logins)",
    .usage =
        "Writes the audit lines with --from <= time < --to of each FILE\n"
        "(default audit.jsonl, the wwwserver's `audit:`), its rotated files\n"
        "FILE.9 ... FILE.1 first, to stdout as CSV:\n"
        "time,event,user,role,peer,tag,old,new,result,why\n"
        "time in ISO 8601 UTC, old and new as JSON (a string stays quoted).\n"
        "T as for history-export: microseconds since 1970, a date\n"
        "(2024-03-01), a date and time (2024-03-01T12:30Z), now, or -1h,\n"
        "-2d, -1w. A bad T exits 2, a FILE that can't be read exits 1.\n",
    .run = audit_export_run,
};
