"""Hand-written pure Python over socket and struct, for bench/run.py (see benchlib).

What a careful programmer writes without a netlink library: one
AF_NETLINK/NETLINK_GENERIC socket, requests packed with struct, replies
walked with unpack_from, the ACK consumed, errors raised. It decodes the same
fields as the others: id, name, version, ops (id, flags), groups (name, id).
"""

from __future__ import annotations

import os
import socket
import struct

import benchlib

NETLINK_GENERIC = 16
GENL_ID_CTRL = 16
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
CTRL_ATTR_VERSION = 3
CTRL_ATTR_OPS = 6
CTRL_ATTR_MCAST_GROUPS = 7
CTRL_ATTR_OP_ID = 1
CTRL_ATTR_OP_FLAGS = 2
CTRL_ATTR_MCAST_GRP_NAME = 1
CTRL_ATTR_MCAST_GRP_ID = 2
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_REQ = struct.Struct("=IHHIIBBH")  # nlmsghdr + genlmsghdr
_NLA = struct.Struct("=HH")
_U16 = struct.Struct("=H")
_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")


def attrs(data: bytes, pos: int, end: int) -> dict[int, tuple[int, int]]:
    """{type: (payload offset, payload length)} for the attributes in data[pos:end]."""
    out = {}
    unpack = _NLA.unpack_from
    while pos + 4 <= end:
        length, attr_type = unpack(data, pos)
        if length < 4 or pos + length > end:
            raise ValueError(f"malformed attribute at offset {pos}")
        out[attr_type & 0x3FFF] = (pos + 4, length - 4)
        pos += (length + 3) & ~3
    return out


def nested_list(data: bytes, pos: int, end: int) -> list[dict[int, tuple[int, int]]]:
    """The entries of an array nest (CTRL_ATTR_OPS, CTRL_ATTR_MCAST_GROUPS), each parsed."""
    out = []
    unpack = _NLA.unpack_from
    while pos + 4 <= end:
        length, _ = unpack(data, pos)
        if length < 4 or pos + length > end:
            raise ValueError(f"malformed attribute at offset {pos}")
        out.append(attrs(data, pos + 4, pos + length))
        pos += (length + 3) & ~3
    return out


def string(data: bytes, where: tuple[int, int]) -> str:
    off, length = where
    return data[off : off + length].split(b"\0", 1)[0].decode()


def decode_family(data: bytes, start: int, end: int) -> benchlib.Decoded:
    a = attrs(data, start + 20, end)  # after nlmsghdr (16) and genlmsghdr (4)
    u32 = _U32.unpack_from
    ops = []
    if CTRL_ATTR_OPS in a:
        off, length = a[CTRL_ATTR_OPS]
        for op in nested_list(data, off, off + length):
            flags = u32(data, op[CTRL_ATTR_OP_FLAGS][0])[0] if CTRL_ATTR_OP_FLAGS in op else 0
            ops.append((u32(data, op[CTRL_ATTR_OP_ID][0])[0], flags))
    groups = []
    if CTRL_ATTR_MCAST_GROUPS in a:
        off, length = a[CTRL_ATTR_MCAST_GROUPS]
        for grp in nested_list(data, off, off + length):
            groups.append(
                (
                    string(data, grp[CTRL_ATTR_MCAST_GRP_NAME]),
                    u32(data, grp[CTRL_ATTR_MCAST_GRP_ID][0])[0],
                )
            )
    return (
        _U16.unpack_from(data, a[CTRL_ATTR_FAMILY_ID][0])[0],
        string(data, a[CTRL_ATTR_FAMILY_NAME]),
        u32(data, a[CTRL_ATTR_VERSION][0])[0] if CTRL_ATTR_VERSION in a else 0,
        ops,
        groups,
    )


class Client:
    """One netlink socket; requests numbered from 1, replies matched by sequence number."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.sock.bind((0, 0))
        self.port = self.sock.getsockname()[0]
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def request(self, flags: int, payload: bytes) -> list[benchlib.Decoded]:
        """Send GETFAMILY with ``flags``; decode every reply up to DONE (dump) or the ACK."""
        self.seq += 1
        seq = self.seq
        dump = flags & NLM_F_DUMP == NLM_F_DUMP
        if not dump:
            flags |= NLM_F_ACK
        msg = (
            _REQ.pack(
                20 + len(payload),
                GENL_ID_CTRL,
                NLM_F_REQUEST | flags,
                seq,
                self.port,
                CTRL_CMD_GETFAMILY,
                2,
                0,
            )
            + payload
        )
        self.sock.send(msg)
        out = []
        recv = self.sock.recv
        unpack = _NLMSGHDR.unpack_from
        while True:
            data = recv(65536)
            pos = 0
            while pos + 16 <= len(data):
                length, msg_type, _flags, msg_seq, _pid = unpack(data, pos)
                if length < 16 or pos + length > len(data):
                    raise ValueError("malformed netlink message")
                end = pos + length
                if msg_seq != seq:
                    pos += (length + 3) & ~3
                    continue
                if msg_type in (NLMSG_ERROR, NLMSG_DONE):
                    error = _I32.unpack_from(data, pos + 16)[0] if end - pos >= 20 else 0
                    if error:
                        raise OSError(-error, os.strerror(-error))
                    return out
                out.append(decode_family(data, pos, end))
                pos += (length + 3) & ~3


def name_attr(name: str) -> bytes:
    raw = name.encode() + b"\0"
    return _NLA.pack(4 + len(raw), CTRL_ATTR_FAMILY_NAME) + raw + b"\0" * (-len(raw) % 4)


_client: Client | None = None


def shared_client() -> Client:
    global _client
    if _client is None:
        _client = Client()
    return _client


def dump_families(n: int) -> list[benchlib.Decoded]:
    client = shared_client()
    families: list[benchlib.Decoded] = []
    for _ in range(n):
        families = client.request(NLM_F_DUMP, b"")
    return families


def getfamily(n: int) -> list[benchlib.Decoded]:
    client = shared_client()
    families: list[benchlib.Decoded] = []
    for _ in range(n):
        families = client.request(0, name_attr("nlctrl"))
    return families


def open_resolve_close(n: int) -> int:
    family_id = 0
    for _ in range(n):
        client = Client()
        try:
            family_id = client.request(0, name_attr("nlctrl"))[0][0]
        finally:
            client.close()
    return family_id


if __name__ == "__main__":
    benchlib.run(
        {
            "dump_families": dump_families,
            "getfamily": getfamily,
            "open_resolve_close": open_resolve_close,
        },
        benchlib.check_result,
    )
