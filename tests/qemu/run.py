#!/usr/bin/env python3
"""QEMU integration tests. Every case prints one line, "PASS qemu/<case>"
or "FAIL qemu/<case>: why", which tools/run-tests.sh counts. Timeouts bound
every boot; nothing here asserts on speed (timings go to `make bench`).

usage: tests/qemu/run.py [substring ...]   run only cases whose name matches
"""
import gzip
import http.client
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

from guest import BUILD, EXIT_PANIC, EXIT_TRAP, OUT, ROOT, Guest, free_port
from netns import GUEST_APPEND, GUEST_IP, Netns

failed = 0
cases = []


def case(fn):
    cases.append(fn)
    return fn


def report(name, ok, why="", guest=None):
    global failed
    if ok:
        print(f"PASS qemu/{name}", flush=True)
        return
    failed += 1
    print(f"FAIL qemu/{name}: {why}", flush=True)
    if guest:
        print(f"    serial log {guest.log}:\n{guest.tail()}", flush=True)


RUNNING = r"^keel: sched: running"


@case
def boot_and_power_button():
    with Guest("boot", append="log=info") as g:
        up = g.wait_for(RUNNING, 60)
        report("boot: reaches the idle loop", up is not None, "no 'sched: running' line", g)
        if not up:
            return
        banner = re.search(r"^keel: kernel: Keel \S+ booted via pvh in ([\d.]+) ms since power-on; "
                           r"cmdline \"log=info\"", g.text(), re.M)
        report("boot: banner names version, loader, uptime and command line", banner is not None,
               "banner missing or malformed", g)
        for what, rx in (("memory found and used", r"^keel: mm: RAM \d+ KiB .* KiB free"),
                         ("page-table rights", r"^keel: mm: page tables: text .* RX, .* NX on"),
                         ("TSC calibration", r"^keel: clock: TSC \d+\.\d+ MHz"),
                         ("per-task memory cost", r"^keel: sched: .* KiB default stack \+ 4 KiB guard")):
            report(f"boot: log reports {what}", re.search(rx, g.text(), re.M) is not None, rx, g)
        g.monitor("system_powerdown")
        status = g.wait_exit(30)
        report("power button: QEMU exits 0", status == 0, f"exit status {status}", g)
        report("power button: shutdown logged, S5 entered",
               re.search(r"power button: shutting down.*\n(.*\n)*keel: acpi: entering S5", g.text()) is not None,
               "shutdown lines missing", g)


DRAINING = r"^keel: http: draining for 3 s: /healthz answers 503, every response closes its connection$"


@case
def drain_delay():
    """drain_delay=3: after the power button the appliance keeps accepting
    and serving for 3 s with /healthz failing and Connection: close on every
    response (a load balancer takes it out), then stops and powers off."""
    port = free_port()
    with Guest("drain", append="drain_delay=3 log=info",
               extra=["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
                      "-device", "virtio-net-pci,netdev=n0"]) as g:
        if not g.wait_for(r"^keel: http: listening on", 60):
            report("drain: appliance starts", False, "no listening line", g)
            return
        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        kept.request("GET", "/healthz")
        resp = kept.getresponse()
        before = (resp.status, resp.getheader("Connection"), resp.read())
        report("drain: before the power button /healthz is 200 on a keep-alive connection",
               before == (200, None, b"ok\n"), str(before), g)
        g.monitor("system_powerdown")
        draining = g.wait_for(DRAINING, 30)
        report("drain: the power button starts the drain, on the console", draining is not None,
               "no draining line", g)
        if not draining:
            return
        kept.request("GET", "/healthz")
        resp = kept.getresponse()
        during = (resp.status, resp.getheader("Connection"), resp.read())
        kept.close()
        report("drain: /healthz on the kept-alive connection answers 503 with Connection: close",
               during == (503, "close", b"draining\n"), str(during), g)
        status, headers, body = http_get(port, "/")
        report("drain: a new connection is still accepted and served, with Connection: close",
               status == 200 and headers.get("Connection") == "close" and b"<" in body, f"{status} {headers}", g)
        exit_status = g.wait_exit(60)
        report("drain: then the server stops and QEMU exits 0", exit_status == 0 and
               re.search(DRAINING + r"(.*\n)*keel: http: stopped.*\n(.*\n)*keel: acpi: entering S5", g.text(),
                         re.M) is not None, f"exit status {exit_status}", g)


