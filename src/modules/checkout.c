/* `mscada checkout DIR`: writes a site folder (pymscada users know
 * `pymscada checkout`): a config per chosen module and a tags.yaml from the
 * templates carried in the executable (config/), a state/ folder for what
 * the modules write, and systemd units that run each module from the folder
 * as an unprivileged user, the bus first and the others bound to it. Never
 * replaces a file that differs from its template without --overwrite, so
 * running it again keeps a site's edits. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modules/embedded.h"
#include "modules/module.h"

/* The modules a site can run as services, their template and the one key
 * (if any) that points at state they write, moved under state/. */
typedef struct {
    const char *name;
    const char *state_key;
    const char *state_value;
    bool serial; /* may open serial lines: needs /dev and dialout */
} site_module;

static const site_module site_modules[] = {
    {"bus", "snapshot", "state/bus.snap", false},
    {"modbusclient", NULL, NULL, true},
    {"modbusserver", NULL, NULL, true},
    {"snmpclient", NULL, NULL, false},
    {"sparkplug", NULL, NULL, false},
    {"logixclient", NULL, NULL, false},
    {"logixserver", NULL, NULL, false},
    {"history", "path", "state/history", false},
};
#define NSITE (sizeof site_modules / sizeof site_modules[0])

typedef struct {
    char dir[PATH_MAX];   /* absolute */
    char site[64];
    char user[64];
    char bin[PATH_MAX];
    bool chosen[NSITE];
    bool overwrite;
    int written, unchanged, kept, failed;
} checkout;

static const char usage_text[] =
    "Usage: mscada checkout DIR [--site NAME] [--modules LIST] [--user USER] "
    "[--bin PATH] [--overwrite]\n\n"
    "write a site folder: configs, tags.yaml and systemd units\n\n"
    "Writes a site folder: a config per module and tags.yaml from the\n"
    "example configs, state/ for what the modules write (bus snapshot,\n"
    "history files), and systemd units in DIR/systemd/ that run each module\n"
    "from DIR: the bus first, the others bound to it (stopped and restarted\n"
    "with it), restarted on failure, as an unprivileged user, with the\n"
    "system read-only but for DIR/state. Prints what to run next.\n\n"
    "A file that differs from its template (your edits) is kept unless\n"
    "--overwrite is given; running checkout again is safe.\n\n"
    "Options:\n"
    "  --site NAME      site name in the unit names (mscada-NAME-bus.service);\n"
    "                   default: DIR's folder name\n"
    "  --modules LIST   comma-separated, from: bus, modbusclient, modbusserver,\n"
    "                   snmpclient, sparkplug, logixclient, logixserver,\n"
    "                   history (default: bus,modbusclient,history;\n"
    "                   the bus is always included)\n"
    "  --user USER      the account the units run as (default: mscada)\n"
    "  --bin PATH       the mscada executable the units run (default: this one)\n"
    "  --overwrite      replace files that differ from their templates\n"
    "  -V, --version    the version\n"
    "  -h, --help       this text\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mscada checkout: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'mscada checkout --help'.\n");
    return MS_EXIT_USAGE;
}

static int module_index(const char *name, size_t len)
{
    for (size_t i = 0; i < NSITE; i++)
        if (strlen(site_modules[i].name) == len &&
            !strncmp(site_modules[i].name, name, len))
            return (int)i;
    return -1;
}

static int parse_modules(checkout *co, const char *list)
{
    memset(co->chosen, 0, sizeof co->chosen);
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len) {
            int i = module_index(p, len);
            if (i < 0) {
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)len, p);
                return usage_error("no module '%s' to check out (bus, "
                                   "modbusclient, modbusserver, snmpclient, "
                                   "sparkplug, logixclient, logixserver, "
                                   "history)", name);
            }
            co->chosen[i] = true;
        }
        p += len + (p[len] == ',');
    }
    co->chosen[0] = true; /* the others are bound to the bus */
    return 0;
}

