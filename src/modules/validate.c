/* `mscada validate`: checks tags.yaml and module configs without running
 * anything, so a config change can be tested before a restart. Errors exit
 * 2; warnings (an unknown key: a typo the module would only warn about and
 * then run without) exit 1, because a validation that passes must mean the
 * module will do what the file says. */
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/modbusclient/mbc_plan.h"
#include "apps/modbusserver/mbs_run.h"
#include "apps/logixclient/lgxc_app.h"
#include "apps/logixserver/lgxs_app.h"
#include "apps/snmpclient/snmpc_config.h"
#include "apps/sparkplug/spb_config.h"
#include "apps/wwwserver/www_app.h"
#include "modules/module.h"
#include "mscada/bus.h"
#include "mscada/error.h"
#include "mscada/history_server.h"
#include "mscada/log.h"
#include "mscada/tagdesc.h"
#include "snmp/snmp_session.h"

/* The modules with a schema, in the order a site folder is checked. */
static const char *const schemas[] = {"bus", "modbusclient", "modbusserver",
                                      "snmpclient", "sparkplug", "logixclient",
                                      "logixserver", "history", "wwwserver",
                                      NULL};

typedef struct {
    int warnings; /* WARN lines logged while loading: each is a finding */
    int status;   /* MS_EXIT_OK, or MS_EXIT_USAGE after an error */
} validation;

/* Warnings come from the loaders as log lines: count them (and still print
 * them, as the module would). */
static void on_log(ms_log_level level, const char *msg, void *arg)
{
    validation *v = arg;
    if (level == MS_LOG_WARN)
        v->warnings++;
    fprintf(stderr, "%s: %s\n", level == MS_LOG_WARN ? "warning" : "error",
            msg);
}

/* The module a config file belongs to, from its name: bus.yaml -> "bus". */
static const char *module_from_name(const char *path, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", path);
    char *base = basename(buf);
    char *dot = strchr(base, '.');
    if (dot)
        *dot = '\0';
    for (size_t i = 0; schemas[i]; i++)
        if (!strncmp(base, schemas[i], strlen(schemas[i])))
            return schemas[i];
    return base;
}

static bool has_schema(const char *module)
{
    for (size_t i = 0; schemas[i]; i++)
        if (!strcmp(module, schemas[i]))
            return true;
    return false;
}

static int load_config(const char *module, const char *path,
                       ms_conf_error *err)
{
    int rc;
    if (!strcmp(module, "bus")) {
        ms_bus_config cfg;
        ms_bus_config_init(&cfg);
        rc = ms_bus_config_load(path, &cfg, err);
        ms_bus_config_free(&cfg);
    } else if (!strcmp(module, "history")) {
        ms_hist_config cfg;
        ms_hist_config_init(&cfg);
        rc = ms_hist_config_load(path, false, &cfg, err);
        ms_hist_config_free(&cfg);
    } else if (!strcmp(module, "modbusclient")) {
        ms_conf_doc *doc;
        rc = ms_conf_load(path, &doc, err);
        if (rc == 0) {
            ms_mbc_config cfg;
            memset(&cfg, 0, sizeof cfg);
            rc = ms_mbc_config_from_conf(ms_conf_root(doc), &cfg, err);
            ms_mbc_config_free(&cfg);
            ms_conf_free(doc);
        }
    } else if (!strcmp(module, "logixclient") ||
               !strcmp(module, "logixserver")) {
        ms_conf_doc *doc = NULL;
        rc = ms_conf_load(path, &doc, err);
        if (rc == 0 && module[5] == 'c') {
            ms_lgxc_config cfg;
            rc = ms_lgxc_config_from_conf(ms_conf_root(doc), &cfg, err);
            ms_lgxc_config_free(&cfg);
        } else if (rc == 0) {
            ms_lgxs_config cfg;
            rc = ms_lgxs_config_from_conf(ms_conf_root(doc), &cfg, err);
            ms_lgxs_config_free(&cfg);
        }
        ms_conf_free(doc);
    } else if (!strcmp(module, "wwwserver")) {
        ms_www_app_config cfg;
        ms_www_app_config_init(&cfg);
        rc = ms_www_app_config_load(path, &cfg, err);
        ms_www_app_config_free(&cfg);
    } else if (!strcmp(module, "snmpclient")) {
        ms_conf_doc *doc;
        rc = ms_conf_load(path, &doc, err);
        if (rc == 0) {
            ms_snmpc_config cfg;
            rc = ms_snmpc_config_from_conf(ms_conf_root(doc), &cfg, err);
            ms_snmpc_config_free(&cfg);
            ms_conf_free(doc);
        }
        /* The loader set net-snmp up (MIBs for OIDs by name): undone, so
         * that another file may name other MIBs. */
        ms_snmp_lib_shutdown();
    } else if (!strcmp(module, "sparkplug")) {
        ms_conf_doc *doc;
        rc = ms_conf_load(path, &doc, err);
        if (rc == 0) {
            ms_spb_config cfg;
            rc = ms_spb_config_from_conf(ms_conf_root(doc), &cfg, err);
            ms_spb_config_free(&cfg);
            ms_conf_free(doc);
        }
    } else if (!strcmp(module, "modbusserver")) {
        ms_mbs_config cfg;
        memset(&cfg, 0, sizeof cfg);
        rc = ms_mbs_config_load(path, &cfg, err);
        ms_mbs_config_free(&cfg);
    } else {
        /* No schema here: it must at least be well-formed YAML. */
        ms_conf_doc *doc;
        rc = ms_conf_load(path, &doc, err);
        if (rc == 0)
            ms_conf_free(doc);
    }
    return rc;
}

