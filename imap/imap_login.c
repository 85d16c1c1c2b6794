/*
 * Logging in over IMAP: LOGIN (RFC 3501 §6.2.3) and AUTHENTICATE (§6.2.2,
 * SASL-IR RFC 4959), both ending in one thread-pool job that checks the
 * password and opens the store (core/login.c).  Response codes: RFC 5530.
 */
#include "imap/imap.h"
#include "core/live.h"

#include "core/async.h"
#include "core/config.h"
#include "core/log.h"
#include "core/login.h"
#include "core/login_guard.h"
#include "core/sasl.h"
#include "core/sasl_glue.h"
#include "core/server.h"
#include "store/store.h"

#include <string.h>

#define PLAINTEXT_REFUSED \
	"[PRIVACYREQUIRED] Plaintext authentication is not allowed without TLS."

struct imap_login_job {
	struct imap_session *s;
	struct login_request req;
	char *user, *password;
	struct login_guard guard;	/* failure penalty (core/login_guard.h) */
	unsigned delay_ms;		/* its wait before the check */
	void *loop;
	enum login_status status;
	struct store *store;
};

static bool user_ok(const char *user, size_t len)
{
	if (len == 0 || len > 255 || strlen(user) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)user[i] <= 0x20 || (unsigned char)user[i] == 0x7f)
			return false;
	return true;
}

static void login_work(void *arg)
{
	struct imap_login_job *j = arg;

	j->status = login_check(&j->req, &j->store);
}

static void login_done(void *arg);

/* A client that left still has its password checked, so the failure
 * penalty counts it; the session waits for this job to be freed. */
static void gone_done(void *arg)
{
	struct imap_login_job *j = arg;

	j->s->jobs--;
	login_done(j);
}

/* The user database answered (on the loop): verify on the thread pool. */
static void lookup_done(void *arg)
{
	struct imap_login_job *j = arg;

	if (j->s->gone) {
		async_run_after(j->loop, j->delay_ms, login_work, gone_done, j);
		return;
	}
	j->s->jobs--;
	imap_async_after(j->s, j->delay_ms, login_work, login_done, j);
}

