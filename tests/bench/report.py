"""The outputs of `make bench`: a Markdown table (metrics x peers, with the
ratios to nginx), the raw JSON, and a PNG bar chart of the ratios drawn by
gnuplot.

results = {"meta": {...}, "peers": {peer: {metric: {"value": v, "why": reason}}}}
"""
import json
import shutil
import subprocess

# key, label, format, True when higher is better
METRICS = [
    ("boot_s", "boot to first 200 (s)", "{:.2f}", False),
    ("mem_boot_kib", "memory in use after boot (KiB)", "{:,.0f}", False),
    ("rps_keepalive", "keep-alive c32 (req/s)", "{:,.0f}", True),
    ("cpu_keepalive_us", "keep-alive c32: QEMU CPU per request (µs)", "{:,.1f}", False),
    ("guest_keepalive_us", "keep-alive c32: guest busy per request (µs)", "{:,.1f}", False),
    ("rps_keepalive_nolog", "access-log pair, log off: keep-alive c32 (req/s)", "{:,.0f}", True),
    ("cpu_keepalive_nolog_us", "access-log pair, log off: QEMU CPU per request (µs)", "{:,.1f}", False),
    ("rps_keepalive_log", "access-log pair, log on: keep-alive c32 (req/s)", "{:,.0f}", True),
    ("cpu_keepalive_log_us", "access-log pair, log on: QEMU CPU per request (µs)", "{:,.1f}", False),
    ("log_ratio", "access-log pair: log on / off req/s, per pair", "{:.2f}", True),
    ("rps_close", "Connection: close c32 (req/s)", "{:,.0f}", True),
    ("cpu_close_us", "Connection: close c32: QEMU CPU per request (µs)", "{:,.1f}", False),
    ("guest_close_us", "Connection: close c32: guest busy per request (µs)", "{:,.1f}", False),
    ("p50_us", "latency c1 p50 (µs)", "{:,.0f}", False),
    ("p99_us", "latency c1 p99 (µs)", "{:,.0f}", False),
    ("tap_p50_us", "latency c1 p50 at the tap: QEMU and the guest (µs)", "{:,.0f}", False),
    ("tap_p99_us", "latency c1 p99 at the tap: QEMU and the guest (µs)", "{:,.0f}", False),
    ("rps_c1000", "1,000 keep-alive connections (req/s)", "{:,.0f}", True),
    ("errors_c1000", "1,000 connections: errors", "{:,.0f}", False),
    ("cpu_c1000_us", "1,000 connections: QEMU CPU per request (µs)", "{:,.1f}", False),
    ("guest_c1000_us", "1,000 connections: guest busy per request (µs)", "{:,.1f}", False),
    ("throughput_mibs", "10 MiB response, curl (MiB/s)", "{:,.1f}", True),
    ("cpu_throughput_ms", "10 MiB response: QEMU CPU per MiB (ms)", "{:,.2f}", False),
    ("guest_throughput_ms", "10 MiB response: guest busy per MiB (ms)", "{:,.2f}", False),
    ("upload_mibs", "10 MiB upload, curl (MiB/s)", "{:,.1f}", True),
    ("cpu_upload_ms", "10 MiB upload: QEMU CPU per MiB (ms)", "{:,.2f}", False),
    ("guest_upload_ms", "10 MiB upload: guest busy per MiB (ms)", "{:,.2f}", False),
    ("image_loadable_kib", "image, loaded bytes (KiB)", "{:,.0f}", False),
    ("image_file_kib", "image, files (KiB)", "{:,.0f}", False),
    ("min_mem_mib", "smallest -m that serves (MiB)", "{:,.0f}", False),
    ("idle_held", "idle keep-alive connections held", "{:,.0f}", True),
    ("idle_bytes_per_conn", "guest memory per idle connection (bytes)", "{:,.0f}", False),
]
# The HTTPS section: each value is the median of interleaved fresh boots,
# shown with its min-max. key, label, format, higher is better, goal for
# Keel/nginx (">=" or "<=", factor) or None.
TLS_METRICS = [
    ("tls_full_hs", "HTTPS full handshakes/s (s_time -new, 8 clients)", "{:,.0f}", True, (">=", 2)),
    ("tls_resumed_hs", "HTTPS resumed handshakes/s (s_time -reuse, 8 clients)", "{:,.0f}", True, None),
    ("tls_rps_keepalive", "HTTPS keep-alive c32 (req/s)", "{:,.0f}", True, (">=", 5)),
    ("tls_p50_us", "HTTPS latency c1 p50 (µs)", "{:,.0f}", False, None),
    ("tls_p99_us", "HTTPS latency c1 p99 (µs)", "{:,.0f}", False, None),
    ("tls_cpu_full_us", "QEMU CPU per full-handshake request (µs)", "{:,.0f}", False, None),
    ("tls_cpu_resumed_us", "QEMU CPU per resumed-handshake request (µs)", "{:,.0f}", False, None),
    ("tls_cpu_keepalive_us", "QEMU CPU per keep-alive request (µs)", "{:,.1f}", False, None),
    ("tls_guest_full_us", "guest busy per full-handshake request (µs)", "{:,.0f}", False, None),
    ("tls_guest_resumed_us", "guest busy per resumed-handshake request (µs)", "{:,.0f}", False, None),
    ("tls_guest_keepalive_us", "guest busy per keep-alive request (µs)", "{:,.1f}", False, None),
    ("tls_idle_held", "idle HTTPS connections held", "{:,.0f}", True, None),
    ("tls_idle_bytes_per_conn", "guest memory per idle HTTPS connection (bytes)", "{:,.0f}", False, ("<=", 0.5)),
]
PEER_LABELS = {"keel": "Keel", "nginx": "nginx", "go": "Go"}
METHOD = """How (tests/bench/README.md): each guest boots on a tap in its own network namespace and every
client runs inside it. Each round boots every peer afresh, in turn (Keel, nginx, Go, Keel, ...); a cell
is the median of the rounds with min-max, a ratio is one of medians. Boot: QEMU start to a client's first
200 on `/` (retried every ~10 ms). Request rates and c1 latency: wrk on `/` (Keel's 1,000-byte
index.html). At the tap: another c1 run, each request timed by the kernel from its segment entering the
guest's tap to the answer leaving it (tapstamp.py), which leaves the host's stack and wrk out. 10 MiB:
curl on /bytes/10485760, best of 3 per round; the upload: 10 MiB of random bytes,
best of 3, to POST /bytes (Keel, Go: read and discarded) or PUT /upload/ (nginx's DAV module: stored on a
tmpfs). QEMU CPU per request: the QEMU
process's user+sys time (/proc/PID/stat, vCPU and I/O threads) over the load divided by the requests
served (per MiB for the transfers): on a shared host the steady figure. Access-log pair: two more
boots of Keel per round that differ only in the log level (log=warn, log=info: a line per request),
both with a virtio-console taking the log into a tmpfs file, each warmed up for 1 s and then keep-alive
c32 as above, in alternating order; the log's cost is the median of the pairs' on/off ratios. Guest
busy per request: Keel's
own time not halted in its idle loop (`keel_cpu_busy_seconds_total`, /metrics before and after), the
same division; Linux's is not reachable from the bench. Memory in use: Keel's
/metrics (total - free pages), Linux's MemTotal - MemAvailable from the console. Smallest -m: bisection,
each probe a fresh boot that must answer `/` and 20 keep-alive requests. Idle connections: held on a fresh
boot in steps, memory read at each; bytes per connection from the last step the server came through whole.
Keel reserves no network memory at boot (lwIP's PCBs and buffers are taken as used), so everything a
connection costs counts per connection."""
TLS_METHOD = """How (tests/bench/README.md, "HTTPS"): every peer serves the same ECDSA P-256 certificate, made for
this run, with TLS 1.2 and ECDHE-ECDSA AES-128-GCM / ChaCha20-Poly1305 / AES-256-GCM (nginx: session ID
cache, tickets off). Each round boots every peer afresh, in turn (Keel, nginx, Keel, nginx, ...); a cell
is the median of the rounds with min-max. Full handshakes: 8 `openssl s_time -new -www /` at once, a
new TLS session per connection (wrk resumes its sessions on reconnect, so it is not used for this);
resumed: the same with -reuse (checked: every connection but the first resumed). Keep-alive c32 and
c1 latency: wrk over https. CPU per request: QEMU's user+sys time (/proc/PID/stat) over the run divided
by the requests it served. Idle HTTPS connections: idle.py --tls on a fresh boot (a full handshake and
one GET each), memory as for plain HTTP."""
IMAGES_METHOD = """How (tests/bench/images.py): `images/mkiso.sh` and `images/mkdisk.sh` build the images with the same
kernel and command line as the -kernel boot, no bundle; each boots through GRUB (multiboot2) under
SeaBIOS or OVMF (`-bios OVMF.fd`) on a fresh namespace, the formats and -kernel in turn; boot to first 200
as above, so the firmware and GRUB are inside it. A cell is the median of the boots with min-max. The
ISO's file holds GRUB for both firmwares; the kernel in the images has no debug sections."""


