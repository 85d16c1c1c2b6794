#ifndef DUOMAIL_ADMIN_HTTP_H
#define DUOMAIL_ADMIN_HTTP_H
/*
 * The HTTP listener's requests ([listen] http), answered by the admin
 * process: a strict, minimal HTTP/1.1 server (RFC 9110, RFC 9112) for one
 * request per connection (the answer says Connection: close).
 *
 *   GET /metrics                                 OpenMetrics text (core/stats.h)
 *   GET /mail/config-v1.1.xml                    Mozilla autoconfig (core/autoconfig.h)
 *   GET /.well-known/autoconfig/mail/config-v1.1.xml   the same
 *
 * GET and HEAD only (405 with Allow otherwise), no request body (400), a
 * Host header required for HTTP/1.1 (400, RFC 9112 §3.2), HTTP/1.0 and 1.1
 * only (505), other paths 404, a request head of at most 8 KiB (431).
 */
#include <stddef.h>

#include "core/config.h"

/* The whole response to the request head req[0..len) (ended by an empty
 * line, or cut at the limit).  New memory; *len_r its size. */
char *admin_http_respond(const struct config *cfg, const char *req, size_t len, size_t *len_r);
/* A bodiless error response with status code. */
char *admin_http_error(int code, size_t *len_r);

#endif
