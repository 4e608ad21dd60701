"""The kernel's own attribute policies, from nlctrl's ``CTRL_CMD_GETPOLICY`` dump.

They say, per command, which attributes a family accepts and their types and
limits: enough to encode and decode attributes of a family that has no
definition here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from libnl_py._ffi import lib
from libnl_py.attrs import Attributes
from libnl_py.message import GenlMessage
from libnl_py.spec.model import AttrSet, AttrSpec, FamilySpec, Operation

__all__ = [
    "ATTR_TYPE_NAMES",
    "AttrPolicy",
    "FamilyPolicy",
    "parse_policy_dump",
    "policy_set_name",
    "policy_sets",
    "spec_from_policy",
    "spec_type",
]

# enum netlink_attribute_type (<linux/netlink.h>); SINT and UINT since Linux 6.8.
ATTR_TYPE_NAMES = {
    0: "invalid",
    1: "flag",
    2: "u8",
    3: "u16",
    4: "u32",
    5: "u64",
    6: "s8",
    7: "s16",
    8: "s32",
    9: "s64",
    10: "binary",
    11: "string",
    12: "nul-string",
    13: "nested",
    14: "nested-array",
    15: "bitfield32",
    16: "sint",
    17: "uint",
}
"""The kernel's attribute types in a policy dump (``NL_ATTR_TYPE_*``), by number."""

# enum netlink_policy_type_attr (<linux/netlink.h>)
_TYPE, _MIN_S, _MAX_S, _MIN_U, _MAX_U, _MIN_LEN, _MAX_LEN, _IDX, _MAXTYPE, _BF32, _PAD, _MASK = (
    range(1, 13)
)


@dataclass(frozen=True)
class AttrPolicy:
    """How the kernel validates one attribute."""

    type: int
    kind: str
    min_value: int | None = None
    max_value: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    policy: int | None = None
    """Index of the nested policy, for nested attributes."""
    maxtype: int | None = None
    bitfield32_mask: int | None = None
    mask: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "kind": self.kind}
        for name in (
            "min_value",
            "max_value",
            "min_length",
            "max_length",
            "policy",
            "maxtype",
            "bitfield32_mask",
            "mask",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name.replace("_", "-")] = value
        return out


@dataclass(frozen=True)
class FamilyPolicy:
    """A family's policies: ``policies[index][attr]`` and, per command, which index applies."""

    family_id: int
    policies: dict[int, dict[int, AttrPolicy]] = field(default_factory=dict)
    ops: dict[int, dict[str, int]] = field(default_factory=dict)
    """cmd -> {"do": index, "dump": index} (a key is absent when the op has no such policy)."""

    def for_command(self, cmd: int, dump: bool = False) -> dict[int, AttrPolicy] | None:
        """The top-level attribute policy of ``cmd`` (its do or dump form), if it has one."""
        index = self.ops.get(cmd, {}).get("dump" if dump else "do")
        if index is None and not self.ops and self.policies:
            index = 0  # families with one policy for every op report only index 0
        return None if index is None else self.policies.get(index)


def _policy_of(attr_type: int, attrs: Attributes) -> AttrPolicy:
    def opt(t: int, reader: str) -> int | None:
        a = attrs.get(t)
        return None if a is None else int(getattr(a, reader)())

    kind_id = opt(_TYPE, "u32") or 0
    return AttrPolicy(
        type=attr_type,
        kind=ATTR_TYPE_NAMES.get(kind_id, f"type-{kind_id}"),
        min_value=opt(_MIN_S, "s64") if _MIN_S in attrs else opt(_MIN_U, "u64"),
        max_value=opt(_MAX_S, "s64") if _MAX_S in attrs else opt(_MAX_U, "u64"),
        min_length=opt(_MIN_LEN, "u32"),
        max_length=opt(_MAX_LEN, "u32"),
        policy=opt(_IDX, "u32"),
        maxtype=opt(_MAXTYPE, "u32"),
        bitfield32_mask=opt(_BF32, "u32"),
        mask=opt(_MASK, "u64"),
    )


