/* `mscada console`: an interactive terminal on the bus, and its scripted
 * form (-c COMMAND, or commands from stdin when it is not a terminal).
 *
 * One libuv loop runs the bus client, the terminal (console_tty.c) and the
 * commands. A command runs as a chain of steps (LIST, then ID+SUB, then
 * round trips until the bus has answered) under one deadline; the next
 * line is taken only when it is done. Looking (get, sub, watch, rta) asks
 * LIST first, because asking a tag's id creates it: only set creates. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "modules/console.h"
#include "modules/module.h"
#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"
#include "mscada/tag.h"

#define REFRESH_MS 3000 /* background LIST for completion and watch */
#define MAX_SYNCS 20    /* round trips waiting for a tag's id */

typedef struct console console;
typedef void (*step_fn)(console *con);
typedef void (*listed_fn)(console *con, const char *const *names, size_t n);

struct console {
    uv_loop_t loop;
    ms_client *c;
    ms_client_config cfg;
    ms_tagdescs descs;
    double timeout;          /* seconds a command may take */
    int status;              /* MS_EXIT_OK, or FAIL once a command failed */
    bool stopping;

    /* input: -c commands or stdin lines, or the terminal */
    ms_con_tty *tty;
    char **lines;
    size_t nlines, iline, alines;
    bool input_done;         /* no more lines will come */
    bool pumping;
    uv_pipe_t in;
    bool in_open;
    char *inpart;            /* an unfinished stdin line */
    size_t inpart_len;

    /* the command running */
    bool busy;
    unsigned gen;            /* bumped per command: late answers are stale */
    ms_con_line pl;
    char *linebuf;
    size_t wi;               /* which of pl.words */
    ms_tag *tag;
    int syncs;
    int id_seen;             /* round trips since the tag had its id */
    step_fn after_sync;
    step_fn on_connect;
    listed_fn on_listed;
    uv_timer_t deadline;
    char *valbuf;
    bool created;
    bool rta_failed;
    char rta_err[256];
    char **found;
    size_t nfound, ifound;

    /* kept in the background */
    uv_timer_t refresh;
    bool refreshing;
    char **names;            /* sorted, for completion */
    size_t nnames;
    char **filters;          /* watch filters */
    size_t nfilters;
    ms_tag **subs;           /* tags whose changes print */
    size_t nsubs, asubs;
    bool was_connected;
    uv_signal_t sigint, sigterm;
};

typedef struct {
    console *con;
    unsigned gen;
} list_req;

static void pump(console *con);

/* ---- output ------------------------------------------------------------- */

/* One or more whole lines; above the line being edited when there is one. */
static void con_vprint(console *con, FILE *f, const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return;
    if (con->tty)
        ms_con_tty_print(con->tty, f, s);
    else {
        fputs(s, f);
        fflush(f);
    }
    free(s);
}

static void __attribute__((format(printf, 3, 4)))
con_print(console *con, FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    con_vprint(con, f, fmt, ap);
    va_end(ap);
}

static void print_value(console *con, ms_tag *t)
{
    ms_value v;
    if (ms_tag_get(t, &v) < 0)
        v = ms_value_none();
    char *s = ms_con_format(&v, ms_tagdesc_find(&con->descs, ms_tag_name(t)));
    con_print(con, stdout, "%s %s\n", ms_tag_name(t), s ? s : "?");
    free(s);
}

/* ---- finishing a command ------------------------------------------------- */

static void finish(console *con, bool ok)
{
    uv_timer_stop(&con->deadline);
    con->gen++;
    con->busy = false;
    con->on_connect = NULL;
    con->tag = NULL;
    free(con->linebuf);
    con->linebuf = NULL;
    free(con->valbuf);
    con->valbuf = NULL;
    for (size_t i = 0; i < con->nfound; i++)
        free(con->found[i]);
    free(con->found);
    con->found = NULL;
    con->nfound = con->ifound = 0;
    if (!ok)
        con->status = MS_EXIT_FAIL;
    pump(con);
}

static void __attribute__((format(printf, 2, 3)))
fail(console *con, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) >= 0)
        con_print(con, stderr, "error: %s\n", s);
    free(s);
    va_end(ap);
    finish(con, false);
}

static void on_deadline(uv_timer_t *h)
{
    console *con = h->data;
    if (con->on_connect || ms_client_get_state(con->c) != MS_CLIENT_CONNECTED)
        fail(con, "cannot reach the bus at %s:%d (gave up after %g s)",
             con->cfg.host, con->cfg.port, con->timeout);
    else
        fail(con, "no answer from the bus at %s:%d within %g s",
             con->cfg.host, con->cfg.port, con->timeout);
}

