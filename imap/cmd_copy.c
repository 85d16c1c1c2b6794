/*
 * COPY (RFC 3501 §6.4.7) and MOVE (RFC 6851), and UID COPY / UID MOVE
 * (s->uid, RFC 3501 §6.4.8).  The store does the copying (mailbox_copy():
 * durable, all or nothing) on the thread pool; MOVE then expunges the
 * sources there too.  Answers carry COPYUID (RFC 4315 §3); for MOVE it goes
 * in an untagged OK before the EXPUNGE responses (RFC 6851 §4.3).
 *
 * Messages the client still counts but that are expunged already (marked
 * in the view), or that vanish while we copy, are not copied: the others
 * are, and COPYUID says which; if none is left, the answer is
 * NO [EXPUNGEISSUED] (RFC 5530).  A MOVE whose expunge fails takes back the
 * copies of what it could not remove, so no message ends up in both
 * mailboxes (RFC 6851 §3.3).
 */
#include "imap/imap.h"
#include "imap/imap_seqset.h"

#include "core/log.h"
#include "store/store.h"

#include <string.h>

struct copy_job {
	struct imap_session *s;
	bool move;
	char *dest;
	uint32_t *uids;		/* asked for and still in the store, ascending */
	size_t count;
	bool expunged;		/* some asked for were expunged before we began */
	bool to_selected;	/* dest is the selected mailbox */
	struct store_copy_map map;
	int ret;		/* the copy */
	int expunge_ret;	/* MOVE: removing the sources */
	int sync_ret;		/* COPY into the selected mailbox: its resync */
};

static void job_free(struct copy_job *j)
{
	store_copy_map_free(&j->map);
	free(j->uids);
	free(j->dest);
	free(j);
}

/* The expunge of a MOVE failed, maybe halfway: keep in the map what did
 * move (its source is gone), and remove the copies of the rest from the
 * target again. */
static void move_take_back(struct copy_job *j)
{
	struct mailbox *box = j->s->box, *target = NULL;
	uint32_t *back = xcalloc(j->map.count, sizeof(*back));
	size_t nback = 0, kept = 0;

	if (mailbox_sync(box) < 0)
		log_warn("move: cannot resync after a failed expunge");
	if (mailbox_uidvalidity(box) != j->s->view.uidvalidity) {
		/* Renumbered meanwhile: the source UIDs cannot say which
		 * sources are left, and taking back the copy of a message that
		 * did move would lose it.  Both stay; the report closes the
		 * session. */
		log_error("move: %s was renumbered; some messages may be in both it and %s",
			  j->s->box_name, j->dest);
		return;
	}
	for (size_t i = 0; i < j->map.count; i++) {
		if (mailbox_find_uid(box, j->map.src_uids[i]) >= 0) {
			back[nback++] = j->map.dest_uids[i];
		} else {
			j->map.src_uids[kept] = j->map.src_uids[i];
			j->map.dest_uids[kept] = j->map.dest_uids[i];
			kept++;
		}
	}
	j->map.count = kept;
	if (nback > 0 && (mailbox_open(j->s->store, j->dest, &target) < 0 ||
			  mailbox_expunge(target, back, nback) < 0))
		log_error("move: %zu messages are now in both the source and %s", nback, j->dest);
	mailbox_close(&target);
	free(back);
}

static void copy_work(void *arg)
{
	struct copy_job *j = arg;
	struct mailbox *box = j->s->box;

	/* A MOVE does not grow the account: not refused for quota. */
	j->ret = j->move ? mailbox_copy_for_move(box, j->uids, j->count, j->dest, &j->map) :
			   mailbox_copy(box, j->uids, j->count, j->dest, &j->map);
	if (j->ret < 0)
		return;
	if (j->move && j->map.count > 0) {
		/* Re-reads the view too, which then shows the copies if the
		 * target is this mailbox. */
		j->expunge_ret = mailbox_expunge(box, j->map.src_uids, j->map.count);
		if (j->expunge_ret < 0)
			move_take_back(j);
	} else if (j->to_selected) {
		j->sync_ret = mailbox_sync(box);
	}
	/* Copies into the mailbox selected read-write are new mail here:
	 * \Recent to this session (RFC 3501 §2.3.2, §6.4.7). */
	if (j->to_selected && j->map.count > 0 && j->sync_ret == 0 && !j->s->readonly)
		j->sync_ret = mailbox_claim_recent(box);
}

