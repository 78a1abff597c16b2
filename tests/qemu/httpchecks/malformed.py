"""Malformed and hostile requests.

  basic      error responses never reflect request text (no <script>)
  malformed  each broken request (Host, field syntax, Content-Length,
             Transfer-Encoding, chunk sizes, versions, request-line) gets a
             4xx/5xx, never a 2xx, and the connection closes (RFC 9110 §5,
             RFC 9112 §2-§7)
  smuggling  CL.TE, TE.CL, TE.TE and CL.CL desync payloads: at most one
             error response, then a close (RFC 9112 §6.1, §6.3, §11.2)
"""
import time

from .client import Closed, Conn, check, expect, request, short


@check("basic", "error responses never echo request text (no reflected <script>)")
def _():
    probes = [request("GET", "/%3Cscript%3Ealert(1)%3C/script%3E"),
              request("GET", "/<script>alert(1)</script>"),
              request("GET", "/healthz", ["X-<script>alert(1)</script>: 1"]),
              request("DELETE", "/<script>alert(1)</script>"),
              b"GET /<script>alert(1)</script> HTTP/9.9\r\nHost: x\r\n\r\n"]
    for raw in probes:
        with Conn() as c:
            c.send(raw)
            try:
                r = c.read_response()
            except Closed:
                continue  # hanging up echoes nothing either
            expect(r.status >= 400, f"{short(raw)}: got {r!r}")
            low = r.body.lower()
            expect(b"script" not in low and b"alert" not in low, f"{short(raw)}: body echoes it: {short(r.body)}")



# ============================================================== malformed ==
# Each request on a fresh connection: a 4xx/5xx (never a 2xx), the error
# body never echoes the request, and the server closes the connection.

def bad(name, raw, want=(400,), allow_silent_close=False, allow_ok=False, timeout=5):
    """A malformed-request check. `want`: acceptable statuses;
    allow_silent_close: hanging up without a response is acceptable too;
    allow_ok: the RFC also lets the server repair the message, so a correct
    200 is acceptable (and then the connection may stay open)."""
    @check("malformed", name)
    def _():
        with Conn(timeout=timeout) as c:
            c.send(raw)
            try:
                r = c.read_response()
            except Closed as e:
                expect(allow_silent_close and not e.partial, f"closed without a complete response: {short(e.partial)}")
                return
            if allow_ok and r.status == 200:
                return
            expect(r.status in want, f"got {r.status}, want {' or '.join(map(str, want))}: {short(r.raw_head + r.body)}")
            # The error text is ours, never the request's (no reflection).
            expect(raw.split(b"\r\n")[0] not in r.body, f"error body echoes the request line: {short(r.body)}")
            closed, extra = c.wait_closed(5)
            expect(closed, "connection still open 5 s after the error response")
            expect(not extra, f"more bytes after the error response: {short(extra)}")


