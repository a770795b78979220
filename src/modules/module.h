/* The `mscada MODULE` interface: each module is one thin file that parses
 * its options with ms_cli_parse(), loads its config and runs a loop. */
#ifndef MS_MODULES_MODULE_H
#define MS_MODULES_MODULE_H

#include <stdbool.h>
#include <stdio.h>

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
 * Prints help and returns MS_EXIT_OK+100 for --help (caller exits 0),
 * prints usage to stderr and returns MS_EXIT_USAGE for anything unknown,
 * returns -1 when the caller should go on. Sets up logging. */
int ms_cli_parse(const ms_module *m, int argc, char **argv, ms_cli *cli);
#define MS_CLI_HELP 100

/* Prints "Usage: mscada NAME ..." and the module's text. */
void ms_cli_help(const ms_module *m, FILE *out);

extern const ms_module ms_module_bus;
extern const ms_module ms_module_validate;

#endif
