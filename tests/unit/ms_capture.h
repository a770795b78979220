/* What the code under test writes to fd 2 (ms_log), captured into a temp
 * file and handed back as a string, for tests that check a warning was
 * (or was not) logged. Include after cmocka.h. */
#ifndef MS_TEST_CAPTURE_H
#define MS_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int saved;
    int fd;
    char path[64];
} capture;

static inline void capture_begin(capture *c)
{
    strcpy(c->path, "/tmp/mscada_test_capture_XXXXXX");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    fflush(stderr);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_true(dup2(c->fd, 2) >= 0);
}

/* Restores fd 2 and returns what was written meanwhile (free it). */
static inline char *capture_end(capture *c)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    off_t n = lseek(c->fd, 0, SEEK_END);
    assert_true(n >= 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(pread(c->fd, buf, (size_t)n, 0), n);
    buf[n] = '\0';
    close(c->fd);
    unlink(c->path);
    return buf;
}

static inline int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

#endif
