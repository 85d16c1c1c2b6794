/*
 * POP3 commands other than the login and message transfer: CAPA (RFC 2449),
 * STLS (RFC 2595), UTF8 and LANG (RFC 6856), and the TRANSACTION commands
 * of RFC 1939 with QUIT's UPDATE state.
 */
#include "pop3/pop3.h"

#include "core/async.h"
#include "core/config.h"
#include "core/live.h"
#include "core/log.h"
#include "core/sasl.h"
#include "core/sasl_glue.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static void totals(const struct pop3_session *s, unsigned *count_r, uint64_t *octets_r)
{
	*count_r = 0;
	*octets_r = 0;
	for (unsigned i = 0; i < s->drop.nmsgs; i++) {
		if (!s->drop.msgs[i].deleted) {
			(*count_r)++;
			*octets_r += s->drop.msgs[i].vsize;
		}
	}
}

struct pop3_msg *pop3_msg_arg(struct pop3_session *s, const char *arg)
{
	unsigned long n;
	struct pop3_msg *m;

	if (pop3_parse_number(arg, s->drop.nmsgs, &n) < 0 || n == 0) {
		pop3_reply_err(s, "No such message.");
		return NULL;
	}
	m = &s->drop.msgs[n - 1];
	if (m->deleted) {
		/* RFC 1939 §5: a deleted message may not be referred to. */
		pop3_reply_err(s, "Message %lu is deleted.", n);
		return NULL;
	}
	return m;
}

void pop3_cmd_capa(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	const struct config *cfg = pop3_config(s);
	struct sasl_context ctx;
	const char *mechs;

	sasl_context_for_conn(s->conn, &ctx);
	mechs = sasl_mechanisms(&ctx);

	conn_puts(s->conn, "+OK Capability list follows.\r\n"
		  "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (s->state == POP3_AUTHORIZATION) {
		if (conn_is_secure(s->conn))
			conn_puts(s->conn, "USER\r\n");
		if (mechs[0] != '\0')
			conn_printf(s->conn, "SASL %s\r\n", mechs);
		if (conn_can_start_tls(s->conn) && !s->utf8)
			conn_puts(s->conn, "STLS\r\n");
	}
	if (cfg->pop3_expire_days < 0)
		conn_puts(s->conn, "EXPIRE NEVER\r\n");
	else
		conn_printf(s->conn, "EXPIRE %d\r\n", cfg->pop3_expire_days);
	if (cfg->pop3_login_delay > 0)
		conn_printf(s->conn, "LOGIN-DELAY %u\r\n", cfg->pop3_login_delay);
	conn_puts(s->conn, "UTF8\r\nLANG\r\nIMPLEMENTATION duomail\r\n.\r\n");
}

void pop3_cmd_stls(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	if (cmd->nargs != 0) {
		pop3_bad_command(s, "STLS takes no arguments.");
		return;
	}
	if (conn_is_tls(s->conn)) {
		pop3_bad_command(s, "TLS is already active.");
		return;
	}
	if (!conn_can_start_tls(s->conn)) {
		pop3_reply_err(s, "TLS is not available.");
		return;
	}
	if (s->utf8) {
		/* RFC 6856 §2.1: clients must not STLS after UTF8. */
		pop3_bad_command(s, "STLS is not allowed after UTF8.");
		return;
	}
	pop3_reply_ok(s, "Begin TLS negotiation now.");
	/* RFC 2595 §4: forget what the client said before TLS. */
	xfree(&s->user);
	conn_start_tls(s->conn);
}

void pop3_cmd_utf8(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	if (cmd->nargs != 0) {
		pop3_bad_command(s, "UTF8 takes no arguments.");
		return;
	}
	s->utf8 = true;
	pop3_reply_ok(s, "UTF8 enabled.");
}

void pop3_cmd_lang(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	/* Only English texts exist.  RFC 6856 §3.2: a basic language range
	 * "en" or "*" selects it; anything else fails and nothing changes. */
	if (cmd->nargs == 0) {
		conn_puts(s->conn, "+OK Language listing follows:\r\nen English\r\n.\r\n");
		return;
	}
	if (cmd->nargs == 1 && (strcasecmp(cmd->args[0], "en") == 0 ||
				strcmp(cmd->args[0], "*") == 0)) {
		pop3_reply_ok(s, "en Language is English.");
		return;
	}
	pop3_reply_err(s, "Unsupported language.");
}

void pop3_cmd_noop(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	pop3_reply_ok(s, "Still here.");
}

void pop3_cmd_stat(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	unsigned count;
	uint64_t octets;

	totals(s, &count, &octets);
	/* RFC 1939 §5: exactly "+OK nn mm". */
	conn_printf(s->conn, "+OK %u %llu\r\n", count, (unsigned long long)octets);
}

static bool listing_pump(struct pop3_session *s)
{
	while (s->listing_next < s->drop.nmsgs) {
		const struct pop3_msg *m = &s->drop.msgs[s->listing_next++];

		if (conn_output_full(s->conn)) {
			s->listing_next--;
			return false;
		}
		if (m->deleted)
			continue;
		if (s->listing == 'L')
			conn_printf(s->conn, "%u %llu\r\n", s->listing_next,
				    (unsigned long long)m->vsize);
		else
			conn_printf(s->conn, "%u %s\r\n", s->listing_next, m->uidl);
	}
	conn_puts(s->conn, ".\r\n");
	s->listing = 0;
	return true;
}

