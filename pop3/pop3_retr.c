/*
 * RETR and TOP: a message streams from the store to the client in chunks,
 * pausing whenever the client is slower than the disk (conn_output_full)
 * and resuming on drain, so a 100 MB message costs a few hundred KB of
 * memory and never blocks the worker.
 */
#include "pop3/pop3.h"
#include "pop3/pop3_dotstuff.h"

#include "core/log.h"
#include "core/utf8.h"
#include "store/store.h"

#include <string.h>

#define RETR_CHUNK		32768
#define RETR_HEADER_PEEK	65536	/* how far to look for UTF-8 headers */

struct pop3_transfer {
	struct msg_stream *stream;
	struct pop3_msg *msg;
	struct dotstuff ds;
	bool is_retr;
	char *peek;		/* first bytes, read before +OK */
	size_t peek_len, peek_off;
	size_t header_len;	/* of them, the header's */
};

void pop3_transfer_free(struct pop3_transfer **tp)
{
	struct pop3_transfer *t = *tp;

	if (t == NULL)
		return;
	msg_stream_close(&t->stream);
	free(t->peek);
	free(t);
	*tp = NULL;
}

/* The length of the header section with its blank line, if it ends within
 * p[0..len), else 0.  from: where an earlier call stopped looking. */
static size_t header_end(const char *p, size_t len, size_t from)
{
	const char *q = p + (from >= 2 ? from - 2 : 0), *end = p + len;

	/* No header fields at all: the blank line first. */
	if (from == 0 && len >= 1 && p[0] == '\n')
		return 1;
	if (from == 0 && len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		q++;
		if (q < end && q[0] == '\n')
			return (size_t)(q + 1 - p);
		if (q + 1 < end && q[0] == '\r' && q[1] == '\n')
			return (size_t)(q + 2 - p);
	}
	return 0;
}

/* Does the header section hold UTF-8 beyond ASCII?  Such a message needs
 * UTF8 mode (RFC 6856 §2.1, RFC 6532). */
static bool header_has_utf8(const unsigned char *p, size_t len)
{
	size_t n;

	/* Only well-formed UTF-8 counts: stray 8-bit bytes (legacy charsets
	 * sent raw) are not UTF-8 strings. */
	for (size_t i = 0; i < len; i++)
		if (p[i] >= 0x80 && utf8_decode(p + i, len - i, &n) >= 0)
			return true;
	return false;
}

/* Reads the start of the message, up to RETR_HEADER_PEEK bytes or the end
 * of its header, whichever comes first; t->header_len is where the header
 * ends in it (all of it when there was no blank line). */
static int peek_header(struct pop3_transfer *t)
{
	size_t cap = 0;

	t->header_len = 0;
	while (t->peek_len < RETR_HEADER_PEEK) {
		size_t before = t->peek_len;
		ssize_t n;

		/* Grown as needed: most headers fit the first 8 KB, and a
		 * 64 KB block per RETR cost glibc a heap consolidation at
		 * each free. */
		if (t->peek_len == cap) {
			cap = cap == 0 ? 8192 : 2 * cap;
			t->peek = xrealloc(t->peek, cap);
		}
		n = msg_stream_read(t->stream, t->peek + t->peek_len, cap - t->peek_len);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		t->peek_len += n;
		t->header_len = header_end(t->peek, t->peek_len, before);
		if (t->header_len > 0)
			return 0;
	}
	t->header_len = t->peek_len;
	return 0;
}

/* Sends as much as the connection takes.  true when the response is done
 * (or the connection had to be dropped). */
