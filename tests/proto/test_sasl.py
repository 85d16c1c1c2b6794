"""SASL over IMAP AUTHENTICATE (RFC 3501 §6.2.2, SASL-IR RFC 4959) and POP3
AUTH (RFC 5034) against the real server: SCRAM-SHA-1 and SCRAM-SHA-256
(RFC 5802, RFC 7677) for {PLAIN} users and for stored-key users, -PLUS with
tls-server-end-point (RFC 5929, from Python's ssl) and tls-exporter (RFC
9266, through tests/tools/tls_pipe.c on GnuTLS), CRAM-MD5 (RFC 2195), which
mechanisms are offered where, and the password schemes: every scheme logs
in over POP3 and IMAP.  The SCRAM client is tests/lib/duosasl.py (hashlib,
hmac, stringprep), independent of the server's GnuTLS and libidn code."""
import base64
import hashlib
import imaplib
import re
import socket
import ssl
import subprocess
import time
import unittest

import duotest
from duosasl import (LineConn, ScramClient, cram_md5, imap_authenticate, pop3_auth,
                     scram_responder, scram_stored_keys)

FAILED_IMAP = "a1 NO [AUTHENTICATIONFAILED] Authentication failed."
FAILED_POP3 = "-ERR [AUTH] Authentication failed."

# One user per stored-password scheme, made by `duomail pw -s SCHEME`.
PW_SCHEMES = ("SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "MD5-CRYPT", "CRYPT", "SHA512",
              "SHA512.HEX", "SSHA512", "SSHA512.HEX", "ARGON2I", "ARGON2ID", "SCRAM-SHA-1",
              "SCRAM-SHA-256", "PLAIN", "CLEAR")


def scheme_user(scheme):
    return "u-" + scheme.lower().replace(".", "-")


ALL_MECHANISMS = "cram-md5 scram-sha-1 scram-sha-256"


class SaslBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Many failed logins on purpose: no failure penalty from loopback
        # here (TestPenalty below has it).
        # The users store every kind of secret, so [auth] mechanisms = auto
        # would offer no challenge-response mechanism: name them all.
        cls.srv = duotest.Server(plain_users={"plain": "pencil", "prep": "I\u00adX"},
                                 users={"crypt": "cryptpw"},
                                 listen=("imap", "imaps", "pop3", "pop3s"),
                                 config={"auth": {"penalty_exempt_loopback": "yes",
                                                  "mechanisms": ALL_MECHANISMS}})
        lines = cls.srv._lines
        lines.append("keys256:" + scram_stored_keys("sha256", "k256-secret"))
        lines.append("keys1:" + scram_stored_keys("sha1", "k1-secret"))
        for scheme in PW_SCHEMES:
            lines.append("%s:%s" % (scheme_user(scheme),
                                    duotest.hash_password("pw " + scheme, scheme)))
        # Made by other tools than duomail: the argon2 CLI, Python's hashlib.
        argon = subprocess.run(["argon2", "saltsaltsalt", "-id", "-t", "2", "-m", "12", "-e"],
                               input=b"argon-cli-pw", capture_output=True, check=True,
                               timeout=60).stdout.decode().strip()
        lines.append("argoncli:{ARGON2ID}" + argon)
        salt = b"\x01\x02\x03\x04\x05\x06\x07\x08"
        ssha = base64.b64encode(hashlib.sha512(b"ssha-pw" + salt).digest() + salt).decode()
        lines.append("sshapy:{SSHA512}" + ssha)
        cls.srv._write_passwd()
        cls.srv.start()
        for user in ("plain", "keys256", "keys1", "prep"):
            cls.srv.deliver(user, b"Subject: hello\r\n\r\nbody\r\n")
        with open(cls.srv.cert) as f:
            cls.endpoint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).digest()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.conns = []

    def tearDown(self):
        for c in self.conns:
            c.close()

    # ---- connections ----

    def imap(self, tls=False):
        if tls:
            ctx = self.srv.client_tls_context()
            sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.srv.port("imaps")),
                                                            timeout=20),
                                   server_hostname="localhost")
            c = LineConn(sock)
        else:
            c = LineConn.tcp(self.srv.port("imap"))
        self.conns.append(c)
        self.assertTrue(c.readline().startswith("* OK"))
        return c

    def pop3(self, tls=False):
        if tls:
            ctx = self.srv.client_tls_context()
            sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.srv.port("pop3s")),
                                                            timeout=20),
                                   server_hostname="localhost")
            c = LineConn(sock)
        else:
            c = LineConn.tcp(self.srv.port("pop3"))
        self.conns.append(c)
        self.assertTrue(c.readline().startswith("+OK"))
        return c

    def pipe(self, kind, priority=None):
        c, exporter, info = LineConn.tls_pipe(self.srv.port(kind), self.srv.cert, priority)
        self.conns.append(c)
        greeting = c.readline()
        self.assertTrue(greeting.startswith("* OK" if kind == "imaps" else "+OK"), greeting)
        return c, exporter, info

    def imap_caps(self, c):
        c.send("c1 CAPABILITY")
        caps = c.readline()
        self.assertEqual(c.readline(), "c1 OK Capability completed.")
        return caps.split()[2:]

    def pop3_sasl(self, c):
        c.send("CAPA")
        self.assertTrue(c.readline().startswith("+OK"))
        lines = []
        while True:
            line = c.readline()
            if line == ".":
                break
            lines.append(line)
        sasl = [l for l in lines if l.startswith("SASL ")]
        return sasl[0].split()[1:] if sasl else []

    def imap_logged_in(self, c, user):
        """The session is authenticated as user: SELECT works and counts its mail."""
        c.send("s1 SELECT INBOX")
        lines = []
        while True:
            line = c.readline()
            lines.append(line)
            if line.startswith("s1 "):
                break
        self.assertTrue(lines[-1].startswith("s1 OK"), lines)
        self.assertIn("* 1 EXISTS" if user in ("plain", "keys256", "keys1", "prep")
                      else "* 0 EXISTS", lines)

    def pop3_logged_in(self, c, user):
        """STAT counts user's mail; then QUIT, which frees the maildrop lock
        for the next login of the same user."""
        c.send("STAT")
        self.assertEqual(c.readline().split()[:2],
                         ["+OK", "1" if user in ("plain", "keys256", "keys1", "prep") else "0"])
        c.send("QUIT")
        self.assertTrue(c.readline().startswith("+OK"))

    def assert_failed_at_proof(self, user, challenges, state, reason):
        """The server sent its server-first, then failed the client-final
        with the protocol's failure, logging the RFC 5802 §7 reason."""
        self.assertEqual(len(challenges), 1, user)
        self.assertNotIn("verified", state)
        self.assertNotIn("error", state)     # no e= challenge (see sasl_scram.c)
        for _ in range(50):
            if re.search(r"SASL SCRAM-SHA-[0-9-]+(PLUS)? failed user=%s: .*\(e=%s\)"
                         % (re.escape(user), reason), self.srv.log_text()):
                return
            time.sleep(0.1)
        self.fail("no log line for %s e=%s" % (user, reason))

    # ---- exchanges ----

    def scram_imap(self, c, mech, user, password, ir=True, **client_args):
        hash = "sha256" if "256" in mech else "sha1"
        client = ScramClient(hash, user, password, **client_args)
        responder = scram_responder(client)
        line, challenges = imap_authenticate(c, mech, responder,
                                             initial=client.first() if ir else None)
        return line, challenges, responder.state

    def scram_pop3(self, c, mech, user, password, ir=True, **client_args):
        hash = "sha256" if "256" in mech else "sha1"
        client = ScramClient(hash, user, password, **client_args)
        responder = scram_responder(client)
        line, challenges = pop3_auth(c, mech, responder, initial=client.first() if ir else None)
        return line, challenges, responder.state