/* A site or user name goes into unit names and files: keep it plain. */
static bool plain_name(const char *s)
{
    if (!*s || strlen(s) >= 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return false;
    return true;
}

static int parse_args(checkout *co, int argc, char **argv)
{
    const char *dir = NULL, *site = NULL, *bin = NULL;
    memset(co, 0, sizeof *co);
    snprintf(co->user, sizeof co->user, "mscada");
    parse_modules(co, "bus,modbusclient,history"); /* the default */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return MS_EXIT_OK;
        } else if (ms_cli_version(&ms_module_checkout, a)) {
            return MS_EXIT_OK;
        } else if (!strcmp(a, "--overwrite")) {
            co->overwrite = true;
        } else if (!strcmp(a, "--site") || !strcmp(a, "--modules") ||
                   !strcmp(a, "--user") || !strcmp(a, "--bin")) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--site")) {
                site = v;
            } else if (!strcmp(a, "--user")) {
                if (!plain_name(v))
                    return usage_error("--user '%s': letters, digits, - and "
                                       "_ only", v);
                snprintf(co->user, sizeof co->user, "%s", v);
            } else if (!strcmp(a, "--bin")) {
                bin = v;
            } else {
                int rc = parse_modules(co, v);
                if (rc)
                    return rc;
            }
        } else if (a[0] == '-') {
            return usage_error("unknown option '%s'", a);
        } else if (dir) {
            return usage_error("one DIR only ('%s' is a second)", a);
        } else {
            dir = a;
        }
    }
    if (!dir)
        return usage_error("%s", "which folder? mscada checkout DIR");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mscada checkout: cannot make %s: %s\n", dir,
                strerror(errno));
        return MS_EXIT_FAIL;
    }
    if (!realpath(dir, co->dir)) {
        fprintf(stderr, "mscada checkout: %s: %s\n", dir, strerror(errno));
        return MS_EXIT_FAIL;
    }
    if (strpbrk(co->dir, " \t\n\"'\\%$")) {
        fprintf(stderr, "mscada checkout: %s: choose a folder whose path has "
                "no spaces, quotes, %% or $ (it goes into unit files)\n",
                co->dir);
        return MS_EXIT_USAGE;
    }
    if (!site) {
        site = strrchr(co->dir, '/');
        site = site && site[1] ? site + 1 : "site";
    }
    if (!plain_name(site))
        return usage_error("site name '%s': letters, digits, - and _ only "
                           "(give --site NAME)", site);
    snprintf(co->site, sizeof co->site, "%s", site);
    if (bin) {
        if (!realpath(bin, co->bin) || access(co->bin, X_OK) != 0) {
            fprintf(stderr, "mscada checkout: --bin %s is not an executable\n",
                    bin);
            return MS_EXIT_USAGE;
        }
    } else {
        ssize_t n = readlink("/proc/self/exe", co->bin, sizeof co->bin - 1);
        if (n <= 0) {
            fprintf(stderr, "mscada checkout: cannot tell where this mscada "
                    "is: give --bin PATH\n");
            return MS_EXIT_USAGE;
        }
        co->bin[n] = '\0';
    }
    return -1;
}

static bool same_content(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    bool same = true;
    char buf[4096];
    size_t off = 0, n;
    while (same && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        same = off + n <= len && !memcmp(buf, text + off, n);
        off += n;
    }
    fclose(f);
    return same && off == len;
}

/* Writes DIR/rel (atomically), unless a different file is there and
 * --overwrite was not given. */
static void put_file(checkout *co, const char *rel, const char *text)
{
    char path[PATH_MAX + 256], tmp[PATH_MAX + 300];
    size_t len = strlen(text);
    snprintf(path, sizeof path, "%s/%s", co->dir, rel);
    if (access(path, F_OK) == 0) {
        if (same_content(path, text, len)) {
            printf("  unchanged  %s\n", rel);
            co->unchanged++;
            return;
        }
        if (!co->overwrite) {
            printf("  kept       %s (it differs from the template: your "
                   "edits stay; --overwrite replaces it)\n", rel);
            co->kept++;
            return;
        }
    }
    snprintf(tmp, sizeof tmp, "%s.checkout-tmp", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "mscada checkout: cannot write %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
        co->failed++;
        return;
    }
    printf("  wrote      %s\n", rel);
    co->written++;
}

/* The template with `key: ...` at the top level set to value (the line is
 * replaced where the template has it, else appended). Caller frees. */
