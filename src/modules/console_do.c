/* What each console command does (list, get, sub, unsub, set, watch,
 * rta, log), as steps run by console_step.c, and the subscriptions that
 * print every change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "modules/console_int.h"
#include "mscada/error.h"
#include "mscada/mstime.h"

/* ---- subscriptions that print ------------------------------------------- */

static void on_change(ms_tag *t, void *arg)
{
    ms_con_print_value(arg, t);
}

bool ms_con_sub_has(ms_con *con, ms_tag *t)
{
    for (size_t i = 0; i < con->nsubs; i++)
        if (con->subs[i] == t)
            return true;
    return false;
}

int ms_con_sub_add(ms_con *con, ms_tag *t)
{
    if (ms_con_sub_has(con, t))
        return 0;
    ms_tag **ns = ms_grow(con->subs, con->nsubs, &con->asubs, sizeof *ns, 16);
    if (!ns)
        return MS_ENOMEM;
    con->subs = ns;
    int rc = ms_tag_watch(t, on_change, con);
    if (rc == 0)
        con->subs[con->nsubs++] = t;
    return rc;
}

void ms_con_sub_drop(ms_con *con, size_t i)
{
    ms_tag_unwatch(con->subs[i], on_change, con);
    con->subs[i] = con->subs[--con->nsubs];
}

/* ---- unsub -------------------------------------------------------------- */

void ms_con_do_unsub(ms_con *con)
{
    if (!con->pl.nwords)
        while (con->nsubs)
            ms_con_sub_drop(con, con->nsubs - 1);
    for (size_t i = 0; i < con->pl.nwords; i++) {
        ms_tag *t = ms_tag_find(con->c, con->pl.words[i]);
        size_t k = 0;
        while (t && k < con->nsubs && con->subs[k] != t)
            k++;
        if (!t || k == con->nsubs) {
            ms_con_fail(con, "unsub: %s is not subscribed", con->pl.words[i]);
            return;
        }
        ms_con_sub_drop(con, k);
    }
    ms_con_finish(con, true);
}

/* ---- list --------------------------------------------------------------- */

static void list_done(ms_con *con, const char *const *names, size_t n)
{
    const char **v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        ms_con_fail(con, "out of memory");
        return;
    }
    memcpy(v, names, n * sizeof *v);
    qsort(v, n, sizeof *v, ms_con_cmp_str);
    for (size_t i = 0; i < n; i++)
        ms_con_print(con, stdout, "%s\n", v[i]);
    free(v);
    ms_con_finish(con, true);
}

void ms_con_do_list(ms_con *con)
{
    if (con->pl.since_s > 0) {
        uint64_t now = ms_time_now_us(), back = (uint64_t)(con->pl.since_s *
                                                           1e6);
        ms_con_list(con, "", now > back ? now - back : 1, list_done);
    } else {
        /* "^" (starts with nothing) is every name, set or not. */
        ms_con_list(con, con->pl.rest[0] ? con->pl.rest : "^", 0, list_done);
    }
}

/* ---- get, sub, rta: look before asking the id --------------------------- */

static void look_exists(ms_con *con, const char *const *names, size_t n)
{
    const char *name = con->pl.words[con->wi];
    if (!ms_con_has_name(names, n, name)) {
        ms_con_fail(con, "unknown tag %s", name);
        return;
    }
    int rc = ms_tag_new(con->c, name, MS_TYPE_NONE, &con->tag);
    if (rc < 0) {
        ms_con_fail(con, "%s: %s", name, ms_strerror(rc));
        return;
    }
    ms_con_settle(con, con->after_sync);
}

/* A tag this client knows (con->tag) runs known once settled: it exists
 * on the bus. Else the bus lists the names that start with name, for
 * listed to tell whether it is one of them. */
static void find_name(ms_con *con, const char *name, ms_con_step_fn known,
                      ms_con_listed_fn listed)
{
    if (!ms_tag_name_valid((const uint8_t *)name, strlen(name))) {
        ms_con_fail(con, "'%s' is not a tag name", name);
        return;
    }
    con->tag = ms_tag_find(con->c, name);
    if (con->tag) {
        ms_con_settle(con, known);
        return;
    }
    char *pat = malloc(strlen(name) + 2);
    if (!pat) {
        ms_con_fail(con, "out of memory");
        return;
    }
    sprintf(pat, "^%s", name);
    ms_con_list(con, pat, 0, listed);
    free(pat);
}

