"""Callbacks: Python callables under libnl's nl_recvmsgs, and the send and receive calls.

A userspace peer (:class:`~libnl_py.testing.FakePeer`) sends the client
exactly the messages that make libnl call each callback type. Every exception
a callback raises must come out of the Python call that ran libnl; every
message a callback received must be dead after it returns; a callback
returning garbage must raise, not crash. Misuse runs in a subprocess (this
file as a script), so that a crash shows as a signal.
"""

from __future__ import annotations

import ctypes
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from libnl_py import (
    NL_AUTO_PORT,
    NL_AUTO_SEQ,
    NL_OK,
    NL_SKIP,
    NL_STOP,
    Callbacks,
    Message,
    Socket,
    errors,
    lib,
)
from libnl_py.bindings import handlers
from libnl_py.callbacks import (
    NL_CB_ACK,
    NL_CB_CUSTOM,
    NL_CB_DEBUG,
    NL_CB_DEFAULT,
    NL_CB_DUMP_INTR,
    NL_CB_FINISH,
    NL_CB_INVALID,
    NL_CB_MSG_IN,
    NL_CB_MSG_OUT,
    NL_CB_OVERRUN,
    NL_CB_SEND_ACK,
    NL_CB_SEQ_CHECK,
    NL_CB_SKIPPED,
    NL_CB_VALID,
    NL_CB_VERBOSE,
    ErrorMessage,
)
from libnl_py.msg import Address, Header
from libnl_py.testing import FakePeer

NLMSGHDR = struct.Struct("=IHHII")
FAMILY = 0x1234
CMD = 7


class Boom(Exception):
    """What the callbacks here raise."""


def boom(*args: object) -> int:
    raise Boom("from a callback")


class Pair:
    """A FakePeer and a plain Socket that receives from it."""

    def __init__(self) -> None:
        self.peer = FakePeer()
        self.sock = Socket()
        self.sock.genl_connect()
        self.sock.set_peer_port(self.peer.port)
        self.port = self.sock.local_port

    def send(self, *messages: bytes) -> None:
        """One datagram holding ``messages``, to the client."""
        self.peer.send_raw(self.port, b"".join(messages))

    def valid(self, seq: int = 0, flags: int = 0) -> bytes:
        return self.peer.genl_message(FAMILY, CMD, b"", seq=seq, flags=flags)

    def message(self, msg_type: int, flags: int = 0, seq: int = 0, payload: bytes = b"") -> bytes:
        return FakePeer.message(msg_type, flags, seq, self.peer.port, payload)

    def error(self, error: int, seq: int = 0) -> bytes:
        request = NLMSGHDR.pack(16, FAMILY, lib.NLM_F_REQUEST, seq, self.port)
        return self.message(lib.NLMSG_ERROR, 0, seq, struct.pack("=i", error) + request)

    def close(self) -> None:
        self.sock.free()
        self.peer.close()


@pytest.fixture
def pair() -> Iterator[Pair]:
    p = Pair()
    try:
        yield p
    finally:
        p.close()


def request(family: int = FAMILY) -> Message:
    msg = Message()
    msg.genlmsg_put(NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, CMD, 1)
    return msg


# What makes libnl call each message callback type. Auto-ACK is turned off
# (libnl checks sequence numbers only while it is on), except for
# NL_CB_INVALID, which is about them. (nl_socket_disable_seq_check would not
# do: it sets NL_CB_SEQ_CHECK in the socket's own set, not in a Callbacks.)
def trigger(p: Pair, cb_type: int) -> None:
    if cb_type == NL_CB_INVALID:
        p.send(p.valid(seq=12345))  # auto-ACK on: a sequence number libnl does not expect
        return
    p.sock.disable_auto_ack()
    if cb_type in (NL_CB_VALID, NL_CB_MSG_IN, NL_CB_SEQ_CHECK):
        p.send(p.valid())
    elif cb_type == NL_CB_FINISH:
        p.send(p.message(lib.NLMSG_DONE, lib.NLM_F_MULTI, payload=bytes(4)))
    elif cb_type == NL_CB_OVERRUN:
        p.send(p.message(lib.NLMSG_OVERRUN))
    elif cb_type == NL_CB_SKIPPED:
        p.send(p.message(lib.NLMSG_NOOP))
    elif cb_type == NL_CB_ACK:
        p.send(p.error(0))
    elif cb_type == NL_CB_SEND_ACK:
        p.send(p.valid(flags=lib.NLM_F_ACK))
    elif cb_type == NL_CB_DUMP_INTR:
        p.send(p.valid(flags=lib.NLM_F_DUMP_INTR))
    else:
        raise AssertionError(cb_type)


