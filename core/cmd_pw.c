/* `duomail pw [-s SCHEME]`: hash a password read from stdin for a passwd-file. */
#include "core/auth.h"
#include "core/cmd_admin.h"
#include "core/commands.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

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

int cmd_pw(int argc, char **argv)
{
	const char *scheme = "SHA512-CRYPT";
	char err[256];
	char *pw, *hash;

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
	pw = admin_read_password("pw");
	if (pw == NULL)
		return 64;
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
