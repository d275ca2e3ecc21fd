/*
 * stacks-cxx: a C++ call path to operator new, for comparing memprof's
 * stacks (demangled) with gdb's:
 *
 *   main -> shapes::Factory::make(int) -> shapes::build<shapes::Blob>()
 *        -> operator new(STACKS_SIZE) -> malloc
 *   main -> shapes::BigMaker::make() (a virtual call) -> operator new(STACKS_SIZE + 1)
 *        -> malloc
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

struct Big {
	char bytes[STACKS_SIZE + 1];
};

struct Maker {
	virtual void *make() const = 0;
	virtual ~Maker() {}
};

struct BigMaker : Maker {
	NOINLINE void *make() const override;
};

void *BigMaker::make() const
{
	void *p = new Big;

	asm volatile("" ::: "memory");
	return p;
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

static const shapes::BigMaker big_maker;
static const shapes::Maker *volatile maker = &big_maker;

int main()
{
	sink = shapes::Factory::make(1);
	sink = maker->make();
	return 0;
}
