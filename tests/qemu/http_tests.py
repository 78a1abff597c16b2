"""HTTP/1.1 server tests against the real appliance (build/keel.elf) on a tap
in a private network namespace. Three boots keep the suite short under TCG,
and the suite runs on each NIC model (e1000, virtio):

  http_conformance  default limits: routes, keep-alive and pipelining,
                    bodies and 100-continue, gzip, malformed requests,
                    smuggling, SSE, /metrics, load (200 x 20 and 1,000 x 3), and last a
                    graceful shutdown under load
  http_limits       max_conns=50 max_header_bytes=4096 max_uri=1024
  http_timeouts     read_header_timeout=2 idle_timeout=3 read_timeout=3
                    handler_timeout=3 write_timeout=3

The traffic comes from httpclient.py (and curl) run inside the namespace;
each of its checks becomes one "PASS/FAIL qemu/http/<nic>: ..." line. RFC
sections are cited in the case names.

run.py: `from http_tests import register; register(case, report)`.
"""
import json
import os
import re
import select
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from guest import Guest
from netns import GUEST_APPEND, GUEST_IP, Netns

CLIENT = Path(__file__).with_name("httpclient.py")
LISTENING = rf"^keel: http: listening on http://{re.escape(GUEST_IP)}:80/"
SHUTDOWN_TIMEOUT = 5  # the kernel's default shutdown_timeout, seconds
# The whole suite runs once per NIC model: the HTTP layer must not care
# which driver carries it, and each driver's corner cases (RST on a full
# window, bursts of small segments) show up under this traffic.
NICS = ("e1000", "virtio")

# (max_body is not among them: every appliance route that reads a body sets
# its own limit, so the server-wide default is not observable here.)
LIMITS = {"max_conns": 50, "max_header_bytes": 4096, "max_uri": 1024}
TIMEOUTS = {"read_header_timeout": 2, "idle_timeout": 3, "read_timeout": 3, "handler_timeout": 3, "write_timeout": 3}


def register(case, report):
    """Add the HTTP cases to run.py's list, once per NIC; `report` prints
    PASS/FAIL. Case names read "http/<nic>: ..."."""
    for nic in NICS:
        def report_on(name, *args, nic=nic, **kw):
            report(name.replace("http: ", f"http/{nic}: ", 1), *args, **kw)

        def case_on(fn, nic=nic):
            fn.__name__ = f"{fn.__name__}_{nic}"
            return case(fn)
        register_nic(case_on, report_on, nic)


