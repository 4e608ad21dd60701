"""libnl_py.bindings.genl: RecvBatch, the socket's receive batch, over the C helpers.

``lnp_batch_transact`` and ``lnp_batch_recv`` are plain C called through
cffi: bad arguments must raise a clear exception before anything is sent or
touched, a batch without a socket must refuse, and what they read is checked
against the running kernel (``nlctrl``) and a fake peer. The descriptors come
back as a list (``libnl_py._codec.words``, or memoryview's ``tolist``).
"""

from __future__ import annotations

import array
import copy
import errno
import gc
import pickle
import select
import struct
from collections.abc import Callable
from typing import Any

import pytest
from conftest import getfamily, marker

from libnl_py import errors, lib
from libnl_py._ffi import ffi
from libnl_py.bindings import genl as _g
from libnl_py.genl import GenlSocket
from libnl_py.genl.engine import clean_replies
from libnl_py.genl.family import family_from_bytes
from libnl_py.message import GenlMessage, pack_genl_request
from libnl_py.testing import FakePeer

try:
    from libnl_py import _codec
except ImportError:  # PyPy
    _codec = None  # type: ignore[assignment]

NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
CTRL = lib.GENL_ID_CTRL
GETFAMILY = lib.CTRL_CMD_GETFAMILY
NEWFAMILY = lib.CTRL_CMD_NEWFAMILY


def header_fields(data: bytes | memoryview, offset: int = 0) -> tuple[int, int, int, int, int]:
    fields: tuple[int, int, int, int, int] = NLMSGHDR.unpack_from(data, offset)
    return fields


def without_seq_and_pid(msg: GenlMessage) -> tuple[Any, ...]:
    """A reply with what differs between requests and sockets (seq, nlmsg_pid) left out."""
    data = msg.data
    return (msg.family_id, msg.cmd, msg.version, msg.flags, msg.port, data[:8], data[16:])


def filled(batch: _g.RecvBatch, *messages: bytes) -> list[int]:
    """``messages`` written into the batch's arena as lnp_recv_batch lays them out; their
    descriptors, the last one a terminal."""
    desc: list[int] = []
    at = 0
    for i, msg in enumerate(messages):
        batch.view[at : at + len(msg)] = msg
        _length, msg_type, flags, seq, port = NLMSGHDR.unpack_from(msg)
        kind = _g.TERMINAL if i == len(messages) - 1 else _g.REPLY
        desc += [kind, msg_type, flags, seq, port, at, at + len(msg), 0]
        at += (len(msg) + 3) & ~3
    return desc


def ack(seq: int) -> bytes:
    echoed = NLMSGHDR.pack(20, CTRL, lib.NLM_F_REQUEST, seq, 0)
    payload = struct.pack("=i", 0) + echoed
    return NLMSGHDR.pack(16 + len(payload), lib.NLMSG_ERROR, lib.NLM_F_CAPPED, seq, 0) + payload


def listed(found: tuple[int, Any]) -> tuple[int, list[int]]:
    """recv's (result, descriptors) with the descriptors as a list (a view until the next)."""
    return found[0], found[1].tolist()


@pytest.fixture
def lone_batch() -> _g.RecvBatch:
    """A batch never opened: its socket pointer is NULL."""
    batch = _g.RecvBatch()
    assert batch.batch.sk == ffi.NULL
    return batch


# -- bad input -------------------------------------------------------------------------


def test_no_address_is_handed_out() -> None:
    """The batch goes to C as its cffi pointer, never as an address in a Python int."""
    assert not hasattr(_g.RecvBatch(), "address")


@pytest.mark.parametrize(
    ("family", "flags", "cmd", "version"),
    [(0x10000, 0, 3, 2), (16, 0x10000, 3, 2), (16, 0, 0x100, 2), (16, 0, 3, 0x100)],
)
def test_transact_header_field_out_of_range_raises_overflow_error(
    lone_batch: _g.RecvBatch, family: int, flags: int, cmd: int, version: int
) -> None:
    with pytest.raises(OverflowError):
        lone_batch.transact(family, flags, cmd, version, b"")


