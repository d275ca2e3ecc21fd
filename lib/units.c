/* Sizes and counts as people read them (lib/units.h). */
#include <inttypes.h>
#include <stdio.h>

#include "lib/units.h"

char *fmt_count(char *buf, size_t size, uint64_t n)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%" PRIu64, n);
	size_t o = 0;

	for (int i = 0; i < len && o + 1 < size; i++) {
		if (i && (len - i) % 3 == 0 && o + 2 < size)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	if (size)
		buf[o < size ? o : size - 1] = '\0';
	return buf;
}

char *fmt_size(char *buf, size_t size, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;
	uint64_t div = 1, hundredths;
	char whole[UNITS_BUF];

	if (bytes < 1024) {
		snprintf(buf, size, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (u + 1 < sizeof(units) / sizeof(units[0]) && bytes / div >= 1024) {
		div *= 1024;
		u++;
	}
	/* Rounded to hundredths of the unit; 1023.999 KiB is 1.00 MiB, not 1,024.00 KiB. */
	hundredths = (uint64_t)(((unsigned __int128)bytes * 100 + div / 2) / div);
	if (hundredths >= 102400 && u + 1 < sizeof(units) / sizeof(units[0])) {
		div *= 1024;
		u++;
		hundredths = (uint64_t)(((unsigned __int128)bytes * 100 + div / 2) / div);
	}
	snprintf(buf, size, "%s.%02" PRIu64 " %s", fmt_count(whole, sizeof(whole), hundredths / 100),
		 hundredths % 100, units[u]);
	return buf;
}

char *fmt_delta(char *buf, size_t size, uint64_t bytes, int negative)
{
	char s[UNITS_BUF];

	snprintf(buf, size, "%c%s", negative && bytes ? '-' : '+', fmt_size(s, sizeof(s), bytes));
	return buf;
}
