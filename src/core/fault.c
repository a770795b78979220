/* Repeating failures logged once per kind (core/fault.h). */
#include "core/fault.h"
#include "mscada/error.h"
#include "mscada/log.h"

bool ms_fault_note(ms_fault *f, int rc, const char *who, const char *doing)
{
    if (rc >= 0) {
        if (f->rc == 0)
            return false;
        f->rc = 0;
        ms_log_info("%s: %s works again (%llu failures so far)", who, doing,
                    (unsigned long long)f->count);
        return true;
    }
    f->count++;
    if (rc == f->rc)
        return false;
    f->rc = rc;
    ms_log_warn("%s: %s failed: %s (logged once; repeats are counted)", who,
                doing, ms_strerror(rc));
    return true;
}
