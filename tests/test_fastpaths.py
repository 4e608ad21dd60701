"""C fast paths against their Python twins: the same input, the same verdict.

Every shortcut taken in C (``lnp_recv_batch`` calling a batch clean, the
``_dispatch`` shortcut for a plain ACK or NLMSG_DONE, the codec's Family records)
has a Python counterpart that names faults (``parse_error``, ``parse_done``,
``family_from_attrs``). Here both see the same hypothesis-made or mutated
inputs and must agree on the result or on the exception class. Also the
regression tests of the defects that such disagreements caused.
"""

from __future__ import annotations

import errno
import os
import struct
import subprocess
import sys
import threading
from typing import Any

import pytest
from conftest import marker, newfamily
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libnl_py import lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.errors import (
    DumpInterruptedError,
    FailureError,
    FreedSocketError,
    NetlinkError,
    ParseError,
    from_errno,
)
from libnl_py.genl import GenlSocket
from libnl_py.genl import family as family_module
from libnl_py.genl.family import Family, family_from_attrs, family_from_bytes
from libnl_py.message import (
    GenlMessage,
    MalformedMessageError,
    pack_genl_request,
    parse_done,
    parse_error,
    split_datagram,
)
from libnl_py.testing import FakePeer, Request

FAKE_FAMILY = 0x1234
NLMSGHDR = struct.Struct("=IHHII")
SCOPED = HealthCheck.function_scoped_fixture  # the module-scoped peer is meant to be shared


# -- terminal messages -------------------------------------------------------------------


class Answer:
    """A peer that answers every request with the bytes ``make(req)`` gives (set per example)."""

    def __init__(self, peer: FakePeer) -> None:
        self.peer = peer
        self.make: Any = None
        peer.serve(self._answer)

    def _answer(self, peer: FakePeer, req: Request) -> None:
        peer.send_raw(req.port, self.make(req))


def terminal(
    msg_type: int, flags: int, body: bytes, *, seq: int, port: int, length: int | None = None
) -> bytes:
    data = NLMSGHDR.pack(16 + len(body) if length is None else length, msg_type, flags, seq, port)
    data += body
    return data + b"\0" * (-len(data) % 4)


def python_verdict(data: bytes, dump: bool) -> type[BaseException] | None:
    """What the Python path makes of a request's only answer ``data``: None is success."""
    # The first message decides (anything after it in the datagram is routed
    # once the request is over).
    length, msg_type, flags, _seq, _port = NLMSGHDR.unpack_from(data)
    if not 16 <= length <= len(data):
        return MalformedMessageError
    start, end = 0, length
    try:
        if msg_type == lib.NLMSG_ERROR:
            error, _ext = parse_error(data, start, end, flags)
        else:
            error, _ext = parse_done(data, start, end, flags)
    except NetlinkError as exc:
        return type(exc)
    if error:
        return type(from_errno(error))
    if flags & lib.NLM_F_DUMP_INTR:
        return DumpInterruptedError
    return None


def socket_verdict(client: GenlSocket, dump: bool) -> type[BaseException] | None:
    try:
        if dump:
            result = client.dump(FAKE_FAMILY, 1, timeout=2)
        else:
            result = client.execute(FAKE_FAMILY, 1, timeout=2)
    except NetlinkError as exc:
        return type(exc)
    assert result == []
    return None


ERRORS = st.sampled_from([0, 0, -errno.EINVAL, -errno.ENOENT, -errno.EPERM, -errno.EMSGSIZE, 1])
FLAGS = st.sets(
    st.sampled_from([lib.NLM_F_ACK_TLVS, lib.NLM_F_CAPPED, lib.NLM_F_DUMP_INTR, lib.NLM_F_MULTI])
).map(sum)


@st.composite
def terminals(draw: Any, msg_type: int) -> tuple[int, bytes, int | None]:
    """(flags, body, nlmsg_len override) of an NLMSG_ERROR or NLMSG_DONE, often broken."""
    flags = draw(FLAGS)
    error = struct.pack("=i", draw(ERRORS))
    echoed = NLMSGHDR.pack(20, FAKE_FAMILY, 5, 1, 0)
    tlv = AttributeEncoder()
    tlv.string(lib.NLMSGERR_ATTR_MSG, "m")
    shape = draw(st.sampled_from(["whole", "cut", "tlvs", "junk"]))
    if shape == "whole":
        body = error + (echoed if msg_type == lib.NLMSG_ERROR else b"")
    elif shape == "cut":
        whole = error + echoed
        body = whole[: draw(st.integers(0, len(whole)))]
    elif shape == "tlvs":
        body = error + (echoed if msg_type == lib.NLMSG_ERROR else b"") + tlv.encode()
    else:
        body = draw(st.binary(max_size=40))
    length = draw(st.one_of(st.none(), st.none(), st.integers(0, 16 + len(body) + 8)))
    return flags, body, length


