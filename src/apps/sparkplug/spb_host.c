/* The Sparkplug host (docs/sparkplug.md): subscribes to its groups,
 * mirrors each node's (and device's) metrics onto bus tags named by
 * ms_spb_tag_name, keeps a JSON state tag per node and device
 * (<group>/<node>[/<device>]/_state: online, bdSeq, seq gaps) that goes
 * offline on NDEATH/DDEATH or when the broker is lost (values keep their
 * last), asks for a rebirth (NCMD Node Control/Rebirth) on a seq gap or
 * data from a node it saw no NBIRTH of, publishes its STATE (retained,
 * the will saying offline), and with write: true sends bus SETs of the
 * mirrored tags as NCMD/DCMD in the datatype of their BIRTH. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/common/drv.h"
#include "apps/sparkplug/spb_run.h"
#include "core/htab.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"
#include "sparkplug/codec/spb_payload.h"

typedef struct hnode hnode;

typedef struct {
    char *key;            /* "<device>/<metric>" ("/<metric>" on the node) */
    char device[MS_SPB_ID_MAX + 1];
    char *metric;
    uint64_t alias;       /* the key of by_alias */
    uint32_t datatype;
    ms_tag *tag;
    hnode *node;
} hmetric;

typedef struct {
    char id[MS_SPB_ID_MAX + 1];
    bool online;
    ms_tag *state;
} hdev;

struct hnode {
    char key[2 * MS_SPB_ID_MAX + 2];
    char group[MS_SPB_ID_MAX + 1], node[MS_SPB_ID_MAX + 1];
    bool online, born, rebirth_asked;
    uint64_t bdseq, seq, gaps;
    ms_htab by_name, by_alias;
    hmetric **metrics;
    size_t nmetrics, capmetrics;
    hdev **devs;
    size_t ndevs;
    ms_tag *state;
    ms_spb_host *h;
};

struct ms_spb_host {
    ms_drv drv;           /* first: bus and its up time, the last handle */
    ms_spb_config *cfg;
    ms_spb_link *link;
    ms_htab nodes;
    hnode **list;
    size_t nlist;
};

static void state_publish(ms_spb_host *h, ms_tag **t, const char *group,
                          const char *node, const char *dev, bool online,
                          const hnode *n)
{
    if (!*t) {
        char name[512];
        if (ms_spb_tag_name(h->cfg, group, node, dev, "_state", 6, name,
                            sizeof name) < 0 ||
            ms_tag_new(h->drv.bus, name, MS_TYPE_JSON, t) < 0)
            return;
    }
    char j[200];
    snprintf(j, sizeof j, "{\"online\":%s,\"bdSeq\":%llu,\"seq_gaps\":%llu}",
             online ? "true" : "false", (unsigned long long)n->bdseq,
             (unsigned long long)n->gaps);
    ms_tag_set_json(*t, j);
}

static void node_offline(hnode *n)
{
    n->online = n->born = false;
    state_publish(n->h, &n->state, n->group, n->node, NULL, false, n);
    for (size_t d = 0; d < n->ndevs; d++)
        if (n->devs[d]->online) {
            n->devs[d]->online = false;
            state_publish(n->h, &n->devs[d]->state, n->group, n->node,
                          n->devs[d]->id, false, n);
        }
}

static hnode *node_get(ms_spb_host *h, const ms_spb_topic *t)
{
    char key[sizeof ((hnode *)0)->key];
    int k = snprintf(key, sizeof key, "%s/%s", t->group, t->node);
    hnode *n = ms_htab_get(&h->nodes, key, (size_t)k);
    if (n)
        return n;
    hnode **l = realloc(h->list, (h->nlist + 1) * sizeof *l);
    if (!l || !(n = calloc(1, sizeof *n)))
        return NULL;
    h->list = l;
    memcpy(n->key, key, (size_t)k + 1);
    snprintf(n->group, sizeof n->group, "%s", t->group);
    snprintf(n->node, sizeof n->node, "%s", t->node);
    n->h = h;
    if (ms_htab_put(&h->nodes, n->key, (size_t)k, n) < 0) {
        free(n);
        return NULL;
    }
    h->list[h->nlist++] = n;
    return n;
}

