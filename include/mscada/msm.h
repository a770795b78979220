/* Modbus shared memory (docs/msm.md): declare the memory a program
 * exchanges, start a worker that keeps it exchanged, then just read and
 * write variables. No loop, no requests, no callbacks to write.
 *
 *     ms_memory *mem;
 *     ms_worker *w;
 *     ms_memory_new(8, &mem);                      8 holding registers
 *     ms_var state = ms_memory_word(mem, "STATE", 0);
 *     ms_var counter = ms_memory_uint32(mem, "COUNTER", 1);
 *     if (ms_master_tcp(mem, "localhost", 502, 1, &w) < 0 ||
 *         ms_worker_run(w) < 0)
 *         fprintf(stderr, "%s\n", ms_memory_error(mem));
 *     ms_memory_set_u32(mem, counter, 10);
 *     printf("%u\n", ms_memory_get_word(mem, state));
 *     ms_worker_kill(w);
 *     ms_memory_free(mem);
 *
 * Makers return 0 with the object through their last argument, or an
 * error code (MS_EINVAL, MS_ENOMEM) with it NULL and nothing left behind;
 * the reason is in ms_memory_error (ms_memory_layout_check for a layout).
 * Every call takes a NULL memory or worker harmlessly, so a program may
 * check once, after its declarations.
 *
 * A memory has the four Modbus areas, each sized by the user and placed at
 * a remote base address; variables are declared at offsets inside an area.
 * Every call on a memory (declarations, accessors, names, errors) is
 * thread-safe (one mutex per memory), and so are a worker's options, run
 * and status; ms_*_free and ms_worker_kill are not (nothing else may use
 * the object meanwhile). Workers run a background thread with its own libuv
 * loop; their callbacks run on that thread, outside the memory's lock
 * (accessors may be called from them). */
#ifndef MSCADA_MSM_H
#define MSCADA_MSM_H

#include "mscada/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mscada/mbmap.h"
#include "mscada/mbserial.h"
#include "mscada/modbus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- memory ---------------------------------------------------------------- */

typedef struct ms_memory ms_memory;

/* One area: size elements (registers or bits) placed at remote protocol
 * address base (0-based: holding register 40100 of a PLC's manual is
 * usually base 99); base + size must be at most 65536. */
typedef struct {
    uint32_t size;
    uint16_t base;
} ms_memory_area;

typedef struct {
    ms_memory_area coils;           /* 0x, read/write bits */
    ms_memory_area discrete_inputs; /* 1x, read-only bits */
    ms_memory_area input_registers; /* 3x, read-only registers */
    ms_memory_area holding;         /* 4x, read/write registers */
} ms_memory_layout;

/* n holding registers at base 0, nothing else. Returns 0 with *out set;
 * or MS_EINVAL (n > 65536), MS_ENOMEM, with *out NULL. */
MS_EXTERN int ms_memory_new(uint32_t n, ms_memory **out);
/* 0 when ms_memory_new_layout would take l; else MS_EINVAL with why (cap
 * bytes, may be NULL) naming the area and what it may be, e.g.
 * "holding: base 65530 + size 10 must be at most 65536". */
MS_EXTERN int ms_memory_layout_check(const ms_memory_layout *l, char *why,
                                     size_t cap);
/* Any layout (an area of size 0 is none). Returns 0 with *out set; or
 * MS_EINVAL (ms_memory_layout_check says why), MS_ENOMEM, with *out NULL. */
MS_EXTERN int ms_memory_new_layout(const ms_memory_layout *l,
                                   ms_memory **out);
/* Frees the memory (NULL: nothing); kill its workers first. */
MS_EXTERN void ms_memory_free(ms_memory *m);

/* ---- variables --------------------------------------------------------------- */

typedef enum {
    MS_VAR_BOOL = MS_MB_BOOL,
    MS_VAR_INT16 = MS_MB_INT16,
    MS_VAR_UINT16 = MS_MB_UINT16, /* a "word" */
    MS_VAR_INT32 = MS_MB_INT32,
    MS_VAR_UINT32 = MS_MB_UINT32,
    MS_VAR_INT64 = MS_MB_INT64,
    MS_VAR_UINT64 = MS_MB_UINT64,
    MS_VAR_FLOAT32 = MS_MB_FLOAT32,
    MS_VAR_FLOAT64 = MS_MB_FLOAT64,
    MS_VAR_STRING = 100 /* len bytes, two a register, first in the high byte */
} ms_var_type;

/* A declared variable: id >= 0, or a negative MS_E* code when the
 * declaration failed (ms_memory_error says why). Passing a failed one to
 * an accessor is harmless (getters give 0, setters MS_EINVAL). */
