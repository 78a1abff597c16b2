"""basic, part 2: message syntax and connection management (RFC 9112 §2,
§3, §5, §9). Case-sensitive methods, absolute-form targets, HTTP/1.2 and
HTTP/1.0, field-name case and OWS, persistence and Connection: close,
pipelining (behind a stream too), request heads split byte by byte, 1,000
requests on one connection, a body sent to GET skipped.
"""
import socket
import time

from .client import GUEST, Conn, check, expect, expect_status, get, request, short

@check("basic", "methods are case-sensitive: 'get /healthz' is not GET (RFC 9110 §9.1)")
def _():
    r = get("/healthz", method="get")
    expect(r.status in (400, 405, 501), f"got {r!r}")


@check("basic", "request-target in absolute-form is accepted (RFC 9112 §3.2.2: a server MUST accept it)")
def _():
    r = get(f"http://{GUEST}/healthz")
    expect(r.status == 200 and r.body == b"ok\n", f"got {r!r}")


@check("basic", "HTTP/1.2 is handled as HTTP/1.1 and answered as HTTP/1.1 (RFC 9110 §2.5)")
def _():
    with Conn() as c:
        c.send(request("GET", "/healthz", version="1.2"))
        r = c.read_response()
        expect(r.status == 200 and r.body == b"ok\n", f"got {r!r}")
        expect(r.version == "HTTP/1.1", f"answered as {r.version}")
        # Handled as 1.1, it is persistent by default.
        c.send(request("GET", "/healthz", version="1.2"))
        expect_status(c.read_response(), 200, "second request: ")


@check("basic", "an empty line before the request-line is ignored (RFC 9112 §2.2)")
def _():
    with Conn() as c:
        c.send(b"\r\n" + request("GET", "/healthz"))
        r = c.read_response()
        expect(r.status == 200 and r.body == b"ok\n", f"got {r!r}")


@check("basic", "field names are case-insensitive, OWS around values is ignored (RFC 9110 §5.1, §5.5)")
def _():
    with Conn() as c:
        c.send(b"GET /healthz HTTP/1.1\r\nhOsT: \t" + GUEST.encode() + b" \t\r\n\r\n")
        r = c.read_response()
        expect(r.status == 200, f"got {r!r}")
        c.send(b"POST /echo HTTP/1.1\r\nHOST: x\r\ncontent-length:  5 \r\nCONTENT-TYPE: text/x-a\r\n\r\nhello")
        r = c.read_response()
        expect(r.status == 200 and r.body == b"hello", f"echo: {r!r}")
        expect(r.header("Content-Type") == "text/x-a", f"echo Content-Type {r.header('Content-Type')!r}")


@check("basic", "HTTP/1.1 is persistent by default: two requests on one connection (RFC 9112 §9.3)")
def _():
    with Conn() as c:
        for i in range(2):
            c.send(request("GET", "/healthz"))
            r = c.read_response()
            expect(r.status == 200 and r.body == b"ok\n", f"request {i + 1}: {r!r}")
            expect("close" not in r.tokens("Connection"), f"request {i + 1}: Connection {r.header('Connection')!r}")


@check("basic", "HTTP/1.0 without keep-alive: answered, then the server closes (RFC 9112 §9.3)")
def _():
    with Conn() as c:
        c.send(b"GET /healthz HTTP/1.0\r\n\r\n")
        r = c.read_response()
        expect(r.status == 200 and r.body == b"ok\n", f"got {r!r}")
        expect("keep-alive" not in r.tokens("Connection"), f"Connection {r.header('Connection')!r}")
        closed, extra = c.wait_closed(5)
        expect(closed and not extra, f"closed {closed}, extra bytes {short(extra)}")


@check("basic", "HTTP/1.0 with Connection: keep-alive: response says keep-alive, connection persists (RFC 9112 §C.2.2)")
def _():
    with Conn() as c:
        for i in range(2):
            c.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
            expect(r.status == 200 and r.body == b"ok\n", f"request {i + 1}: {r!r}")
            expect("keep-alive" in r.tokens("Connection"), f"request {i + 1}: Connection {r.header('Connection')!r}")
            expect(r.header("Content-Length") == "3", f"request {i + 1}: no Content-Length, cannot persist")


