/* libstacks.so: the shared library the stacks workloads allocate through. */
#ifndef LIBSTACKS_H
#define LIBSTACKS_H

#include <stddef.h>

#define STACKS_SIZE 12345

#ifdef __cplusplus
extern "C" {
#endif
void *lib_alloc(size_t size);
#ifdef __cplusplus
}
#endif

#endif