def value(results, peer, key):
    return results["peers"].get(peer, {}).get(key, {}).get("value")


def ratio(results, peer, key):
    """peer's value over nginx's, or None."""
    a, b = value(results, peer, key), value(results, "nginx", key)
    return a / b if a is not None and b else None


def cell(entry, fmt):
    """A value, with its min-max when it is the median of several runs."""
    v = entry.get("value")
    if v is None:
        return "—"
    if len(entry.get("runs", [])) > 1:
        return f"{fmt.format(v)} ({fmt.format(entry['min'])}–{fmt.format(entry['max'])})"
    return fmt.format(v)


def metric_cells(results, peers, ratio_peers, key, label, fmt, notes):
    """One metric's cells: each peer's value, then each ratio to nginx of
    the medians; a peer's reason for a missing value goes into notes."""
    cells = []
    for p in peers:
        entry = results["peers"][p].get(key, {})
        cells.append(cell(entry, fmt))
        if entry.get("why"):
            notes.setdefault((p, entry["why"]), []).append(label)
    for p in ratio_peers:
        r = ratio(results, p, key)
        cells.append("—" if r is None else f"{r:.2f}")
    return cells


def tls_table(results, peers, ratio_peers, notes):
    """The HTTPS section's table: medians (min-max), ratios of the medians,
    and the goals for Keel/nginx with whether this run met them."""
    header = ["metric", *(PEER_LABELS[p] for p in peers), *(f"{PEER_LABELS[p]}/nginx" for p in ratio_peers)]
    goals = "keel" in ratio_peers
    if goals:
        header.append("goal (Keel/nginx)")
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for key, label, fmt, _, goal in TLS_METRICS:
        cells = metric_cells(results, peers, ratio_peers, key, label, fmt, notes)
        if goals:
            r = ratio(results, "keel", key)
            if goal is None:
                cells.append("")
            else:
                op, x = goal
                met = None if r is None else (r >= x if op == ">=" else r <= x)
                cells.append(f"{'≥' if op == '>=' else '≤'} {x}: " + {None: "n/a", True: "met", False: "not met"}[met])
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def images_table(results, notes):
    """The VM images section: per format its file and boot to first 200."""
    out = ["| boot | file (KiB) | boot to first 200 (s) | power-on to listening, guest clock (ms) |",
           "| --- | --- | --- | --- |"]
    for name, entry in results["images"].items():
        size = entry.get("file_kib")
        guest = cell(entry["guest_ms"], "{:.1f}") if entry.get("guest_ms") else "n/a"
        out.append(f"| {name} | {'n/a' if size is None else f'{size:,.0f}'} | {cell(entry, '{:.2f}')} | {guest} |")
        if entry.get("why"):
            notes.setdefault(("keel", entry["why"]), []).append(f"image {name}")
    return out


