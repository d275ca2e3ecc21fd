/*
 * Offline DWARF unwinding of the stacks `record -g dwarf` copied: the
 * registers and the top of the user stack at the event, unwound with
 * libdwfl through the CFI (.eh_frame, .debug_frame) of the process image's
 * files, as perf does for --call-graph dwarf.  Memory reads are served from
 * the copy; an unwind stops where the copy ends.
 *
 * Each process image gets a Dwfl with its ELF files reported at the
 * addresses they were mapped at, built on the first stack of that image.
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf/lookup.h"
#include "elf/segments.h"
#include "model/model.h"
#include "symbols/unwind.h"

struct uw_image {
	uint32_t image;
	size_t nmaps;		/* the image's mappings when dwfl was built */
	Dwfl *dwfl;		/* NULL: nothing to unwind with */
};

struct unwinder {
	struct model *m;
	struct lookup *lookup;
	struct uw_image *imgs;
	size_t nimgs, imgs_cap;

	/* The unwind under way, read by the thread callbacks. */
	const struct mpf_ustack *cur;
	uint64_t *ips;
	uint32_t nr, max;
	bool ended;		/* the chain ended at a return address of 0 */
	bool missed;		/* a read fell outside the copy */
};

static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* model__set_unwinder's hook: unwinds in the model this unwinder was made for. */
static int unwind_hook(void *ctx, uint32_t image, const struct mpf_ustack *u, uint64_t *ips,
		       uint32_t max, bool *truncated)
{
	return unwinder__unwind(ctx, image, u, ips, max, truncated);
}

struct unwinder *unwinder__new(struct model *m, struct lookup *lookup)
{
	struct unwinder *uw = calloc(1, sizeof(*uw));

	if (!uw)
		return NULL;
	uw->m = m;
	uw->lookup = lookup;
	elf_version(EV_CURRENT);
	model__set_unwinder(m, unwind_hook, uw);
	return uw;
}

/* The ELF file of one of the trace's files, found as symbolization finds it: an fd or -1. */
static int open_file(struct unwinder *uw, const struct model_file *f)
{
	struct lookup_result res;
	int fd;

	if (lookup__elf(uw->lookup, f->path, f->build_id, f->build_id_len, &res))
		return -1;
	fd = res.fd;
	res.fd = -1;
	lookup_result__release(&res);
	return fd;
}

void unwinder__delete(struct unwinder *uw)
{
	if (!uw)
		return;
	for (size_t i = 0; i < uw->nimgs; i++)
		dwfl_end(uw->imgs[i].dwfl);
	free(uw->imgs);
	free(uw);
}

/* ---- the one thread libdwfl is told about: the stack being unwound ---- */

static pid_t uw_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	if (*thread_argp)
		return 0;
	*thread_argp = arg;
	return 1;
}

static bool uw_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwinder *uw = arg;
	const struct mpf_ustack *u = uw->cur;
	uint64_t sp = u->regs[7];

	if (addr < sp || addr - sp > u->size || u->size - (addr - sp) < sizeof(*result)) {
		uw->missed = true;
		return false;
	}
	memcpy(result, u->data + (addr - sp), sizeof(*result));
	return true;
}

static bool uw_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	const struct unwinder *uw = arg;
	Dwarf_Word regs[MPF_USTACK_REGS];

	for (int i = 0; i < MPF_USTACK_REGS; i++)
		regs[i] = uw->cur->regs[i];
	return dwfl_thread_state_registers(thread, 0, MPF_USTACK_REGS, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = uw_next_thread,
	.memory_read = uw_memory_read,
	.set_initial_registers = uw_set_initial_registers,
};

/*
 * Reports the file of map at the bias it was loaded with: the address the
 * map starts at, less the ELF address of its file offset.
 */
static void report_file(struct unwinder *uw, Dwfl *dwfl, const struct model_map *map,
			const struct model_file *f)
{
	struct elf_segments segs;
	uint64_t bias = 0;
	bool found = false;
	Elf *elf;
	int fd;

	fd = open_file(uw, f);
	if (fd < 0)
		return;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf_segments__load(&segs, elf)) {
		found = !elf_segments__bias(&segs, map->start, map->pgoff,
					    map->prot & MPF_PROT_EXEC, &bias);
		elf_segments__free(&segs);
	}
	if (elf)
		elf_end(elf);
	/* libdwfl takes the descriptor, and reads the file itself. */
	if (!found || !dwfl_report_elf(dwfl, f->path, f->path, fd, bias, false))
		close(fd);
}

