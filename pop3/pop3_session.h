#ifndef DUOMAIL_POP3_SESSION_H
#define DUOMAIL_POP3_SESSION_H
/* The POP3 front end (RFC 1939 + extensions), as seen by the listener. */
#include "core/conn.h"

extern const struct conn_handler pop3_handler;

#endif
