"""One table-driven codec for every spec: Python values to attributes and back.

:class:`Codec` compiles a :class:`~libnl_py.spec.model.FamilySpec` once into
per-set tables (attribute number -> name, reader), so decoding walks a
message's attributes without building an object per attribute. Every YNL
type is handled: integers with byte order (``uint``/``sint`` 4 or 8 bytes),
``string``, ``binary`` (raw, a ``struct``, a C array by ``sub-type``, or a
display hint), ``flag``, ``bitfield32``, ``nest``, ``multi-attr``,
``indexed-array``, ``nest-type-value``, ``sub-message`` with its selector,
and fixed headers. Enums decode to names and flags to lists of names; both
are accepted back, as are numbers. Display hints decode to text (``ipv4``,
``ipv6``, ``ipv4-or-v6``, ``mac``, ``fddi``, ``uuid``) and text or
:mod:`ipaddress` objects encode wherever the wire form fits.

Shapes of what a spec does not know, the same everywhere:

* an attribute number a set lacks decodes under its number (an ``int`` key)
  as bytes, or as the kernel's policy types it when a fallback is given;
* on encoding, a number a set lacks takes only bytes (or an explicit
  :class:`Typed` value): a guessed type is never put on the wire.
"""

from __future__ import annotations

import ipaddress
import struct
import sys
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Callable

from libnl_py.attrs import NLA_TYPE_MASK, AttributeEncoder, MalformedAttributesError
from libnl_py.spec.model import (
    INT_TYPES,
    AttrSet,
    AttrSpec,
    EnumSet,
    FamilySpec,
    Operation,
    Struct,
)
from libnl_py.spec.policy import AttrPolicy, FamilyPolicy, policy_sets, spec_type

try:
    from libnl_py import _codec
except ImportError:  # PyPy, or a build without the accelerator: the Python readers decode
    _codec = None  # type: ignore[assignment]
_d: Any = _codec if _codec is not None else None

__all__ = [
    "REQUIRED",
    "Codec",
    "EncodeError",
    "EncodeTypeError",
    "Record",
    "RecordField",
    "Typed",
    "UnknownAttributeError",
    "decode_scalar_kind",
    "encode_kind",
]

_HDR = struct.Struct("=HH")
_LITTLE = sys.byteorder == "little"
_BITFIELD = struct.Struct("=II")
_FORMATS = {
    "u8": "B",
    "u16": "H",
    "u32": "I",
    "u64": "Q",
    "s8": "b",
    "s16": "h",
    "s32": "i",
    "s64": "q",
}
_RANGES = {
    kind: (
        (-(1 << (8 * struct.calcsize(c) - 1)), (1 << (8 * struct.calcsize(c) - 1)) - 1)
        if c.islower()
        else (0, (1 << (8 * struct.calcsize(c))) - 1)
    )
    for kind, c in _FORMATS.items()
}
_RANGES["uint"] = (0, (1 << 64) - 1)
_RANGES["sint"] = (-(1 << 63), (1 << 63) - 1)
_MAX_DEPTH = 32

Value = Any
Reader = Callable[[bytes, int, int, int], Value]
"""Reads one payload, ``data[start:end]``, at nesting ``depth`` (0 at the top)."""


class EncodeError(ValueError):
    """A value that cannot be encoded as its attribute: says which attribute, and why."""


class UnknownAttributeError(EncodeError, KeyError):
    """A name the attribute set does not have (a ``KeyError`` too, as for a mapping)."""

    def __str__(self) -> str:
        return str(self.args[0])


class EncodeTypeError(EncodeError, TypeError):
    """A value of the wrong Python type for its attribute (a ``TypeError`` too)."""


@dataclass(frozen=True)
class Typed:
    """A value with an explicit type, for an attribute no spec or policy types.

    ``Typed("u32", 5)``; ``kind`` is any YNL scalar type, ``string``,
    ``binary`` or ``flag``, optionally with a byte order (``"be32"`` style
    names are accepted too).
    """

    kind: str
    value: Value


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""A :class:`RecordField`'s default when its attribute must be there."""


@dataclass(frozen=True)
class RecordField:
    """What fills one field of a :class:`Record`: an attribute of the set, by name.

    Its value (the first, as :meth:`libnl_py.attrs.Attributes.get` reads it; of
    a ``multi-attr``, a tuple of them all), else ``default``; with
    ``REQUIRED``, a message without the attribute makes no record. ``record``
    makes a ``nest`` (or an ``indexed-array`` of nests) a record too (a tuple of
    them). ``names``: the field is instead the name that value has in the
    names in effect (see :class:`Record`), None where it has none.
    """

    attribute: str
    default: Any = REQUIRED
    record: Record | None = None
    names: bool = False


@dataclass(frozen=True)
class Record:
    """A named tuple the accelerator makes of an attribute set, where a decode makes a dict.

    ``type`` is a :func:`~typing.NamedTuple` class and ``fields`` fill its
    fields, in order. Integers stay numbers (no enum or flag names, no display
    hints): they fill fields typed ``int``. ``names`` = (attribute, cache):
    the names in effect for the fields of this set's records and those it
    nests are ``cache[the text of that attribute]`` ({value: name}); a name
    the cache lacks makes the record undecided (``Decoder.record`` gives None,
    ``decode_replies`` puts the reply in pending), so that the caller can look
    the names up and decode again. Made in C only: the caller keeps the Python
    decoder that is its reference.
    """

    type: type
    fields: tuple[RecordField, ...]
    names: tuple[str, dict[str, Any]] | None = None


def _struct(kind: str, order: str | None) -> struct.Struct:
    return struct.Struct((">" if order == "big-endian" else "=") + _FORMATS[kind])


_ALIASES = {
    "be16": ("u16", "big-endian"),
    "be32": ("u32", "big-endian"),
    "be64": ("u64", "big-endian"),
}


# -- scalars -------------------------------------------------------------------------------


def _int_reader(kind: str, order: str | None) -> Reader:
    if kind in ("uint", "sint"):
        signed = kind == "sint"

        def read_var(data: bytes, start: int, end: int, depth: int) -> int:
            size = end - start
            if size not in (1, 2, 4, 8):
                raise MalformedAttributesError(f"{size} bytes is no width for {kind}", start)
            return int.from_bytes(data[start:end], "little", signed=signed)

        return read_var
    fmt = _struct(kind, order)
    size = fmt.size
    unpack = fmt.unpack_from
    if kind == "u8":  # indexing: no tuple made, as unpack_from makes one

        def read_u8(data: bytes, start: int, end: int, depth: int) -> int:
            if end <= start:
                raise MalformedAttributesError("0 bytes too short for u8", start)
            return data[start]

        return read_u8

    def read(data: bytes, start: int, end: int, depth: int) -> int:
        if end - start < size:
            raise MalformedAttributesError(f"{end - start} bytes too short for {kind}", start)
        value: int = unpack(data, start)[0]
        return value

    return read


