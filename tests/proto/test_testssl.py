"""testssl.sh (the Debian package) against the server's TLS with the
default [tls] priority: implicit TLS on imaps and pop3s (RFC 8314) and
STARTTLS/STLS on imap and pop3 (RFC 2595).  Every finding rated LOW, MEDIUM,
HIGH or CRITICAL fails the test unless tests/data/testssl-allowed.txt names
it with the reason it is out of the server's hands (the self-signed test
certificate); WARN or FATAL (the scan itself went wrong) fail too.

testssl.sh 3.0 takes about a minute per port; the four scans run two at a
time.  ctest label `testssl`."""
import concurrent.futures
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import duotest

HERE = os.path.dirname(os.path.abspath(__file__))
ALLOWED_FILE = os.path.join(HERE, "..", "data", "testssl-allowed.txt")
BAD = {"LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN", "FATAL"}


def allowed():
    out = {}
    with open(ALLOWED_FILE) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                finding_id, _, reason = line.rstrip("\n").partition("\t")
                assert reason.strip(), "no reason given for " + finding_id
                out[finding_id] = reason
    return out


@unittest.skipUnless(shutil.which("testssl"), "testssl.sh is not installed (tests/run installs it)")
class TestTestssl(unittest.TestCase):
    def test_no_finding_worse_than_ok(self):
        certs = tempfile.mkdtemp(prefix="duomail-testssl-")
        self.addCleanup(shutil.rmtree, certs, True)
        # A year, as a real certificate would be (a short-lived one is a finding).
        cert, key = duotest.make_certificate(certs, "rsa", ["localhost"], days=365,
                                             key_type="rsa")
        srv = duotest.Server(users={"alice": "pw"}, listen=("imaps", "pop3s", "imap", "pop3"),
                             config={"tls": {"cert": cert, "key": key}})
        srv.start()
        self.addCleanup(srv.stop)
        scans = [("imaps", []), ("pop3s", []), ("imap", ["-t", "imap"]), ("pop3", ["-t", "pop3"])]

        def scan(kind, extra):
            out = os.path.join(certs, kind + ".json")
            r = subprocess.run(["testssl", "--quiet", "--warnings", "off", "--color", "0",
                                "--nodns", "min", "--connect-timeout", "10",
                                "--openssl-timeout", "10", "--jsonfile", out] + extra +
                               ["--ip", "127.0.0.1", "localhost:%d" % srv.port(kind)],
                               capture_output=True, timeout=600)
            with open(out) as f:
                return kind, r, json.load(f)

        ok = allowed()
        problems = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda s: scan(*s), scans))
        for kind, r, findings in results:
            by_id = {f["id"]: f for f in findings}
            # the scan did look (a run that checked nothing must not pass)
            for must in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3",
                         "cipherlist_NULL", "heartbleed", "LUCKY13", "cipher_order"):
                self.assertIn(must, by_id, (kind, r.stdout[-2000:]))
            self.assertEqual(by_id["TLS1_3"]["finding"], "offered with final")
            self.assertEqual(by_id["TLS1"]["finding"], "not offered")
            self.assertEqual(by_id["TLS1_1"]["finding"], "not offered")
            for f in findings:
                if f["severity"] in BAD and f["id"] not in ok:
                    problems.append("%s: %s %s: %s" % (kind, f["severity"], f["id"],
                                                       f["finding"]))
            print("%s: %s s, %d findings, allowed: %s" % (
                kind, by_id.get("scanTime", {}).get("finding", "?"), len(findings),
                sorted(f["id"] for f in findings if f["severity"] in BAD and f["id"] in ok)))
        self.assertEqual(problems, [], "\n".join(problems))


if __name__ == "__main__":
    unittest.main()
