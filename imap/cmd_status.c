/* STATUS (RFC 3501 §6.3.10): counts without selecting, so without
 * claiming \Recent.  Opening syncs the Maildir: thread pool.  DELETED and
 * DELETED-STORAGE (RFC 9208 §4.1.4, for QUOTA=RES-MESSAGE/RES-STORAGE):
 * what an EXPUNGE would free, in messages and in bytes as stored (what the
 * quota counts). */
#include "imap/imap.h"
#include "core/async.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/store.h"

#include <string.h>
#include <strings.h>

enum {
	ST_MESSAGES = 1 << 0, ST_RECENT = 1 << 1, ST_UIDNEXT = 1 << 2,
	ST_UIDVALIDITY = 1 << 3, ST_UNSEEN = 1 << 4, ST_DELETED = 1 << 5,
	ST_DELETED_STORAGE = 1 << 6,
};

static const struct {
	const char *name;
	unsigned bit;
} items[] = {
	{ "MESSAGES", ST_MESSAGES }, { "RECENT", ST_RECENT }, { "UIDNEXT", ST_UIDNEXT },
	{ "UIDVALIDITY", ST_UIDVALIDITY }, { "UNSEEN", ST_UNSEEN }, { "DELETED", ST_DELETED },
	{ "DELETED-STORAGE", ST_DELETED_STORAGE },
};

struct status_job {
	struct imap_session *s;
	char *name;
	unsigned want;	/* bits, in the order asked is not needed: RFC allows any */
	int ret;
	unsigned messages, recent, unseen, deleted;
	uint32_t uidnext, uidvalidity;
	uint64_t deleted_storage;
};

static void status_work(void *arg)
{
	struct status_job *j = arg;
	struct mailbox *box;

	j->ret = mailbox_open(j->s->store, j->name, &box);
	if (j->ret < 0)
		return;
	j->messages = mailbox_count(box);
	j->recent = mailbox_recent_count(box);
	for (unsigned i = 0; i < j->messages; i++) {
		const struct store_msg *m = mailbox_msg(box, i);

		j->unseen += (m->flags & MSG_FLAG_SEEN) == 0;
		if (m->flags & MSG_FLAG_DELETED) {
			j->deleted++;
			j->deleted_storage += m->psize;
		}
	}
	j->uidnext = mailbox_uidnext(box);
	j->uidvalidity = mailbox_uidvalidity(box);
	mailbox_close(&box);
}

static void status_done(void *arg)
{
	struct status_job *j = arg;
	struct imap_session *s = j->s;

	if (!s->gone) {
		if (j->ret < 0) {
			imap_store_error(s, s->cmd_tag, "Status");
		} else {
			uint64_t values[] = { j->messages, j->recent, j->uidnext, j->uidvalidity,
					      j->unseen, j->deleted, j->deleted_storage };
			struct buf b;

			buf_init(&b, 4096);
			for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
				if (j->want & items[i].bit)
					buf_printf(&b, "%s%s %llu", b.len ? " " : "", items[i].name,
						   (unsigned long long)values[i]);
			conn_puts(s->conn, "* STATUS ");
			imap_write_string(s, j->name, strlen(j->name));
			conn_printf(s->conn, " (%s)\r\n", buf_ptr(&b));
			buf_free(&b);
			imap_tagged(s, s->cmd_tag, "OK", "Status completed.");
		}
	}
	free(j->name);
	free(j);
	imap_command_done(s);
}

bool cmd_status(struct imap_session *s, const struct imap_command *cmd)
{
	struct status_job *j;
	const struct imap_arg *list;
	const char *name;
	unsigned want = 0;

	if (cmd->nargs != 2 || cmd->args[1].type != IMAP_ARG_LIST || cmd->args[1].count == 0) {
		imap_bad(s, cmd->tag, "Usage: STATUS mailbox (items)");
		return true;
	}
	list = &cmd->args[1];
	for (unsigned i = 0; i < list->count; i++) {
		unsigned bit = 0;

		for (size_t k = 0; k < sizeof(items) / sizeof(items[0]); k++)
			if (list->list[i].type == IMAP_ARG_ATOM &&
			    strcasecmp(list->list[i].str, items[k].name) == 0)
				bit = items[k].bit;
		if (bit == 0) {
			imap_bad(s, cmd->tag, "Unknown STATUS item.");
			return true;
		}
		want |= bit;
	}
	name = imap_arg_mailbox(s, cmd->tag, &cmd->args[0]);
	if (name == NULL)
		return true;
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->name = xstrdup(name);
	j->want = want;
	imap_async(s, status_work, status_done, j);
	return false;
}