static void login_done(void *arg)
{
	struct imap_login_job *j = arg;
	struct imap_session *s = j->s;

	/* The penalty counts even if the client left before the answer. */
	if (j->status == LOGIN_FAILED)
		login_guard_failed(&j->guard, j->user);
	else if (j->status == LOGIN_OK)
		login_guard_succeeded(&j->guard);
	if (!s->gone && j->status == LOGIN_OK && !conn_count_user(s->conn, j->user)) {
		/* [server] max_connections_per_user (logged by the conn).
		 * RFC 5530 §3: LIMIT, "ran up against an implementation limit". */
		imap_tagged(s, s->cmd_tag, "NO",
			    "[LIMIT] Too many sessions of this user, try again later.");
	} else if (!s->gone) {
		switch (j->status) {
		case LOGIN_OK:
			s->state = IMAP_STATE_AUTH;
			s->store = j->store;
			j->store = NULL;
			s->user = xstrdup(j->user);
			live_session_login(conn_live(s->conn), s->user, true);
			log_info("%s: login user=%s", conn_id(s->conn), s->user);
			imap_tagged(s, s->cmd_tag, "OK", "[CAPABILITY %s] Logged in.",
				    imap_capabilities(s));
			break;
		case LOGIN_FAILED:
			live_session_login(conn_live(s->conn), j->user, false);
			imap_tagged(s, s->cmd_tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
			/* A failed login is a failed command ([imap] max_bad_commands). */
			imap_count_bad(s);
			break;
		case LOGIN_TEMPFAIL:
			imap_tagged(s, s->cmd_tag, "NO",
				    "[UNAVAILABLE] Temporary server failure, try again later.");
			break;
		}
	}
	store_close(&j->store);
	login_request_clear(&j->req);
	if (j->password != NULL)
		explicit_bzero(j->password, strlen(j->password));
	free(j->password);
	free(j->user);
	free(j);
	imap_command_done(s);
}

/* password NULL: a SASL mechanism (SCRAM, CRAM-MD5) verified user already. */
static void start_login(struct imap_session *s, const char *user, const char *password)
{
	struct imap_login_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->user = xstrdup(user);
	j->password = password ? xstrdup(password) : NULL;
	j->req.authenticated = password == NULL;
	j->req.cfg = imap_config(s);
	j->req.user = j->user;
	j->req.protocol = POLICY_PROTO_IMAP;
	j->req.password = j->password;
	j->loop = conn_loop(s->conn);
	s->busy = true;
	/* The failure penalty's wait (if any) comes before the password is
	 * checked; the lookup itself does not need to wait for it. */
	j->delay_ms = login_guard_begin(&j->guard, s->conn, user);
	/* Counted as a job, so a client that hangs up meanwhile leaves the
	 * session for lookup_done() to free. */
	s->jobs++;
	login_lookup(conn_server(s->conn)->userdb, conn_loop(s->conn), &j->req, lookup_done, j);
}

bool cmd_login(struct imap_session *s, const struct imap_command *cmd)
{
	const char *user, *password;
	size_t ulen, plen;

	if (cmd->nargs != 2 || (user = imap_arg_string(&cmd->args[0], &ulen)) == NULL ||
	    (password = imap_arg_string(&cmd->args[1], &plen)) == NULL) {
		imap_bad(s, cmd->tag, "Usage: LOGIN user password");
		return true;
	}
	if (!conn_is_secure(s->conn)) {
		imap_tagged(s, cmd->tag, "NO", PLAINTEXT_REFUSED);
		return true;
	}
	/* A name no account can have (control characters, NUL) still goes
	 * the whole way as the empty name, which none has either: the same
	 * answer, cost and failure penalty as any wrong login. */
	if (!user_ok(user, ulen) || strlen(password) != plen)
		user = "";
	start_login(s, user, password);
	return false;
}

static void sasl_outcome(struct imap_session *s, enum sasl_status st, char *line,
			 const char *error, bool initial);

struct secret_job {
	struct imap_session *s;
	int found;		/* the user database's answer */
	char *stored;
};

static void secret_work(void *arg)
{
	struct secret_job *j = arg;

	sasl_set_secret(j->s->sasl, j->found, j->stored);
}

static void sasl_end(struct imap_session *s)
{
	sasl_free(&s->sasl);
	s->sasl_guarded = false;
}

/* The verdict of a SCRAM/CRAM-MD5 exchange for the failure penalty. */
static void sasl_guard_end(struct imap_session *s, bool ok)
{
	login_guard_verdict(&s->sasl_guard, &s->sasl_guarded, ok, sasl_user(s->sasl));
}

static void secret_done(void *arg)
{
	struct secret_job *j = arg;
	struct imap_session *s = j->s;
	const char *error;
	char *line;

	if (j->stored != NULL) {
		explicit_bzero(j->stored, strlen(j->stored));
		free(j->stored);
	}
	free(j);
	if (!s->gone) {
		enum sasl_status st = sasl_resume_text(s->sasl, &line, &error);

		s->busy = false;
		sasl_outcome(s, st, line, error, false);
		if (s->busy)
			return;		/* the login job ends the command */
	}
	imap_command_done(s);
}

/* The user database answered: after the address's failure penalty, the
 * mechanism derives what it needs from the secret on the thread pool. */
static void secret_found(int found, const char *stored, void *arg)
{
	struct secret_job *j = arg;
	struct imap_session *s = j->s;

	s->jobs--;
	if (s->gone) {
		free(j);
		imap_command_done(s);	/* frees the session */
		return;
	}
	j->found = found;
	j->stored = stored != NULL ? xstrdup(stored) : NULL;
	imap_async_after(s, s->sasl_delay_ms, secret_work, secret_done, j);
}

/* The mechanism needs the user's stored secret: look it up, then go on in
 * secret_done.  A name no account can have is looked up as "" (which none
 * has): the same answer, cost and penalty as an unknown user. */
static void start_secret(struct imap_session *s)
{
	struct secret_job *j = xcalloc(1, sizeof(*j));
	const char *user = sasl_user(s->sasl);

	if (!user_ok(user, strlen(user)))
		user = "";
	j->s = s;
	s->sasl_delay_ms = login_guard_begin(&s->sasl_guard, s->conn, user);
	s->sasl_guarded = true;
	s->busy = true;
	/* Counted as a job, so a client that hangs up meanwhile leaves the
	 * session for secret_found() to free. */
	s->jobs++;
	sasl_lookup_secret(conn_server(s->conn)->userdb, conn_loop(s->conn), user, secret_found,
			   j);
}

static void sasl_outcome(struct imap_session *s, enum sasl_status st, char *line,
			 const char *error, bool initial)
{
	switch (st) {
	case SASL_CONTINUE:
		conn_puts(s->conn, line);
		free(line);
		return;
	case SASL_NEED_SECRET:
		start_secret(s);
		return;
	case SASL_DONE:
	case SASL_AUTHENTICATED:
		if (st == SASL_AUTHENTICATED)
			sasl_guard_end(s, true);
		/* As in LOGIN: an impossible name fails like any other. */
		start_login(s, user_ok(sasl_user(s->sasl), strlen(sasl_user(s->sasl))) ?
			    sasl_user(s->sasl) : "", st == SASL_DONE ? sasl_password(s->sasl) : NULL);
		sasl_end(s);
		return;
	case SASL_FAIL: {
		/* After the secret lookup a failure is a wrong credential: it
		 * counts as a failed login (penalty, max_bad_commands). */
		bool checked = s->sasl_guarded;

		log_info("%s: SASL %s failed%s%s: %s", conn_id(s->conn), sasl_name(s->sasl),
			 sasl_user(s->sasl) ? " user=" : "",
			 sasl_user(s->sasl) ? sasl_user(s->sasl) : "", error);
		sasl_guard_end(s, false);
		sasl_end(s);
		imap_tagged(s, s->cmd_tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
		if (checked)
			imap_count_bad(s);
		return;
	}
	case SASL_TEMPFAIL:
		sasl_end(s);
		imap_tagged(s, s->cmd_tag, "NO",
			    "[UNAVAILABLE] Temporary server failure, try again later.");
		return;
	case SASL_CANCELLED:
		/* RFC 3501 §6.2.2: a cancelled exchange is a tagged BAD. */
		sasl_end(s);
		imap_tagged(s, s->cmd_tag, "BAD", "Authentication cancelled.");
		return;
	case SASL_BAD_BASE64:
		sasl_end(s);
		imap_bad(s, s->cmd_tag, initial ? "Invalid base64 in the initial response." :
			 "Invalid base64 data.");
		return;
	}
}

/* Runs one SASL step and answers: a challenge, a login, or a failure.
 * text is a line, an initial response, or NULL. */
static void sasl_feed(struct imap_session *s, const char *text, size_t len, bool initial)
{
	const char *error;
	char *line;
	enum sasl_status st = sasl_step_text(s->sasl, text, len, initial, &line, &error);

	sasl_outcome(s, st, line, error, initial);
}

bool cmd_authenticate(struct imap_session *s, const struct imap_command *cmd)
{
	size_t mlen, irlen = 0;
	const char *mech, *ir = NULL;
	struct sasl_context ctx;

	if (cmd->nargs < 1 || cmd->nargs > 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->nargs == 2 && (ir = imap_arg_string(&cmd->args[1], &irlen)) == NULL)) {
		imap_bad(s, cmd->tag, "Usage: AUTHENTICATE mechanism [initial-response]");
		return true;
	}
	mech = imap_arg_string(&cmd->args[0], &mlen);
	sasl_context_for_conn(s->conn, &ctx);
	s->sasl = sasl_begin(mech, &ctx);
	s->sasl_guarded = false;
	if (s->sasl == NULL) {
		imap_tagged(s, cmd->tag, "NO", "Unsupported authentication mechanism.");
		return true;
	}
	if (sasl_is_plaintext(s->sasl) && !conn_is_secure(s->conn)) {
		sasl_free(&s->sasl);
		imap_tagged(s, cmd->tag, "NO", PLAINTEXT_REFUSED);
		return true;
	}
	free(s->cmd_tag);
	s->cmd_tag = xstrdup(cmd->tag);
	/* RFC 4959 §3: "=" is an empty initial response. */
	sasl_feed(s, ir, irlen, true);
	return !s->busy;
}

void imap_authenticate_continue(struct imap_session *s, char *line, size_t len)
{
	sasl_feed(s, line, len, false);
	explicit_bzero(line, len);
}
