/*
 * Compiling an ELF file's call frame information into the rows the kernel
 * side walks stacks with (bpf/memprof.h, struct mp_cfi_row): libdw runs the
 * CFA programs of .eh_frame (or .debug_frame where that is all a file has);
 * here each row libdw reports is classified into one of the few forms real
 * code uses, and rows with the same rule are merged.
 *
 * libdw enumerates the FDEs (dwarf_next_cfi) but leaves each one's initial
 * location as the encoded bytes its CIE's augmentation says; the few pointer
 * encodings .eh_frame uses for it are decoded here.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "record/record.h"

#define REG_RBP		6	/* DWARF numbering, x86-64 */
#define REG_RSP		7
#define REG_RA		16
#define GAP_MIN		16	/* a gap between FDEs smaller than this is padding: no row */
#define CIES_MAX	64

struct fde_range {
	uint64_t lo, hi;
};

/* The size of an encoded pointer's value, 0 for the LEB128 forms. */
static int enc_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		return 8;
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		return 4;
	case DW_EH_PE_udata2:
	case DW_EH_PE_sdata2:
		return 2;
	default:
		return 0;
	}
}

static int read_leb(const uint8_t **p, const uint8_t *end, bool sign, uint64_t *v)
{
	uint64_t r = 0;
	unsigned int shift = 0;
	uint8_t b = 0x80;

	while (*p < end && (b & 0x80) && shift < 64) {
		b = *(*p)++;
		r |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	}
	if (b & 0x80)
		return -EINVAL;
	if (sign && shift < 64 && (b & 0x40))
		r |= ~0ull << shift;
	*v = r;
	return 0;
}

/*
 * A pointer encoded as enc at *p; with pcrel, relative to its own address
 * (secaddr is the address of the section at secbase).
 */
static int read_encoded(const uint8_t **p, const uint8_t *end, uint8_t enc, uint64_t secaddr,
			const uint8_t *secbase, uint64_t *val)
{
	const uint8_t *at = *p;
	int n = enc_size(enc);
	uint64_t v = 0;

	if (enc == DW_EH_PE_omit)
		return -EINVAL;
	if (n) {
		if (*p + n > end)
			return -EINVAL;
		if (n == 8) {
			memcpy(&v, *p, 8);
		} else if (n == 4) {
			uint32_t x;

			memcpy(&x, *p, 4);
			v = (enc & 0x0f) == DW_EH_PE_sdata4 ? (uint64_t)(int64_t)(int32_t)x : x;
		} else {
			uint16_t x;

			memcpy(&x, *p, 2);
			v = (enc & 0x0f) == DW_EH_PE_sdata2 ? (uint64_t)(int64_t)(int16_t)x : x;
		}
		*p += n;
	} else if (read_leb(p, end, (enc & 0x0f) == DW_EH_PE_sleb128, &v)) {
		return -EINVAL;
	}
	switch (enc & 0x70) {
	case DW_EH_PE_absptr:
		break;
	case DW_EH_PE_pcrel:
		v += secaddr + (uint64_t)(at - secbase);
		break;
	default:
		return -EINVAL;	/* textrel, datarel, funcrel: not used for initial locations */
	}
	*val = v;
	return 0;
}

/* The FDE pointer encoding of a CIE ('R' in its augmentation), and whether it is a signal frame. */
static void cie_encoding(const Dwarf_CIE *c, uint8_t *enc, bool *signal)
{
	const char *a = c->augmentation;
	const uint8_t *d = c->augmentation_data, *end = d + c->augmentation_data_size;
	uint64_t dummy;

	*enc = DW_EH_PE_absptr;
	*signal = a && strchr(a, 'S');
	if (!a || a[0] != 'z')
		return;
	for (a++; *a && d && d < end; a++) {
		switch (*a) {
		case 'R':
			*enc = *d++;
			break;
		case 'L':
			d++;
			break;
		case 'P': {
			uint8_t pe = *d++;

			if (read_encoded(&d, end, pe & 0x0f, 0, NULL, &dummy))
				return;
			break;
		}
		default:
			break;
		}
	}
}

struct cie_info {
	Dwarf_Off off;
	uint8_t enc;
	bool signal;
};

