/* Growable arrays: a pointer, a capacity and a count, grown by doubling. */
#ifndef MEMPROF_LIB_ARRAY_H
#define MEMPROF_LIB_ARRAY_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Grows *p (of *cap elements of size) to hold at least n; 0 or -ENOMEM. */
static inline int array__reserve(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *q;

	if (n <= *cap)
		return 0;
	while (c < n) {
		if (c > SIZE_MAX / 2)
			return -ENOMEM;
		c *= 2;
	}
	if (c > SIZE_MAX / size)
		return -ENOMEM;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

/* Through a void * temporary, so that no pointer is written through a differently typed lvalue. */
#define ARRAY_RESERVE(p, cap, n)                                                              \
	({                                                                                    \
		void *q_ = (p);                                                               \
		int err_ = array__reserve(&q_, &(cap), (n), sizeof(*(p)));                    \
		(p) = q_;                                                                     \
		err_;                                                                         \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
