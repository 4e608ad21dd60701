"""Netlink and generic netlink messages: header layouts, parsing, extended ACKs."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from libnl_py._ffi import lib
from libnl_py.attrs import Attributes, MalformedAttributesError
from libnl_py.errors import MessageTooShortError

__all__ = [
    "GENL_HDRLEN",
    "NLMSG_HDRLEN",
    "ExtAck",
    "GenlMessage",
    "MalformedMessageError",
    "pack_genl_request",
    "split_datagram",
]

NLMSG_HDRLEN = 16
"""Size of a netlink message header (``struct nlmsghdr``)."""
GENL_HDRLEN = 4
"""Size of a generic netlink header (``struct genlmsghdr``: cmd, version, reserved)."""
NLMSG_NOOP = lib.NLMSG_NOOP
NLMSG_ERROR = lib.NLMSG_ERROR
NLMSG_DONE = lib.NLMSG_DONE
NLMSG_OVERRUN = lib.NLMSG_OVERRUN
NLM_F_REQUEST = lib.NLM_F_REQUEST
NLM_F_ACK = lib.NLM_F_ACK
NLM_F_DUMP = lib.NLM_F_DUMP
NLM_F_DUMP_INTR = lib.NLM_F_DUMP_INTR
NLM_F_CAPPED = lib.NLM_F_CAPPED
NLM_F_ACK_TLVS = lib.NLM_F_ACK_TLVS
NLM_F_REPLACE = lib.NLM_F_REPLACE
NLM_F_EXCL = lib.NLM_F_EXCL
NLM_F_CREATE = lib.NLM_F_CREATE
NLM_F_APPEND = lib.NLM_F_APPEND

_NLMSGHDR = struct.Struct("=IHHII")
_REQ_HDR = struct.Struct("=IHHIIBBH")  # nlmsghdr + genlmsghdr, what every request starts with
_S32 = struct.Struct("=i")


class MalformedMessageError(MessageTooShortError):
    """A datagram or message whose lengths do not add up."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(function="message parse", message=f"{message} at offset {offset}")
        self.offset = offset


def split_datagram(data: bytes) -> list[tuple[int, int, int, int, int, int]]:
    """(type, flags, seq, port, start, end) for each message of a datagram.

    Raises :class:`MalformedMessageError` at the first message whose
    ``nlmsg_len`` is below the header size or runs past the datagram.
    """
    out = []
    pos = 0
    end = len(data)
    unpack = _NLMSGHDR.unpack_from
    while end - pos >= NLMSG_HDRLEN:
        length, msg_type, flags, seq, port = unpack(data, pos)
        if length < NLMSG_HDRLEN or length > end - pos:
            raise MalformedMessageError(
                f"nlmsg_len {length} invalid for {end - pos} bytes left", pos
            )
        out.append((msg_type, flags, seq, port, pos, pos + length))
        pos += (length + 3) & ~3
    if pos < end and not out:
        raise MalformedMessageError(f"{end - pos} bytes are too short for a message header", pos)
    return out


def pack_genl_request(
    family_id: int,
    flags: int,
    seq: int,
    port: int,
    cmd: int,
    version: int,
    payload: bytes,
) -> bytes:
    """One generic netlink request: nlmsghdr, genlmsghdr, then ``payload`` (header + attrs)."""
    return (
        _REQ_HDR.pack(
            NLMSG_HDRLEN + GENL_HDRLEN + len(payload), family_id, flags, seq, port, cmd, version, 0
        )
        + payload
    )


@dataclass(frozen=True)
class ExtAck:
    """What the kernel said about a failed (or warned) request, from ``NLMSGERR_ATTR_*``.

    ``offset`` is a byte offset into the request (header included);
    ``attribute_path`` the types, outermost first, of the request attribute at
    that offset, and ``attribute_names`` their names where the family is known.
    """

    message: str | None = None
    offset: int | None = None
    attribute_path: tuple[int, ...] = ()
    attribute_names: tuple[str, ...] = ()
    missing_type: int | None = None
    missing_nest: int | None = None
    missing_name: str | None = None
    """The missing attribute's name, where the family's spec has one."""
    cookie: bytes | None = None
    policy: bytes | None = field(default=None, repr=False)

    def describe(self) -> str:
        """One line for an exception message."""
        parts = []
        if self.message:
            parts.append(self.message)
        if self.attribute_path:
            where = "/".join(self.attribute_names or tuple(map(str, self.attribute_path)))
            parts.append(f"offending attribute {where} (offset {self.offset})")
        elif self.offset is not None:
            parts.append(f"offending offset {self.offset}")
        if self.missing_type is not None:
            parts.append(f"missing attribute {self.missing_name or self.missing_type}")
        return "; ".join(parts)


def parse_ack_tlvs(data: bytes, start: int, end: int) -> ExtAck:
    """The ``NLMSGERR_ATTR_*`` attributes in data[start:end]; malformed ones are ignored."""
    try:
        attrs = Attributes(data, start, end)
    except MalformedAttributesError:
        return ExtAck()
    msg = attrs.get(lib.NLMSGERR_ATTR_MSG)
    offs = attrs.get(lib.NLMSGERR_ATTR_OFFS)
    miss = attrs.get(lib.NLMSGERR_ATTR_MISS_TYPE)
    nest = attrs.get(lib.NLMSGERR_ATTR_MISS_NEST)
    cookie = attrs.get(lib.NLMSGERR_ATTR_COOKIE)
    policy = attrs.get(lib.NLMSGERR_ATTR_POLICY)
    try:
        return ExtAck(
            message=msg.string() if msg is not None else None,
            offset=offs.u32() if offs is not None else None,
            missing_type=miss.u32() if miss is not None else None,
            missing_nest=nest.u32() if nest is not None else None,
            cookie=cookie.payload if cookie is not None else None,
            policy=policy.payload if policy is not None else None,
        )
    except MalformedAttributesError:
        return ExtAck(message=msg.string() if msg is not None else None)