HELP_LINE = re.compile(r"^keel: cmdline: option ([\w.]+)=(\S*) \((.*?)\) \[(\w+)\]: (.*)$", re.M)


def options_table(log):
    """The README's option table rows for the `help` lines in a serial log."""
    def cell(text):
        return text.replace("|", "\\|")
    return [f"| `{name}` | {cell(default) or '(empty)'} | {cell(accepted)} | {owner} | {cell(meaning)} |"
            for name, default, accepted, owner, meaning in HELP_LINE.findall(log)]


@case
def cmdline_help():
    with Guest("help", append="help log=info") as g:
        up = g.wait_for(RUNNING, 60)
        report("cmdline: help boots the appliance", up is not None, "no 'sched: running' line", g)
        if not up:
            return
        log = g.text()
        got = options_table(log)
        report("cmdline: help lists the options of every subsystem",
               {"http", "net", "log", "app"} <= {m[3] for m in HELP_LINE.findall(log)} and len(got) >= 15,
               f"{len(got)} option lines", g)
        report("cmdline: every option's default parses, no key is registered twice",
               "a bug in its table" not in log, "a table warning on the console", g)
        readme = (ROOT / "README.md").read_text()
        documented = [line for line in readme.splitlines() if re.match(r"^\| `[\w.]+` \|", line)
                      and line.count(" | ") == 4]
        missing = [row for row in got if row not in documented]
        stale = [row for row in documented if row not in got]
        report("cmdline: the README's option table is what help prints", got and not missing and not stale,
               "README rows differ; the table help prints is:\n" + "\n".join(got)
               + "\n  missing from the README:\n" + "\n".join(missing)
               + "\n  in the README but not printed:\n" + "\n".join(stale))
        g.monitor("system_powerdown")
        g.wait_exit(30)


@case
def grub_multiboot2():
    iso = OUT / "keel-mb2.iso"
    made = subprocess.run([str(ROOT / "images/mkiso.sh"), str(BUILD / "keel.elf"), str(iso), "port=8081"],
                          capture_output=True, text=True, timeout=120)
    report("grub: ISO with the kernel builds", made.returncode == 0, made.stderr.strip())
    if made.returncode:
        return
    with Guest("grub", iso=iso) as g:
        up = g.wait_for(RUNNING, 120)
        report("grub: GRUB boots the kernel through multiboot2",
               up is not None and re.search(r"^keel: kernel: Keel \S+ booted via multiboot2 .* cmdline \"port=8081\"",
                                            g.text(), re.M) is not None, "no multiboot2 banner", g)
        report("grub: memory map from multiboot2", re.search(r"^keel: mm: RAM \d{5,} KiB", g.text(), re.M) is not None,
               "no RAM line", g)
        g.monitor("system_powerdown")
        report("grub: power button exits 0", g.wait_exit(60) == 0, "no clean exit", g)


@case
def cmdline_rejects_bad_values():
    append = "port=0 log=loud ip=10.0.0.300/24 bogus=1 noequals port=8081"
    with Guest("cmdline", append=append) as g:
        up = g.wait_for(RUNNING, 60)
        text = g.text()
        report("cmdline: boots despite bad options", up is not None, "did not boot", g)
        for key in ("port", "log", "ip", "bogus", "noequals"):
            report(f"cmdline: warns about '{key}'", re.search(rf"^keel: cmdline: {key}: ", text, re.M) is not None,
                   f"no warning for {key}", g)


def ktest_lines(g, suite, status):
    """Report each in-kernel case of a finished guest, then the suite."""
    lines = re.findall(rf"^keel: ktest: (PASS|FAIL) {suite}: (.*)$", g.lines(), re.M)
    for verdict, name in lines:
        report(f"{suite}/{g.name}: {name}", verdict == "PASS", "in-kernel check failed", g)
    report(f"{suite}/{g.name}: suite completes and powers off", status == 0 and lines,
           f"exit status {status}, {len(lines)} cases reported", g)


def ktest_suite(suite):
    with Guest(f"ktest-{suite}", image="keel-test.elf", append=f"test={suite} log=info") as g:
        ktest_lines(g, suite, g.wait_exit(240))


for _suite in ("sched", "waitq", "heap"):
    def _run(s=_suite):
        ktest_suite(s)
    _run.__name__ = f"ktest_{_suite}"
    case(_run)