static hdev *dev_get(hnode *n, const char *id)
{
    for (size_t d = 0; d < n->ndevs; d++)
        if (!strcmp(n->devs[d]->id, id))
            return n->devs[d];
    hdev **l = realloc(n->devs, (n->ndevs + 1) * sizeof *l);
    hdev *d;
    if (!l || !(d = calloc(1, sizeof *d)))
        return NULL;
    n->devs = l;
    snprintf(d->id, sizeof d->id, "%s", id);
    n->devs[n->ndevs++] = d;
    return d;
}

static void rebirth(ms_spb_host *h, hnode *n, const char *why)
{
    if (n->rebirth_asked)
        return;
    n->rebirth_asked = true;
    ms_log_info("%s: %s: asking for a rebirth", n->key, why);
    ms_spb_metric m;
    memset(&m, 0, sizeof m);
    m.name = "Node Control/Rebirth";
    m.name_len = strlen(m.name);
    m.datatype = MS_SPB_BOOLEAN;
    m.kind = MS_SPB_V_BOOL;
    m.v.b = true;
    ms_spb_payload pl = {true, ms_time_now_us() / 1000, false, 0, &m, 1};
    ms_spb_topic t;
    memset(&t, 0, sizeof t);
    t.type = MS_SPB_NCMD;
    snprintf(t.group, sizeof t.group, "%s", n->group);
    snprintf(t.node, sizeof t.node, "%s", n->node);
    char topic[600];
    ms_spb_buf b = {0};
    if (ms_spb_topic_format(&t, topic, sizeof topic) > 0 &&
        ms_spb_encode(&pl, &b) == 0)
        ms_spb_link_publish(h->link, topic, b.p, b.len, 0, false);
    ms_spb_buf_free(&b);
}

/* ---- bus SETs -> NCMD/DCMD ---------------------------------------------------- */

static void on_bus_set(ms_tag *tag, void *arg)
{
    hmetric *m = arg;
    ms_spb_host *h = m->node->h;
    if (!ms_drv_fresh(&h->drv, tag) || !m->node->online)
        return; /* from before this connection, or the node is away */
    ms_value v;
    if (ms_tag_get(tag, &v) < 0)
        return;
    ms_spb_metric mm;
    memset(&mm, 0, sizeof mm);
    mm.name = m->metric;
    mm.name_len = strlen(m->metric);
    int rc = ms_spb_metric_set_as(&mm, &v, m->datatype);
    if (rc < 0) {
        ms_log_warn("%s: a %s value can't be sent as %s (%s); not written",
                    ms_tag_name(tag), ms_type_name(v.type),
                    ms_spb_datatype_name(m->datatype), ms_strerror(rc));
        return;
    }
    ms_spb_payload pl = {true, ms_time_now_us() / 1000, false, 0, &mm, 1};
    ms_spb_topic t;
    memset(&t, 0, sizeof t);
    t.type = m->device[0] ? MS_SPB_DCMD : MS_SPB_NCMD;
    snprintf(t.group, sizeof t.group, "%s", m->node->group);
    snprintf(t.node, sizeof t.node, "%s", m->node->node);
    snprintf(t.device, sizeof t.device, "%s", m->device);
    char topic[600];
    ms_spb_buf b = {0};
    if (ms_spb_topic_format(&t, topic, sizeof topic) > 0 &&
        ms_spb_encode(&pl, &b) == 0)
        rc = ms_spb_link_publish(h->link, topic, b.p, b.len, 0, false);
    if (rc < 0)
        ms_log_warn("%s: not written: %s", ms_tag_name(tag), ms_strerror(rc));
    ms_spb_buf_free(&b);
}

/* ---- metrics ------------------------------------------------------------------- */

