/* x86_64 register-holding loop; see tests/live/lib/registers.h.
 *
 * Held: rbx rbp r12-r15 (the syscall instruction clobbers only rax, rcx and
 * r11, and the loop passes syscall arguments in rdi rsi rdx r10 r8 and keeps
 * the argument block in r9), mxcsr, the x87 control word and all eight x87
 * registers, and xmm0-15 — or ymm0-15 when features bit 0 (AVX) is set.
 *
 * Layout of expected/observed (keep in sync with registers.c):
 *   0   rbx rbp r12 r13 r14 r15      6 x 8
 *   48  mxcsr (4 bytes, 4 pad)
 *   56  x87 control word (2 bytes, 6 pad)
 *   64  st0..st7                     8 x 16 (10 bytes used)
 *   192 ymm0..ymm15                  16 x 32 (low 16 bytes = xmm)
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

#define R_MXCSR 48
#define R_FCW 56
#define R_ST(i) (64 + (i) * 16)
#define R_Y(i) (192 + (i) * 32)
#define AT_FDCWD -100

    .text
    .globl live_arch_hold_registers_asm
    .type live_arch_hold_registers_asm, @function
live_arch_hold_registers_asm:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    sub $24, %rsp                 /* 0: spare, 8: caller's mxcsr, 12: caller's fcw */
    stmxcsr 8(%rsp)
    fnstcw 12(%rsp)
    mov %rdi, %r9
    mov H_EXPECTED(%r9), %rsi

    testq $1, H_FEATURES(%r9)
    jz 1f
    vmovdqu R_Y(0)(%rsi), %ymm0
    vmovdqu R_Y(1)(%rsi), %ymm1
    vmovdqu R_Y(2)(%rsi), %ymm2
    vmovdqu R_Y(3)(%rsi), %ymm3
    vmovdqu R_Y(4)(%rsi), %ymm4
    vmovdqu R_Y(5)(%rsi), %ymm5
    vmovdqu R_Y(6)(%rsi), %ymm6
    vmovdqu R_Y(7)(%rsi), %ymm7
    vmovdqu R_Y(8)(%rsi), %ymm8
    vmovdqu R_Y(9)(%rsi), %ymm9
    vmovdqu R_Y(10)(%rsi), %ymm10
    vmovdqu R_Y(11)(%rsi), %ymm11
    vmovdqu R_Y(12)(%rsi), %ymm12
    vmovdqu R_Y(13)(%rsi), %ymm13
    vmovdqu R_Y(14)(%rsi), %ymm14
    vmovdqu R_Y(15)(%rsi), %ymm15
    jmp 2f
1:  movdqu R_Y(0)(%rsi), %xmm0
    movdqu R_Y(1)(%rsi), %xmm1
    movdqu R_Y(2)(%rsi), %xmm2
    movdqu R_Y(3)(%rsi), %xmm3
    movdqu R_Y(4)(%rsi), %xmm4
    movdqu R_Y(5)(%rsi), %xmm5
    movdqu R_Y(6)(%rsi), %xmm6
    movdqu R_Y(7)(%rsi), %xmm7
    movdqu R_Y(8)(%rsi), %xmm8
    movdqu R_Y(9)(%rsi), %xmm9
    movdqu R_Y(10)(%rsi), %xmm10
    movdqu R_Y(11)(%rsi), %xmm11
    movdqu R_Y(12)(%rsi), %xmm12
    movdqu R_Y(13)(%rsi), %xmm13
    movdqu R_Y(14)(%rsi), %xmm14
    movdqu R_Y(15)(%rsi), %xmm15
2:  ldmxcsr R_MXCSR(%rsi)
    fldcw R_FCW(%rsi)
    fldt R_ST(7)(%rsi)            /* pushed last = st0 */
    fldt R_ST(6)(%rsi)
    fldt R_ST(5)(%rsi)
    fldt R_ST(4)(%rsi)
    fldt R_ST(3)(%rsi)
    fldt R_ST(2)(%rsi)
    fldt R_ST(1)(%rsi)
    fldt R_ST(0)(%rsi)
    mov 0(%rsi), %rbx
    mov 8(%rsi), %rbp
    mov 16(%rsi), %r12
    mov 24(%rsi), %r13
    mov 32(%rsi), %r14
    mov 40(%rsi), %r15

    /* Everything is loaded: ready (renameat2(AT_FDCWD, tmp, AT_FDCWD, ready, 0)). */
    mov H_NR_RENAMEAT2(%r9), %rax
    mov $AT_FDCWD, %rdi
    mov H_READY_TMP(%r9), %rsi
    mov $AT_FDCWD, %rdx
    mov H_READY_PATH(%r9), %r10
    xor %r8d, %r8d
    syscall
    mov %rax, H_RENAME_RESULT(%r9)