def crash_case(suite, want_status, patterns):
    with Guest(f"ktest-{suite}", image="keel-test.elf", append=f"test={suite}") as g:
        status = g.wait_exit(60)
        report(f"{suite}: machine stops with status {want_status}", status == want_status,
               f"exit status {status}", g)
        for what, rx in patterns:
            report(f"{suite}: report shows {what}", re.search(rx, g.text(), re.M) is not None, rx, g)


@case
def null_pointer_fault():
    crash_case("fault", EXIT_TRAP, [
        ("vector and error code", r"^keel: trap: page fault \(vector 14\) error 0x\w+ on cpu 0 in task ktest"),
        ("cr2 and a null-pointer diagnosis", r"not-present page on write of 0 \(null pointer\)"),
        ("registers", r"^keel: trap: rax [0-9a-f]{16} rbx"),
        ("a backtrace", r"^keel: trap:   #1 0xffffffff8"),
    ])


@case
def stack_overflow_hits_guard():
    crash_case("stack", EXIT_TRAP, [
        ("a double fault on the IST stack", r"^keel: trap: double fault \(vector 8\)"),
        ("the guard page diagnosis", r"^keel: trap: double fault: cr2 is a stack guard page: stack overflow"),
    ])


@case
def assert_reports_file_line():
    crash_case("assert", EXIT_PANIC, [
        ("file:line of the assertion", r"^keel: panic: tests/qemu/ktest\.c:\d+: assertion \"answer == 42\" failed"),
    ])


def client_report(name, result, guest):
    rc, out = result
    try:
        data = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        data = {}
    report(name, rc == 0 and data.get("ok"), f"client exit {rc}: {out.strip()[-400:]}", guest)
    return data


def settled_stats(ns, timeout=30):
    """Guest counters once the previous load has drained: only the stats
    connection itself open (the guest closes its side asynchronously)."""
    end = time.monotonic() + timeout
    while True:
        stats = json.loads(ns.client("stats")[1])
        if stats.get("conns_in_use") == "1" or time.monotonic() > end:
            return stats
        time.sleep(0.2)