def test_transact_header_fields_at_their_limits_pass_the_range_check(
    lone_batch: _g.RecvBatch,
) -> None:
    # The range check comes before the socket check: at the limits, the
    # batch's missing socket is what is reported.
    with pytest.raises(ValueError) as info:
        lone_batch.transact(0xFFFF, 0xFFFF, 0xFF, 0xFF, b"")
    assert str(info.value) == "batch has no socket"
    for index in range(4):
        args: list[Any] = [CTRL, 0, GETFAMILY, 2, b""]
        args[index] = -1
        with pytest.raises(OverflowError):
            lone_batch.transact(*args)
        args[index] = "1"
        with pytest.raises(TypeError):
            lone_batch.transact(*args)


def test_unopened_batch_has_no_socket(lone_batch: _g.RecvBatch) -> None:
    calls: list[Callable[[], object]] = [
        lambda: lone_batch.transact(CTRL, lib.NLM_F_REQUEST, GETFAMILY, 2, b""),
        lambda: lone_batch.recv(0, 0, False),
        lambda: lone_batch.recv(0xFFFFFFFF, 0xFFFFFFFF, True),
    ]
    lone_batch.batch.seq = 77  # a stale sequence number is no reply
    for call in calls[:1]:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == "batch has no socket"
    lone_batch.batch.seq = 0
    for call in calls[1:]:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == "batch has no socket"
    assert lone_batch.batch.sk == ffi.NULL
    assert (lone_batch.batch.peer, lone_batch.batch.seq) == (0, 0)  # nothing was set


def test_recv_port_or_seq_out_of_range_raises_overflow_error(sock: GenlSocket) -> None:
    batch = sock.engine.batch
    with sock._locked():
        for peer, seq in ((1 << 32, 0), (0, 1 << 32), (-1, 0), (0, -1)):
            with pytest.raises(OverflowError):
                batch.recv(peer, seq, False)

        class Undecided:
            def __bool__(self) -> bool:
                raise RuntimeError("undecided")

        with pytest.raises(RuntimeError, match="undecided"):
            batch.recv(0, 5, Undecided())  # type: ignore[arg-type]
        # Nothing was set on the batch.
        assert (batch.batch.peer, batch.batch.seq) == (0, 0)
    assert sock.resolve_family("nlctrl").id == CTRL


def test_transact_payload_must_be_bytes(sock: GenlSocket) -> None:
    batch = sock.engine.batch
    payload = getfamily("nlctrl").encode()
    fd = sock.fileno()  # before the lock: fileno() takes it
    with sock._locked():
        for bad in (payload.decode("latin-1"), bytearray(payload), memoryview(payload), None):
            with pytest.raises(TypeError):
                batch.transact(CTRL, lib.NLM_F_REQUEST, GETFAMILY, 2, bad)  # type: ignore[arg-type]
        # Nothing was sent: nothing is queued.
        assert select.select([fd], [], [], 0)[0] == []
    (reply,) = sock.execute(CTRL, GETFAMILY, getfamily("nlctrl"))
    assert reply.attrs.string(lib.CTRL_ATTR_FAMILY_NAME) == "nlctrl"


ANY = _g.ANY_KIND
MAKERS = [pytest.param(_g.messages_of, id="python")]
if _codec is not None:
    MAKERS.append(pytest.param(_codec.messages, id="c"))