H = b"Host: x\r\n"
bad("missing Host in HTTP/1.1 -> 400 (RFC 9112 §3.2)", b"GET /healthz HTTP/1.1\r\n\r\n")
bad("two Host fields -> 400 (RFC 9112 §3.2)", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
bad("Host with an invalid value 'a b' -> 400 (RFC 9112 §3.2)", b"GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n")
bad("whitespace before the colon -> 400 (RFC 9112 §5.1)", b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n")
bad("obs-fold line folding -> 400 (RFC 9112 §5.2)", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: one\r\n two\r\n\r\n")
bad("whitespace between the request-line and the first field -> 400 (RFC 9112 §2.2)",
    b"GET /healthz HTTP/1.1\r\n " + H + b"\r\n")
bad("field line without a colon -> 400 (RFC 9112 §5)", b"GET /healthz HTTP/1.1\r\n" + H + b"NoColonHere\r\n\r\n")
bad("empty field name -> 400 (RFC 9110 §5.1)", b"GET /healthz HTTP/1.1\r\n" + H + b": value\r\n\r\n")
bad("non-token character in a field name -> 400 (RFC 9110 §5.1)", b"GET /healthz HTTP/1.1\r\n" + H + b"X(a): 1\r\n\r\n")
bad("control character 0x01 in a field value -> 400 (RFC 9110 §5.5)",
    b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: a\x01b\r\n\r\n")
bad("DEL 0x7f in a field value -> 400 (RFC 9110 §5.5)", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: a\x7fb\r\n\r\n")
bad("NUL in a field value: rejected with 400 or replaced by SP (RFC 9110 §5.5)",
    b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", allow_ok=True)
bad("bare CR in a field value: rejected with 400 or replaced by SP (RFC 9112 §2.2)",
    b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n", allow_ok=True)
bad("bare LF line endings: 400, or served correctly (RFC 9112 §2.2 lets a recipient accept LF)",
    b"GET /healthz HTTP/1.1\nHost: x\n\n", allow_ok=True)
bad("Content-Length and Transfer-Encoding together -> 400 and close (RFC 9112 §6.1, §6.3)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
bad("two different Content-Lengths -> 400 (RFC 9112 §6.3 item 5)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 5\r\n\r\nhello")
bad("Content-Length list with different values '3, 5' -> 400 (RFC 9112 §6.3 item 5)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 3, 5\r\n\r\nhello")
for _v in (b"abc", b"-1", b"+3", b"0x10", b"1 2", b"3.0", b""):
    bad(f"Content-Length {_v.decode()!r} (not 1*DIGIT) -> 400 (RFC 9110 §8.6, RFC 9112 §6.3)",
        b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: " + _v + b"\r\n\r\nabc")
bad("Content-Length beyond 64 bits -> 400 or 413 (RFC 9110 §8.6)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\nabc", want=(400, 413))
# An unknown coding gets 501 (RFC 9112 §6.1, SHOULD) when chunked is final;
# when chunked is not final the length cannot be determined and §6.3 item 4
# says MUST 400, which wins over the SHOULD.
bad("Transfer-Encoding: gzip, chunked (unknown coding) -> 501 (RFC 9112 §6.1)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", want=(501,))
bad("Transfer-Encoding: gzip (chunked not final) -> 400 (RFC 9112 §6.3 item 4 MUST, over §6.1's SHOULD 501)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\nabc")
bad("Transfer-Encoding: chunked, gzip (chunked not final) -> 400 (RFC 9112 §6.3 item 4)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n")
bad("Transfer-Encoding: chunked twice -> 400 or 501 (RFC 9112 §7: chunked applied at most once)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    want=(400, 501))
bad("Transfer-Encoding in an HTTP/1.0 request -> 400 (RFC 9112 §6.1: framing is faulty)",
    b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
bad("chunk size 'zz' -> 400 or close, never 2xx (RFC 9112 §7.1)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    allow_silent_close=True)
bad("chunk size beyond 64 bits -> 400 or close, never 2xx (RFC 9112 §7.1)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n10000000000000000005\r\nhello\r\n0\r\n\r\n",
    allow_silent_close=True)
bad("chunk data longer than its size -> 400 or close, never 2xx (RFC 9112 §7.1)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
    allow_silent_close=True)
bad("negative chunk size '-5' -> 400 or close, never 2xx (RFC 9112 §7.1)",
    b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
    allow_silent_close=True)
bad("HTTP/2.0 request-line -> 505 (RFC 9110 §15.6.6)", b"GET /healthz HTTP/2.0\r\n" + H + b"\r\n", want=(505,))
bad("HTTP/3.0 request-line -> 505 (RFC 9110 §15.6.6)", b"GET /healthz HTTP/3.0\r\n" + H + b"\r\n", want=(505,))
for _v in (b"HTTP/1.10", b"HTTP/1", b"http/1.1", b"HTTP/1.1x", b"HTTP/11"):
    bad(f"version {_v.decode()!r} breaks HTTP-version = 'HTTP/' DIGIT '.' DIGIT -> 400 or 505 (RFC 9112 §2.3)",
        b"GET /healthz " + _v + b"\r\n" + H + b"\r\n", want=(400, 505))
bad("request-line without a version (HTTP/0.9 style) -> 400 or close (RFC 9112 §3)",
    b"GET /healthz\r\n\r\n", allow_silent_close=True)
bad("request-target not in origin-form ('healthz') -> 400 (RFC 9112 §3.2)", b"GET healthz HTTP/1.1\r\n" + H + b"\r\n")
bad("non-token character in the method -> 400 (RFC 9112 §3.1)", b"G(T /healthz HTTP/1.1\r\n" + H + b"\r\n")
bad("space inside the request-target -> 400 (RFC 9112 §3)", b"GET /heal thz HTTP/1.1\r\n" + H + b"\r\n",
    want=(400, 505))
bad("control character in the request-target -> 400 (RFC 9112 §3.2)", b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n")
# A TLS ClientHello has no CRLF: rejecting it at once is best, waiting for
# the header timeout (408, default 5 s) is acceptable.
bad("TLS ClientHello bytes instead of a request -> 400 (or 408, or close)",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40, want=(400, 408),
    allow_silent_close=True, timeout=12)


# ============================================================== smuggling ==
# Classic desync payloads (CL.TE, TE.CL, TE.TE obfuscations, CL.CL). Whatever
# the server decides, it must never answer the hidden request: exactly one
# response, then the connection closes (RFC 9112 §6.1, §6.3, §11.2).

def smuggle(name, raw):
    @check("smuggling", name)
    def _():
        with Conn(timeout=5) as c:
            c.send(raw)
            time.sleep(0.2)
            # A desynchronised server would see the hidden bytes prefixed to
            # this innocent follow-up request and answer twice.
            try:
                c.send(request("GET", "/healthz"))
            except OSError:
                pass
            got, rest = c.responses_until_close(timeout=4)
            closed, extra = c.wait_closed(2)
            statuses = [r.status for r in got]
            expect(len(got) <= 1, f"{len(got)} responses: {statuses}: {short(b''.join(r.raw_head for r in got))}")
            expect(not got or got[0].status >= 400, f"got {got[0]!r}")
            expect(not rest and not extra, f"stray bytes after the response: {short(rest + extra)}")
            expect(closed, "connection left open after the ambiguous request")


HIDDEN = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
smuggle("CL.TE: Content-Length covers a hidden request, Transfer-Encoding: chunked ends the body first",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s"
        % (5 + len(HIDDEN), HIDDEN))
smuggle("TE.CL: a chunk carries a hidden request, Content-Length: 4 ends the body first",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
        % (len(HIDDEN), HIDDEN))
smuggle("TE.TE: 'Transfer-Encoding: chunked' plus 'Transfer-Encoding: x'",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n"
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(HIDDEN), HIDDEN))
smuggle("TE.TE: 'Transfer-Encoding : chunked' (space before colon) with a Content-Length",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding : chunked\r\n\r\n"
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(HIDDEN), HIDDEN))
smuggle("TE.TE: 'Transfer-Encoding: xchunked' with a Content-Length",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: xchunked\r\n\r\n"
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(HIDDEN), HIDDEN))
smuggle("TE.TE: Transfer-Encoding hidden in an obs-fold continuation line",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n\r\n"
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(HIDDEN), HIDDEN))
smuggle("TE.TE: 'Transfer-Encoding:\\x0bchunked' (vertical tab) with a Content-Length",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding:\x0bchunked\r\n\r\n"
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(HIDDEN), HIDDEN))
smuggle("CL.CL: 'Content-Length: 0' then 'Content-Length: N' covering a hidden request",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: %d\r\n\r\n%s" % (len(HIDDEN), HIDDEN))
smuggle("chunk-size with a bare-LF terminated extension hiding a request",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;\nxx\r\n%x\r\n%s\r\n0\r\n\r\n"
        % (len(HIDDEN) + 2, HIDDEN))