/* ---- steps: the connection, LIST, round trips ---------------------------- */

static void need_bus(console *con, step_fn next)
{
    if (ms_client_get_state(con->c) == MS_CLIENT_CONNECTED)
        next(con);
    else
        con->on_connect = next; /* the deadline runs meanwhile */
}

static void on_listed(ms_client *c, int status, const char *const *names,
                      size_t n, void *arg)
{
    list_req *r = arg;
    console *con = r->con;
    bool stale = !con->busy || r->gen != con->gen;
    free(r);
    (void)c;
    if (stale)
        return;
    if (status < 0) {
        fail(con, "the connection to the bus was lost");
        return;
    }
    con->on_listed(con, names, n);
}

static void list(console *con, const char *pattern, uint64_t since_us,
                 listed_fn then)
{
    list_req *r = malloc(sizeof *r);
    if (!r) {
        fail(con, "out of memory");
        return;
    }
    r->con = con;
    r->gen = con->gen;
    con->on_listed = then;
    int rc = ms_client_list(con->c, pattern, since_us, on_listed, r);
    if (rc < 0) {
        free(r);
        fail(con, "LIST: %s", ms_strerror(rc));
    }
}

static void sync_step(console *con);

/* A round trip is done: the bus has handled everything sent before it.
 * The ID answer makes the client send SUB; the SUB answer makes it publish
 * a value set before the id was known. So: a round trip that finds the id,
 * one that covers SUB, one that covers that SET. */
static void synced(console *con, const char *const *names, size_t n)
{
    (void)names;
    (void)n;
    bool has_id = !con->tag || ms_tag_id(con->tag) != 0;
    if (has_id && ++con->id_seen == 3) {
        con->after_sync(con);
        return;
    }
    if (++con->syncs > MAX_SYNCS) {
        fail(con, "the bus gave %s no id", ms_tag_name(con->tag));
        return;
    }
    sync_step(con);
}

static void sync_step(console *con)
{
    /* Names hold no spaces: this LIST matches nothing, cheaply. */
    list(con, " ", 0, synced);
}

static void settle(console *con, step_fn then)
{
    con->syncs = 0;
    con->id_seen = 0;
    con->after_sync = then;
    sync_step(con);
}

static bool has_name(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- subscriptions that print ------------------------------------------- */

static void on_change(ms_tag *t, void *arg)
{
    print_value(arg, t);
}

static bool is_sub(console *con, ms_tag *t)
{
    for (size_t i = 0; i < con->nsubs; i++)
        if (con->subs[i] == t)
            return true;
    return false;
}

static int add_sub(console *con, ms_tag *t)
{
    if (is_sub(con, t))
        return 0;
    if (con->nsubs == con->asubs) {
        size_t na = con->asubs ? 2 * con->asubs : 16;
        ms_tag **ns = realloc(con->subs, na * sizeof *ns);
        if (!ns)
            return MS_ENOMEM;
        con->subs = ns;
        con->asubs = na;
    }
    int rc = ms_tag_watch(t, on_change, con);
    if (rc == 0)
        con->subs[con->nsubs++] = t;
    return rc;
}

static void drop_sub(console *con, size_t i)
{
    ms_tag_unwatch(con->subs[i], on_change, con);
    con->subs[i] = con->subs[--con->nsubs];
}

/* ---- list ---------------------------------------------------------------- */

static void list_done(console *con, const char *const *names, size_t n)
{
    const char **v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        fail(con, "out of memory");
        return;
    }
    memcpy(v, names, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_str);
    for (size_t i = 0; i < n; i++)
        con_print(con, stdout, "%s\n", v[i]);
    free(v);
    finish(con, true);
}

static void do_list(console *con)
{
    if (con->pl.since_s > 0) {
        uint64_t now = ms_time_now_us(), back = (uint64_t)(con->pl.since_s *
                                                           1e6);
        list(con, "", now > back ? now - back : 1, list_done);
    } else {
        /* "^" (starts with nothing) is every name, set or not. */
        list(con, con->pl.rest[0] ? con->pl.rest : "^", 0, list_done);
    }
}

/* ---- get, sub, rta: look before asking the id ----------------------------- */

static void look_next(console *con);

static void look_exists(console *con, const char *const *names, size_t n)
{
    const char *name = con->pl.words[con->wi];
    if (!has_name(names, n, name)) {
        fail(con, "unknown tag %s", name);
        return;
    }
    int rc = ms_tag_new(con->c, name, MS_TYPE_NONE, &con->tag);
    if (rc < 0) {
        fail(con, "%s: %s", name, ms_strerror(rc));
        return;
    }
    settle(con, con->after_sync);
}

