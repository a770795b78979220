/* `mscada bus`: placeholder until the server lands. */
#include "modules/module.h"

static int bus_run(const ms_module *m, int argc, char **argv)
{
    ms_cli cli;
    int rc = ms_cli_parse(m, argc, argv, &cli);
    if (rc == MS_CLI_HELP)
        return MS_EXIT_OK;
    if (rc >= 0)
        return rc;
    return MS_EXIT_FAIL;
}

const ms_module ms_module_bus = {
    .name = "bus",
    .summary = "the tag bus server",
    .usage = "",
    .run = bus_run,
};
