/*
 * The QUOTA extension (RFC 9208): GETQUOTAROOT and GETQUOTA report the
 * account's quota (core/policy.h: [quota] or the user's settings) as one
 * quota root for every mailbox, with STORAGE (KiB, §5.1) and MESSAGE
 * (§5.2) as far as they are limited.  An account without limits has no
 * quota root.  The limits are the administrator's: SETQUOTA (not
 * announced, no QUOTASET) answers NO.  STATUS DELETED and DELETED-STORAGE
 * (§4.1.4), which RES-MESSAGE and RES-STORAGE require, are in cmd_status.c.
 */
#include "imap/imap.h"

#include "core/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* Dovecot's usual name; an empty one breaks some clients (Apple Mail). */
#define QUOTA_ROOT "User quota"

struct quota_job {
	struct imap_session *s;
	char *mailbox;		/* GETQUOTAROOT's argument, NULL for GETQUOTA */
	struct store_quota q;
	int ret;
};

static void quota_work(void *arg)
{
	struct quota_job *j = arg;

	j->ret = store_quota_get(j->s->store, &j->q);
}

static uint64_t kib(uint64_t bytes)
{
	return bytes / 1024 + (bytes % 1024 != 0);
}

static bool has_root(const struct store_quota *q)
{
	return q->storage_limit != 0 || q->messages_limit != 0;
}

/* * QUOTA "User quota" (STORAGE used limit MESSAGE used limit) */
static void write_quota(struct imap_session *s, const struct store_quota *q)
{
	const char *sep = "";

	conn_puts(s->conn, "* QUOTA \"" QUOTA_ROOT "\" (");
	if (q->storage_limit != 0) {
		conn_printf(s->conn, "STORAGE %llu %llu", (unsigned long long)kib(q->storage_used),
			    (unsigned long long)kib(q->storage_limit));
		sep = " ";
	}
	if (q->messages_limit != 0)
		conn_printf(s->conn, "%sMESSAGE %llu %llu", sep,
			    (unsigned long long)q->messages_used,
			    (unsigned long long)q->messages_limit);
	conn_puts(s->conn, ")\r\n");
}

static void quota_done(void *arg)
{
	struct quota_job *j = arg;
	struct imap_session *s = j->s;

	if (s->gone) {
		/* nobody to tell */
	} else if (j->ret < 0) {
		imap_store_error(s, s->cmd_tag, j->mailbox ? "Getquotaroot" : "Getquota");
	} else if (j->mailbox != NULL) {
		/* The mailbox need not exist (§4.1.2): all share the root. */
		conn_puts(s->conn, "* QUOTAROOT ");
		imap_write_string(s, j->mailbox, strlen(j->mailbox));
		conn_puts(s->conn, has_root(&j->q) ? " \"" QUOTA_ROOT "\"\r\n" : "\r\n");
		if (has_root(&j->q))
			write_quota(s, &j->q);
		imap_tagged(s, s->cmd_tag, "OK", "Getquotaroot completed.");
	} else if (!has_root(&j->q)) {
		imap_tagged(s, s->cmd_tag, "NO", "[NONEXISTENT] No such quota root.");
	} else {
		write_quota(s, &j->q);
		imap_tagged(s, s->cmd_tag, "OK", "Getquota completed.");
	}
	free(j->mailbox);
	free(j);
	imap_command_done(s);
}

bool cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd)
{
	struct quota_job *j;
	const char *name;

	if (cmd->nargs != 1) {
		imap_bad(s, cmd->tag, "Usage: GETQUOTAROOT mailbox");
		return true;
	}
	name = imap_arg_mailbox(s, cmd->tag, &cmd->args[0]);
	if (name == NULL)
		return true;
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->mailbox = xstrdup(name);
	imap_async(s, quota_work, quota_done, j);
	return false;
}

bool cmd_getquota(struct imap_session *s, const struct imap_command *cmd)
{
	struct quota_job *j;
	const char *root;
	size_t len;

	if (cmd->nargs != 1 || (root = imap_arg_string(&cmd->args[0], &len)) == NULL) {
		imap_bad(s, cmd->tag, "Usage: GETQUOTA quota-root");
		return true;
	}
	if (len != strlen(QUOTA_ROOT) || memcmp(root, QUOTA_ROOT, len) != 0) {
		imap_tagged(s, cmd->tag, "NO", "[NONEXISTENT] No such quota root.");
		return true;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	imap_async(s, quota_work, quota_done, j);
	return false;
}

bool cmd_setquota(struct imap_session *s, const struct imap_command *cmd)
{
	/* RFC 9208 §4.1.3: only with QUOTASET, which we do not announce. */
	imap_tagged(s, cmd->tag, "NO", "[NOPERM] Quotas are set by the administrator.");
	return true;
}
