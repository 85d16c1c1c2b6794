/*
 * RFC 5322 address lists (store/message_address.c) and their ENVELOPE
 * form (imap/imap_format.c).  The input is a header field value.
 * Checked: a group start names the group and has no host, a group end
 * has nothing, groups never nest or end unopened, and the ENVELOPE
 * address list is balanced parentheses around complete IMAP strings.
 */
#include "fuzz_common.h"
#include "core/buf.h"
#include "imap/imap_format.h"
#include "store/message.h"
#include "store/message_address.h"

/* Skips one IMAP string or NIL at s[*i]; false if there is none. */
static bool skip_nstring(const char *s, size_t len, size_t *i)
{
	if (len - *i >= 3 && memcmp(s + *i, "NIL", 3) == 0) {
		*i += 3;
		return true;
	}
	if (s[*i] == '"') {
		for ((*i)++; *i < len && s[*i] != '"'; (*i)++)
			if (s[*i] == '\\')
				(*i)++;
		if (*i >= len)
			return false;
		(*i)++;
		return true;
	}
	if (s[*i] == '{') {
		char *end;
		unsigned long long n = strtoull(s + *i + 1, &end, 10);

		if (end[0] != '}' || end[1] != '\r' || end[2] != '\n')
			return false;
		*i = (size_t)(end + 3 - s);
		if (n > len - *i)
			return false;
		*i += n;
		return true;
	}
	return false;
}

/* ENVELOPE's From: NIL or ((4 nstrings) ...). */
static void check_envelope_addresses(const char *s, size_t len, size_t *i)
{
	if (skip_nstring(s, len, i))
		return;	/* NIL */
	FUZZ_CHECK(s[(*i)++] == '(');
	do {
		FUZZ_CHECK(s[(*i)++] == '(');
		for (int k = 0; k < 4; k++) {
			if (k > 0)
				FUZZ_CHECK(s[(*i)++] == ' ');
			FUZZ_CHECK(skip_nstring(s, len, i));
		}
		FUZZ_CHECK(s[(*i)++] == ')');
	} while (s[*i] == '(');
	FUZZ_CHECK(s[(*i)++] == ')');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = fuzz_cstring(data, size);
	struct message_address *list = message_address_parse(value), *a;
	struct message_part msg = { 0 };
	bool in_group = false;
	struct buf b;
	size_t i;

	for (a = list; a != NULL; a = a->next) {
		FUZZ_CHECK(!(a->group_start && a->group_end));
		if (a->group_start) {
			FUZZ_CHECK(!in_group && a->mailbox != NULL && a->host == NULL);
			in_group = true;
		} else if (a->group_end) {
			FUZZ_CHECK(in_group && a->mailbox == NULL && a->host == NULL &&
				   a->name == NULL && a->route == NULL);
			in_group = false;
		}
	}
	FUZZ_CHECK(!in_group);
	message_address_free(&list);
	FUZZ_CHECK(list == NULL);

	/* The same value as From: in an ENVELOPE (Sender and Reply-To follow
	 * it there). */
	msg.env[ENV_FROM] = value;
	buf_init(&b, (size_t)-1);
	imap_envelope(&b, &msg);
	i = 0;
	FUZZ_CHECK(memcmp(buf_ptr(&b), "(NIL NIL ", 9) == 0);
	i = 9;
	for (int k = 0; k < 3; k++) {
		check_envelope_addresses(buf_ptr(&b), buf_len(&b), &i);
		FUZZ_CHECK(buf_ptr(&b)[i++] == ' ');
	}
	FUZZ_CHECK(strcmp(buf_ptr(&b) + i, "NIL NIL NIL NIL NIL)") == 0);
	buf_free(&b);
	free(value);
	return 0;
}
