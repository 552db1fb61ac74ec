#include "stasis_syscalls.h"

/*
 * long pie_clone3_thread(void *clone_args, unsigned long size, void *arg)
 *
 * Raw clone3 (svc 0, number in r1: 435 does not fit svc's 8-bit immediate).
 * The parent gets the syscall result in r2 (child tid or -errno). The child
 * starts with a copy of the parent's registers, r2 = 0, and r15 = the stack
 * the kernel took from clone_args (stack + stack_size, kernel/fork.c
 * clone3_stack_valid); `arg` survives in r4 (the kernel preserves every
 * register but r2). The child never returns into the parent's frame: it
 * allocates the ABI's 160-byte save area with a zero back chain, calls
 * pie_thread_main(arg) and leaves with the raw exit syscall.
 */
    .text
    .globl pie_clone3_thread
    .type pie_clone3_thread, @function
pie_clone3_thread:
    lghi %r1, STASIS_NR_clone3
    svc 0
    ltgr %r2, %r2
    jz 1f
    br %r14
1:  nill %r15, 0xfff8
    aghi %r15, -160
    xc 0(8,%r15), 0(%r15)
    lgr %r2, %r4
    brasl %r14, pie_thread_main
    lghi %r2, 0
    lghi %r1, STASIS_NR_exit
    svc 0
2:  .short 0x0001
    j 2b
    .size pie_clone3_thread, .-pie_clone3_thread

    .section .note.GNU-stack, "", @progbits
