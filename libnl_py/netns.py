"""Network namespaces: sockets made inside another namespace than the caller's.

A netlink socket belongs to the network namespace it was created in, for
its whole life. ``Socket(netns=...)``, ``GenlSocket(netns=...)`` and
``AsyncGenlSocket(netns=...)`` create theirs in the namespace named, from a
short-lived helper thread that enters it (``setns``), so the calling thread's
own namespace is the same before and after, and threads may do this at once.

A namespace is given as a name (``"blue"``: ``/run/netns/blue``, as
``ip netns add`` makes them), a path (any string with a ``/``, e.g.
:func:`pid_netns`'s), or an open file descriptor of one (an ``int``).
"""

from __future__ import annotations

import errno
import os
import threading
from typing import Callable, TypeVar, Union

__all__ = ["NETNS_DIR", "NetnsRef", "netns_path", "pid_netns", "run_in_netns"]

T = TypeVar("T")

NetnsRef = Union[str, int, "os.PathLike[str]"]
"""A network namespace: a name in :data:`NETNS_DIR`, a path, or an open fd."""

NETNS_DIR = "/run/netns"
"""Where ``ip netns add NAME`` puts the namespace ``NAME``."""

_CLONE_NEWNET = 0x40000000


def netns_path(netns: str | os.PathLike[str]) -> str:
    """The path of a namespace given by name or by path."""
    path = os.fspath(netns)
    if not path:
        raise ValueError("netns: an empty name")
    return path if "/" in path else os.path.join(NETNS_DIR, path)


def pid_netns(pid: int) -> str:
    """The path of process ``pid``'s network namespace (``/proc/PID/ns/net``)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise ValueError(f"netns: {pid!r} is no process id")
    return f"/proc/{pid}/ns/net"


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python 3.12+
    if setns is not None:
        setns(fd, _CLONE_NEWNET)
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"setns: {os.strerror(code)}")


def run_in_netns(netns: NetnsRef, fn: Callable[[], T]) -> T:
    """``fn()`` run inside namespace ``netns``, by a thread of its own; its result or error.

    A namespace that does not exist raises :class:`FileNotFoundError`; one the
    caller may not enter (no ``CAP_SYS_ADMIN`` over it) :class:`PermissionError`.
    """
    if isinstance(netns, bool):
        raise TypeError("netns must be a name, a path or an fd, not bool")
    if isinstance(netns, int):
        fd, owned = netns, False
    elif isinstance(netns, (str, os.PathLike)):
        fd, owned = os.open(netns_path(netns), os.O_RDONLY | os.O_CLOEXEC), True
    else:
        raise TypeError(f"netns must be a name, a path or an fd, not {type(netns).__name__}")
    outcome: list[T] = []
    failure: list[BaseException] = []

    def enter() -> None:
        try:
            _setns(fd)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                failure.append(ValueError(f"netns {netns!r} is not a network namespace"))
            else:
                failure.append(exc)
            return
        try:
            outcome.append(fn())
        except BaseException as exc:  # raised again in the caller's thread
            failure.append(exc)

    try:
        thread = threading.Thread(target=enter, name=f"libnl-py netns {netns}")
        thread.start()
        thread.join()
    finally:
        if owned:
            os.close(fd)
    if failure:
        raise failure[0]
    return outcome[0]
