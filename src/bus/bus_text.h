/* The bus's text port: a line protocol for telnet and nc. A text client is
 * an ordinary core connection (same subscriptions, fan-out, conflation)
 * whose input is lines and whose output is formatted as lines:
 *   NAME VALUE TIME      a value (GET, SUB, updates); VALUE is JSON
 *   LIST name name ...   OK   ERR text   RTA NAME VALUE   BYE
 * docs/bus.md describes the commands. */
#ifndef MS_BUS_TEXT_H
#define MS_BUS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/bus_core.h"
#include "core/buf.h"

#define MS_BUS_TEXT_LINE_MAX (64 * 1024)

/* The text port's wire form: lines in (ms_bus_text_input), lines out (a
 * value as NAME VALUE TIME, replies as ERR / LIST / RTA; ID is silent). */
extern const ms_bus_proto ms_bus_proto_text;

/* Handles every whole line in buf; *used = bytes consumed. Returns 0, or
 * MS_ENOMEM (drop the connection). A line over MS_BUS_TEXT_LINE_MAX gets an
 * ERR line and the connection quits (closes once that is written); input
 * after a quit is consumed unread. */
int ms_bus_text_input(ms_bus_conn *conn, const uint8_t *buf, size_t len,
                      size_t *used);
/* The first line a text client sees. */
void ms_bus_text_greet(ms_bus_conn *conn);

/* Appends the JSON form of a wire value (type byte + value) to out: ints,
 * floats (shortest round trip; NaN, Infinity as Python's json writes them),
 * strings quoted and escaped so no newline can break a line, BYTES as a
 * quoted hex string, JSON re-written compact, never-set as null. */
int ms_bus_text_format_value(ms_buf *out, const uint8_t *value, size_t len);

#endif
