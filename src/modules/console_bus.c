/* The console's bus in the background: the connection's state (said
 * when lost and back; a command waiting to connect goes on), and the list
 * of every name, asked every few seconds, for Tab completion and for
 * watch filters, which subscribe matching tags as they appear. */
#include <stdlib.h>
#include <string.h>

#include "modules/console_int.h"

/* ---- background: names for completion, new tags for watch --------------- */

static void on_refresh(ms_client *c, int status, const char *const *names,
                       size_t n, void *arg)
{
    ms_con *con = arg;
    (void)c;
    con->refreshing = false;
    if (status < 0 || con->stopping)
        return;
    char **nn = calloc(n ? n : 1, sizeof *nn);
    if (!nn)
        return;
    for (size_t i = 0; i < n; i++)
        if (!(nn[i] = strdup(names[i]))) {
            while (i--)
                free(nn[i]);
            free(nn);
            return;
        }
    qsort(nn, n, sizeof *nn, ms_con_cmp_str);
    for (size_t i = 0; i < con->nnames; i++)
        free(con->names[i]);
    free(con->names);
    con->names = nn;
    con->nnames = n;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < con->nfilters; k++)
            if (ms_con_name_match(con->filters[k], nn[i])) {
                ms_tag *t = ms_tag_find(con->c, nn[i]);
                if (!t || !ms_con_sub_has(con, t))
                    ms_con_watch_name(con, nn[i]);
                break;
            }
}

void ms_con_refresh(ms_con *con)
{
    if (con->refreshing || con->stopping ||
        ms_client_get_state(con->c) != MS_CLIENT_CONNECTED)
        return;
    if (ms_client_list(con->c, "^", 0, on_refresh, con) == 0)
        con->refreshing = true;
}

void ms_con_on_refresh_timer(uv_timer_t *h)
{
    ms_con_refresh(h->data);
}

const char *const *ms_con_names_for_completion(size_t *n, void *arg)
{
    ms_con *con = arg;
    *n = con->nnames;
    return (const char *const *)con->names;
}

void ms_con_on_state(ms_client *c, ms_client_state state, void *arg)
{
    ms_con *con = arg;
    (void)c;
    if (state == MS_CLIENT_CONNECTED) {
        if (con->was_connected)
            ms_con_print(con, stderr,
                      "bus %s:%d: reconnected; %zu subscription%s restored\n",
                      con->cfg.host, con->cfg.port, con->nsubs,
                      con->nsubs == 1 ? "" : "s");
        con->was_connected = true;
        con->refreshing = false;
        ms_con_refresh(con);
        if (con->busy && con->on_connect) {
            ms_con_step_fn next = con->on_connect;
            con->on_connect = NULL;
            next(con);
        }
    } else if (state == MS_CLIENT_CONNECTING && con->was_connected) {
        ms_con_print(con, stderr, "bus %s:%d: connection lost; reconnecting\n",
                  con->cfg.host, con->cfg.port);
    }
}
