#ifndef DUOMAIL_PRIVILEGE_H
#define DUOMAIL_PRIVILEGE_H
/*
 * Who touches mail.  Started as root, duomail binds its ports and reads its
 * root-only files in the master, and every process that reads or writes
 * mail (the workers, `duomail deliver`) runs as [server] user / group for
 * the rest of its life.  Root never serves mail unless [server] allow_root
 * says so.  See the README's "Security model".
 */
#include <stddef.h>

struct config;

/* May this process go on to mail access?  Not root: yes.  Root: only with
 * a [server] user that is not root (it will privilege_drop() to it), or
 * with allow_root = yes.  0, or -1 with a one-line reason naming the key. */
int privilege_check(const struct config *cfg, char *err, size_t errlen);

/* Does this process drop privileges (root with a [server] user)? */
int privilege_will_drop(const struct config *cfg);

/* Becomes [server] user and group for good when root with a user: the
 * group list is set to just that group (no root's supplementary groups),
 * then real, effective and saved gid and uid; then checks that root cannot
 * be got back, and sets no_new_privs.  Does nothing otherwise.  0, or -1
 * with the reason. */
int privilege_drop(const struct config *cfg, char *err, size_t errlen);

#endif