static int fde_cmp(const void *a, const void *b)
{
	const struct fde_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The address ranges of the file's FDEs, sorted. */
static int fde_ranges(Elf *elf, Elf_Data *data, uint64_t secaddr, bool eh,
		      struct fde_range **out, size_t *nout)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	struct cie_info cies[CIES_MAX];
	struct fde_range *v = NULL;
	size_t n = 0, cap = 0, ncies = 0;
	Dwarf_Off off = 0, next;
	Dwarf_CFI_Entry e;

	while (dwarf_next_cfi(ident, data, eh, off, &next, &e) == 0) {
		uint8_t enc = DW_EH_PE_absptr;
		const uint8_t *p;
		uint64_t lo, len;
		bool signal;
		size_t i;

		if (dwarf_cfi_cie_p(&e)) {
			if (ncies < CIES_MAX) {
				cies[ncies].off = off;
				cie_encoding(&e.cie, &cies[ncies].enc, &cies[ncies].signal);
				ncies++;
			}
			off = next;
			continue;
		}
		for (i = 0; i < ncies && cies[i].off != e.fde.CIE_pointer; i++)
			;
		if (i < ncies) {
			enc = cies[i].enc;
		} else {
			Dwarf_CFI_Entry c;
			Dwarf_Off n2;

			if (!dwarf_next_cfi(ident, data, eh, e.fde.CIE_pointer, &n2, &c) &&
			    dwarf_cfi_cie_p(&c))
				cie_encoding(&c.cie, &enc, &signal);
		}
		p = e.fde.start;
		off = next;
		if (read_encoded(&p, e.fde.end, eh ? enc : DW_EH_PE_absptr, secaddr, data->d_buf,
				 &lo) ||
		    read_encoded(&p, e.fde.end, eh ? enc & 0x0f : DW_EH_PE_absptr, 0, NULL, &len) ||
		    !len)
			continue;	/* unreadable, or discarded by the linker */
		if (ARRAY_RESERVE(v, cap, n + 1)) {
			free(v);
			return -ENOMEM;
		}
		v[n++] = (struct fde_range){ lo, lo + len };
	}
	if (n)
		qsort(v, n, sizeof(*v), fde_cmp);
	*out = v;
	*nout = n;
	return 0;
}

enum rule {
	RULE_SAME,
	RULE_UNDEFINED,
	RULE_AT_CFA,		/* saved at CFA + off */
	RULE_OTHER,
};

/* A register's rule, as libdw describes it. */
static enum rule reg_rule(Dwarf_Frame *fr, int reg, int64_t *off, Dwarf_Op **opsp,
			  size_t *nopsp)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;

	if (dwarf_frame_register(fr, reg, mem, &ops, &nops) < 0)
		return RULE_OTHER;
	*opsp = ops;
	*nopsp = nops;
	if (nops == 0)
		return ops ? RULE_UNDEFINED : RULE_SAME;
	/* libdw's form of offset(N): call_frame_cfa, then plus_uconst N unless N is 0. */
	if (ops == mem && ops[0].atom == DW_OP_call_frame_cfa) {
		if (nops == 1) {
			*off = 0;
			return RULE_AT_CFA;
		}
		if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
			*off = (int64_t)ops[1].number;
			return RULE_AT_CFA;
		}
	}
	return RULE_OTHER;
}

/* The PLT's CFA expression: rsp + 8 + ((rip & 15) >= lit) << 3; lit 10 or 11. */
static int plt_lit(const Dwarf_Op *o, size_t n)
{
	if (n != 9 || o[0].atom != DW_OP_breg7 || o[0].number != 8 || o[1].atom != DW_OP_breg16 ||
	    o[2].atom != DW_OP_lit15 || o[3].atom != DW_OP_and || o[5].atom != DW_OP_ge ||
	    o[6].atom != DW_OP_lit3 || o[7].atom != DW_OP_shl || o[8].atom != DW_OP_plus)
		return 0;
	return o[4].atom == DW_OP_lit10 ? 10 : o[4].atom == DW_OP_lit11 ? 11 : 0;
}

