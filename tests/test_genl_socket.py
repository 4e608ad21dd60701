"""GenlSocket against the running kernel (nlctrl, ethtool, netdev) and userspace FakePeers.

Family ids and commands are numbers from libnl's headers or the kernel's UAPI
(not from ``libnl_py.genl.families``), so these tests do not depend on the
family definitions.
"""

from __future__ import annotations

import errno
import json
import os
import struct
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import (
    KNOWN_OP_FLAGS,
    call_in_netns,
    genl_ctrl_list,
    getfamily,
    in_ci,
    ip,
    marker,
    netlink_entries,
    parse_genl_ctrl_list,
)

from libnl_py import errors, lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.genl import Family, GenlMessage, GenlSocket, OverrunError
from libnl_py.testing import FakePeer, Request

FAKE_FAMILY = 0x1234
FAKE_CMD = 7

# <linux/ethtool_netlink.h>
ETHTOOL_MSG_LINKINFO_GET = 2
ETHTOOL_A_LINKINFO_HEADER = 1
ETHTOOL_A_HEADER_DEV_INDEX = 1
ETHTOOL_A_HEADER_DEV_NAME = 2
ETHTOOL_MSG_LINKSTATE_GET = 6
ETHTOOL_A_LINKSTATE_HEADER = 1

# <linux/netdev.h> (Documentation/netlink/specs/netdev.yaml)
NETDEV_CMD_DEV_GET = 1
NETDEV_CMD_DEV_ADD_NTF = 2
NETDEV_A_DEV_IFINDEX = 1


def ack_with(text: str) -> Any:
    """A FakePeer handler: one reply carrying ``text`` as attribute 1, then the ACK."""

    def handler(p: FakePeer, req: Request) -> None:
        p.reply(req, marker(text))
        p.ack(req)

    return handler


def test_parse_genl_ctrl_list_format() -> None:
    sample = (
        "0x0010 nlctrl version 2\n"
        "    hdrsize 0 maxattr 0\n"
        "      op GETFAMILY (0x03) <has_doit,has_dump,has_policy>\n"
        "      op unknown (0x0a) <has-dump,has-policy,>\n"
        "      op unknown (0x0b)\n"
        "      grp notify (0x10)\n"
        "0x0015 ethtool version 1\n"
        "    hdrsize 0 maxattr 0\n"
        "      grp monitor (0x06)\n"
    )
    parsed = parse_genl_ctrl_list(sample)
    assert parsed[0x10]["ops"] == [
        (3, lib.GENL_CMD_CAP_DO | lib.GENL_CMD_CAP_DUMP | lib.GENL_CMD_CAP_HASPOL, False, False),
        (10, lib.GENL_CMD_CAP_DUMP | lib.GENL_CMD_CAP_HASPOL, True, False),
        (11, 0, False, True),
    ]
    assert parsed[0x15] == {
        "id": 0x15,
        "name": "ethtool",
        "version": 1,
        "hdrsize": 0,
        "maxattr": 0,
        "ops": [],
        "groups": [("monitor", 6)],
    }


def test_list_families_matches_genl_ctrl_list(sock: GenlSocket) -> None:
    expected = genl_ctrl_list()
    families = sock.list_families()
    ids = [f.id for f in families]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(expected)
    for family in families:
        want = expected[family.id]
        assert (family.name, family.version, family.hdrsize, family.maxattr) == (
            want["name"],
            want["version"],
            want["hdrsize"],
            want["maxattr"],
        ), family.name
        assert [(g.name, g.id) for g in family.groups] == want["groups"], family.name
        assert [op.id for op in family.operations] == [op[0] for op in want["ops"]], family.name
        for op, (op_id, mask, unknown, no_flags) in zip(family.operations, want["ops"]):
            where = f"{family.name} op {op_id}"
            if no_flags:
                assert op.flags == 0, where
                continue
            assert op.flags & KNOWN_OP_FLAGS == mask, where
            assert bool(op.flags & ~KNOWN_OP_FLAGS) == unknown, where
            assert op.can_do == bool(mask & lib.GENL_CMD_CAP_DO), where
            assert op.can_dump == bool(mask & lib.GENL_CMD_CAP_DUMP), where


# -- resolving -----------------------------------------------------------------------------