@pytest.mark.parametrize("make", MAKERS)
def test_messages_rejects_bad_descriptors(lone_batch: _g.RecvBatch, make: Any) -> None:
    desc = filled(lone_batch, pack_genl_request(0x30, 0, 5, 0, 1, 1, b""), ack(5))
    with pytest.raises(ValueError, match="desc must be whole descriptors"):
        make(lone_batch.view, desc[:15], _g.REPLY, GenlMessage, 0, [], ANY)
    outside = [_g.REPLY, 0x30, 0, 5, 0, len(lone_batch.view) - 4, len(lone_batch.view) + 4, 0]
    backwards = [_g.REPLY, 0x30, 0, 5, 0, 40, 20, 0]
    for bad in (outside, backwards):
        with pytest.raises(ValueError, match="descriptor span outside the buffer"):
            make(lone_batch.view, bad, _g.REPLY, GenlMessage, 0, [], ANY)
    for factory in (None, 5, "GenlMessage"):
        with pytest.raises(TypeError):
            make(lone_batch.view, desc, _g.REPLY, factory, 0, [], ANY)


@pytest.mark.skipif(_codec is None, reason="libnl_py._codec is not built (PyPy?)")
def test_c_messages_makes_only_genl_messages(lone_batch: _g.RecvBatch) -> None:
    """C fills GenlMessage's C base: a class adding fields (or none of it) is refused."""
    desc = filled(lone_batch, pack_genl_request(0x30, 0, 5, 0, 1, 1, b""), ack(5))

    class Wider(GenlMessage):
        __slots__ = ("extra",)

    for cls in (Wider, int, _codec.Decoder):
        with pytest.raises(TypeError, match="subclasses of Message"):
            _codec.messages(lone_batch.view, desc, _g.REPLY, cls, 0, [], ANY)
    for hdrsizes in ("4", None, [4]):
        with pytest.raises(TypeError, match="hdrsizes is an int or a dict"):
            _codec.messages(lone_batch.view, desc, _g.REPLY, GenlMessage, hdrsizes, [], ANY)
    with pytest.raises(ValueError, match="hdrsize out of range"):
        _codec.messages(lone_batch.view, desc, _g.REPLY, GenlMessage, -1, [], ANY)


# -- messages -------------------------------------------------------------------------------


class _Fam:
    def __init__(self, hdrsize: Any) -> None:
        self.hdrsize = hdrsize


def fields(msg: GenlMessage) -> tuple[Any, ...]:
    return (
        type(msg),
        msg.family_id,
        msg.cmd,
        msg.version,
        msg.flags,
        msg.seq,
        msg.port,
        msg.data,
        msg.header,
        msg.attrs_offset,
        msg.data[msg.attrs_offset :],
    )


@pytest.mark.parametrize("make", MAKERS)
def test_messages_makes_every_message_of_its_kind(lone_batch: _g.RecvBatch, make: Any) -> None:
    messages = [
        pack_genl_request(0x30, 2, 9, 77, 1, 1, marker("a").encode()),
        pack_genl_request(0x31, 2 | 0x10, 9, 78, 2, 3, b"\x01\x02\x03\x04" + marker("bb").encode()),
        pack_genl_request(0x32, 0, 0xFFFFFFFF, 0xFFFFFFFF, 3, 1, b"\0" * 4),
    ]
    desc = filled(lone_batch, *messages, ack(9))
    made: list[GenlMessage] = []
    rest, flags = make(lone_batch.view, desc, _g.REPLY, GenlMessage, 4, made, ANY)
    assert (rest, flags) == (desc[24:], 0x12)  # the terminal; the replies' flags, ORed
    assert [(m.family_id, m.cmd, m.version, m.flags, m.seq, m.port) for m in made] == [
        (0x30, 1, 1, 2, 9, 77),
        (0x31, 2, 3, 0x12, 9, 78),
        (0x32, 3, 1, 0, 0xFFFFFFFF, 0xFFFFFFFF),
    ]
    assert [m.data for m in made] == messages
    assert all(type(m.data) is bytes and type(m.seq) is int for m in made)
    assert made[1].header == b"\x01\x02\x03\x04"
    assert made[1].attrs.string(1) == "bb"
    # Appended to what out held; only a terminal, or nothing: nothing made.
    more: list[Any] = ["kept"]
    assert make(lone_batch.view, desc[24:], _g.REPLY, GenlMessage, 0, more, ANY) == (desc[24:], 0)
    assert make(lone_batch.view, [], _g.REPLY, GenlMessage, 0, more, ANY) == ([], 0)
    assert more == ["kept"]
    # Another kind: every descriptor comes back.
    assert make(lone_batch.view, desc, _g.NOTIFY, GenlMessage, 0, more, ANY) == (desc, 0)
    assert make(lone_batch.view, desc, _g.NOTIFY, GenlMessage, 0, more, 0) == (desc, 0)
    assert more == ["kept"]


