#!/usr/bin/env python3
"""`make bench`: Keel side by side with two Linux peers (nginx, and a Go
net/http server, on a Debian kernel with a busybox initramfs) on identical
virtual hardware: the same QEMU (TCG, -cpu max, -smp 1, -m MEM), the same
NIC model, each guest on a tap in its own network namespace, every client
run inside that namespace. Writes build/bench/results.md (also printed),
results.json and ratios.png. A metric that cannot be measured is recorded
as null with the reason; the run goes on.

usage: bench.py [--nic virtio|e1000] [--peers keel,nginx,go] [--rounds 3]
                [--seconds 10] [--mem 256M] [--idle-conns 10000]
                [--sections http,https,images] [--tls-idle-conns 2000]
                [--image-boots 3]
       bench.py --smoke   a quick run of the rig for `make test`: Keel only,
                          one round, 2-second wrk runs, no -m bisection, one
                          HTTPS keep-alive load; prints PASS/FAIL lines

Every section runs --rounds rounds, each booting every peer afresh in turn
(Keel, nginx, Go, Keel, nginx, Go, ...), so each figure is the median of
interleaved runs with its min-max, and a ratio is one of medians. Every
rate comes with what a request cost: the QEMU process's CPU time and, for
Keel, the guest's own busy time (/metrics), per request (per MiB for the
download). The plain section (http) comes first, then HTTPS (https.py),
then the images section (images.py): Keel's VM images (`make images`)
booted through GRUB under SeaBIOS and OVMF, boot to first 200 of each,
median of --image-boots boots.
"""
import argparse
import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "qemu"))

import guest  # noqa: E402  (tests/qemu, on the path above)
import https  # noqa: E402
import images  # noqa: E402
import measure  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
from guest import BUILD, Guest  # noqa: E402
from measure import Failed  # noqa: E402
from netns import GUEST_APPEND, GUEST_IP, Netns  # noqa: E402

OUT = BUILD / "bench"
# Guest serial logs go beside the results, not among the QEMU tests' logs.
guest.OUT = OUT / "logs"

# QEMU's default MAC for the first NIC, made explicit so the namespace can
# hold a permanent neighbour entry: no ARP delay in the boot-to-200 time.
MAC = "52:54:00:12:34:56"
KEEL_APPEND = f"{GUEST_APPEND} log=warn max_conns=20000 idle_timeout=300"
LINUX_APPEND = "console=ttyS0 quiet panic=-1"
BOOT_TIMEOUT = 90
ALL_KEYS = [k for k, *_ in report.METRICS]
# Measured in every round; the image sizes are facts of the files, and the
# smallest -m is one bisection after the rounds.
ROUND_KEYS = [k for k in ALL_KEYS if not k.startswith("image_") and k != "min_mem_mib"]
TLS_KEYS = [k for k, *_ in report.TLS_METRICS]
TLS_LOADS = ("full", "resumed", "keepalive", "latency")


@dataclass
class Peer:
    """How to boot one peer, and what its image weighs."""
    name: str
    kernel: str
    append: str
    initrd: str | None
    mem_range: tuple
    version: str
    sizes: dict


def keel_peer():
    """Keel, booted from a copy of build/keel.elf: a rebuild during the run
    changes nothing under test."""
    OUT.mkdir(parents=True, exist_ok=True)
    elf = Path(shutil.copy(BUILD / "keel.elf", OUT / "keel.elf"))
    text, data = subprocess.run(["size", str(elf)], capture_output=True, text=True, check=True,
                                timeout=30).stdout.splitlines()[1].split()[:2]
    version = re.search(r'"(.*)"', (BUILD / "gen" / "version.h").read_text()).group(1)
    sizes = {"image_loadable_kib": {"value": (int(text) + int(data)) / 1024, "why": "text + data of `size`"},
             "image_file_kib": {"value": elf.stat().st_size / 1024, "why": "keel.elf, debug info included"}}
    return Peer("keel", str(elf), KEEL_APPEND, None, (2, 512), f"Keel {version}, build/keel.elf", sizes)


