"""HTTPS tests (tls/tls.h): the appliance booted with a boot bundle that
carries certificates, on a tap in a private network namespace, driven by
curl, openssl s_client, sslscan and the Python clients at the bottom of
this file (run inside the namespace as `python3 tls_tests.py SCENARIO`).

  tls_https       curl with --cacert: 200 and the body; SNI picks the
                  ECDSA `default` or the RSA `other.test` certificate, no
                  SNI or an unknown name gets `default`; ALPN http/1.1;
                  keep-alive; access log names TLSv1.2 and the suite; HSTS
                  on HTTPS only; resumption by session ID
  tls_refusals    TLS 1.0/1.1, a CBC suite, RSA key exchange,
                  renegotiation, garbage, a truncated ClientHello and
                  stalled handshakes are refused, the server serves on,
                  and /metrics counts each failure by its reason
  tls_sslscan     sslscan: TLS 1.2 only, ECDHE AEAD suites only, no
                  renegotiation, for both certificates
  tls_load        1,000 concurrent keep-alive HTTPS connections, idle ones
                  holding no record buffers; 10,000 sequential full
                  handshakes; the heap back where it started after each
  tls_handshake_slots  tls_max_handshakes held by silent connections: a
                  new client is reset while they are young, then evicts
                  the oldest once it has had a second
  tls_redirect    redirect_http=on: 301 to https://host[:tls_port]/path?query
                  (308 for POST), through the access log
  tls_port_conflict  tls_port equal to port: HTTPS off, plain HTTP serves
  tls_bad_bundle  a key that does not match its certificate, a garbage
                  PEM: HTTPS off with a console line, plain HTTP serves

Certificates are made with openssl at test time in build/test/tls/
(never committed). Nothing here asserts on speed.

run.py: `from tls_tests import register; register(case, report)`.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

THIS = Path(__file__).resolve()
GUEST = "10.0.2.15"  # netns.GUEST_IP; the client side below runs without the harness
HOST_NAME, OTHER_NAME = "keel.test", "other.test"
LOAD_CONNS = 1000
SEQ_HANDSHAKES = 10000
HANDSHAKE_TIMEOUT = 2  # tls_handshake_timeout of the refusal guest, seconds
# The six suites of tls/policy.c (OpenSSL's names).
AEAD_SUITES = {f"ECDHE-{k}-{c}" for k in ("ECDSA", "RSA")
               for c in ("AES128-GCM-SHA256", "AES256-GCM-SHA384", "CHACHA20-POLY1305")}


# ---------------------------------------------------------------------------
# Host side: certificates, bundles, guests (imported by run.py)
# ---------------------------------------------------------------------------

def register(case, report):
    from guest import BUILD, OUT, ROOT, Guest
    from netns import GUEST_APPEND, GUEST_IP, Netns
    assert GUEST_IP == GUEST
    certs = BUILD / "test" / "tls"

    def openssl(*args):
        p = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=120)
        if p.returncode:
            raise RuntimeError(f"openssl {' '.join(args[:3])}: {p.stderr.strip()[-300:]}")

    def make_certs():
        """Self-signed leafs (the tests pass each as --cacert): ECDSA P-256
        for `default` (SAN localhost, keel.test), RSA 2048 for other.test,
        and a stray P-256 key that matches neither."""
        shutil.rmtree(certs, ignore_errors=True)
        certs.mkdir(parents=True)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(certs / "default.key"), "-out", str(certs / "default.crt"), "-days", "30",
                "-subj", f"/CN={HOST_NAME}", "-addext", f"subjectAltName=DNS:localhost,DNS:{HOST_NAME}")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", str(certs / f"{OTHER_NAME}.key"), "-out", str(certs / f"{OTHER_NAME}.crt"),
                "-days", "30", "-subj", f"/CN={OTHER_NAME}", "-addext", f"subjectAltName=DNS:{OTHER_NAME}")
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", str(certs / "stray.key"))

    def make_bundle(tag, pairs):
        """images/mkbundle.sh with TLS_DIR holding NAME.crt/NAME.key for
        each NAME: (crt bytes, key bytes) of pairs."""
        tls_dir = OUT / f"tls-{tag}.{os.getpid()}"
        shutil.rmtree(tls_dir, ignore_errors=True)
        tls_dir.mkdir(parents=True)
        for name, (crt, key) in pairs.items():
            (tls_dir / f"{name}.crt").write_bytes(crt)
            (tls_dir / f"{name}.key").write_bytes(key)
        out = OUT / f"tls-{tag}.{os.getpid()}.cpio"
        made = subprocess.run([str(ROOT / "images/mkbundle.sh"), str(out)], env=dict(os.environ, TLS_DIR=str(tls_dir)),
                              capture_output=True, text=True, timeout=60)
        shutil.rmtree(tls_dir, ignore_errors=True)
        if made.returncode:
            raise RuntimeError(f"mkbundle.sh: {made.stderr.strip()}")
        return out

    def good_pairs():
        read = lambda n: (certs / n).read_bytes()  # noqa: E731
        return {"default": (read("default.crt"), read("default.key")),
                OTHER_NAME: (read(f"{OTHER_NAME}.crt"), read(f"{OTHER_NAME}.key"))}

    @contextmanager
    def booted(tag, options="", pairs=None, mem="128M", https=True):
        """A netns and a guest booted with a bundle of `pairs` (default:
        both good certificates): (ns, g), g None (reported) if it does not
        come up. QEMU is killed by PID and the namespace deleted on exit."""
        make_certs()
        bundle = make_bundle(tag, pairs or good_pairs())
        append = f"{GUEST_APPEND} log=info {options}".strip()
        try:
            with Netns(f"tls-{tag}") as ns, Guest(f"tls-{tag}", append=append, mem=mem, netns=ns.name,
                                                  extra=["-initrd", str(bundle), *ns.qemu_net("virtio")]) as g:
                want = r"^keel: http: listening on https://10\.0\.2\.15:\d+/" if https else \
                    r"^keel: http: listening on http://10\.0\.2\.15:80/"
                up = g.wait_for(want, 90)
                report(f"tls/{tag}: the appliance boots and listens", up is not None, f"no /{want}/ line", g)
                yield ns, (g if up else None)
        finally:
            bundle.unlink(missing_ok=True)

    def client(ns, *args, timeout=600):
        """This file's client side inside the namespace: its JSON answer
        ({} with "error" if it has none)."""
        rc, out = ns.run("python3", str(THIS), *args, timeout=timeout)
        for line in reversed(out.strip().splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    break
        return {"error": f"client exit {rc}: {out.strip()[-500:]}"}

    def curl(ns, *args, timeout=30):
        return ns.run("curl", "-sS", "--max-time", str(timeout - 5), *args, timeout=timeout)

    def s_client(ns, *args, stdin_script="", timeout=30):
        """openssl s_client against the guest; stdin_script is a shell
        snippet whose output is s_client's input (default: nothing, EOF)."""
        feed = stdin_script or "true"
        cmd = f"({feed}) | timeout {timeout - 5} openssl s_client -connect {GUEST}:443 " + \
              " ".join(f"'{a}'" for a in args) + " 2>&1"
        return ns.run("sh", "-c", cmd, timeout=timeout)

    def metrics(ns):
        """/metrics over plain HTTP: {"name{labels}": value}."""
        rc, out = curl(ns, f"http://{GUEST}/metrics")
        got = {}
        for line in out.splitlines():
            m = re.match(r"^(keel_\w+(?:\{[^}]*\})?) (\d+(?:\.\d+)?)$", line)
            if m:
                got[m.group(1)] = float(m.group(2))
        return got

    def live(m):
        return m.get("keel_heap_in_use_bytes", 0) - m.get("keel_heap_cached_bytes", 0) - \
            m.get("keel_net_memory_in_use_bytes", 0)

    def failures(m):
        return {r: m.get(f'keel_tls_handshake_failures_total{{reason="{r}"}}', 0)
                for r in ("timeout", "closed", "version", "cipher", "alert", "protocol", "evicted", "busy",
                          "memory")}

    def serves(ns):
        """True if a fresh HTTPS request still gets its 200."""
        rc, out = curl(ns, "--cacert", str(certs / "default.crt"), "--resolve", f"{HOST_NAME}:443:{GUEST}",
                       f"https://{HOST_NAME}/healthz")
        return rc == 0 and out == "ok\n"

    def settled(ns, timeout=30):
        """Metrics once every TLS connection has ended (the guest closes
        its side asynchronously)."""
        end = time.monotonic() + timeout
        while True:
            m = metrics(ns)
            if (m.get("keel_tls_connections") == 0 and m.get("keel_tls_handshaking") == 0) \
                    or time.monotonic() > end:
                return m
            time.sleep(0.3)

    cacert = lambda name: str(certs / f"{name}.crt")  # noqa: E731

    @case
    def tls_https():
        with booted("https", "hsts=600") as (ns, g):
            if not g:
                return
            rc, out = curl(ns, "-v", "--cacert", cacert("default"), "--resolve", f"{HOST_NAME}:443:{GUEST}",
                           f"https://{HOST_NAME}/healthz", f"https://{HOST_NAME}/healthz")
            report("tls/https: curl --cacert gets 200 and the body, twice", rc == 0 and out.count("< HTTP/1.1 200") == 2 and out.startswith("ok\nok\n"),
                   f"curl exit {rc}: {out[-600:]}", g)
            report("tls/https: TLSv1.2 with an ECDHE-ECDSA AEAD suite for the ECDSA certificate",
                   re.search(r"SSL connection using TLSv1\.2 / ECDHE-ECDSA-AES128-GCM-SHA256", out) is not None,
                   out[-600:], g)
            report("tls/https: ALPN: the server accepts http/1.1 (RFC 7301)",
                   "ALPN: server accepted http/1.1" in out, out[-600:], g)
            report("tls/https: SNI keel.test gets the default certificate (CN=keel.test)",
                   re.search(r"subject: CN ?= ?keel\.test", out) is not None, out[-600:], g)
            report("tls/https: keep-alive: the second URL reuses the connection (one handshake)",
                   "Re-using existing connection" in out and out.count("SSL connection using") == 1, out[-600:], g)
            access = g.wait_lines(r"^keel: access: 10\.0\.2\.2 GET /healthz 200 .*$", 2)
            report("tls/https: access log lines end with TLSv1.2, the suite, the ALPN protocol and new",
                   len(access) >= 2 and all(a.endswith(" TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256 http/1.1 new")
                                            for a in access[:2]), f"access lines: {access}", g)

            rc, out = curl(ns, "-v", "--cacert", cacert(OTHER_NAME), "--resolve", f"{OTHER_NAME}:443:{GUEST}",
                           f"https://{OTHER_NAME}/healthz")
            report("tls/https: SNI other.test gets the RSA certificate (CN=other.test) and an ECDHE-RSA suite",
                   rc == 0 and re.search(r"subject: CN ?= ?other\.test", out) is not None and
                   re.search(r"SSL connection using TLSv1\.2 / ECDHE-RSA-AES128-GCM-SHA256", out) is not None and
                   out.startswith("ok\n"), f"curl exit {rc}: {out[-600:]}", g)
            rc, out = s_client(ns, "-noservername", "-alpn", "http/1.1")
            report("tls/https: no SNI (connect by address) gets the default certificate; s_client sees ALPN http/1.1",
                   re.search(r"^subject=CN ?= ?keel\.test$", out, re.M) is not None and
                   "ALPN protocol: http/1.1" in out, out[-800:], g)
            rc, out = s_client(ns, "-servername", "unknown.test")
            report("tls/https: an SNI name without a certificate gets the default one",
                   re.search(r"^subject=CN ?= ?keel\.test$", out, re.M) is not None, out[-800:], g)

            # HSTS (RFC 6797 §7.2): over HTTPS only.
            rc, out = curl(ns, "-D", "-", "-o", "/dev/null", "--cacert", cacert("default"),
                           "--resolve", f"{HOST_NAME}:443:{GUEST}", f"https://{HOST_NAME}/healthz")
            report("tls/https: hsts=600: HTTPS responses carry Strict-Transport-Security: max-age=600",
                   re.search(r"^Strict-Transport-Security: max-age=600$", out, re.M | re.I) is not None, out, g)
            rc, out = curl(ns, "-D", "-", "-o", "/dev/null", f"http://{GUEST}/healthz")
            report("tls/https: plain HTTP responses carry no Strict-Transport-Security (RFC 6797 §7.2)",
                   rc == 0 and " 200" in out and "strict-transport-security" not in out.lower(), out, g)

            # Resumption by session ID (RFC 5246 §7.3).
            before = metrics(ns)
            sess = f"/tmp/keel-tls-sess.{os.getpid()}.pem"
            try:
                rc, first = s_client(ns, "-servername", HOST_NAME, "-sess_out", sess)
                req = rf"printf 'GET /healthz?resumed HTTP/1.1\r\nHost: {HOST_NAME}\r\nConnection: close\r\n\r\n'"
                rc, second = s_client(ns, "-servername", HOST_NAME, "-sess_in", sess, "-ign_eof", stdin_script=req)
            finally:
                ns.run("rm", "-f", sess)
            report("tls/https: a session saved by s_client -sess_out is resumed with -sess_in (Reused)",
                   re.search(r"^New, TLSv1\.2", first, re.M) is not None and
                   re.search(r"^Reused, TLSv1\.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256", second, re.M) is not None
                   and "HTTP/1.1 200 OK" in second, f"first: {first[-300:]}\nsecond: {second[-500:]}", g)
            after = metrics(ns)
            report("tls/https: /metrics keel_tls_resumed_total grew by one",
                   after.get("keel_tls_resumed_total", 0) - before.get("keel_tls_resumed_total", 0) == 1,
                   f"{before.get('keel_tls_resumed_total')} -> {after.get('keel_tls_resumed_total')}", g)
            # (the access log leaves the query out: the last /healthz line is s_client's)
            g.wait_for(r"^keel: access: .* GET /healthz 200 .* resumed$", 10)
            lines = re.findall(r"^keel: access: .* GET /healthz 200 .*$", g.lines(), re.M)
            report("tls/https: the resumed request's access line says TLSv1.2 ... resumed",
                   lines and re.search(r" TLSv1\.2 ECDHE-ECDSA-AES128-GCM-SHA256 \S+ resumed$", lines[-1]) is not None,
                   lines[-1] if lines else "no access line for /healthz", g)

    @case
    def tls_refusals():
        with booted("refusals", f"tls_handshake_timeout={HANDSHAKE_TIMEOUT}") as (ns, g):
            if not g:
                return
            base = failures(metrics(ns))
            cases = [  # what, s_client arguments, the failure reason it must count
                ("TLS 1.0", ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"], "version"),
                ("TLS 1.1", ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], "version"),
                ("a CBC suite (ECDHE-ECDSA-AES128-SHA)", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"], "cipher"),
                ("RSA key exchange (AES128-GCM-SHA256)", ["-tls1_2", "-cipher", "AES128-GCM-SHA256"], "cipher"),
            ]
            want = dict.fromkeys(base, 0)
            for what, args, reason in cases:
                before = failures(metrics(ns))
                rc, out = s_client(ns, "-servername", HOST_NAME, *args)
                refused = re.search(r"Cipher is \(NONE\)", out) is not None and "BEGIN CERTIFICATE" not in out
                after = failures(metrics(ns))
                report(f"tls/refusals: {what} is refused (no session) and the server serves on",
                       refused and serves(ns), out[-500:], g)
                grew = {r: after[r] - before[r] for r in after if after[r] != before[r]}
                report(f"tls/refusals: {what}: counted as reason=\"{reason}\"", grew == {reason: 1},
                       f"failure counters that grew: {grew}", g)
                want[reason] += 1

            # Renegotiation (RFC 5746): the server sends no_renegotiation
            # and never runs a second handshake.
            before = metrics(ns)
            rc, out = s_client(ns, "-tls1_2", "-servername", HOST_NAME,
                               stdin_script="sleep 1; echo R; sleep 3")
            after = metrics(ns)
            report("tls/refusals: renegotiation ('R' in s_client) is refused with no_renegotiation",
                   "RENEGOTIATING" in out and re.search(r"no renegotiation", out) is not None and
                   after.get("keel_tls_handshakes_total", 0) - before.get("keel_tls_handshakes_total", 0) == 1,
                   out[-500:], g)
            report("tls/refusals: after a renegotiation attempt the server serves on", serves(ns), "", g)

            r = client(ns, "raw", "garbage")
            report("tls/refusals: 200 bytes of garbage: the server closes, sends no handshake",
                   r.get("closed") and not r.get("handshake_bytes"), str(r), g)
            report("tls/refusals: after garbage the server serves on", serves(ns), "", g)
            before = failures(metrics(ns))
            r = client(ns, "raw", "truncated")
            report("tls/refusals: a ClientHello cut after 50 bytes, then EOF: the server closes",
                   r.get("closed"), str(r), g)
            after = failures(metrics(ns))
            grew = {k: after[k] - before[k] for k in after if after[k] != before[k]}
            report("tls/refusals: the truncated ClientHello counts as reason=\"closed\"", grew == {"closed": 1},
                   f"failure counters that grew: {grew}", g)
            want["closed"] += 1
            for what in ("silent", "half"):
                before = failures(metrics(ns))
                r = client(ns, "raw", what, str(HANDSHAKE_TIMEOUT * 8))
                label = {"silent": "a connection that sends nothing",
                         "half": "half a ClientHello, then nothing"}[what]
                report(f"tls/refusals: {label}: the server ends it after tls_handshake_timeout "
                       f"({HANDSHAKE_TIMEOUT} s), not before", r.get("closed") and
                       r.get("seconds", 0) >= HANDSHAKE_TIMEOUT - 0.5, str(r), g)
                if r.get("seconds"):
                    print(f"    {what}: closed after {r['seconds']:.1f} s", flush=True)
                after = failures(metrics(ns))
                grew = {k: after[k] - before[k] for k in after if after[k] != before[k]}
                report(f"tls/refusals: {label}: counted as reason=\"timeout\"", grew == {"timeout": 1},
                       f"failure counters that grew: {grew}", g)
                want["timeout"] += 1
            report("tls/refusals: the server serves on after the stalls", serves(ns), "", g)
            m = settled(ns)
            total = failures(m)
            grew = {k: total[k] - base[k] for k in total if total[k] != base[k]}
            report("tls/refusals: in all, /metrics counts version 2, cipher 2, closed 1, timeout 2 "
                   "(plus the renegotiation and the garbage)",
                   all(grew.get(k, 0) >= v for k, v in want.items() if v) and grew.get("busy", 0) == 0 and
                   grew.get("memory", 0) == 0, f"grew: {grew}, want at least {want}", g)
            report("tls/refusals: a handshake failure line per refusal on the console",
                   len(g.wait_lines(r"^keel: tls: 10\.0\.2\.2:\d+: handshake failed: \w+ \(BearSSL error \d+", 7))
                   >= 7, "fewer than 7 'handshake failed' lines", g)
            report("tls/refusals: no connection or handshake left open",
                   m.get("keel_tls_connections") == 0 and m.get("keel_tls_handshaking") == 0,
                   f"connections {m.get('keel_tls_connections')}, handshaking {m.get('keel_tls_handshaking')}", g)
            report("tls/refusals: no trap or panic", not re.search(r"^keel: (trap|panic):", g.text(), re.M), "", g)

    @case
    def tls_sslscan():
        if not shutil.which("sslscan"):
            report("tls/sslscan: sslscan is installed (tools/install-tools.sh)", False, "no sslscan")
            return
        with booted("sslscan") as (ns, g):
            if not g:
                return
            for name, kx in ((HOST_NAME, "ECDSA"), (OTHER_NAME, "RSA")):
                rc, out = ns.run("sslscan", "--no-colour", f"--sni-name={name}", f"{GUEST}:443", timeout=240)
                protos = dict(re.findall(r"^(SSLv2|SSLv3|TLSv1\.[0-3])\s+(enabled|disabled)$", out, re.M))
                report(f"tls/sslscan ({name}): SSLv2, SSLv3, TLS 1.0, 1.1 disabled; TLS 1.2 enabled",
                       protos == {"SSLv2": "disabled", "SSLv3": "disabled", "TLSv1.0": "disabled",
                                  "TLSv1.1": "disabled", "TLSv1.2": "enabled", "TLSv1.3": "disabled"},
                       f"sslscan exit {rc}: {protos} {out[-800:]}", g)
                suites = re.findall(r"^(?:Preferred|Accepted)\s+(\S+)\s+\d+ bits\s+(\S+)", out, re.M)
                names = {s for _, s in suites}
                report(f"tls/sslscan ({name}): every accepted suite is an ECDHE-{kx} AEAD suite, all three offered",
                       names == {s for s in AEAD_SUITES if f"-{kx}-" in s} and
                       all(v == "TLSv1.2" for v, _ in suites), f"accepted: {suites}", g)
                report(f"tls/sslscan ({name}): the server's preference is AES128-GCM (AES-NI)",
                       re.search(rf"^Preferred\s+TLSv1\.2\s+128 bits\s+ECDHE-{kx}-AES128-GCM-SHA256", out, re.M)
                       is not None, out[-800:], g)
                report(f"tls/sslscan ({name}): no session renegotiation",
                       "Session renegotiation not supported" in out, out[-800:], g)
            report("tls/sslscan: the server serves on", serves(ns), "", g)

    @case
    def tls_load():
        # max_conns above the 1,000 held connections plus the metrics ones.
        with booted("load", "max_conns=1200", mem="256M") as (ns, g):
            if not g:
                return
            # Warm-up: enough connections at once to fill the spare buffer
            # list and the heap's caches, so the baseline is steady state.
            r = client(ns, "load", "16", timeout=120)
            report("tls/load: warm-up of 16 concurrent connections", r.get("ok"), str(r), g)
            base = settled(ns)
            cmd = ["ip", "netns", "exec", ns.name, "python3", str(THIS), "load", str(LOAD_CONNS), "hold"]
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, start_new_session=True)
            try:
                held = read_json(p, 300)
                report(f"tls/load: {LOAD_CONNS} concurrent HTTPS keep-alive connections, 2 requests each, all served",
                       held.get("ok") and held.get("held") == LOAD_CONNS, str(held)[:600], g)
                if not held.get("held"):
                    return
                if held.get("seconds"):
                    print(f"    {LOAD_CONNS} connections up in {held['seconds']:.1f} s", flush=True)
                idle = {}
                end = time.monotonic() + 30
                while time.monotonic() < end:  # the last responses' buffers go back as those tasks park
                    idle = metrics(ns)
                    if idle.get("keel_tls_connections_idle_released", 0) >= LOAD_CONNS - 5:
                        break
                    time.sleep(0.5)
                rel = idle.get("keel_tls_connections_idle_released", 0)
                report(f"tls/load: while they idle, keel_tls_connections_idle_released is ~{LOAD_CONNS} "
                       "(idle connections hold no record buffers)",
                       LOAD_CONNS - 5 <= rel <= idle.get("keel_tls_connections", 0) and
                       idle.get("keel_tls_connections", 0) >= LOAD_CONNS,
                       f"idle_released {rel}, connections {idle.get('keel_tls_connections')}", g)
                per_conn = (idle.get("keel_heap_in_use_bytes", 0) - base.get("keel_heap_in_use_bytes", 0)) / LOAD_CONNS
                print(f"    heap per idle TLS connection: {per_conn:.0f} B (engine state "
                      f"{idle.get('keel_tls_connection_bytes', 0):.0f} B)", flush=True)
                report("tls/load: an idle connection costs less heap than one set of record buffers",
                       0 < per_conn < idle.get("keel_tls_buffer_bytes", 0), f"{per_conn:.0f} B per connection", g)
                p.stdin.write("go\n")
                p.stdin.flush()
                done = read_json(p, 300)
                report(f"tls/load: a third request on each of the {LOAD_CONNS} idle connections is served, "
                       "then they close", done.get("ok") and done.get("served") == LOAD_CONNS, str(done)[:600], g)
            finally:
                if p.poll() is None:
                    os.killpg(p.pid, 9)
                p.wait()
            after = settled(ns)
            report("tls/load: after they close, no TLS connection is left open",
                   after.get("keel_tls_connections") == 0 and after.get("keel_tls_handshaking") == 0, str(after)[:300], g)
            # What the heap holds for live objects: in use, less freed blocks
            # kept for reuse (keel_heap_cached_bytes: lwIP's, connections',
            # spare TLS record buffers)
            # and less lwIP's own (TIME_WAIT PCBs, capped by lwIP).
            live0, live1 = live(base), live(after)
            # What stays is the allocator's header on each block kept for
            # reuse at the peak (lwIP's PCBs and pbufs, connections: their
            # caches count the blocks, not the malloc headers), about 90 B
            # per concurrent connection, reused by the next peak; a leaked
            # engine state (4,264 B) or record buffer (25 KB) per connection
            # would be megabytes.
            report(f"tls/load: after the {LOAD_CONNS} close, the heap's live bytes are back within 160 KiB "
                   "of the warm-up baseline (spare buffers and session cache included there)",
                   live1 - live0 <= 160 * 1024, f"{live0:.0f} -> {live1:.0f} ({(live1 - live0) / LOAD_CONNS:.0f} B "
                   f"per connection); heap in use {base.get('keel_heap_in_use_bytes')} -> "
                   f"{after.get('keel_heap_in_use_bytes')}", g)
            print(f"    live heap {live0:.0f} -> {live1:.0f} B after {LOAD_CONNS} connections", flush=True)
            hs0 = after.get("keel_tls_handshakes_total", 0)
            r = client(ns, "seq", str(SEQ_HANDSHAKES), "420", timeout=480)
            report(f"tls/load: {SEQ_HANDSHAKES:,} sequential full handshakes (a new connection and session each), "
                   "each with its 200", r.get("ok") and r.get("done") == SEQ_HANDSHAKES and r.get("reused") == 0,
                   str(r)[:600], g)
            if r.get("seconds"):
                print(f"    {r.get('done')} handshakes in {r['seconds']:.0f} s ({r['done'] / r['seconds']:.0f}/s)",
                      flush=True)
            end = settled(ns)
            report(f"tls/load: /metrics counted {SEQ_HANDSHAKES:,} more handshakes, none resumed",
                   end.get("keel_tls_handshakes_total", 0) - hs0 == r.get("done", -1) and
                   end.get("keel_tls_resumed_total", 0) == after.get("keel_tls_resumed_total", 0), "", g)
            live2 = live(end)
            # Nothing peak-sized grows here (one connection at a time): 64 KiB
            # is less than 7 B per handshake.
            report(f"tls/load: after the {SEQ_HANDSHAKES:,} handshakes, the heap's live bytes are within 64 KiB "
                   "of where they were before them", live2 - live1 <= 65536, f"{live1:.0f} -> {live2:.0f}", g)
            report("tls/load: no handshake failed, none refused",
                   sum(failures(end).values()) == sum(failures(base).values()),
                   f"{failures(base)} -> {failures(end)}", g)
            report("tls/load: no trap or panic", not re.search(r"^keel: (trap|panic):", g.text(), re.M), "", g)

    @case
    def tls_redirect():
        for tag, options, suffix in (("redirect", "redirect_http=on", ""),
                                     ("redirect-8443", "redirect_http=on tls_port=8443", ":8443")):
            with booted(tag, options) as (ns, g):
                if not g:
                    continue
                rc, out = curl(ns, "-D", "-", "-o", "/dev/null", f"http://{GUEST}/a/b?x=1")
                loc = re.search(r"^Location: (\S*)\s*$", out, re.M | re.I)
                report(f"tls/{tag}: GET http://{GUEST}/a/b?x=1 -> 301 Location: https://{GUEST}{suffix}/a/b?x=1",
                       re.match(r"HTTP/1\.1 301 ", out) is not None and loc is not None and
                       loc.group(1) == f"https://{GUEST}{suffix}/a/b?x=1", out, g)
                rc, out = curl(ns, "-D", "-", "-o", "/dev/null", "-H", f"Host: {HOST_NAME}", f"http://{GUEST}/")
                loc = re.search(r"^Location: (\S*)\s*$", out, re.M | re.I)
                report(f"tls/{tag}: the Location names the request's Host",
                       loc is not None and loc.group(1) == f"https://{HOST_NAME}{suffix}/", out, g)
                rc, out = curl(ns, "-D", "-", "-o", "/dev/null", "-d", "x=1", f"http://{GUEST}/echo")
                report(f"tls/{tag}: POST -> 308, which keeps the method (RFC 9110 §15.4.9)",
                       re.match(r"HTTP/1\.1 308 ", out) is not None, out, g)
                report(f"tls/{tag}: the redirects go through the access log",
                       g.wait_for(r"^keel: access: 10\.0\.2\.2 GET /a/b 301 ", 10) is not None,
                       "no access line for GET /a/b", g)
                rc, out = curl(ns, "-L", "--cacert", cacert("default"), "--resolve", f"{HOST_NAME}:80:{GUEST}",
                               "--resolve", f"{HOST_NAME}:{suffix[1:] or 443}:{GUEST}", f"http://{HOST_NAME}/healthz")
                report(f"tls/{tag}: curl -L follows it to HTTPS{suffix} and gets 200", rc == 0 and out == "ok\n",
                       f"curl exit {rc}: {out[-300:]}", g)

    @case
    def tls_handshake_slots():
        """tls_max_handshakes=4 held by connections that say nothing: a new
        client is reset while they are young, and gets through once the
        oldest has had its second (evicted), long before the timeout."""
        with booted("slots", "tls_max_handshakes=4 tls_handshake_timeout=30") as (ns, g):
            if not g:
                return
            before = failures(metrics(ns))
            r = client(ns, "crowd", "4", "0.1")
            report("tls/slots: with 4 silent handshakes under a second old, a fifth client is reset (busy)",
                   not r.get("ok") and r.get("error"), str(r), g)
            r = client(ns, "crowd", "4", "1.5")
            report("tls/slots: once they are past a second, the oldest makes room and the client gets its 200",
                   r.get("ok"), str(r), g)
            after = failures(settled(ns))
            grew = {k: after[k] - before[k] for k in after if after[k] != before[k]}
            report("tls/slots: /metrics counts the refusal as busy and the dropped one as evicted",
                   grew.get("busy", 0) >= 1 and grew.get("evicted", 0) >= 1, f"grew: {grew}", g)

    @case
    def tls_port_conflict():
        """tls_port equal to the plain port: HTTPS off, said once, plain HTTP
        serves (and redirect_http does not send clients to a dead port)."""
        with booted("conflict", "tls_port=80 redirect_http=on", https=False) as (ns, g):
            if not g:
                return
            report("tls/conflict: the console says tls_port is the plain port and HTTPS is off",
                   re.search(r"^keel: http: tls_port=80 is also the plain port: HTTPS off$", g.text(), re.M)
                   is not None, "no conflict line", g)
            rc, out = curl(ns, "-D", "-", "-o", "/dev/null", f"http://{GUEST}/healthz")
            report("tls/conflict: plain HTTP serves (no redirect to the missing HTTPS port)",
                   re.match(r"HTTP/1\.1 200 ", out) is not None, out, g)

    @case
    def tls_bad_bundle():
        make_certs()
        read = lambda n: (certs / n).read_bytes()  # noqa: E731
        junk = __import__("base64").encodebytes(bytes(range(256)) * 3).decode()
        bad = {
            "mismatched key": ({"default": (read("default.crt"), read("stray.key"))},
                               r"tls/default\.crt: the key does not match the certificate"),
            "garbage PEM": ({"default": (f"-----BEGIN CERTIFICATE-----\n{junk}-----END CERTIFICATE-----\n".encode(),
                                         read("default.key"))}, r"tls/default\.crt: \S.*"),
        }
        for what, (pairs, why) in bad.items():
            tag = "bad-" + what.split()[0]
            with booted(tag, "", pairs=pairs, https=False) as (ns, g):
                if not g:
                    continue
                text = g.text()
                line = re.search(rf"^keel: tls: {why}$", text, re.M)
                report(f"tls/{what}: the console names tls/default.crt and why", line is not None,
                       "no 'keel: tls: tls/default.crt: ...' line", g)
                if line:
                    print(f"    {line.group(0)}", flush=True)
                report(f"tls/{what}: then 'a certificate could not be used: HTTPS off', no HTTPS listener",
                       re.search(r"^keel: tls: a certificate could not be used: HTTPS off$", text, re.M) is not None
                       and "listening on https" not in text, "", g)
                rc, out = curl(ns, f"http://{GUEST}/healthz")
                report(f"tls/{what}: plain HTTP serves", rc == 0 and out == "ok\n", f"curl exit {rc}: {out}", g)
                r = client(ns, "refused")
                report(f"tls/{what}: port 443 refuses connections", r.get("refused") is True, str(r), g)


