"""gzip: on-the-fly gzip of compressible responses (http/handler/gzip.c).
RFC 9110 §8.4.1.3 (the coding), §12.5.3 (Accept-Encoding), §12.5.5 (Vary),
RFC 1952 (the format: python's gzip module checks the CRC-32 and ISIZE);
the static site's precompressed variants and their ETags; the pool of 8
compressors. GZIP_SIZES goes out with the scenario's results.
"""
import gzip
import random
import re
import socket
import threading
import time
import zlib
from contextlib import ExitStack

from .api import echo_streaming
from .client import GUEST, PORT, Conn, Fail, check, expect, expect_status, get, request, short

GZIP_SIZES = {}  # path: [identity bytes, gzip bytes], reported with the results

def gunzip(r, what):
    expect(r.header("Content-Encoding") == "gzip", f"{what}: Content-Encoding {r.header('Content-Encoding')!r}: {r!r}")
    expect("accept-encoding" in r.tokens("Vary"), f"{what}: Vary {r.header('Vary')!r}")
    expect(r.chunked or r.header("Content-Length") == str(len(r.body)), f"{what}: neither chunked nor its length")
    try:
        return gzip.decompress(r.body)
    except (OSError, EOFError, zlib.error) as e:
        raise Fail(f"{what}: not a valid gzip member ({e}): {short(r.body)}")


def prometheus_problems(text):
    return [l for l in text.splitlines()
            if l and not l.startswith("# ") and not re.match(r"^[a-zA-Z_:][\w:]*(\{(\w+=\"[^\"]*\",?)*\})? -?[\d.e+]+$", l)]


@check("gzip", "GET /metrics with Accept-Encoding: gzip: Content-Encoding: gzip, Vary: Accept-Encoding, "
               "decompresses to valid Prometheus text (RFC 9110 §8.4.1.3, §12.5.5; RFC 1952)")
def _():
    r = get("/metrics", headers=["Accept-Encoding: gzip"])
    expect_status(r, 200)
    text = gunzip(r, "/metrics").decode()
    bad = prometheus_problems(text)
    expect("keel_http_requests_total" in text and not bad, f"malformed sample lines {bad[:3]}: {short(text)}")
    expect(len(r.body) < len(text) / 2, f"{len(text)} bytes of text came out as {len(r.body)} gzip bytes")
    GZIP_SIZES["/metrics"] = [len(text), len(r.body)]


@check("gzip", "Accept-Encoding variants: 'x-gzip', 'GZIP;q=0.5', 'br, gzip' get gzip; none, 'gzip;q=0', "
               "'identity', 'br' get identity, still with Vary: Accept-Encoding (RFC 9110 §12.5.3, §12.4.2)")
def _():
    for ae in ("x-gzip", "GZIP;q=0.5", "br, gzip", "deflate, gzip;q=1.0, *;q=0.5"):
        gunzip(get("/metrics", headers=[f"Accept-Encoding: {ae}"]), repr(ae))
    for ae in (None, "gzip;q=0", "gzip; q=0.000, br", "identity", "br"):
        r = get("/metrics", headers=[f"Accept-Encoding: {ae}"] if ae else [])
        expect(r.status == 200 and r.header("Content-Encoding") is None, f"{ae!r}: {r!r}")
        expect(b"keel_http_requests_total" in r.body, f"{ae!r}: body {short(r.body)}")
        expect("accept-encoding" in r.tokens("Vary"), f"{ae!r}: Vary {r.header('Vary')!r} on the identity response")


@check("gzip", "HEAD with Accept-Encoding: gzip: the same Content-Type, Content-Encoding, Vary and Content-Length "
               "as GET, no body (RFC 9110 §9.3.2)")
