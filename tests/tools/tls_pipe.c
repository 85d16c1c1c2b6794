/*
 * tls_pipe HOST PORT CAFILE [PRIORITY]: a TLS client on GnuTLS for the
 * protocol tests of SCRAM -PLUS with tls-exporter.  Python's ssl module
 * cannot export keying material (RFC 5705), so this tool does the TLS and
 * a Python test drives the protocol through it.
 *
 * After the handshake (certificate checked against CAFILE for "localhost")
 * it prints two lines on stdout:
 *   tls-exporter <hex>   RFC 9266: 32 bytes of the exporter with the label
 *                        "EXPORTER-Channel-Binding" and an empty context,
 *                        computed here with gnutls_prf_rfc5705, not with
 *                        the channel binding call the server uses
 *   version <TLS1.3|TLS1.2> ems <0|1>
 * then copies stdin to the TLS session and the session to stdout until
 * either side closes.  Exit 0, or 1 with a message on stderr.
 */
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int die(const char *what, int rc)
{
	fprintf(stderr, "tls_pipe: %s: %s\n", what, rc ? gnutls_strerror(rc) : "failed");
	return 1;
}

static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char label[] = "EXPORTER-Channel-Binding";
	gnutls_certificate_credentials_t cred;
	gnutls_session_t session;
	unsigned char exporter[32];
	char buf[16384];
	int fd, rc;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: tls_pipe HOST PORT CAFILE [PRIORITY]\n");
		return 2;
	}
	fd = connect_to(argv[1], argv[2]);
	if (fd < 0)
		return die("connect", 0);
	gnutls_certificate_allocate_credentials(&cred);
	if (gnutls_certificate_set_x509_trust_file(cred, argv[3], GNUTLS_X509_FMT_PEM) <= 0)
		return die("CA file", 0);
	gnutls_init(&session, GNUTLS_CLIENT);
	gnutls_server_name_set(session, GNUTLS_NAME_DNS, "localhost", 9);
	rc = argc == 5 ? gnutls_priority_set_direct(session, argv[4], NULL) :
			 gnutls_set_default_priority(session);
	if (rc < 0)
		return die("priority", rc);
	gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_session_set_verify_cert(session, "localhost", 0);
	gnutls_transport_set_int(session, fd);
	do
		rc = gnutls_handshake(session);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		return die("handshake", rc);
	rc = gnutls_prf_rfc5705(session, sizeof(label) - 1, label, 0, "", sizeof(exporter),
				(char *)exporter);
	if (rc < 0)
		return die("exporter", rc);
	printf("tls-exporter ");
	for (size_t i = 0; i < sizeof(exporter); i++)
		printf("%02x", exporter[i]);
	printf("\nversion %s ems %d\n",
	       gnutls_protocol_get_version(session) == GNUTLS_TLS1_3 ? "TLS1.3" : "TLS1.2",
	       gnutls_session_ext_master_secret_status(session) ? 1 : 0);
	fflush(stdout);

	for (;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = fd, .events = POLLIN } };

		if (gnutls_record_check_pending(session) == 0 && poll(p, 2, -1) < 0)
			return die("poll", 0);
		if (gnutls_record_check_pending(session) > 0 || (p[1].revents & (POLLIN | POLLHUP))) {
			ssize_t n = gnutls_record_recv(session, buf, sizeof(buf));

			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n <= 0)
				break;	/* the server closed */
			if (write_all(1, buf, (size_t)n) < 0)
				break;
			continue;
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(0, buf, sizeof(buf));

			if (n <= 0)
				break;
			if (gnutls_record_send(session, buf, (size_t)n) < 0)
				break;
		}
	}
	gnutls_bye(session, GNUTLS_SHUT_WR);
	gnutls_deinit(session);
	gnutls_certificate_free_credentials(cred);
	close(fd);
	return 0;
}
