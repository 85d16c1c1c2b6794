"""Differential conformance: run one scripted conversation against Dovecot and
duomail, normalize what may legitimately differ, compare, and excuse only the
differences listed (with their RFC section) in tests/peer/known-differences.

Normalization (the same on both sides, never a known difference):
- tags become TAG; the human-readable text after OK/NO/BAD/BYE/PREAUTH and
  after "+" is dropped (RFC 3501 §7.1: the text is for humans), response
  codes in [] are kept;
- a string is a string whether sent quoted or as a literal (RFC 3501 §4.3);
- order that carries no meaning: capabilities (§7.2.1), flags (§7.2.6),
  FETCH data items in a response (§7.4.2), SEARCH numbers (§7.2.5), STATUS
  items (§7.2.4), LIST attributes, and the untagged responses of one command
  (§7.: the server sends them in any order) except EXPUNGE, whose order
  changes their meaning;
- a mailbox name, or a header field name in a FETCH response's section,
  as atom or string (astring, §9);
- UIDVALIDITY values (§2.3.1.1: each server picks its own) in codes, STATUS
  and APPENDUID/COPYUID;
- INTERNALDATE's day as " 1" or "01" (date-day-fixed, §9), and an
  INTERNALDATE of the last ten minutes (the time of an APPEND without
  date: each server's own clock) as <now>.
POP3: the text after +OK/-ERR (RFC 1939 §3) except [codes] (RFC 2449 §8),
the greeting's APOP timestamp (RFC 1939 §7), and UIDL values are compared as
"same message, same id" (each server names its own files; RFC 1939 §7 only
asks for uniqueness and persistence).
"""
import calendar
import configparser
import os
import re
import socket
import time

KNOWN_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known-differences")


# ---- IMAP token parsing ----

class Str(bytes):
    """A string (quoted or literal) as opposed to an atom."""


def parse(data, pos=0, depth=0):
    """data (one response line, literals inline as {n}\\r\\n<bytes>) ->
    list of tokens: bytes atoms, Str strings, lists."""
    out = []
    n = len(data)
    while pos < n:
        c = data[pos:pos + 1]
        if c == b" ":
            pos += 1
        elif c == b"(":
            sub, pos = parse(data, pos + 1, depth + 1)
            out.append(sub)
        elif c == b")":
            if depth == 0:
                out.append(b")")
                pos += 1
                continue
            return out, pos + 1
        elif c == b'"':
            buf = bytearray()
            pos += 1
            while pos < n and data[pos:pos + 1] != b'"':
                if data[pos:pos + 1] == b"\\" and pos + 1 < n:
                    pos += 1
                buf += data[pos:pos + 1]
                pos += 1
            out.append(Str(bytes(buf)))
            pos += 1
        elif c == b"{" and re.match(rb"\{(\d+)\}\r\n", data[pos:]):
            m = re.match(rb"\{(\d+)\}\r\n", data[pos:])
            start = pos + m.end()
            size = int(m.group(1))
            out.append(Str(data[start:start + size]))
            pos = start + size
        else:
            start = pos
            bracket = 0
            while pos < n:
                ch = data[pos:pos + 1]
                if ch == b"[":
                    bracket += 1
                elif ch == b"]":
                    bracket -= 1
                elif bracket <= 0 and ch in b" ()":
                    break
                pos += 1
            out.append(data[start:pos])
    if depth:
        return out, pos
    return out


def show(tok):
    """Canonical text of a token (strings always quoted, escapes for bytes
    outside printable ASCII)."""
    if isinstance(tok, Str):
        s = ""
        for b in tok:
            ch = chr(b)
            if ch in '"\\':
                s += "\\" + ch
            elif 32 <= b < 127:
                s += ch
            elif b == 13:
                s += "\\r"
            elif b == 10:
                s += "\\n"
            else:
                s += "\\x%02x" % b
        return '"%s"' % s
    if isinstance(tok, list):
        return "(" + " ".join(show(t) for t in tok) + ")"
    return tok.decode("latin-1")


def _lower(t):
    return Str(t.lower()) if isinstance(t, Str) else t


def _fold_params(lst):
    """(name value ...): names case-folded (RFC 2045 §5.1)."""
    if not isinstance(lst, list):
        return lst
    return [_lower(t) if i % 2 == 0 else t for i, t in enumerate(lst)]


