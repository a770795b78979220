/* Looking up the files carried inside the executable (embedded.h). */
#include <string.h>

#include "modules/embedded.h"

const ms_embedded_file *ms_embedded_find(const char *name)
{
    for (const ms_embedded_file *f = ms_embedded_files; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}
