/*
 * Names from the DWARF (symbols/dwarf.h).  Inline frames: a function inlined
 * into another has no frame of its own on the stack, but its code is there,
 * and gdb shows it as a frame.  The DWARF scopes of an address
 * (dwarf_getscopes) list the inlined subroutines it is in, innermost first,
 * up to the real function.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stdlib.h>

#include "symbols/dwarf.h"

const char *dwarf_die_name(Dwarf_Die *die)
{
	static const unsigned int attrs[] = {
		DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name,
	};
	Dwarf_Attribute attr;
	const char *name;

	/* _integrate follows DW_AT_abstract_origin to where the names are. */
	for (size_t a = 0; a < sizeof(attrs) / sizeof(attrs[0]); a++) {
		if (!dwarf_attr_integrate(die, attrs[a], &attr))
			continue;
		name = dwarf_formstring(&attr);
		if (name && *name)
			return name;
	}
	return NULL;
}

/* DIEs that hold functions without holding code themselves. */
static bool holds_functions(int tag)
{
	switch (tag) {
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
	case DW_TAG_enumeration_type:
	case DW_TAG_variant_part:
	case DW_TAG_variant:
		return true;
	default:
		return false;
	}
}

/*
 * walk_scopes: the DIEs under parent whose code holds pc, outermost first,
 * appended to *v (up to max in all); true once a subprogram holds pc.
 */
static bool walk_scopes(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *v, int *n, int max,
			int depth)
{
	Dwarf_Die child;

	if (depth > 64 || dwarf_child(parent, &child))
		return false;
	do {
		int tag = dwarf_tag(&child);

		if (holds_functions(tag)) {
			if (walk_scopes(&child, pc, v, n, max, depth + 1))
				return true;
			continue;
		}
		if (dwarf_haspc(&child, pc) <= 0)
			continue;
		if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine &&
		    tag != DW_TAG_lexical_block)
			continue;
		if (*n < max)
			v[(*n)++] = child;
		walk_scopes(&child, pc, v, n, max, depth + 1);
		return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/*
 * The scopes holding pc (a CU address), innermost first, as dwarf_getscopes
 * gives them; or, where that fails (it does on some of rustc's DWARF, where
 * gdb does not), found by walking the CU's tree.  The count, or <= 0.
 */
static int pc_scopes(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die **scopes)
{
	enum { SCOPES_MAX = 128 };
	Dwarf_Die *v;
	int n = dwarf_getscopes(cu, pc, scopes);

	if (n > 0)
		return n;
	free(*scopes);
	*scopes = NULL;
	v = malloc(SCOPES_MAX * sizeof(*v));
	if (!v)
		return -1;
	n = 0;
	walk_scopes(cu, pc, v, &n, SCOPES_MAX, 0);
	/* innermost first */
	for (int i = 0; i < n / 2; i++) {
		Dwarf_Die t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
	*scopes = v;
	return n;
}

const char *dwarf_function(Dwfl_Module *mod, Dwarf_Addr addr)
{
	Dwarf_Die *cu, *scopes = NULL;
	const char *name = NULL;
	Dwarf_Addr bias;
	int n;

	cu = dwfl_module_addrdie(mod, addr, &bias);
	if (!cu)
		return NULL;
	n = pc_scopes(cu, addr - bias, &scopes);
	for (int i = 0; i < n; i++) {
		if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram) {
			name = dwarf_die_name(&scopes[i]);
			break;
		}
	}
	free(scopes);
	return name;
}

const char *source_line(Dwfl_Module *mod, Dwarf_Addr addr, int *line)
{
	Dwfl_Line *l = dwfl_module_getsrc(mod, addr);
	const char *file = l ? dwfl_lineinfo(l, NULL, line, NULL, NULL, NULL) : NULL;

	return file && *file && *line > 0 ? file : NULL;
}

/* The call site of an inlined subroutine: file and line in the function around it. */
static const char *call_site(Dwarf_Die *cu, Dwarf_Die *die, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word n;
	Dwarf_Files *files;
	const char *file;

	*line = 0;
	if (!dwarf_attr(die, DW_AT_call_line, &attr) || dwarf_formudata(&attr, &n))
		return NULL;
	*line = (int)n;
	if (!dwarf_attr(die, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &n) ||
	    dwarf_getsrcfiles(cu, &files, NULL))
		return NULL;
	file = dwarf_filesrc(files, n, NULL, NULL);
	return file;
}

int inline_frames(Dwfl_Module *mod, Dwarf_Addr addr, struct inline_frame *frames, int max,
		  const char **outer_file, int *outer_line)
{
	Dwarf_Die *cu, *scopes = NULL;
	Dwarf_Addr bias;
	Dwfl_Line *l;
	const char *file = NULL;
	int n, nr = 0, line = 0;

	*outer_file = NULL;
	*outer_line = 0;
	cu = dwfl_module_addrdie(mod, addr, &bias);
	if (!cu)
		return 0;
	n = pc_scopes(cu, addr - bias, &scopes);
	l = dwfl_module_getsrc(mod, addr);
	if (l)
		file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
	for (int i = 0; i < n && nr < max; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_subprogram)
			break;
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		frames[nr].name = dwarf_die_name(&scopes[i]);
		frames[nr].file = file;
		frames[nr].line = line;
		if (!frames[nr].name)
			frames[nr].name = "[unknown inline]";
		nr++;
		/* The next frame out is at this one's call site. */
		file = call_site(cu, &scopes[i], &line);
	}
	*outer_file = file;
	*outer_line = line;
	free(scopes);
	return nr;
}