class TestScram(SaslBase):
    def test_capabilities_plain_and_tls(self):
        # SCRAM and CRAM-MD5 do not reveal the password: offered without TLS.
        # -PLUS only where a channel binding exists (TLS).
        c = self.imap()
        caps = self.imap_caps(c)
        for m in ("SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"):
            self.assertIn("AUTH=" + m, caps)
        self.assertFalse([x for x in caps if x.endswith("-PLUS")], caps)
        caps = self.imap_caps(self.imap(tls=True))
        for m in ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "CRAM-MD5"):
            self.assertIn("AUTH=" + m, caps)
        self.assertEqual(self.pop3_sasl(self.pop3()),
                         ["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"])
        self.assertEqual(self.pop3_sasl(self.pop3(tls=True)),
                         ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
                          "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"])
        # AUTH without a mechanism lists them too (RFC 1734 style)
        c = self.pop3()
        c.send("AUTH")
        self.assertTrue(c.readline().startswith("+OK"))
        listed = []
        while (line := c.readline()) != ".":
            listed.append(line)
        self.assertIn("SCRAM-SHA-256", listed)

    def test_scram_plain_user_imap_and_pop3(self):
        # A {PLAIN} user: the server derives the keys itself (4096 rounds).
        for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
            c = self.imap()
            line, challenges, state = self.scram_imap(c, mech, "plain", "pencil")
            self.assertTrue(line.startswith("a1 OK [CAPABILITY "), line)
            self.assertTrue(state.get("verified"))    # the server proved it knows the key
            self.assertRegex(challenges[0].decode(), r"^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$")
            self.imap_logged_in(c, "plain")
            c = self.pop3()
            line, _, state = self.scram_pop3(c, mech, "plain", "pencil")
            self.assertTrue(line.startswith("+OK"), line)
            self.assertTrue(state.get("verified"))
            self.pop3_logged_in(c, "plain")

    def test_scram_stored_keys(self):
        # {SCRAM-SHA-*} stored keys: SCRAM without a plaintext password.  The
        # salt offered is the stored one.
        for mech, user, pw in (("SCRAM-SHA-256", "keys256", "k256-secret"),
                               ("SCRAM-SHA-1", "keys1", "k1-secret")):
            c = self.imap()
            line, challenges, state = self.scram_imap(c, mech, user, pw)
            self.assertTrue(line.startswith("a1 OK"), line)
            self.assertIn(",s=%s,i=4096" % base64.b64encode(b"duomail-test-slt").decode(),
                          challenges[0].decode())
            self.imap_logged_in(c, user)
            c = self.pop3()
            line, _, state = self.scram_pop3(c, mech, user, pw)
            self.assertTrue(line.startswith("+OK"), line)
            self.pop3_logged_in(c, user)
        # keys of one hash do not serve the other: fails as a wrong password
        c = self.imap()
        line, challenges, state = self.scram_imap(c, "SCRAM-SHA-1", "keys256", "k256-secret")
        self.assertEqual(line, FAILED_IMAP)
        self.assert_failed_at_proof("keys256", challenges, state, "invalid-proof")

    def test_python_imaplib_drives_scram(self):
        # Python's own IMAP client (RFC 3501 AUTHENTICATE, no SASL-IR) with
        # our SCRAM client as its authobject.
        client = ScramClient("sha256", "keys256", "k256-secret")
        responder = scram_responder(client)
        m = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=20)
        try:
            typ, _ = m.authenticate("SCRAM-SHA-256", responder)
            self.assertEqual(typ, "OK")
            self.assertTrue(responder.state.get("verified"))
            self.assertEqual(m.select("INBOX"), ("OK", [b"1"]))
        finally:
            m.logout()

    def test_scram_keys_made_by_duomail_pw(self):
        for mech, scheme in (("SCRAM-SHA-256", "SCRAM-SHA-256"), ("SCRAM-SHA-1", "SCRAM-SHA-1")):
            c = self.pop3()
            line, _, _ = self.scram_pop3(c, mech, scheme_user(scheme), "pw " + scheme)
            self.assertTrue(line.startswith("+OK"), line)
            self.pop3_logged_in(c, scheme_user(scheme))

    def test_scram_without_initial_response(self):
        # No SASL-IR: the server sends an empty challenge first (RFC 4422 §5).
        c = self.imap()
        line, challenges, state = self.scram_imap(c, "SCRAM-SHA-256", "plain", "pencil", ir=False)
        self.assertTrue(line.startswith("a1 OK"), line)
        self.assertEqual(challenges[0], b"")
        c = self.pop3()
        line, challenges, _ = self.scram_pop3(c, "SCRAM-SHA-1", "plain", "pencil", ir=False)
        self.assertTrue(line.startswith("+OK"), line)
        self.pop3_logged_in(c, "plain")

    def test_wrong_password_unknown_user_and_crypt_user_fail_alike(self):
        # The protocol's failure right after the proof; the same
        # for a wrong password, an unknown user and a user whose stored
        # password is a hash SCRAM cannot use.  Salts stay stable, so a
        # second try does not reveal who exists.
        for user, pw in (("plain", "wrong"), ("nosuchuser", "pencil"), ("crypt", "cryptpw")):
            salts = set()
            for _ in range(2):
                c = self.imap()
                line, challenges, state = self.scram_imap(c, "SCRAM-SHA-256", user, pw)
                self.assertEqual(line, FAILED_IMAP, user)
                self.assert_failed_at_proof(user, challenges, state, "invalid-proof")
                m = re.fullmatch(r"r=[^,]+,s=([^,]+),i=(\d+)", challenges[0].decode())
                self.assertIsNotNone(m, challenges)
                self.assertEqual(m.group(2), "4096")
                self.assertEqual(len(base64.b64decode(m.group(1))), 16)
                salts.add(m.group(1))
            self.assertEqual(len(salts), 1, user)
            c = self.pop3()
            line, challenges, state = self.scram_pop3(c, "SCRAM-SHA-1", user, pw)
            self.assertEqual(line, FAILED_POP3, user)
            self.assert_failed_at_proof(user, challenges, state, "invalid-proof")
        # The session goes on: a right login afterwards works.
        line, _, _ = self.scram_imap(c := self.imap(), "SCRAM-SHA-1", "plain", "pencil")
        self.assertTrue(line.startswith("a1 OK"), line)

    def test_cancel(self):
        # "*" cancels (RFC 3501 §6.2.2: tagged BAD; RFC 5034 §4: -ERR).
        c = self.imap()
        client = ScramClient("sha256", "plain", "pencil")
        line, _ = imap_authenticate(c, "SCRAM-SHA-256", lambda ch: None, initial=client.first())
        self.assertEqual(line, "a1 BAD Authentication cancelled.")
        c.send("a2 NOOP")
        self.assertTrue(c.readline().startswith("a2 OK"))
        c = self.pop3()
        line, _ = pop3_auth(c, "SCRAM-SHA-1", lambda ch: None, initial=client.first())
        self.assertEqual(line, "-ERR Authentication cancelled.")

    def test_saslprep(self):
        # The stored {PLAIN} password is "I<SOFT HYPHEN>X"; SASLprep maps it
        # to "IX" (RFC 4013 §3 example 1) on both sides.
        line, _, _ = self.scram_imap(self.imap(), "SCRAM-SHA-256", "prep", "IX")
        self.assertTrue(line.startswith("a1 OK"), line)
        line, _, _ = self.scram_pop3(c := self.pop3(), "SCRAM-SHA-1", "prep", "\u2168")   # ROMAN NINE
        self.assertTrue(line.startswith("+OK"), line)
        self.pop3_logged_in(c, "prep")

    def test_authzid(self):
        line, _, _ = self.scram_imap(self.imap(), "SCRAM-SHA-256", "plain", "pencil",
                                     authzid="plain")
        self.assertTrue(line.startswith("a1 OK"), line)
        line, _, _ = self.scram_imap(self.imap(), "SCRAM-SHA-256", "plain", "pencil",
                                     authzid="keys1")
        self.assertEqual(line, FAILED_IMAP)

    def test_malformed_client_first(self):
        for bad in (b"x,,n=plain,r=abc", b"n,,r=abc", b"n,,n=plain", b"n,,m=x,n=plain,r=a"):
            c = self.imap()
            line, _ = imap_authenticate(c, "SCRAM-SHA-256", lambda ch: b"", initial=bad)
            self.assertEqual(line, FAILED_IMAP, bad)
            c = self.pop3()
            line, _ = pop3_auth(c, "SCRAM-SHA-256", lambda ch: b"", initial=bad)
            self.assertEqual(line, FAILED_POP3, bad)


