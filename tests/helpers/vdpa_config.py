#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Print what DEV_CONFIG_GET returns, every attribute decoded by its type.

iproute2 6.1's `vdpa dev config show` prints nothing of a block device
(it predates attributes 21-36), so the block tests read the reply here.

Usage:
    vdpa_config.py [NAME]     doit for NAME, else a dump of every device

One line per device, attributes in the order received:
    NAME dev_id=2 features=0x308007646 capacity=262144 ...
Numbers are decimal, feature masks hex, the MAC as aa:bb:..; an attribute
whose length does not match its type prints as name=badlen:N, an unknown
one as attrN=HEX.  On an error: "error EINVAL: <extack>".  Exit status 0
when netlink answered, 2 on a usage or local error.
"""

import errno
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vdpa_nl import (Genl, NLM_F_REQUEST, NLM_F_ACK, NLMSG_ERROR,  # noqa: E402
                     NLMSG_DONE, attr, strz, parse_attrs, vdpa_family)

NLM_F_DUMP = 0x300
VDPA_CMD_DEV_CONFIG_GET = 6
VDPA_ATTR_DEV_NAME = 4

# number: (name, struct format or special)
ATTRS = {
    4: ("name", "str"),
    5: ("dev_id", "=I"),
    10: ("mac", "mac"),
    11: ("status", "=H"),
    12: ("max_vqp", "=H"),
    13: ("mtu", "=H"),
    14: ("negotiated", "hex"),
    20: ("features", "hex"),
    21: ("capacity", "=Q"),
    22: ("size_max", "=I"),
    23: ("blk_size", "=I"),
    24: ("seg_max", "=I"),
    25: ("num_queues", "=H"),
    26: ("phy_blk_exp", "=B"),
    27: ("align_offset", "=B"),
    28: ("min_io_size", "=H"),
    29: ("opt_io_size", "=I"),
    30: ("max_discard_sec", "=I"),
    31: ("max_discard_seg", "=I"),
    32: ("discard_sec_align", "=I"),
    33: ("max_write_zeroes_sec", "=I"),
    34: ("max_write_zeroes_seg", "=I"),
    35: ("read_only", "=B"),
    36: ("flush", "=B"),
}


def ordered_attrs(buf):
    """Like parse_attrs, but keeps the order and repeats."""
    out = []
    while len(buf) >= 4:
        alen, atype = struct.unpack_from("=HH", buf)
        if alen < 4:
            break
        out.append((atype & 0x3fff, buf[4:alen]))
        buf = buf[(alen + 3) & ~3:]
    return out


def decode(atype, data):
    if atype not in ATTRS:
        return "attr%d=%s" % (atype, data.hex())
    name, fmt = ATTRS[atype]
    if fmt == "str":
        return None
    if fmt == "mac":
        if len(data) != 6:
            return "%s=badlen:%d" % (name, len(data))
        return "%s=%s" % (name, ":".join("%02x" % b for b in data))
    if fmt == "hex":
        if len(data) != 8:
            return "%s=badlen:%d" % (name, len(data))
        return "%s=0x%x" % (name, struct.unpack("=Q", data)[0])
    if len(data) != struct.calcsize(fmt):
        return "%s=badlen:%d" % (name, len(data))
    return "%s=%d" % (name, struct.unpack(fmt, data)[0])


def show(body):
    fields = []
    name = "?"
    for atype, data in ordered_attrs(body[4:]):
        if atype == VDPA_ATTR_DEV_NAME:
            name = data.split(b"\0")[0].decode(errors="replace")
            continue
        if atype == 0:
            continue        # 64-bit alignment pad
        fields.append(decode(atype, data))
    print(" ".join([name] + fields))


def request(nl, family, attrs, flags):
    nl.seq += 1
    payload = struct.pack("=BBH", VDPA_CMD_DEV_CONFIG_GET, 0, 0)
    payload += b"".join(attrs)
    msg = struct.pack("=IHHII", 16 + len(payload), family, flags, nl.seq, 0)
    nl.sock.send(msg + payload)
    while True:
        data = nl.sock.recv(1 << 20)
        while len(data) >= 16:
            mlen, mtype, _, mseq, _ = struct.unpack_from("=IHHII", data)
            body = data[16:mlen]
            data = data[(mlen + 3) & ~3:]
            if mseq != nl.seq:
                continue
            if mtype == NLMSG_ERROR:
                err = -struct.unpack_from("=i", body)[0]
                if err:
                    tlvs = parse_attrs(body[4 + 16:])
                    msg = tlvs.get(1, b"").split(b"\0")[0].decode()
                    print("error %s: %s" % (errno.errorcode.get(err, err),
                                            msg))
                return
            if mtype == NLMSG_DONE:
                return
            show(body)


def main():
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and
                             sys.argv[1].startswith("-")):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    nl = Genl()
    family = vdpa_family(nl)
    if len(sys.argv) == 2:
        request(nl, family, [attr(VDPA_ATTR_DEV_NAME, strz(sys.argv[1]))],
                NLM_F_REQUEST | NLM_F_ACK)
    else:
        request(nl, family, [], NLM_F_REQUEST | NLM_F_DUMP)


if __name__ == "__main__":
    main()
