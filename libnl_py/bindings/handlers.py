"""Wrappers for ``<netlink/handlers.h>``, and the calls into libnl that run Python callbacks.

libnl calls a Python callback through one of two ``extern "Python"``
functions (``lnp_msg_cb``, ``lnp_err_cb``, declared in ``decl/helpers.h``);
their ``arg`` is an ``ffi.new_handle`` of a *slot*: any Python callable
taking the C arguments (a ``struct nl_msg *``; a ``struct sockaddr_nl *`` and
a ``struct nlmsgerr *``) and returning what the callback returned.

No exception ever crosses into C. Every libnl call that can run callbacks
goes through :func:`call`, which records a :class:`Run` for the calling
thread; a slot that raises, or returns what libnl cannot take, stores the
exception in that run and returns :data:`ABORT`, which makes libnl stop at
once (``nl_recvmsgs`` returns it, ``nl_sendmsg`` returns it before
``sendmsg``, so ``nl_send_sync`` never waits for an ACK of a message it did
not send). Once the libnl call returns, :func:`call` raises the stored
exception, or else checks the return code with :func:`libnl_py.errors.check`.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any, Callable

from libnl_py._ffi import ffi, lib
from libnl_py.errors import check

NL_OK = int(lib.NL_OK)
NL_SKIP = int(lib.NL_SKIP)
NL_STOP = int(lib.NL_STOP)

ABORT = -int(lib.NLE_FAILURE)
"""What a failed callback returns to libnl: a negative value, which every libnl
caller of a callback passes straight back up. The caller never sees it: the
stored exception is raised instead."""

_INT_MIN = -(2**31)

CB_TYPE_NAMES: dict[int, str] = {
    int(getattr(lib, name)): name
    for name in (
        "NL_CB_VALID",
        "NL_CB_FINISH",
        "NL_CB_OVERRUN",
        "NL_CB_SKIPPED",
        "NL_CB_ACK",
        "NL_CB_MSG_IN",
        "NL_CB_MSG_OUT",
        "NL_CB_INVALID",
        "NL_CB_SEQ_CHECK",
        "NL_CB_SEND_ACK",
        "NL_CB_DUMP_INTR",
    )
}
"""``NL_CB_*`` number -> name, for the types this module was compiled with."""

CB_KIND_NAMES: dict[int, str] = {
    int(getattr(lib, name)): name
    for name in ("NL_CB_DEFAULT", "NL_CB_VERBOSE", "NL_CB_DEBUG", "NL_CB_CUSTOM")
}


class Run:
    """One libnl call in progress on this thread that may call Python callbacks."""

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: BaseException | None = None


_local = threading.local()


def _runs() -> list[Run]:
    try:
        runs: list[Run] = _local.runs
    except AttributeError:
        runs = _local.runs = []
    return runs


def call(function: str, libnl_call: Callable[..., int], *args: Any) -> int:
    """``libnl_call(*args)``, a libnl call that may run Python callbacks, checked.

    The first exception a callback raised (or the error of a callback that
    returned something libnl cannot take) is raised here, after libnl has
    returned; otherwise a negative return raises the class for its NLE code.
    Returns the non-negative result.
    """
    runs = _runs()
    run = Run()
    runs.append(run)
    try:
        ret = libnl_call(*args)
    finally:
        runs.pop()
    error = run.error
    if error is not None:
        run.error = None
        try:
            raise error
        finally:
            del error  # no cycle through this frame
    return check(ret, function)


def _result(value: object, what: Callable[[], str]) -> int:
    """``value`` if a libnl callback may return it, else raise.

    NL_OK, NL_SKIP and NL_STOP, or a negative error code (libnl aborts the
    receive and returns it, as for a C callback). Anything else would be
    misread by libnl: a positive number ends ``nl_recvmsgs`` as a success.
    """
    if type(value) is int and NL_OK <= value <= NL_STOP:  # the common case, first
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{what()} returned {value!r}; a callback must return NL_OK, NL_SKIP, NL_STOP"
            " or a negative NLE error code"
        )
    number = int(value)
    if NL_OK <= number <= NL_STOP or _INT_MIN <= number < 0:
        return number
    raise ValueError(
        f"{what()} returned {number}; a callback must return NL_OK ({NL_OK}), NL_SKIP"
        f" ({NL_SKIP}), NL_STOP ({NL_STOP}) or a negative NLE error code"
    )


def _dispatch(arg: Any, *cargs: Any) -> int:
    runs = _runs()
    run = runs[-1] if runs else None
    if run is not None and run.error is not None:
        return ABORT  # a callback of this call failed already: libnl should have stopped
    slot = None
    try:
        slot = ffi.from_handle(arg)
        return _result(slot(*cargs), lambda: str(slot))
    except BaseException as exc:
        _store(run, exc, slot)
        return ABORT


def _store(run: Run | None, exc: BaseException, slot: object) -> None:
    if run is not None:
        if run.error is None:
            run.error = exc
        return
    # Only reachable through the raw layer (a libnl call made on lib directly,
    # not through libnl_py): nothing is waiting to re-raise it.
    hook: Any = sys.unraisablehook
    hook(_Unraisable(exc, f"Exception in a libnl callback run outside libnl_py ({slot})"))


class _Unraisable:
    __slots__ = ("err_msg", "exc_traceback", "exc_type", "exc_value", "object")

    def __init__(self, exc: BaseException, err_msg: str) -> None:
        self.exc_type: type[BaseException] = type(exc)
        self.exc_value = exc
        self.exc_traceback: TracebackType | None = exc.__traceback__
        self.err_msg = err_msg
        self.object = None


def _on_error(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> int:
    """cffi's last resort (an exception outside _dispatch's try): stored all the same."""
    runs = _runs()
    _store(runs[-1] if runs else None, exc, None)
    return ABORT


def _msg_cb(msg: Any, arg: Any) -> int:
    return _dispatch(arg, msg)


def _err_cb(nla: Any, nlerr: Any, arg: Any) -> int:
    return _dispatch(arg, nla, nlerr)


# error=: what cffi returns to libnl should anything still escape (see _on_error).
ffi.def_extern(name="lnp_msg_cb", error=ABORT, onerror=_on_error)(_msg_cb)
ffi.def_extern(name="lnp_err_cb", error=ABORT, onerror=_on_error)(_err_cb)


MSG_CB = lib.lnp_msg_cb
"""The ``nl_recvmsg_msg_cb_t`` to hand libnl for a Python message callback."""
ERR_CB = lib.lnp_err_cb
"""The ``nl_recvmsg_err_cb_t`` to hand libnl for a Python error callback."""


# -- struct nl_cb ----------------------------------------------------------------


def cb_alloc(kind: int) -> Any:
    """``nl_cb_alloc(kind)``, owned by the returned cdata (released by ``nl_cb_put``)."""
    cb = lib.nl_cb_alloc(kind)
    if cb == ffi.NULL:
        raise MemoryError("nl_cb_alloc returned NULL")
    return ffi.gc(cb, lib.nl_cb_put)


def cb_clone(cb: Any) -> Any:
    """``nl_cb_clone(cb)``: a new set with the same functions and arguments."""
    clone = lib.nl_cb_clone(cb)
    if clone == ffi.NULL:
        raise MemoryError("nl_cb_clone returned NULL")
    return ffi.gc(clone, lib.nl_cb_put)


def _function(kind: int, handle: Any, function: Any) -> tuple[Any, Any]:
    # libnl's own handlers (NL_CB_VERBOSE, NL_CB_DEBUG) read `arg` as the
    # FILE * they print to: anything but NULL there would be used as one.
    if kind != lib.NL_CB_CUSTOM or handle is None:
        return ffi.NULL, ffi.NULL
    return function, handle


def cb_set(cb: Any, cb_type: int, kind: int, handle: Any) -> None:
    """``nl_cb_set(cb, type, kind, lnp_msg_cb, handle)``; no handle: NULL, NULL."""
    func, arg = _function(kind, handle, MSG_CB)
    check(lib.nl_cb_set(cb, cb_type, kind, func, arg), "nl_cb_set")


def cb_err(cb: Any, kind: int, handle: Any) -> None:
    """``nl_cb_err(cb, kind, lnp_err_cb, handle)``; no handle: NULL, NULL."""
    func, arg = _function(kind, handle, ERR_CB)
    check(lib.nl_cb_err(cb, kind, func, arg), "nl_cb_err")


def socket_modify_cb(sk: Any, cb_type: int, kind: int, handle: Any) -> None:
    """``nl_socket_modify_cb(sk, type, kind, lnp_msg_cb, handle)``."""
    func, arg = _function(kind, handle, MSG_CB)
    check(lib.nl_socket_modify_cb(sk, cb_type, kind, func, arg), "nl_socket_modify_cb")


def socket_modify_err_cb(sk: Any, kind: int, handle: Any) -> None:
    """``nl_socket_modify_err_cb(sk, kind, lnp_err_cb, handle)``."""
    func, arg = _function(kind, handle, ERR_CB)
    check(lib.nl_socket_modify_err_cb(sk, kind, func, arg), "nl_socket_modify_err_cb")


# -- sending and receiving ----------------------------------------------------------
# Each of these may run callbacks (NL_CB_MSG_OUT on a send, all the others on
# a receive), so each goes through call().


def send_auto(sk: Any, msg: Any) -> int:
    """``nl_send_auto``: complete the header (port, sequence, flags), send; bytes sent."""
    return call("nl_send_auto", lib.nl_send_auto, sk, msg)


def send_sync(sk: Any, msg: Any) -> int:
    """``nl_send_sync``: ``nl_send_auto``, ``nlmsg_free(msg)``, then wait for the ACK.

    nl_send_sync frees the message whatever happens; the reference taken here
    is the one its nlmsg_free drops, so the caller still owns the one it had
    and frees it once, as it would any other message.
    """
    lib.nlmsg_get(msg)
    return call("nl_send_sync", lib.nl_send_sync, sk, msg)


def recvmsgs(sk: Any, cb: Any) -> int:
    """``nl_recvmsgs(sk, cb)``: 0, or the callbacks' or the receive's error."""
    return call("nl_recvmsgs", lib.nl_recvmsgs, sk, cb)


def recvmsgs_report(sk: Any, cb: Any) -> int:
    """``nl_recvmsgs_report(sk, cb)``: the number of messages handled."""
    return call("nl_recvmsgs_report", lib.nl_recvmsgs_report, sk, cb)


def recvmsgs_default(sk: Any) -> int:
    """``nl_recvmsgs_default(sk)``: ``nl_recvmsgs`` with the socket's own callbacks."""
    return call("nl_recvmsgs_default", lib.nl_recvmsgs_default, sk)


def wait_for_ack(sk: Any) -> int:
    """``nl_wait_for_ack(sk)``: receive with a clone of the socket's callbacks until an ACK."""
    return call("nl_wait_for_ack", lib.nl_wait_for_ack, sk)


def ctrl_resolve(sk: Any, name: bytes) -> int:
    """``genl_ctrl_resolve(sk, name)``: the family's id."""
    return call("genl_ctrl_resolve", lib.genl_ctrl_resolve, sk, name)


def ctrl_resolve_grp(sk: Any, family: bytes, group: bytes) -> int:
    """``genl_ctrl_resolve_grp(sk, family, group)``: the multicast group's id."""
    return call("genl_ctrl_resolve_grp", lib.genl_ctrl_resolve_grp, sk, family, group)
