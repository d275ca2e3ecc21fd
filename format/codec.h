/*
 * The on-disk encoding shared by writer.c and reader.c, private to format/:
 * LEB128 varints, zigzag, little-endian integers, a bounded decoder that
 * never reads past its end, and the layouts of the file and chunk headers.
 * Documentation/memprof-trace-format.txt is the specification of all of it.
 */
#ifndef MEMPROF_FORMAT_CODEC_H
#define MEMPROF_FORMAT_CODEC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "format/mpf.h"

#define MPF_HEADER_SIZE		64	/* what this version writes */
#define MPF_HEADER_SIZE_MAX	4096	/* what a reader accepts from a newer minor */
#define MPF_BYTE_ORDER		0x01020304u

#define MPF_CHUNK_MAGIC		"MPCK"
#define MPF_CHUNK_HDR_SIZE	24
#define MPF_CHUNK_ZSTD		0x1	/* payload is one or more zstd frames */
#define MPF_CHUNK_FLAGS		MPF_CHUNK_ZSTD	/* every flag a reader knows */
#define MPF_CHUNK_RAW_MAX	(64u << 20)	/* what a reader is willing to inflate */

/*
 * An upper bound of one encoded record (type, time, length, payload): the
 * largest is INFO with two MPF_PATH_MAX strings.  The writer keeps this much
 * room past chunk_size so that encoding never checks for space.
 */
#define MPF_REC_SIZE_MAX	(MPF_USTACK_MAX + 1024)	/* a USTACK with its largest copy */

/* Larger orders would make 1 << order undefined for consumers. */
#define MPF_PAGE_ORDER_MAX	63

#define MPF_VARINT_MAX		10	/* bytes of a u64 varint */

static inline void mpf_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void mpf_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void mpf_put_le64(uint8_t *p, uint64_t v)
{
	mpf_put_le32(p, (uint32_t)v);
	mpf_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t mpf_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t mpf_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t mpf_get_le64(const uint8_t *p)
{
	return (uint64_t)mpf_get_le32(p) | (uint64_t)mpf_get_le32(p + 4) << 32;
}

/*
 * Zigzag maps a two's complement difference to an unsigned number that is
 * small when the difference is small either way: 0, -1, 1, -2 ... -> 0, 1, 2,
 * 3 ...  Done on unsigned values only, so differences may wrap (they are
 * taken modulo 2^64 or 2^32) without undefined behaviour on any input.
 */
static inline uint64_t mpf_zigzag64(uint64_t d)
{
	return (d << 1) ^ (0 - (d >> 63));
}

static inline uint64_t mpf_unzigzag64(uint64_t v)
{
	return (v >> 1) ^ (0 - (v & 1));
}

static inline uint32_t mpf_zigzag32(uint32_t d)
{
	return (d << 1) ^ (0 - (d >> 31));
}

static inline uint32_t mpf_unzigzag32(uint32_t v)
{
	return (v >> 1) ^ (0 - (v & 1));
}

/* Writes v as a LEB128 varint (at most MPF_VARINT_MAX bytes); returns the end. */
static inline uint8_t *mpf_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)v | 0x80;
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline unsigned int mpf_varint_len(uint64_t v)
{
	unsigned int n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/*
 * A bounded decoder over [p, end).  Every getter checks the bounds and
 * returns -EBADMSG, leaving the position unspecified, on overrun or on a
 * value out of range; the caller then abandons the whole buffer.
 */
struct mpf_dec {
	const uint8_t *p;
	const uint8_t *end;
};

static inline void mpf_dec__init(struct mpf_dec *d, const void *buf, size_t len)
{
	d->p = buf;
	d->end = d->p + len;
}

static inline size_t mpf_dec__left(const struct mpf_dec *d)
{
	/* Compared first so that an empty decoder may hold two NULLs. */
	return d->p == d->end ? 0 : (size_t)(d->end - d->p);
}

int mpf_dec__varint_slow(struct mpf_dec *d, uint64_t *v);

static inline int mpf_dec__get_u64(struct mpf_dec *d, uint64_t *v)
{
	/* Most fields of most records fit in one byte, most others in two. */
	if (d->p < d->end && *d->p < 0x80) {
		*v = *d->p++;
		return 0;
	}
	if (d->end - d->p >= 2 && d->p[1] < 0x80) {
		*v = (uint64_t)(d->p[0] & 0x7f) | (uint64_t)d->p[1] << 7;
		d->p += 2;
		return 0;
	}
	return mpf_dec__varint_slow(d, v);
}

static inline int mpf_dec__get_u32(struct mpf_dec *d, uint32_t *v)
{
	uint64_t x;

	if (mpf_dec__get_u64(d, &x) || x > UINT32_MAX)
		return -EBADMSG;
	*v = (uint32_t)x;
	return 0;
}

/* n raw bytes, returned in place. */
static inline int mpf_dec__get_bytes(struct mpf_dec *d, size_t n, const uint8_t **p)
{
	if (n > mpf_dec__left(d))
		return -EBADMSG;
	*p = d->p;
	d->p += n;
	return 0;
}

int mpf_dec__get_str(struct mpf_dec *d, size_t max, const char **s, size_t *len);

/* The file header: encode to and decode from exactly MPF_HEADER_SIZE bytes or more. */
void mpf_header__encode(const struct mpf_header *h, uint8_t buf[MPF_HEADER_SIZE]);
int mpf_header__check_prefix(const uint8_t *buf, size_t len, uint32_t *size);
int mpf_header__decode(const uint8_t *buf, size_t size, struct mpf_header *h);

struct mpf_chunk_hdr {
	uint32_t flags;		/* MPF_CHUNK_* */
	uint32_t comp_size;	/* payload bytes in the file */
	uint32_t raw_size;	/* payload bytes once inflated */
	uint32_t nr_records;
	uint32_t crc;		/* zlib crc32 of the payload as stored */
};

void mpf_chunk_hdr__encode(const struct mpf_chunk_hdr *c, uint8_t buf[MPF_CHUNK_HDR_SIZE]);
int mpf_chunk_hdr__decode(const uint8_t buf[MPF_CHUNK_HDR_SIZE], struct mpf_chunk_hdr *c);

#endif
