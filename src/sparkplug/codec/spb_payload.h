/* The Sparkplug B payload (Eclipse Sparkplug 3.0, sparkplug_b.proto) as
 * mscada reads and writes it: a small hand codec of the protobuf subset it
 * needs, pure (no I/O). Payload: timestamp, metrics, seq. Metric: name,
 * alias, timestamp, datatype, is_historical, is_transient, is_null, the
 * scalar values, and of its PropertySet the well-known engUnit, engLow,
 * engHigh and readOnly. Everything else (metadata, DataSet, Template,
 * extensions, uuid, body) is skipped when read and never written. */
#ifndef MS_SPARKPLUG_SPB_PAYLOAD_H
#define MS_SPARKPLUG_SPB_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mscada/value.h"

/* Sparkplug B DataType values. */
enum {
    MS_SPB_UNKNOWN = 0,
    MS_SPB_INT8 = 1, MS_SPB_INT16 = 2, MS_SPB_INT32 = 3, MS_SPB_INT64 = 4,
    MS_SPB_UINT8 = 5, MS_SPB_UINT16 = 6, MS_SPB_UINT32 = 7,
    MS_SPB_UINT64 = 8, MS_SPB_FLOAT = 9, MS_SPB_DOUBLE = 10,
    MS_SPB_BOOLEAN = 11, MS_SPB_STRING = 12, MS_SPB_DATETIME = 13,
    MS_SPB_TEXT = 14, MS_SPB_UUID = 15, MS_SPB_DATASET = 16,
    MS_SPB_BYTES = 17, MS_SPB_FILE = 18, MS_SPB_TEMPLATE = 19
};

/* Which value field a decoded metric carried. */
typedef enum {
    MS_SPB_V_NONE = 0, /* none (is_null, or a NDEATH-style bare metric) */
    MS_SPB_V_INT,      /* int_value (32 bits) */
    MS_SPB_V_LONG,     /* long_value */
    MS_SPB_V_FLOAT,
    MS_SPB_V_DOUBLE,
    MS_SPB_V_BOOL,
    MS_SPB_V_STRING,
    MS_SPB_V_BYTES,
    MS_SPB_V_OTHER     /* DataSet, Template or an extension: not read */
} ms_spb_vkind;

/* One metric. Strings and bytes are borrowed: a decoded metric points into
 * the decoded buffer, one to encode into the caller's memory. */
typedef struct {
    const char *name;     /* NULL: none (NDATA by alias) */
    size_t name_len;
    bool has_alias;
    uint64_t alias;
    bool has_time;
    uint64_t time_ms;     /* UTC milliseconds */
    uint32_t datatype;    /* MS_SPB_* */
    bool historical, transient, is_null;
    ms_spb_vkind kind;
    union {
        uint64_t u;       /* INT, LONG (two's complement for signed) */
        float f;
        double d;
        bool b;
        struct {
            const uint8_t *p;
            size_t len;
        } s;              /* STRING, BYTES */
    } v;
    /* Properties (written only in a BIRTH): */
    const char *unit;     /* engUnit, NULL: none */
    size_t unit_len;
    bool has_low, has_high;
    double low, high;     /* engLow, engHigh */
    bool has_readonly;
    bool readonly;        /* readOnly */
} ms_spb_metric;

typedef struct {
    bool has_time;
    uint64_t time_ms;
    bool has_seq;
    uint64_t seq;
    ms_spb_metric *metrics;
    size_t n;
} ms_spb_payload;

/* A growing output buffer; failed stays set after the first allocation
 * that failed (then the content is not to be used). */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    bool failed;
} ms_spb_buf;

void ms_spb_buf_free(ms_spb_buf *b);

/* Appends pl's protobuf form to b. Returns 0 or MS_ENOMEM. */
int ms_spb_encode(const ms_spb_payload *pl, ms_spb_buf *b);

/* Reads a payload of len bytes. The metrics array is malloc'd (free with
 * ms_spb_payload_free); their strings point into p. Returns 0, MS_EPROTO
 * (not a well-formed payload: truncated, a bad wire type, a length past
 * its message), MS_ENOMEM. On error nothing is left to free. */
int ms_spb_decode(const uint8_t *p, size_t len, ms_spb_payload *out);
void ms_spb_payload_free(ms_spb_payload *pl);

/* A bus value as a metric's datatype and value (the mapping of
 * docs/sparkplug.md): INT -> Int64, FLOAT -> Double, STR -> String, BYTES
 * -> Bytes, JSON -> String (its text). Sets datatype, kind and v. Returns 0
 * or MS_ETYPE (NONE). */
int ms_spb_metric_set_value(ms_spb_metric *m, const ms_value *v);
/* A bus value as a metric of the given datatype (a CMD to a metric its
 * BIRTH declared): numbers to any integer type, Float, Double or Boolean,
 * STR/JSON to String, Text or UUID, BYTES to Bytes or File. Returns 0 or
 * MS_ETYPE (no such conversion), MS_ERANGE (out of the integer's range). */
int ms_spb_metric_set_as(ms_spb_metric *m, const ms_value *v,
                         uint32_t datatype);
/* The bus type a datatype maps to: integers, Boolean and DateTime INT;
 * Float and Double FLOAT; String, Text, UUID STR; Bytes, File BYTES;
 * MS_TYPE_NONE for the rest. */
ms_type ms_spb_datatype_bus_type(uint32_t datatype);
/* A decoded metric's value as a bus value of its datatype's bus type
 * (strings borrowed from the metric). Returns 0, MS_ENOENT (null or no
 * value), MS_ETYPE (the value field does not fit the datatype, or a type
 * the bus has no value for), MS_ERANGE (a UInt64 past INT64_MAX). */
int ms_spb_metric_get_value(const ms_spb_metric *m, ms_value *out);
/* "Int64", "Double", ...; "Unknown" for others. */
const char *ms_spb_datatype_name(uint32_t datatype);

#endif
