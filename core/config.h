#ifndef DUOMAIL_CONFIG_H
#define DUOMAIL_CONFIG_H
/*
 * The configuration file (INI, see CONTRACT.md and etc/duomail.conf.example).
 * Every key is validated while the file is read, so an error can name the
 * file, line and key.  Unknown sections and keys are errors.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/policy.h"

struct listen_addr {
	bool enabled;
	char host[64];		/* numeric address: 127.0.0.1, ::1, 0.0.0.0 */
	int port;
	/* "unix:/path" (lmtp only): a unix socket instead of host:port.  Empty
	 * for TCP.  108 is Linux's sun_path, terminator included. */
	char unix_path[108];
};

#define CONFIG_TLS_MAX_PAIRS 32	/* = TLS_MAX_PAIRS (core/tls.h) */

/* The default [tls] priority: TLS 1.3 and 1.2 only, AEAD ciphers only
 * (no CBC, so no Lucky13 class), forward secrecy only (ECDHE, no static
 * RSA), strong groups, no SHA-1/SHA-224 signatures; the server's order. */
#define CONFIG_TLS_PRIORITY_DEFAULT \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:-MAC-ALL:+AEAD:" \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:" \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:" \
	"-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-RSA-SHA224:-SIGN-ECDSA-SHA224:" \
	"%SERVER_PRECEDENCE"

/* [auth] userdb: where users come from (core/userdb.h). */
enum userdb_kind { USERDB_PASSWD_FILE, USERDB_PGSQL };

enum listen_kind { LISTEN_IMAP, LISTEN_IMAPS, LISTEN_POP3, LISTEN_POP3S, LISTEN_LMTP, LISTEN_COUNT };

struct config {
	char *path;

	/* [server] */
	char *hostname;		/* greetings; default: gethostname() */
	int workers;		/* worker processes; 0 = one per CPU */
	bool log_debug;		/* log_level = debug */
	char *user;		/* mail access runs as this user (started as root) */
	long user_uid, user_gid;	/* its ids, -1 when no user is set */
	char *group;		/* and this group (default: the user's own) */
	long group_gid;		/* -1 when not set */
	bool allow_root;	/* allow_root = yes: root with no user may serve mail */
	unsigned max_connections;	/* per worker */
	/* abuse defence (core/abuse_table.h); 0 = unlimited */
	unsigned max_connections_per_ip;	/* across workers, IPv6 by /64; not LMTP */
	unsigned max_connections_per_user;	/* logged-in IMAP + POP3 sessions */
	/* the admin socket (core/admin.h): unix socket path, "" = off */
	char *admin_socket;
	bool admin_socket_default;	/* not configured: the default path */

	/* [listen] */
	struct listen_addr listen[LISTEN_COUNT];
	struct listen_addr http;	/* metrics and autoconfig, off by default */

	/* [http] */
	bool autoconfig_address;	/* autoconfig_username = address (else localpart) */

	/* [tls]: the Nth cert goes with the Nth key; the first pair is the
	 * default, the others are chosen by SNI (core/tls.h) */
	char *tls_cert;
	char *tls_key;
	char *tls_more_certs[CONFIG_TLS_MAX_PAIRS - 1];
	char *tls_more_keys[CONFIG_TLS_MAX_PAIRS - 1];
	unsigned tls_ncerts, tls_nkeys;	/* pairs given, the first included */
	char *tls_priority;	/* GnuTLS priority string */

	/* [auth] */
	enum userdb_kind userdb;	/* userdb = passwd-file (default) | pgsql */
	char *passwd_file;		/* needed for passwd-file */
	bool plaintext_on_loopback;	/* loopback counts as secure (default yes) */
	/* mechanisms = auto (default): offer CRAM-MD5 / SCRAM-SHA-* only when
	 * every passwd-file user can use them (none with pgsql); or a list:
	 * offer exactly those.  AUTH_MECH_* bits (core/auth.h). */
	bool mechanisms_auto;
	unsigned mechanisms;
	/* failure penalty per client address: the next login waits
	 * initial * 2^(failures-1), at most max (0 = off), forgotten after
	 * reset without a failure or at a successful login */
	unsigned penalty_initial_ms;
	unsigned penalty_max_ms;
	unsigned penalty_reset_ms;
	bool penalty_exempt_loopback;	/* default no */

	/* [store] */
	char *store_root;
	/* a user's own maildir= may lie outside root (default no) */
	bool allow_maildir_outside_root;

	/* [pgsql]: the SQL user database (userdb = pgsql) */
	char *pgsql_connect;		/* libpq connection string */
	char *pgsql_password_query;	/* logins: $1 is the user name */
	char *pgsql_user_query;		/* LMTP/deliver; default: password_query */
	unsigned pgsql_pool_size;	/* connections per worker (default 4) */
	unsigned pgsql_timeout_ms;	/* per lookup, queueing included (default 5 s) */

	/* [pop3] */
	unsigned pop3_idle_timeout;	/* seconds; RFC 1939 §3: at least 600 */
	unsigned pop3_login_delay;	/* seconds between logins; 0 = not limited */
	int pop3_expire_days;		/* -1 = NEVER (default), 0.. days after RETR */
	unsigned pop3_max_bad_commands;	/* disconnect after this many errors */
	/* the account policy's defaults (core/policy.h); users may override */
	enum pop3_delete_mode pop3_delete;	/* delete = expunge (default) | hide | trash */
	struct policy_folders pop3_folders;	/* folders = INBOX (default) */
	bool pop3_retr_seen;			/* retr_sets_seen = yes (default) */

	/* [imap] */
	unsigned imap_max_bad_commands;	/* disconnect after this many errors */

	/* [quota]: limits per account, 0 = unlimited (the default) */
	uint64_t quota_storage;		/* bytes as stored */
	uint64_t quota_messages;

	/* [lmtp] */
	uint64_t lmtp_max_message_size;	/* bytes, announced as SIZE (RFC 1870) */
	unsigned lmtp_max_recipients;	/* per transaction, then 452 4.5.3 */
	bool lmtp_quota_tempfail;	/* over quota: 452 4.2.2 instead of 552 5.2.2 */
	char *lmtp_recipient_delimiter;	/* each char starts a detail: user+x; "" = none */
	unsigned lmtp_idle_timeout;	/* seconds; RFC 5321 §4.5.3.2.7: 5 minutes */
	unsigned lmtp_socket_mode;	/* permissions of the unix socket */
	long lmtp_socket_gid;		/* its group (socket_group), -1 = unchanged */
	char *lmtp_spool_dir;		/* big messages wait here, unlinked, during DATA */
	unsigned lmtp_max_bad_commands;	/* then 421 and close */
};

const char *listen_kind_name(enum listen_kind kind);

/*
 * Reads and validates path.  Returns 0 with *cfg_r set, or -1 with a one-line
 * message "FILE:LINE: key: problem" in err (always NUL-terminated).
 */
int config_load(const char *path, struct config **cfg_r, char *err, size_t errlen);
void config_free(struct config **cfg);

#endif
