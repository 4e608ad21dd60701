"""``Socket``: the one owner of one libnl ``struct nl_sock``."""

from __future__ import annotations

import os
import select
import threading
import time
from types import TracebackType
from typing import Any, TypeVar

from libnl_py._ffi import ffi, lib
from libnl_py.bindings import socket as _b
from libnl_py.errors import ForkedSocketError, FreedSocketError, NetlinkTimeoutError, check

__all__ = ["Socket"]

_S = TypeVar("_S", bound="Socket")

# Bumped in every forked child: a socket made under an older generation
# belongs to a parent process.
_generation = [0]


def _after_fork_in_child() -> None:
    _generation[0] += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


class Socket:
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
    """

    __slots__ = ("__weakref__", "_generation", "_lock", "_recv_out", "_sk")

    def __init__(self) -> None:
        self._sk: Any = _b.alloc()
        self._lock = threading.Lock()
        self._generation = _generation[0]
        self._recv_out: _b.RecvBuffers | None = None  # made by the first recv()

    # -- ownership -------------------------------------------------------

    def _ptr(self) -> Any:
        """The live ``nl_sock *``; call with the lock held."""
        sk = self._sk
        if sk is None:
            raise FreedSocketError(function=type(self).__name__, message="socket has been freed")
        if self._generation != _generation[0]:
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
        if self._generation != _generation[0]:
            self._ptr()  # raises ForkedSocketError (or FreedSocketError)
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
        if self._generation != _generation[0]:
            self._ptr()  # raises FreedSocketError or ForkedSocketError
        return self._lock

    def free(self) -> None:
        """Close the fd and release the libnl socket (``nl_socket_free``). Idempotent.

        Waits for a call in progress on another thread to return.
        """
        if self._generation != _generation[0]:
            # In a forked child the lock may be held by a thread that no
            # longer exists; this process's copy of the socket is ours alone.
            self._release()
            return
        lock = self._lock
        lock.acquire()  # not `with`: every socket passes here, and that costs twice as much
        try:
            self._release()
        finally:
            lock.release()

    def _release(self) -> bool:
        """Free the C socket; True if this call did (the first one)."""
        sk, self._sk = self._sk, None
        if sk is None:
            return False
        ffi.release(sk)
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

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.free()

    def __repr__(self) -> str:
        if self._sk is None:
            return f"<{type(self).__name__} freed>"
        if self._generation != _generation[0]:
            return f"<{type(self).__name__} of the parent process>"
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
        with self._locked():
            _b.connect(self._ptr(), protocol)

    def genl_connect(self) -> None:
        """Open and bind the fd for generic netlink (``genl_connect``)."""
        with self._locked():
            _b.genl_connect(self._ptr())

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
            return _b.send_simple(self._ptr(), msg_type, flags, payload)

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
