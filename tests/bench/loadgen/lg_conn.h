#ifndef LG_CONN_H
#define LG_CONN_H
/*
 * One client connection of the load generator: a libuv TCP handle,
 * optionally GnuTLS (implicit TLS, the IMAPS/POP3S ports) on top, input cut
 * into lines, and raw byte counts for literals.  Everything runs on the one
 * loop thread.
 *
 * The owner gets events through one callback:
 *   LG_CONN_READY   connected (and the TLS handshake done)
 *   LG_CONN_LINE    one line, CR LF removed (line/len; not NUL-terminated)
 *   LG_CONN_CLOSED  the connection is gone (closed by either side, or it
 *                   failed: error is set); the struct may be reused with
 *                   lg_conn_open() from here on.
 * Input that lg_conn_skip() asked for (an IMAP literal, a message body the
 * owner only counts) is consumed without LINE events.
 *
 * Certificates are not verified: this talks to a test server on loopback.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <gnutls/gnutls.h>

#include "core/buf.h"

enum lg_conn_event { LG_CONN_READY, LG_CONN_LINE, LG_CONN_CLOSED };

struct lg_conn;
typedef void (*lg_conn_cb)(struct lg_conn *c, enum lg_conn_event ev, const char *line,
			   size_t len);

struct lg_conn {
	uv_tcp_t tcp;
	uv_connect_t connect_req;
	gnutls_session_t tls;		/* NULL for plaintext */
	struct buf tls_in;		/* ciphertext not yet taken by GnuTLS */
	struct buf line;		/* a line still missing its LF */
	lg_conn_cb cb;
	void *owner;
	uint64_t skip;			/* raw bytes to take before the next line */
	uint64_t bytes_in;		/* plaintext bytes read, for the report */
	bool open;			/* the handle is initialised */
	bool closing;
	bool handshaking;
	bool error;			/* why it closed: not by lg_conn_close() */
};

/* Starts connecting; events follow on the loop (a failure to connect is
 * LG_CONN_CLOSED with error).  cred: NULL for plaintext.  Returns 0, or a
 * negative libuv code when not even the handle could be made (no event). */
int lg_conn_open(struct lg_conn *c, uv_loop_t *loop, const struct sockaddr *addr,
		 gnutls_certificate_credentials_t cred, lg_conn_cb cb, void *owner);
/* Queues bytes for sending (copied).  Ignored once closing. */
void lg_conn_send(struct lg_conn *c, const void *data, size_t len);
void lg_conn_printf(struct lg_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The next n input bytes are raw data (counted in bytes_in, not lines). */
void lg_conn_skip(struct lg_conn *c, uint64_t n);
/* Closes; LG_CONN_CLOSED follows on the loop (error stays false). */
void lg_conn_close(struct lg_conn *c);

#endif
