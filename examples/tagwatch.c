/* tagwatch: prints `TAG VALUE` for every change of the tags named, and keeps
 * doing so across bus restarts. The first reading for a newcomer to
 * libmscada's client (docs/client.md): a loop, a client, a tag per name, a
 * callback per change, and signals for a clean stop.
 *
 *   tagwatch [--bus HOST:PORT] [-v] TAG...
 *
 * Values: INT as an integer, FLOAT as the shortest text that reads back the
 * same, STR as text (\n, \t, \\ and other control bytes escaped, so one
 * change is one line), BYTES as `bytes[N] HEX...` (the first 32 bytes),
 * JSON compact. Connection changes go to stderr. Watching never creates a
 * tag (ms_tag_look asks LIST before the id): a name the bus doesn't have
 * (a typo, or a writer not started yet) is said on stderr, and watched for
 * until it appears. */
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/tag.h"

#define HEX_HEAD 32

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: tagwatch [--bus HOST:PORT] [-v] TAG...\n\n"
            "Prints one line `TAG VALUE` each time one of the named tags\n"
            "changes on the bus, reconnecting by itself when the bus goes.\n"
            "Watching never creates a tag: a name the bus does not have is\n"
            "said on stderr, and watched for until a writer creates it.\n\n"
            "Options:\n"
            "  --bus HOST:PORT  the bus (default 127.0.0.1:1324)\n"
            "  -v, --verbose    log debug detail to stderr\n"
            "  -h, --help       this text\n");
}

/* The shortest %g that reads back as the same double. */
static void print_float(double f)
{
    char s[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, f);
        if (strtod(s, NULL) == f)
            break;
    }
    fputs(s, stdout);
}

static void print_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch == '\\')
            fputs("\\\\", stdout);
        else if (ch == '\n')
            fputs("\\n", stdout);
        else if (ch == '\r')
            fputs("\\r", stdout);
        else if (ch == '\t')
            fputs("\\t", stdout);
        else if (ch < 0x20 || ch == 0x7f)
            printf("\\x%02x", ch);
        else
            putchar(ch);
    }
}

static void print_json(const ms_value *v)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)v->u.buf.ptr, v->u.buf.len,
                           JSON_DECODE_ANY, &e);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (s)
        print_text((const uint8_t *)s, strlen(s));
    else
        print_text(v->u.buf.ptr, v->u.buf.len);
    free(s);
    json_decref(j);
}

static void on_change(ms_tag *t, void *arg)
{
    ms_value v;
    (void)arg;
    if (ms_tag_get(t, &v) < 0)
        return;
    printf("%s ", ms_tag_name(t));
    switch (v.type) {
    case MS_TYPE_INT:
        printf("%" PRId64, v.u.i);
        break;
    case MS_TYPE_FLOAT:
        print_float(v.u.f);
        break;
    case MS_TYPE_STR:
        print_text(v.u.buf.ptr, v.u.buf.len);
        break;
    case MS_TYPE_BYTES:
        printf("bytes[%zu]%s", v.u.buf.len, v.u.buf.len ? " " : "");
        for (size_t i = 0; i < v.u.buf.len && i < HEX_HEAD; i++)
            printf("%02x", v.u.buf.ptr[i]);
        if (v.u.buf.len > HEX_HEAD)
            fputs("...", stdout);
        break;
    case MS_TYPE_JSON:
        print_json(&v);
        break;
    default:
        break;
    }
    putchar('\n');
    fflush(stdout); /* one line as it happens, also into a pipe */
}

/* A typo, or a tag whose writer hasn't started: say so, keep looking. */
static void on_absent(ms_tag *t, void *arg)
{
    (void)arg;
    fprintf(stderr, "tagwatch: %s: no such tag on the bus; waiting for it "
            "to appear (`mscada console -c list` shows the names there)\n",
            ms_tag_name(t));
}

typedef struct {
    ms_client *c;
    uv_signal_t sigint, sigterm;
} app;

/* SIGINT or SIGTERM: close everything, and uv_run returns. */
static void on_signal(uv_signal_t *s, int signum)
{
    app *a = s->data;
    (void)signum;
    ms_client_close(a->c);
    if (!uv_is_closing((uv_handle_t *)&a->sigint))
        uv_close((uv_handle_t *)&a->sigint, NULL);
    if (!uv_is_closing((uv_handle_t *)&a->sigterm))
        uv_close((uv_handle_t *)&a->sigterm, NULL);
}

int main(int argc, char **argv)
{
    ms_client_config cfg;
    ms_client_config_init(&cfg);
    bool verbose = false;
    int first = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = true;
        } else if (!strcmp(a, "--bus") || !strncmp(a, "--bus=", 6)) {
            const char *hp = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i]
                                                                 : NULL);
            if (!hp || ms_client_config_set_bus(&cfg, hp) < 0) {
                fprintf(stderr, "tagwatch: --bus wants HOST:PORT\n");
                usage(stderr);
                return 2;
            }
        } else if (!strcmp(a, "--")) {
            first = i + 1;
            break;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tagwatch: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            first = i;
            break;
        }
    }
    if (first >= argc) {
        fprintf(stderr, "tagwatch: name at least one TAG\n");
        usage(stderr);
        return 2;
    }
    ms_log_setup("tagwatch", verbose ? MS_LOG_DEBUG : MS_LOG_INFO);

    uv_loop_t *loop = uv_default_loop();
    ms_client *c;
    int rc = ms_client_new(loop, &cfg, &c);
    if (rc < 0) {
        fprintf(stderr, "tagwatch: bus %s:%d: %s\n", cfg.host,
                cfg.port, ms_strerror(rc));
        return 2;
    }
    for (int i = first; i < argc; i++) {
        ms_tag *t;
        rc = ms_tag_look(c, argv[i], &t);
        if (rc < 0) {
            fprintf(stderr, "tagwatch: '%s' is not a tag name: %s\n",
                    argv[i], ms_strerror(rc));
            ms_client_close(c);
            uv_run(loop, UV_RUN_DEFAULT);
            return 2;
        }
        ms_tag_watch(t, on_change, NULL);
        ms_tag_on_absent(t, on_absent, NULL);
    }
    app a = {.c = c};
    uv_signal_init(loop, &a.sigint);
    uv_signal_init(loop, &a.sigterm);
    a.sigint.data = a.sigterm.data = &a;
    uv_signal_start(&a.sigint, on_signal, SIGINT);
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    uv_run(loop, UV_RUN_DEFAULT); /* until a signal */
    uv_loop_close(loop);
    return 0;
}
