"""Fixtures and helpers shared by the test modules.

Integration tests talk to the running kernel: generic netlink's ``nlctrl``
family always exists, and so does the loopback link for ``NETLINK_ROUTE``.
"""

from __future__ import annotations

import ctypes
import os
import random
import re
import shutil
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeVar

import pytest

import libnl_py
from libnl_py import Socket, lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.genl import GenlSocket
from libnl_py.message import pack_genl_request
from libnl_py.testing import FakePeer

# Subprocesses the tests start (fuzz workers, misuse scenarios, the CLI) must
# import the same libnl_py as this process: the installed copy under make test,
# an in-place build during development. They also import helpers from tests/.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(libnl_py.__file__)))
_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_PACKAGE_ROOT, _TESTS_DIR, os.environ.get("PYTHONPATH", "")) if p
)

NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
NLATTR = struct.Struct("=HH")  # len, type
GENLMSGHDR = struct.Struct("=BBH")  # cmd, version, reserved

T = TypeVar("T")


def in_ci() -> bool:
    """True when running under CI, where a missing privilege is a failure, not a skip."""
    return os.environ.get("CI", "").lower() == "true"


def require_root(reason: str = "needs root") -> None:
    """Skip the calling test when not root; under ``CI=true`` fail instead.

    A CI job that silently skips the privileged tests would report green
    without having run them.
    """
    if os.geteuid() == 0:
        return
    message = f"{reason} (running as uid {os.geteuid()})"
    if in_ci():
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def root() -> None:
    """Use in a test that needs root: see :func:`require_root`."""
    require_root()


# -- /proc/net/netlink ---------------------------------------------------------


class NetlinkEntry(NamedTuple):
    """One row of /proc/net/netlink (this process's network namespace)."""

    protocol: int  # the "Eth" column
    port: int  # the "Pid" column
    groups: int
    inode: int


def netlink_entries() -> list[NetlinkEntry]:
    """Parse /proc/net/netlink: ``sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode``."""
    with open("/proc/net/netlink") as f:
        header = f.readline().split()
        assert header[:4] == ["sk", "Eth", "Pid", "Groups"], header
        inode_col = header.index("Inode")
        rows = []
        for line in f:
            cols = line.split()
            if not cols:
                continue
            rows.append(
                NetlinkEntry(
                    protocol=int(cols[1]),
                    port=int(cols[2]),
                    groups=int(cols[3], 16),
                    inode=int(cols[inode_col]),
                )
            )
    return rows


def bound_ports(protocol: int) -> set[int]:
    """The ports bound for ``protocol`` in this network namespace."""
    return {e.port for e in netlink_entries() if e.protocol == protocol}


def fd_inode(fd: int) -> int:
    """The socket inode behind ``fd`` (``socket:[N]`` in /proc/self/fd)."""
    target = os.readlink(f"/proc/self/fd/{fd}")
    assert target.startswith("socket:["), target
    return int(target[len("socket:[") : -1])


# -- message codec (deliberately independent of the library under test) -------


class Message(NamedTuple):
    type: int
    flags: int
    seq: int
    pid: int
    payload: bytes


def split_messages(data: bytes) -> list[Message]:
    """Split one datagram into its netlink messages (NLMSG_ALIGN'ed)."""
    messages = []
    offset = 0
    while offset + NLMSGHDR.size <= len(data):
        length, mtype, flags, seq, pid = NLMSGHDR.unpack_from(data, offset)
        assert NLMSGHDR.size <= length <= len(data) - offset, (length, len(data), offset)
        messages.append(
            Message(mtype, flags, seq, pid, data[offset + NLMSGHDR.size : offset + length])
        )
        offset += (length + 3) & ~3
    assert offset >= len(data), f"trailing bytes after offset {offset} of {len(data)}"
    return messages