def test_resolve_nlctrl(sock: GenlSocket) -> None:
    family = sock.resolve_family("nlctrl")
    assert isinstance(family, Family)
    assert (family.id, family.name, family.version) == (16, "nlctrl", 2)
    assert [g.name for g in family.groups] == ["notify"]
    assert sock.resolve_group("nlctrl", "notify") == 16
    assert family.group("notify").id == 16
    getfamily_op = family.operation(lib.CTRL_CMD_GETFAMILY)
    assert getfamily_op is not None and getfamily_op.can_do and getfamily_op.can_dump
    assert sock.resolve_family("nlctrl") is family  # cached


def test_resolve_every_listed_family(sock: GenlSocket) -> None:
    listed = {f.name: f for f in sock.list_families()}
    with GenlSocket(timeout=5) as fresh:
        for name, family in listed.items():
            assert fresh.resolve_family(name) == family


def test_resolve_unknown_family(sock: GenlSocket) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        sock.resolve_family("nosuchfamily")  # < GENL_NAMSIZ, or EINVAL
    exc = info.value
    assert isinstance(exc, LookupError)
    assert isinstance(exc, errors.NetlinkError)
    assert exc.errno == errno.ENOENT
    assert exc.code == lib.NLE_OBJ_NOTFOUND
    # The socket is still in step: the next request gets its own reply.
    assert sock.resolve_family("nlctrl").id == 16


def test_resolve_unknown_group(sock: GenlSocket) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        sock.resolve_group("nlctrl", "no-such-group")
    assert isinstance(info.value, LookupError)
    assert info.value.errno == errno.ENOENT
    assert "notify" in str(info.value)  # lists the groups it has


def test_resolve_family_rejects_non_str(sock: GenlSocket) -> None:
    with pytest.raises(TypeError):
        sock.resolve_family(16)  # type: ignore[arg-type]


def test_join_and_leave_group_membership(sock: GenlSocket) -> None:
    def groups() -> int:
        (entry,) = [e for e in netlink_entries() if e.protocol == 16 and e.port == sock.port]
        return entry.groups

    assert groups() & (1 << 15) == 0
    assert sock.join_group("nlctrl", "notify") == 16
    assert groups() & (1 << 15) == 1 << 15  # group 16 is bit 15
    assert sock.leave_group("nlctrl", "notify") == 16
    assert groups() & (1 << 15) == 0


# -- request/reply matching ----------------------------------------------------------------


def test_10000_alternating_executes_and_dumps(sock: GenlSocket) -> None:
    families = sock.list_families()
    ids = {f.name: f.id for f in families}
    names = sorted(ids)
    last_seq = 0
    for i in range(5000):
        name = names[i % len(names)]
        replies = sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, getfamily(name))
        assert len(replies) == 1
        (reply,) = replies
        assert (reply.family_id, reply.cmd) == (lib.GENL_ID_CTRL, lib.CTRL_CMD_NEWFAMILY)
        assert reply.attrs.string(lib.CTRL_ATTR_FAMILY_NAME) == name
        assert reply.attrs.u16(lib.CTRL_ATTR_FAMILY_ID) == ids[name]
        assert reply.seq > last_seq
        last_seq = reply.seq

        dumped = sock.dump(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY)
        assert len(dumped) == len(families)
        assert {m.seq for m in dumped} == {dumped[0].seq}
        assert dumped[0].seq > last_seq
        last_seq = dumped[0].seq
    assert sock.dropped == 0
    assert sock.overruns == 0
    assert sock.poll_notifications() == []


# -- kernel errors and extended ACKs ------------------------------------------------------


def ethtool(sock: GenlSocket) -> Family:
    try:
        return sock.resolve_family("ethtool")
    except errors.NotFoundError:
        if in_ci():
            raise
        pytest.skip("this kernel has no ethtool netlink family")


