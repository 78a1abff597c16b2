"""Boot bundle tests (kernel/bundle.h): a cpio archive given as the PVH
initrd or as a GRUB module2 configures the appliance without a rebuild.

  bundle_initrd     images/mkbundle.sh's bundle (cmdline + site/) as
                    -initrd: the bundle's options apply under the loader's,
                    its site replaces the embedded one (type, ETag, 304);
                    a 200 KiB file (sent by reference) arrives whole, and
                    a range of it from the middle
  bundle_malformed  garbage, a truncated bundle, duplicate names: one
                    "keel: bundle: rejected" line naming the problem, and
                    the embedded site is served
  bundle_grub       the same bundle as a GRUB module2 on an ISO (one boot)

The guests use QEMU user networking with a port forward; traffic stays on
loopback.

run.py: `from bundle_tests import register; register(case, report)`.
"""
import email.utils
import os
import random
import re
import subprocess
import urllib.error
import urllib.request
import zlib

from guest import BUILD, OUT, ROOT, Guest, free_port

EPOCH = 1700000000  # SOURCE_DATE_EPOCH of the test bundle: its Last-Modified
MARK = "keel-bundle-test-7f3a"  # only the bundle's index.html has it
BUNDLE_CMDLINE = "port=8081 log=warn"  # the loader's log=info must win over log=warn
SITE = {"index.html": f"<!doctype html><title>bundle</title><h1>{MARK}</h1>\n",
        "data.json": '{"from": "bundle"}\n',
        "docs/guide.txt": "plain text in a subdirectory\n"}
# Larger than the response buffer, so it goes out by reference
# (http_write_static); random, so a segment sent from the wrong offset
# cannot pass for the right one.
BIG_BIN = random.Random(7).randbytes(200 * 1024)


def http_get(port, path, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except OSError as e:
        return None, {}, repr(e).encode()


def make_bundle(tag):
    """The test bundle, made by images/mkbundle.sh: its path, or None and
    the error."""
    site = OUT / f"bundle-site-{os.getpid()}"
    for name, text in SITE.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    (site / "big.bin").write_bytes(BIG_BIN)
    out = OUT / f"bundle-{tag}.{os.getpid()}.cpio"
    env = dict(os.environ, SITE=str(site), CMDLINE=BUNDLE_CMDLINE, SOURCE_DATE_EPOCH=str(EPOCH))
    made = subprocess.run([str(ROOT / "images/mkbundle.sh"), str(out)], env=env, capture_output=True, text=True,
                          timeout=60)
    return (out, "") if made.returncode == 0 else (None, made.stderr.strip())


def newc(entries):
    """A newc archive (cpio(5) "New ASCII Format") of (name, mode, data)
    entries and the trailer, written here so that it can be wrong on
    purpose (duplicate names)."""
    out = b""
    for name, mode, data in [*entries, ("TRAILER!!!", 0, b"")]:
        fields = [1, mode, 0, 0, 1, EPOCH, len(data), 0, 0, 0, 0, len(name) + 1, 0]
        out += b"070701" + "".join(f"{v:08X}" for v in fields).encode() + name.encode() + b"\0"
        out += b"\0" * (-len(out) % 4) + data
        out += b"\0" * (-len(out) % 4)
    return out


def user_net(port, guest_port=80):
    return ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:{guest_port}",
            "-device", "virtio-net-pci,netdev=n0"]


def check_bundle_site(report, g, port, tag):
    """The bundle's site is served, with what the embedded one has."""
    status, h, body = http_get(port, "/")
    index = SITE["index.html"].encode()
    etag = f'"{zlib.crc32(index):08x}{len(index):08x}"'
    report(f"bundle/{tag}: / is the bundle's index.html, text/html, ETag of its CRC-32 and size",
           status == 200 and body == index and h.get("Content-Type", "").startswith("text/html") and
           h.get("ETag") == etag, f"{status} {h} {body[:80]!r}", g)
    report(f"bundle/{tag}: Last-Modified is the archive's mtime",
           h.get("Last-Modified") == email.utils.formatdate(EPOCH, usegmt=True), str(h.get("Last-Modified")), g)
    status, _, empty = http_get(port, "/", headers={"If-None-Match": etag})
    report(f"bundle/{tag}: If-None-Match with its ETag -> 304", status == 304 and empty == b"", str(status), g)
    status, h, body = http_get(port, "/data.json")
    report(f"bundle/{tag}: /data.json is application/json",
           status == 200 and h.get("Content-Type") == "application/json" and body == SITE["data.json"].encode(),
           f"{status} {h}", g)
    status, h, body = http_get(port, "/docs/guide.txt")
    report(f"bundle/{tag}: a file in a subdirectory", status == 200 and body == SITE["docs/guide.txt"].encode() and
           h.get("Content-Type", "").startswith("text/plain"), f"{status} {h}", g)
    status, h, body = http_get(port, "/big.bin")
    report(f"bundle/{tag}: a 200 KiB file arrives whole", status == 200 and body == BIG_BIN,
           f"{status} {len(body)} bytes", g)
    status, h, body = http_get(port, "/big.bin", headers={"Range": "bytes=70001-140000"})
    report(f"bundle/{tag}: a range from its middle (206) is those bytes",
           status == 206 and body == BIG_BIN[70001:140001], f"{status} {len(body)} bytes", g)
    about, _, _ = http_get(port, "/about/")
    css, _, _ = http_get(port, "/style.css")
    report(f"bundle/{tag}: the embedded site is gone (/about/ and /style.css 404)", about == 404 and css == 404,
           f"{about} {css}", g)