/* Checks one config; module NULL: from the file's name. */
static void check_config(validation *v, const char *path, const char *module)
{
    char buf[4096];
    ms_conf_error err;
    if (!module)
        module = module_from_name(path, buf, sizeof buf);
    int before = v->warnings;
    if (load_config(module, path, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        v->status = MS_EXIT_USAGE;
        return;
    }
    int warned = v->warnings - before;
    if (!has_schema(module))
        printf("%s: well-formed YAML (no schema for module '%s'; name it "
               "with --module)\n", path, module);
    else if (warned)
        printf("%s: %d warning%s (%s config)\n", path, warned,
               warned == 1 ? "" : "s", module);
    else
        printf("%s: ok (%s config)\n", path, module);
}

/* tags.yaml, with the rules of every module that reads it (history refuses
 * an int or float tag whose name can't be a file name). */
static void check_tags(validation *v, const char *path)
{
    ms_tagdescs tags;
    ms_conf_error err;
    char why[512];
    int before = v->warnings;
    if (ms_tagdesc_load(path, false, &tags, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        v->status = MS_EXIT_USAGE;
        return;
    }
    if (ms_hist_tags_check(&tags, path, why, sizeof why) < 0) {
        fprintf(stderr, "%s\n", why);
        v->status = MS_EXIT_USAGE;
    } else if (v->warnings > before) {
        printf("%s: %d warning%s (%zu tags)\n", path, v->warnings - before,
               v->warnings - before == 1 ? "" : "s", tags.n);
    } else {
        printf("%s: ok (%zu tags)\n", path, tags.n);
    }
    ms_tagdescs_free(&tags);
}

/* A site folder (mscada checkout): its tags.yaml and every MODULE.yaml of
 * a module with a schema; other .yaml files are named as not checked. */
static void check_dir(validation *v, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tags.yaml", dir);
    if (access(path, F_OK) == 0)
        check_tags(v, path);
    else
        printf("%s: none (no tag descriptions)\n", path);
    int found = 0;
    for (size_t i = 0; schemas[i]; i++) {
        snprintf(path, sizeof path, "%s/%s.yaml", dir, schemas[i]);
        if (access(path, F_OK) == 0) {
            check_config(v, path, schemas[i]);
            found++;
        }
    }
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".yaml") ||
            !strcmp(de->d_name, "tags.yaml"))
            continue;
        bool known = false;
        for (size_t i = 0; schemas[i] && !known; i++)
            known = n == strlen(schemas[i]) + 5 &&
                    !strncmp(de->d_name, schemas[i], n - 5);
        if (!known)
            printf("%s/%s: not checked (no module of that name; check it "
                   "with --config FILE --module NAME)\n", dir, de->d_name);
    }
    if (d)
        closedir(d);
    if (!found) {
        fprintf(stderr, "mscada validate: %s holds no module config (%s.yaml, "
                "...): is it a site folder?\n", dir, schemas[0]);
        v->status = MS_EXIT_USAGE;
    }
}

