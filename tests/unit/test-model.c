/*
 * Unit tests of the report's model for the 1.2 events, fed records made by
 * hand: the address space calls (splits, mremap's pieces, brk, mmap over a
 * mapping), pages becoming page cache, RSS samples across exec and exit, and
 * the timeline; and the stack tree of 1.5's records and its bounds.  The end-to-end tests record the same with real BPF; these
 * pin down the cases a workload cannot make reliably.
 */
#include <string.h>

#include "model/model.h"
#include "tests/unit/unit.h"

#define KIB 1024ull
#define PID 100
#define A 0x7f0000000000ull
#define B 0x7f1000000000ull

static uint64_t now = 1000;

static void add(struct model *m, struct mpf_record rec)
{
	rec.time = now += 1000;
	CHECK(model__add(m, &rec) == 0);
}

static void stack(struct model *m, uint32_t id, uint64_t ip)
{
	static uint64_t ips[1];
	struct mpf_record rec = { .type = MPF_REC_STACK };

	ips[0] = ip;
	rec.stack = (struct mpf_stack){ .id = id, .nr = 1, .ips = ips };
	add(m, rec);
}

static void vm(struct model *m, uint32_t call, uint32_t stack_id, uint64_t addr, uint64_t len,
	       uint64_t old_addr, uint64_t old_len, uint32_t flags)
{
	struct mpf_record rec = { .type = MPF_REC_VM };

	rec.vm = (struct mpf_vm){ .pid = PID, .tid = PID, .call = call, .stack_id = stack_id,
				  .flags = flags, .addr = addr, .len = len, .old_addr = old_addr,
				  .old_len = old_len };
	add(m, rec);
}

/* The site of event type ev whose stack's one frame is ip: its live and allocated bytes. */
static const struct model_site *site_at(const struct model *m, unsigned int ev, uint64_t ip)
{
	/* A buffer per call of a test, which compares several sites. */
	static struct model_site bufs[8];
	static unsigned int next;
	struct model_site *sbuf = &bufs[next++ % 8];
	struct model_stack st;

	for (size_t i = 0; i < model__nr_sites(m, ev); i++) {
		const struct model_site *s = model__site(m, ev, i, sbuf);

		model__stack(m, s->stack, &st);
		if (st.nr == 1 && st.ips[0] == ip)
			return s;
	}
	return NULL;
}

