/*
 * A whole account directory at once (store/store_import.h's helpers and
 * maildir_import.c's): its folders, whether they hold mail, removing and
 * chowning the tree.
 */
#include "store/maildir/maildir.h"
#include "store/store_import.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int maildir_rm_tree(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT ? -1 : 0;
}

/* Does the Maildir folder at dir hold a message (any file in cur/ or new/
 * that is not a dot file)?  1, 0, or -1 with errno. */
static int folder_has_mail(const char *dir)
{
	static const char *const subs[] = { "cur", "new" };

	for (size_t i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s", dir, subs[i]);
		DIR *d = opendir(p);
		struct dirent *de;
		int found = 0;

		free(p);
		if (d == NULL) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.') {
				found = 1;
				break;
			}
		closedir(d);
		if (found)
			return 1;
	}
	return 0;
}

/* The account dir and each of its ".folder" dirs: fn(dir, ctx) until one
 * returns non-zero. */
int maildir_each_folder(const char *account, int (*fn)(const char *dir, void *ctx), void *ctx)
{
	DIR *d = opendir(account);
	struct dirent *de;
	int ret;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	ret = fn(account, ctx);
	while (ret == 0 && (de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", account, de->d_name);
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
			struct stat sb;

			if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
				ret = fn(p, ctx);
		}
		free(p);
	}
	closedir(d);
	return ret;
}

static int has_mail_cb(const char *dir, void *ctx)
{
	return folder_has_mail(dir);
}

int store_account_has_mail(const char *account, char *err, size_t errlen)
{
	int ret = maildir_each_folder(account, has_mail_cb, NULL);

	if (ret < 0)
		snprintf(err, errlen, "%s: %s", account, strerror(errno));
	return ret;
}

static int has_index_cb(const char *dir, void *ctx)
{
	char *p = xasprintf("%s/%s", dir, MAILDIR_INDEX);
	int ret = access(p, F_OK) == 0;

	free(p);
	return ret;
}

int store_account_has_index(const char *account)
{
	return maildir_each_folder(account, has_index_cb, NULL) > 0;
}


int maildir_chown_tree(const char *path, uid_t uid, gid_t gid)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int ret = 0;

	if (lchown(path, uid, gid) < 0)
		return -1;
	if (lstat(path, &sb) < 0)
		return -1;
	if (!S_ISDIR(sb.st_mode))
		return 0;
	d = opendir(path);
	if (d == NULL)
		return -1;
	while (ret == 0 && (de = readdir(d)) != NULL) {
		char *p;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", path, de->d_name);
		ret = maildir_chown_tree(p, uid, gid);
		free(p);
	}
	closedir(d);
	return ret;
}