/* validate's own arguments (a folder, --module) out of argv; the rest goes
 * to the common parser. */
static int take_args(int argc, char **argv, int *out_argc,
                     const char **module, const char **dir)
{
    int o = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--module")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mscada validate: --module needs a NAME\n"
                        "Try 'mscada validate --help'.\n");
                return MS_EXIT_USAGE;
            }
            *module = argv[++i];
        } else if (!strcmp(argv[i], "--config") ||
                   !strcmp(argv[i], "--tags")) {
            argv[o++] = argv[i];
            if (i + 1 < argc)
                argv[o++] = argv[++i];
        } else if (argv[i][0] != '-') {
            if (*dir) {
                fprintf(stderr, "mscada validate: one folder only\n"
                        "Try 'mscada validate --help'.\n");
                return MS_EXIT_USAGE;
            }
            *dir = argv[i];
        } else {
            argv[o++] = argv[i];
        }
    }
    *out_argc = o;
    return -1;
}

static int validate_run(const ms_module *m, int argc, char **argv)
{
    const char *module = NULL, *dir = NULL;
    int rc = take_args(argc, argv, &argc, &module, &dir);
    if (rc >= 0)
        return rc;
    ms_cli cli;
    rc = ms_cli_parse(m, argc, argv, &cli);
    if (rc >= 0)
        return rc;
    bool config_given = strcmp(cli.config, "validate.yaml") != 0;
    if (module && !config_given) {
        fprintf(stderr, "mscada validate: --module names the module of "
                "--config FILE: give --config too\n");
        return MS_EXIT_USAGE;
    }
    if (module && !has_schema(module)) {
        fprintf(stderr, "mscada validate: no schema for module '%s' (",
                module);
        for (size_t i = 0; schemas[i]; i++)
            fprintf(stderr, "%s%s", i ? ", " : "", schemas[i]);
        fprintf(stderr, ")\n");
        return MS_EXIT_USAGE;
    }
    validation v = {0, MS_EXIT_OK};
    ms_log_set_callback(on_log, &v);
    if (dir) {
        check_dir(&v, dir);
    } else if (cli.tags_given || access(cli.tags, F_OK) == 0) {
        check_tags(&v, cli.tags);
    } else if (!config_given) {
        ms_log_set_callback(NULL, NULL);
        fprintf(stderr, "mscada validate: nothing to check: no tags.yaml here;"
                        " give a site folder, --tags FILE and/or --config "
                        "FILE\n");
        return MS_EXIT_USAGE;
    }
    if (config_given)
        check_config(&v, cli.config, module);
    ms_log_set_callback(NULL, NULL);
    if (v.status == MS_EXIT_OK && v.warnings) {
        fprintf(stderr, "mscada validate: %d warning%s: the modules would "
                "run, ignoring what is named above; fix it or remove it\n",
                v.warnings, v.warnings == 1 ? "" : "s");
        return MS_EXIT_FAIL;
    }
    return v.status;
}

const ms_module ms_module_validate = {
    .name = "validate",
    .summary = "check tags.yaml and module configs (a file or a site folder)",
    .usage = "  mscada validate [--tags FILE] [--config FILE [--module NAME]]\n"
             "  mscada validate DIR\n\n"
             "Checks tags.yaml (--tags, or ./tags.yaml when present) and, with\n"
             "--config, a module config: its module comes from --module NAME\n"
             "or else from the file's name (bus.yaml, history.yaml,\n"
             "modbusclient.yaml, modbusserver.yaml, snmpclient.yaml, sparkplug.yaml,\n"
             "logixclient.yaml, logixserver.yaml,\n"
             "wwwserver.yaml; others: YAML syntax only).\n"
             "Given a folder (a site from `mscada checkout`), checks its\n"
             "tags.yaml and every MODULE.yaml in it.\n"
             "tags.yaml is held to every module's rules (history refuses an\n"
             "int or float tag whose name can't be a file name).\n\n"
             "Prints 'FILE: ok' per file. Exit status: 0 all clean; 2 an\n"
             "error (file:line:column: what is wrong); 1 warnings only, each\n"
             "file:line:column with 'did you mean' for a near key (the module\n"
             "would run, ignoring the key).\n",
    .run = validate_run,
};
