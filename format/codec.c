/*
 * The out-of-line parts of the trace encoding: multi-byte varints, strings,
 * and the fixed file and chunk headers, which are written byte by byte in
 * little-endian order so that the file does not depend on struct layout.
 */
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "format/codec.h"

/*
 * Fuzzing builds (tests/fuzz/, the libFuzzer convention) ignore wrong CRCs,
 * so that mutated inputs reach the decoding the CRC would otherwise guard.
 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define MPF_FUZZING 1
#else
#define MPF_FUZZING 0
#endif

int mpf_dec__varint_slow(struct mpf_dec *d, uint64_t *v)
{
	uint64_t x = 0;
	unsigned int shift = 0;
	uint8_t b;

	/* With a whole varint's room left, no byte needs its own bounds check. */
	if (d->end - d->p >= MPF_VARINT_MAX) {
		const uint8_t *p = d->p;

		do {
			b = *p++;
			if (shift == 63 && b > 1)
				return -EBADMSG;
			x |= (uint64_t)(b & 0x7f) << shift;
			shift += 7;
		} while (b & 0x80);
		d->p = p;
		*v = x;
		return 0;
	}
	do {
		if (d->p >= d->end)
			return -EBADMSG;
		b = *d->p++;
		/* The tenth byte holds bit 63 only; anything more is not a u64. */
		if (shift == 63 && b > 1)
			return -EBADMSG;
		x |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	*v = x;
	return 0;
}

/*
 * A string is its length, its bytes and a NUL, so that the reader can hand
 * out pointers into the chunk buffer without copying.  A NUL inside would
 * make the length a lie to C string consumers, so it is refused too.
 */
int mpf_dec__get_str(struct mpf_dec *d, size_t max, const char **s, size_t *len)
{
	const uint8_t *p;
	uint64_t n;

	if (mpf_dec__get_u64(d, &n) || n > max || mpf_dec__get_bytes(d, (size_t)n + 1, &p))
		return -EBADMSG;
	if (p[n] != '\0' || memchr(p, '\0', (size_t)n))
		return -EBADMSG;
	*s = (const char *)p;
	if (len)
		*len = (size_t)n;
	return 0;
}

static uint32_t crc32_of(const uint8_t *buf, size_t len)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)len);
}

/*
 * Offsets of the version 1 header; MPF_HEADER_SIZE bytes, the CRC last.
 * Bytes 44 to 59 are reserved, written as zero and ignored by readers.
 */
enum {
	HDR_MAGIC = 0,
	HDR_MAJOR = 8,
	HDR_MINOR = 10,
	HDR_SIZE = 12,
	HDR_BYTE_ORDER = 16,
	HDR_PAGE_SIZE = 20,
	HDR_START_TIME = 24,
	HDR_START_REALTIME = 32,
	HDR_EVENTS = 40,
	HDR_RESERVED = 44,
};

void mpf_header__encode(const struct mpf_header *h, uint8_t buf[MPF_HEADER_SIZE])
{
	memset(buf, 0, MPF_HEADER_SIZE);
	memcpy(buf + HDR_MAGIC, MPF_MAGIC, 8);
	mpf_put_le16(buf + HDR_MAJOR, MPF_VERSION_MAJOR);
	mpf_put_le16(buf + HDR_MINOR, MPF_VERSION_MINOR);
	mpf_put_le32(buf + HDR_SIZE, MPF_HEADER_SIZE);
	mpf_put_le32(buf + HDR_BYTE_ORDER, MPF_BYTE_ORDER);
	mpf_put_le32(buf + HDR_PAGE_SIZE, h->page_size);
	mpf_put_le64(buf + HDR_START_TIME, h->start_time);
	mpf_put_le64(buf + HDR_START_REALTIME, h->start_realtime);
	mpf_put_le32(buf + HDR_EVENTS, h->events);
	mpf_put_le32(buf + MPF_HEADER_SIZE - 4, crc32_of(buf, MPF_HEADER_SIZE - 4));
}