def fold_body(b):
    """A BODY/BODYSTRUCTURE with the case-insensitive names (media type,
    subtype, parameter and disposition names, RFC 2045 §5.1, RFC 2183 §2)
    in lower case; everything else as sent."""
    if not isinstance(b, list) or not b:
        return b
    if isinstance(b[0], list):                      # multipart: parts, subtype, ext
        i = 0
        out = []
        while i < len(b) and isinstance(b[i], list):
            out.append(fold_body(b[i]))
            i += 1
        rest = b[i:]
        if rest:
            rest = [_lower(rest[0])] + rest[1:]
        if len(rest) > 1:
            rest[1] = _fold_params(rest[1])
        if len(rest) > 2 and isinstance(rest[2], list) and rest[2]:
            rest[2] = [_lower(rest[2][0])] + [_fold_params(x) for x in rest[2][1:]]
        return out + rest
    out = list(b)
    out[0], out[1] = _lower(out[0]), _lower(out[1])
    if len(out) > 2:
        out[2] = _fold_params(out[2])
    if len(out) > 5:
        out[5] = _lower(out[5])                     # encoding, RFC 2045 §6.1
    if len(out) > 9 and out[0] == b"message" and out[1] == b"rfc822":
        out[8] = fold_body(out[8])
        ext = 11
    elif out[0] == b"text":
        ext = 9
    else:
        ext = 8
    if len(out) > ext and isinstance(out[ext], list) and out[ext]:   # disposition
        out[ext] = [_lower(out[ext][0])] + [_fold_params(x) for x in out[ext][1:]]
    return out


def _is_now(date):
    try:
        t = calendar.timegm(time.strptime(date.decode()[:20], "%d-%b-%Y %H:%M:%S"))
        zone = date.decode()[21:]
        off = (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60) * (-1 if zone[0] == "-" else 1)
    except (ValueError, IndexError):
        return False
    return abs(t - off - time.time()) < 600


def _mailbox(t):
    """A mailbox name is an astring: atom or string alike (RFC 3501 §9),
    and INBOX in any case is INBOX (§5.1)."""
    if isinstance(t, list) or (not isinstance(t, Str) and t.upper() == b"NIL"):
        return t
    return Str(b"INBOX") if t.upper() == b"INBOX" else Str(t)


def _sorted_upper(lst):
    return sorted((t.upper() if not isinstance(t, (Str, list)) else t) for t in lst
                  if not isinstance(t, list))


def _norm_code(code):
    """A response code without brackets -> normalized text."""
    parts = code.split(" ", 1)
    name = parts[0].upper()
    arg = parts[1] if len(parts) > 1 else ""
    if name == "CAPABILITY":
        return "CAPABILITY " + " ".join(sorted(arg.upper().split()))
    if name == "UIDVALIDITY":
        return "UIDVALIDITY <v>"
    if name in ("APPENDUID", "COPYUID"):
        return name + " <v> " + " ".join(arg.split()[1:])
    if name == "PERMANENTFLAGS":
        flags = arg.strip("()").split()
        return "PERMANENTFLAGS (" + " ".join(sorted(f.capitalize() if f.startswith("\\")
                                                   else f for f in flags)) + ")"
    return (name + " " + arg).strip()


STATUS_RE = re.compile(r"^(\* |TAG )(OK|NO|BAD|BYE|PREAUTH)( \[([^\]]*)\])?( .*)?$", re.I)