def _():
    with Conn() as c:
        for i in range(12):  # a list long enough to be worth compressing
            c.send(request("POST", "/api/users", ["Content-Type: application/json"],
                           b'{"name":"Gzip Tester %d","email":"gzip%d@example.com"}' % (i, i)))
            expect_status(c.read_response("POST"), 201, "create: ")
        for path in ("/api/users", "/metrics"):
            c.send(request("GET", path, ["Accept-Encoding: gzip"]))
            g = c.read_response("GET")
            c.send(request("HEAD", path, ["Accept-Encoding: gzip"]))
            h = c.read_response("HEAD")
            gunzip(g, f"GET {path}")
            for name in ("Content-Type", "Content-Encoding", "Vary"):
                expect(h.header(name) == g.header(name), f"{path}: {name} HEAD {h.header(name)!r} GET {g.header(name)!r}")
            expect(h.status == 200 and h.body == b"", f"{path}: HEAD {h!r}")
            if path == "/api/users":  # unchanged between the two: the lengths must agree
                expect(h.header("Content-Length") == g.header("Content-Length") is not None,
                       f"{path}: Content-Length HEAD {h.header('Content-Length')!r} GET {g.header('Content-Length')!r}")
            c.send(request("GET", "/healthz"))  # a body after the HEAD response would show up here
            n = c.read_response()
            expect(n.status == 200 and n.body == b"ok\n", f"the request after HEAD {path} got {n!r}")


@check("gzip", "POST /echo, 1 MiB of text/plain with Accept-Encoding: gzip: streamed back gzipped and chunked, "
               "decompresses to the request body (RFC 9112 §7.1)")
def _():
    rng = random.Random(12)
    words = [b"keel", b"unikernel", b"gzip", b"deflate", b"stream", b"chunk", b"window", b"\n"]
    body = b" ".join(rng.choice(words) for _ in range(200_000))[:1 << 20]
    with Conn(timeout=60) as c:
        r = echo_streaming(c, ["Content-Type: text/plain; charset=utf-8", "Accept-Encoding: gzip"], body)
        expect(r.status == 200 and r.chunked, f"got {r!r}")
        back = gunzip(r, "echo")
        expect(back == body, f"{len(back)} bytes back of {len(body)}")
        expect(len(r.body) < len(body) / 2, f"{len(body)} bytes came back as {len(r.body)} gzip bytes")
        GZIP_SIZES["/echo"] = [len(body), len(r.body)]
        # the connection is still in step: the next response is intact
        c.send(request("GET", "/healthz"))
        n = c.read_response()
        expect(n.status == 200 and n.body == b"ok\n", f"next request: {n!r}")


@check("gzip", "identity where gzip does not pay: binary types, bodies under 256 bytes, event streams "
               "(still flushed event by event), a Range request")
def _():
    body = bytes(range(256)) * 8
    r = get("/echo", "POST", ["Content-Type: application/octet-stream", "Accept-Encoding: gzip"], body)
    expect(r.status == 200 and r.header("Content-Encoding") is None and r.body == body, f"octet-stream: {r!r}")
    r = get("/echo", "POST", ["Content-Type: text/plain", "Accept-Encoding: gzip"], b"short text\n" * 20)
    expect(r.status == 200 and r.header("Content-Encoding") is None and r.body == b"short text\n" * 20,
           f"220-byte text: {r!r}")
    r = get("/healthz", headers=["Accept-Encoding: gzip"])
    expect(r.status == 200 and r.header("Content-Encoding") is None and r.body == b"ok\n", f"/healthz: {r!r}")
    with Conn() as c:
        c.send(request("GET", "/events?n=3&interval_ms=500", ["Accept-Encoding: gzip"]))
        while b"data: tick 1" not in c.buf:
            expect(c._recv(), "closed before the first event")
        first = time.monotonic()
        r = c.read_response()
        expect(r.header("Content-Encoding") is None and r.body.count(b"data: tick") == 3, f"/events: {r!r}")
        expect(time.monotonic() - first > 0.6, "the first event came with the last: buffered, not streamed")
    r = get("/", headers=["Accept-Encoding: gzip", "Range: bytes=0-99"])
    expect(r.status == 206 and r.header("Content-Encoding") is None and len(r.body) == 100, f"Range: {r!r}")


@check("gzip", "static files keep their precompressed variants: strong '-gz' ETag, Vary, the same bytes "
               "decompressed; If-None-Match with it -> 304 (RFC 9110 §8.8.3, §13.1.2)")
