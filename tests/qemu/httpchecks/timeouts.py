"""timeouts: the appliance booted with read_header_timeout=2
idle_timeout=3 read_timeout=3 handler_timeout=3 write_timeout=3.
Slowloris, an idle and a silent connection, a stalled body, a client that
never reads (slow read) and a handler that never returns are cut off in
time while another client is served normally. The cases run concurrently
(together they take about as long as the slowest), so timeouts() runs them
and returns the results itself instead of registering @check functions.
"""
import select
import socket
import threading
import time

from .client import ARGS, GUEST, PORT, Closed, Conn, get, metrics, open_conns, request, short


SLOW_READ_BYTES = 100 << 20


def timeouts():
    rht, idle, rt, ht, wt = (float(ARGS[k]) for k in ("read_header_timeout", "idle_timeout", "read_timeout",
                                                        "handler_timeout", "write_timeout"))
    slack = 4.0
    out = {}

    def slowloris():
        """One header byte per second: cut off after read_header_timeout,
        maybe with a 408; never served."""
        msg = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 30
        c = Conn()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.monotonic()
        got = b""
        for b in msg:
            if time.monotonic() - t0 > rht + slack + 1:
                break
            try:
                c.send(bytes([b]))
            except OSError:
                break
            r, _, _ = select.select([c.sock], [], [], 1.0)
            if r:
                closed, extra = c.wait_closed(slack)
                got += extra
                break
        closed, extra = c.wait_closed(0.5)
        got += extra
        secs = time.monotonic() - t0
        c.close()
        if not closed:
            return f"still open after {secs:.1f} s"
        if got and not got.startswith(b"HTTP/1.1 408 "):
            return f"got {short(got)} (want nothing or a 408)"
        if secs > rht + slack:
            return f"closed only after {secs:.1f} s (read_header_timeout {rht:g} s)"
        return None

    def bystander():
        """Served normally, on fresh connections, while the slowloris runs."""
        time.sleep(0.5)
        for i in range(4):
            t0 = time.monotonic()
            r = get("/healthz", timeout=5)
            if r.status != 200:
                return f"request {i + 1}: {r!r}"
            if time.monotonic() - t0 > 2:
                return f"request {i + 1} took {time.monotonic() - t0:.1f} s"
            time.sleep(0.5)
        return None

    def idler():
        """Keep-alive: usable while idle below idle_timeout, closed after it."""
        with Conn() as c:
            c.send(request("GET", "/healthz"))
            c.read_response()
            time.sleep(min(1.0, idle / 3))
            c.send(request("GET", "/healthz"))
            r = c.read_response()
            if r.status != 200:
                return f"second request after a short idle: {r!r}"
            t0 = time.monotonic()
            closed, extra = c.wait_closed(idle + slack)
            secs = time.monotonic() - t0
            if not closed:
                return f"idle connection still open after {secs:.1f} s (idle_timeout {idle:g} s)"
            if extra:
                return f"bytes on the idle connection: {short(extra)}"
            if secs < idle - 1:
                return f"closed after {secs:.1f} s idle, before idle_timeout {idle:g} s"
        return None

    def silent():
        """A connection that never sends a byte does not stay forever."""
        with Conn() as c:
            t0 = time.monotonic()
            closed, extra = c.wait_closed(rht + idle + slack)
            if not closed:
                return f"silent connection still open after {time.monotonic() - t0:.1f} s"
            if extra and not extra.startswith(b"HTTP/1.1 408 "):
                return f"got {short(extra)}"
        return None

    def stalled_body():
        """A body that stops arriving is cut off: 408 (the client's delay,
        not a 5xx), then the connection closes."""
        with Conn() as c:
            c.send(request("POST", "/echo", ["Content-Length: 100"]) + b"0123456789")
            t0 = time.monotonic()
            c.sock.settimeout(rt + slack)
            try:
                r = c.read_response("POST")
                if r.status != 408:
                    return f"got {r!r} for a stalled body, want 408"
            except Closed:
                return "closed without a 408"
            except socket.timeout:
                return f"no response and no close within {rt + slack:g} s (read_timeout {rt:g} s)"
            closed, _ = c.wait_closed(slack)
            if not closed:
                return f"connection still open {time.monotonic() - t0:.1f} s after the body stalled"
        return None

    def slow_reader():
        """Asks for 100 MiB and never reads it, with a tiny receive
        window: the server's writes park on a full send buffer.
        Once handler_timeout + write_timeout have passed, the server must
        have dropped the connection instead of parking forever (the "slow
        read" attack): /metrics no longer counts it, the stream is cut
        short, and the connection ends (FIN or RST; if lwIP's RST went out
        while our window was shut, the next byte we send draws one)."""
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # before connect: a small window
        s.settimeout(5)

        def drain(seconds):
            data, end = b"", time.monotonic() + seconds
            s.settimeout(0.25)
            while time.monotonic() < end:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    return data, "reset"
                if not chunk:
                    return data, "closed"
                data += chunk
            return data, None
        try:
            s.connect((GUEST, PORT))
            s.sendall(request("GET", f"/bytes/{SLOW_READ_BYTES}"))
            time.sleep(ht + wt + 3)
            n = open_conns()
            data, end = drain(4)
            if not end:
                try:
                    s.send(b"x")
                    more, end = drain(2)
                    data += more
                except OSError:
                    end = "reset"
        finally:
            s.close()
        if n > 1:
            return (f"{ht + wt + 3:g} s after the request the server still holds {n - 1} other connection(s) "
                    f"(handler_timeout {ht:g} s + write_timeout {wt:g} s)")
        if len(data) >= SLOW_READ_BYTES:
            return "the whole body was delivered: the test did not make the server wait"
        if not end:
            return f"connection neither closed nor reset ({len(data)} bytes drained)"
        return None

    def blocked_handler():
        """A handler asleep past handler_timeout is woken and answered 503
        with a body and Connection: close, long before it would wake by
        itself; its late output never reaches the client; /metrics counts it."""
        key = "keel_http_handler_timeouts_total"
        before = metrics()[1].get(key, 0)
        t0 = time.monotonic()
        with Conn(timeout=ht + slack + 2) as c:
            c.send(request("GET", "/debug/sleep?ms=30000"))
            r = c.read_response()
            secs = time.monotonic() - t0
            if r.status != 503 or b"handler timed out" not in r.body:
                return f"got {r!r}, want 503 'handler timed out'"
            if "close" not in r.tokens("Connection"):
                return "503 after a handler timeout without Connection: close"
            if secs > ht + slack:
                return f"503 only after {secs:.1f} s (handler_timeout {ht:g} s): the handler was not interrupted"
            closed, extra = c.wait_closed(slack)
            if not closed or extra:
                return f"after the 503: closed={closed}, extra bytes {short(extra)} (the late reply leaked)"
        if metrics()[1].get(key, 0) <= before:
            return f"{key} did not go up"
        r = get("/debug/sleep?ms=50")
        return None if r.status == 200 and r.body == b"slept 50 ms\n" else f"a short sleep got {r!r}"

    tasks = {
        "handler": ("a handler blocked past handler_timeout is interrupted: 503 with a body, connection closed, "
                    "late output dropped", blocked_handler),
        "slow_reader": ("a client that never reads its response is dropped after handler_timeout + write_timeout "
                        "(slow read)", slow_reader),
        "slowloris": ("slowloris (one header byte per second) is cut off after read_header_timeout, "
                      "no 2xx (RFC 9110 §15.5.9)", slowloris),
        "bystander": ("another client is served normally while the slowloris runs", bystander),
        "idle": ("idle keep-alive connection works below idle_timeout and is closed after it (RFC 9112 §9.8)", idler),
        "silent": ("a connection that never sends a byte is closed", silent),
        "stalled": ("a stalled request body is cut off after read_timeout with 408 (RFC 9110 §15.5.9)",
                    stalled_body),
    }

    def runner(key, fn):
        try:
            out[key] = fn()
        except Exception as e:
            out[key] = f"{type(e).__name__}: {e}"

    threads = [threading.Thread(target=runner, args=(k, fn)) for k, (_, fn) in tasks.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return [{"name": name, "ok": k in out and out[k] is None, "why": out.get(k, "did not finish in time") or ""}
            for k, (name, _) in tasks.items()]
