"""``Callbacks``: the one owner of a libnl ``struct nl_cb``, with Python callbacks.

A message callback is ``fn(msg: Message) -> int``, an error callback
``fn(sender: Address, err: ErrorMessage) -> int``; both return
:data:`NL_OK`, :data:`NL_SKIP` or :data:`NL_STOP` with libnl's meaning, or
a negative NLE code, which libnl's receive returns as it is (and which is
then raised as the class for that code). C's ``void *arg`` has no
counterpart: a closure or a bound method carries the state.

What C leaves to the programmer is checked here:

* an exception raised in a callback stops the libnl call that ran it
  (``nl_recvmsgs``, ``nl_send_auto``, ``nl_wait_for_ack``, ...) and is raised
  from the Python call that started it, with its traceback: never printed and
  lost (libnl's SWIG bindings swallowed them);
* a callback that returns anything else (None, a bool, a positive number
  other than the three) raises :class:`TypeError` or :class:`ValueError` the
  same way, instead of being misread by libnl (a positive number ends
  ``nl_recvmsgs`` as a success);
* the :class:`~libnl_py.msg.Message` a callback receives is libnl's, valid
  only during the call: any use after the callback returns raises
  :class:`~libnl_py.errors.FreedMessageError`;
* a callback cannot use the object whose libnl call is running it (its
  socket, the message being sent, the callback set):
  :class:`~libnl_py.errors.BusyError`, never a deadlock or a re-entered
  ``nl_sock``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, TypeVar, Union

from libnl_py._ffi import ffi, lib
from libnl_py.bindings import handlers as _h
from libnl_py.bindings.socket import checked_uint
from libnl_py.errors import FreedCallbacksError
from libnl_py.msg import Address, Header, Message, borrowed, expire
from libnl_py.ownership import Owner

__all__ = [
    "NL_CB_ACK",
    "NL_CB_CUSTOM",
    "NL_CB_DEBUG",
    "NL_CB_DEFAULT",
    "NL_CB_DUMP_INTR",
    "NL_CB_FINISH",
    "NL_CB_INVALID",
    "NL_CB_MSG_IN",
    "NL_CB_MSG_OUT",
    "NL_CB_OVERRUN",
    "NL_CB_SEND_ACK",
    "NL_CB_SEQ_CHECK",
    "NL_CB_SKIPPED",
    "NL_CB_VALID",
    "NL_CB_VERBOSE",
    "NL_OK",
    "NL_SKIP",
    "NL_STOP",
    "Callbacks",
    "ErrorCallback",
    "ErrorMessage",
    "MessageCallback",
]

NL_OK: int = _h.NL_OK
"""Go on with the message (and the next)."""
NL_SKIP: int = _h.NL_SKIP
"""Skip the rest of this message's handling; go on with the next."""
NL_STOP: int = _h.NL_STOP
"""Stop the receive here; it returns 0."""

NL_CB_VALID = int(lib.NL_CB_VALID)
"""Callback type: A valid data message: the callback for what a request asked for."""
NL_CB_FINISH = int(lib.NL_CB_FINISH)
"""Callback type: The last message of a dump (``NLMSG_DONE``)."""
NL_CB_OVERRUN = int(lib.NL_CB_OVERRUN)
"""Callback type: An ``NLMSG_OVERRUN`` message."""
NL_CB_SKIPPED = int(lib.NL_CB_SKIPPED)
"""Callback type: A message libnl skipped (an ``NLMSG_NOOP``)."""
NL_CB_ACK = int(lib.NL_CB_ACK)
"""Callback type: An ACK: an ``NLMSG_ERROR`` carrying error 0."""
NL_CB_MSG_IN = int(lib.NL_CB_MSG_IN)
"""Callback type: Every message received, before any other callback."""
NL_CB_MSG_OUT = int(lib.NL_CB_MSG_OUT)
"""Callback type: Every message about to be sent (``nl_send*``)."""
NL_CB_INVALID = int(lib.NL_CB_INVALID)
"""Callback type: A message that did not pass libnl's checks."""
NL_CB_SEQ_CHECK = int(lib.NL_CB_SEQ_CHECK)
"""Callback type: The sequence number check: replaces libnl's own."""
NL_CB_SEND_ACK = int(lib.NL_CB_SEND_ACK)
"""Callback type: A message asking for an ACK (``NLM_F_ACK``)."""
NL_CB_DUMP_INTR = int(lib.NL_CB_DUMP_INTR)
"""Callback type: A message of a dump the kernel marked ``NLM_F_DUMP_INTR``."""

NL_CB_DEFAULT = int(lib.NL_CB_DEFAULT)
"""No handler (what ``nl_cb_alloc(NL_CB_DEFAULT)`` starts with)."""
NL_CB_VERBOSE = int(lib.NL_CB_VERBOSE)
"""libnl's handlers that print unhandled and invalid messages and errors (from C)."""
NL_CB_DEBUG = int(lib.NL_CB_DEBUG)
"""libnl's handlers that print every message (from C)."""
NL_CB_CUSTOM = int(lib.NL_CB_CUSTOM)
"""A handler of your own: a Python callable here."""

