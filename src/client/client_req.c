/* Requests the bus answers or refuses: LIST (answered in order, with the
 * request's time_us) and the ERR replies, which carry the refused
 * request's tag_id and time_us. Every request gets a unique time_us stamp
 * (ms_client_writer_stamp), so an ERR for an RTA finds who sent it. An
 * RTA that works gets no answer at all, so only the last MS_REQ_RTA_RING
 * are remembered: the bus answers in order, long before that many more. */
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "client/client_req.h"
#include "client/client_writer.h"
#include "core/grow.h"
#include "mscada/error.h"
#include "mscada/log.h"

#define LIST_NAMES_MAX 65536

int ms_client_list(ms_client *c, const char *pattern, uint64_t since_us,
                   ms_client_list_cb cb, void *arg)
{
    if (!c || !cb)
        return MS_EINVAL;
    if (!ms_client_online(c))
        return MS_ECLOSED;
    size_t len = pattern ? strlen(pattern) : 0;
    if (len > c->cfg.max_payload)
        return MS_ETOOBIG;
    ms_client_reqs *q = &c->reqs;
    ms_req_list *nl = ms_grow(q->lists, q->nlists, &q->alists, sizeof *nl, 4);
    if (!nl)
        return MS_ENOMEM;
    q->lists = nl;
    /* An empty pattern asks "set after time_us"; otherwise the time_us is
     * free, and a stamp lets the answer be matched. */
    uint64_t t = len ? ms_client_writer_stamp(&c->w) : since_us;
    int rc = ms_client_writer_send(&c->w, MS_CMD_LIST, 0, t,
                                   (const uint8_t *)pattern, len);
    if (rc < 0)
        return rc;
    q->lists[q->nlists++] = (ms_req_list){t, cb, arg};
    return 0;
}

void ms_reqs_on_list(ms_client *c, const ms_client_event *ev)
{
    ms_client_reqs *q = &c->reqs;
    size_t i = 0;
    while (i < q->nlists && q->lists[i].time_us != ev->time_us)
        i++;
    if (i == q->nlists) {
        ms_log_debug("bus %s:%d: a LIST answer nobody asked for; ignored",
                     c->cfg.host, c->cfg.port);
        return;
    }
    ms_req_list r = q->lists[i];
    memmove(q->lists + i, q->lists + i + 1,
            (q->nlists - i - 1) * sizeof *q->lists);
    q->nlists--;
    /* Names are split in a copy: the event's bytes are the reader's. */
    char *text = malloc(ev->len + 1);
    size_t max = ev->len / 2 + 1;
    if (max > LIST_NAMES_MAX)
        max = LIST_NAMES_MAX;
    const char **names = malloc(max * sizeof *names);
    if (!text || !names) {
        free(text);
        free(names);
        ms_log_error("bus %s:%d: out of memory for a LIST answer",
                     c->cfg.host, c->cfg.port);
        r.cb(c, MS_ENOMEM, NULL, 0, r.arg);
        return;
    }
    if (ev->len)
        memcpy(text, ev->data, ev->len);
    text[ev->len] = '\0';
    size_t n = ms_client_list_split(text, ev->len, names, max);
    r.cb(c, 0, names, n, r.arg);
    free(names);
    free(text);
}

void ms_reqs_note_rta(ms_client *c, uint16_t tag_id, uint64_t time_us,
                      ms_req_refused_cb refused, void *arg)
{
    ms_client_reqs *q = &c->reqs;
    q->rtas[q->rta_next] = (ms_req_rta){tag_id, time_us, refused, arg};
    q->rta_next = (q->rta_next + 1) % MS_REQ_RTA_RING;
}

static bool has_suffix(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    return n >= k && !memcmp(p + n - k, s, k);
}

void ms_reqs_on_err(ms_client *c, const ms_client_event *ev)
{
    int len = ev->len > 400 ? 400 : (int)ev->len;
    const char *text = (const char *)ev->data;
    if (ev->tag_id) {
        for (size_t k = 0; k < MS_REQ_RTA_RING; k++) {
            ms_req_rta r = c->reqs.rtas[k];
            if (!r.refused || r.tag_id != ev->tag_id ||
                r.time_us != ev->time_us)
                continue;
            c->reqs.rtas[k].refused = NULL; /* answered once */
            char msg[404];
            memcpy(msg, text ? text : "", (size_t)len);
            msg[len] = '\0';
            r.refused(r.arg, msg);
            return;
        }
    }
    /* pymscada answers an ID for a new name with "ID b'name' undefined"
     * before the ID itself: a notice, not a failure. */
    if (ev->len > 3 && !memcmp(ev->data, "ID ", 3) &&
        has_suffix(ev->data, ev->len, " undefined")) {
        ms_log_debug("bus %s:%d: %.*s (a new tag)", c->cfg.host, c->cfg.port,
                     len, text);
        return;
    }
    ms_log_warn("bus %s:%d: error from the bus (tag id %u): %.*s",
                c->cfg.host, c->cfg.port, ev->tag_id, len, text ? text : "");
}

void ms_reqs_fail(ms_client *c, int status)
{
    ms_client_reqs *q = &c->reqs;
    memset(q->rtas, 0, sizeof q->rtas);
    /* Callbacks may ask again (a new list): take the pending ones first. */
    while (q->nlists) {
        ms_req_list r = q->lists[0];
        memmove(q->lists, q->lists + 1, (q->nlists - 1) * sizeof *q->lists);
        q->nlists--;
        r.cb(c, status, NULL, 0, r.arg);
    }
}

void ms_reqs_free(ms_client *c)
{
    free(c->reqs.lists);
    c->reqs.lists = NULL;
    c->reqs.nlists = c->reqs.alists = 0;
}
