#!/usr/bin/env python3
"""frames.py - craft, send and receive Ethernet frames on an interface with
raw AF_PACKET sockets, for the integration tests (test_tenant.sh).  Root
only; run it in the namespace of the interface (ip netns exec NS ...).

  frames.py send IFNAME KIND [options]    send --count frames of one kind
                                          (--src-count N: from N source MACs)
  frames.py recv IFNAME --ready FILE      one line per frame received
  frames.py flap NS_A NS_B IFNAME [opts]  one source MAC from two namespaces
  frames.py ll MAC                        the EUI-64 link-local address of MAC

Every frame sent carries a tag, b"VHSWT:" and 8 characters (--tag), where
its protocol leaves room: the payload of a raw frame, the padding after an
ARP packet, a nonce option of a neighbour solicitation or advertisement,
the sname field of a DHCP message, an option of a DHCPv6 message.

Kinds (send):
  raw       EtherType 0x88b5 (local experimental), payload: the tag
  arp       ARP --op request|reply, --sha --spa --tha --tpa
  ns        IPv6 neighbour solicitation for --target, option SLLA --lla
  na        IPv6 neighbour advertisement of --target, option TLLA --lla
  dhcp4     --msg offer (UDP 67 -> 68) or discover (68 -> 67)
  dhcp6     --msg advertise (UDP 547 -> 546) or solicit (546 -> 547)

recv prints, flushed, for every frame the interface receives (not the
ones it sends): "TAG SRC DST ETHERTYPE" (TAG "-" for an untagged frame),
and writes FILE once the socket is bound.  It runs until SIGTERM/SIGINT.

flap sends --count raw frames from the same source MAC alternately on
IFNAME in namespace NS_A and in namespace NS_B (/run/netns/NAME or a
path), --interval seconds apart: every frame after the first moves the
MAC from one port of the switch to the other.
"""
import argparse
import ctypes
import ipaddress
import os
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
ETH_P_TEST = 0x88B5
PACKET_OUTGOING = 4
TAG_MAGIC = b"VHSWT:"
TAG_LEN = 8
BCAST = "ff:ff:ff:ff:ff:ff"
CLONE_NEWNET = 0x40000000


def mac_bytes(s):
    b = bytes(int(x, 16) for x in s.split(":"))
    if len(b) != 6:
        raise ValueError(f"bad MAC {s!r}")
    return b


def mac_str(b):
    return ":".join(f"{x:02x}" for x in b)


def tag_bytes(tag):
    t = tag.encode()[:TAG_LEN]
    return TAG_MAGIC + t + b"_" * (TAG_LEN - len(t))


def eui64_link_local(mac):
    """fe80::/64 with the modified EUI-64 interface id of MAC."""
    m = mac_bytes(mac)
    iid = bytes([m[0] ^ 2, m[1], m[2], 0xFF, 0xFE, m[3], m[4], m[5]])
    return str(ipaddress.IPv6Address(b"\xfe\x80" + b"\0" * 6 + iid))


def ip6_multicast_mac(ip):
    a = ipaddress.IPv6Address(ip).packed
    return mac_str(b"\x33\x33" + a[12:])


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, src, etype, payload):
    frame = mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", etype) + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def ipv4(src, dst, proto, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64,
                      proto, 0, ipaddress.IPv4Address(src).packed,
                      ipaddress.IPv4Address(dst).packed)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, nh, payload, hlim=64):
    s = ipaddress.IPv6Address(src).packed
    d = ipaddress.IPv6Address(dst).packed
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, hlim) + s + d + payload


def l4_csum6(src, dst, nh, msg):
    pseudo = (ipaddress.IPv6Address(src).packed +
              ipaddress.IPv6Address(dst).packed +
              struct.pack("!IxxxB", len(msg), nh))
    return csum(pseudo + msg)


def udp4(src, dst, sport, dport, payload):
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return ipv4(src, dst, 17, u)


def udp6(src, dst, sport, dport, payload):
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = l4_csum6(src, dst, 17, u) or 0xFFFF
    return ipv6(src, dst, 17, u[:6] + struct.pack("!H", c) + u[8:])


