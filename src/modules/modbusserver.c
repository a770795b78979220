/* `mscada modbusserver`: a Modbus "mailbox" (DESIGN §8): serve blocks any
 * master may read and write, mapped to bus tags both ways.
 * modbusserver.yaml + tags.yaml -> ms_mbs_start -> run the loop until
 * SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "modbus/mb_mailbox.h"
#include "modules/module.h"
#include "mscada/error.h"
#include "mscada/log.h"

typedef struct {
    ms_mbs *mbs;
    uv_signal_t sigint, sigterm;
} mbs_main;

static void mbs_stop(mbs_main *mm)
{
    ms_mbs_stop(mm->mbs);
    if (!uv_is_closing((uv_handle_t *)&mm->sigint)) {
        uv_close((uv_handle_t *)&mm->sigint, NULL);
        uv_close((uv_handle_t *)&mm->sigterm, NULL);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    mbs_main *mm = s->data;
    ms_log_info("%s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    mbs_stop(mm);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            ms_log_warn("could not raise the open file limit");
    }
}

static int mbs_run(const ms_module *m, int argc, char **argv)
{
    ms_cli cli;
    int rc = ms_cli_parse(m, argc, argv, &cli);
    if (rc == MS_CLI_HELP)
        return MS_EXIT_OK;
    if (rc >= 0)
        return rc;
    ms_mbs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    ms_conf_error err;
    rc = ms_mbs_config_load(cli.config, &cfg, &err);
    ms_tagdescs descs = {0};
    if (rc == 0) {
        rc = ms_tagdesc_load(cli.tags, !cli.tags_given, &descs, &err);
        cfg.bus.tagdescs = &descs;
    }
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.text);
        if (rc == MS_ENOENT)
            fprintf(stderr, "mscada modbusserver: give the config with "
                            "--config FILE (example: "
                            "config/modbusserver.yaml)\n");
        ms_mbs_config_free(&cfg);
        ms_tagdescs_free(&descs);
        return MS_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    uv_loop_t loop;
    uv_loop_init(&loop);
    int status = MS_EXIT_OK;
    mbs_main mm;
    memset(&mm, 0, sizeof mm);
    uv_signal_init(&loop, &mm.sigint);
    uv_signal_init(&loop, &mm.sigterm);
    mm.sigint.data = mm.sigterm.data = &mm;
    uv_signal_start(&mm.sigint, on_signal, SIGINT);
    uv_signal_start(&mm.sigterm, on_signal, SIGTERM);
    if (ms_mbs_start(&loop, &cfg, &mm.mbs) < 0) {
        status = MS_EXIT_FAIL;
        mbs_stop(&mm);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        ms_log_warn("handles left open at exit");
    ms_mbs_free(mm.mbs);
    ms_mbs_config_free(&cfg);
    ms_tagdescs_free(&descs);
    ms_log_info("stopped");
    return status;
}

const ms_module ms_module_modbusserver = {
    .name = "modbusserver",
    .summary = "a Modbus/TCP server whose registers are bus tags",
    .usage =
        "Serves Modbus/TCP: every address inside a `serve` block is memory\n"
        "any master may read and write (outside: exception 2; unknown unit:\n"
        "exception 11). Mapped tags go both ways: a master's write sets the\n"
        "tag on the bus, a bus change updates the registers. docs/modbus.md.\n\n"
        "modbusserver.yaml:\n"
        "  bus_ip: 127.0.0.1\n"
        "  bus_port: 1324\n"
        "  rtus:\n"
        "  - name: RTU\n"
        "    ip: 0.0.0.0            default 127.0.0.1\n"
        "    port: 1502\n"
        "    timeout: 30            drop a master stuck mid-frame this long\n"
        "    word_order: big        default for its tags (big | little)\n"
        "    serve:\n"
        "    - {unit: 1, file: 4x, start: 1, end: 100}\n"
        "  tags:\n"
        "    FlowRate: {type: float32, addr: 'RTU:1:4x:3'}\n",
    .run = mbs_run,
};
