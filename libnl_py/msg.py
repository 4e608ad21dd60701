"""``Message``: the one owner of a libnl ``struct nl_msg``, and its attributes.

This is libnl's own message path, for code ported from C: the header and
attribute calls are libnl's (``genlmsg_put``, ``nla_put_*``, ``nla_nest_*``,
``nlmsg_parse``, ``genlmsg_parse``, ``nla_parse_nested``), with what C leaves
to the programmer checked here:

* a freed message raises :class:`~libnl_py.errors.FreedMessageError` instead
  of touching freed memory, and so does a message a callback received, once
  the callback has returned (libnl frees it then);
* values out of the range of their C type raise instead of wrapping, and so
  does an attribute longer than its 16-bit ``nla_len`` can say (libnl 3.7's
  ``nla_put`` writes it with the length wrapped);
* nests end (or are cancelled) innermost first, once;
* a policy covers every type up to ``maxtype`` and names only types libnl
  knows (libnl reads past the array, or aborts the process, otherwise);
* getters refuse an attribute shorter than their type (libnl reads past it).

:class:`libnl_py.genl.GenlSocket` builds and parses its messages itself; the
two paths share nothing but the kernel.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any, NamedTuple, TypeVar, Union

from libnl_py._ffi import ffi, lib
from libnl_py.attrs import MalformedAttributesError
from libnl_py.bindings import msg as _m
from libnl_py.bindings.socket import PORT_MAX, U16_MAX, checked_uint
from libnl_py.errors import (
    AttributeSizeError,
    BusyError,
    FreedMessageError,
    InvalidError,
    MessageTooShortError,
    NotSupportedError,
)
from libnl_py.ownership import Owner, locked, pointer

__all__ = [
    "NL_AUTO_PORT",
    "NL_AUTO_SEQ",
    "Address",
    "Attr",
    "GenlHeader",
    "Header",
    "Message",
    "Nest",
    "Policy",
    "PolicyEntry",
]

NL_AUTO_PORT = int(lib.NL_AUTO_PORT)
"""``genlmsg_put``/``nlmsg_put`` port 0: ``send_auto`` fills in the socket's local port."""
NL_AUTO_SEQ = int(lib.NL_AUTO_SEQ)
"""Sequence number 0: ``send_auto`` fills in the socket's next one."""

HAS_NLA_UINT = bool(lib.HAS_NLA_UINT)
"""Whether the libnl this was built against has ``nla_put_uint``/``nla_put_sint`` (3.11+)."""

_ATTRTYPE_MAX = U16_MAX  # nla_type is a u16; the NLA_F_* flag bits may be set by the caller
# NLA_TYPE_MASK is ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER): negative as a C int.
_MAXTYPE_MAX = int(lib.NLA_TYPE_MASK) & 0xFFFF
_U8_MAX = 0xFF
_NLA_TYPE_MAX = int(lib.NLA_TYPE_MAX)
# nla_len is a u16 and counts the 4-byte header: libnl 3.7's nla_put writes
# a longer payload with its length wrapped, a message that no longer parses.
_NLA_PAYLOAD_MAX = 0xFFFF - int(lib.NLA_HDRLEN)
_M = TypeVar("_M", bound="Message")


class Header(NamedTuple):
    """A copy of a message's ``struct nlmsghdr``."""

    len: int
    type: int
    flags: int
    seq: int
    port: int
    """``nlmsg_pid``."""


class GenlHeader(NamedTuple):
    """A copy of a message's ``struct genlmsghdr``."""

    cmd: int
    version: int


class Address(NamedTuple):
    """A ``struct sockaddr_nl``: who sent a message (port 0 is the kernel)."""

    port: int
    groups: int


class PolicyEntry(NamedTuple):
    """One ``struct nla_policy``: an ``NLA_*`` type, and length limits (0: libnl's)."""

    type: int
    minlen: int = 0
    maxlen: int = 0


PolicySpec = Union[int, PolicyEntry, "tuple[int, int, int]"]


