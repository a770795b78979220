/* The memory the slave-worker system tests serve to a libmodbus master
 * (test_msm_thread over TCP, test_msm_serial_thread over a serial line):
 * holding 100-107 (STATE, COUNTER 0x00050006, F32 2.5), coils 10-17 (C
 * at 12), discrete input 1 on, input register 0 = -3. Include after
 * cmocka.h. */
#ifndef MS_TEST_MSM_TESTMEM_H
#define MS_TEST_MSM_TESTMEM_H

#include <string.h>

#include "mscada/msm.h"

typedef struct {
    ms_memory *m;
    ms_var state, counter, f32, c, di, ir;
} slave_mem;

static inline void slave_mem_new(slave_mem *s)
{
    ms_memory_layout l;
    memset(&l, 0, sizeof l);
    l.coils = (ms_memory_area){8, 10};
    l.discrete_inputs = (ms_memory_area){4, 0};
    l.input_registers = (ms_memory_area){4, 0};
    l.holding = (ms_memory_area){8, 100};
    assert_int_equal(ms_memory_new_layout(&l, &s->m), 0);
    s->state = ms_memory_word(s->m, "STATE", 0);
    s->counter = ms_memory_uint32(s->m, "COUNTER", 1);
    s->f32 = ms_memory_float32(s->m, "F32", 3);
    s->c = ms_memory_coil(s->m, "C", 2);
    s->di = ms_memory_input(s->m, "DI", 1);
    ms_var_decl d = {"IR", MS_MB_INPUT_REGISTERS, 0, MS_VAR_INT16,
                     MS_MB_WORDS_BIG, -1, 0};
    s->ir = ms_memory_declare(s->m, &d);
    assert_true(ms_var_ok(s->state) && ms_var_ok(s->counter) &&
                ms_var_ok(s->f32) && ms_var_ok(s->c) && ms_var_ok(s->di) &&
                ms_var_ok(s->ir));
    ms_memory_set_u32(s->m, s->counter, 0x00050006);
    ms_memory_set_f32(s->m, s->f32, 2.5f);
    ms_memory_set_bool(s->m, s->di, true);
    ms_memory_set_i16(s->m, s->ir, -3);
}

#endif