/*
 * Checks what can be checked in the first MPF_HEADER_SIZE bytes before the
 * whole header is read: the magic, then the major version (before the CRC,
 * since a newer major may lay the header out differently), then the size.
 */
int mpf_header__check_prefix(const uint8_t *buf, size_t len, uint32_t *size)
{
	uint16_t major;

	if (len < MPF_HEADER_SIZE || memcmp(buf + HDR_MAGIC, MPF_MAGIC, 8))
		return -EBADMSG;
	major = mpf_get_le16(buf + HDR_MAJOR);
	if (major > MPF_VERSION_MAJOR)
		return -EPROTONOSUPPORT;
	if (major == 0)
		return -EBADMSG;
	*size = mpf_get_le32(buf + HDR_SIZE);
	if (*size < MPF_HEADER_SIZE || *size > MPF_HEADER_SIZE_MAX)
		return -EBADMSG;
	return 0;
}

/* buf holds the whole header, size bytes as check_prefix() found. */
int mpf_header__decode(const uint8_t *buf, size_t size, struct mpf_header *h)
{
	if (size < MPF_HEADER_SIZE || mpf_get_le32(buf + HDR_BYTE_ORDER) != MPF_BYTE_ORDER)
		return -EBADMSG;
	if (mpf_get_le32(buf + size - 4) != crc32_of(buf, size - 4) && !MPF_FUZZING)
		return -EBADMSG;
	memset(h, 0, sizeof(*h));
	h->version_major = mpf_get_le16(buf + HDR_MAJOR);
	h->version_minor = mpf_get_le16(buf + HDR_MINOR);
	h->page_size = mpf_get_le32(buf + HDR_PAGE_SIZE);
	h->start_time = mpf_get_le64(buf + HDR_START_TIME);
	h->start_realtime = mpf_get_le64(buf + HDR_START_REALTIME);
	h->events = mpf_get_le32(buf + HDR_EVENTS);
	return 0;
}

void mpf_chunk_hdr__encode(const struct mpf_chunk_hdr *c, uint8_t buf[MPF_CHUNK_HDR_SIZE])
{
	memcpy(buf, MPF_CHUNK_MAGIC, 4);
	mpf_put_le32(buf + 4, c->flags);
	mpf_put_le32(buf + 8, c->comp_size);
	mpf_put_le32(buf + 12, c->raw_size);
	mpf_put_le32(buf + 16, c->nr_records);
	mpf_put_le32(buf + 20, c->crc);
}

/*
 * Refuses, before anything is allocated or read, the sizes a reader would
 * have to trust blindly: an empty or oversized raw size, and a stored size
 * that zstd could not have produced from the raw size.
 */
int mpf_chunk_hdr__decode(const uint8_t buf[MPF_CHUNK_HDR_SIZE], struct mpf_chunk_hdr *c)
{
	if (memcmp(buf, MPF_CHUNK_MAGIC, 4))
		return -EBADMSG;
	c->flags = mpf_get_le32(buf + 4);
	c->comp_size = mpf_get_le32(buf + 8);
	c->raw_size = mpf_get_le32(buf + 12);
	c->nr_records = mpf_get_le32(buf + 16);
	c->crc = mpf_get_le32(buf + 20);

	if (c->flags & ~MPF_CHUNK_FLAGS)
		return -EBADMSG;
	if (c->raw_size == 0 || c->raw_size > MPF_CHUNK_RAW_MAX || c->comp_size == 0)
		return -EBADMSG;
	if (c->flags & MPF_CHUNK_ZSTD) {
		if (c->comp_size > ZSTD_compressBound(c->raw_size))
			return -EBADMSG;
	} else if (c->comp_size != c->raw_size) {
		return -EBADMSG;
	}
	/* Each record takes at least three bytes: type, time and length. */
	if (c->nr_records == 0 || c->nr_records > c->raw_size / 3)
		return -EBADMSG;
	return 0;
}
