/* Growable arrays: a pointer, a capacity and a count, grown by doubling. */
#ifndef MEMPROF_LIB_ARRAY_H
#define MEMPROF_LIB_ARRAY_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * The first of the entries lo .. hi - 1 of size bytes at base whose key (a
 * uint32_t at off in each, increasing) is at least key; hi when none is.
 */
static inline size_t array__lower_bound_u32(const void *base, size_t lo, size_t hi, size_t size,
					    size_t off, uint32_t key)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t k;

		memcpy(&k, (const char *)base + mid * size + off, sizeof(k));
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#endif