/* Finds the tag named pl.words[wi] on the bus, then runs then. */
static void look(console *con, step_fn then)
{
    const char *name = con->pl.words[con->wi];
    if (!ms_tag_name_valid((const uint8_t *)name, strlen(name))) {
        fail(con, "'%s' is not a tag name", name);
        return;
    }
    con->after_sync = then;
    con->tag = ms_tag_find(con->c, name);
    if (con->tag) {
        settle(con, then); /* known here: it exists on the bus */
        return;
    }
    char *pat = malloc(strlen(name) + 2);
    if (!pat) {
        fail(con, "out of memory");
        return;
    }
    sprintf(pat, "^%s", name);
    list(con, pat, 0, look_exists);
    free(pat);
}

static void got(console *con)
{
    print_value(con, con->tag);
    if (con->pl.cmd == MS_CON_SUB) {
        int rc = add_sub(con, con->tag);
        if (rc < 0) {
            fail(con, "%s", ms_strerror(rc));
            return;
        }
    }
    con->wi++;
    look_next(con);
}

static void look_next(console *con)
{
    if (con->wi == con->pl.nwords)
        finish(con, true);
    else
        look(con, got);
}

static void on_rta_error(ms_tag *t, const char *text, void *arg)
{
    console *con = arg;
    if (con->busy && con->pl.cmd == MS_CON_RTA && con->tag == t) {
        con->rta_failed = true;
        snprintf(con->rta_err, sizeof con->rta_err, "%s", text);
    } else {
        con_print(con, stderr, "rta %s: %s\n", ms_tag_name(t), text);
    }
}

static void rta_done(console *con)
{
    if (con->rta_failed)
        fail(con, "rta %s: %s", ms_tag_name(con->tag), con->rta_err);
    else
        finish(con, true);
}

static void rta_send(console *con)
{
    ms_tag_on_rta_error(con->tag, on_rta_error, con);
    con->rta_failed = false;
    int rc = ms_tag_rta_json(con->tag, con->pl.rest);
    if (rc < 0) {
        fail(con, "rta %s: %s", ms_tag_name(con->tag),
             rc == MS_EINVAL ? "the request must be a JSON list or object"
                             : ms_strerror(rc));
        return;
    }
    settle(con, rta_done); /* an ERR comes before the round trip ends */
}

static void do_rta(console *con)
{
    look(con, rta_send);
}

static void log_done(console *con)
{
    finish(con, true);
}

static void do_log(console *con)
{
    int rc = ms_client_log(con->c, con->pl.rest);
    if (rc < 0) {
        fail(con, "log: %s", rc == MS_ETOOBIG ? "longer than 300 bytes"
                                              : ms_strerror(rc));
        return;
    }
    con->tag = NULL;
    settle(con, log_done);
}

/* ---- set ----------------------------------------------------------------- */

static void start_refresh(console *con);

static void set_done(console *con)
{
    if (con->created) {
        if (con->tty)
            con_print(con, stdout, "created %s (%s)\n",
                      ms_tag_name(con->tag),
                      ms_type_name(ms_tag_type(con->tag)));
        start_refresh(con); /* completion learns the new name */
    }
    finish(con, true);
}

static void set_typed(console *con)
{
    const char *name = con->pl.words[0];
    const ms_tagdesc *d = ms_tagdesc_find(&con->descs, name);
    ms_value cur;
    ms_type now = con->tag && ms_tag_get(con->tag, &cur) == 0 ? cur.type
                                                              : MS_TYPE_NONE;
    if (now == MS_TYPE_NONE && con->tag)
        now = ms_tag_type(con->tag);
    ms_type type = con->pl.type;
    if (type != MS_TYPE_NONE && now != MS_TYPE_NONE && type != now &&
        !(now == MS_TYPE_FLOAT && type == MS_TYPE_INT)) {
        fail(con, "%s holds %s values, not %s", name, ms_type_name(now),
             ms_type_name(type));
        return;
    }
    if (type == MS_TYPE_NONE)
        type = now != MS_TYPE_NONE ? now
               : d                 ? d->type
                                   : ms_con_guess_type(con->pl.rest);
    ms_value v;
    const char *why = "";
    if (ms_con_parse_value(type, con->pl.rest, d, &v, &con->valbuf, &why) <
        0) {
        fail(con, "set %s: '%s': %s", name, con->pl.rest, why);
        return;
    }
    ms_tag *t;
    int rc = ms_tag_new(con->c, name, now != MS_TYPE_NONE ? now : type, &t);
    if (rc < 0) {
        fail(con, "set %s: %s", name, ms_strerror(rc));
        return;
    }
    rc = ms_tag_set(t, &v, 0);
    if (rc < 0) {
        fail(con, "set %s: %s", name, ms_strerror(rc));
        return;
    }
    con->tag = t;
    settle(con, set_done); /* exits only once the bus has the value */
}

