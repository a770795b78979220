/* Growing arrays (grow.h). */
#include <stdint.h>
#include <stdlib.h>

#include "core/grow.h"

void *ms_grow(void *arr, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n < *cap)
        return arr;
    size_t na = *cap ? 2 * *cap : first;
    if (na < *cap || na > SIZE_MAX / elem)
        return NULL;
    void *p = realloc(arr, na * elem);
    if (p)
        *cap = na;
    return p;
}