@pytest.mark.parametrize("make", MAKERS)
def test_messages_takes_header_sizes_by_family(lone_batch: _g.RecvBatch, make: Any) -> None:
    """Notifications: each family's hdrsize from a dict of families; too short ones stay."""
    messages = [
        pack_genl_request(0x30, 0, 0, 0, 1, 1, b"\x01\x02\x03\x04" + marker("x").encode()),
        pack_genl_request(0x31, 0, 0, 0, 2, 1, marker("y").encode()),
        pack_genl_request(0x32, 0, 0, 0, 3, 1, b"\0" * 4),  # too short for hdrsize 8
        pack_genl_request(0x33, 0, 0, 0, 4, 1, b""),
    ]
    desc = filled(lone_batch, *messages, ack(1))
    for i in range(0, 32, 8):
        desc[i] = _g.NOTIFY
    families = {0x30: _Fam(4), 0x32: _Fam(8), 0x33: _Fam(0)}
    made: list[GenlMessage] = []
    rest, _flags = make(lone_batch.view, desc, _g.NOTIFY, GenlMessage, families, made, ANY)
    # The walk stops at the one too short: it and all after it are the caller's to route.
    assert rest == desc[16:]
    assert [(m.family_id, m.header, m.attrs_offset) for m in made] == [
        (0x30, b"\x01\x02\x03\x04", 24),
        (0x31, b"", 20),
    ]
    assert made[0].attrs.string(1) == "x"
    # A family the dict holds None for has no header; one larger than any message: too short.
    made = []
    rest, _flags = make(
        lone_batch.view, desc, _g.NOTIFY, GenlMessage, {0x30: None, 0x31: _Fam(1 << 70)}, made, ANY
    )
    assert [m.family_id for m in made] == [0x30] and rest == desc[8:]
    assert made[0].header == b""
    for bad, exc in ((_Fam("4"), TypeError), (_Fam(-1), ValueError), (object(), AttributeError)):
        with pytest.raises(exc):
            make(lone_batch.view, desc, _g.NOTIFY, GenlMessage, {0x30: bad}, [], ANY)
    # A fixed size larger than any message: nothing made; a negative one refused.
    assert make(lone_batch.view, desc, _g.NOTIFY, GenlMessage, 1 << 70, [], ANY) == (desc, 0)
    with pytest.raises(ValueError, match="hdrsize out of range"):
        make(lone_batch.view, desc, _g.NOTIFY, GenlMessage, -(1 << 70), [], ANY)


@pytest.mark.parametrize("make", MAKERS)
def test_messages_stops_at_a_kind_it_may_not_pass(lone_batch: _g.RecvBatch, make: Any) -> None:
    """Notifications stay in order: the walk steps only over the kinds it is told to."""
    messages = [pack_genl_request(0x30, 0, 0, 0, cmd, 1, b"") for cmd in range(1, 6)]
    desc = filled(lone_batch, *messages)
    kinds = [_g.NOTIFY, _g.REPLY, _g.NOTIFY, _g.OTHER, _g.NOTIFY]
    for i, kind in enumerate(kinds):
        desc[i * 8] = kind
    made: list[GenlMessage] = []
    rest, _flags = make(lone_batch.view, desc, _g.NOTIFY, GenlMessage, 0, made, _g.REQUEST_KINDS)
    assert [m.cmd for m in made] == [1, 3]
    assert rest == desc[8:16] + desc[24:]  # the reply stepped over; from the OTHER on, all
    made = []
    rest, _flags = make(lone_batch.view, desc, _g.NOTIFY, GenlMessage, 0, made, ANY)
    assert [m.cmd for m in made] == [1, 3, 5]


