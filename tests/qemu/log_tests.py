"""The log path (kernel/log.c, kernel/logring.c): lines drained by the log
task to the serial console, a virtio console (PCI and microvm's
virtio-mmio) or a syslog collector (net/syslog.c, RFC 5424 over UDP).

  log_virtio_console  the access log lands in the virtconsole's file, every
                      line of a 1,500-request burst in order; the serial
                      console says where it went, keeps no access lines;
                      the final lines still reach the file at power-off
  log_virtio_mmio     the same on -M microvm (virtio-serial-device)
  log_syslog          syslog=10.0.2.2:PORT: a UDP socket on the host's
                      127.0.0.1:PORT (QEMU user networking maps it)
                      receives RFC 5424 lines
  log_flood           log=debug under concurrent keep-alive load: every
                      serial line is one whole line; access lines missing
                      are accounted for by "lines dropped" notices; the
                      counters are in /metrics

run.py: `from log_tests import register; register(case, report)`.
"""
import http.client
import re
import socket
import threading
import time
import urllib.error
import urllib.request

from guest import OUT, Guest, free_port

LISTENING = r"^keel: http: listening on http://10\.0\.2\.15:80/"
ACCESS = re.compile(r"^keel: access: 10\.0\.2\.2 GET /healthz 200 ", re.M)
S5 = r"^keel: acpi: entering S5"
# RFC 5424 §6: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
RFC5424 = re.compile(r"^<(\d{1,3})>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z 10\.0\.2\.15 keel - ([!-~]{1,32}) - (.*)$")
# A serial line: "keel: <subsystem>: <message>", one per line, never two run together.
WHOLE_LINE = re.compile(r"^keel: [\w.-]+: \S")


# Enough lines for many batches, several of them with the device at once.
BURST = 1500
ACCESS_ID = re.compile(r"^keel: access: 10\.0\.2\.2 GET /healthz 200 .* id=(\d+)", re.M)


def increasing(values):
    return all(a < b for a, b in zip(values, values[1:]))


def keep_alive_burst(port, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        for _ in range(n):
            conn.request("GET", "/healthz")
            conn.getresponse().read()
    finally:
        conn.close()


def get(port, path, n=1):
    for _ in range(n):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=20) as resp:
            body = resp.read()
    return body


def wait_file(path, pattern, count, timeout):
    """The file's text once pattern matches `count` times, else what there is."""
    end = time.monotonic() + timeout
    text = ""
    while time.monotonic() < end:
        text = path.read_text(errors="replace") if path.exists() else ""
        if len(re.findall(pattern, text, re.M)) >= count:
            break
        time.sleep(0.05)
    return text