def normalize_imap_line(line, tag=None):
    """One response line (bytes, literals inline) -> normalized text."""
    if tag is not None and line.startswith(tag + b" "):
        line = b"TAG " + line[len(tag) + 1:]
    if line.startswith(b"+"):
        return "+"
    text = line.decode("latin-1")
    m = STATUS_RE.match(text)
    if m and not re.match(r"^\* \d+ ", text):
        out = m.group(1) + m.group(2).upper()
        if m.group(4) is not None:
            out += " [" + _norm_code(m.group(4)) + "]"
        return out
    toks = parse(line)
    if len(toks) >= 2 and toks[0] == b"*":
        kind = toks[1].upper() if isinstance(toks[1], bytes) and not isinstance(toks[1], Str) \
            else b""
        if kind == b"CAPABILITY":
            return "* CAPABILITY " + " ".join(sorted(t.upper().decode() for t in toks[2:]))
        if kind in (b"SEARCH",):
            return "* SEARCH " + " ".join(str(n) for n in sorted(int(t) for t in toks[2:]
                                                                if t.isdigit()))
        if kind == b"FLAGS" and len(toks) > 2 and isinstance(toks[2], list):
            return "* FLAGS (" + " ".join(sorted(show(t) for t in toks[2])) + ")"
        if kind in (b"LIST", b"LSUB") and len(toks) > 2 and isinstance(toks[2], list):
            attrs = sorted(show(t).lower() for t in toks[2])
            return "* %s (%s) %s" % (kind.decode(), " ".join(attrs),
                                     " ".join(show(_mailbox(t)) for t in toks[3:]))
        if kind == b"STATUS" and len(toks) > 3 and isinstance(toks[3], list):
            items = toks[3]
            pairs = []
            for i in range(0, len(items) - 1, 2):
                name = show(items[i]).upper()
                val = "<v>" if name == "UIDVALIDITY" else show(items[i + 1])
                pairs.append("%s %s" % (name, val))
            return "* STATUS %s (%s)" % (show(_mailbox(toks[2])), " ".join(sorted(pairs)))
        if len(toks) >= 4 and toks[1].isdigit() and toks[2].upper() == b"FETCH" \
                and isinstance(toks[3], list):
            items = toks[3]
            pairs = []
            for i in range(0, len(items) - 1, 2):
                name = show(items[i]).upper()
                # header-fld-name is an astring: "SUBJECT" is SUBJECT (§9)
                name = re.sub(r'"([^"\\]*)"', r"\1", name)
                val = items[i + 1]
                if name == "FLAGS" and isinstance(val, list):
                    val = "(" + " ".join(sorted(show(f).capitalize() if show(f).startswith("\\")
                                                else show(f) for f in val)) + ")"
                elif name in ("BODY", "BODYSTRUCTURE") and isinstance(val, list):
                    folded = fold_body(val)
                    if show(folded) != show(val):
                        # the case as sent, for the known-differences entry
                        pairs.append("%s.ascased %s" % (name, show(val)))
                    val = show(folded)
                elif name == "INTERNALDATE" and isinstance(val, Str):
                    # date-day-fixed is " 1" or "01" (RFC 3501 §9); a
                    # date of the last minutes is "now" (an APPEND
                    # without date, a COPY's own time), not compared
                    val = Str(re.sub(rb"^ (\d)-", rb"0\1-", bytes(val)))
                    val = "<now>" if _is_now(val) else show(val)
                else:
                    val = show(val)
                pairs.append("%s %s" % (name, val))
            if len(items) % 2:
                pairs.append("<odd> " + show(items[-1]))
            # one line per data item, so a difference names the item
            return ["* %s FETCH %s" % (toks[1].decode(), p) for p in sorted(pairs)]
    return " ".join(show(t) for t in toks)


def normalize_imap_response(lines, tag):
    """All lines of one command's response -> list of normalized lines:
    untagged ones sorted (EXPUNGEs kept in order, first), the tagged last."""
    norm = []
    for l in lines:
        n = normalize_imap_line(l, tag)
        norm += n if isinstance(n, list) else [n]
    tagged = [n for n in norm if n.startswith("TAG ")]
    expunges = [n for n in norm if re.match(r"^\* \d+ EXPUNGE$", n, re.I)]
    rest = sorted(n for n in norm if n not in tagged and n not in expunges)
    return expunges + rest + tagged


# ---- IMAP conversations ----

class Imap:
    """A raw connection that records every response line."""

    def __init__(self, port, timeout=20, tls=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.n = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed; buffered %r" % self.buf[:200])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def response_line(self):
        out = self.line()
        while True:
            m = re.search(rb"\{(\d+)\}$", out)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("closed in a literal")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n:]
            out += b"\r\n" + data + self.line()

    def send(self, data):
        self.sock.sendall(data)

    def until_tag(self, tag):
        """Lines up to and including the one tagged tag; a BYE ending the
        connection ends the list too."""
        lines = []
        while True:
            try:
                line = self.response_line()
            except (EOFError, OSError) as e:
                lines.append(b"<closed>")
                return lines
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines


