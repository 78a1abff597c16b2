"""The client library of the HTTP checks: a raw-socket connection (Conn)
that frames responses per RFC 9112 §6.3 (Response, Closed), the lint that
records framing and header problems of every response it parses (PROBLEMS,
reported by each scenario's well-formedness check), request builders
(request, get), the expect helpers, the check registry (@check, CHECKS), the
runner (run), and the /metrics helpers several areas share.

Raw sockets, not http.client: most checks send bytes a library would
refuse to produce (malformed heads, smuggling payloads, pipelined bursts)
and look at the exact bytes and the exact moment the server closes.
Every socket has a timeout, every wait a deadline: nothing here hangs.
KEEL_HTTP_HOST and KEEL_HTTP_PORT point the checks at another server.

ARGS, the scenario's key=value arguments, is filled in place by
httpclient.py before any check runs: import it, never rebind it.
"""
import datetime
import email.utils
import os
import re
import socket
import threading
import time

GUEST = os.environ.get("KEEL_HTTP_HOST", "10.0.2.15")  # override: try the checks on another server
PORT = int(os.environ.get("KEEL_HTTP_PORT", "80"))
TIMEOUT = 10          # default per-socket-operation timeout (TCG is slow, not that slow)
ARGS = {}             # key=value arguments of the scenario
PROBLEMS = []         # framing/header problems seen in any response of this run
PROBLEMS_LOCK = threading.Lock()
DEAD = False          # the guest stopped accepting connections: fail the rest fast

IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
                         r" (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$")
TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


# ---------------------------------------------------------------- client --

class Closed(Exception):
    """The server closed (FIN or RST) before a complete response; `partial`
    holds the bytes of the unfinished response (empty: nothing at all)."""

    def __init__(self, partial=b""):
        super().__init__(f"connection closed after {len(partial)} bytes of a response: {short(partial)}")
        self.partial = partial


class Response:
    def __init__(self):
        self.version = self.reason = ""
        self.status = 0
        self.headers = []        # [(name, value)] as received
        self.body = b""
        self.trailers = []
        self.interim = []        # 1xx responses that preceded this one
        self.chunked = False
        self.close_delimited = False
        self.raw_head = b""

    def header(self, name):
        """First value of a header (case-insensitive name), or None."""
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def tokens(self, name):
        """A comma-separated list header as a set of lower-case tokens
        (RFC 9110 §5.6.1), all field lines combined."""
        return {t.strip().lower() for v in self.all(name) for t in v.split(",") if t.strip()}

    def __repr__(self):
        return f"<{self.status} {short(self.raw_head + self.body)}>"


def short(b, n=300):
    """Printable excerpt of bytes for a failure message."""
    if isinstance(b, (bytes, bytearray)):
        b = bytes(b).decode("latin-1")
    return repr(b if len(b) <= n else b[:n] + "...")


def problem(what):
    with PROBLEMS_LOCK:
        if len(PROBLEMS) < 50:
            PROBLEMS.append(what)


def lint(resp, method):
    """Record framing and header problems of any response (RFC 9112 §4,
    §6; RFC 9110 §6.6.1, §8.6)."""
    where = f"{method} -> {resp.status}"
    if resp.version != "HTTP/1.1":
        problem(f"{where}: version {resp.version!r}, want HTTP/1.1 (RFC 9110 §2.5)")
    cl, te = resp.all("Content-Length"), resp.all("Transfer-Encoding")
    if len(cl) > 1:
        problem(f"{where}: {len(cl)} Content-Length fields")
    if cl and te:
        problem(f"{where}: both Content-Length and Transfer-Encoding (RFC 9112 §6.2)")
    if (resp.status < 200 or resp.status == 204) and (cl or te):
        problem(f"{where}: Content-Length/Transfer-Encoding in a {resp.status} (RFC 9110 §8.6, RFC 9112 §6.1)")
    if 200 <= resp.status < 500:
        date = resp.header("Date")
        why = date_problem(date)
        if why:
            problem(f"{where}: {why} (RFC 9110 §6.6.1)")


