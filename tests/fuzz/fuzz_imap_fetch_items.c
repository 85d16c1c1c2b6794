/*
 * FETCH items (imap/imap_fetch_items.c).  The input is what follows
 * "f FETCH 1 " on a command line (more lines and literals may follow, as
 * the parser reads them); every FETCH the parser completes has its item
 * argument parsed, as FETCH and UID FETCH.  Checked: UID FETCH always asks
 * for the UID, first; no item comes twice; a section's response name
 * ("BODY[1.HEADER.FIELDS (From)]") parses back to the very same section.
 */
#include "fuzz_imap_drive.h"
#include "imap/imap.h"
#include "imap/imap_fetch.h"

static bool same_section(const struct fetch_section *a, const struct fetch_section *b)
{
	if (a->depth != b->depth || a->text != b->text || a->nfields != b->nfields ||
	    memcmp(a->path, b->path, a->depth * sizeof(a->path[0])) != 0)
		return false;
	for (unsigned i = 0; i < a->nfields; i++)
		if (strcmp(a->fields[i], b->fields[i]) != 0)
			return false;
	return true;
}

static void check_items(const struct fetch_items *items, bool uid)
{
	FUZZ_CHECK(items->count > 0);
	if (uid)
		FUZZ_CHECK(items->items[0].att == FETCH_UID);
	for (unsigned i = 0; i < items->count; i++) {
		const struct fetch_item *it = &items->items[i];

		FUZZ_CHECK(items->atts & (1u << it->att));
		for (unsigned j = 0; j < i; j++) {
			const struct fetch_item *o = &items->items[j];

			if (it->att != FETCH_SECTION)
				FUZZ_CHECK(o->att != it->att);
			else if (o->att == FETCH_SECTION)
				FUZZ_CHECK(strcmp(o->name, it->name) != 0 ||
					   o->partial != it->partial ||
					   (it->partial && o->origin != it->origin));
		}
		if (it->att != FETCH_SECTION)
			continue;
		FUZZ_CHECK(it->name != NULL);
		FUZZ_CHECK(items->need_content);
		FUZZ_CHECK(it->section.depth <= FETCH_MAX_PATH);
		if (it->partial)
			FUZZ_CHECK(it->count > 0);
		if (strncmp(it->name, "BODY[", 5) == 0) {
			/* The name, as an item of its own, is the same section. */
			struct imap_arg arg = { .type = IMAP_ARG_ATOM, .str = it->name,
						.len = strlen(it->name) };
			struct fetch_items again;
			const char *err;

			FUZZ_CHECK(imap_fetch_items_parse(&arg, false, &again, &err) == 0);
			FUZZ_CHECK(again.count == 1);
			FUZZ_CHECK(same_section(&again.items[0].section, &it->section));
			FUZZ_CHECK(strcmp(again.items[0].name, it->name) == 0);
			imap_fetch_items_free(&again);
		}
	}
}

static void on_command(const struct imap_command *cmd, void *ctx)
{
	const struct imap_arg *args = cmd->args;
	unsigned nargs = cmd->nargs;
	bool uid = false;

	if (strcmp(cmd->name, "UID") == 0 && nargs > 0 && args[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(args[0].str, "FETCH") == 0) {
		args++;
		nargs--;
		uid = true;
	} else if (strcmp(cmd->name, "FETCH") != 0) {
		return;
	}
	if (nargs < 2)
		return;
	for (int pass = 0; pass < 2; pass++) {
		struct fetch_items items;
		const char *err = NULL;

		if (imap_fetch_items_parse(&args[1], uid, &items, &err) < 0) {
			FUZZ_CHECK(err != NULL && err[0] != '\0');
		} else {
			check_items(&items, uid);
			imap_fetch_items_free(&items);
		}
		uid = !uid;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char prefix[] = "f FETCH 1 ";
	uint8_t *buf = malloc(sizeof(prefix) - 1 + size);

	memcpy(buf, prefix, sizeof(prefix) - 1);
	memcpy(buf + sizeof(prefix) - 1, data, size);
	fuzz_imap_drive(&imap_session_limits, IMAP_MAX_LINE, buf, sizeof(prefix) - 1 + size,
			on_command, NULL);
	free(buf);
	return 0;
}
