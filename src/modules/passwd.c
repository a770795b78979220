/* `mscada passwd USERS.yaml NAME`: adds a user to the wwwserver's users
 * file or changes its password (docs/security.md). The password is asked
 * twice without echo (or read as two lines from a pipe), hashed with
 * argon2id (libsodium), and only the hash is written. The file is edited
 * as text, so its comments and other users stay as they were, and
 * replaced atomically, mode 0600. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "core/buf.h"
#include "modules/module.h"
#include "mscada/conf.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "www/codec/www_users.h"

#define PASS_MIN 8

static const char file_head[] =
    "# mscada wwwserver users (docs/security.md): name: {role, hash, write,\n"
    "# pages}. Add one or change its password with `mscada passwd FILE "
    "NAME`.\n";

static int usage_error(const ms_module *m, const char *what, const char *arg)
{
    fprintf(stderr, "mscada %s: %s%s%s\nTry 'mscada %s --help'.\n", m->name,
            what, arg ? ": " : "", arg ? arg : "", m->name);
    return MS_EXIT_USAGE;
}

/* One line of the password: from the terminal without echo, else from
 * stdin (scripts). Returns its length or -1. */
static int read_pass(FILE *tty, const char *prompt, char *out, size_t cap)
{
    FILE *in = tty ? tty : stdin;
    struct termios old, quiet;
    bool echo_off = false;
    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
        if (tcgetattr(fileno(tty), &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            echo_off = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
        }
    }
    char *r = fgets(out, (int)cap, in);
    if (echo_off) {
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!r)
        return -1;
    size_t n = strlen(out);
    if (n && out[n - 1] == '\n')
        out[--n] = 0;
    else if (n + 1 >= cap)
        return -1; /* longer than the buffer */
    if (n && out[n - 1] == '\r')
        out[--n] = 0;
    return (int)n;
}

/* The file's lines with line (1-based) from column col (1-based) on
 * replaced by text, or text inserted as a new line before line when col
 * is 0. */
static int edit(ms_buf *out, const char *src, size_t len, int line, int col,
                const char *text)
{
    int ln = 1;
    size_t i = 0;
    while (i < len && ln < line) {
        if (src[i++] == '\n')
            ln++;
    }
    if (ln != line && col)
        return -1;
    ms_buf_append(out, src, i);
    if (!col) {
        ms_buf_append(out, text, strlen(text));
        ms_buf_append(out, src + i, len - i);
        return 0;
    }
    const char *nl = memchr(src + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - src) : len;
    if ((size_t)col - 1 > end - i)
        return -1;
    /* the old value must be the rest of the line (block style) */
    const char *rest = src + i + col - 1;
    size_t rlen = end - (i + (size_t)col - 1);
    if (rlen && (rest[0] == '\'' || rest[0] == '"')) {
        const char *q = memchr(rest + 1, rest[0], rlen - 1);
        if (!q || strspn(q + 1, " \t\r") != (size_t)(rest + rlen - q - 1))
            return -1;
    } else if (memchr(rest, '}', rlen) || memchr(rest, ',', rlen) ||
               memchr(rest, '#', rlen)) {
        return -1;
    }
    ms_buf_append(out, src + i, (size_t)col - 1);
    ms_buf_append(out, text, strlen(text));
    ms_buf_append(out, src + end, len - end);
    return 0;
}

static int write_file(const char *path, const ms_buf *b)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return -1;
    snprintf(tmp, n, "%s.tmp%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd >= 0) {
        size_t len = ms_buf_size(b);
        rc = (len == 0 || write(fd, ms_buf_head(b), len) == (ssize_t)len) &&
                     fsync(fd) == 0
                 ? 0
                 : -1;
        close(fd);
        if (rc == 0)
            rc = rename(tmp, path);
        if (rc < 0)
            unlink(tmp);
    }
    free(tmp);
    return rc;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    ms_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ms_buf_append(&b, chunk, n);
    fclose(f);
    ms_buf_append(&b, "", 1);
    *len = ms_buf_size(&b) - 1;
    return (char *)ms_buf_head(&b);
}

