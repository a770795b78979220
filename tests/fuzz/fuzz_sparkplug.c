/* Fuzz target for what the sparkplug module reads from a broker: payloads
 * (ms_spb_decode, then every metric's value, then a re-encode that must
 * decode to the same metrics), topics (a parse/format round trip) and
 * STATE JSON. Invariants are checked with abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sparkplug/codec/spb_payload.h"
#include "sparkplug/codec/spb_topic.h"

static bool same(const ms_spb_metric *a, const ms_spb_metric *b)
{
    return a->name_len == b->name_len &&
           (!a->name_len || !memcmp(a->name, b->name, a->name_len)) &&
           a->has_alias == b->has_alias && a->alias == b->alias &&
           a->datatype == b->datatype && a->historical == b->historical &&
           a->is_null == b->is_null;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_spb_payload d;
    if (ms_spb_decode(data, size, &d) == 0) {
        for (size_t i = 0; i < d.n; i++) {
            ms_value v;
            int rc = ms_spb_metric_get_value(&d.metrics[i], &v);
            if (rc == 0 && v.type != ms_spb_datatype_bus_type(
                                         d.metrics[i].datatype))
                abort();
            if (d.metrics[i].kind == MS_SPB_V_OTHER)
                d.metrics[i].kind = MS_SPB_V_NONE; /* not written */
        }
        ms_spb_buf b = {0};
        if (ms_spb_encode(&d, &b) == 0) {
            ms_spb_payload e;
            if (ms_spb_decode(b.p, b.len, &e) != 0 || e.n != d.n ||
                e.seq != d.seq)
                abort();
            for (size_t i = 0; i < d.n; i++)
                if (!same(&d.metrics[i], &e.metrics[i]))
                    abort();
            ms_spb_payload_free(&e);
        }
        ms_spb_buf_free(&b);
        ms_spb_payload_free(&d);
    }
    ms_spb_topic t, back;
    if (ms_spb_topic_parse((const char *)data, size, &t) == 0) {
        char buf[4 * MS_SPB_ID_MAX + 64];
        int k = ms_spb_topic_format(&t, buf, sizeof buf);
        if (k < 0 || (size_t)k != size || memcmp(buf, data, size) ||
            ms_spb_topic_parse(buf, (size_t)k, &back) != 0)
            abort();
    }
    bool on;
    uint64_t ts;
    (void)ms_spb_state_parse(data, size, &on, &ts);
    return 0;
}
