#!/usr/bin/env python3
"""Python load workers of `make soak` (tests/soak/soak.py), run inside the
soak's network namespace against the appliance at 10.0.2.15:80. Standard
library only; every socket has a timeout and every loop a deadline.

  soakclient.py metrics            one /metrics sample, as one JSON line
  soakclient.py KIND SECONDS       run one load for SECONDS

KIND is pipeline, upload, echo, users or malformed. A load prints its
running totals as a JSON line every few seconds and once more when it
ends: {"requests": N, "errors": N, "why": [the first few failures]}.
Any failure of a well-formed request counts (a wrong status or body, a
reset, a timeout); a failed connection is closed and a new one opened.
"""
import json
import os
import random
import re
import socket
import sys
import threading
import time
import zlib

GUEST, PORT = "10.0.2.15", 80
IO_TIMEOUT = 15       # per socket operation; the appliance's handler_timeout is 10 s
REPORT_EVERY = 5      # seconds between progress lines
KEEP_WHY = 5          # failure messages kept for the report
PIPELINE_DEPTH = 10   # requests per pipelined batch
REQUESTS_PER_CONN = 200  # then a fresh connection (connection churn too)
UPLOAD_BYTES = 1 << 20
MALFORMED_PAUSE = 0.05  # between malformed requests: a steady trickle, not a flood


class Closed(Exception):
    """The server hung up (FIN or RST) before a complete response."""


class Conn:
    """One keep-alive connection with a read buffer; responses framed per
    RFC 9112 §6.3 (Content-Length, chunked, or close-delimited)."""

    def __init__(self):
        self.sock = socket.create_connection((GUEST, PORT), timeout=IO_TIMEOUT)
        self.buf = bytearray()
        self.used = 0

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes a sender blocked in exchange()
        except OSError:
            pass
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def exchange(self, data):
        """Send `data` while reading the response. A streaming handler
        (/echo) answers while the request is still arriving: a client that
        reads only after sending everything deadlocks against it once both
        sides' buffers are full."""
        failed = []

        def sender():
            try:
                self.sock.sendall(data)
            except OSError as e:
                failed.append(e)
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        resp = self.response()
        t.join(IO_TIMEOUT)
        if failed or t.is_alive():
            raise ValueError(f"response complete but sending the request {failed or 'still blocked'}")
        return resp

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed(f"connection closed with {len(self.buf)} bytes unparsed")
        self.buf += chunk

    def _line(self):
        while (i := self.buf.find(b"\r\n")) < 0:
            self._fill()
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def _chunked(self):
        body = bytearray()
        while size := int(self._line().split(b";")[0], 16):
            body += self._exact(size)
            self._exact(2)
        while self._line():
            pass  # trailers
        return bytes(body)

    def response(self):
        """(status, {lower-case name: value}, body) of the next response."""
        self.used += 1
        status = int(self._line().split(b" ")[1])
        headers = {}
        while line := self._line():
            name, _, value = line.partition(b":")
            headers[name.decode().lower()] = value.strip().decode("latin-1")
        if status in (204, 304) or status < 200:
            return status, headers, b""
        if "chunked" in headers.get("transfer-encoding", ""):
            return status, headers, self._chunked()
        if "content-length" in headers:
            return status, headers, self._exact(int(headers["content-length"]))
        while True:
            try:
                self._fill()
            except Closed:
                return status, headers, self._exact(len(self.buf))

    def closed_within(self, seconds):
        """(hung up within `seconds`, bytes that arrived meanwhile)."""
        self.sock.settimeout(seconds)
        extra = bytes(self.buf)
        try:
            while chunk := self.sock.recv(65536):
                extra += chunk
        except ConnectionResetError:
            pass
        except socket.timeout:
            return False, extra
        return True, extra


