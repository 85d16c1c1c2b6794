/*
 * Config file loading (INI via inih).  All validation happens in the inih
 * handler, because only there do we know the line number: the handler
 * records the problem and returns 0, and ini_parse() returns that line.
 */
#include "core/config.h"
#include "core/auth.h"
#include "core/config_reader.h"
#include "core/log.h"
#include "core/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <ini.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const listen_names[LISTEN_COUNT] = {
	[LISTEN_IMAP] = "imap", [LISTEN_IMAPS] = "imaps", [LISTEN_POP3] = "pop3",
	[LISTEN_POP3S] = "pop3s", [LISTEN_LMTP] = "lmtp",
};

const char *listen_kind_name(enum listen_kind kind)
{
	return listen_names[kind];
}

struct parse_ctx {
	struct config *cfg;
	struct config_reader reader;	/* long and continued lines */
	char problem[256];	/* set by the handler when it returns 0 */
};

static int fail(struct parse_ctx *ctx, const char *section, const char *name,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records "[section] name: problem" for config_load() and stops the parse. */
static int fail(struct parse_ctx *ctx, const char *section, const char *name,
		const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ctx->problem, sizeof(ctx->problem), "[%s] %s: %s", section, name, msg);
	return 0;
}

/* "host:port" or "[v6]:port", numeric host only. */
static int parse_listen(const char *value, struct listen_addr *addr_r)
{
	const char *colon;
	const char *host = value;
	size_t hostlen;
	unsigned char tmp[sizeof(struct in6_addr)];
	char *end;
	long port;

	if (value[0] == '[') {
		const char *close = strchr(value, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		host = value + 1;
		hostlen = close - host;
		colon = close + 1;
	} else {
		colon = strrchr(value, ':');
		if (colon == NULL)
			return -1;
		hostlen = colon - value;
	}
	if (hostlen == 0 || hostlen >= sizeof(addr_r->host))
		return -1;
	memcpy(addr_r->host, host, hostlen);
	addr_r->host[hostlen] = '\0';
	if (inet_pton(AF_INET, addr_r->host, tmp) != 1 &&
	    inet_pton(AF_INET6, addr_r->host, tmp) != 1)
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 || port > 65535)
		return -1;
	addr_r->port = (int)port;
	addr_r->enabled = true;
	return 0;
}

/* "unix:/absolute/path", for a listener that takes a unix socket. */
static int parse_unix_listen(const char *value, struct listen_addr *addr_r)
{
	const char *path = value + strlen("unix:");
	size_t len = strlen(path);

	if (path[0] != '/' || len >= sizeof(addr_r->unix_path))
		return -1;
	memcpy(addr_r->unix_path, path, len + 1);
	addr_r->host[0] = '\0';
	addr_r->port = 0;
	addr_r->enabled = true;
	return 0;
}

/* A byte count: digits, then an optional K, M or G (powers of 1024). */
static int parse_size(const char *value, uint64_t min, uint64_t max, uint64_t *n_r)
{
	uint64_t n = 0, unit = 1;
	const char *p = value;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (*p == 'k' || *p == 'K')
		unit = 1024;
	else if (*p == 'm' || *p == 'M')
		unit = 1024 * 1024;
	else if (*p == 'g' || *p == 'G')
		unit = 1024 * 1024 * 1024;
	if (unit != 1)
		p++;
	if (*p != '\0' || n > max / unit || n * unit < min)
		return -1;
	*n_r = n * unit;
	return 0;
}

static int parse_bool(const char *value, bool *b_r)
{
	if (strcmp(value, "yes") == 0)
		*b_r = true;
	else if (strcmp(value, "no") == 0)
		*b_r = false;
	else
		return -1;
	return 0;
}

