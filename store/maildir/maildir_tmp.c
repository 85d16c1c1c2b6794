/*
 * Leftovers in tmp/.  A writer killed before its rename (a `duomail deliver`
 * killed by its MTA, a server killed during APPEND or COPY, a foreign
 * delivery agent that crashed) leaves its file in tmp/, where no client ever
 * sees it, but where it takes disk space for good.  The Maildir convention
 * (cr.yp.to/proto/maildir.html) is to delete files in tmp/ that nobody has
 * touched for 36 hours: nobody writes one message that long.
 */
#include "store/maildir/maildir.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void maildir_tmp_clean(const char *folder, time_t older_than)
{
	char *dir = xasprintf("%s/tmp", folder);
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned removed = 0;

	if (d == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat sb;

		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		/* Untouched in every way: not read (atime), not written
		 * (mtime), not renamed or chmod'ed (ctime) since then. */
		if (sb.st_atime >= older_than || sb.st_mtime >= older_than ||
		    sb.st_ctime >= older_than)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
		else if (errno != ENOENT)
			log_warn("maildir %s: cannot remove stale %s: %s", dir, de->d_name,
				 strerror(errno));
	}
	closedir(d);
	if (removed > 0)
		log_info("maildir %s: removed %u stale files (left by interrupted writers)", dir,
			 removed);
	free(dir);
}
