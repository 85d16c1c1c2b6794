/*
 * Replacing one of the Maildir's small files of our own (subscriptions,
 * keyword names, POP3 hide marks) crash-safely: a temp file beside it,
 * fsync, rename over the old one, fsync the directory.  After a crash the
 * file is the old one or the new one, never a mix.  Callers hold the lock
 * that orders writers of that file.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int maildir_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int maildir_replace_file(struct store *st, const char *dir, const char *name,
			 const char *data, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *tmp = xasprintf("%s/%s.tmp", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret = -1, err;

	if (fd < 0) {
		store_fail(st, maildir_errno(errno), "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (maildir_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		err = errno;
		close(fd);
		unlink(tmp);
		store_fail(st, maildir_errno(err), "%s: %s", tmp, strerror(err));
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		store_fail(st, maildir_errno(err), "%s: %s", path, strerror(err));
		goto out;
	}
	if (maildir_fsync_dir(dir) < 0) {
		store_fail(st, maildir_errno(errno), "fsync %s: %s", dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(path);
	free(tmp);
	return ret;
}
