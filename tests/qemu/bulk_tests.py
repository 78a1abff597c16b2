"""Bulk transfer both ways over a tap in a network namespace, where QEMU's
virtio-net offers its offloads (the tap backend carries virtio's header;
user networking does not, so it offers none of them):

  bulk_virtio   virtio-net-pci: CSUM, GUEST_CSUM, MRG_RXBUF, GUEST_TSO4 and
                HOST_TSO4 negotiated
  bulk_microvm  virtio-mmio, legacy: the same but HOST_TSO4 (Keel joins
                segments only on VERSION_1 devices), with the legacy header
  bulk_e1000    e1000, no offloads: the same transfers still intact

Each boot downloads 10 MiB (GET /bytes) and uploads 10 MiB of random bytes
to POST /echo, comparing sha256 both ways; on virtio, /metrics must show
large (coalesced) frames received and none dropped, and with HOST_TSO4
large frames sent (net/tso.c joins segments, the device cuts them). csumcap.py checks the
TCP checksums the guest sends as they reach the tap: full ones from e1000,
the pseudo-header sums NEEDS_CSUM wants from virtio. No timings are
asserted (make bench measures them).

run.py: `from bulk_tests import register; register(case, report)`."""
import hashlib
import os
import re
import tempfile

from pathlib import Path

from guest import Guest
from netns import GUEST_APPEND, GUEST_IP, Netns

CSUMCAP = Path(__file__).with_name("csumcap.py")
MIB10 = 10 << 20
URL = f"http://{GUEST_IP}/"
LISTENING = rf"^keel: http: listening on http://{re.escape(GUEST_IP)}:80/"
OFFLOADS = ("CSUM", "GUEST_CSUM", "MRG_RXBUF", "GUEST_TSO4")


def metric(ns, name):
    rc, out = ns.run("curl", "-sS", "--max-time", "10", f"{URL}metrics", timeout=20)
    m = re.search(rf"^{name} (\d+)$", out, re.M) if rc == 0 else None
    return int(m.group(1)) if m else None


def bulk(report, tag, nic, machine=None, tso=False):
    name = f"bulk/{tag}"
    with Netns(f"bulk-{tag}") as ns, tempfile.TemporaryDirectory() as tmp:
        extra = [*(["-M", machine] if machine else []), *ns.qemu_net(nic)]
        with Guest(f"bulk-{tag}", append=f"{GUEST_APPEND} log=info", extra=extra, netns=ns.name) as g:
            up = g.wait_for(LISTENING, 90)
            report(f"{name}: the appliance boots and listens", up is not None, "no 'http: listening' line", g)
            if not up:
                return
            if nic != "e1000":
                feat = re.search(r"^keel: virtio-net: .* features (.*) \(0x[0-9a-f]+\)$", g.text(), re.M)
                got = feat.group(1).split() if feat else []
                want = (*OFFLOADS, "HOST_TSO4") if tso else OFFLOADS
                report(f"{name}: the tap's offloads are negotiated ({' '.join(want)})",
                       all(f in got for f in want) and (tso or "HOST_TSO4" not in got),
                       f"features line: {feat.group(0) if feat else None}", g)
            rc, out = ns.run("sh", "-c", f"curl -sS --max-time 120 {URL}bytes/{MIB10} | sha256sum", timeout=150)
            want = hashlib.sha256(bytes(MIB10)).hexdigest()
            report(f"{name}: GET /bytes/{MIB10} arrives intact (sha256)", rc == 0 and out.split()[:1] == [want],
                   f"exit {rc}: {out.strip()[-200:]}", g)
            gso = metric(ns, "keel_nic_tx_gso_frames_total")
            if tso:
                report(f"{name}: the download left in joined frames the device cut up (HOST_TSO4)", bool(gso),
                       f"joined frames {gso}", g)
            else:
                report(f"{name}: no joined frame sent without HOST_TSO4", gso == 0, f"joined frames {gso}", g)
            data = os.urandom(MIB10)
            path = os.path.join(tmp, "up.bin")
            with open(path, "wb") as f:
                f.write(data)
            rc, out = ns.run("sh", "-c", f"curl -sS --max-time 120 --data-binary @{path} {URL}echo | sha256sum",
                             timeout=150)
            want = hashlib.sha256(data).hexdigest()
            report(f"{name}: 10 MiB POST /echo comes back intact (sha256 both ways)",
                   rc == 0 and out.split()[:1] == [want], f"exit {rc}: {out.strip()[-200:]}", g)
            large, dropped = metric(ns, "keel_net_rx_large_frames_total"), metric(ns, "keel_nic_rx_dropped_total")
            if nic == "e1000":
                report(f"{name}: no frame longer than the MTU received", large == 0, f"large frames {large}", g)
            else:
                report(f"{name}: the upload arrived in coalesced frames (GUEST_TSO4)", bool(large),
                       f"large frames {large}", g)
            mode = "full" if nic == "e1000" else "partial"
            rc, out = ns.run("python3", str(CSUMCAP), mode, timeout=60)
            report(f"{name}: every TCP segment sent carries the {mode} checksum its NIC needs", rc == 0,
                   out.strip()[-300:], g)
            report(f"{name}: no frame dropped on receive", dropped == 0, f"dropped {dropped}", g)
            report(f"{name}: no trap or panic", not re.search(r"^keel: (trap|panic):", g.text(), re.M),
                   "trap or panic", g)


def register(case, report):
    @case
    def bulk_virtio():
        bulk(report, "virtio", "virtio", tso=True)

    @case
    def bulk_microvm():
        bulk(report, "microvm-legacy", "virtio-mmio", machine="microvm")

    @case
    def bulk_e1000():
        bulk(report, "e1000", "e1000")
