/*
 * POP3 AUTHORIZATION state: USER/PASS and APOP (RFC 1939 §7), AUTH (RFC
 * 5034), and the login itself.  Checking the password, taking the maildrop
 * lock and reading the mailbox all happen in one thread-pool job, so a slow
 * hash or a big Maildir never stalls the other sessions on this worker.
 */
#include "pop3/pop3.h"

#include "core/async.h"
#include "core/auth.h"
#include "core/config.h"
#include "core/log.h"
#include "core/live.h"
#include "core/login.h"
#include "core/login_guard.h"
#include "core/sasl.h"
#include "core/sasl_glue.h"
#include "core/server.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

enum pop3_login_result {
	POP3_LOGIN_OK,
	POP3_LOGIN_FAILED,
	POP3_LOGIN_TEMPFAIL,
	POP3_LOGIN_IN_USE,
	POP3_LOGIN_DELAYED,
};

struct login_job {
	struct pop3_session *s;
	void *loop;
	/* inputs: copies, the job must not read session state on its thread */
	struct login_request req;	/* with the user database's answer */
	const struct config *cfg;
	char *user;
	char *password;		/* NULL for APOP */
	char *apop_digest;
	char apop_timestamp[160];
	struct login_guard guard;	/* failure penalty (core/login_guard.h) */
	unsigned delay_ms;		/* its wait before the check */
	/* outputs */
	enum pop3_login_result result;
	struct store *store;
	struct account_policy policy;
	bool have_policy;
	struct pop3_maildrop drop;
	unsigned expired;
};

static const char plaintext_refused[] =
	"[AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";

/* User names: printable ASCII, no spaces (UTF-8 names need SASLprep, RFC
 * 6856 §2.2, so we do not announce "UTF8 USER"). */
static bool user_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > POP3_MAX_USER)
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	}
	return true;
}

static void login_work(void *arg)
{
	struct login_job *j = arg;
	enum store_error err;
	time_t now = time(NULL), prev = 0;
	const char *text;

	switch (login_check(&j->req, &j->store)) {
	case LOGIN_OK:
		j->have_policy = true;
		break;
	case LOGIN_FAILED:
		j->result = POP3_LOGIN_FAILED;
		return;
	case LOGIN_TEMPFAIL:
		j->result = POP3_LOGIN_TEMPFAIL;
		return;
	}
	if (store_pop3_lock(j->store) < 0) {
		err = store_last_error(j->store, &text);
		j->result = err == STORE_ERR_INUSE ? POP3_LOGIN_IN_USE : POP3_LOGIN_TEMPFAIL;
		if (err != STORE_ERR_INUSE)
			log_error("pop3: maildrop lock of %s: %s", j->user, text);
		return;
	}
	if (j->cfg->pop3_login_delay > 0) {
		if (store_pop3_login_stamp(j->store, now, &prev) == 0 && prev != 0 &&
		    now - prev < (time_t)j->cfg->pop3_login_delay) {
			time_t ignored;

			/* A refused login does not count as one: put back the old stamp. */
			store_pop3_login_stamp(j->store, prev, &ignored);
			j->result = POP3_LOGIN_DELAYED;
			return;
		}
	}
	if (pop3_maildrop_open(j->store, &j->policy, j->cfg->pop3_expire_days, now, &j->drop,
			       &j->expired) < 0) {
		j->result = POP3_LOGIN_TEMPFAIL;
		return;
	}
	j->result = POP3_LOGIN_OK;
}

static void login_job_free(struct login_job *j)
{
	login_request_clear(&j->req);
	pop3_maildrop_free(&j->drop);
	store_close(&j->store);
	if (j->have_policy)
		account_policy_free(&j->policy);
	if (j->password != NULL) {
		explicit_bzero(j->password, strlen(j->password));
		free(j->password);
	}
	free(j->apop_digest);
	free(j->user);
	free(j);
}

