/*
 * `duomail serve`: the master process.  It validates the configuration, binds
 * every listener (so a port problem is reported once, at start-up, with the
 * config key), forks the worker processes and then only supervises: it
 * reloads on SIGHUP, restarts a worker that dies, and on SIGTERM/SIGINT waits
 * for the workers to finish their sessions and exits 0.
 *
 * Privileges (core/privilege.h): started as root, the master stays root and
 * never touches a client or a mail file; it reads the passwd-file and the
 * TLS keys (which may be root-only) and hands them to the workers as open
 * files (core/worker_ctl.h).  Each worker drops to [server] user/group
 * before it accepts anything, for its whole life.
 */
#include "core/abuse_table.h"
#include "core/auth.h"
#include "core/admin.h"
#include "core/userdb.h"
#include "core/commands.h"
#include "core/config.h"
#include "core/listen_unix.h"
#include "core/live.h"
#include "core/log.h"
#include "core/sasl.h"
#include "core/server.h"
#include "core/privilege.h"
#include "core/tls.h"
#include "core/worker_ctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 256

struct worker_slot {
	pid_t pid;
	time_t started;
	int ctl;		/* our end of its worker_ctl socketpair, -1 = none */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: duomail serve --config FILE\n"
		   "Runs the server in the foreground, logging to stderr.\n"
		   "SIGTERM/SIGINT: stop accepting, finish sessions, exit 0.  SIGHUP: reload users and certificates.\n");
}

