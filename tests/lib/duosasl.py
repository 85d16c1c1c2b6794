"""SASL client side for the protocol tests, standard library only.

- ScramClient: SCRAM-SHA-1/-256 and -PLUS (RFC 5802 §3 and §7, RFC 7677),
  computed with hashlib.pbkdf2_hmac and hmac, with SASLprep (RFC 4013) from
  the stringprep module's tables: an implementation independent of the
  server's (GnuTLS + libidn).
- cram_md5(): the RFC 2195 response.
- LineConn: a CRLF line stream over a socket, an ssl socket, or the
  tls_pipe tool (tests/tools/tls_pipe.c) for tls-exporter channel binding.
- imap_authenticate() / pop3_auth(): AUTHENTICATE (RFC 3501 §6.2.2,
  SASL-IR RFC 4959) and AUTH (RFC 5034), driving a responder function.
"""
import base64
import hashlib
import hmac
import os
import select
import socket
import stringprep
import subprocess
import time
import unicodedata


# ---- SASLprep (RFC 4013 §2) ----

def saslprep(text, stored=False):
    """Raises ValueError for what RFC 4013 prohibits."""
    # §2.1 mapping: non-ASCII space (C.1.2) to SPACE, B.1 to nothing
    mapped = "".join(" " if stringprep.in_table_c12(c) else c
                     for c in text if not stringprep.in_table_b1(c))
    out = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)   # §2.2, Unicode 3.2
    prohibited = (stringprep.in_table_c12, stringprep.in_table_c21, stringprep.in_table_c22,
                  stringprep.in_table_c3, stringprep.in_table_c4, stringprep.in_table_c5,
                  stringprep.in_table_c6, stringprep.in_table_c7, stringprep.in_table_c8,
                  stringprep.in_table_c9)
    for c in out:
        if any(f(c) for f in prohibited):
            raise ValueError("prohibited character U+%04X" % ord(c))
        if stored and stringprep.in_table_a1(c):
            raise ValueError("unassigned code point U+%04X" % ord(c))
    # §2.4 bidirectional characters (RFC 3454 §6)
    if any(stringprep.in_table_d1(c) for c in out):
        if any(stringprep.in_table_d2(c) for c in out):
            raise ValueError("mixed bidirectional text")
        if not (stringprep.in_table_d1(out[0]) and stringprep.in_table_d1(out[-1])):
            raise ValueError("RandALCat text must start and end with one")
    if not out:
        raise ValueError("empty after preparation")
    return out


# ---- SCRAM ----

def _saslname(name):
    return name.replace("=", "=3D").replace(",", "=2C")


class ScramError(Exception):
    pass