def parse_policy_dump(messages: Iterable[GenlMessage], family_id: int) -> FamilyPolicy:
    """Collect a ``CTRL_CMD_GETPOLICY`` dump into a :class:`FamilyPolicy`."""
    result = FamilyPolicy(family_id)
    for msg in messages:
        attrs = msg.attrs
        if lib.CTRL_ATTR_POLICY in attrs:
            for index in attrs.nested(lib.CTRL_ATTR_POLICY):
                table = result.policies.setdefault(index.type, {})
                for attr in index.nested():
                    table[attr.type] = _policy_of(attr.type, attr.nested())
        if lib.CTRL_ATTR_OP_POLICY in attrs:
            for op in attrs.nested(lib.CTRL_ATTR_OP_POLICY):
                entry = result.ops.setdefault(op.type, {})
                forms = op.nested()
                for key, t in (
                    ("do", lib.CTRL_ATTR_POLICY_DO),
                    ("dump", lib.CTRL_ATTR_POLICY_DUMP),
                ):
                    if t in forms:
                        entry[key] = forms.u32(t)
    return result


_POLICY_TYPES = {
    "u8": "u8",
    "u16": "u16",
    "u32": "u32",
    "u64": "u64",
    "s8": "s8",
    "s16": "s16",
    "s32": "s32",
    "s64": "s64",
    "uint": "uint",
    "sint": "sint",
    "flag": "flag",
    "binary": "binary",
    "string": "string",
    "nul-string": "string",
    "bitfield32": "bitfield32",
}


def spec_type(pol: AttrPolicy) -> str | None:
    """The YNL type of a policy entry (``nested`` -> ``nest``), or None if it names none."""
    if pol.kind == "nested":
        return "nest" if pol.policy is not None else "binary"
    if pol.kind == "nested-array":
        return "indexed-array" if pol.policy is not None else "binary"
    return _POLICY_TYPES.get(pol.kind)


def policy_set_name(index: int) -> str:
    return f"policy-{index}"


def spec_from_policy(name: str, policy: FamilyPolicy) -> FamilySpec:
    """A spec made from the kernel's policies: every attribute under its number, typed.

    For a family no spec describes: requests are typed as the kernel validates
    them, and messages decode under attribute numbers (the one shape of
    attributes without names). Each policy table is a set ``policy-N``; each
    op's request and reply use its do policy (its dump policy for a dump-only op).
    """
    sets = {}
    for index, table in policy.policies.items():
        attrs = []
        for attr_type, pol in sorted(table.items()):
            kind = spec_type(pol)
            if kind is None:
                continue
            nested = None
            if kind in ("nest", "indexed-array") and pol.policy is not None:
                nested = policy_set_name(pol.policy)
                if pol.policy not in policy.policies:
                    kind, nested = "binary", None
            attrs.append(
                AttrSpec(
                    name=str(attr_type),
                    value=attr_type,
                    type=kind,
                    nested_attributes=nested,
                    sub_type="nest" if kind == "indexed-array" else None,
                )
            )
        set_name = policy_set_name(index)
        sets[set_name] = AttrSet(set_name, tuple(attrs), numbered=True)
    ops = []
    for cmd, forms in sorted(policy.ops.items()):
        op_index = forms.get("do", forms.get("dump"))
        modes = frozenset(k for k in ("do", "dump") if k in forms)
        ops.append(
            Operation(
                name=str(cmd),
                req_value=cmd,
                rsp_value=cmd,
                attribute_set=policy_set_name(op_index) if op_index is not None else None,
                modes=modes or frozenset({"do"}),
            )
        )
    if not policy.ops and 0 in policy.policies:
        # One policy for every op: the family reports only index 0.
        sets.setdefault(policy_set_name(0), AttrSet(policy_set_name(0), (), numbered=True))
    return FamilySpec(
        name=name,
        protocol="genetlink",
        attribute_sets=sets,
        operations=tuple(ops),
        source="policy",
    )


def policy_sets(policy: FamilyPolicy, spec: FamilySpec | None) -> dict[int, AttrSet]:
    """Which attribute set of the spec each policy index describes."""
    if spec is None:
        return {}
    found: dict[int, AttrSet] = {}
    for op_id, forms in policy.ops.items():
        op = spec.operation(op_id)
        if op is None or op.attribute_set is None:
            continue
        for index in forms.values():
            found.setdefault(index, spec.attr_set(op.attribute_set))
    todo = list(found.items())
    while todo:
        index, aset = todo.pop()
        for attr_type, pol in policy.policies.get(index, {}).items():
            attr = aset.by_value.get(attr_type)
            if pol.policy is None or attr is None or not attr.nested_attributes:
                continue
            if pol.policy not in found:
                found[pol.policy] = spec.attr_set(attr.nested_attributes)
                todo.append((pol.policy, found[pol.policy]))
    return found
