/*
 * One message's FETCH response (RFC 3501 §7.4.2): the items in the order
 * asked, body sections as literals streamed in chunks, so a response can
 * stop in the middle of a 50 MB literal and go on in the next batch.
 * Runs on the thread pool when the items read the message (cmd_fetch.c).
 */
#include "imap/imap.h"
#include "imap/imap_fetch.h"
#include "imap/imap_format.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/message.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void imap_fetch_ctx_init(struct fetch_ctx *ctx, struct imap_session *s,
			 const struct fetch_items *items)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->s = s;
	ctx->items = items;
	if (items->need_content) {
		ctx->chunk = xmalloc(FETCH_CHUNK);
		ctx->scratch = xmalloc(FETCH_XFORM_OUT_MAX(FETCH_CHUNK));
		ctx->ranges = xcalloc(items->count, sizeof(*ctx->ranges));
		ctx->sizes = xcalloc(items->count, sizeof(*ctx->sizes));
	}
}

void imap_fetch_ctx_free(struct fetch_ctx *ctx)
{
	free(ctx->chunk);
	free(ctx->scratch);
	free(ctx->ranges);
	free(ctx->sizes);
	free(ctx->told);
	memset(ctx, 0, sizeof(*ctx));
}

void imap_fetch_date(char out[32], int64_t t)
{
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	time_t tt = (time_t)t;
	struct tm tm;
	int off, year;

	if (localtime_r(&tt, &tm) == NULL) {
		tt = 0;
		gmtime_r(&tt, &tm);
	}
	off = (int)(tm.tm_gmtoff / 60);
	/* date-year is 4DIGIT: clamp what a broken clock or file could say */
	year = tm.tm_year + 1900;
	year = year < 0 ? 0 : year > 9999 ? 9999 : year;
	/* date-day-fixed is space-padded: " 7-Jul-1996" */
	snprintf(out, 32, "%2d-%s-%04d %02d:%02d:%02d %c%02d%02d", tm.tm_mday % 100,
		 months[(unsigned)tm.tm_mon % 12], year, tm.tm_hour % 100, tm.tm_min % 100,
		 tm.tm_sec % 100, off < 0 ? '-' : '+', (abs(off) / 60) % 100, abs(off) % 60);
}

/* 0 if the store's last error says the message is gone, or that its file
 * cannot be read (left out, so one broken file does not end a FETCH 1:*;
 * the store logged it), else -1. */
static int gone_or_failed(struct fetch_ctx *ctx)
{
	enum store_error err = store_last_error(ctx->s->store, NULL);

	if (err == STORE_ERR_PERM)
		ctx->unreadable = true;
	return err == STORE_ERR_EXPUNGED || err == STORE_ERR_PERM ? 0 : -1;
}

/* Size of a header subset: one pass over the header through the filter. */
static int filtered_size(struct fetch_ctx *ctx, struct fetch_msg *m, const struct fetch_range *r,
			 const struct fetch_section *sec, uint64_t *size_r)
{
	struct fetch_xform x;
	uint64_t pos = r->start, total = 0;

	imap_fetch_xform_init(&x, sec);
	if (msg_stream_seek(m->stream, pos) < 0)
		return -1;
	while (pos < r->end) {
		uint64_t left = r->end - pos;
		ssize_t n = msg_stream_read(m->stream, ctx->chunk,
					    left < FETCH_CHUNK ? (size_t)left : FETCH_CHUNK);

		if (n < 0)
			return -1;
		if (n == 0)
			break;	/* shorter than parsed: the second pass sees the same */
		pos += (uint64_t)n;
		ctx->bytes_read += (uint64_t)n;
		total += imap_fetch_xform_feed(&x, ctx->chunk, (size_t)n, ctx->scratch);
	}
	*size_r = total + imap_fetch_xform_end(&x, ctx->scratch);
	return 0;
}

/* Where the top-level header ends, reading only the header: a stand-in
 * for the tree that is enough for HEADER, HEADER.FIELDS and TEXT. */
static int find_header_end(struct fetch_ctx *ctx, struct fetch_msg *m)
{
	struct fetch_header_scan h;
	ssize_t n;

	imap_fetch_header_scan_init(&h);
	if (msg_stream_seek(m->stream, 0) < 0)
		return -1;
	while ((n = msg_stream_read(m->stream, ctx->chunk, FETCH_CHUNK)) > 0) {
		ctx->bytes_read += (uint64_t)n;
		if (imap_fetch_header_scan(&h, ctx->chunk, (size_t)n))
			break;
	}
	if (n < 0)
		return -1;
	m->top.body_offset = h.raw;
	m->top.header_vsize = h.vsize;
	m->top.end_offset = h.raw > m->sm->psize ? h.raw : m->sm->psize;
	m->top.body_vsize = m->sm->vsize > h.vsize ? m->sm->vsize - h.vsize : 0;
	m->tree = &m->top;
	return 0;
}

