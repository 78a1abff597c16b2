"""The README's libvirt deployment, tried: its domain XML and virt-install
line are validated, then the XML is defined and started through a libvirtd
this test starts itself, reached over HTTP and shut down with `virsh
shutdown` (the ACPI power button).

The daemon is private: libvirtd runs as root in a mount namespace of its
own (unshare), where its state, run, log and configuration directories are
bind mounts of a scratch directory, and listens on a socket there
(qemu:///system?socket=...). Nothing of the machine's libvirt (if any) is
read or touched, no systemd is needed, and it is stopped by PID. (As root,
qemu:///session is not offered: libvirt sends root to the system daemon.)

The disk is KEEL_LIBVIRT_IMAGE, else the qcow2 `make images` builds
from this tree's kernel into the test's scratch directory. It is
linked to where the README's XML says, /var/lib/libvirt/images/keel.qcow2,
as the daemon sees that directory.

For the test the domain differs from the README's in what a CI machine
lacks: type 'qemu' (TCG) with <cpu mode='maximum'/>, a serial log file
instead of a pty, and instead of a libvirt network (dnsmasq, a bridge)
QEMU user networking with a port forward to loopback, passed through
<qemu:commandline> (libvirt 9.0's <interface type='user'> forwards ports
only with passt).

run.py: `from libvirt_tests import register; register(case, report)`.
"""
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET

from guest import BUILD, OUT, ROOT, free_port

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
LIBVIRTD_CONF = """unix_sock_dir = "{sock}"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:stderr"
"""
# QEMU as root without relabelling: the disk is the test's own file.
# stdio_handler "file": no virtlogd to start as well.
QEMU_CONF = """stdio_handler = "file"
security_driver = "none"
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
"""
# Inside the new mount namespace: libvirt's directories become the
# scratch directory's, then the daemon replaces the shell.
MOUNTS = """set -e
for d in run:/run/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt etc:/etc/libvirt; do
	mkdir -p "${d#*:}"
	mount --bind "$SCRATCH/${d%%:*}" "${d#*:}"
done
exec libvirtd -f /etc/libvirt/libvirtd.conf -p "$SCRATCH/libvirtd.pid"
"""


def readme_block(lang, after):
    """The first ```lang block of the README after the heading `after`."""
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"^## {re.escape(after)}\n.*?^```{lang}\n(.*?)^```", text, re.M | re.S)
    return m.group(1) if m else None


def readme_virt_install():
    """The virt-install command of the README, its continuation lines joined."""
    text = (ROOT / "README.md").read_text()
    m = re.search(r"^    (virt-install (?:.*\\\n)*.*)$", text, re.M)
    return re.sub(r"\\\n\s*", "", m.group(1)).split() if m else None