def date_problem(date):
    """None if `date` is a plausible IMF-fixdate (RFC 9110 §5.6.7) within 10
    minutes of this host's clock (QEMU's RTC starts from it)."""
    if date is None:
        return "no Date header"
    m = IMF_FIXDATE.match(date)
    if not m:
        return f"Date {date!r} is not an IMF-fixdate"
    try:
        when = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return f"Date {date!r} does not parse"
    if when.strftime("%a") != m.group(1):
        return f"Date {date!r}: wrong day name"
    skew = abs((when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
    if skew > 600:
        return f"Date {date!r} is {skew:.0f} s off the host clock"
    return None


def connect(timeout=TIMEOUT):
    return socket.create_connection((GUEST, PORT), timeout=timeout)


def reachable():
    """Does the guest still accept a connection (two tries, 5 s each)? A
    single stuck connect proves little (see the port-reuse check)."""
    for _ in range(2):
        try:
            connect(5).close()
            return True
        except OSError:
            pass
    return False


class Conn:
    """One client connection with a read buffer; responses are framed per
    RFC 9112 §6.3."""

    def __init__(self, timeout=TIMEOUT, sock=None):
        self.sock = sock or connect(timeout)
        self.sock.settimeout(timeout)
        self.buf = bytearray()
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _recv(self):
        """Read more bytes; False at EOF. A reset counts as EOF: either way
        the server has hung up."""
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _take(self, n):
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def _line(self, consumed):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                return self._take(i + 2)[:-2]
            if len(self.buf) > 1 << 16:
                raise ValueError(f"line too long: {short(self.buf)}")
            if not self._recv():
                raise Closed(consumed + bytes(self.buf))

    def _exact(self, n, consumed):
        while len(self.buf) < n:
            if not self._recv():
                raise Closed(consumed + bytes(self.buf))
        return self._take(n)

    def read_response(self, method="GET"):
        """The next final response; 1xx responses before it end up in
        `interim` (RFC 9110 §15.2: a client must parse and skip them).
        Raises Closed if the server hangs up first."""
        interim = []
        while True:
            r = self._read_one(method)
            if 100 <= r.status < 200 and r.status != 101:
                interim.append(r)
                continue
            r.interim = interim
            return r

    def read_interim_or_final(self, method="GET"):
        """Exactly one response, 1xx included."""
        return self._read_one(method)

    def _read_one(self, method):
        r = Response()
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            if len(self.buf) > 1 << 20:
                raise ValueError(f"response head too long: {short(self.buf)}")
            if not self._recv():
                raise Closed(bytes(self.buf))
        head = self._take(i + 4)
        r.raw_head = head
        lines = head[:-4].split(b"\r\n")
        m = re.match(rb"^(HTTP/\d\.\d) (\d{3}) ([^\r\n]*)$", lines[0])
        if not m:
            raise ValueError(f"bad status line {short(lines[0])}")
        r.version, r.status, r.reason = m.group(1).decode(), int(m.group(2)), m.group(3).decode("latin-1")
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not TOKEN.match(name):
                problem(f"{method} -> {r.status}: malformed header line {short(line)}")
                continue
            r.headers.append((name.decode(), value.strip(b" \t").decode("latin-1")))
        # RFC 9112 §6.3: the message body length, in order of precedence.
        if method == "HEAD" or r.status < 200 or r.status in (204, 304):
            pass
        elif "chunked" in r.tokens("Transfer-Encoding"):
            r.chunked = True
            r.body, r.trailers = self._chunked(head)
        elif r.header("Content-Length") is not None:
            v = r.header("Content-Length")
            if not v.isdigit():
                raise ValueError(f"bad Content-Length {v!r}")
            r.body = self._exact(int(v), head)
        else:
            r.close_delimited = True
            while self._recv():
                pass
            r.body = self._take(len(self.buf))
        if 200 <= r.status or r.status == 101:
            lint(r, method)
        return r

    def _chunked(self, head):
        """Decode a chunked body (RFC 9112 §7.1) strictly."""
        body = bytearray()
        while True:
            line = self._line(head + bytes(body))
            size = line.split(b";", 1)[0].strip(b" \t")
            if not size or not re.match(rb"^[0-9A-Fa-f]+$", size):
                raise ValueError(f"bad chunk-size line {short(line)}")
            n = int(size, 16)
            if n == 0:
                break
            body += self._exact(n, head + bytes(body))
            if self._exact(2, head + bytes(body)) != b"\r\n":
                raise ValueError("chunk data not followed by CRLF")
        trailers = []
        while True:
            line = self._line(head + bytes(body))
            if not line:
                return bytes(body), trailers
            trailers.append(line)

    def wait_closed(self, timeout=5.0):
        """Wait for the server to hang up: (closed, bytes that arrived
        meanwhile). Pending buffered bytes count as arrived."""
        end = time.monotonic() + timeout
        extra = bytearray(self.buf)
        self.buf.clear()
        while not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                return False, bytes(extra)
            self.sock.settimeout(left)
            try:
                if not self._recv():
                    break
            except socket.timeout:
                return False, bytes(extra)
            extra += self.buf
            self.buf.clear()
        return True, bytes(extra)

    def responses_until_close(self, method="GET", timeout=5.0):
        """Every response the server sends until it closes or falls silent
        for `timeout`; ([responses], leftover bytes that did not parse)."""
        out = []
        self.sock.settimeout(timeout)
        while True:
            try:
                out.append(self.read_response(method))
            except Closed as e:
                return out, e.partial
            except socket.timeout:
                return out, bytes(self.buf)
            except ValueError:
                return out, bytes(self.buf)


def request(method, target, headers=(), body=None, version="1.1", host=GUEST):
    """Request bytes. Content-Length is added for a body unless the caller
    frames it (Content-Length or Transfer-Encoding in `headers`)."""
    lines = [f"{method} {target} HTTP/{version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += list(headers)
    framed = any(h.lower().startswith(("content-length:", "transfer-encoding:")) for h in headers)
    if body is not None and not framed:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def get(target, method="GET", headers=(), body=None, timeout=TIMEOUT):
    """One request on a fresh connection; the response."""
    with Conn(timeout) as c:
        c.send(request(method, target, headers, body))
        return c.read_response(method)


# ----------------------------------------------------------------- checks --

class Fail(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise Fail(why)


def expect_status(resp, want, what=""):
    ok = resp.status in want if isinstance(want, (tuple, list, set)) else resp.status == want
    expect(ok, f"{what}got {resp.status}, want {want}: {short(resp.raw_head + resp.body)}")


CHECKS = {}


def check(scenario, name):
    """Register a check of a scenario; its name becomes the case name."""
    def deco(fn):
        CHECKS.setdefault(scenario, []).append((name, fn))
        return fn
    return deco


def run(scenario):
    """Run a scenario's checks in order. After a failure that involved a
    timeout, check the guest still answers at all; if not, the remaining
    checks fail at once instead of each waiting out its own timeouts."""
    global DEAD
    results = []
    for name, fn in CHECKS[scenario]:
        if DEAD:
            results.append({"name": name, "ok": False, "why": "guest unreachable (connects time out)"})
            continue
        try:
            fn()
            results.append({"name": name, "ok": True})
            continue
        except Fail as e:
            why = str(e)
        except Exception as e:  # a timeout or a reset where none was allowed
            why = f"{type(e).__name__}: {e}"
        results.append({"name": name, "ok": False, "why": why})
        if "timed out" in why and not reachable():
            DEAD = True
    return results


def wellformed_check(scenario):
    @check(scenario, f"{scenario}: every response is well-formed: HTTP/1.1, one framing, IMF-fixdate Date "
                     "(RFC 9112 §4, §6; RFC 9110 §5.6.7, §6.6.1, §8.6)")
    def _():
        expect(not PROBLEMS, "; ".join(PROBLEMS[:8]))


# ------------------------------------------------------- server state --
# The server's own view, from /metrics: used by several areas.

def metrics():
    r = get("/metrics")
    expect_status(r, 200, "/metrics: ")
    out = {}
    for line in r.body.decode().splitlines():
        m = re.match(r"^(\w+(?:\{[^}]*\})?) (\S+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return r, out


def open_conns():
    """Connections the server holds open, by its own /metrics (the one
    asking included)."""
    _, m = metrics()
    return sum(v for k, v in m.items() if k.startswith("keel_http_connections{state="))


def wait_quiet(most=1, timeout=15):
    """Let the server notice closed connections before a capacity test."""
    end = time.monotonic() + timeout
    n = open_conns()
    while n > most and time.monotonic() < end:
        time.sleep(0.3)
        n = open_conns()
    return n