def run_imap_step(c, step):
    """step: a command without tag (str/bytes), where "{n}\\r\\n" marks a
    synchronising literal (sent after the server's "+"); or a tuple:
      ("raw", bytes)      sent as is, then a NOOP to collect the replies
      ("idle",)           IDLE, then DONE after the continuation
      ("auth", first, [responses])  AUTHENTICATE with SASL exchanges
    Returns the response lines (tag normalized by the caller)."""
    c.n += 1
    tag = b"p%d" % c.n
    if isinstance(step, tuple):
        kind = step[0]
        if kind == "raw":
            c.send(step[1])
            sync = b"s%d" % c.n
            c.send(sync + b" NOOP\r\n")
            lines = c.until_tag(sync)
            return [b"<sync> " + l[len(sync) + 1:] if l.startswith(sync + b" ") else l
                    for l in lines], tag
        if kind == "starttls":
            # RFC 3501 §6.2.1, RFC 2595: the handshake starts after the OK
            c.send(tag + b" STARTTLS\r\n")
            lines = c.until_tag(tag)
            if lines[-1].startswith(tag + b" OK"):
                c.sock = step[1].wrap_socket(c.sock, server_hostname="localhost")
            return lines, tag
        if kind == "idle":
            c.send(tag + b" IDLE\r\n")
            lines = [c.response_line()]
            if lines[0].startswith(b"+"):
                c.send(b"DONE\r\n")
            return lines + c.until_tag(tag), tag
        if kind == "auth":
            c.send(tag + b" " + step[1].encode() + b"\r\n")
            lines = []
            responses = list(step[2])
            while True:
                line = c.response_line()
                lines.append(line)
                if line.startswith(b"+"):
                    c.send((responses.pop(0) if responses else "*").encode() + b"\r\n")
                    continue
                if line.startswith(tag + b" ") or line == b"<closed>":
                    return lines, tag
    data = step.encode("utf-8") if isinstance(step, str) else step
    data = tag + b" " + data + b"\r\n"
    lines = []
    while True:
        m = re.search(rb"\{(\d+)\}\r\n", data)
        if not m:
            c.send(data)
            break
        c.send(data[:m.end()])
        data = data[m.end():]
        line = c.response_line()
        lines.append(line)
        if not line.startswith(b"+"):
            # refused literal: the rest is not sent (RFC 3501 §7.5)
            if line.startswith(tag + b" "):
                return lines, tag
            lines += c.until_tag(tag)
            return lines, tag
    return lines + c.until_tag(tag), tag


def converse_imap(port, script, login=None, tls=None):
    """Runs script on a fresh connection -> [(step text, [normalized lines])].
    The greeting is the first entry.  login: (user, password) sent first,
    its reply compared like any step; tls: an ssl context for imaps."""
    c = Imap(port, tls=tls)
    try:
        out = [("<greeting>", normalize_imap_response([c.line()], None))]
        steps = ([('LOGIN "%s" "%s"' % login)] if login else []) + list(script)
        for step in steps:
            lines, tag = run_imap_step(c, step)
            out.append((step_name(step), normalize_imap_response(lines, tag)))
            if lines and lines[-1] == b"<closed>":
                break
        return out
    finally:
        c.close()


def converse_imap_sessions(port, script, logins):
    """Several sessions at once: logins is one (user, password) per
    session, script a list of (session index, step); each step's replies
    are read before the next is sent, so the order is the same on both
    servers.  -> [(step text, [normalized lines])]."""
    conns = []
    try:
        out = []
        for i, login in enumerate(logins):
            c = Imap(port)
            conns.append(c)
            c.line()
            lines, tag = run_imap_step(c, 'LOGIN "%s" "%s"' % login)
            out.append(("LOGIN s%d" % i, normalize_imap_response(lines, tag)))
        for i, step in script:
            if isinstance(step, tuple) and step[0] == "idle_during":
                # RFC 2177: session i idles while session step[1] runs
                # step[2]; what i is pushed meanwhile, until step[3]
                # (a regex) has come or 15 s passed, then DONE
                c = conns[i]
                c.n += 1
                tag = b"p%d" % c.n
                c.send(tag + b" IDLE\r\n")
                lines = [c.response_line()]
                other, _ = run_imap_step(conns[step[1]], step[2])
                c.sock.settimeout(15)
                try:
                    while not any(re.search(step[3], l) for l in lines[1:]):
                        lines.append(c.response_line())
                except (OSError, EOFError):
                    lines.append(b"<nothing pushed>")
                c.sock.settimeout(20)
                c.send(b"DONE\r\n")
                lines += c.until_tag(tag)
                out.append(("s%d IDLE while s%d %s" % (i, step[1], step_name(step[2])),
                            normalize_imap_response(lines, tag)))
                continue
            if isinstance(step, tuple) and step[0] == "sleep":
                # let a server's change notification arrive (bounded)
                time.sleep(step[1])
                continue
            lines, tag = run_imap_step(conns[i], step)
            out.append(("s%d %s" % (i, step_name(step)), normalize_imap_response(lines, tag)))
        return out
    finally:
        for c in conns:
            c.close()


