/* Common command-line handling for every `mscada MODULE`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <inttypes.h>
#include <systemd/sd-daemon.h>

#include "modules/module.h"
#include "mscada/error.h"
#include "mscada/log.h"

bool ms_cli_version(const ms_module *m, const char *arg)
{
    if (strcmp(arg, "--version") && strcmp(arg, "-V"))
        return false;
    printf("mscada %s %s\n", m->name, MSCADA_VERSION);
    return true;
}

void ms_cli_help(const ms_module *m, FILE *out)
{
    fprintf(out,
            "Usage: mscada %s [--config FILE] [--tags FILE] [--verbose]\n\n"
            "%s\n\n%s\n"
            "Options:\n"
            "  --config FILE   module config (default: %s.yaml)\n"
            "  --tags FILE     tag descriptions (default: tags.yaml; a missing\n"
            "                  default file means none)\n"
            "  -v, --verbose   log debug detail\n"
            "  -V, --version   the version\n"
            "  -h, --help      this text\n",
            m->name, m->summary, m->usage ? m->usage : "", m->name);
}

int ms_cli_parse(const ms_module *m, int argc, char **argv, ms_cli *cli)
{
    static char defconf[64];
    memset(cli, 0, sizeof *cli);
    snprintf(defconf, sizeof defconf, "%s.yaml", m->name);
    cli->config = defconf;
    cli->tags = "tags.yaml";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            ms_cli_help(m, stdout);
            return MS_EXIT_OK;
        } else if (ms_cli_version(m, a)) {
            return MS_EXIT_OK;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            cli->verbose = true;
        } else if (!strcmp(a, "--config") || !strcmp(a, "--tags")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mscada %s: %s needs a FILE\n", m->name, a);
                fprintf(stderr, "Try 'mscada %s --help'.\n", m->name);
                return MS_EXIT_USAGE;
            }
            val = argv[++i];
            if (!strcmp(a, "--config")) {
                cli->config = val;
            } else {
                cli->tags = val;
                cli->tags_given = true;
            }
        } else if (!strncmp(a, "--config=", 9)) {
            cli->config = a + 9;
        } else if (!strncmp(a, "--tags=", 7)) {
            cli->tags = a + 7;
            cli->tags_given = true;
        } else {
            fprintf(stderr, "mscada %s: unknown option '%s'\n", m->name, a);
            fprintf(stderr, "Try 'mscada %s --help'.\n", m->name);
            return MS_EXIT_USAGE;
        }
    }
    ms_log_setup(m->name, cli->verbose ? MS_LOG_DEBUG : MS_LOG_INFO);
    return -1;
}

static void stopper_close(ms_cli_stopper *st)
{
    if (st->done)
        return;
    st->done = true;
    sd_notify(0, "STOPPING=1");
    uv_close((uv_handle_t *)&st->sigint, NULL);
    uv_close((uv_handle_t *)&st->sigterm, NULL);
    if (st->watchdog.data) /* set only when systemd asked for it */
        uv_close((uv_handle_t *)&st->watchdog, NULL);
    st->stop(st->arg);
}

/* From the loop itself, so a loop that hangs stops feeding it. */
static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    sd_notify(0, "WATCHDOG=1");
}

static void stopper_on_signal(uv_signal_t *s, int signum)
{
    ms_cli_stopper *st = s->data;
    if (!st->done)
        ms_log_info("%s: %s", signum == SIGINT ? "SIGINT" : "SIGTERM",
                    st->what);
    stopper_close(st);
}

void ms_cli_stopper_start(ms_cli_stopper *st, uv_loop_t *loop,
                          const char *what, void (*stop)(void *arg),
                          void *arg)
{
    memset(st, 0, sizeof *st);
    st->stop = stop;
    st->arg = arg;
    st->what = what;
    uv_signal_init(loop, &st->sigint);
    uv_signal_init(loop, &st->sigterm);
    st->sigint.data = st->sigterm.data = st;
    uv_signal_start(&st->sigint, stopper_on_signal, SIGINT);
    uv_signal_start(&st->sigterm, stopper_on_signal, SIGTERM);
    /* Under systemd (NOTIFY_SOCKET set) the unit may be Type=notify and
     * have a WatchdogSec=; elsewhere both calls do nothing. */
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) {
        uint64_t ms = usec / 2000; /* twice per period */
        uv_timer_init(loop, &st->watchdog);
        st->watchdog.data = st;
        uv_timer_start(&st->watchdog, on_watchdog, 0, ms);
        ms_log_debug("systemd watchdog: fed every %" PRIu64 " ms", ms);
    }
    sd_notify(0, "READY=1");
}