def markdown(results):
    meta = results["meta"]
    peers = [p for p in PEER_LABELS if p in results["peers"]]
    ratio_peers = [p for p in peers if p != "nginx"] if "nginx" in peers else []
    out = [f"# Keel vs Linux peers, {meta['date']}", "",
           f"- NIC: {meta['nic']}; QEMU: {meta['qemu']} (`-accel tcg -cpu max -smp 1 -m {meta['mem']}`)",
           f"- host: {meta['cpu']}, {meta['cores']} cores, load average {meta['load']:.2f} at the start",
           f"- {meta['rounds']} interleaved round(s), each a fresh boot of every peer in turn; a cell is the median"
           f" of the rounds with (min–max); wrk runs {meta['seconds']} s; idle keep-alive connections tried:"
           f" {meta['idle_conns']}"]
    out += [f"- {PEER_LABELS[p]}: {v}" for p, v in meta["versions"].items()]
    t = meta.get("tls")
    if t:
        out += [f"- HTTPS: {t['rounds']} interleaved round(s) of {t['seconds']} s loads; certificate: {t['cert']};"
                f" idle HTTPS connections tried: {t['idle_conns']}",
                *(f"- {PEER_LABELS[p]} over HTTPS negotiates {v}" for p, v in t["negotiated"].items())]
    out += ["- ratios are median / nginx's median: above 1 is better for req/s, MiB/s and connections held,"
            " below 1 is better for the rest", ""]
    header = ["metric", *(PEER_LABELS[p] for p in peers), *(f"{PEER_LABELS[p]}/nginx" for p in ratio_peers)]
    out += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    notes = {}  # (peer, why) -> labels, so a reason shared by two rows shows once
    for key, label, fmt, _ in METRICS:
        cells = metric_cells(results, peers, ratio_peers, key, label, fmt, notes)
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    if meta.get("tls"):
        out += ["", "## HTTPS", "", *tls_table(results, peers, ratio_peers, notes)]
    if results.get("images"):
        out += ["", "## VM images", "", *images_table(results, notes)]
    if notes:
        out += ["", "Notes:", *(f"- {PEER_LABELS[p]}, {'; '.join(labels)}: {why}" for (p, why), labels in notes.items())]
    out += ["", METHOD] + (["", TLS_METHOD] if meta.get("tls") else []) + (["", IMAGES_METHOD] if results.get("images") else [])
    return "\n".join(out) + "\n"


