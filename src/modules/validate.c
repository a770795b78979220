/* `mscada validate`: checks tags.yaml and a module config without running
 * anything, so a config change can be tested before a restart. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "apps/modbusserver/mbs_run.h"
#include "apps/modbusclient/mbc_plan.h"
#include "modules/module.h"
#include "mscada/bus.h"
#include "mscada/error.h"
#include "mscada/history_server.h"
#include "mscada/tagdesc.h"

/* The module a config file belongs to, from its name: bus.yaml -> "bus". */
static const char *config_module(const char *path, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", path);
    char *base = basename(buf);
    char *dot = strchr(base, '.');
    if (dot)
        *dot = '\0';
    return base;
}

static int check_config(const char *path)
{
    char buf[4096];
    const char *mod = config_module(path, buf, sizeof buf);
    ms_conf_error err;
    int rc;
    const char *what;
    if (!strncmp(mod, "bus", 3)) {
        ms_bus_config cfg;
        ms_bus_config_init(&cfg);
        rc = ms_bus_config_load(path, &cfg, &err);
        ms_bus_config_free(&cfg);
        what = "bus";
    } else if (!strncmp(mod, "history", 7)) {
        ms_hist_config cfg;
        ms_hist_config_init(&cfg);
        rc = ms_hist_config_load(path, false, &cfg, &err);
        ms_hist_config_free(&cfg);
        what = "history";
    } else if (!strncmp(mod, "modbusclient", 12)) {
        ms_conf_doc *doc;
        rc = ms_conf_load(path, &doc, &err);
        if (rc == 0) {
            ms_mbc_config cfg;
            memset(&cfg, 0, sizeof cfg);
            rc = ms_mbc_config_from_conf(ms_conf_root(doc), &cfg, &err);
            ms_mbc_config_free(&cfg);
            ms_conf_free(doc);
        }
        what = "modbusclient";
    } else if (!strncmp(mod, "modbusserver", 12)) {
        ms_mbs_config cfg;
        memset(&cfg, 0, sizeof cfg);
        rc = ms_mbs_config_load(path, &cfg, &err);
        ms_mbs_config_free(&cfg);
        what = "modbusserver";
    } else {
        what = NULL;
        rc = 0;
    }
    if (what) {
        if (rc < 0) {
            fprintf(stderr, "%s\n", err.text);
            return MS_EXIT_USAGE;
        }
        printf("%s: ok (%s config)\n", path, what);
        return MS_EXIT_OK;
    }
    /* No schema for it yet: it must at least be well-formed YAML. */
    ms_conf_doc *doc;
    if (ms_conf_load(path, &doc, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        return MS_EXIT_USAGE;
    }
    ms_conf_free(doc);
    printf("%s: well-formed YAML (no schema for module '%s' here)\n", path,
           mod);
    return MS_EXIT_OK;
}

static int validate_run(const ms_module *m, int argc, char **argv)
{
    ms_cli cli;
    int rc = ms_cli_parse(m, argc, argv, &cli);
    if (rc == MS_CLI_HELP)
        return MS_EXIT_OK;
    if (rc >= 0)
        return rc;
    int status = MS_EXIT_OK;
    bool config_given = strcmp(cli.config, "validate.yaml") != 0;
    if (cli.tags_given || access(cli.tags, F_OK) == 0) {
        ms_tagdescs tags;
        ms_conf_error err;
        rc = ms_tagdesc_load(cli.tags, false, &tags, &err);
        if (rc < 0) {
            fprintf(stderr, "%s\n", err.text);
            status = MS_EXIT_USAGE;
        } else {
            printf("%s: ok (%zu tags)\n", cli.tags, tags.n);
            ms_tagdescs_free(&tags);
        }
    } else if (!config_given) {
        fprintf(stderr, "mscada validate: nothing to check: no tags.yaml here;"
                        " give --tags FILE and/or --config FILE\n");
        return MS_EXIT_USAGE;
    }
    if (config_given && check_config(cli.config) != MS_EXIT_OK)
        status = MS_EXIT_USAGE;
    return status;
}

const ms_module ms_module_validate = {
    .name = "validate",
    .summary = "check tags.yaml and a module's config file",
    .usage = "Checks tags.yaml (--tags, or ./tags.yaml when present) and, with\n"
             "--config, a module config named after its module (bus.yaml,\n"
             "history.yaml, modbusclient.yaml, modbusserver.yaml; others:\n"
             "YAML syntax only).\n"
             "Prints 'FILE: ok' per file; on an error prints\n"
             "file:line:column: what is wrong, and exits 2.\n",
    .run = validate_run,
};
