/* LD_PRELOAD library for test_cli.py: every epoll instance fails with
 * EMFILE, as when a process has no descriptors left, so uv_loop_init
 * fails and each module's "cannot start the event loop" path runs. */
#include <errno.h>
#include <sys/epoll.h>

int epoll_create1(int flags)
{
    (void)flags;
    errno = EMFILE;
    return -1;
}

int epoll_create(int size)
{
    (void)size;
    errno = EMFILE;
    return -1;
}
