/*
 * The ring buffer's callback (record/events.h): each event goes to the
 * translation of its kind; and what every kind needs: its stack, interned or
 * copied, and the file paths the kernel side sends as their names.
 */
#include <stdio.h>
#include <string.h>

#include "record/events.h"

int recorder__write(struct recorder *r, const struct mpf_record *rec)
{
	int err = mpf_writer__write(r->w, rec);

	if (err && !r->write_err)
		r->write_err = err;
	return err;
}

void recorder__note(struct recorder *r, enum recorder_note_kind kind, pid_t pid,
		    const char *path, int err)
{
	const struct recorder_note n = { .kind = kind, .pid = pid, .path = path, .err = err };

	if (r->note)
		r->note(r->note_ctx, &n);
}

int event__stack(struct recorder *r, const struct mp_hdr *h, const __u64 *ips, size_t size,
		 uint32_t flags, uint32_t *id)
{
	const struct mp_ustack *u = (const void *)ips;
	int err;

	if (h->flags & MP_HDR_USTACK) {
		if (size < sizeof(*u) || size < sizeof(*u) + u->size) {
			*id = 0;
			return 0;
		}
		err = mpf_writer__ustack(r->w, r->ev_time, flags, (const uint64_t *)u->regs, u->data,
					 u->size, id);
	} else {
		__u64 fixed[MP_STACK_DEPTH + 8];
		size_t n = h->nr_ips;

		if (h->flags & MP_HDR_TRUNCATED)
			flags |= MPF_STACK_TRUNCATED;
		if ((h->flags & MP_HDR_LEAF) && n <= MP_STACK_DEPTH &&
		    size >= n * sizeof(__u64) + sizeof(struct mp_leaf)) {
			n = leaf__fixup(r->leaf, h->pid, (const uint64_t *)ips, n,
					(const struct mp_leaf *)(ips + n), (uint64_t *)fixed,
					sizeof(fixed) / sizeof(fixed[0]));
			ips = fixed;
		}
		err = mpf_writer__stack(r->w, r->ev_time, flags, (const uint64_t *)ips, (uint32_t)n, id);
	}
	if (err && !r->write_err)
		r->write_err = err;
	return err;
}

const char *event__path(const char *names, size_t size, char *out, size_t out_size)
{
	const char *comp[MP_PATH_DEPTH];
	size_t n = 0, off = 0, len = 0;

	while (off < size && names[off] && n < MP_PATH_DEPTH) {
		comp[n++] = names + off;
		off += strnlen(names + off, size - off) + 1;
	}
	if (!n || off >= size)
		return NULL;
	out[0] = '\0';
	while (n-- > 0 && len < out_size)
		len += snprintf(out + len, out_size - len, "/%s", comp[n]);
	return len < out_size ? out : NULL;
}

int recorder__event(void *ctx, void *data, size_t size)
{
	static int (*const handlers[])(struct recorder *r, const void *data, size_t size) = {
		[MP_PAGE_ALLOC] = event__page_alloc,
		[MP_PAGE_FREE] = event__page_free,
		[MP_HEAP_ALLOC] = event__heap_alloc,
		[MP_HEAP_FREE] = event__heap_free,
		[MP_FORK] = event__fork,
		[MP_EXEC] = event__exec,
		[MP_EXIT] = event__exit,
		[MP_MMAP_EXEC] = event__mmap_exec,
		[MP_CACHE_ADD] = event__cache,
		[MP_CACHE_DEL] = event__cache,
		[MP_VMCALL] = event__vmcall,
		[MP_COMM] = event__comm,
	};
	struct recorder *r = ctx;
	const struct mp_hdr *h = data;

	if (size < sizeof(*h) || h->kind >= sizeof(handlers) / sizeof(handlers[0]) ||
	    !handlers[h->kind])
		return 0;
	if (h->time > r->ev_time)
		r->ev_time = h->time;
	return handlers[h->kind](r, data, size);
}
