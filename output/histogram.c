/*
 * --histogram: the sizes of the allocations of each event type, in
 * power-of-two buckets (heaptrack_print -H writes the same by exact size),
 * with their number, bytes and shares, and a bar of the number.  Human text:
 * sizes in adaptive units, counts with thousands separators.
 */
#include <errno.h>
#include <inttypes.h>

#include "lib/units.h"
#include "model/model.h"
#include "output/output.h"

#define BAR_WIDTH 30

int output_histogram__print(FILE *f, const struct model *m, unsigned int events)
{
	bool first = true;

	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		const struct model_histogram *h = model__histogram(m, ev);
		uint64_t nr = 0, bytes = 0, most = 0;
		int lo = -1, hi = -1;

		if (!(events & (1u << ev)) || ev == MPF_EV_RSS)
			continue;
		for (int b = 0; b < MODEL_HIST_BUCKETS; b++) {
			nr += h->nr[b];
			bytes += h->bytes[b];
			if (h->nr[b] > most)
				most = h->nr[b];
			if (h->nr[b]) {
				if (lo < 0)
					lo = b;
				hi = b;
			}
		}
		if (!first)
			fputc('\n', f);
		first = false;
		fprintf(f, "# memprof report --histogram: %s allocation sizes\n", mpf_event_name(ev));
		fprintf(f, "# %s allocations, %s bytes (%s)\n#\n", COUNT(nr), COUNT(bytes),
			SIZE(bytes));
		fprintf(f, "# %23s  %11s  %7s  %12s  %7s\n", "Size", "Allocations", "Percent",
			"Bytes", "Percent");
		if (!nr) {
			fprintf(f, "# no allocations\n");
			continue;
		}
		for (int b = lo; b <= hi; b++) {
			uint64_t from = b ? 1ull << (b - 1) : 0;
			uint64_t to = b == 0 ? 0 : b >= 64 ? UINT64_MAX : (1ull << b) - 1;
			char range[64];
			unsigned int bar = most ? (unsigned int)((h->nr[b] * BAR_WIDTH + most - 1) / most)
						: 0;

			if (from == to)
				snprintf(range, sizeof(range), "%s", SIZE(from));
			else
				snprintf(range, sizeof(range), "%s - %s", SIZE(from), SIZE(to));
			fprintf(f, "  %23s  %11s  %6.2f%%  %12s  %6.2f%%  %.*s\n", range,
				COUNT(h->nr[b]), 100.0 * (double)h->nr[b] / (double)nr,
				SIZE(h->bytes[b]),
				bytes ? 100.0 * (double)h->bytes[b] / (double)bytes : 0.0, bar,
				"##############################");
		}
	}
	return ferror(f) ? -EIO : 0;
}
