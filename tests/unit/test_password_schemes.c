/*
 * The password schemes added beside crypt(3): {SHA512}, {SSHA512} (and
 * Dovecot's .HEX/.B64 forms), {ARGON2I}, {ARGON2ID}, {SCRAM-SHA-1} and
 * {SCRAM-SHA-256}.  Known answers were made by independent tools: Python's
 * hashlib/hmac (digests, SCRAM keys) and the argon2 CLI of Debian's argon2
 * package (`echo -n 'p@ss w0rd' | argon2 somesaltsalt -id -t 2 -m 12 -p 1 -e`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/auth.h"
#include "core/scram.h"

#define PW "p@ss w0rd"

static const char *const known[] = {
	"{SHA512}JAOTenvtyj7RPTbTrd2LZnX+VNDRGmxyTwYva/GqZ07mjpbu9zXSRPFIEV5x8d8wQfEWHfbxjtN5SRFDRtbNfQ==",
	"{SHA512.B64}JAOTenvtyj7RPTbTrd2LZnX+VNDRGmxyTwYva/GqZ07mjpbu9zXSRPFIEV5x8d8wQfEWHfbxjtN5SRFDRtbNfQ==",
	"{SHA512.HEX}2403937a7bedca3ed13d36d3addd8b6675fe54d0d11a6c724f062f6bf1aa674ee68e96eef735d244f1"
	"48115e71f1df3041f1161df6f18ed37949114346d6cd7d",
	"{SSHA512}VvL9McRW85IMuZAHlkIlhXIf7zFgoATthv/UJS3qBkfHrS+D1Z78wePzTNDR5zr/imx7MilEf2sOz8LGw9UsegARIjNEVWZ3",
	"{SSHA512.HEX}56f2fd31c456f3920cb9900796422585721fef3160a004ed86ffd4252dea0647c7ad2f83d59efcc1e3"
	"f34cd0d1e73aff8a6c7b3229447f6b0ecfc2c6c3d52c7a0011223344556677",
	"{ARGON2ID}$argon2id$v=19$m=4096,t=2,p=1$c29tZXNhbHRzYWx0$WxUccUMt6Exn3nbnyQZG5LPHUGgpy2jn1AJBeLlgzIE",
	"{ARGON2I}$argon2i$v=19$m=4096,t=2,p=1$c29tZXNhbHRzYWx0$gitQEmzJTA9QeDoEtgH+vTWZovins8yDY8MmJADKiPU",
	"{SCRAM-SHA-256}4096,c2FsdHNhbHRzYWx0c2FsdA==,z8IbyigUgD+23Vi1YaZBsDOhoS8cgrUrxVmfEp5TZX4=,"
	"f1Qm5KNnpneefgOx5lIr4a5q4HdAeseuJm13+yHkQ1I=",
	"{SCRAM-SHA-1}4096,c2FsdHNhbHRzYWx0c2FsdA==,X7a4FP/yom9tZgxcxzXZUAG7X+s=,mQKdFYlyRhZByl6L7fHGa6G6s+4=",
};

static void test_known_answers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		assert_true(password_scheme_known(known[i]));
		assert_true(password_verify(known[i], PW));
		assert_false(password_verify(known[i], "p@ss w0rD"));
		assert_false(password_verify(known[i], ""));
	}
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"{SHA512}JAOTenvtyj7RPTbTrd2LZnX+VNDRGmxyTwYva/GqZ07mjpbu9zXSRPFIEV5x8d8wQfEWHfbxjtN5SRFDRtbNfQ",
		"{SHA512}JAOT",			/* too short */
		"{SSHA512}JAOTenvtyj7RPTbTrd2LZnX+VNDRGmxyTwYva/GqZ07mjpbu9zXSRPFIEV5x8d8wQfEWHfbxjtN5SRFDRtbNfQ==",
						/* a digest without salt */
		"{SHA512.HEX}2403937g",
		/* an $argon2i$ string under {ARGON2ID} */
		"{ARGON2ID}$argon2i$v=19$m=4096,t=2,p=1$c29tZXNhbHRzYWx0$gitQEmzJTA9QeDoEtgH+vTWZovins8yDY8MmJADKiPU",
		"{ARGON2ID}$argon2id$v=19$m=4096,t=2,p=1$c29tZXNhbHRzYWx0$",
		"{SCRAM-SHA-256}4096,c2FsdHNhbHRzYWx0c2FsdA==,X7a4FP/yom9tZgxcxzXZUAG7X+s=,mQKdFYlyRhZByl6L7fHGa6G6s+4=",
						/* SHA-1 sized keys */
		"{SCRAM-SHA-1}0,c2FsdA==,X7a4FP/yom9tZgxcxzXZUAG7X+s=,mQKdFYlyRhZByl6L7fHGa6G6s+4=",
		"{SCRAM-SHA-1}4096,c2FsdA==,X7a4FP/yom9tZgxcxzXZUAG7X+s=",
		"{SCRAM-SHA-1}4096,c2FsdA==,X7a4FP/yom9tZgxcxzXZUAG7X+s=,mQKdFYlyRhZByl6L7fHGa6G6s+4=,x",
		"{SCRAM-SHA-1}99999999999,c2FsdA==,X7a4FP/yom9tZgxcxzXZUAG7X+s=,mQKdFYlyRhZByl6L7fHGa6G6s+4=",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(password_verify(bad[i], PW));
		/* all but the truncated Argon2 hash are caught at load time */
		if (i != 5)
			assert_false(password_stored_valid(bad[i]));
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		assert_true(password_stored_valid(known[i]));
	assert_true(password_stored_valid("{PLAIN}x"));
	assert_true(password_stored_valid("$6$whatever"));
	assert_false(password_scheme_known("{SHA512.BASE32}x"));
	assert_false(password_scheme_known("{SHA1}x"));
}

