#include "stasis_syscalls.h"

/*
 * long pie_clone3_thread(void *clone_args, unsigned long size, void *arg)
 *
 * Raw clone3. The parent gets the syscall result (child tid or -errno: `sc`
 * flags errors with CR0.SO and a positive errno). The child starts with a
 * copy of the parent's registers, r3 = 0, and r1 = the stack the kernel took
 * from clone_args (stack + stack_size, kernel/fork.c clone3_stack_valid).
 * `arg` must survive the syscall in a non-volatile register: r31, whose
 * caller's value the parent path keeps in the ELFv2 protected zone below r1
 * (288 bytes leaf functions may use without a frame). r2 (TOC) is
 * non-volatile too, so the child can `bl` pie_thread_main's local entry.
 * The child never returns into the parent's frame: it builds a minimal
 * frame with a zero back chain, calls pie_thread_main(arg) and leaves with
 * the raw exit syscall.
 *
 * Callers from outside the blob reach the global entry with r12 = its
 * address (ELFv2), which derives r2; callers inside the blob use the local
 * entry with r2 already set.
 */
    .abiversion 2
    .text
    .globl pie_clone3_thread
    .type pie_clone3_thread, @function
pie_clone3_thread:
0:  addis %r2, %r12, (.TOC. - 0b)@ha
    addi %r2, %r2, (.TOC. - 0b)@l
    .localentry pie_clone3_thread, . - pie_clone3_thread
    std %r31, -8(%r1)
    mr %r31, %r5
    li %r0, STASIS_NR_clone3
    sc
    bns+ 1f
    neg %r3, %r3
1:  cmpdi %r3, 0
    beq 2f
    ld %r31, -8(%r1)
    blr
2:  clrrdi %r1, %r1, 4
    li %r0, 0
    stdu %r0, -32(%r1)
    mr %r3, %r31
    bl pie_thread_main
    nop
    li %r3, 0
    li %r0, STASIS_NR_exit
    sc
3:  trap
    b 3b
    .size pie_clone3_thread, .-pie_clone3_thread

    .section .note.GNU-stack, "", @progbits
