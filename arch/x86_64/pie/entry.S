/*
 * Blob entry for x86_64. The engine sets rip = pie_entry, rdi = argument
 * block, rsp = top of the blob's own stack, then resumes the thread.
 * pie_main's return value goes to the argument block's first word by the C
 * code; here we only stop for the engine with int3 (SIGTRAP) and stay stopped
 * if someone resumes us without a new command.
 */
    .section .head.text, "ax"
    .globl pie_entry
    .type pie_entry, @function
pie_entry:
    andq $-16, %rsp
    call pie_main
1:  int3
    jmp 1b
    .size pie_entry, .-pie_entry

    .section .note.GNU-stack, "", @progbits