static int bind_listener(const struct listen_addr *a, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (strchr(a->host, ':') != NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		inet_pton(AF_INET6, a->host, &sin6->sin6_addr);
		sslen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		inet_pton(AF_INET, a->host, &sin->sin_addr);
		sslen = sizeof(*sin);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, 511) < 0) {
		snprintf(err, errlen, "cannot listen on %s port %d: %s", a->host, a->port,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The store root and the LMTP spool, checked as the user who will use them. */
static int check_dirs(const struct config *cfg)
{
	struct stat st;
	const char *as = cfg->user ? " for user " : "", *who = cfg->user ? cfg->user : "";

	if (stat(cfg->store_root, &st) < 0) {
		fprintf(stderr, "duomail: %s: [store] root: %s: %s%s%s\n", cfg->path,
			cfg->store_root, strerror(errno), as, who);
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || access(cfg->store_root, R_OK | W_OK | X_OK) < 0) {
		fprintf(stderr, "duomail: %s: [store] root: %s is not a writable directory%s%s\n",
			cfg->path, cfg->store_root, as, who);
		return -1;
	}
	if (cfg->listen[LISTEN_LMTP].enabled &&
	    (stat(cfg->lmtp_spool_dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	     access(cfg->lmtp_spool_dir, W_OK | X_OK) < 0)) {
		fprintf(stderr, "duomail: %s: [lmtp] spool_dir: %s is not a writable directory%s%s\n",
			cfg->path, cfg->lmtp_spool_dir, as, who);
		return -1;
	}
	return 0;
}

/* check_dirs() in a child that has dropped to the mail user, so that the
 * answer is the workers' own (root may write anywhere). */
static int check_dirs_as_user(const struct config *cfg)
{
	char err[512];
	pid_t pid;
	int status = 0;

	if (!privilege_will_drop(cfg))
		return check_dirs(cfg);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "duomail: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (privilege_drop(cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "duomail: %s: [server] user: %s\n", cfg->path, err);
			_exit(1);
		}
		_exit(check_dirs(cfg) < 0 ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int tls_create(const struct config *cfg, struct tls_ctx **tls_r, char *err,
		      size_t errlen)
{
	const char *certs[CONFIG_TLS_MAX_PAIRS], *keys[CONFIG_TLS_MAX_PAIRS];

	_Static_assert(CONFIG_TLS_MAX_PAIRS == TLS_MAX_PAIRS, "one limit");
	_Static_assert(2 * TLS_MAX_PAIRS <= WORKER_CTL_MAX_FDS, "a reload fits one message");
	certs[0] = cfg->tls_cert;
	keys[0] = cfg->tls_key;
	for (unsigned i = 1; i < cfg->tls_ncerts; i++) {
		certs[i] = cfg->tls_more_certs[i - 1];
		keys[i] = cfg->tls_more_keys[i - 1];
	}
	return tls_ctx_create(certs, keys, cfg->tls_ncerts, cfg->tls_priority, tls_r, err, errlen);
}

/* A private key anyone on the machine may read is worth a word: started as
 * root, the master reads it as root, so it can be 0600 root. */
static void warn_readable_keys(const struct config *cfg)
{
	struct stat st;

	for (unsigned i = 0; i < cfg->tls_nkeys; i++) {
		const char *key = i == 0 ? cfg->tls_key : cfg->tls_more_keys[i - 1];

		if (stat(key, &st) == 0 && (st.st_mode & S_IROTH))
			log_warn("[tls] key %s is readable by every user: chmod 600 it", key);
	}
}

/* Loads the user list and the TLS credentials as the master (root may read
 * root-only files); the workers inherit them.  Reports problems once. */
static int preflight(const struct config *cfg, struct userdb **db_r, struct tls_ctx **tls_r)
{
	char err[512];

	*db_r = NULL;
	*tls_r = NULL;
	if (privilege_check(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail: %s\n", err);
		return -1;
	}
	sasl_init();	/* before the fork: every worker makes the same fake SCRAM salts */
	if (userdb_open(cfg, db_r, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail: %s: [auth] %s: %s\n", cfg->path,
			cfg->userdb == USERDB_PGSQL ? "userdb" : "passwd_file", err);
		return -1;
	}
	if (check_dirs_as_user(cfg) < 0)
		return -1;
	if (cfg->tls_cert != NULL && tls_create(cfg, tls_r, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail: %s: %s\n", cfg->path, err);
		return -1;
	}
	warn_readable_keys(cfg);
	return 0;
}

struct shared {
	struct userdb *auth;
	struct tls_ctx *tls;
	struct stat passwd_st;	/* the passwd-file as last loaded */
	struct abuse_table *abuse;	/* shared memory: the workers' common counts */
	/* the admin process's sockets (core/admin.h), -1 = off */
	int admin_fd, http_fd;
};

/* The admin process: the last slot of supervise().  It answers the admin
 * socket and HTTP, so it runs as [server] user like the workers. */
static pid_t spawn_admin(struct config *cfg, const int fds[LISTEN_COUNT], struct shared *sh,
			 struct worker_slot *slots, int nslots)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char err[512];
		sigset_t chld;
		int ret;

		for (int i = 0; i < nslots; i++)
			if (slots[i].ctl >= 0)
				close(slots[i].ctl);
		if (privilege_drop(cfg, err, sizeof(err)) < 0) {
			log_error("admin process: %s", err);
			_exit(EXIT_CONFIG);
		}
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
		for (int k = 0; k < LISTEN_COUNT; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		userdb_close(&sh->auth);	/* never asked here */
		tls_ctx_free(&sh->tls);
		ret = admin_server_run(cfg, sh->admin_fd, sh->http_fd, sh->abuse);
		abuse_table_destroy(&sh->abuse);
		config_free(&cfg);
		_exit(ret);
	}
	return pid;
}

static pid_t spawn_worker(struct config *cfg, const int fds[LISTEN_COUNT], int index,
			  struct shared *sh, struct worker_slot *slots, int nslots)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		char err[512];
		int ret;

		sigset_t chld;

		/* The other workers' channels are the master's business. */
		for (int i = 0; i < nslots; i++)
			if (slots[i].ctl >= 0)
				close(slots[i].ctl);
		close(sv[0]);
		/* Before anything that a client can reach: for good. */
		if (privilege_drop(cfg, err, sizeof(err)) < 0) {
			log_error("worker %d: %s", index, err);
			_exit(EXIT_CONFIG);
		}
		/* SIGTERM/SIGINT/SIGHUP stay blocked until the worker has its
		 * handlers (server_worker_run unblocks them): one that comes
		 * before then waits, instead of killing the new worker. */
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
		/* The admin process's sockets are none of the worker's. */
		if (sh->admin_fd >= 0)
			close(sh->admin_fd);
		if (sh->http_fd >= 0)
			close(sh->http_fd);
		live_worker_begin((unsigned)index);
		/* The worker's copies are its own (fork) and it frees them. */
		ret = server_worker_run(cfg, fds, index, sv[1], sh->auth, sh->tls, sh->abuse);
		config_free(&cfg);
		_exit(ret);
	}
	close(sv[1]);
	slots[index].ctl = sv[0];
	return pid;
}

/* Opens path for one worker: each gets its own open file, so that their
 * reads do not move each other's offsets. */
static int open_for_worker(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		log_error("reload: %s: %s", path, strerror(errno));
	return fd;
}

/* The passwd-file, open; or, for a database that is no file, the word to
 * reload (the SQL pool drops its idle connections). */
static void send_users(struct config *cfg, struct shared *sh, struct worker_slot *slots,
		       int nworkers, bool force)
{
	struct worker_ctl_msg msg = { .kind = WORKER_CTL_USERS, .force = force };

	for (int i = 0; i < nworkers; i++) {
		int fd;

		if (slots[i].pid <= 0 || slots[i].ctl < 0)
			continue;
		if (userdb_passwd(sh->auth) == NULL) {
			msg.kind = WORKER_CTL_USERDB;
			if (worker_ctl_send(slots[i].ctl, &msg, NULL, 0) < 0)
				log_error("reload: worker %d: %s", i, strerror(errno));
			continue;
		}
		fd = open_for_worker(cfg->passwd_file);
		if (fd < 0)
			return;
		if (worker_ctl_send(slots[i].ctl, &msg, &fd, 1) < 0)
			log_error("reload: worker %d: %s", i, strerror(errno));
		close(fd);
	}
}

static void send_tls(struct tls_ctx *tls, struct worker_slot *slots, int nworkers)
{
	struct worker_ctl_msg msg = { .kind = WORKER_CTL_TLS };
	unsigned n = tls_ctx_pairs(tls);

	for (int i = 0; i < nworkers; i++) {
		int fds[2 * TLS_MAX_PAIRS];
		unsigned k;

		if (slots[i].pid <= 0 || slots[i].ctl < 0)
			continue;
		for (k = 0; k < 2 * n; k++) {
			fds[k] = open_for_worker(k % 2 == 0 ? tls_ctx_cert_path(tls, k / 2)
							    : tls_ctx_key_path(tls, k / 2));
			if (fds[k] < 0)
				break;
		}
		if (k == 2 * n && worker_ctl_send(slots[i].ctl, &msg, fds, k) < 0)
			log_error("reload: worker %d: %s", i, strerror(errno));
		while (k > 0)
			close(fds[--k]);
	}
}

/* SIGHUP: re-read users and certificates here first (as root, once, so a
 * broken file is reported once), and hand the workers only what loaded.
 * A worker started later inherits what the master has. */
static void reload_all(struct config *cfg, struct shared *sh, struct worker_slot *slots,
		       int nworkers)
{
	char err[512];

	if (userdb_reload(sh->auth, err, sizeof(err)) < 0) {
		log_error("reload: %s (keeping the old user list)", err);
	} else {
		if (userdb_passwd(sh->auth) != NULL)
			stat(cfg->passwd_file, &sh->passwd_st);
		send_users(cfg, sh, slots, nworkers, true);
	}
	if (sh->tls == NULL)
		return;
	if (tls_ctx_reload(sh->tls, err, sizeof(err)) < 0) {
		log_error("reload: %s (keeping the old certificate)", err);
		return;
	}
	log_info("reload: certificates loaded, handing them to the workers");
	send_tls(sh->tls, slots, nworkers);
}

/* The passwd-file changed (looked at once a second): the workers re-read it
 * themselves when they may; this covers a file only root may read. */
static void watch_users(struct config *cfg, struct shared *sh, struct worker_slot *slots,
			int nworkers)
{
	struct stat st;
	char err[512];

	if (userdb_passwd(sh->auth) == NULL || stat(cfg->passwd_file, &st) < 0 ||
	    (st.st_ino == sh->passwd_st.st_ino && st.st_size == sh->passwd_st.st_size &&
	     st.st_mtim.tv_sec == sh->passwd_st.st_mtim.tv_sec &&
	     st.st_mtim.tv_nsec == sh->passwd_st.st_mtim.tv_nsec))
		return;
	sh->passwd_st = st;
	if (auth_db_reload(userdb_passwd(sh->auth), err, sizeof(err)) < 0) {
		log_error("%s (keeping the previous user list)", err);
		return;
	}
	send_users(cfg, sh, slots, nworkers, false);
}

static int supervise(struct config *cfg, const int fds[LISTEN_COUNT], int nworkers,
		     struct shared *sh)
{
	struct worker_slot slots[MAX_WORKERS + 1];
	bool admin = sh->admin_fd >= 0 || sh->http_fd >= 0;	/* slots[nworkers] */
	const struct timespec tick = { .tv_sec = 1 };
	sigset_t set;
	bool stopping = false;
	int running = 0, status_bad = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);

	for (int i = 0; i < MAX_WORKERS + 1; i++)
		slots[i] = (struct worker_slot){ .pid = 0, .started = 0, .ctl = -1 };
	if (userdb_passwd(sh->auth) != NULL)
		stat(cfg->passwd_file, &sh->passwd_st);
	for (int i = 0; i < nworkers; i++) {
		slots[i].pid = spawn_worker(cfg, fds, i, sh, slots, nworkers);
		if (slots[i].pid < 0) {
			status_bad = 1;
			goto stop_all;
		}
		slots[i].started = time(NULL);
		running++;
	}
	if (admin) {
		slots[nworkers].pid = spawn_admin(cfg, fds, sh, slots, nworkers);
		slots[nworkers].started = time(NULL);
		if (slots[nworkers].pid > 0)
			running++;
	}
	/* The master needs no listening sockets itself from here on. */
	while (running > 0) {
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &tick);

		if (sig < 0) {
			if (errno == EAGAIN && !stopping)
				watch_users(cfg, sh, slots, nworkers);
			continue;
		}
		if (sig == SIGHUP) {
			log_info("SIGHUP: reloading users and certificates");
			reload_all(cfg, sh, slots, nworkers);
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			for (int i = 0; i < nworkers + (admin ? 1 : 0); i++)
				if (slots[i].pid > 0)
					kill(slots[i].pid, stopping ? SIGKILL : SIGTERM);
			stopping = true;
		} else if (sig == SIGCHLD) {
			pid_t pid;
			int status;

			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				int i;

				for (i = 0; i < nworkers + (admin ? 1 : 0) && slots[i].pid != pid; i++)
					;
				if (i == nworkers + (admin ? 1 : 0))
					continue;
				running--;
				slots[i].pid = 0;
				if (slots[i].ctl >= 0)
					close(slots[i].ctl);
				slots[i].ctl = -1;
				/* Its connections stop counting against their
				 * addresses and users when the worker started in its
				 * place clears its slot (server_worker_run): the root
				 * master never reads or locks the table the workers
				 * write. */
				if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
					const char *what = i == nworkers ? "admin process" : "worker";

					/* During the stop this is a failed shutdown; before
					 * it, a crash we recover from below. */
					if (stopping)
						status_bad = 1;
					if (WIFSIGNALED(status))
						log_error("%s %d (pid %d) killed by signal %d", what,
							  i, (int)pid, WTERMSIG(status));
					else
						log_error("%s %d (pid %d) exited with %d", what, i,
							  (int)pid, WEXITSTATUS(status));
				}
				if (stopping)
					continue;
				if (i == nworkers && WIFEXITED(status) &&
				    WEXITSTATUS(status) == EXIT_CONFIG) {
					/* The admin process could not start: the
					 * mail service goes on without it. */
					log_error("admin process failed; admin socket and http off");
					continue;
				}
				if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_CONFIG) {
					/* A setup error would only repeat. */
					status_bad = EXIT_CONFIG;
					goto stop_all;
				}
				/* A crash loses that worker's sessions, not the
				 * service: start a new one, at most once a second. */
				if (time(NULL) - slots[i].started < 1)
					sleep(1);
				slots[i].pid = i == nworkers ? spawn_admin(cfg, fds, sh, slots, nworkers)
							     : spawn_worker(cfg, fds, i, sh, slots, nworkers);
				slots[i].started = time(NULL);
				if (slots[i].pid > 0)
					running++;
			}
		}
	}
	log_info("stopped");
	return status_bad;
