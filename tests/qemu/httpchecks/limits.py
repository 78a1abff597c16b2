"""limits: the appliance booted with max_conns=50 max_header_bytes=4096
max_uri=1024 (http_tests.py passes the same values as key=value
arguments). 503 beyond max_conns while the others keep working; 414 for a
long request-target, 431 for a large header section, and the sizes just
below the limits served. The size checks carry the limits in their names,
so limits_checks() registers them once ARGS holds the values.
"""
import socket
import time

from .client import ARGS, Closed, Conn, check, expect, get, metrics, request, short, wait_quiet


@check("limits", "max_conns: the connection beyond max_conns gets 503 (or is refused) while the others "
                 "keep working (RFC 9110 §15.6.4)")
def _():
    cap = int(ARGS["max_conns"])
    n = wait_quiet()
    expect(n <= 1, f"server holds {n} connections before the test")
    conns = []
    try:
        for i in range(cap):
            c = Conn()
            conns.append(c)
            c.send(request("GET", "/healthz"))
            r = c.read_response()
            expect(r.status == 200, f"connection {i + 1} of {cap}: {r!r}")
        # One more: the server is full.
        outcome = None
        try:
            with Conn(timeout=5) as extra:
                # Refusal may come before we say anything; wait a moment.
                extra.sock.settimeout(1)
                try:
                    r = extra.read_response()
                except socket.timeout:
                    extra.sock.settimeout(5)
                    extra.send(request("GET", "/healthz"))
                    r = extra.read_response()
                outcome = r
        except Closed as e:
            expect(not e.partial, f"extra connection: truncated response {short(e.partial)}")
            outcome = "refused"
        except ConnectionRefusedError:
            outcome = "refused"
        expect(outcome == "refused" or outcome.status == 503, f"connection {cap + 1}: {outcome!r}")
        if outcome != "refused":
            expect(outcome.header("Retry-After") is not None, "503 without Retry-After (RFC 9110 §15.6.4 MAY, "
                                                             "but useful)")
        for i, c in enumerate(conns):
            c.send(request("GET", "/healthz"))
            r = c.read_response()
            expect(r.status == 200, f"connection {i + 1} after the refusal: {r!r}")
    finally:
        for c in conns:
            c.close()
    # Capacity comes back once connections close.
    end = time.monotonic() + 10
    while True:
        try:
            if get("/healthz", timeout=5).status == 200:
                break
        except (OSError, Closed):
            pass
        expect(time.monotonic() < end, "no 200 within 10 s after closing the connections")
        time.sleep(0.3)
    _, m = metrics()
    expect(m.get("keel_http_connections_refused_total", 0) >= 1,
           f"keel_http_connections_refused_total {m.get('keel_http_connections_refused_total')}")


def limit_check(name, raw, want, allow=(), closes=True):
    @check("limits", name)
    def _():
        with Conn(timeout=5) as c:
            try:
                c.send(raw)
            except OSError:
                pass  # the server may answer and close before reading all of it
            r = c.read_response()
            expect(r.status == want or r.status in allow, f"got {r!r}, want {want}")
            expect(b"xxxxxxxx" not in r.body, f"error body echoes the request: {short(r.body)}")
            if closes:
                closed, extra = c.wait_closed(5)
                expect(closed and not extra, f"closed {closed}, extra {short(extra)}")


def limits_checks():
    uri, hdr = int(ARGS["max_uri"]), int(ARGS["max_header_bytes"])
    limit_check(f"request-target longer than max_uri ({uri}) -> 414 (RFC 9112 §3, RFC 9110 §15.5.15)",
                request("GET", "/" + "x" * (2 * uri)), 414)
    limit_check(f"request-target just below max_uri is routed (/api/users/<{uri - 100} digits>: 404, not 414)",
                request("GET", "/api/users/" + "1" * (uri - 100)), 404, closes=False)
    limit_check(f"a long valid path below max_uri that names no file -> 404 (not 400 or 414)",
                request("GET", "/" + "x" * (uri - 100)), 404, closes=False)
    many = [f"X-Filler-{i}: {'x' * 90}" for i in range(hdr // 100 + 10)]
    limit_check(f"header section larger than max_header_bytes ({hdr}) -> 431 (RFC 6585 §5)",
                request("GET", "/healthz", many), 431)
    limit_check(f"one field line larger than max_header_bytes -> 431 (RFC 6585 §5)",
                request("GET", "/healthz", [f"X-Big: {'x' * (hdr + 100)}"]), 431)
    limit_check("header section at half of max_header_bytes is served (200)",
                request("GET", "/healthz", many[:hdr // 200]), 200, closes=False)
    limit_check("100 small header fields (more than the server keeps) -> 431 or 400 (RFC 6585 §5)",
                request("GET", "/healthz", [f"X-H{i}: 1" for i in range(100)]), 431, allow=(400,))
