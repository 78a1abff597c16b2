"""The HTTPS section of `make bench`: every peer serves the same certificate
(ECDSA P-256, made with openssl for each run) with the same TLS policy, and
is measured on fresh boots interleaved with the others (Keel, nginx, Keel,
nginx, ...). Each function here drives one booted guest from inside its
namespace and returns numbers, or raises Failed with the reason.

How the certificate reaches each guest:
  Keel    a boot bundle (kernel/bundle.h), built by images/mkbundle.sh,
          passed as QEMU's -initrd
  Linux   a second, uncompressed cpio appended to the peer's initramfs.gz
          (the kernel unpacks each archive in turn): /etc/bench/tls/ with
          the pair, and for nginx /etc/nginx/https/https.conf, which
          nginx.conf includes (nginx-https.conf here)

Clients (all in the guest's namespace):
  full handshakes     HANDSHAKE_CLIENTS `openssl s_time -new` at once: a new
                      SSL object per connection, so nothing to resume; wrk
                      is no use here, it keeps the session across its
                      reconnects (SSL_clear) and resumes them all
  resumed handshakes  the same with -reuse: one full handshake, then each
                      connection offers that session ID
  keep-alive, c1      wrk over https:// (its handshakes are a handful)
  idle connections    idle.py --tls (a full handshake and one GET each)
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import measure
import peers
from measure import Failed, cost, kill
from netns import GUEST_IP

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
URL = f"https://{GUEST_IP}/"
NGINX_HTTPS = HERE / "nginx-https.conf"
# Concurrent s_time processes: enough to keep a guest busy while the
# others are between connections, few enough not to starve QEMU of the
# host's second core.
HANDSHAKE_CLIENTS = 8
# What each peer's TLS connection must come out as (checked on every boot
# before anything is timed): the policy's first suite, TLS 1.2, ALPN.
EXPECTED = {"protocol": "TLSv1.2", "cipher": "ECDHE-ECDSA-AES128-GCM-SHA256"}


def run(*args, timeout=60, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if p.returncode:
        raise Failed(f"{' '.join(map(str, args))}: exit {p.returncode}: {(p.stdout + p.stderr).strip()[-300:]}")
    return p.stdout


def make_cert(out):
    """A fresh self-signed ECDSA P-256 certificate for the guest address:
    (certificate path, key path, one line describing it)."""
    out.mkdir(parents=True, exist_ok=True)
    crt, key = out / "default.crt", out / "default.key"
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    run("openssl", "req", "-new", "-x509", "-key", str(key), "-out", str(crt), "-days", "7", "-subj",
        f"/CN={GUEST_IP}", "-addext", f"subjectAltName=IP:{GUEST_IP}")
    return crt, key, "ECDSA P-256, self-signed, one certificate (no chain)"


def keel_bundle(crt, key, out):
    """Keel's boot bundle holding tls/default.crt and .key. mkbundle.sh when
    it works; else the same archive with cpio directly."""
    env = dict(os.environ, CERT=str(crt), KEY=str(key))
    try:
        run("bash", str(ROOT / "images" / "mkbundle.sh"), str(out), env=env)
        return out
    except (Failed, OSError):
        pass
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "tls").mkdir()
        shutil.copyfile(crt, Path(d) / "tls" / "default.crt")
        shutil.copyfile(key, Path(d) / "tls" / "default.key")
        with open(out, "wb") as f:
            subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], input=b"tls/default.crt\ntls/default.key\n",
                           stdout=f, cwd=d, check=True, timeout=30)
    return out


def linux_initrd(info, name, crt, key, out):
    """The peer's initramfs.gz with a plain cpio appended: the pair in
    /etc/bench/tls/, and nginx's HTTPS server block. The gzip part is
    padded to 4 bytes, where the kernel looks for the next archive."""
    with tempfile.TemporaryDirectory() as d:
        stage = Path(d)
        peers.install(crt, stage, "/etc/bench/tls/default.crt")
        peers.install(key, stage, "/etc/bench/tls/default.key", 0o600)
        if name == "nginx":
            peers.install(NGINX_HTTPS, stage, "/etc/nginx/https/https.conf")
        overlay = peers.cpio_newc(stage)
    base = Path(info["initrd"]).read_bytes()
    out.write_bytes(base + b"\0" * (-len(base) % 4) + overlay)
    return out


def session(ns):
    """One handshake with openssl s_client: "TLSv1.2 <cipher>, ALPN <p>",
    Failed unless protocol and cipher are the policy's."""
    rc, out = ns.run("sh", "-c", f"openssl s_client -connect {GUEST_IP}:443 -tls1_2 -alpn http/1.1 </dev/null",
                     timeout=30)
    proto = re.search(r"^\s*Protocol\s*:\s*(\S+)", out, re.M)
    cipher = re.search(r"^\s*Cipher\s*:\s*(\S+)", out, re.M)
    alpn = re.search(r"^ALPN protocol: (\S+)", out, re.M)
    if not (proto and cipher):
        raise Failed(f"openssl s_client (exit {rc}): no session: {out.strip()[-300:]}")
    got = {"protocol": proto.group(1), "cipher": cipher.group(1)}
    desc = f"{got['protocol']} {got['cipher']}, ALPN {alpn.group(1) if alpn else 'none'}"
    if got != EXPECTED:
        raise Failed(f"negotiated {desc}, not {EXPECTED['protocol']} {EXPECTED['cipher']}")
    return desc