def read_json(p, timeout):
    """The next JSON line a client child prints, within timeout ({} with
    "error" otherwise)."""
    import select
    end = time.monotonic() + timeout
    seen = []
    while time.monotonic() < end:
        ready, _, _ = select.select([p.stdout], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith("{"):
            return json.loads(line)
        seen.append(line.rstrip())
    return {"error": f"no answer in {timeout} s: {' | '.join(seen[-5:])}"}


# ---------------------------------------------------------------------------
# Client side: `python3 tls_tests.py SCENARIO ...` inside the namespace.
# Each prints one JSON line (load ... hold prints two).
# ---------------------------------------------------------------------------

def client_context():
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(THIS.parents[2] / "build" / "test" / "tls" / "default.crt"))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def client_hello():
    """A real ClientHello (Python's, for keel.test), from a memory BIO."""
    import ssl
    ctx = client_context()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out := ssl.MemoryBIO(), server_hostname=HOST_NAME)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def raw(what, wait="10"):
    """Send bytes that are not a handshake and see how the server ends it."""
    import random
    import socket
    data = {"garbage": random.Random(12).randbytes(200), "silent": b"", "truncated": client_hello()[:50],
            "half": client_hello()[:100]}[what]
    s = socket.create_connection((GUEST, 443), timeout=float(wait))
    t0 = time.monotonic()
    got, closed, err = b"", False, ""
    try:
        s.sendall(data)
        if what == "truncated":
            s.shutdown(socket.SHUT_WR)
        while True:
            chunk = s.recv(4096)
            if not chunk:
                closed = True
                break
            got += chunk
    except ConnectionResetError:
        closed, err = True, "reset"
    except OSError as e:
        err = repr(e)
    s.close()
    # A handshake would start with a ServerHello record: 0x16.
    print(json.dumps({"closed": closed, "seconds": time.monotonic() - t0, "reply_bytes": len(got),
                      "handshake_bytes": got[:1] == b"\x16", "error": err}))


