/* The subcommands' side of the admin socket.  See admin.h. */
#include "core/admin.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int admin_client_open(const struct config *cfg, const char *request, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	char line[ADMIN_MAX_REQUEST + 2];
	size_t len;
	int fd;

	if (cfg->admin_socket[0] == '\0') {
		snprintf(err, errlen, "%s: [server] admin_socket is off: no live state to ask",
			 cfg->path);
		return -1;
	}
	len = (size_t)snprintf(line, sizeof(line), "%s %s\n", ADMIN_PROTOCOL, request);
	if (len >= sizeof(line) - 1) {
		snprintf(err, errlen, "request too long");
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", cfg->admin_socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "cannot reach the server at %s: %s (is duomail serve running?)",
			 cfg->admin_socket, strerror(errno));
		close(fd);
		return -1;
	}
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len) {
		snprintf(err, errlen, "%s: cannot send: %s", cfg->admin_socket, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int admin_client_line(struct admin_reader *r, char *line, size_t size, int timeout_ms,
		      char *err, size_t errlen)
{
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;

	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		ssize_t n;
		int wait;

		if (nl != NULL) {
			size_t l = (size_t)(nl - r->buf);

			if (l >= size)
				l = size - 1;	/* cut; our lines are far shorter */
			memcpy(line, r->buf, l);
			line[l] = '\0';
			r->len -= (size_t)(nl + 1 - r->buf);
			memmove(r->buf, nl + 1, r->len);
			return 1;
		}
		if (r->len == sizeof(r->buf)) {
			snprintf(err, errlen, "reply line too long");
			return -1;
		}
		wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
		if (deadline >= 0 && wait <= 0) {
			snprintf(err, errlen, "the server did not answer in time");
			return -1;
		}
		n = poll(&pfd, 1, wait);
		if (n < 0 && errno == EINTR)
			return -1;
		if (n < 0) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			continue;
		n = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
		if (n < 0 && errno == EINTR) {
			snprintf(err, errlen, "interrupted");
			return -1;
		}
		if (n < 0) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		r->len += (size_t)n;
	}
}
