/* libuv's loop type, for the functions that take the caller's loop. Only a
 * pointer to it ever crosses mscada's API, so the public headers declare
 * it here instead of including <uv.h>, which needs POSIX or GNU C: a
 * program built with plain -std=c17 can use every header. A program that
 * runs its own loop includes <uv.h> itself (same typedef: C11 allows it). */
#ifndef MSCADA_LOOP_H
#define MSCADA_LOOP_H

typedef struct uv_loop_s uv_loop_t;

#endif
