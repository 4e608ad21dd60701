"""Wrappers for ``<netlink/socket.h>`` and ``<netlink/netlink.h>``."""

from __future__ import annotations

import math
import operator
from typing import Any

from libnl_py._ffi import ffi, lib
from libnl_py.bindings.handlers import call
from libnl_py.errors import check, error_for

PORT_MAX = 0xFFFFFFFF
U16_MAX = 0xFFFF


def checked_uint(value: object, what: str, maximum: int) -> int:
    """``value`` as an int in ``0..maximum``: TypeError or ValueError otherwise, never a wrap."""
    if type(value) is int and 0 <= value <= maximum:  # the common case, first
        return value
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, not bool")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None
    if not 0 <= number <= maximum:
        raise ValueError(f"{what} must be in 0..{maximum}, got {number}")
    return number


def checked_timeout(value: object, what: str = "timeout") -> float | None:
    """A timeout in seconds: None (no limit) or a finite number >= 0; infinity is None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds or None, not {type(value).__name__}")
    seconds = float(value)
    if math.isnan(seconds) or seconds < 0:
        raise ValueError(f"{what} must be >= 0 seconds, got {value!r}")
    return None if math.isinf(seconds) else seconds


POLL_MAX_MS = 2**31 - 1
"""The longest wait one ``poll()`` takes (an ``int`` of milliseconds): about 24.8 days."""


def poll_ms(seconds: float | None) -> int | None:
    """``seconds`` as a ``poll()`` timeout: rounded up, at most :data:`POLL_MAX_MS`.

    A longer wait is clamped, so a caller that must wait longer loops until its
    own deadline (every caller here does); None stays None (no limit).
    """
    if seconds is None:
        return None
    return min(POLL_MAX_MS, max(0, math.ceil(seconds * 1000)))


def alloc() -> Any:
    """``nl_socket_alloc()``, owned by the returned cdata (freed by ``nl_socket_free``)."""
    sk = lib.nl_socket_alloc()
    if sk == ffi.NULL:
        raise MemoryError("nl_socket_alloc returned NULL")
    return ffi.gc(sk, lib.nl_socket_free)


def connect(sk: Any, protocol: int) -> None:
    """``nl_connect(sk, protocol)``."""
    check(lib.nl_connect(sk, protocol), "nl_connect")


def genl_connect(sk: Any) -> None:
    """``genl_connect(sk)``: ``nl_connect(sk, NETLINK_GENERIC)``."""
    check(lib.genl_connect(sk), "genl_connect")


def send_simple(sk: Any, msg_type: int, flags: int, payload: Any) -> int:
    """``nl_send_simple``: returns the bytes sent.

    It sends through ``nl_send_auto``, so a Python ``NL_CB_MSG_OUT`` callback
    on the socket runs: hence :func:`~libnl_py.bindings.handlers.call`.
    """
    buf = ffi.from_buffer(payload)
    return call("nl_send_simple", lib.nl_send_simple, sk, msg_type, flags, buf, len(buf))


def sendto(sk: Any, data: Any) -> int:
    """``nl_sendto``: sends ``data`` as it is to the peer port; returns the bytes sent."""
    buf = ffi.from_buffer(data)
    return check(lib.nl_sendto(sk, buf, len(buf)), "nl_sendto")


class RecvBuffers:
    """The out-parameters of ``nl_recv``, allocated once per socket."""

    __slots__ = ("addr", "bufp")

    def __init__(self) -> None:
        self.addr = ffi.new("struct sockaddr_nl *")
        self.bufp = ffi.new("unsigned char **")


def recv(sk: Any, out: RecvBuffers) -> tuple[bytes, int, int]:
    """``nl_recv``: one datagram, copied out, its buffer freed.

    Returns (data, sender port, sender's multicast group mask). ``b""`` means
    nl_recv returned 0 (nothing read).
    """
    n = lib.nl_recv(sk, out.addr, out.bufp, ffi.NULL)
    if n <= 0:
        if n < 0:
            raise error_for(n, "nl_recv")
        return b"", out.addr.nl_pid, out.addr.nl_groups
    buf = out.bufp[0]
    try:
        data = ffi.buffer(buf, n)[:]
    finally:
        lib.free(buf)
    return data, out.addr.nl_pid, out.addr.nl_groups