class TestScramPlus(SaslBase):
    def plus_imap(self, c, mech, cb_type, cb_data, user="plain", pw="pencil", **kw):
        return self.scram_imap(c, mech, user, pw, cb_type=cb_type, cb_data=cb_data, **kw)

    def test_tls_server_end_point_imaps_pop3s_and_starttls(self):
        # RFC 5929 §4.1: the hash of the server certificate (ECDSA with
        # SHA-256, so SHA-256), which Python's ssl lets us compute.
        for mech in ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"):
            c = self.imap(tls=True)
            line, _, state = self.plus_imap(c, mech, "tls-server-end-point", self.endpoint)
            self.assertTrue(line.startswith("a1 OK"), line)
            self.assertTrue(state.get("verified"))
            self.imap_logged_in(c, "plain")
            c = self.pop3(tls=True)
            line, _, _ = self.scram_pop3(c, mech, "keys256" if "256" in mech else "keys1",
                                         "k256-secret" if "256" in mech else "k1-secret",
                                         cb_type="tls-server-end-point", cb_data=self.endpoint)
            self.assertTrue(line.startswith("+OK"), line)
            self.pop3_logged_in(c, "keys256" if "256" in mech else "keys1")
        # After STARTTLS the connection binds too.
        sock = socket.create_connection(("127.0.0.1", self.srv.port("imap")), timeout=20)
        plain = LineConn(sock)
        self.assertTrue(plain.readline().startswith("* OK"))
        plain.send("t1 STARTTLS")
        self.assertTrue(plain.readline().startswith("t1 OK"))
        tls = LineConn(self.srv.client_tls_context().wrap_socket(sock,
                                                                server_hostname="localhost"))
        self.conns.append(tls)
        self.assertIn("AUTH=SCRAM-SHA-256-PLUS", self.imap_caps(tls))
        line, _, _ = self.plus_imap(tls, "SCRAM-SHA-256-PLUS", "tls-server-end-point",
                                    self.endpoint)
        self.assertTrue(line.startswith("a1 OK"), line)

    def test_tls_exporter(self):
        # RFC 9266 through the GnuTLS tool: TLS 1.3, and TLS 1.2 with the
        # extended master secret (RFC 7627), which tls-exporter requires.
        # (EMS is a TLS 1.2 extension; TLS 1.3 reports none and needs none.)
        for priority, want in ((None, "version TLS1.3 ems 0"),
                               ("NORMAL:-VERS-TLS1.3", "version TLS1.2 ems 1")):
            c, exporter, info = self.pipe("imaps", priority)
            self.assertEqual(info, want)
            line, _, state = self.plus_imap(c, "SCRAM-SHA-256-PLUS", "tls-exporter", exporter)
            self.assertTrue(line.startswith("a1 OK"), (priority, line))
            self.assertTrue(state.get("verified"))
            self.imap_logged_in(c, "plain")
            c, exporter, info = self.pipe("pop3s", priority)
            line, _, _ = self.scram_pop3(c, "SCRAM-SHA-1-PLUS", "keys1", "k1-secret",
                                         cb_type="tls-exporter", cb_data=exporter)
            self.assertTrue(line.startswith("+OK"), (priority, line))
            self.pop3_logged_in(c, "keys1")

    def test_tls12_without_ems_has_no_exporter(self):
        # Without EMS the exporter is not unique to the connection (RFC 9266
        # §3): p=tls-exporter is refused, tls-server-end-point still works.
        c, exporter, info = self.pipe("imaps", "NORMAL:-VERS-TLS1.3:%NO_SESSION_HASH")
        self.assertEqual(info, "version TLS1.2 ems 0")
        line, _, _ = self.plus_imap(c, "SCRAM-SHA-256-PLUS", "tls-exporter", exporter)
        self.assertEqual(line, FAILED_IMAP)
        line, _, _ = self.plus_imap(c, "SCRAM-SHA-256-PLUS", "tls-server-end-point",
                                    self.endpoint)
        self.assertTrue(line.startswith("a1 OK"), line)

    def test_wrong_binding(self):
        # Another connection's exporter, or a wrong certificate hash: the
        # protocol's failure (logged as e=channel-bindings-dont-match).
        other, other_exporter, _ = self.pipe("imaps")
        c, exporter, _ = self.pipe("imaps")
        self.assertNotEqual(exporter, other_exporter)
        line, challenges, state = self.plus_imap(c, "SCRAM-SHA-256-PLUS", "tls-exporter",
                                                 other_exporter, user="keys1", pw="k1-secret")
        self.assertEqual(line, FAILED_IMAP)
        self.assert_failed_at_proof("keys1", challenges, state, "channel-bindings-dont-match")
        c = self.pop3(tls=True)
        line, challenges, state = self.scram_pop3(c, "SCRAM-SHA-256-PLUS", "plain", "pencil",
                                                  cb_type="tls-server-end-point",
                                                  cb_data=hashlib.sha256(b"not cert").digest())
        self.assertEqual(line, FAILED_POP3)
        self.assert_failed_at_proof("plain", challenges, state, "channel-bindings-dont-match")

    def test_plus_only_over_tls_and_y_flag(self):
        # No TLS, no -PLUS.
        c = self.imap()
        client = ScramClient("sha256", "plain", "pencil", cb_type="tls-exporter", cb_data=b"x")
        c.send("a1 AUTHENTICATE SCRAM-SHA-256-PLUS " + base64.b64encode(client.first()).decode())
        self.assertEqual(c.readline(), "a1 NO Unsupported authentication mechanism.")
        c = self.pop3()
        c.send("AUTH SCRAM-SHA-1-PLUS")
        self.assertTrue(c.readline().startswith("-ERR"))
        # RFC 5802 §6: "y" (client binds, thinks the server cannot) over TLS,
        # where -PLUS was offered, is a downgrade and fails ...
        line, _, _ = self.scram_imap(self.imap(tls=True), "SCRAM-SHA-256", "plain", "pencil",
                                     flag="y")
        self.assertEqual(line, FAILED_IMAP)
        # ... and is fine where no -PLUS was offered.
        line, _, _ = self.scram_imap(self.imap(), "SCRAM-SHA-256", "plain", "pencil", flag="y")
        self.assertTrue(line.startswith("a1 OK"), line)
        # "n" over TLS with the non-PLUS mechanism: the client chose not to bind.
        line, _, _ = self.scram_imap(self.imap(tls=True), "SCRAM-SHA-1", "plain", "pencil")
        self.assertTrue(line.startswith("a1 OK"), line)


