/*
 * Client autoconfiguration: Mozilla's autoconfig XML
 * (https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat)
 * and RFC 6186 SRV records.  See autoconfig.h.
 */
#include "core/autoconfig.h"
#include "core/buf.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

/* What each listener offers a client, best first. */
static const struct offer {
	enum listen_kind kind;
	const char *type;	/* the XML's incomingServer type */
	const char *srv;	/* RFC 6186 service label */
	bool implicit_tls;
} offers[] = {
	{ LISTEN_IMAPS, "imap", "_imaps._tcp", true },
	{ LISTEN_IMAP, "imap", "_imap._tcp", false },
	{ LISTEN_POP3S, "pop3", "_pop3s._tcp", true },
	{ LISTEN_POP3, "pop3", "_pop3._tcp", false },
};

bool autoconfig_domain_valid(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && s[n - 1] != '-';
}

static void put_xml_text(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '&')
			buf_printf(b, "&amp;");
		else if (*s == '<')
			buf_printf(b, "&lt;");
		else if (*s == '>')
			buf_printf(b, "&gt;");
		else
			buf_printf(b, "%c", *s);
	}
}

char *autoconfig_xml(const struct config *cfg, const char *domain)
{
	struct buf b;
	char *out;
	bool tls = cfg->tls_cert != NULL;

	/* domain is checked (autoconfig_domain_valid); the hostname's rule in
	 * config.c leaves out < > and ", not &, so it is escaped. */
	buf_init(&b, 64 * 1024);
	buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		       "<clientConfig version=\"1.1\">\n"
		       "  <emailProvider id=\"%s\">\n"
		       "    <domain>%s</domain>\n"
		       "    <displayName>%s</displayName>\n"
		       "    <displayShortName>%s</displayShortName>\n",
		   domain, domain, domain, domain);
	for (size_t i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
		const struct offer *o = &offers[i];
		const struct listen_addr *a = &cfg->listen[o->kind];

		if (!a->enabled)
			continue;
		buf_printf(&b, "    <incomingServer type=\"%s\">\n      <hostname>", o->type);
		put_xml_text(&b, cfg->hostname);
		/* Without a certificate there is no STARTTLS; a client
		 * outside loopback then cannot log in (CONTRACT.md), but it
		 * is what the server offers. */
		buf_printf(&b, "</hostname>\n      <port>%d</port>\n"
			       "      <socketType>%s</socketType>\n"
			       "      <authentication>password-cleartext</authentication>\n"
			       "      <username>%s</username>\n"
			       "    </incomingServer>\n",
			   a->port, o->implicit_tls ? "SSL" : tls ? "STARTTLS" : "plain",
			   cfg->autoconfig_address ? "%EMAILADDRESS%" : "%EMAILLOCALPART%");
	}
	buf_printf(&b, "  </emailProvider>\n</clientConfig>\n");
	out = xstrndup(buf_ptr(&b), buf_len(&b));
	buf_free(&b);
	return out;
}

int autoconfig_dns(const struct config *cfg, const char *domain, char **text_r)
{
	struct buf b;

	if (!autoconfig_domain_valid(domain))
		return -1;
	buf_init(&b, 64 * 1024);
	buf_printf(&b, "; RFC 6186 SRV records for %s, served by %s (duomail).\n"
		       "; Lower priority first: implicit TLS (RFC 8314 section 5.1), IMAP before POP3.\n"
		       "; A target of \".\" says the service is not offered (RFC 6186 section 4).\n",
		   domain, cfg->hostname);
	for (size_t i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
		const struct offer *o = &offers[i];
		const struct listen_addr *a = &cfg->listen[o->kind];

		if (a->enabled)
			buf_printf(&b, "%s.%s.\t3600\tIN\tSRV\t%zu 1 %d %s.\n", o->srv, domain,
				   i * 10, a->port, cfg->hostname);
		else
			buf_printf(&b, "%s.%s.\t3600\tIN\tSRV\t0 0 0 .\n", o->srv, domain);
	}
	buf_printf(&b, "; No _submission._tcp / _submissions._tcp: duomail has no SMTP submission;\n"
		       "; publish those for the MTA that takes your users' outgoing mail.\n");
	if (cfg->http.enabled) {
		buf_printf(&b, "; Mozilla autoconfig: http://autoconfig.%s/mail/config-v1.1.xml\n",
			   domain);
		if (cfg->http.port != 80)
			buf_printf(&b, "; ([listen] http is port %d: clients ask port 80, so forward "
				       "it or proxy to this one)\n", cfg->http.port);
		buf_printf(&b, "autoconfig.%s.\t3600\tIN\tCNAME\t%s.\n", domain, cfg->hostname);
	} else {
		buf_printf(&b, "; No autoconfig host: [listen] http is off.\n");
	}
	*text_r = xstrndup(buf_ptr(&b), buf_len(&b));
	buf_free(&b);
	return 0;
}
