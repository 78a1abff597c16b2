"""The README, tried as a new user would: `make run` (the real target, user
networking, a forwarded port), then curl every route the README's route
table documents and every command of its "Try it" block, then the clean
shutdown it describes (Ctrl-A C, system_powerdown at the monitor prompt).

A route added to the README's table without a walk entry here fails the
"every documented route is walked" case, so the two stay in step.

run.py: `from readme_walk import register; register(case, report)`.
"""
import json
import os
import re
import signal
import subprocess
import time
import zlib

from guest import OUT, ROOT, free_port

README = ROOT / "README.md"
CURL_MAX = 20  # seconds, per curl


def documented_routes():
    """(method, path) of each row of the README's route table."""
    text = README.read_text()
    table = text.split("## Routes of the default appliance", 1)[1].split("\n\n", 2)[1]
    routes = set()
    for row in table.splitlines()[2:]:
        first = row.split("|")[1]
        for m in re.finditer(r"`([A-Z, ]+) (/[^`]*)`", first):
            for method in m.group(1).split(","):
                routes.add((method.strip(), m.group(2).split("?")[0]))
    return routes


def try_it_commands():
    """The commands of the README's "Try it after `make run`" block."""
    block = README.read_text().split("Try it after `make run`:", 1)[1].split("\n\n", 2)[1]
    return [line.strip() for line in block.splitlines() if line.strip().startswith("curl ")]


# make run's HTTPS port, forwarded like the plain one (free_port at start).
tls_port = None


def curl(port, *args):
    """curl against the forwarded ports: (exit status, stdout bytes)."""
    args = [a.replace("http://127.0.0.1:8080", f"http://127.0.0.1:{port}")
            .replace("https://127.0.0.1:8443", f"https://127.0.0.1:{tls_port}") for a in args]
    try:
        p = subprocess.run(["curl", "-sS", "--max-time", str(CURL_MAX), *args], capture_output=True,
                           timeout=CURL_MAX + 5, cwd=ROOT)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired:
        return None, b""


def status_of(port, *args):
    """(HTTP status, body) of one request."""
    rc, out = curl(port, "-o", "-", "-w", "\n%{http_code}", *args)
    body, _, code = out.rpartition(b"\n")
    return (int(code) if rc == 0 and code.isdigit() else None), body


def walk(port):
    """One entry per documented route: (method, path) -> (ok, detail)."""
    url = f"http://127.0.0.1:{port}"
    out = {}

    def record(method, path, ok, detail):
        out[(method, path)] = (ok, detail)

    s, body = status_of(port, f"{url}/")
    record("GET", "/", s == 200 and b"<html" in body.lower(), f"{s} {body[:80]!r}")
    s, body = status_of(port, f"{url}/healthz")
    record("GET", "/healthz", s == 200 and body == b"ok\n", f"{s} {body!r}")
    s, body = status_of(port, f"{url}/metrics")
    record("GET", "/metrics", s == 200 and b"keel_http_requests_total" in body, f"{s}")
    s, body = status_of(port, f"{url}/debug/tasks")
    record("GET", "/debug/tasks", s == 200 and b"http-accept" in body, f"{s} {body[:120]!r}")
    s, _ = status_of(port, f"{url}/debug/fault")
    after, _ = status_of(port, f"{url}/healthz")
    record("GET", "/debug/fault", s == 500 and after == 200, f"{s}, then /healthz {after}")
    s, body = status_of(port, f"{url}/debug/sleep?ms=20")
    record("GET", "/debug/sleep", s == 200 and body == b"slept 20 ms\n", f"{s} {body!r}")
    s, body = status_of(port, "--data-binary", "hello, keel", f"{url}/echo")
    record("POST", "/echo", s == 200 and body == b"hello, keel", f"{s} {body!r}")
    s, body = status_of(port, "-N", f"{url}/events?n=2&interval_ms=100")
    record("GET", "/events", s == 200 and body.count(b"data: tick") == 2, f"{s} {body!r}")
    s, body = status_of(port, f"{url}/bytes/5000")
    record("GET", "/bytes/{n}", s == 200 and body == bytes(5000), f"{s}, {len(body)} bytes")
    s, body = status_of(port, "--data-binary", "x" * 70000, f"{url}/bytes")
    record("POST", "/bytes", s == 200 and body == b'{"bytes":70000}\n', f"{s} {body!r}")
    walk_users(port, url, record)
    part = b"x" * 3000
    path = OUT / f"walk-upload.{os.getpid()}.bin"
    path.write_bytes(part)
    s, body = status_of(port, "-F", f"file=@{path}", f"{url}/upload")
    path.unlink()
    record("POST", "/upload", s == 200 and f"{zlib.crc32(part):08x}".encode() in body.lower(), f"{s} {body[:200]!r}")
    return out


