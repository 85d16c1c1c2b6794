/*
 * APPEND's message literal streamed into the store.  See imap_append.h.
 *
 * While a job of ours runs on the thread pool (opening the save, writing a
 * chunk) the session is busy: input stays buffered, and when the buffer is
 * full the connection stops reading, so a fast client is slowed to the
 * disk's pace instead of filling memory.
 */
#include "imap/imap.h"
#include "imap/imap_append.h"
#include "imap/imap_datetime.h"

#include "core/log.h"
#include "store/store.h"

#include <string.h>

void imap_append_free(struct imap_append **ap)
{
	struct imap_append *a = *ap;

	if (a == NULL)
		return;
	/* On the loop: only an unlink of the temp file, never its bytes. */
	store_save_abort(&a->save);
	for (size_t i = 0; i < a->nkeywords; i++)
		free(a->keywords[i]);
	free(a->keywords);
	free(a->buf);
	free(a->mailbox);
	free(a->tag);
	free(a);
	*ap = NULL;
}

void imap_append_drop(struct imap_session *s)
{
	imap_append_free(&s->append);
	s->lit_append = false;
}

bool imap_append_answered(const struct imap_session *s)
{
	return s->append != NULL && s->append->answered;
}

/* The literal was refused and answered.  A synchronising one will not
 * come: the command is over.  A non-synchronising one is already on its
 * way: its octets are read and dropped, and the rest of its command too. */
static void refused(struct imap_session *s)
{
	if (s->append->sync) {
		imap_append_drop(s);
		s->in_literal = false;
		imap_parser_reset(s->parser);
		return;
	}
	s->append->answered = true;
}

/* mailbox [flag-list] [date-time]: the arguments before the message
 * (RFC 3501 §6.3.11).  Answers the command itself if they are wrong. */
static int parse_args(struct imap_session *s, struct imap_append *a,
		      const struct imap_command *cmd)
{
	const char *name = imap_arg_mailbox(s, a->tag, &cmd->args[0]);
	unsigned i = 1;

	if (name == NULL)
		return -1;
	a->mailbox = xstrdup(name);
	if (i < cmd->nargs && cmd->args[i].type == IMAP_ARG_LIST) {
		struct imap_keyword_names kw = { 0 };

		if (imap_arg_flags_kw(s, a->tag, &cmd->args[i], &a->flags, &kw) < 0)
			return -1;
		/* The names point into the parser's arena, which the next
		 * line reuses: keep copies until the save is open. */
		a->keywords = xcalloc(kw.count ? kw.count : 1, sizeof(*a->keywords));
		for (unsigned k = 0; k < kw.count; k++)
			a->keywords[a->nkeywords++] = xstrdup(kw.names[k]);
		free(kw.names);
		i++;
	}
	/* (The one instant 1-Jan-1970 00:00:00 UTC reads as 0, which the
	 * store takes for "now"; no mail client has a message from then.) */
	if (i < cmd->nargs && cmd->args[i].type == IMAP_ARG_QUOTED) {
		if (imap_datetime_parse(cmd->args[i].str, cmd->args[i].len, &a->received) < 0) {
			imap_bad(s, a->tag, "Invalid date-time.");
			return -1;
		}
		i++;
	}
	if (i != cmd->nargs) {
		imap_bad(s, a->tag, "Usage: APPEND mailbox [(flags)] [date-time] literal");
		return -1;
	}
	return 0;
}

static void begin_work(void *arg)
{
	struct imap_append *a = arg;

	/* The literal's size is known before it is sent: a message that cannot
	 * fit is refused now, not after the upload (RFC 3501 §6.3.11 lets the
	 * server answer NO instead of the continuation). */
	a->ret = store_save_begin(a->s->store, a->mailbox, a->received, a->flags, &a->save);
	if (a->ret == 0 && store_quota_check(a->s->store, a->size, 1) < 0) {
		store_save_abort(&a->save);
		a->ret = -1;
	}
	if (a->ret == 0 && a->nkeywords > 0 &&
	    store_save_keywords(a->save, (const char *const *)a->keywords, a->nkeywords) < 0) {
		store_save_abort(&a->save);
		a->ret = -1;
	}
}

