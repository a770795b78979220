/* modbusclient's model (internal to libmscada): its config file read into
 * RTUs, read/write blocks and tags (mbc_config.c), and read blocks split
 * into requests the protocol allows, each knowing the tags it feeds
 * (mbc_plan.c). Pure: no I/O. */
#ifndef MS_APPS_MBC_PLAN_H
#define MS_APPS_MBC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mscada/client.h"
#include "mscada/conf.h"
#include "mscada/mbclient.h"
#include "mscada/mbmap.h"

/* One block, 0-based protocol addresses, inclusive. */
typedef struct {
    uint8_t unit;
    ms_mb_file file;
    uint16_t start, end;
} ms_mbc_block;

/* One read request of a poll. vals holds its last answer: registers, or
 * 0/1 per coil or input. */
typedef struct {
    uint8_t unit;
    ms_mb_file file;
    uint16_t addr, count;
    uint16_t *vals;
    size_t *tags;    /* indexes of the tags this request feeds */
    size_t ntags;
    bool ok;         /* vals hold an answer */
} ms_mbc_read;

typedef struct {
    char name[MS_MB_RTU_NAME_MAX + 1];
    ms_mb_client_config net;
    double rate;                  /* poll period, seconds */
    ms_mb_word_order order;
    bool write_on_reconnect;
    ms_mbc_block *reads, *writes;
    size_t nreads, nwrites;
    ms_mbc_read *req;             /* the read blocks split */
    size_t nreq;
} ms_mbc_rtu;

typedef struct {
    char *name;
    ms_mb_conv conv;
    bool has_read, has_write;
    ms_mb_addr read, write;
    size_t rtu_r, rtu_w;          /* indexes into rtus */
    /* Polled values kept inside tags.yaml's min/max: the tag's own clamp
     * key, else the module's. */
    bool clamp;
    /* Where the read registers are: in req[r0] from its addr, the rest (a
     * value across two requests) in req[r1]; -1 when not polled. */
    long r0, r1;
} ms_mbc_tag;

typedef struct {
    ms_client_config bus;
    ms_mbc_rtu *rtus;
    size_t nrtus;
    ms_mbc_tag *tags;
    size_t ntags;
    bool clamp;                   /* the module's clamp key (default off) */
} ms_mbc_config;

/* Reads modbusclient.yaml's tree. Returns 0 or MS_ECONFIG (err says
 * file:line:col), MS_ENOMEM. Also splits the blocks (ms_mbc_plan). */
int ms_mbc_config_from_conf(const ms_conf_node *root, ms_mbc_config *cfg,
                            ms_conf_error *err);
void ms_mbc_config_free(ms_mbc_config *cfg);

/* Splits one read block into requests of at most maxn addresses (2000 bits
 * or 125 registers, the protocol's limits). Writes up to cap of them into
 * out and returns how many the block needs. */
size_t ms_mbc_split(const ms_mbc_block *b, ms_mbc_read *out, size_t cap);

/* Splits every RTU's read blocks and binds each read tag to the requests
 * holding its registers. Tags outside every read block get a warning and
 * r0 = -1. Returns 0 or MS_ENOMEM. */
int ms_mbc_plan(ms_mbc_config *cfg);

/* The registers (or the one bit) of tag i from its requests' last
 * answers into regs (4 at most). False when not all have answered yet. */
bool ms_mbc_gather(const ms_mbc_config *cfg, size_t i, uint16_t *regs);

/* The function code that reads a file. */
uint8_t ms_mbc_read_fc(ms_mb_file f);

#endif
