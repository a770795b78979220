/* `mscada history-export`: one tag's history as CSV on stdout (ISO 8601
 * UTC time, value), read from the files `mscada history` writes. The
 * range is read a window at a time, so a long history never sits in
 * memory whole. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dtoa.h"
#include "modules/module.h"
#include "mscada/error.h"
#include "mscada/history_server.h"
#include "mscada/log.h"
#include "mscada/mstime.h"

#define WINDOW_US (3600ull * 1000000)
#define WINDOW_MIN_US 1000000ull
#define WANT_MIN 65536
#define WANT_MAX (1u << 20)

#define MAX_TAGS 64

typedef struct {
    const char *config, *tags, *from, *to;
    const char *tag[MAX_TAGS];
    size_t ntags;
    bool tags_given, verbose;
} export_args;

static void help(const ms_module *m, FILE *out)
{
    fprintf(out,
            "Usage: mscada %s [--config FILE] [--tags FILE] TAG [TAG...] "
            "[--from T] [--to T]\n\n%s\n\n%s\n"
            "Options:\n"
            "  --config FILE   history config (default: history.yaml): "
            "its path\n"
            "  --tags FILE     tag descriptions: the tag's type (default: "
            "tags.yaml)\n"
            "  --from T        first time (included; default: the start)\n"
            "  --to T          end time (excluded; default: the end)\n"
            "  -v, --verbose   log debug detail\n"
            "  -h, --help      this text\n",
            m->name, m->summary, m->usage);
}

static int usage_error(const ms_module *m, const char *what, const char *arg)
{
    fprintf(stderr, "mscada %s: %s%s%s\n", m->name, what, arg ? ": " : "",
            arg ? arg : "");
    fprintf(stderr, "Try 'mscada %s --help'.\n", m->name);
    return MS_EXIT_USAGE;
}

/* -1 to go on, else an exit status. */
static int parse_args(const ms_module *m, int argc, char **argv,
                      export_args *a)
{
    memset(a, 0, sizeof *a);
    a->config = "history.yaml";
    a->tags = "tags.yaml";
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char **slot = NULL;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            help(m, stdout);
            return MS_EXIT_OK;
        } else if (ms_cli_version(m, s)) {
            return MS_EXIT_OK;
        } else if (!strcmp(s, "-v") || !strcmp(s, "--verbose")) {
            a->verbose = true;
            continue;
        } else if (!strcmp(s, "--config")) {
            slot = &a->config;
        } else if (!strcmp(s, "--tags")) {
            slot = &a->tags;
            a->tags_given = true;
        } else if (!strcmp(s, "--from")) {
            slot = &a->from;
        } else if (!strcmp(s, "--to")) {
            slot = &a->to;
        } else if (s[0] == '-' && s[1]) {
            return usage_error(m, "unknown option", s);
        } else if (a->ntags == MAX_TAGS) {
            return usage_error(m, "at most 64 tags; also got", s);
        } else {
            a->tag[a->ntags++] = s;
            continue;
        }
        if (i + 1 >= argc)
            return usage_error(m, "a value is needed after", s);
        *slot = argv[++i];
    }
    if (!a->ntags)
        return usage_error(m, "no TAG given", NULL);
    ms_log_setup(m->name, a->verbose ? MS_LOG_DEBUG : MS_LOG_WARN);
    return -1;
}

/* One tag being exported: its series and the current window's records. */
typedef struct {
    ms_hist_series *h;
    ms_type type;
    ms_hist_result r;
    size_t at; /* next record of r */
} column;

static void put_value(FILE *out, const column *c, const ms_hist_rec *rec)
{
    char num[MS_DTOA_MAX];
    if (c->type == MS_TYPE_INT) {
        fprintf(out, "%" PRId64, rec->u.i);
    } else {
        ms_dtoa(rec->u.f, MS_DTOA_SHORT, num);
        fputs(num, out);
    }
}

/* One row per time any column has a record in its window, in time order;
 * a column with no record at that time is left empty. */
static int write_rows(FILE *out, column *cols, size_t n)
{
    char iso[40];
    for (;;) {
        uint64_t t = UINT64_MAX;
        for (size_t i = 0; i < n; i++)
            if (cols[i].at < cols[i].r.len &&
                cols[i].r.recs[cols[i].at].time_us < t)
                t = cols[i].r.recs[cols[i].at].time_us;
        if (t == UINT64_MAX)
            return ferror(out) ? MS_EIO : 0;
        fputs(ms_time_iso(t, iso, sizeof iso), out);
        for (size_t i = 0; i < n; i++) {
            fputc(',', out);
            column *c = &cols[i];
            if (c->at < c->r.len && c->r.recs[c->at].time_us == t)
                put_value(out, c, &c->r.recs[c->at++]);
        }
        fputc('\n', out);
    }
}

/* Windows of time, widened while they hold few records and narrowed when
 * they hold many, from the first record of any tag to the last. */
