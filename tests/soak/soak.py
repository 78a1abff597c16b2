#!/usr/bin/env python3
"""`make soak`: boot build/keel.elf under QEMU (TCG) in a private network
namespace and run mixed load against it for SOAK_SECONDS, then check that
nothing failed, nothing leaked and nothing crashed.

  tests/soak/soak.py [--seconds 600] [--nic virtio|e1000]

Loads, all at once, all from inside the namespace (`ip netns exec`):
  keepalive  wrk -c16, keep-alive, GET / and /healthz (rotate.lua)
  close      wrk -c8 with Connection: close, same paths
  pipeline, upload, echo, users, malformed   soakclient.py (see there)
  slowloris  slowhttptest -H, 200 connections per cycle
  slowbody   slowhttptest -B on POST /echo, 200 connections per cycle

The run is two phases: a warm-up (the first WARMUP_FRACTION of the time)
and the main phase. After each, the load stops, connections drain and the
memory gauges of /metrics settle; the settled sample after the warm-up is
the baseline, the one after the main phase must match it. /metrics is
sampled every SAMPLE_EVERY seconds meanwhile.

Prints progress every PROGRESS_EVERY seconds, a summary table, one line
per check ("PASS soak/<what>" or "FAIL soak/<what>: why") and last
"N passed, N failed"; exits 1 if anything failed. Every client process has
a deadline and is killed by process group at the end; the guest and the
namespace go too, on failure and on Ctrl-C as well.
"""
import argparse
import csv
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "qemu"))
from guest import OUT, Guest  # noqa: E402
from netns import GUEST_APPEND, GUEST_IP, Netns  # noqa: E402

CLIENT = HERE / "soakclient.py"
ROTATE = HERE / "rotate.lua"
URL = f"http://{GUEST_IP}/"