static int parse_uint(const char *value, unsigned long max, unsigned long *n_r)
{
	char *end;
	unsigned long n;

	if (value[0] < '0' || value[0] > '9')
		return -1;
	errno = 0;
	n = strtoul(value, &end, 10);
	if (errno != 0 || *end != '\0' || n > max)
		return -1;
	*n_r = n;
	return 0;
}

/* A duration: seconds ("15", "15s") or milliseconds ("250ms"), at most max_ms. */
static int parse_duration_ms(const char *value, unsigned long max_ms, unsigned *ms_r)
{
	char *end;
	unsigned long n, unit = 1000;

	if (value[0] < '0' || value[0] > '9')
		return -1;
	errno = 0;
	n = strtoul(value, &end, 10);
	if (errno != 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		unit = 1;
	else if (*end != '\0' && strcmp(end, "s") != 0)
		return -1;
	if (n > max_ms / unit)
		return -1;
	*ms_r = (unsigned)(n * unit);
	return 0;
}

/* [auth] mechanisms: "auto", or the challenge-response mechanisms to offer
 * (CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256; the -PLUS forms come with them on
 * TLS).  PLAIN and LOGIN are always there, under the plaintext rule. */
static int parse_mechanisms(struct parse_ctx *ctx, const char *section, const char *name,
			    const char *value)
{
	static const struct { const char *name; unsigned bit; } mechs[] = {
		{ "cram-md5", AUTH_MECH_CRAM_MD5 },
		{ "scram-sha-1", AUTH_MECH_SCRAM_SHA1 },
		{ "scram-sha-256", AUTH_MECH_SCRAM_SHA256 },
	};
	struct config *cfg = ctx->cfg;
	char word[32];
	const char *p = value;

	if (strcasecmp(value, "auto") == 0) {
		cfg->mechanisms_auto = true;
		cfg->mechanisms = 0;
		return 1;
	}
	cfg->mechanisms_auto = false;
	cfg->mechanisms = 0;
	while (*p != '\0') {
		size_t n = strcspn(p, " \t,");
		size_t i;

		if (n == 0) {
			p++;
			continue;
		}
		if (n >= sizeof(word))
			n = sizeof(word) - 1;
		memcpy(word, p, n);
		word[n] = '\0';
		p += strcspn(p, " \t,");
		for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
			if (strcasecmp(word, mechs[i].name) == 0)
				break;
		if (i == sizeof(mechs) / sizeof(mechs[0]))
			return fail(ctx, section, name,
				    "'%s' is not auto or a list of cram-md5, scram-sha-1, scram-sha-256",
				    word);
		cfg->mechanisms |= mechs[i].bit;
	}
	return 1;
}

/* [auth] penalty_*: the failure penalty (core/abuse_table.h). */
static int handle_auth_penalty(struct parse_ctx *ctx, const char *section, const char *name,
			       const char *value)
{
	struct config *cfg = ctx->cfg;

	if (strcmp(name, "penalty_initial") == 0) {
		if (parse_duration_ms(value, 60000, &cfg->penalty_initial_ms) < 0 ||
		    cfg->penalty_initial_ms == 0)
			return fail(ctx, section, name,
				    "'%s' is not a duration from 1ms to 60s (like 1s or 250ms)", value);
	} else if (strcmp(name, "penalty_max") == 0) {
		if (parse_duration_ms(value, 60000, &cfg->penalty_max_ms) < 0)
			return fail(ctx, section, name,
				    "'%s' is not a duration up to 60s (like 15s; 0 = no penalty)", value);
	} else if (strcmp(name, "penalty_reset") == 0) {
		if (parse_duration_ms(value, 7 * 86400000ul, &cfg->penalty_reset_ms) < 0 ||
		    cfg->penalty_reset_ms == 0)
			return fail(ctx, section, name,
				    "'%s' is not a duration from 1ms to 7 days (like 600s)", value);
	} else if (strcmp(name, "penalty_exempt_loopback") == 0) {
		if (parse_bool(value, &cfg->penalty_exempt_loopback) < 0)
			return fail(ctx, section, name, "'%s' is not yes or no", value);
	} else {
		return fail(ctx, section, name, "unknown key");
	}
	return 1;
}

/* max_bad_commands, the same key in [pop3], [imap] and [lmtp]. */
static int parse_max_bad(struct parse_ctx *ctx, const char *section, const char *name,
			 const char *value, unsigned *n_r)
{
	unsigned long n;

	if (parse_uint(value, 1000, &n) < 0 || n == 0)
		return fail(ctx, section, name, "'%s' is not a number 1..1000", value);
	*n_r = (unsigned)n;
	return 1;
}

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

/* [pop3] delete, folders, retr_sets_seen: the account policy's defaults. */
static int handle_pop3_policy(struct parse_ctx *ctx, const char *section, const char *name,
			      const char *value)
{
	struct config *cfg = ctx->cfg;
	char why[160];

	if (strcmp(name, "delete") == 0) {
		if (policy_parse_delete(value, &cfg->pop3_delete) < 0)
			return fail(ctx, section, name, "'%s' is not expunge, hide or trash",
				    value);
	} else if (strcmp(name, "folders") == 0) {
		struct policy_folders f;

		if (policy_folders_parse(value, &f, why, sizeof(why)) < 0)
			return fail(ctx, section, name, "%s", why);
		policy_folders_free(&cfg->pop3_folders);
		cfg->pop3_folders = f;
	} else if (strcmp(name, "retr_sets_seen") == 0) {
		if (policy_parse_bool(value, &cfg->pop3_retr_seen) < 0)
			return fail(ctx, section, name, "'%s' is not yes or no", value);
	} else {
		return fail(ctx, section, name, "unknown key");
	}
	return 1;
}

static int handle_quota(struct parse_ctx *ctx, const char *section, const char *name,
			const char *value)
{
	struct config *cfg = ctx->cfg;
	char why[160];

	if (strcmp(name, "storage") == 0) {
		if (policy_parse_size(value, 1, &cfg->quota_storage, why, sizeof(why)) < 0)
			return fail(ctx, section, name, "%s", why);
	} else if (strcmp(name, "messages") == 0) {
		if (policy_parse_count(value, &cfg->quota_messages, why, sizeof(why)) < 0)
			return fail(ctx, section, name, "%s", why);
	} else {
		return fail(ctx, section, name, "unknown key");
	}
	return 1;
}

/* [pgsql]: Dovecot's dovecot-sql.conf.ext names, with $1 for the user. */
static int handle_pgsql_key(struct parse_ctx *ctx, const char *section, const char *name,
			    const char *value)
{
	struct config *cfg = ctx->cfg;
	unsigned long n;

	if (strcmp(name, "connect") == 0) {
		char *why = NULL;
		PQconninfoOption *opts = PQconninfoParse(value, &why);

		if (opts == NULL) {
			char msg[160];

			snprintf(msg, sizeof(msg), "%s", why ? why : "out of memory");
			msg[strcspn(msg, "\n")] = '\0';
			PQfreemem(why);
			return fail(ctx, section, name, "not a libpq connection string: %s", msg);
		}
		PQconninfoFree(opts);
		set_str(&cfg->pgsql_connect, value);
	} else if (strcmp(name, "password_query") == 0 || strcmp(name, "user_query") == 0) {
		/* The name goes in as a parameter, never into the SQL text. */
		if (strstr(value, "$1") == NULL)
			return fail(ctx, section, name, "the query must use $1 for the user name");
		set_str(name[0] == 'p' ? &cfg->pgsql_password_query : &cfg->pgsql_user_query, value);
	} else if (strcmp(name, "pool_size") == 0) {
		if (parse_uint(value, 64, &n) < 0 || n == 0)
			return fail(ctx, section, name, "'%s' is not a number 1..64", value);
		cfg->pgsql_pool_size = (unsigned)n;
	} else if (strcmp(name, "query_timeout") == 0) {
		if (parse_uint(value, 300, &n) < 0 || n == 0)
			return fail(ctx, section, name, "'%s' is not 1..300 seconds", value);
		cfg->pgsql_timeout_ms = (unsigned)n * 1000;
	} else {
		return fail(ctx, section, name, "unknown key");
	}
	return 1;
}

static int handle_lmtp_key(struct parse_ctx *ctx, const char *section, const char *name,
			   const char *value)
{
	struct config *cfg = ctx->cfg;
	unsigned long n;
	uint64_t size;

	if (strcmp(name, "max_message_size") == 0) {
		if (parse_size(value, 1024, 1024ull * 1024 * 1024, &size) < 0)
			return fail(ctx, section, name,
				    "'%s' is not a size from 1K to 1G (bytes, or with K, M, G)", value);
		cfg->lmtp_max_message_size = size;
	} else if (strcmp(name, "max_recipients") == 0) {
		/* RFC 5321 §4.5.3.1.8: at least 100 must be accepted. */
		if (parse_uint(value, 100000, &n) < 0 || n < 100)
			return fail(ctx, section, name,
				    "'%s' is not a number 100..100000 (RFC 5321 section 4.5.3.1.8)",
				    value);
		cfg->lmtp_max_recipients = (unsigned)n;
	} else if (strcmp(name, "quota_full_tempfail") == 0) {
		if (parse_bool(value, &cfg->lmtp_quota_tempfail) < 0)
			return fail(ctx, section, name, "'%s' is not yes or no", value);
	} else if (strcmp(name, "recipient_delimiter") == 0) {
		for (const char *p = value; *p != '\0'; p++)
			if (strchr("+-_.=#%~", *p) == NULL)
				return fail(ctx, section, name,
					    "'%s': use characters of + - _ . = # %% ~", value);
		if (strlen(value) > 8)
			return fail(ctx, section, name, "at most 8 characters");
		set_str(&cfg->lmtp_recipient_delimiter, value);
	} else if (strcmp(name, "idle_timeout") == 0) {
		/* RFC 5321 §4.5.3.2.7: a server waits at least 5 minutes. */
		if (parse_uint(value, 86400, &n) < 0 || n < 300)
			return fail(ctx, section, name,
				    "'%s' must be 300..86400 seconds (RFC 5321 section 4.5.3.2.7)",
				    value);
		cfg->lmtp_idle_timeout = (unsigned)n;
	} else if (strcmp(name, "socket_mode") == 0) {
		char *end;

		errno = 0;
		n = strtoul(value, &end, 8);
		if (value[0] != '0' || errno != 0 || *end != '\0' || n > 0777 || (n & 0600) != 0600)
			return fail(ctx, section, name,
				    "'%s' is not an octal mode like 0660 (the owner needs rw)", value);
		cfg->lmtp_socket_mode = (unsigned)n;
	} else if (strcmp(name, "socket_group") == 0) {
		struct group *gr = getgrnam(value);

		if (gr == NULL)
			return fail(ctx, section, name, "no such group '%s'", value);
		cfg->lmtp_socket_gid = (long)gr->gr_gid;
	} else if (strcmp(name, "spool_dir") == 0) {
		if (value[0] != '/')
			return fail(ctx, section, name, "'%s' is not an absolute path", value);
		set_str(&cfg->lmtp_spool_dir, value);
	} else if (strcmp(name, "max_bad_commands") == 0) {
		return parse_max_bad(ctx, section, name, value, &cfg->lmtp_max_bad_commands);
	} else {
		return fail(ctx, section, name, "unknown key");
	}
	return 1;
}

/* [tls]: cert and key may each be given several times, the Nth cert with
 * the Nth key (several certificates, picked by SNI; see core/tls.h). */
static int handle_tls_key(struct parse_ctx *ctx, const char *section, const char *name,
			  const char *value)
{
	struct config *cfg = ctx->cfg;
	char why[160];

	if (strcmp(name, "cert") == 0 || strcmp(name, "key") == 0) {
		bool cert = name[0] == 'c';
		unsigned *n = cert ? &cfg->tls_ncerts : &cfg->tls_nkeys;

		if (value[0] == '\0')
			return fail(ctx, section, name, "empty path");
		if (*n == CONFIG_TLS_MAX_PAIRS)
			return fail(ctx, section, name, "more than %d", CONFIG_TLS_MAX_PAIRS);
		if (*n == 0)
			set_str(cert ? &cfg->tls_cert : &cfg->tls_key, value);
		else
			set_str(cert ? &cfg->tls_more_certs[*n - 1] : &cfg->tls_more_keys[*n - 1],
				value);
		(*n)++;
	} else if (strcmp(name, "priority") == 0) {
		if (tls_priority_check(value, why, sizeof(why)) < 0)
			return fail(ctx, section, name, "not a GnuTLS priority string: %s", why);
		set_str(&cfg->tls_priority, value);
	} else {
		return fail(ctx, section, name, "unknown key");
	}
	return 1;
}

static int handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	struct config *cfg = ctx->cfg;
	unsigned long n;

	value = config_reader_value(&ctx->reader, value);
	if (strcmp(section, "server") == 0) {
		if (strcmp(name, "hostname") == 0) {
			if (value[0] == '\0' || strpbrk(value, " \t<>\"") != NULL)
				return fail(ctx, section, name, "not a host name: '%s'", value);
			set_str(&cfg->hostname, value);
		} else if (strcmp(name, "workers") == 0) {
			if (parse_uint(value, 256, &n) < 0)
				return fail(ctx, section, name, "'%s' is not a number 0..256", value);
			cfg->workers = (int)n;
		} else if (strcmp(name, "log_level") == 0) {
			if (strcmp(value, "debug") == 0)
				cfg->log_debug = true;
			else if (strcmp(value, "info") == 0)
				cfg->log_debug = false;
			else
				return fail(ctx, section, name, "'%s' is not info or debug", value);
		} else if (strcmp(name, "user") == 0) {
			struct passwd *pw = value[0] != '\0' ? getpwnam(value) : NULL;

			if (pw == NULL)
				return fail(ctx, section, name, "no such system user '%s'", value);
			set_str(&cfg->user, value);
			cfg->user_uid = (long)pw->pw_uid;
			cfg->user_gid = (long)pw->pw_gid;
		} else if (strcmp(name, "group") == 0) {
			struct group *gr = value[0] != '\0' ? getgrnam(value) : NULL;

			if (gr == NULL)
				return fail(ctx, section, name, "no such system group '%s'", value);
			set_str(&cfg->group, value);
			cfg->group_gid = (long)gr->gr_gid;
		} else if (strcmp(name, "allow_root") == 0) {
			if (parse_bool(value, &cfg->allow_root) < 0)
				return fail(ctx, section, name, "'%s' is not yes or no", value);
		} else if (strcmp(name, "admin_socket") == 0) {
			cfg->admin_socket_default = false;
			if (strcmp(value, "off") == 0) {
				set_str(&cfg->admin_socket, "");
			} else if (value[0] != '/' || strlen(value) >= 108) {
				return fail(ctx, section, name,
					    "'%s' is not off or an absolute path of at most 107 bytes",
					    value);
			} else {
				set_str(&cfg->admin_socket, value);
			}
		} else if (strcmp(name, "max_connections") == 0) {
			if (parse_uint(value, 1000000, &n) < 0 || n == 0)
				return fail(ctx, section, name, "'%s' is not a number 1..1000000", value);
			cfg->max_connections = (unsigned)n;
		} else if (strcmp(name, "max_connections_per_ip") == 0 ||
			   strcmp(name, "max_connections_per_user") == 0) {
			if (parse_uint(value, 1000000, &n) < 0)
				return fail(ctx, section, name,
					    "'%s' is not a number 0..1000000 (0 = unlimited)", value);
			if (strcmp(name, "max_connections_per_ip") == 0)
				cfg->max_connections_per_ip = (unsigned)n;
			else
				cfg->max_connections_per_user = (unsigned)n;
		} else {
			return fail(ctx, section, name, "unknown key");
		}
	} else if (strcmp(section, "listen") == 0) {
		if (strcmp(name, "http") == 0) {
			memset(&cfg->http, 0, sizeof(cfg->http));
			if (parse_listen(value, &cfg->http) < 0)
				return fail(ctx, section, name,
					    "'%s' is not a numeric host:port (or [v6]:port)", value);
			return 1;
		}
		for (int k = 0; k < LISTEN_COUNT; k++) {
			if (strcmp(name, listen_names[k]) != 0)
				continue;
			memset(&cfg->listen[k], 0, sizeof(cfg->listen[k]));
			if (strncmp(value, "unix:", 5) == 0) {
				/* Postfix's lmtp:unix:/path; no other front end
				 * is tested on one. */
				if (k != LISTEN_LMTP)
					return fail(ctx, section, name,
						    "unix: sockets are only for lmtp");
				if (parse_unix_listen(value, &cfg->listen[k]) < 0)
					return fail(ctx, section, name,
						    "'%s' is not unix: and an absolute path "
						    "of at most 107 bytes", value);
				return 1;
			}
			if (parse_listen(value, &cfg->listen[k]) < 0)
				return fail(ctx, section, name,
					    "'%s' is not a numeric host:port (or [v6]:port)", value);
			return 1;
		}
		return fail(ctx, section, name, "unknown key");
	} else if (strcmp(section, "tls") == 0) {
		return handle_tls_key(ctx, section, name, value);
	} else if (strcmp(section, "auth") == 0) {
		if (strcmp(name, "userdb") == 0) {
			if (strcmp(value, "passwd-file") == 0)
				cfg->userdb = USERDB_PASSWD_FILE;
			else if (strcmp(value, "pgsql") == 0)
				cfg->userdb = USERDB_PGSQL;
			else
				return fail(ctx, section, name, "'%s' is not passwd-file or pgsql",
					    value);
		} else if (strcmp(name, "passwd_file") == 0) {
			set_str(&cfg->passwd_file, value);
		} else if (strcmp(name, "mechanisms") == 0) {
			return parse_mechanisms(ctx, section, name, value);
		} else if (strcmp(name, "plaintext_on_loopback") == 0) {
			if (strcmp(value, "yes") == 0)
				cfg->plaintext_on_loopback = true;
			else if (strcmp(value, "no") == 0)
				cfg->plaintext_on_loopback = false;
			else
				return fail(ctx, section, name, "'%s' is not yes or no", value);
		} else {
			return handle_auth_penalty(ctx, section, name, value);
		}
	} else if (strcmp(section, "store") == 0) {
		if (strcmp(name, "root") == 0)
			set_str(&cfg->store_root, value);
		else if (strcmp(name, "allow_maildir_outside_root") == 0) {
			if (policy_parse_bool(value, &cfg->allow_maildir_outside_root) < 0)
				return fail(ctx, section, name, "'%s' is not yes or no", value);
		} else
			return fail(ctx, section, name, "unknown key");
	} else if (strcmp(section, "pop3") == 0) {
		if (strcmp(name, "idle_timeout") == 0) {
			/* RFC 1939 §3: the autologout timer MUST be at least 10 minutes. */
			if (parse_uint(value, 86400, &n) < 0 || n < 600)
				return fail(ctx, section, name,
					    "'%s' must be 600..86400 seconds (RFC 1939 section 3)", value);
			cfg->pop3_idle_timeout = (unsigned)n;
		} else if (strcmp(name, "login_delay") == 0) {
			if (parse_uint(value, 86400 * 7, &n) < 0)
				return fail(ctx, section, name, "'%s' is not a number of seconds", value);
			cfg->pop3_login_delay = (unsigned)n;
		} else if (strcmp(name, "expire") == 0) {
			if (strcasecmp(value, "never") == 0)
				cfg->pop3_expire_days = -1;
			else if (parse_uint(value, 36500, &n) == 0)
				cfg->pop3_expire_days = (int)n;
			else
				return fail(ctx, section, name, "'%s' is not 'never' or a number of days",
					    value);
		} else if (strcmp(name, "max_bad_commands") == 0) {
			return parse_max_bad(ctx, section, name, value, &cfg->pop3_max_bad_commands);
		} else {
			return handle_pop3_policy(ctx, section, name, value);
		}
	} else if (strcmp(section, "imap") == 0) {
		if (strcmp(name, "max_bad_commands") != 0)
			return fail(ctx, section, name, "unknown key");
		return parse_max_bad(ctx, section, name, value, &cfg->imap_max_bad_commands);
	} else if (strcmp(section, "quota") == 0) {
		return handle_quota(ctx, section, name, value);
	} else if (strcmp(section, "http") == 0) {
		if (strcmp(name, "autoconfig_username") != 0)
			return fail(ctx, section, name, "unknown key");
		if (strcmp(value, "address") == 0)
			cfg->autoconfig_address = true;
		else if (strcmp(value, "localpart") == 0)
			cfg->autoconfig_address = false;
		else
			return fail(ctx, section, name, "'%s' is not localpart or address", value);
	} else if (strcmp(section, "lmtp") == 0) {
		return handle_lmtp_key(ctx, section, name, value);
	} else if (strcmp(section, "pgsql") == 0) {
		return handle_pgsql_key(ctx, section, name, value);
	} else {
		snprintf(ctx->problem, sizeof(ctx->problem), "unknown section [%s]", section);
		return 0;
	}
	return 1;
}

