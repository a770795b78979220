/* HTTP file resolution for the wwwserver (www_files.h). */
#include "www/server/www_files.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const struct {
    const char *ext, *mime;
} mimes[] = {
    {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"}, {"json", "application/json"},
    {"map", "application/json"}, {"svg", "image/svg+xml"},
    {"png", "image/png"}, {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"},
    {"gif", "image/gif"}, {"webp", "image/webp"}, {"ico", "image/x-icon"},
    {"woff", "font/woff"}, {"woff2", "font/woff2"}, {"ttf", "font/ttf"},
    {"otf", "font/otf"}, {"wasm", "application/wasm"},
    {"txt", "text/plain; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"},
    {"yaml", "text/plain; charset=utf-8"}, {"yml", "text/plain; charset=utf-8"},
    {"md", "text/plain; charset=utf-8"}, {"log", "text/plain; charset=utf-8"},
    {"pdf", "application/pdf"}, {"xml", "application/xml"},
    {"webmanifest", "application/manifest+json"}, {"zip", "application/zip"},
    {"gz", "application/gzip"}, {"dat", "application/octet-stream"},
};

const char *ms_www_mime(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof mimes / sizeof mimes[0]; i++)
            if (!strcasecmp(dot + 1, mimes[i].ext))
                return mimes[i].mime;
    return "application/octet-stream";
}

static bool compressible(const char *mime)
{
    return !strncmp(mime, "text/", 5) || strstr(mime, "json") ||
           strstr(mime, "svg") || strstr(mime, "xml") ||
           strstr(mime, "wasm");
}

/* A run of 8 to 64 characters between '.' or '-' and the extension's dot,
 * with a digit in it (a word of a name has none): Angular's
 * main.6ccdb8d47378f064.js, esbuild's chunk-5TQ2Y4DL.js. */
bool ms_www_hashed_name(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *ext = strrchr(base, '.');
    if (!ext || ext == base)
        return false;
    const char *p = ext;
    while (p > base && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
        p--;
    size_t n = (size_t)(ext - p);
    if (p == base || (p[-1] != '.' && p[-1] != '-') || n < 8 || n > 64)
        return false;
    for (const char *q = p; q < ext; q++)
        if (isdigit((unsigned char)*q))
            return true;
    return false;
}

static const char builtin_page[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
    "<title>mscada wwwserver</title></head>\n"
    "<body style=\"font-family:sans-serif;max-width:40em;margin:2em auto\">\n"
    "<h1>mscada wwwserver</h1>\n"
    "<p>The server is running: the websocket at <code>/ws</code> speaks "
    "pymscada's browser protocol.</p>\n"
    "<p>mscada's own browser app is not installed yet (make build puts it "
    "beside the executable, make install in share/mscada/web). Or point "
    "<code>get_path</code> in wwwserver.yaml at a folder holding an app's "
    "<code>index.html</code> (for example pymscada's compiled app, "
    "pymscada-html) and reload this page.</p>\n"
    "</body></html>\n";

static void fail(ms_www_reply *r, int status, const char *reason)
{
    r->status = status;
    r->reason = reason;
}

/* Percent-decoded path -> a relative path of clean segments, or NULL when
 * it holds NUL, a backslash, a "." or ".." segment, or is too long. */
static bool clean_rel(const char *path, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && path[i] == '/')
            i++;
        size_t s = i;
        while (i < len && path[i] != '/')
            i++;
        size_t n = i - s;
        if (!n)
            continue;
        if ((n == 1 && path[s] == '.') ||
            (n == 2 && path[s] == '.' && path[s + 1] == '.'))
            return false;
        for (size_t k = s; k < i; k++)
            if (path[k] == 0 || path[k] == '\\')
                return false;
        if (o + n + 2 > cap)
            return false;
        if (o)
            out[o++] = '/';
        memcpy(out + o, path + s, n);
        o += n;
    }
    out[o] = 0;
    return true;
}

/* Opens root/rel for reading if it resolves (symlinks followed) inside
 * root. Returns the fd, -1 with errno ENOENT (missing), EISDIR (a folder),
 * EACCES (outside the root or unreadable). */
static int open_under(const char *root, const char *rel, struct stat *st,
                      char *real_out)
{
    char rroot[PATH_MAX], full[PATH_MAX * 2], real[PATH_MAX];
    if (!realpath(root, rroot)) {
        errno = ENOENT;
        return -1;
    }
    snprintf(full, sizeof full, "%s/%s", rroot, rel);
    if (!realpath(full, real))
        return -1; /* errno ENOENT / ENOTDIR / EACCES */
    size_t n = strlen(rroot);
    if (strncmp(real, rroot, n) || (real[n] != '/' && real[n] != 0) ||
        (strcmp(rroot, "/") == 0 && 0)) {
        errno = EACCES;
        return -1;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0 || S_ISDIR(st->st_mode) || !S_ISREG(st->st_mode)) {
        int dir = S_ISDIR(st->st_mode);
        close(fd);
        errno = dir ? EISDIR : EACCES;
        return -1;
    }
    snprintf(real_out, PATH_MAX, "%s", real);
    return fd;
}

static int read_all(int fd, uint64_t size, uint8_t **out)
{
    uint8_t *b = malloc(size ? size : 1);
    if (!b)
        return -1;
    uint64_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, b + got, size - got, (off_t)got);
        if (n <= 0) {
            free(b);
            return -1;
        }
        got += (uint64_t)n;
    }
    *out = b;
    return 0;
}