WARMUP_FRACTION = 0.2
SAMPLE_EVERY = 10          # seconds between /metrics samples
PROGRESS_EVERY = 30        # seconds between progress lines
BOOT_TIMEOUT = 90          # until /healthz answers after QEMU starts
WRK_CHUNK = 30             # seconds per wrk run: its totals arrive at the end of each
# A well-formed request slower than the appliance's handler_timeout (10 s)
# is a failure, not a slow success: wrk --timeout and the slowhttptest probe.
REQUEST_TIMEOUT = 10
GRACE = 60                 # beyond its own duration before a client is killed as hung
SLOW_CONNS, SLOW_RATE = 200, 50  # well under max_conns=1000: the timeouts are the defence measured
# name: (slowhttptest mode, target, extra arguments, cycle limit in s). A
# cycle ends when the server has closed all its connections: slow headers
# by read_header_timeout (5 s), slow bodies by handler_timeout (10 s, a 408)
# or read_timeout (30 s). Still open at the limit is a failure.
SLOW_MODES = {
    "slowloris": ("-H", "", (), 40),
    "slowbody": ("-B", "echo", ("-s", "65536"), 60),
}
# After the load stops, killed clients' connections end at once (FIN); the
# appliance's own timeouts (idle_timeout 60 s at most) end any it missed.
DRAIN_TIMEOUT = 100  # TIME_WAIT PCBs (lwIP memory) expire after 60 s
# Allowed growth of the settled heap in use from the baseline to the end.
# Both samples are taken with one connection open (the /metrics request
# itself) and no other activity, so the heap should be identical; 16 KiB
# is slack for one connection's buffers caught mid-free, far below what a
# per-request or per-connection leak leaves after hundreds of thousands.
HEAP_TOLERANCE = 16 << 10
# Allowed drop of free physical memory from the baseline to the end. The
# kernel keeps exited tasks' stacks cached (kernel/vmm.c: 16 KiB each, by
# design) and never unmaps heap pages, so a new peak of concurrent
# connections in the main phase that the warm-up did not reach costs
# pages without a leak. 64 stacks' worth covers such a peak (the slow
# attacks alone hold up to 400 connections at once in both phases).
FREE_TOLERANCE = 64 * (16 << 10)
# name, what it counts, and what its check asserts.
LOADS = [
    ("keepalive", "requests", "wrk -c16 keep-alive on / and /healthz: no socket error, no non-2xx/3xx"),
    ("close", "requests", "wrk -c8 with Connection: close: no socket error, no non-2xx/3xx"),
    ("pipeline", "requests", "batches of 10 pipelined GETs: all answered, in order, byte-exact"),
    ("upload", "requests", "POST /upload of ~1 MB multipart: every part's size and CRC-32 right"),
    ("echo", "requests", "POST /echo, Content-Length and chunked: every body back byte-for-byte"),
    ("users", "requests", "/api/users create-read-replace-delete cycles: every status and body right"),
    ("malformed", "requests", "malformed requests: each draws a 4xx and a close (no 5xx, no hang)"),
    ("slowloris", "conns", "slowhttptest -H: the appliance closes every slow-header connection and stays up"),
    ("slowbody", "conns", "slowhttptest -B: the appliance closes every slow-body connection and stays up"),
    ("metrics", "samples", f"GET /metrics every {SAMPLE_EVERY} s under load answered"),
]
MEMORY_GAUGES = ("memory_free_bytes", "heap_in_use_bytes", "heap_mapped_bytes", "tasks")
CONN_STATES = ("new", "active", "idle")  # keel_http_connections{state=...} (app/metrics.c)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Procs:
    """Every client process, each in its own process group, with a
    deadline; kill_all() ends whatever is left, by process group ID."""

    def __init__(self, ns):
        self.ns = ns
        self.lock = threading.Lock()
        self.live = set()
        self.closed = False  # after kill_all: start nothing new

    def run(self, args, deadline, on_line=None):
        """Run args inside the namespace until it exits or the monotonic
        deadline passes; (exit status, output, killed at the deadline)."""
        with self.lock:
            if self.closed:
                return None, "", True
            p = subprocess.Popen(["ip", "netns", "exec", self.ns.name, *map(str, args)], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                                 start_new_session=True)
            self.live.add(p)
        killed = threading.Event()

        def expire():
            killed.set()
            kill(p)
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), expire)
        timer.start()
        lines = []
        try:
            for line in p.stdout:
                lines.append(line)
                if on_line:
                    on_line(line)
            p.wait()
        finally:
            timer.cancel()
            kill(p)
            with self.lock:
                self.live.discard(p)
        return p.returncode, "".join(lines), killed.is_set()

    def kill_all(self):
        with self.lock:
            self.closed = True
            procs = list(self.live)
        for p in procs:
            kill(p)


def kill(p):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


class Tally:
    """Totals of one load: finished runs plus the one in progress."""

    def __init__(self, name, unit, what):
        self.name, self.unit, self.what = name, unit, what
        self.lock = threading.Lock()
        self.requests = self.errors = 0
        self.live = (0, 0)
        self.why = []
        self.notes = {}

    def add(self, requests, errors, why=()):
        with self.lock:
            self.requests += requests
            self.errors += errors
            self.why.extend(why)
            del self.why[5:]

    def set_live(self, requests, errors):
        with self.lock:
            self.live = (requests, errors)

    def note(self, key, value):
        """Keep the largest value seen under key."""
        with self.lock:
            self.notes[key] = max(self.notes.get(key, value), value)

    def totals(self):
        with self.lock:
            return self.requests + self.live[0], self.errors + self.live[1]


class Soak:
    """The state of one run: namespace, guest, clients, tallies, samples."""

    def __init__(self, ns, guest, seconds):
        self.guest, self.seconds = guest, seconds
        self.procs = Procs(ns)
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.samples = []       # /metrics samples taken under load
        self.results = []       # (ok, what, why)
        self.tallies = {name: Tally(name, unit, what) for name, unit, what in LOADS}

    def check(self, ok, what, why=""):
        self.results.append((bool(ok), what, why))

    def guest_alive(self):
        return self.guest.proc.poll() is None


# ------------------------------------------------------------------ loads --

