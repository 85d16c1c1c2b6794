/*
 * RFC 5322 address-list parsing.  See message_address.h.
 *
 * A tokenizer turns the value into words (atoms, quoted strings, domain
 * literals) and specials, dropping comments; the parser then reads
 * addresses from the tokens.  Comments are dropped, but for one: a
 * comment after a bare addr-spec, "a@b.test (Alice)", the RFC 822 era's way
 * to name the person, becomes the name, as Dovecot and UW imapd show it in
 * ENVELOPE (tests/peer compares).
 */
#include "store/message_address.h"
#include "store/message_lex.h"
#include "core/buf.h"
#include "core/log.h"

#include <string.h>

enum tok_type { TOK_WORD, TOK_QUOTED, TOK_LITERAL, TOK_SPECIAL, TOK_END };

struct tok {
	enum tok_type type;
	char special;
	char *text;		/* words, quoted (unescaped), literals ("[...]") */
	bool space_before;	/* white space or a comment before it */
	char *comment;		/* the last comment right after it, unwrapped */
};

struct toks {
	struct tok *v;
	size_t n, i;
};

static bool is_special(char c)
{
	return strchr("()<>[]:;@\\,.\"", c) != NULL;
}

static void push(struct toks *t, struct tok tok)
{
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	t->v[t->n++] = tok;
}

/* The text of the comment from s to end: without the outer parentheses
 * and the backslashes of quoted-pairs, folding removed, spaces trimmed. */
static char *comment_text(const char *s, const char *end)
{
	struct buf b;
	char *text;
	size_t len;

	if (end > s && end[-1] == ')')
		end--;
	buf_init(&b, (size_t)-1);
	for (s++; s < end; s++) {
		if (*s == '\\' && s + 1 < end)
			s++;
		else if (*s == '\r' || *s == '\n')
			continue;
		buf_append(&b, s, 1);
	}
	text = xstrdup(buf_ptr(&b));
	buf_free(&b);
	len = strlen(text);
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		text[--len] = '\0';
	len = strspn(text, " \t");
	memmove(text, text + len, strlen(text + len) + 1);
	return text;
}

static void tokenize(const char *s, struct toks *t)
{
	bool space = false;

	while (*s != '\0') {
		struct tok tok = { .space_before = space };

		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
			space = true;
			s++;
			continue;
		}
		if (*s == '(') {	/* comment, nested, with quoted-pairs */
			const char *end = message_skip_comment(s);

			if (t->n > 0) {
				struct tok *prev = &t->v[t->n - 1];

				free(prev->comment);
				prev->comment = comment_text(s, end);
			}
			s = end;
			space = true;
			continue;
		}
		if (*s == '"' || *s == '[') {
			char close = *s == '"' ? '"' : ']';
			struct buf b;

			buf_init(&b, (size_t)-1);
			if (close == ']')
				buf_append(&b, "[", 1);
			for (s++; *s != '\0' && *s != close; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				if (close == '"' && (*s == '\r' || *s == '\n'))
					continue;	/* folding inside quotes */
				buf_append(&b, s, 1);
			}
			if (close == ']')
				buf_append(&b, "]", 1);
			if (*s == close)
				s++;
			tok.type = close == '"' ? TOK_QUOTED : TOK_LITERAL;
			tok.text = xstrdup(buf_ptr(&b));
			buf_free(&b);
		} else if (is_special(*s)) {
			tok.type = TOK_SPECIAL;
			tok.special = *s++;
		} else {
			const char *start = s;

			while (*s != '\0' && !is_special(*s) && *s != ' ' && *s != '\t' &&
			       *s != '\r' && *s != '\n')
				s++;
			tok.type = TOK_WORD;
			tok.text = xstrndup(start, s - start);
		}
		push(t, tok);
		space = false;
	}
	push(t, (struct tok){ .type = TOK_END });
}

static struct tok *peek(struct toks *t)
{
	return &t->v[t->i];
}

static bool is(struct toks *t, char special)
{
	return peek(t)->type == TOK_SPECIAL && peek(t)->special == special;
}

/*
 * Words and dots from the current token on: a phrase (display name; words
 * joined by single spaces where the input had space, '.' allowed as in
 * obs-phrase) when spaced, else a dot-atom or quoted local part or domain
 * (run together; domain literals too when allow_literal).  NULL if none.
 */