/* gzip of len bytes, or NULL. */
static uint8_t *gzip_of(const uint8_t *in, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, len) + 32;
    uint8_t *out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (uint8_t *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static bool accepts_gzip(const char *ae)
{
    if (!ae)
        return false;
    const char *p = strcasestr(ae, "gzip");
    if (!p)
        return false;
    const char *q = p + 4;
    while (*q == ' ')
        q++;
    return !(strncmp(q, ";q=0", 4) == 0 && (q[4] == 0 || q[4] == ',' ||
                                            !strncmp(q + 4, ".0", 2)));
}

static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    if (!strcmp(inm, "*"))
        return true;
    /* a list "a", W/"b": a weak comparison (RFC 9110 13.1.2) */
    const char *bare = etag + (etag[0] == 'W' ? 2 : 0);
    size_t n = strlen(bare);
    for (const char *p = inm; (p = strstr(p, bare)); p += n)
        if (p[n] == 0 || p[n] == ',' || p[n] == ' ')
            return true;
    return false;
}

/* Is rel (a file at a relative path under cwd) in a folder that `paths:`
 * lists (pymscada 2024: the file's parent folder must be listed)? */
static bool in_paths(const ms_www_roots *roots, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    if (!slash)
        return false;
    size_t n = (size_t)(slash - rel);
    for (size_t i = 0; i < roots->npaths; i++) {
        char want[PATH_MAX];
        if (!clean_rel(roots->paths[i], strlen(roots->paths[i]), want,
                       sizeof want))
            continue;
        if (strlen(want) == n && !strncmp(want, rel, n))
            return true;
    }
    return false;
}

int ms_www_files_get(const ms_www_roots *roots, const char *path,
                     size_t path_len, const char *if_none_match,
                     const char *accept_encoding, ms_www_reply *r)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    char rel[PATH_MAX];
    if (!path_len || path[0] != '/' ||
        !clean_rel(path, path_len, rel, sizeof rel)) {
        fail(r, 403, "path not allowed");
        return r->status;
    }
    bool root_page = !rel[0];
    if (root_page)
        snprintf(rel, sizeof rel, "index.html");
    bool deep = strchr(rel, '/') != NULL;
    const char *name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    bool page = root_page || !strcmp(name, "index.html");
    r->mime = ms_www_mime(rel);
    r->cache = page || !ms_www_hashed_name(rel)
                   ? "no-cache"
                   : "public,max-age=31536000,immutable";

    if (!roots->get_path && !deep) {
        if (!page) {
            fail(r, 404, "no such file");
            return r->status;
        }
        r->body = (uint8_t *)builtin_page;
        r->body_static = true;
        r->size = sizeof builtin_page - 1;
        snprintf(r->etag, sizeof r->etag, "\"builtin-%s\"", MSCADA_VERSION);
        goto ready;
    }
    struct stat st;
    char real[PATH_MAX];
    int fd = -1;
    errno = ENOENT;
    if (roots->get_path)
        fd = open_under(roots->get_path, rel, &st, real);
    /* Not the app's: serve_path (or the 2024 paths:) for downloads. */
    if (fd < 0 && errno == ENOENT) {
        if (roots->serve_path) {
            fd = open_under(roots->serve_path, rel, &st, real);
        } else if (roots->npaths && in_paths(roots, rel)) {
            fd = open_under(".", rel, &st, real);
        } else if (deep) {
            fail(r, 403, "path not configured (serve_path or paths)");
            return r->status;
        }
    }
    if (fd < 0) {
        if (errno == EISDIR)
            fail(r, 403, "folder not permitted");
        else if (errno == ENOENT || errno == ENOTDIR)
            fail(r, 404, "no such file");
        else
            fail(r, 403, "not permitted");
        return r->status;
    }
    r->fd = fd;
    r->size = (uint64_t)st.st_size;
    snprintf(r->etag, sizeof r->etag, "\"%llx-%llx\"",
             (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st.st_mtim.tv_nsec);
ready:;
    bool gz = accepts_gzip(accept_encoding) && compressible(r->mime) &&
              r->size >= 256 && r->size <= (64u << 20);
    if (gz) { /* the ETag of the gzip form differs (RFC 9110 8.8.3) */
        size_t n = strlen(r->etag);
        snprintf(r->etag + n - 1, sizeof r->etag - n + 1, "-gz\"");
    }
    if (etag_matches(if_none_match, r->etag)) {
        ms_www_reply_free(r);
        r->status = 304;
        return 304;
    }
    if (gz) {
        uint8_t *plain = r->body;
        if (r->fd >= 0 && read_all(r->fd, r->size, &plain) < 0) {
            fail(r, 404, "file unreadable");
            ms_www_reply_free(r);
            return r->status;
        }
        size_t zlen;
        uint8_t *z = gzip_of(plain, (size_t)r->size, &zlen);
        if (plain != r->body)
            free(plain);
        if (z) {
            if (r->fd >= 0)
                close(r->fd);
            r->fd = -1;
            r->body = z;
            r->body_static = false;
            r->size = zlen;
            r->gzip = true;
        }
    }
    r->status = 200;
    return 200;
}

void ms_www_reply_free(ms_www_reply *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    if (!r->body_static)
        free(r->body);
    r->body = NULL;
}