def _():
    for path in ("/", "/style.css"):
        plain = get(path)
        r = get(path, headers=["Accept-Encoding: gzip"])
        etag = plain.header("ETag") or ""
        expect(gunzip(r, path) == plain.body, f"{path}: the variant does not decompress to the file")
        expect(r.header("ETag") == etag[:-1] + '-gz"', f"{path}: ETag {r.header('ETag')!r}, identity {etag!r}")
        n = get(path, headers=["Accept-Encoding: gzip", f"If-None-Match: {r.header('ETag')}"])
        expect(n.status == 304 and n.body == b"", f"{path}: If-None-Match: {n!r}")


@check("gzip", "keep-alive and pipelining with gzip: responses stay framed and in order (RFC 9112 §9.3.2)")
def _():
    with Conn() as c:
        c.send(request("GET", "/metrics", ["Accept-Encoding: gzip"]) + request("GET", "/healthz")
               + request("GET", "/debug/tasks", ["Accept-Encoding: gzip"]) + request("GET", "/metrics"))
        r = c.read_response()
        expect(b"keel_http_requests_total" in gunzip(r, "first /metrics"), "first /metrics")
        r = c.read_response()
        expect(r.status == 200 and r.body == b"ok\n", f"/healthz: {r!r}")
        r = c.read_response()
        tasks = gunzip(r, "/debug/tasks") if r.header("Content-Encoding") else r.body
        expect(re.search(rb"^task \d+ \[", tasks, re.M), f"/debug/tasks: {short(tasks)}")
        r = c.read_response()
        expect(r.header("Content-Encoding") is None and b"keel_http_gzip_responses_total" in r.body, f"last: {r!r}")


@check("gzip", "more gzip responses at once than compressors (8): the rest go out identity and are counted; "
               "the compressors come back when those responses end")
def _():
    def counter(name):
        m = re.search(rb"^" + name.encode() + rb" (\d+)$", get("/metrics").body, re.M)
        expect(m, f"no {name} in /metrics")
        return int(m.group(1))
    before = counter("keel_http_gzip_no_compressor_total")
    rng = random.Random(8)
    body = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 \n") for _ in range(256 * 1024))
    conns, encodings, results = [], [], []
    try:
        for _ in range(10):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the echo blocks soon
            s.settimeout(30)
            s.connect((GUEST, PORT))
            c = Conn(sock=s)
            conns.append(c)
            # The body goes out from a thread: the server stops reading while its writes are blocked.
            threading.Thread(target=c.send, args=(request("POST", "/echo", ["Content-Type: text/plain",
                                                                             "Accept-Encoding: gzip"], body),),
                             daemon=True).start()
            while b"\r\n\r\n" not in c.buf:  # the head is out at the first flush; none has ended
                expect(c._recv(), "closed before the response head")
            encodings.append("gzip" if re.search(rb"(?im)^content-encoding: gzip\r$", c.buf) else "identity")
        expect(encodings == ["gzip"] * 8 + ["identity"] * 2, f"encodings {encodings}")
        after = counter("keel_http_gzip_no_compressor_total")
        expect(after == before + 2, f"keel_http_gzip_no_compressor_total {before} -> {after}")

        def finish(c):
            r = c.read_response("POST")
            results.append(r.status == 200 and (gzip.decompress(r.body) if r.header("Content-Encoding") else r.body)
                           == body)
        readers = [threading.Thread(target=finish, args=(c,), daemon=True) for c in conns]
        for t in readers:
            t.start()
        for t in readers:
            t.join(60)
        expect(results == [True] * 10, f"echoes complete and intact: {results}")
    finally:
        for c in conns:
            c.close()
    # Their end released the compressors: eight at once again.
    with ExitStack() as stack:
        cs = [stack.enter_context(Conn()) for _ in range(8)]
        for c in cs:
            c.send(request("GET", "/metrics", ["Accept-Encoding: gzip"]))
        got = [c.read_response().header("Content-Encoding") for c in cs]
    expect(got == ["gzip"] * 8, f"8 concurrent requests after those responses got {got}")