static void config_defaults(struct config *cfg)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	cfg->hostname = xstrdup(host);
	cfg->workers = 0;
	cfg->max_connections = 10000;
	cfg->user_uid = cfg->user_gid = cfg->group_gid = -1;
	cfg->admin_socket = xstrdup("/run/duomail/admin.sock");
	cfg->admin_socket_default = true;
	cfg->max_connections_per_ip = 100;
	cfg->max_connections_per_user = 50;
	cfg->penalty_initial_ms = 1000;
	cfg->penalty_max_ms = 15000;
	cfg->penalty_reset_ms = 600000;
	cfg->penalty_exempt_loopback = false;
	cfg->imap_max_bad_commands = 20;
	cfg->tls_priority = xstrdup(CONFIG_TLS_PRIORITY_DEFAULT);
	cfg->plaintext_on_loopback = true;
	cfg->mechanisms_auto = true;
	cfg->pop3_idle_timeout = 600;
	cfg->pop3_login_delay = 0;
	cfg->pop3_expire_days = -1;
	cfg->pop3_max_bad_commands = 20;
	cfg->pop3_delete = POP3_DELETE_EXPUNGE;
	cfg->pop3_folders.names = xcalloc(1, sizeof(char *));
	cfg->pop3_folders.names[0] = xstrdup("INBOX");
	cfg->pop3_folders.count = 1;
	cfg->pop3_retr_seen = true;
	cfg->quota_storage = 0;
	cfg->quota_messages = 0;
	cfg->lmtp_max_message_size = 50u * 1024 * 1024;
	cfg->lmtp_max_recipients = 1000;
	cfg->lmtp_quota_tempfail = false;
	cfg->lmtp_recipient_delimiter = xstrdup("+");
	cfg->lmtp_idle_timeout = 300;
	cfg->lmtp_socket_mode = 0660;
	cfg->lmtp_socket_gid = -1;
	cfg->lmtp_spool_dir = xstrdup("/tmp");
	cfg->pgsql_pool_size = 4;
	cfg->pgsql_timeout_ms = 5000;
	cfg->lmtp_max_bad_commands = 20;
}

