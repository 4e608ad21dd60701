"""What the nlctrl controller says about a family: ``Family``, ``Operation``, ``MulticastGroup``.

They are named tuples, immutable, and built in C (``libnl_py._libnl``'s native decoders) straight
from the controller's messages, a family dump's hundreds of them in one call.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import NamedTuple

from libnl_py._ffi import lib, native
from libnl_py.attrs import Attribute, Attributes
from libnl_py.bindings import genl as _g
from libnl_py.errors import NotFoundError, ParseError
from libnl_py.message import NLMSG_HDRLEN, GenlMessage, MalformedMessageError, split_datagram
from libnl_py.spec import registry as _specs

__all__ = [
    "Family",
    "MulticastGroup",
    "Operation",
    "families_from_bytes",
    "family_from_attrs",
    "family_from_bytes",
    "family_from_message",
]

_U32 = struct.Struct("=I")
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


def family_from_message(msg: GenlMessage, op_names: Mapping[int, str] | None = None) -> Family:
    """Build a :class:`Family` from a ``CTRL_CMD_NEWFAMILY`` message.

    Operations are named by ``op_names`` or, by default, by the family's
    shipped or registered definition.
    """
    return family_from_bytes(msg.data, op_names)


def family_from_bytes(data: bytes, op_names: Mapping[int, str] | None = None) -> Family:
    """:func:`family_from_message` for a whole message as bytes, headers included.

    The message is decoded in C, named tuples included (``native.family``);
    one that does not parse there is decoded again in Python, which names the
    fault.
    """
    family: Family | None = native.family(data, 0, len(data), op_names)
    if family is None:
        return family_from_attrs(_attrs_of(data), op_names)
    return family


def families_from_bytes(messages: list[bytes]) -> list[Family]:
    """:func:`family_from_bytes` for many messages (a family dump)."""
    return [family_from_bytes(m) for m in messages]


def decode_batch(
    view: object, desc: list[int], out: list[Family | bytes]
) -> tuple[list[int], int, int]:
    """Decode the replies of a receive batch (``lnp_recv_batch`` descriptors) into ``out``.

    Every ``REPLY`` message in ``view`` becomes a :class:`Family`, or stays
    bytes if the C decoder cannot read it (:func:`family_from_bytes` then
    names the fault). Returns the other descriptors, the OR of the replies'
    ``nlmsg_flags``, and how many stayed bytes.
    """
    result: tuple[list[int], int, int] = native.families(view, desc, _g.REPLY, out)
    return result


def _attrs_of(data: bytes) -> Attributes:
    if len(data) >= NLMSG_HDRLEN:
        # The first message alone, as the C decoder reads it: what follows is not its business.
        data = data[: _U32.unpack_from(data)[0]]
    messages = split_datagram(data)
    if not messages:
        raise MalformedMessageError(f"{len(data)} bytes hold no netlink message", 0)
    msg_type, flags, seq, port, start, end = messages[0]
    return GenlMessage(data, start, end, msg_type, flags, seq, port).attrs


def _need(attrs: Attributes, attr_type: int, what: str) -> Attribute:
    """The attribute every family reply has; :class:`ParseError` if a peer left it out."""
    found = attrs.get(attr_type)
    if found is None:
        raise ParseError(function="family", message=f"CTRL_CMD_NEWFAMILY reply without {what}")
    return found


def family_from_attrs(attrs: Attributes, op_names: Mapping[int, str] | None = None) -> Family:
    """Build a :class:`Family` from a ``CTRL_CMD_NEWFAMILY`` message's attributes.

    Operations are named as :func:`family_from_message` names them. A reply
    without an attribute every family has raises :class:`ParseError`.
    """
    ops = []
    if lib.CTRL_ATTR_OPS in attrs:
        for entry in attrs.nested(lib.CTRL_ATTR_OPS):
            op = entry.nested()
            op_id = _need(op, lib.CTRL_ATTR_OP_ID, "CTRL_ATTR_OP_ID").u32()
            flags = op.u32(lib.CTRL_ATTR_OP_FLAGS) if lib.CTRL_ATTR_OP_FLAGS in op else 0
            ops.append((op_id, flags))
    groups = []
    if lib.CTRL_ATTR_MCAST_GROUPS in attrs:
        for entry in attrs.nested(lib.CTRL_ATTR_MCAST_GROUPS):
            grp = entry.nested()
            groups.append(
                MulticastGroup(
                    _need(grp, lib.CTRL_ATTR_MCAST_GRP_NAME, "CTRL_ATTR_MCAST_GRP_NAME").string(),
                    _need(grp, lib.CTRL_ATTR_MCAST_GRP_ID, "CTRL_ATTR_MCAST_GRP_ID").u32(),
                )
            )
    family_id = _need(attrs, lib.CTRL_ATTR_FAMILY_ID, "CTRL_ATTR_FAMILY_ID").u16()
    name = _need(attrs, lib.CTRL_ATTR_FAMILY_NAME, "CTRL_ATTR_FAMILY_NAME").string()
    if op_names is None and ops:
        op_names = _specs.command_names(name)
    names = op_names or {}
    return Family(
        id=family_id,
        name=name,
        version=attrs.u32(lib.CTRL_ATTR_VERSION) if lib.CTRL_ATTR_VERSION in attrs else 0,
        hdrsize=attrs.u32(lib.CTRL_ATTR_HDRSIZE) if lib.CTRL_ATTR_HDRSIZE in attrs else 0,
        maxattr=attrs.u32(lib.CTRL_ATTR_MAXATTR) if lib.CTRL_ATTR_MAXATTR in attrs else 0,
        operations=tuple(Operation(op_id, flags, names.get(op_id)) for op_id, flags in ops),
        groups=tuple(groups),
    )


# The C decoder builds these classes, naming operations from the registry.
native.configure_families(
    Family, Operation, MulticastGroup, _specs.command_names_cache, _specs.command_names
)
