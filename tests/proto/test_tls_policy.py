"""TLS policy (issue 5): the default priority string (TLS 1.2+, AEAD ciphers
with forward secrecy only, strong groups), a configurable [tls] priority
checked at start-up, several certificates chosen by the client's server
name (SNI, RFC 6066 section 3), and certificates reloaded on SIGHUP, also
when the workers run unprivileged and the key is root-only.

Clients: Python's ssl (OpenSSL), openssl s_client, gnutls-cli and curl, each
asked which certificate came back."""
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import duotest
from duoimap import RawImap
from test_pop3 import Pop3Client

AS_ROOT = os.geteuid() == 0


def peer(port, server_hostname=None, minimum=None, maximum=None, ciphers=None,
         starttls=False, timeout=10):
    """Handshakes with 127.0.0.1:port (after IMAP STARTTLS if asked) and
    returns (DER certificate, cipher name, TLS version)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    if ciphers:
        ctx.set_ciphers(ciphers)
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if starttls:
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"s STARTTLS\r\n")
            line = f.readline()
            assert line.startswith(b"s OK"), line
        t = ctx.wrap_socket(s, server_hostname=server_hostname)
        try:
            return t.getpeercert(binary_form=True), t.cipher()[0], t.version()
        finally:
            t.close()
    finally:
        s.close()


def imaps(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return RawImap(port, tls_context=ctx)


def der_of(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def handshake_fails(port, **kw):
    try:
        peer(port, **kw)
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    return False


class CertDir:
    """A directory for certificates: root-only (0700, keys 0600) when the
    tests run as root, so that only the master can read the keys."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="duomail-tlscerts-")
        os.chmod(self.path, 0o700)

    def make(self, name, names, key_type="ecdsa"):
        cert, key = duotest.make_certificate(self.path, name, names, key_type=key_type)
        os.chmod(key, 0o600)
        return cert, key

    def cleanup(self):
        shutil.rmtree(self.path, True)


def unprivileged_server(certs, **kw):
    """A server whose workers run as nobody when we are root (the store root
    is nobody's; the passwd-file and the keys stay root-only)."""
    config = kw.pop("config", {})
    srv = duotest.Server(config=config, **kw)
    with open(srv.config_path) as f:
        text = f.read()
    # [tls] of the harness gives way to ours: the Nth cert goes with the Nth key.
    text = re.sub(r"^(cert|key) = .*\n", "", text, flags=re.M)
    pairs = "".join("cert = %s\nkey = %s\n" % ck for ck in certs)
    text = text.replace("[tls]\n", "[tls]\n" + pairs)
    if AS_ROOT:
        text = text.replace("allow_root = yes\n", "user = nobody\n")
        nobody = pwd.getpwnam("nobody")
        os.chmod(srv.dir, 0o711)
        os.chown(srv.root, nobody.pw_uid, nobody.pw_gid)
        os.chmod(srv.passwd, 0o600)
    with open(srv.config_path, "w") as f:
        f.write(text)
    return srv


class TestDefaultPriority(unittest.TestCase):
    """The default [tls] priority (core/config.h CONFIG_TLS_PRIORITY_DEFAULT),
    with an RSA certificate so that static-RSA and DHE suites could be
    chosen if they were enabled."""

    @classmethod
    def setUpClass(cls):
        cls.certs = CertDir()
        cert, key = cls.certs.make("rsa", ["localhost"], key_type="rsa")
        cls.srv = duotest.Server(users={"alice": "pw"}, listen=("imaps", "pop3s", "imap"),
                                 config={"tls": {"cert": cert, "key": key}})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.certs.cleanup()

    def test_tls13_and_tls12_aead_ecdhe(self):
        for kind in ("imaps", "pop3s"):
            _, cipher, version = peer(self.srv.port(kind))
            self.assertEqual(version, "TLSv1.3")
            self.assertIn(cipher, ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                                   "TLS_AES_128_GCM_SHA256"))
            _, cipher, version = peer(self.srv.port(kind), maximum=ssl.TLSVersion.TLSv1_2)
            self.assertEqual(version, "TLSv1.2")
            # the server's order (%SERVER_PRECEDENCE): its first choice
            self.assertEqual(cipher, "ECDHE-RSA-AES256-GCM-SHA384")
        _, _, version = peer(self.srv.port("imap"), starttls=True)
        self.assertEqual(version, "TLSv1.3")

    def test_old_versions_refused(self):
        """RFC 8996: TLS 1.0 and 1.1 are not offered."""
        for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            self.assertTrue(handshake_fails(self.srv.port("imaps"), minimum=v, maximum=v,
                                            ciphers="ALL:@SECLEVEL=0"), v)

    def test_weak_tls12_suites_refused(self):
        """No CBC (Lucky13, RFC 7457 section 2.4), no static RSA and no
        finite-field DHE (no forward secrecy / weak groups), no 3DES, RC4,
        NULL or export suites: each offered alone, the handshake fails."""
        port = self.srv.port("imaps")
        for suite in ("ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384", "AES128-GCM-SHA256",
                      "AES256-SHA", "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-CHACHA20-POLY1305",
                      "DES-CBC3-SHA", "ECDHE-RSA-AES128-CCM", "NULL-SHA256"):
            self.assertTrue(handshake_fails(port, maximum=ssl.TLSVersion.TLSv1_2,
                                            ciphers=suite + ":@SECLEVEL=0"), suite)
        for suite in ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"):
            _, cipher, _ = peer(port, maximum=ssl.TLSVersion.TLSv1_2, ciphers=suite)
            self.assertEqual(cipher, suite)

    def test_tls13_suites_and_groups(self):
        """openssl s_client: TLS 1.3 AES-CCM is not offered, nor are the
        finite-field groups; X25519 and P-256 are."""
        port = self.srv.port("imaps")

        def s_client(*args):
            r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                                "-tls1_3"] + list(args), input=b"", capture_output=True,
                               timeout=30)
            return r.returncode == 0 and b"Cipher is" in r.stdout and b"(NONE)" not in r.stdout
        self.assertFalse(s_client("-ciphersuites", "TLS_AES_128_CCM_SHA256"))
        self.assertFalse(s_client("-groups", "ffdhe2048:ffdhe3072"))
        self.assertTrue(s_client("-groups", "X25519"))
        self.assertTrue(s_client("-groups", "P-256"))


