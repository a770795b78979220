/* The console's input and its end: commands from -c, from stdin that is
 * not a terminal (a pipe read on the loop as lines come, a file read
 * whole), or from the terminal (console_tty.c); SIGINT and SIGTERM; and
 * closing everything when the input (or the operator) is done. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "core/grow.h"
#include "modules/console_int.h"

/* ---- input and the end -------------------------------------------------- */

static void close_cb_noop(uv_handle_t *h)
{
    (void)h;
}

void ms_con_shutdown(ms_con *con)
{
    if (uv_is_closing((uv_handle_t *)&con->refresh))
        return;
    con->stopping = true;
    if (con->tty) {
        ms_con_tty_stop(con->tty);
        con->tty = NULL;
    }
    if (con->in_open)
        uv_close((uv_handle_t *)&con->in, close_cb_noop);
    uv_close((uv_handle_t *)&con->refresh, close_cb_noop);
    uv_close((uv_handle_t *)&con->deadline, close_cb_noop);
    uv_close((uv_handle_t *)&con->sigint, close_cb_noop);
    uv_close((uv_handle_t *)&con->sigterm, close_cb_noop);
    ms_client_close(con->c);
}

bool ms_con_push_line(ms_con *con, const char *s, size_t n)
{
    char **nl = ms_grow(con->lines, con->nlines, &con->alines, sizeof *nl, 16);
    if (!nl)
        return false;
    con->lines = nl;
    char *l = strndup(s, n);
    if (!l)
        return false;
    con->lines[con->nlines++] = l;
    return true;
}

/* Takes the next line when nothing runs; ends a script at its end (or
 * keeps printing subscriptions until a signal, like tagwatch). */
void ms_con_pump(ms_con *con)
{
    if (con->pumping)
        return;
    con->pumping = true;
    while (!con->busy) {
        if (con->stopping) {
            ms_con_shutdown(con);
            break;
        }
        if (con->tty) {
            ms_con_tty_prompt(con->tty, true);
            break;
        }
        if (con->iline < con->nlines) {
            char *l = con->lines[con->iline];
            con->lines[con->iline++] = NULL;
            ms_con_run_line(con, l);
            free(l);
            continue;
        }
        if (!con->input_done || con->nsubs)
            break;
        ms_con_shutdown(con);
        break;
    }
    con->pumping = false;
}

void ms_con_on_tty_line(const char *line, void *arg)
{
    ms_con *con = arg;
    if (!line) {
        con->stopping = true;
        ms_con_pump(con);
        return;
    }
    ms_con_tty_prompt(con->tty, false);
    ms_con_run_line(con, line);
}

static void in_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    buf->base = malloc(65536);
    buf->len = buf->base ? 65536 : 0;
}

static void in_add(ms_con *con, const char *p, size_t n)
{
    char *np = realloc(con->inpart, con->inpart_len + n + 1);
    if (!np)
        return;
    con->inpart = np;
    memcpy(np + con->inpart_len, p, n);
    con->inpart_len += n;
    size_t start = 0;
    for (size_t i = 0; i < con->inpart_len; i++)
        if (np[i] == '\n') {
            ms_con_push_line(con, np + start, i - start);
            start = i + 1;
        }
    memmove(np, np + start, con->inpart_len - start);
    con->inpart_len -= start;
}

static void in_end(ms_con *con)
{
    if (con->inpart_len)
        ms_con_push_line(con, con->inpart, con->inpart_len);
    free(con->inpart);
    con->inpart = NULL;
    con->inpart_len = 0;
    con->input_done = true;
}

static void on_in(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    ms_con *con = s->data;
    if (n > 0)
        in_add(con, buf->base, (size_t)n);
    free(buf->base);
    if (n < 0) {
        uv_read_stop(s);
        in_end(con);
    }
    ms_con_pump(con);
}

/* stdin that is not a terminal: a pipe is read on the loop as lines come;
 * a file (or /dev/null) is read whole at once. */
int ms_con_open_stdin(ms_con *con)
{
    struct stat st;
    if (fstat(STDIN_FILENO, &st) == 0 &&
        (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) &&
        uv_pipe_init(&con->loop, &con->in, 0) == 0) {
        if (uv_pipe_open(&con->in, STDIN_FILENO) == 0) {
            con->in_open = true;
            con->in.data = con;
            uv_read_start((uv_stream_t *)&con->in, in_alloc, on_in);
            return 0;
        }
        uv_close((uv_handle_t *)&con->in, NULL);
    }
    char buf[65536];
    ssize_t n;
    while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0 ||
           (n < 0 && errno == EINTR))
        if (n > 0)
            in_add(con, buf, (size_t)n);
    in_end(con);
    return 0;
}

void ms_con_on_signal(uv_signal_t *s, int signum)
{
    ms_con *con = s->data;
    if (con->tty && signum == SIGINT) {
        if (con->busy)
            ms_con_fail(con, "interrupted");
        else
            ms_con_tty_cancel(con->tty);
        return;
    }
    if (con->busy) {
        con->stopping = true;
        ms_con_fail(con, "interrupted");
    } else {
        con->stopping = true;
        ms_con_pump(con);
    }
}