def parse_attrs(data: bytes) -> dict[int, bytes]:
    """Attributes at top level: type (flags masked off) -> payload (unpadded)."""
    attrs = {}
    offset = 0
    while offset + NLATTR.size <= len(data):
        length, atype = NLATTR.unpack_from(data, offset)
        assert NLATTR.size <= length <= len(data) - offset, (length, len(data), offset)
        attrs[atype & lib.NLA_TYPE_MASK] = data[offset + NLATTR.size : offset + length]
        offset += (length + 3) & ~3
    return attrs


def nlattr(atype: int, payload: bytes) -> bytes:
    """One attribute: header with the unpadded length, payload padded to 4 bytes."""
    return NLATTR.pack(NLATTR.size + len(payload), atype) + payload + b"\0" * (-len(payload) % 4)


def getfamily_request(name: str) -> bytes:
    """genlmsghdr(CTRL_CMD_GETFAMILY, version 1) + CTRL_ATTR_FAMILY_NAME."""
    return GENLMSGHDR.pack(lib.CTRL_CMD_GETFAMILY, 1, 0) + nlattr(
        lib.CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"
    )


def recv_messages(sock: Socket, timeout: float = 2.0) -> tuple[list[Message], int]:
    """One datagram from ``sock``, split into messages, and its sender port."""
    data, port = sock.recv(timeout=timeout)
    assert data, "recv returned no data"
    return split_messages(data), port


def resolve_nlctrl(sock: Socket) -> tuple[int, int]:
    """Ask the kernel for ``nlctrl`` with a raw GETFAMILY; read reply and ACK.

    Returns (family id, sequence number); asserts the ACK carries error 0.
    """
    sock.send_simple(lib.GENL_ID_CTRL, 0, getfamily_request("nlctrl"))
    (reply,), port = recv_messages(sock)
    assert port == 0  # the kernel
    assert reply.type == lib.GENL_ID_CTRL
    attrs = parse_attrs(reply.payload[GENLMSGHDR.size :])
    family_id = struct.unpack("=H", attrs[lib.CTRL_ATTR_FAMILY_ID])[0]
    (ack,), _ = recv_messages(sock)
    assert ack.type == lib.NLMSG_ERROR
    assert struct.unpack_from("=i", ack.payload)[0] == 0
    assert ack.seq == reply.seq
    return family_id, reply.seq


# -- fixtures -------------------------------------------------------------------


@pytest.fixture
def genl_socket() -> Iterator[Socket]:
    """A Socket connected to generic netlink, freed afterwards."""
    with Socket() as s:
        s.genl_connect()
        yield s


def free_port(protocol: int) -> int:
    """A random high port that nobody has bound for ``protocol`` right now."""
    taken = bound_ports(protocol)
    while True:
        port = random.randrange(2**30, 2**31)
        if port not in taken:
            return port


RTM_NEWLINK = 16
RTM_GETLINK = 18
IFLA_IFNAME = 3
IFINFOMSG = struct.Struct("=BxHiII")  # family, pad, type, index, flags, change


def dump_links(sock: Socket) -> list[tuple[int, str]]:
    """RTM_GETLINK dump on a NETLINK_ROUTE socket: sorted (ifindex, name) pairs.

    Reads datagrams until NLMSG_DONE and checks that every part of the dump
    answers this request (same sequence number, addressed to this port).
    """
    sent = sock.send_simple(RTM_GETLINK, lib.NLM_F_DUMP, bytes(IFINFOMSG.size))
    assert sent == NLMSGHDR.size + IFINFOMSG.size
    local_port = sock.local_port
    links = []
    seqs = set()
    done = False
    while not done:
        messages, port = recv_messages(sock)
        assert port == 0
        for msg in messages:
            assert msg.pid == local_port
            seqs.add(msg.seq)
            if msg.type == lib.NLMSG_DONE:
                assert struct.unpack_from("=i", msg.payload)[0] == 0
                done = True
                continue
            assert msg.type == RTM_NEWLINK, msg
            assert msg.flags & lib.NLM_F_MULTI
            _family, _type, index, _flags, _change = IFINFOMSG.unpack_from(msg.payload)
            attrs = parse_attrs(msg.payload[IFINFOMSG.size :])
            links.append((index, attrs[IFLA_IFNAME].rstrip(b"\0").decode()))
    assert len(seqs) == 1, seqs
    return sorted(links)