/* Checks that need the whole file: required keys and key pairs. */
static int config_check(const struct config *cfg, char *err, size_t errlen)
{
	bool any = false, tls = cfg->listen[LISTEN_IMAPS].enabled || cfg->listen[LISTEN_POP3S].enabled;

	for (int k = 0; k < LISTEN_COUNT; k++)
		any |= cfg->listen[k].enabled;
	if (!any) {
		snprintf(err, errlen, "%s: [listen]: no listener configured", cfg->path);
		return -1;
	}
	if (cfg->tls_ncerts != cfg->tls_nkeys) {
		snprintf(err, errlen, "%s: [tls] %s: missing (cert and key go together: %u cert, %u key)",
			 cfg->path, cfg->tls_ncerts > cfg->tls_nkeys ? "key" : "cert",
			 cfg->tls_ncerts, cfg->tls_nkeys);
		return -1;
	}
	if (tls && cfg->tls_cert == NULL) {
		snprintf(err, errlen, "%s: [tls] cert: missing, but imaps/pop3s listeners need it",
			 cfg->path);
		return -1;
	}
	if (cfg->userdb == USERDB_PASSWD_FILE && cfg->passwd_file == NULL) {
		snprintf(err, errlen, "%s: [auth] passwd_file: missing", cfg->path);
		return -1;
	}
	if (cfg->userdb == USERDB_PGSQL &&
	    (cfg->pgsql_connect == NULL || cfg->pgsql_password_query == NULL)) {
		snprintf(err, errlen, "%s: [pgsql] %s: missing (userdb = pgsql needs it)", cfg->path,
			 cfg->pgsql_connect == NULL ? "connect" : "password_query");
		return -1;
	}
	if (cfg->store_root == NULL) {
		snprintf(err, errlen, "%s: [store] root: missing", cfg->path);
		return -1;
	}
	return 0;
}

