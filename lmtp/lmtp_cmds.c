/*
 * LMTP commands but DATA: LHLO (RFC 2033 §4.1), MAIL and RCPT with their
 * ESMTP parameters (SIZE, RFC 1870; BODY, RFC 6152), RSET, NOOP, QUIT,
 * VRFY, EXPN, HELP (RFC 5321 §4.1.1), and the refusal of HELO/EHLO.
 * Every reply but LHLO's carries an RFC 3463 code (RFC 2034 §3).
 */
#include "lmtp/lmtp.h"

#include "core/log.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

/* args without trailing spaces, in buf; NULL if it does not fit. */
static const char *trimmed(const char *args, char *buf, size_t size)
{
	size_t len = strlen(args);

	while (len > 0 && args[len - 1] == ' ')
		len--;
	if (len >= size)
		return NULL;
	memcpy(buf, args, len);
	buf[len] = '\0';
	return buf;
}

void lmtp_cmd_lhlo(struct lmtp_session *s, const char *args)
{
	char buf[300];
	const char *domain = trimmed(args, buf, sizeof(buf));

	if (domain == NULL || !lmtp_domain_ok(domain)) {
		lmtp_bad_command(s, 501, "5.5.4", "Syntax: LHLO domain");
		return;
	}
	/* RFC 5321 §4.1.4: a second greeting resets the state, as RSET. */
	lmtp_transaction_reset(s);
	free(s->helo);
	s->helo = xstrdup(domain);
	/* s->bad_commands is not reset: a client must not dodge [lmtp]
	 * max_bad_commands by greeting again between its bad commands. */
	/* RFC 2034 §3: no enhanced codes in the LHLO/EHLO response. */
	conn_printf(s->conn,
		    "250-%s\r\n"
		    "250-PIPELINING\r\n"		/* RFC 2920 */
		    "250-ENHANCEDSTATUSCODES\r\n"	/* RFC 2034 */
		    "250-8BITMIME\r\n"			/* RFC 6152 */
		    "250 SIZE %" PRIu64 "\r\n",		/* RFC 1870 */
		    s->cfg->hostname, s->cfg->lmtp_max_message_size);
}

void lmtp_cmd_helo(struct lmtp_session *s, const char *args)
{
	lmtp_bad_command(s, 500, "5.5.1", "This is LMTP: use LHLO (RFC 2033 section 4.1)");
}

/* MAIL's parameters.  0, or -1 after replying. */
static int mail_params(struct lmtp_session *s, const char *params)
{
	struct lmtp_param prm;
	int ret;

	while ((ret = lmtp_next_param(&params, &prm)) > 0) {
		if (strcmp(prm.keyword, "SIZE") == 0) {
			uint64_t size;

			if (prm.value == NULL || lmtp_parse_size(prm.value, prm.value_len, &size) < 0) {
				lmtp_bad_command(s, 501, "5.5.4", "Syntax: SIZE=number");
				return -1;
			}
			/* RFC 1870 §6.3: refused now, before any text is sent. */
			if (size > s->cfg->lmtp_max_message_size) {
				lmtp_reply(s, 552, "5.3.4",
					   "Message size exceeds fixed maximum message size");
				return -1;
			}
		} else if (strcmp(prm.keyword, "BODY") == 0) {
			/* RFC 6152 §2: 7BIT or 8BITMIME.  Either is stored as
			 * it comes: there is nothing to convert on the last hop. */
			if (prm.value == NULL ||
			    (!(prm.value_len == 4 && strncasecmp(prm.value, "7BIT", 4) == 0) &&
			     !(prm.value_len == 8 && strncasecmp(prm.value, "8BITMIME", 8) == 0))) {
				lmtp_bad_command(s, 501, "5.5.4", "BODY must be 7BIT or 8BITMIME");
				return -1;
			}
		} else {
			/* RFC 5321 §4.1.1.11 */
			lmtp_bad_command(s, 555, "5.5.4", "MAIL parameter %s not recognized",
					 prm.keyword);
			return -1;
		}
	}
	if (ret < 0) {
		lmtp_bad_command(s, 501, "5.5.4", "Syntax error in parameters");
		return -1;
	}
	return 0;
}

/* A path error's reply; sender: MAIL (X.1.7) or RCPT (X.1.3). */
static void path_error(struct lmtp_session *s, enum lmtp_path_error err, bool sender)
{
	const char *status = sender ? "5.1.7" : "5.1.3";

	switch (err) {
	case LMTP_PATH_OK:
		break;
	case LMTP_PATH_SYNTAX:
		lmtp_bad_command(s, 501, status, "Syntax: %s", sender ? "MAIL FROM:<address>" :
								    "RCPT TO:<address>");
		break;
	case LMTP_PATH_TOO_LONG:
		/* RFC 5321 §4.5.3.1.10 */
		lmtp_bad_command(s, 501, status, "Path too long");
		break;
	case LMTP_PATH_8BIT:
		/* RFC 6531 §3.7.4.1; we do not offer SMTPUTF8. */
		lmtp_bad_command(s, 553, "5.6.7", "Non-ASCII addresses need SMTPUTF8");
		break;
	}
}

