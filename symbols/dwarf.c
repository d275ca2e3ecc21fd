/*
 * Names from the DWARF (symbols/dwarf.h).  Inline frames: a function inlined
 * into another has no frame of its own on the stack, but its code is there,
 * and gdb shows it as a frame.  The DWARF scopes of an address
 * (dwarf_getscopes) list the inlined subroutines it is in, innermost first,
 * up to the real function.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
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

const char *dwarf_function(Dwfl_Module *mod, Dwarf_Addr addr)
{
	Dwarf_Die *cu, *scopes = NULL;
	const char *name = NULL;
	Dwarf_Addr bias;
	int n;

	cu = dwfl_module_addrdie(mod, addr, &bias);
	if (!cu)
		return NULL;
	n = dwarf_getscopes(cu, addr - bias, &scopes);
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
	n = dwarf_getscopes(cu, addr - bias, &scopes);
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
