#!/usr/bin/env python3
"""`make profile`: where one request's cost goes, for Keel alone.

Boots Keel as `make bench` does (TCG, -smp 1, virtio-net on a tap in a
private namespace, log=warn), puts one wrk load on it, and prints per
request: the QEMU process's CPU time (and, from /proc, how it splits over
QEMU's threads), Keel's own busy time, and the delta of every counter
/metrics exports (interrupts, frames, task switches, log batches, the
request-duration histogram as a share of requests) divided by the requests
served.
With --perf, `perf record` samples the QEMU process during the load and
the report's top entries are printed (TCG-generated code shows as
unresolved addresses: that is the guest's own instructions).

With --insns, QEMU runs the insnprof plugin (tests/bench/insnprof.c):
the guest instructions executed per request, exactly, by function of
keel.elf, and the device (MMIO) accesses per request by the function
making them -- what would be VM exits under KVM. A second boot without
the load is subtracted, so boot and idle work drop out. The plugin slows
QEMU down; CPU figures of such a run mean nothing.

usage: profile.py [--load keepalive|close|c1|get10m] [--seconds 10] [--runs 1]
                  [--perf | --insns] [--append 'key=value ...']
                  [--nic virtio|e1000] [--vcon] [--tap]

--vcon gives the guest a virtio-console (virtio-serial-pci), where Keel
moves its log: `--append log=info --vcon` is the access log's cost.

--tap splits a request's latency at the tap (tests/bench/tapstamp.py):
from the request crossing the host end of the guest's NIC to the answer
crossing it back is QEMU and the guest; the rest of what wrk measures is
the host's network stack and wrk itself. Keel's own histogram (head parsed
to response sent) is printed with every run. The capture costs host CPU
of its own, so run it for the split, not for the totals.
"""
import argparse
import atexit
import bisect
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "qemu"))

import bench  # noqa: E402
import measure  # noqa: E402

LOADS = {  # wrk connections, threads, options; or None: a 10 MiB download (curl)
    "keepalive": (32, 2, ()),
    "close": (32, 2, ("-H", "Connection: close")),
    "c1": (1, 1, ("--latency",)),
    "get10m": None,
}


def run_load(args, ns):
    """The load: a wrk result ({"requests": n, ...}), or for get10m the
    downloads with "requests" standing for MiB."""
    if LOADS[args.load] is None:
        r = measure.throughput(ns, 5)
        return {"requests": r["mib"], "rps": r["mibs"]}
    conns, threads, options = LOADS[args.load]
    return measure.wrk(ns, args.seconds, conns, threads, *options)
SAMPLE = re.compile(r"^(keel_[a-z0-9_]+)(\{[^}]*\})? ([0-9.e+-]+)$", re.M)


def counters(ns):
    """Every counter of /metrics (and the latency histogram's buckets):
    {name{labels}: value}."""
    text = measure.keel_metrics(ns)
    return {name + (labels or ""): float(v) for name, labels, v in SAMPLE.findall(text)
            if name.endswith(("_total", "_count", "_bucket"))}


