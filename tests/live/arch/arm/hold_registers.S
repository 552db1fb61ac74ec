/* arm (32-bit, EABI hard-float) register-holding loop; see
 * tests/live/lib/registers.h.
 *
 * Held: r5 r8 r9 r10 r11 r12, fpscr, and d0-d15 — d0-d31 when features bit 0
 * (VFP-D32) is set. A syscall (svc #0, number in r7, arguments in r0-r4)
 * returns in r0 and preserves every other register; the loop keeps the
 * argument block in r6. The block's fields are 64-bit: their low word is
 * at the field's offset (little-endian).
 *
 * Layout of expected/observed (keep in sync with registers.c):
 *   0   r5 r8 r9 r10 r11 r12   6 x 4 (then 8 bytes pad)
 *   32  fpscr                  4 (then 4 bytes pad)
 *   40  d0..d31                32 x 8
 */
#define H_NR_FACCESSAT 0
#define H_NR_NANOSLEEP 8
#define H_NR_RENAMEAT2 16
#define H_CHECK_PATH 24
#define H_READY_TMP 32
#define H_READY_PATH 40
#define H_INTERVAL 48
#define H_FEATURES 56
#define H_EXPECTED 64
#define H_OBSERVED 72
#define H_RENAME_RESULT 80
#define H_POLLS 88
#define AT_FDCWD -100

    .syntax unified
    .arm
    .fpu neon
    .text
    .globl live_arch_hold_registers_asm
    .type live_arch_hold_registers_asm, %function
    .align 2
live_arch_hold_registers_asm:
    push {r4-r11, lr}
    vpush {d8-d15}                 /* callee-saved VFP registers */
    vmrs r1, fpscr
    push {r1, r2}                  /* the caller's fpscr (r2: keeps 8-byte alignment) */
    mov r6, r0

    ldr r4, [r6, #H_EXPECTED]
    add r1, r4, #40
    vldmia r1!, {d0-d15}
    ldr r2, [r6, #H_FEATURES]
    tst r2, #1
    beq 1f
    vldmia r1, {d16-d31}
1:  ldr r1, [r4, #32]
    vmsr fpscr, r1
    ldr r5, [r4, #0]
    ldr r8, [r4, #4]
    ldr r9, [r4, #8]
    ldr r10, [r4, #12]
    ldr r11, [r4, #16]
    ldr r12, [r4, #20]

    /* Everything is loaded: ready (renameat2(AT_FDCWD, tmp, AT_FDCWD, ready, 0)). */
    ldr r7, [r6, #H_NR_RENAMEAT2]
    mov r0, #AT_FDCWD
    ldr r1, [r6, #H_READY_TMP]
    mov r2, #AT_FDCWD
    ldr r3, [r6, #H_READY_PATH]
    mov r4, #0
    svc #0
    str r0, [r6, #H_RENAME_RESULT]
    asr r0, r0, #31
    str r0, [r6, #H_RENAME_RESULT + 4]

2:  ldr r7, [r6, #H_NR_FACCESSAT]  /* faccessat(AT_FDCWD, check, F_OK) */
    mov r0, #AT_FDCWD
    ldr r1, [r6, #H_CHECK_PATH]
    mov r2, #0
    svc #0
    cmp r0, #0
    beq 3f
    ldr r0, [r6, #H_POLLS]
    add r0, r0, #1
    str r0, [r6, #H_POLLS]
    ldr r7, [r6, #H_NR_NANOSLEEP]  /* nanosleep(interval, NULL); EINTR or not, poll again */
    ldr r0, [r6, #H_INTERVAL]
    mov r1, #0
    svc #0
    b 2b

3:  ldr r4, [r6, #H_OBSERVED]
    str r5, [r4, #0]
    str r8, [r4, #4]
    str r9, [r4, #8]
    str r10, [r4, #12]
    str r11, [r4, #16]
    str r12, [r4, #20]
    vmrs r1, fpscr
    str r1, [r4, #32]
    add r1, r4, #40
    vstmia r1!, {d0-d15}
    ldr r2, [r6, #H_FEATURES]
    tst r2, #1
    beq 4f
    vstmia r1, {d16-d31}

4:  pop {r1, r2}
    vmsr fpscr, r1                 /* the caller's FP environment back */
    vpop {d8-d15}
    pop {r4-r11, lr}
    bx lr
    .size live_arch_hold_registers_asm, . - live_arch_hold_registers_asm

    .section .note.GNU-stack, "", %progbits
