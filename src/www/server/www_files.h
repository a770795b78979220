/* What an HTTP GET of the wwwserver answers, decided without the transport
 * (docs/www.md "HTTP"): which file a URL path names under which root
 * (get_path for `/` and the app's files, serve_path or the 2024 `paths:`
 * list for deeper paths), never a file outside its root (`..`, NUL,
 * absolute paths, symlinks out all refused), its MIME type, its
 * Cache-Control (no-cache for pages, immutable only for hashed asset names),
 * its ETag, and a gzip body when the browser accepts one. */
#ifndef MS_WWW_FILES_H
#define MS_WWW_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *get_path;          /* NULL: the built-in page at / */
    const char *serve_path;        /* NULL: none */
    const char *const *paths;      /* 2024 form: folders under cwd */
    size_t npaths;
} ms_www_roots;

typedef struct {
    int status;             /* 200, 304, 403, 404 */
    const char *reason;     /* for an error status: why (logged, sent) */
    const char *mime;
    const char *cache;      /* Cache-Control */
    char etag[64];
    int fd;                 /* 200 from a file: open, caller closes */
    uint64_t size;          /* bytes of the body */
    uint8_t *body;          /* 200 from memory (built-in page, gzip): free */
    bool body_static;       /* body is not to be freed */
    bool gzip;              /* Content-Encoding: gzip */
} ms_www_reply;

/* Resolves a GET of the (percent-decoded) URL path. if_none_match and
 * accept_encoding may be NULL. Fills r; returns r->status. */
int ms_www_files_get(const ms_www_roots *roots, const char *path,
                     size_t path_len, const char *if_none_match,
                     const char *accept_encoding, ms_www_reply *r);
void ms_www_reply_free(ms_www_reply *r);

/* The MIME type of a file name ("application/octet-stream" if unknown). */
const char *ms_www_mime(const char *name);
/* True for a name whose content hash makes it immutable:
 * main.6ccdb8d47378f064.js, chunk-5TQ2Y4DL.js, index-BxX9_aZ1.css. */
bool ms_www_hashed_name(const char *name);

#endif