class ScramClient:
    """One SCRAM exchange.  hash: "sha1" or "sha256".  cb_type/cb_data:
    channel binding for -PLUS (cb_data bytes), or flag "y"/"n" without."""

    def __init__(self, hash, user, password, cb_type=None, cb_data=b"", flag=None,
                 authzid=None, nonce=None):
        self.hash = hash
        self.user = user
        self.password = password
        self.cb_data = cb_data
        self.nonce = nonce or base64.b64encode(os.urandom(18)).decode()
        if cb_type is not None:
            flag = "p=" + cb_type
        self.gs2 = "%s,%s," % (flag or "n", "a=" + _saslname(authzid) if authzid else "")
        self.bare = "n=%s,r=%s" % (_saslname(user), self.nonce)
        self.server_signature = None

    def first(self):
        return (self.gs2 + self.bare).encode()

    def final(self, server_first, cb_data=None, nonce_override=None, proof_tamper=False):
        sf = server_first.decode()
        attrs = dict(a.split("=", 1) for a in sf.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise ScramError("server nonce does not extend ours")
        salt = base64.b64decode(attrs["s"])
        iterations = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac(self.hash, saslprep(self.password).encode(), salt,
                                     iterations)
        client_key = hmac.new(salted, b"Client Key", self.hash).digest()
        stored_key = hashlib.new(self.hash, client_key).digest()
        server_key = hmac.new(salted, b"Server Key", self.hash).digest()
        cbind = self.gs2.encode() + (self.cb_data if cb_data is None else cb_data)
        without = "c=%s,r=%s" % (base64.b64encode(cbind).decode(),
                                 nonce_override or attrs["r"])
        auth_message = ",".join((self.bare, sf, without)).encode()
        signature = hmac.new(stored_key, auth_message, self.hash).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        if proof_tamper:
            proof = bytes([proof[0] ^ 1]) + proof[1:]
        self.server_signature = hmac.new(server_key, auth_message, self.hash).digest()
        return ("%s,p=%s" % (without, base64.b64encode(proof).decode())).encode()

    def verify(self, server_final):
        sf = server_final.decode()
        if sf.startswith("e="):
            raise ScramError(sf)
        if not sf.startswith("v=") or base64.b64decode(sf[2:]) != self.server_signature:
            raise ScramError("server signature does not verify: " + sf)


def scram_stored_keys(hash, password, salt=b"duomail-test-slt", iterations=4096):
    """{SCRAM-SHA-...} stored keys in Dovecot's layout, made here."""
    salted = hashlib.pbkdf2_hmac(hash, saslprep(password, stored=True).encode(), salt,
                                 iterations)
    client_key = hmac.new(salted, b"Client Key", hash).digest()
    b64 = lambda b: base64.b64encode(b).decode()
    return "{SCRAM-SHA-%s}%d,%s,%s,%s" % (
        "1" if hash == "sha1" else "256", iterations, b64(salt),
        b64(hashlib.new(hash, client_key).digest()),
        b64(hmac.new(salted, b"Server Key", hash).digest()))


def cram_md5(user, password, challenge):
    """RFC 2195: "user hex(HMAC-MD5(password, challenge))"."""
    return ("%s %s" % (user, hmac.new(password.encode(), challenge, "md5").hexdigest())).encode()


# ---- line streams ----

class LineConn:
    """CRLF lines over a socket, or over a subprocess's pipes."""

    def __init__(self, sock=None, proc=None, timeout=20):
        self.sock, self.proc, self.timeout = sock, proc, timeout
        self.buf = b""
        if sock is not None:
            sock.settimeout(timeout)

    @classmethod
    def tcp(cls, port, host="127.0.0.1", source=None):
        """source: a loopback address to connect from (127.0.0.x), which the
        server's per-address failure penalty keys on."""
        return cls(socket.create_connection((host, port), timeout=20,
                                            source_address=(source, 0) if source else None))

    @classmethod
    def tls_pipe(cls, port, cafile, priority=None):
        """Via tests/tools/tls_pipe.c; returns (conn, exporter bytes, info line)."""
        args = [os.environ["DUOMAIL_TLS_PIPE"], "127.0.0.1", str(port), cafile]
        if priority:
            args.append(priority)
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        c = cls(proc=proc)
        first = c.readline()
        if not first.startswith("tls-exporter "):
            raise RuntimeError("tls_pipe: %r %r" % (first, proc.stderr.read()))
        info = c.readline()
        return c, bytes.fromhex(first.split()[1]), info

    def send(self, line):
        data = line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n"
        if self.sock is not None:
            self.sock.sendall(data)
        else:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def _more(self):
        if self.sock is not None:
            chunk = self.sock.recv(65536)
        else:
            fd = self.proc.stdout.fileno()
            if not select.select([fd], [], [], self.timeout)[0]:
                raise TimeoutError("no answer from the server")
            chunk = os.read(fd, 65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def readline(self):
        deadline = time.time() + self.timeout
        while b"\n" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no line")
            self._more()
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def close(self):
        if self.sock is not None:
            self.sock.close()
        else:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.wait(timeout=20)
            self.proc.stdout.close()
            self.proc.stderr.close()


# ---- protocol drivers ----

def _b64(data):
    return base64.b64encode(data).decode() if data else ""


def _exchange(conn, responder, is_final):
    """Answers "+ <b64>" challenges with responder(challenge bytes) until a
    line that is_final() accepts; responder returns bytes, or None to cancel.
    Returns (final line, list of challenges)."""
    challenges = []
    for _ in range(10):
        line = conn.readline()
        if line.startswith("* "):
            continue
        if is_final(line):
            return line, challenges
        if not line.startswith("+"):
            raise AssertionError("unexpected line: " + line)
        challenge = base64.b64decode(line[2:]) if len(line) > 2 else b""
        challenges.append(challenge)
        answer = responder(challenge)
        conn.send("*" if answer is None else _b64(answer))
    raise AssertionError("exchange does not end")


def imap_authenticate(conn, mech, responder, initial=None, tag="a1"):
    """initial: bytes for SASL-IR (b"" sends "="), or None.  Returns
    (tagged line, challenges).  Untagged lines before the end are skipped."""
    cmd = "%s AUTHENTICATE %s" % (tag, mech)
    if initial is not None:
        cmd += " " + (_b64(initial) or "=")
    conn.send(cmd)
    return _exchange(conn, responder, lambda line: line.startswith(tag + " "))


def pop3_auth(conn, mech, responder, initial=None):
    cmd = "AUTH " + mech
    if initial is not None:
        cmd += " " + (_b64(initial) or "=")
    conn.send(cmd)
    return _exchange(conn, responder, lambda line: line.startswith(("+OK", "-ERR")))


def scram_responder(client, **final_args):
    """The client's side of a whole exchange after its first message:
    server-first → client-final; server-final → verify, then empty."""
    state = {"step": 0}

    def respond(challenge):
        if challenge == b"" and state["step"] == 0:
            return client.first()     # no initial response was sent
        state["step"] += 1
        if state["step"] == 1:
            return client.final(challenge, **final_args)
        if challenge.startswith(b"e="):     # a server-error as a challenge
            state["error"] = challenge.decode()
            return None
        client.verify(challenge)
        state["verified"] = True
        return b""
    respond.state = state
    return respond