def test_ethtool_no_such_device(sock: GenlSocket) -> None:
    family = ethtool(sock)
    enc = AttributeEncoder()
    with enc.nested(ETHTOOL_A_LINKINFO_HEADER):
        enc.string(ETHTOOL_A_HEADER_DEV_NAME, "nosuchdev0")
    with pytest.raises(errors.NoDeviceError) as info:
        sock.execute(family.id, ETHTOOL_MSG_LINKINFO_GET, enc)
    exc = info.value
    assert exc.errno == errno.ENODEV
    assert exc.code == lib.NLE_NODEV
    assert exc.ext_ack is not None
    assert exc.ext_ack.message  # the kernel's text, "no device matches name"
    assert "device" in exc.ext_ack.message
    assert exc.ext_ack.offset == 24  # nlmsghdr 16 + genlmsghdr 4 + nest header 4
    assert exc.ext_ack.attribute_path == (ETHTOOL_A_LINKINFO_HEADER, ETHTOOL_A_HEADER_DEV_NAME)
    assert exc.ext_ack.message in str(exc)
    # The error consumed the request: the next one is answered in step.
    assert sock.resolve_family("nlctrl").id == 16


def test_ethtool_wrongly_typed_attribute(sock: GenlSocket) -> None:
    family = ethtool(sock)
    enc = AttributeEncoder()
    with enc.nested(ETHTOOL_A_LINKINFO_HEADER):
        enc.u8(ETHTOOL_A_HEADER_DEV_INDEX, 1)  # the policy says u32
    with pytest.raises(errors.InvalidError) as info:
        sock.execute(family.id, ETHTOOL_MSG_LINKINFO_GET, enc)
    exc = info.value
    assert isinstance(exc, ValueError)
    assert exc.errno == errno.EINVAL
    assert exc.ext_ack is not None
    assert exc.ext_ack.offset == 24
    assert exc.ext_ack.attribute_path == (ETHTOOL_A_LINKINFO_HEADER, ETHTOOL_A_HEADER_DEV_INDEX)


def test_ethtool_loopback_reply(sock: GenlSocket) -> None:
    family = ethtool(sock)
    enc = AttributeEncoder()
    with enc.nested(ETHTOOL_A_LINKSTATE_HEADER):
        enc.string(ETHTOOL_A_HEADER_DEV_NAME, "lo")
    (reply,) = sock.execute(family.id, ETHTOOL_MSG_LINKSTATE_GET, enc)
    assert reply.family_id == family.id
    header = reply.attrs.nested(ETHTOOL_A_LINKSTATE_HEADER)
    assert header.u32(ETHTOOL_A_HEADER_DEV_INDEX) == 1
    assert header.string(ETHTOOL_A_HEADER_DEV_NAME) == "lo"


def test_peer_error_ack_carries_errno_and_ext_ack(peer: FakePeer, client: GenlSocket) -> None:
    def handler(p: FakePeer, req: Request) -> None:
        p.ack(req, -errno.EPERM, message="not allowed")

    peer.serve(handler)
    with pytest.raises(errors.NotPermittedError) as info:
        client.execute(FAKE_FAMILY, FAKE_CMD)
    assert isinstance(info.value, PermissionError)
    assert info.value.errno == errno.EPERM
    assert info.value.ext_ack.message == "not allowed"


# -- dumps ---------------------------------------------------------------------------------


def test_dump_done_error_is_raised(peer: FakePeer, client: GenlSocket) -> None:
    seen: list[int] = []

    def handler(p: FakePeer, req: Request) -> None:
        seen.append(req.seq)
        if len(seen) == 1:
            p.dump(req, [[marker("one")]], error=-errno.EBUSY)
        else:
            ack_with("next")(p, req)

    peer.serve(handler)
    with pytest.raises(errors.BusyError) as info:
        client.dump(FAKE_FAMILY, FAKE_CMD)
    assert info.value.errno == errno.EBUSY
    assert info.value.code == lib.NLE_BUSY
    # The dump was consumed through DONE: the socket is in step.
    (reply,) = client.execute(FAKE_FAMILY, FAKE_CMD)
    assert reply.attrs.string(1) == "next"
    assert client.dropped == 0


def test_dump_done_ext_ack_message(peer: FakePeer, client: GenlSocket) -> None:
    def handler(p: FakePeer, req: Request) -> None:
        p.send_raw(
            req.port,
            p.genl_message(req.family_id, req.cmd, marker("x"), seq=req.seq, flags=lib.NLM_F_MULTI),
        )
        p.done(req, -errno.EBUSY, message="table is being resized")

    peer.serve(handler)
    with pytest.raises(errors.BusyError) as info:
        client.dump(FAKE_FAMILY, FAKE_CMD)
    assert info.value.ext_ack is not None
    assert info.value.ext_ack.message == "table is being resized"
    assert "table is being resized" in str(info.value)