static char *with_key(const ms_embedded_file *t, const char *key,
                      const char *value)
{
    size_t klen = key ? strlen(key) : 0;
    size_t cap = t->len + (key ? klen + strlen(value) + 64 : 0) + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    const char *p = (const char *)t->data, *end = p + t->len;
    size_t o = 0;
    bool done = !key;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        if (!done && n > klen && !strncmp(p, key, klen) && p[klen] == ':') {
            o += (size_t)snprintf(out + o, cap - o, "%s: %s\n", key, value);
            done = true;
        } else {
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    if (!done)
        o += (size_t)snprintf(out + o, cap - o, "%s: %s\n", key, value);
    out[o] = '\0';
    return out;
}

static void put_template(checkout *co, const char *name, const char *key,
                         const char *value)
{
    const ms_embedded_file *t = ms_embedded_find(name);
    char *text = t ? with_key(t, key, value) : NULL;
    if (!text) {
        fprintf(stderr, "mscada checkout: no template %s in this build\n",
                name);
        co->failed++;
        return;
    }
    put_file(co, name, text);
    free(text);
}

static bool under(const char *path, const char *top)
{
    size_t n = strlen(top);
    return !strncmp(path, top, n) && (path[n] == '/' || path[n] == '\0');
}

static void put_unit(checkout *co, const site_module *m)
{
    char rel[160], deps[320], text[8192];
    bool bus = !strcmp(m->name, "bus");
    if (bus)
        snprintf(deps, sizeof deps, "After=network.target\n");
    else /* started after the bus, stopped and restarted with it */
        snprintf(deps, sizeof deps,
                 "After=mscada-%s-bus.service\n"
                 "PartOf=mscada-%s-bus.service\n"
                 "Wants=mscada-%s-bus.service\n",
                 co->site, co->site, co->site);
    /* ProtectHome would hide a site kept under /home or /root. */
    bool home = under(co->dir, "/home") || under(co->dir, "/root") ||
                under(co->dir, "/run/user");
    /* PrivateTmp would hide a site kept under /tmp. */
    bool tmp = under(co->dir, "/tmp") || under(co->dir, "/var/tmp");
    snprintf(rel, sizeof rel, "systemd/mscada-%s-%s.service", co->site,
             m->name);
    int n = snprintf(
        text, sizeof text,
        "# Written by `mscada checkout` for site %s: edit freely (checkout\n"
        "# keeps your edits unless run with --overwrite).\n"
        "[Unit]\n"
        "Description=mscada %s %s\n"
        "Documentation=man:mscada-%s(1)\n"
        "%s"
        "\n[Service]\n"
        "Type=notify\n"
        "WatchdogSec=30\n"
        "User=%s\n"
        "Group=%s\n"
        "WorkingDirectory=%s\n"
        "ExecStart=%s %s --config %s/%s.yaml --tags %s/tags.yaml\n"
        "Restart=on-failure\n"
        "RestartSec=2\n"
        "%s"
        "NoNewPrivileges=yes\n"
        "ProtectSystem=strict\n"
        "ReadWritePaths=%s/state\n"
        "ProtectHome=%s\n"
        "PrivateTmp=%s\n"
        "%s"
        "ProtectKernelTunables=yes\n"
        "ProtectKernelModules=yes\n"
        "ProtectControlGroups=yes\n"
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n"
        "RestrictRealtime=yes\n"
        "LockPersonality=yes\n"
        "\n[Install]\n"
        "WantedBy=multi-user.target\n",
        co->site, co->site, m->name, m->name,
        deps, co->user, co->user, co->dir, co->bin, m->name, co->dir, m->name,
        co->dir, bus ? "LimitNOFILE=65536\n" : "", co->dir,
        home ? "read-only" : "yes", tmp ? "no" : "yes",
        m->serial ? "# Serial lines (/dev/ttyUSB0...) need the dialout "
                    "group.\nSupplementaryGroups=dialout\n"
                  : "PrivateDevices=yes\n");
    if (n < 0 || (size_t)n >= sizeof text) {
        co->failed++;
        return;
    }
    put_file(co, rel, text);
}

static int make_dir(checkout *co, const char *rel, mode_t mode)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", co->dir, rel);
    if (mkdir(path, mode) != 0 && errno != EEXIST) {
        fprintf(stderr, "mscada checkout: cannot make %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    return 0;
}

static int run(const ms_module *m, int argc, char **argv)
{
    (void)m;
    checkout co;
    int rc = parse_args(&co, argc, argv);
    if (rc >= 0)
        return rc;
    if (make_dir(&co, "state", 0755) || make_dir(&co, "systemd", 0755))
        return MS_EXIT_FAIL;
    printf("Site %s in %s:\n", co.site, co.dir);
    put_template(&co, "tags.yaml", NULL, NULL);
    for (size_t i = 0; i < NSITE; i++) {
        if (!co.chosen[i])
            continue;
        char name[64];
        snprintf(name, sizeof name, "%s.yaml", site_modules[i].name);
        put_template(&co, name, site_modules[i].state_key,
                     site_modules[i].state_value);
        put_unit(&co, &site_modules[i]);
    }
    printf("%d written, %d unchanged, %d kept%s.\n", co.written,
           co.unchanged, co.kept, co.kept ? " (--overwrite replaces them)"
                                          : "");
    if (co.failed) {
        fprintf(stderr, "mscada checkout: %d file(s) could not be written "
                "(see above)\n", co.failed);
        return MS_EXIT_FAIL;
    }

    printf("\nCheck each config (edit them first: they are examples):\n");
    for (size_t i = 0; i < NSITE; i++)
        if (co.chosen[i])
            printf("  %s validate --tags %s/tags.yaml --config %s/%s.yaml\n",
                   co.bin, co.dir, co.dir, site_modules[i].name);
    printf("\nRun the site by hand (one terminal per module, from %s):\n",
           co.dir);
    for (size_t i = 0; i < NSITE; i++)
        if (co.chosen[i])
            printf("  %s %s\n", co.bin, site_modules[i].name);
    printf("\nOr under systemd, as root:\n"
           "  id %s >/dev/null 2>&1 || useradd --system --no-create-home "
           "--shell /usr/sbin/nologin %s\n"
           "  chown -R %s: %s/state\n"
           "  cp %s/systemd/*.service /etc/systemd/system/\n"
           "  systemctl daemon-reload\n"
           "  systemctl enable --now",
           co.user, co.user, co.user, co.dir, co.dir);
    for (size_t i = 0; i < NSITE; i++)
        if (co.chosen[i])
            printf(" mscada-%s-%s.service", co.site, site_modules[i].name);
    printf("\n  journalctl -u 'mscada-%s-*' -f\n", co.site);
    return MS_EXIT_OK;
}

const ms_module ms_module_checkout = {
    "checkout",
    "write a site folder: configs, tags.yaml and systemd units",
    NULL,
    run,
};