int config_load(const char *path, struct config **cfg_r, char *err, size_t errlen)
{
	struct parse_ctx ctx = { 0 };
	struct config *cfg;
	FILE *f;
	int line;

	/* inih's defaults allow only ';' inline; the contract documents '#'. */
	ini_inline_comment_prefixes = "#;";
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;

	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(path);
	config_defaults(cfg);
	ctx.cfg = cfg;
	ctx.reader.f = f;
	line = ini_parse_stream(config_reader_gets, &ctx.reader, handle_key, &ctx);
	config_reader_free(&ctx.reader);
	fclose(f);
	if (line != 0) {
		if (line < 0)
			snprintf(err, errlen, "%s: cannot read the file", path);
		else if (ctx.problem[0] != '\0')
			snprintf(err, errlen, "%s:%d: %s", path, line, ctx.problem);
		else
			snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
				 path, line);
		config_free(&cfg);
		return -1;
	}
	if (config_check(cfg, err, errlen) < 0) {
		config_free(&cfg);
		return -1;
	}
	*cfg_r = cfg;
	return 0;
}

void config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->hostname);
	free(cfg->user);
	free(cfg->admin_socket);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	for (unsigned i = 0; i + 1 < CONFIG_TLS_MAX_PAIRS; i++) {
		free(cfg->tls_more_certs[i]);
		free(cfg->tls_more_keys[i]);
	}
	free(cfg->group);
	free(cfg->tls_priority);
	free(cfg->passwd_file);
	free(cfg->store_root);
	policy_folders_free(&cfg->pop3_folders);
	free(cfg->lmtp_recipient_delimiter);
	free(cfg->lmtp_spool_dir);
	free(cfg->pgsql_connect);
	free(cfg->pgsql_password_query);
	free(cfg->pgsql_user_query);
	free(cfg);
	*cfgp = NULL;
}
