"""What the nlctrl controller says about a family: ``Family``, ``Operation``, ``MulticastGroup``."""

from __future__ import annotations

from dataclasses import dataclass

from libnl_py._ffi import lib
from libnl_py.attrs import Attributes
from libnl_py.errors import NotFoundError

__all__ = ["Family", "MulticastGroup", "Operation", "family_from_attrs"]


@dataclass(frozen=True)
class Operation:
    """A command the family accepts: its id and ``GENL_*`` capability flags."""

    id: int
    flags: int
    name: str | None = None

    @property
    def can_do(self) -> bool:
        return bool(self.flags & lib.GENL_CMD_CAP_DO)

    @property
    def can_dump(self) -> bool:
        return bool(self.flags & lib.GENL_CMD_CAP_DUMP)

    @property
    def admin_only(self) -> bool:
        return bool(self.flags & (lib.GENL_ADMIN_PERM | lib.GENL_UNS_ADMIN_PERM))


@dataclass(frozen=True)
class MulticastGroup:
    """A multicast group of a family."""

    name: str
    id: int


@dataclass(frozen=True)
class Family:
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


def family_from_attrs(attrs: Attributes, op_names: dict[int, str] | None = None) -> Family:
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