static int locate_sections(struct fetch_ctx *ctx, struct fetch_msg *m)
{
	const struct fetch_items *items = ctx->items;

	for (unsigned i = 0; i < items->count; i++) {
		const struct fetch_item *it = &items->items[i];
		struct fetch_range *r = &ctx->ranges[i];

		if (it->att != FETCH_SECTION)
			continue;
		imap_fetch_locate(m->tree, &it->section, m->sm->psize, m->sm->vsize, r);
		ctx->sizes[i] = r->vsize;
		if (r->exists && r->filtered &&
		    filtered_size(ctx, m, r, &it->section, &ctx->sizes[i]) < 0)
			return -1;
	}
	return 0;
}

int imap_fetch_msg_begin(struct fetch_ctx *ctx, unsigned seq, struct fetch_msg *m)
{
	struct imap_session *s = ctx->s;
	const struct fetch_items *items = ctx->items;
	uint32_t uid;

	memset(m, 0, sizeof(*m));
	m->seq = seq;
	m->sm = imap_view_store_msg(s, seq);
	if (m->sm == NULL)
		return 0;
	uid = m->sm->uid;
	if (items->need_structure) {
		if (mailbox_msg_structure(s->box, uid, &m->tree) < 0)
			return gone_or_failed(ctx);
		/* A parse reads it all (a cache hit does not, but which it
		 * was is the store's business): count it against the batch
		 * so one job does not parse a thousand big messages. */
		ctx->bytes_read += m->sm->psize;
	}
	if (items->need_content) {
		if (mailbox_msg_open(s->box, uid, &m->stream) < 0)
			return gone_or_failed(ctx);
		if ((m->tree == NULL && items->need_header && find_header_end(ctx, m) < 0) ||
		    locate_sections(ctx, m) < 0) {
			imap_fetch_msg_end(m);
			return -1;
		}
	}
	/* Only now that the message could be read (§6.4.5). */
	if (items->set_seen && !s->readonly && (m->sm->flags & MSG_FLAG_SEEN) == 0) {
		if (mailbox_update_flags(s->box, uid, MSG_FLAG_SEEN, 0) < 0)
			ctx->seen_failed_uid = uid;	/* the data still goes out */
		else
			m->seen_set = (m->sm->flags & MSG_FLAG_SEEN) != 0;
	}
	return 1;
}

void imap_fetch_msg_end(struct fetch_msg *m)
{
	msg_stream_close(&m->stream);
}

static void told(struct fetch_ctx *ctx, const struct fetch_msg *m)
{
	if (ctx->ntold == ctx->told_cap) {
		ctx->told_cap = ctx->told_cap ? 2 * ctx->told_cap : 64;
		ctx->told = xrealloc(ctx->told, ctx->told_cap * sizeof(*ctx->told));
	}
	ctx->told[ctx->ntold].seq = m->seq;
	ctx->told[ctx->ntold].flags = m->sm->flags;
	ctx->ntold++;
}

static void write_flags(struct fetch_ctx *ctx, const struct fetch_msg *m, struct buf *out)
{
	buf_append(out, "FLAGS ", 6);
	imap_buf_msg_flags(out, ctx->s, m->sm);	/* keywords by name too */
	told(ctx, m);
}

/* Writes a section's name and NIL, "", or a literal's announcement; true
 * if a literal follows (m->in_literal). */
static bool section_start(struct fetch_ctx *ctx, struct fetch_msg *m, const struct fetch_item *it,
			  struct buf *out)
{
	const struct fetch_range *r = &ctx->ranges[m->next];
	uint64_t size = ctx->sizes[m->next];

	buf_printf(out, "%s", it->name);
	/* §7.4.2: a partial fetch answers as BODY[...]<origin>, even when
	 * the text was shorter than asked */
	if (it->partial)
		buf_printf(out, "<%u>", it->origin);
	if (!r->exists) {
		/* No such part in this message: no text at all. */
		buf_append(out, " NIL", 4);
		return false;
	}
	m->lit_start = 0;
	m->lit_len = size;
	if (it->partial) {
		/* §6.4.5: beyond the end is empty; past it is cut off */
		m->lit_start = it->origin < size ? it->origin : size;
		m->lit_len = size - m->lit_start < it->count ? size - m->lit_start : it->count;
	}
	if (m->lit_len == 0) {
		buf_append(out, " \"\"", 3);
		return false;
	}
	buf_printf(out, " {%llu}\r\n", (unsigned long long)m->lit_len);
	imap_fetch_xform_init(&m->xform, r->filtered ? &it->section : NULL);
	m->raw_pos = r->start;
	m->out_pos = 0;
	m->lit_sent = 0;
	m->read_failed = false;
	if (!r->filtered && r->end - r->start == r->vsize && m->lit_start > 0) {
		/* No bare LF in the range: stored offsets are sent offsets, so
		 * go straight to the origin.  Any LF met there follows a CR. */
		m->raw_pos += m->lit_start;
		m->out_pos = m->lit_start;
		m->xform.prev_cr = true;
	}
	if (msg_stream_seek(m->stream, m->raw_pos) < 0)
		m->read_failed = true;
	m->in_literal = true;
	return true;
}

