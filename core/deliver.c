/*
 * Final delivery into a user's INBOX: trace header lines, the save, and one
 * classification of store failures for LMTP and `duomail deliver`.  See
 * deliver.h.
 */
#include "core/deliver.h"
#include "core/account.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/store.h"

#include <stdbool.h>
#include <string.h>

/* The added lines are short: three fields of at most a few addresses. */
#define TRACE_MAX 8192

struct delivery {
	struct store *st;
	struct store_save *save;
	char *user;
	char *return_path;
	char *delivered_to;
	char *received;
	char head[DELIVER_HEAD_MAX];	/* message bytes held back, see deliver.h */
	size_t head_len;
	bool head_done;			/* trace lines and head are written */
	uint64_t size;
	enum deliver_status failed;	/* DELIVER_OK until something failed */
};

const char *deliver_status_text(enum deliver_status status)
{
	switch (status) {
	case DELIVER_OK: return "delivered";
	case DELIVER_NOUSER: return "no such user";
	case DELIVER_TEMPFAIL: return "temporary failure";
	case DELIVER_NOSPACE: return "out of disk space";
	case DELIVER_OVERQUOTA: return "over quota";
	}
	return "unknown status";
}

/* A store failure, the way every delivery path reports it.  The store's
 * own text goes to the log only; clients get fixed replies. */
static enum deliver_status store_failure(struct delivery *d, enum store_error err,
					 const char *text)
{
	enum deliver_status status;

	switch (err) {
	case STORE_ERR_NOSPACE:
		status = DELIVER_NOSPACE;
		break;
	case STORE_ERR_OVERQUOTA:
		status = DELIVER_OVERQUOTA;
		break;
	default:
		/* Lock timeouts, I/O errors, a permission an admin got wrong:
		 * mail must not bounce for what can be fixed (CONTRACT.md,
		 * deliver exit 75). */
		status = DELIVER_TEMPFAIL;
		break;
	}
	log_error("deliver to %s failed: %s", d->user, text);
	d->failed = status;
	return status;
}

static enum deliver_status save_failure(struct delivery *d)
{
	const char *text;
	enum store_error err = store_last_error(d->st, &text);

	return store_failure(d, err, text);
}

static void delivery_free(struct delivery *d)
{
	store_save_abort(&d->save);
	store_close(&d->st);
	free(d->user);
	free(d->return_path);
	free(d->delivered_to);
	free(d->received);
	free(d);
}

/* A copy that cannot start a header field of its own: control bytes
 * become '?' (callers validate addresses; this is the last line of
 * defence against header injection).  folding keeps "\n\t" (Received). */