static void test_vm_calls(void)
{
	struct model *m = model__new(4096);
	const struct model_site *s1, *s2, *s3;
	const struct model_proc *p;

	REQUIRE(m);
	stack(m, 1, 0x1111);
	stack(m, 2, 0x2222);
	stack(m, 3, 0x3333);
	/* 1 MiB, a hole of 256 KiB punched in the middle: two pieces. */
	vm(m, MPF_VM_MMAP, 1, A, 1024 * KIB, 0, 0, 0x22);
	vm(m, MPF_VM_MUNMAP, 0, A + 256 * KIB, 256 * KIB, 0, 0, 0);
	s1 = site_at(m, MPF_EV_MMAP, 0x1111);
	REQUIRE(s1);
	CHECK(s1->live_bytes == 768 * KIB && s1->live_nr == 2 && s1->alloc_bytes == 1024 * KIB);
	/* The first piece moved and grown to 512 KiB: it keeps its site, the growth is the mremap's. */
	vm(m, MPF_VM_MREMAP, 2, B, 512 * KIB, A, 256 * KIB, 1);
	s1 = site_at(m, MPF_EV_MMAP, 0x1111);
	s2 = site_at(m, MPF_EV_MMAP, 0x2222);
	REQUIRE(s1 && s2);
	CHECK(s1->live_bytes == 768 * KIB && s1->alloc_bytes == 1024 * KIB);
	CHECK(s2->live_bytes == 256 * KIB && s2->alloc_bytes == 256 * KIB && s2->alloc_nr == 1);
	/* Shrunk in place to 128 KiB: the mremap's growth goes, then part of the moved piece. */
	vm(m, MPF_VM_MREMAP, 2, B, 128 * KIB, B, 512 * KIB, 0);
	s1 = site_at(m, MPF_EV_MMAP, 0x1111);
	s2 = site_at(m, MPF_EV_MMAP, 0x2222);
	CHECK(s1->live_bytes == (512 + 128) * KIB && s2->live_bytes == 0);
	/* MAP_FIXED over the rest of the first mapping replaces it. */
	vm(m, MPF_VM_MMAP, 3, A + 512 * KIB, 512 * KIB, 0, 0, 0x32);
	s1 = site_at(m, MPF_EV_MMAP, 0x1111);
	s3 = site_at(m, MPF_EV_MMAP, 0x3333);
	CHECK(s1->live_bytes == 128 * KIB && s3->live_bytes == 512 * KIB);
	/* MREMAP_DONTUNMAP: the old range stays mapped. */
	vm(m, MPF_VM_MREMAP, 2, B + 4096 * KIB, 512 * KIB, A + 512 * KIB, 512 * KIB, 1 | 4);
	s2 = site_at(m, MPF_EV_MMAP, 0x2222);
	s3 = site_at(m, MPF_EV_MMAP, 0x3333);
	CHECK(s2->live_bytes == 512 * KIB && s3->live_bytes == 512 * KIB);
	/* brk: the break rounded up to pages, up 10 KiB then down to where it began. */
	vm(m, MPF_VM_BRK, 3, 0x555555559000ull + 10 * KIB, 0, 0x555555559000ull, 0, 0);
	CHECK(site_at(m, MPF_EV_MMAP, 0x3333)->live_bytes == (512 + 12) * KIB);
	vm(m, MPF_VM_BRK, 3, 0x555555559000ull, 0, 0x555555559000ull + 10 * KIB, 0, 0);
	CHECK(site_at(m, MPF_EV_MMAP, 0x3333)->live_bytes == 512 * KIB);

	p = model__proc(m, 0);
	REQUIRE(p);
	CHECK(p->calls[MPF_VM_MMAP] == 2 && p->calls[MPF_VM_MUNMAP] == 1 &&
	      p->calls[MPF_VM_MREMAP] == 3 && p->calls[MPF_VM_BRK] == 2);
	/* Allocated: 1 MiB, 256 KiB grown, 512 KiB fixed, 512 KiB kept apart, 12 KiB of break. */
	CHECK(p->alloc[MPF_EV_MMAP] == (1024 + 256 + 512 + 512 + 12) * KIB);
	/* Less what was unmapped: what is live, 128 KiB of the first, 512 fixed, 512 kept apart. */
	CHECK(p->alloc[MPF_EV_MMAP] - p->freed[MPF_EV_MMAP] == (128 + 512 + 512) * KIB);
	model__delete(m);
}

static void page(struct model *m, uint32_t type, uint64_t id, uint32_t order, uint32_t stack_id)
{
	struct mpf_record rec = { .type = type };

	switch (type) {
	case MPF_REC_PAGE_ALLOC:
		rec.page_alloc = (struct mpf_page_alloc){ .pid = PID, .tid = PID, .order = order,
							  .gfp = 0x140cca, .page = id,
							  .stack_id = stack_id };
		break;
	case MPF_REC_CACHE_ADD:
		rec.cache_add = (struct mpf_cache_add){ .pid = PID, .tid = PID, .order = order,
							.stack_id = stack_id, .page = id };
		break;
	case MPF_REC_CACHE_DEL:
		rec.cache_del = (struct mpf_cache_del){ .pid = 1, .order = order, .page = id };
		break;
	case MPF_REC_PAGE_FREE:
		rec.page_free = (struct mpf_page_free){ .pid = 1, .order = order, .page = id,
							.head = id };
		break;
	}
	add(m, rec);
}

