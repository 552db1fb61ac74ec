/* ppc64le register-holding loop; see tests/live/lib/registers.h.
 *
 * Held: r14-r30, fpscr and all of vs0-vs63 (the FPRs and VRs are their
 * halves). A syscall (sc, number in r0, arguments in r3-r8, result in r3
 * with cr0.SO on error) clobbers r0 and r3-r12, cr0, ctr and xer, and
 * preserves every floating-point and vector register; the loop keeps the
 * argument block in r31.
 *
 * Layout of expected/observed (keep in sync with registers.c):
 *   0    r14..r30     17 x 8 (then 8 bytes pad)
 *   144  fpscr        8 (the image mffs stores)
 *   160  vs0..vs63    64 x 16 (as lxvd2x/stxvd2x move them)
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
#define R_FPSCR 144
#define R_VS 160

/* Frame: 32 header, r14-r31 at 32, f14-f31 at 176, v20-v31 at 320, the
 * caller's fpscr at 512. */
#define FRAME 528
#define S_GPR 32
#define S_FPR 176
#define S_VR 320
#define S_FPSCR 512

    .abiversion 2
    .machine power8
    .text
    .globl live_arch_hold_registers_asm
    .type live_arch_hold_registers_asm, @function
    .p2align 4
live_arch_hold_registers_asm:
    stdu 1, -FRAME(1)
    .irp n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    std \n, S_GPR + (\n - 14) * 8(1)
    stfd \n, S_FPR + (\n - 14) * 8(1)
    .endr
    .irp n, 20,21,22,23,24,25,26,27,28,29,30,31
    li 11, S_VR + (\n - 20) * 16
    stvx \n, 1, 11
    .endr
    mffs 0
    stfd 0, S_FPSCR(1)
    mr 31, 3

    ld 10, H_EXPECTED(31)
    lfd 0, R_FPSCR(10)
    mtfsf 0xff, 0
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
    li 11, R_VS + \n * 16
    lxvd2x \n, 10, 11
    .endr
    .irp n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
    ld \n, (\n - 14) * 8(10)
    .endr

    /* Everything is loaded: ready (renameat2(AT_FDCWD, tmp, AT_FDCWD, ready, 0)). */
    ld 0, H_NR_RENAMEAT2(31)
    li 3, AT_FDCWD
    ld 4, H_READY_TMP(31)
    li 5, AT_FDCWD
    ld 6, H_READY_PATH(31)
    li 7, 0
    sc
    bns+ 1f
    neg 3, 3                       /* as other architectures report it: -errno */
1:  std 3, H_RENAME_RESULT(31)

2:  ld 0, H_NR_FACCESSAT(31)       /* faccessat(AT_FDCWD, check, F_OK) */
    li 3, AT_FDCWD
    ld 4, H_CHECK_PATH(31)
    li 5, 0
    sc
    cmpdi 3, 0                     /* 0 only on success; an error leaves a positive errno */
    beq 3f
    ld 9, H_POLLS(31)
    addi 9, 9, 1
    std 9, H_POLLS(31)
    ld 0, H_NR_NANOSLEEP(31)       /* nanosleep(interval, NULL); EINTR or not, poll again */
    ld 3, H_INTERVAL(31)
    li 4, 0
    sc
    b 2b

3:  ld 10, H_OBSERVED(31)
    .irp n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
    std \n, (\n - 14) * 8(10)
    .endr
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
    li 11, R_VS + \n * 16
    stxvd2x \n, 10, 11
    .endr
    mffs 0
    stfd 0, R_FPSCR(10)

    lfd 0, S_FPSCR(1)              /* the caller's FP environment back */
    mtfsf 0xff, 0
    .irp n, 20,21,22,23,24,25,26,27,28,29,30,31
    li 11, S_VR + (\n - 20) * 16
    lvx \n, 1, 11
    .endr
    .irp n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld \n, S_GPR + (\n - 14) * 8(1)
    lfd \n, S_FPR + (\n - 14) * 8(1)
    .endr
    addi 1, 1, FRAME
    blr
    .size live_arch_hold_registers_asm, . - live_arch_hold_registers_asm

    .section .note.GNU-stack, "", @progbits
