"""basic, part 3: the appliance's API. POST /echo with Content-Length,
chunked (extensions, trailers, tiny pieces) and 2 MB streamed bodies;
Expect: 100-continue and 413; /api/users create, read, list, replace,
delete and its 400, 415 and 404; JSON replies of /api/users and /upload
with hostile strings (every byte escaped, nothing cut, RFC 8259 §7);
/metrics in Prometheus text format; /debug/tasks. echo_streaming is shared with the gzip checks.
"""
import json
import random
import re
import socket
import threading
import time
import zlib

from .client import GUEST, Conn, Fail, check, expect, expect_status, get, metrics, request, short

@check("basic", "POST /echo: Content-Length body echoed byte-exact with its Content-Type")
def _():
    body = bytes(range(256)) * 4
    r = get("/echo", "POST", ["Content-Type: application/x-keel-test"], body)
    expect(r.status == 200 and r.body == body, f"got {r.status}, {len(r.body)} bytes back of {len(body)}")
    expect(r.header("Content-Type") == "application/x-keel-test", f"Content-Type {r.header('Content-Type')!r}")
    r = get("/echo", "POST", [], b"")
    expect(r.status == 200 and r.body == b"" and r.header("Content-Length") == "0", f"empty body: {r!r}")


def echo_streaming(c, headers, body):
    """POST body to /echo on c while reading the response: the echo
    streams, so a client that only wrote would fill both directions'
    windows and stall. The response."""
    errs = []

    def send():
        try:
            c.send(request("POST", "/echo", headers, body))
        except OSError as e:
            errs.append(e)
    t = threading.Thread(target=send)
    t.start()
    r = c.read_response("POST")
    t.join(60)
    expect(not errs, f"send failed: {errs}")
    return r


@check("basic", "POST /echo: a 2 MB body (beyond the 1 MiB server default, within the route's 64 MiB) "
                "comes back byte-exact, chunked (RFC 9112 §7.1)")
def _():
    body = random.Random(9112).randbytes(2_000_000)
    with Conn(timeout=60) as c:
        r = echo_streaming(c, ["Content-Type: application/octet-stream"], body)
    expect(r.status == 200, f"got {r!r}")
    expect(r.body == body, f"{len(r.body)} bytes back of {len(body)}, "
                           f"{'content differs' if len(r.body) == len(body) else 'length differs'}")
    expect(r.chunked or r.header("Content-Length") == str(len(body)), "neither chunked nor a correct Content-Length")


@check("basic", "POST /echo: chunked request body with chunk extensions and a trailer is decoded; "
                "the pipelined next request is intact (RFC 9112 §7.1, §7.1.1, §7.1.2)")
def _():
    chunked = (b"5;ext=1\r\nhello\r\n"
               b"00A;a=b;c=\"quoted;\\\"x\"\r\n world ok!\r\n"
               b"1\r\n\n\r\n"
               b"0;last\r\nX-Trailer: t1\r\nX-Other: t2\r\n\r\n")
    with Conn() as c:
        c.send(request("POST", "/echo", ["Transfer-Encoding: chunked", "Content-Type: text/plain"]) + chunked
               + request("GET", "/healthz"))
        r = c.read_response("POST")
        expect(r.status == 200 and r.body == b"hello world ok!\n", f"echo: {r!r}")
        r = c.read_response()
        expect(r.status == 200 and r.body == b"ok\n", f"pipelined request after the trailer: {r!r}")


@check("basic", "POST /echo: chunked request body sent in tiny pieces is reassembled (RFC 9112 §7.1)")
def _():
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (b"a", b"bc", b"def", b"x" * 300)) + b"0\r\n\r\n"
    with Conn() as c:
        c.send(request("POST", "/echo", ["Transfer-Encoding: chunked"]))
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(chunked), 7):
            c.send(chunked[i:i + 7])
            time.sleep(0.002)
        r = c.read_response("POST")
        expect(r.status == 200 and r.body == b"abcdef" + b"x" * 300, f"got {r!r}")


