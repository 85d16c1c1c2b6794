/* IMAP responses (RFC 3501 §7): tagged and untagged lines, strings. */
#include "imap/imap.h"

#include "core/abuse_table.h"
#include "core/config.h"
#include "core/live.h"
#include "core/log.h"
#include "core/server.h"
#include "core/buf.h"
#include "core/sasl.h"
#include "core/sasl_glue.h"
#include "imap/imap_format.h"
#include "imap/imap_utf7.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* fmt is imap_tagged()'s checked format (the attribute says so). */
static void vline(struct imap_session *s, const char *prefix, const char *status,
		  const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void vline(struct imap_session *s, const char *prefix, const char *status,
		  const char *fmt, va_list ap)
{
	char text[1024];

	vsnprintf(text, sizeof(text), fmt, ap);
	conn_printf(s->conn, "%s %s%s%s\r\n", prefix, status, text[0] ? " " : "", text);
	/* A tagged reply ends its command (for trace and the latency). */
	if (strcmp(prefix, "*") != 0 && conn_live(s->conn) != NULL) {
		char line[1100];	/* live.c keeps what fits */

		snprintf(line, sizeof(line), "%s %s%s%s", prefix, status, text[0] ? " " : "", text);
		live_session_reply(conn_live(s->conn), line);
	}
}

void imap_tagged(struct imap_session *s, const char *tag, const char *status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(s, tag ? tag : "*", status, fmt, ap);
	va_end(ap);
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	conn_printf(s->conn, "* %s\r\n", text);
}

void imap_count_bad(struct imap_session *s)
{
	struct abuse_table *t = conn_server(s->conn)->abuse;

	if (++s->bad_commands < imap_config(s)->imap_max_bad_commands || conn_is_closing(s->conn))
		return;
	log_info("%s: too many bad commands (%u), disconnecting%s%s", conn_id(s->conn),
		 s->bad_commands, s->user ? " user=" : "", s->user ? s->user : "");
	if (t != NULL)
		abuse_count(t, ABUSE_EV_BAD_COMMANDS);
	imap_untagged(s, "BYE Too many invalid commands.");
	conn_close(s->conn);
}

void imap_bad(struct imap_session *s, const char *tag, const char *text)
{
	imap_tagged(s, tag, "BAD", "%s", text);
	imap_count_bad(s);
}

void imap_write_string(struct imap_session *s, const char *str, size_t len)
{
	struct buf b;

	buf_init(&b, (size_t)-1);
	imap_buf_string(&b, str, len);
	conn_write(s->conn, buf_ptr(&b), buf_len(&b));
	buf_free(&b);
}

const char *imap_capabilities(const struct imap_session *s)
{
	static char caps[640];

	snprintf(caps, sizeof(caps), "IMAP4rev1 LITERAL+ SASL-IR ID%s%s",
		 s->state == IMAP_STATE_NOT_AUTH ? "" :
		 " CHILDREN UNSELECT IDLE UIDPLUS MOVE NAMESPACE ENABLE SPECIAL-USE"
		 " QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE",
		 s->state == IMAP_STATE_NOT_AUTH && conn_can_start_tls(s->conn) ? " STARTTLS" : "");
	if (s->state == IMAP_STATE_NOT_AUTH) {
		char copy[256], *save = NULL;
		struct sasl_context ctx;

		sasl_context_for_conn(s->conn, &ctx);
		snprintf(copy, sizeof(copy), "%s", sasl_mechanisms(&ctx));

		/* RFC 3501 §6.2.3 / RFC 2595 §3.2: no LOGIN without TLS; the
		 * challenge-response mechanisms may still be listed. */
		if (!ctx.plaintext_allowed)
			strcat(caps, " LOGINDISABLED");
		for (char *m = strtok_r(copy, " ", &save); m; m = strtok_r(NULL, " ", &save)) {
			strcat(caps, " AUTH=");
			strcat(caps, m);
		}
	}
	return caps;
}

const char *imap_arg_string(const struct imap_arg *arg, size_t *len_r)
{
	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_QUOTED:
	case IMAP_ARG_LITERAL:
		*len_r = arg->len;
		return arg->str;
	default:
		return NULL;
	}
}

const char *imap_arg_mailbox(struct imap_session *s, const char *tag, const struct imap_arg *arg)
{
	size_t len;
	const char *name = imap_arg_string(arg, &len);
	char *utf8;

	if (name == NULL || strlen(name) != len) {
		imap_bad(s, tag, "Invalid mailbox name.");
		return NULL;
	}
	if (strcasecmp(name, "INBOX") == 0)
		return "INBOX";
	/* RFC 3501 §5.1.3: the name must be valid modified UTF-7. */
	utf8 = imap_utf7_decode(name);
	if (utf8 == NULL) {
		imap_tagged(s, tag, "NO", "[CANNOT] Mailbox name is not valid modified UTF-7.");
		return NULL;
	}
	free(utf8);
	return name;
}

void imap_store_error(struct imap_session *s, const char *tag, const char *what)
{
	const char *text;
	enum store_error err = store_last_error(s->store, &text);
	const char *code = "UNAVAILABLE";

	switch (err) {
	case STORE_ERR_NOTFOUND: code = "NONEXISTENT"; break;
	case STORE_ERR_EXISTS: code = "ALREADYEXISTS"; break;
	case STORE_ERR_EXPUNGED: code = "EXPUNGEISSUED"; break;
	case STORE_ERR_INUSE: code = "INUSE"; break;
	case STORE_ERR_NOSPACE:
	case STORE_ERR_OVERQUOTA: code = "OVERQUOTA"; break;
	case STORE_ERR_PERM:
	case STORE_ERR_INVALID: code = "CANNOT"; break;
	case STORE_ERR_TEMP:
	case STORE_OK: code = "UNAVAILABLE"; break;
	}
	if (err == STORE_ERR_TEMP || err == STORE_ERR_NOSPACE)
		log_error("%s: %s: %s", conn_id(s->conn), what, text);
	/* The store's own words for the client's mistakes, but never a path
	 * (those texts start with the store root). */
	if ((err == STORE_ERR_PERM || err == STORE_ERR_INVALID || err == STORE_ERR_EXISTS ||
	     err == STORE_ERR_NOTFOUND) && text[0] != '/')
		imap_tagged(s, tag, "NO", "[%s] %s: %s.", code, what, text);
	else if (err == STORE_ERR_OVERQUOTA)
		/* Not "try again": it fails until the user makes room. */
		imap_tagged(s, tag, "NO", "[OVERQUOTA] %s failed: quota exceeded.", what);
	else
		imap_tagged(s, tag, "NO", "[%s] %s failed, try again later.", code, what);
}
