/* The mailbox's tags and the CIP services on them, answered as a Logix
 * controller does: 0x04 for a name it does not have, 0x05 for an element
 * or member it does not have, 0xFF/0x2105 for elements past the end,
 * 0xFF/0x2107 for a write of the wrong type, 0x06 with as much as fits
 * when a reply is larger than the connection (ask again with 0x52). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logix/server/lgx_db.h"

long ms_lgx_db_add(ms_lgx_db *db, const char *name, uint16_t type,
                   const uint32_t *dims, int ndim)
{
    size_t len = strlen(name);
    uint8_t path[MS_LGX_PATH_MAX];
    if (len == 0 || len > MS_LGX_NAME_MAX || strchr(name, '.') ||
        strchr(name, '[') || ms_lgx_path_tag(name, path, sizeof path) < 0 ||
        ndim < 0 || ndim > MS_LGX_DIMS || ms_lgx_db_find(db, name, len) >= 0)
        return -1;
    unsigned esize = type == MS_LGX_TYPE_STRUCT ? MS_LGX_STRING_SIZE
                                                : ms_lgx_type_size(type);
    if (!esize)
        return -1;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] == 0 || dims[i] > 1000000)
            return -1;
        count *= dims[i];
    }
    if (count > 1000000)
        return -1;
    ms_lgx_dbtag *t = realloc(db->tags, (db->n + 1) * sizeof *t);
    if (!t)
        return -1;
    db->tags = t;
    t = &db->tags[db->n];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, len);
    t->type = type;
    t->handle = type == MS_LGX_TYPE_STRUCT ? MS_LGX_STRING_HANDLE : 0;
    t->esize = esize;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->dims[i] = dims[i];
    t->count = count;
    t->data = calloc(count, esize);
    if (!t->data)
        return -1;
    return (long)db->n++;
}

void ms_lgx_db_free(ms_lgx_db *db)
{
    for (size_t i = 0; i < db->n; i++)
        free(db->tags[i].data);
    free(db->tags);
    db->tags = NULL;
    db->n = 0;
}

long ms_lgx_db_find(const ms_lgx_db *db, const char *name, size_t len)
{
    for (size_t i = 0; i < db->n; i++)
        if (strlen(db->tags[i].name) == len &&
            !strncasecmp(db->tags[i].name, name, len))
            return (long)i;
    return -1;
}

/* What a request's path names: tag t from element first. */
typedef struct {
    uint8_t status;
    uint16_t ext;
    ms_lgx_dbtag *t;
    size_t ti, first;
} target;

static target resolve(ms_lgx_db *db, const uint8_t *path, size_t n)
{
    target r = {0};
    ms_lgx_seg seg[8];
    int k = ms_lgx_path_split(path, n, seg, 8);
    if (k <= 0 || seg[0].kind != MS_LGX_SEG_NAME) {
        r.status = 0x04;
        return r;
    }
    long ti = ms_lgx_db_find(db, (const char *)seg[0].name, seg[0].len);
    if (ti < 0) {
        r.status = 0x04;
        return r;
    }
    r.ti = (size_t)ti;
    r.t = &db->tags[ti];
    int nidx = 0;
    size_t flat = 0;
    for (int i = 1; i < k; i++) {
        if (seg[i].kind != MS_LGX_SEG_INDEX || nidx == r.t->ndim ||
            seg[i].value >= r.t->dims[nidx]) {
            r.status = 0x05;
            return r;
        }
        flat = flat * r.t->dims[nidx] + seg[i].value;
        nidx++;
    }
    for (int i = nidx; i < r.t->ndim; i++)
        flat *= r.t->dims[i]; /* fewer indexes: the first of that row */
    r.first = flat;
    return r;
}

static void reply_err(ms_lgx_w *w, uint8_t svc, uint8_t status, uint16_t ext)
{
    ms_lgx_rsp_put(w, svc, status, ext, NULL, 0);
}

