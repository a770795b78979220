/* tag_info standardisation (www_taginfo.h). */
#include "www/codec/www_taginfo.h"

#include <string.h>

#include "www/codec/www_json.h"

static bool known_type(const char *t)
{
    static const char *const types[] = {"int", "str", "float", "list",
                                        "dict", "bytes", NULL};
    for (int i = 0; types[i]; i++)
        if (!strcmp(t, types[i]))
            return true;
    return false;
}

json_t *ms_www_taginfo(const char *name, const ms_conf_node *entry)
{
    json_t *o = entry && entry->kind == MS_CONF_MAP ? ms_www_conf_json(entry)
                                                    : json_object();
    if (!o)
        return NULL;
    int rc = json_object_set_new(o, "name", json_string(name));
    rc |= json_object_set_new(o, "id", json_null());
    if (!json_object_get(o, "desc"))
        rc |= json_object_set_new(o, "desc", json_string(name));
    json_t *type = json_object_get(o, "type");
    if (json_object_get(o, "multi")) {
        rc |= json_object_set_new(o, "type", json_string("int"));
    } else if (!type) {
        rc |= json_object_set_new(o, "type", json_string("float"));
    } else if (!json_is_string(type) || !known_type(json_string_value(type))) {
        /* Python: `type not in TYPES` (a number or null is not in it). */
        rc |= json_object_set_new(o, "type", json_string("str"));
    }
    const char *t = json_string_value(json_object_get(o, "type"));
    if (t && !strcmp(t, "int"))
        rc |= json_object_set_new(o, "dp", json_integer(0));
    else if (t && !strcmp(t, "float") && !json_object_get(o, "dp"))
        rc |= json_object_set_new(o, "dp", json_integer(2));
    else if (t && !strcmp(t, "str"))
        json_object_del(o, "dp");
    if (!json_object_get(o, "deadband"))
        rc |= json_object_set_new(o, "deadband", json_null());
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

ms_type ms_www_taginfo_type(const json_t *info)
{
    const char *t = json_string_value(json_object_get(info, "type"));
    if (!t)
        return MS_TYPE_FLOAT;
    if (!strcmp(t, "int"))
        return MS_TYPE_INT;
    if (!strcmp(t, "float"))
        return MS_TYPE_FLOAT;
    if (!strcmp(t, "bytes"))
        return MS_TYPE_BYTES;
    if (!strcmp(t, "list") || !strcmp(t, "dict"))
        return MS_TYPE_JSON;
    return MS_TYPE_STR;
}
