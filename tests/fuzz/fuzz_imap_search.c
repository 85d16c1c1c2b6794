/*
 * SEARCH keys (imap/imap_search_parse.c and the resolving of "*" in
 * imap_search_eval.c).  The input is what follows "s SEARCH " (lines and
 * literals, as the parser reads them); every SEARCH and UID SEARCH the
 * parser completes is parsed into a key tree.  Checked: the tree has the
 * shape its types promise (OR two children, NOT one, nesting bounded),
 * the dump can be written, and after resolving against a mailbox whose
 * size comes from the input every set is ascending and disjoint, with no
 * message number past the end.
 */
#include "fuzz_imap_drive.h"
#include "core/buf.h"
#include "imap/imap.h"
#include "imap/imap_search.h"

struct ctx {
	unsigned count;		/* messages in the pretend mailbox */
	uint32_t last_uid;
};

static unsigned check_tree(const struct search_key *k, unsigned depth, bool resolved,
			   const struct ctx *c)
{
	unsigned n = 0, max = 0;

	/* Lists, NOT and OR count against the limit; the top-level AND
	 * and a KEYWORD under UNKEYWORD's NOT add one each. */
	FUZZ_CHECK(depth <= IMAP_SEARCH_MAX_DEPTH + 2);
	for (const struct search_key *ch = k->children; ch != NULL; ch = ch->next) {
		unsigned d = check_tree(ch, depth + 1, resolved, c);

		max = d > max ? d : max;
		n++;
	}
	switch (k->type) {
	case SEARCH_AND:
		FUZZ_CHECK(n > 0);
		break;
	case SEARCH_OR:
		FUZZ_CHECK(n == 2);
		break;
	case SEARCH_NOT:
		FUZZ_CHECK(n == 1);
		break;
	case SEARCH_HEADER:
		FUZZ_CHECK(k->field != NULL && k->field[0] != '\0');
		/* fall through */
	case SEARCH_BODY:
	case SEARCH_TEXT:
	case SEARCH_KEYWORD:
		FUZZ_CHECK(k->str != NULL && k->str[k->len] == '\0');
		FUZZ_CHECK(n == 0);
		break;
	case SEARCH_SEQSET:
	case SEARCH_UIDSET:
		FUZZ_CHECK(k->set.count > 0);
		for (size_t i = 0; resolved && i < k->set.count; i++) {
			const struct seq_range *r = &k->set.ranges[i];

			FUZZ_CHECK(r->lo <= r->hi);
			if (i > 0)
				FUZZ_CHECK((uint64_t)k->set.ranges[i - 1].hi + 1 < r->lo);
			if (k->type == SEARCH_SEQSET)
				FUZZ_CHECK(r->lo >= 1 && r->hi <= c->count);
		}
		FUZZ_CHECK(n == 0);
		break;
	case SEARCH_BEFORE:
	case SEARCH_ON:
	case SEARCH_SINCE:
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
		FUZZ_CHECK(k->date % 100 >= 1 && k->date % 100 <= 31);
		FUZZ_CHECK(k->date / 100 % 100 >= 1 && k->date / 100 % 100 <= 12);
		FUZZ_CHECK(n == 0);
		break;
	default:
		FUZZ_CHECK(n == 0);
		break;
	}
	return max + 1;
}

static void on_command(const struct imap_command *cmd, void *arg)
{
	const struct ctx *c = arg;
	const struct imap_arg *args = cmd->args;
	unsigned nargs = cmd->nargs;
	struct search_key *key = NULL;
	enum imap_search_parse_result r;
	char error[256] = "";
	struct buf dump;

	if (strcmp(cmd->name, "UID") == 0 && nargs > 0 && args[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(args[0].str, "SEARCH") == 0) {
		args++;
		nargs--;
	} else if (strcmp(cmd->name, "SEARCH") != 0) {
		return;
	}
	r = imap_search_parse(args, nargs, &key, error, sizeof(error));
	if (r != IMAP_SEARCH_OK) {
		FUZZ_CHECK(key == NULL && error[0] != '\0');
		return;
	}
	FUZZ_CHECK(key != NULL && key->type == SEARCH_AND);
	check_tree(key, 0, false, c);
	buf_init(&dump, (size_t)-1);
	imap_search_key_dump(&dump, key);
	FUZZ_CHECK(buf_len(&dump) > 0);
	buf_free(&dump);
	if (imap_search_resolve(key, c->count, c->last_uid, error, sizeof(error)) == 0)
		check_tree(key, 0, true, c);
	else
		FUZZ_CHECK(error[0] != '\0');
	imap_search_key_free(&key);
	FUZZ_CHECK(key == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char prefix[] = "s SEARCH ";
	uint8_t *buf = malloc(sizeof(prefix) - 1 + size);
	struct ctx c;

	/* A mailbox of 0..99 messages, its last UID somewhere above. */
	c.count = (unsigned)(size % 100);
	c.last_uid = c.count == 0 ? 0 : c.count + (uint32_t)(size * 7 % 1000);
	memcpy(buf, prefix, sizeof(prefix) - 1);
	memcpy(buf + sizeof(prefix) - 1, data, size);
	fuzz_imap_drive(&imap_session_limits, IMAP_MAX_LINE, buf, sizeof(prefix) - 1 + size,
			on_command, &c);
	free(buf);
	return 0;
}
