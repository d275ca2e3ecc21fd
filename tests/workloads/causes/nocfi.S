/*
 * nocfi_alloc(size): malloc(size) from code without call frame information
 * (no .cfi directives, so no FDE), with rbp holding 1, not a frame pointer.
 */
	.text
	.globl	nocfi_alloc
	.type	nocfi_alloc, @function
nocfi_alloc:
	push	%rbp
	mov	$1, %rbp
	call	malloc@PLT
	pop	%rbp
	ret
	.size	nocfi_alloc, .-nocfi_alloc
	.section .note.GNU-stack,"",@progbits