static void put_type(ms_lgx_w *w, const ms_lgx_dbtag *t)
{
    ms_lgx_put16(w, t->type);
    if (t->type == MS_LGX_TYPE_STRUCT)
        ms_lgx_put16(w, t->handle);
}

static void serve_read(ms_lgx_db *db, const ms_lgx_req *q, ms_lgx_w *w,
                       size_t room)
{
    bool frag = q->service == MS_LGX_SVC_READ_FRAG;
    if (q->data_len < (frag ? 6u : 2u))
        return reply_err(w, q->service, 0x13, 0);
    target tg = resolve(db, q->path, q->path_len);
    if (tg.status)
        return reply_err(w, q->service, tg.status, tg.ext);
    size_t elements = ms_lgx_u16(q->data);
    size_t offset = frag ? ms_lgx_u32(q->data + 2) : 0;
    if (elements == 0 || tg.first + elements > tg.t->count)
        return reply_err(w, q->service, 0xFF, 0x2105);
    size_t total = elements * tg.t->esize;
    if (offset >= total)
        return reply_err(w, q->service, 0xFF, 0x2105);
    size_t head = ms_lgx_read_reply_size(tg.t->type, 0);
    size_t fit = room > head ? room - head : 0;
    fit -= fit % tg.t->esize; /* whole elements per fragment */
    size_t n = total - offset < fit ? total - offset : fit;
    if (n == 0)
        return reply_err(w, q->service, 0x11, 0);
    ms_lgx_rsp_put(w, q->service, n < total - offset ? 0x06 : 0, 0, NULL, 0);
    put_type(w, tg.t);
    ms_lgx_put(w, tg.t->data + tg.first * tg.t->esize + offset, n);
}

static void serve_write(ms_lgx_db *db, const ms_lgx_req *q, ms_lgx_w *w)
{
    bool frag = q->service == MS_LGX_SVC_WRITE_FRAG;
    target tg = resolve(db, q->path, q->path_len);
    if (tg.status)
        return reply_err(w, q->service, tg.status, tg.ext);
    const uint8_t *p = q->data;
    size_t n = q->data_len;
    if (n < 2)
        return reply_err(w, q->service, 0x13, 0);
    uint16_t type = ms_lgx_u16(p);
    p += 2, n -= 2;
    if (type == MS_LGX_TYPE_STRUCT) {
        if (n < 2)
            return reply_err(w, q->service, 0x13, 0);
        if (tg.t->type != type || ms_lgx_u16(p) != tg.t->handle)
            return reply_err(w, q->service, 0xFF, 0x2107);
        p += 2, n -= 2;
    } else if (type != tg.t->type) {
        return reply_err(w, q->service, 0xFF, 0x2107);
    }
    if (n < (frag ? 6u : 2u))
        return reply_err(w, q->service, 0x13, 0);
    size_t elements = ms_lgx_u16(p);
    size_t offset = frag ? ms_lgx_u32(p + 2) : 0;
    p += frag ? 6 : 2, n -= frag ? 6 : 2;
    if (elements == 0 || tg.first + elements > tg.t->count)
        return reply_err(w, q->service, 0xFF, 0x2105);
    size_t total = elements * tg.t->esize;
    if (offset > total || n > total - offset)
        return reply_err(w, q->service, 0x15, 0);
    if (!frag && n < total)
        return reply_err(w, q->service, 0x13, 0);
    memcpy(tg.t->data + tg.first * tg.t->esize + offset, p, n);
    ms_lgx_rsp_put(w, q->service, 0, 0, NULL, 0);
    if (db->on_write && n) {
        size_t e0 = offset / tg.t->esize;
        size_t e1 = (offset + n + tg.t->esize - 1) / tg.t->esize;
        db->on_write(db, tg.ti, tg.first + e0, e1 - e0);
    }
}

