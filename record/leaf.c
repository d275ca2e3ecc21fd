/*
 * The callers a frame-pointer walk misses at an exact pc.  A page fault in
 * the C library's memset, or a system call made through its wrapper, stops
 * the target in a function that set up no frame of its own: the frame
 * pointer still names its caller's caller's frame, and the caller's return
 * address is on the stack, not in the chain.  The kernel side sends the
 * stack pointer and the words above it; here each function's call frame
 * information (.eh_frame) says where its canonical frame address (CFA) is,
 * so where its return address is, until a function whose CFA is its frame
 * pointer: that is the frame the chain starts from, and nothing was missed
 * between.  When the words run out first, or a function on the way changed
 * the frame pointer, the stack is left as the walk found it: only exact
 * frames are added, never guessed ones.
 *
 * What is learnt of each address (the rule at it) is kept, per process, in a
 * table of fixed size, forgotten when any process's mappings change.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf/segments.h"
#include "record/record.h"

#define REG_RBP		6	/* DWARF numbering, x86-64 */
#define REG_RSP		7
#define LEAF_DEPTH	4	/* frames without a frame pointer added at most */
#define RULES		(1u << 14)	/* the rules table's entries, a power of two */

enum rule_kind {
	RULE_UNKNOWN = 0,	/* no CFI, or none that says */
	RULE_SP,		/* CFA = sp + off, and the frame pointer is the caller's */
	RULE_FP,		/* CFA = frame pointer + off: a frame of its own */
	RULE_SP_CLOBBER,	/* CFA = sp + off, but the frame pointer is not the caller's */
};

struct rule {
	uint64_t key;		/* (pid, pc) hashed; 0: empty */
	uint64_t pc;
	uint32_t pid;
	uint32_t epoch;		/* leaf.epoch when it was found */
	uint8_t kind;		/* enum rule_kind */
	int32_t off;
};

struct cfi_file {
	bool tried;
	int fd;
	Elf *elf;
	Dwarf_CFI *cfi;
	struct elf_segments segs;	/* file offsets to addresses */
};

struct leaf {
	struct procmaps *pm;
	struct rule *rules;
	struct cfi_file *files;
	size_t nfiles;
	uint32_t epoch;		/* bumped when the mappings change: older rules are stale */
};

struct leaf *leaf__new(struct procmaps *pm)
{
	struct leaf *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->pm = pm;
	l->rules = calloc(RULES, sizeof(*l->rules));
	if (!l->rules) {
		free(l);
		return NULL;
	}
	elf_version(EV_CURRENT);
	return l;
}

void leaf__free(struct leaf *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nfiles; i++) {
		struct cfi_file *f = &l->files[i];

		if (f->cfi)
			dwarf_cfi_end(f->cfi);
		if (f->elf)
			elf_end(f->elf);
		if (f->fd >= 0 && f->tried)
			close(f->fd);
		elf_segments__free(&f->segs);
	}
	free(l->files);
	free(l->rules);
	free(l);
}

void leaf__forget(struct leaf *l)
{
	if (l)
		l->epoch++;
}

/* The file's CFI and segments, loaded the first time; NULL when it has none. */
static struct cfi_file *cfi_file(struct leaf *l, pid_t pid, const struct procmaps_loc *loc)
{
	struct cfi_file *f;

	if (loc->file >= l->nfiles) {
		size_t nn = loc->file + 16;
		struct cfi_file *v = realloc(l->files, nn * sizeof(*v));

		if (!v)
			return NULL;
		memset(v + l->nfiles, 0, (nn - l->nfiles) * sizeof(*v));
		l->files = v;
		l->nfiles = nn;
	}
	f = &l->files[loc->file];
	if (f->tried)
		return f->cfi ? f : NULL;
	f->tried = true;
	f->fd = procmaps__open(l->pm, pid, loc);
	if (f->fd < 0)
		return NULL;
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_segments__load(&f->segs, f->elf))
		return NULL;
	f->cfi = dwarf_getcfi_elf(f->elf);
	return f->cfi ? f : NULL;
}