static char *join_words(struct toks *t, bool spaced, bool allow_literal)
{
	struct buf b;
	char *out = NULL;

	buf_init(&b, (size_t)-1);
	for (;;) {
		struct tok *k = peek(t);

		if (k->type == TOK_WORD || k->type == TOK_QUOTED ||
		    (allow_literal && k->type == TOK_LITERAL)) {
			if (spaced && b.len > 0 && k->space_before)
				buf_append(&b, " ", 1);
			buf_append(&b, k->text, strlen(k->text));
		} else if (k->type == TOK_SPECIAL && k->special == '.') {
			buf_append(&b, ".", 1);
		} else {
			break;
		}
		t->i++;
	}
	if (b.len > 0)
		out = xstrdup(buf_ptr(&b));
	buf_free(&b);
	return out;
}

static char *phrase(struct toks *t)
{
	return join_words(t, true, false);
}

static char *dotted(struct toks *t, bool allow_literal)
{
	return join_words(t, false, allow_literal);
}

static struct message_address *addr_new(struct message_address ***tail)
{
	struct message_address *a = xcalloc(1, sizeof(*a));

	**tail = a;
	*tail = &a->next;
	return a;
}

/* angle-addr after "<": [obs-route] addr-spec ">" */
static void angle_addr(struct toks *t, struct message_address *a)
{
	struct buf route;

	buf_init(&route, (size_t)-1);
	while (is(t, '@')) {		/* obs-route: @a,@b: */
		char *d;

		t->i++;
		d = dotted(t, true);
		if (route.len > 0)
			buf_append(&route, ",", 1);
		buf_printf(&route, "@%s", d ? d : "");
		free(d);
		while (is(t, ','))
			t->i++;
		if (is(t, ':')) {
			t->i++;
			break;
		}
	}
	if (route.len > 0)
		a->route = xstrdup(buf_ptr(&route));
	buf_free(&route);
	a->mailbox = dotted(t, false);
	if (is(t, '@')) {
		t->i++;
		a->host = dotted(t, true);
	}
	/* skip to '>' (or give up at a separator) */
	while (peek(t)->type != TOK_END && !is(t, '>') && !is(t, ',') && !is(t, ';'))
		t->i++;
	if (is(t, '>'))
		t->i++;
}

/* One mailbox: name-addr or addr-spec.  false if nothing was there. */
static bool mailbox(struct toks *t, struct message_address ***tail)
{
	size_t start = t->i;
	char *name = phrase(t);
	struct message_address *a;

	if (is(t, '<')) {
		t->i++;
		a = addr_new(tail);
		a->name = name;
		angle_addr(t, a);
		return true;
	}
	/* not a name-addr: read it again as an addr-spec */
	free(name);
	t->i = start;
	{
		char *local = dotted(t, false);

		if (local == NULL && !is(t, '@')) {
			t->i = start;	/* consumed nothing usable */
			return false;
		}
		a = addr_new(tail);
		a->mailbox = local;
		if (is(t, '@')) {
			t->i++;
			a->host = dotted(t, true);
		}
		if (t->i > start && t->v[t->i - 1].comment != NULL &&
		    t->v[t->i - 1].comment[0] != '\0')
			a->name = xstrdup(t->v[t->i - 1].comment);
	}
	return true;
}

struct message_address *message_address_parse(const char *value)
{
	struct toks t = { 0 };
	struct message_address *list = NULL, **tail = &list;

	tokenize(value, &t);
	while (peek(&t)->type != TOK_END) {
		size_t start = t.i;
		char *name;

		if (is(&t, ',')) {
			t.i++;
			continue;
		}
		/* group: phrase ":" [mailbox-list] ";" */
		name = phrase(&t);
		if (name != NULL && is(&t, ':')) {
			struct message_address *g = addr_new(&tail);

			g->mailbox = name;
			g->group_start = true;
			t.i++;
			while (peek(&t)->type != TOK_END && !is(&t, ';')) {
				if (is(&t, ',') || !mailbox(&t, &tail))
					t.i++;	/* not END: checked above */
			}
			if (is(&t, ';'))
				t.i++;
			addr_new(&tail)->group_end = true;
			continue;
		}
		free(name);
		t.i = start;
		if (!mailbox(&t, &tail) && peek(&t)->type != TOK_END)
			t.i++;		/* junk: skip a token */
	}
	for (size_t i = 0; i < t.n; i++) {
		free(t.v[i].text);
		free(t.v[i].comment);
	}
	free(t.v);
	return list;
}

void message_address_free(struct message_address **listp)
{
	struct message_address *a = *listp, *next;

	for (; a != NULL; a = next) {
		next = a->next;
		free(a->name);
		free(a->route);
		free(a->mailbox);
		free(a->host);
		free(a);
	}
	*listp = NULL;
}