static void serve_rmw(ms_lgx_db *db, const ms_lgx_req *q, ms_lgx_w *w)
{
    target tg = resolve(db, q->path, q->path_len);
    if (tg.status)
        return reply_err(w, q->service, tg.status, tg.ext);
    if (q->data_len < 2)
        return reply_err(w, q->service, 0x13, 0);
    size_t size = ms_lgx_u16(q->data);
    if (tg.t->type == MS_LGX_TYPE_STRUCT || tg.t->type == MS_LGX_REAL ||
        tg.t->type == MS_LGX_LREAL || size != tg.t->esize)
        return reply_err(w, q->service, 0xFF, 0x2107);
    if (q->data_len != 2 + 2 * size)
        return reply_err(w, q->service, q->data_len < 2 + 2 * size ? 0x13
                                                                   : 0x15, 0);
    uint8_t *e = tg.t->data + tg.first * tg.t->esize;
    const uint8_t *or_m = q->data + 2, *and_m = q->data + 2 + size;
    for (size_t i = 0; i < size; i++)
        e[i] = (uint8_t)((e[i] & and_m[i]) | or_m[i]);
    ms_lgx_rsp_put(w, q->service, 0, 0, NULL, 0);
    if (db->on_write)
        db->on_write(db, tg.ti, tg.first, 1);
}

/* The Symbol object's instance list (0x55 on class 0x6B): instance id,
 * then attributes 1 (name), 2 (type), 8 (dimensions) as asked. */
static void serve_symbols(ms_lgx_db *db, const ms_lgx_req *q, ms_lgx_w *w,
                          size_t room, uint32_t start)
{
    if (q->data_len < 2)
        return reply_err(w, q->service, 0x13, 0);
    size_t na = ms_lgx_u16(q->data);
    if (q->data_len < 2 + 2 * na)
        return reply_err(w, q->service, 0x13, 0);
    size_t at = w->len;
    ms_lgx_rsp_put(w, q->service, 0, 0, NULL, 0);
    for (size_t i = start ? start - 1 : 0; i < db->n; i++) {
        const ms_lgx_dbtag *t = &db->tags[i];
        size_t nl = strlen(t->name);
        size_t need = 4;
        for (size_t a = 0; a < na; a++) {
            unsigned id = ms_lgx_u16(q->data + 2 + 2 * a);
            need += id == 1 ? 2 + nl : id == 2 ? 2 : id == 8 ? 12 : 0;
        }
        if (w->len - at + need > room) {
            w->p[at + 2] = 0x06; /* more: ask again from the next id */
            return;
        }
        ms_lgx_put32(w, (uint32_t)i + 1);
        for (size_t a = 0; a < na; a++) {
            unsigned id = ms_lgx_u16(q->data + 2 + 2 * a);
            if (id == 1) {
                ms_lgx_put16(w, (uint16_t)nl);
                ms_lgx_put(w, t->name, nl);
            } else if (id == 2) {
                uint16_t ty = t->type == MS_LGX_TYPE_STRUCT
                                  ? (uint16_t)(0x8000 | (t->handle & 0xFFF))
                                  : t->type;
                ms_lgx_put16(w, (uint16_t)(ty | (t->ndim << 13)));
            } else if (id == 8) {
                for (int d = 0; d < 3; d++)
                    ms_lgx_put32(w, d < t->ndim ? t->dims[d] : 0);
            }
        }
    }
}

/* Identity (class 1) Get_Attributes_All. */
static void serve_identity(ms_lgx_w *w)
{
    static const char name[] = "mscada logixserver";
    ms_lgx_rsp_put(w, MS_LGX_SVC_GET_ALL, 0, 0, NULL, 0);
    ms_lgx_put16(w, 1);      /* vendor: Rockwell, as clients expect */
    ms_lgx_put16(w, 0x0E);   /* device type: programmable logic controller */
    ms_lgx_put16(w, 0x006C); /* product code */
    ms_lgx_put8(w, 20);      /* revision 20.11: large connections */
    ms_lgx_put8(w, 11);
    ms_lgx_put16(w, 0x0060); /* status: run */
    ms_lgx_put32(w, 0x4d534344);
    ms_lgx_put8(w, (uint8_t)(sizeof name - 1));
    ms_lgx_put(w, name, sizeof name - 1);
}

