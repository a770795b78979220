/* Growing arrays: the doubling every list of the tree did by hand (tags,
 * watchers, lines, files, requests...). Internal to libmscada. */
#ifndef MS_CORE_GROW_H
#define MS_CORE_GROW_H

#include <stddef.h>

/* Room for one more element (elem bytes each) in arr, which holds n of
 * *cap: arr itself while n < *cap, else arr reallocated to twice *cap
 * (first when *cap is 0) and *cap updated. NULL when there is no memory
 * (arr and *cap are left as they were). */
void *ms_grow(void *arr, size_t n, size_t *cap, size_t elem, size_t first);

#endif
