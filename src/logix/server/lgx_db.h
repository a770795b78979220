/* A Logix "mailbox": the controller tags a logixserver declares (atomic
 * types, arrays of 1-3 dimensions, STRING) and the CIP requests served on
 * them (lgx_db.c: Read/Write Tag, fragmented, Read-Modify-Write, Multiple
 * Service Packet, the Symbol object's instance list, the Template
 * object's attributes and Read Template for its UDTs, Identity), with the
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

/* A UDT ("simple": atomic scalar members, no BOOL, so no hidden host
 * words to pack bits into). Template instance ids start at
 * MS_LGX_UDT_ID0; the STRING's is MS_LGX_STRING_HANDLE & 0xFFF. */
#define MS_LGX_UDT_MEMBERS 64
#define MS_LGX_UDT_ID0 0x100
typedef struct {
    char name[MS_LGX_NAME_MAX + 1];
    uint16_t type;        /* atomic */
    uint16_t info;        /* elements of an array member; 0: a scalar */
    uint32_t offset;      /* bytes from the start of the structure */
} ms_lgx_member;

typedef struct {
    char name[MS_LGX_NAME_MAX + 1];
    uint16_t id, handle;  /* template instance; structure handle */
    uint32_t size;        /* bytes */
    int n;
    ms_lgx_member m[MS_LGX_UDT_MEMBERS];
} ms_lgx_udt;

typedef struct {
    char name[MS_LGX_NAME_MAX + 1];
    uint16_t type;        /* atomic code, or MS_LGX_TYPE_STRUCT */
    uint16_t handle;      /* structure handle of a STRING or UDT */
    long udt;             /* index in udts of a UDT tag; -1 otherwise */
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
    ms_lgx_udt *udts;
    size_t nudts;
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
/* Declares a UDT of n members (name and type; offsets are laid out here
 * as Logix aligns them). Returns its index or -1 (a bad or repeated name,
 * a member type that is not an atomic scalar other than BOOL). */
long ms_lgx_db_add_udt(ms_lgx_db *db, const char *name,
                       const ms_lgx_member *m, int n);
long ms_lgx_db_find_udt(const ms_lgx_db *db, const char *name);
/* Declares a tag of UDT u, as ms_lgx_db_add. */
long ms_lgx_db_add_struct(ms_lgx_db *db, const char *name, size_t u,
                          const uint32_t *dims, int ndim);
void ms_lgx_db_free(ms_lgx_db *db);
long ms_lgx_db_find(const ms_lgx_db *db, const char *name, size_t len);

/* Serves one Message Router request (not a Forward Open: the transport
 * answers those). room: the largest reply the connection carries. Writes
 * the reply to out; returns its length (0 when cap is too small). */
size_t ms_lgx_db_serve(ms_lgx_db *db, const uint8_t *req, size_t n,
                       uint8_t *out, size_t cap, size_t room);

#endif
