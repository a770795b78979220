/* How a TCP peer is named in log lines, by every server and client:
 * "10.0.0.5:502", "[fe80::1]:502". */
#ifndef MS_NET_PEER_H
#define MS_NET_PEER_H

#include <stddef.h>
#include <uv.h>

/* Room for the longest name: "[" 45-char IPv6 "]:65535". */
#define MS_PEER_NAME_MAX 64

/* Writes sa's name to out (cap bytes); "unknown peer" for a family that
 * is neither IPv4 nor IPv6. */
void ms_peer_name(const struct sockaddr *sa, char *out, size_t cap);

#endif
