"""A rolling restart behind haproxy with zero failed requests: `make
cluster`'s script (tools/cluster.sh) runs 3 instances with drain_delay=2;
wrk loads haproxy without pause while each instance in turn gets the ACPI
power button, drains (haproxy's /healthz check takes it out, its pooled
connections close after their request), powers off, is booted again by the
script's supervisor, and rejoins (haproxy's check green) before the next.

Passes when wrk saw no socket error and no non-2xx response, haproxy
needed no retry or redispatch for any request (its retry-on would hide a
failed drain: with drain_delay=0 the same roll still passes wrk, after
tens of retries), every instance drained and powered off cleanly (its
serial log) and came back, and each served requests after its restart
(haproxy's per-server totals).

Bounded: 150 s for the cluster to come up, 90 s per instance, wrk stopped
by PID once the roll is done (its -d is only a backstop); the script is
stopped by SIGTERM to its process group, and its namespace removed by name
if it could not do it itself.

run.py: `from cluster_tests import register; register(case, report)`.
"""
import csv
import io
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from guest import OUT, ROOT, free_port, hmp

N = 3
STARTED = re.compile(r"netns (keel-cluster-\d+) .*; state in (\S+)$", re.M)


def stats(port):
    """haproxy's per-server rows of backend keel: {name: row}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/;csv", timeout=5) as resp:
        text = resp.read().decode().lstrip("# ")
    return {r["svname"]: r for r in csv.DictReader(io.StringIO(text))
            if r["pxname"] == "keel" and r["svname"] != "BACKEND"}


def wait_until(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


class Cluster:
    def __init__(self):
        OUT.mkdir(parents=True, exist_ok=True)
        self.port, self.stats_port = free_port(), free_port()
        self.out = OUT / f"cluster.{os.getpid()}.out"
        self.proc = subprocess.Popen([str(ROOT / "tools/cluster.sh"), "-n", str(N), "-p", str(self.port),
                                      "-s", str(self.stats_port)], stdin=subprocess.DEVNULL,
                                     stdout=open(self.out, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        self.ns = self.dir = None

    def text(self):
        return self.out.read_text(errors="replace")

    def wait_ready(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None:
            m = STARTED.search(self.text())
            if m:
                self.ns, self.dir = m.group(1), m.group(2)
            if "keel: cluster: ready:" in self.text():
                return True
            time.sleep(0.2)
        return False

    def boot_logs(self, i):
        return sorted(Path(self.dir).glob(f"k{i}-boot*.log"), key=lambda p: int(re.search(r"boot(\d+)", p.name)[1]))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.ns:  # the script removes it; this only if it could not
            subprocess.run(["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL, timeout=30)


def register(case, report):
    @case
    def cluster_rolling_restart():
        with Cluster() as c:
            ready = c.wait_ready(150)
            report(f"cluster: {N} instances come up behind haproxy", ready, c.text()[-800:])
            if not ready:
                return
            wrk = subprocess.Popen(["wrk", "-t2", "-c8", "-d120s", "--timeout", "10s",
                                    f"http://127.0.0.1:{c.port}/"], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
            try:
                rolled = roll(report, c)
            finally:
                if wrk.poll() is None:
                    os.kill(wrk.pid, signal.SIGINT)  # wrk prints its summary and exits
                try:
                    out = wrk.communicate(timeout=30)[0]
                except subprocess.TimeoutExpired:
                    os.killpg(wrk.pid, signal.SIGKILL)
                    out = wrk.communicate()[0]
            if not rolled:
                return
            m = re.search(r"(\d+) requests in", out)
            report("cluster: wrk ran through the whole roll", m is not None and int(m[1]) > 0 and wrk.returncode == 0,
                   out)
            print(f"    wrk: {m[1] if m else '?'} requests during the rolling restart", flush=True)
            report("cluster: no socket error (connect, read, write, timeout)", "Socket errors" not in out, out)
            report("cluster: no non-2xx response", "Non-2xx" not in out, out)
            last = stats(c.stats_port)
            # haproxy's retries and redispatches are the production safety
            # net; with drain_delay 0 the same roll passes wrk only thanks to
            # them (tens of each). Here none may have been needed.
            counters = {k: {x: r[x] for x in ("econ", "eresp", "wretr", "wredis")} for k, r in last.items()}
            report("cluster: no request needed a retry or redispatch by haproxy, none failed at a server",
                   all(v == "0" for row in counters.values() for v in row.values()), str(counters))
            for i in range(1, N + 1):
                report(f"cluster: k{i} served requests after its restart",
                       int(last[f"k{i}"]["stot"]) > rolled[i], f"total {last[f'k{i}']['stot']}, at rejoin {rolled[i]}")


def roll(report, c):
    """Power button on each instance in turn; {i: haproxy's request total for
    it when it rejoined}, or None after a failure (reported)."""
    at_rejoin = {}
    time.sleep(2)  # the load is running
    for i in range(1, N + 1):
        name = f"k{i}"
        boots = len(c.boot_logs(i))
        downs = int(stats(c.stats_port)[name]["chkdown"])
        hmp(f"{c.dir}/{name}.mon", "system_powerdown")
        back = wait_until(lambda: len(c.boot_logs(i)) > boots, 90)

        def rejoined():
            now = stats(c.stats_port)[name]
            return now["status"] == "UP" and int(now["chkdown"]) > downs
        up = back and wait_until(rejoined, 90)
        old = c.boot_logs(i)[boots - 1].read_text(errors="replace")
        now = stats(c.stats_port)[name]
        report(f"cluster: {name} leaves rotation on its power button, boots again and rejoins", up,
               f"booted again: {back}, status now {now['status']}, times down {downs} -> {now['chkdown']}\n"
               f"{old[-600:]}")
        report(f"cluster: {name} drained, stopped and powered off cleanly",
               re.search(r"^keel: http: draining for 2 s.*\n(.*\n)*keel: http: stopped: 0 connections still open\n"
                         r"(.*\n)*keel: acpi: entering S5", old, re.M) is not None, old[-600:])
        if not up:
            return None
        at_rejoin[i] = int(stats(c.stats_port)[name]["stot"])
    time.sleep(3)  # the last one serves for a while too
    return at_rejoin