/* "[COPYUID uidvalidity source-set dest-set]": written without the fixed
 * line buffers of imap_tagged(), since the sets may be long. */
static void write_copyuid(struct imap_session *s, const char *prefix, const struct copy_job *j,
			  const char *text)
{
	char *src = imap_seqset_format(j->map.src_uids, j->map.count);
	char *dst = imap_seqset_format(j->map.dest_uids, j->map.count);

	conn_printf(s->conn, "%s OK [COPYUID %u %s %s] %s\r\n", prefix, j->map.uidvalidity, src,
		    dst, text);
	free(src);
	free(dst);
}

static void copy_done(void *arg)
{
	struct copy_job *j = arg;
	struct imap_session *s = j->s;
	const char *what = j->move ? "Move" : "Copy";
	/* some asked for are not copied: expunged before or during the copy */
	bool missing = j->expunged || (j->ret == 0 && j->map.count < j->count);

	if (s->gone) {
		/* done on disk; nobody to tell */
	} else if (j->ret < 0) {
		/* RFC 3501 §6.4.7: a missing target is TRYCREATE. */
		if (store_last_error(s->store, NULL) == STORE_ERR_NOTFOUND)
			imap_tagged(s, s->cmd_tag, "NO", "[TRYCREATE] No such mailbox.");
		else
			imap_store_error(s, s->cmd_tag, what);
	} else {
		if (j->move && j->map.count > 0)
			write_copyuid(s, "*", j, "Moved.");
		if (j->move || (j->to_selected && j->sync_ret == 0))
			imap_view_report(s, true);	/* MOVE: the EXPUNGEs */
		if (j->move && j->expunge_ret < 0)
			imap_store_error(s, s->cmd_tag, what);
		else if (j->map.count == 0 && missing)
			imap_tagged(s, s->cmd_tag, "NO",
				    "[EXPUNGEISSUED] The messages were expunged meanwhile.");
		else if (j->move || j->map.count == 0)
			imap_tagged(s, s->cmd_tag, "OK", "%s completed%s", what,
				    missing ? "; some messages were expunged meanwhile." : ".");
		else
			write_copyuid(s, s->cmd_tag, j, missing ? "Copy completed; some messages "
				      "were expunged meanwhile." : "Copy completed.");
	}
	job_free(j);
	imap_command_done(s);
}

static bool copy_common(struct imap_session *s, const struct imap_command *cmd, bool move)
{
	struct copy_job *j;
	unsigned *seqs;
	size_t n;
	const char *dest;

	if (cmd->nargs != 2) {
		imap_bad(s, cmd->tag, move ? "Usage: MOVE sequence-set mailbox" :
			 "Usage: COPY sequence-set mailbox");
		return true;
	}
	if (move && s->readonly) {
		imap_tagged(s, cmd->tag, "NO", "[CANNOT] The mailbox is read-only (EXAMINE).");
		return true;
	}
	dest = imap_arg_mailbox(s, cmd->tag, &cmd->args[1]);
	if (dest == NULL || imap_view_seqset(s, cmd->tag, &cmd->args[0], s->uid, &seqs, &n) < 0)
		return true;
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->move = move;
	j->dest = xstrdup(dest);
	j->to_selected = strcmp(dest, s->box_name) == 0;
	j->uids = xcalloc(n ? n : 1, sizeof(*j->uids));
	for (size_t i = 0; i < n; i++) {
		const struct imap_view_msg *m = &s->view.msgs[seqs[i] - 1];

		if (m->expunged)
			j->expunged = true;
		else
			j->uids[j->count++] = m->uid;
	}
	free(seqs);
	imap_async(s, copy_work, copy_done, j);
	return false;
}

bool cmd_copy(struct imap_session *s, const struct imap_command *cmd)
{
	return copy_common(s, cmd, false);
}

bool cmd_move(struct imap_session *s, const struct imap_command *cmd)
{
	return copy_common(s, cmd, true);
}