RECEIVE_TYPES = [
    NL_CB_VALID,
    NL_CB_FINISH,
    NL_CB_OVERRUN,
    NL_CB_SKIPPED,
    NL_CB_ACK,
    NL_CB_MSG_IN,
    NL_CB_INVALID,
    NL_CB_SEQ_CHECK,
    NL_CB_SEND_ACK,
    NL_CB_DUMP_INTR,
]
NAMES = handlers.CB_TYPE_NAMES


def raised_in_callback(exc: BaseException) -> bool:
    return any(frame.name == "boom" for frame in traceback.extract_tb(exc.__traceback__))


def still_works(p: Pair) -> None:
    seen: list[int] = []
    with Callbacks() as cb:
        cb.set(NL_CB_VALID, lambda m: seen.append(m.header.type) or NL_OK)
        p.sock.disable_auto_ack()
        p.send(p.valid())
        assert p.sock.recvmsgs(cb) == 0
    assert seen == [FAMILY]


# -- each callback type fires, and its exception comes out --------------------------------


@pytest.mark.parametrize("cb_type", RECEIVE_TYPES, ids=[NAMES[t] for t in RECEIVE_TYPES])
def test_each_type_fires(pair: Pair, cb_type: int) -> None:
    fired: list[Header] = []
    with Callbacks() as cb:
        cb.set(cb_type, lambda m: fired.append(m.header) or NL_SKIP)
        trigger(pair, cb_type)
        assert pair.sock.recvmsgs(cb) == 0
    assert len(fired) == 1


@pytest.mark.parametrize("cb_type", RECEIVE_TYPES, ids=[NAMES[t] for t in RECEIVE_TYPES])
def test_exception_in_each_type_is_raised(pair: Pair, cb_type: int) -> None:
    with Callbacks() as cb:
        cb.set(cb_type, boom)
        trigger(pair, cb_type)
        with pytest.raises(Boom) as info:
            pair.sock.recvmsgs(cb)
    assert raised_in_callback(info.value)
    still_works(pair)


@pytest.mark.parametrize("cb_type", RECEIVE_TYPES, ids=[NAMES[t] for t in RECEIVE_TYPES])
def test_exception_in_each_socket_callback_is_raised(pair: Pair, cb_type: int) -> None:
    pair.sock.modify_cb(cb_type, boom)
    trigger(pair, cb_type)
    with pytest.raises(Boom):
        pair.sock.recvmsgs_default()
    pair.sock.modify_cb(cb_type, None)
    still_works(pair)


def test_exception_in_the_error_callback(pair: Pair) -> None:
    with Callbacks() as cb:
        cb.err(boom)
        pair.sock.disable_auto_ack()
        pair.send(pair.error(-22))
        with pytest.raises(Boom) as info:
            pair.sock.recvmsgs(cb)
    assert raised_in_callback(info.value)
    pair.sock.modify_err_cb(boom)
    pair.send(pair.error(-22))
    with pytest.raises(Boom):
        pair.sock.recvmsgs_default()
    still_works(pair)


def test_exception_in_msg_out_stops_every_send(pair: Pair) -> None:
    pair.sock.modify_cb(NL_CB_MSG_OUT, boom)
    with request() as msg, pytest.raises(Boom):
        pair.sock.send_auto(msg)
    with pytest.raises(Boom):
        pair.sock.send_simple(FAMILY, 0, b"")
    with pytest.raises(Boom):
        pair.sock.genl_ctrl_resolve("nlctrl")
    msg = request()
    started = time.monotonic()
    with pytest.raises(Boom):
        pair.sock.send_sync(msg)  # nothing sent: it must not wait for an ACK
    assert time.monotonic() - started < 1
    assert msg.freed  # nl_send_sync frees it in every case
    with pytest.raises(errors.FreedMessageError, match="send_sync"):
        msg.put_u8(1, 1)
    with pytest.raises(errors.NetlinkTimeoutError):
        pair.peer.recv_request(timeout=0.1)  # none of them was sent


