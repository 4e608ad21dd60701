"""libnl_py.testing.FakePeer: the userspace generic netlink peer used by the client tests.

The peer runs on real netlink sockets (no privileges needed); the client is a
real :class:`GenlSocket` pointed at the peer's port.
"""

from __future__ import annotations

import errno
import struct
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from libnl_py import errors, lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.genl import GenlSocket
from libnl_py.message import MalformedMessageError
from libnl_py.testing import FakePeer, Request

FAMILY = 0x1234  # no kernel family: the peer decides what it is
CMD = 7


@pytest.fixture
def background() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


def attrs(**values: int | str) -> AttributeEncoder:
    """Attribute 1.. in keyword order: ints as u32, strs as strings."""
    enc = AttributeEncoder()
    for i, value in enumerate(values.values(), start=1):
        if isinstance(value, str):
            enc.string(i, value)
        else:
            enc.u32(i, value)
    return enc


def test_peer_has_its_own_port(peer: FakePeer, client: GenlSocket) -> None:
    assert peer.port not in (0, client.port)
    assert client.peer_port == peer.port


def test_recv_request_parses_the_request(
    peer: FakePeer, client: GenlSocket, background: ThreadPoolExecutor
) -> None:
    pending = background.submit(client.execute, FAMILY, CMD, attrs(name="eth0", index=3), version=4)
    req = peer.recv_request()
    assert isinstance(req, Request)
    assert (req.family_id, req.cmd, req.message.version) == (FAMILY, CMD, 4)
    assert req.port == client.port
    assert req.message.port == client.port  # nlmsg_pid of the request
    assert req.seq != 0 and req.seq == req.message.seq
    assert req.message.flags == lib.NLM_F_REQUEST | lib.NLM_F_ACK
    assert req.message.attrs.string(1) == "eth0"
    assert req.message.attrs.u32(2) == 3
    assert struct.unpack_from("=I", req.raw)[0] == len(req.raw)
    peer.ack(req)
    assert pending.result(5) == []


def test_reply_and_ack_reach_the_client(
    peer: FakePeer, client: GenlSocket, background: ThreadPoolExecutor
) -> None:
    pending = background.submit(client.execute, FAMILY, CMD)
    req = peer.recv_request()
    peer.reply(req, attrs(answer=42))
    peer.reply(req, attrs(answer=43), cmd=CMD + 1)
    peer.ack(req)
    first, second = pending.result(5)
    assert (first.family_id, first.cmd, first.seq, first.port) == (FAMILY, CMD, req.seq, peer.port)
    assert first.attrs.u32(1) == 42
    assert (second.cmd, second.attrs.u32(1)) == (CMD + 1, 43)
    assert client.dropped == 0


def test_ack_error_with_ext_ack(
    peer: FakePeer, client: GenlSocket, background: ThreadPoolExecutor
) -> None:
    pending: Future[object] = background.submit(client.execute, FAMILY, CMD, attrs(a=1, b="x"))
    req = peer.recv_request()
    # Offset 28: the second attribute (16 nlmsghdr + 4 genlmsghdr + 8 of attribute 1).
    peer.ack(req, -errno.EINVAL, message="b is wrong", offset=28, missing_type=9)
    with pytest.raises(errors.InvalidError) as info:
        pending.result(5)
    exc = info.value
    assert exc.errno == errno.EINVAL
    assert exc.code == lib.NLE_INVAL
    assert exc.ext_ack.message == "b is wrong"
    assert exc.ext_ack.offset == 28
    assert exc.ext_ack.attribute_path == (2,)
    assert exc.ext_ack.missing_type == 9
    assert "b is wrong" in str(exc)


def test_done_and_dump_produce_a_dump(
    peer: FakePeer, client: GenlSocket, background: ThreadPoolExecutor
) -> None:
    pending = background.submit(client.dump, FAMILY, CMD)
    req = peer.recv_request()
    assert req.message.flags & lib.NLM_F_DUMP == lib.NLM_F_DUMP
    assert not req.message.flags & lib.NLM_F_ACK  # a dump ends at NLMSG_DONE
    peer.dump(req, [[attrs(i=0), attrs(i=1)], [attrs(i=2)]])
    replies = pending.result(5)
    assert [m.attrs.u32(1) for m in replies] == [0, 1, 2]
    assert all(m.flags & lib.NLM_F_MULTI for m in replies)
    assert all(m.seq == req.seq for m in replies)


def test_done_error_message(
    peer: FakePeer, client: GenlSocket, background: ThreadPoolExecutor
) -> None:
    pending = background.submit(client.dump, FAMILY, CMD)
    req = peer.recv_request()
    peer.done(req, -errno.EBUSY, message="come back later")
    with pytest.raises(errors.BusyError) as info:
        pending.result(5)
    assert info.value.errno == errno.EBUSY
    assert info.value.ext_ack.message == "come back later"


def test_notify_reaches_the_client(peer: FakePeer, client: GenlSocket) -> None:
    peer.notify(client.port, FAMILY, CMD, attrs(event=5))
    msg = client.next_notification(timeout=5)
    assert (msg.family_id, msg.cmd, msg.seq, msg.port) == (FAMILY, CMD, 0, peer.port)
    assert msg.attrs.u32(1) == 5


def test_genl_message_bytes(peer: FakePeer) -> None:
    data = peer.genl_message(FAMILY, CMD, b"\x05\x00\x01\x00\x09", seq=3, flags=2, version=6)
    assert data == (
        struct.pack("=IHHII", 25, FAMILY, 2, 3, peer.port)
        + struct.pack("=BBH", CMD, 6, 0)
        + b"\x05\x00\x01\x00\x09\0\0\0"
    )


def test_broken_length_fails_the_request(
    peer: FakePeer, client: GenlSocket, background: ThreadPoolExecutor
) -> None:
    pending = background.submit(client.execute, FAMILY, CMD)
    req = peer.recv_request()
    peer.send_raw(req.port, peer.message(FAMILY, 0, req.seq, peer.port, b"\0" * 8, length=200))
    with pytest.raises(MalformedMessageError):
        pending.result(5)
    assert client.dropped == 1


def test_serve_answers_in_the_background(peer: FakePeer, client: GenlSocket) -> None:
    def handler(p: FakePeer, req: Request) -> None:
        value = req.message.attrs.u32(1)
        p.reply(req, attrs(double=2 * value))
        p.ack(req)

    peer.serve(handler)
    for value in range(20):
        (reply,) = client.execute(FAMILY, CMD, attrs(value=value))
        assert reply.attrs.u32(1) == 2 * value
    peer.close()  # joins the serving thread, which counts after the handler returns
    assert peer.served == 20
    assert peer.errors == []


def test_serve_records_handler_errors(peer: FakePeer, client: GenlSocket) -> None:
    answered = threading.Event()

    def handler(p: FakePeer, req: Request) -> None:
        p.ack(req)
        answered.set()
        raise RuntimeError("handler failed")

    peer.serve(handler)
    assert client.execute(FAMILY, CMD) == []
    assert answered.wait(5)
    peer.close()  # joins the serving thread
    assert [str(e) for e in peer.errors] == ["handler failed"]
    assert peer.served == 0


def test_close_is_idempotent() -> None:
    peer = FakePeer()
    peer.close()
    peer.close()
    assert peer.sock.freed
