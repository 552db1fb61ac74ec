/* s390x register-holding loop; see tests/live/lib/registers.h.
 *
 * Held: r7-r12, the floating-point control register, and f0-f15 — or all
 * of v0-v31 (whose left halves f0-f15 are) when features bit 0 (vector
 * facility) is set. A syscall (svc 0, number in r1, arguments in r2-r6)
 * returns in r2 and preserves every other register; the loop keeps the
 * argument block in r13. The block is big-endian: a field's low byte is at
 * offset + 7.
 *
 * Layout of expected/observed (keep in sync with registers.c):
 *   0   r7..r12   6 x 8
 *   48  fpc       4 (then 12 bytes pad)
 *   64  v0..v31   32 x 16 (without vectors: f0-f15 in the first 8 bytes
 *                 of the first 16 slots)
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
#define R_GPR 0
#define R_FPC 48
#define R_V 64

/* Frame: the 160-byte ABI area, f8-f15 at 160, the caller's fpc at 224. */
#define FRAME 232

    .machine "z13"                 /* vector instructions, used only with features bit 0 */
    .text
    .globl live_arch_hold_registers_asm
    .type live_arch_hold_registers_asm, @function
    .align 8
live_arch_hold_registers_asm:
    stmg %r6, %r15, 48(%r15)       /* into the caller's register save area */
    lgr %r1, %r15
    aghi %r15, -FRAME
    stg %r1, 0(%r15)               /* back chain */
    std %f8, 160(%r15)
    std %f9, 168(%r15)
    std %f10, 176(%r15)
    std %f11, 184(%r15)
    std %f12, 192(%r15)
    std %f13, 200(%r15)
    std %f14, 208(%r15)
    std %f15, 216(%r15)
    stfpc 224(%r15)
    lgr %r13, %r2

    lg %r5, H_EXPECTED(%r13)
    lfpc R_FPC(%r5)
    tm H_FEATURES + 7(%r13), 1
    jz 1f
    vlm %v0, %v15, R_V(%r5)
    vlm %v16, %v31, R_V + 256(%r5)
    j 2f
1:  ld %f0, R_V + 0 * 16(%r5)
    ld %f1, R_V + 1 * 16(%r5)
    ld %f2, R_V + 2 * 16(%r5)
    ld %f3, R_V + 3 * 16(%r5)
    ld %f4, R_V + 4 * 16(%r5)
    ld %f5, R_V + 5 * 16(%r5)
    ld %f6, R_V + 6 * 16(%r5)
    ld %f7, R_V + 7 * 16(%r5)
    ld %f8, R_V + 8 * 16(%r5)
    ld %f9, R_V + 9 * 16(%r5)
    ld %f10, R_V + 10 * 16(%r5)
    ld %f11, R_V + 11 * 16(%r5)
    ld %f12, R_V + 12 * 16(%r5)
    ld %f13, R_V + 13 * 16(%r5)
    ld %f14, R_V + 14 * 16(%r5)
    ld %f15, R_V + 15 * 16(%r5)
2:  lmg %r7, %r12, R_GPR(%r5)

    /* Everything is loaded: ready (renameat2(AT_FDCWD, tmp, AT_FDCWD, ready, 0)). */
    lg %r1, H_NR_RENAMEAT2(%r13)
    lghi %r2, AT_FDCWD
    lg %r3, H_READY_TMP(%r13)
    lghi %r4, AT_FDCWD
    lg %r5, H_READY_PATH(%r13)
    lghi %r6, 0
    svc 0
    stg %r2, H_RENAME_RESULT(%r13)

3:  lg %r1, H_NR_FACCESSAT(%r13)   /* faccessat(AT_FDCWD, check, F_OK) */
    lghi %r2, AT_FDCWD
    lg %r3, H_CHECK_PATH(%r13)
    lghi %r4, 0
    svc 0
    ltgr %r2, %r2
    jz 4f
    lg %r5, H_POLLS(%r13)
    aghi %r5, 1
    stg %r5, H_POLLS(%r13)
    lg %r1, H_NR_NANOSLEEP(%r13)   /* nanosleep(interval, NULL); EINTR or not, poll again */
    lg %r2, H_INTERVAL(%r13)
    lghi %r3, 0
    svc 0
    j 3b

4:  lg %r5, H_OBSERVED(%r13)
    stmg %r7, %r12, R_GPR(%r5)
    stfpc R_FPC(%r5)
    tm H_FEATURES + 7(%r13), 1
    jz 5f
    vstm %v0, %v15, R_V(%r5)
    vstm %v16, %v31, R_V + 256(%r5)
    j 6f
5:  std %f0, R_V + 0 * 16(%r5)
    std %f1, R_V + 1 * 16(%r5)
    std %f2, R_V + 2 * 16(%r5)
    std %f3, R_V + 3 * 16(%r5)
    std %f4, R_V + 4 * 16(%r5)
    std %f5, R_V + 5 * 16(%r5)
    std %f6, R_V + 6 * 16(%r5)
    std %f7, R_V + 7 * 16(%r5)
    std %f8, R_V + 8 * 16(%r5)
    std %f9, R_V + 9 * 16(%r5)
    std %f10, R_V + 10 * 16(%r5)
    std %f11, R_V + 11 * 16(%r5)
    std %f12, R_V + 12 * 16(%r5)
    std %f13, R_V + 13 * 16(%r5)
    std %f14, R_V + 14 * 16(%r5)
    std %f15, R_V + 15 * 16(%r5)

6:  lfpc 224(%r15)                 /* the caller's FP environment back */
    ld %f8, 160(%r15)
    ld %f9, 168(%r15)
    ld %f10, 176(%r15)
    ld %f11, 184(%r15)
    ld %f12, 192(%r15)
    ld %f13, 200(%r15)
    ld %f14, 208(%r15)
    ld %f15, 216(%r15)
    lmg %r6, %r15, FRAME + 48(%r15)
    br %r14
    .size live_arch_hold_registers_asm, . - live_arch_hold_registers_asm

    .section .note.GNU-stack, "", @progbits
