#ifndef DUOMAIL_CONN_H
#define DUOMAIL_CONN_H
/*
 * A client connection: a libuv TCP handle, optionally GnuTLS on top, a
 * bounded input buffer that yields lines, and an output queue with
 * back-pressure.  Protocol sessions see only this interface; no uv_ or
 * gnutls_ type reaches them.
 *
 * Flow: the listener accepts and (for implicit TLS) completes the handshake,
 * then calls handler->on_open.  Whenever input arrives handler->on_input runs;
 * the session pulls complete lines with conn_getline() for as long as it is
 * ready for another command (pipelining: a busy session just stops pulling,
 * and input is buffered up to a limit, after which reading pauses).  Output
 * is queued with conn_write()/conn_printf() and sent by conn_flush(), which
 * the conn calls itself after every handler callback.  A producer of bulk
 * output (RETR, FETCH) checks conn_output_full() and waits for on_drain.
 *
 * Everything here runs on the worker's loop thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct server;
struct tls_ctx;

struct conn_handler {
	const char *name;		/* "pop3", for logs */
	/* Sent instead of the greeting, before closing, when the client's
	 * address already has [server] max_connections_per_ip connections
	 * (counted over all workers and protocols that set this).  NULL: not
	 * limited per address (LMTP: that is the MTA). */
	const char *refuse_greeting;
	/* Ready for the protocol: send the greeting.  Create the session here. */
	void (*on_open)(struct conn *c);
	/* Input arrived (or lines are buffered): pull with conn_getline(). */
	void (*on_input)(struct conn *c);
	/* Queued output fell below the low-water mark after conn_output_full(). */
	void (*on_drain)(struct conn *c);
	/* A conn_start_tls() handshake finished; continue the protocol. */
	void (*on_tls_ready)(struct conn *c);
	/* No input for the idle timeout: say goodbye and conn_close(). */
	void (*on_timeout)(struct conn *c);
	/* The server is stopping: finish or abandon the current command, close. */
	void (*on_shutdown)(struct conn *c);
	/* The connection is gone.  Free the session; c is freed after return. */
	void (*on_close)(struct conn *c);
};

/* Session pointer owned by the protocol. */
void conn_set_ctx(struct conn *c, void *ctx);
void *conn_ctx(const struct conn *c);

struct server *conn_server(const struct conn *c);
/* The uv_loop_t of the worker, as void * so sessions can queue thread-pool
 * work through core/async.h without including uv.h themselves. */
void *conn_loop(const struct conn *c);

/* "pop3#12 127.0.0.1:40312": prefix for every log line of this session. */
const char *conn_id(const struct conn *c);
/* Remote IP address as text; "unix" on a unix socket (which counts as
 * loopback for conn_is_secure()). */
const char *conn_peer_ip(const struct conn *c);
bool conn_is_tls(const struct conn *c);
/* From 127.0.0.0/8, ::1 (or a unix socket)? */
bool conn_is_loopback(const struct conn *c);
/* TLS, or a loopback peer unless [auth] plaintext_on_loopback = no: plaintext
 * passwords may be sent (CONTRACT.md, Security defaults). */
bool conn_is_secure(const struct conn *c);
/*
 * Channel binding data of the TLS session for SCRAM -PLUS (RFC 5056):
 * type "tls-exporter" (RFC 9266; GnuTLS gives it only for TLS 1.3 or TLS
 * 1.2 with extended master secret) or "tls-server-end-point" (RFC 5929:
 * a hash of our certificate).  0 with the data in buf and *len_r, or -1
 * (no TLS yet, unknown type, not available on this session, too long).
 * c is a struct conn * (void * so SASL can hold it as a callback context).
 */
int conn_channel_binding(void *c, const char *type, unsigned char *buf, size_t size,
			 size_t *len_r);
/* Can conn_start_tls() be used (certificate configured, not yet TLS)? */
bool conn_can_start_tls(const struct conn *c);

/* The session's record for `duomail who`/`trace` and the counters
 * (core/live.h); NULL outside a server.  live_session_*() take NULL. */
struct live_session;
struct live_session *conn_live(const struct conn *c);
/*
 * Counts this connection as a logged-in session of user, against [server]
 * max_connections_per_user (over all workers, IMAP and POP3 together),
 * until it closes.  Call once, after the password was found right.  true:
 * counted (or not trackable, which is let in); false: the user is at the
 * limit, the caller refuses the login (logged and counted here).
 */
bool conn_count_user(struct conn *c, const char *user);

/* ---- input ---- */

/* Longest acceptable line, without its CRLF.  Default 8192. */
void conn_set_max_line(struct conn *c, size_t max);

/*
 * Takes the next complete line (LF or CRLF terminated; the terminator is
 * removed and the line NUL-terminated; it may contain NUL bytes, so use
 * len_r).  The line stays valid until the next conn_getline() call.
 * Returns 1 with a line, 0 if no complete line is buffered yet, -1 if a line
 * longer than the maximum arrived: it is skipped up to its LF, and the next
 * call continues after it.
 */
int conn_getline(struct conn *c, char **line_r, size_t *len_r);

/*
 * Takes up to max raw bytes (an IMAP literal) from the input, no line
 * splitting.  Returns the count (0: nothing buffered yet, wait for on_input)
 * with *data_r pointing at them, valid until the next conn_getline() or
 * conn_read_bytes().  Reading resumes as the buffer drains, so a big
 * literal streams through a small buffer.
 */
size_t conn_read_bytes(struct conn *c, size_t max, const char **data_r);

/* Gives back the last n of the bytes conn_read_bytes() just returned: the
 * next conn_getline()/conn_read_bytes() sees them again (LMTP's DATA ends
 * inside a chunk; what follows is the next pipelined command).  Only right
 * after conn_read_bytes(). */
void conn_unread(struct conn *c, size_t n);

/* Bytes of input buffered and not yet taken. */
size_t conn_input_pending(const struct conn *c);

/* ---- output ---- */

void conn_write(struct conn *c, const void *data, size_t len);
void conn_puts(struct conn *c, const char *s);
void conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends what is queued.  Cheap when nothing is. */
void conn_flush(struct conn *c);
/* Is enough output queued that a bulk producer should wait for on_drain? */
bool conn_output_full(struct conn *c);

/* ---- control ---- */

/* Idle timeout in seconds (0 = none); restarted by every input. */
void conn_set_idle_timeout(struct conn *c, unsigned seconds);

/*
 * STARTTLS/STLS: flushes queued output in the clear, throws away any input
 * the client pipelined after the command (RFC 2595 §3.1 / CVE-2011-0411
 * class: it must not be executed as if it came over TLS), and starts the
 * server handshake.  on_tls_ready follows, or the connection is closed.
 * Returns 0, or -1 if TLS is not available here.
 */
int conn_start_tls(struct conn *c);

/* Sends what is queued, then closes.  on_close follows from the loop.
 * Safe to call more than once. */
void conn_close(struct conn *c);
bool conn_is_closing(const struct conn *c);

#endif