_C = TypeVar("_C", bound="Callbacks")


class ErrorMessage(NamedTuple):
    """What an error callback receives for an ``NLMSG_ERROR`` with a non-zero error.

    A copy, made before the callback runs, so it stays valid after it.
    ``error`` is the negative errno the peer sent; ``request`` the header of
    the request it answers (echoed in ``struct nlmsgerr``); ``data`` the whole
    ``NLMSG_ERROR`` message, headers included (extended ACK attributes, when
    the peer sent them, are in it: see ``libnl_py.message.parse_error``).
    """

    error: int
    request: Header
    data: bytes


MessageCallback = Callable[[Message], int]
"""``fn(msg) -> NL_OK | NL_SKIP | NL_STOP | -NLE``."""
ErrorCallback = Callable[[Address, ErrorMessage], int]
"""``fn(sender, err) -> NL_OK | NL_SKIP | NL_STOP | -NLE``."""


def _checked_type(cb_type: object) -> int:
    return checked_uint(cb_type, "callback type", int(lib.NL_CB_TYPE_MAX))


def _checked_kind(kind: object) -> int:
    return checked_uint(kind, "kind", int(lib.NL_CB_KIND_MAX))


def _checked_function(fn: object, kind: int) -> None:
    if kind == NL_CB_CUSTOM:
        if fn is not None and not callable(fn):
            raise TypeError(f"callback must be callable or None, not {type(fn).__name__}")
    elif fn is not None:
        raise ValueError(
            f"{_h.CB_KIND_NAMES.get(kind, kind)} installs libnl's own handler: pass no function"
        )


