/* Editing a passwd-file as a file: see passwd_edit.h. */
#include "core/passwd_edit.h"
#include "core/auth.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_WAIT_MS 10000

struct passwd_edit {
	char *path;
	int lockfd;
	struct stat st;		/* of the file as read */
	char **lines;
	size_t count;
	bool final_newline;	/* the file ended in one (an empty file counts) */
	bool created;		/* there was no file: the first `user add` makes it */
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

bool passwd_user_name_ok(const char *name)
{
	if (name[0] == '\0' || name[0] == '.' || strlen(name) > 255)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == ':' || *p == '/')
			return false;
	return true;
}

char *passwd_line_user(const char *line)
{
	const char *s = line + strspn(line, " \t");
	const char *colon;

	if (*s == '\0' || *s == '#')
		return NULL;
	colon = strchr(line, ':');
	return colon != NULL ? xstrndup(line, (size_t)(colon - line)) : xstrdup(line);
}

static int take_lock(const char *path, char *err, size_t errlen)
{
	char *lock = xasprintf("%s.lock", path);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		fail(err, errlen, "%s: %s", lock, strerror(errno));
		free(lock);
		return -1;
	}
	for (int waited = 0; fcntl(fd, F_OFD_SETLK, &fl) < 0; waited += 50) {
		if ((errno != EAGAIN && errno != EACCES) || waited >= LOCK_WAIT_MS) {
			fail(err, errlen, "%s: %s", lock,
			     errno == EAGAIN || errno == EACCES ?
				     "held by another duomail user command for 10 s" :
				     strerror(errno));
			close(fd);
			free(lock);
			return -1;
		}
		usleep(50 * 1000);
	}
	free(lock);
	return fd;
}

static void add_line(struct passwd_edit *ed, char *line)
{
	ed->lines = xrealloc(ed->lines, (ed->count + 1) * sizeof(*ed->lines));
	ed->lines[ed->count++] = line;
}

int passwd_edit_begin(const char *path, struct passwd_edit **ed_r, char *err, size_t errlen)
{
	struct passwd_edit *ed = xcalloc(1, sizeof(*ed));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	*ed_r = NULL;
	/* A passwd-file that is a symbolic link is edited where it points:
	 * the rename must replace the file, not the link. */
	ed->path = realpath(path, NULL);
	if (ed->path == NULL)
		ed->path = xstrdup(path);	/* fopen() below says why */
	ed->final_newline = true;
	ed->lockfd = take_lock(path, err, errlen);
	if (ed->lockfd < 0) {
		passwd_edit_abort(&ed);
		return -1;
	}
	f = fopen(ed->path, "re");
	if (f == NULL && errno == ENOENT) {
		ed->created = true;	/* a new installation: no users yet */
		*ed_r = ed;
		return 0;
	}
	if (f == NULL || fstat(fileno(f), &ed->st) < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		passwd_edit_abort(&ed);
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		ed->final_newline = n > 0 && line[n - 1] == '\n';
		if (ed->final_newline)
			line[--n] = '\0';
		add_line(ed, xstrdup(line));
	}
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	if (ferror(f)) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		fclose(f);
		passwd_edit_abort(&ed);
		return -1;
	}
	fclose(f);
	*ed_r = ed;
	return 0;
}

size_t passwd_edit_count(const struct passwd_edit *ed)
{
	return ed->count;
}

const char *passwd_edit_line(const struct passwd_edit *ed, size_t i)
{
	return ed->lines[i];
}

long passwd_edit_find(const struct passwd_edit *ed, const char *user)
{
	for (size_t i = 0; i < ed->count; i++) {
		char *name = passwd_line_user(ed->lines[i]);
		bool same = name != NULL && strcmp(name, user) == 0;

		free(name);
		if (same)
			return (long)i;
	}
	return -1;
}

static void free_line(char **line)
{
	explicit_bzero(*line, strlen(*line));
	xfree(line);
}

void passwd_edit_set(struct passwd_edit *ed, size_t i, const char *line)
{
	free_line(&ed->lines[i]);
	ed->lines[i] = xstrdup(line);
}

void passwd_edit_append(struct passwd_edit *ed, const char *line)
{
	/* A last line without a line end gets one, so the new line stays apart. */
	ed->final_newline = true;
	add_line(ed, xstrdup(line));
}

