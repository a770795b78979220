/* A Logix "mailbox": the controller tags a logixserver declares (atomic
 * types, arrays of 1-3 dimensions, STRING) and the CIP requests served on
 * them (lgx_db.c: Read/Write Tag, fragmented, Read-Modify-Write, Multiple
 * Service Packet, the Symbol object's instance list, Identity), with the
 * status codes a Logix controller answers. Pure: bytes in, bytes out; the
 * transport (sessions, Forward Open) is lgx_server.c. */
#ifndef MS_LOGIX_DB_H
#define MS_LOGIX_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logix/codec/lgx_codec.h"

/* The Logix STRING: LEN DINT, DATA SINT[82], 2 pad bytes. */
#define MS_LGX_STRING_HANDLE 0x0FCE
#define MS_LGX_STRING_SIZE 88
#define MS_LGX_STRING_MAX 82

typedef struct {
    char name[MS_LGX_NAME_MAX + 1];
    uint16_t type;        /* atomic code, or MS_LGX_TYPE_STRUCT (STRING) */
    uint16_t handle;      /* structure handle of a STRING */
    unsigned esize;       /* bytes per element */
    uint32_t dims[MS_LGX_DIMS];
    int ndim;             /* 0: a scalar */
    size_t count;         /* elements */
    uint8_t *data;        /* count * esize bytes */
} ms_lgx_dbtag;

typedef struct ms_lgx_db ms_lgx_db;
struct ms_lgx_db {
    ms_lgx_dbtag *tags;
    size_t n;
    /* Test faults: answer MSP with "service not supported" (as Micro800
     * and simulators do); no (large) Forward Open at all; refuse the next
     * Forward Opens (out of connections; connection in use). */
    bool no_msp, no_large_fo, no_fo;
    unsigned refuse_fo, in_use_fo;
    /* Called after a write changed tag t's elements [first, first+count). */
    void (*on_write)(ms_lgx_db *db, size_t t, size_t first, size_t count);
    void *arg;
};

/* Declares a tag (copies name); data zeroed. Returns its index or -1 (a
 * bad name, type or size, out of memory). */
long ms_lgx_db_add(ms_lgx_db *db, const char *name, uint16_t type,
                   const uint32_t *dims, int ndim);
void ms_lgx_db_free(ms_lgx_db *db);
long ms_lgx_db_find(const ms_lgx_db *db, const char *name, size_t len);

/* Serves one Message Router request (not a Forward Open: the transport
 * answers those). room: the largest reply the connection carries. Writes
 * the reply to out; returns its length (0 when cap is too small). */
size_t ms_lgx_db_serve(ms_lgx_db *db, const uint8_t *req, size_t n,
                       uint8_t *out, size_t cap, size_t room);

#endif
