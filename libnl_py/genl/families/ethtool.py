"""``ethtool``: link settings, features, rings, channels, coalescing, timestamping (part).

Numbers from ``include/uapi/linux/ethtool_netlink_generated.h`` (older
kernels: ``ethtool_netlink.h``), generated from the YNL spec
``Documentation/netlink/specs/ethtool.yaml``; this is a part of that family.

ethtool numbers its messages per direction (YNL's ``directional`` model):
``ETHTOOL_MSG_*_GET`` and ``*_SET`` (user to kernel) and
``ETHTOOL_MSG_*_GET_REPLY`` and ``*_NTF`` (kernel to user) are separate
enums, so the reply to ``linkinfo-get`` (2) is 2 but the reply to
``rings-get`` (15) is 16, and 17 is ``channels-get`` one way and
``rings-ntf`` the other. :data:`SPEC`'s ``commands`` hold the request ids,
its ``replies`` and ``notifications`` the kernel-to-user ids with the set that
decodes each; :data:`RECEIVED` maps a received message's command id to its entry.
"""

from __future__ import annotations

from collections.abc import Mapping

from libnl_py.genl.spec import Attr, AttrSet, Command, Enum, FamilySpec

__all__ = ["RECEIVED", "SPEC"]

_ENUMS = (
    Enum(
        "header-flags",
        {1 << 0: "compact-bitsets", 1 << 1: "omit-reply", 1 << 2: "stats"},  # ETHTOOL_FLAG_*
        flags=True,
    ),
    # ETH_SS_* from linux/ethtool.h: the ids of string sets.
    Enum(
        "stringset",
        dict(
            enumerate(
                (
                    "test",
                    "stats",
                    "priv-flags",
                    "ntuple-filters",
                    "features",
                    "rss-hash-funcs",
                    "tunables",
                    "phy-stats",
                    "phy-tunables",
                    "link-modes",
                    "msg-classes",
                    "wol-modes",
                    "sof-timestamping",
                    "ts-tx-types",
                    "ts-rx-filters",
                    "udp-tunnel-types",
                    "stats-std",
                    "stats-eth-phy",
                    "stats-eth-mac",
                    "stats-eth-ctrl",
                    "stats-rmon",
                    "stats-phy",
                    "ts-flags",
                )
            )
        ),
    ),
    Enum("tcp-data-split", {0: "unknown", 1: "disabled", 2: "enabled"}),
)

_HEADER = AttrSet(
    "header",
    (
        Attr("dev-index", 1, "u32"),
        Attr("dev-name", 2, "string"),
        Attr("flags", 3, "u32", enum="header-flags"),
        Attr("phy-index", 4, "u32"),
    ),
)

# Bit sets: either a list of bits (index, name, value) or, with the
# compact-bitsets header flag, "size" with "value"/"mask" bitmaps (u32 words).
_BITSET_BIT = AttrSet(
    "bitset-bit",
    (
        Attr("index", 1, "u32"),
        Attr("name", 2, "string"),
        Attr("value", 3, "flag"),
    ),
)
_BITSET_BITS = AttrSet("bitset-bits", (Attr("bit", 1, "nest", nested="bitset-bit", multi=True),))
_BITSET = AttrSet(
    "bitset",
    (
        Attr("nomask", 1, "flag"),
        Attr("size", 2, "u32"),
        Attr("bits", 3, "nest", nested="bitset-bits"),
        Attr("value", 4, "binary"),
        Attr("mask", 5, "binary"),
    ),
)

_STRING = AttrSet("string", (Attr("index", 1, "u32"), Attr("value", 2, "string")))
_STRINGS = AttrSet("strings", (Attr("string", 1, "nest", nested="string", multi=True),))
_STRINGSET = AttrSet(
    "stringset",
    (
        Attr("id", 1, "u32", enum="stringset"),
        Attr("count", 2, "u32"),
        Attr("strings", 3, "nest", nested="strings", multi=True),
    ),
)
_STRINGSETS = AttrSet("stringsets", (Attr("stringset", 1, "nest", nested="stringset", multi=True),))
_STRSET = AttrSet(
    "strset",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("stringsets", 2, "nest", nested="stringsets"),
        Attr("counts-only", 3, "flag"),
    ),
)

