"""Build the Linux peers of `make bench` from Debian packages only: a Debian
kernel (downloaded with `apt-get download`, unpacked with `dpkg-deb -x`,
never installed) and a busybox initramfs running nginx or the Go server.

    build/bench/debs/              the downloaded .deb files
    build/bench/root/<package>/    each one unpacked
    build/bench/go/                the Go peer's binary and build cache
    build/bench/peers/<peer>-<nic>/vmlinuz, initramfs.gz, info.json

A built peer is reused while the sources it was built from (this directory's
files and Keel's index.html) are unchanged. The HTTPS section's certificate
is not in it: https.py appends it to a copy of the initramfs for each run.
"""
import gzip
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BENCH = ROOT / "build" / "bench"
DEBS, UNPACKED, PEERS = BENCH / "debs", BENCH / "root", BENCH / "peers"
INDEX = ROOT / "images" / "site" / "index.html"

# The cloud kernel has virtio-net but no e1000 driver (CONFIG_E1000 is not
# set), so the e1000 runs boot Debian's generic kernel instead.
KERNEL_PACKAGE = {"virtio": "linux-image-cloud-amd64", "e1000": "linux-image-amd64"}
NIC_MODULES = {"virtio": ["virtio_pci", "virtio_net"], "e1000": ["e1000"]}
SERVER_COMMAND = {"nginx": "exec /usr/sbin/nginx -c /etc/nginx/nginx.conf",
                  # HTTPS on :443 too when the certificate is there (https.py).
                  "go": "exec /usr/bin/bench-server -index /srv/www/index.html "
                        "-cert /etc/bench/tls/default.crt -key /etc/bench/tls/default.key"}
# The busybox applets /init calls by name (the rest are shell builtins).
APPLETS = ["sh", "mount", "truncate", "insmod", "sleep", "ip"]


def run(*args, timeout=600, **kw):
    """Run a command; its output, or RuntimeError with what it printed."""
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if p.returncode:
        raise RuntimeError(f"{' '.join(args)}: exit status {p.returncode}: {p.stderr.strip()[-500:]}")
    return p


def candidate(package):
    """The version apt would fetch, refreshing the package lists once if apt
    knows none (a fresh machine)."""
    for attempt in range(2):
        out = run("apt-cache", "policy", package).stdout
        m = re.search(r"Candidate: (\S+)", out)
        if m and m.group(1) != "(none)":
            return m.group(1)
        if attempt == 0:
            run("apt-get", "update", "-q")
    raise RuntimeError(f"apt knows no candidate for {package}")


def kernel_package(nic):
    """The versioned image package (linux-image-6.1.*) that the metapackage
    for this NIC depends on."""
    meta = KERNEL_PACKAGE[nic]
    candidate(meta)
    out = run("apt-cache", "depends", "--important", meta).stdout
    m = re.search(r"Depends: (linux-image-\S+)", out)
    if not m:
        raise RuntimeError(f"{meta} names no linux-image dependency")
    return m.group(1)


def fetch(package):
    """The package's unpacked tree (download and unpack only when the
    candidate version is not here yet) and that version."""
    version = candidate(package)
    DEBS.mkdir(parents=True, exist_ok=True)
    pattern = f"{package}_{version.replace(':', '%3a')}_*.deb"
    debs = sorted(DEBS.glob(pattern))
    if not debs:
        run("apt-get", "download", "-q", package, cwd=DEBS)
        debs = sorted(DEBS.glob(pattern))
    tree, stamp = UNPACKED / package, UNPACKED / f"{package}.version"
    UNPACKED.mkdir(parents=True, exist_ok=True)
    if not stamp.exists() or stamp.read_text() != version:
        shutil.rmtree(tree, ignore_errors=True)
        run("dpkg-deb", "-x", str(debs[0]), str(tree))
        stamp.write_text(version)
    return tree, version


def module_closure(modules_dir, names):
    """The .ko files for `names` and what they depend on, dependencies
    first. A name with no .ko is built into the kernel and needs nothing."""
    files = {p.name[:-3].replace("-", "_"): p for p in modules_dir.rglob("*.ko")}
    order = []

    def visit(name):
        if name not in files or files[name] in order:
            return
        info = files[name].read_bytes()
        m = re.search(rb"\0depends=([^\0]*)\0", info)
        for dep in filter(None, (m.group(1).decode().split(",") if m else [])):
            visit(dep)
        order.append(files[name])

    for name in names:
        visit(name)
    return order


def shared_libraries(binary):
    """The host paths of the libraries `ldd` says the binary loads."""
    out = run("ldd", str(binary)).stdout
    if "not found" in out:
        raise RuntimeError(f"ldd {binary}: {out}")
    return [Path(p) for p in re.findall(r"(/\S+) \(0x", out)]


def go_binary():
    """Build the Go peer (static, stripped, no network) and return it."""
    out = BENCH / "go" / "bench-server"
    env = dict(os.environ, CGO_ENABLED="0", GOPROXY="off", GOFLAGS="", GOCACHE=str(BENCH / "go" / "cache"),
               GOPATH=str(BENCH / "go" / "path"))
    run("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out), str(HERE / "server.go"), env=env)
    return out


def install(src, stage, dest, mode=0o644):
    target = stage / dest.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, target)
    target.chmod(mode)