static void set_exists(console *con, const char *const *names, size_t n)
{
    const char *name = con->pl.words[0];
    if (has_name(names, n, name)) {
        int rc = ms_tag_new(con->c, name, MS_TYPE_NONE, &con->tag);
        if (rc < 0) {
            fail(con, "%s: %s", name, ms_strerror(rc));
            return;
        }
        settle(con, set_typed); /* learn its current type first */
    } else {
        con->created = true;
        con->tag = NULL;
        set_typed(con);
    }
}

static void do_set(console *con)
{
    const char *name = con->pl.words[0];
    if (!ms_tag_name_valid((const uint8_t *)name, strlen(name))) {
        fail(con, "'%s' is not a tag name", name);
        return;
    }
    con->created = false;
    con->tag = ms_tag_find(con->c, name);
    if (con->tag) {
        settle(con, set_typed);
        return;
    }
    char *pat = malloc(strlen(name) + 2);
    if (!pat) {
        fail(con, "out of memory");
        return;
    }
    sprintf(pat, "^%s", name);
    list(con, pat, 0, set_exists);
    free(pat);
}

/* ---- watch --------------------------------------------------------------- */

/* Subscribes name (printing its changes), making the tag if need be. */
static int watch_name(console *con, const char *name)
{
    ms_tag *t;
    int rc = ms_tag_new(con->c, name, MS_TYPE_NONE, &t);
    if (rc < 0)
        return rc;
    if (is_sub(con, t))
        return 0;
    if (ms_tag_has_value(t))
        print_value(con, t); /* no change will come for what is known */
    return add_sub(con, t);
}

static int add_filter(console *con, const char *f)
{
    for (size_t i = 0; i < con->nfilters; i++)
        if (!strcmp(con->filters[i], f))
            return 0;
    char **nf = realloc(con->filters, (con->nfilters + 1) * sizeof *nf);
    if (!nf)
        return MS_ENOMEM;
    con->filters = nf;
    if (!(nf[con->nfilters] = strdup(f)))
        return MS_ENOMEM;
    con->nfilters++;
    return 0;
}

static void watch_done(console *con)
{
    finish(con, true);
}

static void watch_listed(console *con, const char *const *names, size_t n)
{
    if (add_filter(con, con->pl.rest) < 0) {
        fail(con, "out of memory");
        return;
    }
    if (n == 0)
        con_print(con, stderr, "watch %s: no tags match yet; new ones will "
                               "print when they appear\n", con->pl.rest);
    ms_tag *last = NULL;
    for (size_t i = 0; i < n; i++) {
        int rc = watch_name(con, names[i]);
        if (rc < 0) {
            fail(con, "watch %s: %s", names[i], ms_strerror(rc));
            return;
        }
        last = ms_tag_find(con->c, names[i]);
    }
    /* IDs are answered in order: once the last has its id and SUB answer,
     * all have. */
    con->tag = last;
    settle(con, watch_done);
}

static void do_watch(console *con)
{
    list(con, con->pl.rest, 0, watch_listed);
}

/* ---- background: names for completion, new tags for watch ----------------- */

static void on_refresh(ms_client *c, int status, const char *const *names,
                       size_t n, void *arg)
{
    console *con = arg;
    (void)c;
    con->refreshing = false;
    if (status < 0 || con->stopping)
        return;
    char **nn = calloc(n ? n : 1, sizeof *nn);
    if (!nn)
        return;
    for (size_t i = 0; i < n; i++)
        if (!(nn[i] = strdup(names[i]))) {
            while (i--)
                free(nn[i]);
            free(nn);
            return;
        }
    qsort(nn, n, sizeof *nn, cmp_str);
    for (size_t i = 0; i < con->nnames; i++)
        free(con->names[i]);
    free(con->names);
    con->names = nn;
    con->nnames = n;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < con->nfilters; k++)
            if (ms_con_name_match(con->filters[k], nn[i])) {
                ms_tag *t = ms_tag_find(con->c, nn[i]);
                if (!t || !is_sub(con, t))
                    watch_name(con, nn[i]);
                break;
            }
}