@pytest.mark.skipif(_codec is None, reason="libnl_py._codec is not built (PyPy?)")
def test_c_messages_equal_the_reference(lone_batch: _g.RecvBatch) -> None:
    """Both makers, over messages of every length around the headers and hdrsizes."""
    messages = [
        pack_genl_request(0x30 + n, n, n, n, n, n % 3, bytes(range(n))) for n in range(0, 40, 3)
    ]
    desc = filled(lone_batch, *messages, ack(1))
    for i in range(0, len(desc), 16):
        desc[i] = _g.NOTIFY
    for kind in (_g.REPLY, _g.NOTIFY, _g.TERMINAL):
        for hdrsizes in (0, 4, 12, {0x30 + n: _Fam(n % 9) for n in range(0, 40, 2)}):
            made_py: list[GenlMessage] = []
            rest_py = _g.messages_of(
                lone_batch.view, desc, kind, GenlMessage, hdrsizes, made_py, ANY
            )
            # The words as a list, or as the buffer the batch hands out: the same.
            for words in (desc, memoryview(array.array("I", desc))):
                made_c: list[GenlMessage] = []
                rest_c = _codec.messages(
                    lone_batch.view, words, kind, GenlMessage, hdrsizes, made_c, ANY
                )
                assert rest_c == rest_py
                assert [fields(m) for m in made_c] == [fields(m) for m in made_py]
                assert all(m._attrs is None for m in made_c)
    # A buffer of anything but uint32 words is refused, not read as if it were.
    for wrong in (b"\0" * 32, memoryview(array.array("Q", [0] * 8)), array.array("i", [0] * 8)):
        with pytest.raises(TypeError, match="uint32"):
            _codec.messages(lone_batch.view, wrong, _g.REPLY, GenlMessage, 0, [], ANY)
    with pytest.raises(ValueError, match="desc must be whole descriptors"):
        _codec.messages(
            lone_batch.view, array.array("I", [0] * 7), _g.REPLY, GenlMessage, 0, [], ANY
        )


def test_a_message_made_in_c_is_a_genl_message() -> None:
    """GenlMessage built in Python (its own __init__) has the same fields, checked as before."""
    data = pack_genl_request(0x30, 2, 9, 77, 5, 6, marker("a").encode())
    msg = GenlMessage(data, 0, len(data), 0x30, 2, 9, 77)
    assert (msg.cmd, msg.version, msg.attrs.string(1)) == (5, 6, "a")
    assert not hasattr(msg, "__dict__")
    with pytest.raises(AttributeError):
        msg.other = 1  # type: ignore[attr-defined]
    with pytest.raises(errors.MessageTooShortError, match="shorter than its generic netlink"):
        GenlMessage(data, 0, len(data), 0x30, 2, 9, 77, hdrsize=64)


def test_a_genl_message_copies_and_pickles() -> None:
    data = pack_genl_request(0x30, 2, 9, 77, 5, 6, b"\x01\x02\x03\x04" + marker("a").encode())
    msg = GenlMessage(data, 0, len(data), 0x30, 2, 9, 77, hdrsize=4)
    msg.cmd = 99  # a field set since: the copy has it too
    for other in (
        copy.copy(msg),
        copy.deepcopy(msg),
        *(
            pickle.loads(pickle.dumps(msg, protocol))
            for protocol in range(pickle.HIGHEST_PROTOCOL + 1)
        ),
    ):
        assert type(other) is GenlMessage and other is not msg
        assert fields(other) == fields(msg) and other.cmd == 99
        assert other.attrs.string(1) == "a"