static hmetric *metric_birth(hnode *n, const char *dev,
                             const ms_spb_metric *sm)
{
    ms_spb_host *h = n->h;
    char key[MS_SPB_ID_MAX + 600];
    int k = snprintf(key, sizeof key, "%s/%.*s", dev ? dev : "",
                     (int)sm->name_len, sm->name);
    if (k < 0 || (size_t)k >= sizeof key)
        return NULL;
    hmetric *m = ms_htab_get(&n->by_name, key, (size_t)k);
    if (!m) {
        char name[512];
        ms_type type = ms_spb_datatype_bus_type(sm->datatype);
        if (type == MS_TYPE_NONE) {
            ms_log_warn("%s: %s: a %s metric has no bus type; not mirrored",
                        n->key, key, ms_spb_datatype_name(sm->datatype));
            return NULL;
        }
        if (ms_spb_tag_name(h->cfg, n->group, n->node, dev, sm->name,
                            sm->name_len, name, sizeof name) < 0) {
            ms_log_warn("%s: %s: its bus name is over 255 bytes; give it "
                        "one in names:", n->key, key);
            return NULL;
        }
        if (n->nmetrics == n->capmetrics) {
            size_t cap = n->capmetrics ? n->capmetrics * 2 : 64;
            hmetric **l = realloc(n->metrics, cap * sizeof *l);
            if (!l)
                return NULL;
            n->metrics = l;
            n->capmetrics = cap;
        }
        if (!(m = calloc(1, sizeof *m)) || !(m->key = strdup(key))) {
            free(m);
            return NULL;
        }
        m->metric = strchr(m->key, '/') + 1;
        snprintf(m->device, sizeof m->device, "%s", dev ? dev : "");
        m->node = n;
        int rc = ms_tag_new(h->drv.bus, name, type, &m->tag);
        if (rc < 0) {
            ms_log_warn("%s: %s -> bus tag %s: %s", n->key, key, name,
                        ms_strerror(rc));
            free(m->key);
            free(m);
            return NULL;
        }
        if (h->cfg->write)
            ms_tag_watch(m->tag, on_bus_set, m);
        ms_htab_put(&n->by_name, m->key, (size_t)k, m);
        n->metrics[n->nmetrics++] = m;
    }
    m->datatype = sm->datatype;
    if (sm->has_alias) {
        m->alias = sm->alias;
        ms_htab_put(&n->by_alias, (const char *)&m->alias, sizeof m->alias,
                    m);
    }
    return m;
}

static void metric_value(hmetric *m, const ms_spb_metric *sm)
{
    ms_value v;
    if (ms_spb_metric_get_value(sm, &v) < 0)
        return;
    if (v.type == MS_TYPE_INT && ms_tag_type(m->tag) == MS_TYPE_FLOAT)
        v = ms_value_float((double)v.u.i);
    ms_tag_set(m->tag, &v, sm->has_time ? sm->time_ms * 1000 : 0);
}

static hmetric *metric_find(hnode *n, const char *dev,
                            const ms_spb_metric *sm)
{
    if (sm->has_alias && !sm->name) {
        uint64_t a = sm->alias;
        hmetric *m = ms_htab_get(&n->by_alias, (const char *)&a, sizeof a);
        return m && !strcmp(m->device, dev ? dev : "") ? m : NULL;
    }
    if (!sm->name)
        return NULL;
    char key[MS_SPB_ID_MAX + 600];
    int k = snprintf(key, sizeof key, "%s/%.*s", dev ? dev : "",
                     (int)sm->name_len, sm->name);
    return k > 0 && (size_t)k < sizeof key
               ? ms_htab_get(&n->by_name, key, (size_t)k) : NULL;
}

/* ---- messages ------------------------------------------------------------------ */

static bool bdseq_of(const ms_spb_payload *pl, uint64_t *out)
{
    for (size_t i = 0; i < pl->n; i++) {
        const ms_spb_metric *m = &pl->metrics[i];
        ms_value v;
        if (m->name && m->name_len == 5 && !memcmp(m->name, "bdSeq", 5) &&
            ms_spb_metric_get_value(m, &v) == 0 && v.type == MS_TYPE_INT) {
            *out = (uint64_t)v.u.i;
            return true;
        }
    }
    return false;
}

