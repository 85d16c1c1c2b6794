/* Master-to-worker messages with open files.  See worker_ctl.h. */
#include "core/worker_ctl.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int worker_ctl_send(int sock, const struct worker_ctl_msg *msg, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(WORKER_CTL_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > WORKER_CTL_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		return 0;
	}
}

int worker_ctl_recv(int sock, struct worker_ctl_msg *msg, int fds[WORKER_CTL_MAX_FDS],
		    unsigned *nfds_r)
{
	union {
		char buf[CMSG_SPACE(WORKER_CTL_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	*nfds_r = 0;
	do
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned k = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		if (*nfds_r + k > WORKER_CTL_MAX_FDS)
			k = WORKER_CTL_MAX_FDS - *nfds_r;

		/* MSG_CTRUNC cannot drop fds: the buffer holds the most we send. */
		memcpy(fds + *nfds_r, CMSG_DATA(cm), k * sizeof(int));
		*nfds_r += k;
	}
	if (n == 0) {
		errno = EPIPE;
		return -1;
	}
	if ((size_t)n != sizeof(*msg) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (unsigned i = 0; i < *nfds_r; i++)
			close(fds[i]);
		*nfds_r = 0;
		errno = EPROTO;
		return -1;
	}
	return 1;
}