def test_dump_interrupted_raises(peer: FakePeer, client: GenlSocket) -> None:
    peer.serve(lambda p, req: p.dump(req, [[marker("a"), marker("b")]], interrupted=True))
    with pytest.raises(errors.DumpInterruptedError) as info:
        client.dump(FAKE_FAMILY, FAKE_CMD)
    assert info.value.code == lib.NLE_DUMP_INTR
    assert client.dropped == 0


def test_dump_interrupted_retry_succeeds(peer: FakePeer, client: GenlSocket) -> None:
    answers: list[int] = []

    def handler(p: FakePeer, req: Request) -> None:
        answers.append(req.seq)
        if len(answers) == 1:
            p.dump(req, [[marker("stale-1"), marker("stale-2")]], interrupted=True)
        else:
            p.dump(req, [[marker("fresh-1")], [marker("fresh-2")]])

    peer.serve(handler)
    replies = client.dump(FAKE_FAMILY, FAKE_CMD, retries=1)
    assert [m.attrs.string(1) for m in replies] == ["fresh-1", "fresh-2"]
    assert len(answers) == 2 and answers[0] != answers[1]
    assert {m.seq for m in replies} == {answers[1]}
    assert client.dropped == 0


def test_multipart_dump_over_several_datagrams(peer: FakePeer, client: GenlSocket) -> None:
    parts = [[marker(f"{d}.{i}") for i in range(n)] for d, n in enumerate([3, 1, 5, 2])]
    peer.serve(lambda p, req: p.dump(req, parts))
    replies = client.dump(FAKE_FAMILY, FAKE_CMD)
    expected = [f"{d}.{i}" for d, n in enumerate([3, 1, 5, 2]) for i in range(n)]
    assert [m.attrs.string(1) for m in replies] == expected
    assert all(m.flags & lib.NLM_F_MULTI for m in replies)


def test_kernel_dump_spans_several_datagrams(sock: GenlSocket) -> None:
    # The full GETFAMILY dump (ops and groups included) does not fit one datagram here;
    # the count still matches and every message is a distinct family.
    families = sock.dump(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY)
    names = [m.attrs.string(lib.CTRL_ATTR_FAMILY_NAME) for m in families]
    assert len(names) == len(set(names))
    assert "nlctrl" in names


# -- notifications in a private network namespace -----------------------------------------


def test_netdev_dev_add_notification_in_netns(netns: str) -> None:
    sock = call_in_netns(netns, lambda: GenlSocket(timeout=5))
    try:
        netdev = sock.resolve_family("netdev")
        group = sock.join_group("netdev", "mgmt")
        assert group == netdev.group("mgmt").id

        created = threading.Event()
        failures: list[BaseException] = []

        def create() -> None:
            try:
                ip("-n", netns, "link", "add", "vA", "type", "veth", "peer", "name", "vB")
            except BaseException as exc:
                failures.append(exc)
            finally:
                created.set()

        creator = threading.Thread(target=create)
        creator.start()
        request = AttributeEncoder()
        request.u32(NETDEV_A_DEV_IFINDEX, 1)  # lo, which every namespace has
        executes = 0
        while not created.is_set() or executes < 50:
            replies = sock.execute(netdev.id, NETDEV_CMD_DEV_GET, request)
            assert [(m.family_id, m.cmd) for m in replies] == [(netdev.id, NETDEV_CMD_DEV_GET)]
            assert replies[0].attrs.u32(NETDEV_A_DEV_IFINDEX) == 1
            executes += 1
        creator.join()
        assert failures == []

        (link,) = json.loads(ip("-n", netns, "-j", "link", "show", "vA"))
        ifindex = link["ifindex"]
        seen = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            msg = sock.next_notification(timeout=5)
            seen.append((msg.family_id, msg.cmd, msg.attrs.u32(NETDEV_A_DEV_IFINDEX)))
            if msg.cmd == NETDEV_CMD_DEV_ADD_NTF and seen[-1][2] == ifindex:
                break
        assert (netdev.id, NETDEV_CMD_DEV_ADD_NTF, ifindex) in seen, seen
        assert all(family_id == netdev.id for family_id, _cmd, _index in seen)
        assert msg.seq == 0
        assert sock.dropped == 0
    finally:
        sock.free()


