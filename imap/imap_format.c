/* ENVELOPE and BODYSTRUCTURE (RFC 3501 §7.4.2).  See imap_format.h. */
#include "imap/imap_format.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/message.h"
#include "store/message_address.h"

#include <stdlib.h>
#include <string.h>

void imap_buf_string(struct buf *b, const char *s, size_t len)
{
	bool quotable = len < 1024;

	for (size_t i = 0; quotable && i < len; i++)
		quotable = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f;
	if (!quotable) {
		/* RFC 3501 §4.3: CR, LF, NUL, 8-bit: a literal */
		buf_printf(b, "{%zu}\r\n", len);
		buf_append(b, s, len);
		return;
	}
	buf_append(b, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, s + i, 1);
	}
	buf_append(b, "\"", 1);
}

void imap_buf_nstring(struct buf *b, const char *s)
{
	if (s == NULL)
		buf_append(b, "NIL", 3);
	else
		imap_buf_string(b, s, strlen(s));
}

/* An address list, or NIL when the field is missing or holds nothing. */
static void address_list(struct buf *b, const char *value)
{
	struct message_address *list = value ? message_address_parse(value) : NULL;

	if (list == NULL) {
		buf_append(b, "NIL", 3);
		return;
	}
	buf_append(b, "(", 1);
	for (const struct message_address *a = list; a != NULL; a = a->next) {
		buf_append(b, "(", 1);
		if (a->group_start || a->group_end) {
			/* RFC 3501 §7.4.2: a group is (NIL NIL "name" NIL) ... (NIL NIL NIL NIL) */
			buf_append(b, "NIL NIL ", 8);
			imap_buf_nstring(b, a->group_start ? a->mailbox : NULL);
			buf_append(b, " NIL", 4);
		} else {
			imap_buf_nstring(b, a->name);
			buf_append(b, " ", 1);
			imap_buf_nstring(b, a->route);
			buf_append(b, " ", 1);
			/* a NIL host would read as a group: name what is missing */
			imap_buf_nstring(b, a->mailbox ? a->mailbox : "MISSING_MAILBOX");
			buf_append(b, " ", 1);
			imap_buf_nstring(b, a->host ? a->host : "MISSING_DOMAIN");
		}
		buf_append(b, ")", 1);
	}
	buf_append(b, ")", 1);
	message_address_free(&list);
}

static bool has_address(const char *value)
{
	struct message_address *list = value ? message_address_parse(value) : NULL;
	bool any = list != NULL;

	message_address_free(&list);
	return any;
}

void imap_envelope(struct buf *b, const struct message_part *m)
{
	/* Sender and Reply-To fall back to From when missing or empty. */
	const char *from = m->env[ENV_FROM];
	const char *sender = has_address(m->env[ENV_SENDER]) ? m->env[ENV_SENDER] : from;
	const char *reply_to = has_address(m->env[ENV_REPLY_TO]) ? m->env[ENV_REPLY_TO] : from;

	buf_append(b, "(", 1);
	imap_buf_nstring(b, m->env[ENV_DATE]);
	buf_append(b, " ", 1);
	imap_buf_nstring(b, m->env[ENV_SUBJECT]);
	buf_append(b, " ", 1);
	address_list(b, from);
	buf_append(b, " ", 1);
	address_list(b, sender);
	buf_append(b, " ", 1);
	address_list(b, reply_to);
	buf_append(b, " ", 1);
	address_list(b, m->env[ENV_TO]);
	buf_append(b, " ", 1);
	address_list(b, m->env[ENV_CC]);
	buf_append(b, " ", 1);
	address_list(b, m->env[ENV_BCC]);
	buf_append(b, " ", 1);
	imap_buf_nstring(b, m->env[ENV_IN_REPLY_TO]);
	buf_append(b, " ", 1);
	imap_buf_nstring(b, m->env[ENV_MESSAGE_ID]);
	buf_append(b, ")", 1);
}

static void params(struct buf *b, const struct message_param *p, unsigned n)
{
	if (n == 0) {
		buf_append(b, "NIL", 3);
		return;
	}
	buf_append(b, "(", 1);
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			buf_append(b, " ", 1);
		imap_buf_nstring(b, p[i].name);
		buf_append(b, " ", 1);
		imap_buf_nstring(b, p[i].value);
	}
	buf_append(b, ")", 1);
}