/* Finds the tag named pl.words[wi] on the bus, then runs then. */
static void look(ms_con *con, ms_con_step_fn then)
{
    con->after_sync = then;
    find_name(con, con->pl.words[con->wi], then, look_exists);
}

/* ---- an rta's answers, kept for the sub that follows ------------------- */

/* The answer to an RTA is a change of its tag. It may come, and be
 * replaced (history sets its reply, then six zero bytes), before a `sub`
 * that follows the rta has started watching. So rta watches the tag from
 * before the request and keeps its changes as lines, and the next
 * command, when it is a sub of that tag, prints them in place of the
 * tag's current value. */
#define KEEP_MAX 64 /* lines; later ones are dropped (sub prints later
                       changes anyway once it watches) */

static void on_kept(ms_tag *t, void *arg)
{
    ms_con *con = arg;
    if (con->nkept == KEEP_MAX)
        return;
    ms_value v;
    if (ms_tag_get(t, &v) < 0)
        v = ms_value_none();
    char *s = ms_con_format(&v, ms_tagdesc_find(&con->descs, ms_tag_name(t)));
    char *line = NULL;
    int n = s ? asprintf(&line, "%s %s\n", ms_tag_name(t), s) : -1;
    free(s);
    char *nk = n > 0 ? realloc(con->kept, con->kept_len + (size_t)n + 1)
                     : NULL;
    if (nk) {
        memcpy(nk + con->kept_len, line, (size_t)n + 1);
        con->kept = nk;
        con->kept_len += (size_t)n;
        con->nkept++;
    }
    free(line);
}

static int keep_start(ms_con *con, ms_tag *t)
{
    ms_con_keep_drop(con);
    if (ms_con_sub_has(con, t))
        return 0; /* its changes print anyway */
    int rc = ms_tag_watch(t, on_kept, con);
    if (rc == 0)
        con->kept_tag = t;
    return rc;
}

void ms_con_keep_drop(ms_con *con)
{
    if (con->kept_tag)
        ms_tag_unwatch(con->kept_tag, on_kept, con);
    con->kept_tag = NULL;
    free(con->kept);
    con->kept = NULL;
    con->kept_len = con->nkept = 0;
}

static void got(ms_con *con)
{
    if (con->pl.cmd == MS_CON_SUB && con->tag == con->kept_tag &&
        con->nkept) {
        ms_con_print(con, stdout, "%s", con->kept);
        ms_con_keep_drop(con);
    } else {
        ms_con_print_value(con, con->tag);
    }
    if (con->pl.cmd == MS_CON_SUB) {
        if (con->tag == con->kept_tag)
            ms_con_keep_drop(con); /* the sub's watch takes over */
        int rc = ms_con_sub_add(con, con->tag);
        if (rc < 0) {
            ms_con_fail(con, "%s", ms_strerror(rc));
            return;
        }
    }
    con->wi++;
    ms_con_look_next(con);
}

void ms_con_look_next(ms_con *con)
{
    if (con->wi == con->pl.nwords)
        ms_con_finish(con, true);
    else
        look(con, got);
}

static void on_rta_error(ms_tag *t, const char *text, void *arg)
{
    ms_con *con = arg;
    if (con->busy && con->pl.cmd == MS_CON_RTA && con->tag == t) {
        con->rta_failed = true;
        snprintf(con->rta_err, sizeof con->rta_err, "%s", text);
    } else {
        ms_con_print(con, stderr, "rta %s: %s\n", ms_tag_name(t), text);
    }
}

static void rta_done(ms_con *con)
{
    if (con->rta_failed)
        ms_con_fail(con, "rta %s: %s", ms_tag_name(con->tag), con->rta_err);
    else
        ms_con_finish(con, true);
}

static void rta_send(ms_con *con)
{
    ms_tag_on_rta_error(con->tag, on_rta_error, con);
    con->rta_failed = false;
    int rc = keep_start(con, con->tag);
    if (rc < 0) {
        ms_con_fail(con, "rta %s: %s", ms_tag_name(con->tag), ms_strerror(rc));
        return;
    }
    rc = ms_tag_rta_json(con->tag, con->pl.rest);
    if (rc < 0) {
        ms_con_fail(con, "rta %s: %s", ms_tag_name(con->tag),
             rc == MS_EINVAL ? "the request must be a JSON list or object"
                             : ms_strerror(rc));
        return;
    }
    ms_con_settle(con, rta_done); /* an ERR comes before the round trip ends */
}

