/* How a console command runs: as a chain of steps (LIST, then ID+SUB,
 * then round trips until the bus has answered) under one deadline; the
 * next line is taken only when it is done (finish or fail). Looking (get,
 * sub, watch, rta) asks LIST first, because asking a tag's id creates it:
 * only set creates. Also the console's output, which goes above the line
 * being edited. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "modules/console_int.h"
#include "modules/module.h"
#include "mscada/error.h"

#define MAX_SYNCS 20 /* round trips waiting for a tag's id */

typedef struct {
    ms_con *con;
    unsigned gen;
} list_req;

/* ---- output ------------------------------------------------------------- */

/* One or more whole lines; above the line being edited when there is one. */
static void con_vprint(ms_con *con, FILE *f, const char *fmt, va_list ap)
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

void ms_con_print(ms_con *con, FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    con_vprint(con, f, fmt, ap);
    va_end(ap);
}

void ms_con_print_value(ms_con *con, ms_tag *t)
{
    ms_value v;
    if (ms_tag_get(t, &v) < 0)
        v = ms_value_none();
    char *s = ms_con_format(&v, ms_tagdesc_find(&con->descs, ms_tag_name(t)));
    ms_con_print(con, stdout, "%s %s\n", ms_tag_name(t), s ? s : "?");
    free(s);
}

/* ---- finishing a command ------------------------------------------------ */

void ms_con_finish(ms_con *con, bool ok)
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
    if (!ok)
        con->status = MS_EXIT_FAIL;
    /* An rta's answers wait for the next command (a sub of its tag);
     * comments and empty lines pass them on. */
    if (!ok || (con->pl.cmd != MS_CON_RTA && con->pl.cmd != MS_CON_NONE))
        ms_con_keep_drop(con);
    ms_con_pump(con);
}

void ms_con_fail(ms_con *con, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) >= 0)
        ms_con_print(con, stderr, "error: %s\n", s);
    free(s);
    va_end(ap);
    ms_con_finish(con, false);
}

static void on_deadline(uv_timer_t *h)
{
    ms_con *con = h->data;
    if (con->on_connect || ms_client_get_state(con->c) != MS_CLIENT_CONNECTED)
        ms_con_fail(con, "cannot reach the bus at %s:%d (gave up after %g s)",
             con->cfg.host, con->cfg.port, con->timeout);
    else
        ms_con_fail(con, "no answer from the bus at %s:%d within %g s",
             con->cfg.host, con->cfg.port, con->timeout);
}

/* ---- steps: the connection, LIST, round trips --------------------------- */

static void need_bus(ms_con *con, ms_con_step_fn next)
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
    ms_con *con = r->con;
    bool stale = !con->busy || r->gen != con->gen;
    free(r);
    (void)c;
    if (stale)
        return;
    if (status < 0) {
        ms_con_fail(con, "the connection to the bus was lost");
        return;
    }
    con->on_listed(con, names, n);
}

void ms_con_list(ms_con *con, const char *pattern, uint64_t since_us,
                 ms_con_listed_fn then)
{
    list_req *r = malloc(sizeof *r);
    if (!r) {
        ms_con_fail(con, "out of memory");
        return;
    }
    r->con = con;
    r->gen = con->gen;
    con->on_listed = then;
    int rc = ms_client_list(con->c, pattern, since_us, on_listed, r);
    if (rc < 0) {
        free(r);
        ms_con_fail(con, "LIST: %s", ms_strerror(rc));
    }
}

static void sync_step(ms_con *con);

/* A round trip is done: the bus has handled everything sent before it.
 * The ID answer makes the client send SUB; the SUB answer makes it publish
 * a value set before the id was known. So: a round trip that finds the id,
 * one that covers SUB, one that covers that SET. */
static void synced(ms_con *con, const char *const *names, size_t n)
{
    (void)names;
    (void)n;
    bool has_id = !con->tag || ms_tag_id(con->tag) != 0;
    if (has_id && ++con->id_seen == 3) {
        con->after_sync(con);
        return;
    }
    if (++con->syncs > MAX_SYNCS) {
        ms_con_fail(con, "the bus gave %s no id", ms_tag_name(con->tag));
        return;
    }
    sync_step(con);
}

static void sync_step(ms_con *con)
{
    /* Names hold no spaces: this LIST matches nothing, cheaply. */
    ms_con_list(con, " ", 0, synced);
}

void ms_con_settle(ms_con *con, ms_con_step_fn then)
{
    con->syncs = 0;
    con->id_seen = 0;
    con->after_sync = then;
    sync_step(con);
}

bool ms_con_has_name(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return true;
    return false;
}

int ms_con_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}
/* ---- running lines ------------------------------------------------------ */

static void help(ms_con *con)
{
    if (con->pl.nwords) {
        const ms_con_cmd_info *ci = ms_con_cmd_find(con->pl.words[0]);
        ms_con_print(con, stdout, "%s %s\n%s\n", ci->name, ci->args, ci->help);
        return;
    }
    for (const ms_con_cmd_info *ci = ms_con_cmds; ci->name; ci++)
        ms_con_print(con, stdout, "  %s%s%s\n", ci->name, *ci->args ? " " : "",
                  ci->args);
    ms_con_print(con, stdout, "help COMMAND tells more. Tab completes commands "
                           "and tag names.\n");
}

void ms_con_run_line(ms_con *con, const char *line)
{
    con->linebuf = strdup(line);
    if (!con->linebuf) {
        ms_con_fail(con, "out of memory");
        return;
    }
    con->busy = true;
    con->gen++;
    if (ms_con_parse(con->linebuf, &con->pl) < 0) {
        ms_con_fail(con, "%s", con->pl.err);
        return;
    }
    con->wi = 0;
    switch (con->pl.cmd) {
    case MS_CON_NONE:
        ms_con_finish(con, true);
        return;
    case MS_CON_HELP:
        help(con);
        ms_con_finish(con, true);
        return;
    case MS_CON_QUIT:
        con->input_done = true;
        con->nlines = con->iline;
        con->stopping = true;
        ms_con_finish(con, true);
        return;
    case MS_CON_UNSUB:
        ms_con_do_unsub(con);
        return;
    default:
        break;
    }
    static const struct {
        ms_con_cmd cmd;
        ms_con_step_fn first;
    } steps[] = {{MS_CON_LIST, ms_con_do_list}, {MS_CON_GET, ms_con_look_next},
                 {MS_CON_SUB, ms_con_look_next}, {MS_CON_SET, ms_con_do_set},
                 {MS_CON_WATCH, ms_con_do_watch}, {MS_CON_RTA, ms_con_do_rta},
                 {MS_CON_LOG, ms_con_do_log}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i].cmd == con->pl.cmd) {
            /* One deadline for the whole command, connecting included. */
            uv_timer_start(&con->deadline, on_deadline,
                           (uint64_t)(con->timeout * 1000), 0);
            need_bus(con, steps[i].first);
            return;
        }
    ms_con_finish(con, true);
}