@check("basic", "HTTP/1.0 keep-alive client, stream of unknown length: close-delimited, never chunked (RFC 9112 §6.1, §6.3)")
def _():
    with Conn() as c:
        c.send(b"GET /events?n=2&interval_ms=50 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        expect(r.status == 200, f"got {r!r}")
        expect(not r.header("Transfer-Encoding"), f"Transfer-Encoding {r.header('Transfer-Encoding')!r} to HTTP/1.0")
        expect(r.body.count(b"data: tick") == 2, f"body {short(r.body)}")


@check("basic", "Connection: close is honoured: the response says close and the server closes (RFC 9112 §9.6)")
def _():
    with Conn() as c:
        c.send(request("GET", "/healthz", ["Connection: close"]))
        r = c.read_response()
        expect(r.status == 200, f"got {r!r}")
        expect("close" in r.tokens("Connection"), f"Connection {r.header('Connection')!r}")
        closed, extra = c.wait_closed(5)
        expect(closed and not extra, f"closed {closed}, extra bytes {short(extra)}")


@check("basic", "pipelining: four requests in one write are answered in order (RFC 9112 §9.3.2)")
def _():
    with Conn() as c:
        c.send(request("GET", "/healthz") + request("HEAD", "/healthz") + request("GET", "/pipelined-404")
               + request("POST", "/echo", ["Content-Type: text/plain"], b"fourth"))
        got = [c.read_response(m) for m in ("GET", "HEAD", "GET", "POST")]
        want = [(200, b"ok\n"), (200, b""), (404, None), (200, b"fourth")]
        for i, (r, (status, body)) in enumerate(zip(got, want)):
            expect(r.status == status and (body is None or r.body == body), f"response {i + 1}: {r!r}")


@check("basic", "pipelining behind a streamed (chunked) response and a 404: answered in order (RFC 9112 §9.3.2)")
def _():
    with Conn() as c:
        c.send(request("GET", "/events?n=3&interval_ms=50") + request("GET", "/nope-after-stream")
               + request("GET", "/healthz"))
        r = c.read_response()
        expect(r.status == 200 and r.chunked and r.body.count(b"data: tick") == 3, f"stream: {r!r}")
        expect_status(c.read_response(), 404, "second: ")
        r = c.read_response()
        expect(r.status == 200 and r.body == b"ok\n", f"third: {r!r}")


@check("basic", "a request head arriving byte by byte, or split at each CR and LF, is parsed (RFC 9112 §2.2)")
def _():
    head = request("GET", "/healthz", ["X-Split: yes"])
    with Conn() as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in head:
            c.send(bytes([b]))
            time.sleep(0.003)
        r = c.read_response()
        expect(r.status == 200 and r.body == b"ok\n", f"byte by byte: {r!r}")
        for i in (i for i, b in enumerate(head) if b in b"\r\n"):
            c.send(head[:i + 1])
            time.sleep(0.03)
            c.send(head[i + 1:])
            r = c.read_response()
            expect(r.status == 200 and r.body == b"ok\n", f"split after byte {i} ({short(head[:i + 1][-6:])}): {r!r}")
        # The body in its own segment, after a pause.
        c.send(request("POST", "/echo", ["Content-Length: 5"]))
        time.sleep(0.05)
        c.send(b"hello")
        r = c.read_response("POST")
        expect(r.status == 200 and r.body == b"hello", f"body after the head: {r!r}")


@check("basic", "1,000 sequential requests on one keep-alive connection")
def _():
    with Conn() as c:
        for i in range(1000):
            c.send(request("GET", "/healthz"))
            r = c.read_response()
            expect(r.status == 200 and r.body == b"ok\n", f"request {i + 1}: {r!r}")


@check("basic", "a body sent to GET /healthz is skipped: the next request on the connection works (RFC 9112 §6.3)")
def _():
    with Conn() as c:
        c.send(request("GET", "/healthz", body=b"GET /smuggled HTTP/1.1\r\n\r\n") + request("GET", "/healthz"))
        for i in range(2):
            r = c.read_response()
            expect(r.status == 200 and r.body == b"ok\n", f"response {i + 1}: {r!r}")
