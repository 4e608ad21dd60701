"""Netlink attributes: an encoder for requests and a decoder for replies.

The encoder follows mdlayher/netlink's ``AttributeEncoder``: puts append to
one buffer, the first error (a value out of range, an attribute or nest over
the 64 KiB an ``nla_len`` can describe) is recorded, later puts are ignored,
and :meth:`AttributeEncoder.encode` raises it once.

The decoder indexes a buffer once (type, offset, length per attribute) and
reads values on demand; nested attributes are views over the same bytes, so
nothing is copied per attribute. A malformed buffer raises
:class:`MalformedAttributesError` (a ``ValueError``) with the offending offset.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from libnl_py.errors import AttributeSizeError, ParseError

__all__ = [
    "NLA_F_NESTED",
    "NLA_F_NET_BYTEORDER",
    "NLA_HDRLEN",
    "NLA_TYPE_MASK",
    "Attribute",
    "AttributeEncoder",
    "Attributes",
    "MalformedAttributesError",
    "attribute_path",
]

NLA_HDRLEN = 4
"""Size of an attribute header (``struct nlattr``: ``nla_len`` and ``nla_type``)."""
NLA_F_NESTED = 1 << 15
"""``nla_type`` flag: the payload is itself attributes."""
NLA_F_NET_BYTEORDER = 1 << 14
"""``nla_type`` flag: the payload is in network byte order."""
NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xFFFF
"""The bits of ``nla_type`` that are the type, without the two flags."""
_NLA_LEN_MAX = 0xFFFF

_HDR = struct.Struct("=HH")
_PADDING = (b"", b"\0", b"\0\0", b"\0\0\0")  # by bytes missing to a 4-byte boundary
_STRING_END = (b"\0", b"\0\0", b"\0\0\0", b"\0\0\0\0")  # a string's NUL, then the padding
_U8, _U16, _U32, _U64 = (struct.Struct(f"={c}") for c in "BHIQ")
_S8, _S16, _S32, _S64 = (struct.Struct(f"={c}") for c in "bhiq")
_BE16, _BE32, _BE64 = (struct.Struct(f">{c}") for c in "HIQ")

_INT_FORMATS: dict[str, tuple[struct.Struct, int, int]] = {
    "u8": (_U8, 0, 0xFF),
    "u16": (_U16, 0, 0xFFFF),
    "u32": (_U32, 0, 0xFFFFFFFF),
    "u64": (_U64, 0, 0xFFFFFFFFFFFFFFFF),
    "s8": (_S8, -0x80, 0x7F),
    "s16": (_S16, -0x8000, 0x7FFF),
    "s32": (_S32, -0x80000000, 0x7FFFFFFF),
    "s64": (_S64, -0x8000000000000000, 0x7FFFFFFFFFFFFFFF),
    "be16": (_BE16, 0, 0xFFFF),
    "be32": (_BE32, 0, 0xFFFFFFFF),
    "be64": (_BE64, 0, 0xFFFFFFFFFFFFFFFF),
}


class MalformedAttributesError(ParseError):
    """An attribute buffer that does not parse: ``offset`` is where it breaks."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(function="attribute parse", message=f"{message} at offset {offset}")
        self.offset = offset


# ---------------------------------------------------------------------------
# Encoding


