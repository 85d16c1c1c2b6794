/*
 * SEARCH arguments to a key tree (RFC 3501 §9 search-key).  Pure: no
 * session, no store.  Every key takes its arguments from the list it is in;
 * parenthesized lists are the parser's IMAP_ARG_LIST.  Nesting is counted
 * across lists, NOT and OR alike, since "NOT NOT NOT ..." needs no
 * parentheses to go deep.
 */
#include "imap/imap_search.h"
#include "imap/imap_parser.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum arg_kind {
	ARG_NONE,
	ARG_STRING,		/* astring */
	ARG_FIELD_STRING,	/* header-fld-name SP astring */
	ARG_DATE,
	ARG_NUMBER,
	ARG_SET,		/* sequence-set */
	ARG_KEYWORD,		/* flag-keyword */
	ARG_KEY,		/* NOT: one search-key */
	ARG_TWO_KEYS,		/* OR */
};

static const struct key_def {
	const char *name;
	enum search_key_type type;
	enum arg_kind arg;
	unsigned mask, value;	/* SEARCH_FLAGS */
	const char *field;	/* SEARCH_HEADER shorthands */
} keys[] = {
	{ "ALL", SEARCH_ALL, ARG_NONE, 0, 0, NULL },
	{ "ANSWERED", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_ANSWERED, MSG_FLAG_ANSWERED, NULL },
	{ "BCC", SEARCH_HEADER, ARG_STRING, 0, 0, "Bcc" },
	{ "BEFORE", SEARCH_BEFORE, ARG_DATE, 0, 0, NULL },
	{ "BODY", SEARCH_BODY, ARG_STRING, 0, 0, NULL },
	{ "CC", SEARCH_HEADER, ARG_STRING, 0, 0, "Cc" },
	{ "DELETED", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_DELETED, MSG_FLAG_DELETED, NULL },
	{ "DRAFT", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_DRAFT, MSG_FLAG_DRAFT, NULL },
	{ "FLAGGED", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_FLAGGED, MSG_FLAG_FLAGGED, NULL },
	{ "FROM", SEARCH_HEADER, ARG_STRING, 0, 0, "From" },
	{ "HEADER", SEARCH_HEADER, ARG_FIELD_STRING, 0, 0, NULL },
	{ "KEYWORD", SEARCH_KEYWORD, ARG_KEYWORD, 0, 0, NULL },
	{ "LARGER", SEARCH_LARGER, ARG_NUMBER, 0, 0, NULL },
	/* "functionally equivalent to (RECENT UNSEEN)" */
	{ "NEW", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_RECENT | MSG_FLAG_SEEN, MSG_FLAG_RECENT, NULL },
	{ "NOT", SEARCH_NOT, ARG_KEY, 0, 0, NULL },
	{ "OLD", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_RECENT, 0, NULL },
	{ "ON", SEARCH_ON, ARG_DATE, 0, 0, NULL },
	{ "OR", SEARCH_OR, ARG_TWO_KEYS, 0, 0, NULL },
	{ "RECENT", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_RECENT, MSG_FLAG_RECENT, NULL },
	{ "SEEN", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_SEEN, MSG_FLAG_SEEN, NULL },
	{ "SENTBEFORE", SEARCH_SENTBEFORE, ARG_DATE, 0, 0, NULL },
	{ "SENTON", SEARCH_SENTON, ARG_DATE, 0, 0, NULL },
	{ "SENTSINCE", SEARCH_SENTSINCE, ARG_DATE, 0, 0, NULL },
	{ "SINCE", SEARCH_SINCE, ARG_DATE, 0, 0, NULL },
	{ "SMALLER", SEARCH_SMALLER, ARG_NUMBER, 0, 0, NULL },
	{ "SUBJECT", SEARCH_HEADER, ARG_STRING, 0, 0, "Subject" },
	{ "TEXT", SEARCH_TEXT, ARG_STRING, 0, 0, NULL },
	{ "TO", SEARCH_HEADER, ARG_STRING, 0, 0, "To" },
	{ "UID", SEARCH_UIDSET, ARG_SET, 0, 0, NULL },
	{ "UNANSWERED", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_ANSWERED, 0, NULL },
	{ "UNDELETED", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_DELETED, 0, NULL },
	{ "UNDRAFT", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_DRAFT, 0, NULL },
	{ "UNFLAGGED", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_FLAGGED, 0, NULL },
	{ "UNKEYWORD", SEARCH_NOT, ARG_KEYWORD, 0, 0, NULL },
	{ "UNSEEN", SEARCH_FLAGS, ARG_NONE, MSG_FLAG_SEEN, 0, NULL },
};

