/* Files carried inside the executable (made at build time by
 * cmake/embed.cmake): the config templates `mscada checkout` writes. */
#ifndef MS_MODULES_EMBEDDED_H
#define MS_MODULES_EMBEDDED_H

#include <stddef.h>

typedef struct {
    const char *name;           /* path under config/, e.g. "bus.yaml" */
    const unsigned char *data;  /* the bytes, NUL after the last */
    size_t len;
} ms_embedded_file;

/* Ends with an entry whose name is NULL. */
extern const ms_embedded_file ms_embedded_files[];

/* The file called name, or NULL. */
const ms_embedded_file *ms_embedded_find(const char *name);

#endif
