/*
 * --format=pprof: a gzipped profile.proto, what `go tool pprof` and the tools
 * built on it (pprof's web UI, Grafana Pyroscope, Polar Signals) read.  The
 * protobuf encoding is written by hand (varints and length-delimited fields
 * are all it takes) rather than pulling in a protobuf library for one
 * message type.
 *
 * It is built from the model's sites, not from the tree: pprof aggregates by
 * itself, and wants the addresses.  One Sample per site (process image and
 * stack) with six values, inuse_space/bytes, inuse_objects/count,
 * alloc_space/bytes, alloc_objects/count, temporary_space/bytes and
 * temporary_objects/count, so one file answers every --show (which picks the
 * sample type shown first); a Location per distinct frame
 * address of a mapping, with one Line per function there, the inlined ones
 * first; a Mapping per mapped file range, with its path and build-id.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <zlib.h>

#include "lib/array.h"
#include "lib/hashmap.h"
#include "lib/strtab.h"
#include "model/model.h"
#include "output/output.h"
#include "symbols/symbolize.h"

/* Functions at one address: the inlined ones and the one they are inlined into. */
#define PPROF_LINES_MAX 64

/* ---- protobuf encoding ---- */

enum { PB_VARINT = 0, PB_LEN = 2 };

struct pb {
	uint8_t *p;
	size_t len, cap;
	int err;	/* the first error; writes after it are dropped */
};

