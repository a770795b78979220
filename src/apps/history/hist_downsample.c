/* Downsampling for trends: equal time buckets, each keeping its first,
 * smallest, largest and last record in time order, so a plot of the few
 * records shows every peak and trough of the many. Pure: no I/O. */
#include <string.h>

#include "apps/history/hist_int.h"
#include "mscada/error.h"

void ms_hist_ds_init(ms_hist_ds *d, ms_type type, uint64_t t0, uint64_t t1,
                     size_t max_points)
{
    memset(d, 0, sizeof *d);
    d->type = type;
    d->t0 = t0;
    uint64_t buckets = max_points / 4 ? max_points / 4 : 1;
    uint64_t span = t1 > t0 ? t1 - t0 : 1;
    /* Round the width up so that [t0, t1) never makes an extra bucket. */
    d->width = span / buckets + (span % buckets != 0);
}

static bool less(const ms_hist_ds *d, const ms_hist_rec *x,
                 const ms_hist_rec *y)
{
    return d->type == MS_TYPE_INT ? x->u.i < y->u.i : x->u.f < y->u.f;
}

static int flush_bucket(ms_hist_ds *d, ms_hist_result *out)
{
    if (!d->open)
        return 0;
    d->open = false;
    const ms_hist_rec *pick[4] = {&d->first, &d->min, &d->max, &d->last};
    /* Time order, each record once (times are unique): a tiny sort. */
    for (int i = 1; i < 4; i++)
        for (int j = i; j > 0 && pick[j]->time_us < pick[j - 1]->time_us;
             j--) {
            const ms_hist_rec *t = pick[j];
            pick[j] = pick[j - 1];
            pick[j - 1] = t;
        }
    ms_hist_rec keep[4];
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        if (n == 0 || pick[i]->time_us != keep[n - 1].time_us)
            keep[n++] = *pick[i];
    ms_hist_rec *w = ms_hist_result_reserve(out, n);
    if (!w)
        return MS_ENOMEM;
    memcpy(w, keep, n * sizeof *w);
    out->len += n;
    return 0;
}

int ms_hist_ds_push(ms_hist_ds *d, const ms_hist_rec *in, size_t n,
                    ms_hist_result *out)
{
    for (size_t i = 0; i < n; i++) {
        /* Copied first: in may alias out's array (ms_hist_downsample). */
        ms_hist_rec r = in[i];
        uint64_t b = r.time_us > d->t0 ? (r.time_us - d->t0) / d->width : 0;
        if (d->open && b == d->bucket) {
            if (less(d, &r, &d->min))
                d->min = r;
            if (less(d, &d->max, &r))
                d->max = r;
            d->last = r;
            continue;
        }
        int rc = flush_bucket(d, out);
        if (rc < 0)
            return rc;
        d->open = true;
        d->bucket = b;
        d->first = d->min = d->max = d->last = r;
    }
    return 0;
}

int ms_hist_ds_end(ms_hist_ds *d, ms_hist_result *out)
{
    return flush_bucket(d, out);
}

int ms_hist_downsample(ms_hist_result *r, ms_type type, size_t max_points)
{
    if (max_points == 0 || r->len <= max_points || r->len == 0)
        return 0;
    ms_hist_ds d;
    ms_hist_ds_init(&d, type, r->recs[0].time_us,
                    r->recs[r->len - 1].time_us + 1, max_points);
    /* In place: a bucket is written only after all of it was read, and it
     * never writes more records than it read, so no write overtakes a
     * read and the array never grows. */
    ms_hist_result w = {r->recs, 0, r->cap, false};
    int rc = ms_hist_ds_push(&d, r->recs, r->len, &w);
    if (rc == 0)
        rc = ms_hist_ds_end(&d, &w);
    r->len = w.len;
    r->downsampled = true;
    return rc;
}