def run(*cmd, timeout=60):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, (p.stdout + p.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, repr(e)


def validate(xml_text, path):
    path.write_text(xml_text)
    return run("virt-xml-validate", str(path), "domain")


def disk_image(scratch):
    """(path, what) of the qcow2 to boot: KEEL_LIBVIRT_IMAGE, or the one
    `make images` builds from this tree's kernel (never a stale one)."""
    env = os.environ.get("KEEL_LIBVIRT_IMAGE")
    if env:
        return env, "KEEL_LIBVIRT_IMAGE"
    out = scratch / "images"
    rc, text = run("make", "-C", str(ROOT), "--no-print-directory", "images", f"IMAGES={out}", "CMDLINE=log=info",
                   timeout=300)
    if rc != 0:
        raise RuntimeError(f"make images: {text}")
    return str(out / "keel.qcow2"), "make images"


def test_domain(readme_xml, name, serial, port):
    """The README's domain, changed only where a CI machine needs it."""
    ET.register_namespace("qemu", QEMU_NS)
    dom = ET.fromstring(readme_xml)
    dom.set("type", "qemu")
    dom.find("name").text = name
    dom.find("cpu").attrib = {"mode": "maximum", "check": "none"}
    devices = dom.find("devices")
    for iface in devices.findall("interface"):
        devices.remove(iface)
    for tag in ("serial", "console"):
        el = devices.find(tag)
        el.set("type", "file")
        el.insert(0, ET.Element("source", path=str(serial)))  # <source> before <target>
    cmdline = ET.SubElement(dom, f"{{{QEMU_NS}}}commandline")
    # A PCI slot of its own: libvirt numbers its devices from slot 2 up.
    for arg in ("-netdev", f"user,id=keelnet,hostfwd=tcp:127.0.0.1:{port}-:80",
                "-device", "virtio-net-pci,netdev=keelnet,addr=0x1f"):
        ET.SubElement(cmdline, f"{{{QEMU_NS}}}arg", value=arg)
    return ET.tostring(dom, encoding="unicode")


class Libvirtd:
    """A private libvirtd; `why` says what went wrong if it did not start."""

    def __init__(self, scratch):
        self.scratch = scratch
        self.uri = f"qemu:///system?socket={scratch}/sock/libvirt-sock"
        self.proc = None
        self.why = None

    def __enter__(self):
        for d in ("sock", "run", "lib", "cache", "log", "etc/qemu"):
            (self.scratch / d).mkdir(parents=True, exist_ok=True)
        (self.scratch / "etc/libvirtd.conf").write_text(LIBVIRTD_CONF.format(sock=self.scratch / "sock"))
        (self.scratch / "etc/qemu.conf").write_text(QEMU_CONF)
        missing = [t for t in ("libvirtd", "virsh", "unshare") if not shutil.which(t)]
        if missing:
            self.why = f"not installed: {' '.join(missing)}"
            return self
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", MOUNTS],
                                     env={**os.environ, "SCRATCH": str(self.scratch)},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.scratch / "libvirtd.log", "w"), start_new_session=True)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                self.why = f"libvirtd exited with status {self.proc.returncode}: {self.log_tail()}"
                return self
            if self.virsh("version", timeout=10)[0] == 0:
                return self
            time.sleep(0.3)
        self.why = f"libvirtd did not answer within 30 s: {self.log_tail()}"
        return self

    def log_tail(self):
        return " | ".join((self.scratch / "libvirtd.log").read_text(errors="replace").splitlines()[-3:])

    def virsh(self, *args, timeout=60):
        return run("virsh", "-c", self.uri, *args, timeout=timeout)

    def qemu_log(self, name):
        p = self.scratch / "log" / "qemu" / f"{name}.log"
        return p.read_text(errors="replace")[-600:] if p.exists() else ""

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def kill_stray_qemu(name):
    """A QEMU libvirt started for `name` and left running (libvirtd does
    not take its guests down with it): found by its -name guest=, killed by
    PID."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"qemu-system-x86_64") and f"guest={name},".encode() in b" ".join(args):
            os.kill(int(pid), signal.SIGKILL)


def register(case, report):
    @case
    def libvirt():
        scratch = OUT / f"libvirt.{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        readme_xml = readme_block("xml", "Deploying on libvirt")
        report("libvirt: the README has the domain XML", readme_xml is not None, "no ```xml block")
        if readme_xml is None:
            return
        rc, out = validate(readme_xml, scratch / "readme.xml")
        report("libvirt: the README's domain XML validates (virt-xml-validate)", rc == 0, out)
        name = f"keel-test-{os.getpid()}"
        with Libvirtd(scratch) as daemon:
            if daemon.why:
                # Said, not hidden: the XML was still checked above.
                print(f"SKIP qemu/libvirt: cannot run a libvirtd here ({daemon.why}); "
                      "only the XML was validated", flush=True)
                return
            try:
                boot(report, daemon, scratch, readme_xml, name)
            finally:
                daemon.virsh("destroy", name, timeout=30)
                daemon.virsh("undefine", name, timeout=30)
                kill_stray_qemu(name)
                for image in ("lib/images/keel.qcow2", "keel.qcow2", "keel.iso"):  # logs stay
                    (scratch / image).unlink(missing_ok=True)


def boot(report, daemon, scratch, readme_xml, name):
    # The image where the README puts it, as the daemon sees it: its
    # /var/lib/libvirt is scratch/lib.
    image, what = disk_image(scratch)
    (scratch / "lib/images").mkdir(parents=True, exist_ok=True)
    placed = scratch / "lib/images/keel.qcow2"
    try:
        os.link(image, placed)
    except OSError:
        shutil.copyfile(image, placed)
    cmd = readme_virt_install()
    report("libvirt: the README has a virt-install line", cmd is not None, "no virt-install line")
    if cmd:
        # Its domain, printed (not created) by the private daemon.
        rc, out = run(*cmd, "--connect", daemon.uri, "--print-xml", timeout=120)
        ok = rc == 0 and validate(out, scratch / "virt-install.xml")[0] == 0
        report("libvirt: the README's virt-install line makes a valid domain", ok, out[-600:])
    serial, port = scratch / "serial.log", free_port()
    dom = test_domain(readme_xml, name, serial, port)
    rc, out = validate(dom, scratch / "domain.xml")
    report("libvirt: the test's domain (type qemu, user networking) validates", rc == 0, out)
    rc, out = daemon.virsh("define", str(scratch / "domain.xml"))
    report("libvirt: virsh define", rc == 0, out)
    rc, out = daemon.virsh("start", name, timeout=120)
    report(f"libvirt: virsh start boots the qcow2 ({what})", rc == 0, out + daemon.qemu_log(name))
    if rc != 0:
        return
    body, end = "", time.monotonic() + 90
    while time.monotonic() < end and body != "ok\n":
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                body = resp.read().decode()
        except OSError as e:
            body = repr(e)
            time.sleep(0.5)
    serial_tail = serial.read_text(errors="replace")[-800:] if serial.exists() else "(no serial log)"
    report("libvirt: /healthz answers ok over HTTP", body == "ok\n", f"{body}\n{serial_tail}")
    rc, out = daemon.virsh("shutdown", name)
    state, end = "", time.monotonic() + 60
    while time.monotonic() < end and not state.startswith("shut off"):
        state = daemon.virsh("domstate", "--reason", name)[1]
        time.sleep(0.3)
    text = serial.read_text(errors="replace") if serial.exists() else ""
    report("libvirt: virsh shutdown (ACPI) powers it off cleanly",
           rc == 0 and state == "shut off (shutdown)" and
           re.search(r"^keel: shutdown: power button: shutting down(.*\n)*keel: acpi: entering S5", text, re.M)
           is not None, f"virsh: {out}; state: {state}; serial:\n{text[-800:]}")