static void pb_bytes(struct pb *b, const void *data, size_t n)
{
	if (b->err)
		return;
	b->err = ARRAY_RESERVE(b->p, b->cap, b->len + n);
	if (b->err)
		return;
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void pb_varint(struct pb *b, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;

	do {
		buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_bytes(b, buf, n);
}

static void pb_key(struct pb *b, unsigned int field, unsigned int wire)
{
	pb_varint(b, (uint64_t)field << 3 | wire);
}

static void pb_uint(struct pb *b, unsigned int field, uint64_t v)
{
	/* proto3: a 0 is the default, and is not written. */
	if (!v)
		return;
	pb_key(b, field, PB_VARINT);
	pb_varint(b, v);
}

static void pb_data(struct pb *b, unsigned int field, const void *data, size_t n)
{
	pb_key(b, field, PB_LEN);
	pb_varint(b, n);
	pb_bytes(b, data, n);
}

/* sub as an embedded message, then empties it for reuse. */
static void pb_msg(struct pb *b, unsigned int field, struct pb *sub)
{
	if (sub->err && !b->err)
		b->err = sub->err;
	pb_data(b, field, sub->p, sub->len);
	sub->len = 0;
	sub->err = 0;
}

/* ---- the profile ---- */

struct pprof {
	struct model *m;
	struct symbolizer *sym;
	struct strtab *names;		/* the report's: frame names */
	struct strtab *strings;		/* the profile's string table */
	struct pb prof, msg, sub;	/* the Profile; a message and a message in it */
	struct hmap mappings;		/* (start, file id) -> Mapping id */
	struct hmap locations;		/* (mapping id << 1 | exact, address) -> Location id */
	struct hmap functions;		/* (name id, 0) -> Function id */
	uint64_t nr_mappings, nr_locations, nr_functions;
	int err;
};

static uint64_t pprof__string(struct pprof *pp, const char *s)
{
	int id = strtab__intern(pp->strings, s);

	if (id < 0) {
		pp->err = id;
		return 0;
	}
	return (uint64_t)id;
}

/*
 * A Function per name, "(inlined)" left out: pprof marks the Lines of an
 * inlined function itself ("calloc (inline)"), and names are what a Function
 * is matched by in pprof's views.
 */
static uint64_t pprof__function(struct pprof *pp, uint32_t name)
{
	const char *s = strtab__str(pp->names, name), *suffix = " (inlined)";
	size_t len = strlen(s), sl = strlen(suffix);
	uint64_t *v, id, str;
	int err;

	if (len > sl && !strcmp(s + len - sl, suffix)) {
		char buf[4096];
		int bare;

		snprintf(buf, sizeof(buf), "%.*s", (int)(len - sl), s);
		bare = strtab__intern(pp->names, buf);
		if (bare < 0) {
			pp->err = bare;
			return 0;
		}
		name = (uint32_t)bare;
	}
	v = hmap__find(&pp->functions, name, 0);
	if (v)
		return *v;
	id = ++pp->nr_functions;
	err = hmap__set(&pp->functions, name, 0, id);
	if (err) {
		pp->err = err;
		return 0;
	}
	str = pprof__string(pp, strtab__str(pp->names, name));
	pb_uint(&pp->msg, 1, id);
	pb_uint(&pp->msg, 2, str);
	pb_uint(&pp->msg, 3, str);
	pb_msg(&pp->prof, 5, &pp->msg);
	return id;
}

/* The Mapping of the file mapped at addr in image, 0 when none. */
static uint64_t pprof__mapping(struct pprof *pp, uint32_t image, uint64_t addr)
{
	const struct model_map *map = model__find_map(pp->m, image, addr);
	const struct model_file *mf;
	char build_id[2 * MPF_BUILD_ID_MAX + 1];
	uint64_t *v, id;
	int err;

	if (!map) {
		if (errno == ENOMEM)
			pp->err = -ENOMEM;
		return 0;
	}
	mf = map->file_id ? model__file(pp->m, map->file_id) : NULL;
	if (!mf)
		return 0;
	v = hmap__find(&pp->mappings, map->start, map->file_id);
	if (v)
		return *v;
	id = ++pp->nr_mappings;
	err = hmap__set(&pp->mappings, map->start, map->file_id, id);
	if (err) {
		pp->err = err;
		return 0;
	}
	for (uint32_t i = 0; i < mf->build_id_len && i < MPF_BUILD_ID_MAX; i++)
		snprintf(build_id + 2 * i, 3, "%02x", mf->build_id[i]);
	build_id[2 * (mf->build_id_len < MPF_BUILD_ID_MAX ? mf->build_id_len : MPF_BUILD_ID_MAX)] =
		'\0';
	pb_uint(&pp->msg, 1, id);
	pb_uint(&pp->msg, 2, map->start);
	pb_uint(&pp->msg, 3, map->end);
	pb_uint(&pp->msg, 4, map->pgoff);
	pb_uint(&pp->msg, 5, pprof__string(pp, mf->path));
	pb_uint(&pp->msg, 6, pprof__string(pp, build_id));
	pb_uint(&pp->msg, 7, 1);	/* has_functions: the Lines name them */
	pb_msg(&pp->prof, 3, &pp->msg);
	return id;
}

/* A Location of the given functions (innermost first) at addr, or the one already made. */
static uint64_t pprof__location(struct pprof *pp, uint64_t mapping, uint64_t addr, bool exact,
				const uint32_t *names, int n)
{
	uint64_t *v = hmap__find(&pp->locations, mapping << 1 | exact, addr);
	uint64_t id, fn[PPROF_LINES_MAX];
	int err;

	if (v)
		return *v;
	id = ++pp->nr_locations;
	err = hmap__set(&pp->locations, mapping << 1 | exact, addr, id);
	if (err) {
		pp->err = err;
		return 0;
	}
	/* Functions first: their messages go to pp->msg too. */
	for (int i = 0; i < n; i++)
		fn[i] = pprof__function(pp, names[i]);
	pb_uint(&pp->msg, 1, id);
	pb_uint(&pp->msg, 2, mapping);
	pb_uint(&pp->msg, 3, addr);
	for (int i = 0; i < n; i++) {
		pb_uint(&pp->sub, 1, fn[i]);
		pb_msg(&pp->msg, 4, &pp->sub);
	}
	pb_msg(&pp->prof, 4, &pp->msg);
	return id;
}

/* A location standing for a frame without an address: [kernel], [unknown], [incomplete]. */
static uint64_t pprof__pseudo(struct pprof *pp, const char *name)
{
	int id = strtab__intern(pp->names, name);
	uint32_t n;

	if (id < 0) {
		pp->err = id;
		return 0;
	}
	n = (uint32_t)id;
	/* Mapping ids are below 2^63: this key is no real one's. */
	return pprof__location(pp, UINT64_MAX >> 1, n, true, &n, 1);
}

static void pprof__sample(struct pprof *pp, const struct model_site *site, struct pb *locs)
{
	uint32_t names[PPROF_LINES_MAX];
	struct model_stack st;
	char proc[MPF_COMM_LEN + 32];
	const char *comm = model__comm(pp->m, site->image);
	struct pb *vals = &pp->sub;

	model__image_stack(pp->m, site->image, site->stack, &st);
	locs->len = 0;
	if (site->kernel)
		pb_varint(locs, pprof__pseudo(pp, "[kernel]"));
	for (uint32_t i = 0; i < st.nr && !pp->err; i++) {
		bool exact = i == 0 && (st.flags & MPF_STACK_FIRST_IS_IP);
		uint64_t mapping = pprof__mapping(pp, site->image, st.ips[i]);
		int n = symbolizer__frames(pp->sym, site->image, st.ips[i], exact, names,
					   PPROF_LINES_MAX);

		if (n < 0) {
			pp->err = n;
			break;
		}
		pb_varint(locs, pprof__location(pp, mapping, st.ips[i], exact, names, n));
	}
	if (st.flags & MPF_STACK_TRUNCATED)
		pb_varint(locs, pprof__pseudo(pp, "[incomplete]"));
	else if (!st.nr)
		pb_varint(locs, pprof__pseudo(pp, "[unknown]"));

	/* pprof__location wrote its messages through msg and sub: the sample's come after. */
	pb_data(&pp->msg, 1, locs->p, locs->len);
	vals->len = 0;
	pb_varint(vals, site->live_bytes);
	pb_varint(vals, site->live_nr);
	pb_varint(vals, site->alloc_bytes);
	pb_varint(vals, site->alloc_nr);
	pb_varint(vals, site->tmp_bytes);
	pb_varint(vals, site->tmp_nr);
	pb_data(&pp->msg, 2, vals->p, vals->len);
	vals->len = 0;
	snprintf(proc, sizeof(proc), "%s [%" PRIu32 "]", comm ? comm : "[unknown]",
		 model__pid(pp->m, site->image));
	pb_uint(vals, 1, pprof__string(pp, "process"));
	pb_uint(vals, 2, pprof__string(pp, proc));
	pb_msg(&pp->msg, 3, vals);
	pb_uint(vals, 1, pprof__string(pp, "pid"));
	pb_uint(vals, 3, model__pid(pp->m, site->image));
	pb_msg(&pp->msg, 3, vals);
	pb_msg(&pp->prof, 2, &pp->msg);
}

static void pprof__value_type(struct pprof *pp, const char *type, const char *unit)
{
	pb_uint(&pp->msg, 1, pprof__string(pp, type));
	pb_uint(&pp->msg, 2, pprof__string(pp, unit));
	pb_msg(&pp->prof, 1, &pp->msg);
}

/* data, gzipped (zlib's gzip wrapper: windowBits 15 + 16), to f. */
static int write_gzip(FILE *f, const uint8_t *data, size_t len)
{
	z_stream z = { 0 };
	uint8_t out[65536];
	int ret, err = 0;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	if (len > UINT32_MAX)
		err = -EFBIG;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		ret = deflate(&z, Z_FINISH);
		if (ret == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		if (fwrite(out, 1, sizeof(out) - z.avail_out, f) != sizeof(out) - z.avail_out) {
			err = -EIO;
			break;
		}
	} while (ret != Z_STREAM_END && !err);
	deflateEnd(&z);
	return err;
}

/*
 * pprof takes the first Mapping for the program's main binary: it is the
 * executable of the process with the most bytes, the file mapped lowest that
 * is not a shared object (a PIE at 0x55..., below its libraries and ld.so),
 * written before any sample's mappings.
 */
static void pprof__main_mapping(struct pprof *pp, unsigned int ev)
{
	struct model_site sbuf;
	const struct model_map *maps, *best = NULL;
	uint32_t image = MODEL_IMAGE_NONE;
	uint64_t most = 0;
	size_t n;

	for (size_t i = 0; i < model__nr_sites(pp->m, ev); i++) {
		const struct model_site *s = model__site(pp->m, ev, i, &sbuf);

		if (image == MODEL_IMAGE_NONE || s->alloc_bytes + s->live_bytes > most) {
			most = s->alloc_bytes + s->live_bytes;
			image = s->image;
		}
	}
	if (image == MODEL_IMAGE_NONE || model__maps(pp->m, image, &maps, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		const struct model_file *mf = maps[i].file_id ? model__file(pp->m, maps[i].file_id)
							      : NULL;
		const char *base, *so;

		if (!mf || mf->path[0] != '/' || !(maps[i].prot & MPF_PROT_EXEC))
			continue;
		base = strrchr(mf->path, '/') + 1;
		so = strstr(base, ".so");
		if (so && (!so[3] || so[3] == '.'))
			continue;
		best = &maps[i];
		break;
	}
	if (best)
		pprof__mapping(pp, image, best->start);
}

int output_pprof__print(FILE *f, struct model *m, struct symbolizer *sym, struct strtab *names,
			unsigned int ev, enum report_show show)
{
	struct model_site sbuf;
	struct pprof pp = { .m = m, .sym = sym, .names = names };
	struct pb locs = { 0 };
	int err;

	pp.strings = strtab__new();
	if (!pp.strings)
		return -ENOMEM;
	pprof__string(&pp, "");	/* string_table[0] must be "" */
	pprof__value_type(&pp, "inuse_space", "bytes");
	pprof__value_type(&pp, "inuse_objects", "count");
	pprof__value_type(&pp, "alloc_space", "bytes");
	pprof__value_type(&pp, "alloc_objects", "count");
	/* Heap blocks freed before their thread allocated again (--show=temporary). */
	pprof__value_type(&pp, "temporary_space", "bytes");
	pprof__value_type(&pp, "temporary_objects", "count");
	pprof__main_mapping(&pp, ev);
	for (size_t i = 0; i < model__nr_sites(m, ev) && !pp.err; i++) {
		const struct model_site *site = model__site(m, ev, i, &sbuf);

		if (site->alloc_bytes || site->live_bytes)
			pprof__sample(&pp, site, &locs);
	}
	/*
	 * The sample type shown first: what --show asks.  Live, leaks and peak
	 * are what is in use (the model read to its peak for peak; for the heap,
	 * the blocks never freed are the live ones).
	 */
	pb_uint(&pp.prof, 14,
		pprof__string(&pp, show == REPORT_SHOW_ALLOC	   ? "alloc_space"
				   : show == REPORT_SHOW_COUNT	   ? "alloc_objects"
				   : show == REPORT_SHOW_TEMPORARY ? "temporary_space"
								   : "inuse_space"));
	{
		char comment[64];

		snprintf(comment, sizeof(comment), "memprof: %s events", mpf_event_name(ev));
		pb_uint(&pp.prof, 13, pprof__string(&pp, comment));
	}
	/* The string table last, when every other field has interned its strings. */
	for (uint32_t i = 0; i < strtab__count(pp.strings); i++) {
		const char *str = strtab__str(pp.strings, i);

		pb_data(&pp.prof, 6, str, strlen(str));
	}
	err = pp.err ? pp.err : pp.prof.err ? pp.prof.err : locs.err;
	if (!err)
		err = write_gzip(f, pp.prof.p, pp.prof.len);
	if (!err && ferror(f))
		err = -EIO;
	free(pp.prof.p);
	free(pp.msg.p);
	free(pp.sub.p);
	free(locs.p);
	hmap__free(&pp.mappings);
	hmap__free(&pp.locations);
	hmap__free(&pp.functions);
	strtab__delete(pp.strings);
	return err;
}