def test_notifications_from_peer(peer: FakePeer, client: GenlSocket) -> None:
    for i in range(3):
        peer.notify(client.port, FAKE_FAMILY, FAKE_CMD + i, marker(f"event {i}"))
    got = list(client.notifications(timeout=0.5))
    assert [(m.cmd, m.attrs.string(1), m.seq) for m in got] == [
        (FAKE_CMD + i, f"event {i}", 0) for i in range(3)
    ]


def test_notification_between_request_and_reply(peer: FakePeer, client: GenlSocket) -> None:
    def handler(p: FakePeer, req: Request) -> None:
        p.notify(req.port, FAKE_FAMILY, 99, marker("event"))
        p.reply(req, marker("reply"))
        p.ack(req)

    peer.serve(handler)
    (reply,) = client.execute(FAKE_FAMILY, FAKE_CMD)
    assert (reply.cmd, reply.attrs.string(1)) == (FAKE_CMD, "reply")
    (event,) = client.poll_notifications()
    assert (event.cmd, event.attrs.string(1)) == (99, "event")


def test_next_notification_timeout(sock: GenlSocket) -> None:
    start = time.monotonic()
    with pytest.raises(errors.NetlinkTimeoutError) as info:
        sock.next_notification(timeout=0.2)
    elapsed = time.monotonic() - start
    assert 0.2 <= elapsed < 1.5
    assert isinstance(info.value, TimeoutError)
    assert info.value.errno == errno.ETIMEDOUT


# -- overrun ---------------------------------------------------------------------------------


def free_group(sock: GenlSocket) -> int:
    """A generic netlink multicast group id (1..31) that no family uses."""
    used = {g.id for f in sock.list_families() for g in f.groups}
    return max(set(range(1, 32)) - used)


def flood(peer: FakePeer, group: int, count: int = 200) -> None:
    """Multicast ``count`` notifications (seq 0) from ``peer`` to ``group``.

    Multicast, not unicast: the kernel marks a receiver overrun (ENOBUFS) only
    for kernel senders and multicast; a userspace unicast to a full socket
    blocks the sender instead (see test_userspace_unicast_flood_blocks_the_sender).
    Sending to a group needs CAP_NET_ADMIN.
    """
    with peer.sock._locked():
        lib.nl_socket_set_peer_groups(peer.sock._ptr(), 1 << (group - 1))
    for i in range(count):
        enc = AttributeEncoder()
        enc.u32(1, i)
        enc.put(2, b"\0" * 500)
        # To port 0 as well: the kernel ignores a message without NLM_F_REQUEST.
        peer.send_raw(0, peer.genl_message(FAKE_FAMILY, FAKE_CMD, enc))


@pytest.fixture
def small(root: None) -> Iterator[tuple[GenlSocket, int]]:
    """A GenlSocket with a 4 KiB receive buffer joined to an unused group."""
    with GenlSocket(rcvbuf=4096, timeout=3) as s:
        group = free_group(s)
        assert s.join_group(lib.GENL_ID_CTRL, group) == group
        yield s, group


def assert_overrun(exc: OverrunError, count: int) -> None:
    assert isinstance(exc, errors.NetlinkError)
    assert isinstance(exc, errors.OutOfMemoryError)
    assert exc.errno == errno.ENOBUFS
    assert exc.code == lib.NLE_NOMEM
    assert exc.count == count


def assert_nlctrl_works(sock: GenlSocket, timeout: float = 3) -> None:
    (reply,) = sock.execute(
        lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, getfamily("nlctrl"), timeout=timeout
    )
    assert reply.attrs.u16(lib.CTRL_ATTR_FAMILY_ID) == 16


def test_overrun_from_poll_notifications(small: tuple[GenlSocket, int], peer: FakePeer) -> None:
    sock, group = small
    flood(peer, group)
    with pytest.raises(OverrunError) as info:
        sock.poll_notifications()
    assert_overrun(info.value, 1)
    assert sock.overruns == 1
    # What the buffer held before it overran is still delivered, in order.
    kept = sock.poll_notifications()
    assert 1 <= len(kept) < 200
    assert [m.attrs.u32(1) for m in kept] == list(range(len(kept)))
    assert all((m.family_id, m.cmd, m.seq) == (FAKE_FAMILY, FAKE_CMD, 0) for m in kept)
    with pytest.raises(errors.NetlinkTimeoutError):
        sock.next_notification(timeout=0.1)  # the overrun is reported once
    assert_nlctrl_works(sock)
    assert sock.overruns == 1


