"""The VM images section of `make bench`: boot to first 200 of each image
`make images` builds (images/mkiso.sh, images/mkdisk.sh), through GRUB
under SeaBIOS and under OVMF, beside -kernel's in the main table.

The images are built once per run into build/bench/images/ with Keel's
bench command line (so each guest takes the namespace's static address),
no bundle. Each format boots --image-boots times, in turn (-kernel, ISO
BIOS, ISO UEFI, qcow2 BIOS, qcow2 UEFI, then again; -kernel on the pc
and on the microvm machine too), each on a fresh
namespace as every other bench boot; a cell is the median with its
min-max.
"""
import os
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


def section(results, peer, args, booted, timeout, progress):
    """results["images"]: per format its file size and boot-to-200 entry."""
    out = ROOT / "build" / "bench" / "images"
    mem_mib = int(args.mem.rstrip("M"))
    table = results["images"] = {}
    try:
        build(out, peer.kernel, peer.append)
    except Exception as e:  # noqa: BLE001  (a failed build is the section's result)
        for name, *_ in FORMATS:
            table[name] = {"value": None, "why": f"images not built: {e}"}
        progress(f"images: not built: {e}")
        return
    runs = {name: [] for name, *_ in FORMATS}
    for rnd in range(args.image_boots):
        for name, file, uefi, microvm in FORMATS:
            media = {} if file is None else {"iso": out / file} if file.endswith(".iso") else {"disk": out / file}
            with booted(peer, args.nic, mem_mib, f"image{rnd}", microvm=microvm, uefi=uefi, **media) as (ns, g):
                try:
                    runs[name].append(wait_first_200(ns, g, timeout))
                except Failed as e:
                    runs[name].append(e)
            progress(f"images: {name} boot {rnd + 1}: {runs[name][-1]}")
    for name, file, *_ in FORMATS:
        path = out / file if file else peer.kernel
        table[name] = {**summarize(runs[name]), "file_kib": os.stat(path).st_size / 1024}
