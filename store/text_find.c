/* Streaming case-insensitive substring search.  See text_find.h. */
#include "store/text_find.h"
#include "store/text_fold.h"
#include "core/log.h"

#include <stdlib.h>

struct text_find {
	char *needle;		/* folded */
	size_t len;
	size_t *next;		/* KMP: longest proper border of needle[0..i] */
	size_t matched;		/* bytes of needle matched so far */
};

struct text_find *text_find_new(const char *needle, size_t len)
{
	struct text_find *f = xcalloc(1, sizeof(*f));

	f->needle = text_fold_string(needle, len, &f->len);
	f->next = xcalloc(f->len ? f->len : 1, sizeof(*f->next));
	for (size_t i = 1, k = 0; i < f->len; i++) {
		while (k > 0 && f->needle[i] != f->needle[k])
			k = f->next[k - 1];
		if (f->needle[i] == f->needle[k])
			k++;
		f->next[i] = k;
	}
	return f;
}

void text_find_free(struct text_find **fp)
{
	struct text_find *f = *fp;

	if (f == NULL)
		return;
	free(f->needle);
	free(f->next);
	free(f);
	*fp = NULL;
}

void text_find_restart(struct text_find *f)
{
	f->matched = 0;
}

bool text_find_folded(struct text_find *f, const char *hay, size_t len)
{
	bool found = f->len == 0;

	for (size_t i = 0; i < len && !found; i++) {
		while (f->matched > 0 && hay[i] != f->needle[f->matched])
			f->matched = f->next[f->matched - 1];
		if (hay[i] == f->needle[f->matched])
			f->matched++;
		if (f->matched == f->len) {
			found = true;
			/* ready for the next occurrence, should anyone feed on */
			f->matched = f->next[f->len - 1];
		}
	}
	return found;
}

const char *text_find_needle(const struct text_find *f, size_t *len_r)
{
	*len_r = f->len;
	return f->needle;
}

bool text_find_empty(const struct text_find *f)
{
	return f->len == 0;
}