def register_nic(case, report, nic):
    """The three boots of the suite on one NIC model."""

    @contextmanager
    def booted(tag, options):
        """A netns and a guest serving HTTP in it: (ns, guest), guest None
        (reported) if it never says it is listening. Both are torn down on
        exit (QEMU killed by PID, namespace deleted)."""
        append = " ".join([GUEST_APPEND, "log=info", *(f"{k}={v}" for k, v in options.items())])
        with Netns(f"http-{tag}") as ns, Guest(f"http-{tag}-{nic}", append=append, extra=ns.qemu_net(nic),
                                                netns=ns.name) as g:
            up = g.wait_for(LISTENING, 90)
            report(f"http: {tag}: the appliance boots and listens on {GUEST_IP}:80", up is not None,
                   "no 'http: listening' line", g)
            yield ns, g if up else None

    def alive(g, what):
        """False (reported) if the guest died before `what`."""
        status = g.proc.poll()
        if status is None:
            return True
        report(f"http: guest still running before {what}", False, f"QEMU exited with status {status}", g)
        return False

    def client(ns, g, scenario, *args, timeout=300):
        """Run one httpclient.py scenario; report each of its checks."""
        if not alive(g, scenario):
            return None
        rc, out = ns.run("python3", str(CLIENT), scenario, *args, timeout=timeout)
        data = None
        for line in reversed(out.strip().splitlines()):
            if line.startswith("{"):
                try:
                    data = json.loads(line)
                    break
                except ValueError:
                    pass
        if not data or "checks" not in data:
            report(f"http: {scenario}: client completes", False, f"client exit {rc}: {out.strip()[-600:]}", g)
            return None
        for c in data["checks"]:
            report(f"http: {c['name']}", c["ok"], c.get("why", ""), g)
        return data

    def power_off(g, tag):
        g.monitor("system_powerdown")
        status = g.wait_exit(SHUTDOWN_TIMEOUT + 30)
        report(f"http: {tag}: powers off cleanly (exit 0)", status == 0, f"exit status {status}", g)

    def curl_checks(ns, g):
        """A real client: curl. SSE must arrive event by event (-N)."""
        rc, out = ns.run("curl", "-sS", "--max-time", "10", f"http://{GUEST_IP}/healthz", timeout=20)
        report("http: curl GET /healthz prints ok", rc == 0 and out == "ok\n", f"curl exit {rc}: {out[-300:]!r}", g)
        rc, out = ns.run("curl", "-sS", "-N", "--max-time", "10",
                         f"http://{GUEST_IP}/events?n=3&interval_ms=200", timeout=20)
        events = re.findall(r"id: (\d+)\ndata: tick (\d+) at (\d+) ms\n\n", out)
        ok = rc == 0 and [(e[0], e[1]) for e in events] == [("1", "1"), ("2", "2"), ("3", "3")] \
            and re.sub(r"id: \d+\ndata: tick \d+ at \d+ ms\n\n", "", out) == ""
        report("http: SSE: curl -N /events?n=3&interval_ms=200 gets exactly 3 events (text/event-stream)", ok,
               f"curl exit {rc}: {out[-400:]!r}", g)
        if ok:
            ms = [int(e[2]) for e in events]
            report("http: SSE: events are spaced by interval_ms (>= 200 ms apart)",
                   all(b - a >= 200 for a, b in zip(ms, ms[1:])), f"event times {ms} ms", g)
        # Streaming, not buffered: with 1 s between events the first one
        # must reach the client well before the last.
        rc, out = ns.run("python3", "-c", SSE_TIMING, timeout=30)
        report("http: SSE: each event is flushed as it happens, chunked (RFC 9112 §7.1)",
               rc == 0 and out.startswith("ok"), out.strip()[-400:], g)

    def shutdown_under_load(ns, g):
        """Power button while 16 clients hammer the server (two of them
        holding 1-second event streams): in-flight responses complete,
        QEMU exits 0 within shutdown_timeout, the log says stopped."""
        if not alive(g, "the shutdown test"):
            return
        cmd = ["ip", "netns", "exec", ns.name, "python3", str(CLIENT), "hammer", "seconds=40"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0,
                             start_new_session=True)
        try:
            first = read_line(p, 60)
            report("http: shutdown: the load is running before the power button", first == "ready",
                   f"client said {first!r}", g)
            time.sleep(1.0)
            report("http: shutdown: the load is still running when the power button is pressed", p.poll() is None,
                   f"client already exited with status {p.returncode}", g)
            g.monitor("system_powerdown")
            t0 = time.monotonic()
            status = g.wait_exit(SHUTDOWN_TIMEOUT + 20)
            secs = time.monotonic() - t0
            report(f"http: shutdown: QEMU exits 0 within shutdown_timeout ({SHUTDOWN_TIMEOUT} s) + a few seconds",
                   status == 0 and secs <= SHUTDOWN_TIMEOUT + 8, f"exit status {status} after {secs:.1f} s", g)
            stopped = re.search(r"^keel: http: stopped.*$", g.lines(), re.M)
            report("http: shutdown: the serial log shows 'keel: http: stopped'", stopped is not None,
                   "no 'http: stopped' line", g)
            if stopped:
                print(f"    {stopped.group(0)}", flush=True)
            try:
                out = p.communicate(timeout=60)[0].decode(errors="replace")
            except subprocess.TimeoutExpired:
                out = "hammer did not finish"
            data = {}
            for line in reversed(out.strip().splitlines()):
                if line.startswith("{"):
                    data = json.loads(line)
                    break
            report("http: shutdown: no in-flight response truncated, no request left unanswered, event streams "
                   "complete (RFC 9112 §9.6)",
                   data.get("ok") is True, f"client: {out.strip()[-600:]}", g)
            print(f"    hammer: {data.get('completed')} /healthz, {data.get('events_streams')} event streams, "
                  f"{data.get('closed_idle')} keep-alive connections closed between requests", flush=True)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    @case
    def http_conformance():
        with booted("conformance", {}) as (ns, g):
            if not g:
                return
            client(ns, g, "basic")
            data = client(ns, g, "gzip")
            if data:
                print(f"    gzip: {json.dumps(data.get('sizes'))} ([identity, gzip] bytes)", flush=True)
            client(ns, g, "malformed")
            client(ns, g, "smuggling")
            curl_checks(ns, g)
            data = client(ns, g, "load", timeout=600)
            if data:
                print(f"    load: {json.dumps(data.get('stats'))}", flush=True)
            report("http: conformance: no crash, no panic on the console",
                   alive(g, "the shutdown test") and not re.search(r"^keel: (trap|panic):", g.text(), re.M),
                   "trap or panic", g)
            shutdown_under_load(ns, g)

    @case
    def http_limits():
        with booted("limits", LIMITS) as (ns, g):
            if g:
                client(ns, g, "limits", *(f"{k}={v}" for k, v in LIMITS.items()))
                power_off(g, "limits")

    @case
    def http_timeouts():
        with booted("timeouts", TIMEOUTS) as (ns, g):
            if g:
                client(ns, g, "timeouts", *(f"{k}={v}" for k, v in TIMEOUTS.items()), timeout=120)
                power_off(g, "timeouts")


def read_line(p, timeout):
    """First line of a child's (unbuffered) stdout within `timeout` seconds,
    or None. Byte by byte from the fd: a buffered read would swallow what
    follows the newline and leave select() waiting for more."""
    end = time.monotonic() + timeout
    fd = p.stdout.fileno()
    buf = b""
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        ch = os.read(fd, 1)
        if not ch:
            break
        if ch == b"\n":
            return buf.decode(errors="replace")
        buf += ch
    return buf.decode(errors="replace") or None


# Run inside the namespace: time the events of a 3-event stream, 1 s apart.
SSE_TIMING = rf"""
import socket, time, sys
s = socket.create_connection(("{GUEST_IP}", 80), timeout=10)
s.sendall(b"GET /events?n=3&interval_ms=1000 HTTP/1.1\r\nHost: {GUEST_IP}\r\n\r\n")
data, times, t0 = b"", [], time.monotonic()
while b"0\r\n\r\n" not in data[-7:] and time.monotonic() - t0 < 15:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
    while data.count(b"data: tick") > len(times):
        times.append(time.monotonic() - t0)
head = data.split(b"\r\n\r\n", 1)[0].lower()
if b"transfer-encoding: chunked" not in head or b"text/event-stream" not in head:
    sys.exit("not a chunked event stream: %r" % data[:300])
if len(times) != 3:
    sys.exit("%d events: %r" % (len(times), data[-300:]))
if times[2] - times[0] < 1.5:
    sys.exit("events arrived together (buffered): at %s s" % ["%.2f" % t for t in times])
print("ok", ["%.2f" % t for t in times])
"""