static void start_refresh(console *con)
{
    if (con->refreshing || con->stopping ||
        ms_client_get_state(con->c) != MS_CLIENT_CONNECTED)
        return;
    if (ms_client_list(con->c, "^", 0, on_refresh, con) == 0)
        con->refreshing = true;
}

static void on_refresh_timer(uv_timer_t *h)
{
    start_refresh(h->data);
}

static const char *const *names_for_completion(size_t *n, void *arg)
{
    console *con = arg;
    *n = con->nnames;
    return (const char *const *)con->names;
}

static void on_state(ms_client *c, ms_client_state state, void *arg)
{
    console *con = arg;
    (void)c;
    if (state == MS_CLIENT_CONNECTED) {
        if (con->was_connected)
            con_print(con, stderr,
                      "bus %s:%d: reconnected; %zu subscription%s restored\n",
                      con->cfg.host, con->cfg.port, con->nsubs,
                      con->nsubs == 1 ? "" : "s");
        con->was_connected = true;
        con->refreshing = false;
        start_refresh(con);
        if (con->busy && con->on_connect) {
            step_fn next = con->on_connect;
            con->on_connect = NULL;
            next(con);
        }
    } else if (state == MS_CLIENT_CONNECTING && con->was_connected) {
        con_print(con, stderr, "bus %s:%d: connection lost; reconnecting\n",
                  con->cfg.host, con->cfg.port);
    }
}

/* ---- running lines ------------------------------------------------------- */

static void help(console *con)
{
    if (con->pl.nwords) {
        const ms_con_cmd_info *ci = ms_con_cmd_find(con->pl.words[0]);
        con_print(con, stdout, "%s %s\n%s\n", ci->name, ci->args, ci->help);
        return;
    }
    for (const ms_con_cmd_info *ci = ms_con_cmds; ci->name; ci++)
        con_print(con, stdout, "  %s%s%s\n", ci->name, *ci->args ? " " : "",
                  ci->args);
    con_print(con, stdout, "help COMMAND tells more. Tab completes commands "
                           "and tag names.\n");
}

static void run_line(console *con, const char *line)
{
    con->linebuf = strdup(line);
    if (!con->linebuf) {
        fail(con, "out of memory");
        return;
    }
    con->busy = true;
    con->gen++;
    if (ms_con_parse(con->linebuf, &con->pl) < 0) {
        fail(con, "%s", con->pl.err);
        return;
    }
    con->wi = 0;
    switch (con->pl.cmd) {
    case MS_CON_NONE:
        finish(con, true);
        return;
    case MS_CON_HELP:
        help(con);
        finish(con, true);
        return;
    case MS_CON_QUIT:
        con->input_done = true;
        con->nlines = con->iline;
        con->stopping = true;
        finish(con, true);
        return;
    case MS_CON_UNSUB:
        if (!con->pl.nwords)
            while (con->nsubs)
                drop_sub(con, con->nsubs - 1);
        for (size_t i = 0; i < con->pl.nwords; i++) {
            ms_tag *t = ms_tag_find(con->c, con->pl.words[i]);
            size_t k = 0;
            while (t && k < con->nsubs && con->subs[k] != t)
                k++;
            if (!t || k == con->nsubs) {
                fail(con, "unsub: %s is not subscribed", con->pl.words[i]);
                return;
            }
            drop_sub(con, k);
        }
        finish(con, true);
        return;
    default:
        break;
    }
    static const struct {
        ms_con_cmd cmd;
        step_fn first;
    } steps[] = {{MS_CON_LIST, do_list}, {MS_CON_GET, look_next},
                 {MS_CON_SUB, look_next}, {MS_CON_SET, do_set},
                 {MS_CON_WATCH, do_watch}, {MS_CON_RTA, do_rta},
                 {MS_CON_LOG, do_log}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i].cmd == con->pl.cmd) {
            /* One deadline for the whole command, connecting included. */
            uv_timer_start(&con->deadline, on_deadline,
                           (uint64_t)(con->timeout * 1000), 0);
            need_bus(con, steps[i].first);
            return;
        }
    finish(con, true);
}

/* ---- input and the end --------------------------------------------------- */

static void close_cb_noop(uv_handle_t *h)
{
    (void)h;
}

static void shutdown_all(console *con)
{
    if (uv_is_closing((uv_handle_t *)&con->refresh))
        return;
    con->stopping = true;
    if (con->tty) {
        ms_con_tty_stop(con->tty);
        con->tty = NULL;
    }
    if (con->in_open)
        uv_close((uv_handle_t *)&con->in, close_cb_noop);
    uv_close((uv_handle_t *)&con->refresh, close_cb_noop);
    uv_close((uv_handle_t *)&con->deadline, close_cb_noop);
    uv_close((uv_handle_t *)&con->sigint, close_cb_noop);
    uv_close((uv_handle_t *)&con->sigterm, close_cb_noop);
    ms_client_close(con->c);
}