class TestCramMd5(SaslBase):
    def test_cram_md5(self):
        def responder(user, pw):
            return lambda challenge: cram_md5(user, pw, challenge)

        c = self.imap()
        line, challenges = imap_authenticate(c, "CRAM-MD5", responder("plain", "pencil"))
        self.assertTrue(line.startswith("a1 OK"), line)
        self.assertRegex(challenges[0].decode(), r"^<\d+\.\d+@test\.example>$")
        self.imap_logged_in(c, "plain")
        c = self.pop3()
        line, _ = pop3_auth(c, "CRAM-MD5", responder("plain", "pencil"))
        self.assertTrue(line.startswith("+OK"), line)
        self.pop3_logged_in(c, "plain")
        # wrong password, unknown user, a hashed password: one failure
        for user, pw in (("plain", "wrong"), ("nosuch", "pencil"), ("crypt", "cryptpw"),
                         ("keys256", "k256-secret")):
            line, _ = imap_authenticate(self.imap(), "CRAM-MD5", responder(user, pw))
            self.assertEqual(line, FAILED_IMAP, user)
            line, _ = pop3_auth(self.pop3(), "CRAM-MD5", responder(user, pw))
            self.assertEqual(line, FAILED_POP3, user)
        # the server speaks first: an initial response is an error
        line, _ = imap_authenticate(self.imap(), "CRAM-MD5", lambda ch: b"", initial=b"plain x")
        self.assertEqual(line, FAILED_IMAP)


