/*
 * Which account a recipient address names.  The domain plays no part: an
 * LMTP server is the last hop for the domains the MTA routes to it
 * (Postfix virtual_transport, Exim's lmtp transport), and they decided
 * that already; a bare <user> works the same.  The names to try are
 * looked up one after another, each without blocking the loop
 * (core/userdb.h).  See lmtp.h.
 */
#include "lmtp/lmtp.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/server.h"

#include <ctype.h>
#include <string.h>

#define RCPT_MAX_NAMES 4

struct rcpt_lookup {
	struct lmtp_session *s;
	void *loop;
	struct userdb *db;
	char *names[RCPT_MAX_NAMES];
	unsigned count, next;
	void (*done)(struct lmtp_session *s, int result);
};

static void add_name(struct rcpt_lookup *l, const char *name, size_t len)
{
	char *cand;

	if (len == 0 || l->count == RCPT_MAX_NAMES)
		return;
	cand = xstrndup(name, len);
	for (unsigned i = 0; i < l->count; i++) {
		if (strcmp(l->names[i], cand) == 0) {
			free(cand);
			return;
		}
	}
	l->names[l->count++] = cand;
}

/* As given, then in lower case (MTAs keep the case the sender typed;
 * account names are usually lower). */
static void add_both_cases(struct rcpt_lookup *l, const char *name, size_t len)
{
	char *lower = xstrndup(name, len);

	add_name(l, name, len);
	for (char *p = lower; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	add_name(l, lower, len);
	free(lower);
}

static void lookup_free(struct rcpt_lookup *l)
{
	for (unsigned i = 0; i < l->count; i++)
		free(l->names[i]);
	free(l);
}

static void try_next(struct rcpt_lookup *l);

static void lookup_cb(int result, struct userdb_record *rec, void *ctx)
{
	struct rcpt_lookup *l = ctx;
	struct lmtp_session *s = l->s;
	void (*done)(struct lmtp_session *s, int result);

	if (lmtp_session_reap(s)) {
		lookup_free(l);
		return;
	}
	if (result == 0 && l->next < l->count) {
		try_next(l);
		return;
	}
	if (result > 0 && rec->invalid)
		result = -1;	/* logged by the lookup: retry once it is fixed */
	if (result > 0) {
		s->pending_user = xstrdup(l->names[l->next - 1]);
		s->pending_settings = rec->settings;
		memset(&rec->settings, 0, sizeof(rec->settings));
	}
	lookup_free(l);
	done = s->rcpt_done;
	s->rcpt_done = NULL;
	/* done() goes on with the next command, which may start another lookup. */
	done(s, result);
}

static void try_next(struct rcpt_lookup *l)
{
	userdb_lookup_async(l->db, l->loop, USERDB_USER, l->names[l->next++], lookup_cb, l);
}

void lmtp_rcpt_lookup(struct lmtp_session *s, const char *local,
		      void (*done)(struct lmtp_session *s, int result))
{
	struct rcpt_lookup *l = xcalloc(1, sizeof(*l));
	const char *delimiters = s->cfg->lmtp_recipient_delimiter;
	size_t len = strlen(local), base;

	l->s = s;
	l->loop = conn_loop(s->conn);
	l->db = conn_server(s->conn)->userdb;
	/* The whole local part first: an account may have a '+' in its name.
	 * Then user+detail (Postfix recipient_delimiter) without the detail. */
	add_both_cases(l, local, len);
	base = delimiters[0] != '\0' ? strcspn(local, delimiters) : len;
	if (base < len)
		add_both_cases(l, local, base);
	s->busy = true;
	s->rcpt_done = done;
	if (l->count == 0)
		l->names[l->count++] = xstrdup("");	/* names nobody: answered 0 */
	try_next(l);
}
