#ifndef DUOMAIL_LMTP_SESSION_H
#define DUOMAIL_LMTP_SESSION_H
/* The LMTP front end (RFC 2033), as seen by the listener. */
#include "core/conn.h"

extern const struct conn_handler lmtp_handler;

#endif
