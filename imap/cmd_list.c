/*
 * LIST and LSUB (RFC 3501 §6.3.8, §6.3.9), with the CHILDREN attributes
 * (RFC 3348).  The hierarchy delimiter is "/".  A level that does not exist
 * but has matching children is listed as \Noselect, as RFC 3501 asks for
 * "%" patterns.
 */
#include "imap/imap.h"
#include "imap/imap_match.h"
#include "core/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool in_sorted(char **names, size_t n, const char *name)
{
	return n > 0 && bsearch(&name, names, n, sizeof(*names), cmp_str) != NULL;
}

static bool has_child(char **names, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (strncmp(names[i], name, len) == 0 && names[i][len] == '/')
			return true;
	return false;
}

static void list_line(struct imap_session *s, const char *kind, const char *attrs,
		      const char *name)
{
	conn_printf(s->conn, "* %s (%s) \"/\" ", kind, attrs);
	imap_write_string(s, name, strlen(name));
	conn_puts(s->conn, "\r\n");
}

/* Lists names (sorted) that match pattern, plus missing parents. */
static void list_names(struct imap_session *s, const char *kind, char **names, size_t n,
		       const char *pattern, bool children_attrs)
{
	char **shown = NULL;
	size_t nshown = 0;

	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];

		if (imap_match(pattern, name)) {
			const char *attrs = !children_attrs ? "" :
				has_child(names, n, name) ? "\\HasChildren" : "\\HasNoChildren";

			list_line(s, kind, attrs, name);
		}
		/* a parent level that does not exist itself */
		char *copy = xstrdup(name);
		for (char *slash = strrchr(copy, '/'); slash != NULL; slash = strrchr(copy, '/')) {
			*slash = '\0';
			if (in_sorted(names, n, copy) || !imap_match(pattern, copy))
				continue;
			bool seen = false;
			for (size_t k = 0; k < nshown && !seen; k++)
				seen = strcmp(shown[k], copy) == 0;
			if (seen)
				continue;
			list_line(s, kind, children_attrs ? "\\Noselect \\HasChildren" : "\\Noselect",
				  copy);
			shown = xrealloc(shown, (nshown + 1) * sizeof(*shown));
			shown[nshown++] = xstrdup(copy);
		}
		free(copy);
	}
	for (size_t k = 0; k < nshown; k++)
		free(shown[k]);
	free(shown);
}

/* reference + pattern (RFC 3501 §6.3.8), or NULL after a BAD. */
static char *full_pattern(struct imap_session *s, const struct imap_command *cmd)
{
	size_t rlen, plen;
	const char *ref, *pat;

	if (cmd->nargs != 2 || (ref = imap_arg_string(&cmd->args[0], &rlen)) == NULL ||
	    (pat = imap_arg_string(&cmd->args[1], &plen)) == NULL ||
	    strlen(ref) != rlen || strlen(pat) != plen) {
		imap_bad(s, cmd->tag, "Usage: LIST reference pattern");
		return NULL;
	}
	return xasprintf("%s%s", ref, pat);
}

bool cmd_list(struct imap_session *s, const struct imap_command *cmd)
{
	struct store_mailbox_info *list;
	size_t n;
	char *pattern = full_pattern(s, cmd), **names;

	if (pattern == NULL)
		return true;
	if (pattern[0] == '\0') {
		/* the delimiter query: LIST "" "" */
		conn_puts(s->conn, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		imap_tagged(s, cmd->tag, "OK", "List completed.");
		free(pattern);
		return true;
	}
	if (store_mailbox_list(s->store, &list, &n) < 0) {
		imap_store_error(s, cmd->tag, "List");
		free(pattern);
		return true;
	}
	names = xcalloc(n ? n : 1, sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = list[i].name;
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	list_names(s, "LIST", names, n, pattern, true);
	free(names);
	store_mailbox_list_free(&list, n);
	free(pattern);
	imap_tagged(s, cmd->tag, "OK", "List completed.");
	return true;
}

bool cmd_lsub(struct imap_session *s, const struct imap_command *cmd)
{
	char *pattern = full_pattern(s, cmd), **names;
	size_t n;

	if (pattern == NULL)
		return true;
	if (store_subscriptions(s->store, &names, &n) < 0) {
		imap_store_error(s, cmd->tag, "Lsub");
		free(pattern);
		return true;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	list_names(s, "LSUB", names, n, pattern, false);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(pattern);
	imap_tagged(s, cmd->tag, "OK", "Lsub completed.");
	return true;
}
