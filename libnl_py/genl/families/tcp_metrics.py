"""``tcp_metrics``: the TCP metrics cache (per-destination RTT, cwnd, fastopen data).

Numbers from ``include/uapi/linux/tcp_metrics.h``; names from the YNL spec
``Documentation/netlink/specs/tcp_metrics.yaml``.
"""

from __future__ import annotations

from libnl_py.genl.spec import Attr, AttrSet, Command, FamilySpec

__all__ = ["SPEC"]

_TCP_METRICS = AttrSet(
    "tcp-metrics",
    (
        # Addresses are in network byte order: be32 decodes an IPv4 address to
        # the int ipaddress.IPv4Address() takes; IPv6 ones are 16 raw bytes.
        Attr("addr-ipv4", 1, "be32"),
        Attr("addr-ipv6", 2, "binary"),
        Attr("age", 3, "u64", doc="msecs since the entry was last updated"),
        Attr("tw-tsval", 4, "u32", doc="unused"),
        Attr("tw-ts-stamp", 5, "s32", doc="unused"),
        Attr("vals", 6, "nest", nested="metrics"),
        Attr("fopen-mss", 7, "u16"),
        Attr("fopen-syn-drops", 8, "u16"),
        Attr("fopen-syn-drop-ts", 9, "u64", doc="msecs since the last SYN drop"),
        Attr("fopen-cookie", 10, "binary"),
        Attr("saddr-ipv4", 11, "be32"),
        Attr("saddr-ipv6", 12, "binary"),
        Attr("pad", 13, "pad"),
    ),
)

# Attribute numbers are TCP_METRIC_* + 1 (the kernel's enum starts at 0).
# "reodering" is the YNL spec's spelling, kept so names match YNL's.
_METRICS = AttrSet(
    "metrics",
    (
        Attr("rtt", 1, "u32", doc="msecs, 3 fractional bits"),
        Attr("rttvar", 2, "u32", doc="msecs, 2 fractional bits"),
        Attr("ssthresh", 3, "u32"),
        Attr("cwnd", 4, "u32"),
        Attr("reodering", 5, "u32"),
        Attr("rtt-us", 6, "u32", doc="usecs, 3 fractional bits"),
        Attr("rttvar-us", 7, "u32", doc="usecs, 2 fractional bits"),
    ),
)

SPEC = FamilySpec(
    name="tcp_metrics",
    doc="Management interface for TCP metrics.",
    commands=(
        Command("get", 1, "tcp-metrics", doc="Get the metrics of one address pair or dump all."),
        Command("del", 2, "tcp-metrics", doc="Delete metrics (admin); no address deletes all."),
    ),
    attribute_sets=(_TCP_METRICS, _METRICS),
)
