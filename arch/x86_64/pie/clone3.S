#include "stasis_syscalls.h"

/*
 * long pie_clone3_thread(void *clone_args, unsigned long size, void *arg)
 *
 * Raw clone3. The parent gets the syscall result (child tid or -errno). The
 * child starts on the stack the kernel took from clone_args (stack +
 * stack_size, kernel/fork.c clone3_stack_valid) with a copy of the parent's
 * registers and rax = 0; `arg` survives in r8 (`syscall` clobbers only rcx
 * and r11). The child never returns into the parent's frame: it calls
 * pie_thread_main(arg) and leaves with the raw exit syscall.
 */
    .text
    .globl pie_clone3_thread
    .type pie_clone3_thread, @function
pie_clone3_thread:
    movq %rdx, %r8
    movl $STASIS_NR_clone3, %eax
    syscall
    testq %rax, %rax
    jz 1f
    ret
1:  andq $-16, %rsp
    xorl %ebp, %ebp         /* end of the frame-pointer chain */
    movq %r8, %rdi
    call pie_thread_main
    xorl %edi, %edi
    movl $STASIS_NR_exit, %eax
    syscall
2:  int3
    jmp 2b
    .size pie_clone3_thread, .-pie_clone3_thread

    .section .note.GNU-stack, "", @progbits