static int passwd_run(const ms_module *m, int argc, char **argv)
{
    const char *file = NULL, *name = NULL, *role_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            printf("Usage: mscada %s USERS.yaml NAME [--role ROLE]\n\n%s\n\n"
                   "%s\nOptions:\n  --role ROLE     viewer, operator or "
                   "admin (a new user: viewer)\n  -h, --help      this "
                   "text\n", m->name, m->summary, m->usage);
            return MS_EXIT_OK;
        } else if (ms_cli_version(m, s)) {
            return MS_EXIT_OK;
        } else if (!strcmp(s, "--role")) {
            if (i + 1 >= argc)
                return usage_error(m, "a value is needed after", s);
            role_s = argv[++i];
        } else if (s[0] == '-' && s[1]) {
            return usage_error(m, "unknown option", s);
        } else if (!file) {
            file = s;
        } else if (!name) {
            name = s;
        } else {
            return usage_error(m, "one USERS.yaml and one NAME; also got", s);
        }
    }
    if (!file || !name)
        return usage_error(m, "give the users file and the user's NAME",
                           NULL);
    ms_log_setup(m->name, MS_LOG_WARN);
    if (role_s && !ms_www_role_parse(role_s))
        return usage_error(m, "--role must be viewer, operator or admin",
                           role_s);
    if (!name[0] || strlen(name) >= 64 || strpbrk(name, ":\"'\\#{}[],&*!|>%@` \t\r\n"))
        return usage_error(m, "NAME must be 1 to 63 characters without "
                           "spaces or YAML punctuation", name);
    /* Read the file first: a broken one is not overwritten. */
    size_t len = 0;
    char *src = slurp(file, &len);
    ms_conf_doc *doc = NULL;
    ms_conf_error err;
    ms_www_users users = {0};
    if (src && (ms_conf_parse(file, src, len, &doc, &err) < 0 ||
                ms_www_users_parse(ms_conf_root(doc), &users, &err) < 0)) {
        fprintf(stderr, "%s\nmscada passwd: fix the file first; it is left "
                "as it was\n", err.text);
        ms_www_users_free(&users);
        ms_conf_free(doc);
        free(src);
        return MS_EXIT_USAGE;
    }
    ms_www_users_free(&users);

    FILE *tty = isatty(STDIN_FILENO) ? fopen("/dev/tty", "r+") : NULL;
    char p1[256], p2[256];
    char prompt[128];
    snprintf(prompt, sizeof prompt, "New password for %s: ", name);
    int n1 = read_pass(tty, prompt, p1, sizeof p1);
    int n2 = n1 >= 0 ? read_pass(tty, "Again: ", p2, sizeof p2) : -1;
    if (tty)
        fclose(tty);
    int status = MS_EXIT_USAGE;
    const char *fail = NULL;
    if (n1 < 0 || n2 < 0)
        fail = "no password given (or longer than 255 bytes)";
    else if (n1 != n2 || strcmp(p1, p2))
        fail = "the two passwords differ";
    else if (n1 < PASS_MIN)
        fail = "the password must have at least 8 characters";
    char hash[crypto_pwhash_STRBYTES];
    if (!fail && (sodium_init() < 0 ||
                  crypto_pwhash_str(hash, p1, (size_t)n1,
                                    crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0))
        fail = "cannot hash (out of memory?)";
    sodium_memzero(p1, sizeof p1);
    sodium_memzero(p2, sizeof p2);
    if (fail) {
        fprintf(stderr, "mscada passwd: %s; nothing changed\n", fail);
        ms_conf_free(doc);
        free(src);
        return status;
    }

    const ms_conf_node *root = doc ? ms_conf_root(doc) : NULL;
    const ms_conf_node *entry = NULL, *key = NULL;
    for (size_t i = 0; root && root->kind == MS_CONF_MAP && i < root->n; i++)
        if (!strcmp(root->keys[i]->text, name)) {
            key = root->keys[i];
            entry = root->items[i];
        }
    ms_buf out = {0};
    char text[256];
    int rc = 0;
    if (!entry) {
        if (!src || !len)
            ms_buf_append(&out, file_head, sizeof file_head - 1);
        else if (!(root->kind == MS_CONF_MAP && root->n) &&
                 strspn(src, " \t\r\n{}") != len) {
            rc = -1; /* e.g. `{}` with comments: hand-edit */
        } else {
            ms_buf_append(&out, src, len);
            if (len && src[len - 1] != '\n')
                ms_buf_append(&out, "\n", 1);
        }
        snprintf(text, sizeof text, "%s:\n  role: %s\n  hash: '%s'\n", name,
                 role_s ? role_s : "viewer", hash);
        ms_buf_append(&out, text, strlen(text));
    } else {
        const ms_conf_node *h = ms_conf_get(entry, "hash");
        const ms_conf_node *r = ms_conf_get(entry, "role");
        ms_buf mid = {0};
        const char *cur = src;
        size_t curlen = len;
        if (role_s && r) {
            snprintf(text, sizeof text, "%s", role_s);
            rc = edit(&mid, cur, curlen, r->line, r->col, text);
            cur = (const char *)ms_buf_head(&mid);
            curlen = ms_buf_size(&mid);
        }
        if (rc == 0 && h && !h->null && h->line > 0) {
            snprintf(text, sizeof text, "'%s'", hash);
            rc = edit(&out, cur, curlen, h->line, h->col, text);
        } else if (rc == 0 && entry->kind == MS_CONF_MAP && entry->n &&
                   entry->line > key->line) {
            /* no hash yet: a line before the entry's first key */
            snprintf(text, sizeof text, "%*shash: '%s'\n", entry->col - 1, "",
                     hash);
            rc = edit(&out, cur, curlen, entry->line, 0, text);
        } else if (rc == 0) {
            rc = -1;
        }
        ms_buf_free(&mid);
        if (rc == 0 && role_s && !r)
            rc = -1;
    }
    if (rc < 0) {
        fprintf(stderr, "mscada passwd: %s: cannot edit the entry of %s (write "
                "it in block style: `%s:` then `  role: ...` and `  hash: "
                "...` lines, no comment after the hash); nothing changed\n",
                file, name, name);
    } else if (write_file(file, &out) < 0) {
        fprintf(stderr, "mscada passwd: cannot write %s: %s\n", file,
                strerror(errno));
        status = MS_EXIT_FAIL;
    } else {
        fprintf(stderr, "mscada passwd: %s %s in %s\n", entry ? "changed"
                : "added", name, file);
        status = MS_EXIT_OK;
    }
    sodium_memzero(hash, sizeof hash);
    ms_buf_free(&out);
    ms_conf_free(doc);
    free(src);
    return status;
}

const ms_module ms_module_passwd = {
    .name = "passwd",
    .summary = "add a wwwserver user or change its password",
    .usage =
        "Adds NAME to USERS.yaml (the wwwserver's `users:` file; made when\n"
        "missing, mode 0600) or changes its password; with --role, its role\n"
        "too. The password is asked twice without echo (from a pipe: two\n"
        "lines), must have at least 8 characters, and only its argon2id\n"
        "hash is written; the rest of the file stays as it was. A running\n"
        "wwwserver reads the file at start: restart it.\n",
    .run = passwd_run,
};