_LINKINFO = AttrSet(
    "linkinfo",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("port", 2, "u8"),
        Attr("phyaddr", 3, "u8"),
        Attr("tp-mdix", 4, "u8"),
        Attr("tp-mdix-ctrl", 5, "u8"),
        Attr("transceiver", 6, "u8"),
    ),
)

_LINKMODES = AttrSet(
    "linkmodes",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("autoneg", 2, "u8"),
        Attr("ours", 3, "nest", nested="bitset"),
        Attr("peer", 4, "nest", nested="bitset"),
        Attr("speed", 5, "u32"),
        Attr("duplex", 6, "u8"),
        Attr("master-slave-cfg", 7, "u8"),
        Attr("master-slave-state", 8, "u8"),
        Attr("lanes", 9, "u32"),
        Attr("rate-matching", 10, "u8"),
    ),
)

_LINKSTATE = AttrSet(
    "linkstate",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("link", 2, "u8"),
        Attr("sqi", 3, "u32"),
        Attr("sqi-max", 4, "u32"),
        Attr("ext-state", 5, "u8"),
        Attr("ext-substate", 6, "u8"),
        Attr("ext-down-cnt", 7, "u32"),
    ),
)

_DEBUG = AttrSet(
    "debug",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("msgmask", 2, "nest", nested="bitset"),
    ),
)

_WOL = AttrSet(
    "wol",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("modes", 2, "nest", nested="bitset"),
        Attr("sopass", 3, "binary"),
    ),
)

_FEATURES = AttrSet(
    "features",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("hw", 2, "nest", nested="bitset", doc="user-changeable features"),
        Attr("wanted", 3, "nest", nested="bitset", doc="user-requested features"),
        Attr("active", 4, "nest", nested="bitset", doc="currently active features"),
        Attr("nochange", 5, "nest", nested="bitset", doc="unchangeable features"),
    ),
)

_PRIVFLAGS = AttrSet(
    "privflags",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("flags", 2, "nest", nested="bitset"),
    ),
)

_RINGS = AttrSet(
    "rings",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("rx-max", 2, "u32"),
        Attr("rx-mini-max", 3, "u32"),
        Attr("rx-jumbo-max", 4, "u32"),
        Attr("tx-max", 5, "u32"),
        Attr("rx", 6, "u32"),
        Attr("rx-mini", 7, "u32"),
        Attr("rx-jumbo", 8, "u32"),
        Attr("tx", 9, "u32"),
        Attr("rx-buf-len", 10, "u32"),
        Attr("tcp-data-split", 11, "u8", enum="tcp-data-split"),
        Attr("cqe-size", 12, "u32"),
        Attr("tx-push", 13, "u8"),
        Attr("rx-push", 14, "u8"),
        Attr("tx-push-buf-len", 15, "u32"),
        Attr("tx-push-buf-len-max", 16, "u32"),
        Attr("hds-thresh", 17, "u32"),
        Attr("hds-thresh-max", 18, "u32"),
    ),
)

_CHANNELS = AttrSet(
    "channels",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("rx-max", 2, "u32"),
        Attr("tx-max", 3, "u32"),
        Attr("other-max", 4, "u32"),
        Attr("combined-max", 5, "u32"),
        Attr("rx-count", 6, "u32"),
        Attr("tx-count", 7, "u32"),
        Attr("other-count", 8, "u32"),
        Attr("combined-count", 9, "u32"),
    ),
)