def step_name(step):
    if isinstance(step, tuple) and step[0] in ("starttls", "idle"):
        return step[0].upper()
    if isinstance(step, tuple):
        return "%s %r" % (step[0], step[1] if len(step) > 1 else "")
    s = step if isinstance(step, str) else step.decode("latin-1")
    s = s.replace("\r\n", " ")
    return s if len(s) < 120 else s[:117] + "..."


# ---- known differences ----

class Known:
    """tests/peer/known-differences: INI sections, each with
    match (a regex searched in a rendered difference), rfc (the section
    that allows it) and reason."""

    def __init__(self, path=KNOWN_FILE):
        cp = configparser.ConfigParser(interpolation=None)
        with open(path) as f:
            cp.read_file(f)
        self.entries = []
        self.pairs = []
        for name in cp.sections():
            sec = cp[name]
            if "dovecot_pattern" in sec:
                for key in ("rfc", "reason", "dovecot_replace"):
                    if key not in sec or (key != "dovecot_replace" and not sec[key].strip()):
                        raise ValueError("%s: [%s] lacks %s" % (path, name, key))
                self.pairs.append((name, re.compile(sec["dovecot_pattern"].strip()),
                                   sec["dovecot_replace"].strip()))
                continue
            for key in ("match", "rfc", "reason"):
                if not sec.get(key, "").strip():
                    raise ValueError("%s: [%s] lacks %s" % (path, name, key))
            if not re.search(r"RFC \d+", sec["rfc"]):
                raise ValueError("%s: [%s] rfc names no RFC" % (path, name))
            self.entries.append((name, re.compile(sec["match"].strip()), sec["rfc"]))
        self.used = set()

    def rewrites(self):
        """Entries that excuse a pair: Dovecot's line, rewritten with
        dovecot_pattern -> dovecot_replace, equals duomail's."""
        return [(n, rx, rep) for n, rx, rep in self.pairs]

    def excuse(self, rendered):
        for name, rx, rfc in self.entries:
            if rx.search(rendered):
                self.used.add(name)
                return name
        return None


def _line_diff(a, b):
    """Where two long lines first differ, with a little context."""
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    lo = max(0, i - 60)
    return "at %d: dovecot ...%s... | duomail ...%s..." % (i, a[lo:i + 80], b[lo:i + 80])


def compare(proto, dovecot_conv, duomail_conv, known):
    """Step by step: lines only one server sent are differences; each is
    rendered as 'PROTO STEP: only dovecot: LINE' (or 'only duomail') and
    excused when a known-differences entry matches it.  Returns
    (unexcused report lines, excused count)."""
    problems, excused = [], 0
    if len(dovecot_conv) != len(duomail_conv):
        problems.append("%s: %d steps from dovecot, %d from duomail" % (
            proto, len(dovecot_conv), len(duomail_conv)))
    for (step, dl), (_, ml) in zip(dovecot_conv, duomail_conv):
        only_d = [l for l in dl if l not in ml]
        only_m = [l for l in ml if l not in dl]
        for name, rx, rep in known.pairs:
            for l in list(only_d):
                r = rx.sub(rep, l)
                if r != l and r in only_m:
                    only_d.remove(l)
                    only_m.remove(r)
                    known.used.add(name)
                    excused += 1
        step_problems = []
        for side, lines in (("dovecot", only_d), ("duomail", only_m)):
            for l in lines:
                rendered = "%s %s: only %s: %s" % (proto, step, side, l)
                if known.excuse(rendered):
                    excused += 1
                else:
                    step_problems.append(rendered if len(rendered) < 400
                                         else rendered[:400] + "...")
        if step_problems:
            problems.append("--- %s %s" % (proto, step))
            problems += ["    " + p for p in step_problems]
            if len(only_d) == 1 and len(only_m) == 1:
                problems.append("    " + _line_diff(only_d[0], only_m[0]))
    return problems, excused


# ---- POP3 ----

