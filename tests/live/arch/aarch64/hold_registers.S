/* aarch64 register-holding loop; see tests/live/lib/registers.h.
 *
 * Held: x19-x28, fpcr, fpsr and all of q0-q31. A syscall (svc #0, number
 * in x8, arguments in x0-x4) returns in x0 and preserves every other
 * register, including the 128-bit V registers; the loop keeps the argument
 * block in x9.
 *
 * Layout of expected/observed (keep in sync with registers.c):
 *   0   x19..x28    10 x 8
 *   80  fpcr        8
 *   88  fpsr        8
 *   96  q0..q31     32 x 16
 */
#define H_NR_FACCESSAT 0
#define H_NR_NANOSLEEP 8
#define H_NR_RENAMEAT2 16
#define H_CHECK_PATH 24
#define H_READY_TMP 32
#define H_READY_PATH 40
#define H_INTERVAL 48
#define H_EXPECTED 64
#define H_OBSERVED 72
#define H_RENAME_RESULT 80
#define H_POLLS 88
#define AT_FDCWD -100

    .text
    .globl live_arch_hold_registers_asm
    .type live_arch_hold_registers_asm, %function
live_arch_hold_registers_asm:
    stp x29, x30, [sp, #-176]!
    mov x29, sp
    stp x19, x20, [sp, #16]
    stp x21, x22, [sp, #32]
    stp x23, x24, [sp, #48]
    stp x25, x26, [sp, #64]
    stp x27, x28, [sp, #80]
    stp d8, d9, [sp, #96]          /* the callee-saved low halves of v8-v15 */
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mrs x10, fpcr
    mrs x11, fpsr
    stp x10, x11, [sp, #160]
    mov x9, x0

    ldr x10, [x9, #H_EXPECTED]
    ldp q0, q1, [x10, #96 + 0 * 32]
    ldp q2, q3, [x10, #96 + 1 * 32]
    ldp q4, q5, [x10, #96 + 2 * 32]
    ldp q6, q7, [x10, #96 + 3 * 32]
    ldp q8, q9, [x10, #96 + 4 * 32]
    ldp q10, q11, [x10, #96 + 5 * 32]
    ldp q12, q13, [x10, #96 + 6 * 32]
    ldp q14, q15, [x10, #96 + 7 * 32]
    ldp q16, q17, [x10, #96 + 8 * 32]
    ldp q18, q19, [x10, #96 + 9 * 32]
    ldp q20, q21, [x10, #96 + 10 * 32]
    ldp q22, q23, [x10, #96 + 11 * 32]
    ldp q24, q25, [x10, #96 + 12 * 32]
    ldp q26, q27, [x10, #96 + 13 * 32]
    ldp q28, q29, [x10, #96 + 14 * 32]
    ldp q30, q31, [x10, #96 + 15 * 32]
    ldr x11, [x10, #80]
    msr fpcr, x11
    ldr x11, [x10, #88]
    msr fpsr, x11
    ldp x19, x20, [x10, #0]
    ldp x21, x22, [x10, #16]
    ldp x23, x24, [x10, #32]
    ldp x25, x26, [x10, #48]
    ldp x27, x28, [x10, #64]

    /* Everything is loaded: ready (renameat2(AT_FDCWD, tmp, AT_FDCWD, ready, 0)). */
    ldr x8, [x9, #H_NR_RENAMEAT2]
    mov x0, #AT_FDCWD
    ldr x1, [x9, #H_READY_TMP]
    mov x2, #AT_FDCWD
    ldr x3, [x9, #H_READY_PATH]
    mov x4, #0
    svc #0
    str x0, [x9, #H_RENAME_RESULT]

1:  ldr x8, [x9, #H_NR_FACCESSAT]  /* faccessat(AT_FDCWD, check, F_OK) */
    mov x0, #AT_FDCWD
    ldr x1, [x9, #H_CHECK_PATH]
    mov x2, #0
    svc #0
    cbz x0, 2f
    ldr x10, [x9, #H_POLLS]
    add x10, x10, #1
    str x10, [x9, #H_POLLS]
    ldr x8, [x9, #H_NR_NANOSLEEP]  /* nanosleep(interval, NULL); EINTR or not, poll again */
    ldr x0, [x9, #H_INTERVAL]
    mov x1, #0
    svc #0
    b 1b

2:  ldr x10, [x9, #H_OBSERVED]
    stp x19, x20, [x10, #0]
    stp x21, x22, [x10, #16]
    stp x23, x24, [x10, #32]
    stp x25, x26, [x10, #48]
    stp x27, x28, [x10, #64]
    mrs x11, fpcr
    str x11, [x10, #80]
    mrs x11, fpsr
    str x11, [x10, #88]
    stp q0, q1, [x10, #96 + 0 * 32]
    stp q2, q3, [x10, #96 + 1 * 32]
    stp q4, q5, [x10, #96 + 2 * 32]
    stp q6, q7, [x10, #96 + 3 * 32]
    stp q8, q9, [x10, #96 + 4 * 32]
    stp q10, q11, [x10, #96 + 5 * 32]
    stp q12, q13, [x10, #96 + 6 * 32]
    stp q14, q15, [x10, #96 + 7 * 32]
    stp q16, q17, [x10, #96 + 8 * 32]
    stp q18, q19, [x10, #96 + 9 * 32]
    stp q20, q21, [x10, #96 + 10 * 32]
    stp q22, q23, [x10, #96 + 11 * 32]
    stp q24, q25, [x10, #96 + 12 * 32]
    stp q26, q27, [x10, #96 + 13 * 32]
    stp q28, q29, [x10, #96 + 14 * 32]
    stp q30, q31, [x10, #96 + 15 * 32]

    ldp x10, x11, [sp, #160]       /* the caller's FP environment back */
    msr fpcr, x10
    msr fpsr, x11
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    ldp x19, x20, [sp, #16]
    ldp x21, x22, [sp, #32]
    ldp x23, x24, [sp, #48]
    ldp x25, x26, [sp, #64]
    ldp x27, x28, [sp, #80]
    ldp x29, x30, [sp], #176
    ret
    .size live_arch_hold_registers_asm, . - live_arch_hold_registers_asm

    .section .note.GNU-stack, "", %progbits