static Dwfl *image_dwfl(struct unwinder *uw, uint32_t image)
{
	const struct model_map *maps = NULL;
	struct uw_image *ui;
	uint32_t *done = NULL;
	size_t n = 0, ndone = 0;
	Dwfl *dwfl;

	if (model__maps(uw->m, image, &maps, &n) || !n)
		return NULL;
	/* Built before the image mapped what it has now (libc, a dlopen): again. */
	for (size_t i = 0; i < uw->nimgs; i++) {
		if (uw->imgs[i].image != image)
			continue;
		if (uw->imgs[i].nmaps == n)
			return uw->imgs[i].dwfl;
		dwfl_end(uw->imgs[i].dwfl);
		uw->imgs[i] = uw->imgs[--uw->nimgs];
		break;
	}
	if (uw->nimgs == uw->imgs_cap) {
		size_t cap = uw->imgs_cap ? uw->imgs_cap * 2 : 16;
		void *p = realloc(uw->imgs, cap * sizeof(*uw->imgs));

		if (!p)
			return NULL;
		uw->imgs = p;
		uw->imgs_cap = cap;
	}
	ui = &uw->imgs[uw->nimgs++];
	ui->image = image;
	ui->nmaps = n;
	ui->dwfl = NULL;
	dwfl = dwfl_begin(&offline_callbacks);
	done = calloc(n, sizeof(*done));
	if (!dwfl || !done) {
		dwfl_end(dwfl);
		free(done);
		return NULL;
	}
	dwfl_report_begin(dwfl);
	/* Each file once, at its executable mapping: where code, and its CFI, runs. */
	for (size_t i = 0; i < n; i++) {
		const struct model_file *f;
		bool seen = false;

		if (!maps[i].file_id || !(maps[i].prot & MPF_PROT_EXEC))
			continue;
		for (size_t j = 0; j < ndone; j++)
			seen |= done[j] == maps[i].file_id;
		f = model__file(uw->m, maps[i].file_id);
		if (seen || !f || !f->path || f->path[0] != '/')
			continue;
		done[ndone++] = maps[i].file_id;
		report_file(uw, dwfl, &maps[i], f);
	}
	free(done);
	if (dwfl_report_end(dwfl, NULL, NULL) ||
	    !dwfl_attach_state(dwfl, NULL, 1, &thread_callbacks, uw)) {
		dwfl_end(dwfl);
		return NULL;
	}
	ui->dwfl = dwfl;
	return dwfl;
}

static int uw_frame(Dwfl_Frame *state, void *arg)
{
	struct unwinder *uw = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	/* A return address of 0 ends the chain, as _start leaves it. */
	if (!pc) {
		uw->ended = true;
		return DWARF_CB_ABORT;
	}
	uw->ips[uw->nr++] = pc;
	return uw->nr < uw->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/*
 * Whether pc is in the function a file starts the process at (its ELF entry
 * point: _start, of the program or of the dynamic loader).  Nothing called
 * it, whatever its CFI says about a return address.
 */
static bool at_entry(Dwfl *dwfl, Dwarf_Addr pc)
{
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
	GElf_Off off;
	GElf_Sym sym;
	GElf_Ehdr eh;
	Dwarf_Addr bias;
	const char *name;
	Elf *elf;

	if (!mod)
		return false;
	elf = dwfl_module_getelf(mod, &bias);
	/* pc is a return address: the call is the instruction before it. */
	if (!elf || !gelf_getehdr(elf, &eh) || !eh.e_entry ||
	    !(name = dwfl_module_addrinfo(mod, pc - 1, &off, &sym, NULL, NULL, NULL)))
		return false;
	/*
	 * ld.so's _start calls _dl_start, then falls through to _dl_start_user,
	 * which runs the libraries' constructors and jumps to the program: the
	 * root of what those constructors allocate, though not at the entry.
	 */
	return pc - 1 - off == eh.e_entry + bias || !strcmp(name, "_dl_start_user");
}

int unwinder__unwind(struct unwinder *uw, uint32_t image, const struct mpf_ustack *u,
		     uint64_t *ips, uint32_t max, bool *truncated)
{
	Dwfl *dwfl;
	int rc = -1;

	*truncated = false;
	if (!max)
		return 0;
	uw->cur = u;
	uw->ips = ips;
	uw->nr = 0;
	uw->max = max;
	uw->ended = false;
	uw->missed = false;
	dwfl = image_dwfl(uw, image);
	if (dwfl)
		rc = dwfl_getthread_frames(dwfl, 1, uw_frame, uw);
	/*
	 * 0: libdwfl found no caller, either at the outermost frame (its CFI
	 * leaves the return address undefined) or where a read of the return
	 * address fell outside the copy, which it takes for the same; else a
	 * file or its CFI ran out first.
	 */
	*truncated = (rc != 0 || uw->missed) && !uw->ended &&
		     !(dwfl && uw->nr && at_entry(dwfl, ips[uw->nr - 1]));
	/* Nothing to unwind with: the place of the event at least. */
	if (!uw->nr && u->regs[16])
		ips[uw->nr++] = u->regs[16];
	return uw->nr;
}