def write(stage, dest, text, mode=0o644):
    target = stage / dest.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(mode)


def stage_server(peer, stage):
    """Copy the server and what it needs into the staging tree; its version."""
    write(stage, "/etc/bench/server", SERVER_COMMAND[peer] + "\n")
    if peer == "go":
        install(go_binary(), stage, "/usr/bin/bench-server", 0o755)
        return run("go", "version").stdout.split()[2]
    tree, version = fetch("nginx")  # the binary; nginx-common's configs are replaced by ours
    nginx = tree / "usr/sbin/nginx"
    install(nginx, stage, "/usr/sbin/nginx", 0o755)
    for lib in shared_libraries(nginx):
        install(lib, stage, str(lib), 0o755)
    install(HERE / "nginx.conf", stage, "/etc/nginx/nginx.conf")
    write(stage, "/etc/passwd", "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
    write(stage, "/etc/group", "root:x:0:\nnogroup:x:65534:\n")
    for d in ("/var/lib/nginx", "/var/log/nginx", "/etc/nginx/https"):
        (stage / d.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return f"nginx {version}"


def stage_base(stage, nic):
    """Busybox, /init, the NIC modules and the site; the kernel image and
    its release name."""
    busybox, _ = fetch("busybox-static")
    install(busybox / "bin/busybox", stage, "/bin/busybox", 0o755)
    for applet in APPLETS:
        (stage / "bin" / applet).symlink_to("busybox")
    install(HERE / "init.sh", stage, "/init", 0o755)
    kernel, version = fetch(kernel_package(nic))
    release = next((kernel / "lib/modules").iterdir()).name
    loaded = []
    for ko in module_closure(kernel / "lib/modules" / release, NIC_MODULES[nic]):
        install(ko, stage, f"/lib/modules/{ko.name}")
        loaded.append(f"/lib/modules/{ko.name}")
    write(stage, "/etc/bench/modules", "".join(m + "\n" for m in loaded))
    install(INDEX, stage, "/srv/www/index.html")
    for d in ("proc", "sys", "dev", "run", "tmp", "srv/bytes"):
        (stage / d).mkdir(parents=True, exist_ok=True)
    return kernel / "boot" / f"vmlinuz-{release}", f"{release} ({version})"


def cpio_newc(stage):
    """The staging tree as a newc cpio archive (what the kernel unpacks),
    owned by root, timestamps zero."""
    out = bytearray()

    def entry(name, mode, data, ino):
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0)
        out.extend(b"070701" + "".join(f"{v:08X}" for v in fields).encode() + name.encode() + b"\0")
        out.extend(b"\0" * (-len(out) % 4) + data + b"\0" * (-len(data) % 4))

    paths = sorted(stage.rglob("*"))
    for ino, path in enumerate(paths, 1):
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            data = os.readlink(path).encode()
        elif stat.S_ISREG(st.st_mode):
            data = path.read_bytes()
        else:
            data = b""
        entry(str(path.relative_to(stage)), st.st_mode, data, ino)
    entry("TRAILER!!!", 0, b"", 0)
    return bytes(out)


def sources_digest(peer, nic):
    h = hashlib.sha256(f"{peer} {nic}".encode())
    for f in (HERE / "peers.py", HERE / "init.sh", HERE / "nginx.conf", HERE / "server.go", INDEX):
        h.update(f.read_bytes())
    return h.hexdigest()


def cached(peer, nic):
    """The built peer's info if it is current (no network, no build), else None."""
    info_file = PEERS / f"{peer}-{nic}" / "info.json"
    try:
        info = json.loads(info_file.read_text())
    except (OSError, ValueError):
        return None
    ok = info.get("digest") == sources_digest(peer, nic) and Path(info["initrd"]).exists()
    return info if ok else None


def build(peer, nic):
    """Build (or reuse) a Linux peer: a dict with the kernel and initrd
    paths, their sizes and the versions inside."""
    info = cached(peer, nic)
    if info:
        return info
    out = PEERS / f"{peer}-{nic}"
    stage = out / "stage"
    shutil.rmtree(out, ignore_errors=True)
    stage.mkdir(parents=True)
    vmlinuz, kernel = stage_base(stage, nic)
    server = stage_server(peer, stage)
    shutil.copyfile(vmlinuz, out / "vmlinuz")
    (out / "initramfs.gz").write_bytes(gzip.compress(cpio_newc(stage), 9, mtime=0))
    info = {"kernel": str(out / "vmlinuz"), "initrd": str(out / "initramfs.gz"), "linux": kernel, "server": server,
            "vmlinuz_bytes": (out / "vmlinuz").stat().st_size, "initramfs_bytes": (out / "initramfs.gz").stat().st_size,
            "digest": sources_digest(peer, nic)}
    (out / "info.json").write_text(json.dumps(info, indent=1))
    return info
