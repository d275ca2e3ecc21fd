/*
 * Finding the mapping of an address in a process image: a sorted view of its
 * maps over those it inherited at its fork, built on the first lookup in
 * O(n log n) however the maps overlap, and bounded by a budget so that a
 * hostile trace cannot ask for time or memory quadratic in its size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/internal.h"

/* The views are snapshots of the maps: dropped when a record changes them. */
void model__drop_views(struct model *m)
{
	for (size_t i = 0; i < m->nimages; i++) {
		struct image *im = &m->images[i];

		if (im->view_owned)
			free(im->view);
		im->view = NULL;
		im->nview = 0;
		im->view_built = false;
		im->view_owned = false;
	}
	m->views_built = false;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The index of the first of the n sorted v not below x. */
static size_t lower_bound(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Union-find over elementary intervals: the first one from j not yet painted. */
static uint32_t unpainted(uint32_t *next, uint32_t j)
{
	uint32_t r = j, t;

	while (next[r] != r)
		r = next[r];
	while (next[j] != r) {
		t = next[j];
		next[j] = r;
		j = t;
	}
	return r;
}

/* Takes n entries from the views' budget; -E2BIG when it is spent. */
static int maps__charge(struct model *m, uint64_t n)
{
	uint64_t budget = VIEW_ENTRIES_BASE + VIEW_ENTRIES_PER_MAP * m->stats.records[MPF_REC_MAP];

	if (m->view_entries > budget || n > budget - m->view_entries)
		return -E2BIG;
	m->view_entries += n;
	return 0;
}

/*
 * The sorted, non-overlapping view of the nbase entries of base (sorted and
 * non-overlapping already) under the nmaps maps, a later map hiding what it
 * overlaps.  Painted from the top: the maps from the last, then base, each
 * over the elementary intervals between all their ends not painted yet, so
 * that each is painted once: O(n log n) in all, however the maps overlap.
 */
static int maps__overlay(struct model *m, const struct model_map *base, size_t nbase,
			 const struct model_map *maps, size_t nmaps, struct model_map **out,
			 size_t *nout)
{
	size_t n = nbase + nmaps, nc = 0, nv = 0;
	uint32_t *owner = NULL, *next = NULL;
	uint64_t *coords = NULL;
	struct model_map *v = NULL;
	int err;

	err = maps__charge(m, 3 * (uint64_t)n);
	if (err)
		return err;
	if (n > UINT32_MAX / 4)
		return -E2BIG;
	coords = malloc(2 * n * sizeof(*coords));
	if (!coords)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct model_map *mp = i < nbase ? &base[i] : &maps[i - nbase];

		coords[nc++] = mp->start;
		coords[nc++] = mp->end;
	}
	qsort(coords, nc, sizeof(*coords), u64_cmp);
	for (size_t i = 1, k = 1; i <= nc; i++) {
		if (i == nc) {
			nc = k;
			break;
		}
		if (coords[i] != coords[k - 1])
			coords[k++] = coords[i];
	}
	owner = malloc(nc * sizeof(*owner));
	next = malloc(nc * sizeof(*next));
	v = malloc(nc * sizeof(*v));
	if (!owner || !next || !v) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t j = 0; j < nc; j++) {
		owner[j] = UINT32_MAX;
		next[j] = (uint32_t)j;
	}
	/* nc - 1, the last end, starts no interval: never painted, it ends every search. */
	for (size_t i = n; i-- > 0;) {
		const struct model_map *mp = i < nbase ? &base[i] : &maps[i - nbase];
		uint32_t a = (uint32_t)lower_bound(coords, nc, mp->start);
		uint32_t b = (uint32_t)lower_bound(coords, nc, mp->end);

		for (uint32_t j = unpainted(next, a); j < b; j = unpainted(next, j)) {
			owner[j] = (uint32_t)i;
			next[j] = j + 1;
		}
	}
	for (size_t j = 0; j + 1 < nc; j++) {
		const struct model_map *mp;

		if (owner[j] == UINT32_MAX)
			continue;
		mp = owner[j] < nbase ? &base[owner[j]] : &maps[owner[j] - nbase];
		/* The rest of the piece before, cut by a map now gone: one piece again. */
		if (nv && owner[j - 1] == owner[j]) {
			v[nv - 1].end = coords[j + 1];
			continue;
		}
		v[nv] = *mp;
		v[nv].start = coords[j];
		v[nv].end = coords[j + 1];
		v[nv].pgoff = mp->pgoff + (coords[j] - mp->start);
		nv++;
	}
	*out = v;
	*nout = nv;
	v = NULL;
out:
	free(v);
	free(next);
	free(owner);
	free(coords);
	return err;
}