/* A text part's parameters always name its charset: without one it is
 * US-ASCII (RFC 2046 §4.1.2), and saying so spares clients the rule (as
 * Dovecot does; tests/peer compares). */
static void part_params(struct buf *b, const struct message_part *part)
{
	static const char deflt[] = "\"charset\" \"us-ascii\")";

	if (strcmp(part->type, "text") != 0 ||
	    message_param(part->params, part->nparams, "charset") != NULL) {
		params(b, part->params, part->nparams);
		return;
	}
	buf_append(b, "(", 1);
	for (unsigned i = 0; i < part->nparams; i++) {
		imap_buf_nstring(b, part->params[i].name);
		buf_append(b, " ", 1);
		imap_buf_nstring(b, part->params[i].value);
		buf_append(b, " ", 1);
	}
	buf_append(b, deflt, sizeof(deflt) - 1);
}

/* body-fld-lang: Content-Language is a comma-separated list of tags
 * (RFC 3282 §2), which IMAP sends as a list of strings when there are
 * several (RFC 3501 §9), one string for one. */
static void language(struct buf *b, const char *value)
{
	const char *p = value;
	bool many = value != NULL && strchr(value, ',') != NULL;

	if (!many) {
		imap_buf_nstring(b, value);
		return;
	}
	buf_append(b, "(", 1);
	for (bool first = true; *p != '\0'; first = false) {
		size_t len;
		char *tag;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		len = strcspn(p, ",");
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0)
			break;
		tag = xstrndup(p, len);
		if (!first)
			buf_append(b, " ", 1);
		imap_buf_nstring(b, tag);
		free(tag);
		p += len;
		while (*p != '\0' && *p != ',')
			p++;
	}
	buf_append(b, ")", 1);
}

/* body-ext-1part / body-ext-mpart tail: disposition, language, location. */
static void extension_tail(struct buf *b, const struct message_part *part)
{
	buf_append(b, " ", 1);
	if (part->disposition == NULL) {
		buf_append(b, "NIL", 3);
	} else {
		buf_append(b, "(", 1);
		imap_buf_nstring(b, part->disposition);
		buf_append(b, " ", 1);
		params(b, part->disposition_params, part->ndisposition_params);
		buf_append(b, ")", 1);
	}
	buf_append(b, " ", 1);
	language(b, part->language);
	buf_append(b, " ", 1);
	imap_buf_nstring(b, part->location);
}

void imap_bodystructure(struct buf *b, const struct message_part *part, bool extended)
{
	buf_append(b, "(", 1);
	if (strcmp(part->type, "multipart") == 0 && part->children != NULL) {
		for (const struct message_part *c = part->children; c != NULL; c = c->next)
			imap_bodystructure(b, c, extended);
		buf_append(b, " ", 1);
		imap_buf_nstring(b, part->subtype);
		if (extended) {
			buf_append(b, " ", 1);
			params(b, part->params, part->nparams);
			extension_tail(b, part);
		}
		buf_append(b, ")", 1);
		return;
	}
	/* a multipart without parts is shown as what it is, one body */
	imap_buf_nstring(b, part->type);
	buf_append(b, " ", 1);
	imap_buf_nstring(b, part->subtype);
	buf_append(b, " ", 1);
	part_params(b, part);
	buf_append(b, " ", 1);
	imap_buf_nstring(b, part->id);
	buf_append(b, " ", 1);
	imap_buf_nstring(b, part->description);
	buf_append(b, " ", 1);
	imap_buf_nstring(b, part->encoding ? part->encoding : "7bit");
	buf_printf(b, " %llu", (unsigned long long)part->body_vsize);
	if (strcmp(part->type, "message") == 0 && strcmp(part->subtype, "rfc822") == 0 &&
	    part->children != NULL) {
		/* body-type-msg: envelope, body, lines */
		buf_append(b, " ", 1);
		imap_envelope(b, part->children);
		buf_append(b, " ", 1);
		imap_bodystructure(b, part->children, extended);
		buf_printf(b, " %llu", (unsigned long long)part->body_lines);
	} else if (strcmp(part->type, "text") == 0) {
		buf_printf(b, " %llu", (unsigned long long)part->body_lines);
	}
	if (extended) {
		buf_append(b, " ", 1);
		imap_buf_nstring(b, part->md5);
		extension_tail(b, part);
	}
	buf_append(b, ")", 1);
}