def write_json(results, path):
    path.write_text(json.dumps(results, indent=1) + "\n")


def betterness(results, peer, key, higher_better):
    """The ratio to nginx turned so that above 1 means better than nginx."""
    r = ratio(results, peer, key)
    if not r:
        return None
    return r if higher_better else 1 / r


def chart(results, path):
    """Draw the ratios with gnuplot; None, or why no chart was drawn."""
    if not shutil.which("gnuplot"):
        return "gnuplot is not installed (tools/install-tools.sh --bench)"
    peers = [p for p in ("keel", "go") if p in results["peers"]]
    rows = []
    for key, label, _, higher, *_ in METRICS + TLS_METRICS:
        vals = [betterness(results, p, key, higher) for p in peers]
        if any(v is not None for v in vals):
            rows.append((label, vals))
    if "nginx" not in results["peers"] or not rows:
        return "no ratio to nginx to draw"
    data = path.with_suffix(".dat")
    data.write_text("".join("\t".join("NaN" if v is None else f"{v:.6g}" for v in vals) + "\n" for _, vals in rows))
    present = [v for _, vals in rows for v in vals if v is not None]
    lo, hi = min(present + [1.0]) / 2, max(present + [1.0]) * 2
    width = 0.8 / len(peers)
    xtics = ", ".join(f'"{label}" {i}' for i, (label, _) in enumerate(rows))
    plots = []
    for n, p in enumerate(peers):
        left = -0.4 + n * width
        x = f"($0{left + width / 2:+.3f})"
        plots.append(f"'{data}' using {x}:{n + 1}:($0{left:+.3f}):($0{left + width:+.3f}):(1):{n + 1} "
                     f"with boxxyerror fs solid 0.8 title '{PEER_LABELS[p]}'")
        plots.append(f"'{data}' using {x}:{n + 1}:(sprintf('%.2f', ${n + 1})) with labels font ',8' "
                     "offset 0,0.6 notitle")
    script = f"""
set terminal pngcairo size 1200,700 font ',10'
set output '{path}'
set title "Keel and Go relative to nginx, {results['meta']['nic']}, -m {results['meta']['mem']}\\n(log scale; bars start at 1 = nginx; above 1 is better than nginx: lower-is-better metrics are inverted)"
set logscale y
set yrange [{lo:.4g}:{hi:.4g}]
set xrange [-0.6:{len(rows) - 0.4}]
set xtics ({xtics}) rotate by 30 right
set ylabel 'better-than-nginx factor'
set grid ytics
set key top left
set datafile missing 'NaN'
set bmargin 12
set lmargin 16
set rmargin 4
plot {", ".join(plots)}, 1 with lines lc rgb 'black' notitle
"""
    p = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True, timeout=60)
    if p.returncode:
        return f"gnuplot failed: {p.stderr.strip()[-300:]}"
    return None
