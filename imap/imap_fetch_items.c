/*
 * FETCH data items (RFC 3501 §6.4.5, §9 fetch-att, section, partial).  Pure:
 * the argument the command parser made becomes struct fetch_items.
 *
 * The command parser hands a section spec over as part of one atom,
 * brackets and all ("BODY.PEEK[1.HEADER.FIELDS (From \"To\")]<0.100>"), so
 * the header-list names are read here, as atoms or quoted strings.
 */
#include "imap/imap_fetch.h"
#include "imap/imap_parser.h"
#include "core/buf.h"
#include "core/log.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Items that need nothing but their name. */
static const struct {
	const char *name;
	enum fetch_att att;
} simple_atts[] = {
	{ "UID", FETCH_UID },
	{ "FLAGS", FETCH_FLAGS },
	{ "INTERNALDATE", FETCH_INTERNALDATE },
	{ "RFC822.SIZE", FETCH_RFC822_SIZE },
	{ "ENVELOPE", FETCH_ENVELOPE },
	{ "BODY", FETCH_BODY },
	{ "BODYSTRUCTURE", FETCH_BODYSTRUCTURE },
};

/* The macros (§6.4.5); each must be used alone. */
static const struct {
	const char *name;
	enum fetch_att atts[5];
	unsigned count;
} macros[] = {
	{ "ALL", { FETCH_FLAGS, FETCH_INTERNALDATE, FETCH_RFC822_SIZE, FETCH_ENVELOPE }, 4 },
	{ "FAST", { FETCH_FLAGS, FETCH_INTERNALDATE, FETCH_RFC822_SIZE }, 3 },
	{ "FULL", { FETCH_FLAGS, FETCH_INTERNALDATE, FETCH_RFC822_SIZE, FETCH_ENVELOPE,
		    FETCH_BODY }, 5 },
};

static void item_free(struct fetch_item *it)
{
	for (unsigned i = 0; i < it->section.nfields; i++)
		free(it->section.fields[i]);
	free(it->section.fields);
	free(it->name);
	memset(it, 0, sizeof(*it));
}

void imap_fetch_items_free(struct fetch_items *items)
{
	for (unsigned i = 0; i < items->count; i++)
		item_free(&items->items[i]);
	free(items->items);
	memset(items, 0, sizeof(*items));
}

/* Case-insensitive "does s start with word"; advances *sp past it. */
static bool eat(const char **sp, const char *word)
{
	size_t n = strlen(word);

	if (strncasecmp(*sp, word, n) != 0)
		return false;
	*sp += n;
	return true;
}

/* A decimal number of at most 32 bits at *sp.  nz: no leading zero and not
 * 0 (nz-number); otherwise any 1*DIGIT (number). */
static bool number32(const char **sp, bool nz, uint32_t *n_r)
{
	const char *s = *sp;
	uint64_t n = 0;

	if (!isdigit((unsigned char)*s) || (nz && *s == '0'))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return false;
	}
	*sp = s;
	*n_r = (uint32_t)n;
	return true;
}

/* RFC 5322 §3.6.8 field-name: printable ASCII but colon. */
static bool field_name_ok(const char *name)
{
	if (*name == '\0' || strlen(name) > FETCH_MAX_FIELD_NAME)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 33 || *p > 126 || *p == ':')
			return false;
	return true;
}

/* One header-fld-name (an astring: atom or quoted) at *sp. */
static char *field_name(const char **sp)
{
	const char *s = *sp;
	struct buf b;
	char *name;

	buf_init(&b, FETCH_MAX_FIELD_NAME + 1);
	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\0')
				goto fail;
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			if (buf_append(&b, s, 1) < 0)
				goto fail;
		}
		s++;
	} else {
		for (; *s != '\0' && *s != ' ' && *s != ')' && *s != '(' && *s != '"'; s++)
			if (buf_append(&b, s, 1) < 0)
				goto fail;
	}
	name = xstrdup(buf_ptr(&b));
	buf_free(&b);
	if (!field_name_ok(name)) {
		free(name);
		return NULL;
	}
	*sp = s;
	return name;
fail:
	buf_free(&b);
	return NULL;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")" */
static const char *header_list(const char **sp, struct fetch_section *sec)
{
	const char *s = *sp;

	if (*s++ != ' ' || *s++ != '(')
		return "HEADER.FIELDS needs a list of field names";
	for (;;) {
		char *name;

		while (*s == ' ')
			s++;
		if (*s == ')' && sec->nfields > 0)
			break;
		name = field_name(&s);
		if (name == NULL)
			return "Invalid header field name in HEADER.FIELDS";
		sec->fields = xrealloc(sec->fields, (sec->nfields + 1) * sizeof(*sec->fields));
		sec->fields[sec->nfields++] = name;
		if (*s != ' ' && *s != ')')
			return "Invalid header field name in HEADER.FIELDS";
	}
	*sp = s + 1;
	return NULL;
}