class AttributeEncoder:
    """Builds an attribute stream; :meth:`encode` returns it or raises the first error.

    >>> enc = AttributeEncoder()
    >>> enc.string(2, "nlctrl")
    >>> with enc.nested(7):
    ...     enc.u32(1, 5)
    >>> data = enc.encode()
    """

    __slots__ = ("_buf", "_error", "_nests")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._error: Exception | None = None
        self._nests: list[int] = []

    # -- core ----------------------------------------------------------------

    def _fail(self, exc: Exception) -> None:
        if self._error is None:
            self._error = exc

    def _type(self, attr_type: int) -> int | None:
        if type(attr_type) is int and 0 <= attr_type <= 0xFFFF:  # the common case, first
            return attr_type
        if isinstance(attr_type, bool) or not isinstance(attr_type, int):
            self._fail(TypeError(f"attribute type must be an int, not {type(attr_type).__name__}"))
            return None
        if not 0 <= attr_type <= 0xFFFF:
            self._fail(ValueError(f"attribute type must be in 0..65535, got {attr_type}"))
            return None
        return attr_type

    def put(self, attr_type: int, payload: bytes | bytearray | memoryview) -> None:
        """Append one attribute with ``payload`` as it is (``nla_put``)."""
        if self._error is not None or self._type(attr_type) is None:
            return
        if type(payload) is not bytes:
            if not isinstance(payload, (bytes, bytearray, memoryview)):
                # bytes(5) would be five NULs, bytes([1, 2]) a list's bytes: refuse both.
                self._fail(
                    TypeError(
                        f"attribute {attr_type}: payload must be bytes-like,"
                        f" not {type(payload).__name__}"
                    )
                )
                return
            payload = bytes(payload)
        self._append(attr_type, payload)

    def _append(self, attr_type: int, data: bytes) -> None:
        """Append one attribute; ``attr_type`` is already checked."""
        length = NLA_HDRLEN + len(data)
        if length > _NLA_LEN_MAX:
            self._fail(
                AttributeSizeError(
                    function="AttributeEncoder.put",
                    message=f"attribute {attr_type}: {len(data)} bytes do not fit in nla_len",
                )
            )
            return
        self._buf += _HDR.pack(length, attr_type) + data + _PADDING[-length & 3]

    def put_raw(self, data: bytes | bytearray | memoryview) -> None:
        """Append already-encoded attributes as they are."""
        if self._error is None:
            self._buf += data

    def _int(self, kind: str, attr_type: int, value: int) -> None:
        if self._error is not None:
            return
        fmt, low, high = _INT_FORMATS[kind]
        if isinstance(value, bool) or not isinstance(value, int):
            self._fail(
                TypeError(f"attribute {attr_type}: {kind} needs an int, not {type(value).__name__}")
            )
            return
        if not low <= value <= high:
            self._fail(ValueError(f"attribute {attr_type}: {value} out of range for {kind}"))
            return
        if self._type(attr_type) is not None:
            byteorder = NLA_F_NET_BYTEORDER if kind[0] == "b" else 0  # be16, be32, be64
            self._append(attr_type | byteorder, fmt.pack(value))

    # -- typed puts ------------------------------------------------------------

    def u8(self, attr_type: int, value: int) -> None:
        self._int("u8", attr_type, value)

    def u16(self, attr_type: int, value: int) -> None:
        self._int("u16", attr_type, value)

    def u32(self, attr_type: int, value: int) -> None:
        self._int("u32", attr_type, value)

    def u64(self, attr_type: int, value: int) -> None:
        self._int("u64", attr_type, value)

    def s8(self, attr_type: int, value: int) -> None:
        self._int("s8", attr_type, value)

    def s16(self, attr_type: int, value: int) -> None:
        self._int("s16", attr_type, value)

    def s32(self, attr_type: int, value: int) -> None:
        self._int("s32", attr_type, value)

    def s64(self, attr_type: int, value: int) -> None:
        self._int("s64", attr_type, value)

    def be16(self, attr_type: int, value: int) -> None:
        """Big-endian u16, flagged ``NLA_F_NET_BYTEORDER``."""
        self._int("be16", attr_type, value)

    def be32(self, attr_type: int, value: int) -> None:
        """Big-endian u32, flagged ``NLA_F_NET_BYTEORDER``."""
        self._int("be32", attr_type, value)

    def uint(self, attr_type: int, value: int) -> None:
        """Variable-width unsigned (``NLA_UINT``): 4 bytes when it fits, else 8."""
        self._int(
            "u32" if isinstance(value, int) and 0 <= value <= 0xFFFFFFFF else "u64",
            attr_type,
            value,
        )

    def sint(self, attr_type: int, value: int) -> None:
        """Variable-width signed (``NLA_SINT``): 4 bytes when it fits, else 8."""
        fits = isinstance(value, int) and -0x80000000 <= value <= 0x7FFFFFFF
        self._int("s32" if fits else "s64", attr_type, value)

    def string(self, attr_type: int, value: str) -> None:
        """NUL-terminated UTF-8 string (``NLA_NUL_STRING``, what ``nla_put_string`` writes)."""
        if type(value) is str and type(attr_type) is int and self._error is None:
            # The common case, in one step: a short ASCII-or-UTF-8 name.
            try:
                data = value.encode()
            except UnicodeEncodeError:
                data = b"\0"  # a lone surrogate: the checks below say so
            if b"\0" not in data and 0 <= attr_type <= 0xFFFF and len(data) < 0xFF00:
                length = len(data) + 5  # header and NUL
                self._buf += _HDR.pack(length, attr_type) + data + _STRING_END[-length & 3]
                return
        if self._error is not None:
            return
        # The value first, then the type, as put() checks it.
        if not isinstance(value, str):
            self._fail(
                TypeError(f"attribute {attr_type}: string needs a str, not {type(value).__name__}")
            )
            return
        try:
            data = value.encode()
        except UnicodeEncodeError as exc:
            self._fail(
                ValueError(f"attribute {attr_type}: string is not encodable as UTF-8: {exc}")
            )
            return
        if b"\0" in data:
            self._fail(ValueError(f"attribute {attr_type}: string contains a NUL character"))
            return
        if self._type(attr_type) is not None:
            self._append(attr_type, data + b"\0")

    def binary(self, attr_type: int, value: bytes | bytearray | memoryview) -> None:
        """Bytes as they are (``NLA_BINARY``)."""
        self.put(attr_type, value)

    def flag(self, attr_type: int, value: bool = True) -> None:
        """A zero-length attribute (``NLA_FLAG``); nothing is written for ``False``."""
        if value:
            self.put(attr_type, b"")

    def nested(self, attr_type: int) -> AbstractContextManager[AttributeEncoder]:
        """Open a nested attribute (``NLA_F_NESTED`` set); use as a context manager.

        ``with enc.nested(t):`` gives this encoder; the puts inside go into
        the nest, which is closed (its length filled in) on exit.
        """
        return _Nest(self, attr_type)

    def nest_start(self, attr_type: int) -> int:
        """Open a nested attribute; returns a token for :meth:`nest_end`/:meth:`nest_cancel`."""
        start = len(self._buf)
        if self._error is None and self._type(attr_type) is not None:
            self._buf += _HDR.pack(0, attr_type | NLA_F_NESTED)
        self._nests.append(start)
        return start

    def nest_end(self, token: int) -> None:
        """Close the nest opened at ``token``, writing its length (``nla_nest_end``)."""
        if not self._nests or self._nests[-1] != token:
            self._fail(ValueError("nest_end does not match the innermost open nest"))
            return
        self._nests.pop()
        if self._error is not None:
            return
        length = len(self._buf) - token
        if length > _NLA_LEN_MAX:
            self._fail(
                AttributeSizeError(
                    function="AttributeEncoder.nest_end",
                    message=f"nested attribute of {length} bytes does not fit in nla_len",
                )
            )
            return
        self._buf[token : token + 2] = _U16.pack(length)

    def nest_cancel(self, token: int) -> None:
        """Drop the nest opened at ``token`` and all it holds (``nla_nest_cancel``)."""
        if self._nests and self._nests[-1] == token:
            self._nests.pop()
            del self._buf[token:]

    # -- result ------------------------------------------------------------------

    @property
    def error(self) -> Exception | None:
        """The first error recorded, if any."""
        return self._error

    def encode(self) -> bytes:
        """The encoded attributes; raises the first recorded error."""
        if self._error is None and self._nests:
            self._fail(ValueError(f"{len(self._nests)} nested attribute(s) left open"))
        if self._error is not None:
            raise self._error
        return bytes(self._buf)

    def __len__(self) -> int:
        return len(self._buf)


