/*
 * --header and --header-only: what a trace says of itself, as perf report's
 * header does: the recording's machine and command line, when it started
 * and for how long, the event types and the stack mode, the events lost and
 * the files whose build-ids it holds.  Human text in '#' lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "lib/text.h"
#include "lib/units.h"
#include "model/model.h"
#include "output/output.h"

/* An INFO value, made printable, or what stands for it. */
static void info_line(FILE *f, const struct model *m, const char *label, const char *key,
		      const char *missing)
{
	const char *v = model__info_get(m, key);
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", v ? v : missing);
	fprintf(f, "# %-13s: %s\n", label, make_printable(buf));
}

int output_header__print(FILE *f, const struct model *m, const struct mpf_header *hdr,
			 const char *path)
{
	const struct model_stats *st = model__stats(m);
	time_t t = (time_t)(hdr->start_realtime / 1000000000ull);
	uint64_t end = model__last_time(m);
	const char *mode = model__info_get(m, "call-graph");
	char date[64] = "unknown", events[128] = "", lost[256] = "";
	struct tm tm;
	size_t n = 0;

	if (hdr->start_realtime && localtime_r(&t, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", &tm);
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		uint64_t l = st->lost[ev] > (st->has_end ? st->end.lost[ev] : 0)
				     ? st->lost[ev]
				     : st->end.lost[ev];

		if (hdr->events & (1u << ev))
			n += snprintf(events + n, sizeof(events) - n, "%s%s", n ? ", " : "",
				      mpf_event_name(ev));
		if (l) {
			size_t k = strlen(lost);

			snprintf(lost + k, sizeof(lost) - k, "%s%s %s", k ? ", " : "", COUNT(l),
				 mpf_event_name(ev));
		}
	}
	fprintf(f, "# ========\n");
	fprintf(f, "# %-13s: %s\n", "trace", path);
	fprintf(f, "# %-13s: %s\n", "captured on", date);
	info_line(f, m, "hostname", "hostname", "unknown");
	info_line(f, m, "os release", "release", "unknown");
	info_line(f, m, "arch", "machine", "unknown");
	info_line(f, m, "cmdline", "cmdline", "unknown");
	info_line(f, m, "memprof", "memprof", "unknown");
	fprintf(f, "# %-13s: %u.%u\n", "format", hdr->version_major, hdr->version_minor);
	fprintf(f, "# %-13s: %.6f s\n", "duration",
		end > hdr->start_time ? (double)(end - hdr->start_time) / 1e9 : 0.0);
	fprintf(f, "# %-13s: %s\n", "events", n ? events : "none");
	/* Traces of memprofs that did not note it: dwarf copies show, fp and none do not. */
	fprintf(f, "# %-13s: %s\n", "call-graph",
		mode ? mode
		: st->records[MPF_REC_USTACK] ? "dwarf"
		: st->records[MPF_REC_STACK] || st->records[MPF_REC_STACK_NODE]
			? "fp (not noted in the trace)"
					      : "none or fp (not noted in the trace)");
	if (model__heap_sample(m))
		fprintf(f, "# %-13s: one every %s bytes on average, in the %s: heap figures are "
			   "estimates\n", "heap sampled", COUNT(model__heap_sample(m)),
			model__info_get(m, "heap-sampler") ? model__info_get(m, "heap-sampler")
							   : "kernel");
	fprintf(f, "# %-13s: %s bytes\n", "page size", COUNT(hdr->page_size));
	fprintf(f, "# %-13s: %s\n", "lost", *lost ? lost : "none");
	fprintf(f, "# %-13s: %s\n", "end", st->has_end ? "complete" : "cut short (no END record)");
	fprintf(f, "# %-13s: %zu\n", "files", model__nr_files(m));
	for (size_t i = 0; i < model__nr_files(m); i++) {
		const struct model_file *mf = model__file_at(m, i);
		char bid[2 * MPF_BUILD_ID_MAX + 1], p[MPF_PATH_MAX + 1];

		if (mf->path[0] == '[')
			continue;
		snprintf(p, sizeof(p), "%s", mf->path);
		fprintf(f, "#   %s %s\n",
			mf->build_id_len ? hex_str(mf->build_id, mf->build_id_len < MPF_BUILD_ID_MAX
									? mf->build_id_len
									: MPF_BUILD_ID_MAX,
						   bid)
					 : "(no build-id)",
			make_printable(p));
	}
	fprintf(f, "# ========\n");
	return ferror(f) ? -EIO : 0;
}
