/* Console command lines: the command table, parsing a line into a command
 * and its arguments, LIST pattern matching and what to complete where.
 * Pure: no I/O. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "modules/console.h"

const ms_con_cmd_info ms_con_cmds[] = {
    {"list", MS_CON_LIST, "[^prefix | suffix$ | part] | -t SECONDS",
     "Tag names on the bus, sorted: all of them, those starting with\n"
     "prefix, ending with suffix, or containing part; -t: those set in\n"
     "the last SECONDS."},
    {"get", MS_CON_GET, "TAG...",
     "The current value of each tag. An unknown name is an error (looking\n"
     "never creates a tag)."},
    {"set", MS_CON_SET, "TAG [int|float|str|bytes|json] VALUE",
     "Sets a tag, creating it if new. VALUE is typed by the tag's current\n"
     "type, else by tags.yaml, else by its look (5 int, 5.0 float, [..]\n"
     "or {..} json, else str); or name the type. A multi tag takes a state\n"
     "name; a date/time tag an ISO date (2026-01-02T03:04:05Z); bytes take\n"
     "hex."},
    {"sub", MS_CON_SUB, "TAG...",
     "Prints each tag's value now and whenever it changes."},
    {"unsub", MS_CON_UNSUB, "[TAG...]",
     "Stops printing changes of these tags (all, without names)."},
    {"watch", MS_CON_WATCH, "FILTER",
     "Subscribes to every tag matching FILTER (as list), including tags\n"
     "that appear later."},
    {"rta", MS_CON_RTA, "TAG JSON",
     "Sends a request to the tag's author (the client that set it last);\n"
     "the answer is a new value of the tag."},
    {"log", MS_CON_LOG, "MESSAGE", "Writes MESSAGE to the bus log (__bus__)."},
    {"help", MS_CON_HELP, "[COMMAND]", "This text, or one command's."},
    {"quit", MS_CON_QUIT, "", "Leaves the console (also: exit, Ctrl-D)."},
    {NULL, MS_CON_NONE, NULL, NULL},
};

const ms_con_cmd_info *ms_con_cmd_find(const char *name)
{
    if (!strcasecmp(name, "exit"))
        name = "quit";
    for (const ms_con_cmd_info *c = ms_con_cmds; c->name; c++)
        if (!strcasecmp(c->name, name))
            return c;
    return NULL;
}

ms_type ms_con_type_word(const char *w)
{
    static const struct {
        const char *w;
        ms_type t;
    } words[] = {{"int", MS_TYPE_INT},   {"float", MS_TYPE_FLOAT},
                 {"str", MS_TYPE_STR},   {"bytes", MS_TYPE_BYTES},
                 {"json", MS_TYPE_JSON}, {"list", MS_TYPE_JSON},
                 {"dict", MS_TYPE_JSON}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(words[i].w, w))
            return words[i].t;
    return MS_TYPE_NONE;
}

static char *skip_space(char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

/* Cuts the next word off *p (NUL after it); NULL at the end. */
static char *next_word(char **p)
{
    char *s = skip_space(*p);
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *e = s;
    while (*e && !isspace((unsigned char)*e))
        e++;
    *p = *e ? e + 1 : e;
    *e = '\0';
    return s;
}

/* The rest of the line without surrounding white space. */
static char *rest_of(char *p)
{
    p = skip_space(p);
    size_t n = strlen(p);
    while (n && isspace((unsigned char)p[n - 1]))
        p[--n] = '\0';
    return p;
}

static int parse_fail(ms_con_line *out, const char *fmt, const char *a)
{
    snprintf(out->err, sizeof out->err, fmt, a);
    return -1;
}

/* The remaining words as tag names; at least min of them. */
static int take_words(char *p, ms_con_line *out, size_t min, const char *cmd)
{
    char *w;
    while ((w = next_word(&p))) {
        if (out->nwords == MS_CON_MAX_WORDS)
            return parse_fail(out, "%s: too many names (64 at most)", cmd);
        out->words[out->nwords++] = w;
    }
    if (out->nwords < min) {
        const ms_con_cmd_info *ci = ms_con_cmd_find(cmd);
        snprintf(out->err, sizeof out->err, "usage: %s %s", cmd, ci->args);
        return -1;
    }
    return 0;
}

static int usage(ms_con_line *out, const char *cmd)
{
    const ms_con_cmd_info *ci = ms_con_cmd_find(cmd);
    snprintf(out->err, sizeof out->err, "usage: %s %s", cmd, ci->args);
    return -1;
}

static int parse_list(char *p, ms_con_line *out)
{
    char *w = next_word(&p);
    if (w && !strcmp(w, "-t")) {
        char *n = next_word(&p), *end;
        if (!n)
            return usage(out, "list");
        out->since_s = strtod(n, &end);
        if (*end || !(out->since_s > 0))
            return parse_fail(out, "list -t: '%s' is not seconds", n);
        out->rest = NULL;
    } else {
        out->rest = w ? w : (char *)"";
    }
    if (next_word(&p))
        return usage(out, "list");
    return 0;
}