def request(method, target, headers=(), body=None):
    lines = [f"{method} {target} HTTP/1.1", f"Host: {GUEST}", *headers]
    if body is not None and not any(h.lower().startswith("transfer-encoding") for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return head + (body or b"")


def short(b, n=160):
    text = b.decode("latin-1") if isinstance(b, (bytes, bytearray)) else str(b)
    return repr(text if len(text) <= n else text[:n] + "...")


class Load:
    """Running totals of one load and its keep-alive connection."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds
        self.requests = self.errors = 0
        self.why = []
        self.doing = ""   # the request in flight, for failure messages
        self.conn = None
        self.next_report = time.monotonic() + REPORT_EVERY

    def running(self):
        if time.monotonic() >= self.next_report:
            self.report()
            self.next_report += REPORT_EVERY
        return time.monotonic() < self.end

    def report(self):
        print(json.dumps({"requests": self.requests, "errors": self.errors, "why": self.why}), flush=True)

    def fail(self, why):
        self.errors += 1
        if len(self.why) < KEEP_WHY:
            self.why.append(f"{time.strftime('%H:%M:%S')} {self.doing}: {why}")
        self.drop()

    def drop(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def connection(self):
        """The keep-alive connection, renewed every REQUESTS_PER_CONN."""
        if self.conn and self.conn.used >= REQUESTS_PER_CONN:
            self.drop()
        if not self.conn:
            self.conn = Conn()
        return self.conn

    def run(self, step):
        """Call step(self) until the deadline; it returns the requests it
        completed or raises on a failure."""
        while self.running():
            try:
                self.requests += step(self)
            except (OSError, Closed, ValueError, LookupError, TypeError, AttributeError) as e:
                self.fail(f"{type(e).__name__}: {e}")
        self.drop()
        self.report()
        return 0 if self.errors == 0 else 1


def check(cond, why):
    if not cond:
        raise ValueError(why)


# ------------------------------------------------------------- pipeline --

def references():
    """The bodies the pipelined GETs must return, fetched one at a time."""
    refs = {}
    conn = Conn()
    try:
        for path in ("/", "/healthz", "/style.css", "/about/"):
            conn.send(request("GET", path))
            status, _, body = conn.response()
            check(status == 200, f"reference GET {path}: status {status}")
            refs[path] = body
    finally:
        conn.close()
    return refs


def pipeline_step(load, refs, paths):
    """Ten GETs in one write; ten responses, in order, byte-exact."""
    conn = load.connection()
    batch = [paths[(load.requests // PIPELINE_DEPTH + i) % len(paths)] for i in range(PIPELINE_DEPTH)]
    load.doing = f"{PIPELINE_DEPTH} pipelined GETs"
    conn.send(b"".join(request("GET", p) for p in batch))
    for i, path in enumerate(batch):
        status, _, body = conn.response()
        check(status == 200 and body == refs[path], f"response {i + 1} ({path}): {status}, {short(body)}")
    return PIPELINE_DEPTH


def pipeline(load):
    refs = references()
    paths = sorted(refs)
    return load.run(lambda ld: pipeline_step(ld, refs, paths))


# --------------------------------------------------------------- upload --

def multipart(rng, n):
    """A two-part form (a text field and a file of about 1 MB); its bytes
    and the part list /upload must answer with (app/upload.c)."""
    data = rng.randbytes(rng.randint(UPLOAD_BYTES - 65536, UPLOAD_BYTES + 65536))
    note = f"soak upload {n}".encode()
    boundary = f"soak{rng.getrandbits(128):032x}"
    body = b"".join([
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n".encode(), note,
        f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"soak-{n}.bin\"\r\n"
        f"Content-Type: application/octet-stream\r\n\r\n".encode(), data,
        f"\r\n--{boundary}--\r\n".encode()])
    parts = [{"name": "note", "filename": "", "type": "text/plain", "size": len(note),
              "crc32": f"{zlib.crc32(note):08x}"},
             {"name": "file", "filename": f"soak-{n}.bin", "type": "application/octet-stream", "size": len(data),
              "crc32": f"{zlib.crc32(data):08x}"}]
    want = {"bytes": len(note) + len(data), "parts": parts, "truncated_list": False}
    return boundary, body, want


def upload_step(load, rng):
    boundary, body, want = multipart(rng, load.requests)
    load.doing = f"upload of {len(body)} bytes"
    conn = load.connection()
    conn.send(request("POST", "/upload", [f"Content-Type: multipart/form-data; boundary={boundary}"], body))
    status, _, reply = conn.response()
    check(status == 200, f"status {status}: {short(reply)}")
    check(json.loads(reply) == want, f"got {short(reply, 400)}, want {json.dumps(want)}")
    return 1


def upload(load):
    rng = random.Random(os.getpid())
    return load.run(lambda ld: upload_step(ld, rng))


# ----------------------------------------------------------------- echo --

def echo_body(rng):
    """Mostly small bodies, sometimes up to 512 KiB."""
    size = rng.randint(0, 16384) if rng.random() < 0.8 else rng.randint(16384, 512 * 1024)
    return rng.randbytes(size)


def chunked(rng, body):
    """The body in chunks of random sizes (RFC 9112 §7.1)."""
    out, i = [], 0
    while i < len(body):
        n = rng.randint(1, 32768)
        out.append(b"%x\r\n%s\r\n" % (len(body[i:i + n]), body[i:i + n]))
        i += n
    return b"".join(out) + b"0\r\n\r\n"


def echo_step(load, rng):
    body = echo_body(rng)
    ctype = f"application/x-soak-{load.requests}"
    headers = [f"Content-Type: {ctype}"]
    if rng.random() < 0.5:
        headers.append("Transfer-Encoding: chunked")
        wire = chunked(rng, body)
    else:
        wire = body
    load.doing = f"echo of {len(body)} bytes ({'chunked' if len(headers) > 1 else 'Content-Length'})"
    status, got_headers, echoed = load.connection().exchange(request("POST", "/echo", headers, wire))
    check(status == 200 and echoed == body and got_headers.get("content-type") == ctype,
          f"status {status}, {len(echoed)} bytes back, equal {echoed == body}, "
          f"Content-Type {got_headers.get('content-type')!r}")
    return 1


def echo(load):
    rng = random.Random(os.getpid() + 1)
    return load.run(lambda ld: echo_step(ld, rng))


# ---------------------------------------------------------------- users --

def call(conn, method, target, body=None):
    headers = ["Content-Type: application/json"] if body is not None else []
    conn.send(request(method, target, headers, None if body is None else json.dumps(body).encode()))
    status, headers, reply = conn.response()
    return status, headers, json.loads(reply) if reply else None


def users_step(load):
    """Create, read, replace, read, delete, read (404): one CRUD cycle,
    leaving the store as it found it."""
    conn = load.connection()
    n = load.requests
    load.doing = "CRUD cycle"
    user = {"name": f"soak {os.getpid()}-{n}", "email": f"soak{n}@example.test"}
    status, headers, created = call(conn, "POST", "/api/users", user)
    check(status == 201 and created and created.get("name") == user["name"], f"create: {status} {created}")
    path = re.sub(r"^https?://[^/]+", "", headers.get("location", ""))
    check(path == f"/api/users/{created['id']}", f"create: Location {headers.get('location')!r}")
    status, _, got = call(conn, "GET", path)
    check(status == 200 and got == created, f"read: {status} {got}, want {created}")
    user["email"] = f"replaced{n}@example.test"
    status, _, put = call(conn, "PUT", path, user)
    check(status == 200 and put == {"id": created["id"], **user}, f"replace: {status} {put}")
    status, _, got = call(conn, "GET", path)
    check(status == 200 and got == put, f"read after replace: {status} {got}, want {put}")
    status, _, _ = call(conn, "DELETE", path)
    check(status == 204, f"delete: {status}")
    status, _, _ = call(conn, "GET", path)
    check(status == 404, f"read after delete: {status}, want 404")
    return 6


def users(load):
    return load.run(users_step)


# ------------------------------------------------------------ malformed --

H = b"Host: x\r\n"
CHUNKED_ECHO = b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
# (what, request bytes): each must draw a 4xx, then the server hangs up.
MALFORMED = [
    ("Content-Length not a number", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: abc\r\n\r\nabc"),
    ("negative Content-Length", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\nabc"),
    ("two different Content-Lengths", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 5\r\n\r\nhello"),
    ("Content-Length beyond 64 bits", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\nab"),
    ("Content-Length with Transfer-Encoding (CL.TE)",
     b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("Transfer-Encoding in HTTP/1.0", b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    ("chunked not the final coding", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
    ("obs-fold continuation line", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: one\r\n two\r\n\r\n"),
    ("bare LF line endings", b"GET /healthz HTTP/1.1\nHost: x\n\n"),
    ("bare CR in a field value", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n"),
    ("control character in a field value", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: a\x01b\r\n\r\n"),
    ("space before the colon", b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n"),
    ("no Host", b"GET /healthz HTTP/1.1\r\n\r\n"),
    ("two Hosts", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ("a 70 KB header field", b"GET /healthz HTTP/1.1\r\n" + H + b"X-Big: " + b"x" * 70000 + b"\r\n\r\n"),
    ("1,000 header fields", b"GET /healthz HTTP/1.1\r\n" + H + b"".join(b"X-H%d: 1\r\n" % i for i in range(1000)) + b"\r\n"),
    ("a 20 KB request-target", b"GET /" + b"x" * 20000 + b" HTTP/1.1\r\n" + H + b"\r\n"),
    ("non-token method", b"G(T /healthz HTTP/1.1\r\n" + H + b"\r\n"),
    ("version HTTP/1.10", b"GET /healthz HTTP/1.10\r\n" + H + b"\r\n"),
    ("chunk size 'zz'", CHUNKED_ECHO + b"zz\r\nhello\r\n0\r\n\r\n"),
    ("negative chunk size", CHUNKED_ECHO + b"-5\r\nhello\r\n0\r\n\r\n"),
    ("chunk size beyond 64 bits", CHUNKED_ECHO + b"10000000000000000005\r\nhello\r\n0\r\n\r\n"),
    ("chunk data longer than its size", CHUNKED_ECHO + b"3\r\nhello\r\n0\r\n\r\n"),
    ("chunk extension ended by a bare LF", CHUNKED_ECHO + b"2;\nxx\r\n0\r\n\r\n"),
]


def malformed_step(load):
    what, raw = MALFORMED[load.requests % len(MALFORMED)]
    load.doing = f"malformed: {what}"
    time.sleep(MALFORMED_PAUSE)
    conn = Conn()
    load.conn = conn
    try:
        conn.send(raw)
    except OSError:
        pass  # the server may answer and hang up before reading all of it
    try:
        status, _, body = conn.response()
    except Closed as e:
        raise ValueError(f"no response: {e}") from None
    except socket.timeout:
        raise ValueError(f"no response within {IO_TIMEOUT} s (hang)") from None
    check(400 <= status < 500, f"status {status}, want 4xx: {short(body)}")
    closed, extra = conn.closed_within(IO_TIMEOUT)
    check(closed, f"{status}, then the connection stayed open {IO_TIMEOUT} s")
    check(not extra, f"bytes after the {status}: {short(extra)}")
    load.drop()
    return 1


def malformed(load):
    return load.run(malformed_step)


# -------------------------------------------------------------- metrics --

def metrics():
    """The gauges and counters soak.py samples, from one GET /metrics."""
    conn = Conn()
    try:
        conn.send(request("GET", "/metrics"))
        status, _, body = conn.response()
    finally:
        conn.close()
    check(status == 200, f"/metrics: status {status}")
    out = {}
    for line in body.decode().splitlines():
        if m := re.match(r"^keel_(\w+)(?:\{\w+=\"(\w+)\"\})? (\d+(?:\.\d+)?)$", line):
            key = m.group(1) + (f".{m.group(2)}" if m.group(2) else "")
            out[key] = float(m.group(3))
    print(json.dumps(out), flush=True)
    return 0


LOADS = {"pipeline": pipeline, "upload": upload, "echo": echo, "users": users, "malformed": malformed}


def main():
    if sys.argv[1:] == ["metrics"]:
        return metrics()
    kind, seconds = sys.argv[1], float(sys.argv[2])
    return LOADS[kind](Load(seconds))


if __name__ == "__main__":
    sys.exit(main())
