"""A private network namespace with a tap device for one guest: the host
side is 10.0.2.2/24 on tap0 inside the namespace, the guest is 10.0.2.15.
Test traffic never leaves the namespace. Removed (with its tap) on exit."""
import os
import subprocess
from pathlib import Path

HOST_IP, GUEST_IP = "10.0.2.2", "10.0.2.15"
GUEST_APPEND = f"ip={GUEST_IP}/24 gw={HOST_IP}"
CLIENT = Path(__file__).with_name("netclient.py")


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)


class Netns:
    def __init__(self, tag):
        self.name = f"keel-{tag}-{os.getpid()}"

    def __enter__(self):
        sh("ip", "netns", "add", self.name)
        try:
            for cmd in (("ip", "link", "set", "lo", "up"),
                        ("ip", "tuntap", "add", "dev", "tap0", "mode", "tap"),
                        ("ip", "addr", "add", f"{HOST_IP}/24", "dev", "tap0"),
                        # no IPv6 chatter from the host: the packet counters must match
                        ("sysctl", "-qw", "net.ipv6.conf.tap0.disable_ipv6=1"),
                        ("ip", "link", "set", "tap0", "up")):
                sh("ip", "netns", "exec", self.name, *cmd)
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL, timeout=30)

    def qemu_net(self, nic):
        """QEMU arguments attaching the guest to tap0 with the given NIC."""
        device = {"virtio": "virtio-net-pci,disable-legacy=on", "e1000": "e1000",
                  "virtio-mmio": "virtio-net-device"}[nic]
        return ["-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
                "-device", f"{device},netdev=n0"]

    def run(self, *args, timeout=300):
        """Run a command inside the namespace; (exit status, stdout)."""
        try:
            p = subprocess.run(["ip", "netns", "exec", self.name, *args], capture_output=True, text=True,
                               timeout=timeout)
            return p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            return None, f"timed out after {timeout} s"

    def tap_counters(self):
        """(packets the host received from the guest, packets it sent)."""
        base = "/sys/class/net/tap0/statistics/"
        _, out = self.run("cat", base + "rx_packets", base + "tx_packets")
        rx, tx = out.split()
        return int(rx), int(tx)

    def client(self, *args, timeout=300):
        return self.run("python3", str(CLIENT), *args, timeout=timeout)
