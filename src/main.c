/* mscada: the multi-call entry. `mscada MODULE [options]` runs one module
 * in this process (systemd runs one unit per module). */
#include <stdio.h>
#include <string.h>

#include "modules/module.h"

static const ms_module *const modules[] = {
    &ms_module_bus,
    &ms_module_validate,
};
#define NMODULES (sizeof modules / sizeof modules[0])

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mscada MODULE [--config FILE] [--tags FILE] [--verbose]\n"
            "       mscada MODULE --help\n"
            "       mscada --version\n\n"
            "mscada is a SCADA toolkit: PLC drivers, a tag bus, history and a\n"
            "web HMI, each module its own process joined by the bus.\n\n"
            "Modules:\n");
    for (size_t i = 0; i < NMODULES; i++)
        fprintf(out, "  %-14s %s\n", modules[i]->name, modules[i]->summary);
    fprintf(out, "\nEach module reads MODULE.yaml and tags.yaml from the current"
                 " folder unless\n--config / --tags say otherwise. Example"
                 " configs: config/.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return MS_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help") ||
        !strcmp(name, "help")) {
        usage(stdout);
        return MS_EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        printf("mscada %s\n", MSCADA_VERSION);
        return MS_EXIT_OK;
    }
    for (size_t i = 0; i < NMODULES; i++) {
        if (!strcmp(name, modules[i]->name))
            return modules[i]->run(modules[i], argc - 1, argv + 1);
    }
    fprintf(stderr, "mscada: unknown module '%s'\n\n", name);
    usage(stderr);
    return MS_EXIT_USAGE;
}
