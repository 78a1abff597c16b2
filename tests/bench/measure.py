"""The measurements `make bench` takes of one booted guest, all driven from
inside the guest's network namespace (tests/qemu/netns.py) with curl, wrk
and idle.py. Each returns numbers or raises Failed with the reason."""
import atexit
import json
import math
import os
import re
import select
import shlex
import signal
import statistics
import subprocess
import time
from pathlib import Path

from netns import GUEST_IP

URL = f"http://{GUEST_IP}/"
BIG = 10 * 1024 * 1024  # the /bytes/{n} download
IDLE = Path(__file__).with_name("idle.py")
TAPSTAMP = Path(__file__).with_name("tapstamp.py")
# Console lines of a Linux guest in trouble: a panic, the OOM killer.
FATAL = re.compile(r"Kernel panic|Out of memory|oom-kill|Killed process")
MEM_LINE = re.compile(r"^bench: mem total_kb=(\d+) avail_kb=(\d+)", re.M)


class Failed(Exception):
    """A metric that could not be measured; the message says why."""


def kill(proc):
    """Kill a child started with start_new_session (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


# Run in the guest's namespace: GET / until the answer is a 200.
FIRST_200 = f"""
import socket, time
while True:
    try:
        with socket.create_connection(("{GUEST_IP}", 80), timeout=0.01) as s:
            s.settimeout(2)
            s.sendall(b"GET / HTTP/1.1\\r\\nHost: {GUEST_IP}\\r\\nConnection: close\\r\\n\\r\\n")
            if s.recv(12).startswith(b"HTTP/1.1 200"):
                break
    except OSError:
        time.sleep(0.002)
