"""Hand-written pure Python over socket and struct, for bench/run.py (see benchlib).

What a careful programmer writes without a netlink library: one
AF_NETLINK/NETLINK_GENERIC socket, requests packed with struct, replies
walked with unpack_from, the ACK consumed, errors raised. It decodes the same
fields as the others: id, name, version, ops (id, flags), groups (name, id).

W5 (linkinfo_dump) and W6 (netdev_notify) decode to the same dicts by names
as libnl_py's ``decode``: nests to dicts, flag enums to lists of names, an
attribute it does not know kept under its number as bytes.

W8 (threads_shared, threads_own) is W2 from 4 threads: on one Client behind a
lock (it matches replies by sequence number, so two requests at once would
read each other's replies: a lock is what its author would add), or on a
Client per thread.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from typing import Any, Callable

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

    def request(
        self,
        flags: int,
        payload: bytes,
        msg_type: int = GENL_ID_CTRL,
        cmd: int = CTRL_CMD_GETFAMILY,
        version: int = 2,
        decode: Callable[[bytes, int, int], Any] = decode_family,
    ) -> list[Any]:
        """Send ``cmd`` (GETFAMILY) with ``flags``; decode every reply up to DONE
        (dump) or the ACK."""
        self.seq += 1
        seq = self.seq
        dump = flags & NLM_F_DUMP == NLM_F_DUMP
        if not dump:
            flags |= NLM_F_ACK
        msg = (
            _REQ.pack(
                20 + len(payload),
                msg_type,
                NLM_F_REQUEST | flags,
                seq,
                self.port,
                cmd,
                version,
                0,
            )
            + payload
        )
        self.sock.send(msg)
        out: list[Any] = []
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
                out.append(decode(data, pos, end))
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


_threads: dict[str, benchlib.Threads] = {}


def threads_shared(n: int) -> benchlib.Timed:
    if "shared" not in _threads:
        client = Client()
        lock = threading.Lock()

        def work(k: int) -> list[benchlib.Decoded]:
            families: list[benchlib.Decoded] = []
            for _ in range(k):
                payload = name_attr("nlctrl")
                with lock:
                    families = client.request(0, payload)
            return families

        _threads["shared"] = benchlib.Threads([work] * benchlib.THREADS)
    return _threads["shared"](n)


def threads_own(n: int) -> benchlib.Timed:
    if "own" not in _threads:

        def worker(client: Client) -> Callable[[int], list[benchlib.Decoded]]:
            def work(k: int) -> list[benchlib.Decoded]:
                families: list[benchlib.Decoded] = []
                for _ in range(k):
                    families = client.request(0, name_attr("nlctrl"))
                return families

            return work

        _threads["own"] = benchlib.Threads([worker(Client()) for _ in range(benchlib.THREADS)])
    return _threads["own"](n)


def open_resolve_close(n: int) -> int:
    family_id = 0
    for _ in range(n):
        client = Client()
        try:
            family_id = client.request(0, name_attr("nlctrl"))[0][0]
        finally:
            client.close()
    return family_id


# -- W5: ethtool linkinfo dump ------------------------------------------------

ETHTOOL_MSG_LINKINFO_GET = 2
ETHTOOL_GENL_VERSION = 1
ETHTOOL_A_LINKINFO_HEADER = 1
NLA_F_NESTED = 0x8000
# ETHTOOL_A_HEADER_*: name, is it a string (else u32)
_HEADER_ATTRS = {
    1: ("dev-index", False),
    2: ("dev-name", True),
    3: ("flags", False),
    4: ("phy-index", False),
}
# ETHTOOL_A_LINKINFO_* after the header: all u8
_LINKINFO_U8 = dict(zip(range(2, 7), benchlib.LINKINFO_U8))
_LINKINFO_NAMES = benchlib.LINKINFO_ENUMS  # enums by name, as libnl-py decodes them
_EMPTY_HEADER = _NLA.pack(4, NLA_F_NESTED | ETHTOOL_A_LINKINFO_HEADER)


def decode_header(data: bytes, pos: int, end: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    unpack = _NLA.unpack_from
    u32 = _U32.unpack_from
    while pos + 4 <= end:
        length, attr_type = unpack(data, pos)
        if length < 4 or pos + length > end:
            raise ValueError(f"malformed attribute at offset {pos}")
        attr_type &= 0x3FFF
        known = _HEADER_ATTRS.get(attr_type)
        if known is None:
            out[attr_type] = data[pos + 4 : pos + length]
        elif known[1]:
            out[known[0]] = data[pos + 4 : pos + length].split(b"\0", 1)[0].decode()
        else:
            out[known[0]] = u32(data, pos + 4)[0]
        pos += (length + 3) & ~3
    return out


def decode_linkinfo(data: bytes, start: int, end: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    pos = start + 20
    unpack = _NLA.unpack_from
    while pos + 4 <= end:
        length, attr_type = unpack(data, pos)
        if length < 4 or pos + length > end:
            raise ValueError(f"malformed attribute at offset {pos}")
        attr_type &= 0x3FFF
        if attr_type == ETHTOOL_A_LINKINFO_HEADER:
            out["header"] = decode_header(data, pos + 4, pos + length)
        elif attr_type in _LINKINFO_U8:
            name = _LINKINFO_U8[attr_type]
            names = _LINKINFO_NAMES.get(name)
            value = data[pos + 4]
            out[name] = names.get(value, value) if names is not None else value
        else:
            out[attr_type] = data[pos + 4 : pos + length]
        pos += (length + 3) & ~3
    return out


def resolve(client: Client, name: str) -> benchlib.Decoded:
    family: benchlib.Decoded = client.request(0, name_attr(name))[0]
    return family


_ethtool_id = 0


def linkinfo_dump(n: int) -> list[dict[Any, Any]]:
    global _ethtool_id
    client = shared_client()
    if not _ethtool_id:
        _ethtool_id = resolve(client, "ethtool")[0]
    links: list[dict[Any, Any]] = []
    for _ in range(n):
        links = client.request(
            NLM_F_DUMP,
            _EMPTY_HEADER,
            _ethtool_id,
            ETHTOOL_MSG_LINKINFO_GET,
            ETHTOOL_GENL_VERSION,
            decode_linkinfo,
        )
    return links


# -- W6: netdev mgmt notifications --------------------------------------------

SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NOTIFY_RCVBUF = 4 << 20
_XDP_ACT = ("basic", "redirect", "ndo-xmit", "xsk-zerocopy", "hw-offload", "rx-sg", "ndo-xmit-sg")
_XDP_RX_METADATA = ("timestamp", "hash", "vlan-tag")
_XSK_FLAGS = ("tx-timestamp", "tx-checksum", "tx-launch-time-fifo")
# NETDEV_A_DEV_*: name, struct, flag names (None: a plain number); 2 is pad
_DEV_ATTRS: dict[int, tuple[str, struct.Struct, tuple[str, ...] | None]] = {
    1: ("ifindex", _U32, None),
    3: ("xdp-features", struct.Struct("=Q"), _XDP_ACT),
    4: ("xdp-zc-max-segs", _U32, None),
    5: ("xdp-rx-metadata-features", struct.Struct("=Q"), _XDP_RX_METADATA),
    6: ("xsk-features", struct.Struct("=Q"), _XSK_FLAGS),
}
NETDEV_A_DEV_PAD = 2


def flag_names(value: int, names: tuple[str, ...]) -> list[str]:
    return [
        names[bit] if bit < len(names) else f"{1 << bit:#x}"
        for bit in range(value.bit_length())
        if value >> bit & 1
    ]


def decode_dev(data: bytes, pos: int, end: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    unpack = _NLA.unpack_from
    while pos + 4 <= end:
        length, attr_type = unpack(data, pos)
        if length < 4 or pos + length > end:
            raise ValueError(f"malformed attribute at offset {pos}")
        attr_type &= 0x3FFF
        known = _DEV_ATTRS.get(attr_type)
        if known is not None:
            name, fmt, names = known
            value = fmt.unpack_from(data, pos + 4)[0]
            out[name] = value if names is None else flag_names(value, names)
        elif attr_type != NETDEV_A_DEV_PAD:
            out[attr_type] = data[pos + 4 : pos + length]
        pos += (length + 3) & ~3
    return out


class Listener:
    """A socket in netdev's mgmt group; ``drain`` decodes everything queued."""

    def __init__(self) -> None:
        client = shared_client()
        family = resolve(client, "netdev")
        self.family_id = family[0]
        group = dict(family[4])["mgmt"]
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, NOTIFY_RCVBUF)
        self.sock.bind((0, 0))
        self.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)

    def drain(self) -> list[tuple[int, dict[Any, Any]]]:
        out: list[tuple[int, dict[Any, Any]]] = []
        recv = self.sock.recv
        unpack = _NLMSGHDR.unpack_from
        family_id = self.family_id
        while True:
            try:
                data = recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return out
            pos = 0
            while pos + 16 <= len(data):
                length, msg_type, _flags, _seq, _pid = unpack(data, pos)
                if length < 16 or pos + length > len(data):
                    raise ValueError("malformed netlink message")
                if msg_type == family_id:
                    out.append((data[pos + 16], decode_dev(data, pos + 20, pos + length)))
                pos += (length + 3) & ~3


_listener: Listener | None = None


def netdev_notify(n: int) -> benchlib.Timed:
    global _listener
    if _listener is None:
        _listener = Listener()
    return benchlib.notify_cycles(n, _listener.drain)


if __name__ == "__main__":
    benchlib.run(
        {
            "dump_families": dump_families,
            "getfamily": getfamily,
            "open_resolve_close": open_resolve_close,
            "linkinfo_dump": linkinfo_dump,
            "netdev_notify": netdev_notify,
            "threads_shared": threads_shared,
            "threads_own": threads_own,
        },
        benchlib.check_result,
    )
