/* LOG only to a bus that takes it (client_log.h): the public
 * ms_client_log and the question asked of the bus on each connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "client/client_log.h"
#include "mscada/error.h"
#include "mscada/log.h"

#define LOG_MAX 300

static const char BUS_TAG[] = "__bus__";

void ms_loggate_reset(ms_client_loggate *g)
{
    for (size_t i = 0; i < g->nheld; i++)
        free(g->held[i]);
    g->nheld = 0;
    g->asked = false;
    g->ok = -1;
}

static int send_line(ms_client_writer *w, const char *text)
{
    return ms_client_writer_send(w, MS_CMD_LOG, 0, ms_client_writer_stamp(w),
                                 (const uint8_t *)text, strlen(text));
}

int ms_loggate_log(ms_client_loggate *g, ms_client_writer *w,
                   const char *text)
{
    if (g->ok == 1)
        return send_line(w, text);
    if (g->ok == 0)
        return MS_EPROTO;
    if (!g->asked) {
        int rc = ms_client_writer_send(w, MS_CMD_ID, 0,
                                       ms_client_writer_stamp(w),
                                       (const uint8_t *)BUS_TAG,
                                       sizeof BUS_TAG - 1);
        if (rc < 0)
            return rc;
        g->asked = true;
    }
    if (g->nheld == MS_LOG_HELD_MAX) { /* the oldest goes */
        free(g->held[0]);
        memmove(g->held, g->held + 1, (MS_LOG_HELD_MAX - 1) * sizeof *g->held);
        g->nheld--;
    }
    if (!(g->held[g->nheld] = strdup(text)))
        return MS_ENOMEM;
    g->nheld++;
    return 0;
}

bool ms_loggate_on_id(ms_client_loggate *g, ms_client_writer *w,
                      const ms_client_event *ev, const char *where)
{
    if (!g->asked || g->ok >= 0 || ev->len != sizeof BUS_TAG - 1 ||
        memcmp(ev->data, BUS_TAG, ev->len) != 0)
        return false;
    g->ok = ev->time_us != 0;
    if (!g->ok)
        ms_log_info("%s: its __bus__ was never set, so it may be a pymscada "
                    "2024 bus, which stops reading a connection that sends "
                    "LOG: %zu log line(s) not sent, and none will be on "
                    "this connection", where, g->nheld);
    for (size_t i = 0; i < g->nheld; i++) {
        if (g->ok)
            send_line(w, g->held[i]);
        free(g->held[i]);
    }
    g->nheld = 0;
    return true;
}

int ms_client_log(ms_client *c, const char *text)
{
    if (!c || !text)
        return MS_EINVAL;
    size_t len = strlen(text);
    if (len > LOG_MAX)
        return MS_ETOOBIG;
    if (!ms_utf8_valid((const uint8_t *)text, len))
        return MS_EINVAL;
    if (!ms_client_online(c))
        return MS_ECLOSED;
    return ms_loggate_log(&c->lg, &c->w, text);
}