static void login_done(void *arg)
{
	struct login_job *j = arg;
	struct pop3_session *s = j->s;
	uint64_t total = 0;

	/* The penalty counts even if the client left before the answer. */
	if (j->result == POP3_LOGIN_FAILED)
		login_guard_failed(&j->guard, j->user);
	else if (j->result != POP3_LOGIN_TEMPFAIL)
		login_guard_succeeded(&j->guard);	/* the password was right */
	if (s->gone) {
		login_job_free(j);
		pop3_command_done(s);	/* frees s */
		return;
	}
	if (j->result == POP3_LOGIN_OK && !conn_count_user(s->conn, s->user)) {
		/* [server] max_connections_per_user (logged by the conn).
		 * RFC 2449 §8.1.2: IN-USE, "the authentication was successful,
		 * but the user's maildrop is currently in use". */
		xfree(&s->user);
		pop3_reply_err(s, "[IN-USE] Too many sessions of this user, try again later.");
		login_job_free(j);
		pop3_command_done(s);
		return;
	}
	switch (j->result) {
	case POP3_LOGIN_OK:
		s->store = j->store;
		s->drop = j->drop;
		s->policy = j->policy;
		j->store = NULL;
		memset(&j->drop, 0, sizeof(j->drop));
		j->have_policy = false;
		s->state = POP3_TRANSACTION;
		s->login_time = time(NULL);
		live_session_login(conn_live(s->conn), s->user, true);
		for (unsigned i = 0; i < s->drop.nmsgs; i++)
			total += s->drop.msgs[i].vsize;
		log_info("%s: login user=%s messages=%u octets=%llu folders=%u delete=%s%s",
			 conn_id(s->conn), s->user, s->drop.nmsgs, (unsigned long long)total,
			 s->drop.nfolders, policy_delete_name(s->policy.pop3_delete),
			 j->expired ? " (expired some)" : "");
		pop3_reply_ok(s, "Logged in. %s has %u messages (%llu octets).", s->user,
			      s->drop.nmsgs, (unsigned long long)total);
		break;
	case POP3_LOGIN_FAILED:
		live_session_login(conn_live(s->conn), s->user, false);
		xfree(&s->user);
		pop3_bad_command(s, "[AUTH] Authentication failed.");
		break;
	case POP3_LOGIN_TEMPFAIL:
		xfree(&s->user);
		pop3_reply_err(s, "[SYS/TEMP] Temporary server failure, try again later.");
		break;
	case POP3_LOGIN_IN_USE:
		log_info("%s: maildrop of %s is locked", conn_id(s->conn), s->user);
		xfree(&s->user);
		pop3_reply_err(s, "[IN-USE] Mailbox is locked by another POP3 session.");
		break;
	case POP3_LOGIN_DELAYED:
		log_info("%s: login of %s refused by login_delay", conn_id(s->conn), s->user);
		xfree(&s->user);
		pop3_reply_err(s, "[LOGIN-DELAY] Minimum time between logins is %u seconds.",
			       pop3_config(s)->pop3_login_delay);
		break;
	}
	login_job_free(j);
	pop3_command_done(s);
}

/* The user database answered (on the loop): verify on the thread pool,
 * even for a client that left meanwhile, so the failure penalty counts it
 * (login_done() frees the session then). */
static void lookup_done(void *arg)
{
	struct login_job *j = arg;

	async_run_after(j->loop, j->delay_ms, login_work, login_done, j);
}

/* Copies password; s->user must be set.  authenticated: a SASL mechanism
 * verified s->user already (password and apop_digest NULL). */
static void start_login(struct pop3_session *s, const char *password, const char *apop_digest,
			bool authenticated)
{
	struct login_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->loop = conn_loop(s->conn);
	j->cfg = pop3_config(s);
	j->user = xstrdup(s->user);
	j->password = password ? xstrdup(password) : NULL;
	j->apop_digest = apop_digest ? xstrdup(apop_digest) : NULL;
	memcpy(j->apop_timestamp, s->apop_timestamp, sizeof(j->apop_timestamp));
	j->req.cfg = j->cfg;
	j->req.user = j->user;
	j->req.protocol = POLICY_PROTO_POP3;
	j->req.password = j->password;
	j->req.apop_timestamp = j->apop_timestamp;
	j->req.apop_digest = j->apop_digest;
	j->req.policy_r = &j->policy;
	j->req.authenticated = authenticated;
	s->busy = true;
	/* The failure penalty's wait (if any) comes before the password is
	 * checked; the lookup itself does not need to wait for it. */
	j->delay_ms = login_guard_begin(&j->guard, s->conn, s->user);
	login_lookup(conn_server(s->conn)->userdb, j->loop, &j->req, lookup_done, j);
}

