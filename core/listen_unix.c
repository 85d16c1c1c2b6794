/* Listening unix sockets.  See listen_unix.h. */
#include "core/listen_unix.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Is somebody accepting on the socket file at addr?  1 yes, 0 no (stale). */
static int socket_alive(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return 1;	/* cannot tell: do not remove it */
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	return ret == 0 || (errno != ECONNREFUSED && errno != ENOENT);
}

/* Makes room at path for a new socket: nothing there, or a stale socket,
 * which is removed. */
static int clear_path(const struct sockaddr_un *addr, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(addr->sun_path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", addr->sun_path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", addr->sun_path);
		return -1;
	}
	if (socket_alive(addr)) {
		snprintf(err, errlen, "%s is in use (another server is listening on it)",
			 addr->sun_path);
		return -1;
	}
	if (unlink(addr->sun_path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove the stale socket %s: %s", addr->sun_path,
			 strerror(errno));
		return -1;
	}
	log_info("removed the stale socket %s", addr->sun_path);
	return 0;
}

int unix_listener_bind(struct unix_listener *l, const char *path, unsigned mode, long gid,
		       char *err, size_t errlen)
{
	struct sockaddr_un addr;
	struct stat st;
	mode_t old_umask;
	int fd, ret;

	memset(l, 0, sizeof(*l));
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr.sun_path) || strlen(path) >= sizeof(l->path)) {
		snprintf(err, errlen, "%s: path too long for a unix socket", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	if (clear_path(&addr, err, errlen) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* bind() creates the file with the umask applied: owner-only until
	 * the chmod below, so it is never more open than mode. */
	old_umask = umask(0177);
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (ret < 0) {
		snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (stat(path, &st) < 0 || (gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) < 0) ||
	    chmod(path, mode) < 0 || listen(fd, 511) < 0) {
		snprintf(err, errlen, "cannot set up %s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	strcpy(l->path, path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->bound = true;
	return fd;
}

void unix_listener_remove(struct unix_listener *l)
{
	struct stat st;

	if (!l->bound)
		return;
	l->bound = false;
	/* Someone may have started another server on the path meanwhile. */
	if (lstat(l->path, &st) < 0 || st.st_dev != l->dev || st.st_ino != l->ino)
		return;
	if (unlink(l->path) < 0)
		/* After the privilege drop the directory may not be ours;
		 * the next start replaces the stale file. */
		log_info("cannot remove %s: %s", l->path, strerror(errno));
}
