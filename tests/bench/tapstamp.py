#!/usr/bin/env python3
"""Run inside a bench namespace: timestamp every TCP segment with a payload
that crosses tap0, the host end of the guest's NIC, for `seconds`: prints
"ready" once the socket is bound, then one JSON line: {"turns":
[microseconds, ...], "segments": n, "drops": n}. A turn is the time from
a client's request (its first data segment since the guest last answered
on that connection) to the guest's first data segment that acknowledges
all of it: what the request spent inside QEMU (its tap backend, the NIC
model) and the guest, with the host's own stack and the client outside
it. The kernel stamps each frame as the tap hands it over
(SO_TIMESTAMPNS), so this process's own delays do not count; frames the
socket dropped (drops, PACKET_STATISTICS) make the turns unreliable.

usage: tapstamp.py SECONDS GUEST_IP"""
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35  # <asm-generic/socket.h>; also SCM_TIMESTAMPNS
SOL_PACKET, PACKET_STATISTICS = 263, 6  # <linux/if_packet.h>: struct tpacket_stats {packets, drops}


def segment(frame):
    """(source IP, source port, destination port, seq, ack, payload bytes)
    of an IPv4 TCP frame, else None."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00" or frame[14 + 9] != 6:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    total = struct.unpack(">H", ip[2:4])[0]
    tcp = ip[ihl:]
    if len(tcp) < 20:
        return None
    sport, dport, seq, ack = struct.unpack(">HHII", tcp[:12])
    return socket.inet_ntoa(ip[12:16]), sport, dport, seq, ack, total - ihl - (tcp[12] >> 4) * 4


def covers(ack, end):
    """Does `ack` acknowledge sequence number `end` (RFC 9293 §3.4)?"""
    return (ack - end) % 2**32 < 2**31


def main():
    seconds, guest_ip = float(sys.argv[1]), sys.argv[2]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind(("tap0", 0))
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
    s.settimeout(0.2)
    print("ready", flush=True)
    asked = {}  # client port -> [when its pending request crossed the tap, its end seq]
    turns, segments, end = [], 0, time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            frame, ancillary, _, _ = s.recvmsg(96, 64)
        except socket.timeout:
            continue
        seg = segment(frame)
        if not seg or seg[5] == 0:
            continue
        segments += 1
        stamp = next((struct.unpack("qq", data[:16]) for level, kind, data in ancillary
                      if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS), None)
        if stamp is None:
            continue
        t = stamp[0] + stamp[1] / 1e9
        src, sport, dport, seq, ack, n = seg
        if src != guest_ip:
            asked.setdefault(sport, [t, 0])[1] = (seq + n) % 2**32
        elif dport in asked and covers(ack, asked[dport][1]):
            turns.append(round((t - asked.pop(dport)[0]) * 1e6, 1))
    _, drops = struct.unpack("II", s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    print(json.dumps({"turns": turns, "segments": segments, "drops": drops}))


if __name__ == "__main__":
    main()