@check("basic", "Expect: 100-continue on POST /echo: 100 Continue first, then 200 (RFC 9110 §10.1.1)")
def _():
    with Conn() as c:
        c.send(request("POST", "/echo", ["Expect: 100-continue", "Content-Length: 11"]))
        c.sock.settimeout(5)
        first = c.read_interim_or_final("POST")
        expect(first.status == 100, f"want 100 Continue before the body is sent, got {first!r}")
        expect(first.raw_head.startswith(b"HTTP/1.1 100 "), f"interim {short(first.raw_head)}")
        c.send(b"hello world")
        r = c.read_response("POST")
        expect(r.status == 200 and r.body == b"hello world", f"final: {r!r}")


@check("basic", "Expect: 100-continue with a 10000-byte body for /api/users (limit 4096): 413 and no 100 "
                "(RFC 9110 §10.1.1, §15.5.14)")
def _():
    with Conn() as c:
        c.send(request("POST", "/api/users", ["Expect: 100-continue", "Content-Type: application/json",
                                              "Content-Length: 10000"]))
        c.sock.settimeout(5)
        first = c.read_interim_or_final("POST")
        expect(first.status == 413, f"want 413 without a 100, got {first!r}")


@check("basic", "Expect: 100-continue on a handler that never reads the body: no 100, just the 200 (RFC 9110 §10.1.1)")
def _():
    with Conn() as c:
        c.send(request("GET", "/healthz", ["Expect: 100-continue", "Content-Length: 5"]))
        c.sock.settimeout(5)
        first = c.read_interim_or_final()
        expect(first.status == 200 and first.body == b"ok\n", f"got {first!r}")


@check("basic", "POST /echo with Content-Length beyond the route's 64 MiB -> 413 before any body is sent "
                "(RFC 9110 §15.5.14)")
def _():
    with Conn(timeout=5) as c:
        c.send(request("POST", "/echo", [f"Content-Length: {64 * 1024 * 1024 + 1}"]))
        r = c.read_response("POST")
        expect_status(r, 413)


def user_json(r, what):
    try:
        return json.loads(r.body)
    except ValueError:
        raise Fail(f"{what}: body is not JSON: {short(r.body)}")


@check("basic", "/api/users: create (201 + Location), read, list, replace, delete (204), then 404 (RFC 9110 §9.3, §15.3.2)")
def _():
    with Conn() as c:
        def call(method, target, body=None, ct="application/json"):
            c.send(request(method, target, [f"Content-Type: {ct}"] if body is not None else [], body))
            return c.read_response(method)
        r = call("GET", "/api/users")
        expect(r.status == 200 and isinstance(user_json(r, "list"), list), f"list: {r!r}")
        expect((r.header("Content-Type") or "").startswith("application/json"), f"list Content-Type {r.header('Content-Type')!r}")
        r = call("POST", "/api/users", b'{"name":"Ada Lovelace","email":"ada@example.com"}')
        expect_status(r, 201, "create: ")
        loc = r.header("Location") or ""
        m = re.match(rf"^(http://{re.escape(GUEST)})?(/api/users/(\d+))$", loc)
        expect(m, f"create: Location {loc!r}")
        path, uid = m.group(2), int(m.group(3))
        u = user_json(r, "create")
        expect(u.get("id") == uid and u.get("name") == "Ada Lovelace" and u.get("email") == "ada@example.com",
               f"create: body {u}")
        r = call("GET", path)
        expect(r.status == 200 and user_json(r, "get") == u, f"get: {r!r}")
        r = call("GET", "/api/users")
        expect(r.status == 200 and u in user_json(r, "list"), f"list lacks the new user: {r!r}")
        r = call("PUT", path, b'{"name":"Ada King","email":"ada@analytical.engine"}')
        expect(r.status == 200 and user_json(r, "put").get("name") == "Ada King", f"put: {r!r}")
        r = call("GET", path)
        expect(r.status == 200 and user_json(r, "get after put").get("email") == "ada@analytical.engine", f"get: {r!r}")
        r = call("DELETE", path)
        expect(r.status == 204 and r.body == b"", f"delete: {r!r}")
        r = call("GET", path)
        expect_status(r, 404, "get after delete: ")
        r = call("DELETE", path)
        expect_status(r, 404, "delete twice: ")
        r = call("GET", "/api/users")
        expect(all(x.get("id") != uid for x in user_json(r, "list")), "deleted user still listed")


