/*
 * Inside the format library (format/): decoding the records of a chunk's
 * payload, with the delta state the writer resets at each chunk.  No file,
 * no thread: the reader (reader.c) calls it from its loading thread and
 * from its caller's.
 */
#ifndef MEMPROF_FORMAT_DECODE_H
#define MEMPROF_FORMAT_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "format/codec.h"
#include "format/mpf.h"

/*
 * A chunk's delta state, reset at its start as the writer does; and the
 * arrays its stacks are decoded into.
 */
struct dec_state {
	uint64_t time;
	uint64_t page;
	uint64_t cache_page;	/* the cache records' delta base (1.2) */
	uint64_t ptr;
	uint32_t stack_id;
	uint64_t stack_ip;
	uint64_t ips[MPF_STACK_MAX];
	uint64_t uregs[MPF_USTACK_REGS];
	uint32_t frame_id;	/* 1.5: FRAME's delta state */
	uint64_t frame_ip;
	uint32_t node_id;	/* 1.5: STACK_NODE's */
	uint32_t node_frame;
	uint32_t fids[MPF_STACK_MAX];
};

/* The decoded size of each type's fields, which record__next() zeroes. */
extern const size_t mpf_rec_size[MPF_REC__MAX];

void dec_state__reset(struct dec_state *s, uint64_t start_time);
/*
 * The next record of chunk into rec, with the delta state s: 1, 0 at the
 * chunk's end, -EBADMSG for an unsound record.  Pointers in rec (paths,
 * stacks) point into the chunk or into s.
 */
int record__next(struct dec_state *s, struct mpf_dec *chunk, struct mpf_record *rec);

#endif
