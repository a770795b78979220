/* The running `mscada console`, shared by the files that make it up:
 * console.c (the command line, setting up and tearing down), console_step.c
 * (how a command runs: steps under one deadline, output, finishing),
 * console_do.c (what each command does), console_bus.c (the bus in the
 * background: connection state, the name list for completion and watch)
 * and console_input.c (lines in: -c, stdin, the terminal; signals; the
 * end). The pure parts are in console.h. */
#ifndef MS_MODULES_CONSOLE_INT_H
#define MS_MODULES_CONSOLE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "modules/console.h"
#include "mscada/client.h"
#include "mscada/tag.h"
#include "mscada/tagdesc.h"

#define MS_CON_REFRESH_MS 3000 /* background LIST for completion and watch */

typedef struct ms_con ms_con;
/* A step of a command; it ends the command (finish or fail) or starts
 * what calls the next step. */
typedef void (*ms_con_step_fn)(ms_con *con);
/* A step taking a LIST answer. */
typedef void (*ms_con_listed_fn)(ms_con *con, const char *const *names,
                                 size_t n);

struct ms_con {
    uv_loop_t loop;
    ms_client *c;
    ms_client_config cfg;
    ms_tagdescs descs;
    double timeout;          /* seconds a command may take */
    int status;              /* MS_EXIT_OK, or FAIL once a command failed */
    bool stopping;

    /* input: -c commands or stdin lines, or the terminal */
    ms_con_tty *tty;
    char **lines;
    size_t nlines, iline, alines;
    bool input_done;         /* no more lines will come */
    bool pumping;
    uv_pipe_t in;
    bool in_open;
    char *inpart;            /* an unfinished stdin line */
    size_t inpart_len;

    /* the command running */
    bool busy;
    unsigned gen;            /* bumped per command: late answers are stale */
    ms_con_line pl;
    char *linebuf;
    size_t wi;               /* which of pl.words */
    ms_tag *tag;
    int syncs;
    int id_seen;             /* round trips since the tag had its id */
    ms_con_step_fn after_sync;
    ms_con_step_fn on_connect;
    ms_con_listed_fn on_listed;
    uv_timer_t deadline;
    char *valbuf;
    bool created;
    bool rta_failed;
    char rta_err[256];
    ms_tag *kept_tag;        /* rta's tag: its changes kept for a sub */
    char *kept;              /* those changes, as the lines sub prints */
    size_t kept_len, nkept;

    /* kept in the background */
    uv_timer_t refresh;
    bool refreshing;
    char **names;            /* sorted, for completion */
    size_t nnames;
    char **filters;          /* watch filters */
    size_t nfilters;
    ms_tag **subs;           /* tags whose changes print */
    size_t nsubs, asubs;
    bool was_connected;
    uv_signal_t sigint, sigterm;
};

/* ---- running a command (console_step.c) --------------------------------- */

/* Runs one line (a command); the next is taken once it has finished. */
void ms_con_run_line(ms_con *con, const char *line);
/* Ends the command running (ok false: the exit status becomes 1) and
 * takes the next line. */
void ms_con_finish(ms_con *con, bool ok);
/* Prints "error: ..." to stderr and ends the command as failed. */
void ms_con_fail(ms_con *con, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Asks LIST and passes the answer to then (stale answers are dropped). */
void ms_con_list(ms_con *con, const char *pattern, uint64_t since_us,
                 ms_con_listed_fn then);
/* Round trips until the bus has handled con->tag's id, SUB and a value set
 * before the id was known, then runs then. */
void ms_con_settle(ms_con *con, ms_con_step_fn then);
/* Prints whole lines, above the line being edited when there is one. */
void ms_con_print(ms_con *con, FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints "NAME VALUE" with the value formatted by its description. */
void ms_con_print_value(ms_con *con, ms_tag *t);
bool ms_con_has_name(const char *const *names, size_t n, const char *name);
/* qsort comparison of char * (strcmp order). */
int ms_con_cmp_str(const void *a, const void *b);

/* ---- the commands (console_do.c) ---------------------------------------- */

void ms_con_do_list(ms_con *con);
/* get and sub: looks up pl.words[wi] and on, printing each. */
void ms_con_look_next(ms_con *con);
void ms_con_do_set(ms_con *con);
void ms_con_do_unsub(ms_con *con);
void ms_con_do_watch(ms_con *con);
void ms_con_do_rta(ms_con *con);
void ms_con_do_log(ms_con *con);
/* Forgets the answers an rta kept for a following sub (console_do.c). */
void ms_con_keep_drop(ms_con *con);
/* Subscriptions that print every change. */
bool ms_con_sub_has(ms_con *con, ms_tag *t);
int ms_con_sub_add(ms_con *con, ms_tag *t);
void ms_con_sub_drop(ms_con *con, size_t i);
/* Subscribes name (printing its value if known), making the tag if need
 * be. Returns 0 or an MS_E* code. */
int ms_con_watch_name(ms_con *con, const char *name);

/* ---- the bus in the background (console_bus.c) -------------------------- */

/* Asks for every name (completion, watch filters) unless asked already. */
void ms_con_refresh(ms_con *con);
void ms_con_on_refresh_timer(uv_timer_t *h);
const char *const *ms_con_names_for_completion(size_t *n, void *arg);
void ms_con_on_state(ms_client *c, ms_client_state state, void *arg);

/* ---- input and the end (console_input.c) -------------------------------- */

/* Takes the next line when nothing runs; ends at the end of the input. */
void ms_con_pump(ms_con *con);
bool ms_con_push_line(ms_con *con, const char *s, size_t n);
/* Reads commands from stdin that is not a terminal. */
int ms_con_open_stdin(ms_con *con);
void ms_con_on_tty_line(const char *line, void *arg);
void ms_con_on_signal(uv_signal_t *s, int signum);
/* Closes every handle and the client; the loop then runs dry. */
void ms_con_shutdown(ms_con *con);

#endif