def _name(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


class _MessageSlot:
    """What libnl's ``arg`` points to for a message callback: the callable, and its type."""

    __slots__ = ("cb_type", "fn")

    def __init__(self, cb_type: int, fn: MessageCallback) -> None:
        self.cb_type = cb_type
        self.fn = fn

    def __call__(self, msg: Any) -> object:
        message = borrowed(msg)
        try:
            return self.fn(message)
        finally:
            expire(message)  # libnl frees it after we return

    def __str__(self) -> str:
        return f"{_h.CB_TYPE_NAMES.get(self.cb_type, self.cb_type)} callback {_name(self.fn)}"


class _ErrorSlot:
    """What libnl's ``arg`` points to for an error callback."""

    __slots__ = ("fn",)

    def __init__(self, fn: ErrorCallback) -> None:
        self.fn = fn

    def __call__(self, nla: Any, nlerr: Any) -> object:
        # libnl calls it from nl_recvmsgs only, for an NLMSG_ERROR it checked is
        # long enough for struct nlmsgerr, inside a message it checked fits
        # the datagram: its header sits right before nlerr.
        hdr = ffi.cast("struct nlmsghdr *", ffi.cast("char *", nlerr) - lib.NLMSG_HDRLEN)
        req = nlerr.msg
        err = ErrorMessage(
            int(nlerr.error),
            Header(req.nlmsg_len, req.nlmsg_type, req.nlmsg_flags, req.nlmsg_seq, req.nlmsg_pid),
            ffi.buffer(hdr, hdr.nlmsg_len)[:],
        )
        sender = Address(0, 0) if nla == ffi.NULL else Address(nla.nl_pid, nla.nl_groups)
        return self.fn(sender, err)

    def __str__(self) -> str:
        return f"error callback {_name(self.fn)}"


_Entry = tuple[Union[_MessageSlot, _ErrorSlot], Any]  # Union, not |: evaluated on 3.9 too
"""A slot, and the ffi.new_handle() of it that libnl holds as the callback's ``arg``."""


class Slots:
    """The Python side of one ``struct nl_cb``: for each type, what its ``arg`` points to.

    It keeps every slot (and the handle libnl holds) alive as long as the
    ``struct nl_cb`` may call it. Used by :class:`Callbacks` and, for the
    socket's own set, by :class:`libnl_py.Socket`.
    """

    __slots__ = ("_slots",)

    ERR = -1  # the key of the error callback

    def __init__(self, slots: dict[int, _Entry] | None = None) -> None:
        self._slots: dict[int, _Entry] = dict(slots or {})

    def copy(self) -> Slots:
        return Slots(self._slots)

    @staticmethod
    def message_handle(
        cb_type: object, fn: MessageCallback | None, kind: object
    ) -> tuple[int, int, _Entry | None]:
        """Checked (type, kind, (slot, handle) or None) for an ``nl_cb_set``-like call."""
        cb_type = _checked_type(cb_type)
        kind = _checked_kind(kind)
        _checked_function(fn, kind)
        if kind != NL_CB_CUSTOM or fn is None:
            return cb_type, kind, None
        slot = _MessageSlot(cb_type, fn)
        return cb_type, kind, (slot, ffi.new_handle(slot))

    @staticmethod
    def error_handle(fn: ErrorCallback | None, kind: object) -> tuple[int, _Entry | None]:
        """Checked (kind, (slot, handle) or None) for an ``nl_cb_err``-like call."""
        kind = _checked_kind(kind)
        _checked_function(fn, kind)
        if kind != NL_CB_CUSTOM or fn is None:
            return kind, None
        slot = _ErrorSlot(fn)
        return kind, (slot, ffi.new_handle(slot))

    def keep(self, key: int, entry: _Entry | None) -> None:
        """Record what libnl now calls for ``key`` (after libnl accepted it)."""
        if entry is None:
            self._slots.pop(key, None)
        else:
            self._slots[key] = entry

    @staticmethod
    def handle(entry: _Entry | None) -> Any:
        return None if entry is None else entry[1]

    def functions(self) -> dict[int, object]:
        """Type (``Slots.ERR`` for the error callback) -> the Python callable set for it."""
        return {key: slot.fn for key, (slot, _handle) in self._slots.items()}


class Callbacks(Owner):
    """A libnl callback set (``struct nl_cb``) owned by this object.

    ``Callbacks()`` allocates with ``nl_cb_alloc(NL_CB_DEFAULT)`` (no
    handlers); ``Callbacks(NL_CB_VERBOSE)`` or ``NL_CB_DEBUG`` start from
    libnl's printing handlers. :meth:`set` is ``nl_cb_set``, :meth:`err`
    ``nl_cb_err``, :meth:`clone` ``nl_cb_clone``. Pass it to
    :meth:`libnl_py.Socket.recvmsgs`. :meth:`free` releases it (idempotent;
    ``with`` frees on exit); afterwards every method raises
    :class:`~libnl_py.errors.FreedCallbacksError`.

    Calls are serialised by a lock per set; a receive using it holds the lock,
    so another thread's :meth:`set` or :meth:`free` waits for it, and a
    callback of that receive cannot change the set it runs from
    (:class:`~libnl_py.errors.BusyError`).
    """

    __slots__ = ("__weakref__", "_cb", "_slots")

    def __init__(self, kind: int = NL_CB_DEFAULT) -> None:
        kind = _checked_kind(kind)
        super().__init__()
        self._cb: Any = _h.cb_alloc(kind)
        self._slots = Slots()

    _busy_message = "callback set is running this callback: it cannot be used from it"

    def _ptr(self) -> Any:
        cb = self._cb
        if cb is None:
            raise FreedCallbacksError(
                function=type(self).__name__, message="callback set has been freed"
            )
        return cb

    def set(
        self, cb_type: int, fn: MessageCallback | None = None, kind: int = NL_CB_CUSTOM
    ) -> None:
        """Set the handler for messages of ``cb_type`` (``nl_cb_set``).

        ``fn(msg) -> int`` with ``NL_CB_CUSTOM`` (None removes the handler);
        with another kind, libnl's own handler of that kind and no ``fn``.
        """
        cb_type, kind, entry = Slots.message_handle(cb_type, fn, kind)
        with self._locked():
            _h.cb_set(self._ptr(), cb_type, kind, Slots.handle(entry))
            self._slots.keep(cb_type, entry)

    def err(self, fn: ErrorCallback | None = None, kind: int = NL_CB_CUSTOM) -> None:
        """Set the handler for error messages (``nl_cb_err``).

        ``fn(sender, err) -> int`` with ``NL_CB_CUSTOM``. libnl calls it for an
        ``NLMSG_ERROR`` with a non-zero error: ``NL_STOP`` ends the receive
        with that error (raised as its class), ``NL_SKIP`` and ``NL_OK`` go
        on, a negative NLE code ends it with that code.
        """
        kind, entry = Slots.error_handle(fn, kind)
        with self._locked():
            _h.cb_err(self._ptr(), kind, Slots.handle(entry))
            self._slots.keep(Slots.ERR, entry)

    def clone(self: _C) -> _C:
        """A new set with the same handlers (``nl_cb_clone``); each changes apart from then."""
        with self._locked():
            new = type(self).__new__(type(self))
            Owner.__init__(new)
            new._cb = _h.cb_clone(self._ptr())
            new._slots = self._slots.copy()
            return new

    @property
    def handlers(self) -> dict[int, object]:
        """The Python callables set, by ``NL_CB_*`` type (-1: the error callback)."""
        with self._locked():
            self._ptr()
            return self._slots.functions()

    def free(self) -> None:
        """Release the set (``nl_cb_put``). Idempotent; waits for a receive using it."""
        with self._locked():
            self._release("free()")

    def _release(self, by: str) -> bool:
        cb, self._cb = self._cb, None
        if cb is None:
            return False
        ffi.release(cb)
        self._slots = Slots()
        return True

    @property
    def freed(self) -> bool:
        return self._cb is None

    def __repr__(self) -> str:
        if self._cb is None:
            return f"<{type(self).__name__} freed>"
        names = []
        for key, fn in sorted(self._slots.functions().items()):
            kind = "err" if key == Slots.ERR else _h.CB_TYPE_NAMES.get(key, str(key))
            names.append(f"{kind}={_name(fn)}")
        return f"<{type(self).__name__} {' '.join(names) or 'no Python handlers'}>"
