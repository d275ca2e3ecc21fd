/*
 * causes: two allocations whose stacks no walk can complete, one for each
 * cause the recorder counts that a program can produce at will:
 *
 *   main -> deep(200) -> ... -> deep(0) -> malloc(40000): 201 frames, past the
 *           127 a walk takes (the depth limit)
 *   main -> nocfi_alloc (nocfi.S: no call frame information, and rbp not a
 *           frame pointer, as in JIT-compiled code) -> malloc(40001)
 */
#include <stdlib.h>

void *nocfi_alloc(size_t size);

void *volatile sink;

__attribute__((noinline)) void deep(int n)
{
	if (n > 0)
		deep(n - 1);
	else
		sink = malloc(40000);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

int main(void)
{
	deep(200);
	sink = nocfi_alloc(40001);
	return 0;
}
