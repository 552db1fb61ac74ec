/*
 * Blob entry for aarch64. The engine sets pc = pie_entry, x0 = argument block,
 * sp = top of the blob's own stack (setup_call in arch/aarch64/regs.cc).
 * AAPCS64 wants sp 16-byte aligned (the hardware faults on a misaligned sp
 * used as a base register when SCTLR_EL1.SA0 is set, as Linux sets it), so
 * round it down first. pie_main reports through the argument block; we then
 * stop for the engine with `brk #0` (SIGTRAP) and stay stopped if resumed
 * without a new command.
 */
    .section .head.text, "ax", %progbits
    .globl pie_entry
    .type pie_entry, %function
pie_entry:
    mov x9, sp
    and x9, x9, #-16
    mov sp, x9
    mov x29, #0             /* end of the frame-pointer chain */
    mov x30, #0
    bl pie_main
1:  brk #0
    b 1b
    .size pie_entry, .-pie_entry

    .section .note.GNU-stack, "", %progbits
