"""What the nlctrl controller says about a family: ``Family``, ``Operation``, ``MulticastGroup``.

They are named tuples, immutable. :func:`family_from_attrs` is the decoder of reference,
in Python. Where the codec's C accelerator is built (:mod:`libnl_py._codec`; not on
PyPy), the controller's messages are decoded by the codec instead, with nlctrl's
built-in spec and record tables that make these named tuples straight from the
messages, a family dump's hundreds of them in one call: the same values, and where C
cannot make one exactly, the Python decoder decides (and names the fault).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple

from libnl_py._ffi import lib
from libnl_py.attrs import Attribute, Attributes
from libnl_py.bindings import genl as _g
from libnl_py.errors import NotFoundError, ParseError
from libnl_py.message import NLMSG_HDRLEN, GenlMessage, MalformedMessageError, split_datagram
from libnl_py.spec import registry as _specs
from libnl_py.spec.codec import Record, RecordField
from libnl_py.spec.loader import BUILTIN_DIR, load

try:
    from libnl_py._codec import decode_replies as _decode_replies
except ImportError:  # PyPy: family_from_attrs decodes every reply
    _decode_replies = None  # type: ignore[assignment]

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

    The message is decoded by the codec's accelerator, named tuples included;
    one it cannot make exactly (malformed, names not looked up yet, ``op_names``
    not a dict) is decoded by :func:`family_from_attrs`, which names the fault.
    """
    if op_names is None or type(op_names) is dict:
        family: Family | None = _record(data, op_names)
        if family is not None:
            return family
    return family_from_attrs(_attrs_of(data), op_names)


def families_from_bytes(messages: list[bytes]) -> list[Family]:
    """:func:`family_from_bytes` for many messages (a family dump)."""
    return [family_from_bytes(m) for m in messages]


def decode_batch(
    view: Any, desc: _g.Descriptors, out: list[Family | bytes]
) -> tuple[list[int], int, int]:
    """Decode the replies of a receive batch (``lnp_recv_batch`` descriptors) into ``out``.

    Every ``REPLY`` message in ``view`` becomes a :class:`Family` (in one call
    of ``libnl_py._codec.decode_replies``), or stays bytes where that cannot
    make it exactly, for :func:`family_from_bytes` to decode (and to name the
    fault); without the accelerator every one stays bytes. Returns the other
    descriptors, the OR of the replies' ``nlmsg_flags``, and how many stayed
    bytes. A reply's span outside ``view`` raises ValueError.
    """
    found: tuple[list[int], int, int] = _decode(view, desc, _REPLY, _TABLES, 0, out, None)
    return found


def _as_bytes(
    view: Any, desc: _g.Descriptors, out: list[Family | bytes]
) -> tuple[list[int], int, int]:
    """:func:`decode_batch` leaving every reply as its bytes."""
    words = _DESC_WORDS
    if len(desc) % words:
        raise ValueError("desc must be whole descriptors")
    rest: list[int] = []
    flags = count = 0
    size = len(view)
    for i in range(0, len(desc), words):
        if desc[i] != _REPLY:
            rest += desc[i : i + words]
            continue
        start, end = desc[i + 5], desc[i + 6]
        if not 0 <= start <= end <= size:
            raise ValueError("descriptor span outside the buffer")
        out.append(bytes(view[start:end]))
        flags |= desc[i + 2]
        count += 1
    return rest, flags, count


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


# The accelerator makes these tuples of the attribute sets of nlctrl's built-in spec (not a
# registered one: family_from_attrs reads libnl's numbers), naming the operations as
# family_from_attrs does: from the registry's command names (its cache), by family name.
_OPERATION = Record(
    Operation, (RecordField("id"), RecordField("flags", 0), RecordField("id", None, names=True))
)
_GROUP = Record(MulticastGroup, (RecordField("name"), RecordField("id")))
_FAMILY = Record(
    Family,
    (
        RecordField("family-id"),
        RecordField("family-name"),
        RecordField("version", 0),
        RecordField("hdrsize", 0),
        RecordField("maxattr", 0),
        RecordField("ops", (), _OPERATION),
        RecordField("mcast-groups", (), _GROUP),
    ),
    names=("family-name", _specs.command_names_cache),
)


def _accelerated() -> tuple[Callable[..., Any], Callable[..., Any], tuple[int, int]] | None:
    """(record(data, names), decode_replies bound to the decoder, their tables); None without C."""
    codec = _specs.codec_for(load(BUILTIN_DIR / "nlctrl.json", "built-in"))
    index = codec.record_table("ctrl-attrs", _FAMILY)
    if index is None or _decode_replies is None:
        return None
    return (
        functools.partial(codec.decoder.record, index),
        functools.partial(_decode_replies, codec.decoder),
        (index, -1),
    )


def _no_record(data: bytes, op_names: Any) -> Family | None:
    return None


def _no_decode(
    view: Any,
    desc: _g.Descriptors,
    kind: int,
    tables: Any,
    hdrsize: int,
    out: list[Family | bytes],
    pending: None,
) -> tuple[list[int], int, int]:
    """decode_replies (pending None) without the accelerator: every reply left as bytes."""
    return _as_bytes(view, desc, out)


_REPLY = _g.REPLY
_DESC_WORDS = _g.DESC_WORDS
# Made at import (reading nlctrl's built-in spec and compiling the tables: about 1 ms, once
# a process) and bound here, so that the hot paths look nothing up.
_ACCELERATED = _accelerated()
_record: Callable[[bytes, Any], Family | None]
_decode: Callable[..., tuple[list[int], int, int]]
if _ACCELERATED is not None:
    _record, _decode, _TABLES = _ACCELERATED
else:
    _record, _decode, _TABLES = _no_record, _no_decode, (-1, -1)