@check("basic", "/api/users: invalid JSON -> 400, missing name -> 400 (RFC 9110 §15.5.1)")
def _():
    for body in (b"{not json", b'{"name":', b"[1,2]", b'{"email":"a@b.c"}', b'{"name":""}', b'{"name":42}', b""):
        r = get("/api/users", "POST", ["Content-Type: application/json"], body)
        expect_status(r, 400, f"{short(body)}: ")


@check("basic", "/api/users: non-JSON Content-Type -> 415 (RFC 9110 §15.5.16)")
def _():
    for ct in ("text/plain", "application/x-www-form-urlencoded"):
        r = get("/api/users", "POST", [f"Content-Type: {ct}"], b'{"name":"x"}')
        expect_status(r, 415, f"{ct}: ")


@check("basic", "/api/users/{id}: unknown id -> 404 for GET, PUT, DELETE")
def _():
    for method in ("GET", "PUT", "DELETE"):
        for uid in ("999999", "0", "abc"):
            body = b'{"name":"n"}' if method == "PUT" else None
            r = get(f"/api/users/{uid}", method, ["Content-Type: application/json"] if body else [], body)
            expect_status(r, 404, f"{method} /api/users/{uid}: ")


# ---- JSON output: every string escaped whole (app/json.c) ----
# Regressions from an outside adversarial suite: strings were quoted into
# fixed stack buffers smaller than their escaped size, so replies (and the
# stored users behind later lists) came back cut, unterminated and followed
# by stack bytes; a long upload reply was cut at 511 bytes by http_printf.