def register(case, report):
    def virtio_console(name, machine, serial_dev):
        port = free_port()
        vcon = OUT / f"{name}.vcon.txt"
        vcon.unlink(missing_ok=True)
        extra = [*(["-M", machine] if machine else []),
                 "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
                 "-device", "virtio-net-device,netdev=n0" if machine else "virtio-net-pci,netdev=n0",
                 "-chardev", f"file,id=c0,path={vcon}", "-device", serial_dev, "-device", "virtconsole,chardev=c0"]
        with Guest(name, append="log=info", extra=extra) as g:
            up = g.wait_for(r"^keel: log: the log continues on virtio-console", 90)
            report(f"{name}: the serial console says the log moved to virtio-console", up is not None,
                   "no 'log continues on virtio-console' line", g)
            if not wait_file(vcon, LISTENING, 1, 60):
                report(f"{name}: the virtio console gets the log", False, "no listening line in the virtconsole file", g)
                return
            get(port, "/healthz", 10)
            keep_alive_burst(port, BURST)
            text = wait_file(vcon, ACCESS.pattern, 10 + BURST, 30)
            ids = [int(i) for i in ACCESS_ID.findall(text)]
            report(f"{name}: the virtio console gets every access line, in order",
                   len(ids) == 10 + BURST and increasing(ids),
                   f"{len(ids)} of {10 + BURST} access lines in {vcon}"
                   f"{'' if increasing(ids) else ', out of order or repeated'}", g)
            metrics = get(port, "/metrics").decode()
            batches = re.search(r"^keel_log_console_batches_total (\d+)$", metrics, re.M)
            failed = re.search(r"^keel_log_console_failed_total (\d+)$", metrics, re.M)
            report(f"{name}: /metrics counts the console's batches, none failed",
                   batches and int(batches.group(1)) > 1 and failed and failed.group(1) == "0",
                   f"batches {batches and batches.group(1)}, failed {failed and failed.group(1)}", g)
            report(f"{name}: the serial console keeps no access lines", not ACCESS.search(g.text()),
                   "access lines on the serial console", g)
            g.monitor("system_powerdown")
            status = g.wait_exit(60)
            text = vcon.read_text(errors="replace")
            report(f"{name}: the power-off lines reach the virtio console before S5",
                   status == 0 and re.search(r"^keel: shutdown: done in \d+ ms; powering off", text, re.M)
                   is not None and re.search(S5, text, re.M) is not None, f"exit {status}", g)

    @case
    def log_virtio_console():
        virtio_console("log-vcon", None, "virtio-serial-pci")

    @case
    def log_virtio_mmio():
        virtio_console("log-vcon-mmio", "microvm", "virtio-serial-device")

    @case
    def log_syslog():
        port = free_port()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(0.2)
        uport = udp.getsockname()[1]
        extra = ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80", "-device", "virtio-net-pci,netdev=n0"]
        with udp, Guest("log-syslog", append=f"log=info syslog=10.0.2.2:{uport} syslog_facility=17",
                        extra=extra) as g:
            if not g.wait_for(LISTENING, 90):
                report("syslog: appliance starts", False, "no listening line", g)
                return
            report("syslog: the console names the collector",
                   re.search(rf"^keel: syslog: sending the log to 10\.0\.2\.2:{uport} ", g.text(), re.M) is not None,
                   "no 'sending the log' line", g)
            get(port, "/healthz", 5)
            got, end = [], time.monotonic() + 20
            while time.monotonic() < end and sum("GET /healthz 200" in m for m in got) < 5:
                try:
                    got.append(udp.recv(2048).decode(errors="replace"))
                except socket.timeout:
                    pass
            access = [m for m in got if "GET /healthz 200" in m]
            parsed = [RFC5424.match(m) for m in access]
            report("syslog: every access line arrives as an RFC 5424 message",
                   len(access) == 5 and all(parsed), f"{len(access)} of 5; received: {got[-3:]}", g)
            # local1 (17) * 8 + informational (6); MSGID is the subsystem.
            report("syslog: PRI carries the facility and the level's severity, MSGID the subsystem",
                   all(p and p.group(1) == "142" and p.group(2) == "access" and p.group(3).startswith("10.0.2.2 GET")
                       for p in parsed), str(access[:1]), g)
            g.monitor("system_powerdown")
            g.wait_exit(60)

    @case
    def log_flood():
        port = free_port()
        extra = ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80", "-device", "virtio-net-pci,netdev=n0"]
        with Guest("log-flood", append="log=debug", extra=extra) as g:
            if not g.wait_for(LISTENING, 90):
                report("log flood: appliance starts", False, "no listening line", g)
                return
            conns, each, errors = 8, 150, []

            def client():
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    for _ in range(each):
                        c.request("GET", "/healthz")
                        c.getresponse().read()
                    c.close()
                except (OSError, http.client.HTTPException) as e:
                    errors.append(repr(e))
            threads = [threading.Thread(target=client) for _ in range(conns)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            metrics = get(port, "/metrics").decode()
            report("log flood: /metrics counts log lines and drops",
                   re.search(r"^keel_log_dropped_total \d+$", metrics, re.M) is not None and
                   re.search(r"^keel_log_lines_total [1-9]\d*$", metrics, re.M) is not None,
                   "no keel_log_dropped_total / keel_log_lines_total", g)
            g.monitor("system_powerdown")
            status = g.wait_exit(60)
            lines = g.text().splitlines()
            broken = [l for l in lines if not WHOLE_LINE.match(l) or l.count("keel: ") != 1]
            report("log flood: every serial line is one whole line", not broken and len(lines) > 100,
                   f"{len(broken)} broken, e.g. {broken[:3]}", g)
            served = conns * each - len(errors)
            logged = len(ACCESS.findall(g.text()))
            dropped = sum(int(n) for n in re.findall(r"^keel: log: (\d+) lines? dropped \(ring full\)$", g.text(), re.M))
            report("log flood: no access line lost silently (logged + dropped notices cover every request)",
                   not errors and logged + dropped >= served and logged > 0,
                   f"{logged} logged + {dropped} dropped < {served} served; errors {errors[:2]}", g)
            report("log flood: the last lines are flushed before power-off", status == 0 and
                   re.search(S5, g.text(), re.M) is not None, f"exit {status}", g)