def test_overrun_from_next_notification(small: tuple[GenlSocket, int], peer: FakePeer) -> None:
    sock, group = small
    flood(peer, group)
    with pytest.raises(OverrunError) as info:
        sock.next_notification(timeout=1)
    assert_overrun(info.value, 1)
    assert sock.next_notification(timeout=1).attrs.u32(1) == 0
    flood(peer, group)  # again, once the queue was drained
    sock.poll_notifications()  # drains the rest of the first flood ...
    with pytest.raises(OverrunError) as info:
        while True:  # ... and reaches the second overrun
            sock.poll_notifications()
    assert_overrun(info.value, 2)
    assert sock.overruns == 2


def test_execute_right_after_overrun(small: tuple[GenlSocket, int], peer: FakePeer) -> None:
    sock, group = small
    flood(peer, group)
    with pytest.raises(OverrunError):
        sock.poll_notifications()
    assert_nlctrl_works(sock, timeout=1)


def test_overrun_fails_the_request_in_flight(small: tuple[GenlSocket, int], peer: FakePeer) -> None:
    sock, group = small
    flood(peer, group)
    with pytest.raises(OverrunError) as info:
        sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, getfamily("nlctrl"))
    assert_overrun(info.value, 1)
    try:
        kept = sock.poll_notifications()
    except OverrunError as again:  # the notification reader may be told too, once
        assert again.count == 1
        kept = sock.poll_notifications()
    assert [m.attrs.u32(1) for m in kept] == list(range(len(kept)))
    assert kept
    assert_nlctrl_works(sock)
    assert sock.overruns == 1


def test_userspace_unicast_flood_blocks_the_sender(peer: FakePeer) -> None:
    with GenlSocket(peer_port=peer.port, rcvbuf=4096, timeout=2) as sock:
        with peer.sock._locked():
            assert lib.nl_socket_set_nonblocking(peer.sock._ptr()) == 0
        sent = 0
        with pytest.raises(errors.TryAgainError):
            for i in range(1000):
                peer.notify(sock.port, FAKE_FAMILY, FAKE_CMD, marker(f"{i:0500d}"))
                sent += 1
        assert 0 < sent < 1000
        got = sock.poll_notifications()  # no OverrunError: nothing was dropped
        assert [int(m.attrs.string(1)) for m in got] == list(range(sent))
        assert sock.overruns == 0


# -- timeouts, late and spoofed replies ------------------------------------------------------


def test_request_timeout_and_late_reply(peer: FakePeer, client: GenlSocket) -> None:
    start = time.monotonic()
    with pytest.raises(errors.NetlinkTimeoutError) as info:
        client.execute(FAKE_FAMILY, FAKE_CMD, timeout=0.3)
    elapsed = time.monotonic() - start
    assert 0.3 <= elapsed < 1.5
    exc = info.value
    assert isinstance(exc, TimeoutError)
    assert isinstance(exc, errors.NetlinkError)
    assert exc.errno == errno.ETIMEDOUT
    assert exc.timeout == 0.3

    late = peer.recv_request()
    peer.reply(late, marker("late"))
    peer.ack(late)
    peer.serve(ack_with("fresh"))
    (reply,) = client.execute(FAKE_FAMILY, FAKE_CMD)
    assert reply.attrs.string(1) == "fresh"
    assert reply.seq != late.seq
    assert client.dropped == 2  # the late reply and the late ACK


def test_dump_timeout(peer: FakePeer, client: GenlSocket) -> None:
    start = time.monotonic()
    with pytest.raises(errors.NetlinkTimeoutError):
        client.dump(FAKE_FAMILY, FAKE_CMD, timeout=0.2)
    assert 0.2 <= time.monotonic() - start < 1.5


