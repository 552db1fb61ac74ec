/*
 * Blob entry for ppc64le (ELFv2). The engine sets nip = pie_entry, r3 =
 * argument block, r1 = top of the blob's own stack (setup_call in
 * arch/ppc64le/regs.cc).
 *
 * The TOC pointer: pie_main's global entry would derive r2 from r12, but
 * reaching it needs r12 = its address and an indirect branch (bctrl), which
 * the blob checker forbids. So we compute r2 ourselves, PC-relatively: `bcl
 * 20,31` to the next instruction is the branch-and-link idiom the hardware
 * treats as "get the PC" (it does not push the link stack), and .TOC. minus
 * that address is a link-time constant. A direct `bl pie_main` then enters
 * pie_main's local entry, which expects exactly this r2.
 *
 * The stack: ELFv2 wants r1 16-byte aligned and pointing at a frame whose
 * first doubleword is the back chain; a minimal frame is 32 bytes (back
 * chain, CR save, LR save, TOC save). A zero back chain ends unwinding.
 */
    .abiversion 2
    .section .head.text, "ax", @progbits
    .globl pie_entry
    .type pie_entry, @function
pie_entry:
    bcl 20, 31, 0f
0:  mflr %r12
    addis %r2, %r12, (.TOC. - 0b)@ha
    addi %r2, %r2, (.TOC. - 0b)@l
    clrrdi %r1, %r1, 4
    li %r0, 0
    stdu %r0, -32(%r1)
    bl pie_main
    nop
1:  trap
    b 1b
    .size pie_entry, .-pie_entry

    .section .note.GNU-stack, "", @progbits