typedef struct {
    int id;
} ms_var;

static inline bool ms_var_ok(ms_var v)
{
    return v.id >= 0;
}

/* A declaration in full. */
typedef struct {
    const char *name;       /* for messages; NULL: "var<N>" */
    ms_mb_file area;        /* MS_MB_COILS ... MS_MB_HOLDING_REGISTERS */
    uint32_t offset;        /* element inside the area, 0-based */
    ms_var_type type;       /* BOOL on coils/inputs, or a register's bit */
    ms_mb_word_order order; /* 32/64-bit types; default BIG (high first) */
    int bit;                /* BOOL on registers: 0-15; else -1 */
    unsigned len;           /* STRING: bytes (1-250) */
} ms_var_decl;

/* Declares a variable. Rejected (MS_EINVAL, message in ms_memory_error):
 * an unknown area or type, a type the area can't hold, a variable past the
 * end of its area, one overlapping another (distinct bits of one register
 * are legal). MS_ERUNNING while a worker of this memory runs: declare every
 * variable before ms_worker_run. One racing ms_worker_run on another
 * thread is either refused so or seen by the worker in full. */
MS_EXTERN ms_var ms_memory_declare(ms_memory *m, const ms_var_decl *d);
/* The last error of a declaration or of making a worker of m, e.g.
 * "COUNTER at holding register 7 (2 registers) goes past the end of an
 * 8-register area"; "" after a declaration that worked; "no memory" for
 * m NULL. A copy of the calling thread's own, valid until its next call. */
MS_EXTERN const char *ms_memory_error(const ms_memory *m);
/* The name a variable was declared with ("" for a failed one); valid
 * until ms_memory_free. */
MS_EXTERN const char *ms_var_name(const ms_memory *m, ms_var v);

/* Shorthands on holding registers, big word order. */
MS_EXTERN ms_var ms_memory_word(ms_memory *m, const char *name, uint32_t offset);
MS_EXTERN ms_var ms_memory_int16(ms_memory *m, const char *name, uint32_t offset);
MS_EXTERN ms_var ms_memory_int32(ms_memory *m, const char *name, uint32_t offset);
MS_EXTERN ms_var ms_memory_uint32(ms_memory *m, const char *name, uint32_t offset);
MS_EXTERN ms_var ms_memory_int64(ms_memory *m, const char *name, uint32_t offset);
MS_EXTERN ms_var ms_memory_uint64(ms_memory *m, const char *name, uint32_t offset);
MS_EXTERN ms_var ms_memory_float32(ms_memory *m, const char *name, uint32_t offset);
MS_EXTERN ms_var ms_memory_float64(ms_memory *m, const char *name, uint32_t offset);
MS_EXTERN ms_var ms_memory_string(ms_memory *m, const char *name, uint32_t offset,
                        unsigned len);
/* Bit 0-15 of a holding register. */
MS_EXTERN ms_var ms_memory_bit(ms_memory *m, const char *name, uint32_t offset,
                     int bit);
/* A coil; a discrete input. */
MS_EXTERN ms_var ms_memory_coil(ms_memory *m, const char *name, uint32_t offset);
MS_EXTERN ms_var ms_memory_input(ms_memory *m, const char *name, uint32_t offset);

/* ---- accessors ----------------------------------------------------------------
 * Getters give the variable's value (0 / false / "" for a variable of
 * another type). Setters return 0, MS_EINVAL (a failed variable) or
 * MS_ETYPE (another type). Integers of one width share accessors (a word
 * and an int16 are both 16 bits). A set marks the variable changed; a
 * master worker writes it (coils and holding registers only). */
MS_EXTERN bool ms_memory_get_bool(ms_memory *m, ms_var v);
MS_EXTERN int ms_memory_set_bool(ms_memory *m, ms_var v, bool x);
MS_EXTERN uint16_t ms_memory_get_word(ms_memory *m, ms_var v);
MS_EXTERN int ms_memory_set_word(ms_memory *m, ms_var v, uint16_t x);
MS_EXTERN int16_t ms_memory_get_i16(ms_memory *m, ms_var v);
MS_EXTERN int ms_memory_set_i16(ms_memory *m, ms_var v, int16_t x);
MS_EXTERN uint32_t ms_memory_get_u32(ms_memory *m, ms_var v);
MS_EXTERN int ms_memory_set_u32(ms_memory *m, ms_var v, uint32_t x);
MS_EXTERN int32_t ms_memory_get_i32(ms_memory *m, ms_var v);
MS_EXTERN int ms_memory_set_i32(ms_memory *m, ms_var v, int32_t x);
MS_EXTERN uint64_t ms_memory_get_u64(ms_memory *m, ms_var v);
MS_EXTERN int ms_memory_set_u64(ms_memory *m, ms_var v, uint64_t x);
MS_EXTERN int64_t ms_memory_get_i64(ms_memory *m, ms_var v);
MS_EXTERN int ms_memory_set_i64(ms_memory *m, ms_var v, int64_t x);
MS_EXTERN float ms_memory_get_f32(ms_memory *m, ms_var v);
MS_EXTERN int ms_memory_set_f32(ms_memory *m, ms_var v, float x);
MS_EXTERN double ms_memory_get_f64(ms_memory *m, ms_var v);
MS_EXTERN int ms_memory_set_f64(ms_memory *m, ms_var v, double x);
/* Copies the string into buf (cap bytes, NUL-terminated; bytes after the
 * first NUL dropped) and returns its length, or a negative MS_E* code. */
