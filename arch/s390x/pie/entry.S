/*
 * Blob entry for s390x. The engine sets psw.addr = pie_entry, r2 = argument
 * block, r15 = top of the blob's own stack (setup_call in
 * arch/s390x/regs.cc). The s390x ELF ABI wants r15 8-byte aligned and a
 * 160-byte register save area allocated by the caller below it, whose first
 * doubleword is the back chain (zero ends unwinding). pie_main reports
 * through the argument block; we then stop for the engine with the 2-byte
 * breakpoint 0x0001 (SIGTRAP for a traced task) and stay stopped if resumed
 * without a new command.
 */
    .section .head.text, "ax", @progbits
    .globl pie_entry
    .type pie_entry, @function
pie_entry:
    nill %r15, 0xfff8
    aghi %r15, -160
    xc 0(8,%r15), 0(%r15)
    brasl %r14, pie_main
1:  .short 0x0001
    j 1b
    .size pie_entry, .-pie_entry

    .section .note.GNU-stack, "", @progbits
