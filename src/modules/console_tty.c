/* The console's terminal: libedit's readline-compatible callback interface
 * driven by a uv_poll on stdin, so the loop never blocks on the keyboard.
 * History in a file, Tab completion of commands and tag names from a list
 * the console keeps fresh (never waits on the network), and printing above
 * the line being edited: clear that line, print, let libedit redraw it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <editline/readline.h>

#include "modules/console.h"
#include "mscada/error.h"

struct ms_con_tty {
    uv_poll_t poll;
    char *prompt;
    char *history;
    ms_con_line_cb on_line;
    ms_con_names_cb names;
    void *arg;
    bool shown;    /* the prompt is up and keys are read */
    bool dumb;     /* no way to clear a line: print below it instead */
    ms_con_complete what;
    size_t next;   /* completion: where the generator goes on */
};

/* readline's callbacks carry no argument: the one terminal of the
 * process, set while it runs. */
static ms_con_tty *the_tty;

static void on_rl_line(char *line)
{
    ms_con_tty *t = the_tty;
    if (!t) {
        free(line);
        return;
    }
    if (line && line[strspn(line, " \t")]) {
        add_history(line);
        if (t->history)
            write_history(t->history);
    }
    if (!line) {
        fputs("\n", stdout); /* leave the shell a clean line */
        fflush(stdout);
    }
    t->on_line(line, t->arg);
    free(line);
}

static char *complete_next(const char *text, int state)
{
    ms_con_tty *t = the_tty;
    static const char *const types[] = {"int", "float", "str", "bytes",
                                        "json"};
    size_t n = strlen(text);
    if (!state)
        t->next = 0;
    if (t->what == MS_CON_COMPLETE_COMMAND) {
        while (ms_con_cmds[t->next].name) {
            const char *c = ms_con_cmds[t->next++].name;
            if (!strncmp(c, text, n))
                return strdup(c);
        }
    } else if (t->what == MS_CON_COMPLETE_TYPE_OR_NOTHING) {
        while (t->next < sizeof types / sizeof types[0]) {
            const char *c = types[t->next++];
            if (!strncmp(c, text, n))
                return strdup(c);
        }
    } else if (t->what == MS_CON_COMPLETE_TAG) {
        size_t nn;
        const char *const *names = t->names(&nn, t->arg);
        while (t->next < nn) {
            const char *c = names[t->next++];
            if (!strncmp(c, text, n))
                return strdup(c);
        }
    }
    return NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1; /* never file names */
    the_tty->what = ms_con_complete_what(rl_line_buffer, (size_t)start);
    if (the_tty->what == MS_CON_COMPLETE_NOTHING)
        return NULL;
    return rl_completion_matches(text, complete_next);
}

static void on_key(uv_poll_t *p, int status, int events)
{
    ms_con_tty *t = p->data;
    (void)events;
    if (status < 0 || !t->shown)
        return;
    rl_callback_read_char();
}

int ms_con_tty_start(void *loop, const char *prompt, const char *history_path,
                     ms_con_line_cb on_line, ms_con_names_cb names,
                     void *arg, ms_con_tty **out)
{
    if (the_tty)
        return MS_ERUNNING;
    ms_con_tty *t = calloc(1, sizeof *t);
    if (!t || !(t->prompt = strdup(prompt))) {
        free(t);
        return MS_ENOMEM;
    }
    if (history_path && !(t->history = strdup(history_path))) {
        free(t->prompt);
        free(t);
        return MS_ENOMEM;
    }
    if (uv_poll_init(loop, &t->poll, STDIN_FILENO) < 0) {
        free(t->history);
        free(t->prompt);
        free(t);
        return MS_EIO;
    }
    const char *term = getenv("TERM");
    t->dumb = !term || !*term || !strcmp(term, "dumb");
    t->on_line = on_line;
    t->names = names;
    t->arg = arg;
    t->poll.data = t;
    the_tty = t;
    rl_readline_name = "mscada";
    rl_catch_signals = 0; /* SIGINT is the loop's (uv_signal) */
    rl_initialize();
    rl_attempted_completion_function = complete;
    using_history();
    stifle_history(1000);
    if (t->history)
        read_history(t->history);
    *out = t;
    return 0;
}

void ms_con_tty_prompt(ms_con_tty *t, bool on)
{
    if (on == t->shown)
        return;
    t->shown = on;
    if (on) {
        fflush(stdout);
        rl_callback_handler_install(t->prompt, on_rl_line); /* draws it */
        uv_poll_start(&t->poll, UV_READABLE, on_key);
    } else {
        uv_poll_stop(&t->poll);
        rl_callback_handler_remove();
    }
}

void ms_con_tty_cancel(ms_con_tty *t)
{
    if (!t->shown)
        return;
    /* Installing the handler again starts an empty line. */
    rl_callback_handler_remove();
    fputs("^C\n", stdout);
    fflush(stdout);
    rl_callback_handler_install(t->prompt, on_rl_line);
}

void ms_con_tty_print(ms_con_tty *t, FILE *f, const char *text)
{
    if (!t->shown) {
        fputs(text, f);
        fflush(f);
        return;
    }
    fputs(t->dumb ? "\n" : "\r\033[K", stdout);
    fflush(stdout);
    fputs(text, f);
    fflush(f);
    rl_forced_update_display(); /* the prompt and the half line again */
}

static void on_poll_closed(uv_handle_t *h)
{
    ms_con_tty *t = h->data;
    free(t->history);
    free(t->prompt);
    free(t);
}

void ms_con_tty_stop(ms_con_tty *t)
{
    if (!t)
        return;
    if (t->shown) {
        uv_poll_stop(&t->poll);
        rl_callback_handler_remove();
        t->shown = false;
    }
    if (t->history)
        write_history(t->history);
    the_tty = NULL;
    uv_close((uv_handle_t *)&t->poll, on_poll_closed);
}