def net_suite(nic, driver, churn):
    with Netns(nic) as ns, Guest(f"net-{nic}", image="keel-test.elf", append=f"test=echo {GUEST_APPEND}",
                                 extra=ns.qemu_net(nic), netns=ns.name) as g:
        ready = g.wait_for(r"^keel: ktest: echo ready", 60)
        report(f"net/{nic}: guest comes up at {GUEST_IP}", ready is not None, "no 'echo ready' line", g)
        if not ready:
            return
        report(f"net/{nic}: the {driver} driver runs the NIC",
               re.search(rf"^keel: net: {driver}: MAC", g.text(), re.M) is not None, "driver line missing", g)
        rc, out = ns.run("ping", "-c", "5", "-i", "0.2", "-W", "5", GUEST_IP, timeout=60)
        report(f"net/{nic}: ping gets 5 replies", rc == 0 and " 0% packet loss" in out, out.strip()[-300:], g)
        r = client_report(f"net/{nic}: 100 concurrent echo clients, 4 of them 4 MB, byte-exact",
                          ns.client("echo", "100", "65536", "4000000", "4"), g)
        print(f"    echo: {r.get('seconds')} s, {r.get('MB_per_s')} MB/s", flush=True)
        client_report(f"net/{nic}: a port reused while the guest holds it in TIME-WAIT connects at once (RFC 6191)",
                      ns.client("greet-reuse", "20", timeout=120), g)
        report(f"net/{nic}: those TIME-WAIT connections were recycled, not waited out",
               int(json.loads(ns.client("stats")[1]).get("tw_recycled", 0)) >= 20, "tw_recycled < 20", g)
        client_report(f"net/{nic}: 1,000 concurrent connections are all served",
                      ns.client("concurrent", "1000", timeout=600), g)
        # Exited tasks' stacks and lwIP's freed blocks stay cached at their
        # peak, by design, and TIME_WAIT PCBs live until the cap recycles
        # them: measure leaks from here on, after a warm-up of the churn
        # itself that fills the TIME_WAIT allowance (max_conns + 320).
        client_report(f"net/{nic}: warm-up of 200 sequential connections", ns.client("sequential", "200"), g)
        client_report(f"net/{nic}: warm-up of 2,000 connections closed by the guest first",
                      ns.client("greet", "2000", timeout=600), g)
        before = settled_stats(ns)
        r = client_report(f"net/{nic}: 10,000 sequential connections all echo",
                          ns.client("sequential", "10000", timeout=900), g)
        print(f"    sequential: {r.get('seconds')} s, {r.get('conns_per_s')} connections/s", flush=True)
        r = client_report(f"net/{nic}: {churn:,} connections closed by the guest first (TIME_WAIT recycled)",
                          ns.client("greet", str(churn), timeout=1200), g)
        print(f"    greet: {r.get('seconds')} s, {r.get('conns_per_s')} connections/s", flush=True)
        after = settled_stats(ns)
        for key in ("conns_in_use", "tasks"):
            report(f"net/{nic}: after the churn {key} is back where it started",
                   before.get(key) == after.get(key), f"{before.get(key)} -> {after.get(key)}", g)
        # lwIP's memory and the heap hold the newest TIME_WAIT PCBs (256
        # after a trim, a few more between trims, fewer as they expire), so
        # they may end a little lower or higher: 4 KiB is 16 PCBs; a leak of
        # one byte per connection of the churn would be 100 KB.
        for key in ("lwip_mem_used", "heap_used"):
            grew = int(after.get(key, 0)) - int(before.get(key, 0))
            report(f"net/{nic}: after the churn {key} has not grown (4 KiB slack)", grew <= 4096,
                   f"{before.get(key)} -> {after.get(key)}", g)
        # Heap pages stay mapped at their peak, and the peak may move a few
        # pages as blocks interleave differently; a leak of one byte per
        # connection of the churn would be ~25 pages.
        drift = int(before.get("free_pages", 0)) - int(after.get("free_pages", 0))
        report(f"net/{nic}: after the churn free_pages is within 16 pages of where it started",
               abs(drift) <= 16, f"{before.get('free_pages')} -> {after.get('free_pages')}", g)
        report(f"net/{nic}: no frame dropped by the driver",
               after.get("rx_dropped") == "0" and after.get("tx_dropped") == "0", str(after), g)
        host_rx, host_tx = ns.tap_counters()
        # The stats reply itself is still in flight when its counters are
        # taken: allow the few packets of that one connection.
        ok = abs(host_rx - int(after["tx_packets"])) <= 10 and abs(host_tx - int(after["rx_packets"])) <= 10
        report(f"net/{nic}: guest RX/TX counters match the host's tap", ok,
               f"host rx {host_rx} tx {host_tx}, guest tx {after['tx_packets']} rx {after['rx_packets']}", g)
        g.monitor("system_powerdown")
        report(f"net/{nic}: powers off cleanly after the load", g.wait_exit(60) == 0, "no clean exit", g)


@case
def net_virtio():
    net_suite("virtio", "virtio-net", 100000)


@case
def net_e1000():
    net_suite("e1000", "e1000", 100000)


@case
def dhcp_user_networking():
    """The `make run` set-up: QEMU user networking, address by DHCP."""
    port = free_port()
    with Guest("dhcp", extra=["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
                              "-device", "virtio-net-pci,netdev=n0"]) as g:
        got = g.wait_for(r"^keel: net: address 10\.0\.2\.15 netmask 255\.255\.255\.0 gateway 10\.0\.2\.2 \(dhcp\)", 60)
        report("dhcp: the appliance gets 10.0.2.15 from QEMU's DHCP server", got is not None, "no address", g)
        up = g.wait_for(r"^keel: http: listening on http://10\.0\.2\.15:80/", 30)
        report("make run: the listening line names the address", up is not None, "no listening line", g)
        body = ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=20) as resp:
                body = resp.read().decode()
        except OSError as e:
            body = repr(e)
        report("make run: curl through the forwarded port gets /healthz", body == "ok\n", body, g)


