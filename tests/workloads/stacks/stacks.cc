/*
 * stacks-cxx: a C++ call path to operator new, for comparing memprof's
 * stacks (demangled) with gdb's:
 *
 *   main -> shapes::Factory::make(int) -> shapes::build<shapes::Blob>()
 *        -> operator new(STACKS_SIZE) -> malloc
 */
#include <cstddef>
#include <new>

#define STACKS_SIZE 12345
#define NOINLINE __attribute__((noinline))

void *volatile sink;

namespace shapes {

struct Blob {
	char bytes[STACKS_SIZE];
};

template <typename T> NOINLINE T *build()
{
	T *t = new T;

	asm volatile("" ::: "memory");
	return t;
}

struct Factory {
	NOINLINE static Blob *make(int n);
};

Blob *Factory::make(int n)
{
	Blob *b = n ? build<Blob>() : nullptr;

	asm volatile("" ::: "memory");
	return b;
}

} // namespace shapes

int main()
{
	sink = shapes::Factory::make(1);
	return 0;
}