static void test_cache(void)
{
	struct model *m = model__new(4096);
	const struct model_site *pg, *ca;

	REQUIRE(m);
	stack(m, 1, 0x1111);
	stack(m, 2, 0x2222);
	/* 4 pages, added to the page cache as one folio: cache now, not the process's. */
	page(m, MPF_REC_PAGE_ALLOC, 0x1000, 2, 1);
	page(m, MPF_REC_PAGE_ALLOC, 0x2000, 0, 1);
	page(m, MPF_REC_CACHE_ADD, 0x1000, 2, 2);
	pg = site_at(m, MPF_EV_PAGE, 0x1111);
	ca = site_at(m, MPF_EV_CACHE, 0x2222);
	REQUIRE(pg && ca);
	CHECK(pg->live_bytes == 4096 && pg->alloc_bytes == 5 * 4096);
	CHECK(ca->live_bytes == 4 * 4096 && ca->alloc_bytes == 4 * 4096 && ca->live_nr == 1);
	CHECK(model__proc(m, 0)->to_cache == 4 * 4096 && model__proc(m, 0)->freed[MPF_EV_PAGE] == 0);
	/* Half deleted from the cache (a split folio), then its pages freed: the page side ignores them. */
	page(m, MPF_REC_CACHE_DEL, 0x1002, 1, 0);
	page(m, MPF_REC_PAGE_FREE, 0x1002, 1, 0);
	ca = site_at(m, MPF_EV_CACHE, 0x2222);
	pg = site_at(m, MPF_EV_PAGE, 0x1111);
	CHECK(ca->live_bytes == 2 * 4096 && ca->live_nr == 1);
	CHECK(pg->live_bytes == 4096);
	/* An exit deletes nothing from the cache. */
	add(m, (struct mpf_record){ .type = MPF_REC_EXIT, .exit = { PID, 0 } });
	CHECK(site_at(m, MPF_EV_CACHE, 0x2222)->live_bytes == 2 * 4096);
	page(m, MPF_REC_CACHE_DEL, 0x1000, 1, 0);
	ca = site_at(m, MPF_EV_CACHE, 0x2222);
	CHECK(ca->live_bytes == 0 && ca->live_nr == 0);
	CHECK(model__peak(m, MPF_EV_CACHE)->bytes == 4 * 4096);
	model__delete(m);
}

static void rss(struct model *m, uint32_t pid, uint64_t anon, uint64_t hwm)
{
	add(m, (struct mpf_record){ .type = MPF_REC_RSS,
				    .rss = { .pid = pid, .anon = anon, .file = 100, .hwm = hwm } });
}

static void test_rss_timeline(void)
{
	struct model *m = model__new(4096);
	const struct model_point *pts;
	const struct model_proc *p;
	size_t n;

	REQUIRE(m);
	rss(m, PID, 1000, 1100);
	/* A child, sampled before its exec (its parent's copy), then after. */
	add(m, (struct mpf_record){ .type = MPF_REC_FORK, .fork = { PID, PID + 1 } });
	rss(m, PID + 1, 1000, 1100);
	add(m, (struct mpf_record){ .type = MPF_REC_EXEC, .exec = { .pid = PID + 1, .filename = "/bin/cat" } });
	rss(m, PID + 1, 50, 150);
	rss(m, PID + 1, 5000, 5100);
	pts = model__timeline(m, &n);
	REQUIRE(n);
	/* The parent's 1100 and the exec'd child's 5100; its pre-exec copy is gone. */
	CHECK(pts[n - 1].live[MPF_EV_RSS] == 1100 + 5100);
	add(m, (struct mpf_record){ .type = MPF_REC_EXIT, .exit = { PID + 1, 0 } });
	add(m, (struct mpf_record){ .type = MPF_REC_EXIT, .exit = { PID, 3 << 8 } });
	pts = model__timeline(m, &n);
	REQUIRE(n >= 2);
	CHECK(pts[n - 1].live[MPF_EV_RSS] == 0);
	for (size_t i = 1; i < n; i++)
		CHECK(pts[i].time >= pts[i - 1].time);
	CHECK(model__peak(m, MPF_EV_RSS)->bytes == 1100 + 5100);
	/* --stat's view of the child: from its fork, through its exec, to its exit. */
	p = model__proc(m, 2);
	REQUIRE(p);
	CHECK(p->prev == 1 && model__proc(m, 1)->replaced && p->exited && p->exit_status == 0);
	CHECK(p->rss_first.anon == 50 && p->rss_last.anon == 5000 && p->rss_peak == 5100);
	CHECK(p->start_time == model__proc(m, 1)->start_time);
	CHECK(model__proc(m, 0)->exit_status == 3 << 8);
	model__delete(m);
}

/*
 * The stack table: equal stacks under many ids are kept once, and a table
 * past its budget (32 MiB for a trace of unknown size, plus 16 bytes per
 * byte of the trace) keeps no more: the events of its stacks have none, and
 * they are not counted as undefined.
 */
