/* Fuzz target for what browsers send the wwwserver: each input is split at
 * NUL bytes into messages fed to one connection of a hub with a tag of each
 * type (src/www/codec), its sends drained after each; the first byte of a
 * message picks text or, when it is 0x01, a bus value for a dict tag (the
 * JSON the bus relays). Nothing may crash, leak or grow without bound. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mscada/log.h"
#include "www/codec/www_hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_log_setup("fuzz_www", MS_LOG_ERROR);
    ms_www_hub_config cfg;
    ms_www_hub_config_init(&cfg);
    cfg.queue_max = 1 << 16;
    ms_www_hub *h;
    if (ms_www_hub_new(&cfg, NULL, NULL, &h) < 0)
        return 0;
    static const char *const names[] = {"I", "F", "S", "__history__", "D",
                                        "L"};
    static const char *const types[] = {"int", "float", "str", "bytes",
                                        "dict", "list"};
    for (int i = 0; i < 6; i++) {
        json_t *info = json_pack("{s:s,s:i,s:i}", "type", types[i], "min", 0,
                                 "max", 100);
        ms_www_hub_add_tag(h, names[i], info);
        ms_www_hub_set_id(h, i, (uint16_t)(i + 1));
    }
    ms_www_conn *c = ms_www_conn_new(h, "fuzz", NULL);
    ms_buf out = {0};
    size_t pos = 0;
    while (c && pos <= size) {
        const uint8_t *end = memchr(data + pos, 0, size - pos);
        size_t len = end ? (size_t)(end - (data + pos)) : size - pos;
        const char *msg = (const char *)data + pos;
        if (len && msg[0] == 1) {
            ms_value v = ms_value_buf(MS_TYPE_JSON, msg + 1, len - 1);
            ms_www_hub_value(h, 4, &v, 1);
            v = ms_value_buf(MS_TYPE_BYTES, msg + 1, len - 1);
            ms_www_hub_value(h, 3, &v, 1);
        } else {
            ms_www_action a;
            ms_www_conn_recv(c, msg, len, &a);
            if (a.kind == MS_WWW_ACT_SET)
                ms_www_hub_value(h, a.tag, &a.value, 2);
            ms_www_action_done(&a);
        }
        out.off = out.len = 0;
        while (ms_www_conn_fill(c, &out, 4096))
            out.off = out.len = 0;
        pos += len + 1;
    }
    ms_buf_free(&out);
    ms_www_hub_free(h);
    return 0;
}
