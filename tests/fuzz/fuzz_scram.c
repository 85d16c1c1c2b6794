/*
 * The challenge-response SASL mechanisms (core/sasl_scram.c,
 * core/sasl_cram.c) without a network.  The first input byte picks the
 * mechanism (SCRAM-SHA-1/-256, their -PLUS forms, CRAM-MD5) and the stored
 * secret the lookup returns (the RFC 5802/7677 example keys, a {PLAIN}
 * password, an unknown user, a crypt hash, a database failure); the rest,
 * split at LF, is the client's decoded responses, the secret handed over
 * synchronously where the server would use the thread pool.  The server
 * nonce is the RFC 7677 one, so the seeds replay the RFC exchanges to the
 * end.
 *
 * Checked: challenges hold no NUL; SASL_NEED_SECRET names a user of at
 * most 255 bytes without NUL; a failure has a reason; SASL_AUTHENTICATED
 * comes only with a secret that can verify (never for an unknown user, a
 * hash, or a failed lookup) and only after the server sent its verifier.
 */
#include "fuzz_common.h"
#include "core/sasl.h"
#include "core/sasl_private.h"

static int fake_binding(void *ctx, const char *type, unsigned char *buf, size_t size,
			size_t *len_r)
{
	(void)ctx;
	if (size < 32 || (strcmp(type, "tls-exporter") != 0 &&
			  strcmp(type, "tls-server-end-point") != 0))
		return -1;
	memset(buf, type[4], 32);
	*len_r = 32;
	return 0;
}

static const struct sasl_context ctx = {
	.plaintext_allowed = true, .cram_md5 = true, .scram_sha1 = true, .scram_sha256 = true,
	.hostname = "fuzz.example", .channel_binding = fake_binding,
};

static const char *const mechs[] = { "SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS",
				     "SCRAM-SHA-1-PLUS", "CRAM-MD5" };

static const struct { int found; const char *stored; bool can_verify; } secrets[] = {
	{ 1, "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
	     "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
	     "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=", true },
	{ 1, "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,"
	     "D+CSWLOshSulAsxiupA+qs2/fTE=", true },
	{ 1, "{PLAIN}pencil", true },
	{ 0, NULL, false },
	{ 1, "{SHA512-CRYPT}$6$0gxurAd2UhLDpSuZ$m/lHA4sYREKjYHbNpdgzU2dGIf/VI9cgvc1c38GkYpegnn"
	     "X.mwb5Q6ENvm82BcmF3H/GxX./hQOxb4O77.W5o1", false },
	{ -1, NULL, false },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *challenge;
	const char *err;
	size_t clen, pos = 1;
	struct sasl *s;
	enum sasl_status r;
	unsigned pick;
	bool sent_verifier = false;
	int secret = -1;

	if (size < 1)
		return 0;
	pick = data[0];
	sasl__test_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	sasl__test_cram_challenge = "<1896.697170952@postoffice.reston.mci.net>";
	s = sasl_begin(mechs[(pick & 7) % 5], &ctx);
	FUZZ_CHECK(s != NULL);
	r = sasl_step(s, false, NULL, 0, &challenge, &clen, &err);
	for (int round = 0; round < 8; round++) {
		if (r == SASL_NEED_SECRET) {
			FUZZ_CHECK(secret < 0);	/* asked once */
			FUZZ_CHECK(sasl_user(s) != NULL && strlen(sasl_user(s)) <= 255);
			secret = (int)((pick >> 3) % (sizeof(secrets) / sizeof(secrets[0])));
			sasl_set_secret(s, secrets[secret].found, secrets[secret].stored);
			r = sasl_resume(s, &challenge, &clen, &err);
			continue;
		}
		if (r == SASL_CONTINUE) {
			FUZZ_CHECK(memchr(challenge, '\0', clen) == NULL);
			sent_verifier = clen > 2 && memcmp(challenge, "v=", 2) == 0;
			if (pos > size)
				break;
			const uint8_t *nl = memchr(data + pos, '\n', size - pos);
			size_t n = nl ? (size_t)(nl - (data + pos)) : size - pos;
			unsigned char *piece = malloc(n + 1);

			memcpy(piece, data + pos, n);
			piece[n] = '\0';
			pos += n + 1;
			r = sasl_step(s, true, piece, n, &challenge, &clen, &err);
			free(piece);
			continue;
		}
		if (r == SASL_FAIL)
			FUZZ_CHECK(err != NULL && err[0] != '\0');
		if (r == SASL_AUTHENTICATED) {
			FUZZ_CHECK(secret >= 0 && secrets[secret].can_verify);
			FUZZ_CHECK(sent_verifier || (pick & 7) % 5 == 4);	/* CRAM has none */
		}
		if (r == SASL_TEMPFAIL)
			FUZZ_CHECK(secret >= 0 && secrets[secret].found < 0);
		break;
	}
	sasl_free(&s);
	return 0;
}
