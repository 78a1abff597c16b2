"""virtio-mmio on QEMU's microvm machine (drivers/virtio/virtio_mmio.c):
no PCI, the NIC and the entropy source behind virtio-mmio transports.

  microvm_legacy_acpi    the default: transports in the DSDT (LNRO0005),
                         QEMU 7.2's legacy (version 1) register layout
  microvm_modern_acpi    -global virtio-mmio.force-legacy=false: version 2
  microvm_legacy_cmdline acpi=off: virtio_mmio.device= on the command line
  microvm_modern_cmdline acpi=off and version 2

Each boot checks the discovery line, the driver lines (transport, version,
negotiated features), that virtio-rng seeded the generator (the CPU's RDRAND
and RDSEED are taken away), and that GET /healthz and a 1 MiB body come back
through QEMU user networking with a loopback port forward.

run.py: `from microvm_tests import register; register(case, report)`.
"""
import http.client
import re
import urllib.error
import urllib.request

from guest import Guest, free_port

LISTENING = r"^keel: http: listening on http://10\.0\.2\.15:80/"
BULK = 1 << 20


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, http.client.HTTPException) as e:
        return None, repr(e).encode()


def microvm_case(report, name, machine, modern):
    port = free_port()
    extra = ["-M", machine,
             "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
             "-device", "virtio-net-device,netdev=n0", "-device", "virtio-rng-device"]
    if modern:
        extra += ["-global", "virtio-mmio.force-legacy=false"]
    acpi = "acpi=off" not in machine
    version = r"v2 modern" if modern else r"v1 legacy"
    # User networking offers merged RX buffers but no offloads (those need
    # a tap's vnet header: bulk_tests.py).
    features = r"VERSION_1 MAC STATUS EVENT_IDX MRG_RXBUF" if modern else r"MAC STATUS EVENT_IDX MRG_RXBUF"
    with Guest(name, append="log=info", cpu="max,-rdrand,-rdseed", extra=extra) as g:
        up = g.wait_for(LISTENING, 90)
        report(f"{name}: boots and listens", up is not None, "no listening line", g)
        text = g.lines()
        found = (r"2 devices \(2 from ACPI, 0 from the command line\)" if acpi
                 else r"2 devices \(0 from ACPI, 2 from the command line\)")
        report(f"{name}: both transports found in the {'DSDT' if acpi else 'command line'}",
               re.search(rf"^keel: virtio-mmio: {found}: ", text, re.M) is not None, found, g)
        net = rf"^keel: virtio-net: mmio 0x[0-9a-f]+ {version}, irq gsi \d+, features {features} \(0x[0-9a-f]+\)$"
        report(f"{name}: virtio-net runs the {version} transport", re.search(net, text, re.M) is not None, net, g)
        rng = rf"^keel: virtio-rng: mmio 0x[0-9a-f]+ {version}, polled, queue of \d+"
        report(f"{name}: virtio-rng runs the {version} transport", re.search(rng, text, re.M) is not None, rng, g)
        report(f"{name}: the generator is seeded from virtio-rng",
               re.search(r"^keel: random: seeded from virtio-rng\+tsc$", text, re.M) is not None,
               "no 'seeded from virtio-rng+tsc' line", g)
        if not up:
            return
        status, body = http_get(port, "/healthz")
        report(f"{name}: GET /healthz answers 200 ok", status == 200 and body == b"ok\n", f"{status} {body[:80]!r}", g)
        status, body = http_get(port, f"/bytes/{BULK}")
        report(f"{name}: a 1 MiB body arrives whole", status == 200 and len(body) == BULK,
               f"{status}, {len(body)} bytes", g)


def register(case, report):
    @case
    def microvm_legacy_acpi():
        microvm_case(report, "microvm-legacy-acpi", "microvm", modern=False)

    @case
    def microvm_modern_acpi():
        microvm_case(report, "microvm-modern-acpi", "microvm", modern=True)

    @case
    def microvm_legacy_cmdline():
        microvm_case(report, "microvm-legacy-cmdline", "microvm,acpi=off", modern=False)

    @case
    def microvm_modern_cmdline():
        microvm_case(report, "microvm-modern-cmdline", "microvm,acpi=off", modern=True)
