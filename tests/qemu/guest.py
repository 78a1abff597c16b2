"""Boot a Keel image under QEMU (TCG) for a test: serial log to a file,
monitor on a UNIX socket, a hard timeout on everything, cleanup by PID."""
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
OUT = BUILD / "test" / "qemu"
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
# UEFI firmware (Debian's ovmf): QEMU runs it as its BIOS for uefi=True.
OVMF = "/usr/share/ovmf/OVMF.fd"

# machine_halt(code) exits QEMU through isa-debug-exit with (code << 1) | 1.
EXIT_TEST_FAILED, EXIT_PANIC, EXIT_TRAP = 3, 5, 7


def free_port():
    """A loopback TCP port free right now, for a QEMU port forward."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hmp(sock, command):
    """Send one HMP command to the QEMU monitor at UNIX socket `sock` once
    its prompt has appeared (a command sent before it can be dropped)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        for _ in range(100):
            try:
                s.connect(str(sock))
                break
            except OSError:
                time.sleep(0.05)
        seen = b""
        while b"(qemu)" not in seen:
            chunk = s.recv(4096)
            if not chunk:
                return
            seen += chunk
        s.sendall(command.encode() + b"\n")
        time.sleep(0.2)


class Guest:
    def __init__(self, name, image="keel.elf", append="", mem="128M", extra=(), netns=None, iso=None,
                 disk=None, uefi=False, cpu="max", nic=None):
        OUT.mkdir(parents=True, exist_ok=True)
        self.name = name
        # The PID keeps two concurrent test runs from sharing a log or a
        # monitor (a power button pressed on the wrong guest).
        self.log = OUT / f"{name}.{os.getpid()}.log"
        self.sock = OUT / f"{name}.{os.getpid()}.mon"
        for p in (self.log, self.sock):
            p.unlink(missing_ok=True)
        # cpu: "max" has RDRAND and AES-NI under TCG; a case may take features away.
        # iso or disk (raw, or qcow2 by its name) boot through their own
        # loader, under SeaBIOS or (uefi) OVMF; else QEMU loads the kernel.
        if iso:
            boot = ["-cdrom", str(iso)]
        elif disk:
            fmt = "qcow2" if str(disk).endswith(".qcow2") else "raw"
            boot = ["-drive", f"file={disk},format={fmt},snapshot=on"]  # the image file is never written
        else:
            boot = ["-kernel", str(BUILD / image), "-append", append]
        cmd = [QEMU, "-accel", "tcg", "-cpu", cpu, "-m", mem, "-display", "none",
               "-no-reboot", "-serial", f"file:{self.log}",
               "-monitor", f"unix:{self.sock},server,nowait",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
               *(["-bios", OVMF] if uefi else []), *boot, *extra]
        if "-netdev" not in extra:
            # Without a -netdev of the case's own: kernel tests stay off
            # the network; the appliance, which powers off without a NIC,
            # gets QEMU user networking. nic="none" takes it away.
            cmd += ["-nic", nic or ("none" if image == "keel-test.elf" else "user,model=virtio-net-pci")]
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(OUT / f"{name}.{os.getpid()}.stderr", "w"), start_new_session=True)

    def text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def lines(self):
        """The serial log up to its last newline: a line the guest is still
        writing is not matched half-written ("keel: random: seeded" of
        "keel: random: seeded from virtio-rng+tsc")."""
        text = self.text()
        return text[:text.rfind("\n") + 1]

    def wait_for(self, pattern, timeout=60):
        """Wait until a whole line of the serial log matches pattern; the
        match, or None on timeout or if QEMU exits first."""
        rx = re.compile(pattern, re.M)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = rx.search(self.lines())
            if m:
                return m
            if self.proc.poll() is not None:
                return rx.search(self.text())
            time.sleep(0.02)
        return None

    def wait_lines(self, pattern, n, timeout=10):
        """Whole lines matching pattern once there are at least n of them
        (the log task writes lines a few ms after the event), or those
        there are when timeout runs out or QEMU exits."""
        rx = re.compile(pattern, re.M)
        end = time.monotonic() + timeout
        while True:
            found = [m.group(0) for m in rx.finditer(self.lines())]
            if len(found) >= n or time.monotonic() >= end or self.proc.poll() is not None:
                return found
            time.sleep(0.02)

    def monitor(self, command):
        """Send one HMP command once the monitor's prompt has appeared."""
        hmp(self.sock, command)

    def wait_exit(self, timeout=60):
        """QEMU's exit status, or None if it had to be killed."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.sock.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def tail(self, n=15):
        return "\n".join("    | " + l for l in self.text().splitlines()[-n:])
