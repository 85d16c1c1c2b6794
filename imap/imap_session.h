#ifndef DUOMAIL_IMAP_SESSION_H
#define DUOMAIL_IMAP_SESSION_H
/* The IMAP front end, as seen by the listener. */
#include "core/conn.h"

extern const struct conn_handler imap_handler;

#endif