static void node_message(ms_spb_host *h, const ms_spb_topic *t,
                         const ms_spb_payload *pl)
{
    hnode *n = node_get(h, t);
    if (!n)
        return;
    const char *dev = t->device[0] ? t->device : NULL;
    if (t->type == MS_SPB_NDEATH) {
        uint64_t bd;
        if (n->online && (!bdseq_of(pl, &bd) || bd == n->bdseq)) {
            ms_log_info("%s: NDEATH: its tags are stale", n->key);
            node_offline(n);
        }
        return;
    }
    if (t->type == MS_SPB_NBIRTH) {
        ms_htab_free(&n->by_alias);
        bdseq_of(pl, &n->bdseq);
        n->seq = pl->seq;
        n->online = n->born = true;
        n->rebirth_asked = false;
        for (size_t i = 0; i < pl->n; i++) {
            const ms_spb_metric *sm = &pl->metrics[i];
            if (!sm->name || (sm->name_len == 5 &&
                              !memcmp(sm->name, "bdSeq", 5)) ||
                (sm->name_len > 13 && !memcmp(sm->name, "Node Control/", 13)))
                continue;
            hmetric *m = metric_birth(n, NULL, sm);
            if (m)
                metric_value(m, sm);
        }
        state_publish(h, &n->state, n->group, n->node, NULL, true, n);
        ms_log_info("%s: NBIRTH (bdSeq %llu, %zu metrics)", n->key,
                    (unsigned long long)n->bdseq, pl->n);
        return;
    }
    if (!n->born) {
        rebirth(h, n, "data before its NBIRTH");
        return;
    }
    if (!pl->has_seq || !ms_spb_seq_follows(n->seq, pl->seq)) {
        n->gaps++;
        ms_log_warn("%s: seq %llu after %llu: messages lost", n->key,
                    (unsigned long long)pl->seq, (unsigned long long)n->seq);
        rebirth(h, n, "a seq gap");
        state_publish(h, &n->state, n->group, n->node, NULL, true, n);
    }
    n->seq = pl->seq;
    hdev *d = dev ? dev_get(n, dev) : NULL;
    if (t->type == MS_SPB_DDEATH) {
        if (d && d->online) {
            d->online = false;
            state_publish(h, &d->state, n->group, n->node, dev, false, n);
        }
        return;
    }
    for (size_t i = 0; i < pl->n; i++) {
        const ms_spb_metric *sm = &pl->metrics[i];
        hmetric *m = t->type == MS_SPB_DBIRTH ? metric_birth(n, dev, sm)
                                              : metric_find(n, dev, sm);
        if (m)
            metric_value(m, sm);
        else if (t->type != MS_SPB_DBIRTH)
            rebirth(h, n, "a metric not in its BIRTH");
    }
    if (t->type == MS_SPB_DBIRTH && d) {
        d->online = true;
        state_publish(h, &d->state, n->group, n->node, dev, true, n);
    }
}

static void on_message(ms_spb_link *l, const char *topic, const uint8_t *p,
                       size_t len, void *arg)
{
    ms_spb_host *h = arg;
    (void)l;
    ms_spb_topic t;
    if (ms_spb_topic_parse(topic, strlen(topic), &t) < 0 ||
        t.type == MS_SPB_STATE || t.type == MS_SPB_NCMD ||
        t.type == MS_SPB_DCMD)
        return;
    if (h->cfg->groups.n && !ms_spb_patterns_match(&h->cfg->groups, t.group))
        return;
    ms_spb_payload pl;
    if (ms_spb_decode(p, len, &pl) < 0) {
        ms_log_warn("%s: not a Sparkplug B payload; ignored", topic);
        return;
    }
    node_message(h, &t, &pl);
    ms_spb_payload_free(&pl);
}

