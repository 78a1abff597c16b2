"""The machines and sizes Keel runs on: QEMU pc, q35 and microvm, 4 MiB
to 16 GiB, several vCPUs; and the clear power-off when something it needs
is missing (registered from run.py)."""
import re
import urllib.request

from guest import Guest, free_port

RUNNING = r"^keel: sched: running"
LISTENING = r"^keel: http: listening on"
CLOCK = r"^keel: clock: TSC (\d+)\.\d+ MHz, APIC timer \d+ kHz \(against (.*?)\), RTC"


def user_net(port, model="virtio-net-pci"):
    return ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80", "-device", f"{model},netdev=n0"]


def healthz(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=20) as resp:
            return resp.read().decode()
    except OSError as e:
        return repr(e)


def host_mhz():
    """The host's CPU clock from /proc/cpuinfo: TCG's TSC follows it."""
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", f.read(), re.M)
    return float(m.group(1)) if m else None


def clock_plausible(g, reference):
    """The clock line names the reference and a TSC within 0.5x-2x of the
    host's clock (emulated: a wide factor, not a timing threshold)."""
    m = re.search(CLOCK, g.text(), re.M)
    mhz = host_mhz()
    ok = m is not None and m.group(2) == reference and mhz is not None and 0.5 * mhz <= int(m.group(1)) <= 2 * mhz
    return ok, f"{m.group(0) if m else 'no clock line'}; host {mhz} MHz"


def register(case, report):
    @case
    def microvm_power_button():
        """microvm: hardware-reduced ACPI. The idle test image (no NIC
        needed) shows the clock reference, the vCPUs and the GED, then the
        power button through the GED ends in S5 and QEMU exits 0."""
        with Guest("microvm-button", image="keel-test.elf", extra=["-M", "microvm", "-smp", "4"]) as g:
            up = g.wait_for(RUNNING, 60)
            report("microvm: boots to the idle loop", up is not None, "no 'sched: running' line", g)
            if not up:
                return
            ok, why = clock_plausible(g, "PIT channel 0 count")
            report("microvm: TSC calibrated against PIT channel 0, near the host's clock", ok, why, g)
            report("microvm: -smp 4 says 3 vCPUs stay parked",
                   re.search(r"^keel: acpi: 4 vCPUs present; Keel runs on the boot CPU, 3 stay parked "
                             r"\(never started\)$", g.lines(), re.M) is not None, "no vCPU line", g)
            report("microvm: Generic Event Device found in the DSDT and armed",
                   re.search(r"^keel: acpi: Generic Event Device: GSI 9 edge/high, event selector at 0xfea00000$"
                             r"(.*\n)*keel: acpi: power button armed: Generic Event Device GSI 9",
                             g.lines(), re.M) is not None, "no GED lines", g)
            g.monitor("system_powerdown")
            status = g.wait_exit(30)
            report("microvm: power button: QEMU exits 0", status == 0, f"exit status {status}", g)
            report("microvm: power button: shutdown logged, S5 through the sleep control register",
                   re.search(r"power button: shutting down.*\n(.*\n)*keel: acpi: entering S5: SLP_TYPa 5 through "
                             r"the sleep control register", g.text()) is not None, "shutdown lines missing", g)

    @case
    def microvm_without_nic():
        """The appliance without a NIC says what is missing and powers off."""
        with Guest("microvm-nonic", extra=["-M", "microvm"], nic="none") as g:
            status = g.wait_exit(60)
            report("no NIC: one line names what is missing and how to add it",
                   re.search(r"^keel: shutdown: cannot run: no usable NIC: give the machine a virtio-net or e1000 "
                             r"device \(QEMU: -nic user,model=virtio-net-pci; on microvm -device virtio-net-device\); "
                             r"powering off$", g.text(), re.M)
                   is not None, "no such line", g)
            report("no NIC: microvm powers off through S5, QEMU exits 0",
                   status == 0 and "keel: acpi: entering S5" in g.text(), f"exit status {status}", g)

    @case
    def pc_memory_sizes():
        """pc at the smallest size and at 16 GiB serves /healthz; below the
        minimum it says so and powers off."""
        for mem in ("4M", "8M", "16G"):
            port = free_port()
            with Guest(f"pc-{mem}", mem=mem, extra=user_net(port)) as g:
                up = g.wait_for(LISTENING, 90)
                body = healthz(port) if up else "no listening line"
                report(f"pc -m {mem}: serves /healthz", body == "ok\n", body, g)
                if mem == "8M":
                    ok, why = clock_plausible(g, "PIT channel 0 count")
                    report("pc: TSC calibrated against PIT channel 0, near the host's clock", ok, why, g)
        with Guest("pc-3M", mem="3M") as g:
            status = g.wait_exit(60)
            report("pc -m 3M: too little memory is named, with the size to give",
                   re.search(r"^keel: shutdown: cannot run: too little memory: \d+ KiB free after the kernel, "
                             r"2048 KiB needed \(QEMU: -m 4M or more\); powering off$", g.text(), re.M)
                   is not None, "no such line", g)
            report("pc -m 3M: powers off through S5, QEMU exits 0", status == 0, f"exit status {status}", g)

    @case
    def q35_e1000():
        port = free_port()
        with Guest("q35-e1000", extra=["-M", "q35", *user_net(port, "e1000")]) as g:
            up = g.wait_for(LISTENING, 90)
            body = healthz(port) if up else "no listening line"
            report("q35 with e1000: serves /healthz", body == "ok\n", body, g)
            g.monitor("system_powerdown")
            status = g.wait_exit(30)
            report("q35: power button: QEMU exits 0 after S5",
                   status == 0 and "keel: acpi: entering S5" in g.text(), f"exit status {status}", g)
