/* Modbus shared memory, slave side: `msm_slave PORT` serves 8 holding
 * registers on 127.0.0.1:PORT as unit 1: STATE, a word at address 0, and
 * COUNTER, a uint32 at addresses 1-2 (high word first), which it increments
 * every 100 ms. It prints STATE whenever a master changes it. Ctrl-C stops
 * it. docs/msm.md explains the model. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mscada/error.h"
#include "mscada/msm.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static ms_var state;

/* On the worker's thread, after a master wrote a variable. */
static void on_write(ms_worker *w, ms_memory *mem, ms_var v, void *arg)
{
    (void)w;
    (void)arg;
    if (v.id == state.id) {
        printf("STATE %u\n", ms_memory_get_word(mem, state));
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
        fprintf(stderr, "usage: msm_slave PORT\n");
        return 2;
    }
    ms_memory *mem;
    if (ms_memory_new(8, &mem) < 0) {
        fprintf(stderr, "msm_slave: out of memory\n");
        return 1;
    }
    state = ms_memory_word(mem, "STATE", 0);
    ms_var counter = ms_memory_uint32(mem, "COUNTER", 1);
    ms_worker *w;
    if (ms_slave_tcp(mem, "127.0.0.1", atoi(argv[1]), 1, &w) < 0 ||
        !ms_var_ok(state) || !ms_var_ok(counter)) {
        fprintf(stderr, "msm_slave: %s\n", ms_memory_error(mem));
        ms_worker_kill(w);
        ms_memory_free(mem);
        return 1;
    }
    ms_worker_on_write(w, on_write, NULL);
    int rc = ms_worker_run(w);
    if (rc < 0) {
        fprintf(stderr, "msm_slave: can't serve port %s: %s\n", argv[1],
                ms_strerror(rc));
        ms_worker_kill(w);
        ms_memory_free(mem);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("serving 127.0.0.1:%s unit 1\n", argv[1]);
    fflush(stdout);
    while (!stop) {
        usleep(100000);
        ms_memory_set_u32(mem, counter, ms_memory_get_u32(mem, counter) + 1);
    }
    ms_worker_kill(w);
    ms_memory_free(mem);
    return 0;
}
