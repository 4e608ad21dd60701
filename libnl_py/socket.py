"""``Socket``: the one owner of one libnl ``struct nl_sock``."""

from __future__ import annotations

import os
import select
import threading
import time
from typing import Any, Callable, TypeVar

from libnl_py._ffi import ffi, lib
from libnl_py.bindings import handlers as _h
from libnl_py.bindings import socket as _b
from libnl_py.callbacks import NL_CB_CUSTOM, Callbacks, ErrorCallback, MessageCallback, Slots
from libnl_py.errors import (
    ForkedSocketError,
    FreedSocketError,
    NetlinkTimeoutError,
    check,
)
from libnl_py.msg import Message
from libnl_py.netns import NetnsRef, run_in_netns
from libnl_py.ownership import Owner, locked, pointer, release, run

__all__ = ["Socket", "fork_generation"]

_S = TypeVar("_S", bound="Socket")
T = TypeVar("T")

fork_generation = [0]
"""Bumped in every forked child: an object made under an older generation belongs to a
parent process (its C state, its lock and its fd are the parent's)."""


def _after_fork_in_child() -> None:
    fork_generation[0] += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


class Socket(Owner):
    """A libnl netlink socket (``struct nl_sock``), with libnl's semantics.

    ``Socket()`` allocates with ``nl_socket_alloc``; :meth:`connect` or
    :meth:`genl_connect` opens the fd. :meth:`close` closes the fd and keeps
    the socket (a later connect works, as in libnl); :meth:`free` releases it,
    after which every method raises :class:`~libnl_py.errors.FreedSocketError`.
    Both are idempotent; ``with Socket() as s:`` frees on exit. A socket that
    is dropped without :meth:`free` is freed by the garbage collector, fd
    included.

    Calls are serialised by a lock per socket (libnl's ``nl_sock`` is not
    thread safe, and calls into it run without the GIL). A forked child gets
    :class:`~libnl_py.errors.ForkedSocketError` from its parent's sockets
    instead of stealing the parent's messages.

    libnl's own message path is here too, for code ported from C:
    :meth:`send_auto`, :meth:`send_sync`, :meth:`recvmsgs`,
    :meth:`recvmsgs_default`, :meth:`wait_for_ack`, :meth:`modify_cb`, with
    :class:`~libnl_py.msg.Message` and :class:`~libnl_py.callbacks.Callbacks`.
    They are libnl's calls, traps included (auto-ACK, replies one behind,
    sequence checks, blocking receives: see the README's "Porting a libnl C
    program"). While one of them runs, a callback it calls cannot use this
    socket (:class:`~libnl_py.errors.BusyError`).
    """

    __slots__ = (
        "__weakref__",
        "_cb_slots",
        "_generation",
        "_netns",
        "_recv_out",
        "_sk",
    )

    def __init__(self, *, netns: NetnsRef | None = None) -> None:
        """``netns``: the network namespace the fd is opened in by :meth:`connect`
        (a name, a path or an fd: see :mod:`libnl_py.netns`); None, the caller's."""
        if netns is not None and (
            isinstance(netns, bool) or not isinstance(netns, (str, int, os.PathLike))
        ):
            raise TypeError(f"netns must be a name, a path or an fd, not {type(netns).__name__}")
        super().__init__()
        self._netns = netns
        self._sk: Any = _b.alloc()
        self._generation = fork_generation[0]
        self._recv_out: _b.RecvBuffers | None = None  # made by the first recv()
        # The Python callbacks set on the socket's own struct nl_cb (modify_cb).
        self._cb_slots: Slots | None = None

    # -- ownership -------------------------------------------------------

    def _ptr(self) -> Any:
        """The live ``nl_sock *``; call with the lock held."""
        sk = self._sk
        if sk is None:
            raise FreedSocketError(function=type(self).__name__, message="socket has been freed")
        if self._generation != fork_generation[0]:
            raise ForkedSocketError(
                function=type(self).__name__,
                message="socket belongs to the parent process; open a new one after fork()",
            )
        return sk

    def _acquire(self) -> Any:
        """Take the lock and return the live ``nl_sock *``; the caller releases the lock.

        :meth:`_locked` and :meth:`_ptr` in one step, for hot paths; raises
        (without the lock) for a freed socket or one of the parent process.
        """
        if self._generation != fork_generation[0]:
            self._ptr()  # raises ForkedSocketError (or FreedSocketError)
        if self._running:
            self._check_running()
        self._lock.acquire()
        sk = self._sk
        if sk is None:
            self._lock.release()
            self._ptr()  # raises FreedSocketError
        return sk

    def _locked(self) -> threading.Lock:
        """The lock, once this process is known to own the socket.

        The fork check comes first: in a forked child the lock may be held
        forever by a thread that existed only in the parent (one blocked in
        :meth:`recv`, say).
        """
        if self._generation != fork_generation[0]:
            self._ptr()  # raises FreedSocketError or ForkedSocketError
        if self._running:
            self._check_running()
        return self._lock

    _busy_message = (
        "socket is running this callback: a callback cannot use the socket whose libnl call runs it"
    )

    def _check_running(self) -> None:
        """BusyError on the thread whose libnl call (running a callback) holds the lock.

        Taking the lock there would deadlock, and using the ``nl_sock`` from
        inside libnl's own receive loop would re-enter it.
        """
        super()._locked()

    def free(self) -> None:
        """Close the fd and release the libnl socket (``nl_socket_free``). Idempotent.

        Waits for a call in progress on another thread to return.
        """
        if self._generation != fork_generation[0]:
            # In a forked child the lock may be held by a thread that no
            # longer exists; this process's copy of the socket is ours alone.
            self._release("free()")
            return
        if self._running:
            self._check_running()
        lock = self._lock
        lock.acquire()  # not `with`: every socket passes here, and that costs twice as much
        try:
            self._release("free()")
        finally:
            lock.release()

    def _release(self, by: str) -> bool:
        """Free the C socket; True if this call did (the first one)."""
        sk, self._sk = self._sk, None
        if sk is None:
            return False
        ffi.release(sk)
        # Only now: nl_socket_free no longer calls anything the slots serve.
        self._cb_slots = None
        return True

    def close(self) -> None:
        """Close the fd (``nl_close``); port, sequence numbers and settings stay. Idempotent.

        A closed socket can be connected again. Closing a freed socket does nothing.
        """
        if self._sk is None:
            return
        with self._locked():
            if self._sk is not None:
                lib.nl_close(self._ptr())

    @property
    def freed(self) -> bool:
        """True once :meth:`free` has run."""
        return self._sk is None

    def __repr__(self) -> str:
        if self._sk is None:
            return f"<{type(self).__name__} freed>"
        if self._generation != fork_generation[0]:
            return f"<{type(self).__name__} of the parent process>"
        if self._running and self._running == threading.get_ident():
            return f"<{type(self).__name__} running a callback>"
        with self._lock:
            sk = self._sk
            if sk is None:
                return f"<{type(self).__name__} freed>"
            fd = lib.nl_socket_get_fd(sk)
            local = lib.nl_socket_get_local_port(sk) if fd >= 0 else 0
        state = f"fd={fd} local_port={local}" if fd >= 0 else "unconnected"
        return f"<{type(self).__name__} {state}>"

    # -- ports -----------------------------------------------------------

    def set_local_port(self, port: int) -> None:
        """Set the local port used by the next connect (``nl_socket_set_local_port``).

        ``0`` means "unspecified": libnl then generates one. The fd is not touched.
        """
        port = _b.checked_uint(port, "port", _b.PORT_MAX)
        with self._locked():
            lib.nl_socket_set_local_port(self._ptr(), port)

    @property
    def local_port(self) -> int:
        """The local port (``nl_socket_get_local_port``).

        As in libnl, reading it before connect generates a port and pins it:
        connect then cannot retry another port if that one is taken.
        """
        with self._locked():
            return int(lib.nl_socket_get_local_port(self._ptr()))

    def set_peer_port(self, port: int) -> None:
        """Set the destination port for sends (``nl_socket_set_peer_port``); 0 is the kernel.

        It does not filter what is received.
        """
        port = _b.checked_uint(port, "port", _b.PORT_MAX)
        with self._locked():
            lib.nl_socket_set_peer_port(self._ptr(), port)

    @property
    def peer_port(self) -> int:
        """The destination port for sends (``nl_socket_get_peer_port``); 0 is the kernel."""
        with self._locked():
            return int(lib.nl_socket_get_peer_port(self._ptr()))

    # -- connection ------------------------------------------------------

    def connect(self, protocol: int) -> None:
        """Open and bind the fd for a netlink protocol (``nl_connect``).

        ``protocol`` is a ``NETLINK_*`` number, e.g. ``lib.NETLINK_ROUTE``.
        """
        protocol = _b.checked_uint(protocol, "protocol", 31)

        def connect() -> None:
            with self._locked():
                _b.connect(self._ptr(), protocol)

        self._in_netns(connect)

    def genl_connect(self) -> None:
        """Open and bind the fd for generic netlink (``genl_connect``)."""

        def connect() -> None:
            with self._locked():
                _b.genl_connect(self._ptr())

        self._in_netns(connect)

    def _in_netns(self, open_fd: Callable[[], T]) -> T:
        """``open_fd()`` in the socket's namespace (see :mod:`libnl_py.netns`), or here."""
        if self._netns is None:
            return open_fd()
        return run_in_netns(self._netns, open_fd)

    def fileno(self) -> int:
        """The fd (``nl_socket_get_fd``), or -1 when not connected."""
        with self._locked():
            return int(lib.nl_socket_get_fd(self._ptr()))

    @property
    def connected(self) -> bool:
        """True while the socket has an open fd."""
        return self.fileno() >= 0

    def set_buffer_size(self, rxbuf: int = 0, txbuf: int = 0) -> None:
        """Set the kernel receive and send buffer sizes (``nl_socket_set_buffer_size``).

        0 keeps libnl's default (32 KiB). Needs a connected socket.
        """
        rxbuf = _b.checked_uint(rxbuf, "rxbuf", 0x7FFFFFFF)
        txbuf = _b.checked_uint(txbuf, "txbuf", 0x7FFFFFFF)
        with self._locked():
            check(
                lib.nl_socket_set_buffer_size(self._ptr(), rxbuf, txbuf),
                "nl_socket_set_buffer_size",
            )

    # -- raw I/O ---------------------------------------------------------

    def send_simple(self, msg_type: int, flags: int = 0, payload: Any = b"") -> int:
        """Send one message with ``payload`` after its header (``nl_send_simple``).

        libnl fills in the port and the next sequence number and adds
        ``NLM_F_REQUEST`` and, with auto-ACK on (libnl's default), ``NLM_F_ACK``.
        Returns the number of bytes sent.
        """
        msg_type = _b.checked_uint(msg_type, "msg_type", _b.U16_MAX)
        flags = _b.checked_uint(flags, "flags", _b.U16_MAX)
        with self._locked():
            # nl_send_simple sends through nl_send_auto: NL_CB_MSG_OUT runs.
            return self._run((), _b.send_simple, self._ptr(), msg_type, flags, payload)

    def recv(self, timeout: float | None = None) -> tuple[bytes, int]:
        """Receive one datagram (``nl_recv``): ``(data, sender port)``.

        Blocks until a datagram arrives, or for at most ``timeout`` seconds
        (then :class:`~libnl_py.errors.NetlinkTimeoutError`, a ``TimeoutError``).
        """
        timeout = _b.checked_timeout(timeout)
        with self._locked():
            sk = self._ptr()
            if timeout is not None:
                _wait_readable(int(lib.nl_socket_get_fd(sk)), timeout, "nl_recv")
            out = self._recv_out
            if out is None:
                out = self._recv_out = _b.RecvBuffers()
            data, port, _groups = _b.recv(sk, out)
            return data, port

    # -- libnl's message path ------------------------------------------------

    def _run(self, objects: tuple[Message | Callbacks, ...], call: Any, *args: Any) -> int:
        """``call(*args)``, a bindings call that may run Python callbacks.

        Call with the locks of this socket and of ``objects`` held. Marks them
        as running on this thread meanwhile, so that a callback using one of
        them gets BusyError instead of a deadlock.
        """
        return run((self, *objects), call, *args)

    def send_auto(self, msg: Message) -> int:
        """Complete ``msg``'s header and send it (``nl_send_auto``); returns the bytes sent.

        As in libnl: the socket's local port and next sequence number go where
        the header has 0 (``NL_AUTO_PORT``, ``NL_AUTO_SEQ``); ``NLM_F_REQUEST``
        is set and, with auto-ACK on (libnl's default), ``NLM_F_ACK``, which
        asks for an ACK that nothing reads unless :meth:`wait_for_ack` or a
        receive does. Sending the same message again resends its sequence
        number. The socket's ``NL_CB_MSG_OUT`` callback runs first.
        """
        message = _message(msg)
        with self._locked():
            sk = self._ptr()
            with locked(message):
                return self._run((message,), _h.send_auto, sk, pointer(message))

    def send_sync(self, msg: Message) -> int:
        """Send ``msg`` (``nl_send_auto``), free it, wait for the ACK (``nl_send_sync``).

        As in libnl, the message is freed in every case: afterwards it raises
        :class:`~libnl_py.errors.FreedMessageError`. Waiting for the ACK reads
        one datagram's worth of messages with the socket's callbacks
        (``nl_wait_for_ack``): for a request that gets a reply, it returns
        after the reply and leaves the ACK queued. With auto-ACK off it
        returns at once. Returns 0.
        """
        message = _message(msg)
        with self._locked():
            sk = self._ptr()
            with locked(message):
                ptr = pointer(message)
                try:
                    return self._run((message,), _h.send_sync, sk, ptr)
                finally:
                    release(message, "Socket.send_sync (nl_send_sync frees its message)")

    def recvmsgs(self, cb: Callbacks) -> int:
        """Receive and handle messages with ``cb``'s callbacks (``nl_recvmsgs``); returns 0.

        As in libnl: it reads one datagram, or datagrams until the end of a
        multipart message (``NLMSG_DONE``), and blocks while none is queued
        (unless :meth:`set_nonblocking`: then TryAgainError). An ``NLMSG_ERROR``
        with an error, without an error callback, raises its class; a callback
        returning ``NL_STOP`` ends it. The exception of a callback is raised
        here.
        """
        callbacks = _callbacks(cb)
        with self._locked():
            sk = self._ptr()
            with locked(callbacks):
                return self._run((callbacks,), _h.recvmsgs, sk, pointer(callbacks))

    def recvmsgs_report(self, cb: Callbacks) -> int:
        """:meth:`recvmsgs`, returning the number of messages handled (``nl_recvmsgs_report``)."""
        callbacks = _callbacks(cb)
        with self._locked():
            sk = self._ptr()
            with locked(callbacks):
                return self._run((callbacks,), _h.recvmsgs_report, sk, pointer(callbacks))

    def recvmsgs_default(self) -> int:
        """:meth:`recvmsgs` with the socket's own callbacks (``nl_recvmsgs_default``)."""
        with self._locked():
            return self._run((), _h.recvmsgs_default, self._ptr())

    def wait_for_ack(self) -> int:
        """Receive until an ACK (``nl_wait_for_ack``); returns 0.

        libnl receives with a clone of the socket's callbacks whose
        ``NL_CB_ACK`` stops at the first ACK, whichever request it answers; a
        reply still queued before it goes to the ``NL_CB_VALID`` callback.
        Blocks until the ACK comes (a dump gets none).
        """
        with self._locked():
            return self._run((), _h.wait_for_ack, self._ptr())

    def _slots(self) -> Slots:
        slots = self._cb_slots
        if slots is None:
            slots = self._cb_slots = Slots()
        return slots

    def modify_cb(
        self, cb_type: int, fn: MessageCallback | None = None, kind: int = NL_CB_CUSTOM
    ) -> None:
        """Set the socket's own handler for ``cb_type`` (``nl_socket_modify_cb``).

        The socket's set is what :meth:`recvmsgs_default`, :meth:`wait_for_ack`
        (a clone of it), :meth:`genl_ctrl_resolve` (a clone) and sends
        (``NL_CB_MSG_OUT``) use. See :meth:`libnl_py.callbacks.Callbacks.set`.
        """
        cb_type, kind, entry = Slots.message_handle(cb_type, fn, kind)
        with self._locked():
            _h.socket_modify_cb(self._ptr(), cb_type, kind, Slots.handle(entry))
            self._slots().keep(cb_type, entry)

    def modify_err_cb(self, fn: ErrorCallback | None = None, kind: int = NL_CB_CUSTOM) -> None:
        """Set the socket's own error handler (``nl_socket_modify_err_cb``).

        See :meth:`libnl_py.callbacks.Callbacks.err`.
        """
        kind, entry = Slots.error_handle(fn, kind)
        with self._locked():
            _h.socket_modify_err_cb(self._ptr(), kind, Slots.handle(entry))
            self._slots().keep(Slots.ERR, entry)

    def genl_ctrl_resolve(self, name: str) -> int:
        """The id of generic netlink family ``name`` (``genl_ctrl_resolve``).

        As in libnl, every failure, whatever its cause, raises
        :class:`~libnl_py.errors.NotFoundError` (``NLE_OBJ_NOTFOUND``).
        It sends and receives on this socket with a clone of its callbacks.
        """
        raw = _c_string(name, "name")
        with self._locked():
            return self._run((), _h.ctrl_resolve, self._ptr(), raw)

    def genl_ctrl_resolve_grp(self, family: str, group: str) -> int:
        """The id of multicast group ``group`` of ``family`` (``genl_ctrl_resolve_grp``)."""
        raw_family = _c_string(family, "family")
        raw_group = _c_string(group, "group")
        with self._locked():
            return self._run((), _h.ctrl_resolve_grp, self._ptr(), raw_family, raw_group)

    def disable_seq_check(self) -> None:
        """Accept any sequence number (``nl_socket_disable_seq_check``), as for events.

        As in libnl, this sets ``NL_CB_SEQ_CHECK`` in the socket's own set:
        :meth:`recvmsgs` with a :class:`~libnl_py.callbacks.Callbacks` of your
        own still checks, unless that set has its own ``NL_CB_SEQ_CHECK`` or
        auto-ACK is off.
        """
        with self._locked():
            lib.nl_socket_disable_seq_check(self._ptr())

    def disable_auto_ack(self) -> None:
        """Stop adding ``NLM_F_ACK`` in :meth:`send_auto` (``nl_socket_disable_auto_ack``).

        libnl checks sequence numbers only while auto-ACK is on.
        """
        with self._locked():
            lib.nl_socket_disable_auto_ack(self._ptr())

    def enable_auto_ack(self) -> None:
        """Add ``NLM_F_ACK`` in :meth:`send_auto` again (``nl_socket_enable_auto_ack``)."""
        with self._locked():
            lib.nl_socket_enable_auto_ack(self._ptr())

    def enable_msg_peek(self) -> None:
        """Peek at each datagram's size before reading it (``nl_socket_enable_msg_peek``)."""
        with self._locked():
            lib.nl_socket_enable_msg_peek(self._ptr())

    def disable_msg_peek(self) -> None:
        """Read each datagram with one ``recvmsg`` (``nl_socket_disable_msg_peek``).

        A datagram longer than libnl's receive buffer is then not received whole.
        """
        with self._locked():
            lib.nl_socket_disable_msg_peek(self._ptr())

    def set_nonblocking(self) -> None:
        """Make the fd non-blocking (``nl_socket_set_nonblocking``).

        A receive with nothing queued then raises TryAgainError. Needs a
        connected socket.
        """
        with self._locked():
            check(lib.nl_socket_set_nonblocking(self._ptr()), "nl_socket_set_nonblocking")


def _message(msg: object) -> Message:
    if not isinstance(msg, Message):
        raise TypeError(f"msg must be a libnl_py.msg.Message, not {type(msg).__name__}")
    return msg


def _callbacks(cb: object) -> Callbacks:
    if not isinstance(cb, Callbacks):
        raise TypeError(f"cb must be a libnl_py.callbacks.Callbacks, not {type(cb).__name__}")
    return cb


def _c_string(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    raw = value.encode()
    if b"\0" in raw:
        raise ValueError(f"{what} contains a NUL character")
    return raw


def _wait_readable(fd: int, timeout: float, function: str) -> None:
    if fd < 0:
        return  # let libnl report the unconnected socket
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + timeout
    remaining = timeout
    # poll() waits at most POLL_MAX_MS at a time: a longer timeout takes several.
    while not poller.poll(_b.poll_ms(remaining)):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NetlinkTimeoutError(function, timeout)