def parse_error(data: bytes, start: int, end: int, flags: int) -> tuple[int, ExtAck | None]:
    """(error, ext ack) of an NLMSG_ERROR message at data[start:end]; error is <= 0."""
    body = start + NLMSG_HDRLEN
    if end - body < 4 + NLMSG_HDRLEN:
        raise MalformedMessageError("NLMSG_ERROR shorter than struct nlmsgerr", start)
    error = _S32.unpack_from(data, body)[0]
    if not flags & NLM_F_ACK_TLVS:
        return error, None
    echoed = body + 4
    if flags & NLM_F_CAPPED:
        tlvs = echoed + NLMSG_HDRLEN
    else:
        tlvs = echoed + ((_NLMSGHDR.unpack_from(data, echoed)[0] + 3) & ~3)
    if tlvs > end:
        return error, None
    return error, parse_ack_tlvs(data, tlvs, end)


def parse_done(data: bytes, start: int, end: int, flags: int) -> tuple[int, ExtAck | None]:
    """(error, ext ack) carried in an NLMSG_DONE payload (0 when it carries none)."""
    body = start + NLMSG_HDRLEN
    if end - body < 4:
        return 0, None
    error = _S32.unpack_from(data, body)[0]
    if flags & NLM_F_ACK_TLVS and end - body > 4:
        return error, parse_ack_tlvs(data, body + 4, end)
    return error, None


class _MessageFields:
    """GenlMessage's fields, where the C accelerator (whose ``Message`` has them) is not built."""

    __slots__ = (
        "_attrs",
        "_attrs_at",
        "_data",
        "cmd",
        "family_id",
        "flags",
        "port",
        "seq",
        "version",
    )
    _attrs: Attributes | None
    _attrs_at: int
    _data: bytes
    cmd: int
    family_id: int
    flags: int
    port: int
    seq: int
    version: int


_COPIED = ("family_id", "flags", "seq", "port", "cmd", "version")
"""The fields a copy of a GenlMessage takes over (the rest follow from its bytes)."""

if TYPE_CHECKING:
    _Fields = _MessageFields
else:
    try:  # a C base: libnl_py._codec.messages() makes a batch's messages without Python code
        from libnl_py._codec import Message as _Fields
    except ImportError:
        _Fields = _MessageFields


class GenlMessage(_Fields):
    """A generic netlink message, copied out of libnl's buffers.

    ``family_id`` is the nlmsg_type; ``cmd``/``version`` come from the genl
    header; ``header`` is the family's fixed header (``hdrsize`` bytes, often
    empty); ``attrs`` the attributes after it.
    """

    __slots__ = ()

    def __init__(
        self,
        data: bytes,
        start: int,
        end: int,
        msg_type: int,
        flags: int,
        seq: int,
        port: int,
        hdrsize: int = 0,
    ) -> None:
        if end - start - NLMSG_HDRLEN < GENL_HDRLEN + hdrsize:
            raise MalformedMessageError("message shorter than its generic netlink headers", start)
        if start or end != len(data) or type(data) is not bytes:
            data = bytes(data[start:end])  # a copy, whatever memory it came from
        self._data = data
        self.family_id = msg_type
        self.flags = flags
        self.seq = seq
        self.port = port
        self.cmd = data[NLMSG_HDRLEN]
        self.version = data[NLMSG_HDRLEN + 1]
        self._attrs_at = NLMSG_HDRLEN + GENL_HDRLEN + hdrsize
        self._attrs = None

    def __reduce__(self) -> tuple[Any, ...]:
        # For copy and pickle: copyreg sees no slots in the C base's fields. Made again
        # from its bytes, then every field as it is now (one set since, too).
        data = self._data
        hdrsize = self._attrs_at - NLMSG_HDRLEN - GENL_HDRLEN
        fields = {name: getattr(self, name) for name in _COPIED}
        return type(self), (data, 0, len(data), 0, 0, 0, 0, hdrsize), (None, fields)

    @property
    def header(self) -> bytes:
        """The family-specific fixed header between the genl header and the attributes."""
        return self._data[NLMSG_HDRLEN + GENL_HDRLEN : self._attrs_at]

    @property
    def attrs(self) -> Attributes:
        """The message's attributes (parsed on first use; malformed ones raise)."""
        attrs = self._attrs
        if attrs is None:
            attrs = self._attrs = Attributes(self._data, self._attrs_at, len(self._data))
        return attrs

    @property
    def attrs_offset(self) -> int:
        """Where the attributes start in :attr:`data` (after the headers)."""
        return self._attrs_at

    @property
    def data(self) -> bytes:
        """The whole message, headers included."""
        return self._data

    def __repr__(self) -> str:
        return (
            f"GenlMessage(family_id={self.family_id}, cmd={self.cmd}, version={self.version}, "
            f"seq={self.seq}, port={self.port}, flags={self.flags:#x}, len={len(self._data)})"
        )