def _check_int(kind: str, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EncodeTypeError(f"{what}: {kind} needs an integer, not {value!r}")
    low, high = _RANGES[kind]
    if not low <= value <= high:
        raise EncodeError(f"{what}: {value} is out of range for {kind} ({low}..{high})")
    return value


def _pack_int(kind: str, order: str | None, value: int) -> bytes:
    if kind in ("uint", "sint"):
        signed = kind == "sint"
        size = 4 if (-(1 << 31) <= value < 1 << 31 if signed else value < 1 << 32) else 8
        return value.to_bytes(size, "little", signed=signed)
    return _struct(kind, order).pack(value)


# -- display hints ---------------------------------------------------------------------------


def _hint_text(hint: str, raw: bytes) -> Value:
    """Bytes as a display hint shows them; raw bytes where the length does not fit."""
    if hint in ("ipv4", "ipv6", "ipv4-or-v6") and len(raw) in (4, 16):
        return str(ipaddress.ip_address(raw))
    if hint in ("mac", "fddi") and raw:
        return ":".join(f"{b:02x}" for b in raw)
    if hint == "uuid" and len(raw) == 16:
        return str(uuid.UUID(bytes=raw))
    return raw


def _hint_bytes(hint: str | None, value: Any, what: str) -> bytes:
    """A binary attribute's value as bytes: bytes-like, or text/objects of its display hint."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value.packed
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, str) and hint is not None:
        try:
            if hint in ("ipv4", "ipv6", "ipv4-or-v6"):
                return ipaddress.ip_address(value).packed
            if hint in ("mac", "fddi"):
                return bytes(int(part, 16) for part in value.replace("-", ":").split(":"))
            if hint == "uuid":
                return uuid.UUID(value).bytes
            if hint == "hex":
                return bytes.fromhex(value)
        except ValueError:
            raise EncodeError(f"{what}: {value!r} is not a {hint} value") from None
    raise EncodeTypeError(f"{what}: binary needs bytes, not {type(value).__name__}")


# -- the codec -------------------------------------------------------------------------------


class Codec:
    """Encoder and decoder of one family's attributes, compiled from its spec once."""

    def __init__(
        self,
        spec: FamilySpec,
        policy: FamilyPolicy | None = None,
        *,
        accelerate: bool | None = None,
    ) -> None:
        """``accelerate``: decode in C (True), in Python (False), or in C where built (None)."""
        self.spec = spec
        # The kernel's policy types what the spec lacks (a kernel newer than the spec):
        # set name -> {attribute number: policy}, for the numbers the set does not have.
        self._fallback: dict[str, dict[int, AttrPolicy]] = {}
        if policy is not None:
            for index, aset in policy_sets(policy, spec).items():
                extra = self._fallback.setdefault(aset.name, {})
                for attr_type, pol in policy.policies.get(index, {}).items():
                    if attr_type not in aset.by_value:
                        extra.setdefault(attr_type, pol)
        self._tables: dict[str, dict[int, tuple[str | int, Reader | None, bool | int]]] = {}
        self._structs: dict[str, Callable[[bytes, int, int, int], dict[str, Value]]] = {}
        self._with_sub_messages = {
            name
            for name, aset in spec.attribute_sets.items()
            if any(a.type == "sub-message" for a in aset.attributes)
        }
        self._unknowns = 0  # attributes met that their set lacks, by the Python readers
        # The C accelerator: the same tables, compiled for libnl_py._codec on first use.
        self._native = (
            _codec.Decoder(MalformedAttributesError, _Repeats)
            if (_codec is not None if accelerate is None else accelerate)
            else None
        )
        if accelerate and _codec is None:
            raise RuntimeError("libnl_py._codec, the C accelerator, is not built here")
        self._set_index: dict[str, int] = {}
        self._struct_index: dict[str, int] = {}
        self._reply_tables: dict[int, tuple[int, int] | None] = {}
        self._request_tables: dict[int, dict[int, tuple[int, int] | None]] = {}
        self._other_tables: dict[int, tuple[int, int] | None] = {}  # notifications, events
        self._record_index: dict[tuple[str, int], tuple[Record, int]] = {}
        self._records_building: set[tuple[str, int]] = set()
        # The C encoder of the common requests (see encode()); Python encodes the rest.
        self._encoder = _codec.Encoder() if self._native is not None else None
        self._encoder_index: dict[str, int] = {}
        self._lock = threading.RLock()  # making tables (see _set_table)
        self._building: dict[str, int] = {}
        self._encoder_building: dict[str, int] = {}

    @property
    def accelerated(self) -> bool:
        """Whether this codec decodes in C (:mod:`libnl_py._codec`), not in Python."""
        return self._native is not None

    @property
    def decoder(self) -> Any:
        """The :class:`libnl_py._codec.Decoder` holding this codec's tables; None in Python."""
        return self._native

    def message_tables(self, cmd: int, reply: bool) -> tuple[int, int] | None:
        """(attribute-set table, fixed-header table or -1) of :attr:`decoder` for a message.

        For ``libnl_py._codec.decode_replies``, which decodes a receive
        batch's replies as :meth:`decode_message` would. None when this codec
        decodes in Python, or the spec has no set for ``cmd``.
        """
        op = self.spec.received(cmd, reply)
        if self._native is None or op is None or op.attribute_set is None:
            return None
        index = self._set_table(op.attribute_set)
        header = -1
        if op.fixed_header is not None:
            header = self._struct_table(op.fixed_header)
        return index, header

    def reply_tables(self, cmd: int) -> tuple[int, int] | None:
        """:meth:`message_tables` of a reply, looked up once per command."""
        try:
            return self._reply_tables[cmd]
        except KeyError:
            found = self._reply_tables[cmd] = self.message_tables(cmd, True)
            return found

    def request_tables(self, cmd: int) -> dict[int, tuple[int, int] | None]:
        """The :meth:`reply_tables` of what a request of ``cmd`` is answered with, by
        reply command (the operation's reply id, and ``cmd`` itself).

        Looked up before the request is sent, for ``libnl_py._codec.decode_replies``
        to read while the socket's lock is held, calling no Python code; a reply of
        another command is decoded by Python. Made once per command, and never
        changed after: treat it as read-only.
        """
        found = self._request_tables.get(cmd)
        if found is None:
            op = self.spec.requests.get(cmd)
            commands = {cmd} if op is None or op.rsp_value is None else {cmd, op.rsp_value}
            found = {c: self.reply_tables(c) for c in sorted(commands)}  # a dict, for C
            self._request_tables[cmd] = found
        return found

    def record_table(self, set_name: str, record: Record) -> int | None:
        """The table of :attr:`decoder` that makes ``record`` of set ``set_name``; None in Python.

        For ``Decoder.record`` and ``libnl_py._codec.decode_replies``. Made on
        first use; raises ValueError for a field the set has no attribute for,
        or of a kind a record does not take (it takes integers, strings,
        flags, binary, and nests of records).
        """
        if self._native is None:
            return None
        key = (set_name, id(record))
        found = self._record_index.get(key)
        if found is not None and found[0] is record:
            return found[1]
        with self._lock:
            return self._record_table(set_name, record)

    def _record_table(self, set_name: str, record: Record) -> int:
        native = self._native
        assert native is not None
        key = (set_name, id(record))
        found = self._record_index.get(key)
        if found is not None and found[0] is record:
            return found[1]
        if key in self._records_building:
            raise ValueError(f"record of {set_name} holds itself")
        self._records_building.add(key)
        try:
            aset = self.spec.attr_set(set_name)
            entries = []
            fields: list[tuple[int, str, Any]] = []
            for field in record.fields:
                attr = aset.by_name.get(field.attribute)
                if attr is None or not 0 <= attr.value <= NLA_TYPE_MASK:
                    raise ValueError(f"attribute set {set_name} has no {field.attribute!r}")
                if field.names:
                    fields.append((_d.FIELD_NAME, attr.name, None))
                    continue
                required = field.default is REQUIRED
                how = _d.FIELD_REQUIRED if required else _d.FIELD_VALUE
                fields.append((how, attr.name, None if required else field.default))
                entries.append(self._record_entry(set_name, attr, field.record))
            names = None
            if record.names is not None:
                by = aset.by_name.get(record.names[0])
                if by is None:
                    raise ValueError(f"attribute set {set_name} has no {record.names[0]!r}")
                names = (by.value, record.names[1])
            index: int = native.new_table(False)
            native.fill(index, entries, record=(record.type, fields, names))
        finally:
            self._records_building.discard(key)
        self._record_index[key] = (record, index)  # published filled, as every table
        return index

    def _record_entry(self, set_name: str, attr: AttrSpec, record: Record | None) -> tuple:  # type: ignore[type-arg]
        kind, number, key = attr.type, attr.value, attr.name
        multi = _d.MULTI_LIST if attr.multi_attr else _d.MULTI_ONE
        if kind in INT_TYPES:
            width, flags = _int_layout(kind, attr.byte_order)
            return _entry(number, key, multi, _d.OP_INT, width, flags, kind=kind)
        if kind == "string":
            return _entry(number, key, multi, _d.OP_STRING)
        if kind == "flag":
            return _entry(number, key, multi, _d.OP_FLAG)
        if kind == "binary" and attr.struct is None and attr.sub_type is None:
            return _entry(number, key, multi, _d.OP_BINARY)
        nested = attr.nested_attributes
        if record is not None and nested is not None:
            index = self._record_table(nested, record)
            if kind == "nest":
                return _entry(number, key, multi, _d.OP_NEST, index=index)
            if kind == "indexed-array" and attr.sub_type == "nest":
                inner = _entry(0, 0, _d.MULTI_ONE, _d.OP_NEST, index=index)
                return _entry(number, key, multi, _d.OP_INDEXED, inner=inner)
        raise ValueError(f"{set_name}.{attr.name}: a record does not take a {kind} attribute")

    @property
    def saw_unknown(self) -> bool:
        """True (and left so) once a decode met an attribute number its set lacks."""
        native = self._native  # asked after every decode: no second property call
        return self._unknowns > 0 or (native is not None and native.unknowns > 0)

    @property
    def unknowns(self) -> int:
        """How many attributes their sets lack the decodes met, ever: a count, never reset.

        A decode that raised it met one (or ran beside one, in another thread).
        """
        native = self._native
        return self._unknowns + (native.unknowns if native is not None else 0)

    # -- the accelerator's tables -------------------------------------------------------
    #
    # The same rules as the Python readers below, as entries of libnl_py._codec:
    # (number or offset, key, op, multi, width, flags, map, index, obj, kind, size, inner).
    # What C does not read itself it hands to the Python reader (OP_PYTHON).

    # Tables are made under the codec's lock and published whole: a thread that finds a
    # table's index finds it filled, with every table it refers to. A set being made
    # (one that holds itself, or a nest of it that refers back) is in _building meanwhile.

    def _set_table(self, set_name: str) -> int:
        """The decoder's table of a set, made on first use."""
        index = self._set_index.get(set_name)
        if index is not None:
            return index
        with self._lock:
            index = self._set_index.get(set_name)
            if index is None:
                index = self._build(self._building, self._set_index, set_name, self._make_set)
            return index

    def encoder_table(self, set_name: str) -> tuple[Any, int] | None:
        """(:class:`libnl_py._codec.Encoder`, table of set ``set_name``) that :meth:`encode`
        calls for a dict; None in Python.

        For callers that encode the same set over and over: ``encoder.encode(table,
        values)`` is bytes, or None where :meth:`encode_in_python` must be called instead.
        """
        if self._encoder is None:
            return None
        return self._encoder, self._encoder_table(set_name)

    def _encoder_table(self, set_name: str) -> int:
        """The encoder's table of a set, made on first use."""
        index = self._encoder_index.get(set_name)
        if index is not None:
            return index
        with self._lock:
            index = self._encoder_index.get(set_name)
            if index is None:
                index = self._build(
                    self._encoder_building, self._encoder_index, set_name, self._make_encoder
                )
            return index

    @staticmethod
    def _build(
        building: dict[str, int], ready: dict[str, int], name: str, make: Callable[[str], int]
    ) -> int:
        found = building.get(name)
        if found is not None:
            return found  # being made further up this thread's stack
        outermost = not building
        try:
            index = make(name)  # registers itself in building before making its nests
        except BaseException:
            if outermost:
                building.clear()  # nothing published: the next use tries again
            raise
        if outermost:
            ready.update(building)
            building.clear()
        return index

    def _make_set(self, set_name: str) -> int:
        native = self._native
        assert native is not None
        index: int = native.new_table(False)
        self._building[set_name] = index
        self._fill_set(index, set_name)
        return index

    def _struct_table(self, name: str) -> int:
        """The decoder's table of a struct (structs hold no sets: made whole, at once)."""
        index = self._struct_index.get(name)
        if index is not None:
            return index
        with self._lock:
            index = self._struct_index.get(name)
            if index is None:
                index = self._make_struct(name)
                self._struct_index[name] = index
            return index

    def _fill_set(self, index: int, set_name: str) -> None:
        native = self._native
        assert native is not None
        entries = []
        post = None
        if set_name is not _NO_SET:
            aset = self.spec.attr_set(set_name)
            for attr in aset.attributes:
                if not 0 <= attr.value <= NLA_TYPE_MASK:
                    continue  # a number no attribute header carries: never met, as in Python
                key: str | int = attr.value if aset.numbered else attr.name
                multi = (
                    _d.MULTI_LIST
                    if attr.multi_attr
                    else _d.MULTI_NUMBERED
                    if aset.numbered
                    else _d.MULTI_ONE
                )
                entries.append(self._native_entry(aset, attr, key, multi))
            for typed in self._fallback_attrs(set_name):
                entries.append(self._native_entry(aset, typed, typed.value, _d.MULTI_NUMBERED))
            if set_name in self._with_sub_messages:

                def post(decoded: dict[str | int, Value], depth: int) -> None:
                    self._walk_sub_messages(set_name, decoded, depth)

        native.fill(index, entries, post)

    def _make_struct(self, name: str) -> int:
        native = self._native
        assert native is not None
        definition = self.spec.struct(name)
        index: int = native.new_table(True)
        members = []
        offset = 0
        for member in definition.members:
            members.append(self._native_member(member, offset))
            offset += member.size
        native.fill(index, members, None, name, definition.size)
        return index

    def _native_entry(self, aset: AttrSet, attr: AttrSpec, key: str | int, multi: int) -> tuple:  # type: ignore[type-arg]
        kind = attr.type
        number = attr.value
        if kind in ("pad", "unused"):
            return _entry(number, key, multi, _d.OP_SKIP)
        if kind in INT_TYPES:
            return self._native_int(
                number,
                key,
                multi,
                kind,
                attr.byte_order,
                attr.enum,
                attr.enum_as_flags,
                attr.display_hint,
            )
        if kind == "string":
            return _entry(number, key, multi, _d.OP_STRING)
        if kind == "flag":
            return _entry(number, key, multi, _d.OP_FLAG)
        if kind == "binary":
            if attr.struct is not None:
                index = self._struct_table(attr.struct)
                return _entry(number, key, multi, _d.OP_STRUCT, index=index)
            if attr.sub_type in INT_TYPES and attr.sub_type not in ("uint", "sint"):
                width, flags = _int_layout(attr.sub_type, attr.byte_order)
                return _entry(number, key, multi, _d.OP_ARRAY, width, flags, kind=attr.sub_type)
            if attr.display_hint is not None and attr.display_hint != "hex":
                return _entry(number, key, multi, _d.OP_PYTHON, obj=self._binary_reader(attr))
            return _entry(number, key, multi, _d.OP_BINARY)
        if kind == "nest":
            assert attr.nested_attributes is not None
            index = self._set_table(attr.nested_attributes)
            return _entry(number, key, multi, _d.OP_NEST, index=index)
        if kind == "indexed-array":
            if attr.sub_type == "nest":
                assert attr.nested_attributes is not None
                index = self._set_table(attr.nested_attributes)
                inner = _entry(0, 0, _d.MULTI_ONE, _d.OP_NEST, index=index)
            else:
                inner = self._native_entry(aset, _element(attr, 0), 0, _d.MULTI_ONE)
            return _entry(number, key, multi, _d.OP_INDEXED, inner=inner)
        if kind == "sub-message":
            return _entry(number, key, multi, _d.OP_BINARY)  # decoded by the set's post
        # bitfield32, nest-type-value: their Python readers.
        return _entry(number, key, multi, _d.OP_PYTHON, obj=self._reader(aset, attr))

    def _native_int(
        self,
        number: int,
        key: str | int,
        multi: int,
        kind: str,
        order: str | None,
        enum_name: str | None,
        as_flags: bool,
        hint: str | None,
    ) -> tuple:  # type: ignore[type-arg]
        width, flags = _int_layout(kind, order)
        mapping, obj = _d.MAP_NONE, None
        if enum_name is not None:
            enum = self.spec.enum(enum_name)
            mapping = _d.MAP_FLAGS if enum.is_flags or as_flags else _d.MAP_ENUM
            obj = enum.by_value
        elif hint in ("ipv4", "ipv4-or-v6") and kind == "u32":
            mapping = _d.MAP_IPV4
        return _entry(number, key, multi, _d.OP_INT, width, flags, mapping, obj=obj, kind=kind)

    def _native_member(self, member: Any, offset: int) -> tuple:  # type: ignore[type-arg]
        name, size = member.name, member.size
        if member.type == "pad":
            return _entry(offset, name, 0, _d.OP_SKIP, size=size)
        if member.struct is not None:
            index = self._struct_table(member.struct)
            return _entry(offset, name, 0, _d.OP_STRUCT, index=index, size=size)
        if member.type in INT_TYPES:
            entry = self._native_int(
                offset,
                name,
                0,
                member.type,
                member.byte_order,
                member.enum,
                False,
                member.display_hint,
            )
            return (*entry[:10], size, None)
        if member.type == "string":
            return _entry(offset, name, 0, _d.OP_STRING, size=size)
        reader = self._member_reader(member)
        if reader is not _read_binary:
            return _entry(offset, name, 0, _d.OP_PYTHON, obj=reader, size=size)
        return _entry(offset, name, 0, _d.OP_BINARY, size=size)

    def _make_encoder(self, set_name: str) -> int:
        """The C encoder's table of a set: the attributes of the kinds it encodes itself."""
        encoder = self._encoder
        assert encoder is not None
        aset = self.spec.attr_set(set_name)
        index: int = encoder.new_table()
        self._encoder_building[set_name] = index
        entries = []
        for attr in aset.by_name.values():  # by name, as the Python encoder looks them up
            entry = self._encoder_entry(attr)
            if entry is not None:
                entries.append(entry)
        encoder.fill(index, entries)
        return index

    def _encoder_entry(self, attr: AttrSpec) -> tuple[Any, ...] | None:
        kind = attr.type
        if not 0 <= attr.value <= NLA_TYPE_MASK:
            return None  # Python encodes it (or says why it cannot)
        checks = attr.checks
        names: dict[str, int] | None = None
        is_flags = 0
        width = flags = nest = 0
        if kind in INT_TYPES:
            op = _d.E_INT
            width, flags = _int_layout(kind, attr.byte_order)
            if attr.enum is not None:
                enum = self.spec.enum(attr.enum)
                names = dict(enum.entries)
                is_flags = int(enum.is_flags or attr.enum_as_flags)
            low, high = _limit(checks, "min"), _limit(checks, "max")
        elif kind in ("string", "binary"):
            op = _d.E_STRING if kind == "string" else _d.E_BINARY
            exact = _limit(checks, "exact-len")
            low, high = _limit(checks, "min-len"), _limit(checks, "max-len")
            if exact is not None:
                low = exact if low is None else max(low, exact)
                high = exact if high is None else min(high, exact)
        elif kind == "flag":
            op, low, high = _d.E_FLAG, None, None
        elif kind == "nest" and attr.nested_attributes is not None:
            op, low, high = _d.E_NEST, None, None
            nest = self._encoder_table(attr.nested_attributes)
        else:
            return None  # pad, bitfield32, arrays, sub-messages: Python encodes them
        multi = int(attr.multi_attr)
        return (attr.name, attr.value, op, width, flags, names, is_flags, multi, nest, low, high)

    # -- decoding ------------------------------------------------------------------------

    def decode(
        self, set_name: str, data: bytes, start: int = 0, end: int | None = None
    ) -> dict[str | int, Value]:
        """The attributes in ``data[start:end]`` as set ``set_name`` names them.

        ``data`` is bytes (other buffers are copied first, so that every value
        comes out the same, as bytes); ``0 <= start <= end <= len(data)``.
        """
        if type(data) is not bytes:
            data = bytes(data)
        end = len(data) if end is None else end
        if not 0 <= start <= end <= len(data):
            raise ValueError(f"span {start}..{end} outside a buffer of {len(data)} bytes")
        try:
            return self._decode_set(set_name, data, start, end, 0)
        except RecursionError:
            raise MalformedAttributesError("attributes nested too deep", start) from None

    def _decode_set(
        self, set_name: str, data: bytes, start: int, end: int, depth: int
    ) -> dict[str | int, Value]:
        """One attribute set's values: in C when accelerated, else by :meth:`_walk_set`."""
        native = self._native
        if native is None:
            return self._walk_set(set_name, data, start, end, depth)
        index = self._set_index.get(set_name)
        if index is None:
            index = self._set_table(set_name)
        decoded: dict[str | int, Value] = native.decode(index, data, start, end, depth)
        return decoded

    def _decode_struct(
        self, name: str, data: bytes, start: int, end: int, depth: int
    ) -> dict[str, Value]:
        native = self._native
        if native is None:
            return self._struct_reader(name)(data, start, end, depth)
        index = self._struct_table(name)
        decoded: dict[str, Value] = native.decode_struct(index, data, start, end, depth)
        return decoded

    def _table(self, set_name: str) -> dict[int, tuple[str | int, Reader | None, bool | int]]:
        table = self._tables.get(set_name)
        if table is None:
            # Made whole, then published: another thread never sees half a table. (Nest
            # readers look their set's table up when they run, so none is needed here.)
            aset = self.spec.attr_set(set_name)
            table = {}
            for attr in aset.attributes:
                reader = None if attr.type in ("pad", "unused") else self._reader(aset, attr)
                key: str | int = attr.value if aset.numbered else attr.name
                multi: bool | int = attr.multi_attr or (_NUMBERED if aset.numbered else False)
                table[attr.value] = (key, reader, multi)
            for typed in self._fallback_attrs(set_name):
                table[typed.value] = (typed.value, self._reader(aset, typed), _NUMBERED)
            self._tables.setdefault(set_name, table)
        return table

    def _fallback_attrs(self, set_name: str) -> list[AttrSpec]:
        """Attributes the set lacks that the kernel's policy types (as scalars), by number."""
        found = []
        for attr_type, pol in self._fallback.get(set_name, {}).items():
            kind = spec_type(pol)
            if kind in INT_TYPES or kind in ("string", "flag", "bitfield32"):
                found.append(AttrSpec(str(attr_type), attr_type, kind))
        return found

    def _walk(
        self,
        table: Mapping[int, tuple[str | int, Reader | None, bool | int]],
        data: bytes,
        start: int,
        end: int,
        depth: int,
    ) -> dict[str | int, Value]:
        out: dict[str | int, Value] = {}
        pos = start
        unpack = _HDR.unpack_from
        get = table.get
        little = _LITTLE
        while end - pos >= 4:
            if little:  # no tuple per attribute (see _int_reader)
                length = data[pos] | data[pos + 1] << 8
                raw_type = data[pos + 2] | data[pos + 3] << 8
            else:
                length, raw_type = unpack(data, pos)
            if length < 4 or length > end - pos:
                _bad_length(length, pos, end)
            entry = get(raw_type & NLA_TYPE_MASK)
            if entry is None:
                self._unknowns += 1
                _put_numbered(out, raw_type & NLA_TYPE_MASK, data[pos + 4 : pos + length])
            else:
                name, reader, multi = entry
                if reader is not None:
                    if not multi:  # the common case, first
                        out[name] = reader(data, pos + 4, pos + length, depth)
                    elif multi is True:
                        found = out.get(name)
                        if found is None:
                            out[name] = [reader(data, pos + 4, pos + length, depth)]
                        else:
                            found.append(reader(data, pos + 4, pos + length, depth))
                    else:
                        _put_numbered(out, name, reader(data, pos + 4, pos + length, depth))
            pos += (length + 3) & ~3
        return out

    def _reader(self, aset: AttrSet, attr: AttrSpec) -> Reader:
        kind = attr.type
        if kind in INT_TYPES:
            return self._scalar_reader(
                kind, attr.byte_order, attr.enum, attr.enum_as_flags, attr.display_hint
            )
        if kind == "string":
            return _read_string
        if kind == "flag":
            return _read_flag
        if kind == "binary":
            return self._binary_reader(attr)
        if kind == "bitfield32":
            enum = self.spec.enum(attr.enum) if attr.enum else None

            def read_bitfield(data: bytes, start: int, end: int, depth: int) -> Value:
                if end - start < 8:
                    raise MalformedAttributesError("bitfield32 shorter than 8 bytes", start)
                value, selector = _BITFIELD.unpack_from(data, start)
                if enum is not None:
                    return {
                        "value": _flag_names(enum, value, True),
                        "selector": _flag_names(enum, selector, True),
                    }
                return {"value": value, "selector": selector}

            return read_bitfield
        if kind == "nest":
            assert attr.nested_attributes is not None
            return self._nest_reader(attr.nested_attributes)
        if kind == "indexed-array":
            return self._array_reader(aset, attr)
        if kind == "nest-type-value":
            assert attr.nested_attributes is not None
            return self._type_value_reader(attr.nested_attributes, max(1, len(attr.type_value)))
        if kind == "sub-message":
            return _read_binary  # needs its selector: decoded by _walk_sub_messages
        raise AssertionError(kind)

    def _scalar_reader(
        self, kind: str, order: str | None, enum_name: str | None, as_flags: bool, hint: str | None
    ) -> Reader:
        read = _int_reader(kind, order)
        if enum_name is not None:
            enum = self.spec.enum(enum_name)
            flags = enum.is_flags or as_flags
            by_value = enum.by_value

            def read_enum(data: bytes, start: int, end: int, depth: int) -> Value:
                value = read(data, start, end, depth)
                if flags:  # a negative value (a signed kind) names no bits
                    return _flag_names(enum, value, True) if value >= 0 else value
                return by_value.get(value, value)

            return read_enum
        if hint in ("ipv4", "ipv4-or-v6") and kind == "u32":
            fmt = _struct("u32", order)

            def read_ipv4(data: bytes, start: int, end: int, depth: int) -> Value:
                value = read(data, start, end, depth)
                return str(
                    ipaddress.IPv4Address(
                        value if order == "big-endian" else int.from_bytes(fmt.pack(value), "big")
                    )
                )

            return read_ipv4
        return read

    def _binary_reader(self, attr: AttrSpec) -> Reader:
        if attr.struct is not None:
            return self._struct_reader(attr.struct)
        if attr.sub_type in INT_TYPES and attr.sub_type not in ("uint", "sint"):
            fmt = _struct(attr.sub_type, attr.byte_order)
            size = fmt.size

            def read_array(data: bytes, start: int, end: int, depth: int) -> Value:
                count = (end - start) // size
                return list(struct.unpack_from(fmt.format[0] + fmt.format[1:] * count, data, start))

            return read_array
        hint = attr.display_hint
        if hint is not None and hint != "hex":

            def read_hinted(data: bytes, start: int, end: int, depth: int) -> Value:
                return _hint_text(hint, data[start:end])

            return read_hinted
        return _read_binary

    def _nest_reader(self, set_name: str) -> Reader:
        def read_nest(data: bytes, start: int, end: int, depth: int) -> Value:
            return self._decode_set(set_name, data, start, end, depth + 1)

        return read_nest

    def _walk_set(
        self, set_name: str, data: bytes, start: int, end: int, depth: int
    ) -> dict[str | int, Value]:
        if depth > _MAX_DEPTH:
            raise MalformedAttributesError("attributes nested too deep", start)
        if set_name is _NO_SET:
            return self._walk({}, data, start, end, depth)
        table = self._tables.get(set_name)
        decoded = self._walk(
            self._table(set_name) if table is None else table, data, start, end, depth
        )
        if set_name in self._with_sub_messages:
            self._walk_sub_messages(set_name, decoded, depth)
        return decoded

    def _walk_sub_messages(
        self, set_name: str, decoded: dict[str | int, Value], depth: int
    ) -> None:
        """Decode sub-message attributes by their selector, now that the siblings are known."""
        for attr in self.spec.attr_set(set_name).attributes:
            if attr.type != "sub-message" or attr.name not in decoded:
                continue
            raw = decoded[attr.name]
            fmt = self._sub_format(attr, decoded)
            if fmt is None:
                continue  # an unknown selector value: the payload stays bytes
            aset, header = fmt
            out: dict[str | int, Value] = {}
            pos = 0
            if header is not None:
                hstruct = self.spec.struct(header)
                out.update(self._decode_struct(header, raw, 0, len(raw), depth))
                pos = hstruct.size
            if aset is not None:
                out.update(self._decode_set(aset, raw, pos, len(raw), depth + 1))
            decoded[attr.name] = out

    def _sub_format(
        self, attr: AttrSpec, siblings: Mapping[str | int, Value]
    ) -> tuple[str | None, str | None] | None:
        assert attr.sub_message is not None and attr.selector is not None
        sub = self.spec.sub_messages[attr.sub_message]
        selector = siblings.get(attr.selector)
        if selector is None:
            return None
        return sub.formats.get(str(selector))

    def _array_reader(self, aset: AttrSet, attr: AttrSpec) -> Reader:
        if attr.sub_type == "nest":
            assert attr.nested_attributes is not None
            inner = self._nest_reader(attr.nested_attributes)
        else:
            inner = self._reader(aset, _element(attr, 0))

        def read_indexed(data: bytes, start: int, end: int, depth: int) -> Value:
            return [inner(data, s, e, depth) for _t, s, e in _entries(data, start, end)]

        return read_indexed

    def _type_value_reader(self, set_name: str, levels: int) -> Reader:
        def read_level(data: bytes, start: int, end: int, level: int, depth: int) -> Value:
            if level > 1:
                return {
                    t: read_level(data, s, e, level - 1, depth)
                    for t, s, e in _entries(data, start, end)
                }
            return {
                t: self._decode_set(set_name, data, s, e, depth + 1)
                for t, s, e in _entries(data, start, end)
            }

        def read_type_value(data: bytes, start: int, end: int, depth: int) -> Value:
            return read_level(data, start, end, levels, depth)

        return read_type_value

    def _struct_reader(self, name: str) -> Callable[[bytes, int, int, int], dict[str, Value]]:
        reader = self._structs.get(name)
        if reader is not None:
            return reader
        definition = self.spec.struct(name)
        steps: list[tuple[str, int, Callable[[bytes, int, int, int], Value] | None]] = []
        for member in definition.members:
            steps.append((member.name, member.size, self._member_reader(member)))
        size = definition.size

        def read_struct(data: bytes, start: int, end: int, depth: int) -> dict[str, Value]:
            if end - start < size:
                raise MalformedAttributesError(
                    f"{end - start} bytes too short for struct {name} ({size})", start
                )
            out: dict[str, Value] = {}
            pos = start
            for member_name, member_size, read in steps:
                if read is not None:
                    out[member_name] = read(data, pos, pos + member_size, depth)
                pos += member_size
            return out

        self._structs[name] = read_struct
        return read_struct

    def _member_reader(self, member: Any) -> Callable[[bytes, int, int, int], Value] | None:
        if member.type == "pad":
            return None
        if member.struct is not None:
            return self._struct_reader(member.struct)
        if member.type in INT_TYPES:
            return self._scalar_reader(
                member.type, member.byte_order, member.enum, False, member.display_hint
            )
        if member.type == "string":
            return _read_string
        hint = member.display_hint
        if hint is not None and hint != "hex":
            return lambda data, start, end, depth: _hint_text(hint, data[start:end])
        return _read_binary

    # -- messages ------------------------------------------------------------------------

    def message_operation(self, cmd: int, reply: bool) -> Operation | None:
        return self.spec.received(cmd, reply)

    def decode_received(
        self, data: bytes, attrs_at: int, cmd: int, reply: bool
    ) -> dict[str | int, Value]:
        """The values of a whole received message (``data``, headers included), as
        :meth:`decode_message` gives them; its fixed header is ``data[20:attrs_at]``.

        The common case (the accelerator, an operation with no fixed header) is one
        C call, its tables looked up once per command.
        """
        native = self._native
        if native is not None:
            cache = self._reply_tables if reply else self._other_tables
            tables = cache.get(cmd, _MISSING)
            if tables is _MISSING:
                tables = cache[cmd] = self.message_tables(cmd, reply)
            if tables is not None and tables[1] < 0:  # type: ignore[index]
                decoded: dict[str | int, Value] = native.decode(
                    tables[0],  # type: ignore[index]
                    data,
                    attrs_at,
                    len(data),
                    0,
                )
                return decoded
        _op, values = self.decode_message(data, attrs_at, data[_GENL_AT:attrs_at], cmd, reply)
        return values

    def decode_message(
        self, data: bytes, attrs_at: int, header: bytes, cmd: int, reply: bool
    ) -> tuple[Operation | None, dict[str | int, Value]]:
        """(operation, values) of a received message: fixed header fields, then attributes.

        A cmd the spec does not know decodes by attribute number, as bytes.
        """
        op = self.spec.received(cmd, reply)
        if op is None or op.attribute_set is None:
            return op, self._decode_set(_NO_SET, data, attrs_at, len(data), 0)
        try:
            values = self._decode_set(op.attribute_set, data, attrs_at, len(data), 0)
        except RecursionError:
            raise MalformedAttributesError("attributes nested too deep", attrs_at) from None
        if op.fixed_header is not None and header:
            # The header's fields first, then the attributes (which win a name both have).
            fields: dict[str | int, Value] = {}
            fields.update(self._decode_struct(op.fixed_header, header, 0, len(header), 0))
            fields.update(values)
            return op, fields
        return op, values

    # -- encoding ------------------------------------------------------------------------

    def encode(self, set_name: str, values: Mapping[Any, Value]) -> bytes:
        """``values`` (names or numbers of ``set_name``'s attributes) as attributes."""
        encoder = self._encoder
        if encoder is not None and type(values) is dict:
            # In C when every value is of the common kinds; else (and for every error)
            # the Python encoder below, which the C one follows byte for byte.
            index = self._encoder_index.get(set_name)
            if index is None:
                index = self._encoder_table(set_name)
            encoded: bytes | None = encoder.encode(index, values)
            if encoded is not None:
                return encoded
        return self.encode_in_python(set_name, values)

    def encode_in_python(self, set_name: str, values: Mapping[Any, Value]) -> bytes:
        """:meth:`encode` by the Python encoder: the reference, and where C gives up."""
        enc = AttributeEncoder()
        self._encode_set(enc, self.spec.attr_set(set_name), values, f"{self.spec.name}", 0)
        return enc.encode()  # an attribute over 64 KiB raises AttributeSizeError here

    def encode_header(self, name: str, values: Mapping[str, Value]) -> bytes:
        """A fixed header (a struct) from its member values; absent members are 0."""
        return self._pack_struct(self.spec.struct(name), values, f"{self.spec.name} {name}")

    def _encode_set(
        self,
        enc: AttributeEncoder,
        aset: AttrSet,
        values: Mapping[Any, Value],
        where: str,
        depth: int,
    ) -> None:
        if not isinstance(values, Mapping):
            raise EncodeError(f"{where}: {aset.name} needs a mapping, not {type(values).__name__}")
        if depth > _MAX_DEPTH:
            raise EncodeError(f"{where}: nested deeper than {_MAX_DEPTH}")
        for key, value in values.items():
            attr = aset.by_name.get(key) if isinstance(key, str) else None
            if attr is None and isinstance(key, int) and not isinstance(key, bool):
                attr = aset.by_value.get(key)
                if attr is None:
                    encode_kind(enc, key, value, f"{where} {aset.name}.{key}")
                    continue
            if attr is None:
                raise UnknownAttributeError(
                    f"{where}: attribute set {aset.name} has no attribute {key!r}"
                    f" (known: {', '.join(a.name for a in aset.attributes if a.type != 'unused')})"
                )
            what = f"{where} {aset.name}.{attr.name}"
            if attr.multi_attr and isinstance(value, (list, tuple)):
                for item in value:
                    self._encode_attr(enc, aset, attr, item, what, depth, values)
            else:
                self._encode_attr(enc, aset, attr, value, what, depth, values)

    def _encode_attr(
        self,
        enc: AttributeEncoder,
        aset: AttrSet,
        attr: AttrSpec,
        value: Value,
        what: str,
        depth: int,
        siblings: Mapping[Any, Value],
    ) -> None:
        kind = attr.type
        if isinstance(value, Typed):
            encode_kind(enc, attr.value, value, what)
        elif kind in INT_TYPES:
            number = self._to_int(
                kind, attr.enum, attr.enum_as_flags, attr.display_hint, attr.byte_order, value, what
            )
            _apply_checks(attr, number, what)
            enc.put(attr.value, _pack_int(kind, attr.byte_order, number))
        elif kind == "string":
            if not isinstance(value, str):
                raise EncodeTypeError(f"{what}: string needs str, not {type(value).__name__}")
            raw = _string_bytes(value, what)
            _apply_checks(attr, len(raw), what, lengths=True)
            enc.put(attr.value, raw + b"\0")
        elif kind == "binary":
            data = self._binary_bytes(attr, value, what)
            _apply_checks(attr, len(data), what, lengths=True)
            enc.put(attr.value, data)
        elif kind == "flag":
            if not isinstance(value, bool):
                raise EncodeError(f"{what}: a flag takes True or False, not {value!r}")
            enc.flag(attr.value, value)
        elif kind == "bitfield32":
            if not isinstance(value, Mapping) or set(value) - {"value", "selector"}:
                raise EncodeError(f"{what}: bitfield32 takes {{'value': ..., 'selector': ...}}")
            bits = self._to_int("u32", attr.enum, True, None, None, value.get("value", 0), what)
            sel = self._to_int(
                "u32", attr.enum, True, None, None, value.get("selector", bits), what
            )
            enc.put(attr.value, _BITFIELD.pack(bits, sel))
        elif kind == "nest":
            assert attr.nested_attributes is not None
            token = enc.nest_start(attr.value)
            self._encode_set(
                enc, self.spec.attr_set(attr.nested_attributes), value, what, depth + 1
            )
            enc.nest_end(token)
        elif kind == "indexed-array":
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                raise EncodeError(f"{what}: indexed-array takes a list")
            token = enc.nest_start(attr.value)
            for index, item in enumerate(value, 1):
                if attr.sub_type == "nest":
                    assert attr.nested_attributes is not None
                    inner = enc.nest_start(index)
                    self._encode_set(
                        enc, self.spec.attr_set(attr.nested_attributes), item, what, depth + 1
                    )
                    enc.nest_end(inner)
                else:
                    element = _element(attr, index)
                    self._encode_attr(enc, aset, element, item, what, depth + 1, siblings)
            enc.nest_end(token)
        elif kind == "nest-type-value":
            assert attr.nested_attributes is not None
            token = enc.nest_start(attr.value)
            self._encode_type_value(
                enc, attr.nested_attributes, value, max(1, len(attr.type_value)), what, depth
            )
            enc.nest_end(token)
        elif kind == "sub-message":
            fmt = self._sub_format(attr, siblings)
            if fmt is None:
                if isinstance(value, (bytes, bytearray, memoryview)):
                    enc.put(attr.value, value)
                    return
                raise EncodeError(
                    f"{what}: no format for selector {attr.selector}="
                    f"{siblings.get(attr.selector)!r}"
                )
            set_name, header = fmt
            if not isinstance(value, Mapping):
                raise EncodeError(f"{what}: a sub-message takes a mapping")
            body = dict(value)
            head = b""
            if header is not None:
                definition = self.spec.struct(header)
                fields = {m.name: body.pop(m.name) for m in definition.members if m.name in body}
                head = self._pack_struct(definition, fields, what)
            token = enc.nest_start(attr.value)
            enc.put_raw(head)
            if set_name is not None:
                self._encode_set(enc, self.spec.attr_set(set_name), body, what, depth + 1)
            elif body:
                raise EncodeError(f"{what}: this format has no attributes ({', '.join(body)})")
            enc.nest_end(token)
        else:
            raise EncodeError(f"{what}: a {kind} attribute cannot be sent")

    def _encode_type_value(
        self, enc: AttributeEncoder, set_name: str, value: Value, level: int, what: str, depth: int
    ) -> None:
        if not isinstance(value, Mapping):
            raise EncodeError(f"{what}: nest-type-value takes a mapping of numbers")
        for key, inner in value.items():
            if isinstance(key, bool) or not isinstance(key, int):
                raise EncodeError(f"{what}: nest-type-value keys are numbers, not {key!r}")
            token = enc.nest_start(key)
            if level > 1:
                self._encode_type_value(enc, set_name, inner, level - 1, what, depth + 1)
            else:
                self._encode_set(enc, self.spec.attr_set(set_name), inner, what, depth + 1)
            enc.nest_end(token)

    def _to_int(
        self,
        kind: str,
        enum_name: str | None,
        as_flags: bool,
        hint: str | None,
        order: str | None,
        value: Value,
        what: str,
    ) -> int:
        if enum_name is not None and not (isinstance(value, int) and not isinstance(value, bool)):
            enum = self.spec.enum(enum_name)
            if enum.is_flags or as_flags:
                names = [value] if isinstance(value, str) else value
                if not isinstance(names, Iterable):
                    raise EncodeError(f"{what}: flags {enum.name} take names, not {value!r}")
                mask = 0
                for item in names:
                    if isinstance(item, int) and not isinstance(item, bool):
                        mask |= item
                        continue
                    bit = enum.entries.get(item) if isinstance(item, str) else None
                    if bit is None:
                        raise EncodeError(
                            f"{what}: {item!r} is not a flag of {enum.name}"
                            f" (known: {', '.join(enum.entries)})"
                        )
                    mask |= 1 << bit
                value = mask
            else:
                found = enum.entries.get(value) if isinstance(value, str) else None
                if found is None:
                    raise EncodeError(
                        f"{what}: {value!r} is not a value of {enum.name}"
                        f" (known: {', '.join(enum.entries)})"
                    )
                value = found
        elif hint in ("ipv4", "ipv4-or-v6") and kind == "u32":
            if isinstance(value, (str, ipaddress.IPv4Address)):
                try:
                    address = int(ipaddress.IPv4Address(value))
                except ValueError:
                    raise EncodeError(f"{what}: {value!r} is not an IPv4 address") from None
                # The address in network order on the wire, whatever the attribute's order.
                value = (
                    address
                    if order == "big-endian"
                    else int.from_bytes(address.to_bytes(4, "big"), "little")
                )
        elif isinstance(value, ipaddress.IPv4Address) and kind == "u32" and order == "big-endian":
            value = int(value)  # the wire form fits: a big-endian u32 is an address in order
        elif isinstance(value, str) and hint == "hex":
            try:
                value = int(value, 16)
            except ValueError:
                raise EncodeError(f"{what}: {value!r} is not hex") from None
        return _check_int(kind, value, what)

    def _binary_bytes(self, attr: AttrSpec, value: Value, what: str) -> bytes:
        if attr.struct is not None and isinstance(value, Mapping):
            return self._pack_struct(self.spec.struct(attr.struct), value, what)
        if (
            attr.sub_type in INT_TYPES
            and attr.sub_type not in ("uint", "sint")
            and isinstance(value, (list, tuple))
        ):
            kind = attr.sub_type
            return b"".join(
                _struct(kind, attr.byte_order).pack(_check_int(kind, v, what)) for v in value
            )
        return _hint_bytes(attr.display_hint, value, what)

    def _pack_struct(self, definition: Struct, values: Mapping[str, Value], what: str) -> bytes:
        if not isinstance(values, Mapping):
            raise EncodeError(f"{what}: struct {definition.name} takes a mapping")
        known = {m.name for m in definition.members}
        extra = [k for k in values if k not in known]
        if extra:
            raise EncodeError(f"{what}: struct {definition.name} has no member {extra[0]!r}")
        out = bytearray()
        for member in definition.members:
            value = values.get(member.name)
            mwhat = f"{what}.{member.name}"
            if member.type == "pad" or value is None:
                out += bytes(member.size)
            elif member.struct is not None:
                out += self._pack_struct(self.spec.struct(member.struct), value, mwhat)
            elif member.type in INT_TYPES:
                number = self._to_int(
                    member.type,
                    member.enum,
                    False,
                    member.display_hint,
                    member.byte_order,
                    value,
                    mwhat,
                )
                out += _pack_int(member.type, member.byte_order, number)
            else:
                if member.type == "string":
                    if not isinstance(value, str):
                        raise EncodeError(f"{mwhat}: string needs str")
                    data = value.encode()
                else:
                    data = _hint_bytes(member.display_hint, value, mwhat)
                if len(data) > member.size:
                    raise EncodeError(f"{mwhat}: {len(data)} bytes do not fit in {member.size}")
                out += data + bytes(member.size - len(data))
        return bytes(out)

    # -- naming ----------------------------------------------------------------------------

    def attribute_names(self, set_name: str, path: Iterable[int]) -> tuple[str, ...]:
        """Names for a path of attribute numbers (outermost first), numbers where unknown."""
        names: list[str] = []
        aset: AttrSet | None = self.spec.attr_set(set_name)
        in_array = False
        for attr_type in path:
            if aset is None:
                names.append(str(attr_type))
                continue
            if in_array:
                names.append(str(attr_type))
                in_array = False
                continue
            attr = aset.by_value.get(attr_type)
            if attr is None:
                names.append(str(attr_type))
                aset = None
                continue
            names.append(attr.name)
            nested = attr.nested_attributes
            if attr.type == "indexed-array" and attr.sub_type == "nest":
                in_array = True
            aset = self.spec.attr_set(nested) if nested and attr.type != "nest-type-value" else None
        return tuple(names)


def _element(attr: AttrSpec, index: int) -> AttrSpec:
    """Entry ``index`` of an indexed-array of scalars: an attribute of its ``sub-type``."""
    return AttrSpec(
        attr.name,
        index,
        attr.sub_type or "binary",
        attr.byte_order,
        enum=attr.enum,
        enum_as_flags=attr.enum_as_flags,
        display_hint=attr.display_hint,
        struct=attr.struct,
    )


def _entry(
    number: int,
    key: str | int,
    multi: int,
    op: int,
    width: int = 0,
    flags: int = 0,
    mapping: int = 0,
    *,
    index: int = 0,
    obj: Any = None,
    kind: str = "",
    size: int = 0,
    inner: tuple | None = None,  # type: ignore[type-arg]
) -> tuple:  # type: ignore[type-arg]
    """One entry of a :mod:`libnl_py._codec` table, in the order its ``fill`` takes."""
    return (number, key, op, multi, width, flags, mapping, index, obj, kind, size, inner)


def _limit(checks: Mapping[str, Any], key: str) -> int | None:
    """A check's limit as _apply_checks uses it: an int, else (a C constant's name) none."""
    value = checks.get(key)
    return value if isinstance(value, int) else None


def _int_layout(kind: str, order: str | None) -> tuple[int, int]:
    """(width, flags) of an integer kind for the accelerator: 0 width for uint/sint."""
    signed = _d.F_SIGNED if kind[0] == "s" else 0
    if kind in ("uint", "sint"):
        return 0, signed | _d.F_VAR
    return struct.calcsize(_FORMATS[kind]), signed | (_d.F_BIG if order == "big-endian" else 0)


_NO_SET = "\0no set"
_GENL_AT = 20  # where a generic netlink message's fixed header starts: its two headers' length
"""The set of a message no operation names: every attribute decodes under its number."""

_NUMBERED = 2
"""The ``multi`` of a table entry under a number: a repeat makes a list of the values."""


def _put_numbered(out: dict[str | int, Value], key: str | int, value: Value) -> None:
    """Store an attribute kept under its number: a repeated one becomes the list of its values.

    (Lists of one kind only: the first repeat wraps the value it finds in a
    :class:`_Repeats`, a list, so a value that is itself a list is never extended.)
    """
    found = out.get(key, _MISSING)
    if found is _MISSING:
        out[key] = value
    elif type(found) is _Repeats:
        found.append(value)
    else:
        out[key] = _Repeats((found, value))


class _Repeats(list):  # type: ignore[type-arg]
    """The values of an attribute that came more than once under its number."""


_MISSING = object()


def _bad_length(length: int, pos: int, end: int) -> None:
    if length < 4:
        raise MalformedAttributesError(f"attribute length {length} below header size", pos)
    raise MalformedAttributesError(
        f"attribute length {length} runs past the end ({end - pos} bytes left)", pos
    )


def _flag_names(enum: EnumSet, value: int, flags: bool) -> list[Value]:
    """Names of the bits set in ``value``; a bit the enum lacks stays its mask value."""
    names: list[Value] = []
    by_value = enum.by_value
    bit = 0
    while value >> bit:
        if value >> bit & 1:
            names.append(by_value.get(bit, 1 << bit))
        bit += 1
    return names


def _string_bytes(value: str, what: str) -> bytes:
    """A string's bytes: UTF-8, with the bytes a decode escaped put back as they were."""
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise EncodeError(f"{what}: {value!r} cannot be encoded as UTF-8") from None
    if b"\0" in raw:
        raise EncodeError(f"{what}: a string cannot hold NUL")
    return raw


def _read_string(data: bytes, start: int, end: int, depth: int) -> str:
    raw = data[start:end]
    nul = raw.find(b"\0")
    if nul >= 0:
        raw = raw[:nul]
    return raw.decode("utf-8", "surrogateescape")


def _read_flag(data: bytes, start: int, end: int, depth: int) -> bool:
    return True


def _read_binary(data: bytes, start: int, end: int, depth: int) -> bytes:
    return data[start:end]


def _entries(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(type, payload start, payload end) of each attribute in data[start:end], checked."""
    out = []
    pos = start
    while end - pos >= 4:
        length, raw_type = _HDR.unpack_from(data, pos)
        if length < 4 or pos + length > end:
            raise MalformedAttributesError(f"attribute length {length} invalid", pos)
        out.append((raw_type & NLA_TYPE_MASK, pos + 4, pos + length))
        pos += (length + 3) & ~3
    return out


def _apply_checks(attr: AttrSpec, number: int, what: str, lengths: bool = False) -> None:
    checks = attr.checks
    if not checks:
        return
    keys = ("min-len", "max-len", "exact-len") if lengths else ("min", "max")
    for key in keys:
        limit = checks.get(key)
        if not isinstance(limit, int):
            continue  # a limit by name (a C constant) is the kernel's to check
        if key in ("min", "min-len") and number < limit:
            raise EncodeError(f"{what}: {number} is below its {key} {limit}")
        if key in ("max", "max-len") and number > limit:
            raise EncodeError(f"{what}: {number} is above its {key} {limit}")
        if key == "exact-len" and number != limit:
            raise EncodeError(f"{what}: {number} bytes, the attribute takes exactly {limit}")


# -- explicit kinds (no spec, or a number the spec lacks) ---------------------------------------


def encode_kind(enc: AttributeEncoder, attr_type: int, value: Value, what: str) -> None:
    """Encode one attribute that only the caller types: bytes, or a :class:`Typed` value."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        enc.put(attr_type, value)
        return
    if not isinstance(value, Typed):
        raise EncodeError(
            f"{what}: no spec or policy says its type: give bytes or Typed(kind, value)"
        )
    kind, order = value.kind, None
    if kind in _ALIASES:
        kind, order = _ALIASES[kind]
    inner = value.value
    if kind in INT_TYPES:
        enc.put(attr_type, _pack_int(kind, order, _check_int(kind, inner, what)))
    elif kind == "string":
        if not isinstance(inner, str):
            raise EncodeError(f"{what}: string needs str, not {type(inner).__name__}")
        enc.string(attr_type, inner)
    elif kind == "binary":
        enc.put(attr_type, _hint_bytes("hex", inner, what))
    elif kind == "flag":
        if not isinstance(inner, bool):
            raise EncodeError(f"{what}: a flag takes True or False")
        enc.flag(attr_type, inner)
    elif kind == "nest":
        if not isinstance(inner, Mapping):
            raise EncodeError(f"{what}: nest takes a mapping")
        token = enc.nest_start(attr_type)
        for key, item in inner.items():
            if isinstance(key, bool) or not isinstance(key, int):
                raise EncodeError(f"{what}: untyped nests take attribute numbers, not {key!r}")
            encode_kind(enc, key, item, f"{what}.{key}")
        enc.nest_end(token)
    else:
        raise EncodeError(f"{what}: unknown kind {value.kind!r}")


def decode_scalar_kind(kind: str, data: bytes) -> Value:
    """A payload read as a policy's kind (``u32``, ``string``, ...); bytes for other kinds."""
    if kind in INT_TYPES:
        try:
            return _int_reader(kind, None)(data, 0, len(data), 0)
        except MalformedAttributesError:
            return data
    if kind in ("string", "nul-string"):
        return _read_string(data, 0, len(data), 0)
    if kind == "flag":
        return True
    return data