static void begin_done(void *arg)
{
	struct imap_append *a = arg;
	struct imap_session *s = a->s;

	if (s->gone) {
		/* The session is freed next, and the save with it. */
	} else if (a->ret < 0) {
		/* RFC 3501 §6.3.11: no such mailbox is TRYCREATE; we never
		 * create it ourselves. */
		if (store_last_error(s->store, NULL) == STORE_ERR_NOTFOUND)
			imap_tagged(s, a->tag, "NO", "[TRYCREATE] No such mailbox.");
		else
			imap_store_error(s, a->tag, "Append");
		refused(s);
	} else if (a->sync) {
		conn_puts(s->conn, "+ Ready for literal data.\r\n");
	}
	imap_input_resume(s);
}

bool imap_append_literal_start(struct imap_session *s, const struct imap_literal_info *li)
{
	const struct imap_command *so_far;
	struct imap_append *a;
	unsigned depth;

	if (strcmp(imap_parser_command_name(s->parser), "APPEND") != 0)
		return false;
	so_far = imap_parser_command_so_far(s->parser, &depth);
	/* The mailbox name, or something inside a list: not the message. */
	if (so_far->nargs == 0 || depth > 0)
		return false;
	s->in_literal = true;
	s->lit_append = true;
	s->lit_len = 0;
	s->lit_size = (size_t)li->size;
	if (s->append != NULL) {
		/* A second message: MULTIAPPEND (RFC 3502), which we do not
		 * offer.  It has answered already if it was refused. */
		if (!s->append->answered)
			imap_bad(s, s->append->tag, "MULTIAPPEND is not supported.");
		s->append->sync = li->sync;	/* this literal's kind decides */
		refused(s);
		return true;
	}
	a = xcalloc(1, sizeof(*a));
	a->s = s;
	a->tag = xstrdup(so_far->tag);
	a->nargs = so_far->nargs;
	a->sync = li->sync;
	a->size = li->size;
	s->append = a;
	if (s->state != IMAP_STATE_AUTH && s->state != IMAP_STATE_SELECTED) {
		imap_bad(s, a->tag, "Not logged in.");
		refused(s);
		return true;
	}
	if (parse_args(s, a, so_far) < 0) {
		refused(s);
		return true;
	}
	if (li->literal8) {
		imap_bad(s, a->tag, "BINARY (RFC 3516) is not supported.");
		refused(s);
		return true;
	}
	if (li->size == 0) {
		imap_tagged(s, a->tag, "NO", "[CANNOT] An empty message is not saved.");
		refused(s);
		return true;
	}
	/* Input waits until the save is open (or refused). */
	s->busy = true;
	imap_async(s, begin_work, begin_done, a);
	return true;
}

static void write_work(void *arg)
{
	struct imap_append *a = arg;

	a->ret = store_save_write(a->save, a->buf, a->len);
}

static void write_done(void *arg)
{
	struct imap_append *a = arg;
	struct imap_session *s = a->s;

	/* A failure is answered when the command is complete (cmd_append.c);
	 * the client sends the rest of the message regardless. */
	if (a->ret < 0)
		a->failed = true;
	a->len = 0;
	imap_input_resume(s);
}

bool imap_append_literal_read(struct imap_session *s)
{
	struct imap_append *a = s->append;

	while (s->lit_len < s->lit_size) {
		bool keep = !a->answered && !a->failed;
		size_t want = s->lit_size - s->lit_len, n;
		const char *data;

		if (keep && want > APPEND_CHUNK - a->len)
			want = APPEND_CHUNK - a->len;
		n = conn_read_bytes(s->conn, want, &data);
		if (n == 0)
			return false;
		s->lit_len += n;
		if (!keep)
			continue;
		/* No bigger than the message: many small APPENDs at once are
		 * normal, many big ones are not. */
		if (a->buf == NULL)
			a->buf = xmalloc(s->lit_size < APPEND_CHUNK ? s->lit_size : APPEND_CHUNK);
		memcpy(a->buf + a->len, data, n);
		a->len += n;
		if (a->len == APPEND_CHUNK) {
			/* Written off the loop; input waits for it. */
			s->busy = true;
			imap_async(s, write_work, write_done, a);
			return false;
		}
	}
	return true;
}