/* The rule of the CFI at address pc of pid (pc - 1 for a return address). */
static void find_rule(struct leaf *l, pid_t pid, uint64_t pc, struct rule *r)
{
	Dwarf_Op ops_mem[3], *ops;
	struct procmaps_loc loc;
	struct cfi_file *f;
	Dwarf_Frame *frame = NULL;
	uint64_t vaddr = 0;
	size_t nops;

	r->kind = RULE_UNKNOWN;
	if (procmaps__locate(l->pm, pid, pc, &loc))
		return;
	f = cfi_file(l, pid, &loc);
	if (!f)
		return;
	if (elf_segments__vaddr(&f->segs, loc.offset, &vaddr) ||
	    dwarf_cfi_addrframe(f->cfi, vaddr, &frame))
		return;
	if (!dwarf_frame_cfa(frame, &ops, &nops) && nops == 1 &&
	    (ops[0].atom == DW_OP_bregx || ops[0].atom == DW_OP_breg0 + REG_RSP ||
	     ops[0].atom == DW_OP_breg0 + REG_RBP)) {
		unsigned int reg = ops[0].atom == DW_OP_bregx ? (unsigned int)ops[0].number
							      : (unsigned int)(ops[0].atom - DW_OP_breg0);
		int64_t off = ops[0].atom == DW_OP_bregx ? (int64_t)ops[0].number2
							 : (int64_t)ops[0].number;

		if (off >= INT32_MIN && off <= INT32_MAX) {
			r->off = (int32_t)off;
			if (reg == REG_RBP) {
				r->kind = RULE_FP;
			} else if (reg == REG_RSP) {
				/* Its caller's frame pointer is where it was unless this saved it. */
				r->kind = RULE_SP_CLOBBER;
				if (!dwarf_frame_register(frame, REG_RBP, ops_mem, &ops, &nops) &&
				    nops == 0 && ops == NULL)
					r->kind = RULE_SP;
			}
		}
	}
	free(frame);
}

static const struct rule *rule_at(struct leaf *l, pid_t pid, uint64_t pc)
{
	uint64_t key = ((uint64_t)(uint32_t)pid << 40 ^ pc) * 0x9e3779b97f4a7c15ull | 1;
	struct rule *r = &l->rules[(key >> 50) & (RULES - 1)];

	if (r->key == key && r->pc == pc && r->pid == (uint32_t)pid && r->epoch == l->epoch)
		return r;
	*r = (struct rule){ .key = key, .pc = pc, .pid = (uint32_t)pid, .epoch = l->epoch };
	find_rule(l, pid, pc, r);
	return r;
}

size_t leaf__fixup(struct leaf *l, pid_t pid, const uint64_t *ips, size_t nr,
		   const struct mp_leaf *lf, uint64_t *out, size_t max)
{
	uint64_t added[LEAF_DEPTH], cfa;
	const struct rule *r;
	size_t n = 0, i;

	memcpy(out, ips, (nr < max ? nr : max) * sizeof(*out));
	if (!l || !nr || nr >= max)
		return nr < max ? nr : max;
	/* The function at the pc: with a frame of its own, the chain has its caller. */
	r = rule_at(l, pid, ips[0]);
	if (r->kind != RULE_SP)
		return nr;
	cfa = lf->sp + (uint64_t)(int64_t)r->off;
	for (;;) {
		uint64_t slot = cfa - 8 - lf->sp, ra;

		if (cfa < lf->sp + 8 || slot % 8 || slot / 8 >= MP_LEAF_WORDS || n == LEAF_DEPTH)
			return nr;	/* beyond the words: nothing added rather than a guess */
		ra = lf->words[slot / 8];
		if (!ra)
			return nr;
		added[n++] = ra;
		/* Its caller, at the call: the instruction before the return address. */
		r = rule_at(l, pid, ra - 1);
		if (r->kind == RULE_FP)
			break;
		if (r->kind != RULE_SP)
			return nr;
		/* The caller's sp at the call was the callee's CFA. */
		cfa += (uint64_t)(int64_t)r->off;
	}
	/*
	 * The first function with a frame of its own owns the frame pointer the
	 * chain started from: the chain's ips[1] is its return address.
	 */
	if (nr + n > max)
		return nr;
	memmove(out + 1 + n, ips + 1, (nr - 1) * sizeof(*out));
	for (i = 0; i < n; i++)
		out[1 + i] = added[i];
	return nr + n;
}