def test_clean_replies_raises_for_a_reply_too_short(lone_batch: _g.RecvBatch) -> None:
    messages = [pack_genl_request(0x30, 0, 9, 0, 1, 1, b"") for _ in range(3)]
    desc = filled(lone_batch, *messages, ack(9))
    assert len(clean_replies(lone_batch.view, desc, 0)) == 3
    with pytest.raises(errors.MessageTooShortError, match="shorter than its generic netlink"):
        clean_replies(lone_batch.view, desc, 8)


# -- the descriptor list ---------------------------------------------------------------


def test_descriptors_are_the_table_s_words_until_the_next_receive(sock: GenlSocket) -> None:
    """transact and recv hand out a view of the descriptor table, not a copy."""
    batch = sock.engine.batch
    flags = lib.NLM_F_REQUEST | lib.NLM_F_ACK
    with sock._locked():
        _seq, _result, desc = batch.transact(
            CTRL, flags, GETFAMILY, 2, getfamily("nlctrl").encode()
        )
        assert isinstance(desc, memoryview) and desc.format == "I" and len(desc) == 16
        assert desc.obj is batch.words.obj
        kept = desc.tolist()
        batch.transact(CTRL, flags, GETFAMILY, 2, getfamily("nlctrl").encode())
        assert desc.tolist() != kept  # the next request's words, where this one's were


# -- transact and recv, against the kernel ---------------------------------------------


def test_transact_reads_a_clean_reply_and_ack(sock: GenlSocket) -> None:
    batch = sock.engine.batch
    flags = lib.NLM_F_REQUEST | lib.NLM_F_ACK
    with sock._locked():
        seq, result, desc = batch.transact(CTRL, flags, GETFAMILY, 2, getfamily("nlctrl").encode())
        view = batch.view
        length = header_fields(view)[0]
        assert result == _g.CLEAN
        assert desc.tolist() == [
            *[_g.REPLY, CTRL, 0, seq, 0, 0, length, 0],
            *[_g.TERMINAL, lib.NLMSG_ERROR, lib.NLM_F_CAPPED, seq, 0, length, length + 36, 0],
        ]
        assert all(type(word) is int for word in desc)
        assert header_fields(view) == (length, CTRL, 0, seq, sock.port)
        assert header_fields(view, length) == (
            36,
            lib.NLMSG_ERROR,
            lib.NLM_F_CAPPED,
            seq,
            sock.port,
        )
        assert (batch.batch.seq, batch.batch.datagrams) == (seq, 2)
        (reply,) = clean_replies(batch.view, desc, 0)
        assert (reply.family_id, reply.cmd, reply.seq, reply.port) == (CTRL, NEWFAMILY, seq, 0)
        assert family_from_bytes(reply.data).name == "nlctrl"
        # Nothing more is queued; the next request takes the next number.
        assert listed(batch.recv(0, seq, False)) == (_g.AGAIN, [])
        assert batch.transact(CTRL, flags, GETFAMILY, 2, b"")[0] == seq + 1
        batch.recv(0, seq + 1, False)


def test_a_batch_kept_after_its_socket_was_dropped_unfreed_still_reads_a_live_socket() -> None:
    """The batch holds its nl_sock: no freed memory read, whoever holds the batch."""
    sock = GenlSocket()
    batch, port = sock.engine.batch, sock.port
    del sock
    gc.collect()
    flags = lib.NLM_F_REQUEST | lib.NLM_F_ACK
    seq, result, desc = batch.transact(CTRL, flags, GETFAMILY, 2, getfamily("nlctrl").encode())
    assert result == _g.CLEAN and seq >= 1
    assert desc[0] == _g.REPLY and header_fields(batch.view)[4] == port
    batch.give_back()  # lets go of the nl_sock: now it is freed, and the batch fails cleanly
    with pytest.raises(ValueError, match="no socket"):
        batch.transact(CTRL, flags, GETFAMILY, 2, b"")


