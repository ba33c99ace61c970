#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Send one QMP command to a QEMU and print its answer.

Usage:
    qmp.py SOCKET COMMAND [ARGUMENTS-JSON]

Connects to the QMP server on the unix socket SOCKET, leaves capability
negotiation mode, sends COMMAND with the given arguments and prints the
"return" member of the answer as one line of JSON.  Events that arrive
first are skipped.  Exit status 0 on a "return", 1 on an "error" (its
class and description on stderr), 2 on a usage or connection error.
"""

import json
import socket
import sys


def answer(f):
    """The next line that is not an event, decoded."""
    while True:
        line = f.readline()
        if not line:
            raise EOFError("QEMU closed the QMP connection")
        msg = json.loads(line)
        if "event" not in msg:
            return msg


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cmd = {"execute": sys.argv[2]}
    if len(sys.argv) == 4:
        cmd["arguments"] = json.loads(sys.argv[3])
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(sys.argv[1])
        f = s.makefile("rw")
        answer(f)                      # the greeting
        f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
        f.flush()
        answer(f)
        f.write(json.dumps(cmd) + "\n")
        f.flush()
        msg = answer(f)
    except (OSError, EOFError, ValueError) as e:
        print("qmp.py: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 2
    if "error" in msg:
        err = msg["error"]
        print("qmp.py: %s: %s" % (err.get("class"), err.get("desc")),
              file=sys.stderr)
        return 1
    print(json.dumps(msg.get("return")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
