#ifndef DUOMAIL_ADMIN_H
#define DUOMAIL_ADMIN_H
/*
 * The admin process and its socket.
 *
 * `duomail serve` forks, besides its workers, one admin process.  It reads
 * the live state the workers keep in shared memory (core/live.h) and
 * answers on two sockets the master bound for it:
 *
 *  - the admin socket, a unix socket ([server] admin_socket, default
 *    /run/duomail/admin.sock), mode 0600, owned by the server's user
 *    ([server] user; the master chowns it before dropping privileges),
 *    and answering only peers of that uid or root (SO_PEERCRED).  `duomail
 *    who`, `trace`, `stats` and `compare` talk to it;
 *  - the optional HTTP listener ([listen] http): /metrics (OpenMetrics)
 *    and Mozilla's autoconfig XML (core/admin_http.c).
 *
 * The admin process holds no mail, no users and no TLS key, and nothing it
 * is asked can change a session or the store: the one thing a request
 * writes is the list of traced users (core/live.h).  A worker that died
 * cannot hang it: it reads memory, it never waits for a worker.  If the
 * admin process dies, the master starts another.
 *
 * The protocol (version 1), one request per connection, lines of at most
 * ADMIN_MAX_REQUEST bytes, sent within ADMIN_REQUEST_SECS:
 *
 *   C: duomail-admin 1 who [USER]      S: ok, session lines, end
 *   C: duomail-admin 1 stats           S: ok, counter/hist/sessions/workers lines, end
 *   C: duomail-admin 1 trace USER      S: ok, then event and lost lines until the
 *                                         client closes
 *   S: error TEXT                      (a bad request; the connection is closed)
 *
 * A reply line is fields separated by tabs; in a field, tab, line feed and
 * backslash are written \t, \n and \\ (admin_field_*()).
 *
 *   session ID PID PROTO TLS(yes|no) SINCE LAST_AT USER PEER CLIENT_ID MAILBOX
 *           LAST_CMD PENDING_COUNT PENDING_HASHES(comma-separated hex)
 *   untracked N            sessions without a record (all records taken)
 *   counter FAMILY LABELS VALUE
 *   hist PROTO COMMAND COUNT SUM_US B0,B1,..,B+Inf  (buckets not cumulative)
 *   sessions PROTO N
 *   workers ALIVE TOTAL
 *   event TS_US SESSION PROTO DIR USER TEXT
 *   lost N                 trace events that came too fast to be read
 */
#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/listen_unix.h"

#define ADMIN_PROTOCOL		"duomail-admin 1"
#define ADMIN_MAX_REQUEST	512
#define ADMIN_REQUEST_SECS	5
#define ADMIN_TRACE_POLL_MS	25

/* In the master, before privileges are dropped: binds cfg->admin_socket
 * (mode 0600; a stale socket is replaced, a live one is an error) and
 * gives it to [server] user.  Makes the default directory /run/duomail if
 * missing.  Returns the listening fd, or -1 with a message in err. */
int admin_socket_bind(const struct config *cfg, struct unix_listener *l, char *err,
		      size_t errlen);

/* The admin process: serves admin_fd and http_fd (-1 = off) until SIGTERM.
 * Returns the exit code (2: it cannot run). */
struct abuse_table;
int admin_server_run(const struct config *cfg, int admin_fd, int http_fd,
		     struct abuse_table *abuse);

/* ---- the wire format, for both sides ---- */

/* Appends field (escaped) to line (of size), with a tab before it unless
 * it is the first. */
void admin_field_put(char *line, size_t size, const char *field);
/* Splits line (changed in place) into at most max fields, unescaped.
 * Returns the count. */
size_t admin_fields_split(char *line, char **fields, size_t max);

/* ---- the client side (the subcommands) ---- */

/*
 * Connects to cfg's admin socket and sends "duomail-admin 1 REQUEST".
 * Returns the fd, or -1 with a one-line message in err (no socket
 * configured, no server running).
 */
int admin_client_open(const struct config *cfg, const char *request, char *err, size_t errlen);
/*
 * Reads the next reply line into line (NUL-terminated, without LF) within
 * timeout_ms (-1: no limit).  1 a line, 0 end of stream, -1 error or
 * timeout (err says which).
 */
struct admin_reader {
	int fd;
	char buf[8192];
	size_t len;
};
int admin_client_line(struct admin_reader *r, char *line, size_t size, int timeout_ms,
		      char *err, size_t errlen);

#endif
