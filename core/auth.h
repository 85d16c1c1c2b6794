#ifndef DUOMAIL_AUTH_H
#define DUOMAIL_AUTH_H
/*
 * The auth core shared by POP3 and IMAP: a user database (the Dovecot
 * passwd-file format) and password schemes.  Verification is CPU-heavy
 * (bcrypt, SHA-crypt rounds): callers on an event loop run these functions
 * on the thread pool.  All functions are thread-safe.
 *
 * passwd-file line: user:{SCHEME}hash[:uid:gid:gecos:home:shell:extra]
 * (extra: space-separated key=value settings, see core/policy.h)
 * Schemes: PLAIN, CLEAR (alias), SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT,
 * MD5-CRYPT, CRYPT (crypt(3) with its own $id$ prefix), SHA512 and SSHA512
 * (base64, or hex with Dovecot's .HEX suffix), ARGON2I, ARGON2ID,
 * SCRAM-SHA-1 and SCRAM-SHA-256 (stored keys, core/scram.h).  A password with no
 * {SCHEME} prefix is taken as CRYPT, as Dovecot does.  If the file becomes
 * unreadable or broken, the last good copy stays in use (and is logged).
 */
#include <stdbool.h>
#include <stddef.h>

enum auth_result {
	AUTH_OK = 0,
	AUTH_FAILED,		/* unknown user or wrong password: never tell which */
	AUTH_TEMPFAIL,		/* user database unavailable: try later */
};

struct auth_db;

/* Opens the passwd-file at path (it is re-read when its mtime changes). Returns
 * 0, or -1 with a one-line message (with the file and line) in err. */
int auth_db_open(const char *path, struct auth_db **db_r, char *err, size_t errlen);
void auth_db_close(struct auth_db **db);

/* Re-reads the file now (SIGHUP).  On error the old data stays and -1 is returned. */
int auth_db_reload(struct auth_db *db, char *err, size_t errlen);

/* The same from a file another process opened (the master may read what a
 * worker may not): fd is read from offset 0 and stays the caller's.  Unless
 * force, a file identical (inode, size, mtime) to the one in use is not
 * read again, and a reload is logged as a change noticed here would be.
 * 1 reloaded, 0 unchanged, -1 error (the old data stays). */
int auth_db_reload_fd(struct auth_db *db, int fd, bool force, char *err, size_t errlen);
/* Says that the master hands this process the file when it changes: the
 * process's own checks then stay quiet when it may not read the file. */
void auth_db_set_handed(struct auth_db *db);



/* The user's whole record (core/userdb.h): 1 found (*rec_r filled, free it
 * with userdb_record_free(); an invalid extra field is logged and marks it
 * invalid), 0 no such user. */
struct userdb_record;
int auth_db_lookup(struct auth_db *db, const char *user, struct userdb_record *rec_r);


/* Checks a password against a stored "{SCHEME}hash" already looked up
 * (core/userdb.h); stored NULL or "" (no such user, no password) fails
 * after verifying a dummy hash, so an unknown user costs what a wrong
 * password costs.  The APOP form verifies an RFC 1939 §7 digest (MD5 of
 * timestamp+password, lowercase hex) against a {PLAIN}/{CLEAR} secret. */
enum auth_result auth_verify_stored(const char *stored, const char *password);
enum auth_result auth_verify_apop_stored(const char *stored, const char *timestamp,
					 const char *digest_hex);


/* Kinds of stored secrets, as bits: the challenge-response mechanisms
 * that can work for a user depend on them. */
#define AUTH_SECRET_PLAINTEXT		1u	/* {PLAIN}/{CLEAR}: CRAM-MD5, SCRAM */
#define AUTH_SECRET_SCRAM_SHA1		2u	/* {SCRAM-SHA-1}: SCRAM-SHA-1 */
#define AUTH_SECRET_SCRAM_SHA256	4u	/* {SCRAM-SHA-256}: SCRAM-SHA-256 */

/* Challenge-response mechanisms, as bits ([auth] mechanisms). */
#define AUTH_MECH_CRAM_MD5		1u
#define AUTH_MECH_SCRAM_SHA1		2u
#define AUTH_MECH_SCRAM_SHA256		4u
/* The mechanisms a stored secret of these AUTH_SECRET_* kinds can serve. */
unsigned auth_mechs_of_secret(unsigned kinds);
/* The mechanisms EVERY user of the file can use (0 for an empty file).
 * Offering one that only some users can use breaks the others' clients:
 * curl, mbsync and mpop pick the strongest mechanism offered and do not
 * fall back to PLAIN when it fails. */
unsigned auth_db_common_mechs(struct auth_db *db);


/* Makes "{SCHEME}hash" for password (duomail pw).  scheme is case-insensitive;
 * NULL means SHA512-CRYPT.  Returns a new string, or NULL with err set. */
char *password_hash(const char *scheme, const char *password, char *err, size_t errlen);

/* Checks password against a stored "{SCHEME}hash" (or bare crypt hash).
 * true on match.  Constant-time comparison where the scheme allows; a stored
 * value that cannot match costs a dummy check (password_verify_dummy). */
bool password_verify(const char *stored, const char *password);

/* Spends what checking a SHA512-CRYPT hash costs, and matches nothing: for
 * an unknown user, or a stored value that cannot be checked (unknown
 * scheme, empty or damaged hash), so these answer as slowly as a wrong
 * password does. */
void password_verify_dummy(const char *password);

/* Is the {SCHEME} of stored one we can verify? */
bool password_scheme_known(const char *stored);
/* Is stored well-formed for its scheme (SCRAM keys parse, a digest decodes
 * to its length, an Argon2 string has its type), so that some password can
 * match?  Crypt hashes are crypt(3)'s business: always true. */
bool password_stored_valid(const char *stored);
/* {PLAIN}/{CLEAR}: true with *plain_r pointing at the password in stored. */
bool password_is_plaintext(const char *stored, const char **plain_r);
/* The AUTH_SECRET_* bit of stored's scheme, or 0 (a hash). */
unsigned password_secret_kind(const char *stored);
/* {SCRAM-SHA-1} (hash SCRAM_SHA1) or {SCRAM-SHA-256}: true with *text_r
 * pointing at the keys in stored (core/scram.h parses them). */
bool password_scram_keys(const char *stored, int hash, const char **text_r);

#endif