static bool transfer_pump(struct pop3_session *s)
{
	struct pop3_transfer *t = s->transfer;
	char in[RETR_CHUNK];
	char out[2 * RETR_CHUNK];

	while (!t->ds.finished) {
		const char *src;
		size_t n;

		if (conn_output_full(s->conn))
			return false;	/* on_drain brings us back */
		if (t->peek_off < t->peek_len) {
			src = t->peek + t->peek_off;
			n = t->peek_len - t->peek_off;
			if (n > RETR_CHUNK)
				n = RETR_CHUNK;
			t->peek_off += n;
		} else {
			ssize_t r = msg_stream_read(t->stream, in, sizeof(in));

			if (r < 0) {
				/* +OK is out already: all we can do is cut the
				 * response short so the client sees no final dot. */
				log_error("%s: read error in the middle of message uid %u",
					  conn_id(s->conn), t->msg->uid);
				pop3_transfer_free(&s->transfer);
				conn_close(s->conn);
				return true;
			}
			if (r == 0)
				break;
			src = in;
			n = r;
		}
		conn_write(s->conn, out, dotstuff_feed(&t->ds, src, n, out));
	}
	conn_write(s->conn, out, dotstuff_end(&t->ds, out));
	if (t->is_retr)
		t->msg->retrieved = true;
	pop3_transfer_free(&s->transfer);
	return true;
}

void pop3_transfer_resume(struct pop3_session *s)
{
	if (transfer_pump(s))
		pop3_command_done(s);
}

static void transfer_start(struct pop3_session *s, struct pop3_msg *m, long body_lines)
{
	struct pop3_transfer *t = xcalloc(1, sizeof(*t));
	enum store_error err;
	const char *text;

	t->msg = m;
	t->is_retr = body_lines < 0;
	dotstuff_init(&t->ds, body_lines);
	if (mailbox_msg_open(s->drop.folders[m->folder].box, m->uid, &t->stream) < 0) {
		err = store_last_error(s->store, &text);
		pop3_transfer_free(&t);
		if (err == STORE_ERR_EXPUNGED) {
			/* Removed meanwhile by IMAP or an admin: the numbering
			 * stays (RFC 1939 snapshot), this message is just gone. */
			pop3_reply_err(s, "Message %u was removed by another session.",
				       (unsigned)(m - s->drop.msgs) + 1);
		} else if (err == STORE_ERR_PERM) {
			/* Its file cannot be read (its mode): the store logged
			 * that once; every RETR of it would fail the same way
			 * until an admin fixes it (RFC 3206 SYS/PERM). */
			pop3_reply_err(s, "[SYS/PERM] Message %u cannot be read; please tell the "
				       "administrator.", (unsigned)(m - s->drop.msgs) + 1);
		} else {
			log_error("%s: cannot open message uid %u: %s", conn_id(s->conn), m->uid,
				  text);
			pop3_reply_err(s, "[SYS/TEMP] Cannot read the message, try again later.");
		}
		return;
	}
	if (peek_header(t) < 0) {
		log_error("%s: cannot read message uid %u", conn_id(s->conn), m->uid);
		pop3_transfer_free(&t);
		pop3_reply_err(s, "[SYS/TEMP] Cannot read the message, try again later.");
		return;
	}
	if (!s->utf8 && header_has_utf8((const unsigned char *)t->peek, t->header_len)) {
		pop3_transfer_free(&t);
		pop3_reply_err(s, "[UTF8] The message has UTF-8 headers; send UTF8 first.");
		return;
	}
	if (t->is_retr)
		pop3_reply_ok(s, "%llu octets", (unsigned long long)m->vsize);
	else
		pop3_reply_ok(s, "Top of message follows.");
	s->transfer = t;
	s->busy = true;
	if (transfer_pump(s))
		s->busy = false;
}

void pop3_cmd_retr(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	struct pop3_msg *m;

	if (cmd->nargs != 1) {
		pop3_bad_command(s, "Usage: RETR message");
		return;
	}
	m = pop3_msg_arg(s, cmd->args[0]);
	if (m != NULL)
		transfer_start(s, m, -1);
}

void pop3_cmd_top(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	unsigned long lines;
	struct pop3_msg *m;

	if (cmd->nargs != 2) {
		pop3_bad_command(s, "Usage: TOP message lines");
		return;
	}
	if (pop3_parse_number(cmd->args[1], 0x7fffffffUL, &lines) < 0) {
		pop3_bad_command(s, "Invalid number of lines.");
		return;
	}
	m = pop3_msg_arg(s, cmd->args[0]);
	if (m != NULL)
		transfer_start(s, m, (long)lines);
}
