"""A raw IMAP client for protocol tests: sends exactly what a test says and
returns the server's lines as bytes, so tests can assert on the wire format
(imaplib hides it).  Standard library only; every read has a timeout."""
import re
import socket
import ssl


class ImapError(Exception):
    pass


class RawImap:
    def __init__(self, port, host="127.0.0.1", tls_context=None, timeout=10):
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls_context is not None:
            sock = tls_context.wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.buf = b""
        self.n = 0
        self.greeting = self.line()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        """One line without its CRLF; raises on EOF."""
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ImapError("connection closed; buffered %r" % self.buf[:200])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ImapError("connection closed in a literal")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response_line(self):
        """A logical response line: literals are read and kept inline
        (as {n}\\r\\n + data), so FETCH BODY[] comes back whole."""
        out = self.line()
        while True:
            m = re.search(rb"\{(\d+)\}$", out)
            if not m:
                return out
            data = self.read_exact(int(m.group(1)))
            out += b"\r\n" + data + self.line()

    def tag(self):
        self.n += 1
        return "t%d" % self.n

    def cmd(self, text):
        """Sends 'TAG text', returns (untagged lines, tagged line)."""
        tag = self.tag()
        self.send("%s %s\r\n" % (tag, text))
        return self.until(tag)

    def until(self, tag):
        untagged = []
        tag = tag.encode() if isinstance(tag, str) else tag
        while True:
            line = self.response_line()
            if line.startswith(tag + b" "):
                return untagged, line
            untagged.append(line)

    def ok(self, text):
        untagged, tagged = self.cmd(text)
        if b" OK" not in tagged[:len(tagged.split(b" ")[0]) + 3]:
            raise ImapError("%s -> %r (untagged %r)" % (text, tagged, untagged[:5]))
        return untagged

    def login(self, user, password):
        return self.ok('LOGIN "%s" "%s"' % (user, password))