def test_transact_error_ack_is_done_not_clean(sock: GenlSocket) -> None:
    batch = sock.engine.batch
    flags = lib.NLM_F_REQUEST | lib.NLM_F_ACK
    with sock._locked():
        seq, result, desc = batch.transact(
            CTRL, flags, GETFAMILY, 2, getfamily("no-such-family").encode()
        )
        length = header_fields(batch.view)[0]
        assert result == _g.DONE
        assert desc[2] & ~lib.NLM_F_ACK_TLVS == lib.NLM_F_CAPPED  # a message is the kernel's choice
        assert desc.tolist()[:2] + desc.tolist()[3:] == [
            *[_g.TERMINAL, lib.NLMSG_ERROR],
            *[seq, 0, 0, length, -errno.ENOENT & 0xFFFFFFFF],
        ]


def test_a_failed_send_raises_with_its_errno(sock: GenlSocket) -> None:
    batch = sock.engine.batch
    with sock._locked(), pytest.raises(errors.FailureError) as info:
        batch.transact(CTRL, lib.NLM_F_REQUEST, GETFAMILY, 2, b"\0" * (1 << 20))
    assert info.value.errno == errno.EMSGSIZE
    assert batch.batch.seq == 0


def test_transact_and_recv_sort_a_queued_notification(sock: GenlSocket, peer: FakePeer) -> None:
    group = sock.join_group("nlctrl", "notify")
    assert group == CTRL  # nlctrl's group has the family's id
    note = peer.genl_message(CTRL, NEWFAMILY, marker("queued"))
    batch = sock.engine.batch
    with sock._locked():
        peer.multicast(group, note)
        assert listed(batch.recv(0, 0, False)) == (
            _g.AGAIN,
            [_g.NOTIFY, CTRL, 0, 0, peer.port, 0, len(note), 0],
        )
        assert bytes(batch.view[: len(note)]) == note
        # Queued ahead of a reply, it makes the batch not clean.
        peer.multicast(group, note)
        seq, result, desc = batch.transact(
            CTRL,
            lib.NLM_F_REQUEST | lib.NLM_F_ACK,
            GETFAMILY,
            2,
            getfamily("nlctrl").encode(),
        )
        assert result == _g.DONE
        assert [desc[i : i + 5].tolist() for i in range(0, len(desc), 8)] == [
            [_g.NOTIFY, CTRL, 0, 0, peer.port],
            [_g.REPLY, CTRL, 0, seq, 0],
            [_g.TERMINAL, lib.NLMSG_ERROR, lib.NLM_F_CAPPED, seq, 0],
        ]
        assert bytes(batch.view[desc[5] : desc[6]]) == note


# -- through GenlSocket ------------------------------------------------------------------


def test_pooled_batch_serves_a_new_socket(peer: FakePeer) -> None:
    # Room in the pool, so that the freed socket's batch is kept there.
    del _g._pool[_g._POOL_SIZE - 1 :]
    first = GenlSocket(timeout=5)
    batch = first.engine.batch
    first.set_peer_port(peer.port)
    assert batch.batch.peer == peer.port
    port = first.port
    first.free()
    assert _g._pool[-1] is batch
    # Pooled, it has no socket: a stale call fails cleanly.
    assert batch.batch.sk == ffi.NULL
    with pytest.raises(ValueError, match="batch has no socket"):
        batch.recv(0, 0, False)
    with pytest.raises(ValueError, match="batch has no socket"):
        batch.transact(CTRL, lib.NLM_F_REQUEST, GETFAMILY, 2, b"")
    assert first.port == port  # a freed socket still says which port it had
    with pytest.raises(errors.FreedSocketError):
        first.execute(CTRL, GETFAMILY, getfamily("nlctrl"))
    with GenlSocket(timeout=5) as second:
        assert second.engine.batch is batch
        assert batch.batch.sk == second._sk
        assert (batch.batch.peer, second.peer_port) == (0, 0)  # the kernel, not the old peer
        assert second.port != port
        assert second.resolve_family("nlctrl").id == CTRL
        (reply,) = second.execute(CTRL, GETFAMILY, getfamily("nlctrl"))
        assert (reply.family_id, reply.cmd, reply.port) == (CTRL, NEWFAMILY, 0)
        assert header_fields(reply.data)[4] == second.port
        assert family_from_bytes(reply.data) == second.resolve_family("nlctrl")
    # Nothing went to the first socket's peer.
    assert select.select([peer.sock.fileno()], [], [], 0)[0] == []
    assert first.port == port