def wrk_load(soak, tally, end, conns, extra):
    """wrk in WRK_CHUNK-second runs until the phase ends."""
    while not soak.stop.is_set() and (seconds := int(end - time.monotonic())) >= 2:
        seconds = min(seconds, WRK_CHUNK)
        rc, out, killed = soak.procs.run(
            ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", f"{REQUEST_TIMEOUT}s", "-s", ROTATE, *extra,
             URL], time.monotonic() + seconds + GRACE)
        if soak.stop.is_set():
            return
        tally.add(*parse_wrk(rc, out, killed))
        if m := re.search(r"Latency\s+\S+\s+\S+\s+(\d+(?:\.\d+)?)(us|ms|s)\b", out):
            tally.note("max latency s", float(m.group(1)) / {"us": 1e6, "ms": 1e3, "s": 1}[m.group(2)])


def parse_wrk(rc, out, killed):
    """(requests, errors, why) of one wrk run: every socket error and every
    non-2xx/3xx response is an error."""
    m = re.search(r"(\d+) requests in", out)
    if killed or rc != 0 or not m:
        return 0, 1, [f"wrk exit {rc}{' (hung, killed)' if killed else ''}: {out.strip()[-300:]!r}"]
    errors, why = 0, []
    if s := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(map(int, s.groups()))
        why.append(f"{time.strftime('%H:%M:%S')} {s.group(0)}")
    if s := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(s.group(1))
        why.append(f"{time.strftime('%H:%M:%S')} {s.group(0)}")
    return int(m.group(1)), errors, why


def python_load(soak, tally, end, kind):
    """One soakclient.py process for the rest of the phase."""
    seconds = end - time.monotonic()
    if seconds < 1:
        return
    last = {}

    def on_line(line):
        if line.startswith("{"):
            last.update(json.loads(line))
            tally.set_live(last["requests"], last["errors"])

    rc, out, killed = soak.procs.run(["python3", CLIENT, kind, f"{seconds:.0f}"], end + GRACE, on_line)
    tally.set_live(0, 0)
    requests, errors, why = last.get("requests", 0), last.get("errors", 0), list(last.get("why", []))
    if not soak.stop.is_set() and (killed or (rc != 0 and not errors)):
        errors += 1
        why.append(f"soakclient.py {kind} exit {rc}{' (hung, killed)' if killed else ''}: {out.strip()[-300:]!r}")
    tally.add(requests, errors, why)


def slow_load(soak, tally, end, name):
    """slowhttptest cycles until the phase ends. A cycle the phase end cuts
    short is not judged."""
    mode, path, extra, limit = SLOW_MODES[name]
    while not soak.stop.is_set() and time.monotonic() < end - 1:
        with tempfile.TemporaryDirectory(prefix="keel-soak-") as tmp:
            rc, out, killed = soak.procs.run(
                ["slowhttptest", mode, "-c", SLOW_CONNS, "-r", SLOW_RATE, "-i", 1, "-l", limit, "-p",
                 REQUEST_TIMEOUT, *extra, "-g", "-o", f"{tmp}/stats", "-u", URL + path],
                min(end, time.monotonic() + limit + GRACE))
            if killed and not soak.stop.is_set() and time.monotonic() < end:
                tally.add(0, 1, [f"{time.strftime('%H:%M:%S')} slowhttptest still running {GRACE} s past its "
                                 f"{limit} s limit: killed"])
            if soak.stop.is_set() or killed:
                return
            rows = read_csv(Path(tmp, "stats.csv"))
        tally.add(*judge_slow(rc, ANSI.sub("", out), rows, limit))
        if rows:
            tally.note("most held", max(r["Connected"] for r in rows))
            tally.note("longest cycle s", rows[-1]["Seconds"])


def read_csv(path):
    """slowhttptest's per-second statistics (-g): Seconds, Closed, Pending,
    Connected, Service Available (0 when its probe got no answer)."""
    try:
        with open(path) as f:
            return [{k: int(v) for k, v in row.items()} for row in csv.DictReader(f)]
    except (OSError, ValueError):
        return []


