#ifndef DUOMAIL_DELIVER_H
#define DUOMAIL_DELIVER_H
/*
 * Final delivery of one message into one user's INBOX, shared by the LMTP
 * front end (lmtp/) and `duomail deliver` (core/cmd_deliver.c), so that both
 * write the same trace header fields, give the same durability guarantee and
 * classify store failures the same way.
 *
 * A delivery prepends, in this order (RFC 5321 §4.4: the final delivery
 * adds Return-Path at the top; trace fields go above the ones already there):
 *
 *   Return-Path: <sender>        if env->return_path is set ("" gives <>)
 *   Delivered-To: recipient      if env->delivered_to is set
 *   Received: ...                if env->received is set (folded by the caller)
 *
 * then the message bytes exactly as given.  The added lines end the way the
 * message's first line ends (CRLF or LF), so a message keeps one line-ending
 * style; up to DELIVER_HEAD_MAX bytes are held back to see that line end.
 *
 * Every function here does blocking disk I/O (open, write, fsync): on an
 * event loop, call them on the thread pool (core/async.h).  One delivery is
 * used by one thread at a time.
 */
#include <stddef.h>
#include <stdint.h>

enum deliver_status {
	DELIVER_OK = 0,
	DELIVER_NOUSER,		/* the store refuses the name: it can never have mail */
	DELIVER_TEMPFAIL,	/* I/O error, lock timeout, permissions: retry later */
	DELIVER_NOSPACE,	/* the disk (or file system quota) is full: retry later */
	DELIVER_OVERQUOTA,	/* the user's duomail quota would be exceeded */
};

/* How far the first line is looked for before the header lines are written
 * with LF: RFC 5322 §2.1.1 caps a line at 998 characters plus CRLF. */
#define DELIVER_HEAD_MAX 1000

struct deliver_env {
	const char *return_path;	/* reverse-path without <>; NULL: no Return-Path */
	const char *delivered_to;	/* the recipient address; NULL: no Delivered-To */
	/* The Received field's value without "Received: " and without the
	 * final line end; inner line breaks as "\n" followed by a tab, which
	 * become the message's line end.  NULL: no Received. */
	const char *received;
};

struct delivery;

struct config;
struct user_settings;

/*
 * Opens user's account through account_open() (core/account.h) with the
 * settings its user database lookup gave (core/userdb.h): its quota is set
 * on the store, whose INBOX is created if needed, and starts a message there.  env's
 * strings are copied.  Returns DELIVER_OK with *d_r set, or a failure
 * (logged, with the store's detail) and *d_r NULL.  Blocking: thread pool.
 */
enum deliver_status delivery_begin(const struct config *cfg, const char *user,
				   const struct user_settings *us, const struct deliver_env *env,
				   struct delivery **d_r);

/* Appends message bytes.  A failure ends the delivery's usefulness: only
 * delivery_abort() is left to call (delivery_commit() repeats the error). */
enum deliver_status delivery_write(struct delivery *d, const void *data, size_t len);

/* Makes the message durable and visible (the store fsyncs file and
 * directory before it returns): only DELIVER_OK may be acknowledged.
 * *d is freed and set to NULL either way. */
enum deliver_status delivery_commit(struct delivery **d);

/* Gives up: nothing of the message stays on disk.  NULL is fine. */
void delivery_abort(struct delivery **d);

/* Message bytes received so far (the added header lines not counted). */
uint64_t delivery_size(const struct delivery *d);

/* "temporary failure" etc., for logs. */
const char *deliver_status_text(enum deliver_status status);

#endif
