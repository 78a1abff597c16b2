"""Check the TCP checksums of the frames the guest sends, as they leave
QEMU on tap0 (run inside the test's namespace):

  csumcap.py full      every TCP segment from the guest has a valid
                       checksum (RFC 9293 §3.1)
  csumcap.py partial   every one carries, instead, the uncomplemented
                       pseudo-header sum that virtio's NEEDS_CSUM asks of
                       the driver (virtio 1.1 §5.1.6.2): the host kernel
                       trusts such frames, so only this shows a wrong one

It captures on tap0 (AF_PACKET) while fetching /bytes/262144 from the
guest, then prints "ok N" (N segments checked) or the first bad one."""
import socket
import struct
import sys

GUEST_IP = "10.0.2.15"
ETH_P_ALL = 3


def fold(s):
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def sum16(b):
    if len(b) % 2:
        b += b"\0"
    return sum(struct.unpack(f"!{len(b) // 2}H", b))


def check(frame, mode):
    """None if the frame is not a TCP/IPv4 segment from the guest, else
    (ok, detail)."""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ip = frame[14:]
    if socket.inet_ntoa(ip[12:16]) != GUEST_IP:
        return None
    ihl, total = (ip[0] & 0xf) * 4, struct.unpack("!H", ip[2:4])[0]
    seg = ip[ihl:total]
    pseudo = sum16(ip[12:20]) + 6 + len(seg)
    field = struct.unpack("!H", seg[16:18])[0]
    if mode == "partial":
        ok = field == fold(pseudo)
    else:
        ok = fold(pseudo + sum16(seg)) == 0xffff
    return ok, f"{len(seg)}-byte segment, checksum field {field:#06x}, pseudo-header sum {fold(pseudo):#06x}"


def main():
    mode = sys.argv[1]
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    cap.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    cap.bind(("tap0", 0))
    with socket.create_connection((GUEST_IP, 80), timeout=20) as s:
        s.sendall(b"GET /bytes/262144 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        while s.recv(65536):
            pass
    cap.settimeout(0.5)
    checked = 0
    try:
        while True:
            r = check(cap.recv(65536), mode)
            if r is None:
                continue
            if not r[0]:
                print(f"bad: {r[1]}")
                return 1
            checked += 1
    except socket.timeout:
        pass
    print(f"ok {checked}" if checked else "no TCP segments from the guest captured")
    return 0 if checked else 1


sys.exit(main())