def linux_peer(name, info):
    image = {"value": (info["vmlinuz_bytes"] + info["initramfs_bytes"]) / 1024,
             "why": f"vmlinuz {info['vmlinuz_bytes']:,} B + initramfs.gz {info['initramfs_bytes']:,} B"}
    version = f"{info['server']} on Linux {info['linux']}, busybox initramfs"
    return Peer(name, info["kernel"], LINUX_APPEND, info["initrd"], (16, 1024), version,
                {"image_loadable_kib": image, "image_file_kib": image})


def prepare(ns):
    """Client-side settings of a fresh namespace: a permanent neighbour
    entry for the guest, and room for many short connections."""
    for cmd in (("ip", "neigh", "replace", GUEST_IP, "lladdr", MAC, "dev", "tap0", "nud", "permanent"),
                ("sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65535"),
                ("sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1")):
        rc, out = ns.run(*cmd, timeout=30)
        if rc != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {out.strip()}")


@contextmanager
def booted(peer, nic, mem_mib, tag, microvm=False, append=None, qemu_extra=(), **media):
    """A fresh namespace and the peer booting in it: (ns, guest). Both are
    torn down on exit (QEMU killed by PID, namespace deleted). media: Guest's
    iso=, disk= and uefi= to boot an image instead of -kernel; microvm: QEMU's
    microvm machine, its NIC on virtio-mmio; append: another command line."""
    with Netns(f"bench-{peer.name}") as ns:
        prepare(ns)
        net = ns.qemu_net("virtio-mmio" if microvm else nic)
        net[-1] += f",mac={MAC}"
        extra = [*(["-M", "microvm"] if microvm else []), *net,
                 *(["-initrd", peer.initrd] if peer.initrd else []), *qemu_extra]
        with Guest(f"bench-{peer.name}-{tag}", image=peer.kernel, append=append or peer.append,
                   mem=f"{mem_mib}M",
                   extra=extra, netns=ns.name, **media) as g:
            yield ns, g


