/* `mscada snmpclient`: polls SNMP agents into bus tags and sends SETs of
 * bus changes (docs/snmp.md). snmpclient.yaml + tags.yaml ->
 * ms_snmpc_start -> run the loop until SIGTERM/SIGINT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "apps/snmpclient/snmpc_run.h"
#include "snmp/snmp_session.h"
#include "modules/module.h"
#include "mscada/error.h"
#include "mscada/log.h"

typedef struct {
    ms_snmpc_config *cfg;
    ms_tagdescs *descs;
} snmpc_args;

static int snmpc_start(uv_loop_t *loop, void *arg, void **rt)
{
    snmpc_args *a = arg;
    ms_snmpc *p = NULL;
    int rc = ms_snmpc_start(loop, a->cfg, a->descs, &p);
    if (rc < 0)
        ms_log_error("cannot start: %s", ms_strerror(rc));
    *rt = p;
    return rc;
}

static void snmpc_stop(void *p)
{
    ms_snmpc_stop(p);
}

static int snmpc_main(const ms_module *mod, int argc, char **argv)
{
    ms_cli cli;
    int rc = ms_cli_parse(mod, argc, argv, &cli);
    if (rc == MS_CLI_HELP)
        return MS_EXIT_OK;
    if (rc >= 0)
        return rc;
    ms_snmpc_config cfg;
    ms_tagdescs descs;
    memset(&cfg, 0, sizeof cfg);
    memset(&descs, 0, sizeof descs);
    ms_conf_error err;
    ms_conf_doc *doc = NULL;
    rc = ms_conf_load(cli.config, &doc, &err);
    if (rc == 0)
        rc = ms_snmpc_config_from_conf(ms_conf_root(doc), &cfg, &err);
    ms_conf_free(doc);
    if (rc == 0)
        rc = ms_tagdesc_load(cli.tags, !cli.tags_given, &descs, &err);
    if (rc < 0) {
        ms_cli_config_failed(mod, &cli, rc, &err);
        ms_snmpc_config_free(&cfg);
        ms_tagdescs_free(&descs);
        ms_snmp_lib_shutdown();
        return MS_EXIT_USAGE;
    }
    ms_cli_runtime r = {snmpc_start, snmpc_stop,
                        &(snmpc_args){&cfg, &descs}, "stopping"};
    rc = ms_cli_run(&r);
    ms_snmpc_config_free(&cfg);
    ms_tagdescs_free(&descs);
    ms_snmp_lib_shutdown();
    return rc < 0 ? MS_EXIT_FAIL : MS_EXIT_OK;
}

const ms_module ms_module_snmpclient = {
    .name = "snmpclient",
    .summary = "polls SNMP agents (v1, v2c, v3) into bus tags",
    .usage =
        "Polls every agent's OIDs (GET, in PDUs of max_oids_per_pdu) and\n"
        "walks (GETBULK) at its rate, publishes tags whose value changed,\n"
        "and sends an SNMP SET for bus changes of tags with a write OID.\n"
        "Each agent has an <name>_status JSON tag (docs/snmp.md). Runs\n"
        "until SIGTERM or SIGINT.\n\n"
        "snmpclient.yaml (pymscada's keys, and more):\n"
        "  bus_ip: 127.0.0.1\n"
        "  bus_port: 1324\n"
        "  mibs: ''                  # MIBs for OIDs by name, e.g. IF-MIB\n"
        "  rtus:\n"
        "  - name: router\n"
        "    ip: 172.26.3.254\n"
        "    port: 161\n"
        "    version: 2c             # 1 | 2c | 3\n"
        "    community: public\n"
        "    write_community: private  # for SET; default: community\n"
        "    rate: 10                # poll period, seconds\n"
        "    timeout: 1.0            # per try, seconds\n"
        "    retries: 1\n"
        "    max_oids_per_pdu: 32\n"
        "    max_repetitions: 20     # GETBULK rows per request of a walk\n"
        "    # version 3: user, auth_protocol (MD5, SHA, SHA-256, ...),\n"
        "    # auth_password, priv_protocol (AES, DES), priv_password,\n"
        "    # context; passwords may be ${ENV_VAR}\n"
        "    poll:\n"
        "    - '1.3.6.1.2.1.31.1.1.1.6.1'\n"
        "    - {walk: '1.3.6.1.2.1.2.2.1.10', tag: 'router_in_{index}',\n"
        "       type: rate}\n"
        "  tags:\n"
        "    Router_eth1_bytes_in: {type: int_roc,\n"
        "                           read: 'router:1.3.6.1.2.1.31.1.1.1.6.1'}\n"
        "    Router_name: {type: str, read: 'router:1.3.6.1.2.1.1.5.0',\n"
        "                  write: 'router:1.3.6.1.2.1.1.5.0'}\n"
        "Types: int, float, str, bytes, int_roc (delta per poll), rate\n"
        "(delta per second); snmp_type: the type a write is sent as.\n",
    .run = snmpc_main,
};
