/* Bounded growable byte buffer.  See buf.h. */
#include "core/buf.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->start = b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = b->start = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Ensures room for want more bytes plus the NUL, compacting first. */
static void buf_grow(struct buf *b, size_t want)
{
	size_t need = b->len + want + 1;

	if (b->start > 0 && b->start + need > b->cap) {
		memmove(b->data, b->data + b->start, b->len);
		b->start = 0;
		b->data[b->len] = '\0';
	}
	if (b->start + need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
	if (len > buf_room(b))
		return -1;
	buf_grow(b, len);
	memcpy(b->data + b->start + b->len, data, len);
	b->len += len;
	b->data[b->start + b->len] = '\0';
	return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_append_uint(struct buf *b, uint64_t n)
{
	char digits[20], *p = digits + sizeof(digits);

	do {
		*--p = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0);
	return buf_append(b, p, (size_t)(digits + sizeof(digits) - p));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	char small[256];
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap2);
	va_end(ap2);
	if (n < 0 || (size_t)n > buf_room(b))
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, n);
	buf_grow(b, n);
	vsnprintf(b->data + b->start + b->len, n + 1, fmt, ap);
	b->len += n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return ret;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	b->start += n;
	b->len -= n;
}

char *buf_reserve(struct buf *b, size_t want)
{
	if (want > buf_room(b))
		want = buf_room(b);
	buf_grow(b, want);
	return b->data + b->start + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->data[b->start + b->len] = '\0';
}