def judge_slow(rc, out, rows, limit):
    """(connections, errors, why) of one slowhttptest cycle. Errors: the
    probe found the service unavailable (no answer within REQUEST_TIMEOUT
    while under attack), connections the server did not close before the
    cycle limit, or slowhttptest itself failing."""
    stamp = time.strftime("%H:%M:%S")
    status = re.search(r"^Exit status:\s*(.*?)\s*$", out, re.M)
    if rc != 0 or not status or not rows:
        return 0, 1, [f"{stamp} slowhttptest exit {rc}: {out.strip()[-300:]!r}"]
    errors, why = 0, []
    if down := sum(r["Service Available"] == 0 for r in rows):
        errors += down
        why.append(f"{stamp} the probe found the service unavailable in {down} of {len(rows)} seconds")
    if status.group(1) != "No open connections left":
        errors += 1
        why.append(f"{stamp} {rows[-1]['Connected']} connections still open at the {limit} s cycle limit "
                   f"({status.group(1)})")
    return rows[-1]["Closed"], errors, why


def loads(soak, end):
    """Every load of a phase, as (function, arguments) for a thread."""
    t = soak.tallies
    return ([(wrk_load, (soak, t["keepalive"], end, 16, ())),
             (wrk_load, (soak, t["close"], end, 8, ("-H", "Connection: close")))] +
            [(python_load, (soak, t[k], end, k)) for k in ("pipeline", "upload", "echo", "users", "malformed")] +
            [(slow_load, (soak, t[k], end, k)) for k in SLOW_MODES])


# ---------------------------------------------------------------- metrics --

def sample(soak):
    """One /metrics sample as a dict, or None (counted as a failed request)."""
    tally = soak.tallies["metrics"]
    rc, out, killed = soak.procs.run(["python3", CLIENT, "metrics"], time.monotonic() + 2 * REQUEST_TIMEOUT)
    try:
        s = json.loads(out.strip().splitlines()[-1])
        s["conns"] = sum(s.get(f"http_connections.{k}", 0) for k in CONN_STATES)
        # Blocks kept for reuse at their peak (lwIP's size classes, freed
        # connections) are not growth: a leak shows in what is left.
        s["heap_in_use_bytes"] = s.get("heap_in_use_bytes", 0) - s.get("heap_cached_bytes", 0)
        tally.add(1, 0)
        return s
    except (ValueError, IndexError):
        tally.add(0, 1, [f"{time.strftime('%H:%M:%S')} /metrics: exit {rc}{' (killed)' if killed else ''}: "
                         f"{out.strip()[-200:]!r}"])
        return None


def settle(soak, what):
    """After a phase: wait until only the asking connection is open and
    two samples in a row agree on every memory gauge; that sample, or None
    (reported) if it does not happen within DRAIN_TIMEOUT."""
    end = time.monotonic() + DRAIN_TIMEOUT
    prev, s = None, None
    while time.monotonic() < end and soak.guest_alive():
        s = sample(soak)
        if s and s["conns"] == 1:
            if prev and all(prev.get(k) == s.get(k) for k in MEMORY_GAUGES):
                return s
            prev = s
        else:
            prev = None
        time.sleep(1)
    soak.check(False, f"drain after the {what}",
               f"connections or memory still moving {DRAIN_TIMEOUT} s after the load stopped; last sample "
               f"{None if not s else {k: s.get(k) for k in ('conns', *MEMORY_GAUGES)}}")
    return None


def progress(soak, phase, s):
    elapsed = time.monotonic() - soak.started
    counts = " ".join(f"{t.name} {'/'.join(map(str, t.totals()))}" for t in soak.tallies.values())
    mem = (f"free {s['memory_free_bytes'] / 2**20:.1f} MiB, heap {s['heap_in_use_bytes'] / 1024:.0f} KiB, "
           f"tasks {s['tasks']:.0f}, conns {s['conns']:.0f}") if s else "no sample"
    print(f"soak: {elapsed:4.0f} s of {soak.seconds} ({phase}): {mem}; ok/errors: {counts}", flush=True)


