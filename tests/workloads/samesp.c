/*
 * samesp: call paths that reach malloc with the same pc, stack pointer and
 * frame pointer, and differ only in the words above: the return addresses of
 * the frames further up.  A stack walk remembered by its first registers
 * must not answer for another.  Each path's blocks are kept (sizes in bytes,
 * stacks main -> path -> mid -> leaf -> malloc):
 *
 *   path   calls   size   live at exit
 *   a        600   1001         600600
 *   b        600   1002         601200
 *   big      400   1003         401200   (a 2,500-byte frame between main and mid)
 *   huge     400   1004         401600   (a 6,000-byte frame)
 *
 * They alternate, a path's calls now one after another from one call site,
 * now between the others': a a b a b b big big huge huge, 200 times.  The
 * program prints nothing.
 */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
#define ROUNDS 200

void *volatile sink;

NOINLINE void leaf(size_t size)
{
	sink = malloc(size);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

NOINLINE void mid(size_t size)
{
	leaf(size);
	__asm__ volatile("" ::: "memory");
}

NOINLINE void a(void)
{
	mid(1001);
	__asm__ volatile("" ::: "memory");
}

NOINLINE void b(void)
{
	mid(1002);
	__asm__ volatile("" ::: "memory");
}

/* A frame of its own size: the words of the walk lie that much further apart. */
#define FRAMED(name, bytes, size)                           \
	NOINLINE void name(void)                            \
	{                                                   \
		volatile char buf[bytes];                   \
		buf[0] = 1;                                 \
		mid(size);                                  \
		__asm__ volatile("" ::: "memory");          \
		buf[bytes - 1] = buf[0];                    \
	}

FRAMED(big, 2500, 1003)
FRAMED(huge, 6000, 1004)

/* Not a constant: the compiler must not unroll the loops, whose calls share a call site. */
static volatile int twice = 2;

int main(void)
{
	for (int i = 0; i < ROUNDS; i++) {
		for (int j = 0; j < twice; j++)
			a();
		b();
		a();
		for (int j = 0; j < twice; j++)
			b();
		for (int j = 0; j < twice; j++)
			big();
		for (int j = 0; j < twice; j++)
			huge();
	}
	return 0;
}