static void state_topic(const ms_spb_host *h, char *out, size_t cap)
{
    snprintf(out, cap, MS_SPB_NAMESPACE "/STATE/%s", h->cfg->host_id);
}

static void set_will(ms_spb_link *l, void *arg)
{
    ms_spb_host *h = arg;
    char topic[300], j[80];
    state_topic(h, topic, sizeof topic);
    int k = ms_spb_state_format(false, ms_time_now_us() / 1000, j, sizeof j);
    ms_spb_link_will(l, topic, j, (size_t)k, 1, true);
}

static void on_up(ms_spb_link *l, void *arg)
{
    ms_spb_host *h = arg;
    char topic[300], j[80];
    if (h->cfg->groups.n) {
        for (size_t i = 0; i < h->cfg->groups.n; i++) {
            snprintf(topic, sizeof topic, MS_SPB_NAMESPACE "/%s/#",
                     h->cfg->groups.pat[i]);
            ms_spb_link_subscribe(l, topic, 1);
        }
    } else {
        ms_spb_link_subscribe(l, MS_SPB_NAMESPACE "/#", 1);
    }
    state_topic(h, topic, sizeof topic);
    int k = ms_spb_state_format(true, ms_time_now_us() / 1000, j, sizeof j);
    ms_spb_link_publish(l, topic, j, (size_t)k, 1, true);
}

static void on_down(ms_spb_link *l, const char *why, void *arg)
{
    ms_spb_host *h = arg;
    (void)l;
    (void)why;
    for (size_t i = 0; i < h->nlist; i++)
        if (h->list[i]->online)
            node_offline(h->list[i]);
}

static void host_free(ms_drv *d)
{
    ms_spb_host *h = (ms_spb_host *)d;
    for (size_t i = 0; i < h->nlist; i++) {
        hnode *n = h->list[i];
        for (size_t k = 0; k < n->nmetrics; k++) {
            free(n->metrics[k]->key);
            free(n->metrics[k]);
        }
        for (size_t d = 0; d < n->ndevs; d++)
            free(n->devs[d]);
        free(n->devs);
        free(n->metrics);
        ms_htab_free(&n->by_name);
        ms_htab_free(&n->by_alias);
        free(n);
    }
    free(h->list);
    ms_htab_free(&h->nodes);
    free(h);
}

void ms_spb_host_stop(ms_spb_host *h)
{
    if (!h || h->drv.stopping)
        return;
    h->drv.stopping = true;
    if (h->link && ms_spb_link_up(h->link)) {
        char topic[300], j[80];
        state_topic(h, topic, sizeof topic);
        int k = ms_spb_state_format(false, ms_time_now_us() / 1000, j,
                                    sizeof j);
        ms_spb_link_publish(h->link, topic, j, (size_t)k, 1, true);
    }
    ms_spb_link_close(h->link);
    ms_drv_stop(&h->drv);
}

int ms_spb_host_start(uv_loop_t *loop, ms_spb_config *cfg, ms_spb_host **out)
{
    *out = NULL;
    ms_spb_host *h = calloc(1, sizeof *h);
    if (!h)
        return MS_ENOMEM;
    h->cfg = cfg;
    ms_drv_init(&h->drv, loop, NULL, host_free);
    int rc = ms_drv_bus_new(&h->drv, &cfg->bus);
    if (rc < 0) {
        ms_spb_host_stop(h);
        return rc;
    }
    if (!cfg->mqtt.client_id[0])
        snprintf(cfg->mqtt.client_id, sizeof cfg->mqtt.client_id,
                 "mscada-host-%.100s", cfg->host_id);
    ms_spb_link_cbs cbs = {set_will, on_up, on_down, on_message, h};
    if ((rc = ms_spb_link_new(loop, &cfg->mqtt, &cbs, &h->link)) < 0) {
        ms_log_error("MQTT: %s", ms_strerror(rc));
        ms_spb_host_stop(h);
        return rc;
    }
    *out = h;
    return 0;
}
