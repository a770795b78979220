/* `mscada console`: an interactive terminal on the bus, and its scripted
 * form (-c COMMAND, or commands from stdin when it is not a terminal).
 * This file: the command line, setting up the one libuv loop (bus client,
 * terminal or input, timers, signals) and tearing it down. How a command
 * runs: console_step.c; the commands: console_do.c; the bus in the
 * background: console_bus.c; input: console_input.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "modules/console_int.h"
#include "modules/module.h"
#include "mscada/error.h"
#include "mscada/log.h"

/* ---- the command line --------------------------------------------------- */

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
                      ms_con *con, con_opts *o)
{
    const char *ip = NULL, *port = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            console_help(m);
            return MS_EXIT_OK;
        } else if (ms_cli_version(m, a)) {
            return MS_EXIT_OK;
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

static void free_console(ms_con *con)
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
    free(con->kept); /* the tags are gone with the client */
    ms_tagdescs_free(&con->descs);
}

static int console_run(const ms_module *m, int argc, char **argv)
{
    ms_con *con = calloc(1, sizeof *con);
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
        return rc;
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

    if (ms_cli_loop_init(&con->loop) != 0) {
        ms_tagdescs_free(&con->descs);
        free(o.cmds);
        free(con);
        return MS_EXIT_FAIL;
    }
    con->cfg.on_state = ms_con_on_state;
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
    uv_timer_start(&con->refresh, ms_con_on_refresh_timer,
                   MS_CON_REFRESH_MS, MS_CON_REFRESH_MS);
    uv_signal_init(&con->loop, &con->sigint);
    uv_signal_init(&con->loop, &con->sigterm);
    con->sigint.data = con->sigterm.data = con;
    uv_signal_start(&con->sigint, ms_con_on_signal, SIGINT);
    uv_signal_start(&con->sigterm, ms_con_on_signal, SIGTERM);

    if (o.ncmds) {
        for (size_t i = 0; i < o.ncmds; i++)
            ms_con_push_line(con, o.cmds[i], strlen(o.cmds[i]));
        con->input_done = true;
    } else if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
        char *hist = history_path();
        rc = ms_con_tty_start(&con->loop, "mscada> ", hist, ms_con_on_tty_line,
                              ms_con_names_for_completion, con, &con->tty);
        free(hist);
        if (rc < 0) {
            fprintf(stderr, "mscada console: cannot use the terminal\n");
            con->status = MS_EXIT_FAIL;
            con->stopping = true;
        } else {
            ms_con_print(con, stdout, "mscada console on bus %s:%d; help lists "
                                   "the commands, Ctrl-D leaves.\n",
                      con->cfg.host, con->cfg.port);
        }
    } else {
        ms_con_open_stdin(con);
    }
    free(o.cmds);
    ms_con_pump(con);
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
