/* Dropping root for good.  See privilege.h. */
#include "core/privilege.h"
#include "core/config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int privilege_check(const struct config *cfg, char *err, size_t errlen)
{
	if (geteuid() != 0 || cfg->allow_root)
		return 0;
	if (cfg->user == NULL) {
		snprintf(err, errlen,
			 "%s: [server] user: missing: started as root, duomail reads and writes "
			 "mail only as an unprivileged user (set user = NAME, or allow_root = yes)",
			 cfg->path);
		return -1;
	}
	if (cfg->user_uid == 0) {
		snprintf(err, errlen,
			 "%s: [server] user: '%s' is root: mail is read and written only as an "
			 "unprivileged user (or set allow_root = yes)", cfg->path, cfg->user);
		return -1;
	}
	return 0;
}

int privilege_will_drop(const struct config *cfg)
{
	return geteuid() == 0 && cfg->user != NULL;
}

int privilege_drop(const struct config *cfg, char *err, size_t errlen)
{
	uid_t uid, ruid, euid, suid;
	gid_t gid, rgid, egid, sgid;

	if (!privilege_will_drop(cfg))
		return 0;
	uid = (uid_t)cfg->user_uid;
	gid = (gid_t)(cfg->group_gid >= 0 ? cfg->group_gid : cfg->user_gid);
	/* Groups first: once we are not root we may no longer change them. */
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		snprintf(err, errlen, "cannot become user %s (uid %ld, gid %ld): %s", cfg->user,
			 (long)uid, (long)gid, strerror(errno));
		return -1;
	}
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0 ||
	    ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid ||
	    sgid != gid || (uid != 0 && setuid(0) == 0)) {
		snprintf(err, errlen, "privileges of user %s not dropped for good", cfg->user);
		return -1;
	}
	/* Nothing this process might run can gain privileges again (a
	 * set-uid program, file capabilities). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -1;
	}
	return 0;
}