def crowd(k, delay):
    """k TCP connections to 443 that send nothing, then after `delay`
    seconds one real handshake and GET /healthz: did it get its 200?"""
    import socket
    silent = [socket.create_connection((GUEST, 443), timeout=10) for _ in range(int(k))]
    time.sleep(float(delay))
    ok, err = False, ""
    try:
        with socket.create_connection((GUEST, 443), timeout=10) as raw_s, \
                client_context().wrap_socket(raw_s, server_hostname=HOST_NAME) as s:
            s.sendall(f"GET /healthz HTTP/1.1\r\nHost: {HOST_NAME}\r\nConnection: close\r\n\r\n".encode())
            ok = s.recv(4096).startswith(b"HTTP/1.1 200 ")
    except OSError as e:
        err = repr(e)
    for s in silent:
        s.close()
    print(json.dumps({"ok": ok, "error": err}))


def refused():
    import socket
    try:
        socket.create_connection((GUEST, 443), timeout=10).close()
        print(json.dumps({"refused": False, "why": "connected"}))
    except ConnectionRefusedError:
        print(json.dumps({"refused": True}))
    except OSError as e:
        print(json.dumps({"refused": False, "why": repr(e)}))


async def request(reader, writer, path):
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST_NAME}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
    body = await reader.readexactly(int(m.group(1))) if m else b""
    if not head.startswith(b"HTTP/1.1 200 ") or body != b"ok\n":
        raise RuntimeError(f"bad response {head[:40]!r} {body[:20]!r}")