def thread_cpu(pid):
    """{thread name: user+sys seconds} of every thread of a process."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        out[name] = out.get(name, 0.0) + measure.stat_cpu_s(stat)
    return out


def perf_report(data):
    """The top of `perf report` by shared object and symbol."""
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "comm,dso,sym", "--stdio",
                          "--percent-limit", "0.7"], capture_output=True, text=True, timeout=300).stdout
    return "\n".join(line for line in out.splitlines() if line and not line.startswith("#"))


def symbols(elf):
    """keel.elf's functions: (sorted start addresses, names). A local label
    of assembly (no size: memcpy's `loop`) is named after the function it
    is in ("memcpy/loop")."""
    out = subprocess.run(["nm", "-n", "-S", "--defined-only", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    starts, names, outer = [], [], ""
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[-2] not in "TtWw":
            continue
        addr, kind, name = fields[0], fields[-2], fields[-1]
        if len(fields) == 3 and kind == "t" and outer:
            name = f"{outer}/{name}"
        elif kind in "TW":
            outer = name
        starts.append(int(addr, 16))
        names.append(name)
    return starts, names


def insn_counts(path, syms):
    """The plugin's file -> ({function: instructions}, {function: device accesses})."""
    starts, names = syms
    insns, io = collections.Counter(), collections.Counter()

    def name(vaddr):
        i = bisect.bisect_right(starts, vaddr) - 1
        return names[i] if i >= 0 else f"{vaddr:#x}"
    for line in Path(path).read_text().splitlines():
        kind, vaddr, *nums = line.split()
        if kind == "tb":
            insns[name(int(vaddr, 16))] += int(nums[0]) * int(nums[1])
        else:
            io[name(int(vaddr, 16))] += int(nums[0])
    return insns, io


def plugin_boot(args, keel, tag, load):
    """Boot under the plugin, run `load(ns)` (None: no load), stop QEMU
    with SIGTERM so the plugin writes its counts: (result, counts file)."""
    so = bench.BUILD / "insnprof.so"
    out = tempfile.mktemp(prefix=f"keel-insns-{tag}-", suffix=".txt")
    with bench.booted(keel, args.nic, 256, f"insns-{tag}", append=f"{bench.KEEL_APPEND} {args.append}".strip(),
                      qemu_extra=["-plugin", f"{so},out={out},io=on", *vcon_args(args, tag)]) as (ns, g):
        measure.wait_first_200(ns, g, bench.BOOT_TIMEOUT * 4)
        result = load(ns) if load else None
        os.kill(g.proc.pid, signal.SIGTERM)
        g.proc.wait(timeout=60)
    return result, out


def insns_run(args, keel):
    syms = symbols(keel.kernel)
    _, idle_file = plugin_boot(args, keel, "idle", None)
    result, load_file = plugin_boot(args, keel, "load",
                                    lambda ns: run_load(args, ns))
    (idle_i, idle_io), (load_i, load_io) = insn_counts(idle_file, syms), insn_counts(load_file, syms)
    for f in (idle_file, load_file):
        os.unlink(f)
    n = result["requests"]
    insns = {k: v - idle_i.get(k, 0) for k, v in load_i.items()}
    io = {k: v - idle_io.get(k, 0) for k, v in load_io.items()}
    total = sum(insns.values())
    print(f"profile: {args.load}: {n:,} requests under the plugin: {total / n:,.0f} guest instructions "
          f"and {sum(io.values()) / n:.2f} device accesses per request", flush=True)
    for k, v in sorted(insns.items(), key=lambda kv: -kv[1]):
        if v / total < 0.005:
            break
        print(f"  {k:<40} {v / n:9,.0f} insns/request {100 * v / total:5.1f}%")
    for k, v in sorted(io.items(), key=lambda kv: -kv[1]):
        if v / n < 0.005:
            break
        print(f"  device accesses in {k:<28} {v / n:7.3f} /request")


def vcon_args(args, tag):
    """QEMU arguments for a virtio-console writing to a file, if asked."""
    if not args.vcon:
        return []
    path = Path(f"/dev/shm/keel-profile-{tag}.{os.getpid()}.vcon")
    atexit.register(path.unlink, missing_ok=True)
    return measure.vcon_args(path)


def percentiles(values):
    """"p50 X, p90 X, p99 X, p99.9 X" of a list of microseconds."""
    v = sorted(values)
    return ", ".join(f"p{q * 100:g} {measure.percentile(v, q):,.0f}" for q in (0.5, 0.9, 0.99, 0.999))


def one_run(args, keel):
    with bench.booted(keel, args.nic, 256, f"profile-{args.load}",
                      append=f"{bench.KEEL_APPEND} {args.append}".strip(),
                      qemu_extra=["-name", "keel,debug-threads=on", *vcon_args(args, "cpu")]) as (ns, g):
        measure.wait_first_200(ns, g, bench.BOOT_TIMEOUT)
        pid = g.proc.pid  # QEMU itself: `ip netns exec` execs it
        before, threads_before = counters(ns), thread_cpu(pid)
        perf = None
        if args.perf:
            data = tempfile.mktemp(prefix="keel-perf-", suffix=".data")
            perf = (subprocess.Popen(["perf", "record", "-q", "-F", "2000", "-p", str(pid), "-o", data, "--",
                                      "sleep", str(args.seconds)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL), data)
        tap = measure.tap_capture(ns, args.seconds + 1) if args.tap else None
        try:
            result = measure.cost(g, lambda: run_load(args, ns))
            threads_after, after = thread_cpu(pid), counters(ns)
            turns = measure.tap_turns(tap) if tap else None
        finally:
            if tap:
                measure.kill(tap)
        if perf:
            perf[0].wait(timeout=args.seconds + 60)
    n = result["requests"]
    print(f"profile: {args.load}: {n:,} requests, {result['rps']:,.0f} req/s, "
          f"QEMU CPU {result['cpu']:.1f} µs/request", flush=True)
    for name in sorted(threads_after):
        used = threads_after[name] - threads_before.get(name, 0.0)
        if used > 0:
            print(f"  thread {name:<20} {used * 1e6 / n:8.1f} µs/request")
    for key in sorted(after):
        delta = after[key] - before.get(key, 0.0)
        if delta and key.startswith("keel_http_request_duration_seconds_bucket"):
            print(f"  {key:<60} {100 * delta / n:11.2f} % of requests")
        elif delta and key.endswith("_seconds_total"):
            print(f"  {key:<60} {delta * 1e6 / n:12.1f} µs/request")
        elif delta:
            print(f"  {key:<60} {delta / n:12.3f} /request")
    if "p50_us" in result:
        print(f"  latency p50 {result['p50_us']:.0f} µs, p99 {result['p99_us']:.0f} µs (wrk: the host's stack "
              "and wrk included)")
    if turns:
        print(f"  tap to tap (QEMU and the guest only), {len(turns):,} requests: {percentiles(turns)} µs")
    elif turns is not None:
        print("  tap: no request and answer seen")
    if perf:
        print(perf_report(perf[1]))
        os.unlink(perf[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load", choices=sorted(LOADS), default="keepalive")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=1)
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--perf", action="store_true", help="perf record the QEMU process")
    group.add_argument("--insns", action="store_true", help="count guest instructions (QEMU plugin)")
    ap.add_argument("--append", default="", help="more Keel command-line options")
    ap.add_argument("--nic", choices=["virtio", "e1000"], default="virtio")
    ap.add_argument("--vcon", action="store_true", help="a virtio-console for the log")
    ap.add_argument("--tap", action="store_true", help="split the latency at the tap (tapstamp.py)")
    args = ap.parse_args()
    keel = bench.keel_peer()
    for _ in range(args.runs):
        (insns_run if args.insns else one_run)(args, keel)


if __name__ == "__main__":
    main()