class TestSchemes(SaslBase):
    def test_every_scheme_logs_in_over_pop3_and_imap(self):
        users = [(scheme_user(s), "pw " + s) for s in PW_SCHEMES]
        users += [("argoncli", "argon-cli-pw"), ("sshapy", "ssha-pw"),
                  ("keys256", "k256-secret"), ("keys1", "k1-secret")]
        for user, pw in users:
            c = self.pop3()
            c.send("USER " + user)
            self.assertTrue(c.readline().startswith("+OK"))
            c.send("PASS " + pw)
            self.assertTrue(c.readline().startswith("+OK"), user)
            c.send("QUIT")
            self.assertTrue(c.readline().startswith("+OK"))
            c = self.imap()
            c.send('l1 LOGIN %s "%s"' % (user, pw))
            self.assertTrue(c.readline().startswith("l1 OK"), user)
            # AUTHENTICATE PLAIN takes the same path
            c = self.imap()
            line, _ = imap_authenticate(c, "PLAIN", lambda ch: b"",
                                        initial=b"\0" + user.encode() + b"\0" + pw.encode())
            self.assertTrue(line.startswith("a1 OK"), user)
            c = self.pop3()
            c.send("USER " + user)
            c.readline()
            c.send("PASS " + pw + "x")
            self.assertEqual(c.readline(), FAILED_POP3, user)