_IRQ_MODERATION = AttrSet(
    "irq-moderation",
    (
        Attr("usec", 1, "u32"),
        Attr("pkts", 2, "u32"),
        Attr("comps", 3, "u32"),
    ),
)
_PROFILE = AttrSet(
    "profile", (Attr("irq-moderation", 1, "nest", nested="irq-moderation", multi=True),)
)

_COALESCE = AttrSet(
    "coalesce",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("rx-usecs", 2, "u32"),
        Attr("rx-max-frames", 3, "u32"),
        Attr("rx-usecs-irq", 4, "u32"),
        Attr("rx-max-frames-irq", 5, "u32"),
        Attr("tx-usecs", 6, "u32"),
        Attr("tx-max-frames", 7, "u32"),
        Attr("tx-usecs-irq", 8, "u32"),
        Attr("tx-max-frames-irq", 9, "u32"),
        Attr("stats-block-usecs", 10, "u32"),
        Attr("use-adaptive-rx", 11, "u8"),
        Attr("use-adaptive-tx", 12, "u8"),
        Attr("pkt-rate-low", 13, "u32"),
        Attr("rx-usecs-low", 14, "u32"),
        Attr("rx-max-frames-low", 15, "u32"),
        Attr("tx-usecs-low", 16, "u32"),
        Attr("tx-max-frames-low", 17, "u32"),
        Attr("pkt-rate-high", 18, "u32"),
        Attr("rx-usecs-high", 19, "u32"),
        Attr("rx-max-frames-high", 20, "u32"),
        Attr("tx-usecs-high", 21, "u32"),
        Attr("tx-max-frames-high", 22, "u32"),
        Attr("rate-sample-interval", 23, "u32"),
        Attr("use-cqe-mode-tx", 24, "u8"),
        Attr("use-cqe-mode-rx", 25, "u8"),
        Attr("tx-aggr-max-bytes", 26, "u32"),
        Attr("tx-aggr-max-frames", 27, "u32"),
        Attr("tx-aggr-time-usecs", 28, "u32"),
        Attr("rx-profile", 29, "nest", nested="profile"),
        Attr("tx-profile", 30, "nest", nested="profile"),
    ),
)

_PAUSE_STAT = AttrSet(
    "pause-stat",
    (
        Attr("pad", 1, "pad"),
        Attr("tx-frames", 2, "u64"),
        Attr("rx-frames", 3, "u64"),
    ),
)
_PAUSE = AttrSet(
    "pause",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("autoneg", 2, "u8"),
        Attr("rx", 3, "u8"),
        Attr("tx", 4, "u8"),
        Attr("stats", 5, "nest", nested="pause-stat"),
        Attr("stats-src", 6, "u32"),
    ),
)

_EEE = AttrSet(
    "eee",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("modes-ours", 2, "nest", nested="bitset"),
        Attr("modes-peer", 3, "nest", nested="bitset"),
        Attr("active", 4, "u8"),
        Attr("enabled", 5, "u8"),
        Attr("tx-lpi-enabled", 6, "u8"),
        Attr("tx-lpi-timer", 7, "u32"),
    ),
)

_TS_STAT = AttrSet(
    "ts-stat",
    (
        Attr("tx-pkts", 1, "uint"),
        Attr("tx-lost", 2, "uint"),
        Attr("tx-err", 3, "uint"),
        Attr("tx-onestep-pkts-unconfirmed", 4, "uint"),
    ),
)
_TS_HWTSTAMP_PROVIDER = AttrSet(
    "ts-hwtstamp-provider",
    (
        Attr("index", 1, "u32"),
        Attr("qualifier", 2, "u32"),
    ),
)
_TSINFO = AttrSet(
    "tsinfo",
    (
        Attr("header", 1, "nest", nested="header"),
        Attr("timestamping", 2, "nest", nested="bitset"),
        Attr("tx-types", 3, "nest", nested="bitset"),
        Attr("rx-filters", 4, "nest", nested="bitset"),
        Attr("phc-index", 5, "u32"),
        Attr("stats", 6, "nest", nested="ts-stat"),
        Attr("hwtstamp-provider", 7, "nest", nested="ts-hwtstamp-provider"),
    ),
)