/* Streams the literal on; true when all of it is out. */
static bool literal_pump(struct fetch_ctx *ctx, struct fetch_msg *m, struct buf *out,
			 size_t budget)
{
	const struct fetch_range *r = &ctx->ranges[m->next];

	while (m->lit_sent < m->lit_len) {
		uint64_t want = m->lit_start + m->lit_sent;	/* next byte due */
		uint64_t lo, hi;
		size_t produced;

		if (buf_len(out) >= budget || ctx->bytes_read >= FETCH_BATCH_READ)
			return false;
		if (m->read_failed || m->raw_pos >= r->end) {
			/* The message ended (or failed) before the size it
			 * announced: spaces keep the client in step. */
			uint64_t left = m->lit_len - m->lit_sent;
			size_t n = left < FETCH_CHUNK ? (size_t)left : FETCH_CHUNK;

			memset(ctx->scratch, ' ', n);
			buf_append(out, ctx->scratch, n);
			m->lit_sent += n;
			ctx->short_uid = m->sm->uid;
			continue;
		}
		uint64_t left = r->end - m->raw_pos;
		ssize_t n = msg_stream_read(m->stream, ctx->chunk,
					    left < FETCH_CHUNK ? (size_t)left : FETCH_CHUNK);

		if (n <= 0) {
			m->read_failed = true;
			continue;
		}
		m->raw_pos += (uint64_t)n;
		ctx->bytes_read += (uint64_t)n;
		produced = imap_fetch_xform_feed(&m->xform, ctx->chunk, (size_t)n, ctx->scratch);
		if (m->raw_pos == r->end)
			produced += imap_fetch_xform_end(&m->xform, ctx->scratch + produced);
		/* the part of this piece inside the window [lit_start, +lit_len) */
		lo = m->out_pos > want ? m->out_pos : want;
		hi = m->out_pos + produced;
		if (hi > m->lit_start + m->lit_len)
			hi = m->lit_start + m->lit_len;
		if (hi > lo) {
			buf_append(out, ctx->scratch + (lo - m->out_pos), (size_t)(hi - lo));
			m->lit_sent += hi - lo;
		}
		m->out_pos += produced;
	}
	return true;
}

static void write_item(struct fetch_ctx *ctx, struct fetch_msg *m, const struct fetch_item *it,
		       struct buf *out)
{
	char date[32];

	switch (it->att) {
	case FETCH_UID:
		buf_append(out, "UID ", 4);
		buf_append_uint(out, m->sm->uid);
		break;
	case FETCH_FLAGS:
		write_flags(ctx, m, out);
		break;
	case FETCH_INTERNALDATE:
		imap_fetch_date(date, m->sm->received);
		buf_printf(out, "INTERNALDATE \"%s\"", date);
		break;
	case FETCH_RFC822_SIZE:
		buf_append(out, "RFC822.SIZE ", 12);
		buf_append_uint(out, m->sm->vsize);
		break;
	case FETCH_ENVELOPE:
		buf_append(out, "ENVELOPE ", 9);
		imap_envelope(out, m->tree);
		break;
	case FETCH_BODY:
	case FETCH_BODYSTRUCTURE:
		buf_printf(out, "%s ", it->att == FETCH_BODY ? "BODY" : "BODYSTRUCTURE");
		imap_bodystructure(out, m->tree, it->att == FETCH_BODYSTRUCTURE);
		break;
	case FETCH_SECTION:
		break;		/* section_start() */
	}
}

bool imap_fetch_msg_write(struct fetch_ctx *ctx, struct fetch_msg *m, struct buf *out,
			  size_t budget)
{
	const struct fetch_items *items = ctx->items;

	if (!m->started) {
		buf_append(out, "* ", 2);
		buf_append_uint(out, m->seq);
		buf_append(out, " FETCH (", 8);
		m->started = true;
	}
	while (m->next < items->count) {
		const struct fetch_item *it = &items->items[m->next];

		if (m->in_literal) {
			if (!literal_pump(ctx, m, out, budget))
				return false;
			m->in_literal = false;
			m->next++;
			continue;
		}
		if (m->next > 0)
			buf_append(out, " ", 1);
		if (it->att == FETCH_SECTION) {
			if (section_start(ctx, m, it, out))
				continue;	/* the literal's bytes next */
		} else {
			write_item(ctx, m, it, out);
		}
		m->next++;
	}
	/* §6.4.5: flags changed by the implicit \Seen SHOULD be included */
	if (m->seen_set && (items->atts & (1u << FETCH_FLAGS)) == 0) {
		buf_append(out, " ", 1);
		write_flags(ctx, m, out);
	}
	buf_append(out, ")\r\n", 3);
	return true;
}