def test_spoofed_reply_is_dropped(peer: FakePeer, client: GenlSocket) -> None:
    with FakePeer() as spoofer:

        def handler(p: FakePeer, req: Request) -> None:
            spoofer.reply(req, marker("spoofed"))  # right seq, wrong port
            spoofer.ack(req)
            p.reply(req, marker("real"))
            p.ack(req)

        peer.serve(handler)
        replies = client.execute(FAKE_FAMILY, FAKE_CMD)
        assert [(m.attrs.string(1), m.port) for m in replies] == [("real", peer.port)]
        assert client.dropped == 2
        assert client.poll_notifications() == []


# -- threads -----------------------------------------------------------------------------------


def test_8_threads_share_one_socket(sock: GenlSocket) -> None:
    names = sorted(f.name for f in sock.list_families())
    ids = {f.name: f.id for f in sock.list_families()}
    start = threading.Barrier(8)

    def worker(k: int) -> int:
        start.wait()
        for i in range(1000):
            name = names[(k + i) % len(names)]
            replies = sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, getfamily(name))
            assert len(replies) == 1, (k, i, replies)
            assert replies[0].attrs.string(lib.CTRL_ATTR_FAMILY_NAME) == name
            assert replies[0].attrs.u16(lib.CTRL_ATTR_FAMILY_ID) == ids[name]
        return k

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(worker, range(8), timeout=60)) == list(range(8))
    assert sock.dropped == 0