/* Arguments still to read at one level: a list's items or the top level's. */
struct cursor {
	const struct imap_arg *args;
	unsigned n, i;
	char *error;
	size_t size;
};

static int bad(struct cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct cursor *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, c->size, fmt, ap);
	va_end(ap);
	return -1;
}

static struct search_key *new_key(enum search_key_type type)
{
	struct search_key *k = xcalloc(1, sizeof(*k));

	k->type = type;
	k->needle = -1;
	k->keyword = -1;
	return k;
}

void imap_search_key_free(struct search_key **kp)
{
	struct search_key *k = *kp, *child, *next;

	if (k == NULL)
		return;
	for (child = k->children; child != NULL; child = next) {
		next = child->next;
		imap_search_key_free(&child);
	}
	imap_seqset_free(&k->set);
	free(k->field);
	free(k->str);
	free(k);
	*kp = NULL;
}

static const struct imap_arg *next_arg(struct cursor *c)
{
	return c->i < c->n ? &c->args[c->i++] : NULL;
}

static const char *arg_string(const struct imap_arg *a, size_t *len_r)
{
	if (a == NULL || (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_QUOTED &&
			  a->type != IMAP_ARG_LITERAL))
		return NULL;
	*len_r = a->len;
	return a->str;
}

static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

int imap_search_parse_date(const char *s, size_t len, uint32_t *date_r)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned day = 0, month = 0, year = 0;
	size_t i = 0;

	/* date-day = 1*2DIGIT */
	while (i < len && i < 2 && s[i] >= '0' && s[i] <= '9')
		day = day * 10 + (unsigned)(s[i++] - '0');
	if (i == 0 || i + 9 != len || s[i] != '-' || s[i + 4] != '-')
		return -1;
	for (unsigned m = 0; m < 12; m++)
		if (strncasecmp(s + i + 1, months[m], 3) == 0)
			month = m + 1;
	/* date-year = 4DIGIT */
	for (size_t k = i + 5; k < len; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		year = year * 10 + (unsigned)(s[k] - '0');
	}
	if (month == 0 || day == 0 || day > mdays[month - 1])
		return -1;
	if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return -1;
	*date_r = year * 10000 + month * 100 + day;
	return 0;
}

/* RFC 5322 §2.2 field-name: printable ASCII but colon. */
static bool field_name_ok(const char *s, size_t len)
{
	if (len == 0 || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 33 || s[i] > 126 || s[i] == ':')
			return false;
	return true;
}

/* §9 flag-keyword = atom: the same names STORE takes (imap_view.c). */
static bool keyword_ok(const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM || a->len == 0)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if ((unsigned char)a->str[i] <= ' ' || (unsigned char)a->str[i] >= 0x7f ||
		    strchr("()[]{%*\"\\", a->str[i]) != NULL)
			return false;
	return true;
}

static int parse_key(struct cursor *c, unsigned depth, struct search_key **key_r);

/* Keys of a list (or of the top level) until its end: an AND. */
static int parse_list(struct cursor *c, unsigned depth, struct search_key **key_r)
{
	struct search_key *and = new_key(SEARCH_AND), **tail = &and->children;

	while (c->i < c->n) {
		if (parse_key(c, depth, tail) < 0) {
			imap_search_key_free(&and);
			return -1;
		}
		tail = &(*tail)->next;
	}
	*key_r = and;
	return 0;
}

static int parse_set(struct cursor *c, const struct imap_arg *a, enum search_key_type type,
		     struct search_key **key_r)
{
	const char *err;
	struct search_key *k;
	struct seqset set;

	if (a == NULL || a->type != IMAP_ARG_ATOM)
		return bad(c, "UID needs a sequence set.");
	if (imap_seqset_parse(a->str, a->len, &set, &err) < 0)
		return bad(c, "%s.", err);
	k = new_key(type);
	k->set = set;
	*key_r = k;
	return 0;
}

/* The arguments of key def, which was just read. */
static int parse_args(struct cursor *c, const struct key_def *def, unsigned depth,
		      struct search_key **key_r)
{
	const struct imap_arg *a;
	struct search_key *k;
	const char *s, *field = def->field;
	size_t len, flen;
	uint64_t n = 0;
	uint32_t date;