static void test_stack_budget(void)
{
	struct model_site sbuf;
	static uint64_t ips[MPF_STACK_MAX];
	struct mpf_record rec = { .type = MPF_REC_STACK }, ha = { .type = MPF_REC_HEAP_ALLOC };
	const struct model_stats *st;
	struct model *m = model__new(4096);
	struct model_stack ms;
	uint32_t id = 0;

	REQUIRE(m);
	st = model__stats(m);
	CHECK(st->stack_budget == MODEL_STACK_BUDGET_BASE);
	model__set_trace_size(m, 1000);
	CHECK(st->stack_budget == MODEL_STACK_BUDGET_BASE + 1000 * MODEL_STACK_BUDGET_PER_BYTE);
	for (int k = 0; k < MPF_STACK_MAX; k++)
		ips[k] = 0x401000;
	/* 10000 ids of one stack of 512 frames: 512 nodes once (9 KiB), not 40 MiB. */
	for (id = 1; id <= 10000; id++) {
		rec.stack = (struct mpf_stack){ .id = id, .nr = MPF_STACK_MAX, .ips = ips };
		add(m, rec);
	}
	CHECK(!st->stacks_dropped && st->stack_bytes < (1u << 20));
	CHECK(model__nr_stacks(m) == 2 + MPF_STACK_MAX && model__nr_frames(m) == 1);
	model__stack(m, (uint32_t)model__nr_stacks(m) - 1, &ms);
	CHECK(ms.nr == MPF_STACK_MAX && ms.ips[0] == 0x401000 && !ms.flags);
	/* Different stacks: kept until the budget is reached, then dropped. */
	for (; id <= 20000; id++) {
		ips[MPF_STACK_MAX - 1] = 0x500000 + id;
		rec.stack = (struct mpf_stack){ .id = id, .nr = MPF_STACK_MAX, .ips = ips };
		add(m, rec);
	}
	CHECK(st->stacks_dropped > 0 && st->stacks_dropped < 10000);
	CHECK(st->stack_bytes <= st->stack_budget);
	ha.heap_alloc = (struct mpf_heap_alloc){ .pid = PID, .tid = PID, .stack_id = 20000,
						 .ptr = 0x1000, .size = 64 };
	add(m, ha);
	ha.heap_alloc.stack_id = 5;
	ha.heap_alloc.ptr = 0x2000;
	add(m, ha);
	CHECK(st->undefined_stacks == 0);
	CHECK(model__nr_sites(m, MPF_EV_HEAP) == 2);
	for (size_t i = 0; i < model__nr_sites(m, MPF_EV_HEAP); i++) {
		const struct model_site *s = model__site(m, MPF_EV_HEAP, i, &sbuf);

		model__stack(m, s->stack, &ms);
		CHECK(ms.nr == (s->stack == MODEL_STACK_EMPTY ? 0 : MPF_STACK_MAX));
	}
	model__delete(m);
}

static void frames(struct model *m, uint32_t id, uint32_t flags, const uint64_t *ips, uint32_t nr)
{
	struct mpf_record rec = { .type = MPF_REC_FRAME };

	rec.frame = (struct mpf_frame){ .id = id, .flags = flags, .nr = nr, .ips = ips };
	add(m, rec);
}

static void nodes(struct model *m, uint32_t id, uint32_t parent, uint32_t flags,
		  const uint32_t *fids, uint32_t nr)
{
	struct mpf_record rec = { .type = MPF_REC_STACK_NODE };

	rec.stack_node = (struct mpf_stack_node){ .id = id, .parent = parent, .flags = flags,
						  .nr = nr, .frames = fids };
	add(m, rec);
}

/*
 * The stack a heap allocation naming stack id gets, whole: each by a thread
 * of its own, so that its site is the newest.
 */
static void stack_of_id(struct model *m, uint32_t id, struct model_stack *out)
{
	struct model_site sbuf;
	static uint32_t tid = 1000;
	struct mpf_record ha = { .type = MPF_REC_HEAP_ALLOC };
	const struct model_site *s;

	tid++;
	ha.heap_alloc = (struct mpf_heap_alloc){ .pid = PID, .tid = tid, .stack_id = id,
						 .ptr = 0x10000 + tid * 16, .size = 1 };
	add(m, ha);
	s = model__site(m, MPF_EV_HEAP, model__nr_sites(m, MPF_EV_HEAP) - 1, &sbuf);
	out->nr = UINT32_MAX;
	if (s && s->tid == tid)
		model__stack(m, s->stack, out);
}

/*
 * Format 1.5's stacks: FRAME and STACK_NODE records make the tree the model
 * keeps as it is; a whole STACK of an older trace lands on the same nodes
 * when its frames are the same; ids redefined take their latest definition;
 * nodes of undefined parents or frames, or deeper than MPF_STACK_MAX, are
 * not kept.
 */