class TestConfiguredPriority(unittest.TestCase):
    def test_priority_is_used(self):
        srv = duotest.Server(listen=("imaps",),
                             config={"tls": {"priority": "NORMAL:-VERS-ALL:+VERS-TLS1.2"}})
        srv.start()
        try:
            _, _, version = peer(srv.port("imaps"))
            self.assertEqual(version, "TLSv1.2")
            self.assertTrue(handshake_fails(srv.port("imaps"), minimum=ssl.TLSVersion.TLSv1_3))
        finally:
            srv.stop()

    def test_bad_priority_is_a_startup_error(self):
        srv = duotest.Server(listen=("imaps",),
                             config={"tls": {"priority": "SECURE128:+NO-SUCH-THING"}})
        r = duotest.run_duomail(["serve", "--config", srv.config_path])
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, re.escape(srv.config_path) +
                         r":\d+: \[tls\] priority: not a GnuTLS priority string: .*NO-SUCH-THING")
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_cert_and_key_must_belong_together(self):
        certs = CertDir()
        self.addCleanup(certs.cleanup)
        a_cert, _ = certs.make("a", ["localhost"])
        _, b_key = certs.make("b", ["localhost"])
        srv = unprivileged_server([(a_cert, b_key)], listen=("imaps",))
        r = duotest.run_duomail(["serve", "--config", srv.config_path], timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("[tls] cert/key %s, %s:" % (a_cert, b_key), r.stderr)
        srv.stop()

    def test_pairs_must_match(self):
        srv = duotest.Server(listen=("imaps",))
        with open(srv.config_path, "a") as f:
            f.write("[tls]\ncert = %s\n" % srv.cert)
        r = duotest.run_duomail(["serve", "--config", srv.config_path])
        self.assertEqual(r.returncode, 2)
        self.assertIn("[tls] key: missing", r.stderr)


class TestSni(unittest.TestCase):
    """Three pairs: the default (localhost), mail.a.example.test and
    *.b.example.test.  RFC 6066 section 3: the client's server name picks the
    certificate; no name, or a name no certificate has, gets the first."""

    @classmethod
    def setUpClass(cls):
        cls.certs = CertDir()
        cls.default = cls.certs.make("default", ["localhost"])
        cls.a = cls.certs.make("a", ["mail.a.example.test", "imap.a.example.test"], "rsa")
        cls.b = cls.certs.make("b", ["*.b.example.test"])
        cls.srv = unprivileged_server([cls.default, cls.a, cls.b], users={"alice": "pw"},
                                      listen=("imaps", "pop3s", "imap"))
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.certs.cleanup()

    def test_python_ssl(self):
        cases = [(None, self.default), ("localhost", self.default),
                 ("mail.a.example.test", self.a), ("IMAP.A.example.test", self.a),
                 ("pop.b.example.test", self.b), ("b.example.test", self.default),
                 ("x.pop.b.example.test", self.default), ("unknown.example.test", self.default)]
        for kind in ("imaps", "pop3s"):
            for name, (cert, _) in cases:
                for maximum in (None, ssl.TLSVersion.TLSv1_2):
                    der, _, _ = peer(self.srv.port(kind), server_hostname=name, maximum=maximum)
                    self.assertEqual(der, der_of(cert), (kind, name, maximum))
        # STARTTLS picks by name the same way
        der, _, _ = peer(self.srv.port("imap"), server_hostname="mail.a.example.test",
                         starttls=True)
        self.assertEqual(der, der_of(self.a[0]))

    def test_openssl_and_gnutls_cli(self):
        port = self.srv.port("imaps")
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                            "-servername", "mail.a.example.test"], input=b"",
                           capture_output=True, timeout=30)
        self.assertIn(b"CN = mail.a.example.test", r.stdout)
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                            "-noservername"], input=b"", capture_output=True, timeout=30)
        self.assertIn(b"CN = localhost", r.stdout)
        r = subprocess.run(["gnutls-cli", "--port", str(port), "--sni-hostname",
                            "imap.b.example.test", "--insecure", "127.0.0.1"],
                           input=b"", capture_output=True, timeout=30)
        self.assertIn(b"CN=*.b.example.test", r.stdout)

    def test_curl_verifies_the_chosen_certificate(self):
        """curl checks the certificate against the name it asked for: it
        succeeds only if the right one came back."""
        for name, (cert, _) in (("mail.a.example.test", self.a), ("x.b.example.test", self.b)):
            for kind in ("imaps", "pop3s"):
                port = self.srv.port(kind)
                r = subprocess.run(["curl", "-sS", "--max-time", "20",
                                    "--resolve", "%s:%d:127.0.0.1" % (name, port),
                                    "--cacert", cert, "-u", "alice:pw",
                                    "%s://%s:%d/" % (kind, name, port)],
                                   capture_output=True, timeout=30)
                self.assertEqual(r.returncode, 0, (name, kind, r.stderr))
        # and the other way round: the default's CA does not vouch for name a
        r = subprocess.run(["curl", "-sS", "--max-time", "20", "--resolve",
                            "mail.a.example.test:%d:127.0.0.1" % self.srv.port("imaps"),
                            "--cacert", self.default[0], "-u", "alice:pw",
                            "imaps://mail.a.example.test:%d/" % self.srv.port("imaps")],
                           capture_output=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)


