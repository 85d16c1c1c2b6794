/*
 * The readers of `duomail import` (store/import_*.c): the first input byte
 * picks what the rest is (an mbox file; a Dovecot dovecot-uidlist or
 * dovecot-keywords; Courier's courierimapuiddb, courierpop3dsizelist or
 * courierimapkeywords/:list), written into a small fixed Maildir whose
 * files the metadata may or may not name, then imported with dry_run, so
 * the whole account is built in its staging directory and thrown away.
 * Checked: the result is 0 or -1, an error is one NUL-terminated line,
 * and nothing is left in the store root either way.
 */
#include "fuzz_common.h"
#include "store/import.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char src[64], root[64], account[96], mbox[96];

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void cleanup(void)
{
	nftw(src, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	static const char *const dirs[] = { "cur", "new", "tmp", ".Sub", ".Sub/cur", ".Sub/new",
					    ".Sub/tmp", "courierimapkeywords" };
	char p[160];

	strcpy(src, "/tmp/duomail-fuzz-import-XXXXXX");
	FUZZ_CHECK(mkdtemp(src) != NULL);
	strcpy(root, "/tmp/duomail-fuzz-root-XXXXXX");
	FUZZ_CHECK(mkdtemp(root) != NULL);
	atexit(cleanup);
	snprintf(account, sizeof(account), "%s/user", root);
	snprintf(mbox, sizeof(mbox), "%s/mbox", src);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", src, dirs[i]);
		FUZZ_CHECK(mkdir(p, 0700) == 0);
	}
	snprintf(p, sizeof(p), "%s/cur/1700000000.M1P1.host,S=20:2,Sa", src);
	write_file(p, "Subject: a\n\nbody\n", 17);
	snprintf(p, sizeof(p), "%s/cur/1700000001.M2P1.host:2,", src);
	write_file(p, "Subject: b\r\n\r\nbody\r\n", 20);
	snprintf(p, sizeof(p), "%s/new/1700000002.M3P1.host", src);
	write_file(p, "Subject: c\n\n", 12);
	snprintf(p, sizeof(p), "%s/.Sub/cur/1700000003.M4P1.host:2,F", src);
	write_file(p, "Subject: d\n\nd\n", 14);
}

/* The store root holds nothing but what was there: no account (a dry run
 * writes none), no staging directory. */
static bool root_empty(void)
{
	DIR *d = opendir(root);
	struct dirent *de;
	bool empty = true;

	FUZZ_CHECK(d != NULL);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const files[] = { "dovecot-uidlist", "dovecot-keywords",
					     "courierimapuiddb", "courierpop3dsizelist",
					     "courierimapkeywords/:list", ".Sub/dovecot-uidlist" };
	struct import_target to = { .account = account, .dry_run = true };
	struct import_stats stats;
	char err[512], p[160];
	unsigned kind;
	int ret;

	if (src[0] == '\0')
		setup();
	if (size == 0)
		return 0;
	kind = data[0] % 8;
	data++;
	size--;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", src, files[i]);
		unlink(p);
	}
	memset(err, 'x', sizeof(err));
	if (kind == 0 || kind == 7) {
		write_file(mbox, data, size);
		ret = import_mbox(mbox, kind == 0 ? "INBOX" : "Archive/Old", &to, &stats, err,
				  sizeof(err));
	} else {
		snprintf(p, sizeof(p), "%s/%s", src, files[kind - 1]);
		write_file(p, data, size);
		ret = kind <= 2 || kind == 6 ?
			import_dovecot(src, &to, NULL, &stats, err, sizeof(err)) :
			import_courier(src, &to, &stats, err, sizeof(err));
	}
	FUZZ_CHECK(ret == 0 || ret == -1);
	if (ret < 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(strchr(err, '\n') == NULL);
	} else {
		FUZZ_CHECK(stats.kept == NULL);
	}
	FUZZ_CHECK(root_empty());
	return 0;
}