/* The CFA rule of a row into r: its kind, offset and aux. */
static void classify_cfa(Dwarf_Frame *fr, struct mp_cfi_row *r, unsigned int *aux)
{
	Dwarf_Op *ops;
	size_t nops;
	int64_t off;

	r->kind = MP_CFI_INVALID;
	if (dwarf_frame_cfa(fr, &ops, &nops) < 0 || !nops)
		return;
	/* libdw gives register + offset as DW_OP_bregx (reg, off). */
	if (nops == 1 && (ops[0].atom == DW_OP_bregx ||
			  (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg15))) {
		unsigned int reg = ops[0].atom == DW_OP_bregx ? (unsigned int)ops[0].number
							      : (unsigned int)(ops[0].atom - DW_OP_breg0);

		off = (int64_t)(ops[0].atom == DW_OP_bregx ? ops[0].number2 : ops[0].number);
		if (reg > 15 || off < 0 || (off & 7) || off / 8 > UINT16_MAX)
			return;
		r->cfa = (uint16_t)(off / 8);
		r->kind = reg == REG_RSP ? MP_CFI_RSP : reg == REG_RBP ? MP_CFI_RBP : MP_CFI_REG;
		*aux = r->kind == MP_CFI_REG ? reg : 0;
		return;
	}
	if (plt_lit(ops, nops)) {
		r->kind = plt_lit(ops, nops) == 11 ? MP_CFI_PLT11 : MP_CFI_PLT10;
		return;
	}
	/* CFA = *(reg + off) [+ post]: gcc's stack realignment, OpenSSL's assembly. */
	if ((nops == 2 || (nops == 3 && ops[2].atom == DW_OP_plus_uconst)) &&
	    ops[1].atom == DW_OP_deref && (ops[0].atom == DW_OP_breg7 || ops[0].atom == DW_OP_breg6)) {
		int64_t post = nops == 3 ? (int64_t)ops[2].number : 0;

		off = (int64_t)ops[0].number;
		if ((off & 7) || off / 8 < INT16_MIN || off / 8 > INT16_MAX || (post & 7) ||
		    post < 0 || post > 15 * 8)
			return;
		r->kind = ops[0].atom == DW_OP_breg7 ? MP_CFI_DEREF_RSP : MP_CFI_DEREF_RBP;
		r->cfa = (uint16_t)(int16_t)(off / 8);
		*aux = (unsigned int)(post / 8);
	}
}

/* The row of a CFI row libdw found at an address. */
static struct mp_cfi_row classify(Dwarf_Frame *fr, uint64_t pc, bool signal)
{
	struct mp_cfi_row r = { .pc = (uint32_t)pc, .rbp = MP_CFI_RBP_SAME };
	unsigned int aux = 0;
	Dwarf_Op *ops;
	size_t nops;
	int64_t off = 0;

	if (signal) {
		r.kind = MP_CFI_SIGNAL;
		return r;
	}
	classify_cfa(fr, &r, &aux);
	switch (reg_rule(fr, REG_RA, &off, &ops, &nops)) {
	case RULE_UNDEFINED:
		r.kind = MP_CFI_STOP;	/* _start, clone: the outermost frame */
		return r;
	case RULE_AT_CFA:
		if (off == -8)
			break;
		r.kind = MP_CFI_INVALID;
		return r;
	default:
		/* A return address elsewhere (vfork's, in a register): not expressible. */
		r.kind = MP_CFI_INVALID;
		return r;
	}
	if (r.kind == MP_CFI_INVALID)
		return r;
	switch (reg_rule(fr, REG_RBP, &off, &ops, &nops)) {
	case RULE_SAME:
		break;
	case RULE_AT_CFA:
		r.rbp = (off & 7) || off / 8 < -127 || off / 8 > 126 ? MP_CFI_RBP_LOST
								     : (int8_t)(off / 8);
		break;
	case RULE_OTHER:
		/* DW_CFA_expression rbp as *(rbp): libdw puts call_frame_cfa before it. */
		if (nops == 2 && ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_breg6 &&
		    ops[1].number == 0) {
			r.rbp = MP_CFI_RBP_AT_RBP;
			break;
		}
		/* fall through */
	default:
		r.rbp = MP_CFI_RBP_LOST;
		break;
	}
	r.kind |= aux << 4;
	return r;
}

