"""VM image tests (`make images`: images/mkiso.sh, images/mkdisk.sh): each
format boots through GRUB under each firmware, serves, and powers off.

  images_build      `make images` into a directory of its own, with a boot
                    bundle and a two-option CMDLINE: the ISO, the raw disk
                    and the qcow2 disk, each its owner's only (the bundle may
                    hold a key); a raw disk without a bundle (mkdisk.sh)
  images_boot_*     one boot each: the ISO under SeaBIOS and under OVMF,
                    the qcow2 disk under SeaBIOS and under OVMF (all with the
                    bundle), the raw disk without one under SeaBIOS. Each
                    must show GRUB's command line in the banner, answer
                    GET /healthz with 200 "ok", serve the bundle's site when
                    it has one, and exit QEMU with 0 on the power button
                    after "keel: acpi: entering S5".

The images are built once per run, under build/test/qemu/. The guests use
QEMU user networking with a port forward; traffic stays on loopback.

run.py: `from image_tests import register; register(case, report)`.
"""
import atexit
import os
import re
import shutil
import subprocess

from bundle_tests import http_get, user_net
from guest import BUILD, OUT, ROOT, Guest, free_port

MARK = "keel-image-test-51c2"  # only the bundle's index.html has it
BUNDLE_CMDLINE = "port=8081"  # from the bundle: the guest listens on 8081
CMDLINE = "log=info max_conns=500"  # from grub.cfg: make's CMDLINE, two words
BOOT_TIMEOUT = 90  # seconds to the listening line; OVMF under TCG takes ~5
built = {}  # what images_build made: name -> path, or "error" -> why


def build():
    """The images, made once: a dict name -> path, or {"error": why}."""
    if built:
        return built
    out = OUT / f"images.{os.getpid()}"
    shutil.rmtree(out, ignore_errors=True)
    atexit.register(shutil.rmtree, out, True)  # 25 MB of images; the guests' logs stay
    (out / "site").mkdir(parents=True)
    (out / "site" / "index.html").write_text(f"<!doctype html><h1>{MARK}</h1>\n")
    bundle = out / "bundle.cpio"
    steps = [
        (["images/mkbundle.sh", str(bundle)], dict(SITE=str(out / "site"), CMDLINE=BUNDLE_CMDLINE)),
        (["make", "--no-print-directory", "images", f"IMAGES={out}", f"BUNDLE={bundle}", f"CMDLINE={CMDLINE}"], {}),
        (["images/mkdisk.sh", str(BUILD / "keel.elf"), str(out / "plain.raw"), CMDLINE], {}),
    ]
    for cmd, env in steps:
        made = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, **env), capture_output=True, text=True,
                              timeout=300)
        if made.returncode:
            built["error"] = f"{' '.join(cmd[:2])}: {made.stdout.strip()[-300:]} {made.stderr.strip()[-600:]}"
            return built
    built.update(iso=out / "keel.iso", raw=out / "keel.raw", qcow2=out / "keel.qcow2", plain=out / "plain.raw",
                 log=made.stdout)
    return built


def boot_case(report, tag, media, uefi, with_bundle=True):
    images = build()
    if "error" in images:
        report(f"images/{tag}: the image is built", False, images["error"])
        return
    path = images[media]
    port = free_port()
    guest_port = 8081 if with_bundle else 80
    kind = {"iso": dict(iso=path)}.get(media, dict(disk=path))
    with Guest(f"image-{tag}", uefi=uefi, extra=user_net(port, guest_port), **kind) as g:
        up = g.wait_for(rf"^keel: http: listening on http://\S+:{guest_port}/", BOOT_TIMEOUT)
        report(f"images/{tag}: GRUB boots the kernel through multiboot2 with the image's command line",
               up is not None and re.search(rf'^keel: kernel: Keel \S+ booted via multiboot2 .* cmdline "{CMDLINE}"$',
                                            g.lines(), re.M) is not None,
               "no listening line or no multiboot2 banner with that command line", g)
        if not up:
            return
        status, _, body = http_get(port, "/healthz")
        report(f"images/{tag}: GET /healthz answers 200 ok", status == 200 and body == b"ok\n",
               f"{status} {body[:80]!r}", g)
        if with_bundle:
            status, _, body = http_get(port, "/")
            report(f"images/{tag}: the bundle is GRUB's module2: its port and its site",
                   status == 200 and MARK.encode() in body and
                   re.search(r"^keel: bundle: 2 files \(\d+ KiB\) from the multiboot2 module$", g.lines(), re.M),
                   f"{status} {body[:80]!r}", g)
        g.monitor("system_powerdown")
        status = g.wait_exit(60)
        report(f"images/{tag}: the power button enters S5 and QEMU exits 0",
               status == 0 and re.search(r"^keel: acpi: entering S5", g.text(), re.M) is not None,
               f"exit status {status}", g)


def register(case, report):
    @case
    def images_build():
        images = build()
        report("images: make images BUNDLE= CMDLINE= builds the ISO, raw and qcow2 disks", "error" not in images,
               images.get("error", ""))
        if "error" in images:
            return
        modes = {name: oct(images[name].stat().st_mode & 0o777) for name in ("iso", "raw", "qcow2")}
        report("images: with a bundle every image is its owner's only (0600)",
               set(modes.values()) == {"0o600"}, str(modes))
        sizes = {name: images[name].stat().st_size for name in ("iso", "raw", "qcow2", "plain")}
        print("    sizes: " + ", ".join(f"{k} {v / 1024:,.0f} KiB" for k, v in sizes.items()), flush=True)

    for tag, media, uefi, with_bundle in (("iso-bios", "iso", False, True), ("iso-uefi", "iso", True, True),
                                          ("qcow2-bios", "qcow2", False, True),
                                          ("qcow2-uefi", "qcow2", True, True),
                                          ("raw-bios", "plain", False, False)):
        def run(tag=tag, media=media, uefi=uefi, with_bundle=with_bundle):
            boot_case(report, tag, media, uefi, with_bundle)
        run.__name__ = f"images_boot_{tag.replace('-', '_')}"
        case(run)