static void test_stack_tree(void)
{
	static const uint64_t ips[] = { 0x400100, 0x400200, 0x400300 }, leaf = 0x400400;
	struct model *m = model__new(4096);
	const struct model_stats *st;
	static uint32_t deep[MPF_STACK_MAX];
	struct model_stack ms;
	size_t nstacks;

	REQUIRE(m);
	st = model__stats(m);
	frames(m, 1, 0, ips, 3);			/* frames 1 2 3: outermost first */
	frames(m, 4, MPF_FRAME_EXACT, &leaf, 1);	/* 4: an exact pc */
	nodes(m, 1, 0, 0, (const uint32_t[]){ 1, 2, 3 }, 3);	/* 1 <- 2 <- 3 */
	nodes(m, 4, 2, 0, (const uint32_t[]){ 4 }, 1);		/* 2 <- 4 */
	nodes(m, 5, 0, MPF_STACK_TRUNCATED, (const uint32_t[]){ 3 }, 1);
	CHECK(model__nr_stacks(m) == 2 + 5 && model__nr_frames(m) == 4);
	stack_of_id(m, 3, &ms);
	CHECK(ms.nr == 3 && ms.ips[0] == 0x400300 && ms.ips[2] == 0x400100 && ms.flags == 0);
	stack_of_id(m, 4, &ms);
	CHECK(ms.nr == 3 && ms.ips[0] == leaf && ms.ips[1] == 0x400200 &&
	      ms.flags == MPF_STACK_FIRST_IS_IP);
	stack_of_id(m, 5, &ms);
	CHECK(ms.nr == 1 && ms.ips[0] == 0x400300 && ms.flags == MPF_STACK_TRUNCATED);
	stack_of_id(m, 1, &ms);
	CHECK(ms.nr == 1 && ms.ips[0] == 0x400100);

	/* Frames are kept once per address and kind, whatever their ids. */
	frames(m, 9, 0, ips + 1, 1);
	CHECK(model__nr_frames(m) == 4);
	nodes(m, 6, 1, 0, (const uint32_t[]){ 9 }, 1);
	stack_of_id(m, 6, &ms);
	CHECK(ms.nr == 2 && ms.ips[0] == 0x400200 && ms.ips[1] == 0x400100);

	/* A redefined id (out of order): its latest definition from now on. */
	nodes(m, 2, 4, 0, (const uint32_t[]){ 1 }, 1);
	stack_of_id(m, 2, &ms);
	CHECK(ms.nr == 4 && ms.ips[0] == 0x400100 && ms.ips[1] == leaf);
	stack_of_id(m, 3, &ms);
	CHECK(ms.nr == 3);

	/* Undefined parents and frames, too deep: not kept, their ids stay undefined. */
	nstacks = model__nr_stacks(m);
	nodes(m, 10, 99, 0, (const uint32_t[]){ 1 }, 1);
	nodes(m, 11, 0, 0, (const uint32_t[]){ 77 }, 1);
	for (int k = 0; k < MPF_STACK_MAX; k++)
		deep[k] = 1;
	nodes(m, 12, 3, 0, deep, MPF_STACK_MAX);	/* 3 + 512 frames */
	CHECK(st->stacks_bad == 3 && model__nr_stacks(m) == nstacks);
	stack_of_id(m, 10, &ms);
	CHECK(ms.nr == 0);
	CHECK(st->undefined_stacks == 1);
	nodes(m, 12, 0, 0, deep, MPF_STACK_MAX);	/* 512: fits */
	stack_of_id(m, 12 + MPF_STACK_MAX - 1, &ms);
	CHECK(ms.nr == MPF_STACK_MAX && ms.ips[0] == 0x400100);

	/* A STACK record of an older trace: the same frames make the same nodes. */
	nstacks = model__nr_stacks(m);
	add(m, (struct mpf_record){ .type = MPF_REC_STACK,
				    .stack = { .id = 5000, .nr = 2,
					       .ips = (const uint64_t[]){ 0x400300, 0x400200 } } });
	add(m, (struct mpf_record){ .type = MPF_REC_STACK,
				    .stack = { .id = 5001, .nr = 2,
					       .ips = (const uint64_t[]){ 0x400300, 0x400200 } } });
	CHECK(model__nr_stacks(m) == nstacks + 2);
	stack_of_id(m, 5001, &ms);
	CHECK(ms.nr == 2 && ms.ips[0] == 0x400300 && ms.ips[1] == 0x400200);
	model__delete(m);
}

