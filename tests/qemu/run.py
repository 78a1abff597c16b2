#!/usr/bin/env python3
"""QEMU integration tests. Every case prints one line, "PASS qemu/<case>"
or "FAIL qemu/<case>: why", which tools/run-tests.sh counts. Timeouts bound
every boot; nothing here asserts on speed (timings go to `make bench`).

usage: tests/qemu/run.py [substring ...]   run only cases whose name matches
"""
import re
import sys

from guest import EXIT_PANIC, EXIT_TEST_FAILED, EXIT_TRAP, Guest

failed = 0
cases = []


def case(fn):
    cases.append(fn)
    return fn


def report(name, ok, why="", guest=None):
    global failed
    if ok:
        print(f"PASS qemu/{name}", flush=True)
        return
    failed += 1
    print(f"FAIL qemu/{name}: {why}", flush=True)
    if guest:
        print(f"    serial log {guest.log}:\n{guest.tail()}", flush=True)


RUNNING = r"^keel: sched: running"


@case
def boot_and_power_button():
    with Guest("boot", append="log=info") as g:
        up = g.wait_for(RUNNING, 60)
        report("boot: reaches the idle loop", up is not None, "no 'sched: running' line", g)
        if not up:
            return
        banner = re.search(r"^keel: kernel: Keel \S+ booted via pvh in ([\d.]+) ms since power-on; "
                           r"cmdline \"log=info\"", g.text(), re.M)
        report("boot: banner names version, loader, uptime and command line", banner is not None,
               "banner missing or malformed", g)
        for what, rx in (("memory found and used", r"^keel: mm: RAM \d+ KiB .* KiB free"),
                         ("page-table rights", r"^keel: mm: page tables: text .* RX, .* NX on"),
                         ("TSC calibration", r"^keel: clock: TSC \d+\.\d+ MHz"),
                         ("per-task memory cost", r"^keel: sched: .* KiB default stack \+ 4 KiB guard")):
            report(f"boot: log reports {what}", re.search(rx, g.text(), re.M) is not None, rx, g)
        g.monitor("system_powerdown")
        status = g.wait_exit(30)
        report("power button: QEMU exits 0", status == 0, f"exit status {status}", g)
        report("power button: shutdown logged, S5 entered",
               re.search(r"power button: shutting down.*\n(.*\n)*keel: acpi: entering S5", g.text()) is not None,
               "shutdown lines missing", g)


@case
def cmdline_rejects_bad_values():
    append = "port=0 log=loud ip=10.0.0.300/24 bogus=1 noequals port=8081"
    with Guest("cmdline", append=append) as g:
        up = g.wait_for(RUNNING, 60)
        text = g.text()
        report("cmdline: boots despite bad options", up is not None, "did not boot", g)
        for key in ("port", "log", "ip", "bogus", "noequals"):
            report(f"cmdline: warns about '{key}'", re.search(rf"^keel: cmdline: {key}: ", text, re.M) is not None,
                   f"no warning for {key}", g)


def ktest_suite(suite):
    with Guest(f"ktest-{suite}", image="keel-test.elf", append=f"test={suite} log=info") as g:
        status = g.wait_exit(240)
        lines = re.findall(rf"^keel: ktest: (PASS|FAIL) {suite}: (.*)$", g.text(), re.M)
        for verdict, name in lines:
            report(f"{suite}: {name}", verdict == "PASS", "in-kernel check failed", g)
        report(f"{suite}: suite completes and powers off", status == 0 and lines,
               f"exit status {status}, {len(lines)} cases reported", g)


for _suite in ("sched", "waitq", "heap"):
    def _run(s=_suite):
        ktest_suite(s)
    _run.__name__ = f"ktest_{_suite}"
    case(_run)


def crash_case(suite, want_status, patterns):
    with Guest(f"ktest-{suite}", image="keel-test.elf", append=f"test={suite}") as g:
        status = g.wait_exit(60)
        report(f"{suite}: machine stops with status {want_status}", status == want_status,
               f"exit status {status}", g)
        for what, rx in patterns:
            report(f"{suite}: report shows {what}", re.search(rx, g.text(), re.M) is not None, rx, g)


@case
def null_pointer_fault():
    crash_case("fault", EXIT_TRAP, [
        ("vector and error code", r"^keel: trap: page fault \(vector 14\) error 0x\w+ on cpu 0 in task ktest"),
        ("cr2 and a null-pointer diagnosis", r"not-present page on write of 0 \(null pointer\)"),
        ("registers", r"^keel: trap: rax [0-9a-f]{16} rbx"),
        ("a backtrace", r"^keel: trap:   #1 0xffffffff8"),
    ])


@case
def stack_overflow_hits_guard():
    crash_case("stack", EXIT_TRAP, [
        ("a double fault on the IST stack", r"^keel: trap: double fault \(vector 8\)"),
        ("the guard page diagnosis", r"^keel: trap: double fault: cr2 is a stack guard page: stack overflow"),
    ])


@case
def assert_reports_file_line():
    crash_case("assert", EXIT_PANIC, [
        ("file:line of the assertion", r"^keel: panic: tests/qemu/ktest\.c:\d+: assertion \"answer == 42\" failed"),
    ])


def main():
    only = sys.argv[1:]
    for fn in cases:
        if not only or any(o in fn.__name__ for o in only):
            try:
                fn()
            except Exception as e:  # a harness error is a failed case, not a crash of the run
                report(fn.__name__, False, f"harness error: {e!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