void ms_cli_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            ms_log_warn("could not raise the open file limit");
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096)
        ms_log_warn("open file limit is %lu: fewer than ~%lu clients can "
                    "connect (raise it with ulimit -n or LimitNOFILE=)",
                    (unsigned long)rl.rlim_cur,
                    (unsigned long)rl.rlim_cur - 16);
}

int ms_cli_loop_init(uv_loop_t *loop)
{
    int rc = uv_loop_init(loop);
    if (rc == 0)
        return 0;
    ms_log_error("cannot start the event loop: %s; free descriptors or "
                 "memory (check ulimit -n) and start it again",
                 uv_strerror(rc));
    return MS_EXIT_FAIL;
}

void ms_cli_config_failed(const ms_module *m, const ms_cli *cli, int rc,
                          const ms_conf_error *err)
{
    if (rc == MS_ENOMEM)
        fprintf(stderr, "mscada %s: out of memory\n", m->name);
    else
        fprintf(stderr, "%s\n", err->text);
    if (rc == MS_ENOENT && access(cli->config, F_OK) != 0)
        fprintf(stderr, "mscada %s: no config: give one with --config FILE "
                "(`mscada checkout DIR` writes an example of each module's, "
                "as does config/%s.yaml in the source)\n", m->name, m->name);
}

int ms_cli_run(const ms_cli_runtime *r)
{
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    if (ms_cli_loop_init(&loop) != 0)
        return MS_ENOMEM;
    void *rt = NULL;
    int rc = r->start(&loop, r->arg, &rt);
    ms_cli_stopper stopper;
    if (rc == 0)
        ms_cli_stopper_start(&stopper, &loop, r->stopping, r->stop, rt);
    uv_run(&loop, UV_RUN_DEFAULT); /* a failed start's closes run here */
    int lc = uv_loop_close(&loop);
    if (lc != 0)
        ms_log_warn("the loop still had handles at exit (%s)",
                    ms_strerror(lc));
    if (rc == 0)
        ms_log_info("stopped");
    return rc;
}

typedef struct {
    const ms_cli_driver *d;
    void *cfg;
    const ms_tagdescs *descs;
} driver_args;

static int driver_start(uv_loop_t *loop, void *arg, void **rt)
{
    driver_args *a = arg;
    *rt = NULL;
    int rc = a->d->start(loop, a->cfg, a->descs, rt);
    if (rc < 0 && !a->d->start_logs)
        ms_log_error("cannot start: %s", ms_strerror(rc));
    return rc;
}

int ms_cli_driver_run(const ms_module *m, int argc, char **argv,
                      const ms_cli_driver *d, void *cfg)
{
    ms_cli cli;
    int rc = ms_cli_parse(m, argc, argv, &cli);
    if (rc >= 0)
        return rc;
    ms_tagdescs descs;
    memset(&descs, 0, sizeof descs);
    ms_conf_error err;
    if (d->load) {
        rc = d->load(cli.config, cfg, &err);
    } else {
        ms_conf_doc *doc = NULL;
        rc = ms_conf_load(cli.config, &doc, &err);
        if (rc == 0)
            rc = d->from_conf(ms_conf_root(doc), cfg, &err);
        ms_conf_free(doc);
    }
    bool optional = !cli.tags_given || (d->tags_optional &&
                                        d->tags_optional(cfg));
    if (rc == 0)
        rc = ms_tagdesc_load(cli.tags, optional, &descs, &err);
    if (rc < 0) {
        ms_cli_config_failed(m, &cli, rc, &err);
        d->config_free(cfg);
        ms_tagdescs_free(&descs);
        return MS_EXIT_USAGE;
    }
    if (d->raise_nofile)
        ms_cli_raise_nofile();
    ms_cli_runtime r = {driver_start, d->stop,
                        &(driver_args){d, cfg, &descs}, "stopping"};
    rc = ms_cli_run(&r);
    d->config_free(cfg);
    ms_tagdescs_free(&descs);
    return rc < 0 ? MS_EXIT_FAIL : MS_EXIT_OK;
}