3:  mov H_NR_FACCESSAT(%r9), %rax /* faccessat(AT_FDCWD, check, F_OK) */
    mov $AT_FDCWD, %rdi
    mov H_CHECK_PATH(%r9), %rsi
    xor %edx, %edx
    syscall
    test %rax, %rax
    jz 4f
    incq H_POLLS(%r9)
    mov H_NR_NANOSLEEP(%r9), %rax /* nanosleep(interval, NULL); EINTR or not, poll again */
    mov H_INTERVAL(%r9), %rdi
    xor %esi, %esi
    syscall
    jmp 3b

4:  mov H_OBSERVED(%r9), %rsi
    mov %rbx, 0(%rsi)
    mov %rbp, 8(%rsi)
    mov %r12, 16(%rsi)
    mov %r13, 24(%rsi)
    mov %r14, 32(%rsi)
    mov %r15, 40(%rsi)
    stmxcsr R_MXCSR(%rsi)
    fnstcw R_FCW(%rsi)
    fstpt R_ST(0)(%rsi)
    fstpt R_ST(1)(%rsi)
    fstpt R_ST(2)(%rsi)
    fstpt R_ST(3)(%rsi)
    fstpt R_ST(4)(%rsi)
    fstpt R_ST(5)(%rsi)
    fstpt R_ST(6)(%rsi)
    fstpt R_ST(7)(%rsi)
    testq $1, H_FEATURES(%r9)
    jz 5f
    vmovdqu %ymm0, R_Y(0)(%rsi)
    vmovdqu %ymm1, R_Y(1)(%rsi)
    vmovdqu %ymm2, R_Y(2)(%rsi)
    vmovdqu %ymm3, R_Y(3)(%rsi)
    vmovdqu %ymm4, R_Y(4)(%rsi)
    vmovdqu %ymm5, R_Y(5)(%rsi)
    vmovdqu %ymm6, R_Y(6)(%rsi)
    vmovdqu %ymm7, R_Y(7)(%rsi)
    vmovdqu %ymm8, R_Y(8)(%rsi)
    vmovdqu %ymm9, R_Y(9)(%rsi)
    vmovdqu %ymm10, R_Y(10)(%rsi)
    vmovdqu %ymm11, R_Y(11)(%rsi)
    vmovdqu %ymm12, R_Y(12)(%rsi)
    vmovdqu %ymm13, R_Y(13)(%rsi)
    vmovdqu %ymm14, R_Y(14)(%rsi)
    vmovdqu %ymm15, R_Y(15)(%rsi)
    vzeroupper
    jmp 6f
5:  movdqu %xmm0, R_Y(0)(%rsi)
    movdqu %xmm1, R_Y(1)(%rsi)
    movdqu %xmm2, R_Y(2)(%rsi)
    movdqu %xmm3, R_Y(3)(%rsi)
    movdqu %xmm4, R_Y(4)(%rsi)
    movdqu %xmm5, R_Y(5)(%rsi)
    movdqu %xmm6, R_Y(6)(%rsi)
    movdqu %xmm7, R_Y(7)(%rsi)
    movdqu %xmm8, R_Y(8)(%rsi)
    movdqu %xmm9, R_Y(9)(%rsi)
    movdqu %xmm10, R_Y(10)(%rsi)
    movdqu %xmm11, R_Y(11)(%rsi)
    movdqu %xmm12, R_Y(12)(%rsi)
    movdqu %xmm13, R_Y(13)(%rsi)
    movdqu %xmm14, R_Y(14)(%rsi)
    movdqu %xmm15, R_Y(15)(%rsi)
6:  ldmxcsr 8(%rsp)               /* the caller's FP environment back */
    fldcw 12(%rsp)
    add $24, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret
    .size live_arch_hold_registers_asm, . - live_arch_hold_registers_asm

    .section .note.GNU-stack, "", @progbits
