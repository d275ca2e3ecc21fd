/* Showing untrusted text (lib/text.h). */
#include <stdio.h>

#include "lib/text.h"

static int unprintable(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

char *make_printable(char *s)
{
	for (char *p = s; *p; p++)
		if (unprintable((unsigned char)*p))
			*p = '?';
	return s;
}

int has_unprintable(const char *s)
{
	for (; *s; s++)
		if (unprintable((unsigned char)*s))
			return 1;
	return 0;
}

size_t utf8_len(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong forms, surrogates and code points above U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

char *hex_str(const uint8_t *bytes, size_t len, char *buf)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		buf[2 * i] = digits[bytes[i] >> 4];
		buf[2 * i + 1] = digits[bytes[i] & 15];
	}
	buf[2 * len] = '\0';
	return buf;
}