# -- network namespaces (added for the generic netlink client tests) -----------

CLONE_NEWNET = 0x40000000


def setns(fd: int, nstype: int = CLONE_NEWNET) -> None:
    """``setns(2)`` through libc: os.setns only exists from Python 3.12.

    It moves the calling *thread* only, which is what lets a helper thread
    open a socket in another namespace while the rest of the process stays put.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def call_in_netns(name: str, fn: Callable[[], T]) -> T:
    """Return ``fn()`` run on a helper thread that has entered network namespace ``name``.

    A socket keeps the namespace it was created in, so a socket opened by
    ``fn`` can be used from any thread afterwards. The helper thread goes
    back to its original namespace before it exits.
    """
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{name}") as ns:
                setns(ns.fileno())
                try:
                    result["value"] = fn()
                finally:
                    setns(home.fileno())
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{name}")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]  # type: ignore[no-any-return]


def ip(*args: str, timeout: float = 20) -> str:
    """Run ``ip ARGS`` and return its stdout; a failure shows ip's stderr."""
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc.stdout


@pytest.fixture
def netns() -> Iterator[str]:
    """The name of a fresh network namespace (``ip netns add``), deleted afterwards."""
    require_root("needs root to create a network namespace")
    if shutil.which("ip") is None:
        message = "needs iproute2's ip"
        if in_ci():
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    name = f"lnp-{os.getpid()}-{random.randrange(1 << 30)}"
    ip("netns", "add", name)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=20)


# -- genl-ctrl-list -d ------------------------------------------------------------------

# libnl's names for op flags: "admin_perm" in 3.7, "admin-perm" in some releases.
OP_FLAG_NAMES = {
    "admin_perm": lib.GENL_ADMIN_PERM,
    "has_doit": lib.GENL_CMD_CAP_DO,
    "has_dump": lib.GENL_CMD_CAP_DUMP,
    "has_policy": lib.GENL_CMD_CAP_HASPOL,
}
KNOWN_OP_FLAGS = sum(OP_FLAG_NAMES.values())

_FAMILY_LINE = re.compile(r"^0x(?P<id>[0-9a-fA-F]+) (?P<name>.+) version (?P<version>\d+)$")
_SIZES_LINE = re.compile(r"^\s+hdrsize (?P<hdrsize>\d+) maxattr (?P<maxattr>\d+)$")
_OP_LINE = re.compile(r"^\s+op (?P<name>.+?) \(0x(?P<id>[0-9a-fA-F]+)\)(?: <(?P<flags>[^>]*)>)?$")
_GRP_LINE = re.compile(r"^\s+grp (?P<name>.+) \(0x(?P<id>[0-9a-fA-F]+)\)$")


