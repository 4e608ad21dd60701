"""A family's description in the words of the kernel's YNL specs.

One model for every source: the kernel's YAML specs
(``Documentation/netlink/specs``), the built-in definitions shipped here
(the same structure, as JSON) and definitions made in code
(:meth:`FamilySpec.from_dict`). Names follow YNL: ``definitions`` (``const``,
``enum``, ``flags``, ``struct``), ``attribute-sets`` (with ``subset-of``),
attributes (``type``, ``value``, ``byte-order``, ``nested-attributes``,
``sub-type``, ``multi-attr``, ``enum``, ``enum-as-flags``, ``struct``,
``sub-message`` and ``selector``, ``display-hint``, ``len``, ``checks``),
``sub-messages``, ``operations`` (``do``/``dump``/``notify``/``event``,
``fixed-header``, the ``unified`` and ``directional`` id models) and
``mcast-groups``. Numbering is YNL's: attributes count up from 1 unless a
``value`` is given, enum entries from ``value-start``, operations from 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ATTR_TYPES",
    "DISPLAY_HINTS",
    "GENL_PROTOCOLS",
    "INT_TYPES",
    "OP_FLAGS",
    "AttrSet",
    "AttrSpec",
    "EnumSet",
    "FamilySpec",
    "Operation",
    "SpecError",
    "Struct",
    "StructMember",
    "SubMessage",
]

INT_TYPES = frozenset(("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "uint", "sint"))
"""Integer attribute types (``uint``/``sint`` are 4 or 8 bytes on the wire)."""

ATTR_TYPES = INT_TYPES | {
    "unused",
    "pad",
    "flag",
    "binary",
    "string",
    "bitfield32",
    "nest",
    "indexed-array",
    "nest-type-value",
    "sub-message",
}
"""Every attribute type the model knows: the one table of kinds."""

DISPLAY_HINTS = frozenset(("hex", "mac", "fddi", "ipv4", "ipv6", "ipv4-or-v6", "uuid"))
"""YNL's ``display-hint`` values: how a binary or integer attribute is shown as text."""

GENL_PROTOCOLS = frozenset(("genetlink", "genetlink-c", "genetlink-legacy"))
"""Protocols the generic netlink client uses; ``netlink-raw`` specs load but are not used yet."""

OP_FLAGS = {"admin-perm": 0x01, "uns-admin-perm": 0x10}
"""YNL's operation flags and their ``GENL_*`` bits: the one spelling of op flags."""

_MEMBER_TYPES = INT_TYPES - {"uint", "sint"} | {"string", "binary", "pad"}
_INT_SIZES = {"u8": 1, "u16": 2, "u32": 4, "u64": 8, "s8": 1, "s16": 2, "s32": 4, "s64": 8}