static int export_range(column *cols, size_t n, uint64_t from, uint64_t to,
                        FILE *out)
{
    uint64_t first = UINT64_MAX, last = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t f, l;
        rc = ms_hist_series_span(cols[i].h, &f, &l);
        if (rc == MS_ENOENT)
            continue;
        if (rc < 0)
            return rc;
        first = f < first ? f : first;
        last = l > last ? l : last;
    }
    if (first == UINT64_MAX)
        return 0; /* no records at all */
    uint64_t a = from > first ? from : first;
    uint64_t end = last == UINT64_MAX ? last : last + 1;
    if (to < end)
        end = to;
    uint64_t w = WINDOW_US;
    rc = 0;
    while (a < end && rc == 0) {
        uint64_t b = end - a > w ? a + w : end;
        size_t most = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            cols[i].at = 0;
            rc = ms_hist_series_query(cols[i].h, a, b, 0, &cols[i].r);
            if (rc == 0 && cols[i].r.len > most)
                most = cols[i].r.len;
        }
        if (rc == 0)
            rc = write_rows(out, cols, n);
        if (most < WANT_MIN && w < UINT64_MAX / 4)
            w *= 2;
        else if (most > WANT_MAX && w / 2 >= WINDOW_MIN_US)
            w /= 2;
        a = b;
    }
    return rc;
}

/* Why a tag can't be exported, or NULL: its type (int or float, from
 * tags.yaml) is how its files are read. */
static const char *unreadable(const ms_tagdescs *tags, bool have_tags,
                              const char *name, const ms_tagdesc **d)
{
    if (!have_tags)
        return "no tags.yaml here: give --tags FILE (the tag's type, int or "
               "float, tells how to read its files)";
    *d = ms_tagdesc_find(tags, name);
    if (!*d)
        return "not in tags.yaml (history records the int and float tags "
               "described there)";
    if ((*d)->type != MS_TYPE_INT && (*d)->type != MS_TYPE_FLOAT)
        return "not an int or float tag in tags.yaml (history records "
               "only those)";
    return NULL;
}

static int export_run(const ms_module *m, int argc, char **argv)
{
    export_args a;
    int rc = parse_args(m, argc, argv, &a);
    if (rc >= 0)
        return rc;
    uint64_t from = 0, to = UINT64_MAX;
    char why[512];
    if (a.from && ms_hist_time_parse(a.from, &from, why, sizeof why) < 0)
        return usage_error(m, "--from", why);
    if (a.to && ms_hist_time_parse(a.to, &to, why, sizeof why) < 0)
        return usage_error(m, "--to", why);

    ms_hist_config cfg;
    ms_conf_error err;
    ms_hist_config_init(&cfg);
    if (ms_hist_config_load(a.config, false, &cfg, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        ms_hist_config_free(&cfg);
        return MS_EXIT_USAGE;
    }
    ms_tagdescs tags;
    if (ms_tagdesc_load(a.tags, !a.tags_given, &tags, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        ms_hist_config_free(&cfg);
        return MS_EXIT_USAGE;
    }
    bool have_tags = a.tags_given || access(a.tags, F_OK) == 0;
    int status = MS_EXIT_OK;
    ms_hist_store *store = NULL;
    column cols[MAX_TAGS];
    memset(cols, 0, sizeof cols);
    for (size_t i = 0; i < a.ntags && status == MS_EXIT_OK; i++) {
        const ms_tagdesc *d = NULL;
        const char *bad = unreadable(&tags, have_tags, a.tag[i], &d);
        if (bad) {
            fprintf(stderr, "mscada %s: %s: %s\n", m->name, a.tag[i], bad);
            status = MS_EXIT_USAGE;
        } else if ((!store &&
                    (rc = ms_hist_store_open(&store, cfg.path, NULL, why,
                                             sizeof why)) < 0) ||
                   (rc = ms_hist_series_add(store, a.tag[i], d->type,
                                            &cols[i].h, why, sizeof why)) < 0) {
            fprintf(stderr, "mscada %s: %s\n", m->name, why);
            status = rc == MS_EINVAL ? MS_EXIT_USAGE : MS_EXIT_FAIL;
        }
        cols[i].type = d ? d->type : MS_TYPE_NONE;
    }
    if (status == MS_EXIT_OK) {
        static char obuf[1 << 16];
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
        fputs("time", stdout);
        for (size_t i = 0; i < a.ntags; i++)
            printf(",%s", a.tag[i]);
        putchar('\n');
        rc = export_range(cols, a.ntags, from, to, stdout);
        if (fflush(stdout) != 0 || rc < 0) {
            fprintf(stderr, "mscada %s: %s\n", m->name,
                    rc < 0 ? ms_strerror(rc) : "can't write the output");
            status = MS_EXIT_FAIL;
        }
    }
    for (size_t i = 0; i < a.ntags; i++)
        ms_hist_result_free(&cols[i].r);
    ms_hist_store_close(store);
    ms_tagdescs_free(&tags);
    ms_hist_config_free(&cfg);
    return status;
}

const ms_module ms_module_history_export = {
    .name = "history-export",
    .summary = "tags' history as CSV (ISO 8601 UTC time, a column per tag)",
    .usage =
        "Writes the records of each TAG with --from <= time < --to to\n"
        "stdout as CSV: a header line `time,TAG,...`, then one line per\n"
        "time any of the tags has a record, time in ISO 8601 UTC with\n"
        "microseconds, each tag's value as recorded (floats in the shortest\n"
        "form that reads back the same), empty where a tag has no record\n"
        "at that time. Duplicate times are resolved as the history module\n"
        "does (the later record wins). The tags must be int or float tags\n"
        "of tags.yaml: their type tells how to read the files.\n\n"
        "T is microseconds since 1970 (e.g. 1700000000000000), a date\n"
        "(2024-03-01, midnight UTC) or a date and time (2024-03-01T12:30,\n"
        "2024-03-01 12:30:15.5Z, 2024-03-01T12:30+13:00), now, or a time\n"
        "before now: -90s, -30m, -1h, -2d, -1w. A bad T exits 2.\n",
    .run = export_run,
};