	switch (def->arg) {
	case ARG_NONE:
		k = new_key(def->type);
		k->flag_mask = def->mask;
		k->flag_value = def->value;
		break;
	case ARG_FIELD_STRING:
		field = arg_string(next_arg(c), &flen);
		if (field == NULL)
			return bad(c, "HEADER needs a field name and a string.");
		if (!field_name_ok(field, flen))
			return bad(c, "Invalid header field name.");
		/* fall through */
	case ARG_STRING:
		s = arg_string(next_arg(c), &len);
		if (s == NULL)
			return bad(c, "%s needs a string.", def->name);
		/* "" is in every body; SUBJECT "" and the other header
		 * shorthands, like HEADER (RFC 3501 §6.4.4), need the field:
		 * a message without a Subject has none to contain it */
		if (len == 0 && def->arg == ARG_STRING && def->type != SEARCH_HEADER) {
			k = new_key(SEARCH_ALL);
			break;
		}
		k = new_key(def->type);
		if (def->type == SEARCH_HEADER)
			k->field = xstrdup(field);
		k->str = xmalloc(len + 1);
		memcpy(k->str, s, len);
		k->str[len] = '\0';
		k->len = len;
		break;
	case ARG_DATE:
		s = arg_string(next_arg(c), &len);
		if (s == NULL)
			return bad(c, "%s needs a date.", def->name);
		if (imap_search_parse_date(s, len, &date) < 0)
			return bad(c, "Invalid date for %s (like 1-Feb-1994).", def->name);
		k = new_key(def->type);
		k->date = date;
		break;
	case ARG_NUMBER:
		a = next_arg(c);
		if (a == NULL || a->type != IMAP_ARG_ATOM || a->len == 0 || a->len > 10)
			return bad(c, "%s needs a number.", def->name);
		for (size_t i = 0; i < a->len; i++) {
			if (a->str[i] < '0' || a->str[i] > '9')
				return bad(c, "%s needs a number.", def->name);
			n = n * 10 + (uint64_t)(a->str[i] - '0');
		}
		if (n > UINT32_MAX)	/* §9 number: 32 bits */
			return bad(c, "Number out of range for %s.", def->name);
		k = new_key(def->type);
		k->size = (uint32_t)n;
		break;
	case ARG_SET:
		return parse_set(c, next_arg(c), def->type, key_r);
	case ARG_KEYWORD:
		a = next_arg(c);
		if (a == NULL || !keyword_ok(a))
			return bad(c, "%s needs a keyword.", def->name);
		k = new_key(SEARCH_KEYWORD);
		k->str = xstrdup(a->str);
		k->len = a->len;
		if (def->type == SEARCH_NOT) {
			struct search_key *not = new_key(SEARCH_NOT);

			not->children = k;
			k = not;
		}
		break;
	case ARG_KEY:
	case ARG_TWO_KEYS:
		if (depth >= IMAP_SEARCH_MAX_DEPTH)
			return bad(c, "Search keys nested too deeply.");
		k = new_key(def->type);
		for (int i = def->arg == ARG_KEY ? 1 : 2, first = 1; i > 0; i--, first = 0) {
			struct search_key **slot = first ? &k->children : &k->children->next;

			if (c->i == c->n) {
				imap_search_key_free(&k);
				return bad(c, "%s needs %s.", def->name, def->arg == ARG_KEY ?
					   "a search key" : "two search keys");
			}
			if (parse_key(c, depth + 1, slot) < 0) {
				imap_search_key_free(&k);
				return -1;
			}
		}
		break;
	default:
		return bad(c, "Internal error.");
	}
	*key_r = k;
	return 0;
}

static int parse_key(struct cursor *c, unsigned depth, struct search_key **key_r)
{
	const struct imap_arg *a = next_arg(c);

	if (a->type == IMAP_ARG_LIST) {
		struct cursor sub = { a->list, a->count, 0, c->error, c->size };

		if (a->count == 0)
			return bad(c, "Empty list of search keys.");
		if (depth >= IMAP_SEARCH_MAX_DEPTH)
			return bad(c, "Search keys nested too deeply.");
		return parse_list(&sub, depth + 1, key_r);
	}
	if (a->type != IMAP_ARG_ATOM)
		return bad(c, "Search key expected, not a string.");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcasecmp(a->str, keys[i].name) == 0)
			return parse_args(c, &keys[i], depth, key_r);
	/* §9: a sequence-set is a search key of its own */
	if ((a->str[0] >= '0' && a->str[0] <= '9') || a->str[0] == '*')
		return parse_set(c, a, SEARCH_SEQSET, key_r);
	return bad(c, "Unknown search key.");
}