def register(case, report):
    @case
    def bundle_initrd():
        bundle, err = make_bundle("initrd")
        report("bundle: images/mkbundle.sh builds a bundle", bundle is not None, err)
        if not bundle:
            return
        report("bundle: the bundle is readable by its owner only", (bundle.stat().st_mode & 0o077) == 0,
               oct(bundle.stat().st_mode))
        port = free_port()
        # The loader's log=info beats the bundle's log=warn (else no info
        # lines); the bundle's port=8081 applies (the loader sets none).
        with Guest("bundle-initrd", append="log=info", extra=["-initrd", str(bundle), *user_net(port, 8081)]) as g:
            up = g.wait_for(r"^keel: http: listening on http://\S+:8081/", 90)
            report("bundle/initrd: the bundle's port=8081 applies, the loader's log=info wins over its log=warn",
                   up is not None, "no 'listening on ...:8081' line at info level", g)
            report("bundle/initrd: logs the files it found",
                   re.search(r"^keel: bundle: 5 files \(\d+ KiB\) from the initrd$", g.text(), re.M) is not None,
                   "no 'keel: bundle: 5 files (N KiB) from the initrd' line", g)
            if up:
                check_bundle_site(report, g, port, "initrd")

    @case
    def bundle_malformed():
        good, err = make_bundle("cut")
        if not good:
            report("bundle: images/mkbundle.sh builds a bundle", False, err)
            return
        data = good.read_bytes()
        cases = [
            ("garbage", os.urandom(3000), r"bad magic \(not a newc cpio archive\) at offset 0"),
            ("truncated", data[:data.index(MARK.encode()) + 4], r"file data runs past the end at offset \d+"),
            ("duplicate names", newc([("site/a.html", 0o100644, b"1"), ("./site/a.html", 0o100644, b"2")]),
             r'duplicate name "site/a\.html"'),
        ]
        for what, blob, why in cases:
            path = OUT / f"bundle-bad.{os.getpid()}.cpio"
            path.write_bytes(blob)
            port = free_port()
            with Guest("bundle-bad", append="log=info port=80", extra=["-initrd", str(path), *user_net(port)]) as g:
                up = g.wait_for(r"^keel: http: listening on", 90)
                report(f"bundle/{what}: the appliance boots and listens", up is not None, "no listening line", g)
                lines = re.findall(r"^keel: bundle: .*$", g.lines(), re.M)
                report(f"bundle/{what}: one 'keel: bundle: rejected' line naming the problem",
                       len(lines) == 1 and re.search(r"rejected the initrd.*" + why, lines[0]) is not None,
                       f"bundle lines: {lines}", g)
                if up:
                    status, _, body = http_get(port, "/about/")
                    report(f"bundle/{what}: the embedded site is served", status == 200 and b"<" in body,
                           str(status), g)
            path.unlink(missing_ok=True)

    @case
    def bundle_grub():
        bundle, err = make_bundle("grub")
        if not bundle:
            report("bundle: images/mkbundle.sh builds a bundle", False, err)
            return
        iso = OUT / f"keel-bundle.{os.getpid()}.iso"
        made = subprocess.run([str(ROOT / "images/mkiso.sh"), "-b", str(bundle), str(BUILD / "keel.elf"), str(iso),
                               "log=info"], capture_output=True, text=True, timeout=120)
        report("bundle/grub: mkiso.sh -b puts the bundle on the ISO", made.returncode == 0, made.stderr.strip())
        if made.returncode:
            return
        port = free_port()
        with Guest("bundle-grub", iso=iso, extra=user_net(port, 8081)) as g:
            up = g.wait_for(r"^keel: http: listening on http://\S+:8081/", 180)
            report("bundle/grub: the bundle arrives as the multiboot2 module and configures the appliance",
                   up is not None and re.search(r"^keel: bundle: 5 files \(\d+ KiB\) from the multiboot2 module$",
                                                g.text(), re.M) is not None, "no bundle line or no :8081", g)
            if up:
                status, _, body = http_get(port, "/")
                report("bundle/grub: serves the bundle's site", status == 200 and MARK.encode() in body,
                       f"{status} {body[:80]!r}", g)
        iso.unlink(missing_ok=True)
