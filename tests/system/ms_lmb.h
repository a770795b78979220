/* A libmodbus (3.1.6) Modbus server in a thread of a C system test: an
 * independent peer for our masters and modbusclient. lmb_init picks a free
 * port; the test makes s->map (modbus_mapping_new); lmb_start serves TCP
 * and returns once the thread listens (or fails the test), lmb_rtu_start
 * serves a serial line as unit 1; lmb_stop and lmb_destroy end either. The
 * map is read and written under s->lock. Include after cmocka.h and
 * modbus.h. */
#ifndef MS_TEST_LMB_H
#define MS_TEST_LMB_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "ms_syshelp.h"

/* A deadline 20 s from now for pthread_cond_timedwait. */
static inline struct timespec lmb_deadline(void)
{
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += 20;
    return end;
}

typedef struct {
    int port;
    modbus_mapping_t *map; /* made by the test */
    pthread_mutex_t lock; /* map, listening, served, max_waiting */
    pthread_cond_t cv;    /* listening changed */
    int listening;        /* 1 listening, -1 listen failed */
    pthread_t th;
    atomic_int stop;
    int running;
    long served;          /* requests answered */
    int max_waiting;      /* most bytes unread in a socket before a request
                           * (a pipelining master sends more than one) */
    modbus_t *rtu;        /* lmb_rtu_start: the serial line */
} lmb_server;

static inline void lmb_listening(lmb_server *s, int state)
{
    pthread_mutex_lock(&s->lock);
    s->listening = state;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->lock);
}

static inline void *lmb_main(void *arg)
{
    lmb_server *s = arg;
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", s->port);
    int lfd = modbus_tcp_listen(ctx, 4);
    lmb_listening(s, lfd < 0 ? -1 : 1);
    if (lfd < 0) {
        modbus_free(ctx);
        return NULL;
    }
    int fds[8], nfd = 0;
    uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
    while (!atomic_load(&s->stop)) {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(lfd, &rs);
        int mx = lfd;
        for (int i = 0; i < nfd; i++) {
            FD_SET(fds[i], &rs);
            mx = fds[i] > mx ? fds[i] : mx;
        }
        struct timeval tv = {0, 20000};
        if (select(mx + 1, &rs, NULL, NULL, &tv) <= 0)
            continue;
        if (FD_ISSET(lfd, &rs)) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0 && nfd < 8)
                fds[nfd++] = fd;
            else if (fd >= 0)
                close(fd);
        }
        for (int i = 0; i < nfd; i++) {
            if (!FD_ISSET(fds[i], &rs))
                continue;
            int waiting = 0;
            if (ioctl(fds[i], FIONREAD, &waiting) < 0)
                waiting = 0;
            modbus_set_socket(ctx, fds[i]);
            int rc = modbus_receive(ctx, q);
            if (rc > 0) {
                pthread_mutex_lock(&s->lock);
                if (waiting > s->max_waiting)
                    s->max_waiting = waiting;
                s->served++;
                modbus_reply(ctx, q, rc, s->map);
                pthread_mutex_unlock(&s->lock);
            } else if (rc < 0) {
                close(fds[i]);
                fds[i--] = fds[--nfd];
            }
        }
    }
    for (int i = 0; i < nfd; i++)
        close(fds[i]);
    close(lfd);
    modbus_free(ctx);
    return NULL;
}

static inline void lmb_init(lmb_server *s)
{
    s->port = ms_test_free_port();
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cv, NULL);
}

static inline void lmb_destroy(lmb_server *s)
{
    if (s->rtu) {
        modbus_close(s->rtu);
        modbus_free(s->rtu);
        s->rtu = NULL;
    }
    modbus_mapping_free(s->map);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->lock);
}

/* Starts the server thread and waits until it listens. */
static inline void lmb_start(lmb_server *s)
{
    atomic_store(&s->stop, 0);
    s->listening = 0;
    assert_int_equal(pthread_create(&s->th, NULL, lmb_main, s), 0);
    s->running = 1;
    struct timespec end = lmb_deadline();
    pthread_mutex_lock(&s->lock);
    while (s->listening == 0 &&
           pthread_cond_timedwait(&s->cv, &s->lock, &end) != ETIMEDOUT)
        ;
    int state = s->listening;
    pthread_mutex_unlock(&s->lock);
    assert_int_equal(state, 1);
}

static inline void *lmb_rtu_main(void *arg)
{
    lmb_server *s = arg;
    uint8_t q[MODBUS_RTU_MAX_ADU_LENGTH];
    modbus_set_indication_timeout(s->rtu, 0, 100000); /* to see stop */
    while (!atomic_load(&s->stop)) {
        int n = modbus_receive(s->rtu, q);
        if (n > 0) {
            pthread_mutex_lock(&s->lock);
            s->served++;
            modbus_reply(s->rtu, q, n, s->map);
            pthread_mutex_unlock(&s->lock);
        }
    }
    return NULL;
}

/* Serves s->map as unit 1 on the serial device dev (19200 baud, 8 data
 * bits, parity 'N', 'E' or 'O', 1 stop bit); MB_DEBUG=1 shows the frames. */
static inline void lmb_rtu_start(lmb_server *s, const char *dev, char parity)
{
    s->rtu = modbus_new_rtu(dev, 19200, parity, 8, 1);
    assert_non_null(s->rtu);
    modbus_set_slave(s->rtu, 1);
    if (getenv("MB_DEBUG"))
        modbus_set_debug(s->rtu, TRUE);
    assert_int_equal(modbus_connect(s->rtu), 0);
    atomic_store(&s->stop, 0);
    assert_int_equal(pthread_create(&s->th, NULL, lmb_rtu_main, s), 0);
    s->running = 1;
}

static inline void lmb_stop(lmb_server *s)
{
    if (!s->running)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    s->running = 0;
}

static inline uint16_t lmb_reg(lmb_server *s, int addr)
{
    pthread_mutex_lock(&s->lock);
    uint16_t v = s->map->tab_registers[addr];
    pthread_mutex_unlock(&s->lock);
    return v;
}

static inline void lmb_set_reg(lmb_server *s, int addr, uint16_t v)
{
    pthread_mutex_lock(&s->lock);
    s->map->tab_registers[addr] = v;
    pthread_mutex_unlock(&s->lock);
}

static inline uint8_t lmb_coil(lmb_server *s, int addr)
{
    pthread_mutex_lock(&s->lock);
    uint8_t v = s->map->tab_bits[addr];
    pthread_mutex_unlock(&s->lock);
    return v;
}

#endif