def load(n, hold=""):
    """n concurrent keep-alive connections, each: handshake, 2 requests.
    With "hold": print the result, wait for a line on stdin, then a third
    request on each idle connection, then close them all."""
    import asyncio
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    n = int(n)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 256)), hard))

    async def main():
        ctx = client_context()
        # tls_max_handshakes (128) bounds the guest's handshakes at once;
        # more would be reset by design, so the client stays below it.
        sem = asyncio.Semaphore(32)
        errors = []

        async def one(i):
            try:
                async with sem:
                    r, w = await asyncio.wait_for(
                        asyncio.open_connection(GUEST, 443, ssl=ctx, server_hostname=HOST_NAME), 120)
                for k in range(2):
                    await asyncio.wait_for(request(r, w, f"/healthz?c={i}&r={k}"), 120)
                return r, w
            except Exception as e:  # noqa: BLE001 - reported
                errors.append(f"{i}: {e!r}")
                return None

        t0 = time.monotonic()
        conns = await asyncio.gather(*(one(i) for i in range(n)))
        live = [c for c in conns if c]
        print(json.dumps({"ok": not errors, "held": len(live), "errors": errors[:5], "nerrors": len(errors),
                          "seconds": time.monotonic() - t0}), flush=True)
        served = 0
        if hold:
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            errors.clear()

            async def again(i, rw):
                nonlocal served
                try:
                    await asyncio.wait_for(request(*rw, f"/healthz?c={i}&r=2"), 120)
                    served += 1
                except Exception as e:  # noqa: BLE001 - reported
                    errors.append(f"{i}: {e!r}")
            sem2 = asyncio.Semaphore(64)

            async def bounded(i, rw):
                async with sem2:
                    await again(i, rw)
            await asyncio.gather(*(bounded(i, rw) for i, rw in enumerate(live)))
        for _, w in live:
            w.close()
        for _, w in live:
            try:
                await asyncio.wait_for(w.wait_closed(), 5)
            except Exception:  # noqa: BLE001 - the guest may skip our close_notify
                pass
        if hold:
            print(json.dumps({"ok": not errors, "served": served, "errors": errors[:5], "nerrors": len(errors)}),
                  flush=True)

    asyncio.run(main())


