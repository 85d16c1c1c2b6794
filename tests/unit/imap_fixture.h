/*
 * What the in-process IMAP tests share: a loopback server with the IMAP
 * front end and user alice (password s3cret), logging in, and logging out
 * while checking the session is gone.  Header-only because every
 * tests/unit/test_*.c is its own program.
 */
#ifndef DUOMAIL_TEST_IMAP_FIXTURE_H
#define DUOMAIL_TEST_IMAP_FIXTURE_H

#include <string.h>
#include <unistd.h>

#include "imap/imap_session.h"
#include "loopback_server.h"

__attribute__((unused)) static int setup(void **state)
{
	lb_start(&imap_handler, "alice:{PLAIN}s3cret\n");
	return 0;
}

__attribute__((unused)) static int teardown(void **state)
{
	lb_stop();
	return 0;
}

__attribute__((unused)) static int login(void)
{
	int fd = lb_connect();

	lb_expect(fd, "* OK", false);
	lb_send_slowly(fd, "l1 LOGIN alice s3cret\r\n");
	lb_expect(fd, "l1 OK", false);
	return fd;
}

__attribute__((unused)) static void logout(int fd)
{
	unsigned before = lb_srv.nconns;
	char line[512];

	/* Updates from other sessions may come first (RFC 3501 §7). */
	lb_send_slowly(fd, "zz LOGOUT\r\n");
	do {
		lb_line(fd, line, sizeof(line));
		assert_true(line[0] == '*');
	} while (strncmp(line, "* BYE", 5) != 0);
	lb_expect(fd, "zz OK", false);
	close(fd);
	lb_run_for(50);
	assert_int_equal(lb_srv.nconns, before - 1);
}

#endif
