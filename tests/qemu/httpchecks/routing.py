"""basic, part 1: the routes answer and the method and path rules hold.
/healthz, / and /bytes (both ways); HEAD on GET routes; a Date and an X-Request-Id
on every status; 404 for unknown paths; 405 with Allow for a wrong or
unknown method; 301 from an unclean path to the clean one (RFC 9110 §9,
§15).
"""
from .client import GUEST, Conn, check, date_problem, expect, expect_status, get, request, short

@check("basic", "GET /healthz: 200 \"ok\\n\", text/plain, Content-Length: 3, not chunked (RFC 9110 §8.6)")
def _():
    r = get("/healthz")
    expect_status(r, 200)
    expect(r.body == b"ok\n", f"body {short(r.body)}")
    expect((r.header("Content-Type") or "").startswith("text/plain"), f"Content-Type {r.header('Content-Type')!r}")
    expect(r.header("Content-Length") == "3", f"Content-Length {r.header('Content-Length')!r}")
    expect(not r.chunked, "small response sent chunked")


@check("basic", "GET /: 200 HTML page with a Content-Length")
def _():
    r = get("/")
    expect_status(r, 200)
    expect((r.header("Content-Type") or "").startswith("text/html"), f"Content-Type {r.header('Content-Type')!r}")
    expect(b"<" in r.body and r.header("Content-Length") == str(len(r.body)),
           f"body {short(r.body, 80)}, Content-Length {r.header('Content-Length')!r}")


@check("basic", "every response has a Date (RFC 9110 §6.6.1) and an X-Request-Id: 200, 201, 204, 301, 404, 405, 415")
def _():
    seen, bad = [], []
    with Conn() as c:
        def one(method, target, headers=(), body=None):
            c.send(request(method, target, headers, body))
            r = c.read_response(method)
            seen.append(r)
            return r
        one("GET", "/healthz")
        created = one("POST", "/api/users", ["Content-Type: application/json"], b'{"name":"date-check"}')
        if created.status == 201 and created.header("Location"):
            one("DELETE", created.header("Location").split(GUEST, 1)[-1])
        one("GET", "//healthz")
        one("GET", "/no-such-page")
        one("DELETE", "/healthz")
        one("POST", "/api/users", ["Content-Type: text/plain"], b"x")
    for r in seen:
        why = date_problem(r.header("Date"))
        if why:
            bad.append(f"{r.status}: {why}")
        if not r.header("X-Request-Id"):
            bad.append(f"{r.status}: no X-Request-Id")
    ids = [r.header("X-Request-Id") for r in seen if r.header("X-Request-Id")]
    if len(set(ids)) != len(ids):
        bad.append(f"X-Request-Id values repeat: {ids}")
    statuses = sorted(r.status for r in seen)
    expect(statuses == [200, 201, 204, 301, 404, 405, 415], f"statuses {statuses}")
    expect(not bad, "; ".join(bad))


@check("basic", "HEAD on GET routes: same status, Content-Type and Content-Length as GET, no body (RFC 9110 §9.3.2)")
def _():
    with Conn() as c:
        for path in ("/", "/healthz", "/api/users", "/style.css"):
            c.send(request("GET", path))
            g = c.read_response("GET")
            c.send(request("HEAD", path))
            h = c.read_response("HEAD")
            expect(h.status == g.status, f"{path}: HEAD {h.status}, GET {g.status}")
            expect(h.header("Content-Type") == g.header("Content-Type"),
                   f"{path}: Content-Type HEAD {h.header('Content-Type')!r} GET {g.header('Content-Type')!r}")
            if g.header("Content-Length") is not None:
                expect(h.header("Content-Length") == g.header("Content-Length"),
                       f"{path}: Content-Length HEAD {h.header('Content-Length')!r} GET {g.header('Content-Length')!r}")
            # A body after the HEAD response would show up in front of this one.
            c.send(request("GET", "/healthz"))
            n = c.read_response("GET")
            expect(n.status == 200 and n.body == b"ok\n", f"{path}: the request after HEAD got {n!r}")
    h = get("/events?n=1&interval_ms=10", method="HEAD")
    expect(h.status == 200 and h.header("Content-Type") == "text/event-stream", f"HEAD /events: {h!r}")