def build(a):
    """The frame of kind a.kind from the options."""
    tag = tag_bytes(a.tag)
    if a.kind == "raw":
        return eth(a.dst, a.src, ETH_P_TEST, tag + b"\0" * max(0, a.size - 14 - len(tag)))
    if a.kind == "arp":
        op = {"request": 1, "reply": 2}[a.op]
        arp = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, op,
                          mac_bytes(a.sha or a.src),
                          ipaddress.IPv4Address(a.spa).packed,
                          mac_bytes(a.tha),
                          ipaddress.IPv4Address(a.tpa).packed)
        return eth(a.dst, a.src, ETH_P_ARP, arp + tag)
    if a.kind in ("ns", "na"):
        src6 = a.ip6_src or eui64_link_local(a.src)
        target = ipaddress.IPv6Address(a.target).packed
        lla = mac_bytes(a.lla or a.src)
        if a.kind == "ns":
            dst6 = a.ip6_dst or "ff02::1:ff00:0"
            if not a.ip6_dst:  # the solicited-node address of the target
                dst6 = str(ipaddress.IPv6Address(
                    b"\xff\x02" + b"\0" * 9 + b"\x01\xff" + target[13:]))
            body = struct.pack("!BBHI", 135, 0, 0, 0) + target + bytes([1, 1]) + lla
        else:
            dst6 = a.ip6_dst or "ff02::1"
            # Override, not solicited: an unsolicited advertisement.
            body = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + target + bytes([2, 1]) + lla
        body += bytes([14, 2]) + tag  # nonce option, 16 bytes: the tag
        c = l4_csum6(src6, dst6, 58, body)
        body = body[:2] + struct.pack("!H", c) + body[4:]
        dst = a.dst if a.dst != BCAST else ip6_multicast_mac(dst6)
        return eth(dst, a.src, ETH_P_IPV6, ipv6(src6, dst6, 58, body, hlim=255))
    if a.kind == "dhcp4":
        offer = a.msg == "offer"
        bootp = bytearray(240)
        bootp[0] = 2 if offer else 1          # op: BOOTREPLY / BOOTREQUEST
        bootp[1], bootp[2] = 1, 6             # htype, hlen
        bootp[4:8] = b"\x13\x13\x13\x13"      # xid
        if offer:
            bootp[16:20] = ipaddress.IPv4Address(a.tpa).packed  # yiaddr
        bootp[28:34] = mac_bytes(a.tha if offer else a.src)   # chaddr
        bootp[44:44 + len(tag)] = tag         # sname
        bootp[236:240] = b"\x63\x82\x53\x63"  # magic cookie
        bootp += bytes([53, 1, 2 if offer else 1, 255])
        if offer:
            ip = udp4(a.spa, "255.255.255.255", 67, 68, bytes(bootp))
        else:
            ip = udp4("0.0.0.0", "255.255.255.255", 68, 67, bytes(bootp))
        return eth(a.dst, a.src, ETH_P_IP, ip)
    if a.kind == "dhcp6":
        adv = a.msg == "advertise"
        src6 = a.ip6_src or eui64_link_local(a.src)
        dst6 = a.ip6_dst or ("ff02::1" if adv else "ff02::1:2")
        msg = bytes([2 if adv else 1]) + b"\x13\x13\x13"
        msg += struct.pack("!HH", 0xFF00, len(tag)) + tag  # a private option: the tag
        ip = udp6(src6, dst6, 547 if adv else 546, 546 if adv else 547, msg)
        dst = a.dst if a.dst != BCAST else ip6_multicast_mac(dst6)
        return eth(dst, a.src, ETH_P_IPV6, ip)
    raise ValueError(a.kind)


