/* Times as people write them, for history-export's --from and --to:
 * integer microseconds, ISO 8601 dates and date-times in UTC, or a time
 * before now (-1h). Pure but for ms_hist_time_parse's clock. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mscada/error.h"
#include "mscada/history.h"
#include "mscada/mstime.h"

static int fail(char *why, size_t cap, const char *s, const char *what)
{
    if (why && cap)
        snprintf(why, cap, "'%s': %s (give microseconds since 1970, "
                           "YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z], "
                           "now, or a time before now such as -1h, -30m, "
                           "-2d)",
                 s, what);
    return MS_EINVAL;
}

/* Exactly n digits at *p into *out; advances *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : md[m - 1];
}

/* "now" or "-N<unit>" (N may have a fraction; s m h d w). */
static int relative(const char *s, uint64_t now_us, uint64_t *out_us,
                    char *why, size_t cap)
{
    if (!strcmp(s, "now")) {
        *out_us = now_us;
        return 0;
    }
    const char *p = s + 1;
    double n = 0, scale = 1;
    bool any = false, point = false;
    for (; isdigit((unsigned char)*p) || (*p == '.' && !point); p++) {
        if (*p == '.') {
            point = true;
            continue;
        }
        any = true;
        if (point)
            n += (*p - '0') * (scale /= 10);
        else
            n = n * 10 + (*p - '0');
        if (n > 1e9)
            return fail(why, cap, s, "too far back");
    }
    static const struct {
        char unit;
        double us;
    } units[] = {{'s', 1e6}, {'m', 60e6}, {'h', 3600e6}, {'d', 86400e6},
                 {'w', 604800e6}};
    for (size_t i = 0; any && *p && p[1] == '\0' && i < 5; i++) {
        if (*p != units[i].unit)
            continue;
        double back = n * units[i].us;
        *out_us = back >= (double)now_us ? 0 : now_us - (uint64_t)back;
        return 0;
    }
    return fail(why, cap, s, "a time before now is -N with a unit s, m, h, "
                             "d or w");
}

int ms_hist_time_parse(const char *s, uint64_t *out_us, char *why,
                       size_t cap)
{
    return ms_hist_time_parse_at(s, ms_time_now_us(), out_us, why, cap);
}

int ms_hist_time_parse_at(const char *s, uint64_t now_us, uint64_t *out_us,
                          char *why, size_t cap)
{
    const char *p = s;
    if (!*p)
        return fail(why, cap, s, "empty time");
    if (*p == '-' || !strcmp(p, "now"))
        return relative(s, now_us, out_us, why, cap);
    size_t n = strspn(p, "0123456789");
    if (n == strlen(p)) {
        if (n > 20)
            return fail(why, cap, s, "too large");
        unsigned long long v = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned d = (unsigned)(p[i] - '0');
            if (v > (UINT64_MAX - d) / 10)
                return fail(why, cap, s, "too large");
            v = v * 10 + d;
        }
        if (n != 4) { /* a bare 4-digit number would be a year: refuse */
            *out_us = v;
            return 0;
        }
        return fail(why, cap, s, "a year alone is ambiguous");
    }
    int y, mo, d, hh = 0, mi = 0, ss = 0;
    long frac = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
        *p++ != '-' || !digits(&p, 2, &d))
        return fail(why, cap, s, "not a time");
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        return fail(why, cap, s, "no such date (years from 1970)");
    int64_t off_s = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &hh) || *p++ != ':' || !digits(&p, 2, &mi))
            return fail(why, cap, s, "the time of day must be HH:MM");
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &ss))
                return fail(why, cap, s, "seconds must be two digits");
            if (*p == '.' || *p == ',') {
                p++;
                int nd = 0;
                while (isdigit((unsigned char)*p)) {
                    if (nd < 6)
                        frac = frac * 10 + (*p - '0');
                    nd++;
                    p++;
                }
                if (nd == 0)
                    return fail(why, cap, s, "no digits after the point");
                for (; nd < 6; nd++)
                    frac *= 10;
            }
        }
        if (hh > 23 || mi > 59 || ss > 59)
            return fail(why, cap, s, "no such time of day");
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (!digits(&p, 2, &oh))
                return fail(why, cap, s, "a UTC offset is +HH:MM");
            if (*p == ':')
                p++;
            if (*p && !digits(&p, 2, &om))
                return fail(why, cap, s, "a UTC offset is +HH:MM");
            if (oh > 23 || om > 59)
                return fail(why, cap, s, "no such UTC offset");
            off_s = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p)
        return fail(why, cap, s, "unexpected text at the end");
    int64_t secs = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 +
                   ss - off_s;
    if (secs < 0)
        return fail(why, cap, s, "before 1970");
    *out_us = (uint64_t)secs * 1000000u + (uint64_t)frac;
    return 0;
}