def test_reply_pumped_by_another_thread_wakes_the_waiter(
    peer: FakePeer, client: GenlSocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thread A executes; thread B calls poll_notifications() while A is about to poll.

    The wrapper only orders the two threads deterministically: A has pumped and
    found nothing, the peer's answer arrives, B's pump routes it to A's request,
    then A goes to sleep in poll().
    """
    import select

    from libnl_py.genl import engine as genl_engine

    real_poll = genl_engine.poll_readable
    main = threading.get_ident()
    interleaved = []
    polling = threading.Event()  # the peer answers only once A is about to sleep

    def poll(fd: int, wake: int, timeout: float | None) -> None:
        if threading.get_ident() == main and not interleaved:
            interleaved.append(True)
            polling.set()
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            assert poller.poll(5000), "the peer did not answer"
            other = threading.Thread(target=client.poll_notifications)
            other.start()
            other.join()
        real_poll(fd, wake, timeout)

    def answer_in_one_datagram(p: FakePeer, req: Request) -> None:
        assert polling.wait(5), "the client never went to poll()"
        reply = p.genl_message(req.family_id, req.cmd, marker("answer"), seq=req.seq)
        ack = p.message(
            lib.NLMSG_ERROR, lib.NLM_F_CAPPED, req.seq, p.port, struct.pack("=i", 0) + req.raw[:16]
        )
        p.send_raw(req.port, reply + ack)

    monkeypatch.setattr(genl_engine, "poll_readable", poll)
    peer.serve(answer_in_one_datagram)
    started = time.monotonic()
    (reply,) = client.execute(FAKE_FAMILY, FAKE_CMD, timeout=5)
    assert reply.attrs.string(1) == "answer"
    assert interleaved == [True]
    # Woken at once, not when the timeout ran out.
    assert time.monotonic() - started < 2.5


# -- fork ---------------------------------------------------------------------------------------


def test_forked_child_gets_forked_socket_error(sock: GenlSocket) -> None:
    assert sock.resolve_family("nlctrl").id == 16
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report through the pipe, never return into pytest
        try:
            os.close(read_end)
            try:
                sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, getfamily("nlctrl"))
            except errors.ForkedSocketError as exc:
                bad = isinstance(exc, errors.BadSocketError)
                result = f"ForkedSocketError errno={exc.errno} bad_socket={bad}"
            except BaseException as exc:
                result = f"{type(exc).__name__}: {exc}"
            else:
                result = "no error"
            os.write(write_end, result.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert b"".join(chunks).decode() == f"ForkedSocketError errno={errno.EBADF} bad_socket=True"
    # The parent's socket is untouched and still in step.
    (reply,) = sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, getfamily("nlctrl"))
    assert reply.attrs.string(lib.CTRL_ATTR_FAMILY_NAME) == "nlctrl"
    assert sock.dropped == 0


# -- misc ------------------------------------------------------------------------------------


def test_execute_returns_genl_messages_with_decode(sock: GenlSocket) -> None:
    (reply,) = sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, getfamily("nlctrl"))
    assert isinstance(reply, GenlMessage)
    assert reply.port == 0  # the kernel
    assert reply.version >= 1


def test_freed_socket_raises(sock: GenlSocket) -> None:
    sock.free()
    with pytest.raises(errors.FreedSocketError):
        sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, getfamily("nlctrl"))
    assert repr(sock) == "<GenlSocket freed>"


def test_freed_socket_raises_for_a_family_it_resolved_by_name(sock: GenlSocket) -> None:
    """The cached family of a name answers nothing once the socket is freed."""
    request = {"family-name": "nlctrl"}
    assert sock.execute("nlctrl", "getfamily", request, decode=True)[0]["family-id"] == 16
    sock.free()
    with pytest.raises(errors.FreedSocketError):
        sock.execute("nlctrl", "getfamily", request, decode=True)


def test_a_request_by_names_asked_again_encodes_the_same(sock: GenlSocket) -> None:
    """The second request by names takes the cached C encoder; its errors stay Python's."""
    first = sock.execute("nlctrl", "getfamily", {"family-name": "ethtool"}, decode=True)
    again = sock.execute("nlctrl", "getfamily", {"family-name": "ethtool"}, decode=True)
    assert first == again and first[0]["family-name"] == "ethtool"
    for _ in range(2):  # a value C leaves to Python: the same error both times
        with pytest.raises(TypeError):
            sock.execute("nlctrl", "getfamily", {"family-name": 5})
    assert sock.execute(16, 3, getfamily("nlctrl"))[0].cmd == lib.CTRL_CMD_NEWFAMILY


def test_dump_interrupted_on_done_alone_raises(peer: FakePeer, client: GenlSocket) -> None:
    """NLM_F_DUMP_INTR set only on NLMSG_DONE still marks the dump interrupted."""

    def handler(p: FakePeer, req: Request) -> None:
        p.send_raw(
            req.port,
            p.genl_message(req.family_id, req.cmd, marker("a"), seq=req.seq, flags=lib.NLM_F_MULTI),
        )
        done = struct.pack("=i", 0)
        flags = lib.NLM_F_MULTI | lib.NLM_F_DUMP_INTR
        p.send_raw(req.port, p.message(lib.NLMSG_DONE, flags, req.seq, p.port, done))

    peer.serve(handler)
    with pytest.raises(errors.DumpInterruptedError) as info:
        client.dump(FAKE_FAMILY, FAKE_CMD)
    assert info.value.code == lib.NLE_DUMP_INTR
    assert client.dropped == 0


def test_raw_recv_with_nothing_queued_does_not_block(sock: GenlSocket) -> None:
    """GenlSocket leaves its fd blocking, but raw calls make it non-blocking first."""
    started = time.monotonic()
    with pytest.raises(errors.TryAgainError):
        sock.recv()
    assert time.monotonic() - started < 1
    # The client still works afterwards, on the now non-blocking fd.
    assert sock.resolve_family("nlctrl").id == lib.GENL_ID_CTRL


def test_raw_send_simple_to_a_full_peer_does_not_block() -> None:
    with FakePeer(rcvbuf=4096) as peer, GenlSocket(peer_port=peer.port) as sock:
        sent = 0
        with pytest.raises(errors.TryAgainError):
            for _ in range(1000):  # the silent peer's small receive buffer fills up
                sock.send_simple(FAKE_FAMILY, 0, b"\0" * 512)
                sent += 1
        assert 0 < sent < 1000


def test_concurrent_notification_readers_each_get_their_own(peer: FakePeer) -> None:
    """Readers in several threads: every notification reaches exactly one of them."""
    with GenlSocket(peer_port=peer.port, timeout=5) as sock:
        got: list[int] = []
        failures: list[BaseException] = []
        lock = threading.Lock()

        def reader() -> None:
            while True:
                try:
                    msg = sock.next_notification(timeout=0.5)
                except errors.NetlinkTimeoutError:
                    return
                except BaseException as exc:
                    failures.append(exc)
                    return
                with lock:
                    got.append(msg.attrs.u32(1))

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for t in threads:
            t.start()
        for i in range(3000):
            enc = AttributeEncoder()
            enc.u32(1, i)
            peer.notify(sock.port, FAKE_FAMILY, FAKE_CMD, enc)
        for t in threads:
            t.join()
        assert failures == []
        assert sorted(got) == list(range(3000))
