#ifndef DUOMAIL_LISTEN_UNIX_H
#define DUOMAIL_LISTEN_UNIX_H
/*
 * Listening unix sockets (the LMTP socket Postfix reaches with
 * `lmtp:unix:/path`).  The master binds them before it drops privileges,
 * like the TCP ports, and removes them when it stops.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct unix_listener {
	char path[108];
	dev_t dev;		/* the socket file we made, so that only it is removed */
	ino_t ino;
	bool bound;
};

/*
 * Binds and listens on path.  A socket file left by a server that is gone
 * (nobody accepts on it) is replaced; a live one, or a file that is not a
 * socket, is an error.  The socket gets mode (never more open than that,
 * even for an instant) and, if gid >= 0, that group.  Returns the
 * non-blocking listening fd, or -1 with a one-line message in err.
 */
int unix_listener_bind(struct unix_listener *l, const char *path, unsigned mode, long gid,
		       char *err, size_t errlen);

/* Unlinks the socket file if it is still the one bind made. */
void unix_listener_remove(struct unix_listener *l);

#endif
