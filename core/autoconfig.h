#ifndef DUOMAIL_AUTOCONFIG_H
#define DUOMAIL_AUTOCONFIG_H
/*
 * What mail clients are told about this server, from the config:
 * Mozilla's autoconfig file (served on [listen] http) and the RFC 6186
 * SRV records an admin publishes (`duomail dns DOMAIN`).  Both offer the
 * enabled IMAP and POP3 listeners at [server] hostname, TLS first
 * (RFC 8314 §5.1: implicit TLS preferred).
 */
#include "core/config.h"

/* Mozilla's clientConfig 1.1 XML for domain (the part after '@' of the
 * address the client asked for, or [server] hostname).  New string. */
char *autoconfig_xml(const struct config *cfg, const char *domain);

/* Zone-file lines for domain (RFC 6186 §3, §4), comments included.  New
 * string.  -1 if domain is not a host name. */
int autoconfig_dns(const struct config *cfg, const char *domain, char **text_r);

/* Is s a DNS host name (letters, digits, '-', dots between labels)? */
bool autoconfig_domain_valid(const char *s);

#endif