def test_execute_replies_are_the_same_across_repeats(sock: GenlSocket) -> None:
    replies = [sock.execute(CTRL, GETFAMILY, getfamily("nlctrl")) for _ in range(100)]
    assert [len(r) for r in replies] == [1] * 100
    seqs = [r[0].seq for r in replies]
    assert seqs == list(range(seqs[0], seqs[0] + 100))
    for (reply,), seq in zip(replies, seqs):
        assert header_fields(reply.data)[3:] == (seq, sock.port)
    assert {without_seq_and_pid(r[0]) for r in replies} == {without_seq_and_pid(replies[0][0])}


def test_routed_path_gives_the_same_replies_as_the_clean_path(
    sock: GenlSocket, peer: FakePeer
) -> None:
    with GenlSocket(timeout=5) as other:
        group = other.join_group("nlctrl", "notify")
        notes = [peer.genl_message(CTRL, NEWFAMILY, marker(f"n{i}")) for i in range(3)]

        def queue(note: bytes) -> None:
            peer.multicast(group, note)
            assert select.select([other.fileno()], [], [], 5)[0] == [other.fileno()]

        clean = sock.execute(CTRL, GETFAMILY, getfamily("nlctrl"))
        queue(notes[0])
        routed = other.execute(CTRL, GETFAMILY, getfamily("nlctrl"))
        # execute read the notification and queued it apart from the replies.
        assert select.select([other.fileno()], [], [], 0)[0] == []
        assert [without_seq_and_pid(m) for m in routed] == [without_seq_and_pid(m) for m in clean]
        assert header_fields(routed[0].data)[4] == other.port

        # The family decoder's routed path (decode_batch in _dispatch): a request, a dump.
        listed = sock.list_families()
        assert listed[-1].name != "nlctrl"  # so other has not resolved it yet
        queue(notes[1])
        assert other.resolve_family(listed[-1].name) == listed[-1]
        queue(notes[2])
        assert other.list_families() == listed

        received = other.poll_notifications()
        assert [m.data for m in received] == notes
        assert [(m.family_id, m.cmd, m.seq, m.port) for m in received] == [
            (CTRL, NEWFAMILY, 0, peer.port)
        ] * 3


def test_notifications_are_queued_in_the_order_they_came(sock: GenlSocket) -> None:
    """Multicast ones are made in one C call, a unicast one (seq 0) in Python: in order."""
    engine = sock.engine
    batch = engine.batch
    messages = [pack_genl_request(0x30, 0, 0, 0, cmd, 1, b"") for cmd in range(1, 5)]
    with sock._locked():
        desc = filled(batch, *messages)
        for i, kind in enumerate([_g.NOTIFY, _g.OTHER, _g.NOTIFY, _g.NOTIFY]):
            desc[i * 8] = kind
        engine.groups.add(0x7FFF)  # as if a group were joined: the C path is taken
        try:
            engine._dispatch(memoryview(array.array("I", desc)), None)
        finally:
            engine.groups.discard(0x7FFF)
    assert [m.cmd for m in sock.poll_notifications()] == [1, 2, 3, 4]
