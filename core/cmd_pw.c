/* `duomail pw [-s SCHEME]`: hash a password read from stdin for a passwd-file. */
#include "core/auth.h"
#include "core/commands.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: duomail pw [-s SCHEME] < password\n"
		   "Reads a password on stdin and prints {SCHEME}hash for the passwd-file.\n"
		   "Schemes: SHA512-CRYPT (default), SHA256-CRYPT, BLF-CRYPT, MD5-CRYPT, CRYPT,\n"
		   "  ARGON2ID, ARGON2I (m=64 MiB, t=3, p=1), SSHA512, SHA512 (base64; .HEX for hex),\n"
		   "  SCRAM-SHA-256, SCRAM-SHA-1 (stored keys: SCRAM logins without a plaintext\n"
		   "  password; 4096 iterations; the password is SASLprep'd, RFC 4013),\n"
		   "  PLAIN, CLEAR (needed for APOP and CRAM-MD5).\n");
}

/* One line from stdin, without echo on a terminal.  NULL at EOF. */
static char *read_secret(const char *prompt)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	n = getline(&line, &cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

int cmd_pw(int argc, char **argv)
{
	const char *scheme = "SHA512-CRYPT";
	char err[256];
	char *pw, *again, *hash;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			scheme = argv[++i];
		} else {
			fprintf(stderr, "duomail pw: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return 64;
		}
	}
	pw = read_secret("Password: ");
	if (pw == NULL || pw[0] == '\0') {
		fprintf(stderr, "duomail pw: no password given on stdin\n");
		free(pw);
		return 64;
	}
	if (isatty(STDIN_FILENO)) {
		again = read_secret("Again: ");
		if (again == NULL || strcmp(pw, again) != 0) {
			fprintf(stderr, "duomail pw: the passwords differ\n");
			free(again);
			free(pw);
			return 64;
		}
		explicit_bzero(again, strlen(again));
		free(again);
	}
	hash = password_hash(scheme, pw, err, sizeof(err));
	explicit_bzero(pw, strlen(pw));
	free(pw);
	if (hash == NULL) {
		fprintf(stderr, "duomail pw: %s\n", err);
		return 64;
	}
	printf("%s\n", hash);
	free(hash);
	return 0;
}