def phase(soak, name, seconds):
    """Run every load for `seconds`, sampling /metrics meanwhile; stop
    early (and kill the clients) if the guest dies."""
    end = time.monotonic() + seconds
    threads = [threading.Thread(target=fn, args=args, daemon=True) for fn, args in loads(soak, end)]
    for t in threads:
        t.start()
    next_sample = next_progress = time.monotonic() + SAMPLE_EVERY
    last = None
    while any(t.is_alive() for t in threads):
        if not soak.guest_alive():
            soak.stop.set()
            soak.procs.kill_all()
            break
        now = time.monotonic()
        if now >= next_sample and now < end:
            last = sample(soak)
            if last:
                soak.samples.append(last)
            next_sample += SAMPLE_EVERY
        if now >= next_progress:
            progress(soak, name, last)
            next_progress += PROGRESS_EVERY
        time.sleep(0.5)
    for t in threads:
        t.join(GRACE)


# ----------------------------------------------------------------- checks --

def healthz(soak):
    """(answered ok, curl output) for GET /healthz."""
    rc, out, _ = soak.procs.run(["curl", "-sS", "--max-time", REQUEST_TIMEOUT, URL + "healthz"],
                                time.monotonic() + 2 * REQUEST_TIMEOUT)
    return rc == 0 and out == "ok\n", out.strip()[-200:]


def wait_up(soak):
    end = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < end and soak.guest_alive():
        if healthz(soak)[0]:
            return True
        time.sleep(1)
    return False


def memory_checks(soak, base, final):
    growth = final["heap_in_use_bytes"] - base["heap_in_use_bytes"]
    soak.check(growth <= HEAP_TOLERANCE, "memory: heap in use back to the post-warm-up baseline",
               f"{base['heap_in_use_bytes']:.0f} -> {final['heap_in_use_bytes']:.0f} B "
               f"(+{growth:.0f}, tolerance {HEAP_TOLERANCE})")
    soak.check(final["tasks"] == base["tasks"], "memory: task count back to the post-warm-up baseline",
               f"{base['tasks']:.0f} -> {final['tasks']:.0f}")
    drop = base["memory_free_bytes"] - final["memory_free_bytes"]
    soak.check(drop <= FREE_TOLERANCE, "memory: free physical memory back to the post-warm-up baseline",
               f"{base['memory_free_bytes']:.0f} -> {final['memory_free_bytes']:.0f} B "
               f"(-{drop:.0f}, tolerance {FREE_TOLERANCE})")


def load_checks(soak):
    for t in soak.tallies.values():
        requests, errors = t.totals()
        soak.check(requests > 0 and errors == 0, f"{t.name}: {t.what}",
                   f"{errors} errors in {requests} {t.unit}: " + "; ".join(t.why) if errors else f"no {t.unit} at all")


def crash_checks(soak):
    status = soak.guest.proc.poll()
    soak.check(status is None, "crash: QEMU still running after the load", f"QEMU exited with status {status}")
    bad = re.findall(r"^keel: (?:panic|trap):.*$", soak.guest.text(), re.M)
    soak.check(not bad, "crash: no panic or trap on the serial console", "; ".join(bad[:5]))


def end_checks(soak):
    ok, out = healthz(soak)
    soak.check(ok, "healthz: answers ok at the end", repr(out))
    soak.guest.monitor("system_powerdown")
    status = soak.guest.wait_exit(40)
    soak.check(status == 0, "power off: QEMU exits 0 after the soak", f"exit status {status}")


# ---------------------------------------------------------------- summary --