def parse_genl_ctrl_list(text: str) -> dict[int, dict[str, Any]]:
    """``genl-ctrl-list -d`` output by family id.

    Op flags: libnl prints only the names it knows, and ends the list with a
    comma when bits it has no name for remain (``<has_doit,has_policy,>``), or
    prints ``<>`` when it knows none of them; ``unknown_bits`` records that.
    """
    families: dict[int, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if m := _FAMILY_LINE.match(line):
            current = {
                "id": int(m["id"], 16),
                "name": m["name"],
                "version": int(m["version"]),
                "ops": [],
                "groups": [],
            }
            assert current["id"] not in families, line
            families[current["id"]] = current
        elif current is None:
            raise AssertionError(f"genl-ctrl-list: line before any family: {line!r}")
        elif m := _SIZES_LINE.match(line):
            current["hdrsize"] = int(m["hdrsize"])
            current["maxattr"] = int(m["maxattr"])
        elif m := _OP_LINE.match(line):
            text_flags = m["flags"]
            mask, unknown = 0, False
            if text_flags is not None:
                names = text_flags.split(",")
                unknown = names[-1] == ""  # trailing comma, or "<>"
                for name in filter(None, names):
                    mask |= OP_FLAG_NAMES[name.replace("-", "_")]
            current["ops"].append((int(m["id"], 16), mask, unknown, text_flags is None))
        elif m := _GRP_LINE.match(line):
            current["groups"].append((m["name"], int(m["id"], 16)))
        else:
            raise AssertionError(f"genl-ctrl-list: unexpected line {line!r}")
    return families


def genl_ctrl_list() -> dict[int, dict[str, Any]]:
    tool = shutil.which("genl-ctrl-list")
    if tool is None:
        message = "needs genl-ctrl-list (Debian: libnl-utils)"
        if in_ci():
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    out = subprocess.run([tool, "-d"], capture_output=True, text=True, timeout=20, check=True)
    return parse_genl_ctrl_list(out.stdout)


# -- generic netlink sockets ------------------------------------------------------------


@pytest.fixture
def sock() -> Iterator[GenlSocket]:
    """A GenlSocket talking to the kernel."""
    with GenlSocket(timeout=5) as s:
        yield s


@pytest.fixture
def peer() -> Iterator[FakePeer]:
    """A userspace generic netlink peer (a fake family)."""
    with FakePeer() as p:
        yield p


@pytest.fixture
def client(peer: FakePeer) -> Iterator[GenlSocket]:
    """A GenlSocket that talks to ``peer`` instead of the kernel."""
    with GenlSocket(peer_port=peer.port, timeout=5) as s:
        yield s


def getfamily(name: str) -> AttributeEncoder:
    """CTRL_CMD_GETFAMILY attributes asking for family ``name``."""
    enc = AttributeEncoder()
    enc.string(lib.CTRL_ATTR_FAMILY_NAME, name)
    return enc


def marker(text: str) -> AttributeEncoder:
    """One string attribute (type 1): tells a fake peer's answers apart."""
    enc = AttributeEncoder()
    enc.string(1, text)
    return enc


def newfamily(
    family_id: int,
    name: str | None,
    ops: list[tuple[int, int]],
    groups: list[tuple[str, int]],
    *,
    flags: int = 0,
    seq: int = 1,
    port: int = 0,
) -> bytes:
    """A CTRL_CMD_NEWFAMILY message as the kernel sends it (``name`` None: no name attribute)."""
    enc = AttributeEncoder()
    enc.u16(lib.CTRL_ATTR_FAMILY_ID, family_id)
    if name is not None:
        enc.string(lib.CTRL_ATTR_FAMILY_NAME, name)
    enc.u32(lib.CTRL_ATTR_VERSION, 3)
    enc.u32(lib.CTRL_ATTR_HDRSIZE, 4)
    enc.u32(lib.CTRL_ATTR_MAXATTR, 9)
    with enc.nested(lib.CTRL_ATTR_OPS):
        for i, (op_id, op_flags) in enumerate(ops, 1):
            with enc.nested(i):
                enc.u32(lib.CTRL_ATTR_OP_ID, op_id)
                enc.u32(lib.CTRL_ATTR_OP_FLAGS, op_flags)
    with enc.nested(lib.CTRL_ATTR_MCAST_GROUPS):
        for i, (group, group_id) in enumerate(groups, 1):
            with enc.nested(i):
                enc.string(lib.CTRL_ATTR_MCAST_GRP_NAME, group)
                enc.u32(lib.CTRL_ATTR_MCAST_GRP_ID, group_id)
    return pack_genl_request(
        lib.GENL_ID_CTRL, flags, seq, port, lib.CTRL_CMD_NEWFAMILY, 2, enc.encode()
    )


def bare_nlctrl_spec() -> Any:
    """A spec of nlctrl that names no operation: its requests are typed by the kernel's policy."""
    from libnl_py.spec.model import AttrSet, FamilySpec

    return FamilySpec(
        name="nlctrl",
        protocol="genetlink",
        attribute_sets={"a": AttrSet("a", (), numbered=True)},
        operations=(),
        source="test",
    )