static bool push_line(console *con, const char *s, size_t n)
{
    if (con->nlines == con->alines) {
        size_t na = con->alines ? 2 * con->alines : 16;
        char **nl = realloc(con->lines, na * sizeof *nl);
        if (!nl)
            return false;
        con->lines = nl;
        con->alines = na;
    }
    char *l = strndup(s, n);
    if (!l)
        return false;
    con->lines[con->nlines++] = l;
    return true;
}

/* Takes the next line when nothing runs; ends a script at its end (or
 * keeps printing subscriptions until a signal, like tagwatch). */
static void pump(console *con)
{
    if (con->pumping)
        return;
    con->pumping = true;
    while (!con->busy) {
        if (con->stopping) {
            shutdown_all(con);
            break;
        }
        if (con->tty) {
            ms_con_tty_prompt(con->tty, true);
            break;
        }
        if (con->iline < con->nlines) {
            char *l = con->lines[con->iline];
            con->lines[con->iline++] = NULL;
            run_line(con, l);
            free(l);
            continue;
        }
        if (!con->input_done || con->nsubs)
            break;
        shutdown_all(con);
        break;
    }
    con->pumping = false;
}

static void on_tty_line(const char *line, void *arg)
{
    console *con = arg;
    if (!line) {
        con->stopping = true;
        pump(con);
        return;
    }
    ms_con_tty_prompt(con->tty, false);
    run_line(con, line);
}

static void in_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    buf->base = malloc(65536);
    buf->len = buf->base ? 65536 : 0;
}

static void in_add(console *con, const char *p, size_t n)
{
    char *np = realloc(con->inpart, con->inpart_len + n + 1);
    if (!np)
        return;
    con->inpart = np;
    memcpy(np + con->inpart_len, p, n);
    con->inpart_len += n;
    size_t start = 0;
    for (size_t i = 0; i < con->inpart_len; i++)
        if (np[i] == '\n') {
            push_line(con, np + start, i - start);
            start = i + 1;
        }
    memmove(np, np + start, con->inpart_len - start);
    con->inpart_len -= start;
}

static void in_end(console *con)
{
    if (con->inpart_len)
        push_line(con, con->inpart, con->inpart_len);
    free(con->inpart);
    con->inpart = NULL;
    con->inpart_len = 0;
    con->input_done = true;
}

static void on_in(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    console *con = s->data;
    if (n > 0)
        in_add(con, buf->base, (size_t)n);
    free(buf->base);
    if (n < 0) {
        uv_read_stop(s);
        in_end(con);
    }
    pump(con);
}

/* stdin that is not a terminal: a pipe is read on the loop as lines come;
 * a file (or /dev/null) is read whole at once. */
static int open_stdin(console *con)
{
    struct stat st;
    if (fstat(STDIN_FILENO, &st) == 0 &&
        (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) &&
        uv_pipe_init(&con->loop, &con->in, 0) == 0) {
        if (uv_pipe_open(&con->in, STDIN_FILENO) == 0) {
            con->in_open = true;
            con->in.data = con;
            uv_read_start((uv_stream_t *)&con->in, in_alloc, on_in);
            return 0;
        }
        uv_close((uv_handle_t *)&con->in, NULL);
    }
    char buf[65536];
    ssize_t n;
    while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0 ||
           (n < 0 && errno == EINTR))
        if (n > 0)
            in_add(con, buf, (size_t)n);
    in_end(con);
    return 0;
}

static void on_signal(uv_signal_t *s, int signum)
{
    console *con = s->data;
    if (con->tty && signum == SIGINT) {
        if (con->busy)
            fail(con, "interrupted");
        else
            ms_con_tty_cancel(con->tty);
        return;
    }
    if (con->busy) {
        con->stopping = true;
        fail(con, "interrupted");
    } else {
        con->stopping = true;
        pump(con);
    }
}

/* ---- the command line ---------------------------------------------------- */

static int usage_error(const char *fmt, const char *a)
{
    fprintf(stderr, "mscada console: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\nTry 'mscada console --help'.\n");
    return MS_EXIT_USAGE;
}

static void console_help(const ms_module *m)
{
    printf("Usage: mscada console [--bus HOST:PORT | -i IP -p PORT] "
           "[--tags FILE]\n"
           "                      [-c COMMAND]... [-t SECONDS] [-v]\n\n"
           "%s\n\n%s\n", m->summary, m->usage);
    for (const ms_con_cmd_info *ci = ms_con_cmds; ci->name; ci++)
        printf("  %s%s%s\n", ci->name, *ci->args ? " " : "", ci->args);
}

