/* `mscada wwwserver`: serves the HMI over HTTP and relays tags between the
 * bus and every browser over one websocket per tab (docs/www.md).
 * wwwserver.yaml + tags.yaml -> ms_www_app_start -> run the loop until
 * SIGTERM/SIGINT. */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "apps/wwwserver/www_app.h"
#include "modules/module.h"
#include "mscada/error.h"
#include "mscada/log.h"

typedef struct {
    ms_www_app_config *cfg;
    ms_conf_doc *tags;
} www_args;

static int www_start(uv_loop_t *loop, void *arg, void **rt)
{
    www_args *a = arg;
    ms_www_app *app = NULL;
    char why[512] = "";
    int rc = ms_www_app_start(loop, a->cfg,
                              a->tags ? ms_conf_root(a->tags) : NULL, &app,
                              why, sizeof why);
    if (rc < 0)
        fprintf(stderr, "%s\n", why[0] ? why : ms_strerror(rc));
    *rt = app;
    return rc;
}

static void www_stop(void *app)
{
    ms_www_app_stop(app);
}

static int wwwserver_run(const ms_module *m, int argc, char **argv)
{
    ms_cli cli;
    int rc = ms_cli_parse(m, argc, argv, &cli);
    if (rc >= 0)
        return rc;

    ms_www_app_config cfg;
    ms_conf_error err;
    ms_www_app_config_init(&cfg);
    rc = ms_www_app_config_load(cli.config, &cfg, &err);
    if (rc < 0) {
        ms_cli_config_failed(m, &cli, rc, &err);
        ms_www_app_config_free(&cfg);
        return MS_EXIT_USAGE;
    }
    ms_conf_doc *tags = NULL;
    rc = ms_conf_load(cli.tags, &tags, &err);
    if (rc == MS_ENOENT && !cli.tags_given) {
        tags = NULL; /* no tags.yaml: only the HMI's system tags */
    } else if (rc < 0 || ms_conf_want(ms_conf_root(tags), MS_CONF_MAP,
                                      "tags.yaml", &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        ms_conf_free(tags);
        ms_www_app_config_free(&cfg);
        return MS_EXIT_USAGE;
    }
    ms_cli_raise_nofile();
    ms_cli_runtime r = {www_start, www_stop, &(www_args){&cfg, tags},
                        "closing browsers and stopping"};
    rc = ms_cli_run(&r);
    ms_conf_free(tags);
    ms_www_app_config_free(&cfg);
    return rc < 0 ? MS_EXIT_FAIL : MS_EXIT_OK;
}

const ms_module ms_module_wwwserver = {
    .name = "wwwserver",
    .summary = "serve the HMI over HTTP; relay tags to browsers (websocket)",
    .usage =
        "Serves the browser HMI's files over HTTP and relays tags between the\n"
        "bus and every browser tab over one websocket each, speaking\n"
        "pymscada's browser protocol: the same wwwserver.yaml, tags.yaml and\n"
        "browser app work (docs/www.md). Runs until SIGTERM or SIGINT.\n\n"
        "wwwserver.yaml keys (all optional):\n"
        "  bus_ip: 127.0.0.1        the bus\n"
        "  bus_port: 1324\n"
        "  ip: 127.0.0.1            listen address (0.0.0.0: every address)\n"
        "  port: 8324\n"
        "  get_path: FOLDER         the browser app (index.html ...); empty:\n"
        "                           mscada's own (web/ beside the executable,\n"
        "                           or PREFIX/share/mscada/web; env\n"
        "                           MSCADA_WWW_APP overrides)\n"
        "  serve_path: FOLDER       files for deeper paths (downloads)\n"
        "  paths: [a, b]            pymscada 2024: folders allowed instead\n"
        "  www_tag: __wwwserver__   status tag (dict); empty for none\n"
        "  config: {...}            sent to each browser first\n"
        "  pages: [...]             the HMI's pages, sent next\n"
        "  queue_max: 16M           bytes waiting per browser before it is\n"
        "                           closed (1008)\n"
        "  max_message: 1M          largest message from a browser\n"
        "  history_max_points: 100000  max_points added to trend requests\n"
        "  batch_ms: 2              write to a browser at most this often\n"
        "                           (more frames per write; 0: at once)\n"
        "  status_interval: 10      seconds between status tag updates\n"
        "Logins, roles, audit, TLS (docs/security.md; off without users:):\n"
        "  users: users.yaml        users and roles (mscada passwd FILE NAME)\n"
        "  session_idle: 1800       seconds unused before a session ends\n"
        "  session_max: 43200       seconds before any session ends\n"
        "  session_key: FILE        sessions survive restarts (made if absent)\n"
        "  origins: [URL]           other pages allowed to open the websocket\n"
        "  audit: audit.jsonl       the audit trail (default with users:)\n"
        "  audit_max: 10M           bytes before it is rotated (.1 ... .9)\n"
        "  tls_cert: FILE           PEM certificate and key: HTTPS and WSS;\n"
        "  tls_key: FILE            plain HTTP on the port is redirected\n"
        "  hsts: false              Strict-Transport-Security under TLS\n",
    .run = wwwserver_run,
};