def progress(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def trouble(g):
    """What went wrong with the guest itself, if anything: '' or a clause."""
    if g.proc.poll() is not None:
        return f" (QEMU exited with status {g.proc.returncode}; log {g.log})"
    fatal = measure.FATAL.search(g.text())
    return f" (guest console: {fatal.group(0)}; log {g.log})" if fatal else ""


def take(runs, keys, fn, g=None):
    """Run one measurement and append each value it returns to runs[key]
    (keys: key -> the name fn's dict gives it), or a Failed with the reason
    to every key. A failure never stops the run. The dict's "why", if any,
    is returned."""
    try:
        values = fn()
        for k, src in keys.items():
            runs[k].append(values.get(src, Failed(measure.NO_GUEST_BUSY)))
        return values.get("why")
    except Exception as e:  # noqa: BLE001  (any failure is this metric's result)
        why = Failed((str(e) or type(e).__name__) + (trouble(g) if g else ""))
        for k in keys:
            runs[k].append(why)
        return None


def shown(runs, keys):
    """The last value of each key, for the progress line (a Linux peer's
    guest busy time and access-log rows, never measured, left out)."""
    def one(v):
        return f"failed: {v}" if isinstance(v, Failed) else f"{v:.6g}"
    skip = (measure.NO_GUEST_BUSY, NOT_LOGGED)
    return ", ".join(f"{k}={one(runs[k][-1])}" for k in keys if str(runs[k][-1]) not in skip)


def memory_reader(peer, ns, g):
    """A function returning the guest's memory in use, in bytes."""
    return (lambda: measure.keel_memory(ns)) if peer.name == "keel" else (lambda: measure.linux_memory(g))


def busy_reader(peer, ns):
    """A function returning the guest's own busy seconds (Keel's /metrics),
    or None for a Linux peer (measure.NO_GUEST_BUSY says why)."""
    return (lambda: measure.keel_busy_s(ns)) if peer.name == "keel" else None


def run_loads(runs, peer, ns, g, args):
    """The loads of one boot, lightest first; every rate with the CPU each
    request (each MiB for the download) cost."""
    s, busy = args.seconds, busy_reader(peer, ns)
    take(runs, {"mem_boot_kib": "kib"}, lambda: {"kib": memory_reader(peer, ns, g)() / 1024}, g)
    take(runs, {"throughput_mibs": "mibs", "cpu_throughput_ms": "cpu", "guest_throughput_ms": "guest"},
         lambda: measure.cost(g, lambda: measure.throughput(ns, args.tries), per="mib", scale=1e3, busy=busy), g)
    take(runs, {"upload_mibs": "mibs", "cpu_upload_ms": "cpu", "guest_upload_ms": "guest"},
         lambda: measure.cost(g, lambda: measure.upload(ns, args.tries, peer.name), per="mib", scale=1e3, busy=busy),
         g)
    take(runs, {"p50_us": "p50_us", "p99_us": "p99_us"}, lambda: measure.wrk(ns, s, 1, 1, "--latency"), g)
    take(runs, {"tap_p50_us": "p50_us", "tap_p99_us": "p99_us"}, lambda: measure.tap_latency(ns, s), g)
    take(runs, {"rps_keepalive": "rps", "cpu_keepalive_us": "cpu", "guest_keepalive_us": "guest"},
         lambda: measure.cost(g, lambda: measure.wrk(ns, s, 32, 2), busy=busy), g)
    take(runs, {"rps_close": "rps", "cpu_close_us": "cpu", "guest_close_us": "guest"},
         lambda: measure.cost(g, lambda: measure.wrk(ns, s, 32, 2, "-H", "Connection: close"), busy=busy), g)
    take(runs, {"rps_c1000": "rps", "errors_c1000": "errors", "cpu_c1000_us": "cpu", "guest_c1000_us": "guest"},
         lambda: measure.cost(g, lambda: measure.wrk(ns, s, 1000, 2), busy=busy), g)


# Keel's access log, measured as a pair of boots that differ only in it:
# log=warn and log=info, both with a virtio-console taking the log (as a
# deployment would have it: the serial console costs an exit per byte),
# written to a file on a tmpfs (measure.vcon_args; nginx's log would go to
# its own page cache). Each boot gets the same warm-up and then keep-alive
# c32; the pair's order alternates between rounds, and the cost is the
# median of the pairs' ratios, so host drift between rounds cancels out.
LOG_KEYS = {"rps_keepalive_nolog": "rps_off", "cpu_keepalive_nolog_us": "cpu_off",
            "rps_keepalive_log": "rps_on", "cpu_keepalive_log_us": "cpu_on", "log_ratio": "ratio"}
NOT_LOGGED = "Keel only: the cost of its access log against its own log-off run (nginx and Go run without one)"
WARMUP_S = 1


def log_boot(peer, args, level, tag):
    """Keel booted with log=`level` and the virtio-console; keep-alive c32
    after a warm-up: the wrk result with QEMU CPU per request."""
    vcon = Path(f"/dev/shm/keel-bench-{tag}.{os.getpid()}.vcon")
    append = KEEL_APPEND.replace("log=warn", f"log={level}")
    try:
        with booted(peer, args.nic, int(args.mem.rstrip("M")), tag, append=append,
                    qemu_extra=measure.vcon_args(vcon)) as (ns, g):
            try:
                measure.wait_first_200(ns, g, BOOT_TIMEOUT)
                measure.wrk(ns, WARMUP_S, 32, 2)
                return measure.cost(g, lambda: measure.wrk(ns, args.seconds, 32, 2))
            except Exception as e:  # noqa: BLE001  (named with the guest's trouble, as take() does)
                raise Failed(f"log={level}: {e}{trouble(g)}") from None
    finally:
        vcon.unlink(missing_ok=True)


def access_log_round(peer, runs, args, rnd):
    """The round's pair of boots, log off and on, in alternating order."""
    if peer.name != "keel":
        for k in LOG_KEYS:
            runs[k].append(Failed(NOT_LOGGED))
        return

    def pair():
        levels = ("warn", "info") if rnd % 2 == 0 else ("info", "warn")
        got = {level: log_boot(peer, args, level, f"log-{level}{rnd}") for level in levels}
        off, on = got["warn"], got["info"]
        return {"rps_off": off["rps"], "cpu_off": off["cpu"], "rps_on": on["rps"], "cpu_on": on["cpu"],
                "ratio": on["rps"] / off["rps"]}
    take(runs, LOG_KEYS, pair)


def http_round(peer, runs, notes, args, rnd):
    """One round of one peer: boot and the loads on a fresh boot, then idle
    connections on another (nothing left over from the loads, and a server
    that does not survive them ends nothing else). Appends to runs[key]."""
    mem_mib = int(args.mem.rstrip("M"))
    with booted(peer, args.nic, mem_mib, f"main{rnd}") as (ns, g):
        take(runs, {"boot_s": "s"}, lambda: {"s": measure.wait_first_200(ns, g, BOOT_TIMEOUT)}, g)
        served = not isinstance(runs["boot_s"][-1], Failed)
        if served:
            run_loads(runs, peer, ns, g, args)
    if served:
        access_log_round(peer, runs, args, rnd)
        with booted(peer, args.nic, mem_mib, f"idle{rnd}") as (ns, g):
            def idle():
                measure.wait_first_200(ns, g, BOOT_TIMEOUT)
                return measure.idle_connections(ns, args.idle_conns, args.idle_seconds, memory_reader(peer, ns, g),
                                                lambda: trouble(g))
            why = take(runs, {"idle_held": "idle_held", "idle_bytes_per_conn": "idle_bytes_per_conn"}, idle, g)
            if why:
                notes["idle_bytes_per_conn"] = notes["idle_held"] = why
    for k in ROUND_KEYS:
        if len(runs[k]) < rnd + 1:
            runs[k].append(Failed("the guest did not serve"))
    progress(f"{peer.name} round {rnd + 1}: " + shown(runs, ROUND_KEYS))


def serves(peer, nic, mib, timeout):
    """Does a fresh boot with -m {mib}M answer / and a keep-alive burst?"""
    with booted(peer, nic, mib, f"{mib}M") as (ns, g):
        try:
            measure.wait_first_200(ns, g, timeout)
            measure.burst(ns, 20)
            why = None
        except Failed as e:
            why = str(e)
    progress(f"{peer.name}: -m {mib}M " + (f"does not serve: {why}" if why else "serves"))
    return why is None


def min_memory(peer, nic, known_good, boot_s):
    """Bisect the smallest -m (MiB) at which the peer serves, each probe a
    fresh boot given a few times its normal boot time."""
    lo, hi = peer.mem_range
    timeout = max(15.0, 4 * boot_s)
    if serves(peer, nic, lo, timeout):
        return {"min_mem_mib": lo, "why": f"serves at the bottom of the range ({lo} MiB)"}
    good = known_good if lo < known_good <= hi else hi
    if good != known_good and not serves(peer, nic, good, timeout):
        raise Failed(f"does not serve at {hi} MiB")
    bad = lo
    while good - bad > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if serves(peer, nic, mid, timeout) else (good, mid)
    return {"min_mem_mib": good}


def http_section(results, available, args):
    """The plain HTTP figures: rounds of fresh boots, peers interleaved
    (Keel, nginx, Go, Keel, ...), each figure the median of the rounds;
    then, outside the rounds, the image sizes and (not in --smoke) one
    bisection of the smallest -m per peer."""
    runs = {name: {k: [] for k in ROUND_KEYS} for name in available}
    notes = {name: {} for name in available}
    for rnd in range(args.rounds):
        for name, peer in available.items():
            http_round(peer, runs[name], notes[name], args, rnd)
    mem_mib = int(args.mem.rstrip("M"))
    for name, peer in available.items():
        record = results["peers"][name]
        record.update(peer.sizes)
        for k in ROUND_KEYS:
            record[k] = measure.summarize(runs[name][k])
            if notes[name].get(k) and "why" not in record[k]:
                record[k]["why"] = notes[name][k]
        boots = [v for v in runs[name]["boot_s"] if not isinstance(v, Failed)]
        if args.smoke:
            record["min_mem_mib"] = {"value": None, "why": "not measured in --smoke"}
        elif not boots:
            record["min_mem_mib"] = {"value": None, "why": "the guest did not serve"}
        else:
            one = {"min_mem_mib": []}
            why = take(one, {"min_mem_mib": "min_mem_mib"}, lambda: min_memory(peer, args.nic, mem_mib, max(boots)))
            record["min_mem_mib"] = measure.summarize(one["min_mem_mib"])
            record["min_mem_mib"]["why"] = "one bisection after the rounds" + (f"; {why}" if why else "")
            progress(f"{name}: " + shown(one, ["min_mem_mib"]))


def make_peer(name, nic):
    """The Peer, or why it cannot be had."""
    if name == "keel":
        return keel_peer()
    progress(f"{name}: building the peer (or reusing build/bench/peers/{name}-{nic})")
    return linux_peer(name, peers.build(name, nic))


def host_facts():
    qemu = subprocess.run([guest.QEMU, "--version"], capture_output=True, text=True, timeout=30).stdout
    cpu = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
    return qemu.splitlines()[0].replace("QEMU emulator version ", ""), cpu.group(1) if cpu else "unknown"


def run(args):
    qemu, cpu = host_facts()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results = {"meta": {"date": date, "nic": args.nic, "qemu": qemu, "cpu": cpu, "cores": os.cpu_count(),
                        "load": os.getloadavg()[0], "mem": args.mem,
                        "seconds": args.seconds, "rounds": args.rounds, "idle_conns": args.idle_conns,
                        "versions": {}},
               "peers": {}}
    available = {}
    for name in args.peers:
        try:
            peer = make_peer(name, args.nic)
        except Exception as e:  # noqa: BLE001  (a peer that cannot be built is reported, not fatal)
            why = f"peer not available: {e}"
            results["peers"][name] = {k: {"value": None, "why": why} for k in ALL_KEYS + TLS_KEYS}
            progress(f"{name}: not available: {e}")
            continue
        available[name] = peer
        results["meta"]["versions"][name] = peer.version
        progress(f"{name}: {peer.version}")
        results["peers"][name] = {k: {"value": None, "why": "not measured: --sections has no http"}
                                  for k in ALL_KEYS}
    if "http" in args.sections and available:
        http_section(results, available, args)
    if "https" in args.sections and available:
        https_section(results, available, args)
    if "images" in args.sections and "keel" in available:
        images.section(results, available["keel"], args, booted, BOOT_TIMEOUT, progress)
    return results


def https_peers(available, args, results):
    """The peers booting with the run's certificate: Keel with a boot
    bundle, the Linux peers with it appended to their initramfs."""
    tls_dir = (OUT / "smoke" if args.smoke else OUT) / "tls"
    crt, key, desc = https.make_cert(tls_dir)
    results["meta"]["tls"]["cert"] = desc
    out = {}
    for name, peer in available.items():
        if name == "keel":
            initrd = https.keel_bundle(crt, key, tls_dir / "keel-bundle.cpio")
        else:
            info = peers.cached(name, args.nic)
            initrd = https.linux_initrd(info, name, crt, key, tls_dir / f"{name}-initrd.img")
        out[name] = replace(peer, initrd=str(initrd))
    return out


def https_round(peer, runs, notes, args, rnd):
    """One round of one peer: the loads on a fresh boot, then (not in
    --smoke) idle HTTPS connections on another. Appends to runs[key]."""
    mem_mib = int(args.mem.rstrip("M"))
    which = ("keepalive",) if args.smoke else TLS_LOADS
    load_keys = [k for k in TLS_KEYS if not k.startswith("tls_idle")]
    with booted(peer, args.nic, mem_mib, f"https{rnd}") as (ns, g):
        try:
            measure.wait_first_200(ns, g, BOOT_TIMEOUT)
            notes["negotiated"] = https.wait_https(ns)
            got = https.loads(ns, g, args.seconds, which, busy_reader(peer, ns))
        except Exception as e:  # noqa: BLE001  (a failure is this round's result)
            got = {k: Failed(str(e) or type(e).__name__) for k in load_keys}
        got = {k: Failed(f"{v}{trouble(g)}") if isinstance(v, Failed) else v for k, v in got.items()}
        for k, v in got.items():
            runs[k].append(v)
    progress(f"{peer.name} https round {rnd + 1}: " + ", ".join(
        f"{k}={'failed: ' + str(v) if isinstance(v, Failed) else f'{v:.6g}'}" for k, v in got.items()))
    if args.smoke:
        return
    with booted(peer, args.nic, mem_mib, f"https-idle{rnd}") as (ns, g):
        gauges = {}

        def memory():
            used = memory_reader(peer, ns, g)()
            if peer.name == "keel":
                gauges.update(https.keel_tls_gauges(ns))
            return used
        try:
            measure.wait_first_200(ns, g, BOOT_TIMEOUT)
            https.wait_https(ns)
            r = measure.idle_connections(ns, args.tls_idle_conns, args.idle_seconds, memory, lambda: trouble(g),
                                         tls=True)
            runs["tls_idle_held"].append(r["idle_held"])
            runs["tls_idle_bytes_per_conn"].append(r["idle_bytes_per_conn"])
            if r.get("why"):
                notes["idle"] = r["why"]
            if gauges:
                notes["idle"] = (f"Keel's /metrics at the last step: {gauges.get('connections', 0):,} TLS connections"
                                 f" open, {gauges.get('connections_idle_released', 0):,} holding no record buffers;"
                                 f" engine state {gauges.get('connection_bytes', 0):,} B per connection, record"
                                 f" buffers {gauges.get('buffer_bytes', 0):,} B only while busy"
                                 + (f"; {r['why']}" if r.get("why") else ""))
            progress(f"{peer.name} https round {rnd + 1}: idle {r['idle_held']} held, "
                     f"{r['idle_bytes_per_conn']:,.0f} B each")
        except Exception as e:  # noqa: BLE001
            why = Failed((str(e) or type(e).__name__) + trouble(g))
            runs["tls_idle_held"].append(why)
            runs["tls_idle_bytes_per_conn"].append(why)
            progress(f"{peer.name} https round {rnd + 1}: idle failed: {why}")


def https_section(results, available, args):
    """The HTTPS figures: rounds of fresh boots, peers interleaved (Keel,
    nginx, Keel, nginx, ...), each figure the median of the rounds."""
    rounds = args.rounds
    meta = results["meta"]["tls"] = {"rounds": rounds, "seconds": args.seconds, "cert": None, "negotiated": {},
                                     "idle_conns": 0 if args.smoke else args.tls_idle_conns,
                                     "handshake_clients": https.HANDSHAKE_CLIENTS}
    try:
        tls_peers = https_peers(available, args, results)
    except Exception as e:  # noqa: BLE001
        for name in available:
            results["peers"][name].update({k: {"value": None, "why": f"no HTTPS setup: {e}"} for k in TLS_KEYS})
        progress(f"https: no setup: {e}")
        return
    runs = {name: {k: [] for k in TLS_KEYS} for name in tls_peers}
    notes = {name: {} for name in tls_peers}
    for rnd in range(rounds):
        for name, peer in tls_peers.items():
            https_round(peer, runs[name], notes[name], args, rnd)
    for name in available:
        record = results["peers"][name]
        for k in TLS_KEYS:
            if name not in tls_peers or not runs[name][k]:
                record[k] = {"value": None, "why": "not measured in --smoke"}
                continue
            record[k] = measure.summarize(runs[name][k])
        if notes.get(name, {}).get("negotiated"):
            meta["negotiated"][name] = notes[name]["negotiated"]
        if notes.get(name, {}).get("idle") and "why" not in record["tls_idle_bytes_per_conn"]:
            record["tls_idle_bytes_per_conn"]["why"] = notes[name]["idle"]


def write_outputs(results, out):
    out.mkdir(parents=True, exist_ok=True)
    table = report.markdown(results)
    (out / "results.md").write_text(table)
    report.write_json(results, out / "results.json")
    why_no_chart = report.chart(results, out / "ratios.png")
    return table, why_no_chart


def smoke_verdicts(results, why_no_chart, out):
    """PASS/FAIL lines for `make test`; the number of failures."""
    failed = 0
    for peer, record in results["peers"].items():
        for key in ALL_KEYS:
            if key == "min_mem_mib":
                continue
            v = record[key]
            ok = v["value"] is not None
            failed += not ok
            print(f"PASS bench/{peer}: {key} = {v['value']:.6g}" if ok else f"FAIL bench/{peer}: {key}: {v['why']}",
                  flush=True)
    if "keel" in results["peers"] and results["meta"].get("tls"):
        for key in ("tls_rps_keepalive", "tls_cpu_keepalive_us", "tls_guest_keepalive_us"):
            v = results["peers"]["keel"][key]
            ok = v["value"] is not None
            failed += not ok
            print(f"PASS bench/keel: {key} = {v['value']:.6g} "
                  f"({results['meta']['tls']['negotiated'].get('keel', '?')})" if ok
                  else f"FAIL bench/keel: {key}: {v['why']}", flush=True)
    written = (out / "results.md").stat().st_size > 0 and (out / "results.json").stat().st_size > 0
    print("PASS bench/report: results.md and results.json written" if written else "FAIL bench/report: empty",
          flush=True)
    failed += not written
    if why_no_chart is None:
        print("PASS bench/report: ratios.png drawn", flush=True)
    else:
        progress(f"no chart: {why_no_chart}")
    return failed


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nic", choices=["virtio", "e1000"], default="virtio")
    ap.add_argument("--peers", default="keel,nginx,go", type=lambda s: [p for p in s.split(",") if p])
    ap.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    ap.add_argument("--mem", default="256M", help="guest memory for the comparison, in MiB (NNNM)")
    ap.add_argument("--idle-conns", type=int, default=10000, help="idle keep-alive connections to try")
    ap.add_argument("--idle-seconds", type=float, default=120, help="time allowed to open them")
    ap.add_argument("--tries", type=int, default=3, help="downloads of 10 MiB, best counts")
    ap.add_argument("--sections", default="http,https,images", type=lambda s: [x for x in s.split(",") if x],
                    help="any of http (the plain metrics), https (the HTTPS section), images (Keel's VM images)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of fresh boots, peers interleaved in each (Keel, nginx, Go, Keel, ...); "
                         "every figure is the median of the rounds with its min-max")
    ap.add_argument("--tls-idle-conns", type=int, default=2000, help="idle HTTPS connections to try")
    ap.add_argument("--image-boots", type=int, default=3, help="boots of each VM image format")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    unknown = set(args.peers) - set(report.PEER_LABELS)
    if unknown or not re.fullmatch(r"\d+M", args.mem):
        ap.error(f"unknown peers {sorted(unknown)}" if unknown else "--mem wants NNNM")
    if set(args.sections) - {"http", "https", "images"} or not args.sections:
        ap.error("--sections wants any of http, https, images, comma-separated")
    if args.rounds < 1:
        ap.error("--rounds wants 1 or more")
    if args.smoke:
        args.peers, args.rounds, args.seconds, args.idle_conns, args.tries = ["keel"], 1, 2, 200, 1
        args.sections = ["http", "https"]
        progress("smoke: Keel only, one round")
    return args


def main():
    # SIGTERM unwinds like Ctrl-C, so every guest and namespace is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse_args()
    out = OUT / "smoke" if args.smoke else OUT
    results = run(args)
    table, why_no_chart = write_outputs(results, out)
    if args.smoke:
        return 1 if smoke_verdicts(results, why_no_chart, out) else 0
    print(table, end="")
    print(f"\nwritten: {out / 'results.md'}, {out / 'results.json'}, "
          + (f"{out / 'ratios.png'}" if why_no_chart is None else f"no chart: {why_no_chart}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
