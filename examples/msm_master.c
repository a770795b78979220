/* Modbus shared memory, master side: `msm_master HOST PORT` keeps the
 * memory of msm_slave exchanged with unit 1 at HOST:PORT (STATE, a word at
 * address 0; COUNTER, a uint32 at addresses 1-2, high word first), sets
 * STATE to 1 once, and prints STATE and COUNTER every second until Ctrl-C.
 * docs/msm.md explains the model. */
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

int main(int argc, char **argv)
{
    if (argc != 3 || atoi(argv[2]) <= 0 || atoi(argv[2]) > 65535) {
        fprintf(stderr, "usage: msm_master HOST PORT\n");
        return 2;
    }
    ms_memory *mem;
    if (ms_memory_new(8, &mem) < 0) {
        fprintf(stderr, "msm_master: out of memory\n");
        return 1;
    }
    ms_var state = ms_memory_word(mem, "STATE", 0);
    ms_var counter = ms_memory_uint32(mem, "COUNTER", 1);
    ms_worker *w;
    if (ms_master_tcp(mem, argv[1], atoi(argv[2]), 1, &w) < 0 ||
        !ms_var_ok(state) || !ms_var_ok(counter)) {
        fprintf(stderr, "msm_master: %s\n", ms_memory_error(mem));
        ms_worker_kill(w);
        ms_memory_free(mem);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int rc = ms_worker_run(w);
    if (rc < 0) {
        fprintf(stderr, "msm_master: can't start: %s\n", ms_strerror(rc));
        ms_worker_kill(w);
        ms_memory_free(mem);
        return 1;
    }
    /* Written at the first exchange, or once the slave is reachable. */
    ms_memory_set_word(mem, state, 1);
    while (!stop) {
        for (int i = 0; i < 10 && !stop; i++)
            usleep(100000);
        ms_worker_status st;
        ms_worker_get_status(w, &st);
        printf("STATE %u COUNTER %u%s\n", ms_memory_get_word(mem, state),
               ms_memory_get_u32(mem, counter),
               st.connected ? "" : " (not connected)");
        fflush(stdout);
    }
    ms_worker_kill(w);
    ms_memory_free(mem);
    return 0;
}