static void serve_one(ms_lgx_db *db, const uint8_t *p, size_t n, ms_lgx_w *w,
                      size_t room, bool nested);

static void serve_msp(ms_lgx_db *db, const ms_lgx_req *q, ms_lgx_w *w,
                      size_t room)
{
    ms_lgx_slice part[MS_LGX_MSP_MAX];
    int k = ms_lgx_msp_split(q->data, q->data_len, part, MS_LGX_MSP_MAX);
    if (k < 0)
        return reply_err(w, q->service, 0x13, 0);
    size_t at = w->len;
    ms_lgx_rsp_put(w, q->service, 0, 0, NULL, 0);
    ms_lgx_put16(w, (uint16_t)k);
    size_t offs = w->len;
    for (int i = 0; i < k; i++)
        ms_lgx_put16(w, 0);
    bool failed = false;
    for (int i = 0; i < k; i++) {
        ms_lgx_patch16(w, offs + 2 * (size_t)i, (uint16_t)(w->len - offs + 2));
        size_t b = w->len;
        size_t used = w->len - at;
        serve_one(db, part[i].p, part[i].n, w, room > used ? room - used : 0,
                  true);
        if (w->len - b < 4 || w->p[b + 2] != 0)
            failed = true;
    }
    if (failed && !w->err)
        w->p[at + 2] = 0x1E;
    if (w->len - at > room) { /* the client packed more than fits */
        w->len = at;
        reply_err(w, q->service, 0x11, 0);
    }
}

static void serve_one(ms_lgx_db *db, const uint8_t *p, size_t n, ms_lgx_w *w,
                      size_t room, bool nested)
{
    ms_lgx_req q;
    if (ms_lgx_req_get(p, n, &q) < 0)
        return reply_err(w, n ? p[0] & 0x7F : 0, 0x04, 0);
    ms_lgx_seg seg[4];
    int k = ms_lgx_path_split(q.path, q.path_len, seg, 4);
    uint32_t cls = k >= 1 && seg[0].kind == MS_LGX_SEG_CLASS ? seg[0].value
                                                             : 0;
    uint32_t inst = k >= 2 && seg[1].kind == MS_LGX_SEG_INSTANCE
                        ? seg[1].value : 0;
    switch (q.service) {
    case MS_LGX_SVC_READ:
    case MS_LGX_SVC_READ_FRAG:
        return serve_read(db, &q, w, room);
    case MS_LGX_SVC_WRITE:
    case MS_LGX_SVC_WRITE_FRAG:
        return serve_write(db, &q, w);
    case MS_LGX_SVC_RMW:
        return serve_rmw(db, &q, w);
    case MS_LGX_SVC_MSP:
        if (nested || db->no_msp || cls != 2)
            return reply_err(w, q.service, 0x08, 0);
        return serve_msp(db, &q, w, room);
    case MS_LGX_SVC_INSTANCE_LIST:
        if (cls != 0x6B)
            return reply_err(w, q.service, 0x08, 0);
        return serve_symbols(db, &q, w, room, inst);
    case MS_LGX_SVC_GET_ALL:
        if (cls != 1 || inst != 1)
            return reply_err(w, q.service, 0x05, 0);
        return serve_identity(w);
    default:
        return reply_err(w, q.service, 0x08, 0);
    }
}

size_t ms_lgx_db_serve(ms_lgx_db *db, const uint8_t *req, size_t n,
                       uint8_t *out, size_t cap, size_t room)
{
    ms_lgx_w w;
    ms_lgx_w_init(&w, out, cap);
    serve_one(db, req, n, &w, room, false);
    return w.err ? 0 : w.len;
}