/* section-spec (§9), up to and including the "]". */
static const char *section_spec(const char **sp, struct fetch_section *sec)
{
	const char *s = *sp;
	bool dot = false;	/* the part numbers ended with '.': a text follows */

	while (isdigit((unsigned char)*s)) {
		uint32_t n;

		if (!number32(&s, true, &n))
			return "Invalid part number in section";
		if (sec->depth == FETCH_MAX_PATH)
			return "Section part path too deep";
		sec->path[sec->depth++] = n;
		if (*s != '.')
			break;
		s++;
		dot = true;
		if (isdigit((unsigned char)*s))
			dot = false;
		else if (*s == '\0' || *s == ']')
			return "Invalid section: part number or text expected after '.'";
	}
	if (*s == ']' && !dot) {
		*sp = s + 1;
		return NULL;
	}
	if (sec->depth > 0 && !dot)
		return "Invalid section";
	if (eat(&s, "HEADER.FIELDS.NOT")) {
		sec->text = FETCH_TEXT_FIELDS_NOT;
	} else if (eat(&s, "HEADER.FIELDS")) {
		sec->text = FETCH_TEXT_FIELDS;
	} else if (eat(&s, "HEADER")) {
		sec->text = FETCH_TEXT_HEADER;
	} else if (eat(&s, "TEXT")) {
		sec->text = FETCH_TEXT_TEXT;
	} else if (eat(&s, "MIME")) {
		/* §6.4.5: MIME must be prefixed by part numbers. */
		if (sec->depth == 0)
			return "MIME needs a part number (BODY[1.MIME])";
		sec->text = FETCH_TEXT_MIME;
	} else {
		return "Invalid section";
	}
	if (sec->text == FETCH_TEXT_FIELDS || sec->text == FETCH_TEXT_FIELDS_NOT) {
		const char *err = header_list(&s, sec);

		if (err != NULL)
			return err;
	}
	if (*s != ']')
		return "Invalid section";
	*sp = s + 1;
	return NULL;
}

/* Is name an atom as IMAP writes one (§9 ATOM-CHAR)? */
static bool atom_ok(const char *name)
{
	for (const char *p = name; *p; p++)
		if (strchr("(){ %*\"\\]", *p) != NULL)
			return false;
	return true;
}

/* The response's item name: "BODY[1.2.HEADER.FIELDS (From To)]" (§7.4.2:
 * the section as asked, names as the client wrote them). */
static char *section_name(const struct fetch_section *sec)
{
	static const char *const texts[] = {
		[FETCH_TEXT_NONE] = "", [FETCH_TEXT_HEADER] = "HEADER",
		[FETCH_TEXT_FIELDS] = "HEADER.FIELDS", [FETCH_TEXT_FIELDS_NOT] = "HEADER.FIELDS.NOT",
		[FETCH_TEXT_TEXT] = "TEXT", [FETCH_TEXT_MIME] = "MIME",
	};
	struct buf b;
	char *name;

	buf_init(&b, (size_t)-1);
	buf_append(&b, "BODY[", 5);
	for (unsigned i = 0; i < sec->depth; i++)
		buf_printf(&b, "%s%u", i > 0 ? "." : "", sec->path[i]);
	if (sec->depth > 0 && sec->text != FETCH_TEXT_NONE)
		buf_append(&b, ".", 1);
	buf_printf(&b, "%s", texts[sec->text]);
	if (sec->nfields > 0) {
		buf_append(&b, " (", 2);
		for (unsigned i = 0; i < sec->nfields; i++) {
			const char *f = sec->fields[i];

			if (i > 0)
				buf_append(&b, " ", 1);
			if (atom_ok(f)) {
				buf_printf(&b, "%s", f);
				continue;
			}
			buf_append(&b, "\"", 1);
			for (; *f; f++) {
				if (*f == '"' || *f == '\\')
					buf_append(&b, "\\", 1);
				buf_append(&b, f, 1);
			}
			buf_append(&b, "\"", 1);
		}
		buf_append(&b, ")", 1);
	}
	buf_append(&b, "]", 1);
	name = xstrdup(buf_ptr(&b));
	buf_free(&b);
	return name;
}

/* BODY[...] / BODY.PEEK[...] after the "[", with an optional <partial>. */
static const char *body_section(const char *s, struct fetch_item *it)
{
	const char *err = section_spec(&s, &it->section);

	if (err != NULL)
		return err;
	if (*s == '<') {
		s++;
		/* "<" number "." nz-number ">" */
		if (!number32(&s, false, &it->origin) || *s++ != '.' ||
		    !number32(&s, true, &it->count) || *s++ != '>')
			return "Invalid partial range: use <origin.count> with a count above 0";
		it->partial = true;
	}
	if (*s != '\0')
		return "Invalid characters after a section";
	it->name = section_name(&it->section);
	return NULL;
}