"""


def wait_first_200(ns, guest, timeout):
    """Seconds from QEMU's start until a client first gets a 200 on /: a
    Python client in the namespace retries every few milliseconds (a
    connect attempt times out after 10 ms, so the figure is good to about
    that) while this polls QEMU, so a guest that dies fails at once."""
    client = subprocess.Popen(["ip", "netns", "exec", ns.name, "python3", "-c", FIRST_200],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    end, next_look = guest.started + timeout, 0.0
    try:
        while client.poll() is None:
            now = time.monotonic()
            if guest.proc.poll() is not None:
                raise Failed(f"QEMU exited with status {guest.proc.returncode} before serving")
            if now > end:
                raise Failed(f"no 200 on / within {timeout:.0f} s")
            if now > next_look:
                fatal = FATAL.search(guest.text())
                if fatal:
                    raise Failed(f"guest console: {fatal.group(0)}")
                next_look = now + 0.2
            time.sleep(0.005)
        return time.monotonic() - guest.started
    finally:
        kill(client)


def burst(ns, count):
    """`count` GET / on one keep-alive connection; Failed unless all are 200."""
    rc, out = ns.run("curl", "-s", "-w", "%{http_code}\n", "--connect-timeout", "2", "-m", "30",
                     *["-o", "/dev/null", URL] * count, timeout=40)
    codes = out.split()
    if codes != ["200"] * count:
        raise Failed(f"keep-alive burst: curl exit {rc}, statuses {' '.join(codes[:count]) or 'none'}")


_UNIT_US = {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def parse_wrk(out):
    """wrk's report as {rps, requests, errors, p50_us, p99_us} (latencies
    only when run with --latency); errors are socket errors plus
    non-2xx/3xx."""
    m = re.search(r"^Requests/sec:\s*([\d.]+)", out, re.M)
    if not m:
        raise Failed(f"no Requests/sec in wrk output: {out.strip()[-300:]}")
    result = {"rps": float(m.group(1))}
    n = re.search(r"^\s*(\d+) requests in", out, re.M)
    result["requests"] = int(n.group(1)) if n else None
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = (sum(map(int, sock.groups())) if sock else 0) + (int(non2xx.group(1)) if non2xx else 0)
    for pct, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M):
        result[f"p{pct}_us"] = float(value) * _UNIT_US[unit]
    return result


def wrk(ns, seconds, connections, threads, *options, url=URL):
    """One wrk run on `url` (/ over plain HTTP unless told) from the
    namespace (open-file limit raised to the hard limit for it)."""
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", *options, url]
    rc, out = ns.run("sh", "-c", "ulimit -n \"$(ulimit -Hn)\" && exec " + shlex.join(args), timeout=seconds + 60)
    if rc != 0:
        raise Failed(f"wrk exit {rc}: {out.strip()[-300:]}")
    result = parse_wrk(out)
    if "--latency" in options and not {"p50_us", "p99_us"} <= result.keys():
        raise Failed(f"no latency distribution in wrk output: {out.strip()[-300:]}")
    return result


def best_transfer(ns, tries, what, ok, direction, *curl_args):
    """The best speed of `tries` 10 MiB transfers with curl (direction:
    "download" or "upload", the -w fields read) in MiB/s: {"mibs": best,
    "mib": MiB moved in all}. A transfer answered with a status not in
    `ok` or moving another size fails, named by `what`."""
    best = 0.0
    for _ in range(tries):
        rc, out = ns.run("curl", "-s", "-o", "/dev/null", "--connect-timeout", "5", "-m", "120", "-w",
                         f"%{{http_code}} %{{size_{direction}}} %{{speed_{direction}}}", *curl_args, timeout=130)
        fields = out.split()
        if rc != 0 or len(fields) < 3 or fields[0] not in ok or int(fields[1]) != BIG:
            raise Failed(f"{what}: curl exit {rc}, status/size {' '.join(fields[:2])}")
        best = max(best, float(fields[2]))
    return {"mibs": best / 2**20, "mib": tries * BIG / 2**20}


def tap_capture(ns, seconds):
    """tapstamp.py timing requests at the guest's tap for `seconds`, once
    it says it is listening (tap_turns collects what it saw)."""
    proc = subprocess.Popen(["ip", "netns", "exec", ns.name, "python3", str(TAPSTAMP), str(seconds), GUEST_IP],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    if not ready or proc.stdout.readline().strip() != "ready":
        kill(proc)
        raise Failed("tapstamp.py did not start")
    return proc


def tap_turns(proc):
    """The request-to-answer times (µs) a tap_capture saw; Failed if its
    socket dropped frames (a lost answer would join two turns)."""
    try:
        out, _ = proc.communicate(timeout=60)
        seen = json.loads(out)
    except (subprocess.TimeoutExpired, ValueError) as e:
        raise Failed(f"tapstamp.py: {e}") from None
    finally:
        kill(proc)
    if seen["drops"]:
        raise Failed(f"tapstamp.py: the capture dropped {seen['drops']} frames")
    return seen["turns"]


def percentile(values, q):
    """The nearest-rank q-th percentile (0 < q < 1) of sorted values."""
    return values[max(0, math.ceil(q * len(values)) - 1)]


def tap_latency(ns, seconds):
    """c1 latency as the guest's tap sees it, from the request's arrival
    to the answer's departure (QEMU and the guest, without the host's
    stack and wrk): {p50_us, p99_us}. A wrk run of its own, since the
    capture costs host CPU."""
    proc = tap_capture(ns, seconds + 1)
    try:
        wrk(ns, seconds, 1, 1)
        turns = sorted(tap_turns(proc))
    finally:
        kill(proc)
    if len(turns) < 100:
        raise Failed(f"the tap saw {len(turns)} requests answered")
    return {"p50_us": percentile(turns, 0.5), "p99_us": percentile(turns, 0.99)}


def throughput(ns, tries):
    """The best download speed of /bytes/10485760 (best_transfer)."""
    return best_transfer(ns, tries, f"GET /bytes/{BIG}", ("200",), "download", f"{URL}bytes/{BIG}")


def upload_file():
    """A 10 MiB file of random bytes for the uploads (made once per run,
    removed at exit)."""
    path = Path(f"/tmp/keel-bench-upload.{os.getpid()}")
    if not path.exists():
        path.write_bytes(os.urandom(BIG))
        atexit.register(path.unlink, missing_ok=True)
    return path


# What each peer does with an upload: Keel and Go read POST /bytes and
# discard it; nginx takes a body through its DAV module (PUT), which
# stores it on a tmpfs (nginx.conf).
UPLOAD = {"nginx": ("PUT", "upload/10m")}
UPLOAD_DEFAULT = ("POST", "bytes")


def upload(ns, tries, peer):
    """The best upload speed of 10 MiB of random bytes (best_transfer)."""
    method, path = UPLOAD.get(peer, UPLOAD_DEFAULT)
    return best_transfer(ns, tries, f"{method} /{path}", ("200", "201", "204"), "upload", "-X", method,
                         "--data-binary", f"@{upload_file()}", f"{URL}{path}")


def vcon_args(path):
    """QEMU arguments for a virtio-console (virtio-serial-pci) whose bytes
    QEMU writes to `path`. Put it on a tmpfs: QEMU writes from the vCPU
    thread, and a file on disk puts the host's writeback stalls into a
    measurement."""
    return ["-chardev", f"file,id=c0,path={path}", "-device", "virtio-serial-pci", "-device",
            "virtconsole,chardev=c0"]


def keel_metrics(ns):
    """Keel's /metrics page, over plain HTTP."""
    rc, out = ns.run("curl", "-s", "--connect-timeout", "2", "-m", "10", f"{URL}metrics", timeout=15)
    if rc != 0:
        raise Failed(f"GET /metrics: curl exit {rc}")
    return out


# Why a Linux peer has no guest busy time: /proc/stat is inside the guest,
# and the bench reaches a Linux peer only through its served port and its
# console.
NO_GUEST_BUSY = ("not measured for Linux: its own busy time (/proc/stat) is inside the guest, which the bench "
                 "reaches only through the served port and the console")