def http_get(port, path, method="GET", headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@case
def static_site():
    """The embedded site's validators, ranges and variants (RFC 9110 §8.8, §13, §14)."""
    port = free_port()
    with Guest("static", extra=["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
                                "-device", "virtio-net-pci,netdev=n0"]) as g:
        if not g.wait_for(r"^keel: http: listening on", 60):
            report("static: appliance starts", False, "no listening line", g)
            return
        status, h, body = http_get(port, "/style.css")
        etag = h.get("ETag", "")
        report("static: a file with its type, length and a strong ETag",
               status == 200 and h.get("Content-Type", "").startswith("text/css") and
               int(h.get("Content-Length", -1)) == len(body) > 0 and re.fullmatch(r'"[0-9a-f]{16}"', etag), str(h), g)
        status, h, empty = http_get(port, "/style.css", headers={"If-None-Match": f'W/"x", {etag}'})
        report("static: If-None-Match with the ETag -> 304, no body", status == 304 and empty == b"", str(status), g)
        status, h, zbody = http_get(port, "/style.css", headers={"Accept-Encoding": "gzip"})
        report("static: the gzip variant for a client that accepts it, with its own ETag",
               status == 200 and h.get("Content-Encoding") == "gzip" and gzip.decompress(zbody) == body and
               h.get("ETag") == etag[:-1] + '-gz"' and "Accept-Encoding" in h.get("Vary", ""), str(h), g)
        status, h, part = http_get(port, "/style.css", headers={"Range": "bytes=2-9"})
        report("static: Range -> 206 with Content-Range and those bytes",
               status == 206 and part == body[2:10] and h.get("Content-Range") == f"bytes 2-9/{len(body)}", str(h), g)
        status, h, _ = http_get(port, "/style.css", headers={"Range": f"bytes={len(body)}-"})
        report("static: unsatisfiable Range -> 416 with bytes */size",
               status == 416 and h.get("Content-Range") == f"bytes */{len(body)}", f"{status} {h}", g)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/about?x=1")
        opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                                  {"redirect_request": lambda *a, **k: None}))
        try:
            opener.open(req, timeout=20)
            status, loc = 200, None
        except urllib.error.HTTPError as e:
            status, loc = e.code, e.headers.get("Location")
        report("static: a directory without its slash -> 301 to it, query kept", status == 301 and loc == "/about/?x=1",
               f"{status} {loc}", g)
        status, _, body = http_get(port, "/%2e%2e/%2e%2e/etc/passwd")
        report("static: encoded dot-dot cannot leave the site", status in (301, 404) and b"root" not in body,
               str(status), g)


@case
def http_middleware():
    """Rate limiting, CORS and fault recovery, through QEMU's port forward."""
    port = free_port()
    with Guest("middleware", append="rate_limit=5", extra=["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
                                                           "-device", "virtio-net-pci,netdev=n0"]) as g:
        if not g.wait_for(r"^keel: http: listening on", 60):
            report("middleware: appliance starts", False, "no listening line", g)
            return
        codes = [http_get(port, "/healthz")[0] for _ in range(12)]
        report("rate limit: a burst beyond 5/s gets 429 after the first 5", codes[:5] == [200] * 5 and 429 in codes,
               str(codes), g)
        time.sleep(1.2)
        status, headers, _ = http_get(port, "/api/users", headers={"Origin": "http://example.test"})
        report("rate limit: tokens refill; CORS header on a cross-origin API read",
               status == 200 and headers.get("Access-Control-Allow-Origin") == "*", f"{status} {headers}", g)
        status, headers, _ = http_get(port, "/api/users", method="OPTIONS",
                                      headers={"Origin": "http://example.test", "Access-Control-Request-Method": "POST"})
        report("CORS: preflight answers 204 with the allowed methods",
               status == 204 and "POST" in headers.get("Access-Control-Allow-Methods", ""), f"{status} {headers}", g)
        time.sleep(1.2)
        # A chunked body larger than the input buffer makes the server grow
        # it while the handler runs: the head it already parsed must move too.
        body = bytes(range(256)) * 80
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request("POST", "/echo", body=iter([body[:7000], body[7000:]]), encode_chunked=True,
                     headers={"Content-Type": "application/x-keel"})
        resp = conn.getresponse()
        echoed, ctype = resp.read(), resp.getheader("Content-Type")
        conn.close()
        report("chunked echo: body intact, request head still valid after the buffer grew",
               echoed == body and ctype == "application/x-keel" and
               g.wait_for(r"^keel: access: \S+ POST /echo 200 20480 B", 10) is not None,
               f"{len(echoed)} bytes, {ctype}", g)
        time.sleep(1.2)
        status, _, body = http_get(port, "/debug/fault")
        after, _, _ = http_get(port, "/healthz")
        report("recovery: a faulting handler answers 500 and the appliance keeps serving",
               status == 500 and after == 200 and g.wait_for(r"handler faulted", 10) is not None,
               f"{status} then {after}", g)


@case
def nic_virtio_user():
    with Guest("nic-virtio", image="keel-test.elf", append="test=nic",
               extra=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]) as g:
        ktest_lines(g, "nic", g.wait_exit(120))


