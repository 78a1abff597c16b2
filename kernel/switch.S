/*
 * void sched_switch(uint64_t *save_rsp, uint64_t next_rsp)
 *
 * Cooperative context switch (model: xv6 swtch.S). Only the System V
 * callee-saved registers need saving: the caller of sched_switch has
 * already spilled everything else, including all XMM registers, which the
 * ABI makes caller-saved. MXCSR and the x87 control word are callee-saved
 * too, but no kernel code changes them, so every task shares one value.
 */
	.text
	.globl sched_switch
sched_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