static const char *parse_item(const char *s, struct fetch_item *it)
{
	for (size_t i = 0; i < sizeof(simple_atts) / sizeof(simple_atts[0]); i++) {
		if (strcasecmp(s, simple_atts[i].name) == 0) {
			it->att = simple_atts[i].att;
			return NULL;
		}
	}
	it->att = FETCH_SECTION;
	/* RFC822* are BODY[...] under other names (§6.4.5). */
	if (strcasecmp(s, "RFC822") == 0) {
		it->name = xstrdup("RFC822");
		return NULL;
	}
	if (strcasecmp(s, "RFC822.HEADER") == 0) {
		it->name = xstrdup("RFC822.HEADER");
		it->peek = true;
		it->section.text = FETCH_TEXT_HEADER;
		return NULL;
	}
	if (strcasecmp(s, "RFC822.TEXT") == 0) {
		it->name = xstrdup("RFC822.TEXT");
		it->section.text = FETCH_TEXT_TEXT;
		return NULL;
	}
	if (eat(&s, "BODY.PEEK[")) {
		it->peek = true;
		return body_section(s, it);
	}
	if (eat(&s, "BODY["))
		return body_section(s, it);
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (strcasecmp(s, macros[i].name) == 0)
			return "A FETCH macro (ALL, FAST, FULL) must be used alone";
	return "Unknown FETCH item";
}

static bool same_item(const struct fetch_item *a, const struct fetch_item *b)
{
	if (a->att != b->att)
		return false;
	if (a->att != FETCH_SECTION)
		return true;
	/* Two that answer under one name ("BODY[]" for BODY[] and BODY.PEEK[])
	 * are one item. */
	return strcmp(a->name, b->name) == 0 && a->partial == b->partial &&
	       (!a->partial || a->origin == b->origin);
}

/* Adds it (taken over) unless an item of that name is there already. */
static void add_item(struct fetch_items *items, struct fetch_item *it)
{
	for (unsigned i = 0; i < items->count; i++) {
		if (same_item(&items->items[i], it)) {
			/* BODY[] and BODY.PEEK[] together: \Seen is set */
			items->items[i].peek = items->items[i].peek && it->peek;
			item_free(it);
			return;
		}
	}
	items->items = xrealloc(items->items, (items->count + 1) * sizeof(*items->items));
	items->items[items->count++] = *it;
	memset(it, 0, sizeof(*it));
}

static void add_att(struct fetch_items *items, enum fetch_att att)
{
	struct fetch_item it = { .att = att };

	add_item(items, &it);
}

static const char *parse_list(const struct imap_arg *arg, struct fetch_items *items)
{
	if (arg->type == IMAP_ARG_ATOM) {
		struct fetch_item it = { 0 };
		const char *err;

		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
			if (strcasecmp(arg->str, macros[i].name) == 0) {
				for (unsigned k = 0; k < macros[i].count; k++)
					add_att(items, macros[i].atts[k]);
				return NULL;
			}
		}
		err = parse_item(arg->str, &it);
		if (err != NULL) {
			item_free(&it);
			return err;
		}
		add_item(items, &it);
		return NULL;
	}
	if (arg->type != IMAP_ARG_LIST)
		return "FETCH items must be atoms or a list of them";
	if (arg->count == 0)
		return "Empty FETCH item list";
	if (arg->count > FETCH_MAX_ITEMS)
		return "Too many FETCH items";
	for (unsigned i = 0; i < arg->count; i++) {
		const struct imap_arg *a = &arg->list[i];
		struct fetch_item it = { 0 };
		const char *err;

		if (a->type != IMAP_ARG_ATOM)
			return "FETCH items must be atoms";
		err = parse_item(a->str, &it);
		if (err != NULL) {
			item_free(&it);
			return err;
		}
		add_item(items, &it);
	}
	return NULL;
}

int imap_fetch_items_parse(const struct imap_arg *arg, bool uid, struct fetch_items *items_r,
			   const char **error_r)
{
	struct fetch_items items = { 0 };
	const char *err;

	/* §6.4.8: UID FETCH answers with the UID whether asked or not; it
	 * goes first, where clients look for it. */
	if (uid)
		add_att(&items, FETCH_UID);
	err = parse_list(arg, &items);
	if (err != NULL) {
		imap_fetch_items_free(&items);
		*error_r = err;
		return -1;
	}
	for (unsigned i = 0; i < items.count; i++) {
		const struct fetch_item *it = &items.items[i];

		items.atts |= 1u << it->att;
		if (it->att == FETCH_ENVELOPE || it->att == FETCH_BODY ||
		    it->att == FETCH_BODYSTRUCTURE)
			items.need_structure = true;
		if (it->att != FETCH_SECTION)
			continue;
		items.need_content = true;
		/* BODY[] is the whole stored message, and the top-level
		 * HEADER and TEXT need only the header's end: the common
		 * "list the mailbox" FETCH reads a few KB per message, not
		 * the whole of it (clients ask BODY.PEEK[HEADER.FIELDS (...)]) */
		if (it->section.depth > 0)
			items.need_structure = true;
		else if (it->section.text != FETCH_TEXT_NONE)
			items.need_header = true;
		if (!it->peek)
			items.set_seen = true;
	}
	*items_r = items;
	return 0;
}
