/* libstacks.so: an allocation one shared-library call away from its caller. */
#include <stdlib.h>

#include "libstacks.h"

__attribute__((noinline)) void *lib_alloc(size_t size)
{
	void *p = malloc(size);

	__asm__ volatile("" ::: "memory");	/* not a tail call */
	return p;
}
