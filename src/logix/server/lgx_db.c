/* The mailbox's tags and the CIP services on them, answered as a Logix
 * controller does: 0x04 for a name it does not have, 0x05 for an element
 * or member it does not have, 0xFF/0x2105 for elements past the end,
 * 0xFF/0x2107 for a write of the wrong type, 0x06 with as much as fits
 * when a reply is larger than the connection (ask again with 0x52). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logix/server/lgx_db.h"

static long add(ms_lgx_db *db, const char *name, uint16_t type,
                uint16_t handle, unsigned esize, long udt,
                const uint32_t *dims, int ndim)
{
    size_t len = strlen(name);
    uint8_t path[MS_LGX_PATH_MAX];
    if (len == 0 || len > MS_LGX_NAME_MAX || strchr(name, '.') ||
        strchr(name, '[') || ms_lgx_path_tag(name, path, sizeof path) < 0 ||
        ndim < 0 || ndim > MS_LGX_DIMS || ms_lgx_db_find(db, name, len) >= 0)
        return -1;
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
    t->handle = handle;
    t->udt = udt;
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

long ms_lgx_db_add(ms_lgx_db *db, const char *name, uint16_t type,
                   const uint32_t *dims, int ndim)
{
    if (type == MS_LGX_TYPE_STRUCT)
        return add(db, name, type, MS_LGX_STRING_HANDLE, MS_LGX_STRING_SIZE,
                   -1, dims, ndim);
    return add(db, name, type, 0, ms_lgx_type_size(type), -1, dims, ndim);
}

long ms_lgx_db_add_struct(ms_lgx_db *db, const char *name, size_t u,
                          const uint32_t *dims, int ndim)
{
    if (u >= db->nudts)
        return -1;
    return add(db, name, MS_LGX_TYPE_STRUCT, db->udts[u].handle,
               db->udts[u].size, (long)u, dims, ndim);
}

long ms_lgx_db_find_udt(const ms_lgx_db *db, const char *name)
{
    for (size_t i = 0; i < db->nudts; i++)
        if (!strcasecmp(db->udts[i].name, name))
            return (long)i;
    return -1;
}

long ms_lgx_db_add_udt(ms_lgx_db *db, const char *name,
                       const ms_lgx_member *m, int n)
{
    size_t len = strlen(name);
    if (len == 0 || len > MS_LGX_NAME_MAX || n < 1 ||
        n > MS_LGX_UDT_MEMBERS || ms_lgx_db_find_udt(db, name) >= 0 ||
        ms_lgx_type_code(name, len) || db->nudts >= 0xE00)
        return -1;
    ms_lgx_udt u = {0};
    memcpy(u.name, name, len);
    u.n = n;
    uint32_t off = 0, align = 4, hash = 2166136261u;
    for (int i = 0; i < n; i++) {
        unsigned sz = ms_lgx_type_size(m[i].type);
        size_t ml = strlen(m[i].name);
        if (!sz || m[i].type == MS_LGX_BOOL || m[i].type == MS_LGX_TYPE_STRUCT ||
            ml == 0 || ml > MS_LGX_NAME_MAX || strchr(m[i].name, '.') ||
            strchr(m[i].name, '['))
            return -1;
        for (int j = 0; j < i; j++)
            if (!strcasecmp(m[j].name, m[i].name))
                return -1;
        off = (off + sz - 1) / sz * sz; /* Logix aligns to the size */
        if (sz > align)
            align = sz;
        u.m[i] = m[i];
        u.m[i].info = 0;
        u.m[i].offset = off;
        off += sz;
        for (size_t k = 0; k < ml; k++)
            hash = (hash ^ (uint8_t)m[i].name[k]) * 16777619u;
        hash = (hash ^ m[i].type) * 16777619u;
    }
    u.size = (off + align - 1) / align * align;
    u.id = (uint16_t)(MS_LGX_UDT_ID0 + db->nudts);
    /* the handle stands for the layout (a Logix one is a CRC of it) */
    u.handle = (uint16_t)(hash ^ (hash >> 16));
    for (bool clash = true; clash;) {
        clash = u.handle == MS_LGX_STRING_HANDLE;
        for (size_t i = 0; i < db->nudts && !clash; i++)
            clash = db->udts[i].handle == u.handle;
        if (clash)
            u.handle++;
    }
    ms_lgx_udt *t = realloc(db->udts, (db->nudts + 1) * sizeof *t);
    if (!t)
        return -1;
    db->udts = t;
    db->udts[db->nudts] = u;
    return (long)db->nudts++;
}