MS_EXTERN int ms_memory_get_str(ms_memory *m, ms_var v, char *buf, size_t cap);
/* Sets a string; shorter ones are padded with NULs, longer cut. */
MS_EXTERN int ms_memory_set_str(ms_memory *m, ms_var v, const char *s);

/* ---- workers ------------------------------------------------------------------- */

typedef struct ms_worker ms_worker;

/* Masters: every period, write what the program changed, then read every
 * area of the memory from the device's unit. Slaves: serve the memory as
 * unit to any master (TCP: ip 127.0.0.1 unless given; port 0 picks one).
 * Made stopped: set options, then ms_worker_run; end with ms_worker_kill.
 * Return 0 with *out set; or MS_EINVAL (no memory; a host, ip or port out
 * of range; a serial line that can't be: ms_memory_error(m) names the
 * setting), MS_ENOMEM, with *out NULL. A device that can't be reached is
 * no error: ms_worker_run connects in the background. One master per
 * memory (it owns the change marks); any number of slaves. */
MS_EXTERN int ms_master_tcp(ms_memory *m, const char *host, int port,
                            uint8_t unit, ms_worker **out);
MS_EXTERN int ms_master_serial(ms_memory *m, const ms_mb_serial_config *line,
                               uint8_t unit, ms_worker **out);
MS_EXTERN int ms_slave_tcp(ms_memory *m, const char *ip, int port,
                           uint8_t unit, ms_worker **out);
MS_EXTERN int ms_slave_serial(ms_memory *m, const ms_mb_serial_config *line,
                              uint8_t unit, ms_worker **out);

/* Options (before ms_worker_run; MS_ERUNNING from its call on, unless the
 * run failed). */
/* Master: seconds between exchanges; default 0.1. */
MS_EXTERN int ms_worker_set_period(ms_worker *w, double seconds);
/* Master: seconds per request try; default 1. */
MS_EXTERN int ms_worker_set_timeout(ms_worker *w, double seconds);
/* Master: changes made while the device is unreachable are written once
 * it is back (true, the default), or dropped (false: the device's values
 * replace them at the first read). */
MS_EXTERN int ms_worker_set_keep_writes(ms_worker *w, bool keep);
/* Slave: cb runs after a master wrote (part of) a variable, on the
 * worker's thread, once per variable per request. */
typedef void (*ms_worker_write_cb)(ms_worker *w, ms_memory *m, ms_var v,
                                   void *arg);
MS_EXTERN int ms_worker_on_write(ms_worker *w, ms_worker_write_cb cb, void *arg);

/* Starts the worker's thread. Returns 0, MS_ERUNNING (running already), or
 * the error starting it (a slave's listen error, e.g. UV_EADDRINUSE; a
 * serial line that won't open). A master connects in the background. */
MS_EXTERN int ms_worker_run(ms_worker *w);
/* Stops the thread, joins it and frees the worker (running or not).
 * Never from the worker's own callbacks. */
MS_EXTERN void ms_worker_kill(ms_worker *w);

typedef struct {
    bool running;
    bool connected;      /* master: to the device; slave: serving */
    int last_error;      /* 0 or the last error (ms_mb_strerror) */
    char last_error_text[128];
    uint64_t cycles;     /* master: exchanges done */
    uint64_t requests;   /* master: sent; slave: answered */
    uint64_t errors;     /* master: requests failed */
    uint64_t reconnects; /* master: connections made after the first */
    double rtt_ms;       /* master: round trip of the last answer */
    int port;            /* TCP slave: the port listened on */
} ms_worker_status;

MS_EXTERN void ms_worker_get_status(ms_worker *w, ms_worker_status *st);

#ifdef __cplusplus
}
#endif
#endif