class SpecError(ValueError):
    """A spec that does not describe a family: says which file and which key."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


def _list(raw: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError(where, f"{key!r} must be a list, not {type(value).__name__}")
    return value


def _name(raw: Any, where: str) -> str:
    if not isinstance(raw, Mapping):
        raise SpecError(where, f"expected a mapping, not {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise SpecError(where, "has no 'name'")
    return name


def _int(raw: Mapping[str, Any], key: str, where: str, default: int | None = None) -> int | None:
    value = raw.get(key, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise SpecError(where, f"{key!r} must be an integer, not {value!r}")
    return value


# -- definitions ------------------------------------------------------------------------


@dataclass(frozen=True)
class EnumSet:
    """An ``enum`` (values) or ``flags`` (bit numbers, ``1 << value`` on the wire) definition."""

    name: str
    type: str
    entries: Mapping[str, int]
    """Entry name -> its value as YNL numbers it (for flags: the bit number)."""
    by_value: Mapping[int, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_value", {v: k for k, v in self.entries.items()})

    @property
    def is_flags(self) -> bool:
        return self.type == "flags"


@dataclass(frozen=True)
class StructMember:
    name: str
    type: str
    size: int
    byte_order: str | None = None
    enum: str | None = None
    display_hint: str | None = None
    struct: str | None = None


@dataclass(frozen=True)
class Struct:
    """A C struct: members packed in order (padding is explicit, as YNL's ``pad`` members)."""

    name: str
    members: tuple[StructMember, ...]

    @property
    def size(self) -> int:
        return sum(m.size for m in self.members)


# -- attributes -------------------------------------------------------------------------


@dataclass(frozen=True)
class AttrSpec:
    """One attribute of a set, as YNL describes it."""

    name: str
    value: int
    type: str
    byte_order: str | None = None
    nested_attributes: str | None = None
    sub_type: str | None = None
    multi_attr: bool = False
    enum: str | None = None
    enum_as_flags: bool = False
    struct: str | None = None
    sub_message: str | None = None
    selector: str | None = None
    display_hint: str | None = None
    len: int | None = None
    checks: Mapping[str, Any] = field(default_factory=dict)
    type_value: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttrSet:
    """An attribute space: the attributes that can appear together at one level."""

    name: str
    attributes: tuple[AttrSpec, ...]
    subset_of: str | None = None
    numbered: bool = False
    """Decoded under attribute numbers, not names: a set made from a kernel policy."""
    by_name: Mapping[str, AttrSpec] = field(init=False, repr=False, compare=False)
    by_value: Mapping[int, AttrSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {a.name: a for a in self.attributes})
        object.__setattr__(self, "by_value", {a.value: a for a in self.attributes})


@dataclass(frozen=True)
class SubMessage:
    """Formats of a polymorphic attribute, by the value of its selector attribute."""

    name: str
    formats: Mapping[str, tuple[str | None, str | None]]
    """Selector value -> (attribute set, fixed header struct)."""


# -- operations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """An operation: what user space sends (``req_value``) and what the kernel sends back.

    ``req_value``/``rsp_value`` are None where that direction has no message
    (a notification has no request). ``modes`` holds ``do``, ``dump``,
    ``notify`` and ``event`` as the spec gives them.
    """

    name: str
    req_value: int | None
    rsp_value: int | None
    attribute_set: str | None
    modes: frozenset[str]
    flags: int = 0
    fixed_header: str | None = None
    mcgrp: str | None = None
    request_attrs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Mode (``do``/``dump``) -> attribute names of its request."""
    reply_attrs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Mode (``do``/``dump``/``event``) -> attribute names of what the kernel sends."""

    @property
    def is_call(self) -> bool:
        return bool(self.modes & {"do", "dump"})

    @property
    def is_async(self) -> bool:
        return bool(self.modes & {"notify", "event"})


# -- the family -------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilySpec:
    """A whole family: definitions, attribute sets, sub-messages, operations, groups."""

    name: str
    protocol: str
    attribute_sets: Mapping[str, AttrSet]
    operations: tuple[Operation, ...]
    definitions: Mapping[str, Any] = field(default_factory=dict)
    """Name -> :class:`EnumSet`, :class:`Struct` or a ``const`` value."""
    sub_messages: Mapping[str, SubMessage] = field(default_factory=dict)
    mcast_groups: tuple[str, ...] = ()
    msg_id_model: str = "unified"
    fixed_header: str | None = None
    doc: str = ""
    source: str = "<code>"
    """Where the spec came from: a file's path, ``built-in``, or ``policy``."""
    ops: Mapping[str, Operation] = field(init=False, repr=False, compare=False)
    requests: Mapping[int, Operation] = field(init=False, repr=False, compare=False)
    """Request id -> the call it starts."""
    replies: Mapping[int, Operation] = field(init=False, repr=False, compare=False)
    """Kernel-to-user id -> the call it answers (do/dump)."""
    events: Mapping[int, Operation] = field(init=False, repr=False, compare=False)
    """Kernel-to-user id -> the notification or event it is."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", {op.name: op for op in self.operations})
        requests: dict[int, Operation] = {}
        replies: dict[int, Operation] = {}
        events: dict[int, Operation] = {}
        for op in self.operations:
            if op.is_call and op.req_value is not None:
                requests.setdefault(op.req_value, op)
            if op.rsp_value is not None:
                (events if op.is_async else replies).setdefault(op.rsp_value, op)
        object.__setattr__(self, "requests", requests)
        object.__setattr__(self, "replies", replies)
        object.__setattr__(self, "events", events)

    # -- lookups -----------------------------------------------------------------

    def attr_set(self, name: str) -> AttrSet:
        try:
            return self.attribute_sets[name]
        except KeyError:
            raise KeyError(f"{self.name}: no attribute set {name!r}") from None

    def enum(self, name: str) -> EnumSet:
        found = self.definitions.get(name)
        if not isinstance(found, EnumSet):
            raise KeyError(f"{self.name}: no enum or flags definition {name!r}")
        return found

    def struct(self, name: str) -> Struct:
        found = self.definitions.get(name)
        if not isinstance(found, Struct):
            raise KeyError(f"{self.name}: no struct definition {name!r}")
        return found

    def operation(self, cmd: int | str) -> Operation | None:
        """The call named ``cmd``, or whose request id is ``cmd``."""
        if isinstance(cmd, str):
            op = self.ops.get(cmd)
            return op if op is not None and op.is_call else None
        return self.requests.get(cmd)

    def received(self, cmd: int, reply: bool) -> Operation | None:
        """What a message the kernel sent with ``cmd`` is: a reply (to a request) or not.

        Families number events apart from calls (mptcp_pm's ``closed`` event
        and ``get-addr`` replies are both 3), so the kind of message decides
        which table is asked first.
        """
        first, second = (self.replies, self.events) if reply else (self.events, self.replies)
        found = first.get(cmd)
        if found is None:
            found = second.get(cmd)
        if found is None and self.msg_id_model == "unified":
            found = self.requests.get(cmd)  # families that answer with the request's id
        return found

    def command_names(self) -> dict[int, str]:
        """Request id -> operation name, for naming the ops nlctrl lists."""
        return {value: op.name for value, op in self.requests.items()}

    # -- building ------------------------------------------------------------------

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "<code>") -> FamilySpec:
        """Build a spec from a YNL document (as YAML or JSON loads it).

        Raises :class:`SpecError` naming ``source`` and the key at fault.
        """
        return _Builder(raw, source).build()


class _Builder:
    def __init__(self, raw: Mapping[str, Any], source: str) -> None:
        if not isinstance(raw, Mapping):
            raise SpecError(source, "a spec must be a mapping at the top")
        self.raw = raw
        self.source = source

    def where(self, *path: object) -> str:
        return self.source + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in path)

    def build(self) -> FamilySpec:
        raw = self.raw
        name = _name(raw, self.source)
        protocol = raw.get("protocol", "genetlink")
        if protocol not in GENL_PROTOCOLS | {"netlink-raw"}:
            raise SpecError(self.where("protocol"), f"unknown protocol {protocol!r}")
        definitions = self.definitions()
        sets = self.attribute_sets(definitions)
        sub_messages = self.sub_messages(sets, definitions)
        ops_raw = raw.get("operations") or {}
        if not isinstance(ops_raw, Mapping):
            raise SpecError(self.where("operations"), "must be a mapping with a 'list'")
        model = ops_raw.get("enum-model", "unified")
        if model not in ("unified", "directional"):
            raise SpecError(self.where("operations", "enum-model"), f"unknown model {model!r}")
        fixed = ops_raw.get("fixed-header")
        if fixed is not None and not isinstance(definitions.get(fixed), Struct):
            raise SpecError(self.where("operations", "fixed-header"), f"no struct {fixed!r}")
        operations = self.operations(ops_raw, model, sets, definitions, fixed)
        groups_raw = raw.get("mcast-groups") or {}
        groups = tuple(
            _name(g, self.where("mcast-groups", "list", i))
            for i, g in enumerate(_list(groups_raw, "list", self.where("mcast-groups")))
        )
        doc = raw.get("doc") or ""
        return FamilySpec(
            name=name,
            protocol=protocol,
            attribute_sets=sets,
            operations=operations,
            definitions=definitions,
            sub_messages=sub_messages,
            mcast_groups=groups,
            msg_id_model=model,
            fixed_header=fixed,
            doc=doc.strip() if isinstance(doc, str) else "",
            source=self.source,
        )

    # -- definitions -----------------------------------------------------------------

    def definitions(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, elem in enumerate(_list(self.raw, "definitions", self.source)):
            where = self.where("definitions", i)
            name = _name(elem, where)
            kind = elem.get("type")
            if kind in ("enum", "flags"):
                out[name] = self.enum_set(elem, name, kind, where)
            elif kind == "struct":
                out[name] = Struct(name, ())  # members resolved below: structs may nest
            elif kind == "const":
                out[name] = elem.get("value")
            else:
                raise SpecError(where, f"unknown definition type {kind!r}")
        raws = {
            elem["name"]: (i, elem)
            for i, elem in enumerate(_list(self.raw, "definitions", self.source))
            if elem.get("type") == "struct"
        }
        done: set[str] = set()

        def resolve(name: str, chain: tuple[str, ...]) -> None:
            # A struct's size needs the structs it holds: resolve those first.
            if name in done:
                return
            if name in chain:
                raise SpecError(self.where("definitions", raws[name][0]), "a struct holds itself")
            i, elem = raws[name]
            for member in elem.get("members") or ():
                inner = member.get("struct") if isinstance(member, Mapping) else None
                if isinstance(inner, str) and inner in raws:
                    resolve(inner, (*chain, name))
            out[name] = Struct(name, self.members(elem, out, self.where("definitions", i)))
            done.add(name)

        for name in raws:
            resolve(name, ())
        return out

    def enum_set(self, elem: Mapping[str, Any], name: str, kind: str, where: str) -> EnumSet:
        start = _int(elem, "value-start", where, 0)
        assert start is not None
        entries: dict[str, int] = {}
        prev: int | None = None
        for j, entry in enumerate(_list(elem, "entries", where)):
            if isinstance(entry, str):
                entry = {"name": entry}
            ename = _name(entry, f"{where}.entries[{j}]")
            value = _int(entry, "value", f"{where}.entries[{j}]")
            if value is None:
                value = start if prev is None else prev + 1
            entries[ename] = prev = value
        return EnumSet(name, kind, entries)

    def members(
        self, elem: Mapping[str, Any], definitions: Mapping[str, Any], where: str
    ) -> tuple[StructMember, ...]:
        out = []
        for j, member in enumerate(_list(elem, "members", where)):
            mwhere = f"{where}.members[{j}]"
            mname = _name(member, mwhere)
            kind = member.get("type")
            nested = member.get("struct")
            if kind not in _MEMBER_TYPES:
                raise SpecError(mwhere, f"unknown member type {kind!r}")
            size = _INT_SIZES.get(kind)
            if size is None:
                if nested is not None:
                    inner = definitions.get(nested)
                    if not isinstance(inner, Struct):
                        raise SpecError(mwhere, f"no struct {nested!r}")
                    size = inner.size
                else:
                    size = _int(member, "len", mwhere)
                    if size is None:
                        raise SpecError(mwhere, f"a {kind} member needs 'len'")
            enum = member.get("enum")
            if enum is not None and not isinstance(definitions.get(enum), EnumSet):
                raise SpecError(mwhere, f"no enum {enum!r}")
            out.append(
                StructMember(
                    mname,
                    kind,
                    size,
                    member.get("byte-order"),
                    enum,
                    self.hint(member, mwhere),
                    nested,
                )
            )
        return tuple(out)

    @staticmethod
    def hint(raw: Mapping[str, Any], where: str) -> str | None:
        hint = raw.get("display-hint")
        if hint is not None and hint not in DISPLAY_HINTS:
            raise SpecError(where, f"unknown display-hint {hint!r}")
        return hint

    # -- attribute sets ---------------------------------------------------------------

    def attribute_sets(self, definitions: Mapping[str, Any]) -> dict[str, AttrSet]:
        raws = _list(self.raw, "attribute-sets", self.source)
        sets: dict[str, AttrSet] = {}
        pending = list(enumerate(raws))
        # Subsets name their parent, which may come later in the file.
        while pending:
            left = []
            for i, elem in pending:
                where = self.where("attribute-sets", i)
                name = _name(elem, where)
                parent = elem.get("subset-of")
                if parent is not None and parent not in sets:
                    left.append((i, elem))
                    continue
                sets[name] = self.attr_set(elem, name, sets.get(parent), definitions, where)
            if len(left) == len(pending):
                i, elem = left[0]
                raise SpecError(
                    self.where("attribute-sets", i), f"subset-of unknown set {elem['subset-of']!r}"
                )
            pending = left
        for set_name, aset in sets.items():
            for attr in aset.attributes:
                for ref in (attr.nested_attributes,):
                    if ref is not None and ref not in sets:
                        raise SpecError(
                            f"{self.source}: attribute-sets {set_name}.{attr.name}",
                            f"nested-attributes names unknown set {ref!r}",
                        )
        return sets

    def attr_set(
        self,
        elem: Mapping[str, Any],
        name: str,
        parent: AttrSet | None,
        definitions: Mapping[str, Any],
        where: str,
    ) -> AttrSet:
        attrs = []
        value = 1
        for j, raw_attr in enumerate(_list(elem, "attributes", where)):
            awhere = f"{where}.attributes[{j}]"
            aname = _name(raw_attr, awhere)
            if parent is not None:
                base = parent.by_name.get(aname)
                if base is None:
                    raise SpecError(awhere, f"{aname!r} is not in {parent.name}")
                merged = {**_raw_of(base), **raw_attr}
                attrs.append(self.attr(merged, aname, base.value, definitions, awhere))
                continue
            given = _int(raw_attr, "value", awhere)
            if given is not None:
                value = given
            attrs.append(self.attr(raw_attr, aname, value, definitions, awhere))
            value += 1
        return AttrSet(name, tuple(attrs), parent.name if parent is not None else None)

    def attr(
        self,
        raw: Mapping[str, Any],
        name: str,
        value: int,
        definitions: Mapping[str, Any],
        where: str,
    ) -> AttrSpec:
        kind = raw.get("type")
        if kind not in ATTR_TYPES:
            raise SpecError(where, f"unknown attribute type {kind!r}")
        sub_type = raw.get("sub-type")
        if sub_type is not None and sub_type not in ATTR_TYPES:
            raise SpecError(where, f"unknown sub-type {sub_type!r}")
        nested = raw.get("nested-attributes")
        if kind in ("nest", "nest-type-value") and nested is None:
            raise SpecError(where, f"a {kind} needs 'nested-attributes'")
        if kind == "indexed-array" and sub_type == "nest" and nested is None:
            raise SpecError(where, "an indexed-array of nests needs 'nested-attributes'")
        enum = raw.get("enum")
        if enum is not None and not isinstance(definitions.get(enum), EnumSet):
            raise SpecError(where, f"no enum or flags definition {enum!r}")
        struct = raw.get("struct")
        if struct is not None and not isinstance(definitions.get(struct), Struct):
            raise SpecError(where, f"no struct definition {struct!r}")
        if kind == "sub-message" and (raw.get("sub-message") is None or not raw.get("selector")):
            raise SpecError(where, "a sub-message needs 'sub-message' and 'selector'")
        order = raw.get("byte-order")
        if order not in (None, "little-endian", "big-endian"):
            raise SpecError(where, f"unknown byte-order {order!r}")
        checks = raw.get("checks") or {}
        if not isinstance(checks, Mapping):
            raise SpecError(where, "'checks' must be a mapping")
        type_value = raw.get("type-value") or ()
        return AttrSpec(
            name=name,
            value=value,
            type=kind,
            byte_order=order,
            nested_attributes=nested,
            sub_type=sub_type,
            multi_attr=bool(raw.get("multi-attr", False)),
            enum=enum,
            enum_as_flags=bool(raw.get("enum-as-flags", False)),
            struct=struct,
            sub_message=raw.get("sub-message"),
            selector=raw.get("selector"),
            display_hint=self.hint(raw, where),
            len=_int(raw, "len", where) if not isinstance(raw.get("len"), str) else None,
            checks=dict(checks),
            type_value=tuple(type_value),
        )

    # -- sub-messages ---------------------------------------------------------------

    def sub_messages(
        self, sets: Mapping[str, AttrSet], definitions: Mapping[str, Any]
    ) -> dict[str, SubMessage]:
        out = {}
        for i, elem in enumerate(_list(self.raw, "sub-messages", self.source)):
            where = self.where("sub-messages", i)
            name = _name(elem, where)
            formats: dict[str, tuple[str | None, str | None]] = {}
            for j, fmt in enumerate(_list(elem, "formats", where)):
                fwhere = f"{where}.formats[{j}]"
                if not isinstance(fmt, Mapping) or "value" not in fmt:
                    raise SpecError(fwhere, "a format needs a 'value'")
                aset, header = fmt.get("attribute-set"), fmt.get("fixed-header")
                if aset is not None and aset not in sets:
                    raise SpecError(fwhere, f"no attribute set {aset!r}")
                if header is not None and not isinstance(definitions.get(header), Struct):
                    raise SpecError(fwhere, f"no struct {header!r}")
                formats[str(fmt["value"])] = (aset, header)
            out[name] = SubMessage(name, formats)
        for aset in sets.values():
            for attr in aset.attributes:
                if attr.sub_message is not None and attr.sub_message not in out:
                    raise SpecError(
                        f"{self.source}: attribute-sets {aset.name}.{attr.name}",
                        f"no sub-message {attr.sub_message!r}",
                    )
        return out

    # -- operations ----------------------------------------------------------------

    def operations(
        self,
        ops_raw: Mapping[str, Any],
        model: str,
        sets: Mapping[str, AttrSet],
        definitions: Mapping[str, Any],
        fixed: str | None,
    ) -> tuple[Operation, ...]:
        raws = _list(ops_raw, "list", self.where("operations"))
        by_name = {}
        for i, elem in enumerate(raws):
            by_name[_name(elem, self.where("operations", "list", i))] = elem
        out = []
        req_val: int | None = 1
        rsp_val: int | None = 1
        for i, elem in enumerate(raws):
            where = self.where("operations", "list", i)
            name = elem["name"]
            req: int | None
            rsp: int | None
            modes = frozenset(elem.keys() & {"do", "dump", "notify", "event"})
            if model == "unified":
                given = _int(elem, "value", where)
                if given is not None:
                    req_val = given
                assert req_val is not None
                req, rsp = req_val, req_val
                req_val += 1
            else:
                req, rsp, req_val, rsp_val = self.directional(elem, where, req_val, rsp_val)
            aset = elem.get("attribute-set")
            notify = elem.get("notify")
            if notify is not None:
                target = by_name.get(notify)
                if target is None:
                    raise SpecError(where, f"notify names unknown operation {notify!r}")
                aset = aset or target.get("attribute-set")
            if aset is not None and aset not in sets:
                raise SpecError(where, f"no attribute set {aset!r}")
            if modes & {"do", "dump", "event"} and aset is None:
                raise SpecError(where, "needs an 'attribute-set'")
            header = elem.get("fixed-header", fixed)
            if header is not None and not isinstance(definitions.get(header), Struct):
                raise SpecError(where, f"no struct {header!r}")
            flags = 0
            for flag in elem.get("flags") or ():
                if flag not in OP_FLAGS:
                    raise SpecError(where, f"unknown op flag {flag!r}")
                flags |= OP_FLAGS[flag]
            requests, replies = self.op_attrs(elem, by_name, where)
            if not modes:
                continue  # a reserved id: YNL counts it, nothing uses it
            if model == "directional" and not modes & {"do", "dump"}:
                req = None
            out.append(
                Operation(
                    name=name,
                    req_value=req if modes & {"do", "dump"} else None,
                    rsp_value=rsp,
                    attribute_set=aset,
                    modes=modes,
                    flags=flags,
                    fixed_header=header,
                    mcgrp=elem.get("mcgrp"),
                    request_attrs=requests,
                    reply_attrs=replies,
                )
            )
        return tuple(out)

    def directional(
        self, elem: Mapping[str, Any], where: str, req_val: int | None, rsp_val: int | None
    ) -> tuple[int | None, int | None, int | None, int | None]:
        """YNL's directional numbering: requests and replies count separately."""
        if "notify" in elem or "event" in elem:
            given = _int(elem, "value", where)
            rsp = given if given is not None else rsp_val
            assert rsp is not None
            return None, rsp, req_val, rsp + 1
        mode = elem.get("do") or elem.get("dump")
        if not isinstance(mode, Mapping):
            raise SpecError(where, "a directional op needs do, dump, notify or event")
        req, rsp = req_val, rsp_val
        request, reply = mode.get("request") or {}, mode.get("reply")
        if request.get("value"):
            req = request["value"]
        if reply is not None and reply.get("value"):
            rsp = reply["value"]
        assert req is not None and rsp is not None
        # As YNL: the form that numbers (do, else dump) says whether there is a reply id.
        return (
            req,
            rsp if reply is not None else None,
            req + 1,
            rsp + (1 if reply is not None else 0),
        )

    def op_attrs(
        self, elem: Mapping[str, Any], by_name: Mapping[str, Any], where: str
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        requests: dict[str, tuple[str, ...]] = {}
        replies: dict[str, tuple[str, ...]] = {}
        for mode in ("do", "dump"):
            body = elem.get(mode)
            if body is None:
                continue
            if not isinstance(body, Mapping):
                raise SpecError(f"{where}.{mode}", "must be a mapping")
            for part, out in (("request", requests), ("reply", replies)):
                msg = body.get(part)
                if isinstance(msg, Mapping):
                    out[mode] = tuple(msg.get("attributes") or ())
        event = elem.get("event")
        if isinstance(event, Mapping):
            replies["event"] = tuple(event.get("attributes") or ())
        notify = elem.get("notify")
        if notify is not None:
            target = by_name[notify]
            body = target.get("do") or target.get("dump") or {}
            reply = body.get("reply") if isinstance(body, Mapping) else None
            if isinstance(reply, Mapping):
                replies["event"] = tuple(reply.get("attributes") or ())
        return requests, replies


def _raw_of(attr: AttrSpec) -> dict[str, Any]:
    """An attribute as YNL keys, for a subset that refines its parent's attribute."""
    raw: dict[str, Any] = {"type": attr.type}
    for key, value in (
        ("byte-order", attr.byte_order),
        ("nested-attributes", attr.nested_attributes),
        ("sub-type", attr.sub_type),
        ("enum", attr.enum),
        ("struct", attr.struct),
        ("sub-message", attr.sub_message),
        ("selector", attr.selector),
        ("display-hint", attr.display_hint),
        ("len", attr.len),
    ):
        if value is not None:
            raw[key] = value
    if attr.multi_attr:
        raw["multi-attr"] = True
    if attr.enum_as_flags:
        raw["enum-as-flags"] = True
    if attr.checks:
        raw["checks"] = dict(attr.checks)
    if attr.type_value:
        raw["type-value"] = list(attr.type_value)
    return raw


def names_of(items: Sequence[Any]) -> str:
    return ", ".join(sorted(str(i) for i in items)) or "none"