/*
 * The compact tree (model/internal.h): random stacks of random depths, each
 * node's parent, depth and frame as written, across many 64-node words of
 * head bits, and frame indices past what two bytes hold (the nodes widen
 * half-way).  Then sites by stack: in order, out of order, and a stack's
 * second site (another thread), each found again.
 */
#define WIDE_FRAMES 70000u
#define WIDE_RECORDS 3000u

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void test_stack_wide(void)
{
	static uint64_t ips[MPF_STACK_MAX];
	static uint32_t par[200000], fr[200000], dep[200000], fids[64];
	struct model *m = model__new(4096);
	uint32_t next = 1, ok = 1;
	uint64_t rnd = 88172645463325252ull;
	struct model_stack ms;

	REQUIRE(m);
	for (uint32_t id = 1; id <= WIDE_FRAMES; id += 500) {
		for (uint32_t k = 0; k < 500; k++)
			ips[k] = 0x100000 + (uint64_t)(id + k) * 16;
		frames(m, id, 0, ips, 500);
	}
	for (uint32_t r = 0; r < WIDE_RECORDS; r++) {
		/* A parent seen before, or the root; the record's own frames. */
		uint32_t parent = next > 1 && xorshift(&rnd) % 4 ? 1 + xorshift(&rnd) % (next - 1) : 0;
		uint32_t nr = 1 + xorshift(&rnd) % 40, d = parent ? dep[parent] : 0;

		if (d + nr > 120)
			parent = 0, d = 0;
		for (uint32_t k = 0; k < nr; k++) {
			uint32_t range = r < WIDE_RECORDS / 2 ? 60000 : WIDE_FRAMES;

			fids[k] = 1 + (uint32_t)(xorshift(&rnd) % range);
			par[next + k] = k ? next + k - 1 : parent;
			fr[next + k] = fids[k];
			dep[next + k] = d + k + 1;
		}
		nodes(m, next, parent, 0, fids, nr);
		next += nr;
	}
	CHECK(model__nr_frames(m) == WIDE_FRAMES);
	for (uint32_t id = 1; id < next; id += 7) {
		uint32_t want = id;

		stack_of_id(m, id, &ms);
		ok &= ms.nr == dep[id];
		for (uint32_t k = 0; ok && k < ms.nr; k++, want = par[want])
			ok &= ms.ips[k] == 0x100000 + (uint64_t)fr[want] * 16;
	}
	CHECK(ok);
	model__delete(m);
}

/*
 * Sites found by stack, in and out of order and by another thread; and their
 * counts, past 32 bits too, with each choice of the counts kept
 * (model__set_site_counts): those not kept read 0, the others the same, the
 * live ones summed from the live blocks too.
 */