def test_exception_in_wait_for_ack(pair: Pair) -> None:
    pair.sock.modify_cb(NL_CB_VALID, boom)
    pair.sock.disable_auto_ack()
    pair.send(pair.valid())
    pair.send(pair.error(0))
    with pytest.raises(Boom):
        pair.sock.wait_for_ack()  # the reply before the ACK goes to NL_CB_VALID
    assert pair.sock.wait_for_ack() == 0  # the ACK is still there


def test_exception_stops_the_receive_at_once(pair: Pair) -> None:
    calls: list[int] = []

    def first_raises(msg: Message) -> int:
        calls.append(msg.header.seq)
        raise Boom

    with Callbacks() as cb:
        cb.set(NL_CB_VALID, first_raises)
        pair.sock.disable_auto_ack()
        pair.send(pair.valid(seq=1), pair.valid(seq=2), pair.valid(seq=3))
        with pytest.raises(Boom):
            pair.sock.recvmsgs(cb)
    assert calls == [1]  # the rest of the datagram is dropped, as libnl does on any abort


def test_base_exceptions_are_raised_too(pair: Pair) -> None:
    def interrupt(msg: Message) -> int:
        raise KeyboardInterrupt

    with Callbacks() as cb:
        cb.set(NL_CB_VALID, interrupt)
        pair.sock.disable_auto_ack()
        pair.send(pair.valid())
        with pytest.raises(KeyboardInterrupt):
            pair.sock.recvmsgs(cb)


def test_exception_keeps_its_identity(pair: Pair) -> None:
    error = Boom("this one")

    def raise_it(msg: Message) -> int:
        raise error

    with Callbacks() as cb:
        cb.set(NL_CB_VALID, raise_it)
        pair.sock.disable_auto_ack()
        pair.send(pair.valid())
        with pytest.raises(Boom) as info:
            pair.sock.recvmsgs(cb)
    assert info.value is error