# (name, attribute set, ETHTOOL_MSG_* request id or None, reply id or None, ntf id or None)
_OPS: tuple[tuple[str, str, int | None, int | None, int | None], ...] = (
    ("strset-get", "strset", 1, 1, None),
    ("linkinfo-get", "linkinfo", 2, 2, None),
    ("linkinfo-set", "linkinfo", 3, None, 3),
    ("linkmodes-get", "linkmodes", 4, 4, None),
    ("linkmodes-set", "linkmodes", 5, None, 5),
    ("linkstate-get", "linkstate", 6, 6, None),
    ("debug-get", "debug", 7, 7, None),
    ("debug-set", "debug", 8, None, 8),
    ("wol-get", "wol", 9, 9, None),
    ("wol-set", "wol", 10, None, 10),
    ("features-get", "features", 11, 11, None),
    ("features-set", "features", 12, 12, 13),
    ("privflags-get", "privflags", 13, 14, None),
    ("privflags-set", "privflags", 14, None, 15),
    ("rings-get", "rings", 15, 16, None),
    ("rings-set", "rings", 16, None, 17),
    ("channels-get", "channels", 17, 18, None),
    ("channels-set", "channels", 18, None, 19),
    ("coalesce-get", "coalesce", 19, 20, None),
    ("coalesce-set", "coalesce", 20, None, 21),
    ("pause-get", "pause", 21, 22, None),
    ("pause-set", "pause", 22, None, 23),
    ("eee-get", "eee", 23, 24, None),
    ("eee-set", "eee", 24, None, 25),
    ("tsinfo-get", "tsinfo", 25, 26, None),
)


def _base(op: str) -> str:
    return op.rsplit("-", 1)[0]


_COMMANDS = tuple(Command(name, req, aset) for name, aset, req, _r, _n in _OPS if req is not None)
# Kernel-to-user messages, named like their ETHTOOL_MSG_* constants
# (linkinfo-get-reply, features-set-reply, linkinfo-ntf).
_REPLIES = tuple(
    Command(f"{name}-reply", reply, aset, doc=f"The reply to {name}.")
    for name, aset, _q, reply, _n in _OPS
    if reply is not None
)
_NOTIFICATIONS = tuple(
    Command(f"{_base(name)}-ntf", ntf, aset, doc=f"{_base(name)} settings changed (group monitor).")
    for name, aset, _q, _r, ntf in _OPS
    if ntf is not None
)
_RECEIVED = _REPLIES + _NOTIFICATIONS

RECEIVED: Mapping[int, Command] = {cmd.id: cmd for cmd in _RECEIVED}
"""Kernel-to-user message id -> the entry (and attribute set) that decodes it."""

SPEC = FamilySpec(
    name="ethtool",
    doc="ethtool over generic netlink (part): request ids in commands, received ids apart.",
    commands=_COMMANDS,
    notifications=_NOTIFICATIONS,
    replies=_REPLIES,
    attribute_sets=(
        _HEADER,
        _BITSET_BIT,
        _BITSET_BITS,
        _BITSET,
        _STRING,
        _STRINGS,
        _STRINGSET,
        _STRINGSETS,
        _STRSET,
        _LINKINFO,
        _LINKMODES,
        _LINKSTATE,
        _DEBUG,
        _WOL,
        _FEATURES,
        _PRIVFLAGS,
        _RINGS,
        _CHANNELS,
        _IRQ_MODERATION,
        _PROFILE,
        _COALESCE,
        _PAUSE_STAT,
        _PAUSE,
        _EEE,
        _TS_STAT,
        _TS_HWTSTAMP_PROVIDER,
        _TSINFO,
    ),
    enums=_ENUMS,
    groups=("monitor",),
)