void ms_con_do_rta(ms_con *con)
{
    look(con, rta_send);
}

static void log_done(ms_con *con)
{
    ms_con_finish(con, true);
}

void ms_con_do_log(ms_con *con)
{
    int rc = ms_client_log(con->c, con->pl.rest);
    if (rc < 0) {
        ms_con_fail(con, "log: %s", rc == MS_ETOOBIG ? "longer than 300 bytes"
                                              : ms_strerror(rc));
        return;
    }
    con->tag = NULL;
    ms_con_settle(con, log_done);
}

/* ---- set ---------------------------------------------------------------- */


static void set_done(ms_con *con)
{
    if (con->created) {
        if (con->tty)
            ms_con_print(con, stdout, "created %s (%s)\n",
                      ms_tag_name(con->tag),
                      ms_type_name(ms_tag_type(con->tag)));
        ms_con_refresh(con); /* completion learns the new name */
    }
    ms_con_finish(con, true);
}

static void set_typed(ms_con *con)
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
        ms_con_fail(con, "%s holds %s values, not %s", name, ms_type_name(now),
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
        ms_con_fail(con, "set %s: '%s': %s", name, con->pl.rest, why);
        return;
    }
    ms_tag *t;
    int rc = ms_tag_new(con->c, name, now != MS_TYPE_NONE ? now : type, &t);
    if (rc < 0) {
        ms_con_fail(con, "set %s: %s", name, ms_strerror(rc));
        return;
    }
    rc = ms_tag_set(t, &v, 0);
    if (rc < 0) {
        ms_con_fail(con, "set %s: %s", name, ms_strerror(rc));
        return;
    }
    con->tag = t;
    ms_con_settle(con, set_done); /* exits only once the bus has the value */
}

static void set_exists(ms_con *con, const char *const *names, size_t n)
{
    const char *name = con->pl.words[0];
    if (ms_con_has_name(names, n, name)) {
        int rc = ms_tag_new(con->c, name, MS_TYPE_NONE, &con->tag);
        if (rc < 0) {
            ms_con_fail(con, "%s: %s", name, ms_strerror(rc));
            return;
        }
        ms_con_settle(con, set_typed); /* learn its current type first */
    } else {
        con->created = true;
        con->tag = NULL;
        set_typed(con);
    }
}

void ms_con_do_set(ms_con *con)
{
    con->created = false;
    find_name(con, con->pl.words[0], set_typed, set_exists);
}

/* ---- watch -------------------------------------------------------------- */

/* Subscribes name (printing its changes), making the tag if need be. */
int ms_con_watch_name(ms_con *con, const char *name)
{
    ms_tag *t;
    int rc = ms_tag_new(con->c, name, MS_TYPE_NONE, &t);
    if (rc < 0)
        return rc;
    if (ms_con_sub_has(con, t))
        return 0;
    if (ms_tag_has_value(t))
        ms_con_print_value(con, t); /* no change will come for what is known */
    return ms_con_sub_add(con, t);
}

static int add_filter(ms_con *con, const char *f)
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

static void watch_done(ms_con *con)
{
    ms_con_finish(con, true);
}

static void watch_listed(ms_con *con, const char *const *names, size_t n)
{
    if (add_filter(con, con->pl.rest) < 0) {
        ms_con_fail(con, "out of memory");
        return;
    }
    if (n == 0)
        ms_con_print(con, stderr, "watch %s: no tags match yet; new ones will "
                               "print when they appear\n", con->pl.rest);
    ms_tag *last = NULL;
    for (size_t i = 0; i < n; i++) {
        int rc = ms_con_watch_name(con, names[i]);
        if (rc < 0) {
            ms_con_fail(con, "watch %s: %s", names[i], ms_strerror(rc));
            return;
        }
        last = ms_tag_find(con->c, names[i]);
    }
    /* IDs are answered in order: once the last has its id and SUB answer,
     * all have. */
    con->tag = last;
    ms_con_settle(con, watch_done);
}

void ms_con_do_watch(ms_con *con)
{
    ms_con_list(con, con->pl.rest, 0, watch_listed);
}
