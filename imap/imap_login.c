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
	explicit_bzero(j->password, strlen(j->password));
	free(j->password);
	free(j->user);
	free(j);
	imap_command_done(s);
}

static void start_login(struct imap_session *s, const char *user, const char *password)
{
	struct imap_login_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->user = xstrdup(user);
	j->password = xstrdup(password);
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

/* Runs one SASL step and answers: a challenge, a login, or a failure.
 * text is a line, an initial response, or NULL. */
static void sasl_feed(struct imap_session *s, const char *text, size_t len, bool initial)
{
	const char *error;
	char *line;

	switch (sasl_step_text(s->sasl, text, len, initial, &line, &error)) {
	case SASL_CONTINUE:
		conn_puts(s->conn, line);
		free(line);
		return;
	case SASL_DONE:
		/* As in LOGIN: an impossible name fails like any other. */
		start_login(s, user_ok(sasl_user(s->sasl), strlen(sasl_user(s->sasl))) ?
			    sasl_user(s->sasl) : "", sasl_password(s->sasl));
		sasl_free(&s->sasl);
		return;
	case SASL_FAIL:
		log_info("%s: SASL exchange failed: %s", conn_id(s->conn), error);
		sasl_free(&s->sasl);
		imap_tagged(s, s->cmd_tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
		return;
	case SASL_CANCELLED:
		/* RFC 3501 §6.2.2: a cancelled exchange is a tagged BAD. */
		sasl_free(&s->sasl);
		imap_tagged(s, s->cmd_tag, "BAD", "Authentication cancelled.");
		return;
	case SASL_BAD_BASE64:
		sasl_free(&s->sasl);
		imap_bad(s, s->cmd_tag, initial ? "Invalid base64 in the initial response." :
			 "Invalid base64 data.");
		return;
	}
}

bool cmd_authenticate(struct imap_session *s, const struct imap_command *cmd)
{
	size_t mlen, irlen = 0;
	const char *mech, *ir = NULL;

	if (cmd->nargs < 1 || cmd->nargs > 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->nargs == 2 && (ir = imap_arg_string(&cmd->args[1], &irlen)) == NULL)) {
		imap_bad(s, cmd->tag, "Usage: AUTHENTICATE mechanism [initial-response]");
		return true;
	}
	mech = imap_arg_string(&cmd->args[0], &mlen);
	s->sasl = sasl_begin(mech);
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
