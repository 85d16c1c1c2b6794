/*
 * What `duomail trace` shows of an IMAP command (core/live.h): the tag,
 * the name and the arguments, with every literal shown as its size only
 * (an APPENDed message, a LOGIN password sent as a literal), LOGIN's
 * password and AUTHENTICATE's initial response as <redacted>, and long
 * strings cut.  Built from the parsed command, so it never holds more than
 * the parser kept.
 */
#include "imap/imap.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TRACE_STRING_MAX 64

struct out {
	char *p;
	size_t size, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len + 1 >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len = o->len + (size_t)n < o->size ? o->len + (size_t)n : o->size - 1;
}

static void put_arg(struct out *o, const struct imap_arg *a)
{
	switch (a->type) {
	case IMAP_ARG_ATOM:
		put(o, "%.*s", TRACE_STRING_MAX, a->str);
		break;
	case IMAP_ARG_QUOTED:
		put(o, "\"");
		for (size_t i = 0; i < a->len && i < TRACE_STRING_MAX; i++) {
			unsigned char ch = (unsigned char)a->str[i];

			put(o, ch < 0x20 || ch == 0x7f ? "?" : ch == '"' || ch == '\\' ? "\\%c" : "%c",
			    ch);
		}
		put(o, a->len > TRACE_STRING_MAX ? "...\"" : "\"");
		break;
	case IMAP_ARG_LITERAL:
	case IMAP_ARG_LITERAL_EXTERNAL:
		put(o, "{%zu octets}", a->len);
		break;
	case IMAP_ARG_LIST:
		put(o, "(");
		for (unsigned i = 0; i < a->count; i++) {
			if (i > 0)
				put(o, " ");
			put_arg(o, &a->list[i]);
		}
		put(o, ")");
		break;
	}
}

void imap_trace_summary(const struct imap_command *cmd, char *out, size_t size)
{
	struct out o = { out, size, 0 };
	bool login = strcmp(cmd->name, "LOGIN") == 0;
	bool authenticate = strcmp(cmd->name, "AUTHENTICATE") == 0;

	out[0] = '\0';
	put(&o, "%.*s %s", TRACE_STRING_MAX, cmd->tag, cmd->name);
	for (unsigned i = 0; i < cmd->nargs; i++) {
		put(&o, " ");
		if ((login && i >= 1) || (authenticate && i >= 1))
			put(&o, "<redacted>");
		else
			put_arg(&o, &cmd->args[i]);
	}
}

void imap_trace_name(const struct imap_command *cmd, char *out, size_t size)
{
	/* UID FETCH and FETCH do different work: time them apart. */
	if (strcmp(cmd->name, "UID") == 0 && cmd->nargs > 0 &&
	    cmd->args[0].type == IMAP_ARG_ATOM && cmd->args[0].len <= 8) {
		snprintf(out, size, "UID %s", cmd->args[0].str);
		for (char *p = out; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		return;
	}
	snprintf(out, size, "%s", cmd->name);
}