static bool same_rule(const struct mp_cfi_row *a, const struct mp_cfi_row *b)
{
	return a->kind == b->kind && a->cfa == b->cfa && a->rbp == b->rbp;
}

/* Appends r, merging it with the row before when their rules are the same. */
static int push_row(struct cfi_rows *t, struct mp_cfi_row r, size_t *cap)
{
	if (t->n && t->rows[t->n - 1].pc == r.pc) {
		t->rows[t->n - 1] = r;
		if (t->n > 1 && same_rule(&t->rows[t->n - 2], &r))
			t->n--;
		return 0;
	}
	if (t->n && same_rule(&t->rows[t->n - 1], &r))
		return 0;
	if (ARRAY_RESERVE(t->rows, *cap, t->n + 1))
		return -ENOMEM;
	t->rows[t->n++] = r;
	return 0;
}

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh))
			continue;
		n = elf_strptr(elf, shstrndx, sh->sh_name);
		if (n && !strcmp(n, name) && sh->sh_type != SHT_NOBITS)
			return scn;
	}
	return NULL;
}

int cfi_build(Elf *elf, struct cfi_rows *t)
{
	struct fde_range *fdes = NULL;
	Dwarf_CFI *cfi = NULL;
	size_t nfdes = 0, cap = 0;
	uint64_t prev_hi = 0;
	Dwarf *dw = NULL;
	Elf_Data *data;
	Elf_Scn *scn;
	GElf_Shdr sh;
	bool eh = true;
	int err;

	memset(t, 0, sizeof(*t));
	scn = find_section(elf, ".eh_frame", &sh);
	cfi = scn ? dwarf_getcfi_elf(elf) : NULL;
	if (!cfi) {
		/* .debug_frame, where that is all the file has (some assembly, Go, -fno-asynchronous-unwind-tables). */
		eh = false;
		scn = find_section(elf, ".debug_frame", &sh);
		dw = scn ? dwarf_begin_elf(elf, DWARF_C_READ, NULL) : NULL;
		cfi = dw ? dwarf_getcfi(dw) : NULL;
		if (!cfi) {
			err = -ENOENT;
			goto out;
		}
	}
	data = elf_getdata(scn, NULL);
	err = data ? fde_ranges(elf, data, sh.sh_addr, eh, &fdes, &nfdes) : -ENOENT;
	if (err)
		goto out;
	for (size_t i = 0; i < nfdes; i++) {
		uint64_t lo = fdes[i].lo > prev_hi ? fdes[i].lo : prev_hi, hi = fdes[i].hi;

		if (hi > UINT32_MAX) {
			err = -EFBIG;	/* rows name addresses in 32 bits */
			goto out;
		}
		/* No FDE between two: the frame-pointer rule there. */
		if (t->n && lo >= prev_hi + GAP_MIN)
			err = push_row(t, (struct mp_cfi_row){ .pc = (uint32_t)prev_hi,
							       .kind = MP_CFI_NONE },
				       &cap);
		for (uint64_t a = lo; a < hi && !err;) {
			Dwarf_Addr start, end;
			Dwarf_Frame *fr;
			bool signal;

			if (dwarf_cfi_addrframe(cfi, a, &fr)) {
				err = push_row(t, (struct mp_cfi_row){ .pc = (uint32_t)a,
								       .kind = MP_CFI_INVALID },
					       &cap);
				break;
			}
			dwarf_frame_info(fr, &start, &end, &signal);
			err = push_row(t, classify(fr, a, signal), &cap);
			free(fr);
			if (end <= a)
				break;
			a = end;
		}
		if (err)
			goto out;
		if (hi > prev_hi)
			prev_hi = hi;
	}
	/* Past the last FDE, no CFI either. */
	if (t->n)
		err = push_row(t, (struct mp_cfi_row){ .pc = (uint32_t)prev_hi, .kind = MP_CFI_NONE },
			       &cap);
out:
	free(fdes);
	if (eh && cfi)
		dwarf_cfi_end(cfi);
	if (dw)
		dwarf_end(dw);
	if (err) {
		free(t->rows);
		memset(t, 0, sizeof(*t));
	}
	return err;
}