def open_socket(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((ifname, 0))
    return s


def send_all(sock, frame, count, interval):
    for i in range(count):
        while True:
            try:
                sock.send(frame)
                break
            except OSError as e:  # the qdisc is full: try again shortly
                if e.errno not in (105, 11):  # ENOBUFS, EAGAIN
                    raise
                time.sleep(0.001)
        if interval and i + 1 < count:
            time.sleep(interval)


def nth_mac(base, i):
    """base + i (the low 3 bytes)."""
    b = mac_bytes(base)
    low = (int.from_bytes(b[3:], "big") + i) & 0xFFFFFF
    return mac_str(b[:3] + low.to_bytes(3, "big"))


def cmd_send(a):
    frames = []
    for i in range(a.src_count):
        a.src = nth_mac(a.src_base, i)
        frames.append(build(a))
    sock = open_socket(a.ifname)
    t0 = time.monotonic()
    if len(frames) == 1:
        send_all(sock, frames[0], a.count, a.interval)
    else:  # one frame at a time, cycling through the sources
        for i in range(a.count):
            send_all(sock, frames[i % len(frames)], 1, 0)
            if a.interval and i + 1 < a.count:
                time.sleep(a.interval)
    if a.verbose:
        print(f"sent {a.count} frames in {time.monotonic() - t0:.4f} s",
              file=sys.stderr)


def frame_tag(f):
    i = f.find(TAG_MAGIC)
    if i < 0 or i + len(TAG_MAGIC) + TAG_LEN > len(f):
        return "-"
    t = f[i + len(TAG_MAGIC):i + len(TAG_MAGIC) + TAG_LEN].rstrip(b"_")
    return t.decode(errors="replace") or "-"


def cmd_recv(a):
    sock = open_socket(a.ifname)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sock.settimeout(0.2)
    with open(a.ready, "w") as r:
        r.write(f"{os.getpid()}\n")
    out = sys.stdout
    while not stop:
        try:
            f, addr = sock.recvfrom(65536)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        if addr[2] == PACKET_OUTGOING or len(f) < 14:
            continue
        out.write(f"{frame_tag(f)} {mac_str(f[6:12])} {mac_str(f[0:6])} "
                  f"{struct.unpack('!H', f[12:14])[0]:04x}\n")
        out.flush()


def setns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns {path}: {os.strerror(e)}")
    finally:
        os.close(fd)


def cmd_flap(a):
    socks = []
    for ns in (a.ns_a, a.ns_b):
        setns(ns if "/" in ns else f"/run/netns/{ns}")
        socks.append(open_socket(a.ifname))
    a.kind = "raw"
    frame = build(a)
    for i in range(a.count):
        send_all(socks[i % 2], frame, 1, 0)
        if i + 1 < a.count:
            time.sleep(a.interval)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def frame_opts(q):
        q.add_argument("--src", default="52:54:00:00:00:01", help="Ethernet source")
        q.add_argument("--dst", default=BCAST,
                       help="Ethernet destination (default broadcast; IPv6 kinds: "
                            "the multicast MAC of the IPv6 destination)")
        q.add_argument("--tag", default="x", help="up to 8 characters")
        q.add_argument("--count", type=int, default=1)
        q.add_argument("--interval", type=float, default=0, help="seconds between frames")
        q.add_argument("--size", type=int, default=60, help="raw: frame length")
        q.add_argument("-v", "--verbose", action="store_true")

    s = sub.add_parser("send")
    s.add_argument("ifname")
    s.add_argument("kind", choices=["raw", "arp", "ns", "na", "dhcp4", "dhcp6"])
    frame_opts(s)
    s.add_argument("--op", default="request", choices=["request", "reply"])
    s.add_argument("--sha", help="ARP sender MAC (default --src)")
    s.add_argument("--spa", default="0.0.0.0", help="ARP sender / DHCP server IPv4")
    s.add_argument("--tha", default="00:00:00:00:00:00", help="ARP target / DHCP client MAC")
    s.add_argument("--tpa", default="0.0.0.0", help="ARP target / offered IPv4")
    s.add_argument("--target", default="::", help="ND target address")
    s.add_argument("--lla", help="ND link-layer address option (default --src)")
    s.add_argument("--ip6-src", help="default: the EUI-64 link-local address of --src")
    s.add_argument("--ip6-dst")
    s.add_argument("--src-count", type=int, default=1,
                   help="cycle the source MAC over --src + 0..N-1 (the low 3 bytes)")
    s.add_argument("--msg", default="offer",
                   choices=["offer", "discover", "advertise", "solicit"])

    r = sub.add_parser("recv")
    r.add_argument("ifname")
    r.add_argument("--ready", required=True, help="written once listening")

    f = sub.add_parser("flap")
    f.add_argument("ns_a")
    f.add_argument("ns_b")
    f.add_argument("ifname")
    frame_opts(f)

    ll = sub.add_parser("ll")
    ll.add_argument("mac")

    a = p.parse_args()
    if a.cmd == "send":
        a.src_base = a.src
    if a.cmd == "ll":
        print(eui64_link_local(a.mac))
        return
    {"send": cmd_send, "recv": cmd_recv, "flap": cmd_flap}[a.cmd](a)


if __name__ == "__main__":
    main()