@check("basic", "GET /bytes/{n}: exactly n zero bytes with Content-Length; a bad or huge n -> 400")
def _():
    r = get("/bytes/300000")
    expect_status(r, 200)
    expect(r.header("Content-Length") == "300000" and r.body == bytes(300000),
           f"Content-Length {r.header('Content-Length')}, {len(r.body)} body bytes")
    for bad in ("/bytes/x1", "/bytes/1073741825", "/bytes/99999999999999999999"):
        expect_status(get(bad), 400, f"{bad}: ")


@check("basic", "POST /bytes: the body's length back, Content-Length or chunked; a malformed chunked body -> 400")
def _():
    body = bytes(range(256)) * 1200
    r = get("/bytes", "POST", body=body)
    expect_status(r, 200)
    expect(r.body == f'{{"bytes":{len(body)}}}\n'.encode(), f"body {short(r.body)}")
    r = get("/bytes", "POST", ["Transfer-Encoding: chunked"], b"5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n")
    expect(r.status == 200 and r.body == b'{"bytes":8}\n', f"chunked: {r.status} {short(r.body)}")
    r = get("/bytes", "POST", ["Transfer-Encoding: chunked"], b"zz\r\nhello\r\n0\r\n\r\n")
    expect_status(r, 400, "bad chunk size: ")


@check("basic", "unknown path -> 404 (RFC 9110 §15.5.5)")
def _():
    for path in ("/no/such/page", "/api/nothing", "/healthzz"):
        expect_status(get(path), 404, f"{path}: ")


@check("basic", "wrong method -> 405 with an Allow header listing the route's methods (RFC 9110 §15.5.6)")
def _():
    for method, path, allowed in (("DELETE", "/healthz", "get"), ("POST", "/metrics", "get"),
                                  ("PUT", "/echo", "post"), ("PATCH", "/api/users", "post")):
        r = get(path, method=method, body=b"" if method in ("PUT", "PATCH") else None)
        expect_status(r, 405, f"{method} {path}: ")
        expect(allowed in r.tokens("Allow"), f"{method} {path}: Allow {r.header('Allow')!r} lacks {allowed.upper()}")


@check("basic", "unknown method FOO on the GET-only /healthz -> 405 with Allow: GET (RFC 9110 §15.5.6)")
def _():
    r = get("/healthz", method="FOO")
    expect_status(r, 405)
    expect("get" in r.tokens("Allow"), f"Allow {r.header('Allow')!r}")


@check("basic", "unclean paths -> 301 to the clean one (//healthz, /api/../healthz, /./healthz -> /healthz, "
                "query kept), a directory without its slash -> 301 to /about/ (RFC 9110 §15.4.2)")
def _():
    for path, want in (("//healthz", "/healthz"), ("/api/../healthz", "/healthz"), ("/./healthz", "/healthz"),
                       ("//healthz?x=1&y=2", "/healthz?x=1&y=2"), ("/about", "/about/")):
        r = get(path)
        expect_status(r, 301, f"{path}: ")
        loc = r.header("Location") or ""
        expect(loc in (want, f"http://{GUEST}{want}"), f"{path}: Location {loc!r}, want {want!r}")
        if loc.startswith("/"):
            r = get(loc)
            expect_status(r, 200, f"following {path} -> {loc}: ")


@check("basic", "OPTIONS * (asterisk-form): 200, empty body, Allow lists every method the appliance serves "
                "(RFC 9110 §9.3.7)")
def _():
    r = get("*", method="OPTIONS")
    expect_status(r, 200)
    expect(r.body == b"" and r.header("Content-Length") == "0",
           f"body {short(r.body)}, Content-Length {r.header('Content-Length')!r}")
    allow = set(r.tokens("Allow"))
    want = {"get", "head", "post", "put", "delete", "options"}
    expect(allow == want, f"Allow {r.header('Allow')!r}, want {sorted(want)}")
    r = get("*", method="GET")
    expect(r.status == 400, f"GET * answered {r.status}, want 400 (asterisk-form is for OPTIONS only)")


@check("basic", "a redirect keeps the whole query or refuses: /about?k=v*500 -> 301 with all of it, "
                "/about?k=v*1000 -> 414, never a cut Location")
def _():
    for n, status in ((500, 301), (1000, 414)):
        r = get("/about?k=" + "v" * n)
        expect_status(r, status, f"query of {n + 2} bytes: ")
        if status == 301:
            loc = r.header("Location") or ""
            want = "/about/?k=" + "v" * n
            expect(loc in (want, f"http://{GUEST}{want}"), f"Location of {len(loc)} bytes, want {len(want)}")
        else:
            expect(r.header("Location") is None, f"414 with a Location {short((r.header('Location') or '').encode())}")