def keel_busy_s(ns):
    """Keel's own busy time (seconds not halted in its idle loop) from
    /metrics."""
    m = re.search(r"^keel_cpu_busy_seconds_total ([\d.]+)$", keel_metrics(ns), re.M)
    if not m:
        raise Failed("/metrics has no keel_cpu_busy_seconds_total")
    return float(m.group(1))


def stat_cpu_s(stat):
    """User + system seconds in a /proc stat line (a process's or a
    thread's)."""
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def qemu_cpu_s(g):
    """User + system seconds the QEMU process has used (vCPU and I/O
    threads), from /proc/PID/stat."""
    return stat_cpu_s(Path(f"/proc/{g.proc.pid}/stat").read_text())


def cost(g, fn, per="requests", scale=1e6, busy=None):
    """Run fn (a load returning {per: n, ...}) and add what each unit of
    `per` cost, times `scale` (1e6: µs per request; 1e3: ms per MiB):
    "cpu", the QEMU process's user+sys time, and, when `busy` (a function
    returning the guest's own busy seconds) is given, "guest", the time
    the guest was not idle. The second /metrics read is itself a request
    the guest serves: one among thousands."""
    guest_before = busy() if busy else None
    before = qemu_cpu_s(g)
    result = fn()
    used = qemu_cpu_s(g) - before
    if not result.get(per):
        raise Failed(f"no {per} completed")
    result["cpu"] = used * scale / result[per]
    if busy:
        result["guest"] = (busy() - guest_before) * scale / result[per]
    return result


def summarize(runs):
    """A list of values and Failed from the rounds -> the record entry:
    median, min, max and every run; null with the reason if none worked."""
    values = [v for v in runs if not isinstance(v, Failed)]
    errors = [str(v) for v in runs if isinstance(v, Failed)]
    if not values:
        return {"value": None, "why": errors[0] if errors else "not measured"}
    entry = {"value": statistics.median(values), "min": min(values), "max": max(values), "runs": values}
    if errors:
        entry["why"] = f"{len(errors)} of {len(runs)} runs failed: {errors[0]}"
    return entry


def keel_memory(ns):
    """Keel's memory in use (bytes) from /metrics: total minus free."""
    out = keel_metrics(ns)
    total = re.search(r"^keel_memory_total_bytes (\d+)", out, re.M)
    free = re.search(r"^keel_memory_free_bytes (\d+)", out, re.M)
    if not (total and free):
        raise Failed("/metrics has no keel_memory_total_bytes/free_bytes")
    return int(total.group(1)) - int(free.group(1))


def linux_memory(guest, timeout=5):
    """A Linux peer's memory in use (bytes), MemTotal - MemAvailable, from
    a console line printed wholly after this call began."""
    seen = len(MEM_LINE.findall(guest.text()))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        lines = MEM_LINE.findall(guest.text())
        if len(lines) >= seen + 2:
            total, avail = lines[-1]
            return (int(total) - int(avail)) * 1024
        time.sleep(0.1)
    raise Failed("no fresh 'bench: mem' line on the console")


class IdleClient:
    """idle.py running in the namespace, driven one command at a time."""

    def __init__(self, ns, seconds, tls=False):
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns.name, "python3", str(IDLE), GUEST_IP, str(seconds),
                                      *(["--tls"] if tls else [])],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)

    def ask(self, command, timeout):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        try:
            return json.loads(line)
        except ValueError:
            raise Failed(f"idle.py answered {command!r} with {line.strip()[-300:]!r}") from None


def idle_steps(count):
    return sorted({max(1, count * k // 10) for k in (1, 2, 5, 10)})


def idle_connections(ns, count, seconds, memory, trouble, tls=False):
    """Hold up to `count` idle keep-alive connections (HTTPS ones, each
    after a full handshake, when `tls`), in steps, measuring
    guest memory (`memory()`) at each: {idle_held, idle_bytes_per_conn} from
    the last step the server came through whole, and why it went no further
    (`trouble()` says what the guest console shows)."""
    before = memory()
    client = IdleClient(ns, seconds, tls)
    best, why = None, None
    try:
        for target in idle_steps(count):
            held = client.ask(f"hold {target}", seconds + 60)
            if held["held"] == 0:
                why = f"no connection accepted: {held['stopped']}{trouble()}"
                break
            time.sleep(1)
            try:
                after = memory()
            except Failed as e:
                why = f"memory unreadable with {held['held']} held: {e}"
                break
            still_open = client.ask("check", 30)["still_open"]
            if still_open < held["held"]:
                why = f"the server closed {held['held'] - still_open} of {held['held']} connections{trouble()}"
                break
            best = (still_open, after)
            if held["stopped"]:
                why = (f"after {held['held'] + 1} the next one failed ({held['stopped']}); "
                       f"one was closed again to read memory{trouble()}")
                break
    finally:
        kill(client.proc)
    if best is None:
        raise Failed(why or "no connection held")
    result = {"idle_held": best[0], "idle_bytes_per_conn": (best[1] - before) / best[0]}
    if why:
        result["why"] = f"measured at {best[0]}; {why}"
    return result