void pop3_cmd_user(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	if (!conn_is_secure(s->conn)) {
		pop3_reply_err(s, "%s", plaintext_refused);
		return;
	}
	if (cmd->nargs != 1 || !user_name_valid(cmd->args[0])) {
		pop3_bad_command(s, "Usage: USER name");
		return;
	}
	free(s->user);
	s->user = xstrdup(cmd->args[0]);
	/* Same answer for every name: no user enumeration. */
	pop3_reply_ok(s, "Send your password.");
}

void pop3_cmd_pass(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	char *password;

	if (s->user == NULL) {
		pop3_bad_command(s, "Send USER first.");
		return;
	}
	if (!conn_is_secure(s->conn)) {
		pop3_reply_err(s, "%s", plaintext_refused);
		return;
	}
	password = pop3_cmdline_rest(cmd);
	if (*password == '\0') {
		pop3_bad_command(s, "Usage: PASS password");
		return;
	}
	start_login(s, password, NULL, false);
	explicit_bzero(password, strlen(password));
}

static bool is_hex32(const char *p)
{
	size_t n = 0;

	for (; *p != '\0'; p++, n++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F')))
			return false;
	}
	return n == 32;
}

void pop3_cmd_apop(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	if (cmd->nargs != 2 || !user_name_valid(cmd->args[0]) || !is_hex32(cmd->args[1])) {
		pop3_bad_command(s, "Usage: APOP name digest");
		return;
	}
	free(s->user);
	s->user = xstrdup(cmd->args[0]);
	for (char *p = cmd->args[1]; *p; p++)
		*p = (*p >= 'A' && *p <= 'F') ? *p - 'A' + 'a' : *p;
	start_login(s, NULL, cmd->args[1], false);
}

/* ---- AUTH (RFC 5034) ---- */

static void sasl_end(struct pop3_session *s)
{
	sasl_free(&s->sasl);
	s->sasl_guarded = false;
	conn_set_max_line(s->conn, POP3_MAX_LINE);
}

/* The verdict of a SCRAM/CRAM-MD5 exchange for the failure penalty. */
static void sasl_guard_end(struct pop3_session *s, bool ok)
{
	login_guard_verdict(&s->sasl_guard, &s->sasl_guarded, ok, sasl_user(s->sasl));
}

static void sasl_outcome(struct pop3_session *s, enum sasl_status st, char *line,
			 const char *error, bool initial);

struct secret_job {
	struct pop3_session *s;
	void *loop;		/* the conn's: it may be gone by the answer */
	int found;		/* the user database's answer */
	char *stored;
};

static void secret_work(void *arg)
{
	struct secret_job *j = arg;

	sasl_set_secret(j->s->sasl, j->found, j->stored);
}

static void secret_done(void *arg)
{
	struct secret_job *j = arg;
	struct pop3_session *s = j->s;
	const char *error;
	char *line;
	enum sasl_status st;

	if (j->stored != NULL) {
		explicit_bzero(j->stored, strlen(j->stored));
		free(j->stored);
	}
	free(j);
	if (s->gone) {
		pop3_command_done(s);	/* frees s and its sasl */
		return;
	}
	s->busy = false;
	st = sasl_resume_text(s->sasl, &line, &error);
	sasl_outcome(s, st, line, error, false);
	if (!s->busy)
		pop3_command_done(s);
}

/* The user database answered: after the address's failure penalty, the
 * mechanism derives what it needs from the secret on the thread pool. */
static void secret_found(int found, const char *stored, void *arg)
{
	struct secret_job *j = arg;
	struct pop3_session *s = j->s;

	if (s->gone) {
		free(j);
		pop3_command_done(s);	/* frees s and its sasl */
		return;
	}
	j->found = found;
	j->stored = stored != NULL ? xstrdup(stored) : NULL;
	async_run_after(j->loop, s->sasl_delay_ms, secret_work, secret_done, j);
}

/* The mechanism needs the user's stored secret: look it up, then go on in
 * secret_done.  A name no account can have is looked up as "" (which none
 * has): the same answer, cost and penalty as an unknown user. */
