/* The `mscada MODULE` interface: each module is one thin file that parses
 * its options with ms_cli_parse(), loads its config and runs a loop. */
#ifndef MS_MODULES_MODULE_H
#define MS_MODULES_MODULE_H

#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

#include "mscada/conf.h"
#include "mscada/tagdesc.h"

/* Exit statuses shared by every module. */
enum {
    MS_EXIT_OK = 0,
    MS_EXIT_FAIL = 1,   /* runtime failure (e.g. cannot bind) */
    MS_EXIT_USAGE = 2   /* bad command line or bad config */
};

typedef struct ms_module ms_module;

/* Options common to every module. */
typedef struct {
    const char *config; /* --config FILE, default "<module>.yaml" */
    const char *tags;   /* --tags FILE, default "tags.yaml" */
    bool tags_given;    /* --tags was on the command line */
    bool verbose;       /* --verbose / -v */
} ms_cli;

struct ms_module {
    const char *name;
    const char *summary; /* one line for `mscada --help` */
    const char *usage;   /* the module's own --help text after "Usage:" */
    int (*run)(const ms_module *m, int argc, char **argv);
};

/* Parses the common options from argv (argv[0] is the module name).
 * Returns -1 when the caller should go on, else the status to exit with:
 * MS_EXIT_OK after printing --help or --version, MS_EXIT_USAGE (usage on
 * stderr) for anything unknown. Sets up logging. */
int ms_cli_parse(const ms_module *m, int argc, char **argv, ms_cli *cli);
/* The old name of its "exit 0" result, for modules written before it
 * returned exit statuses only: `if (rc >= 0) return rc;` is enough. */
#define MS_CLI_HELP MS_EXIT_OK

/* A module's config or tags.yaml failed to load with rc: prints the error
 * (file:line:column: ...) and, when the config file itself is missing,
 * how to get one. */
void ms_cli_config_failed(const ms_module *m, const ms_cli *cli, int rc,
                          const ms_conf_error *err);

/* True (and the version printed) when arg is --version or -V. */
bool ms_cli_version(const ms_module *m, const char *arg);

/* Prints "Usage: mscada NAME ..." and the module's text. */
void ms_cli_help(const ms_module *m, FILE *out);

/* A started module's runtime as a service: stops it on SIGINT or SIGTERM
 * (logs "SIGTERM: <what>", calls stop(arg) once and closes its own
 * handles, so uv_run returns once the runtime has closed its handles too),
 * and under systemd tells it the module is ready at start (Type=notify),
 * feeds its watchdog from the loop (WatchdogSec=: a stuck loop gets the
 * module restarted) and says it is stopping. Started once the runtime has
 * started, so "ready" means listening or polling. */
typedef struct {
    uv_signal_t sigint, sigterm;
    uv_timer_t watchdog;   /* running only when systemd asks for it */
    void (*stop)(void *arg);
    void *arg;
    const char *what;
    bool done;
} ms_cli_stopper;

void ms_cli_stopper_start(ms_cli_stopper *st, uv_loop_t *loop,
                          const char *what, void (*stop)(void *arg),
                          void *arg);

/* A module's runtime: what ms_cli_run starts on its loop and stops on a
 * signal. */
typedef struct {
    /* Starts the runtime on loop: 0 with *rt, or an error with nothing left
     * (start logs or prints why). */
    int (*start)(uv_loop_t *loop, void *arg, void **rt);
    void (*stop)(void *rt);
    void *arg;
    const char *stopping; /* what a signal logs, e.g. "stopping" */
} ms_cli_runtime;

/* The life of a service module once its config is loaded: ignores SIGPIPE,
 * makes the loop, starts the runtime and then the stopper (so systemd is
 * told ready only once it runs), runs the loop until the runtime has
 * closed everything, closes the loop and logs "stopped". Returns 0, the
 * start's error (after its handles closed), or MS_ENOMEM when no loop could
 * be made (logged). */
int ms_cli_run(const ms_cli_runtime *r);

/* A driver module (modbusclient, snmpclient, sparkplug, logixclient,
 * logixserver, modbusserver): a config read from the module's yaml by
 * from_conf (or load), tags.yaml, and a runtime started with both. */
typedef struct {
    int (*from_conf)(const ms_conf_node *root, void *cfg, ms_conf_error *err);
    void (*config_free)(void *cfg);
    int (*start)(uv_loop_t *loop, void *cfg, const ms_tagdescs *descs,
                 void **rt); /* the error is logged by the caller... */
    void (*stop)(void *rt);
    /* NULL, or true when this config needs no tags.yaml even though
     * --tags named one (a sparkplug host): a missing file means none. */
    bool (*tags_optional)(const void *cfg);
    /* NULL, or what reads the config file instead of from_conf, for a
     * config that keeps its yaml (names borrowed from it). */
    int (*load)(const char *path, void *cfg, ms_conf_error *err);
    bool start_logs;   /* ...unless start logs it: no "cannot start" */
    bool raise_nofile; /* a server: ms_cli_raise_nofile() before start */
} ms_cli_driver;

/* The whole `mscada <driver>` command: parses argv, loads the config into
 * cfg (zeroed by the caller) and tags.yaml, runs the runtime as a service
 * (ms_cli_run) and frees both. Returns the exit status. */
int ms_cli_driver_run(const ms_module *m, int argc, char **argv,
                      const ms_cli_driver *d, void *cfg);

/* uv_loop_init for a module: when libuv can't make the loop (no
 * descriptors or memory left) it logs what happened and what to do and
 * returns MS_EXIT_FAIL, for the module to clean up and return; else 0. */
int ms_cli_loop_init(uv_loop_t *loop);

/* Servers that promise many connections lift the descriptor limit to the
 * hard limit, and warn when that still allows few clients. */
void ms_cli_raise_nofile(void);

extern const ms_module ms_module_bus;
extern const ms_module ms_module_validate;
extern const ms_module ms_module_checkout;

#endif