class TestPwCommand(unittest.TestCase):
    def test_help_lists_every_scheme(self):
        r = duotest.run_duomail(["pw", "--help"])
        self.assertEqual(r.returncode, 0)
        for scheme in PW_SCHEMES:
            self.assertIn(scheme.split(".")[0], r.stdout)
        r = duotest.run_duomail(["pw", "-s", "SHA1"], input="x\n")
        self.assertEqual(r.returncode, 64)
        self.assertIn("unknown scheme", r.stderr)
        self.assertIn("ARGON2ID", r.stderr)
        # stored SCRAM keys take a SASLprep'able password only (RFC 4013 §2.3)
        r = duotest.run_duomail(["pw", "-s", "SCRAM-SHA-256"], input="bell\x07\n")
        self.assertEqual(r.returncode, 64)
        self.assertIn("SASLprep", r.stderr)


class TestAutoOffersOnlyWhatEveryUserCanUse(unittest.TestCase):
    """[auth] mechanisms = auto: a file with one crypt-hash user offers no
    CRAM-MD5 or SCRAM, even though its {PLAIN} user could use them.  curl,
    mbsync and mpop take the strongest mechanism offered and do not fall back
    to PLAIN when it fails, so offering it would lock the crypt user out."""

    @classmethod
    def setUpClass(cls):
        cls.srv = duotest.Server(plain_users={"plain": "pencil"}, users={"crypt": "cryptpw"},
                                 listen=("imap", "pop3"))
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_mixed_file_offers_plain_and_login_only(self):
        c = LineConn.tcp(self.srv.port("imap"))
        greeting = c.readline()
        self.assertIn("AUTH=PLAIN AUTH=LOGIN", greeting)
        for m in ("SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5"):
            self.assertNotIn("AUTH=" + m, greeting)
        c.close()
        p = LineConn.tcp(self.srv.port("pop3"))
        p.readline()
        p.send("CAPA")
        capa = []
        while (line := p.readline()) != ".":
            capa.append(line)
        self.assertIn("SASL PLAIN LOGIN", capa)
        p.close()

    def test_curl_logs_in_as_the_crypt_user(self):
        # What went wrong when CRAM-MD5 was offered here: curl chose it.
        for url in ("pop3://127.0.0.1:%d/" % self.srv.port("pop3"),
                    "imap://127.0.0.1:%d/INBOX" % self.srv.port("imap")):
            r = subprocess.run(["curl", "-sS", "--max-time", "20", "-u", "crypt:cryptpw", url],
                               capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, (url, r.stderr))


class TestOffers(unittest.TestCase):
    """What is offered follows what the user database can serve, and the
    plaintext policy: without plaintext logins SCRAM still works."""

    @classmethod
    def setUpClass(cls):
        # Only SCRAM-SHA-256 keys: auto offers SCRAM-SHA-256 and nothing else.
        cls.srv = duotest.Server(users={}, listen=("imap", "pop3"),
                                 config={"auth": {"plaintext_on_loopback": "no",
                                                  "penalty_exempt_loopback": "yes"}})
        cls.srv._lines.append("keys256:" + scram_stored_keys("sha256", "k256-secret"))
        cls.srv._lines.append("broken:{SCRAM-SHA-256}4096,c2FsdA==,short,short")
        cls.srv._write_passwd()
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_malformed_value_is_logged_with_its_line(self):
        # The others still log in (the file is not refused for one typo).
        self.assertRegex(self.srv.log_text(),
                         r"users:3: user broken: the \{SCRAM-SHA-256\} value is malformed")

    def test_offers_follow_stored_secrets_and_policy(self):
        c = LineConn.tcp(self.srv.port("imap"))
        greeting = c.readline()
        # SCRAM-SHA-256 keys only: no CRAM-MD5, no SCRAM-SHA-1; PLAIN/LOGIN refused.
        self.assertIn("LOGINDISABLED", greeting)
        self.assertIn("AUTH=SCRAM-SHA-256", greeting)
        self.assertNotIn("AUTH=SCRAM-SHA-1", greeting)
        self.assertNotIn("AUTH=CRAM-MD5", greeting)
        self.assertNotIn("AUTH=PLAIN", greeting)
        c.send("a0 AUTHENTICATE CRAM-MD5")
        self.assertEqual(c.readline(), "a0 NO Unsupported authentication mechanism.")
        c.send("a0 AUTHENTICATE PLAIN")
        self.assertTrue(c.readline().startswith("a0 NO [PRIVACYREQUIRED]"))
        client = ScramClient("sha256", "keys256", "k256-secret")
        line, _ = imap_authenticate(c, "SCRAM-SHA-256", scram_responder(client),
                                    initial=client.first())
        self.assertTrue(line.startswith("a1 OK"), line)
        c.close()
        p = LineConn.tcp(self.srv.port("pop3"))
        p.readline()
        p.send("CAPA")
        capa = []
        while (line := p.readline()) != ".":
            capa.append(line)
        self.assertIn("SASL SCRAM-SHA-256", capa)
        client = ScramClient("sha256", "keys256", "k256-secret")
        line, _ = pop3_auth(p, "SCRAM-SHA-256", scram_responder(client), initial=client.first())
        self.assertTrue(line.startswith("+OK"), line)
        p.close()


