/* mscada: the multi-call entry. `mscada MODULE [options]` runs one module
 * in this process (systemd runs one unit per module). */
#include <stdio.h>
#include <string.h>

#include "modules/module.h"

/* Every module, in the order --help lists them. Modules still being built
 * are weak: until their file is linked in, they are simply not there. */
extern const ms_module ms_module_console __attribute__((weak));
extern const ms_module ms_module_modbusclient __attribute__((weak));
extern const ms_module ms_module_modbusserver __attribute__((weak));
extern const ms_module ms_module_snmpclient __attribute__((weak));
extern const ms_module ms_module_sparkplug __attribute__((weak));
extern const ms_module ms_module_logixclient __attribute__((weak));
extern const ms_module ms_module_logixserver __attribute__((weak));
extern const ms_module ms_module_history __attribute__((weak));
extern const ms_module ms_module_history_export __attribute__((weak));
extern const ms_module ms_module_wwwserver __attribute__((weak));
extern const ms_module ms_module_checkout __attribute__((weak));
extern const ms_module ms_module_passwd __attribute__((weak));
extern const ms_module ms_module_audit_export __attribute__((weak));

static const ms_module *const modules[] = {
    &ms_module_bus,
    &ms_module_console,
    &ms_module_modbusclient,
    &ms_module_modbusserver,
    &ms_module_snmpclient,
    &ms_module_sparkplug,
    &ms_module_logixclient,
    &ms_module_logixserver,
    &ms_module_history,
    &ms_module_history_export,
    &ms_module_wwwserver,
    &ms_module_passwd,
    &ms_module_audit_export,
    &ms_module_validate,
    &ms_module_checkout,
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
        if (modules[i])
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
        if (modules[i] && !strcmp(name, modules[i]->name))
            return modules[i]->run(modules[i], argc - 1, argv + 1);
    }
    fprintf(stderr, "mscada: unknown module '%s'\n\n", name);
    usage(stderr);
    return MS_EXIT_USAGE;
}