def summary(soak, base, final):
    print("\nsoak summary", flush=True)
    print(f"  {'load':<10} {'ok':>10} {'errors':>7}  notes")
    for t in soak.tallies.values():
        requests, errors = t.totals()
        notes = ", ".join(f"{k} {v:g}" for k, v in t.notes.items())
        print(f"  {t.name:<10} {requests:>10} {errors:>7}  {t.unit}{'; ' + notes if notes else ''}")
    print(f"\n  {'gauge':<20} {'min':>12} {'max':>12} {'baseline':>12} {'end':>12}   ({len(soak.samples)} samples "
          f"under load)")
    for k in (*MEMORY_GAUGES, "conns"):
        vals = [s[k] for s in soak.samples if k in s]
        cells = [f"{min(vals):.0f}" if vals else "-", f"{max(vals):.0f}" if vals else "-",
                 f"{base[k]:.0f}" if base else "-", f"{final[k]:.0f}" if final else "-"]
        print(f"  {k:<20} " + " ".join(f"{c:>12}" for c in cells))
    if final:
        counts = {k: int(final.get(f"http_requests_total.{k}", 0)) for k in ("2xx", "4xx", "5xx")}
        print(f"\n  appliance: responses {counts}, parser rejections {final.get('http_bad_requests_total', 0):.0f}, "
              f"handler timeouts {final.get('http_handler_timeouts_total', 0):.0f}, refused (max_conns) "
              f"{final.get('http_connections_refused_total', 0):.0f}, NIC drops rx "
              f"{final.get('nic_rx_dropped_total', 0):.0f} tx {final.get('nic_tx_dropped_total', 0):.0f}")
    print(f"  serial log: {soak.guest.log}\n", flush=True)


def report(results):
    for ok, what, why in results:
        print(f"PASS soak/{what}" if ok else f"FAIL soak/{what}: {why}", flush=True)
    failed = sum(not ok for ok, _, _ in results)
    print(f"{len(results) - failed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


# ------------------------------------------------------------------- main --

def run(soak):
    """The whole soak against a booted guest; returns (baseline, end)."""
    up = wait_up(soak)
    soak.check(up, "boot: the appliance answers /healthz", f"no answer within {BOOT_TIMEOUT} s")
    if not up:
        return None, None
    soak.started = time.monotonic()
    warmup = round(soak.seconds * WARMUP_FRACTION)
    print(f"soak: {soak.seconds} s of load on {GUEST_IP} ({warmup} s warm-up), serial log {soak.guest.log}",
          flush=True)
    phase(soak, "warm-up", warmup)
    base = settle(soak, "warm-up") if soak.guest_alive() else None
    if base:
        print(f"soak: baseline after the warm-up: " + ", ".join(f"{k} {base[k]:.0f}" for k in MEMORY_GAUGES),
              flush=True)
        phase(soak, "main", soak.seconds - warmup)
    final = settle(soak, "main phase") if base and soak.guest_alive() else None
    load_checks(soak)
    if base and final:
        memory_checks(soak, base, final)
    crash_checks(soak)
    if soak.guest_alive():
        end_checks(soak)
    return base, final


def interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def lock():
    """Hold build/test/soak.lock for the run: two soaks at once would share
    two cores and measure each other. None if another soak holds it."""
    OUT.mkdir(parents=True, exist_ok=True)
    f = open(OUT.parent / "soak.lock", "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return None
    return f


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", 600)))
    ap.add_argument("--nic", choices=("virtio", "e1000"), default=os.environ.get("NIC", "virtio"))
    args = ap.parse_args()
    held = lock()
    if not held:
        return report([(False, "lock", "another soak is running (build/test/soak.lock)")])
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    results, base, final = [], None, None
    soak = None
    try:
        with Netns("soak") as ns, Guest(f"soak-{args.nic}", append=f"{GUEST_APPEND} log=warn", mem="128M",
                                        extra=ns.qemu_net(args.nic), netns=ns.name) as guest:
            soak = Soak(ns, guest, args.seconds)
            try:
                base, final = run(soak)
            finally:
                soak.stop.set()
                soak.procs.kill_all()
            summary(soak, base, final)
            results = soak.results
    except KeyboardInterrupt as e:
        results = (soak.results if soak else []) + [(False, "interrupted", str(e) or "Ctrl-C")]
    return report(results)


if __name__ == "__main__":
    sys.exit(main())
