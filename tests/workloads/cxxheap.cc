/*
 * cxxheap: C++'s operators new and delete with known sizes, for allocators
 * whose operators do not go through malloc (tcmalloc's).  Stacks main -> fn;
 * sizes as passed to the operator:
 *
 *   function       calls                                   allocated   live at exit
 *   new_objects    1000 x new Obj (48 bytes), kept             48000          48000
 *   new_arrays     50 x new char[8192], kept                  409600         409600
 *   new_nothrow    10 x new (nothrow) char[1000], kept         10000          10000
 *   new_aligned    20 x new Big (alignas(64), 256 bytes), kept  5120           5120
 *   deleted        200 x new Obj2 (64 bytes), deleted (sized)  12800              0
 *
 * It prints nothing and exits 0.
 */
#include <cstdlib>
#include <new>

#define NOINLINE __attribute__((noinline))

struct Obj {
	long v[6];
};
struct Obj2 {
	long v[8];
};
struct alignas(64) Big {
	char b[256];
};

static void *volatile keep[2048];
static unsigned int nkeep;

static void hold(void *p)
{
	if (!p)
		abort();
	keep[nkeep++ % 2048] = p;
}

NOINLINE void new_objects()
{
	for (int i = 0; i < 1000; i++)
		hold(new Obj());
}

NOINLINE void new_arrays()
{
	for (int i = 0; i < 50; i++)
		hold(new char[8192]);
}

NOINLINE void new_nothrow()
{
	for (int i = 0; i < 10; i++)
		hold(new (std::nothrow) char[1000]);
}

NOINLINE void new_aligned()
{
	for (int i = 0; i < 20; i++)
		hold(new Big());
}

NOINLINE void deleted()
{
	for (int i = 0; i < 200; i++) {
		Obj2 *volatile o = new Obj2();

		delete o;
	}
}

int main()
{
	static_assert(sizeof(Obj) == 48 && sizeof(Obj2) == 64 && sizeof(Big) == 256, "sizes");
	new_objects();
	new_arrays();
	new_nothrow();
	new_aligned();
	deleted();
	return 0;
}
