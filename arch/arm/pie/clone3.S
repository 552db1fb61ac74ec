#include "stasis_syscalls.h"

/*
 * long pie_clone3_thread(void *clone_args, unsigned long size, void *arg)
 *
 * Raw clone3. The parent gets the syscall result (child tid or -errno). The
 * child starts on the stack the kernel took from clone_args (stack +
 * stack_size, kernel/fork.c clone3_stack_valid) with a copy of the parent's
 * registers and r0 = 0; `arg` survives in r4 (svc preserves every register
 * but r0). r4 and r7 are callee-saved, so the parent path restores them
 * from its own stack. The child never returns into the parent's frame: it
 * calls pie_thread_main(arg) and leaves with the raw exit syscall.
 * movw keeps the syscall number out of a literal pool.
 */
    .syntax unified
    .arm
    .text
    .globl pie_clone3_thread
    .type pie_clone3_thread, %function
pie_clone3_thread:
    push {r4, r7}
    mov r4, r2
    movw r7, #STASIS_NR_clone3
    svc #0
    cmp r0, #0
    beq 1f
    pop {r4, r7}
    bx lr
1:  mov r1, sp
    bic r1, r1, #7
    mov sp, r1
    mov fp, #0
    mov lr, #0
    mov r0, r4
    bl pie_thread_main
    mov r0, #0
    movw r7, #STASIS_NR_exit
    svc #0
2:  .inst 0xe7f001f0
    b 2b
    .size pie_clone3_thread, .-pie_clone3_thread

    .section .note.GNU-stack, "", %progbits
