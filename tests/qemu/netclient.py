#!/usr/bin/env python3
"""Traffic for the guest's echo (port 7) and stats (port 9) services. Runs
inside the test's network namespace (netns.py); talks only to the guest.
Every socket has a timeout. Prints one JSON object; exits 0 on success.

  netclient.py stats
  netclient.py echo CLIENTS SMALL_BYTES LARGE_BYTES LARGE_CLIENTS
  netclient.py sequential COUNT
  netclient.py greet COUNT          server closes first (TIME_WAIT in the guest)
  netclient.py greet-reuse COUNT    reconnect from a port the guest holds in TIME-WAIT
  netclient.py concurrent COUNT     COUNT connections open at once, each echoes
"""
import hashlib
import json
import os
import socket
import sys
import threading
import time

GUEST = "10.0.2.15"
TIMEOUT = 60


def stats():
    with socket.create_connection((GUEST, 9), timeout=TIMEOUT) as s:
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return dict(kv.split("=", 1) for kv in data.decode().split())


def echo_one(size, seed, results, i):
    """Send `size` pseudo-random bytes while reading the echo concurrently
    (a full duplex stream must never deadlock); compare digests."""
    payload = hashlib.shake_256(seed.to_bytes(4, "little")).digest(size)
    got = hashlib.sha256()
    received = 0
    try:
        with socket.create_connection((GUEST, 7), timeout=TIMEOUT) as s:
            def send():
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
            t = threading.Thread(target=send)
            t.start()
            while chunk := s.recv(65536):
                got.update(chunk)
                received += len(chunk)
            t.join(TIMEOUT)
        ok = received == size and got.digest() == hashlib.sha256(payload).digest()
        results[i] = True if ok else f"client {i}: {received} of {size} bytes echoed" + \
            ("" if received != size else ", content differs")
    except OSError as e:
        results[i] = f"{type(e).__name__}: {e}"


def echo(clients, small, large, nlarge):
    results = [None] * clients
    start = time.monotonic()
    threads = [threading.Thread(target=echo_one, args=(large if i < nlarge else small, i, results, i))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 4)
    secs = time.monotonic() - start
    total = 2 * (nlarge * large + (clients - nlarge) * small)
    bad = [r for r in results if r is not True]
    return {"ok": not bad, "failed": len(bad), "errors": [str(b) for b in bad[:5]],
            "seconds": round(secs, 2), "MB_per_s": round(total / secs / 1e6, 2)}


def read_all(s):
    data = b""
    while chunk := s.recv(64):
        data += chunk
    return data


def one_by_one(count, port, exchange):
    """`count` connections in a row to `port`; exchange(sock, i) returns
    True if the connection behaved."""
    failed, errors = 0, []
    start = time.monotonic()
    for i in range(count):
        try:
            with socket.create_connection((GUEST, port), timeout=TIMEOUT) as s:
                failed += not exchange(s, i)
        except OSError as e:
            failed += 1
            if len(errors) < 5:
                errors.append(f"{i}: {e}")
    secs = time.monotonic() - start
    return {"ok": failed == 0, "failed": failed, "errors": errors, "seconds": round(secs, 2),
            "conns_per_s": round(count / secs, 1)}


def echo_once(s, i):
    """The client closes first (TIME-WAIT on the host side)."""
    msg = i.to_bytes(4, "little") * 8
    s.sendall(msg)
    s.shutdown(socket.SHUT_WR)
    return read_all(s) == msg


def sequential(count):
    return one_by_one(count, 7, echo_once)


def greet(count):
    return one_by_one(count, 13, lambda s, i: read_all(s) == b"keel\n")


def greet_reuse(count):
    """Reconnect from the same source port right after the guest closed
    first: the guest holds that 4-tuple in TIME-WAIT and must accept the
    newer SYN (RFC 6191) instead of stalling the client."""
    failed, errors = 0, []
    for i in range(count):
        port = 20000 + i  # below the ephemeral range: not in use by earlier tests
        for attempt in range(2):
            try:
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.settimeout(5)
                s.bind(("", port))
                s.connect((GUEST, 13))
                data = read_all(s)
                s.close()
                failed += data != b"keel\n"
                time.sleep(0.2)  # our side's LAST-ACK ends; the guest's TIME-WAIT stays
            except OSError as e:
                failed += 1
                if len(errors) < 5:
                    errors.append(f"port {port} attempt {attempt}: {e}")
    return {"ok": failed == 0, "failed": failed, "errors": errors}


def concurrent(count):
    """Open all connections first, then echo one message on each: the guest
    must hold `count` connections (and tasks) at once."""
    socks, errors = [], []
    for i in range(count):
        try:
            socks.append(socket.create_connection((GUEST, 7), timeout=TIMEOUT))
        except OSError as e:
            errors.append(f"connect {i}: {e}")
            break
    good = 0
    for i, s in enumerate(socks):
        msg = b"conn %d\n" % i
        try:
            s.sendall(msg)
            data = b""
            while len(data) < len(msg) and (chunk := s.recv(64)):
                data += chunk
            good += data == msg
        except OSError as e:
            if len(errors) < 5:
                errors.append(f"echo {i}: {e}")
    for s in socks:
        s.close()
    return {"ok": good == count, "served": good, "errors": errors}


def main():
    cmd, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    result = {"stats": lambda: {"ok": True, **stats()}, "echo": lambda: echo(*args),
              "sequential": lambda: sequential(*args), "greet": lambda: greet(*args),
              "concurrent": lambda: concurrent(*args), "greet-reuse": lambda: greet_reuse(*args)}[cmd]()
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