def seq(n, limit):
    """n sequential connections, each a full handshake (no session offered)
    and one request, within limit seconds."""
    import socket
    ctx = client_context()
    n, limit = int(n), float(limit)
    t0 = time.monotonic()
    done = reused = 0
    err = ""
    while done < n and time.monotonic() - t0 < limit:
        try:
            with socket.create_connection((GUEST, 443), timeout=30) as s, \
                    ctx.wrap_socket(s, server_hostname=HOST_NAME) as t:
                reused += t.session_reused
                t.sendall(f"GET /healthz HTTP/1.1\r\nHost: {HOST_NAME}\r\nConnection: close\r\n\r\n".encode())
                got = b""
                while chunk := t.recv(4096):
                    got += chunk
                if not got.startswith(b"HTTP/1.1 200 ") or not got.endswith(b"\r\n\r\nok\n"):
                    raise RuntimeError(f"bad response {got[:60]!r}")
            done += 1
        except Exception as e:  # noqa: BLE001 - reported
            err = f"connection {done}: {e!r}"
            break
    print(json.dumps({"ok": done == n and not err, "done": done, "reused": reused, "error": err,
                      "seconds": time.monotonic() - t0}))


if __name__ == "__main__":
    {"raw": raw, "refused": refused, "load": load, "seq": seq, "crowd": crowd}[sys.argv[1]](*sys.argv[2:])