class Policy:
    """A ``struct nla_policy`` array for ``nla_parse`` and friends, built once, read-only.

    ``Policy({CTRL_ATTR_FAMILY_ID: lib.NLA_U16, CTRL_ATTR_FAMILY_NAME:
    PolicyEntry(lib.NLA_STRING, maxlen=16)}, maxtype=CTRL_ATTR_MAX)``: types
    not given are ``NLA_UNSPEC`` (not validated). ``maxtype`` defaults to the
    largest type given; a parse with a larger ``maxtype`` is refused (libnl
    would read past the array).
    """

    __slots__ = ("_array", "entries", "maxtype")

    def __init__(self, entries: Mapping[int, PolicySpec], maxtype: int | None = None) -> None:
        checked: dict[int, tuple[int, int, int]] = {}
        for attrtype, spec in entries.items():
            attrtype = checked_uint(attrtype, "policy attribute type", _MAXTYPE_MAX)
            entry = PolicyEntry(*spec) if isinstance(spec, tuple) else PolicyEntry(spec)
            # libnl calls BUG() (abort()) for a type above NLA_TYPE_MAX.
            kind = checked_uint(entry.type, f"policy type of attribute {attrtype}", _NLA_TYPE_MAX)
            minlen = checked_uint(entry.minlen, f"minlen of attribute {attrtype}", U16_MAX)
            maxlen = checked_uint(entry.maxlen, f"maxlen of attribute {attrtype}", U16_MAX)
            checked[attrtype] = (kind, minlen, maxlen)
        if maxtype is None:
            maxtype = max(checked, default=0)
        maxtype = checked_uint(maxtype, "maxtype", _MAXTYPE_MAX)
        if checked and max(checked) > maxtype:
            raise ValueError(f"policy has attribute {max(checked)} above maxtype {maxtype}")
        self.maxtype = maxtype
        self.entries: dict[int, PolicyEntry] = {t: PolicyEntry(*e) for t, e in checked.items()}
        self._array = _m.new_policy(checked, maxtype)

    def _for(self, maxtype: int) -> Any:
        if maxtype > self.maxtype:
            raise ValueError(
                f"policy covers attribute types up to {self.maxtype}, the parse up to {maxtype}"
            )
        return self._array

    def __repr__(self) -> str:
        return f"Policy({self.entries!r}, maxtype={self.maxtype})"


def _policy(policy: Policy | None, maxtype: int) -> Any:
    if policy is None:
        return ffi.NULL
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a Policy or None, not {type(policy).__name__}")
    return policy._for(maxtype)


def _attrtype(attrtype: object) -> int:
    return checked_uint(attrtype, "attribute type", _ATTRTYPE_MAX)


def _int_value(value: object, kind: str) -> int:
    _size, low, high = _m.INT_KINDS[kind]
    if type(value) is int:  # the common case, first
        number = value
    elif isinstance(value, bool):
        raise TypeError(f"{kind} value must be an integer, not bool")
    else:
        try:
            number = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(
                f"{kind} value must be an integer, not {type(value).__name__}"
            ) from None
    if not low <= number <= high:
        raise ValueError(f"{kind} value must be in {low}..{high}, got {number}")
    return number


def _payload_fits(length: int, attrtype: int, function: str) -> None:
    if length > _NLA_PAYLOAD_MAX:
        raise AttributeSizeError(
            function=function,
            message=f"attribute {attrtype}: {length} bytes of payload, at most"
            f" {_NLA_PAYLOAD_MAX} fit in nla_len",
        )