static void sites_by_stack(enum model_site_counts counts)
{
	struct model_site sbuf;
	static const uint64_t ip[] = { 0x400100, 0x400200, 0x400300 };
	struct model *m = model__new(4096);
	struct mpf_record ha = { .type = MPF_REC_HEAP_ALLOC };
	uint64_t ptr = 0x10000, x = counts == MODEL_COUNTS_ALL, a = counts != MODEL_COUNTS_LIVE;
	const struct model_site *s;

	REQUIRE(m);
	model__set_site_counts(m, counts);
	frames(m, 1, 0, ip, 3);
	for (uint32_t id = 1; id <= 30; id++)
		nodes(m, id, 0, 0, (const uint32_t[]){ 1 + id % 3 }, 1);
	/* Stacks 10..29 in order, then 0..9 (older stacks), then 10..29 again by another thread. */
	for (int pass = 0; pass < 3; pass++)
		for (uint32_t k = 0; k < 20; k++) {
			uint32_t id = pass == 1 ? (k < 10 ? k + 1 : 0) : 11 + k;

			if (!id)
				continue;
			ha.heap_alloc = (struct mpf_heap_alloc){
				.pid = PID, .tid = pass == 2 ? PID + 1 : PID, .stack_id = id,
				.ptr = ptr += 16, .size = id
			};
			add(m, ha);
			add(m, ha);	/* the same site: its block replaced, counted again */
		}
	CHECK(model__nr_sites(m, MPF_EV_HEAP) == 50);
	CHECK(model__count_live_sites(m) == 0);
	for (size_t i = 0; i < model__nr_sites(m, MPF_EV_HEAP); i++) {
		s = model__site(m, MPF_EV_HEAP, i, &sbuf);
		CHECK(s->alloc_nr == 2 * a && s->alloc_bytes == 2 * a * (s->stack - 1) &&
		      s->live_nr == 1 && s->live_bytes == s->stack - 1 && s->peak_nr == x &&
		      s->peak_bytes == x * (s->stack - 1));
	}
	/* Past 32 bits: the site's counts widen, nothing of them lost. */
	nodes(m, 31, 0, 0, (const uint32_t[]){ 1 }, 1);
	for (int k = 0; k < 3; k++) {
		ha.heap_alloc = (struct mpf_heap_alloc){ .pid = PID, .tid = PID, .stack_id = 31,
							 .ptr = ptr += 16, .size = 3ull << 30 };
		add(m, ha);
	}
	add(m, (struct mpf_record){ .type = MPF_REC_HEAP_FREE,
				    .heap_free = { .pid = PID, .tid = PID, .ptr = ptr } });
	CHECK(model__count_live_sites(m) == 0);
	s = model__site(m, MPF_EV_HEAP, model__nr_sites(m, MPF_EV_HEAP) - 1, &sbuf);
	CHECK(s->stack == 32 && s->alloc_nr == 3 * a && s->alloc_bytes == a * 9ull << 30 &&
	      s->live_bytes == 6ull << 30 && s->live_nr == 2 && s->peak_bytes == x * 9ull << 30 &&
	      s->peak_nr == x * 3 && s->tmp_bytes == x * 3ull << 30 && s->tmp_nr == x);
	model__delete(m);
}

static void test_sites_by_stack(void)
{
	sites_by_stack(MODEL_COUNTS_ALL);
	sites_by_stack(MODEL_COUNTS_BASIC);
	sites_by_stack(MODEL_COUNTS_LIVE);
}

static void heap_op(struct model *m, uint32_t tid, bool alloc, uint64_t ptr)
{
	if (alloc)
		add(m, (struct mpf_record){ .type = MPF_REC_HEAP_ALLOC,
					    .heap_alloc = { .pid = PID, .tid = tid, .stack_id = 1,
							    .ptr = ptr, .size = 8 } });
	else
		add(m, (struct mpf_record){ .type = MPF_REC_HEAP_FREE,
					    .heap_free = { .pid = PID, .tid = tid, .ptr = ptr } });
}

/* "Temporary" per thread, threads interleaved: the last thread's allocation is kept apart. */
static void test_temporary_threads(void)
{
	struct model_site sbuf;
	struct model *m = model__new(4096);
	const struct model_site *s;
	uint64_t tmp = 0;

	REQUIRE(m);
	stack(m, 1, 0x400100);
	heap_op(m, PID, true, 0x1000);
	heap_op(m, PID + 1, true, 0x2000);
	heap_op(m, PID, false, 0x1000);		/* temporary: PID allocated nothing since */
	heap_op(m, PID + 1, false, 0x2000);	/* temporary */
	heap_op(m, PID, true, 0x3000);
	heap_op(m, PID, true, 0x4000);
	heap_op(m, PID + 1, true, 0x5000);
	heap_op(m, PID, false, 0x3000);		/* not: PID allocated 0x4000 since */
	heap_op(m, PID, false, 0x4000);		/* temporary, through the map */
	heap_op(m, PID + 2, false, 0x5000);	/* not: another thread's free */
	heap_op(m, PID + 1, false, 0x5000);	/* gone already: nothing */
	for (size_t i = 0; i < model__nr_sites(m, MPF_EV_HEAP); i++) {
		s = model__site(m, MPF_EV_HEAP, i, &sbuf);
		tmp += s->tmp_nr;
		CHECK(s->live_nr == 0);
	}
	CHECK(tmp == 3);
	model__delete(m);
}

const struct unit_test model_tests[] = {
	{ "model_vm_calls", test_vm_calls },
	{ "model_cache", test_cache },
	{ "model_rss_timeline", test_rss_timeline },
	{ "model_stack_budget", test_stack_budget },
	{ "model_stack_tree", test_stack_tree },
	{ "model_stack_wide", test_stack_wide },
	{ "model_sites_by_stack", test_sites_by_stack },
	{ "model_temporary_threads", test_temporary_threads },
	{},
};
