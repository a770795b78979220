/* The wwwserver's relay between the bus and the browsers (www_app.h). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/wwwserver/www_app.h"
#include "apps/wwwserver/www_audit.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"
#include "mscada/tag.h"
#include "www/codec/www_hub.h"
#include "www/codec/www_json.h"
#include "www/codec/www_taginfo.h"
#include "www/server/www_server.h"

struct ms_www_app {
    uv_loop_t *loop;
    ms_www_hub *hub;
    ms_www_server *srv;
    ms_client *client;
    ms_tag **tags;           /* per hub tag: its bus tag once subscribed */
    ms_tag *status;
    uv_timer_t status_timer;
    bool was_connected;
    bool stopping;
    char *get_path, *serve_path, **paths;
    size_t npaths;
    /* docs/security.md */
    ms_www_users users;      /* taken from the config */
    ms_www_auth *auth;       /* NULL: no login */
    ms_www_audit *audit;     /* NULL: no audit file */
    char *tls_cert, *tls_key, **origins;
    size_t norigins;
};

/* The HMI subscribes to these on every page (angmscada SYS_TAGS); they are
 * browsers' tags even when tags.yaml doesn't list them. */
static const struct {
    const char *name, *type;
} sys_tags[] = {{"__history__", "bytes"},
                {"__opnotes__", "dict"},
                {"__alarms__", "dict"},
                {"__files__", "dict"}};

static int tag_index(ms_tag *t)
{
    return (int)(intptr_t)ms_tag_data(t) - 1;
}

static void on_change(ms_tag *t, void *arg)
{
    ms_www_app *app = arg;
    ms_value v;
    if (ms_tag_get(t, &v) == 0)
        ms_www_hub_value(app->hub, tag_index(t), &v, ms_tag_time_us(t));
}

static void on_id(ms_tag *t, void *arg)
{
    ms_www_app *app = arg;
    ms_www_hub_set_id(app->hub, tag_index(t), ms_tag_id(t));
}

static ms_tag *bus_tag(ms_www_app *app, int idx)
{
    if (app->tags[idx])
        return app->tags[idx];
    ms_tag *t;
    const char *name = ms_www_hub_tag_name(app->hub, idx);
    int rc = ms_tag_new(app->client, name, ms_www_hub_tag_type(app->hub, idx),
                        &t);
    if (rc < 0) {
        ms_log_warn("www: tag %s: %s; browsers get no values of it", name,
                    ms_strerror(rc));
        return NULL;
    }
    ms_tag_set_data(t, (void *)(intptr_t)(idx + 1));
    ms_tag_watch(t, on_change, app);
    ms_tag_on_id(t, on_id, app);
    app->tags[idx] = t;
    if (ms_tag_id(t))
        on_id(t, app);
    return t;
}

/* A value as JSON for the audit line (str as a string, bytes as its
 * length). */
static json_t *value_json(const ms_value *v)
{
    switch (v->type) {
    case MS_TYPE_INT:
        return json_integer(v->u.i);
    case MS_TYPE_FLOAT:
        return json_real(v->u.f);
    case MS_TYPE_STR:
        return json_stringn((const char *)v->u.buf.ptr, v->u.buf.len);
    case MS_TYPE_JSON:
        return json_loadb((const char *)v->u.buf.ptr, v->u.buf.len,
                          JSON_DECODE_ANY, NULL);
    case MS_TYPE_BYTES:
        return json_pack("{s:I}", "bytes", (json_int_t)v->u.buf.len);
    default:
        return json_null();
    }
}

static void audit(ms_www_app *app, const ms_www_audit_rec *r)
{
    ms_www_audit_write(app->audit, app->client, r);
}

/* With logins: may this browser's user do this? A refused write is
 * audited, logged and told to the browser ({"type": "error"}); an accepted
 * one is audited with the old and the new value. Reads pass. */
