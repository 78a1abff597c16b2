/*
 * Interrupt and exception entry stubs, all from one macro. Each stub pushes
 * a zero error code where the CPU does not (Intel SDM Vol. 3A §6.13) and its
 * vector, then joins trap_common, which saves the general registers and the
 * FPU/SSE state: handlers are ordinary C that may use SSE (picolibc does),
 * and the interrupted task must find its XMM registers untouched.
 */
#define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

	.altmacro
	.macro stub v
	.align 16
stub_\v:
	.if !HAS_ERR(\v)
	pushq $0
	.endif
	pushq $\v
	jmp trap_common
	.endm

	.macro stub_addr v
	.quad stub_\v
	.endm

	.text
	.set v, 0
	.rept 256
	stub %v
	.set v, v + 1
	.endr

trap_common:
	pushq %r15
	pushq %r14
	pushq %r13
	pushq %r12
	pushq %r11
	pushq %r10
	pushq %r9
	pushq %r8
	pushq %rbp
	pushq %rdi
	pushq %rsi
	pushq %rdx
	pushq %rcx
	pushq %rbx
	pushq %rax
	cld
	movq %rsp, %rbx			/* struct trap_frame *, callee-saved */
	subq $512, %rsp
	andq $-16, %rsp			/* fxsave needs 16-byte alignment */
	fxsave64 (%rsp)
	movq %rbx, %rdi
	call trap_dispatch
	fxrstor64 (%rsp)
	movq %rbx, %rsp
	popq %rax
	popq %rbx
	popq %rcx
	popq %rdx
	popq %rsi
	popq %rdi
	popq %rbp
	popq %r8
	popq %r9
	popq %r10
	popq %r11
	popq %r12
	popq %r13
	popq %r14
	popq %r15
	addq $16, %rsp			/* vector and error code */
	iretq

	/* Stub addresses for the IDT, in vector order. */
	.section .rodata
	.align 8
	.globl trap_stubs
trap_stubs:
	.set v, 0
	.rept 256
	stub_addr %v
	.set v, v + 1
	.endr
