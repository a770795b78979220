/* `mscada history`: records every int and float tag of tags.yaml and
 * answers range requests on __history__. history.yaml + tags.yaml ->
 * ms_hist_server_start -> run the loop until SIGTERM/SIGINT. */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "modules/module.h"
#include "mscada/error.h"
#include "mscada/history_server.h"
#include "mscada/log.h"

typedef struct {
    ms_hist_config *cfg;
    ms_tagdescs *tags;
} hist_args;

static int hist_start(uv_loop_t *loop, void *arg, void **rt)
{
    hist_args *a = arg;
    ms_hist_server *srv = NULL;
    char why[1024] = "";
    int rc = ms_hist_server_start(loop, a->cfg, a->tags, &srv, why,
                                  sizeof why);
    if (rc < 0)
        fprintf(stderr, "%s\n", why[0] ? why : ms_strerror(rc));
    *rt = srv;
    return rc;
}

static void hist_stop(void *srv)
{
    ms_hist_server_stop(srv);
}

static int history_run(const ms_module *m, int argc, char **argv)
{
    ms_cli cli;
    int rc = ms_cli_parse(m, argc, argv, &cli);
    if (rc >= 0)
        return rc;

    ms_hist_config cfg;
    ms_conf_error err;
    ms_hist_config_init(&cfg);
    rc = ms_hist_config_load(cli.config, true, &cfg, &err);
    if (rc < 0) {
        ms_cli_config_failed(m, &cli, rc, &err);
        ms_hist_config_free(&cfg);
        return MS_EXIT_USAGE;
    }
    ms_tagdescs tags;
    rc = ms_tagdesc_load(cli.tags, !cli.tags_given, &tags, &err);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.text);
        ms_hist_config_free(&cfg);
        return MS_EXIT_USAGE;
    }
    cfg.tags_file = cli.tags;
    ms_cli_runtime r = {hist_start, hist_stop, &(hist_args){&cfg, &tags},
                        "writing buffers and stopping"};
    rc = ms_cli_run(&r);
    ms_tagdescs_free(&tags);
    ms_hist_config_free(&cfg);
    if (rc == MS_EINVAL || rc == MS_ETYPE)
        return MS_EXIT_USAGE; /* a tag history can't record */
    return rc < 0 ? MS_EXIT_FAIL : MS_EXIT_OK;
}

const ms_module ms_module_history = {
    .name = "history",
    .summary = "record int and float tags to files; serve ranges (RTA)",
    .usage =
        "Records every int and float tag of tags.yaml to pymscada-compatible\n"
        "files (docs/history.md) and answers range requests sent as RTA to\n"
        "rta_tag. Runs until SIGTERM or SIGINT, then writes its buffers.\n\n"
        "history.yaml keys (all optional):\n"
        "  bus_ip: 127.0.0.1        the bus\n"
        "  bus_port: 1324\n"
        "  path: history            folder of the files (created if missing)\n"
        "  rta_tag: __history__     tag that takes the requests\n"
        "  flush_interval: 10       seconds between writes of the buffers\n"
        "  file_records: 6553600    records per file\n"
        "  retain_days: 365         delete older files (default: keep all)\n"
        "  mem_cap: 64M             memory for records the disk refused\n"
        "  max_reply: 64M           largest reply; bigger ones are downsampled\n",
    .run = history_run,
};
