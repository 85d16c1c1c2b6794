#ifndef DUOMAIL_PASSWD_EDIT_H
#define DUOMAIL_PASSWD_EDIT_H
/*
 * Editing a passwd-file as a file (`duomail user`): lock, read, change
 * lines, write whole.  The server never writes the file; it re-reads it
 * when it changes (core/auth_db.c).
 *
 * - Concurrent `duomail user` runs serialise on an OFD lock on a sidecar
 *   PATH.lock (never deleted), so no change is lost.
 * - A person editing the file by hand meanwhile takes no lock: the file is
 *   compared (inode, size, mtime) right before the rename with what was
 *   read, and a change means nothing is written (the edit wins; run the
 *   command again).
 * - The new file is a temp file in the same directory, given the old
 *   file's mode and owner, fsync'd, checked to be one the server accepts
 *   (auth_db_open), renamed over the old one, and the directory fsync'd.
 *   Every other line (comments, blank lines, unknown fields) is kept byte
 *   for byte.
 * Errors: -1 with one line in err.
 */
#include <stdbool.h>
#include <stddef.h>

struct passwd_edit;

/* Locks path (waiting up to 10 s for another `duomail user`) and reads it;
 * a missing file is an empty one, made at commit (mode 0600). */
int passwd_edit_begin(const char *path, struct passwd_edit **ed_r, char *err, size_t errlen);
size_t passwd_edit_count(const struct passwd_edit *ed);
/* Line i as in the file, without its line end. */
const char *passwd_edit_line(const struct passwd_edit *ed, size_t i);
/* The first line for user (the one that counts, as in Dovecot), or -1. */
long passwd_edit_find(const struct passwd_edit *ed, const char *user);
/* Replaces line i (taking a copy), appends, or removes. */
void passwd_edit_set(struct passwd_edit *ed, size_t i, const char *line);
void passwd_edit_append(struct passwd_edit *ed, const char *line);
void passwd_edit_remove(struct passwd_edit *ed, size_t i);
/* Writes the file (see above) and unlocks; *ed is freed either way.
 * 0; -1 the new file would not be one the server accepts (err names the
 * line); -2 anything else (changed meanwhile, I/O): nothing written. */
int passwd_edit_commit(struct passwd_edit **ed, char *err, size_t errlen);
void passwd_edit_abort(struct passwd_edit **ed);

/* A user name the passwd-file and the store can both hold: not empty, no
 * leading '.', no ':', '/', white space or control characters, at most
 * 255 bytes. */
bool passwd_user_name_ok(const char *name);
/* The user name of a line (up to ':'), or NULL for comments and blank
 * lines; new string. */
char *passwd_line_user(const char *line);

#endif