static int parse_set(char *p, ms_con_line *out)
{
    char *tag = next_word(&p);
    if (!tag)
        return usage(out, "set");
    out->words[out->nwords++] = tag;
    char *r = skip_space(p);
    /* A type word counts as one only when a value follows it, so that
     * `set Name str` sets the text "str". */
    size_t wl = strcspn(r, " \t\r\n\v\f");
    char save = r[wl];
    r[wl] = '\0';
    ms_type t = ms_con_type_word(r);
    r[wl] = save;
    if (t != MS_TYPE_NONE && save && *skip_space(r + wl)) {
        out->type = t;
        r = r + wl;
    }
    out->rest = rest_of(r);
    if (!*out->rest && out->type != MS_TYPE_STR)
        return usage(out, "set");
    if (out->type == MS_TYPE_STR && !strcmp(out->rest, "\"\""))
        out->rest[0] = '\0'; /* `set X str ""`: the empty text */
    return 0;
}

int ms_con_parse(char *line, ms_con_line *out)
{
    memset(out, 0, sizeof *out);
    char *p = line;
    char *w = next_word(&p);
    if (!w || w[0] == '#')
        return 0;
    const ms_con_cmd_info *ci = ms_con_cmd_find(w);
    if (!ci)
        return parse_fail(out, "unknown command '%s' (try help)", w);
    out->cmd = ci->cmd;
    switch (ci->cmd) {
    case MS_CON_LIST:
        return parse_list(p, out);
    case MS_CON_GET:
    case MS_CON_SUB:
        return take_words(p, out, 1, ci->name);
    case MS_CON_UNSUB:
        return take_words(p, out, 0, ci->name);
    case MS_CON_SET:
        return parse_set(p, out);
    case MS_CON_WATCH:
        if (take_words(p, out, 1, ci->name) < 0 || out->nwords != 1)
            return usage(out, ci->name);
        out->rest = out->words[0];
        out->nwords = 0;
        return 0;
    case MS_CON_RTA: {
        char *tag = next_word(&p);
        if (!tag)
            return usage(out, ci->name);
        out->words[out->nwords++] = tag;
        out->rest = rest_of(p);
        return *out->rest ? 0 : usage(out, ci->name);
    }
    case MS_CON_LOG:
        out->rest = rest_of(p);
        return *out->rest ? 0 : usage(out, ci->name);
    case MS_CON_HELP:
        if (take_words(p, out, 0, ci->name) < 0 || out->nwords > 1)
            return usage(out, ci->name);
        if (out->nwords && !ms_con_cmd_find(out->words[0]))
            return parse_fail(out, "help: no command '%s'", out->words[0]);
        return 0;
    case MS_CON_QUIT:
        return next_word(&p) ? usage(out, ci->name) : 0;
    default:
        return 0;
    }
}

bool ms_con_name_match(const char *pattern, const char *name)
{
    size_t n = strlen(pattern), len = strlen(name);
    if (n == 0)
        return true;
    if (pattern[0] == '^')
        return len >= n - 1 && !memcmp(name, pattern + 1, n - 1);
    if (pattern[n - 1] == '$')
        return len >= n - 1 && !memcmp(name + len - (n - 1), pattern, n - 1);
    return strstr(name, pattern) != NULL;
}

ms_con_complete ms_con_complete_what(const char *line, size_t start)
{
    /* Count the words before start, and find the first. */
    size_t nw = 0, i = 0;
    char first[16] = "";
    while (i < start) {
        while (i < start && isspace((unsigned char)line[i]))
            i++;
        if (i >= start)
            break;
        size_t b = i;
        while (i < start && !isspace((unsigned char)line[i]))
            i++;
        if (nw == 0 && i - b < sizeof first) {
            memcpy(first, line + b, i - b);
            first[i - b] = '\0';
        }
        nw++;
    }
    if (nw == 0)
        return MS_CON_COMPLETE_COMMAND;
    const ms_con_cmd_info *ci = ms_con_cmd_find(first);
    if (!ci)
        return MS_CON_COMPLETE_NOTHING;
    switch (ci->cmd) {
    case MS_CON_GET:
    case MS_CON_SUB:
    case MS_CON_UNSUB:
        return MS_CON_COMPLETE_TAG;
    case MS_CON_SET:
        return nw == 1 ? MS_CON_COMPLETE_TAG
                       : nw == 2 ? MS_CON_COMPLETE_TYPE_OR_NOTHING
                                 : MS_CON_COMPLETE_NOTHING;
    case MS_CON_RTA:
    case MS_CON_WATCH:
        return nw == 1 ? MS_CON_COMPLETE_TAG : MS_CON_COMPLETE_NOTHING;
    case MS_CON_HELP:
        return nw == 1 ? MS_CON_COMPLETE_COMMAND : MS_CON_COMPLETE_NOTHING;
    default:
        return MS_CON_COMPLETE_NOTHING;
    }
}