@pytest.fixture(scope="module")
def fake() -> Any:
    with FakePeer() as peer, GenlSocket(peer_port=peer.port, timeout=2) as client:
        yield Answer(peer), client


@settings(max_examples=150, deadline=None, suppress_health_check=[SCOPED])
@given(case=terminals(lib.NLMSG_ERROR), dump=st.booleans())
def test_an_error_message_gets_the_same_verdict_in_c_and_python(
    fake: tuple[Answer, GenlSocket], case: tuple[int, bytes, int | None], dump: bool
) -> None:
    answer, client = fake
    flags, body, length = case
    sample = terminal(lib.NLMSG_ERROR, flags, body, seq=1, port=answer.peer.port, length=length)
    answer.make = lambda req: terminal(
        lib.NLMSG_ERROR, flags, body, seq=req.seq, port=answer.peer.port, length=length
    )
    assert socket_verdict(client, dump) is python_verdict(sample, dump)
    # Whatever it was, the socket is still usable.
    answer.make = lambda req: terminal(lib.NLMSG_ERROR, 0, bytes(20), seq=req.seq, port=0)
    assert client.execute(FAKE_FAMILY, 1, timeout=2) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[SCOPED])
@given(case=terminals(lib.NLMSG_DONE))
def test_a_done_message_gets_the_same_verdict_in_c_and_python(
    fake: tuple[Answer, GenlSocket], case: tuple[int, bytes, int | None]
) -> None:
    answer, client = fake
    flags, body, length = case
    sample = terminal(lib.NLMSG_DONE, flags, body, seq=1, port=answer.peer.port, length=length)
    answer.make = lambda req: terminal(
        lib.NLMSG_DONE, flags, body, seq=req.seq, port=answer.peer.port, length=length
    )
    assert socket_verdict(client, True) is python_verdict(sample, True)


@pytest.mark.parametrize(
    "body",
    [b"", struct.pack("=i", 0), struct.pack("=i", 0) + bytes(8)],
    ids=["16 bytes", "20 bytes, error 0", "28 bytes, error 0"],
)
def test_a_truncated_error_message_is_no_ack(
    peer: FakePeer, client: GenlSocket, body: bytes
) -> None:
    """Defect 1: C took these for a clean ACK and execute() returned []."""
    peer.serve(
        lambda p, req: p.send_raw(
            req.port, terminal(lib.NLMSG_ERROR, 0, body, seq=req.seq, port=p.port)
        )
    )
    with pytest.raises(MalformedMessageError, match="shorter than struct nlmsgerr"):
        client.execute(FAKE_FAMILY, 1)


def test_a_truncated_error_after_replies_is_no_ack(peer: FakePeer, client: GenlSocket) -> None:
    def answer(p: FakePeer, req: Request) -> None:
        p.reply(req, marker("a"))
        p.send_raw(req.port, terminal(lib.NLMSG_ERROR, 0, bytes(4), seq=req.seq, port=p.port))

    peer.serve(answer)
    with pytest.raises(MalformedMessageError):
        client.execute(FAKE_FAMILY, 1)


# -- family replies ----------------------------------------------------------------------

GOOD_FAMILY = newfamily(0x20, "fake", [(1, 2), (7, 0xE)], [("events", 33)])


@st.composite
def mutated_families(draw: Any) -> bytes:
    data = bytearray(GOOD_FAMILY)
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "cut", "zero"]))
        if how == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif how == "cut":
            del data[draw(st.integers(0, len(data))) :]
        elif how == "zero" and len(data) > 20:
            i = draw(st.integers(20, len(data) - 1))
            data[i : i + 4] = bytes(len(data[i : i + 4]))
    return bytes(data)


def python_family(data: bytes) -> Family | type[BaseException]:
    try:
        if len(data) >= 16:
            data = data[: NLMSGHDR.unpack_from(data)[0]]  # one message: what C is given
        msgs = split_datagram(data)
        if not msgs:
            raise MalformedMessageError("no message", 0)
        msg_type, flags, seq, port, start, end = msgs[0]
        msg = GenlMessage(data, start, end, msg_type, flags, seq, port)
        return family_from_attrs(msg.attrs, {})
    except NetlinkError as exc:
        return type(exc)


@settings(max_examples=1500, deadline=None)
@given(data=mutated_families())
def test_a_family_reply_gets_the_same_verdict_in_c_and_python(data: bytes) -> None:
    """Defect 2 and its class: C's answer is Python's, and Python never raises a bare error."""
    expected = python_family(data)  # a NetlinkError subclass or a Family, never KeyError
    got = family_module._record(data, {})  # the accelerator's, or None (declined, or none)
    if got is not None:
        assert got == expected
    else:
        # C declines; family_from_bytes then gives exactly Python's verdict.
        try:
            again: Family | type[BaseException] = family_from_bytes(data, {})
        except NetlinkError as exc:
            again = type(exc)
        assert again == expected