static bool allowed(ms_www_app *app, ms_www_conn *c, ms_www_action *act,
                    ms_tag *t)
{
    if (!app->auth || (act->kind != MS_WWW_ACT_SET &&
                       act->kind != MS_WWW_ACT_RTA))
        return true;
    const char *name = ms_tag_name(t);
    json_t *nv = act->kind == MS_WWW_ACT_SET
                     ? value_json(&act->value)
                     : json_loads(act->text, JSON_DECODE_ANY, NULL);
    if (act->kind == MS_WWW_ACT_RTA && !ms_www_rta_is_write(name, nv)) {
        json_decref(nv);
        return true;
    }
    const ms_www_user *u = ms_www_server_conn_user(c);
    const char *why;
    bool ok = ms_www_user_may_write(u, name, &why);
    ms_value old;
    json_t *ov = act->kind == MS_WWW_ACT_SET && ms_tag_has_value(t) &&
                         ms_tag_get(t, &old) == 0
                     ? value_json(&old)
                     : NULL;
    ms_www_audit_rec r = {
        .time_us = ms_time_now_us(),
        .event = act->kind == MS_WWW_ACT_SET ? "set" : "rta",
        .user = u ? u->name : NULL,
        .role = u ? ms_www_role_name(u->role) : NULL,
        .peer = ms_www_conn_peer(c),
        .tag = name,
        .old_value = ov,
        .new_value = nv,
        .accepted = ok,
        .why = why};
    audit(app, &r);
    json_decref(ov);
    json_decref(nv);
    if (ok)
        return true;
    ms_log_warn("www: %s: %s of %s by %s (%s) refused: %s",
                ms_www_conn_peer(c), r.event, name, r.user ? r.user : "?",
                r.role ? r.role : "?", why);
    json_t *p = json_pack("{s:s,s:s,s:s}", "tagname", name, "action", r.event,
                          "message", why);
    ms_www_conn_send(c, "error", p);
    json_decref(p);
    return false;
}

static void on_action(ms_www_conn *c, ms_www_action *act, void *arg)
{
    ms_www_app *app = arg;
    ms_tag *t = bus_tag(app, act->tag);
    if (!t || !allowed(app, c, act, t))
        return;
    int rc = 0;
    switch (act->kind) {
    case MS_WWW_ACT_SUB:
        if (ms_tag_has_value(t)) /* known from an earlier rta or set */
            on_change(t, app);
        break;
    case MS_WWW_ACT_SET: {
        uint64_t now = ms_time_now_us(); /* the server's time, as pymscada */
        rc = ms_tag_set(t, &act->value, now);
        if (rc == 0) /* own sets don't come back from the bus: show them */
            ms_www_hub_value(app->hub, act->tag, &act->value, now);
        break;
    }
    case MS_WWW_ACT_RTA:
        rc = ms_tag_rta_json(t, act->text);
        break;
    default:
        break;
    }
    if (rc < 0)
        ms_log_warn("www: %s: %s of %s failed: %s", ms_www_conn_peer(c),
                    act->kind == MS_WWW_ACT_SET ? "set" : "rta",
                    ms_tag_name(t), ms_strerror(rc));
}

static void on_state(ms_client *c, ms_client_state state, void *arg)
{
    (void)c;
    ms_www_app *app = arg;
    if (app->stopping)
        return;
    if (state == MS_CLIENT_CONNECTED) {
        ms_www_hub_bus(app->hub, true);
        app->was_connected = true;
    } else if (state == MS_CLIENT_CONNECTING && app->was_connected) {
        app->was_connected = false;
        ms_www_hub_bus(app->hub, false);
    }
}

/* __wwwserver__: what pymscada HEAD's www_tag stands for, filled in. */
static void status_cb(uv_timer_t *timer)
{
    ms_www_app *app = timer->data;
    if (!app->status)
        return;
    ms_www_hub_stats hs;
    ms_www_hub_get_stats(app->hub, &hs);
    json_t *peers = json_array();
    for (ms_www_conn *c = ms_www_hub_conn_first(app->hub); c;
         c = ms_www_conn_next(c)) {
        ms_www_conn_stats cs;
        ms_www_conn_get_stats(c, &cs);
        json_array_append_new(
            peers, json_pack("{s:s,s:i,s:I,s:I,s:I,s:I,s:I}", "peer",
                             ms_www_conn_peer(c), "rta_id",
                             ms_www_conn_rta_id(c), "subs", (json_int_t)cs.subs,
                             "msgs_in", (json_int_t)cs.msgs_in, "frames_out",
                             (json_int_t)cs.frames_out, "conflated",
                             (json_int_t)cs.conflated, "queued",
                             (json_int_t)cs.queued));
    }
    json_t *st = json_pack(
        "{s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I}", "connections",
        (json_int_t)hs.conns, "peers", peers, "msgs_in",
        (json_int_t)hs.msgs_in, "frames_out", (json_int_t)hs.frames_out,
        "bytes_out", (json_int_t)hs.bytes_out, "conflated",
        (json_int_t)hs.conflated, "refused", (json_int_t)hs.refused,
        "dropped", (json_int_t)hs.overflows);
    char *text = st ? ms_www_json_text(st, NULL) : NULL;
    if (text)
        ms_tag_set_json(app->status, text);
    free(text);
    json_decref(st);
}

