#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""qmp.py - a small QMP (QEMU Machine Protocol) client for the guest tests.

    qmp.py SOCKET COMMAND [ARGS-JSON]    run one command, print its "return" as JSON
    qmp.py SOCKET --wait-migration [TIMEOUT]
        poll query-migrate until the migration completed (exit 0, prints the
        final query-migrate), failed or was cancelled (exit 1), or TIMEOUT
        seconds passed (exit 124)

An error reply prints QMP's class and description on stderr and exits 1.
Asynchronous events that arrive before the reply are skipped.  Every
socket operation has a timeout: a hung QEMU cannot hang the test.
"""
import json
import socket
import sys
import time


class QMP:
    def __init__(self, path, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        greeting = self._read()
        if "QMP" not in greeting:
            raise RuntimeError("not a QMP greeting: %r" % greeting)
        self.execute("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("QMP socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd, args=None):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "event" in r:
                continue
            if "error" in r:
                raise QMPError(cmd, r["error"])
            return r.get("return")


class QMPError(Exception):
    def __init__(self, cmd, err):
        super().__init__("%s: %s: %s" % (cmd, err.get("class"), err.get("desc")))


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    path, cmd = argv[1], argv[2]
    try:
        q = QMP(path)
        if cmd == "--wait-migration":
            deadline = time.monotonic() + float(argv[3] if len(argv) > 3 else 120)
            while True:
                r = q.execute("query-migrate")
                status = r.get("status")
                if status == "completed":
                    print(json.dumps(r))
                    return 0
                if status in ("failed", "cancelled"):
                    print(json.dumps(r))
                    return 1
                if time.monotonic() > deadline:
                    print(json.dumps(r))
                    return 124
                time.sleep(0.05)
        args = json.loads(argv[3]) if len(argv) > 3 else None
        print(json.dumps(q.execute(cmd, args)))
        return 0
    except (OSError, RuntimeError, ValueError, QMPError) as e:
        sys.stderr.write("qmp.py: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