class _Nest:
    __slots__ = ("_encoder", "_token", "_type")

    def __init__(self, encoder: AttributeEncoder, attr_type: int) -> None:
        self._encoder = encoder
        self._type = attr_type
        self._token = -1

    def __enter__(self) -> AttributeEncoder:
        self._token = self._encoder.nest_start(self._type)
        return self._encoder

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._encoder.nest_end(self._token)
        else:
            self._encoder.nest_cancel(self._token)


# ---------------------------------------------------------------------------
# Decoding


def _index(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(type with flags, payload offset, payload length) for each attribute in data[start:end]."""
    out = []
    pos = start
    unpack = _HDR.unpack_from
    while end - pos >= NLA_HDRLEN:
        length, attr_type = unpack(data, pos)
        if length < NLA_HDRLEN:
            raise MalformedAttributesError(f"attribute length {length} below header size", pos)
        if pos + length > end:
            raise MalformedAttributesError(
                f"attribute length {length} runs past the end ({end - pos} bytes left)", pos
            )
        out.append((attr_type, pos + NLA_HDRLEN, length - NLA_HDRLEN))
        pos += (length + 3) & ~3
    # Fewer than NLA_HDRLEN bytes left over is padding, as for the kernel.
    return out


class Attribute:
    """One attribute: its type (flags stripped), flags, and typed readers of its payload."""

    __slots__ = ("_data", "_len", "_off", "flags", "type")

    def __init__(self, data: bytes, raw_type: int, offset: int, length: int) -> None:
        self._data = data
        self.type = raw_type & NLA_TYPE_MASK
        self.flags = raw_type & (NLA_F_NESTED | NLA_F_NET_BYTEORDER)
        self._off = offset
        self._len = length

    @property
    def payload(self) -> bytes:
        """The payload bytes (a copy)."""
        return self._data[self._off : self._off + self._len]

    @property
    def offset(self) -> int:
        """Offset of the payload in the decoded buffer."""
        return self._off

    def __len__(self) -> int:
        return self._len

    def _fixed(self, fmt: struct.Struct, kind: str) -> int:
        if self._len < fmt.size:
            raise MalformedAttributesError(
                f"attribute {self.type}: {self._len} bytes too short for {kind}", self._off
            )
        value: int = fmt.unpack_from(self._data, self._off)[0]
        return value

    def u8(self) -> int:
        return self._fixed(_U8, "u8")

    def u16(self) -> int:
        return self._fixed(_U16, "u16")

    def u32(self) -> int:
        return self._fixed(_U32, "u32")

    def u64(self) -> int:
        return self._fixed(_U64, "u64")

    def s8(self) -> int:
        return self._fixed(_S8, "s8")

    def s16(self) -> int:
        return self._fixed(_S16, "s16")

    def s32(self) -> int:
        return self._fixed(_S32, "s32")

    def s64(self) -> int:
        return self._fixed(_S64, "s64")

    def be16(self) -> int:
        return self._fixed(_BE16, "be16")

    def be32(self) -> int:
        return self._fixed(_BE32, "be32")

    def be64(self) -> int:
        return self._fixed(_BE64, "be64")

    def uint(self) -> int:
        """Variable-width unsigned: 1, 2, 4 or 8 bytes."""
        return self._variable(_U8, _U16, _U32, _U64, "uint")

    def sint(self) -> int:
        """Variable-width signed: 1, 2, 4 or 8 bytes."""
        return self._variable(_S8, _S16, _S32, _S64, "sint")

    def _variable(self, *formats_and_kind: Any) -> int:
        *formats, kind = formats_and_kind
        for fmt in formats:
            if self._len == fmt.size:
                value: int = fmt.unpack_from(self._data, self._off)[0]
                return value
        raise MalformedAttributesError(
            f"attribute {self.type}: {self._len} bytes is no width for {kind}", self._off
        )

    def string(self) -> str:
        """The payload as UTF-8 text up to the first NUL (undecodable bytes escaped)."""
        raw = self._data[self._off : self._off + self._len]
        nul = raw.find(b"\0")
        if nul >= 0:
            raw = raw[:nul]
        return raw.decode("utf-8", "surrogateescape")

    def flag(self) -> bool:
        """Presence of a flag attribute: always True for an attribute that exists."""
        return True

    def nested(self) -> Attributes:
        """The payload as attributes (validated now)."""
        return Attributes(self._data, self._off, self._off + self._len)

    def __repr__(self) -> str:
        return f"Attribute(type={self.type}, len={self._len})"


class Attributes:
    """The attributes of a buffer, in order, repeated ones included.

    ``attrs.get(t)`` is the first attribute of type ``t`` (or None),
    ``attrs.get_all(t)`` all of them; typed shortcuts ``attrs.u32(t)`` etc.
    read the first one and raise :class:`KeyError` when it is absent.
    """

    __slots__ = ("_by_type", "_data", "_entries")

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self._data = data
        self._entries = _index(data, start, len(data) if end is None else end)
        self._by_type: dict[int, int] | None = None

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Attributes:
        return cls(bytes(data))

    @property
    def data(self) -> bytes:
        """The underlying buffer (shared with every nested view)."""
        return self._data

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Attribute]:
        data = self._data
        for raw_type, off, length in self._entries:
            yield Attribute(data, raw_type, off, length)

    def _first_index(self, attr_type: int) -> int | None:
        by_type = self._by_type
        if by_type is None:
            by_type = {}
            for i, (raw_type, _off, _len) in enumerate(self._entries):
                by_type.setdefault(raw_type & NLA_TYPE_MASK, i)
            self._by_type = by_type
        return by_type.get(attr_type)

    def __contains__(self, attr_type: object) -> bool:
        return isinstance(attr_type, int) and self._first_index(attr_type) is not None

    def get(self, attr_type: int) -> Attribute | None:
        i = self._first_index(attr_type)
        if i is None:
            return None
        raw_type, off, length = self._entries[i]
        return Attribute(self._data, raw_type, off, length)

    def get_all(self, attr_type: int) -> list[Attribute]:
        data = self._data
        return [
            Attribute(data, raw_type, off, length)
            for raw_type, off, length in self._entries
            if raw_type & NLA_TYPE_MASK == attr_type
        ]

    def __getitem__(self, attr_type: int) -> Attribute:
        attr = self.get(attr_type)
        if attr is None:
            raise KeyError(attr_type)
        return attr

    def types(self) -> list[int]:
        """Attribute types in order (flags stripped), repeated ones included."""
        return [raw_type & NLA_TYPE_MASK for raw_type, _o, _l in self._entries]

    def u8(self, attr_type: int) -> int:
        return self[attr_type].u8()

    def u16(self, attr_type: int) -> int:
        return self[attr_type].u16()

    def u32(self, attr_type: int) -> int:
        return self[attr_type].u32()

    def u64(self, attr_type: int) -> int:
        return self[attr_type].u64()

    def s32(self, attr_type: int) -> int:
        return self[attr_type].s32()

    def s64(self, attr_type: int) -> int:
        return self[attr_type].s64()

    def uint(self, attr_type: int) -> int:
        return self[attr_type].uint()

    def string(self, attr_type: int) -> str:
        return self[attr_type].string()

    def binary(self, attr_type: int) -> bytes:
        return self[attr_type].payload

    def flag(self, attr_type: int) -> bool:
        return attr_type in self

    def nested(self, attr_type: int) -> Attributes:
        return self[attr_type].nested()

    def __repr__(self) -> str:
        return f"Attributes({self.types()!r})"


def attribute_path(data: bytes, offset: int, start: int = 0) -> list[int]:
    """Types of the attributes, outermost first, that contain byte ``offset`` of ``data``.

    Names the attribute an extended ACK points at in a request. It descends
    only into attributes flagged ``NLA_F_NESTED`` (every nest the encoder writes).
    """
    path: list[int] = []
    end = len(data)
    while True:
        try:
            entries = _index(data, start, end)
        except MalformedAttributesError:
            return path
        for raw_type, off, length in entries:
            if off - NLA_HDRLEN <= offset < off + length or offset == off - NLA_HDRLEN:
                path.append(raw_type & NLA_TYPE_MASK)
                if offset < off or not raw_type & NLA_F_NESTED:
                    return path
                start, end = off, off + length
                break
        else:
            return path
