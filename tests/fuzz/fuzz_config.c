/*
 * The configuration reader (core/config.c on inih).  The input is the
 * file: it is put in a memory file and read by path, as duomail serve
 * reads it.  Checked: a refused file gets a one-line message naming the
 * file; an accepted one has a listener, ports in range, and the keys
 * config_check() requires (an LMTP unix socket instead of host:port).
 */
#include "fuzz_common.h"
#include "core/config.h"

#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-config", 0);
	struct config *cfg = NULL;
	char path[64], err[512];
	bool any = false;

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	memset(err, 'x', sizeof(err));
	if (config_load(path, &cfg, err, sizeof(err)) < 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
		FUZZ_CHECK(strchr(err, '\n') == NULL);
		close(fd);
		return 0;
	}
	for (int k = 0; k < LISTEN_COUNT; k++) {
		const struct listen_addr *a = &cfg->listen[k];

		if (!a->enabled)
			continue;
		any = true;
		FUZZ_CHECK(memchr(a->unix_path, '\0', sizeof(a->unix_path)) != NULL);
		if (a->unix_path[0] != '\0') {
			/* LMTP on a unix socket: an absolute path, no port */
			FUZZ_CHECK(k == LISTEN_LMTP && a->unix_path[0] == '/');
			continue;
		}
		FUZZ_CHECK(a->port >= 1 && a->port <= 65535);
		FUZZ_CHECK(a->host[0] != '\0' && memchr(a->host, '\0', sizeof(a->host)) != NULL);
	}
	FUZZ_CHECK(any);
	FUZZ_CHECK(cfg->store_root != NULL);
	/* each user database has what it needs */
	FUZZ_CHECK(cfg->userdb == USERDB_PGSQL ? cfg->pgsql_connect != NULL &&
		   cfg->pgsql_password_query != NULL && strstr(cfg->pgsql_password_query, "$1") :
		   cfg->passwd_file != NULL);
	FUZZ_CHECK((cfg->tls_cert == NULL) == (cfg->tls_key == NULL));
	FUZZ_CHECK(cfg->hostname != NULL && cfg->hostname[0] != '\0');
	FUZZ_CHECK(cfg->pop3_idle_timeout >= 600 && cfg->pop3_max_bad_commands >= 1);
	FUZZ_CHECK(cfg->imap_max_bad_commands >= 1 && cfg->lmtp_max_bad_commands >= 1);
	FUZZ_CHECK(cfg->penalty_max_ms <= 60000 && cfg->penalty_initial_ms >= 1);
	FUZZ_CHECK(cfg->workers >= 0 && cfg->workers <= 256);
	config_free(&cfg);
	FUZZ_CHECK(cfg == NULL);
	close(fd);
	return 0;
}