stop_all:
	/* The processes already running are stopped, not left behind. */
	for (int i = 0; i < nworkers + (admin ? 1 : 0); i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, SIGTERM);
	for (int i = 0; i < nworkers + (admin ? 1 : 0); i++) {
		if (slots[i].pid > 0)
			waitpid(slots[i].pid, NULL, 0);
		if (slots[i].ctl >= 0)
			close(slots[i].ctl);
	}
	return status_bad;
}

int cmd_serve(int argc, char **argv)
{
	const char *config_path = NULL;
	struct config *cfg;
	int fds[LISTEN_COUNT];
	struct unix_listener unix_socks[LISTEN_COUNT] = { 0 };
	struct unix_listener admin_sock = { 0 };
	char err[512];
	struct shared sh = { .admin_fd = -1, .http_fd = -1 };
	int nworkers, ret;

	for (int i = 1; i < argc; i++) {
		enum cmd_arg arg = cmd_common_arg(argc, argv, &i, &config_path);

		if (arg == CMD_ARG_HELP) {
			usage(stdout);
			return 0;
		} else if (arg == CMD_ARG_OTHER) {
			fprintf(stderr, "duomail serve: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return 64;
		}
	}
	if (config_path == NULL) {
		usage(stderr);
		return 64;
	}
	if (config_load(config_path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "duomail: %s\n", err);
		return EXIT_CONFIG;
	}
	log_set_level(cfg->log_debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (preflight(cfg, &sh.auth, &sh.tls) < 0) {
		userdb_close(&sh.auth);
		tls_ctx_free(&sh.tls);
		config_free(&cfg);
		return EXIT_CONFIG;
	}
	for (int k = 0; k < LISTEN_COUNT; k++)
		fds[k] = -1;
	for (int k = 0; k < LISTEN_COUNT; k++) {
		if (!cfg->listen[k].enabled)
			continue;
		if (!server_kind_supported(k)) {
			log_warn("[listen] %s: this build has no %s front end yet; not listening",
				 listen_kind_name(k), listen_kind_name(k));
			continue;
		}
		if (cfg->listen[k].unix_path[0] != '\0')
			fds[k] = unix_listener_bind(&unix_socks[k], cfg->listen[k].unix_path,
						    cfg->lmtp_socket_mode, cfg->lmtp_socket_gid,
						    err, sizeof(err));
		else
			fds[k] = bind_listener(&cfg->listen[k], err, sizeof(err));
		if (fds[k] < 0) {
			fprintf(stderr, "duomail: %s: [listen] %s: %s\n", cfg->path,
				listen_kind_name(k), err);
			ret = EXIT_CONFIG;
			goto out;
		}
		if (cfg->listen[k].unix_path[0] != '\0') {
			log_info("listening: %s on unix:%s", listen_kind_name(k),
				 cfg->listen[k].unix_path);
			continue;
		}
		log_info("listening: %s on %s%s%s:%d", listen_kind_name(k),
			 strchr(cfg->listen[k].host, ':') ? "[" : "", cfg->listen[k].host,
			 strchr(cfg->listen[k].host, ':') ? "]" : "", cfg->listen[k].port);
	}
	if (cfg->http.enabled) {
		sh.http_fd = bind_listener(&cfg->http, err, sizeof(err));
		if (sh.http_fd < 0) {
			fprintf(stderr, "duomail: %s: [listen] http: %s\n", cfg->path, err);
			ret = EXIT_CONFIG;
			goto out;
		}
		log_info("listening: http on %s%s%s:%d", strchr(cfg->http.host, ':') ? "[" : "",
			 cfg->http.host, strchr(cfg->http.host, ':') ? "]" : "", cfg->http.port);
	}
	if (cfg->admin_socket[0] != '\0') {
		sh.admin_fd = admin_socket_bind(cfg, &admin_sock, err, sizeof(err));
		if (sh.admin_fd < 0 && !cfg->admin_socket_default) {
			fprintf(stderr, "duomail: %s: [server] admin_socket: %s\n", cfg->path, err);
			ret = EXIT_CONFIG;
			goto out;
		}
		if (sh.admin_fd < 0)
			log_warn("[server] admin_socket (default %s): %s; admin socket off",
				 cfg->admin_socket, err);
		else
			log_info("admin socket: %s", cfg->admin_socket);
	}
	if (cfg->user != NULL && !privilege_will_drop(cfg) && (long)geteuid() != cfg->user_uid)
		log_warn("[server] user %s: not started as root, so running as uid %ld instead",
			 cfg->user, (long)geteuid());
	nworkers = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nworkers < 1)
		nworkers = 1;
	if (nworkers > MAX_WORKERS)
		nworkers = MAX_WORKERS;
	log_info("duomail %s serving with %d worker%s", DUOMAIL_VERSION, nworkers,
		 nworkers == 1 ? "" : "s");
	{
		struct abuse_penalty_policy penalty = {
			.initial_ms = cfg->penalty_initial_ms,
			.max_ms = cfg->penalty_max_ms,
			.reset_ms = cfg->penalty_reset_ms,
		};

		if (abuse_table_create((unsigned)nworkers,
				       abuse_table_size_for((unsigned)nworkers, cfg->max_connections),
				       &penalty, &sh.abuse, err, sizeof(err)) < 0) {
			log_error("%s", err);
			ret = 1;
			goto out;
		}
	}
	/* Before the first fork: every process shares it (core/live.h). */
	if (live_create((unsigned)nworkers, cfg->max_connections) < 0) {
		log_error("cannot map the live state: %s; admin socket and http off",
			  strerror(errno));
		if (sh.admin_fd >= 0)
			close(sh.admin_fd);
		if (sh.http_fd >= 0)
			close(sh.http_fd);
		sh.admin_fd = sh.http_fd = -1;
	}
	ret = supervise(cfg, fds, nworkers, &sh);
out:
	for (int k = 0; k < LISTEN_COUNT; k++) {
		if (fds[k] >= 0)
			close(fds[k]);
		unix_listener_remove(&unix_socks[k]);
	}
	if (sh.admin_fd >= 0)
		close(sh.admin_fd);
	if (sh.http_fd >= 0)
		close(sh.http_fd);
	unix_listener_remove(&admin_sock);
	userdb_close(&sh.auth);
	tls_ctx_free(&sh.tls);
	/* Not abuse_table_destroy(): its size is in the shared table, which a
	 * worker may have changed; the mapping goes with the process. */
	config_free(&cfg);
	return ret;
}
