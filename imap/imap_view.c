/*
 * The client's view of the selected mailbox (see imap_view.h): sequence
 * numbers, and the diff against the store's view that becomes untagged
 * EXPUNGE, EXISTS, RECENT and FETCH (FLAGS) responses.
 */
#include "imap/imap.h"
#include "imap/imap_seqset.h"

#include "core/buf.h"
#include "core/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void imap_view_init(struct imap_session *s)
{
	struct imap_view *v = &s->view;
	unsigned n = mailbox_count(s->box);

	imap_view_free(v);
	v->msgs = xcalloc(n ? n : 1, sizeof(*v->msgs));
	for (unsigned i = 0; i < n; i++) {
		const struct store_msg *m = mailbox_msg(s->box, i);

		v->msgs[i].uid = m->uid;
		v->msgs[i].flags = m->flags;
		v->msgs[i].keywords = m->keywords;
	}
	v->count = n;
	v->recent = mailbox_recent_count(s->box);
	v->nkeywords = mailbox_keyword_count(s->box);
	v->uidvalidity = mailbox_uidvalidity(s->box);
}

void imap_view_free(struct imap_view *v)
{
	free(v->msgs);
	memset(v, 0, sizeof(*v));
}

static void send_flags(struct imap_session *s, unsigned seq, const struct store_msg *m)
{
	struct buf b;

	buf_init(&b, (size_t)-1);
	buf_printf(&b, "* %u FETCH (FLAGS ", seq);
	imap_buf_msg_flags(&b, s, m);
	/* RFC 3501 §6.4.8: UIDs in unsolicited FETCH help clients that use
	 * UID commands only; Dovecot sends them too. */
	buf_printf(&b, " UID %u)\r\n", s->view.msgs[seq - 1].uid);
	conn_write(s->conn, buf_ptr(&b), buf_len(&b));
	buf_free(&b);
}

void imap_view_report(struct imap_session *s, bool allow_expunge)
{
	struct imap_view *v = &s->view;
	struct mailbox *box = s->box;
	unsigned n = mailbox_count(box), old_count = v->count, j = 0, expunged = 0;
	unsigned recent;

	/* The store renumbered the mailbox (its index was lost): the UIDs
	 * the client holds mean other messages now, and nothing we could send
	 * makes that right within the session (RFC 3501 §2.3.1.1).  It has to
	 * select again and see the new UIDVALIDITY. */
	if (mailbox_uidvalidity(box) != v->uidvalidity) {
		log_warn("%s: UIDVALIDITY of %s changed, closing the session", conn_id(s->conn),
			 s->box_name);
		imap_untagged(s, "BYE Mailbox renumbered (UIDVALIDITY changed); please reconnect.");
		conn_close(s->conn);
		return;
	}
	/* Keywords first named by others: the client hears the names before
	 * it sees them on messages. */
	if (mailbox_keyword_count(box) > v->nkeywords)
		imap_send_mailbox_flags(s);
	/* Both lists ascend by UID: one merge pass finds what vanished and
	 * whose flags changed; what is left in the store is new. */
	for (unsigned i = 0; i < v->count; i++) {
		struct imap_view_msg *vm = &v->msgs[i];

		while (j < n && mailbox_msg(box, j)->uid < vm->uid)
			j++;	/* a UID below a known one cannot be new: skip */
		if (j < n && mailbox_msg(box, j)->uid == vm->uid) {
			const struct store_msg *m = mailbox_msg(box, j);

			if (!vm->expunged && (m->flags != vm->flags || m->keywords != vm->keywords)) {
				vm->flags = m->flags;
				vm->keywords = m->keywords;
				send_flags(s, i + 1, m);
			}
			j++;
		} else {
			vm->expunged = true;
		}
		if (vm->expunged)
			expunged++;
	}
	if (expunged > 0 && allow_expunge) {
		/* Highest first, so each number is still right when sent
		 * (RFC 3501 §7.4.1: later numbers shift down by one). */
		for (unsigned i = v->count; i-- > 0;) {
			if (!v->msgs[i].expunged)
				continue;
			imap_untagged(s, "%u EXPUNGE", i + 1);
			memmove(&v->msgs[i], &v->msgs[i + 1], (v->count - i - 1) * sizeof(*v->msgs));
			v->count--;
		}
	}
	/* New messages: the store's UIDs above the highest the client knows. */
	old_count = v->count;
	{
		uint32_t top = v->count > 0 ? v->msgs[v->count - 1].uid : 0;
		unsigned first = n;

		while (first > 0 && mailbox_msg(box, first - 1)->uid > top)
			first--;
		if (first < n) {
			v->msgs = xrealloc(v->msgs, (v->count + (n - first)) * sizeof(*v->msgs));
			for (unsigned k = first; k < n; k++) {
				struct imap_view_msg *vm = &v->msgs[v->count++];

				vm->uid = mailbox_msg(box, k)->uid;
				vm->flags = mailbox_msg(box, k)->flags;
				vm->keywords = mailbox_msg(box, k)->keywords;
				vm->expunged = false;
			}
		}
	}
	if (v->count != old_count)
		imap_untagged(s, "%u EXISTS", v->count);
	/* RECENT goes with EXISTS; after expunges alone the client counts
	 * down itself (RFC 3501 §7.3.2, §7.4.1). */
	recent = mailbox_recent_count(box);
	if (v->count > old_count) {
		v->recent = recent;
		imap_untagged(s, "%u RECENT", recent);
	}
}