class TestPenalty(unittest.TestCase):
    """The per-address failure penalty (core/login_guard.h) covers SCRAM and
    CRAM-MD5 like every other login: a wrong proof or digest counts as a
    failed login, and the next exchange from that address waits before the
    secret lookup (so before server-first), right password or not."""

    @classmethod
    def setUpClass(cls):
        cls.srv = duotest.Server(plain_users={"plain": "pencil"}, listen=("imap", "pop3"),
                                 workers=1,
                                 config={"auth": {"penalty_initial": "400ms",
                                                  "penalty_max": "1600ms"}})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def scram(self, kind, password, src="127.0.0.5"):
        """Returns (seconds from client-first to server-first, final line)."""
        c = LineConn.tcp(self.srv.port(kind), source=src)
        try:
            c.readline()
            client = ScramClient("sha256", "plain", password)
            inner = scram_responder(client)
            times = []

            def respond(challenge):
                times.append(time.monotonic())
                return inner(challenge)
            t0 = time.monotonic()
            drive = imap_authenticate if kind == "imap" else pop3_auth
            line, _ = drive(c, "SCRAM-SHA-256", respond, initial=client.first())
            return times[0] - t0, line
        finally:
            c.close()

    def test_scram_and_cram_count_and_wait(self):
        took, line = self.scram("imap", "wrong")
        self.assertEqual(line, FAILED_IMAP)
        self.assertLess(took, 0.4)
        took, line = self.scram("pop3", "wrong")     # 1 failure on record
        self.assertEqual(line, FAILED_POP3)
        self.assertGreaterEqual(took, 0.4)
        c = LineConn.tcp(self.srv.port("imap"), source="127.0.0.5")
        c.readline()
        t0 = time.monotonic()
        line, _ = imap_authenticate(c, "CRAM-MD5", lambda ch: cram_md5("plain", "no", ch))
        c.close()
        self.assertEqual(line, FAILED_IMAP)
        self.assertGreaterEqual(time.monotonic() - t0, 0.8)    # 2 failures on record
        # The right password waits as long (3 failures: 1.6 s), then the
        # record is forgotten.
        took, line = self.scram("imap", "pencil")
        self.assertTrue(line.startswith("a1 OK"), line)
        self.assertGreaterEqual(took, 1.6)
        took, line = self.scram("imap", "wrong")
        self.assertLess(took, 1.2)
        # Another address was never slowed.
        took, line = self.scram("imap", "pencil", src="127.0.0.6")
        self.assertLess(took, 1.2)
        self.assertIn("failed logins from 127.0.0.5", self.srv.log_text())

    def test_client_leaves_during_the_wait(self):
        # Sessions that hang up while their secret is looked up or waited
        # for are freed cleanly (the server's stop checks ASan's report).
        for kind in ("imap", "pop3", "imap", "pop3"):
            self.scram(kind, "wrong", src="127.0.0.7")
        for kind in ("imap", "pop3"):
            c = LineConn.tcp(self.srv.port(kind), source="127.0.0.7")
            c.readline()
            first = base64.b64encode(ScramClient("sha256", "plain", "pencil").first()).decode()
            c.send(("a1 AUTHENTICATE SCRAM-SHA-256 " if kind == "imap" else
                    "AUTH SCRAM-SHA-256 ") + first)
            c.close()
        time.sleep(2)
        took, line = self.scram("imap", "pencil", src="127.0.0.8")
        self.assertTrue(line.startswith("a1 OK"), line)


if __name__ == "__main__":
    unittest.main()