/*
 * The maps of image as of its first limit MAP records, over what it inherited.
 * *owned says whether the caller must free *out; the full view is cached.
 */
static int maps__view(struct model *m, uint32_t img, size_t limit, int depth,
		       struct model_map **out, size_t *nout, bool *owned)
{
	struct image *im = &m->images[img];
	struct model_map *base = NULL, *v;
	size_t nbase = 0, n;
	bool base_owned = false;
	int err;

	if (limit > im->nmaps)
		limit = im->nmaps;
	if (im->view_refused)
		return -E2BIG;
	if (limit == im->nmaps && im->view_built) {
		*out = im->view;
		*nout = im->nview;
		*owned = false;
		return 0;
	}
	if (im->parent != IMAGE_NONE && depth < FORK_DEPTH_MAX) {
		err = maps__view(m, im->parent, im->parent_maps, depth + 1, &base, &nbase,
				  &base_owned);
		if (err)
			goto refused;
	}
	if (!limit) {
		v = base;
		n = nbase;
	} else {
		err = maps__overlay(m, base, nbase, im->maps, limit, &v, &n);
		if (base_owned)
			free(base);
		if (err)
			goto refused;
		base_owned = true;
	}
	if (limit == im->nmaps && im->view_built) {
		/* Built meanwhile, through a chain the depth limit cut: keep the first. */
		if (base_owned)
			free(v);
		*out = im->view;
		*nout = im->nview;
		*owned = false;
		return 0;
	}
	if (limit == im->nmaps) {
		im->view = v;
		im->nview = n;
		im->view_owned = base_owned;
		im->view_built = true;
		m->views_built = true;
		base_owned = false;
	}
	*out = v;
	*nout = n;
	*owned = base_owned;
	return 0;
refused:
	/* Once past the budget, the image stays without maps rather than be tried again. */
	if (err == -E2BIG && !im->view_refused) {
		im->view_refused = true;
		m->stats.unmapped_images++;
	}
	return err;
}

int model__maps(struct model *m, uint32_t image, const struct model_map **maps, size_t *n)
{
	struct model_map *v;
	bool owned;
	int err;

	if (image >= m->nimages)
		return -EINVAL;
	err = maps__view(m, image, m->images[image].nmaps, 0, &v, n, &owned);
	if (err)
		return err;
	*maps = v;
	return 0;
}

const struct model_map *model__find_map(struct model *m, uint32_t image, uint64_t addr)
{
	struct model_map *v;
	size_t n, lo = 0, hi;
	bool owned;
	int err;

	errno = 0;
	if (image >= m->nimages)
		return NULL;
	err = maps__view(m, image, m->images[image].nmaps, 0, &v, &n, &owned);
	if (err) {
		errno = -err;
		return NULL;
	}
	/* The last map starting at or below addr. */
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < v[lo - 1].end)
		return &v[lo - 1];
	return NULL;
}

/* Whether code runs at addr in image: in an executable mapping, and not the uprobe trampoline's. */
static bool in_code(struct model *m, uint32_t image, uint64_t addr)
{
	const struct model_map *map = model__find_map(m, image, addr);
	const struct model_file *f;

	if (!map || !(map->prot & MPF_PROT_EXEC))
		return false;
	f = map->file_id ? model__file(m, map->file_id) : NULL;
	return !f || !f->path || strcmp(f->path, "[uprobes]");
}

bool model__image_checks_code(struct model *m, uint32_t image)
{
	const struct model_map *maps;
	size_t n = 0;

	/*
	 * A trace without the image's mappings, or without their protections
	 * (format 1.0), has nothing to check against.
	 */
	if (model__maps(m, image, &maps, &n) || !n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (maps[i].prot & MPF_PROT_EXEC)
			return true;
	return false;
}

bool model__frame_in_code(struct model *m, uint32_t image, uint64_t ip, bool exact)
{
	return ip && in_code(m, image, exact ? ip : ip - 1);
}

void model__image_stack(struct model *m, uint32_t image, uint32_t stack, struct model_stack *out)
{
	model__stack(m, stack, out);
	if (!out->nr || !model__image_checks_code(m, image))
		return;
	for (uint32_t i = 0; i < out->nr; i++) {
		bool exact = i == 0 && (out->flags & MPF_STACK_FIRST_IS_IP);

		if (model__frame_in_code(m, image, out->ips[i], exact))
			continue;
		out->nr = i;
		out->flags |= MPF_STACK_TRUNCATED;
		break;
	}
}