static char *dup_field(const char *s, bool folding)
{
	char *copy;

	if (s == NULL)
		return NULL;
	copy = xstrdup(s);
	for (char *p = copy; *p != '\0'; p++) {
		if (folding && p[0] == '\n' && p[1] == '\t')
			p++;
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return copy;
}

enum deliver_status delivery_begin(const struct config *cfg, const char *user,
				   const struct user_settings *us, const struct deliver_env *env,
				   struct delivery **d_r)
{
	struct delivery *d = xcalloc(1, sizeof(*d));
	enum deliver_status status;

	*d_r = NULL;
	d->user = xstrdup(user);
	d->return_path = dup_field(env->return_path, false);
	d->delivered_to = dup_field(env->delivered_to, false);
	d->received = dup_field(env->received, true);
	/* Nothing to add: no need to look at the first line. */
	d->head_done = d->return_path == NULL && d->delivered_to == NULL && d->received == NULL;
	/* The account with its quota set, so an over-quota save fails with
	 * STORE_ERR_OVERQUOTA below; account_open() logs its failures. */
	switch (account_open(cfg, user, us, &d->st, NULL)) {
	case ACCOUNT_OK:
		break;
	case ACCOUNT_NOUSER:
		delivery_free(d);
		return DELIVER_NOUSER;
	case ACCOUNT_TEMPFAIL:
		delivery_free(d);
		return DELIVER_TEMPFAIL;
	}
	if (store_save_begin(d->st, "INBOX", 0, 0, &d->save) < 0) {
		status = save_failure(d);
		delivery_free(d);
		return status;
	}
	*d_r = d;
	return DELIVER_OK;
}

/* Appends "Name: value" and a line end to b; inner "\n" of value become
 * line ends too (folding, RFC 5322 §2.2.3).  -1 if b is full. */
static int add_field(struct buf *b, const char *name, const char *value, const char *eol)
{
	int ret = buf_printf(b, "%s: ", name);

	for (const char *p = value; *p != '\0' && ret == 0; p++) {
		if (*p == '\n')
			ret = buf_append(b, eol, strlen(eol));
		else
			ret = buf_append(b, p, 1);
	}
	return ret < 0 ? -1 : buf_append(b, eol, strlen(eol));
}

/* Writes the trace lines, ending the way the held-back first line ends,
 * and then the held-back bytes. */
static enum deliver_status flush_head(struct delivery *d)
{
	bool crlf = d->head_len >= 2 && d->head[d->head_len - 1] == '\n' &&
		    d->head[d->head_len - 2] == '\r';
	const char *eol = crlf ? "\r\n" : "\n";
	struct buf b;
	int ret = 0;

	buf_init(&b, TRACE_MAX);
	if (d->return_path != NULL && buf_printf(&b, "Return-Path: <%s>%s", d->return_path, eol) < 0)
		ret = -1;
	if (ret == 0 && d->delivered_to != NULL)
		ret = add_field(&b, "Delivered-To", d->delivered_to, eol);
	if (ret == 0 && d->received != NULL)
		ret = add_field(&b, "Received", d->received, eol);
	if (ret < 0) {
		/* The callers bound addresses far below TRACE_MAX; refuse
		 * rather than store a cut header. */
		buf_free(&b);
		return store_failure(d, STORE_ERR_INVALID, "trace header lines too long");
	}
	ret = store_save_write(d->save, buf_ptr(&b), buf_len(&b));
	buf_free(&b);
	if (ret == 0 && d->head_len > 0)
		ret = store_save_write(d->save, d->head, d->head_len);
	d->head_done = true;
	return ret < 0 ? save_failure(d) : DELIVER_OK;
}

enum deliver_status delivery_write(struct delivery *d, const void *data, size_t len)
{
	const char *p = data;

	if (d->failed != DELIVER_OK)
		return d->failed;
	d->size += len;
	if (!d->head_done) {
		size_t room = DELIVER_HEAD_MAX - d->head_len;
		size_t n = len < room ? len : room;
		const char *lf = n > 0 ? memchr(p, '\n', n) : NULL;
		enum deliver_status status;

		if (lf != NULL)
			n = (size_t)(lf - p) + 1;
		memcpy(d->head + d->head_len, p, n);
		d->head_len += n;
		p += n;
		len -= n;
		if (lf == NULL && d->head_len < DELIVER_HEAD_MAX)
			return DELIVER_OK;
		status = flush_head(d);
		if (status != DELIVER_OK)
			return status;
	}
	if (len > 0 && store_save_write(d->save, p, len) < 0)
		return save_failure(d);
	return DELIVER_OK;
}

enum deliver_status delivery_commit(struct delivery **dp)
{
	struct delivery *d = *dp;
	enum deliver_status status = d->failed;

	*dp = NULL;
	/* A message without any line end: the trace lines take LF. */
	if (status == DELIVER_OK && !d->head_done)
		status = flush_head(d);
	if (status == DELIVER_OK && store_save_commit(&d->save, NULL) < 0)
		status = save_failure(d);
	delivery_free(d);
	return status;
}

void delivery_abort(struct delivery **dp)
{
	if (*dp == NULL)
		return;
	delivery_free(*dp);
	*dp = NULL;
}

uint64_t delivery_size(const struct delivery *d)
{
	return d->size;
}
