/* pymscada's own bytes (a bus session transcript, history files) sit in a
 * fixtures folder beside the clone in CI (MS_SHARED_DIR); a user's clone has
 * none. Tests that cross-check against them get the path from ms_fixture(),
 * which skips the test, saying why, when the fixture is absent. */
#ifndef MS_TEST_FIXTURE_H
#define MS_TEST_FIXTURE_H

#include <stdio.h>
#include <unistd.h>

/* Full path of REL under MS_SHARED_DIR/fixtures, or skip() the test. The
 * result lives until the next call. */
static inline const char *ms_fixture(const char *rel)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/fixtures/%s", MS_SHARED_DIR, rel);
    if (access(path, R_OK) != 0) {
        print_message("SKIP: pymscada fixture %s is absent (it sits beside "
                      "the clone in CI; configure with "
                      "-DMSCADA_SHARED_DIR=DIR to run this cross-check)\n",
                      path);
        skip();
    }
    return path;
}

#endif