def wait_https(ns, timeout=30):
    """Until GET https://GUEST/ answers 200 (the HTTPS listener can come up
    after the plain one); then the negotiated session, checked."""
    end = time.monotonic() + timeout
    while True:
        rc, out = ns.run("curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--connect-timeout", "2", "-m", "5",
                         URL, timeout=10)
        if out.strip() == "200":
            return session(ns)
        if time.monotonic() > end:
            raise Failed(f"no 200 on {URL} within {timeout} s (curl exit {rc}, status {out.strip() or 'none'})")
        time.sleep(0.2)


def handshakes(ns, seconds, mode, clients=HANDSHAKE_CLIENTS):
    """`clients` openssl s_time processes at once for `seconds`, each making
    connections one after another (handshake, GET / HTTP/1.0, read to the
    close), new sessions (mode "new") or resuming one (mode "reuse"):
    {"rps": connections per second of wall time, "requests": n}."""
    cmd = ["openssl", "s_time", "-connect", f"{GUEST_IP}:443", "-tls1_2", f"-{mode}", "-time", str(seconds),
           "-www", "/"]
    procs = [subprocess.Popen(["ip", "netns", "exec", ns.name, *cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True) for _ in range(clients)]
    start = time.monotonic()
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=seconds + 60)[0])
    finally:
        for p in procs:
            kill(p)
    wall = time.monotonic() - start
    total = reused = 0
    for p, out in zip(procs, outs):
        m = re.search(r"^(\d+) connections in [\d.]+s;.*bytes read (\d+)", out, re.M)
        if p.returncode != 0 or not m:
            raise Failed(f"openssl s_time -{mode} exit {p.returncode}: {out.strip()[-300:]}")
        if int(m.group(1)) and not int(m.group(2)):
            raise Failed(f"openssl s_time -{mode}: no response bytes read")
        total += int(m.group(1))
        # One character per connection: 'r' when the session was resumed.
        reused += sum(line.count("r") for line in re.findall(r"^[*r3t]+$", out, re.M))
    if mode == "new" and reused:
        raise Failed(f"{reused} of {total} connections resumed a session in -new")
    if mode == "reuse" and reused < 0.9 * total:
        raise Failed(f"only {reused} of {total} connections resumed the session")
    return {"rps": total / wall, "requests": total}


def keel_tls_gauges(ns):
    """Keel's TLS gauges from /metrics (plain port), as a dict."""
    out = measure.keel_metrics(ns)
    return {k: int(v) for k, v in re.findall(r"^keel_tls_(\w+) (\d+)$", out, re.M)}


def loads(ns, g, seconds, which, busy=None):
    """The timed HTTPS loads of one boot, in order: a dict metric -> value,
    or metric -> Failed for the ones that failed (the rest still run).
    busy: the guest's own busy seconds (Keel's /metrics), or None."""
    out = {}

    def take(keys, fn):
        try:
            r = fn()
            for k, src in keys.items():
                out[k] = r.get(src, Failed(measure.NO_GUEST_BUSY))
        except Failed as e:
            for k in keys:
                out[k] = e

    if "full" in which:
        take({"tls_full_hs": "rps", "tls_cpu_full_us": "cpu", "tls_guest_full_us": "guest"},
             lambda: cost(g, lambda: handshakes(ns, seconds, "new"), busy=busy))
    if "resumed" in which:
        take({"tls_resumed_hs": "rps", "tls_cpu_resumed_us": "cpu", "tls_guest_resumed_us": "guest"},
             lambda: cost(g, lambda: handshakes(ns, seconds, "reuse"), busy=busy))
    if "keepalive" in which:
        take({"tls_rps_keepalive": "rps", "tls_cpu_keepalive_us": "cpu", "tls_guest_keepalive_us": "guest"},
             lambda: cost(g, lambda: measure.wrk(ns, seconds, 32, 2, url=URL), busy=busy))
    if "latency" in which:
        take({"tls_p50_us": "p50_us", "tls_p99_us": "p99_us"},
             lambda: measure.wrk(ns, seconds, 1, 1, "--latency", url=URL))
    return out
