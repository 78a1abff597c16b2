#!/usr/bin/env python3
"""Hold idle keep-alive connections to a bench guest; run inside its
network namespace by measure.py.

    idle.py HOST SECONDS [--tls]

--tls: HTTPS on port 443 instead of HTTP on 80; each connection makes a
full TLS 1.2 handshake (no session is offered) before its GET, and the
certificate is not checked.

Reads commands on stdin, answers each with one JSON line:

    hold N   open connections (a few threads at a time) until N are held,
             each having sent one `GET /` and read the whole 200 response:
             {"held": N, "stopped": why-or-null}. It stops early when the
             server refuses (connect error or timeout, a non-200,
             `Connection: close`) or SECONDS have passed since the first
             hold; a server that stopped accepting then gets one connection
             back, so the harness can still ask it for its memory.
    check    {"still_open": N}: held connections the server has not closed

EOF closes them all and exits.
"""
import json
import resource
import selectors
import socket
import ssl
import sys
import threading
import time

WORKERS = 8
TIMEOUT = 10


class Refused(Exception):
    pass


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def open_one(host, ctx):
    """One connection that has done a keep-alive GET / (over TLS when ctx
    is an SSLContext)."""
    s = socket.create_connection((host, 443 if ctx else 80), timeout=TIMEOUT)
    try:
        if ctx:
            s = ctx.wrap_socket(s)
        s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise Refused("closed before a response")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip().lower() for k, _, v in (h.partition(":") for h in lines[1:])}
        if lines[0].split()[1] != "200":
            raise Refused(lines[0])
        if headers.get("connection") == "close":
            raise Refused("Connection: close")
        remaining = int(headers.get("content-length", 0)) - len(body)
        while remaining > 0:
            chunk = s.recv(min(remaining, 65536))
            if not chunk:
                raise Refused("closed mid-body")
            remaining -= len(chunk)
        return s
    except BaseException:
        s.close()
        raise


def hold(host, ctx, held, target, deadline):
    """Add connections to `held` until it has `target`; why it stopped
    short, or None."""
    stop, lock = [], threading.Lock()
    claimed = len(held)

    def worker():
        nonlocal claimed
        while not stop:
            with lock:
                if claimed >= target:
                    return
                claimed += 1
            try:
                if time.monotonic() > deadline:
                    raise Refused("time allowed for opening passed")
                s = open_one(host, ctx)
            except (OSError, Refused, ValueError, IndexError) as e:  # ssl.SSLError is an OSError
                with lock:
                    claimed -= 1
                    stop.append(f"{type(e).__name__}: {e}")
                return
            with lock:
                held.append(s)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stop[0] if stop else None


def still_open(conns):
    """How many the server has not closed: an idle server sends nothing, so
    a readable socket has seen FIN or RST."""
    sel = selectors.DefaultSelector()
    for s in conns:
        sel.register(s, selectors.EVENT_READ)
    closed = len(sel.select(timeout=0))
    sel.close()
    return len(conns) - closed


def answer(obj):
    print(json.dumps(obj), flush=True)


def main():
    host, seconds = sys.argv[1], float(sys.argv[2])
    ctx = tls_context() if "--tls" in sys.argv[3:] else None
    # Every descriptor the hard limit allows; past it a failed socket()
    # stops the run like a refusal.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held, deadline = [], None
    for line in sys.stdin:
        cmd, *arg = line.split()
        if cmd == "hold":
            deadline = deadline or time.monotonic() + seconds
            why = hold(host, ctx, held, int(arg[0]), deadline)
            if why and held:
                held.pop().close()
            answer({"held": len(held), "stopped": why})
        elif cmd == "check":
            answer({"still_open": still_open(held)})


if __name__ == "__main__":
    main()
