/* The wwwserver's audit trail (docs/security.md "Audit"): every browser
 * write accepted or refused, every login and logout, as one JSON line
 * (www/codec/www_auditline.h) appended to the audit file, fsync'd in
 * batches (at most a second after the write), rotated by size (file ->
 * file.1 -> ... file.9), and as a LOG line on the bus. */
#ifndef MS_APPS_WWW_AUDIT_H
#define MS_APPS_WWW_AUDIT_H

#include <stddef.h>
#include <uv.h>

#include "mscada/client.h"
#include "www/codec/www_auditline.h"

typedef struct ms_www_audit ms_www_audit;

/* Opens (creates, mode 0640) path for appending. Returns 0, or MS_EIO
 * with why. */
int ms_www_audit_open(uv_loop_t *loop, const char *path, size_t max_bytes,
                      ms_www_audit **out, char *why, size_t whylen);
/* Appends the record (and LOGs it on the bus through client, if any). */
void ms_www_audit_write(ms_www_audit *a, ms_client *client,
                        const ms_www_audit_rec *r);
/* fsyncs, closes; its timer closes on the loop. */
void ms_www_audit_close(ms_www_audit *a);

#endif