void ms_lgx_db_free(ms_lgx_db *db)
{
    for (size_t i = 0; i < db->n; i++)
        free(db->tags[i].data);
    free(db->tags);
    free(db->udts);
    db->tags = NULL;
    db->udts = NULL;
    db->n = db->nudts = 0;
}

long ms_lgx_db_find(const ms_lgx_db *db, const char *name, size_t len)
{
    for (size_t i = 0; i < db->n; i++)
        if (strlen(db->tags[i].name) == len &&
            !strncasecmp(db->tags[i].name, name, len))
            return (long)i;
    return -1;
}

/* What a request's path names: tag t from element first, or one member
 * of that element of a UDT tag; type, handle, esize, count and base
 * describe what is there (count elements from base). */
typedef struct {
    uint8_t status;
    uint16_t ext;
    ms_lgx_dbtag *t;
    size_t ti, first;
    bool member;
    uint16_t type, handle;
    unsigned esize;
    size_t count;
    uint8_t *base;
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
    int nidx = 0, i = 1;
    size_t flat = 0;
    for (; i < k && seg[i].kind != MS_LGX_SEG_NAME; i++) {
        if (seg[i].kind != MS_LGX_SEG_INDEX || nidx == r.t->ndim ||
            seg[i].value >= r.t->dims[nidx]) {
            r.status = 0x05;
            return r;
        }
        flat = flat * r.t->dims[nidx] + seg[i].value;
        nidx++;
    }
    for (int d = nidx; d < r.t->ndim; d++)
        flat *= r.t->dims[d]; /* fewer indexes: the first of that row */
    r.first = flat;
    r.type = r.t->type;
    r.handle = r.t->handle;
    r.esize = r.t->esize;
    r.count = r.t->count - flat;
    r.base = r.t->data + flat * r.t->esize;
    if (i == k)
        return r;
    /* a member: of one whole element of a UDT, and nothing after it */
    const ms_lgx_udt *u = r.t->udt >= 0 ? &db->udts[r.t->udt] : NULL;
    const ms_lgx_member *m = NULL;
    for (int j = 0; u && j < u->n && !m; j++)
        if (strlen(u->m[j].name) == seg[i].len &&
            !strncasecmp(u->m[j].name, (const char *)seg[i].name,
                         seg[i].len))
            m = &u->m[j];
    if (!m || nidx != r.t->ndim || i + 1 != k) {
        r.status = 0x05;
        return r;
    }
    r.member = true;
    r.type = m->type;
    r.handle = 0;
    r.esize = ms_lgx_type_size(m->type);
    r.count = 1;
    r.base += m->offset;
    return r;
}

/* Tells the owner which elements a write changed. */
static void wrote(ms_lgx_db *db, const target *tg, size_t e0, size_t e1)
{
    if (!db->on_write)
        return;
    if (tg->member)
        db->on_write(db, tg->ti, tg->first, 1);
    else
        db->on_write(db, tg->ti, tg->first + e0, e1 - e0);
}

static void reply_err(ms_lgx_w *w, uint8_t svc, uint8_t status, uint16_t ext)
{
    ms_lgx_rsp_put(w, svc, status, ext, NULL, 0);
}