static void test_make_and_verify(void **state)
{
	static const char *const schemes[] = { "SHA512", "SHA512.HEX", "SSHA512", "ssha512.hex",
					       "ARGON2ID", "ARGON2I", "SCRAM-SHA-256", "SCRAM-SHA-1" };
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		char *h = password_hash(schemes[i], PW, err, sizeof(err)), *again;

		assert_non_null(h);
		assert_true(strncasecmp(h + 1, schemes[i], strlen(schemes[i])) == 0);
		assert_true(password_verify(h, PW));
		assert_false(password_verify(h, "p@ss w0rD"));
		/* salted schemes make a new hash each time; SHA512 is deterministic */
		again = password_hash(schemes[i], PW, err, sizeof(err));
		if (strncmp(schemes[i], "SHA512", 6) == 0)
			assert_string_equal(h, again);
		else
			assert_string_not_equal(h, again);
		free(again);
		free(h);
	}
	/* what duomail pw makes for Argon2: the PHC string with our costs */
	{
		char *h = password_hash("ARGON2ID", PW, err, sizeof(err));

		assert_true(strncmp(h, "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$", 41) == 0);
		free(h);
	}
	/* SCRAM keys: Dovecot's layout, 4096 iterations, 16-byte salt */
	{
		char *h = password_hash("SCRAM-SHA-256", PW, err, sizeof(err));
		struct scram_keys k;

		assert_true(strncmp(h, "{SCRAM-SHA-256}4096,", 20) == 0);
		assert_int_equal(scram_keys_parse(SCRAM_SHA256, h + 15, &k), 0);
		assert_int_equal(k.salt_len, 16);
		free(h);
	}
	/* SCRAM stores the SASLprep'd password (RFC 5802 §2.2): soft hyphens
	 * vanish, so both spellings verify; a control character is refused. */
	{
		char *h = password_hash("SCRAM-SHA-1", "I\xc2\xad" "X", err, sizeof(err));

		assert_true(password_verify(h, "IX"));
		assert_true(password_verify(h, "I\xc2\xad" "X"));
		free(h);
		assert_null(password_hash("SCRAM-SHA-1", "bell\x07", err, sizeof(err)));
		assert_non_null(strstr(err, "SASLprep"));
	}
}

/* Which kinds of secrets a stored password gives the mechanisms. */
static void test_secret_kinds(void **state)
{
	(void)state;
	assert_int_equal(password_secret_kind("{PLAIN}x"), AUTH_SECRET_PLAINTEXT);
	assert_int_equal(password_secret_kind("{CLEAR}x"), AUTH_SECRET_PLAINTEXT);
	assert_int_equal(password_secret_kind(known[7]), AUTH_SECRET_SCRAM_SHA256);
	assert_int_equal(password_secret_kind(known[8]), AUTH_SECRET_SCRAM_SHA1);
	assert_int_equal(password_secret_kind(known[0]), 0);
	assert_int_equal(password_secret_kind("$6$abc$def"), 0);
	assert_int_equal(password_secret_kind("{PLAIN}"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_make_and_verify),
		cmocka_unit_test(test_secret_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