void passwd_edit_remove(struct passwd_edit *ed, size_t i)
{
	free_line(&ed->lines[i]);
	memmove(&ed->lines[i], &ed->lines[i + 1], (ed->count - i - 1) * sizeof(*ed->lines));
	ed->count--;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The server must accept the new file: the check that the auth core would
 * make, on the temp file, with its messages naming the real file. */
static int validate(const char *tmp, const char *path, char *err, size_t errlen)
{
	struct auth_db *db;
	char msg[1024];
	size_t tlen = strlen(tmp);

	if (auth_db_open(tmp, &db, msg, sizeof(msg)) == 0) {
		auth_db_close(&db);
		return 0;
	}
	if (strncmp(msg, tmp, tlen) == 0)
		return fail(err, errlen, "%s%s (nothing written)", path, msg + tlen);
	return fail(err, errlen, "%s (nothing written)", msg);
}

int passwd_edit_commit(struct passwd_edit **edp, char *err, size_t errlen)
{
	struct passwd_edit *ed = *edp;
	char *tmp = xasprintf("%s.duomail-XXXXXX", ed->path);
	char *dircopy = xstrdup(ed->path);
	struct stat now;
	bool invalid = false;
	int fd, dfd, ret = -1;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out_notmp;
	}
	for (size_t i = 0; i < ed->count; i++) {
		bool last = i + 1 == ed->count;

		if (write_all(fd, ed->lines[i], strlen(ed->lines[i])) < 0 ||
		    ((!last || ed->final_newline) && write_all(fd, "\n", 1) < 0)) {
			fail(err, errlen, "%s: %s", tmp, strerror(errno));
			goto out;
		}
	}
	/* The old file's mode and owner (a root-only file stays root-only);
	 * a new one readable by its owner only (it holds password hashes). */
	if (fchmod(fd, ed->created ? 0600 : ed->st.st_mode & 07777) < 0) {
		fail(err, errlen, "%s: chmod: %s", tmp, strerror(errno));
		goto out;
	}
	if (!ed->created && (ed->st.st_uid != geteuid() || ed->st.st_gid != getegid()) &&
	    fchown(fd, ed->st.st_uid, ed->st.st_gid) < 0) {
		fail(err, errlen, "%s: cannot give the new file the owner of the old: %s", ed->path,
		     strerror(errno));
		goto out;
	}
	if (fsync(fd) < 0) {
		fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (validate(tmp, ed->path, err, errlen) < 0) {
		invalid = true;
		goto out;
	}
	/* Swap the new file in and look at the one it replaced: if that is
	 * not the file we read (edited by hand meanwhile, renamed over by an
	 * editor, or written in place), swap back, so the edit wins.  Both
	 * swaps are atomic: a reader sees one whole file or the other. */
	if (ed->created) {
		/* Someone else made the file meanwhile: theirs wins. */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, ed->path, RENAME_NOREPLACE) < 0) {
			fail(err, errlen, errno == EEXIST ? "%s was made while this command ran; "
				     "nothing written, run it again" : "%s: %s",
			     ed->path, strerror(errno));
			goto out;
		}
		goto renamed;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, ed->path, RENAME_EXCHANGE) < 0) {
		fail(err, errlen, "%s: %s", ed->path, strerror(errno));
		goto out;
	}
	if (stat(tmp, &now) < 0 || now.st_ino != ed->st.st_ino ||
	    now.st_size != ed->st.st_size || now.st_mtim.tv_sec != ed->st.st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != ed->st.st_mtim.tv_nsec) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, ed->path, RENAME_EXCHANGE) < 0) {
			fail(err, errlen, "%s changed while this command ran, and putting it "
			     "back failed (%s): the hand-edited version is %s", ed->path,
			     strerror(errno), tmp);
			xfree(&tmp);	/* kept: the only copy of the edit */
		} else {
			fail(err, errlen, "%s changed while this command ran (edited by hand?); "
			     "nothing written, run it again", ed->path);
		}
		goto out;
	}
	unlink(tmp);	/* the old file */
renamed:
	dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		fail(err, errlen, "fsync of the directory of %s: %s", ed->path, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		close(fd);
		fd = -1;
		goto out_notmp;
	}
	close(dfd);
	ret = 0;
	close(fd);
	fd = -1;
	goto out_notmp;
out:
	if (tmp != NULL)
		unlink(tmp);
out_notmp:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(dircopy);
	passwd_edit_abort(edp);
	return ret == 0 ? 0 : invalid ? -1 : -2;
}

void passwd_edit_abort(struct passwd_edit **edp)
{
	struct passwd_edit *ed = *edp;

	if (ed == NULL)
		return;
	for (size_t i = 0; i < ed->count; i++)
		free_line(&ed->lines[i]);
	free(ed->lines);
	if (ed->lockfd >= 0)
		close(ed->lockfd);
	free(ed->path);
	free(ed);
	*edp = NULL;
}