static void on_auth_event(const ms_www_auth_event *ev, void *arg)
{
    ms_www_app *app = arg;
    ms_www_audit_rec r = {.time_us = ms_time_now_us(),
                          .event = ev->event,
                          .user = ev->user,
                          .role = ev->role,
                          .peer = ev->peer,
                          .accepted = ev->accepted,
                          .why = ev->why};
    /* a timeout has no peer: "www: logout of ..." */
    const char *peer = ev->peer ? ev->peer : "", *sep = ev->peer ? ": " : "";
    if (!ev->accepted)
        ms_log_warn("www: %s%s%s of %s refused: %s", peer, sep, ev->event,
                    ev->user, ev->why);
    else
        ms_log_info("www: %s%s%s of %s (%s)%s%s", peer, sep, ev->event,
                    ev->user, ev->role ? ev->role : "", ev->why ? ": " : "",
                    ev->why ? ev->why : "");
    audit(app, &r);
}

/* Logins, audit file (docs/security.md). */
static int security_start(ms_www_app *app, const ms_www_app_config *cfg,
                          const json_t *pages, char *why, size_t whylen)
{
    int rc;
    if (cfg->audit &&
        (rc = ms_www_audit_open(app->loop, cfg->audit, cfg->audit_max,
                                &app->audit, why, whylen)) < 0)
        return rc;
    if (!cfg->users)
        return 0;
    app->users = cfg->users_list; /* taken over */
    memset((void *)&cfg->users_list, 0, sizeof cfg->users_list);
    ms_www_users_resolve_pages(&app->users, pages);
    ms_www_auth_config ac = {.users = &app->users,
                             .idle_ms = (uint64_t)(cfg->session_idle * 1000),
                             .max_s = (unsigned)cfg->session_max,
                             .on_event = on_auth_event,
                             .arg = app};
    if ((rc = ms_www_auth_key(cfg->session_key, ac.key, why, whylen)) < 0)
        return rc;
    rc = ms_www_auth_new(app->loop, &ac, &app->auth);
    memset(ac.key, 0, sizeof ac.key);
    if (rc < 0)
        return rc;
    size_t n = 0;
    for (size_t i = 0; i < app->users.n; i++)
        n += app->users.v[i].hash != NULL;
    ms_log_info("www: logins on: %zu users in %s (%zu can log in)",
                app->users.n, cfg->users, n);
    return 0;
}

static char *dup0(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* No get_path: mscada's own browser app (docs/hmi.md): MSCADA_WWW_APP if
 * set (empty: none, the built-in page), else web/ beside the executable
 * (the build) or ../share/mscada/web (an install). NULL when not found. */
static char *own_app(void)
{
    const char *env = getenv("MSCADA_WWW_APP");
    if (env)
        return env[0] ? realpath(env, NULL) : NULL;
    char exe[PATH_MAX];
    size_t n = sizeof exe;
    if (uv_exepath(exe, &n) != 0)
        return NULL;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = 0;
    static const char *const rel[] = {"web", "../share/mscada/web"};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        char dir[PATH_MAX + 32], page[PATH_MAX + 48];
        snprintf(dir, sizeof dir, "%s/%s", exe, rel[i]);
        snprintf(page, sizeof page, "%s/index.html", dir);
        if (access(page, R_OK) == 0)
            return realpath(dir, NULL);
    }
    return NULL;
}

