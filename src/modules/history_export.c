/* `mscada history-export`: one tag's history as CSV on stdout (ISO 8601
 * UTC time, value), read from the files `mscada history` writes. The
 * range is read a window at a time, so a long history never sits in
 * memory whole. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct {
    const char *config, *tags, *tag, *from, *to;
    bool tags_given, verbose;
} export_args;

static void help(const ms_module *m, FILE *out)
{
    fprintf(out,
            "Usage: mscada %s [--config FILE] [--tags FILE] TAG "
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
        } else if (a->tag) {
            return usage_error(m, "one TAG only; also got", s);
        } else {
            a->tag = s;
            continue;
        }
        if (i + 1 >= argc)
            return usage_error(m, "a value is needed after", s);
        *slot = argv[++i];
    }
    if (!a->tag)
        return usage_error(m, "no TAG given", NULL);
    ms_log_setup(m->name, a->verbose ? MS_LOG_DEBUG : MS_LOG_WARN);
    return -1;
}

static int write_rows(FILE *out, const ms_hist_result *r, ms_type type)
{
    char iso[40], num[MS_DTOA_MAX];
    for (size_t i = 0; i < r->len; i++) {
        fputs(ms_time_iso(r->recs[i].time_us, iso, sizeof iso), out);
        fputc(',', out);
        if (type == MS_TYPE_INT)
            fprintf(out, "%" PRId64, r->recs[i].u.i);
        else {
            ms_dtoa(r->recs[i].u.f, MS_DTOA_SHORT, num);
            fputs(num, out);
        }
        fputc('\n', out);
    }
    return ferror(out) ? MS_EIO : 0;
}

/* Windows of time, widened while they hold few records and narrowed when
 * they hold many, from the first record to the last. */
static int export_range(ms_hist_series *h, uint64_t from, uint64_t to,
                        FILE *out)
{
    uint64_t first, last;
    int rc = ms_hist_series_span(h, &first, &last);
    if (rc == MS_ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    uint64_t a = from > first ? from : first;
    uint64_t end = last == UINT64_MAX ? last : last + 1;
    if (to < end)
        end = to;
    uint64_t w = WINDOW_US;
    ms_hist_result r = {0};
    while (a < end && rc == 0) {
        uint64_t b = end - a > w ? a + w : end;
        rc = ms_hist_series_query(h, a, b, 0, &r);
        if (rc == 0)
            rc = write_rows(out, &r, ms_hist_series_type(h));
        if (r.len < WANT_MIN && w < UINT64_MAX / 4)
            w *= 2;
        else if (r.len > WANT_MAX && w / 2 >= WINDOW_MIN_US)
            w /= 2;
        a = b;
    }
    ms_hist_result_free(&r);
    return rc;
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
    const ms_tagdesc *d = ms_tagdesc_find(&tags, a.tag);
    int status = MS_EXIT_OK;
    ms_hist_store *store = NULL;
    ms_hist_series *h = NULL;
    if (!d || (d->type != MS_TYPE_INT && d->type != MS_TYPE_FLOAT)) {
        fprintf(stderr, "mscada %s: %s is not an int or float tag of %s "
                        "(its type tells how to read the files)\n",
                m->name, a.tag, a.tags);
        status = MS_EXIT_USAGE;
    } else if ((rc = ms_hist_store_open(&store, cfg.path, NULL, why,
                                        sizeof why)) < 0 ||
               (rc = ms_hist_series_add(store, a.tag, d->type, &h, why,
                                        sizeof why)) < 0) {
        fprintf(stderr, "mscada %s: %s\n", m->name, why);
        status = rc == MS_EINVAL ? MS_EXIT_USAGE : MS_EXIT_FAIL;
    } else {
        static char obuf[1 << 16];
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
        printf("time,%s\n", a.tag);
        rc = export_range(h, from, to, stdout);
        if (fflush(stdout) != 0 || rc < 0) {
            fprintf(stderr, "mscada %s: %s\n", m->name,
                    rc < 0 ? ms_strerror(rc) : "can't write the output");
            status = MS_EXIT_FAIL;
        }
    }
    ms_hist_store_close(store);
    ms_tagdescs_free(&tags);
    ms_hist_config_free(&cfg);
    return status;
}

const ms_module ms_module_history_export = {
    .name = "history-export",
    .summary = "one tag's history as CSV (ISO 8601 UTC time, value)",
    .usage =
        "Writes the records of TAG with --from <= time < --to to stdout as\n"
        "CSV: a header line `time,TAG`, then one line per record, time in\n"
        "ISO 8601 UTC with microseconds, the value as recorded (floats in\n"
        "the shortest form that reads back the same). Duplicate times are\n"
        "resolved as the history module does (the later record wins).\n\n"
        "T is microseconds since 1970 (e.g. 1700000000000000), a date\n"
        "(2024-03-01, midnight UTC) or a date and time (2024-03-01T12:30,\n"
        "2024-03-01 12:30:15.5Z, 2024-03-01T12:30+13:00). A bad T exits 2.\n",
    .run = export_run,
};