static void put_type(ms_lgx_w *w, const target *tg)
{
    ms_lgx_put16(w, tg->type);
    if (tg->type == MS_LGX_TYPE_STRUCT)
        ms_lgx_put16(w, tg->handle);
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
    if (elements == 0 || elements > tg.count)
        return reply_err(w, q->service, 0xFF, 0x2105);
    size_t total = elements * tg.esize;
    if (offset >= total)
        return reply_err(w, q->service, 0xFF, 0x2105);
    size_t head = ms_lgx_read_reply_size(tg.type, 0);
    size_t fit = room > head ? room - head : 0;
    fit -= fit % tg.esize; /* whole elements per fragment */
    size_t n = total - offset < fit ? total - offset : fit;
    if (n == 0)
        return reply_err(w, q->service, 0x11, 0);
    ms_lgx_rsp_put(w, q->service, n < total - offset ? 0x06 : 0, 0, NULL, 0);
    put_type(w, &tg);
    ms_lgx_put(w, tg.base + offset, n);
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
        if (tg.type != type || ms_lgx_u16(p) != tg.handle)
            return reply_err(w, q->service, 0xFF, 0x2107);
        p += 2, n -= 2;
    } else if (type != tg.type) {
        return reply_err(w, q->service, 0xFF, 0x2107);
    }
    if (n < (frag ? 6u : 2u))
        return reply_err(w, q->service, 0x13, 0);
    size_t elements = ms_lgx_u16(p);
    size_t offset = frag ? ms_lgx_u32(p + 2) : 0;
    p += frag ? 6 : 2, n -= frag ? 6 : 2;
    if (elements == 0 || elements > tg.count)
        return reply_err(w, q->service, 0xFF, 0x2105);
    size_t total = elements * tg.esize;
    if (offset > total || n > total - offset)
        return reply_err(w, q->service, 0x15, 0);
    if (!frag && n < total)
        return reply_err(w, q->service, 0x13, 0);
    memcpy(tg.base + offset, p, n);
    ms_lgx_rsp_put(w, q->service, 0, 0, NULL, 0);
    if (n)
        wrote(db, &tg, offset / tg.esize,
              (offset + n + tg.esize - 1) / tg.esize);
}

static void serve_rmw(ms_lgx_db *db, const ms_lgx_req *q, ms_lgx_w *w)
{
    target tg = resolve(db, q->path, q->path_len);
    if (tg.status)
        return reply_err(w, q->service, tg.status, tg.ext);
    if (q->data_len < 2)
        return reply_err(w, q->service, 0x13, 0);
    size_t size = ms_lgx_u16(q->data);
    if (tg.type == MS_LGX_TYPE_STRUCT || tg.type == MS_LGX_REAL ||
        tg.type == MS_LGX_LREAL || size != tg.esize)
        return reply_err(w, q->service, 0xFF, 0x2107);
    if (q->data_len != 2 + 2 * size)
        return reply_err(w, q->service, q->data_len < 2 + 2 * size ? 0x13
                                                                   : 0x15, 0);
    uint8_t *e = tg.base;
    const uint8_t *or_m = q->data + 2, *and_m = q->data + 2 + size;
    for (size_t i = 0; i < size; i++)
        e[i] = (uint8_t)((e[i] & and_m[i]) | or_m[i]);
    ms_lgx_rsp_put(w, q->service, 0, 0, NULL, 0);
    wrote(db, &tg, 0, 1);
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
                /* a structure: its template instance, and bit 15 */
                uint16_t ty = t->type != MS_LGX_TYPE_STRUCT ? t->type
                              : t->udt >= 0
                                  ? (uint16_t)(0x8000 | db->udts[t->udt].id)
                                  : (uint16_t)(0x8000 | (t->handle & 0xFFF));
                ms_lgx_put16(w, (uint16_t)(ty | (t->ndim << 13)));
            } else if (id == 8) {
                for (int d = 0; d < 3; d++)
                    ms_lgx_put32(w, d < t->ndim ? t->dims[d] : 0);
            }
        }
    }
}

/* The Logix STRING as a template: LEN DINT, DATA SINT[82]. */
static const ms_lgx_udt string_udt = {
    .name = "STRING", .id = MS_LGX_STRING_HANDLE & 0xFFF,
    .handle = MS_LGX_STRING_HANDLE, .size = MS_LGX_STRING_SIZE, .n = 2,
    .m = {{.name = "LEN", .type = MS_LGX_DINT},
          {.name = "DATA", .type = MS_LGX_SINT, .info = MS_LGX_STRING_MAX,
           .offset = 4}},
};

/* The template (class 0x6C) instance id names: a UDT's, or STRING's. */
static const ms_lgx_udt *template_of(const ms_lgx_db *db, uint32_t id)
{
    if (id == string_udt.id)
        return &string_udt;
    if (id >= MS_LGX_UDT_ID0 && id - MS_LGX_UDT_ID0 < db->nudts)
        return &db->udts[id - MS_LGX_UDT_ID0];
    return NULL;
}

#define TEMPLATE_MAX (MS_LGX_UDT_MEMBERS * (8 + MS_LGX_NAME_MAX + 1) + 64)

/* What Read Template returns: per member info (elements), type (bit 13
 * for an array) and offset; then "NAME;n" and the member names, each
 * NUL-terminated. */
