#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Minimal client of the "vdpa" generic-netlink family, standard library only.

It sends what iproute2 6.1's `vdpa` cannot (VDPA_ATTR_DEV_FEATURES, malformed
or unknown attributes) and prints the kernel's answer in one line:

    ok
    error EINVAL: <extack message, empty if none>

Exit status 0 when the request went through netlink (whatever the answer),
2 on a usage or local error.

Usage:
    vdpa_nl.py dev-new NAME MGMTDEV [--features HEX] [--mac MAC] [--mtu N]
                       [--max-vqp N] [--raw TYPE:HEXBYTES]...
    vdpa_nl.py dev-del NAME
    vdpa_nl.py dev-new-many PREFIX MGMTDEV N [--mac-base AA:BB:CC:DD]
                                     add PREFIX0..PREFIX<N-1> on one socket
                                     (what `vdpa dev add` N times would do,
                                     without N program starts); prints
                                     "ok SECONDS", or the first error;
                                     with --mac-base, device i gets the MAC
                                     AA:BB:CC:DD:<i / 256>:<i % 256>
    vdpa_nl.py dev-del-many PREFIX N the same for deleting them
    vdpa_nl.py uevents SECONDS       print kernel uevents (one per line, the
                                     fields joined by '|') for SECONDS
"""

import errno
import socket
import struct
import sys
import time

NETLINK_GENERIC = 16
NETLINK_KOBJECT_UEVENT = 15
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11

NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSGERR_ATTR_MSG = 1

GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2

VDPA_CMD_DEV_NEW = 3
VDPA_CMD_DEV_DEL = 4
VDPA_ATTR_MGMTDEV_DEV_NAME = 2
VDPA_ATTR_DEV_NAME = 4
VDPA_ATTR_DEV_NET_CFG_MACADDR = 10
VDPA_ATTR_DEV_NET_CFG_MAX_VQP = 12
VDPA_ATTR_DEV_NET_CFG_MTU = 13
VDPA_ATTR_DEV_FEATURES = 20


def attr(atype, payload):
    hdr = struct.pack("=HH", 4 + len(payload), atype)
    pad = b"\0" * ((4 - len(payload) % 4) % 4)
    return hdr + payload + pad


def strz(s):
    return s.encode() + b"\0"


def parse_attrs(buf):
    out = {}
    while len(buf) >= 4:
        alen, atype = struct.unpack_from("=HH", buf)
        if alen < 4:
            break
        out[atype & 0x3fff] = buf[4:alen]
        buf = buf[(alen + 3) & ~3:]
    return out


class Genl:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                  NETLINK_GENERIC)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.bind((0, 0))
        self.seq = int(time.time())

    def request(self, family, cmd, attrs, version=0):
        """Send one request with ACK; return (errno, extack, messages)."""
        self.seq += 1
        payload = struct.pack("=BBH", cmd, version, 0) + b"".join(attrs)
        msg = struct.pack("=IHHII", 16 + len(payload), family,
                          NLM_F_REQUEST | NLM_F_ACK, self.seq, 0) + payload
        self.sock.send(msg)
        replies = []
        while True:
            data = self.sock.recv(65536)
            while len(data) >= 16:
                mlen, mtype, mflags, mseq, _ = struct.unpack_from("=IHHII",
                                                                  data)
                body = data[16:mlen]
                data = data[(mlen + 3) & ~3:]
                if mseq != self.seq:
                    continue
                if mtype == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", body)[0]
                    msg = ""
                    if mflags & NLM_F_ACK_TLVS:
                        off = 4 + 16
                        if not mflags & NLM_F_CAPPED:
                            inner_len = struct.unpack_from("=I", body, 4)[0]
                            off = 4 + inner_len
                        tlvs = parse_attrs(body[(off + 3) & ~3:])
                        if NLMSGERR_ATTR_MSG in tlvs:
                            msg = tlvs[NLMSGERR_ATTR_MSG].split(b"\0")[0]
                            msg = msg.decode(errors="replace")
                    return err, msg, replies
                if mtype == NLMSG_DONE:
                    return 0, "", replies
                replies.append(body)

    def family_id(self, name):
        err, msg, replies = self.request(
            GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
            [attr(CTRL_ATTR_FAMILY_NAME, strz(name))], version=1)
        if err or not replies:
            return None
        attrs = parse_attrs(replies[0][4:])
        return struct.unpack("=H", attrs[CTRL_ATTR_FAMILY_ID][:2])[0]


def answer(err, msg):
    if err == 0:
        print("ok" if not msg else "ok (warning: %s)" % msg)
    else:
        name = errno.errorcode.get(err, str(err))
        print("error %s: %s" % (name, msg))


def vdpa_family(nl):
    fam = nl.family_id("vdpa")
    if fam is None:
        print("vdpa family not found", file=sys.stderr)
        sys.exit(2)
    return fam


def cmd_dev_new(args):
    if len(args) < 2:
        usage()
    name, mgmtdev = args[0], args[1]
    attrs = [attr(VDPA_ATTR_DEV_NAME, strz(name)),
             attr(VDPA_ATTR_MGMTDEV_DEV_NAME, strz(mgmtdev))]
    rest = args[2:]
    while rest:
        if len(rest) < 2:
            usage()
        opt, val = rest[0], rest[1]
        rest = rest[2:]
        if opt == "--features":
            attrs.append(attr(VDPA_ATTR_DEV_FEATURES,
                              struct.pack("=Q", int(val, 16))))
        elif opt == "--mac":
            attrs.append(attr(VDPA_ATTR_DEV_NET_CFG_MACADDR,
                              bytes(int(b, 16) for b in val.split(":"))))
        elif opt == "--mtu":
            attrs.append(attr(VDPA_ATTR_DEV_NET_CFG_MTU,
                              struct.pack("=H", int(val))))
        elif opt == "--max-vqp":
            attrs.append(attr(VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
                              struct.pack("=H", int(val))))
        elif opt == "--raw":
            atype, hexbytes = val.split(":", 1)
            attrs.append(attr(int(atype), bytes.fromhex(hexbytes)))
        else:
            usage()
    nl = Genl()
    err, msg, _ = nl.request(vdpa_family(nl), VDPA_CMD_DEV_NEW, attrs)
    answer(err, msg)


def cmd_dev_del(args):
    if len(args) != 1:
        usage()
    nl = Genl()
    err, msg, _ = nl.request(vdpa_family(nl), VDPA_CMD_DEV_DEL,
                             [attr(VDPA_ATTR_DEV_NAME, strz(args[0]))])
    answer(err, msg)


def many(args, nargs, make_attrs, cmd):
    if len(args) != nargs:
        usage()
    prefix, count = args[0], int(args[-1])
    nl = Genl()
    fam = vdpa_family(nl)
    t0 = time.monotonic()
    for i in range(count):
        err, msg, _ = nl.request(fam, cmd,
                                 make_attrs(prefix + str(i), args, i))
        if err:
            answer(err, msg)
            return
    print("ok %.6f" % (time.monotonic() - t0))


def cmd_dev_new_many(args):
    mac_base = None
    if len(args) == 5 and args[3] == "--mac-base":
        mac_base = bytes(int(b, 16) for b in args[4].split(":"))
        if len(mac_base) != 4:
            usage()
        args = args[:3]

    def make_attrs(name, a, i):
        attrs = [attr(VDPA_ATTR_DEV_NAME, strz(name)),
                 attr(VDPA_ATTR_MGMTDEV_DEV_NAME, strz(a[1]))]
        if mac_base is not None:
            attrs.append(attr(VDPA_ATTR_DEV_NET_CFG_MACADDR,
                              mac_base + bytes([i // 256 % 256, i % 256])))
        return attrs

    many(args, 3, make_attrs, VDPA_CMD_DEV_NEW)


def cmd_dev_del_many(args):
    many(args, 2, lambda name, a, i: [attr(VDPA_ATTR_DEV_NAME, strz(name))],
         VDPA_CMD_DEV_DEL)


def cmd_uevents(args):
    if len(args) != 1:
        usage()
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM,
                         NETLINK_KOBJECT_UEVENT)
    sock.bind((0, 1))
    end = time.monotonic() + float(args[0])
    print("listening", flush=True)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        fields = [f.decode(errors="replace") for f in data.split(b"\0") if f]
        print("|".join(fields), flush=True)


def usage():
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def main():
    if len(sys.argv) < 2:
        usage()
    cmds = {"dev-new": cmd_dev_new, "dev-del": cmd_dev_del,
            "dev-new-many": cmd_dev_new_many,
            "dev-del-many": cmd_dev_del_many, "uevents": cmd_uevents}
    if sys.argv[1] not in cmds:
        usage()
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
