/* Fuzz target for config files: YAML text -> ms_conf tree -> tags.yaml
 * descriptions. tags.yaml comes from users, so neither step may crash, leak
 * or blow up on aliases, whatever the bytes. */
#include <stddef.h>
#include <stdint.h>

#include "mscada/conf.h"
#include "mscada/log.h"
#include "mscada/tagdesc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Warnings (unknown keys, bare Off) would only flood the output. */
    ms_log_setup("fuzz_conf", MS_LOG_ERROR);
    ms_conf_doc *doc;
    ms_conf_error err;
    if (ms_conf_parse("fuzz.yaml", (const char *)data, size, &doc, &err) != 0)
        return 0;
    ms_tagdescs tags;
    if (ms_tagdesc_from_conf(ms_conf_root(doc), &tags, &err) == 0) {
        /* find is a linear scan: look up a few, not every tag. */
        if (tags.n)
            (void)ms_tagdesc_find(&tags, tags.tags[tags.n - 1].name);
        (void)ms_tagdesc_find(&tags, "");
        ms_tagdescs_free(&tags);
    }
    ms_conf_free(doc);
    return 0;
}