const struct store_msg *imap_view_store_msg(const struct imap_session *s, unsigned seq)
{
	uint32_t uid;
	int i;

	if (seq == 0 || seq > s->view.count || s->view.msgs[seq - 1].expunged)
		return NULL;
	uid = s->view.msgs[seq - 1].uid;
	/* Until someone expunges, the session's numbers are the store's. */
	i = mailbox_find_uid_at(s->box, uid, seq - 1);
	return i < 0 ? NULL : mailbox_msg(s->box, (unsigned)i);
}

unsigned imap_view_seq_of_uid(const struct imap_session *s, uint32_t uid)
{
	unsigned lo = 0, hi = s->view.count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (s->view.msgs[mid].uid == uid)
			return mid + 1;
		if (s->view.msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int imap_view_seqset(struct imap_session *s, const char *tag, const struct imap_arg *arg,
		     bool uid, unsigned **seqs_r, size_t *count_r)
{
	const struct imap_view *v = &s->view;
	struct seqset set;
	const char *err;
	unsigned *seqs = NULL;
	size_t count = 0;

	*seqs_r = NULL;
	*count_r = 0;
	if (arg->type != IMAP_ARG_ATOM || imap_seqset_parse(arg->str, arg->len, &set, &err) < 0) {
		imap_bad(s, tag, arg->type == IMAP_ARG_ATOM ? err : "Invalid sequence set.");
		return -1;
	}
	if (uid) {
		/* "*" is the highest UID in use; with no messages, uidnext-1
		 * keeps "n:*" meaning "from n on" without matching anything. */
		imap_seqset_resolve(&set, v->count > 0 ? v->msgs[v->count - 1].uid : 0);
		if (v->count > 0)
			seqs = xcalloc(v->count, sizeof(*seqs));
		/* Walk the ranges and binary-search each, so "1:*" over a
		 * huge mailbox and "5,9" cost what they should. */
		for (size_t r = 0; r < set.count; r++) {
			unsigned lo = 0, hi = v->count;

			while (lo < hi) {
				unsigned mid = lo + (hi - lo) / 2;

				if (v->msgs[mid].uid < set.ranges[r].lo)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (unsigned i = lo; i < v->count && v->msgs[i].uid <= set.ranges[r].hi; i++)
				seqs[count++] = i + 1;
		}
	} else {
		/* RFC 3501 §9 seq-number: "*" is the last message; a number
		 * above the count is invalid (but "*" in an empty mailbox is
		 * the client's mistake too). */
		imap_seqset_resolve(&set, v->count);
		for (size_t r = 0; r < set.count; r++) {
			if (set.ranges[r].lo == 0 || set.ranges[r].hi > v->count) {
				imap_seqset_free(&set);
				imap_bad(s, tag, "Invalid message sequence number.");
				return -1;
			}
		}
		for (size_t r = 0; r < set.count; r++)
			count += set.ranges[r].hi - set.ranges[r].lo + 1;
		if (count > 0)
			seqs = xcalloc(count, sizeof(*seqs));
		count = 0;
		for (size_t r = 0; r < set.count; r++)
			for (uint64_t n = set.ranges[r].lo; n <= set.ranges[r].hi; n++)
				seqs[count++] = (unsigned)n;
	}
	imap_seqset_free(&set);
	*seqs_r = seqs;
	*count_r = count;
	return 0;
}

void imap_view_set_flags(struct imap_session *s, unsigned seq, unsigned flags)
{
	const struct store_msg *m = imap_view_store_msg(s, seq);

	if (seq < 1 || seq > s->view.count)
		return;
	s->view.msgs[seq - 1].flags = flags;
	if (m != NULL)
		s->view.msgs[seq - 1].keywords = m->keywords;
}

/* The names of flags, space-separated, without the parentheses. */
static void buf_flag_names(struct buf *b, unsigned flags)
{
#define FLAG_NAME(flag, name) { flag, name, sizeof(name) - 1 }
	static const struct { unsigned flag; const char *name; size_t len; } names[] = {
		FLAG_NAME(MSG_FLAG_ANSWERED, "\\Answered"), FLAG_NAME(MSG_FLAG_FLAGGED, "\\Flagged"),
		FLAG_NAME(MSG_FLAG_DELETED, "\\Deleted"), FLAG_NAME(MSG_FLAG_SEEN, "\\Seen"),
		FLAG_NAME(MSG_FLAG_DRAFT, "\\Draft"), FLAG_NAME(MSG_FLAG_RECENT, "\\Recent"),
	};
#undef FLAG_NAME
	bool first = true;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((flags & names[i].flag) == 0)
			continue;
		if (!first)
			buf_append(b, " ", 1);
		buf_append(b, names[i].name, names[i].len);
		first = false;
	}
}

void imap_buf_flags(struct buf *b, unsigned flags)
{
	buf_append(b, "(", 1);
	buf_flag_names(b, flags);
	buf_append(b, ")", 1);
}

void imap_buf_msg_flags(struct buf *b, const struct imap_session *s, const struct store_msg *m)
{
	bool first = (m->flags & (MSG_FLAG_ANSWERED | MSG_FLAG_FLAGGED | MSG_FLAG_DELETED |
				  MSG_FLAG_SEEN | MSG_FLAG_DRAFT | MSG_FLAG_RECENT)) == 0;

	buf_append(b, "(", 1);
	buf_flag_names(b, m->flags);
	for (unsigned i = 0; i < STORE_MAX_KEYWORDS; i++) {
		const char *name = (m->keywords & (1u << i)) ? mailbox_keyword(s->box, i) : NULL;

		if (name == NULL)
			continue;
		if (!first)
			buf_append(b, " ", 1);
		buf_append_str(b, name);
		first = false;
	}
	buf_append(b, ")", 1);
}

#define SYSTEM_FLAGS "\\Answered \\Flagged \\Deleted \\Seen \\Draft"

void imap_send_mailbox_flags(struct imap_session *s)
{
	struct buf b;
	unsigned n = mailbox_keyword_count(s->box);

	buf_init(&b, (size_t)-1);
	buf_printf(&b, "* FLAGS (" SYSTEM_FLAGS);
	for (unsigned i = 0; i < n; i++)
		buf_printf(&b, " %s", mailbox_keyword(s->box, i));
	buf_printf(&b, ")\r\n");
	/* \* : new keywords may be made, while the list has room */
	buf_printf(&b, "* OK [PERMANENTFLAGS (");
	if (!s->readonly) {
		buf_printf(&b, SYSTEM_FLAGS);
		for (unsigned i = 0; i < n; i++)
			buf_printf(&b, " %s", mailbox_keyword(s->box, i));
		if (n < STORE_MAX_KEYWORDS)
			buf_printf(&b, " \\*");
	}
	buf_printf(&b, ")] Flags permitted.\r\n");
	conn_write(s->conn, buf_ptr(&b), buf_len(&b));
	buf_free(&b);
	s->view.nkeywords = n;
}

/* One flag: a system flag's bit, 0 for a keyword, or -1 for something that
 * is not a flag at all. */
static int flag_of(const struct imap_arg *a)
{
	static const struct { const char *name; unsigned flag; } sys[] = {
		{ "\\Answered", MSG_FLAG_ANSWERED }, { "\\Flagged", MSG_FLAG_FLAGGED },
		{ "\\Deleted", MSG_FLAG_DELETED }, { "\\Seen", MSG_FLAG_SEEN },
		{ "\\Draft", MSG_FLAG_DRAFT },
	};

	if (a->type != IMAP_ARG_ATOM || a->len == 0)
		return -1;
	if (a->str[0] != '\\') {
		/* RFC 3501 §9: flag-keyword = atom */
		for (size_t i = 0; i < a->len; i++)
			if (strchr("()[]{%*\"\\]", a->str[i]) != NULL ||
			    (unsigned char)a->str[i] <= 0x20 || (unsigned char)a->str[i] >= 0x7f)
				return -1;
		return 0;
	}
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (strcasecmp(a->str, sys[i].name) == 0)
			return (int)sys[i].flag;
	/* \Recent may not be set by clients (§2.3.2): ignored.  Other
	 * \Words are flag-extensions we do not know. */
	if (strcasecmp(a->str, "\\Recent") == 0)
		return 0;
	return -1;
}

int imap_arg_flags_kw(struct imap_session *s, const char *tag, const struct imap_arg *arg,
		      unsigned *flags_r, struct imap_keyword_names *kw)
{
	const struct imap_arg *list = arg->type == IMAP_ARG_LIST ? arg->list : arg;
	unsigned count = arg->type == IMAP_ARG_LIST ? arg->count : 1;
	unsigned flags = 0;

	for (unsigned i = 0; i < count; i++) {
		int f = flag_of(&list[i]);

		if (f < 0) {
			imap_bad(s, tag, "Invalid flag.");
			return -1;
		}
		flags |= (unsigned)f;
		if (f == 0 && kw != NULL && list[i].str[0] != '\\') {
			kw->names = xrealloc(kw->names, (kw->count + 1) * sizeof(*kw->names));
			kw->names[kw->count++] = list[i].str;
		}
	}
	*flags_r |= flags;
	return 0;
}

int imap_arg_flags(struct imap_session *s, const char *tag, const struct imap_arg *arg,
		   unsigned *flags_r)
{
	*flags_r = 0;
	return imap_arg_flags_kw(s, tag, arg, flags_r, NULL);
}