typedef struct {
    const char **cmds;
    size_t ncmds;
    const char *tags;
    bool tags_given;
    const char *config;
    bool verbose;
} con_opts;

/* The option's value: "--opt=V" or the next argument. */
static const char *opt_value(int argc, char **argv, int *i, const char *a,
                             const char *name)
{
    size_t n = strlen(name);
    if (!strncmp(a, name, n) && a[n] == '=')
        return a + n + 1;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

static bool is_opt(const char *a, const char *s, const char *l)
{
    size_t n = strlen(l);
    return (s && !strcmp(a, s)) || !strcmp(a, l) ||
           (!strncmp(a, l, n) && a[n] == '=');
}

static int parse_args(const ms_module *m, int argc, char **argv,
                      console *con, con_opts *o)
{
    const char *ip = NULL, *port = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            console_help(m);
            return MS_CLI_HELP;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o->verbose = true;
        } else if (is_opt(a, NULL, "--bus")) {
            if (!(v = opt_value(argc, argv, &i, a, "--bus")) ||
                ms_client_config_set_bus(&con->cfg, v) < 0)
                return usage_error("--bus wants HOST:PORT%s", "");
        } else if (is_opt(a, "-i", "--bus-ip")) {
            if (!(ip = opt_value(argc, argv, &i, a, "--bus-ip")))
                return usage_error("%s needs an address", a);
        } else if (is_opt(a, "-p", "--bus-port")) {
            if (!(port = opt_value(argc, argv, &i, a, "--bus-port")))
                return usage_error("%s needs a port", a);
        } else if (is_opt(a, NULL, "--tags")) {
            if (!(o->tags = opt_value(argc, argv, &i, a, "--tags")))
                return usage_error("%s needs a FILE", a);
            o->tags_given = true;
        } else if (is_opt(a, NULL, "--config")) {
            if (!(o->config = opt_value(argc, argv, &i, a, "--config")))
                return usage_error("%s needs a FILE", a);
        } else if (is_opt(a, "-c", "--command")) {
            if (!(v = opt_value(argc, argv, &i, a, "--command")))
                return usage_error("%s needs a COMMAND", a);
            o->cmds[o->ncmds++] = v;
        } else if (is_opt(a, "-t", "--timeout")) {
            char *end;
            if (!(v = opt_value(argc, argv, &i, a, "--timeout")))
                return usage_error("%s needs SECONDS", a);
            con->timeout = strtod(v, &end);
            if (*end || !(con->timeout > 0) || con->timeout > 86400)
                return usage_error("--timeout: '%s' is not a number of "
                                   "seconds", v);
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (o->config) {
        ms_conf_doc *doc;
        ms_conf_error err;
        if (ms_conf_load(o->config, &doc, &err) < 0 ||
            ms_client_config_from_conf(&con->cfg, ms_conf_root(doc), &err) <
                0) {
            fprintf(stderr, "%s\n", err.text);
            return MS_EXIT_USAGE;
        }
        ms_conf_free(doc);
    }
    if (ip) {
        if (!*ip || strlen(ip) >= sizeof con->cfg.host)
            return usage_error("--bus-ip: bad address '%s'", ip);
        snprintf(con->cfg.host, sizeof con->cfg.host, "%s", ip);
    }
    if (port) {
        char *end;
        long p = strtol(port, &end, 10);
        if (*end || p < 1 || p > 65535)
            return usage_error("--bus-port: '%s' is not a port", port);
        con->cfg.port = (int)p;
    }
    return -1;
}

static char *history_path(void)
{
    const char *home = getenv("HOME");
    char *p = NULL;
    if (home && *home && asprintf(&p, "%s/.mscada_history", home) < 0)
        p = NULL;
    return p;
}

static void free_console(console *con)
{
    for (size_t i = con->iline; i < con->nlines; i++)
        free(con->lines[i]);
    free(con->lines);
    free(con->inpart);
    for (size_t i = 0; i < con->nnames; i++)
        free(con->names[i]);
    free(con->names);
    for (size_t i = 0; i < con->nfilters; i++)
        free(con->filters[i]);
    free(con->filters);
    free(con->subs);
    ms_tagdescs_free(&con->descs);
}

static int console_run(const ms_module *m, int argc, char **argv)
{
    console *con = calloc(1, sizeof *con);
    con_opts o = {0};
    o.cmds = calloc((size_t)argc + 1, sizeof *o.cmds);
    if (!con || !o.cmds) {
        free(con);
        free(o.cmds);
        fprintf(stderr, "mscada console: out of memory\n");
        return MS_EXIT_FAIL;
    }
    ms_client_config_init(&con->cfg);
    con->timeout = 5;
    o.tags = "tags.yaml";
    int rc = parse_args(m, argc, argv, con, &o);
    if (rc >= 0) {
        free(o.cmds);
        free(con);
        return rc == MS_CLI_HELP ? MS_EXIT_OK : rc;
    }
    ms_log_setup(m->name, o.verbose ? MS_LOG_DEBUG : MS_LOG_WARN);
    ms_conf_error err;
    if (ms_tagdesc_load(o.tags, !o.tags_given, &con->descs, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        free(o.cmds);
        free(con);
        return MS_EXIT_USAGE;
    }
    /* The client's own connection log lines would break into the prompt;
     * the console says what matters itself. */
    if (!o.verbose)
        ms_log_setup(m->name, MS_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN);

    uv_loop_init(&con->loop);
    con->cfg.on_state = on_state;
    con->cfg.on_state_arg = con;
    con->cfg.use_init = false; /* the console never publishes init values */
    rc = ms_client_new(&con->loop, &con->cfg, &con->c);
    if (rc < 0) {
        fprintf(stderr, "mscada console: bad bus address %s:%d\n",
                con->cfg.host, con->cfg.port);
        ms_tagdescs_free(&con->descs);
        free(o.cmds);
        uv_loop_close(&con->loop);
        free(con);
        return MS_EXIT_USAGE;
    }
    uv_timer_init(&con->loop, &con->deadline);
    uv_timer_init(&con->loop, &con->refresh);
    con->deadline.data = con->refresh.data = con;
    uv_timer_start(&con->refresh, on_refresh_timer, REFRESH_MS, REFRESH_MS);
    uv_signal_init(&con->loop, &con->sigint);
    uv_signal_init(&con->loop, &con->sigterm);
    con->sigint.data = con->sigterm.data = con;
    uv_signal_start(&con->sigint, on_signal, SIGINT);
    uv_signal_start(&con->sigterm, on_signal, SIGTERM);

    if (o.ncmds) {
        for (size_t i = 0; i < o.ncmds; i++)
            push_line(con, o.cmds[i], strlen(o.cmds[i]));
        con->input_done = true;
    } else if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
        char *hist = history_path();
        rc = ms_con_tty_start(&con->loop, "mscada> ", hist, on_tty_line,
                              names_for_completion, con, &con->tty);
        free(hist);
        if (rc < 0) {
            fprintf(stderr, "mscada console: cannot use the terminal\n");
            con->status = MS_EXIT_FAIL;
            con->stopping = true;
        } else {
            con_print(con, stdout, "mscada console on bus %s:%d; help lists "
                                   "the commands, Ctrl-D leaves.\n",
                      con->cfg.host, con->cfg.port);
        }
    } else {
        open_stdin(con);
    }
    free(o.cmds);
    pump(con);
    uv_run(&con->loop, UV_RUN_DEFAULT);
    uv_loop_close(&con->loop);
    rc = con->status;
    free_console(con);
    free(con);
    return rc;
}

const ms_module ms_module_console = {
    .name = "console",
    .summary = "interactive terminal on the bus (list, get, set, sub, ...)",
    .usage =
        "Without -c and with a terminal: line editing, history in\n"
        "~/.mscada_history, Tab completes commands and tag names, Ctrl-C\n"
        "drops the line, Ctrl-D leaves. With -c (repeatable), or commands\n"
        "on stdin: runs them in order and exits 1 if any failed (reason on\n"
        "stderr); after sub or watch it keeps printing changes until\n"
        "SIGINT/SIGTERM. Looking (get, sub, watch) never creates a tag.\n\n"
        "Options:\n"
        "  --bus HOST:PORT     the bus (default 127.0.0.1:1324)\n"
        "  -i, --bus-ip IP     the bus address\n"
        "  -p, --bus-port N    the bus port\n"
        "  --config FILE       read bus_ip/bus_port from a module config\n"
        "  --tags FILE         tags.yaml: dp, units, multi, format, types\n"
        "                      (default tags.yaml if present)\n"
        "  -c, --command CMD   run CMD (repeatable) instead of reading input\n"
        "  -t, --timeout S     seconds a command may wait for the bus (5)\n"
        "  -v, --verbose       log the client's detail to stderr\n"
        "  -h, --help          this text\n\n"
        "Commands:",
    .run = console_run,
};