def test_raw_layer_exception_goes_to_unraisablehook(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lib.nl_recvmsgs called by hand: nothing is there to re-raise, so it is reported."""
    seen: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    with Callbacks() as cb:
        cb.set(NL_CB_VALID, boom)
        pair.sock.disable_auto_ack()
        pair.send(pair.valid())
        with pair.sock._locked():
            ret = lib.nl_recvmsgs(pair.sock._ptr(), cb._ptr())
    assert ret == handlers.ABORT
    (report,) = seen
    assert isinstance(report.exc_value, Boom)
    assert "outside libnl_py" in report.err_msg


# -- return values ----------------------------------------------------------------------


GARBAGE = [None, True, False, 3, 42, 2**31, 2**40, -(2**40), "0", 1.0, object()]


@pytest.mark.parametrize("value", GARBAGE, ids=[repr(v) for v in GARBAGE])
def test_garbage_return_raises(pair: Pair, value: object) -> None:
    with Callbacks() as cb:
        cb.set(NL_CB_VALID, lambda m: value)  # type: ignore[arg-type,return-value]
        pair.sock.disable_auto_ack()
        pair.send(pair.valid())
        with pytest.raises((TypeError, ValueError)) as info:
            pair.sock.recvmsgs(cb)
    assert "NL_CB_VALID callback" in str(info.value)
    assert "NL_OK" in str(info.value)
    still_works(pair)


@pytest.mark.parametrize("value", GARBAGE, ids=[repr(v) for v in GARBAGE])
def test_garbage_return_from_the_error_callback_raises(pair: Pair, value: object) -> None:
    with Callbacks() as cb:
        cb.err(lambda who, e: value)  # type: ignore[arg-type,return-value]
        pair.sock.disable_auto_ack()
        pair.send(pair.error(-22))
        with pytest.raises((TypeError, ValueError)) as info:
            pair.sock.recvmsgs(cb)
    assert "error callback" in str(info.value)


def test_negative_return_is_libnls_error(pair: Pair) -> None:
    import enum

    class Code(enum.IntEnum):
        INVAL = -lib.NLE_INVAL

    for value in (-lib.NLE_INVAL, Code.INVAL):
        with Callbacks() as cb:
            cb.set(NL_CB_VALID, lambda m, v=value: v)  # type: ignore[misc]
            pair.sock.disable_auto_ack()
            pair.send(pair.valid())
            with pytest.raises(errors.InvalidError) as info:
                pair.sock.recvmsgs(cb)
        assert info.value.function == "nl_recvmsgs"


def test_actions(pair: Pair) -> None:
    """NL_OK goes on, NL_SKIP skips the rest of the message's handling, NL_STOP stops."""
    seen: list[str] = []
    pair.sock.disable_auto_ack()
    with Callbacks() as cb:
        cb.set(NL_CB_MSG_IN, lambda m: seen.append(f"in{m.header.seq}") or NL_SKIP)
        cb.set(NL_CB_VALID, lambda m: seen.append(f"valid{m.header.seq}") or NL_OK)
        pair.send(pair.valid(seq=1), pair.valid(seq=2))
        assert pair.sock.recvmsgs(cb) == 0
        assert seen == ["in1", "in2"]  # NL_SKIP in MSG_IN: VALID never runs
        seen.clear()
        cb.set(NL_CB_MSG_IN, lambda m: seen.append(f"in{m.header.seq}") or NL_STOP)
        pair.send(pair.valid(seq=1), pair.valid(seq=2))
        assert pair.sock.recvmsgs(cb) == 0
        assert seen == ["in1"]
        seen.clear()
        cb.set(NL_CB_MSG_IN, None)
        pair.send(pair.valid(seq=1), pair.valid(seq=2))
        assert pair.sock.recvmsgs_report(cb) == 2
        assert seen == ["valid1", "valid2"]


def test_error_callback(pair: Pair) -> None:
    got: list[tuple[Address, ErrorMessage]] = []
    pair.sock.disable_auto_ack()
    for action, outcome in ((NL_STOP, "InvalidError"), (NL_SKIP, "0"), (NL_OK, "0")):
        with Callbacks() as cb:
            cb.err(lambda who, e, a=action: got.append((who, e)) or a)  # type: ignore[misc]
            pair.send(pair.error(-22, seq=77))
            try:
                result = str(pair.sock.recvmsgs(cb))
            except errors.NetlinkError as exc:
                result = type(exc).__name__
        assert result == outcome, action
    who, err = got[0]
    assert who == Address(pair.peer.port, 0)
    assert err.error == -22
    assert err.request == Header(16, FAMILY, lib.NLM_F_REQUEST, 77, pair.port)
    assert err.data == pair.error(-22, seq=77)
    # Without an error callback libnl returns the error itself.
    with Callbacks() as cb:
        pair.send(pair.error(-1))
        with pytest.raises(errors.NotPermittedError):
            pair.sock.recvmsgs(cb)


# -- the messages callbacks receive --------------------------------------------------------


def test_callback_message_is_valid_only_during_the_call(pair: Pair) -> None:
    kept: list[Any] = []

    def valid(msg: Message) -> int:
        tb = msg.genlmsg_parse(0, 1)
        assert msg.header.type == FAMILY and msg.genl_header.cmd == CMD
        assert msg.src == Address(pair.peer.port, 0)
        assert bytes(msg)[:4] == struct.pack("=I", msg.header.len)
        assert tb[1] is not None and tb[1].get_u32() == 5
        kept.extend([msg, tb[1]])
        return NL_OK

    enc = struct.pack("=HHI", 8, 1, 5)
    with Callbacks() as cb:
        cb.set(NL_CB_VALID, valid)
        pair.sock.disable_auto_ack()
        pair.send(pair.peer.genl_message(FAMILY, CMD, enc))
        assert pair.sock.recvmsgs(cb) == 0
    msg, attr = kept
    assert msg.freed and repr(msg) == "<Message freed>"
    for use in (lambda: msg.header, lambda: bytes(msg), lambda: msg.put_u8(1, 1), attr.get_u32):
        with pytest.raises(errors.FreedMessageError, match="callback"):
            use()


def test_callback_message_cannot_be_freed(pair: Pair) -> None:
    def free_it(msg: Message) -> int:
        with msg:  # a context manager does not free libnl's message either
            pass
        msg.free()
        return NL_OK

    pair.sock.modify_cb(NL_CB_VALID, free_it)
    pair.sock.disable_auto_ack()
    pair.send(pair.valid())
    with pytest.raises(errors.InvalidError, match="belongs to libnl"):
        pair.sock.recvmsgs_default()


def test_msg_out_sees_the_completed_message(pair: Pair) -> None:
    seen: list[Header] = []
    pair.sock.modify_cb(NL_CB_MSG_OUT, lambda m: seen.append(m.header) or NL_OK)
    with request() as msg:
        sent = pair.sock.send_auto(msg)
        assert sent == 20
        (header,) = seen
        assert header == msg.header
        assert header.port == pair.port and header.seq != 0
        assert header.flags == lib.NLM_F_REQUEST | lib.NLM_F_ACK  # auto-ACK, as in libnl
    pair.sock.disable_auto_ack()
    with request() as msg:
        pair.sock.send_auto(msg)
        assert msg.header.flags == lib.NLM_F_REQUEST
        assert msg.header.seq == header.seq + 1
    req = pair.peer.recv_request()
    assert req.seq == header.seq and req.port == pair.port


# -- objects in use by a running call --------------------------------------------------------


def test_callback_cannot_use_its_own_socket(pair: Pair) -> None:
    for use in (
        lambda: pair.sock.local_port,
        lambda: pair.sock.recvmsgs_default(),
        lambda: pair.sock.free(),
        lambda: pair.sock.modify_cb(NL_CB_VALID, None),
    ):
        pair.sock.modify_cb(NL_CB_VALID, lambda m, u=use: u() or NL_OK)  # type: ignore[misc]
        pair.sock.disable_auto_ack()
        pair.send(pair.valid())
        with pytest.raises(errors.BusyError, match="callback"):
            pair.sock.recvmsgs_default()
        assert repr(pair.sock).startswith("<Socket fd=")
    pair.sock.modify_cb(NL_CB_VALID, lambda m: print(repr(pair.sock)) or NL_OK)
    pair.send(pair.valid())
    pair.sock.recvmsgs_default()


def test_callback_cannot_change_its_running_set(pair: Pair) -> None:
    with Callbacks() as cb:
        cb.set(NL_CB_VALID, lambda m: cb.set(NL_CB_VALID, None) or NL_OK)
        pair.sock.disable_auto_ack()
        pair.send(pair.valid())
        with pytest.raises(errors.BusyError):
            pair.sock.recvmsgs(cb)
        cb.set(NL_CB_VALID, lambda m: cb.free() or NL_OK)
        pair.send(pair.valid())
        with pytest.raises(errors.BusyError):
            pair.sock.recvmsgs(cb)
        assert not cb.freed


def test_msg_out_cannot_use_the_message_being_sent(pair: Pair) -> None:
    with request() as msg:
        pair.sock.modify_cb(NL_CB_MSG_OUT, lambda m: msg.free() or NL_OK)
        with pytest.raises(errors.BusyError, match="being sent"):
            pair.sock.send_auto(msg)
        assert not msg.freed
        pair.sock.modify_cb(NL_CB_MSG_OUT, lambda m: print(repr(msg)) or NL_OK)
        pair.sock.send_auto(msg)


def test_callback_may_use_another_socket(pair: Pair) -> None:
    ids: list[int] = []
    with Socket() as other:
        other.genl_connect()
        pair.sock.modify_cb(
            NL_CB_VALID, lambda m: ids.append(other.genl_ctrl_resolve("nlctrl")) or NL_OK
        )
        pair.sock.disable_auto_ack()
        pair.send(pair.valid())
        assert pair.sock.recvmsgs_default() == 0
    assert ids == [lib.GENL_ID_CTRL]


def test_nested_failure_is_raised_from_the_outer_call(pair: Pair) -> None:
    with Socket() as other:
        other.genl_connect()
        other.modify_cb(NL_CB_MSG_OUT, boom)
        pair.sock.modify_cb(NL_CB_VALID, lambda m: other.genl_ctrl_resolve("nlctrl"))
        pair.sock.disable_auto_ack()
        pair.send(pair.valid())
        with pytest.raises(Boom):
            pair.sock.recvmsgs_default()


# -- the Callbacks object ------------------------------------------------------------------------


def test_kinds(pair: Pair, capfd: pytest.CaptureFixture[str]) -> None:
    libc = ctypes.CDLL(None)
    for kind in (NL_CB_DEFAULT, NL_CB_VERBOSE, NL_CB_DEBUG, NL_CB_CUSTOM):
        Callbacks(kind).free()
    with pytest.raises(ValueError):
        Callbacks(4)
    with pytest.raises(TypeError):
        Callbacks("default")  # type: ignore[arg-type]
    with Callbacks(NL_CB_VERBOSE) as cb:
        pair.sock.disable_auto_ack()
        pair.send(pair.valid())
        assert pair.sock.recvmsgs(cb) == 0
        libc.fflush(None)  # libnl's own handler printed, through C's stdio
        assert "unhandled valid message" in capfd.readouterr().out
        cb.set(NL_CB_VALID, kind=NL_CB_DEFAULT)
        pair.send(pair.valid())
        assert pair.sock.recvmsgs(cb) == 0
        libc.fflush(None)
        assert capfd.readouterr().out == ""
        with pytest.raises(ValueError, match="pass no function"):
            cb.set(NL_CB_VALID, boom, kind=NL_CB_VERBOSE)
        with pytest.raises(ValueError, match="pass no function"):
            cb.err(boom, kind=NL_CB_DEBUG)


def test_set_checks(pair: Pair) -> None:
    with Callbacks() as cb:
        for bad_type in (-1, lib.NL_CB_TYPE_MAX + 1, 2**40):
            with pytest.raises(ValueError):
                cb.set(bad_type, boom)
        with pytest.raises(TypeError):
            cb.set("valid", boom)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            cb.set(NL_CB_VALID, 5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            cb.err("nope")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            cb.set(NL_CB_VALID, boom, kind=9)
        cb.set(NL_CB_VALID, boom)
        assert cb.handlers == {NL_CB_VALID: boom}
        assert "NL_CB_VALID=boom" in repr(cb)
        cb.set(NL_CB_VALID, None)
        assert cb.handlers == {}
        assert repr(cb) == "<Callbacks no Python handlers>"


def test_clone(pair: Pair) -> None:
    seen: list[str] = []
    pair.sock.disable_auto_ack()
    with Callbacks() as cb:
        cb.set(NL_CB_VALID, lambda m: seen.append("original") or NL_OK)
        clone = cb.clone()
        cb.free()  # the clone keeps its own copies
        pair.send(pair.valid())
        assert pair.sock.recvmsgs(clone) == 0
        clone.set(NL_CB_VALID, lambda m: seen.append("changed") or NL_OK)
        again = clone.clone()
        clone.set(NL_CB_VALID, None)
        pair.send(pair.valid())
        pair.sock.recvmsgs(again)
        pair.send(pair.valid())
        pair.sock.recvmsgs(clone)
        clone.free()
        again.free()
    assert seen == ["original", "changed"]


def test_free(pair: Pair) -> None:
    cb = Callbacks()
    cb.set(NL_CB_VALID, boom)
    cb.free()
    cb.free()
    assert cb.freed and repr(cb) == "<Callbacks freed>"
    for name, call in callbacks_calls(cb, pair.sock).items():
        assert outcome(call) == "FreedCallbacksError", name
    with cb:
        pass


def test_wrong_arguments_to_socket_calls(pair: Pair) -> None:
    with pytest.raises(TypeError):
        pair.sock.recvmsgs(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pair.sock.send_auto(b"\0" * 16)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pair.sock.send_sync(Callbacks())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pair.sock.genl_ctrl_resolve(b"nlctrl")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        pair.sock.genl_ctrl_resolve("nl\0ctrl")
    with pytest.raises(ValueError):
        pair.sock.modify_cb(99, boom)


# -- threads ------------------------------------------------------------------------------


def test_gil_is_released_while_libnl_blocks(pair: Pair) -> None:
    ran_on: list[int] = []
    done = threading.Event()

    def receiver() -> None:
        with Callbacks() as cb:
            cb.set(NL_CB_VALID, lambda m: ran_on.append(threading.get_ident()) or NL_OK)
            pair.sock.recvmsgs(cb)  # blocks in recvmsg(): nothing is queued yet
        done.set()

    pair.sock.disable_auto_ack()
    thread = threading.Thread(target=receiver)
    thread.start()
    time.sleep(0.1)
    # This thread runs Python, and another socket does libnl calls, meanwhile.
    count = 0
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline:
        count += 1
    assert count > 10_000
    with Socket() as other:
        other.genl_connect()
        assert other.genl_ctrl_resolve("nlctrl") == lib.GENL_ID_CTRL
    assert not done.is_set()
    pair.send(pair.valid())
    thread.join(5)
    assert done.is_set()
    assert ran_on == [thread.ident]


def test_one_lock_per_socket(pair: Pair) -> None:
    """A call on the socket waits for another thread's blocking receive."""
    order: list[str] = []

    def receiver() -> None:
        pair.sock.recvmsgs_default()
        order.append("received")

    def other() -> None:
        pair.sock.local_port  # noqa: B018
        order.append("port")

    pair.sock.disable_auto_ack()
    first = threading.Thread(target=receiver)
    first.start()
    time.sleep(0.1)
    second = threading.Thread(target=other)
    second.start()
    time.sleep(0.1)
    assert second.is_alive() and order == []
    pair.send(pair.valid())
    first.join(5)
    second.join(5)
    assert order == ["received", "port"]


def test_threads_with_their_own_sockets() -> None:
    """Eight threads, each a socket and callbacks of its own, against the kernel."""
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with Socket() as s, Callbacks() as cb:
                s.genl_connect()
                names: list[str] = []
                cb.set(
                    NL_CB_VALID,
                    lambda m: names.append(m.genlmsg_parse(0, 2)[2].get_string()) or NL_OK,  # type: ignore[union-attr]
                )
                for _ in range(50):
                    with Message() as msg:
                        msg.genlmsg_put(0, 0, lib.GENL_ID_CTRL, 0, 0, lib.CTRL_CMD_GETFAMILY, 1)
                        msg.put_string(lib.CTRL_ATTR_FAMILY_NAME, "nlctrl")
                        s.send_auto(msg)
                    s.recvmsgs(cb)
                    s.wait_for_ack()
                assert names == ["nlctrl"] * 50
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []


# -- misuse, in a subprocess --------------------------------------------------------------


def outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except BaseException as exc:
        return type(exc).__name__
    return "ok"


def callbacks_calls(cb: Any, sock: Socket) -> dict[str, Callable[[], object]]:
    """One call of every public method and property of a Callbacks, and of the socket
    calls that take one."""
    return {
        "set": lambda: cb.set(NL_CB_VALID, boom),
        "set (clear)": lambda: cb.set(NL_CB_VALID),
        "err": lambda: cb.err(boom),
        "clone": lambda: cb.clone(),
        "handlers": lambda: cb.handlers,
        "Socket.recvmsgs": lambda: sock.recvmsgs(cb),
        "Socket.recvmsgs_report": lambda: sock.recvmsgs_report(cb),
    }


def test_misuse_matrix_covers_the_public_api(pair: Pair) -> None:
    public = {name for name in dir(Callbacks) if not name.startswith("_")}
    covered = {name.split(" ")[0] for name in callbacks_calls(Callbacks(), pair.sock)}
    assert public == {n for n in covered if not n.startswith("Socket.")} | {"free", "freed"}


def scenario_callbacks_after_free() -> None:
    p = Pair()
    cb = Callbacks()
    cb.set(NL_CB_VALID, boom)
    clone = cb.clone()
    cb.free()
    got = {name: outcome(call) for name, call in callbacks_calls(cb, p.sock).items()}
    assert got == {name: "FreedCallbacksError" for name in got}, got
    # The clone still runs the callback freed with the original's Python side.
    p.sock.disable_auto_ack()
    p.send(p.valid())
    assert outcome(lambda: p.sock.recvmsgs(clone)) == "Boom"
    clone.free()
    p.close()


def scenario_socket_calls_after_free() -> None:
    p = Pair()
    sock = p.sock
    cb = Callbacks()
    sock.free()
    with request() as msg:
        calls = {
            "send_auto": lambda: sock.send_auto(msg),
            "send_sync": lambda: sock.send_sync(msg),
            "recvmsgs": lambda: sock.recvmsgs(cb),
            "recvmsgs_report": lambda: sock.recvmsgs_report(cb),
            "recvmsgs_default": sock.recvmsgs_default,
            "wait_for_ack": sock.wait_for_ack,
            "modify_cb": lambda: sock.modify_cb(NL_CB_VALID, boom),
            "modify_err_cb": lambda: sock.modify_err_cb(boom),
            "genl_ctrl_resolve": lambda: sock.genl_ctrl_resolve("nlctrl"),
            "genl_ctrl_resolve_grp": lambda: sock.genl_ctrl_resolve_grp("nlctrl", "notify"),
            "disable_seq_check": sock.disable_seq_check,
            "disable_auto_ack": sock.disable_auto_ack,
            "enable_auto_ack": sock.enable_auto_ack,
            "enable_msg_peek": sock.enable_msg_peek,
            "disable_msg_peek": sock.disable_msg_peek,
            "set_nonblocking": sock.set_nonblocking,
        }
        got = {name: outcome(call) for name, call in calls.items()}
        assert got == {name: "FreedSocketError" for name in got}, got
        assert not msg.freed  # send_sync on a freed socket never reached libnl
    # Never connected: libnl's own answers.
    with Socket() as fresh, request() as msg:
        assert outcome(lambda: fresh.send_auto(msg)) == "BadSocketError"
        assert outcome(fresh.set_nonblocking) == "BadSocketError"
        assert outcome(fresh.recvmsgs_default) == "BadSocketError"
    cb.free()
    p.close()


def scenario_garbage_returns() -> None:
    p = Pair()
    p.sock.disable_auto_ack()
    for value in [*GARBAGE, float("nan"), 2**64, -(2**31) - 1, b"", [], NL_OK + 0.0]:
        for cb_type in (NL_CB_VALID, NL_CB_MSG_IN, NL_CB_SEQ_CHECK):
            with Callbacks() as cb:
                cb.set(cb_type, lambda m, v=value: v)  # type: ignore[misc]
                p.send(p.valid())
                got = outcome(lambda c=cb: p.sock.recvmsgs(c))  # type: ignore[misc]
                assert got in ("TypeError", "ValueError"), (cb_type, value, got)
        with Callbacks() as cb:
            cb.err(lambda who, e, v=value: v)  # type: ignore[misc]
            p.send(p.error(-22))
            got = outcome(lambda c=cb: p.sock.recvmsgs(c))  # type: ignore[misc]
            assert got in ("TypeError", "ValueError"), ("err", value, got)
    p.sock.modify_cb(NL_CB_MSG_OUT, lambda m: None)  # type: ignore[arg-type,return-value]
    with request() as msg:
        assert outcome(lambda: p.sock.send_auto(msg)) == "TypeError"
    p.close()


def scenario_threads_and_callbacks() -> None:
    """Threads setting, cloning and freeing a set while another receives with it."""
    p = Pair()
    p.sock.disable_auto_ack()
    for _ in range(50):
        cb = Callbacks()
        cb.set(NL_CB_VALID, lambda m: NL_OK)
        stop = threading.Event()
        seen: set[str] = set()

        def meddle(c: Callbacks = cb, e: threading.Event = stop, out: set[str] = seen) -> None:
            while not e.is_set():
                out.add(outcome(lambda: c.set(NL_CB_VALID, lambda m: NL_OK)))
                out.add(outcome(lambda: c.clone().free()))

        thread = threading.Thread(target=meddle)
        thread.start()
        for _ in range(20):
            p.send(p.valid())
            outcome(lambda c=cb: p.sock.recvmsgs(c))  # type: ignore[misc]
        cb.free()
        stop.set()
        thread.join()
        assert seen <= {"ok", "FreedCallbacksError"}, seen
    p.close()


SCENARIOS = [
    "scenario_callbacks_after_free",
    "scenario_socket_calls_after_free",
    "scenario_garbage_returns",
    "scenario_threads_and_callbacks",
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_misuse(scenario: str) -> None:
    proc = subprocess.run(
        [sys.executable, __file__, scenario], capture_output=True, text=True, timeout=120
    )
    if proc.returncode < 0:
        pytest.fail(f"{scenario} crashed with signal {-proc.returncode}\n{proc.stderr[-4000:]}")
    assert proc.returncode == 0, f"{scenario} failed:\n{proc.stderr[-4000:]}"


if __name__ == "__main__":
    globals()[sys.argv[1]]()
    sys.exit(0)
