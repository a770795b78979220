/* The audit file (www_audit.h). */
#include "apps/wwwserver/www_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mscada/error.h"
#include "mscada/log.h"

#define KEEP 9 /* rotated files kept: file.1 .. file.9 */

struct ms_www_audit {
    uv_timer_t sync_timer;
    char *path;
    int fd;
    size_t size, max;
    bool dirty;
};

static int open_file(ms_www_audit *a)
{
    a->fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (a->fd < 0)
        return -1;
    struct stat st;
    a->size = fstat(a->fd, &st) == 0 ? (size_t)st.st_size : 0;
    return 0;
}

static void sync_cb(uv_timer_t *t)
{
    ms_www_audit *a = t->data;
    if (a->dirty && a->fd >= 0 && fsync(a->fd) < 0)
        ms_log_warn("www: audit file %s: fsync: %s", a->path,
                    strerror(errno));
    a->dirty = false;
}

int ms_www_audit_open(uv_loop_t *loop, const char *path, size_t max_bytes,
                      ms_www_audit **out, char *why, size_t whylen)
{
    ms_www_audit *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        return MS_ENOMEM;
    }
    a->max = max_bytes;
    if (open_file(a) < 0) {
        snprintf(why, whylen, "audit: cannot open %s: %s (give a writable "
                 "file as audit: in wwwserver.yaml)", path, strerror(errno));
        free(a->path);
        free(a);
        return MS_EIO;
    }
    uv_timer_init(loop, &a->sync_timer);
    a->sync_timer.data = a;
    *out = a;
    return 0;
}

static void rotate(ms_www_audit *a)
{
    fsync(a->fd);
    close(a->fd);
    size_t n = strlen(a->path) + 8;
    char *from = malloc(n), *to = malloc(n);
    if (from && to) {
        for (int i = KEEP - 1; i >= 1; i--) {
            snprintf(from, n, "%s.%d", a->path, i);
            snprintf(to, n, "%s.%d", a->path, i + 1);
            rename(from, to); /* a missing one: nothing to move */
        }
        snprintf(to, n, "%s.1", a->path);
        if (rename(a->path, to) < 0)
            ms_log_warn("www: audit file %s: cannot rotate: %s", a->path,
                        strerror(errno));
    }
    free(from);
    free(to);
    if (open_file(a) < 0)
        ms_log_error("www: audit file %s: cannot reopen after rotating: "
                     "%s; audit lines go to the bus log only", a->path,
                     strerror(errno));
}

static void short_json(const json_t *v, char *out, size_t cap)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                                    JSON_ENSURE_ASCII)
                : NULL;
    snprintf(out, cap, "%s", s ? s : "null");
    if (s && strlen(s) >= cap && cap > 4)
        memcpy(out + cap - 4, "...", 4);
    free(s);
}

/* The bus log's line (at most 300 bytes, ASCII): who did what, where. */
static void bus_log(ms_client *client, const ms_www_audit_rec *r)
{
    char text[300], o[64] = "", nv[64] = "";
    if (r->tag) {
        short_json(r->old_value, o, sizeof o);
        short_json(r->new_value, nv, sizeof nv);
    }
    char who[200];
    /* no peer: the server's own doing (an idle or expired session) */
    snprintf(who, sizeof who, "%.48s (%s)%s%.60s", r->user ? r->user : "?",
             r->role ? r->role : "no role", r->peer ? " from " : "",
             r->peer ? r->peer : "");
    int n;
    if (r->tag)
        n = snprintf(text, sizeof text, "audit: %s %.60s %s -> %s by %s: %s%s%s",
                     r->event, r->tag, o, nv, who,
                     r->accepted ? "accepted" : "refused", r->why ? ", " : "",
                     r->why ? r->why : "");
    else
        n = snprintf(text, sizeof text, "audit: %s of %s: %s%s%s", r->event,
                     who, r->accepted ? "accepted" : "refused",
                     r->why ? ", " : "", r->why ? r->why : "");
    (void)n;
    for (char *p = text; *p; p++) /* JSON escapes kept ASCII; be sure */
        if ((unsigned char)*p >= 0x80 || *p < 0x20)
            *p = '?';
    ms_client_log(client, text);
}

void ms_www_audit_write(ms_www_audit *a, ms_client *client,
                        const ms_www_audit_rec *r)
{
    char *line = ms_www_audit_line(r);
    if (!line)
        return;
    size_t n = strlen(line);
    if (a && a->fd >= 0) {
        if (a->max && a->size > 0 && a->size + n > a->max)
            rotate(a);
        if (a->fd >= 0) {
            ssize_t w = write(a->fd, line, n);
            if (w != (ssize_t)n)
                ms_log_error("www: audit file %s: write: %s", a->path,
                             w < 0 ? strerror(errno) : "short write");
            else
                a->size += n;
            if (!a->dirty) {
                a->dirty = true;
                uv_timer_start(&a->sync_timer, sync_cb, 1000, 0);
            }
        }
    }
    free(line);
    if (client)
        bus_log(client, r);
}

static void free_cb(uv_handle_t *h)
{
    ms_www_audit *a = h->data;
    free(a->path);
    free(a);
}

void ms_www_audit_close(ms_www_audit *a)
{
    if (!a)
        return;
    if (a->fd >= 0) {
        fsync(a->fd);
        close(a->fd);
        a->fd = -1;
    }
    uv_close((uv_handle_t *)&a->sync_timer, free_cb);
}