def walk_users(port, url, record):
    """The /api/users resource through its whole life, and its preflight."""
    s, body = status_of(port, f"{url}/api/users")
    record("GET", "/api/users", s == 200 and body.lstrip().startswith(b"["), f"{s} {body[:80]!r}")
    user = '{"name":"Walk","email":"walk@example.com"}'
    rc, out = curl(port, "-i", "-X", "POST", "-H", "Content-Type: application/json", "-d", user, f"{url}/api/users")
    loc = re.search(rb"^Location: (\S+)", out, re.M | re.I)
    record("POST", "/api/users", rc == 0 and out.startswith(b"HTTP/1.1 201") and loc is not None, f"{out[:200]!r}")
    where = f"{url}{loc.group(1).decode()}" if loc else f"{url}/api/users/0"
    s, body = status_of(port, where)
    record("GET", "/api/users/{id}", s == 200 and b'"Walk"' in body, f"{s} {body!r}")
    s, body = status_of(port, "-X", "PUT", "-H", "Content-Type: application/json",
                        "-d", '{"name":"Walked","email":"walk@example.com"}', where)
    record("PUT", "/api/users/{id}", s == 200 and b'"Walked"' in body, f"{s} {body!r}")
    s, _ = status_of(port, "-X", "DELETE", where)
    gone, _ = status_of(port, where)
    record("DELETE", "/api/users/{id}", s in (200, 204) and gone == 404, f"{s}, then GET {gone}")
    s, _ = status_of(port, "-X", "OPTIONS", "-H", "Origin: http://example.test",
                     "-H", "Access-Control-Request-Method: PUT", f"{url}/api/users")
    record("OPTIONS", "/api/...", s == 204, f"{s}")


def register(case, report):
    @case
    def readme_walk():
        global tls_port
        port, tls_port = free_port(), free_port()
        log = OUT / f"make-run.{os.getpid()}.log"
        OUT.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as f:
            p = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}", f"TLS_PORT={tls_port}"],
                                 cwd=ROOT,
                                 stdin=subprocess.PIPE, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            run_walk(p, port, log, report)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def run_walk(p, port, log, report):
    if not wait_for(log, r"keel: http: listening on http://", 90):
        report("readme: make run boots and prints the listening line", False, tail(log))
        return
    report("readme: make run boots and prints the listening line", True)
    report("readme: make run serves HTTPS with the development certificate",
           wait_for(log, r"keel: http: listening on https://", 10), tail(log))
    walked = walk(port)
    for (method, path), (ok, detail) in sorted(walked.items()):
        report(f"readme: {method} {path} works as documented", ok, detail)
    missing = documented_routes() - set(walked)
    report("readme: every route of the README's table is walked", not missing and documented_routes(),
           f"not walked: {sorted(missing)}")
    commands = try_it_commands()
    report("readme: the 'Try it' block has curl commands", len(commands) >= 3, str(commands))
    for cmd in commands:
        args = [a.strip("'") for a in re.findall(r"'[^']*'|\S+", cmd)][1:]
        rc, out = curl(port, *args)
        report(f"readme: `{cmd[:60]}` exits 0", rc == 0 and out, f"exit {rc}: {out[:200]!r}")
    # The README's clean shutdown: Ctrl-A C opens QEMU's monitor.
    p.stdin.write(b"\x01c")
    p.stdin.flush()
    wait_for(log, r"\(qemu\)", 10)  # a command typed before the prompt can be dropped
    p.stdin.write(b"system_powerdown\n")
    p.stdin.flush()
    try:
        status = p.wait(30)
    except subprocess.TimeoutExpired:
        status = None
    report("readme: Ctrl-A C, system_powerdown: make run ends cleanly", status == 0 and
           "keel: acpi: entering S5" in log.read_text(errors="replace"), f"exit {status}: {tail(log)}")


def wait_for(log, pattern, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if re.search(pattern, log.read_text(errors="replace")):
            return True
        time.sleep(0.1)
    return False


def tail(log, n=12):
    return "\n".join("    | " + l for l in log.read_text(errors="replace").splitlines()[-n:])