void pop3_listing_resume(struct pop3_session *s)
{
	if (listing_pump(s))
		pop3_command_done(s);
}

/* LIST and UIDL share their shape: one message, or a multi-line listing
 * that may be long enough to need back-pressure. */
static void listing_start(struct pop3_session *s, struct pop3_cmdline *cmd, char kind)
{
	if (cmd->nargs > 1) {
		pop3_bad_command(s, "Too many arguments.");
		return;
	}
	if (cmd->nargs == 1) {
		struct pop3_msg *m = pop3_msg_arg(s, cmd->args[0]);

		if (m == NULL)
			return;
		if (kind == 'L')
			conn_printf(s->conn, "+OK %u %llu\r\n", (unsigned)(m - s->drop.msgs) + 1,
				    (unsigned long long)m->vsize);
		else
			conn_printf(s->conn, "+OK %u %s\r\n", (unsigned)(m - s->drop.msgs) + 1, m->uidl);
		return;
	}
	if (kind == 'L') {
		unsigned count;
		uint64_t octets;

		totals(s, &count, &octets);
		pop3_reply_ok(s, "%u messages (%llu octets)", count, (unsigned long long)octets);
	} else {
		pop3_reply_ok(s, "Unique-ID listing follows.");
	}
	s->listing = kind;
	s->listing_next = 0;
	s->busy = true;
	if (listing_pump(s))
		s->busy = false;
}

void pop3_cmd_list(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	listing_start(s, cmd, 'L');
}

void pop3_cmd_uidl(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	listing_start(s, cmd, 'U');
}

void pop3_cmd_dele(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	struct pop3_msg *m;

	if (cmd->nargs != 1) {
		pop3_bad_command(s, "Usage: DELE message");
		return;
	}
	m = pop3_msg_arg(s, cmd->args[0]);
	if (m == NULL)
		return;
	/* Only marked: RFC 1939 §6 removes it in the UPDATE state, at QUIT. */
	m->deleted = true;
	live_session_pending_add(conn_live(s->conn), m->uidl);
	pop3_reply_ok(s, "Message %u deleted.", (unsigned)(m - s->drop.msgs) + 1);
}

void pop3_cmd_rset(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	unsigned count;
	uint64_t octets;

	for (unsigned i = 0; i < s->drop.nmsgs; i++)
		s->drop.msgs[i].deleted = false;
	live_session_pending_clear(conn_live(s->conn));
	totals(s, &count, &octets);
	pop3_reply_ok(s, "Maildrop has %u messages (%llu octets).", count,
		      (unsigned long long)octets);
}

/* ---- QUIT and the UPDATE state ---- */

struct update_job {
	struct pop3_session *s;	/* busy: its maildrop is not used meanwhile */
	bool expire_now;
	struct pop3_commit_result result;
};

static void update_work(void *arg)
{
	struct update_job *j = arg;
	struct pop3_session *s = j->s;

	pop3_maildrop_commit(s->store, &s->policy, &s->drop, j->expire_now, time(NULL),
			     &j->result);
}

static void update_done(void *arg)
{
	struct update_job *j = arg;
	struct pop3_session *s = j->s;

	if (j->result.delete_failed)
		log_error("pop3: user=%s: deleting at QUIT failed", s->user);
	else if (j->result.record_failed)
		log_warn("pop3: user=%s: could not record retrieved messages", s->user);
	/* RFC 1939 §6: release the maildrop lock, then reply: a client that
	 * logs in again right after our +OK must not find it locked. */
	pop3_maildrop_free(&s->drop);
	store_close(&s->store);
	if (!s->gone) {
		live_session_pending_clear(conn_live(s->conn));
		log_info("%s: logout user=%s deleted=%zu (%s) retrieved=%zu", conn_id(s->conn),
			 s->user, j->result.deleted, policy_delete_name(s->policy.pop3_delete),
			 j->result.retrieved);
		if (j->result.delete_failed)
			pop3_reply_err(s, "[SYS/TEMP] Some deleted messages were not removed.");
		else
			pop3_reply_ok(s, "Logging out, %zu messages deleted.", j->result.deleted);
		conn_close(s->conn);
	}
	free(j);
	pop3_command_done(s);
}

void pop3_cmd_quit(struct pop3_session *s, struct pop3_cmdline *cmd)
{
	struct update_job *j;

	if (s->state == POP3_AUTHORIZATION) {
		pop3_reply_ok(s, "Logging out.");
		conn_close(s->conn);
		return;
	}
	/* RFC 1939 §6: QUIT from TRANSACTION enters UPDATE; only now do
	 * deletions happen.  A dropped connection never gets here. */
	s->state = POP3_UPDATE;
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	/* EXPIRE 0 (RFC 2449 §6.7): retrieved mail is not kept. */
	j->expire_now = pop3_config(s)->pop3_expire_days == 0;
	s->busy = true;
	async_run(conn_loop(s->conn), update_work, update_done, j);
}