def _bytes(value: object, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes-like, not {type(value).__name__}")


class Nest:
    """An open nest of a :class:`Message` (``nla_nest_start``), to end or cancel once."""

    __slots__ = ("_attr", "_message", "attrtype", "state")

    def __init__(self, message: Message, attr: Any, attrtype: int) -> None:
        self._message = message
        self._attr = attr
        self.attrtype = attrtype
        self.state = "open"
        """``"open"``, ``"ended"`` or ``"cancelled"``."""

    def __repr__(self) -> str:
        return f"<Nest {self.attrtype} {self.state}>"


class Message(Owner):
    """A libnl netlink message (``struct nl_msg``), owned by this object.

    ``Message()`` allocates with ``nlmsg_alloc`` (libnl's default size, a
    page), ``Message(size)`` with ``nlmsg_alloc_size``; a put that does not
    fit raises :class:`~libnl_py.errors.OutOfMemoryError`, as libnl reports it.
    :meth:`free` releases it (idempotent; ``with Message() as msg:`` frees on
    exit); a message dropped without :meth:`free` is freed by the garbage
    collector. After :meth:`free`, and after
    :meth:`libnl_py.Socket.send_sync` (which frees it, as ``nl_send_sync``
    does), every method raises :class:`~libnl_py.errors.FreedMessageError`.

    The messages callbacks receive are of this class too, but belong to libnl:
    they can be read and parsed during the callback only, and not freed.

    Calls are serialised by a lock per message (calls into libnl run without
    the GIL): another thread's :meth:`free` waits for a call in progress.
    """

    __slots__ = ("__weakref__", "_freed_by", "_msg", "_nests", "_owned")

    def __init__(self, size: int | None = None) -> None:
        if size is not None:
            size = checked_uint(size, "size", 0x7FFFFFFF)
        super().__init__()
        self._msg: Any = _m.alloc(size)
        self._owned = True
        self._nests: list[Nest] = []
        self._freed_by = "free()"

    @classmethod
    def _borrow(cls: type[_M], msg: Any) -> _M:
        """A view of libnl's ``msg`` for a callback; :meth:`_expire` when the callback returns."""
        self = cls.__new__(cls)
        Owner.__init__(self)
        self._msg = msg
        self._owned = False
        self._nests = []
        self._freed_by = "libnl, after the callback it was passed to returned"
        return self

    def _expire(self) -> None:
        with self._lock:  # waits for a read in progress on another thread
            self._msg = None

    # -- ownership -------------------------------------------------------

    _busy_message = (
        "message is being sent: a callback cannot use the message being sent"
        " (it is passed one of its own)"
    )

    def _ptr(self) -> Any:
        """The live ``struct nl_msg *``; call with the lock held."""
        msg = self._msg
        if msg is None:
            raise FreedMessageError(
                function=type(self).__name__, message=f"message was freed by {self._freed_by}"
            )
        return msg

    def free(self) -> None:
        """Release the message (``nlmsg_free``). Idempotent.

        Waits for a call in progress on another thread. A message a callback
        received belongs to libnl and cannot be freed
        (:class:`~libnl_py.errors.InvalidError`).
        """
        if not self._owned:
            raise InvalidError(
                function="Message.free",
                message="a message passed to a callback belongs to libnl, which frees it",
            )
        with self._locked():
            self._release("free()")

    def _release(self, by: str) -> bool:
        """Free the C message now; call with the lock held."""
        msg, self._msg = self._msg, None
        if msg is None:
            return False
        self._freed_by = by
        self._nests.clear()
        ffi.release(msg)
        return True

    @property
    def freed(self) -> bool:
        """True once the message no longer exists (freed, sent by send_sync, or expired)."""
        return self._msg is None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._owned:
            self.free()

    def __repr__(self) -> str:
        if self._msg is None:
            return f"<{type(self).__name__} freed>"
        running = self._running
        if running and running == threading.get_ident():
            return f"<{type(self).__name__} being sent>"
        with self._lock:
            msg = self._msg
            if msg is None:
                return f"<{type(self).__name__} freed>"
            h = lib.nlmsg_hdr(msg)
            text = (
                f"len={h.nlmsg_len} type={h.nlmsg_type:#x} flags={h.nlmsg_flags:#x}"
                f" seq={h.nlmsg_seq} port={h.nlmsg_pid}"
            )
        return f"<{type(self).__name__} {text}>"

    # -- headers ---------------------------------------------------------

    def genlmsg_put(
        self,
        port: int,
        seq: int,
        family: int,
        hdrlen: int,
        flags: int,
        cmd: int,
        version: int,
        *,
        header: bytes | None = None,
    ) -> None:
        """Fill in the netlink header and append a generic netlink header (``genlmsg_put``).

        The arguments are ``genlmsg_put``'s, in its order: ``port`` and ``seq``
        are usually :data:`NL_AUTO_PORT`/:data:`NL_AUTO_SEQ` (``send_auto``
        fills them in), ``family`` the family id, ``hdrlen`` the size of the
        family's own header (``header``, when given, is copied into it).
        """
        port = checked_uint(port, "port", PORT_MAX)
        seq = checked_uint(seq, "seq", PORT_MAX)
        family = checked_uint(family, "family", U16_MAX)
        hdrlen = checked_uint(hdrlen, "hdrlen", U16_MAX)
        flags = checked_uint(flags, "flags", U16_MAX)
        cmd = checked_uint(cmd, "cmd", _U8_MAX)
        version = checked_uint(version, "version", _U8_MAX)
        if header is not None:
            header = _bytes(header, "header")
            if len(header) != hdrlen:
                raise ValueError(f"header is {len(header)} bytes, hdrlen says {hdrlen}")
        with self._locked():
            _m.genlmsg_put(self._ptr(), port, seq, family, hdrlen, flags, cmd, version, header)

    def nlmsg_put(self, port: int, seq: int, msg_type: int, payload: int, flags: int) -> None:
        """Fill in the netlink header and reserve ``payload`` zeroed bytes (``nlmsg_put``)."""
        port = checked_uint(port, "port", PORT_MAX)
        seq = checked_uint(seq, "seq", PORT_MAX)
        msg_type = checked_uint(msg_type, "msg_type", U16_MAX)
        payload = checked_uint(payload, "payload", 0x7FFFFFFF)
        flags = checked_uint(flags, "flags", U16_MAX)
        with self._locked():
            _m.nlmsg_put(self._ptr(), port, seq, msg_type, payload, flags)

    def append(self, data: bytes, pad: int = int(lib.NLMSG_ALIGNTO)) -> None:
        """Append ``data`` (a family header, say), padded to ``pad`` (``nlmsg_append``)."""
        data = _bytes(data, "data")
        pad = checked_uint(pad, "pad", 0xFFFF)
        with self._locked():
            _m.append(self._ptr(), data, pad)

    @property
    def header(self) -> Header:
        """A copy of the ``struct nlmsghdr`` (``nlmsg_hdr``), as it is now."""
        with self._locked():
            h = lib.nlmsg_hdr(self._ptr())
            return Header(h.nlmsg_len, h.nlmsg_type, h.nlmsg_flags, h.nlmsg_seq, h.nlmsg_pid)

    @property
    def genl_header(self) -> GenlHeader:
        """A copy of the ``struct genlmsghdr`` (``genlmsg_hdr``).

        :class:`~libnl_py.errors.MessageTooShortError` when the message is
        shorter than the two headers.
        """
        with self._locked():
            nlh = lib.nlmsg_hdr(self._ptr())
            if not lib.genlmsg_valid_hdr(nlh, 0):
                raise MessageTooShortError(
                    function="genlmsg_hdr", message="message has no generic netlink header"
                )
            g = lib.genlmsg_hdr(nlh)
            return GenlHeader(g.cmd, g.version)

    @property
    def src(self) -> Address:
        """Who sent it (``nlmsg_get_src``): set on the messages callbacks receive."""
        with self._locked():
            addr = lib.nlmsg_get_src(self._ptr())
            return Address(addr.nl_pid, addr.nl_groups)

    @property
    def max_size(self) -> int:
        """The size of the message's buffer (``nlmsg_get_max_size``)."""
        with self._locked():
            return int(lib.nlmsg_get_max_size(self._ptr()))

    def __bytes__(self) -> bytes:
        """The message as it is sent: ``nlmsg_len`` bytes from its header."""
        with self._locked():
            return _m.data(self._ptr())

    # -- attributes --------------------------------------------------------

    def _put_int(self, kind: str, attrtype: int, value: int) -> None:
        attrtype = _attrtype(attrtype)
        value = _int_value(value, kind)
        with self._locked():
            _m.put_int(self._ptr(), kind, attrtype, value)

    def put_u8(self, attrtype: int, value: int) -> None:
        """``nla_put_u8``."""
        self._put_int("u8", attrtype, value)

    def put_u16(self, attrtype: int, value: int) -> None:
        """``nla_put_u16``."""
        self._put_int("u16", attrtype, value)

    def put_u32(self, attrtype: int, value: int) -> None:
        """``nla_put_u32``."""
        self._put_int("u32", attrtype, value)

    def put_u64(self, attrtype: int, value: int) -> None:
        """``nla_put_u64``."""
        self._put_int("u64", attrtype, value)

    def put_s8(self, attrtype: int, value: int) -> None:
        """``nla_put_s8``."""
        self._put_int("s8", attrtype, value)

    def put_s16(self, attrtype: int, value: int) -> None:
        """``nla_put_s16``."""
        self._put_int("s16", attrtype, value)

    def put_s32(self, attrtype: int, value: int) -> None:
        """``nla_put_s32``."""
        self._put_int("s32", attrtype, value)

    def put_s64(self, attrtype: int, value: int) -> None:
        """``nla_put_s64``."""
        self._put_int("s64", attrtype, value)

    def put_msecs(self, attrtype: int, value: int) -> None:
        """``nla_put_msecs``: milliseconds, written as a u64."""
        self._put_int("msecs", attrtype, value)

    def put_uint(self, attrtype: int, value: int) -> None:
        """``nla_put_uint`` (libnl 3.11+): 4 bytes when the value fits, else 8.

        :class:`~libnl_py.errors.NotSupportedError` with an older libnl.
        """
        _need_uint("nla_put_uint")
        self._put_int("uint", attrtype, value)

    def put_sint(self, attrtype: int, value: int) -> None:
        """``nla_put_sint`` (libnl 3.11+): 4 bytes when the value fits, else 8."""
        _need_uint("nla_put_sint")
        self._put_int("sint", attrtype, value)

    def put_string(self, attrtype: int, value: str | bytes) -> None:
        """``nla_put_string``: UTF-8 (or the bytes given) and a NUL; an embedded NUL is refused."""
        attrtype = _attrtype(attrtype)
        if isinstance(value, str):
            raw = value.encode()
        elif isinstance(value, (bytes, bytearray)):
            raw = bytes(value)
        else:
            raise TypeError(f"string value must be str or bytes, not {type(value).__name__}")
        if b"\0" in raw:
            # C would stop at it (strlen): what was asked for would not be sent.
            raise ValueError("string value contains a NUL byte")
        _payload_fits(len(raw) + 1, attrtype, "nla_put_string")
        with self._locked():
            _m.put_string(self._ptr(), attrtype, raw)

    def put_flag(self, attrtype: int) -> None:
        """``nla_put_flag``: an attribute without payload."""
        attrtype = _attrtype(attrtype)
        with self._locked():
            _m.put_flag(self._ptr(), attrtype)

    def put(self, attrtype: int, data: bytes) -> None:
        """``nla_put``: an attribute holding ``data`` as it is (binary)."""
        attrtype = _attrtype(attrtype)
        data = _bytes(data, "data")
        _payload_fits(len(data), attrtype, "nla_put")
        with self._locked():
            _m.put(self._ptr(), attrtype, data)

    def put_nested(self, attrtype: int, nested: Message) -> None:
        """``nla_put_nested``: everything after ``nested``'s netlink header, as one attribute."""
        attrtype = _attrtype(attrtype)
        if not isinstance(nested, Message):
            raise TypeError(f"nested must be a Message, not {type(nested).__name__}")
        if nested is self:
            raise ValueError("a message cannot be nested in itself")
        # Both locks, always in the same order, so two threads nesting each
        # other's messages cannot deadlock.
        first, second = sorted((self, nested), key=id)
        with locked(first), locked(second):
            inner = pointer(nested)
            _payload_fits(_m.datalen(inner), attrtype, "nla_put_nested")
            _m.put_nested(self._ptr(), attrtype, inner)

    def nest_start(self, attrtype: int) -> Nest:
        """Open a nest (``nla_nest_start``): attributes put until :meth:`nest_end` go inside."""
        attrtype = _attrtype(attrtype)
        with self._locked():
            nest = Nest(self, _m.nest_start(self._ptr(), attrtype), attrtype)
            self._nests.append(nest)
            return nest

    def _innermost(self, nest: Nest, what: str) -> None:
        if not isinstance(nest, Nest):
            raise TypeError(f"{what} takes a Nest, not {type(nest).__name__}")
        if nest._message is not self:
            raise ValueError(f"{nest!r} belongs to another message")
        if nest.state != "open":
            raise ValueError(f"{nest!r} is {nest.state} already")
        if self._nests[-1] is not nest:
            raise ValueError(f"{self._nests[-1]!r} is open inside {nest!r}: end it first")

    def nest_end(self, nest: Nest, *, keep_empty: bool = False) -> None:
        """Close the innermost open nest (``nla_nest_end``).

        As libnl does, an empty nest is removed, unless ``keep_empty``
        (``nla_nest_end_keep_empty``).
        """
        with self._locked():
            msg = self._ptr()
            self._innermost(nest, "nest_end")
            _m.nest_end(msg, nest._attr, keep_empty)
            self._nests.pop()
            nest.state = "ended"

    def nest_cancel(self, nest: Nest) -> None:
        """Remove the innermost open nest and everything put in it (``nla_nest_cancel``)."""
        with self._locked():
            msg = self._ptr()
            self._innermost(nest, "nest_cancel")
            _m.nest_cancel(msg, nest._attr)
            self._nests.pop()
            nest.state = "cancelled"

    # -- parsing -------------------------------------------------------------

    def _table(self, tb: Any, maxtype: int) -> list[Attr | None]:
        return [None if tb[i] == ffi.NULL else Attr(self, tb[i]) for i in range(maxtype + 1)]

    def nlmsg_parse(
        self, hdrlen: int, maxtype: int, policy: Policy | None = None
    ) -> list[Attr | None]:
        """The attributes after the netlink header and ``hdrlen`` bytes (``nlmsg_parse``).

        Returns libnl's ``tb``: a list of ``maxtype + 1`` entries, the
        :class:`Attr` of each type present (the last one of a repeated type;
        types above ``maxtype`` are skipped) or None. With ``policy`` each
        attribute is validated: :class:`~libnl_py.errors.RangeError` or
        :class:`~libnl_py.errors.InvalidError` as libnl reports it.
        """
        hdrlen = checked_uint(hdrlen, "hdrlen", 0x7FFFFFFF)
        maxtype = checked_uint(maxtype, "maxtype", _MAXTYPE_MAX)
        pol = _policy(policy, maxtype)
        tb = _m.new_table(maxtype)
        with self._locked():
            _m.nlmsg_parse(self._ptr(), hdrlen, tb, maxtype, pol)
            return self._table(tb, maxtype)

    def genlmsg_parse(
        self, hdrlen: int, maxtype: int, policy: Policy | None = None
    ) -> list[Attr | None]:
        """The attributes after the generic netlink header and the family's ``hdrlen``
        bytes (``genlmsg_parse``); see :meth:`nlmsg_parse`."""
        hdrlen = checked_uint(hdrlen, "hdrlen", 0x7FFFFFFF)
        maxtype = checked_uint(maxtype, "maxtype", _MAXTYPE_MAX)
        pol = _policy(policy, maxtype)
        tb = _m.new_table(maxtype)
        with self._locked():
            _m.genlmsg_parse(self._ptr(), hdrlen, tb, maxtype, pol)
            return self._table(tb, maxtype)


def _need_uint(function: str) -> None:
    if not HAS_NLA_UINT:
        raise NotSupportedError(function=function, message=f"{function} needs libnl 3.11 or newer")


class Attr:
    """An attribute inside a :class:`Message` (a ``struct nlattr *`` into its buffer).

    Valid while the message is: every read after the message is freed (or,
    for a callback's message, after the callback returned) raises
    :class:`~libnl_py.errors.FreedMessageError`.
    """

    __slots__ = ("_attr", "_message")

    def __init__(self, message: Message, attr: Any) -> None:
        self._message = message
        self._attr = attr

    def _live(self) -> Any:
        pointer(self._message)  # raises once the message is gone
        return self._attr

    def _offset(self) -> int:
        base = ffi.cast("uintptr_t", lib.nlmsg_hdr(self._message._msg))
        return int(ffi.cast("uintptr_t", self._attr)) - int(base)

    @property
    def type(self) -> int:
        """``nla_type``: the type without the ``NLA_F_*`` flag bits."""
        with locked(self._message):
            return int(lib.nla_type(self._live()))

    @property
    def len(self) -> int:
        """``nla_len``: the payload's length."""
        with locked(self._message):
            return int(lib.nla_len(self._live()))

    def data(self) -> bytes:
        """A copy of the payload (``nla_data``, ``nla_len`` bytes)."""
        with locked(self._message):
            return _m.payload(self._live())

    def is_nested(self) -> bool:
        """``nla_is_nested``: whether ``NLA_F_NESTED`` is set."""
        with locked(self._message):
            return bool(lib.nla_is_nested(self._live()))

    def _get_int(self, kind: str) -> int:
        need = _m.INT_KINDS[kind][0]
        with locked(self._message):
            attr = self._live()
            length = lib.nla_len(attr)
            # nla_get_uint reads 4 bytes when there are 4, else 8.
            variable = kind in ("uint", "sint")
            if length < need or (variable and 4 < length < 8):
                wanted = "4 or at least 8" if variable else f"at least {need}"
                raise MalformedAttributesError(
                    f"attribute {lib.nla_type(attr)} has {length} bytes of payload,"
                    f" nla_get_{kind} needs {wanted}",
                    self._offset(),
                )
            return _m.get_int(attr, kind)

    def get_u8(self) -> int:
        """``nla_get_u8``."""
        return self._get_int("u8")

    def get_u16(self) -> int:
        """``nla_get_u16``."""
        return self._get_int("u16")

    def get_u32(self) -> int:
        """``nla_get_u32``."""
        return self._get_int("u32")

    def get_u64(self) -> int:
        """``nla_get_u64``."""
        return self._get_int("u64")

    def get_s8(self) -> int:
        """``nla_get_s8``."""
        return self._get_int("s8")

    def get_s16(self) -> int:
        """``nla_get_s16``."""
        return self._get_int("s16")

    def get_s32(self) -> int:
        """``nla_get_s32``."""
        return self._get_int("s32")

    def get_s64(self) -> int:
        """``nla_get_s64``."""
        return self._get_int("s64")

    def get_msecs(self) -> int:
        """``nla_get_msecs``."""
        return self._get_int("msecs")

    def get_uint(self) -> int:
        """``nla_get_uint`` (libnl 3.11+)."""
        _need_uint("nla_get_uint")
        return self._get_int("uint")

    def get_sint(self) -> int:
        """``nla_get_sint`` (libnl 3.11+)."""
        _need_uint("nla_get_sint")
        return self._get_int("sint")

    def get_string(self) -> str:
        """``nla_get_string``: the payload up to its first NUL (or its end), as UTF-8."""
        with locked(self._message):
            return _m.get_string(self._live()).decode("utf-8", "surrogateescape")

    def get_flag(self) -> bool:
        """``nla_get_flag``: True (an attribute that exists is a set flag)."""
        with locked(self._message):
            return bool(lib.nla_get_flag(self._live()))

    def parse_nested(self, maxtype: int, policy: Policy | None = None) -> list[Attr | None]:
        """The attributes inside this one (``nla_parse_nested``), as ``tb``; see
        :meth:`Message.nlmsg_parse`."""
        maxtype = checked_uint(maxtype, "maxtype", _MAXTYPE_MAX)
        pol = _policy(policy, maxtype)
        tb = _m.new_table(maxtype)
        message = self._message
        with locked(message):
            _m.parse_nested(tb, maxtype, self._live(), pol)
            return message._table(tb, maxtype)

    def nested_attrs(self) -> list[Attr]:
        """Every attribute inside this one, in order (``nla_for_each_nested``)."""
        message = self._message
        with locked(message):
            return [Attr(message, a) for a in _m.nested_attrs(self._live())]

    def __repr__(self) -> str:
        if self._message._msg is None:
            return "<Attr of a freed message>"
        try:
            return f"<Attr type={self.type} len={self.len}>"
        except BusyError:
            return "<Attr of a message being sent>"


def borrowed(msg: Any) -> Message:
    """A :class:`Message` viewing libnl's ``msg`` for a callback; :func:`expire` it after."""
    return Message._borrow(msg)


def expire(message: Message) -> None:
    """The callback ``message`` was passed to returned: libnl frees it, the view goes."""
    message._expire()