static void start_secret(struct pop3_session *s)
{
	struct secret_job *j = xcalloc(1, sizeof(*j));
	const char *user = user_name_valid(sasl_user(s->sasl)) ? sasl_user(s->sasl) : "";

	j->s = s;
	j->loop = conn_loop(s->conn);
	s->sasl_delay_ms = login_guard_begin(&s->sasl_guard, s->conn, user);
	s->sasl_guarded = true;
	s->busy = true;
	sasl_lookup_secret(conn_server(s->conn)->userdb, conn_loop(s->conn), user, secret_found,
			   j);
}

static void sasl_outcome(struct pop3_session *s, enum sasl_status st, char *line,
			 const char *error, bool initial)
{
	switch (st) {
	case SASL_CONTINUE:
		conn_puts(s->conn, line);
		free(line);
		conn_set_max_line(s->conn, POP3_MAX_SASL_LINE);
		return;
	case SASL_NEED_SECRET:
		start_secret(s);
		return;
	case SASL_DONE:
	case SASL_AUTHENTICATED:
		if (st == SASL_AUTHENTICATED)
			sasl_guard_end(s, true);
		/* A name no account can have fails like any wrong login (the
		 * empty name, which none has): same answer, cost and penalty. */
		free(s->user);
		s->user = xstrdup(user_name_valid(sasl_user(s->sasl)) ? sasl_user(s->sasl) : "");
		if (st == SASL_DONE)
			start_login(s, sasl_password(s->sasl), NULL, false);
		else
			start_login(s, NULL, NULL, true);
		sasl_end(s);
		return;
	case SASL_FAIL:
		log_info("%s: SASL %s failed%s%s: %s", conn_id(s->conn), sasl_name(s->sasl),
			 sasl_user(s->sasl) ? " user=" : "",
			 sasl_user(s->sasl) ? sasl_user(s->sasl) : "", error);
		sasl_guard_end(s, false);
		sasl_end(s);
		pop3_bad_command(s, "[AUTH] Authentication failed.");
		return;
	case SASL_TEMPFAIL:
		sasl_end(s);
		pop3_reply_err(s, "[SYS/TEMP] Temporary server failure, try again later.");
		return;
	case SASL_CANCELLED:
		sasl_end(s);
		pop3_reply_err(s, "Authentication cancelled.");
		return;
	case SASL_BAD_BASE64:
		sasl_end(s);
		pop3_bad_command(s, initial ? "Invalid base64 data in the initial response." :
				 "Invalid base64 data.");
		return;
	}
}

/* One exchange step: text is a line, an initial response, or NULL. */
static void sasl_feed(struct pop3_session *s, const char *text, size_t len, bool initial)
{
	const char *error;
	char *line;
	enum sasl_status st = sasl_step_text(s->sasl, text, len, initial, &line, &error);

	sasl_outcome(s, st, line, error, initial);
}

void pop3_cmd_auth(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	struct sasl_context ctx;
	const char *mechs;

	sasl_context_for_conn(s->conn, &ctx);
	mechs = sasl_mechanisms(&ctx);

	if (cmd->nargs == 0) {
		/* Not in RFC 5034, but RFC 1734 clients (Outlook) list this way. */
		char *copy = xstrdup(mechs);
		char *save = NULL;

		conn_puts(s->conn, "+OK Supported mechanisms follow.\r\n");
		for (char *m = strtok_r(copy, " ", &save); m; m = strtok_r(NULL, " ", &save))
			conn_printf(s->conn, "%s\r\n", m);
		conn_puts(s->conn, ".\r\n");
		free(copy);
		return;
	}
	if (cmd->nargs > 2) {
		pop3_bad_command(s, "Usage: AUTH mechanism [initial-response]");
		return;
	}
	s->sasl = sasl_begin(cmd->args[0], &ctx);
	s->sasl_guarded = false;
	if (s->sasl == NULL) {
		pop3_bad_command(s, "Unsupported authentication mechanism.");
		return;
	}
	if (sasl_is_plaintext(s->sasl) && !conn_is_secure(s->conn)) {
		sasl_free(&s->sasl);
		pop3_reply_err(s, "%s", plaintext_refused);
		return;
	}
	/* RFC 5034 §4: "=" is an initial response of zero length. */
	if (cmd->nargs == 1)
		sasl_feed(s, NULL, 0, true);
	else
		sasl_feed(s, cmd->args[1], strlen(cmd->args[1]), true);
}

void pop3_auth_continue(struct pop3_session *s, char *line, size_t len)
{
	sasl_feed(s, line, len, false);
	explicit_bzero(line, len);
}
