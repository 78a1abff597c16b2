"""The VM images section of `make bench`: boot to first 200 of each image
`make images` builds (images/mkiso.sh, images/mkdisk.sh), through GRUB
under SeaBIOS and under OVMF, beside -kernel's in the main table.

The images are built once per run into build/bench/images/ with Keel's
bench command line plus log=info (each guest takes the namespace's static
address and logs its listening line with the time since power-on), no
bundle. Each format boots --image-boots times, in turn (-kernel on the pc
and on the microvm machine, ISO BIOS, ISO UEFI, qcow2 BIOS, qcow2 UEFI,
then again), each on a fresh namespace as every other bench boot; a cell
is the median with its min-max. Two figures per boot: QEMU's start to a
client's first 200 (QEMU's own set-up included), and power-on to the
listening line by the guest's clock (the part the kernel owns).
"""
import os
import re
import subprocess

from guest import ROOT
from measure import Failed, summarize, wait_first_200

# name, file, UEFI firmware (else SeaBIOS), microvm; the first two are
# QEMU's -kernel (PVH): on the pc machine as in the main table, and on
# microvm (no firmware, no PCI: the NIC on virtio-mmio), booted in the same
# turns for comparison.
FORMATS = (("-kernel keel.elf (PVH)", None, False, False), ("-kernel on microvm", None, False, True),
           ("ISO, BIOS", "keel.iso", False, False), ("ISO, UEFI", "keel.iso", True, False),
           ("qcow2, BIOS", "keel.qcow2", False, False), ("qcow2, UEFI", "keel.qcow2", True, False))


def build(out, kernel, append):
    """The ISO and the disks for `kernel` with `append` as its command line."""
    out.mkdir(parents=True, exist_ok=True)
    for cmd in ([ROOT / "images/mkiso.sh", kernel, out / "keel.iso", append],
                [ROOT / "images/mkdisk.sh", "-q", out / "keel.qcow2", kernel, out / "keel.raw", append]):
        made = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300)
        if made.returncode:
            raise Failed(f"{cmd[0].name}: {made.stderr.strip()[-300:]}")


# Keel's own clock from power-on (the vCPU's reset, after QEMU has set
# the machine up) to its listening line: the part of a boot the kernel owns.
LISTENING = re.compile(r"^keel: http: listening on http://\S+ \((\d+\.\d) ms since power-on\)$", re.M)


def guest_ms(g):
    """Power-on to listening by the guest's clock, or Failed."""
    m = LISTENING.search(g.lines())
    if not m:
        raise Failed("no listening line with the time since power-on")
    return float(m.group(1))


def section(results, peer, args, booted, timeout, progress):
    """results["images"]: per format its file size and boot-to-200 entry."""
    out = ROOT / "build" / "bench" / "images"
    mem_mib = int(args.mem.rstrip("M"))
    table = results["images"] = {}
    append = peer.append + " log=info"  # the listening line, with its time since power-on
    try:
        build(out, peer.kernel, append)
    except Exception as e:  # noqa: BLE001  (a failed build is the section's result)
        for name, *_ in FORMATS:
            table[name] = {"value": None, "why": f"images not built: {e}"}
        progress(f"images: not built: {e}")
        return
    runs = {name: [] for name, *_ in FORMATS}
    guest = {name: [] for name, *_ in FORMATS}
    for rnd in range(args.image_boots):
        for name, file, uefi, microvm in FORMATS:
            media = {} if file is None else {"iso": out / file} if file.endswith(".iso") else {"disk": out / file}
            with booted(peer, args.nic, mem_mib, f"image{rnd}", microvm=microvm, append=append,
                         uefi=uefi, **media) as (ns, g):
                for into, measure in ((runs, lambda: wait_first_200(ns, g, timeout)), (guest, lambda: guest_ms(g))):
                    try:
                        into[name].append(measure())
                    except Failed as e:
                        into[name].append(e)
            progress(f"images: {name} boot {rnd + 1}: {runs[name][-1]}")
    for name, file, *_ in FORMATS:
        path = out / file if file else peer.kernel
        table[name] = {**summarize(runs[name]), "file_kib": os.stat(path).st_size / 1024,
                       "guest_ms": summarize(guest[name])}
