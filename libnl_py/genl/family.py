"""What the nlctrl controller says about a family: ``Family``, ``Operation``, ``MulticastGroup``.

They are named tuples: cheap to build by the hundred (a family dump) and
immutable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import accumulate, chain, repeat
from typing import NamedTuple

from libnl_py._ffi import lib
from libnl_py.attrs import Attributes
from libnl_py.bindings import genl as _g
from libnl_py.errors import NotFoundError
from libnl_py.genl import families as _families
from libnl_py.message import GenlMessage, split_datagram

__all__ = [
    "Family",
    "MulticastGroup",
    "Operation",
    "families_from_bytes",
    "family_from_attrs",
    "family_from_bytes",
    "family_from_message",
]

_CAP_DO = lib.GENL_CMD_CAP_DO
_CAP_DUMP = lib.GENL_CMD_CAP_DUMP
_ADMIN = lib.GENL_ADMIN_PERM | lib.GENL_UNS_ADMIN_PERM


class Operation(NamedTuple):
    """A command the family accepts: its id, ``GENL_*`` capability flags, and name if known."""

    id: int
    flags: int
    name: str | None = None

    @property
    def can_do(self) -> bool:
        return bool(self.flags & _CAP_DO)

    @property
    def can_dump(self) -> bool:
        return bool(self.flags & _CAP_DUMP)

    @property
    def admin_only(self) -> bool:
        return bool(self.flags & _ADMIN)


class MulticastGroup(NamedTuple):
    """A multicast group of a family."""

    name: str
    id: int


class Family(NamedTuple):
    """A generic netlink family as the kernel registered it (``CTRL_CMD_GETFAMILY``)."""

    id: int
    name: str
    version: int
    hdrsize: int
    maxattr: int
    operations: tuple[Operation, ...] = ()
    groups: tuple[MulticastGroup, ...] = ()

    def group(self, name: str) -> MulticastGroup:
        """The multicast group called ``name``; :class:`NotFoundError` if there is none."""
        for grp in self.groups:
            if grp.name == name:
                return grp
        raise NotFoundError(
            function="resolve_group",
            message=f"family {self.name!r} has no multicast group {name!r}"
            f" (it has: {', '.join(g.name for g in self.groups) or 'none'})",
        )

    def operation(self, op_id: int) -> Operation | None:
        for op in self.operations:
            if op.id == op_id:
                return op
        return None


_NO_NAMES: Mapping[int, str] = {}
_tuple_new = tuple.__new__  # builds the named tuples without their Python-level __new__


def family_from_message(msg: GenlMessage, op_names: Mapping[int, str] | None = None) -> Family:
    """Build a :class:`Family` from a ``CTRL_CMD_NEWFAMILY`` message.

    Operations are named by ``op_names`` or, by default, by the family's
    shipped or registered definition.
    """
    return family_from_bytes(msg.data, op_names)


def family_from_bytes(data: bytes, op_names: Mapping[int, str] | None = None) -> Family:
    """:func:`family_from_message` for a whole message as bytes, headers included.

    The attributes are walked in C (``lnp_parse_family``) and the tuples built
    by C-level iteration; a message that does not parse there is decoded again
    in Python, which names the fault.
    """
    words = _g.parse_family(data)
    if words is None or not words[5]:
        return family_from_attrs(_attrs_of(data), op_names)
    family_id, version, hdrsize, maxattr, name_off, name_len, n_ops, _n_groups = words[:8]
    end_ops = 8 + 2 * n_ops
    name = data[name_off : name_off + name_len].decode("utf-8", "surrogateescape")
    if op_names is None:
        spec = _families.get(name)
        op_names = spec.command_names if spec is not None else _NO_NAMES
    new = _tuple_new
    op_ids = words[8:end_ops:2]
    operations = tuple(
        map(new, repeat(Operation), zip(op_ids, words[9:end_ops:2], map(op_names.get, op_ids)))
    )
    groups = words[end_ops:]
    group_names = [
        data[off : off + size].decode("utf-8", "surrogateescape")
        for off, size in zip(groups[1::3], groups[2::3])
    ]
    return new(
        Family,
        (
            family_id,
            name,
            version,
            hdrsize,
            maxattr,
            operations,
            tuple(map(new, repeat(MulticastGroup), zip(group_names, groups[0::3]))),
        ),
    )


def families_from_bytes(messages: list[bytes]) -> list[Family]:
    """:func:`family_from_bytes` for many messages (a family dump), decoded together.

    One C call walks every message; the tuples are then built by C-level
    iteration over all of them, so the work per family in Python is a few slices.
    """
    n = len(messages)
    offsets = [0, *accumulate(map(len, messages))]
    data = b"".join(messages)
    words = _g.parse_families(data, offsets)
    if words is None or not all(words[5 : 8 * n : 8]):
        return [family_from_bytes(m) for m in messages]  # names the fault
    new = _tuple_new
    heads = 8 * n
    op_counts = words[6:heads:8]
    ops_end = heads + 2 * sum(op_counts)
    names = [
        data[off : off + size].decode("utf-8", "surrogateescape")
        for off, size in zip(words[4:heads:8], words[5:heads:8])
    ]
    op_ids = words[heads:ops_end:2]
    # Operation names from each family's definition, if it has one, in op order.
    op_names: list[Iterable[str | None]] = []
    at = 0
    for name, count in zip(names, op_counts):
        spec = _families.get(name)
        if spec is None:
            op_names.append(repeat(None, count))
        else:
            op_names.append(map(spec.command_names.get, op_ids[at : at + count]))
        at += count
    ops = list(
        map(
            new,
            repeat(Operation),
            zip(op_ids, words[heads + 1 : ops_end : 2], chain.from_iterable(op_names)),
        )
    )
    groups = words[ops_end:]
    all_groups = list(
        map(
            new,
            repeat(MulticastGroup),
            zip(
                [
                    data[off : off + size].decode("utf-8", "surrogateescape")
                    for off, size in zip(groups[1::3], groups[2::3])
                ],
                groups[0::3],
            ),
        )
    )
    op_bounds = list(accumulate(op_counts, initial=0))
    group_bounds = list(accumulate(words[7:heads:8], initial=0))
    return list(
        map(
            new,
            repeat(Family),
            zip(
                words[0:heads:8],
                names,
                words[1:heads:8],
                words[2:heads:8],
                words[3:heads:8],
                map(tuple, map(ops.__getitem__, map(slice, op_bounds, op_bounds[1:]))),
                map(
                    tuple,
                    map(all_groups.__getitem__, map(slice, group_bounds, group_bounds[1:])),
                ),
            ),
        )
    )


def _attrs_of(data: bytes) -> Attributes:
    msg_type, flags, seq, port, start, end = split_datagram(data)[0]
    return GenlMessage(data, start, end, msg_type, flags, seq, port).attrs


def family_from_attrs(attrs: Attributes, op_names: Mapping[int, str] | None = None) -> Family:
    """Build a :class:`Family` from a ``CTRL_CMD_NEWFAMILY`` message's attributes."""
    ops = []
    if lib.CTRL_ATTR_OPS in attrs:
        for entry in attrs.nested(lib.CTRL_ATTR_OPS):
            op = entry.nested()
            op_id = op.u32(lib.CTRL_ATTR_OP_ID)
            flags = op.u32(lib.CTRL_ATTR_OP_FLAGS) if lib.CTRL_ATTR_OP_FLAGS in op else 0
            ops.append(Operation(op_id, flags, (op_names or {}).get(op_id)))
    groups = []
    if lib.CTRL_ATTR_MCAST_GROUPS in attrs:
        for entry in attrs.nested(lib.CTRL_ATTR_MCAST_GROUPS):
            grp = entry.nested()
            groups.append(
                MulticastGroup(
                    grp.string(lib.CTRL_ATTR_MCAST_GRP_NAME), grp.u32(lib.CTRL_ATTR_MCAST_GRP_ID)
                )
            )
    return Family(
        id=attrs.u16(lib.CTRL_ATTR_FAMILY_ID),
        name=attrs.string(lib.CTRL_ATTR_FAMILY_NAME),
        version=attrs.u32(lib.CTRL_ATTR_VERSION) if lib.CTRL_ATTR_VERSION in attrs else 0,
        hdrsize=attrs.u32(lib.CTRL_ATTR_HDRSIZE) if lib.CTRL_ATTR_HDRSIZE in attrs else 0,
        maxattr=attrs.u32(lib.CTRL_ATTR_MAXATTR) if lib.CTRL_ATTR_MAXATTR in attrs else 0,
        operations=tuple(ops),
        groups=tuple(groups),
    )
