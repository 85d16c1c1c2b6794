/*
 * LIST and LSUB (RFC 3501 §6.3.8, §6.3.9), with the CHILDREN attributes
 * (RFC 3348) and the special-use ones (RFC 6154 §2: \Sent \Drafts \Trash
 * \Junk \Archive, on the mailboxes store.h says have those uses, for LSUB
 * too when they exist).  The hierarchy delimiter is "/".  A level that does
 * not exist but has matching children is listed as \Noselect for "%"
 * patterns, as RFC 3501 asks.
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

/* The RFC 6154 attribute of an existing mailbox, or "". */
static const char *special_attr(const char *name)
{
	switch (store_special_use(name)) {
	case STORE_USE_SENT: return "\\Sent";
	case STORE_USE_DRAFTS: return "\\Drafts";
	case STORE_USE_TRASH: return "\\Trash";
	case STORE_USE_JUNK: return "\\Junk";
	case STORE_USE_ARCHIVE: return "\\Archive";
	case STORE_USE_NONE: break;
	}
	return "";
}

static void list_line(struct imap_session *s, const char *kind, const char *attrs,
		      const char *use, const char *name)
{
	conn_printf(s->conn, "* %s (%s%s%s) \"/\" ", kind, attrs, attrs[0] && use[0] ? " " : "",
		    use);
	imap_write_string(s, name, strlen(name));
	conn_puts(s->conn, "\r\n");
}

/* Lists names (sorted) that match pattern, plus missing parents.  exist
 * (sorted) are the mailboxes that exist: names itself for LIST. */
static void list_names(struct imap_session *s, const char *kind, char **names, size_t n,
		       char **exist, size_t nexist, const char *pattern, bool children_attrs)
{
	char **shown = NULL;
	size_t nshown = 0;
	/* Missing levels are listed for "%" (RFC 3501 §6.3.8, §6.3.9); "*"
	 * reaches the names under them itself, so LSUB "" "a*" with only
	 * "a/b" subscribed shows "a/b" alone (as Dovecot does, tests/peer). */
	bool parents = strchr(pattern, '%') != NULL;

	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];

		if (imap_match(pattern, name)) {
			const char *attrs = !children_attrs ? "" :
				has_child(names, n, name) ? "\\HasChildren" : "\\HasNoChildren";

			list_line(s, kind, attrs,
				  in_sorted(exist, nexist, name) ? special_attr(name) : "", name);
		}
		if (!parents)
			continue;
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
				  "", copy);
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

/* The mailboxes that exist, sorted.  Free with names_free(). */
static int existing_names(struct imap_session *s, struct store_mailbox_info **list_r,
			  char ***names_r, size_t *n_r)
{
	char **names;
	size_t n;

	if (store_mailbox_list(s->store, list_r, &n) < 0)
		return -1;
	names = xcalloc(n ? n : 1, sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = (*list_r)[i].name;
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	*names_r = names;
	*n_r = n;
	return 0;
}

/* names borrows the strings of list. */
static void names_free(struct store_mailbox_info **list, char **names, size_t n)
{
	free(names);
	store_mailbox_list_free(list, n);
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
	if (existing_names(s, &list, &names, &n) < 0) {
		imap_store_error(s, cmd->tag, "List");
		free(pattern);
		return true;
	}
	list_names(s, "LIST", names, n, names, n, pattern, true);
	names_free(&list, names, n);
	free(pattern);
	imap_tagged(s, cmd->tag, "OK", "List completed.");
	return true;
}

bool cmd_lsub(struct imap_session *s, const struct imap_command *cmd)
{
	struct store_mailbox_info *list;
	char *pattern = full_pattern(s, cmd), **names, **exist;
	size_t n, nexist;

	if (pattern == NULL)
		return true;
	if (existing_names(s, &list, &exist, &nexist) < 0) {
		imap_store_error(s, cmd->tag, "Lsub");
		free(pattern);
		return true;
	}
	if (store_subscriptions(s->store, &names, &n) < 0) {
		imap_store_error(s, cmd->tag, "Lsub");
		names_free(&list, exist, nexist);
		free(pattern);
		return true;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	list_names(s, "LSUB", names, n, exist, nexist, pattern, false);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	names_free(&list, exist, nexist);
	free(pattern);
	imap_tagged(s, cmd->tag, "OK", "Lsub completed.");
	return true;
}
