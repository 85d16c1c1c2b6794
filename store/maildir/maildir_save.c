/*
 * Saving a message the Maildir way: write it under tmp/, fsync it, rename
 * it into new/ (or cur/ when it has flags), fsync the directory.  Only then
 * is it acknowledged, so a crash at any point leaves either no message or a
 * whole one.  The name carries S= (size on disk) and W= (size with CRLF).
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

struct maildir_save {
	struct store_save base;
	char *folder;
	char *unique;		/* base name without S=/W= */
	char *tmp_path;
	int fd;
	time_t received;
	unsigned flags;
	uint64_t psize, bare_lf;
	bool prev_cr;
	bool failed;
};

static atomic_uint save_counter;

static enum store_error errno_kind(int err)
{
	return err == ENOSPC || err == EDQUOT ? STORE_ERR_NOSPACE : STORE_ERR_TEMP;
}

static void unique_name(char *out, size_t outlen)
{
	struct timeval tv;
	char host[256];

	gettimeofday(&tv, NULL);
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	/* '/' and ':' would break the Maildir name. */
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ':' || *p == ',')
			*p = '_';
	snprintf(out, outlen, "%ld.M%06ldP%dQ%u.%s", (long)tv.tv_sec, (long)tv.tv_usec,
		 (int)getpid(), atomic_fetch_add(&save_counter, 1) + 1, host);
}

int maildir_save_begin(struct store *st, const char *mailbox, time_t received, unsigned flags,
		       struct store_save **save_r)
{
	struct maildir_save *s;
	struct stat sb;
	char unique[512];
	char *folder = maildir_folder_path(maildir_store(st), mailbox);

	if (folder == NULL)
		return store_fail(st, STORE_ERR_INVALID, "invalid mailbox name");
	if (stat(folder, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		free(folder);
		return store_fail(st, STORE_ERR_NOTFOUND, "no mailbox %s", mailbox);
	}
	unique_name(unique, sizeof(unique));
	s = xcalloc(1, sizeof(*s));
	s->base.st = st;
	s->folder = folder;
	s->unique = xstrdup(unique);
	s->tmp_path = xasprintf("%s/tmp/%s", folder, unique);
	s->received = received;
	s->flags = flags;
	s->fd = open(s->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		int err = errno;

		store_fail(st, errno_kind(err), "%s: %s", s->tmp_path, strerror(err));
		free(s->tmp_path);
		free(s->unique);
		free(s->folder);
		free(s);
		return -1;
	}
	*save_r = &s->base;
	return 0;
}

int maildir_save_write(struct store_save *save, const void *data, size_t len)
{
	struct maildir_save *s = (struct maildir_save *)save;
	const char *p = data;

	if (s->failed)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n' && !s->prev_cr)
			s->bare_lf++;
		s->prev_cr = p[i] == '\r';
	}
	while (len > 0) {
		ssize_t n = write(s->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			s->failed = true;
			return store_fail(save->st, errno_kind(errno), "%s: %s", s->tmp_path,
					  strerror(errno));
		}
		p += n;
		len -= n;
		s->psize += n;
	}
	return 0;
}

static void save_free(struct maildir_save *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->tmp_path);
	free(s->unique);
	free(s->folder);
	free(s);
}

void maildir_save_abort(struct store_save *save)
{
	struct maildir_save *s = (struct maildir_save *)save;

	unlink(s->tmp_path);
	save_free(s);
}

int maildir_save_commit(struct store_save *save, uint32_t *uid_r)
{
	struct maildir_save *s = (struct maildir_save *)save;
	struct store *st = save->st;
	char base[700], dest[5000], dir[4200];
	int err;

	if (s->failed)
		goto fail_keep_error;
	if (fsync(s->fd) < 0 || close(s->fd) < 0) {
		err = errno;
		s->fd = -1;
		store_fail(st, errno_kind(err), "%s: %s", s->tmp_path, strerror(err));
		goto fail_keep_error;
	}
	s->fd = -1;
	if (s->received != 0) {
		struct timeval tv[2] = { { s->received, 0 }, { s->received, 0 } };

		utimes(s->tmp_path, tv);
	}
	snprintf(base, sizeof(base), "%s,S=%llu,W=%llu", s->unique, (unsigned long long)s->psize,
		 (unsigned long long)(s->psize + s->bare_lf));
	if (s->flags != 0) {
		char *name = maildir_name_with_flags(base, NULL, s->flags);

		snprintf(dir, sizeof(dir), "%s/cur", s->folder);
		snprintf(dest, sizeof(dest), "%s/%s", dir, name);
		free(name);
	} else {
		snprintf(dir, sizeof(dir), "%s/new", s->folder);
		snprintf(dest, sizeof(dest), "%s/%s", dir, base);
	}
	if (rename(s->tmp_path, dest) < 0) {
		store_fail(st, errno_kind(errno), "rename to %s: %s", dest, strerror(errno));
		goto fail_keep_error;
	}
	if (maildir_fsync_dir(dir) < 0) {
		/* The message is there but not yet known durable: the caller
		 * must not acknowledge it.  It will still show up. */
		store_fail(st, errno_kind(errno), "fsync %s: %s", dir, strerror(errno));
		save_free(s);
		return -1;
	}
	if (uid_r != NULL) {
		struct mailbox *box;
		char *rel = s->folder + strlen(maildir_store(st)->dir);
		char *name = rel[0] == '\0' ? xstrdup("INBOX") : xstrdup(rel + 2);
		int ret = 0;

		for (char *p = name; *p; p++)
			if (*p == '.')
				*p = '/';
		*uid_r = 0;
		if (mailbox_open(st, name, &box) == 0) {
			struct maildir_box *mb = (struct maildir_box *)box;

			for (unsigned i = 0; i < box->count; i++)
				if (strcmp(mb->extra[i].base, base) == 0)
					*uid_r = box->msgs[i].uid;
			mailbox_close(&box);
		} else {
			ret = -1;
		}
		free(name);
		save_free(s);
		return ret;
	}
	save_free(s);
	return 0;

fail_keep_error:
	unlink(s->tmp_path);
	save_free(s);
	return -1;
}
