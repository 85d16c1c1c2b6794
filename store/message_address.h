#ifndef DUOMAIL_MESSAGE_ADDRESS_H
#define DUOMAIL_MESSAGE_ADDRESS_H
/*
 * RFC 5322 §3.4 address lists, in the shape IMAP's ENVELOPE needs (RFC 3501
 * §7.4.2): each address is name, route (obs-route), mailbox and host; a
 * group is a start entry (mailbox = group name, host NULL) and an end entry
 * (all NULL).  Liberal, as mail in the wild needs: obsolete forms, missing
 * domains, stray commas and unterminated quotes or brackets are read as
 * best they can be, never rejected.
 */
#include <stdbool.h>

struct message_address {
	char *name;		/* display name (quoted-pairs removed), or NULL */
	char *route;		/* "@a,@b" of an obs-route, or NULL */
	char *mailbox;		/* local part; the group name for a group start */
	char *host;		/* domain; NULL for group start/end and for none */
	bool group_start, group_end;
	struct message_address *next;
};

/* Parses a header field value.  Returns the list (NULL if empty). */
struct message_address *message_address_parse(const char *value);
void message_address_free(struct message_address **list);

#endif
