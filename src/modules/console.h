/* `mscada console` internals shared by its files: the pure parts (command
 * lines, value text both ways; console_cmd.c, console_fmt.c) and the
 * terminal glue (console_tty.c) that the running console (console_int.h)
 * drives. */
#ifndef MS_MODULES_CONSOLE_H
#define MS_MODULES_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mscada/tagdesc.h"
#include "mscada/value.h"

/* ---- commands (console_cmd.c) --------------------------------------------- */

typedef enum {
    MS_CON_NONE = 0, /* empty line or # comment */
    MS_CON_LIST,
    MS_CON_GET,
    MS_CON_SET,
    MS_CON_SUB,
    MS_CON_UNSUB,
    MS_CON_WATCH,
    MS_CON_RTA,
    MS_CON_LOG,
    MS_CON_HELP,
    MS_CON_QUIT
} ms_con_cmd;

/* What the word under the cursor completes to. */
typedef enum {
    MS_CON_COMPLETE_NOTHING = 0,
    MS_CON_COMPLETE_COMMAND,
    MS_CON_COMPLETE_TAG,
    MS_CON_COMPLETE_TYPE_OR_NOTHING
} ms_con_complete;

typedef struct {
    const char *name;
    ms_con_cmd cmd;
    const char *args;  /* "TAG VALUE" */
    const char *help;  /* one or more lines */
} ms_con_cmd_info;

/* Every command, in help order, ending with a NULL name. */
extern const ms_con_cmd_info ms_con_cmds[];
const ms_con_cmd_info *ms_con_cmd_find(const char *name);

#define MS_CON_MAX_WORDS 64

/* A parsed line. Words and rest point into the line given to
 * ms_con_parse, which it edits (NULs after words). */
typedef struct {
    ms_con_cmd cmd;
    char *words[MS_CON_MAX_WORDS]; /* tag names (or the help topic) */
    size_t nwords;
    char *rest;          /* set's value, rta's JSON, log's text, filter */
    ms_type type;        /* set: the explicit type, or NONE */
    double since_s;      /* list -t SECONDS: set in the last SECONDS */
    char err[160];       /* when ms_con_parse fails */
} ms_con_line;

/* Parses one command line. Returns 0 (cmd may be MS_CON_NONE) or -1 with
 * out->err saying what is wrong. */
int ms_con_parse(char *line, ms_con_line *out);

/* "int" "float" "str" "bytes" "json" (also pymscada's "list", "dict"):
 * the type, or MS_TYPE_NONE. */
ms_type ms_con_type_word(const char *w);

/* True when name matches a LIST pattern as the bus does: "^abc" starts
 * with, "abc$" ends with, "abc" contains; "" or "^" everything. */
bool ms_con_name_match(const char *pattern, const char *name);

/* What to complete for the word starting at byte start of line. */
ms_con_complete ms_con_complete_what(const char *line, size_t start);

/* ---- values (console_fmt.c) ----------------------------------------------- */

/* The readable text of a value: FLOAT with the description's dp and units,
 * a multi INT as its state name, date/time formats as ISO 8601 (UTC),
 * STR escaped to one line, BYTES as "bytes[N] HEX..." (32 bytes), JSON
 * compact, NONE as "(no value)". d may be NULL. Returns a malloc'd
 * string, NULL when out of memory. */
char *ms_con_format(const ms_value *v, const ms_tagdesc *d);

/* The type a bare value text suggests: INT, FLOAT, JSON (a list or object)
 * or STR. */
ms_type ms_con_guess_type(const char *text);

/* Parses text as a value of type (a multi state name or an ISO date for an
 * INT/FLOAT described so; BYTES as hex). STR/BYTES/JSON point into *owned
 * (malloc'd, the caller frees it) or into text. Returns 0, or -1 with why
 * set to a short reason. */
int ms_con_parse_value(ms_type type, const char *text, const ms_tagdesc *d,
                       ms_value *out, char **owned, const char **why);

/* ---- terminal (console_tty.c) --------------------------------------------- */

typedef struct ms_con_tty ms_con_tty;
typedef void (*ms_con_line_cb)(const char *line, void *arg); /* NULL: EOF */
/* Completion candidates: the sorted names known now (never waits). */
typedef const char *const *(*ms_con_names_cb)(size_t *n, void *arg);

/* Starts line editing on the terminal at stdin, driven by loop. History
 * lives in history_path (may be NULL). */
int ms_con_tty_start(void *loop, const char *prompt, const char *history_path,
                     ms_con_line_cb on_line, ms_con_names_cb names,
                     void *arg, ms_con_tty **out);
/* Shows (true) or hides the prompt and stops reading while a command runs. */
void ms_con_tty_prompt(ms_con_tty *t, bool on);
/* Drops the line being edited (Ctrl-C) and shows a fresh prompt. */
void ms_con_tty_cancel(ms_con_tty *t);
/* Prints text (whole lines) above the line being edited, which stays. */
void ms_con_tty_print(ms_con_tty *t, FILE *f, const char *text);
void ms_con_tty_stop(ms_con_tty *t);

#endif