def test_a_family_reply_without_its_id_raises_parse_error() -> None:
    enc = AttributeEncoder()
    enc.string(lib.CTRL_ATTR_FAMILY_NAME, "fake")
    data = pack_genl_request(lib.GENL_ID_CTRL, 0, 1, 0, lib.CTRL_CMD_NEWFAMILY, 2, enc.encode())
    with pytest.raises(ParseError, match="without CTRL_ATTR_FAMILY_ID"):
        family_from_bytes(data)


@pytest.mark.parametrize("size", [0, 1, 15])
def test_family_input_shorter_than_a_header_raises_malformed(size: int) -> None:
    with pytest.raises(MalformedMessageError):
        family_from_bytes(GOOD_FAMILY[:size])


def test_resolve_family_with_a_reply_lacking_its_id(peer: FakePeer, client: GenlSocket) -> None:
    enc = AttributeEncoder()
    enc.string(lib.CTRL_ATTR_FAMILY_NAME, "fake")

    def answer(p: FakePeer, req: Request) -> None:
        p.reply(req, enc, cmd=lib.CTRL_CMD_NEWFAMILY)
        p.ack(req)

    peer.serve(answer)
    with pytest.raises(ParseError):
        client.resolve_family("fake")


# -- long timeouts -----------------------------------------------------------------------


def test_a_timeout_beyond_poll_range_waits_instead_of_overflowing(
    peer: FakePeer, client: GenlSocket
) -> None:
    """Defect 3: 2.2e6 s is more milliseconds than poll() takes."""
    release = threading.Event()

    def late(p: FakePeer, req: Request) -> None:
        release.wait(5)
        p.ack(req)

    peer.serve(late)
    threading.Timer(0.2, release.set).start()
    assert client.execute(FAKE_FAMILY, 1, timeout=2_200_000) == []


def test_a_socket_timeout_beyond_poll_range(peer: FakePeer) -> None:
    with GenlSocket(peer_port=peer.port, timeout=2_200_000) as client:
        peer.serve(lambda p, req: p.ack(req))
        assert client.execute(FAKE_FAMILY, 1) == []


def test_raw_recv_with_a_timeout_beyond_poll_range(peer: FakePeer) -> None:
    with GenlSocket(peer_port=peer.port) as client:
        threading.Timer(0.2, lambda: peer.send_raw(client.port, marker_message(peer))).start()
        data, port = client.recv(timeout=2.2e6)
        assert port == peer.port and data == marker_message(peer)


def marker_message(peer: FakePeer) -> bytes:
    return peer.genl_message(FAKE_FAMILY, 9, marker("late"), seq=0)


def test_notification_wait_beyond_poll_range(peer: FakePeer, client: GenlSocket) -> None:
    threading.Timer(0.2, lambda: peer.send_raw(client.port, marker_message(peer))).start()
    msg = client.next_notification(timeout=1e12)
    assert msg.cmd == 9 and msg.attrs.string(1) == "late"


# -- cached answers after free ----------------------------------------------------------


def test_cached_lookups_raise_after_free(sock: GenlSocket) -> None:
    """Defect 4: the family cache answered after free()."""
    nlctrl = sock.resolve_family("nlctrl")
    assert sock.resolve_group("nlctrl", "notify") == nlctrl.group("notify").id
    sock.free()
    with pytest.raises(FreedSocketError):
        sock.resolve_family("nlctrl")
    with pytest.raises(FreedSocketError):
        sock.resolve_group("nlctrl", "notify")
    with pytest.raises(FreedSocketError):
        sock.resolve_group(nlctrl, "notify")


# -- errno of our own system calls -------------------------------------------------------


def test_a_send_error_keeps_its_errno(sock: GenlSocket) -> None:
    """Defect 5: EMSGSIZE from sendmsg came back as FailureError with errno EIO."""
    with pytest.raises(FailureError) as info:
        sock.execute("nlctrl", "getfamily", b"\0" * (1 << 20))
    assert info.value.errno == errno.EMSGSIZE
    assert info.value.function == "sendto"
    # The socket is still usable.
    assert sock.resolve_family("nlctrl").id == lib.GENL_ID_CTRL


# -- the command line --------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="the dump goes to the kernel's nlctrl")
def test_cli_dump_accepts_json() -> None:
    """`--json` is not an abbreviation of `--json-attrs` any more."""
    out = subprocess.run(
        [sys.executable, "-m", "libnl_py", "dump", "nlctrl", "getfamily", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert '"family-name": "nlctrl"' in out.stdout


def test_cli_refuses_abbreviated_options() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "libnl_py", "do", "nlctrl", "getfamily", "--json-a", "{}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 2
    assert "unrecognized arguments: --json-a" in out.stderr