@case
def nic_e1000_user():
    with Guest("nic-e1000", image="keel-test.elf", append="test=nic",
               extra=["-netdev", "user,id=n0", "-device", "e1000,netdev=n0"]) as g:
        ktest_lines(g, "nic", g.wait_exit(120))


RANDOM_LINE = r"^keel: random: .*$"


@case
def random_sources():
    """Entropy (kernel/random.c): the CPU's generator, virtio-rng (transitional
    and modern-only), both, and none at all, which must not stop plain HTTP."""
    boots = (("the CPU's RDRAND (and RDSEED if offered) under -cpu max", "max", [],
              r"seeded from (rdseed\+)?rdrand\+tsc"),
             ("virtio-rng alone, without RDRAND/RDSEED", "max,-rdrand,-rdseed", ["-device", "virtio-rng-pci"],
              r"seeded from virtio-rng\+tsc"),
             ("the CPU and a modern-only virtio-rng, both mixed in", "max",
              ["-device", "virtio-rng-pci,disable-legacy=on"], r"seeded from (rdseed\+)?rdrand\+virtio-rng\+tsc"))
    for what, cpu, extra, want in boots:
        with Guest("random", cpu=cpu, extra=extra) as g:
            m = g.wait_for(RANDOM_LINE, 60)
            line = m.group(0) if m else "no random line"
            report(f"random: seeded from {what}", re.fullmatch(f"keel: random: {want}", line) is not None, line, g)
    port = free_port()
    with Guest("random-none", cpu="max,-rdrand,-rdseed",
               extra=["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
                      "-device", "virtio-net-pci,netdev=n0"]) as g:
        m = g.wait_for(RANDOM_LINE, 60)
        line = m.group(0) if m else "no random line"
        report("random: no source is reported, not hidden",
               line == "keel: random: no hardware entropy source (no RDSEED/RDRAND, no virtio-rng): "
                       "TLS will not start", line, g)
        up = g.wait_for(r"^keel: http: listening on", 60)
        status, _, body = http_get(port, "/healthz") if up else (None, None, b"")
        report("random: without entropy the appliance still serves HTTP (lwIP's weak numbers)",
               status == 200 and body == b"ok\n", f"{status} {body!r}", g)
        g.monitor("system_powerdown")
        status = g.wait_exit(30)
        report("random: without entropy the power button still powers off", status == 0, f"exit status {status}", g)


# The HTTP/1.1 server against the real appliance (tests/qemu/http_tests.py).
from http_tests import register as register_http  # noqa: E402
register_http(case, report)

# The boot bundle as the initrd and as a GRUB module (bundle_tests.py).
from bundle_tests import register as register_bundle  # noqa: E402
register_bundle(case, report)

# VM images: ISO and disks under SeaBIOS and OVMF (image_tests.py).
from image_tests import register as register_images  # noqa: E402
register_images(case, report)

# 10 MiB each way over a tap, with virtio-net's offloads and without (bulk_tests.py).
from bulk_tests import register as register_bulk  # noqa: E402
register_bulk(case, report)

# virtio-mmio on QEMU's microvm machine, DSDT and command line (microvm_tests.py).
from microvm_tests import register as register_microvm  # noqa: E402
register_microvm(case, report)

# HTTPS: certificates in the bundle, refusals, sslscan, load (tls_tests.py).
from tls_tests import register as register_tls  # noqa: E402
register_tls(case, report)

# The README's libvirt domain, through a private libvirtd (libvirt_tests.py).
from libvirt_tests import register as register_libvirt  # noqa: E402
register_libvirt(case, report)

# `make cluster`: a rolling restart under load, no request failed (cluster_tests.py).
from cluster_tests import register as register_cluster  # noqa: E402
register_cluster(case, report)

# Machines (pc, q35, microvm), memory sizes, vCPUs, clear power-off (platform_tests.py).
from platform_tests import register as register_platform  # noqa: E402
register_platform(case, report)

# The log path: virtio console, syslog, a flood (log_tests.py).
from log_tests import register as register_log  # noqa: E402
register_log(case, report)

# The README tried as a new user would, through `make run` (readme_walk.py).
from readme_walk import register as register_readme  # noqa: E402
register_readme(case, report)


def main():
    only = sys.argv[1:]
    for fn in cases:
        if not only or any(o in fn.__name__ for o in only):
            try:
                fn()
            except Exception as e:  # a harness error is a failed case, not a crash of the run
                report(fn.__name__, False, f"harness error: {e!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