static size_t template_bytes(const ms_lgx_udt *u, uint8_t *out, size_t cap)
{
    ms_lgx_w w;
    ms_lgx_w_init(&w, out, cap);
    for (int i = 0; i < u->n; i++) {
        ms_lgx_put16(&w, u->m[i].info);
        ms_lgx_put16(&w, (uint16_t)(u->m[i].type |
                                    (u->m[i].info ? 0x2000 : 0)));
        ms_lgx_put32(&w, u->m[i].offset);
    }
    ms_lgx_put(&w, u->name, strlen(u->name));
    ms_lgx_put(&w, ";n", 3);
    for (int i = 0; i < u->n; i++)
        ms_lgx_put(&w, u->m[i].name, strlen(u->m[i].name) + 1);
    return w.err ? 0 : w.len;
}

/* Get_Attribute_List on a template: 1 structure handle, 2 member count,
 * 4 definition size in 32-bit words (what Read Template returns, plus
 * the 23 bytes clients take off), 5 structure size in bytes. */
static void serve_template_attrs(const ms_lgx_db *db, const ms_lgx_req *q,
                                 ms_lgx_w *w, uint32_t inst)
{
    const ms_lgx_udt *u = template_of(db, inst);
    if (!u)
        return reply_err(w, q->service, 0x05, 0);
    if (q->data_len < 2 || q->data_len < 2 + 2u * ms_lgx_u16(q->data))
        return reply_err(w, q->service, 0x13, 0);
    uint8_t tb[TEMPLATE_MAX];
    size_t tlen = template_bytes(u, tb, sizeof tb);
    size_t na = ms_lgx_u16(q->data);
    ms_lgx_rsp_put(w, q->service, 0, 0, NULL, 0);
    ms_lgx_put16(w, (uint16_t)na);
    for (size_t a = 0; a < na; a++) {
        uint16_t id = ms_lgx_u16(q->data + 2 + 2 * a);
        ms_lgx_put16(w, id);
        switch (id) {
        case 1: ms_lgx_put16(w, 0); ms_lgx_put16(w, u->handle); break;
        case 2: ms_lgx_put16(w, 0); ms_lgx_put16(w, (uint16_t)u->n); break;
        case 4:
            ms_lgx_put16(w, 0);
            ms_lgx_put32(w, (uint32_t)(tlen + 23 + 3) / 4);
            break;
        case 5: ms_lgx_put16(w, 0); ms_lgx_put32(w, u->size); break;
        default: ms_lgx_put16(w, 0x14); break; /* attribute not supported */
        }
    }
}

/* Read Template (0x4C on class 0x6C): offset u32, bytes u16. */
static void serve_template_read(const ms_lgx_db *db, const ms_lgx_req *q,
                                ms_lgx_w *w, size_t room, uint32_t inst)
{
    const ms_lgx_udt *u = template_of(db, inst);
    if (!u)
        return reply_err(w, q->service, 0x05, 0);
    if (q->data_len < 6)
        return reply_err(w, q->service, 0x13, 0);
    uint8_t tb[TEMPLATE_MAX];
    size_t tlen = template_bytes(u, tb, sizeof tb);
    size_t offset = ms_lgx_u32(q->data), want = ms_lgx_u16(q->data + 4);
    if (offset >= tlen || want == 0)
        return reply_err(w, q->service, 0xFF, 0x2105);
    size_t n = tlen - offset < want ? tlen - offset : want;
    uint8_t status = 0;
    if (n + 4 > room) { /* more follows: ask again from offset + n */
        n = room > 8 ? (room - 4) & ~(size_t)3 : 0;
        status = 0x06;
    }
    if (!n)
        return reply_err(w, q->service, 0x11, 0);
    ms_lgx_rsp_put(w, q->service, status, 0, NULL, 0);
    ms_lgx_put(w, tb + offset, n);
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
        if (cls == 0x6C)
            return serve_template_read(db, &q, w, room, inst);
        return serve_read(db, &q, w, room);
    case MS_LGX_SVC_READ_FRAG:
        return serve_read(db, &q, w, room);
    case MS_LGX_SVC_GET_LIST:
        if (cls != 0x6C)
            return reply_err(w, q.service, 0x08, 0);
        return serve_template_attrs(db, &q, w, inst);
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
