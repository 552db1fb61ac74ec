/*
 * Blob entry for arm (ARM state). The engine sets pc = pie_entry, r0 =
 * argument block, sp = top of the blob's own stack, and clears the Thumb
 * bit in cpsr (setup_call in arch/arm/regs.cc). AAPCS wants sp 8-byte
 * aligned at public interfaces, so round it down first. pie_main reports
 * through the argument block; we then stop for the engine with the ARM
 * breakpoint the kernel reports as SIGTRAP, and stay stopped if resumed
 * without a new command.
 */
    .syntax unified
    .arm
    .section .head.text, "ax", %progbits
    .globl pie_entry
    .type pie_entry, %function
pie_entry:
    mov r1, sp
    bic r1, r1, #7
    mov sp, r1
    mov fp, #0              /* end of the frame-pointer chain */
    mov lr, #0
    bl pie_main
1:  .inst 0xe7f001f0
    b 1b
    .size pie_entry, .-pie_entry

    .section .note.GNU-stack, "", %progbits
