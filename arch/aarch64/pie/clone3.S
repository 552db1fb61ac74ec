#include "stasis_syscalls.h"

/*
 * long pie_clone3_thread(void *clone_args, unsigned long size, void *arg)
 *
 * Raw clone3. The parent gets the syscall result (child tid or -errno). The
 * child starts on the stack the kernel took from clone_args (stack +
 * stack_size, kernel/fork.c clone3_stack_valid) with a copy of the parent's
 * registers and x0 = 0, so `arg` survives in x9 (svc preserves every
 * register but x0). The child never returns into the parent's frame: it
 * calls pie_thread_main(arg) and leaves with the raw exit syscall.
 */
    .text
    .globl pie_clone3_thread
    .type pie_clone3_thread, %function
pie_clone3_thread:
    mov x9, x2
    mov x8, #STASIS_NR_clone3
    svc #0
    cbz x0, 2f
    ret
2:  mov x10, sp
    and x10, x10, #-16
    mov sp, x10
    mov x29, #0
    mov x30, #0
    mov x0, x9
    bl pie_thread_main
    mov x0, #0
    mov x8, #STASIS_NR_exit
    svc #0
3:  brk #0
    b 3b
    .size pie_clone3_thread, .-pie_clone3_thread

    .section .note.GNU-stack, "", %progbits
