/* Failure penalty around logins.  See login_guard.h. */
#include "core/login_guard.h"
#include "core/config.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/server.h"

#include <stdio.h>
#include <string.h>

unsigned login_guard_begin(struct login_guard *g, struct conn *c, const char *user)
{
	struct server *srv = conn_server(c);
	const struct config *cfg = srv->cfg;
	unsigned failures, ms;

	memset(g, 0, sizeof(*g));
	g->table = srv->abuse;
	snprintf(g->who, sizeof(g->who), "%s", conn_id(c));
	snprintf(g->ip, sizeof(g->ip), "%s", conn_peer_ip(c));
	/* "unix" is no address (the MTA's socket; no logins there). */
	g->penalised = g->table != NULL && cfg->penalty_max_ms > 0 &&
		       !(conn_is_loopback(c) && cfg->penalty_exempt_loopback) &&
		       abuse_key_ip(g->table, g->ip, &g->key) == 0;
	if (!g->penalised)
		return 0;
	ms = abuse_penalty_delay(g->table, &g->key, abuse_now_ms(), &failures);
	if (ms > 0) {
		log_info("%s: login of user=%s delayed %u ms (failure penalty: %u failed logins "
			 "from %s)", g->who, user, ms, failures, g->ip);
		abuse_count(g->table, ABUSE_EV_LOGIN_DELAYED);
	}
	return ms;
}

void login_guard_failed(struct login_guard *g, const char *user)
{
	unsigned failures;

	if (!g->penalised) {
		if (g->table != NULL)
			abuse_count(g->table, ABUSE_EV_LOGIN_FAILED);
		log_info("%s: authentication failed user=%s", g->who, user);
		return;
	}
	failures = abuse_penalty_fail(g->table, &g->key, abuse_now_ms());
	log_info("%s: authentication failed user=%s (%u failed logins from %s)", g->who, user,
		 failures, g->ip);
}

void login_guard_succeeded(struct login_guard *g)
{
	if (g->penalised)
		abuse_penalty_clear(g->table, &g->key);
}

void login_guard_verdict(struct login_guard *g, bool *armed, bool ok, const char *user)
{
	if (!*armed)
		return;
	*armed = false;
	if (ok)
		login_guard_succeeded(g);
	else
		login_guard_failed(g, user != NULL ? user : "");
}