class TestReload(unittest.TestCase):
    """SIGHUP: the master re-reads cert and key (root-only when we are root:
    the workers, running as nobody, could not) and hands them over.  New
    connections get the new certificate, sessions already open go on; a
    broken new file keeps the old certificate and is logged once."""

    def setUp(self):
        self.certs = CertDir()
        self.cert, self.key = self.certs.make("live", ["localhost"])
        self.srv = unprivileged_server([(self.cert, self.key)], users={"alice": "pw"},
                                       listen=("imaps", "pop3s"))
        self.srv.start()

    def tearDown(self):
        self.srv.stop()
        self.certs.cleanup()

    def replace(self, cert_bytes, key_bytes):
        for path, data in ((self.cert, cert_bytes), (self.key, key_bytes)):
            with open(path + ".new", "wb") as f:
                f.write(data)
            os.chmod(path + ".new", 0o600)
            os.rename(path + ".new", path)

    def wait_log(self, pattern, count, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            n = len(re.findall(pattern, self.srv.log_text()))
            if n >= count:
                return n
            time.sleep(0.05)
        self.fail("log has not %d x %r:\n%s" % (count, pattern, self.srv.log_text()))

    def test_reload_new_cert_then_broken_one(self):
        old = der_of(self.cert)
        session = imaps(self.srv.port("imaps"))
        session.login("alice", "pw")
        self.assertEqual(session.sock.getpeercert(binary_form=True), old)

        fresh_cert, fresh_key = self.certs.make("fresh", ["localhost"])
        with open(fresh_cert, "rb") as c, open(fresh_key, "rb") as k:
            self.replace(c.read(), k.read())
        new = der_of(self.cert)
        self.assertNotEqual(new, old)
        self.srv.reload()
        self.wait_log(r"reloaded certificates", 2)      # both workers
        for i in range(8):
            for kind in ("imaps", "pop3s"):
                self.assertEqual(peer(self.srv.port(kind))[0], new)
        # the session from before goes on, with the certificate it began with
        self.assertIn(b"* 0 EXISTS", session.ok("SELECT INBOX"))
        self.assertEqual(session.sock.getpeercert(binary_form=True), old)

        # a broken certificate: the old one stays, said once by the master
        with open(fresh_key, "rb") as k:
            self.replace(b"-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n",
                         k.read())
        self.srv.reload()
        self.wait_log(r"keeping the old certificate", 1)
        time.sleep(0.5)
        self.assertEqual(len(re.findall(r"keeping the old certificate", self.srv.log_text())), 1)
        for i in range(8):
            self.assertEqual(peer(self.srv.port("imaps"))[0], new)
        session.ok("NOOP")
        session.ok("LOGOUT")

    def test_reload_with_sni_pairs(self):
        """Every pair is re-read: a renewed second certificate is what its
        name gets after SIGHUP; the default stays as it was."""
        self.srv.stop()
        other = self.certs.make("other", ["mail.other.example.test"])
        self.srv = unprivileged_server([(self.cert, self.key), other], users={"alice": "pw"},
                                       listen=("imaps",))
        self.srv.start()
        default = der_of(self.cert)
        self.assertEqual(peer(self.srv.port("imaps"), "mail.other.example.test")[0],
                         der_of(other[0]))
        renewed = self.certs.make("renewed", ["mail.other.example.test"])
        for src, dst in zip(renewed, other):
            with open(src, "rb") as f:
                data = f.read()
            with open(dst + ".new", "wb") as f:
                f.write(data)
            os.chmod(dst + ".new", 0o600)
            os.rename(dst + ".new", dst)
        self.srv.reload()
        self.wait_log(r"reloaded certificates", 2)
        for _ in range(6):
            self.assertEqual(peer(self.srv.port("imaps"), "mail.other.example.test")[0],
                             der_of(renewed[0]))
            self.assertEqual(peer(self.srv.port("imaps"))[0], default)

    def test_root_only_passwd_file_reloaded(self):
        """A user added to a root-only passwd-file can log in: the master
        notices the change (or the SIGHUP) and hands the file over."""
        self.srv.add_user("carol", "pw-carol")
        if AS_ROOT:
            os.chmod(self.srv.passwd, 0o600)
        deadline = time.time() + 10
        while True:
            c = imaps(self.srv.port("imaps"))
            _, tagged = c.cmd('LOGIN carol "pw-carol"')
            c.close()
            if b" OK " in tagged:
                break
            self.assertLess(time.time(), deadline, "carol never got in")
            time.sleep(0.2)
        if AS_ROOT:
            # the workers could not read it themselves, and did not complain
            self.assertNotIn("Permission denied", self.srv.log_text())
        before = len(re.findall(r"reloaded users", self.srv.log_text()))
        self.srv.reload()
        self.wait_log(r"reloaded users", before + 2)     # SIGHUP: both, unchanged or not
        for _ in range(4):
            c = imaps(self.srv.port("imaps"))
            c.login("carol", "pw-carol")
            c.close()


class TestStarttlsInjection(unittest.TestCase):
    """RFC 2595 section 3.1 / CVE-2011-0411, the response side (the command
    side is in test_imap_session.py and test_pop3.py): a command pipelined
    in the clear behind STARTTLS/STLS is neither answered in the clear nor
    inside TLS.  LMTP has no STARTTLS at all."""

    @classmethod
    def setUpClass(cls):
        cls.srv = duotest.Server(users={"alice": "pw"}, listen=("imap", "pop3", "lmtp"))
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def tls(self, sock):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx.wrap_socket(sock, server_hostname="localhost")

    def test_imap_pipelined_command_not_answered(self):
        c = RawImap(self.srv.port("imap"))
        c.send("s1 STARTTLS\r\ns2 CAPABILITY\r\n")
        self.assertTrue(c.line().startswith(b"s1 OK"))
        self.assertEqual(c.buf, b"")            # nothing more in the clear
        c.sock = self.tls(c.sock)
        u, tagged = c.cmd("NOOP")
        self.assertEqual(u, [])                 # no s2 answer, no CAPABILITY
        self.assertTrue(tagged.startswith(b"t1 OK"), tagged)

    def test_pop3_pipelined_command_not_answered(self):
        c = Pop3Client(self.srv.port("pop3"))
        c.send("STLS\r\nCAPA\r\n")
        self.assertTrue(c.line().startswith("+OK"))
        self.assertEqual(c.buf, b"")            # nothing more in the clear
        c.sock = self.tls(c.sock)
        c.send("QUIT\r\n")
        # inside TLS: QUIT's answer and the end, no capability list before it
        self.assertTrue(c.line().startswith("+OK"))
        with self.assertRaises(ConnectionError):
            c.line()
        self.assertEqual(c.buf, b"")

    def test_lmtp_has_no_starttls(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port("lmtp")), timeout=10)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220"))
        s.sendall(b"LHLO test\r\n")
        caps = []
        while True:
            line = f.readline()
            caps.append(line[4:].strip().upper())
            if line[3:4] == b" ":
                break
        self.assertNotIn(b"STARTTLS", caps)
        s.sendall(b"STARTTLS\r\nNOOP\r\n")
        self.assertTrue(f.readline().startswith(b"5"))
        self.assertTrue(f.readline().startswith(b"250"))   # still plain LMTP
        s.close()


if __name__ == "__main__":
    unittest.main()