enum imap_search_parse_result imap_search_parse(const struct imap_arg *args, unsigned nargs,
						struct search_key **key_r, char *error,
						size_t size)
{
	struct cursor c = { args, nargs, 0, error, size };

	*key_r = NULL;
	if (nargs > 0 && args[0].type == IMAP_ARG_ATOM && strcasecmp(args[0].str, "CHARSET") == 0) {
		size_t len;
		const char *cs = arg_string(nargs > 1 ? &args[1] : NULL, &len);

		if (cs == NULL) {
			bad(&c, "CHARSET needs a charset name.");
			return IMAP_SEARCH_BAD;
		}
		/* RFC 3501 §6.4.4: US-ASCII MUST be supported; we also take
		 * UTF-8, which every string we compare is converted to */
		if (strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "US-ASCII") != 0) {
			bad(&c, "Unsupported charset.");
			return IMAP_SEARCH_BADCHARSET;
		}
		c.i = 2;
	}
	if (c.i == c.n) {
		bad(&c, "Missing search keys.");
		return IMAP_SEARCH_BAD;
	}
	return parse_list(&c, 0, key_r) < 0 ? IMAP_SEARCH_BAD : IMAP_SEARCH_OK;
}

/* ---- dump ---- */

static void dump_set(struct buf *b, const struct seqset *set)
{
	for (size_t i = 0; i < set->count; i++) {
		const struct seq_range *r = &set->ranges[i];

		buf_printf(b, "%s", i ? "," : "");
		if (r->lo == 0)
			buf_printf(b, "*");
		else
			buf_printf(b, "%u", r->lo);
		if (r->hi != r->lo) {
			if (r->hi == 0)
				buf_printf(b, ":*");
			else
				buf_printf(b, ":%u", r->hi);
		}
	}
}

static void dump_string(struct buf *b, const char *s, size_t len)
{
	buf_append(b, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, s + i, 1);
	}
	buf_append(b, "\"", 1);
}

void imap_search_key_dump(struct buf *b, const struct search_key *k)
{
	static const char *const flag_names[] = {
		"SEEN", "ANSWERED", "FLAGGED", "DELETED", "DRAFT", "RECENT",
	};
	static const char *const names[] = {
		[SEARCH_LARGER] = "LARGER", [SEARCH_SMALLER] = "SMALLER",
		[SEARCH_BEFORE] = "BEFORE", [SEARCH_ON] = "ON", [SEARCH_SINCE] = "SINCE",
		[SEARCH_SENTBEFORE] = "SENTBEFORE", [SEARCH_SENTON] = "SENTON",
		[SEARCH_SENTSINCE] = "SENTSINCE", [SEARCH_BODY] = "BODY", [SEARCH_TEXT] = "TEXT",
	};
	bool first = true;

	switch (k->type) {
	case SEARCH_ALL:
		buf_printf(b, "ALL");
		return;
	case SEARCH_AND:
	case SEARCH_OR:
	case SEARCH_NOT:
		buf_printf(b, "%s(", k->type == SEARCH_AND ? "" :
				     k->type == SEARCH_OR ? "OR" : "NOT");
		for (const struct search_key *c = k->children; c != NULL; c = c->next) {
			if (c != k->children)
				buf_printf(b, " ");
			imap_search_key_dump(b, c);
		}
		buf_printf(b, ")");
		return;
	case SEARCH_FLAGS:
		buf_printf(b, "FLAGS(");
		for (unsigned i = 0; i < 6; i++) {
			if (k->flag_mask & (1u << i)) {
				buf_printf(b, "%s%c%s", first ? "" : " ",
					   k->flag_value & (1u << i) ? '+' : '-', flag_names[i]);
				first = false;
			}
		}
		buf_printf(b, ")");
		return;
	case SEARCH_KEYWORD:
		buf_printf(b, "KEYWORD(%s)", k->str);
		return;
	case SEARCH_SEQSET:
	case SEARCH_UIDSET:
		buf_printf(b, "%s(", k->type == SEARCH_SEQSET ? "SEQ" : "UID");
		dump_set(b, &k->set);
		buf_printf(b, ")");
		return;
	case SEARCH_LARGER:
	case SEARCH_SMALLER:
		buf_printf(b, "%s %u", names[k->type], k->size);
		return;
	case SEARCH_BEFORE:
	case SEARCH_ON:
	case SEARCH_SINCE:
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
		buf_printf(b, "%s %08u", names[k->type], k->date);
		return;
	case SEARCH_HEADER:
		buf_printf(b, "HEADER(%s ", k->field);
		dump_string(b, k->str, k->len);
		buf_printf(b, ")");
		return;
	case SEARCH_BODY:
	case SEARCH_TEXT:
		buf_printf(b, "%s ", names[k->type]);
		dump_string(b, k->str, k->len);
		return;
	}
}
