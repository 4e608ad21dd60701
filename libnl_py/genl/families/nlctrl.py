"""``nlctrl``: the generic netlink controller, which describes every family.

Numbers from ``include/uapi/linux/genetlink.h`` and ``netlink.h``
(``NL_POLICY_TYPE_ATTR_*``, ``NL_ATTR_TYPE_*``); names from the YNL spec
``Documentation/netlink/specs/nlctrl.yaml``.
"""

from __future__ import annotations

from libnl_py.genl.policy import ATTR_TYPE_NAMES
from libnl_py.genl.spec import Attr, AttrSet, Command, Enum, FamilySpec

__all__ = ["SPEC"]

_OP_FLAGS = Enum(
    "op-flags",
    {
        0x01: "admin-perm",  # GENL_ADMIN_PERM
        0x02: "cmd-cap-do",  # GENL_CMD_CAP_DO
        0x04: "cmd-cap-dump",  # GENL_CMD_CAP_DUMP
        0x08: "cmd-cap-haspol",  # GENL_CMD_CAP_HASPOL
        0x10: "uns-admin-perm",  # GENL_UNS_ADMIN_PERM
    },
    flags=True,
)

_ATTR_TYPE = Enum("attr-type", ATTR_TYPE_NAMES)  # enum netlink_attribute_type

_CTRL_ATTRS = AttrSet(
    "ctrl-attrs",
    (
        Attr("family-id", 1, "u16"),
        Attr("family-name", 2, "string"),
        Attr("version", 3, "u32"),
        Attr("hdrsize", 4, "u32"),
        Attr("maxattr", 5, "u32"),
        Attr("ops", 6, "indexed-array", nested="op-attrs"),
        Attr("mcast-groups", 7, "indexed-array", nested="mcast-group-attrs"),
        # {policy index: {attribute type: policy-attrs}}
        Attr("policy", 8, "nest-type-value", nested="policy-attrs", depth=2),
        # {command id: {"do": policy index, "dump": policy index}}
        Attr("op-policy", 9, "nest-type-value", nested="op-policy-attrs", depth=1),
        Attr("op", 10, "u32"),
    ),
)

_OP_ATTRS = AttrSet(
    "op-attrs",
    (
        Attr("id", 1, "u32"),
        Attr("flags", 2, "u32", enum="op-flags"),
    ),
)

_MCAST_GROUP_ATTRS = AttrSet(
    "mcast-group-attrs",
    (
        Attr("name", 1, "string"),
        Attr("id", 2, "u32"),
    ),
)

# The YNL spec lists "mask" before "pad"; the UAPI enum has
# NL_POLICY_TYPE_ATTR_PAD = 11 and NL_POLICY_TYPE_ATTR_MASK = 12, which is what
# the kernel sends.
_POLICY_ATTRS = AttrSet(
    "policy-attrs",
    (
        Attr("type", 1, "u32", enum="attr-type"),
        Attr("min-value-s", 2, "s64"),
        Attr("max-value-s", 3, "s64"),
        Attr("min-value-u", 4, "u64"),
        Attr("max-value-u", 5, "u64"),
        Attr("min-length", 6, "u32"),
        Attr("max-length", 7, "u32"),
        Attr("policy-idx", 8, "u32"),
        Attr("policy-maxtype", 9, "u32"),
        Attr("bitfield32-mask", 10, "u32"),
        Attr("pad", 11, "pad"),
        Attr("mask", 12, "u64"),
    ),
)

_OP_POLICY_ATTRS = AttrSet(
    "op-policy-attrs",
    (
        Attr("do", 1, "u32"),
        Attr("dump", 2, "u32"),
    ),
)

SPEC = FamilySpec(
    name="nlctrl",
    doc="The generic netlink controller: families, their operations, groups and policies.",
    commands=(
        Command(
            "getfamily",
            3,  # CTRL_CMD_GETFAMILY; the kernel answers with CTRL_CMD_NEWFAMILY
            "ctrl-attrs",
            doc="Get one family (by family-name or family-id) or dump all.",
        ),
        Command(
            "getpolicy",
            10,  # CTRL_CMD_GETPOLICY; dump only
            "ctrl-attrs",
            doc="Dump a family's attribute policies, optionally for one op.",
        ),
    ),
    notifications=(
        Command(
            "newfamily", 1, "ctrl-attrs", doc="A family was registered; also getfamily's reply."
        ),
        Command("delfamily", 2, "ctrl-attrs", doc="A family was unregistered."),
        Command("newmcast-grp", 7, "ctrl-attrs", doc="A multicast group was added."),
        Command("delmcast-grp", 8, "ctrl-attrs", doc="A multicast group was removed."),
    ),
    attribute_sets=(_CTRL_ATTRS, _OP_ATTRS, _MCAST_GROUP_ATTRS, _POLICY_ATTRS, _OP_POLICY_ATTRS),
    enums=(_OP_FLAGS, _ATTR_TYPE),
    groups=("notify",),
)