void lmtp_cmd_mail(struct lmtp_session *s, const char *args)
{
	struct lmtp_path path;
	const char *params;
	enum lmtp_path_error err;

	/* RFC 5321 §4.1.4: a transaction needs the greeting, and one at a
	 * time (§4.1.1.2). */
	if (s->helo == NULL) {
		lmtp_bad_command(s, 503, "5.5.1", "Send LHLO first");
		return;
	}
	if (s->mail) {
		lmtp_bad_command(s, 503, "5.5.1", "Nested MAIL command");
		return;
	}
	err = lmtp_parse_path(args, "FROM:", true, &path, &params);
	if (err != LMTP_PATH_OK) {
		path_error(s, err, true);
		return;
	}
	if (mail_params(s, params) < 0)
		return;
	s->mail = true;
	s->return_path = xstrdup(path.address);
	lmtp_reply(s, 250, "2.1.0", "Sender <%s> OK", path.address);
}

static void lookup_done(struct lmtp_session *s, int result)
{
	if (result > 0) {
		struct lmtp_rcpt *r;

		if (s->nrcpts == s->rcpts_cap) {
			s->rcpts_cap = s->rcpts_cap ? s->rcpts_cap * 2 : 8;
			s->rcpts = xrealloc(s->rcpts, s->rcpts_cap * sizeof(*s->rcpts));
		}
		r = &s->rcpts[s->nrcpts++];
		r->address = s->pending_address;
		r->user = s->pending_user;
		r->settings = s->pending_settings;
		memset(&s->pending_settings, 0, sizeof(s->pending_settings));
		s->pending_address = s->pending_user = NULL;
		lmtp_reply(s, 250, "2.1.5", "<%s> OK", r->address);
	} else if (result == 0) {
		log_info("%s: RCPT <%s>: no such user", conn_id(s->conn), s->pending_address);
		lmtp_reply(s, 550, "5.1.1", "<%s>: no such user here", s->pending_address);
	} else {
		log_error("%s: RCPT <%s>: the user database failed", conn_id(s->conn),
			  s->pending_address);
		lmtp_reply(s, 451, "4.3.0", "<%s>: temporary failure, try again later",
			   s->pending_address);
	}
	xfree(&s->pending_local);
	xfree(&s->pending_address);
	xfree(&s->pending_user);
	lmtp_command_done(s);
}

void lmtp_cmd_rcpt(struct lmtp_session *s, const char *args)
{
	struct lmtp_path path;
	struct lmtp_param prm;
	const char *params;
	enum lmtp_path_error err;
	int ret;

	if (!s->mail) {
		lmtp_bad_command(s, 503, "5.5.1", "Need MAIL before RCPT");
		return;
	}
	err = lmtp_parse_path(args, "TO:", false, &path, &params);
	if (err != LMTP_PATH_OK) {
		path_error(s, err, false);
		return;
	}
	ret = lmtp_next_param(&params, &prm);
	if (ret != 0) {
		/* No RCPT parameter is offered (no DSN, RFC 3461). */
		if (ret > 0)
			lmtp_bad_command(s, 555, "5.5.4", "RCPT parameter %s not recognized",
					 prm.keyword);
		else
			lmtp_bad_command(s, 501, "5.5.4", "Syntax error in parameters");
		return;
	}
	if (s->nrcpts >= s->cfg->lmtp_max_recipients) {
		/* RFC 5321 §4.5.3.1.10: the client sends the rest later. */
		lmtp_reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	s->pending_local = xstrdup(path.local);
	s->pending_address = xstrdup(path.address);
	lmtp_rcpt_lookup(s, s->pending_local, lookup_done);
}

void lmtp_cmd_rset(struct lmtp_session *s, const char *args)
{
	if (args[0] != '\0') {
		lmtp_bad_command(s, 501, "5.5.4", "Syntax: RSET");
		return;
	}
	lmtp_transaction_reset(s);
	lmtp_reply(s, 250, "2.0.0", "Ok");
}

void lmtp_cmd_noop(struct lmtp_session *s, const char *args)
{
	/* RFC 5321 §4.1.1.9: a parameter is allowed and ignored. */
	lmtp_reply(s, 250, "2.0.0", "Ok");
}

void lmtp_cmd_quit(struct lmtp_session *s, const char *args)
{
	lmtp_reply(s, 221, "2.0.0", "%s closing connection", s->cfg->hostname);
	conn_close(s->conn);
}

void lmtp_cmd_vrfy(struct lmtp_session *s, const char *args)
{
	if (args[0] == '\0') {
		lmtp_bad_command(s, 501, "5.5.4", "Syntax: VRFY address");
		return;
	}
	/* RFC 5321 §3.5.3: 252 when we will not say (RCPT does, at need). */
	lmtp_reply(s, 252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
}

void lmtp_cmd_expn(struct lmtp_session *s, const char *args)
{
	/* RFC 5321 §3.5.2: there are no lists to expand here. */
	lmtp_reply(s, 502, "5.5.1", "EXPN not available");
}

void lmtp_cmd_help(struct lmtp_session *s, const char *args)
{
	lmtp_reply(s, 214, "2.0.0", "Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
}