int ms_www_app_start(uv_loop_t *loop, const ms_www_app_config *cfg,
                     const ms_conf_node *tags, ms_www_app **out, char *why,
                     size_t whylen)
{
    ms_www_app *app = calloc(1, sizeof *app);
    if (!app)
        return MS_ENOMEM;
    app->loop = loop;
    ms_www_hub_config hc;
    ms_www_hub_config_init(&hc);
    hc.queue_max = cfg->queue_max;
    hc.history_max_points = cfg->history_max_points;
    json_t *config = cfg->config ? ms_www_conf_json(cfg->config)
                                 : json_object();
    json_t *pages = cfg->pages ? ms_www_conf_json(cfg->pages) : json_array();
    int rc = ms_www_hub_new(&hc, config, pages, &app->hub);
    json_decref(config);
    if (rc < 0) {
        json_decref(pages);
        free(app);
        return rc;
    }
    rc = security_start(app, cfg, pages, why, whylen);
    json_decref(pages);
    if (rc < 0) {
        ms_www_auth_free(app->auth);
        ms_www_users_free(&app->users);
        ms_www_audit_close(app->audit);
        ms_www_hub_free(app->hub);
        free(app);
        return rc;
    }
    for (size_t i = 0; tags && tags->kind == MS_CONF_MAP && i < tags->n; i++)
        ms_www_hub_add_tag(app->hub, tags->keys[i]->text,
                           ms_www_taginfo(tags->keys[i]->text,
                                          tags->items[i]));
    for (size_t i = 0; i < sizeof sys_tags / sizeof sys_tags[0]; i++) {
        if (ms_www_hub_find(app->hub, sys_tags[i].name) >= 0)
            continue;
        ms_conf_doc *d;
        ms_conf_error err;
        char y[64];
        int n = snprintf(y, sizeof y, "type: %s\n", sys_tags[i].type);
        if (ms_conf_parse("(built in)", y, (size_t)n, &d, &err) == 0) {
            ms_www_hub_add_tag(app->hub, sys_tags[i].name,
                               ms_www_taginfo(sys_tags[i].name,
                                              ms_conf_root(d)));
            ms_conf_free(d);
        }
    }
    app->tags = calloc(ms_www_hub_ntags(app->hub) + 1, sizeof *app->tags);

    ms_client_config cc = cfg->client;
    cc.on_state = on_state;
    cc.on_state_arg = app;
    rc = app->tags ? ms_client_new(loop, &cc, &app->client) : MS_ENOMEM;
    if (rc < 0) {
        ms_www_hub_free(app->hub);
        free(app->tags);
        free(app);
        return rc;
    }
    if (cfg->www_tag && cfg->www_tag[0])
        ms_tag_new(app->client, cfg->www_tag, MS_TYPE_JSON, &app->status);

    app->get_path = cfg->get_path ? strdup(cfg->get_path) : own_app();
    if (!cfg->get_path)
        ms_log_info("www: %s%s", app->get_path ? "mscada's browser app in " :
                    "mscada's browser app not found: the built-in page",
                    app->get_path ? app->get_path : "");
    app->serve_path = dup0(cfg->serve_path);
    app->npaths = cfg->npaths;
    app->paths = calloc(cfg->npaths + 1, sizeof *app->paths);
    for (size_t i = 0; app->paths && i < cfg->npaths; i++)
        app->paths[i] = strdup(cfg->paths[i]);

    ms_www_server_config sc;
    ms_www_server_config_init(&sc);
    if (cfg->ip)
        sc.ip = cfg->ip;
    sc.port = cfg->port;
    sc.roots.get_path = app->get_path;
    sc.roots.serve_path = app->serve_path;
    sc.roots.paths = (const char *const *)app->paths;
    sc.roots.npaths = app->npaths;
    sc.max_message = cfg->max_message;
    sc.batch_ms = (unsigned)cfg->batch_ms;
    sc.hub = app->hub;
    sc.auth = app->auth;
    app->tls_cert = dup0(cfg->tls_cert);
    app->tls_key = dup0(cfg->tls_key);
    sc.tls_cert = app->tls_cert;
    sc.tls_key = app->tls_key;
    sc.hsts = cfg->hsts;
    app->origins = calloc(cfg->norigins + 1, sizeof *app->origins);
    for (size_t i = 0; app->origins && i < cfg->norigins; i++)
        app->origins[app->norigins++] = strdup(cfg->origins[i]);
    sc.origins = (const char *const *)app->origins;
    sc.norigins = app->norigins;
    sc.on_action = on_action;
    sc.arg = app;
    uv_timer_init(loop, &app->status_timer);
    app->status_timer.data = app;
    rc = ms_www_server_start(loop, &sc, &app->srv, why, whylen);
    if (rc < 0) {
        app->srv = NULL;
        ms_www_app_stop(app);
        return rc;
    }
    uint64_t ms = (uint64_t)(cfg->status_interval * 1000);
    uv_timer_start(&app->status_timer, status_cb, ms, ms);
    ms_log_info("www: listening on %s://%s:%d/ (bus %s:%d)",
                sc.tls_cert ? "https" : "http", sc.ip,
                ms_www_server_port(app->srv), cc.host, cc.port);
    *out = app;
    return 0;
}

static void app_free(uv_handle_t *h)
{
    ms_www_app *app = h->data;
    ms_www_hub_free(app->hub);
    ms_www_auth_free(app->auth);
    ms_www_users_free(&app->users);
    free(app->tls_cert);
    free(app->tls_key);
    for (size_t i = 0; i < app->norigins; i++)
        free(app->origins[i]);
    free(app->origins);
    free(app->tags);
    free(app->get_path);
    free(app->serve_path);
    for (size_t i = 0; i < app->npaths; i++)
        free(app->paths[i]);
    free(app->paths);
    free(app);
}

static void server_done(void *arg)
{
    ms_www_app *app = arg;
    app->srv = NULL;
    ms_www_audit_close(app->audit);
    app->audit = NULL;
    ms_client_close(app->client);
    app->client = NULL;
    uv_close((uv_handle_t *)&app->status_timer, app_free);
}

void ms_www_app_stop(ms_www_app *app)
{
    if (!app || app->stopping)
        return;
    app->stopping = true;
    uv_timer_stop(&app->status_timer);
    if (app->srv)
        ms_www_server_stop(app->srv, server_done, app);
    else
        server_done(app);
}