class Pop3:
    def __init__(self, port, timeout=20, tls=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def multiline(self):
        out = []
        while True:
            line = self.line()
            if line == b".":
                return out
            out.append(line[1:] if line.startswith(b"..") else line)


# Commands whose +OK is followed by a multi-line body (RFC 1939, RFC 2449).
def _pop3_multiline(cmd):
    words = cmd.upper().split()
    if not words:
        return False
    if words[0] in ("CAPA", "RETR", "TOP"):
        return True
    if words[0] in ("LIST", "UIDL") and len(words) == 1:
        return True
    return False


def normalize_pop3_status(line):
    text = line.decode("latin-1")
    m = re.match(r"^(\+OK|-ERR)( \[([^\]]*)\])?", text)
    if not m:
        return text if not text.startswith("+ ") and text != "+" else "+"
    return m.group(1) + (" [%s]" % m.group(3).upper() if m.group(3) else "")


def converse_pop3(port, script, tls=None):
    """Runs script (command strings; ("raw", bytes) sends bytes as is and
    reads one status line; ("stls", context) is STLS and the handshake)
    -> [(step, [normalized lines])].  UIDL ids are replaced by the order in
    which this conversation first saw them.  tls: a context for pop3s."""
    c = Pop3(port, tls=tls)
    ids = {}

    def uid(u):
        ids.setdefault(u, "id%d" % (len(ids) + 1))
        return ids[u]

    try:
        out = [("<greeting>", [normalize_pop3_status(c.line())])]
        for step in script:
            if isinstance(step, tuple) and step[0] == "stls":
                c.sock.sendall(b"STLS\r\n")
                status = c.line()
                if status.startswith(b"+OK"):
                    c.sock = step[1].wrap_socket(c.sock, server_hostname="localhost")
                out.append(("STLS", [normalize_pop3_status(status)]))
                continue
            if isinstance(step, tuple):
                c.sock.sendall(step[1])
                cmd = step[1].decode("latin-1").strip()
            else:
                c.sock.sendall(step.encode() + b"\r\n")
                cmd = step
            try:
                status = c.line()
            except (EOFError, OSError):
                out.append((step_name(step), ["<closed>"]))
                break
            lines = [normalize_pop3_status(status)]
            if status.startswith(b"+OK") and _pop3_multiline(cmd):
                body = c.multiline()
                if cmd.upper().startswith("CAPA"):
                    body = sorted(l.decode("latin-1").upper() for l in body)
                    lines += body
                elif cmd.upper().startswith("UIDL"):
                    for l in body:
                        n, u = l.split(b" ", 1)
                        lines.append("%s %s" % (n.decode(), uid(u)))
                else:
                    lines += [l.decode("latin-1") for l in body]
            elif status.startswith(b"+OK") and cmd.upper().startswith("UIDL "):
                parts = status.split()
                lines = ["+OK %s %s" % (parts[1].decode(), uid(parts[2]))] \
                    if len(parts) >= 3 else lines
            elif status.startswith(b"+OK") and re.match(r"(?i)^(STAT|LIST \S+)$", cmd):
                # the numbers are data (RFC 1939 §5), not text
                lines = [" ".join(status.decode("latin-1").split()[:3])]
            out.append((step_name(step), lines))
        return out
    finally:
        c.close()


def section_paths(body, prefix=""):
    """Every section a BODYSTRUCTURE (parsed) has (RFC 3501 §6.4.5): part
    numbers, their .MIME, and .HEADER/.TEXT of message/rfc822 parts."""
    out = []
    if isinstance(body[0], list):                   # multipart
        i = 0
        while i < len(body) and isinstance(body[i], list):
            path = "%s%d" % (prefix, i + 1)
            out += [path, path + ".MIME"] + section_paths(body[i], path + ".")
            i += 1
        return out
    if body[0].lower() == b"message" and body[1].lower() == b"rfc822" and len(body) > 8:
        base = prefix[:-1]
        if base:
            out += [base + ".HEADER", base + ".TEXT"]
        inner = body[8]
        if isinstance(inner[0], list):
            out += section_paths(inner, prefix)
        else:
            out += [prefix + "1"]
    return out


def structures(port, login, count):
    """{seq: parsed BODYSTRUCTURE} of messages 1..count."""
    c = Imap(port)
    try:
        c.line()
        run_imap_step(c, 'LOGIN "%s" "%s"' % login)
        run_imap_step(c, "EXAMINE INBOX")
        lines, _ = run_imap_step(c, "FETCH 1:%d BODYSTRUCTURE" % count)
        out = {}
        for l in lines:
            t = parse(l)
            if len(t) >= 4 and t[0] == b"*" and isinstance(t[3], list):
                out[int(t[1])] = t[3][1]
        return out
    finally:
        c.close()
