"""Declarative family definitions: commands and attribute sets by name.

A :class:`FamilySpec` says which attribute sets a family has, each attribute's
number, name and type, and which set each command uses. With one, requests
are given as ``{"name": value}`` mappings and replies decode to plain Python
values by name. The types follow the kernel's YNL specs
(``Documentation/netlink/specs``): ``u8`` .. ``u64``, ``s8`` .. ``s64``,
``uint``, ``sint``, ``be16``/``be32``, ``string``, ``binary``, ``flag``,
``nest`` (an attribute set), ``indexed-array`` (a nest whose entries are
numbered 1..n, each of ``sub_type`` or a nest of ``nested``) and
``nest-type-value`` (nests whose attribute types are keys, ``depth`` levels
deep, around a nest of ``nested``; nlctrl's policy dumps use it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from libnl_py.attrs import Attribute, AttributeEncoder, Attributes
from libnl_py.errors import NotFoundError

__all__ = ["SCALAR_KINDS", "Attr", "AttrSet", "Command", "Enum", "FamilySpec"]

Value = Any

SCALAR_KINDS = frozenset(
    ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "uint", "sint", "be16", "be32")
)
"""Integer attribute kinds, each an :class:`~libnl_py.attrs.AttributeEncoder` method."""
_KINDS = SCALAR_KINDS | {
    "string",
    "binary",
    "flag",
    "nest",
    "indexed-array",
    "nest-type-value",
    "pad",
    "unused",
}


@dataclass(frozen=True)
class Enum:
    """Names for the values of an attribute; ``flags`` enums are bit masks."""

    name: str
    values: Mapping[int, str]
    flags: bool = False
    _by_name: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {v: k for k, v in self.values.items()})

    def decode(self, value: int) -> Value:
        if self.flags:
            names = [
                self.values.get(1 << bit, f"{1 << bit:#x}")
                for bit in range(value.bit_length())
                if value >> bit & 1
            ]
            return names
        return self.values.get(value, value)

    def encode(self, value: Value) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if self.flags and not isinstance(value, str):
            mask = 0
            for item in value:
                mask |= self.encode(item)
            return mask
        try:
            return self._by_name[value]
        except KeyError:
            raise ValueError(f"{value!r} is not a value of enum {self.name}") from None


@dataclass(frozen=True)
class Attr:
    """One attribute of a set: its number, name and type.

    ``nested`` names the attribute set of a ``nest`` (or of the entries of an
    ``indexed-array`` of nests); ``multi`` marks an attribute that may repeat
    (decoded as a list); ``enum`` names an :class:`Enum` of the family.
    """

    name: str
    type: int
    kind: str
    nested: str | None = None
    sub_type: str | None = None
    multi: bool = False
    enum: str | None = None
    depth: int = 1
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"attribute {self.name}: unknown kind {self.kind!r}")
        if self.kind in ("nest", "nest-type-value") and not self.nested:
            raise ValueError(f"attribute {self.name}: a nest needs an attribute set")


@dataclass(frozen=True)
class AttrSet:
    """A set of attributes that appear together (at top level or in one nest)."""

    name: str
    attrs: tuple[Attr, ...]
    by_name: Mapping[str, Attr] = field(init=False, repr=False, compare=False)
    by_type: Mapping[int, Attr] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {a.name: a for a in self.attrs})
        object.__setattr__(self, "by_type", {a.type: a for a in self.attrs})


@dataclass(frozen=True)
class Command:
    """A command: its number, name, and the attribute sets of request and reply."""

    name: str
    id: int
    attribute_set: str
    reply_set: str | None = None
    doc: str = ""


@dataclass(frozen=True)
class FamilySpec:
    """A family's commands, attribute sets and enums."""

    name: str
    commands: tuple[Command, ...]
    attribute_sets: tuple[AttrSet, ...]
    enums: tuple[Enum, ...] = ()
    notifications: tuple[Command, ...] = ()
    replies: tuple[Command, ...] = ()
    """Messages the kernel sends, by their own id, for families (like ethtool) that
    number kernel-to-user messages apart from requests."""
    groups: tuple[str, ...] = ()
    hdrsize: int = 0
    doc: str = ""
    _sets: Mapping[str, AttrSet] = field(init=False, repr=False, compare=False)
    _enums: Mapping[str, Enum] = field(init=False, repr=False, compare=False)
    _by_id: Mapping[int, Command] = field(init=False, repr=False, compare=False)
    _by_name: Mapping[str, Command] = field(init=False, repr=False, compare=False)
    _received: Mapping[int, Command] = field(init=False, repr=False, compare=False)
    command_names: Mapping[int, str] = field(init=False, repr=False, compare=False)
    """Request command id -> name."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sets", {s.name: s for s in self.attribute_sets})
        object.__setattr__(self, "_enums", {e.name: e for e in self.enums})
        object.__setattr__(self, "_by_id", {c.id: c for c in self.commands})
        object.__setattr__(self, "_by_name", {c.name: c for c in self.commands})
        object.__setattr__(self, "command_names", {c.id: c.name for c in self.commands})
        # A received message's id: a reply-only id wins, then a notification,
        # then the request of the same id (families that answer with the request's cmd).
        received = {c.id: c for c in (*self.commands, *self.notifications, *self.replies)}
        object.__setattr__(self, "_received", received)
        for aset in self.attribute_sets:
            for attr in aset.attrs:
                if attr.nested is not None and attr.nested not in self._sets:
                    raise ValueError(
                        f"{self.name}: {aset.name}.{attr.name} names unknown set {attr.nested}"
                    )
                if attr.enum is not None and attr.enum not in self._enums:
                    raise ValueError(
                        f"{self.name}: {aset.name}.{attr.name} names unknown enum {attr.enum}"
                    )

    # -- lookups -------------------------------------------------------------

    def attribute_set(self, name: str) -> AttrSet:
        return self._sets[name]

    def command(self, cmd: int | str) -> Command:
        """The request command called or numbered ``cmd``; :class:`NotFoundError` if unknown."""
        found = self._by_id.get(cmd) if isinstance(cmd, int) else self._by_name.get(cmd)
        if found is not None:
            return found
        raise NotFoundError(
            function="command",
            message=f"family {self.name!r} has no command {cmd!r}"
            f" (known: {', '.join(c.name for c in self.commands)})",
        )

    def received(self, cmd_id: int) -> Command | None:
        """What a message the kernel sent with ``cmd_id`` is (reply, notification or echo)."""
        return self._received.get(cmd_id)

    def command_name(self, cmd_id: int) -> str | None:
        """The name of a received message's cmd, if known."""
        found = self._received.get(cmd_id)
        return found.name if found else None

    # -- encoding ------------------------------------------------------------

    def encode(self, set_name: str, values: Mapping[str | int, Value]) -> bytes:
        """Encode ``values`` (names or numbers of ``set_name``'s attributes) as attributes."""
        enc = AttributeEncoder()
        self._encode_set(enc, self._sets[set_name], values)
        return enc.encode()

    def _encode_set(
        self, enc: AttributeEncoder, aset: AttrSet, values: Mapping[str | int, Value]
    ) -> None:
        for key, value in values.items():
            attr = aset.by_name.get(key) if isinstance(key, str) else aset.by_type.get(key)
            if attr is None:
                if isinstance(key, int) and isinstance(value, (bytes, bytearray, memoryview)):
                    enc.binary(key, value)
                    continue
                raise KeyError(f"{self.name}: attribute set {aset.name} has no attribute {key!r}")
            items = value if attr.multi and isinstance(value, (list, tuple)) else (value,)
            for item in items:
                self._encode_attr(enc, attr, item)

    def _encode_attr(self, enc: AttributeEncoder, attr: Attr, value: Value) -> None:
        kind = attr.kind
        if kind in SCALAR_KINDS:
            if attr.enum is not None:
                value = self._enums[attr.enum].encode(value)
            getattr(enc, kind)(attr.type, value)
        elif kind == "string":
            enc.string(attr.type, value)
        elif kind == "binary":
            enc.binary(attr.type, value)
        elif kind == "flag":
            enc.flag(attr.type, bool(value))
        elif kind == "nest":
            assert attr.nested is not None
            with enc.nested(attr.type):
                self._encode_set(enc, self._sets[attr.nested], value)
        elif kind == "indexed-array":
            with enc.nested(attr.type):
                for index, entry in enumerate(value, 1):
                    if attr.nested is not None:
                        with enc.nested(index):
                            self._encode_set(enc, self._sets[attr.nested], entry)
                    else:
                        self._encode_attr(
                            enc, Attr(attr.name, index, attr.sub_type or "binary"), entry
                        )
        elif kind == "nest-type-value":
            assert attr.nested is not None
            with enc.nested(attr.type):
                self._encode_type_value(enc, self._sets[attr.nested], value, attr.depth)
        else:
            raise ValueError(f"attribute {attr.name}: kind {kind} cannot be encoded")

    def _encode_type_value(
        self, enc: AttributeEncoder, aset: AttrSet, value: Mapping[int, Value], depth: int
    ) -> None:
        for key, inner in value.items():
            with enc.nested(key):
                if depth > 1:
                    self._encode_type_value(enc, aset, inner, depth - 1)
                else:
                    self._encode_set(enc, aset, inner)

    # -- decoding ------------------------------------------------------------

    def decode(self, set_name: str, attrs: Attributes) -> dict[str | int, Value]:
        """Decode ``attrs`` as ``set_name``: names to Python values.

        Unknown attributes are kept under their number as bytes; repeated
        ``multi`` attributes become lists, in order.
        """
        return self._decode_set(self._sets[set_name], attrs)

    def _decode_set(self, aset: AttrSet, attrs: Iterable[Attribute]) -> dict[str | int, Value]:
        out: dict[str | int, Value] = {}
        by_type = aset.by_type
        for item in attrs:
            attr = by_type.get(item.type)
            if attr is None:
                out[item.type] = item.payload
                continue
            if attr.kind in ("pad", "unused"):
                continue
            value = self._decode_attr(attr, item)
            if attr.multi:
                out.setdefault(attr.name, []).append(value)
            else:
                out[attr.name] = value
        return out

    def _decode_attr(self, attr: Attr, item: Attribute) -> Value:
        kind = attr.kind
        if kind in SCALAR_KINDS:
            reader: Callable[[], int] = getattr(item, kind)
            value = reader()
            if attr.enum is not None:
                return self._enums[attr.enum].decode(value)
            return value
        if kind == "string":
            return item.string()
        if kind == "flag":
            return True
        if kind == "nest":
            assert attr.nested is not None
            return self._decode_set(self._sets[attr.nested], item.nested())
        if kind == "indexed-array":
            entries = item.nested()
            if attr.nested is not None:
                nested = self._sets[attr.nested]
                return [self._decode_set(nested, entry.nested()) for entry in entries]
            sub = Attr(attr.name, 0, attr.sub_type or "binary")
            return [self._decode_attr(sub, entry) for entry in entries]
        if kind == "nest-type-value":
            assert attr.nested is not None
            return self._decode_type_value(self._sets[attr.nested], item.nested(), attr.depth)
        return item.payload

    def _decode_type_value(self, aset: AttrSet, attrs: Attributes, depth: int) -> dict[int, Value]:
        if depth > 1:
            return {e.type: self._decode_type_value(aset, e.nested(), depth - 1) for e in attrs}
        return {e.type: self._decode_set(aset, e.nested()) for e in attrs}

    def decode_message(self, msg: Any) -> dict[str | int, Value]:
        """Decode a received :class:`~libnl_py.message.GenlMessage` by its cmd's attribute set.

        A cmd the definition does not know decodes by attribute number, as bytes.
        """
        command = self._received.get(msg.cmd)
        if command is None:
            return {attr.type: attr.payload for attr in msg.attrs}
        return self._decode_set(self._sets[command.reply_set or command.attribute_set], msg.attrs)