def json_body(r, what):
    """The body parsed strictly: UTF-8 (RFC 8259 §8.1), exactly one value."""
    try:
        return json.loads(r.body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is one
        raise Fail(f"{what}: body is not UTF-8 JSON: {short(r.body)}")


def create_user(body, what):
    """POST body to /api/users; (path, user) of the 201."""
    r = get("/api/users", "POST", ["Content-Type: application/json"], body)
    expect_status(r, 201, f"{what}: ")
    u = json_body(r, what)
    m = re.match(r"^(?:http://[^/]+)?(/api/users/(\d+))$", r.header("Location") or "")
    expect(m and u.get("id") == int(m.group(2)), f"{what}: Location {r.header('Location')!r}, body {u}")
    return m.group(1), u


@check("basic", "/api/users: control characters (40 x \\u0001 in name, 100 x \\u001f in email, 63 + 127 at "
       "the limits), quotes, backslashes, DEL, surrogate pairs: stored and returned whole as valid JSON in "
       "the 201, GET and the list (RFC 8259 §7, §8.1)")
def _():
    bodies = [  # (request body, name, email) the first two byte for byte as reported
        (b'{"name":"' + b"\\u0001" * 40 + b'","email":"e@x"}', "\x01" * 40, "e@x"),
        (b'{"name":"n","email":"' + b"\\u001f" * 100 + b'"}', "n", "\x1f" * 100),
    ]
    for name, email in (("\x01" * 63, "\x1f" * 127), ('"\\' * 31 + "\x7f", "\U0001F600 caf\u00e9 \u2028\t\n")):
        bodies.append((json.dumps({"name": name, "email": email}).encode(), name, email))
    made = []
    try:
        for body, name, email in bodies:
            what = f"POST {short(body, 60)}"
            path, u = create_user(body, what)
            made.append(path)
            expect(u.get("name") == name and u.get("email") == email, f"{what}: 201 body {u!r}")
            r = get(path)
            expect(r.status == 200 and json_body(r, f"GET {path}") == u, f"GET {path}: {short(r.body)}")
        r = get("/api/users")
        users = json_body(r, "GET /api/users")
        for (body, name, email), path in zip(bodies, made):
            expect(any(x.get("name") == name and x.get("email") == email for x in users),
                   f"list lacks {short(body, 60)}: {short(r.body)}")
    finally:
        for path in made:
            get(path, "DELETE")


@check("basic", "/api/users: a name over 63 bytes or an email over 127 (UTF-8 counted), U+0000, invalid "
       "UTF-8, a lone surrogate -> 400 with a JSON reason, nothing stored (never cut to fit)")
def _():
    before = len(json_body(get("/api/users"), "list before"))
    for body, reason in ((b'{"name":"' + b"a" * 64 + b'"}', "63"),
                         (b'{"name":"' + b"\\u00e9" * 32 + b'"}', "63"),  # 64 bytes of UTF-8
                         (b'{"name":"n","email":"' + b"e" * 128 + b'"}', "127"),
                         (b'{"name":"a\\u0000b"}', "U+0000"),
                         (b'{"name":"caf\xe9"}', "UTF-8"),
                         (b'{"name":"\\ud800"}', "JSON")):
        r = get("/api/users", "POST", ["Content-Type: application/json"], body)
        expect_status(r, 400, f"{short(body, 60)}: ")
        err = json_body(r, f"{short(body, 60)}: 400").get("error")
        expect(isinstance(err, str) and reason in err, f"{short(body, 60)}: error {err!r} does not say {reason}")
    path, u = create_user(b'{"name":"' + b"\\u00e9" * 31 + b'a"}', "63 bytes of UTF-8")
    get(path, "DELETE")
    expect(u.get("name") == "\u00e9" * 31 + "a", f"63 bytes: {u!r}")
    after = len(json_body(get("/api/users"), "list after"))
    expect(after == before, f"{after - before} users stored by rejected requests")


BOUNDARY = "keel-json-check"


def upload(parts):
    """POST /upload with parts (raw Content-Disposition parameters, raw
    Content-Type or None, data); the response."""
    body = b""
    for disp, ctype, data in parts:
        body += b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-data; " + disp + b"\r\n"
        body += b"Content-Type: " + ctype + b"\r\n" if ctype is not None else b""
        body += b"\r\n" + data + b"\r\n"
    body += b"--" + BOUNDARY.encode() + b"--\r\n"
    return get("/upload", "POST", [f"Content-Type: multipart/form-data; boundary={BOUNDARY}"], body)


def expect_parts(r, what, want):
    """The /upload reply lists exactly `want` (name, filename, type, data)."""
    expect_status(r, 200, f"{what}: ")
    reply = json_body(r, what)
    got = [(p.get("name"), p.get("filename"), p.get("type"), p.get("size"), p.get("crc32"))
           for p in reply.get("parts", [])]
    exp = [(n, f, t, len(d), f"{zlib.crc32(d):08x}") for n, f, t, d in want]
    expect(got == exp and reply.get("bytes") == sum(len(w[3]) for w in want)
           and reply.get("truncated_list") is False, f"{what}: got {short(r.body, 600)}")


@check("basic", "POST /upload: a part named with 60 tabs, and one with a name of 63 escaped quotes, a filename "
       "of 127 backslashes and a Content-Type of 63 backslashes: 200, valid JSON, every string whole, size "
       "and crc32 present (RFC 7578 §4.2, RFC 8259 §7)")
def _():
    r = upload([(b'name="' + b"\t" * 60 + b'"', None, b"hello")])
    expect_parts(r, "60 tabs", [("\t" * 60, "", "text/plain", b"hello")])
    data = bytes(range(256)) * 3
    r = upload([(b'name="' + b'\\"' * 63 + b'"; filename="' + b"\\\\" * 127 + b'"', b"\\" * 63, data)])
    expect(len(r.body) > 512, f"reply of {len(r.body)} bytes: the escaped strings alone are over 500")
    expect_parts(r, "quotes and backslashes", [('"' * 63, "\\" * 127, "\\" * 63, data)])


@check("basic", "POST /upload: a 600-byte UTF-8 filename comes back whole; a Latin-1 one gets U+FFFD for the "
       "byte that is not UTF-8 (RFC 8259 §8.1); a part header over 1024 bytes -> 400")
def _():
    long_name = "\u00e9" * 300
    r = upload([(b'name="f"; filename="' + long_name.encode() + b'"', b"application/octet-stream", b"x"),
                (b'name="g"; filename="caf\xe9.txt"', None, b"")])
    expect_parts(r, "long and Latin-1 filenames", [("f", long_name, "application/octet-stream", b"x"),
                                                   ("g", "caf\ufffd.txt", "text/plain", b"")])
    r = upload([(b'name="' + b"a" * 1100 + b'"', None, b"x")])
    expect(r.status == 400 and b"1024" in r.body, f"1100-byte name: {r.status} {short(r.body)}")


@check("basic", "/metrics: Prometheus text format; keel_http_requests_total counts go up")
def _():
    r, before = metrics()
    expect((r.header("Content-Type") or "").startswith("text/plain"), f"Content-Type {r.header('Content-Type')!r}")
    bad = [l for l in r.body.decode().splitlines()
           if l and not l.startswith("# ") and not re.match(r"^[a-zA-Z_:][\w:]*(\{(\w+=\"[^\"]*\",?)*\})? -?[\d.e+]+$", l)]
    expect(not bad, f"malformed sample lines: {bad[:3]}")
    key2, key4 = 'keel_http_requests_total{code="2xx"}', 'keel_http_requests_total{code="4xx"}'
    expect(key2 in before and key4 in before, f"no {key2} / {key4}")
    for _ in range(3):
        get("/healthz")
    get("/no-such-metric-page")
    _, after = metrics()
    expect(after[key2] >= before[key2] + 4, f"2xx {before[key2]} -> {after[key2]} after 3 x /healthz + /metrics")
    expect(after[key4] >= before[key4] + 1, f"4xx {before[key4]} -> {after[key4]} after a 404")


@check("basic", "/metrics: keel_cpu_idle_seconds_total grows while nothing runs, keel_cpu_busy_seconds_total "
                "grows under load")
def _():
    idle, busy = "keel_cpu_idle_seconds_total", "keel_cpu_busy_seconds_total"
    _, first = metrics()
    expect(idle in first and busy in first, f"no {idle} / {busy}")
    time.sleep(0.5)  # nothing to serve: the guest halts
    _, rested = metrics()
    expect(rested[idle] > first[idle], f"{idle} {first[idle]} -> {rested[idle]} over 0.5 s with no requests")
    for _ in range(50):
        get("/")
    _, loaded = metrics()
    expect(loaded[busy] > rested[busy], f"{busy} {rested[busy]} -> {loaded[busy]} over 50 GET /")


@check("basic", "/debug/tasks: one line per task, \"task N [state]: name\", the HTTP tasks among them")
def _():
    r = get("/debug/tasks")
    expect_status(r, 200)
    lines = [l for l in r.body.decode().splitlines() if re.match(r"^task \d+ \[[^\]]+\]: \S", l)]
    expect(len(lines) >= 2, f"task lines: {lines}: {short(r.body)}")
    expect(any("http" in l for l in lines), f"no http task listed: {lines}")
