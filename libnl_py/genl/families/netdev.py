"""``netdev``: network device, page pool, NAPI and queue information.

Numbers from ``include/uapi/linux/netdev.h``, which is generated from the YNL
spec ``Documentation/netlink/specs/netdev.yaml`` (one command enum for
requests, replies and notifications).
"""

from __future__ import annotations

from libnl_py.genl.spec import Attr, AttrSet, Command, Enum, FamilySpec

__all__ = ["SPEC"]

_ENUMS = (
    Enum(
        "xdp-act",
        {
            1 << 0: "basic",
            1 << 1: "redirect",
            1 << 2: "ndo-xmit",
            1 << 3: "xsk-zerocopy",
            1 << 4: "hw-offload",
            1 << 5: "rx-sg",
            1 << 6: "ndo-xmit-sg",
        },
        flags=True,
    ),
    Enum("xdp-rx-metadata", {1 << 0: "timestamp", 1 << 1: "hash", 1 << 2: "vlan-tag"}, flags=True),
    Enum(
        "xsk-flags",
        {1 << 0: "tx-timestamp", 1 << 1: "tx-checksum", 1 << 2: "tx-launch-time-fifo"},
        flags=True,
    ),
    Enum("queue-type", {0: "rx", 1: "tx"}),
    Enum("qstats-scope", {1 << 0: "queue"}, flags=True),
    Enum("napi-threaded", {0: "disabled", 1: "enabled"}),
)

_DEV = AttrSet(
    "dev",
    (
        Attr("ifindex", 1, "u32"),
        Attr("pad", 2, "pad"),
        Attr("xdp-features", 3, "u64", enum="xdp-act"),
        Attr("xdp-zc-max-segs", 4, "u32"),
        Attr("xdp-rx-metadata-features", 5, "u64", enum="xdp-rx-metadata"),
        Attr("xsk-features", 6, "u64", enum="xsk-flags"),
    ),
)

# Empty nests: their presence is the information.
_IO_URING_PROVIDER_INFO = AttrSet("io-uring-provider-info", ())
_XSK_INFO = AttrSet("xsk-info", ())

_PAGE_POOL = AttrSet(
    "page-pool",
    (
        Attr("id", 1, "uint"),
        Attr("ifindex", 2, "u32"),
        Attr("napi-id", 3, "uint"),
        Attr("inflight", 4, "uint"),
        Attr("inflight-mem", 5, "uint"),
        Attr("detach-time", 6, "uint"),
        Attr("dmabuf", 7, "u32"),
        Attr("io-uring", 8, "nest", nested="io-uring-provider-info"),
    ),
)

# YNL's subset-of page-pool: the same numbers and types.
_PAGE_POOL_INFO = AttrSet(
    "page-pool-info",
    (
        Attr("id", 1, "uint"),
        Attr("ifindex", 2, "u32"),
    ),
)

_PAGE_POOL_STATS = AttrSet(
    "page-pool-stats",
    (
        Attr("info", 1, "nest", nested="page-pool-info"),
        # 2..7 are reserved for more identifying information.
        Attr("alloc-fast", 8, "uint"),
        Attr("alloc-slow", 9, "uint"),
        Attr("alloc-slow-high-order", 10, "uint"),
        Attr("alloc-empty", 11, "uint"),
        Attr("alloc-refill", 12, "uint"),
        Attr("alloc-waive", 13, "uint"),
        Attr("recycle-cached", 14, "uint"),
        Attr("recycle-cache-full", 15, "uint"),
        Attr("recycle-ring", 16, "uint"),
        Attr("recycle-ring-full", 17, "uint"),
        Attr("recycle-released-refcnt", 18, "uint"),
    ),
)

_NAPI = AttrSet(
    "napi",
    (
        Attr("ifindex", 1, "u32"),
        Attr("id", 2, "u32"),
        Attr("irq", 3, "u32"),
        Attr("pid", 4, "u32"),
        Attr("defer-hard-irqs", 5, "u32"),
        Attr("gro-flush-timeout", 6, "uint"),
        Attr("irq-suspend-timeout", 7, "uint"),
        Attr("threaded", 8, "u32", enum="napi-threaded"),
    ),
)

_QUEUE = AttrSet(
    "queue",
    (
        Attr("id", 1, "u32"),
        Attr("ifindex", 2, "u32"),
        Attr("type", 3, "u32", enum="queue-type"),
        Attr("napi-id", 4, "u32"),
        Attr("dmabuf", 5, "u32"),
        Attr("io-uring", 6, "nest", nested="io-uring-provider-info"),
        Attr("xsk", 7, "nest", nested="xsk-info"),
    ),
)

_QUEUE_ID = AttrSet(
    "queue-id",
    (
        Attr("id", 1, "u32"),
        Attr("type", 3, "u32", enum="queue-type"),
    ),
)

_QSTATS = AttrSet(
    "qstats",
    (
        Attr("ifindex", 1, "u32"),
        Attr("queue-type", 2, "u32", enum="queue-type"),
        Attr("queue-id", 3, "u32"),
        Attr("scope", 4, "uint", enum="qstats-scope"),
        # 5..7 are reserved for more metadata.
        Attr("rx-packets", 8, "uint"),
        Attr("rx-bytes", 9, "uint"),
        Attr("tx-packets", 10, "uint"),
        Attr("tx-bytes", 11, "uint"),
        Attr("rx-alloc-fail", 12, "uint"),
        Attr("rx-hw-drops", 13, "uint"),
        Attr("rx-hw-drop-overruns", 14, "uint"),
        Attr("rx-csum-complete", 15, "uint"),
        Attr("rx-csum-unnecessary", 16, "uint"),
        Attr("rx-csum-none", 17, "uint"),
        Attr("rx-csum-bad", 18, "uint"),
        Attr("rx-hw-gro-packets", 19, "uint"),
        Attr("rx-hw-gro-bytes", 20, "uint"),
        Attr("rx-hw-gro-wire-packets", 21, "uint"),
        Attr("rx-hw-gro-wire-bytes", 22, "uint"),
        Attr("rx-hw-drop-ratelimits", 23, "uint"),
        Attr("tx-hw-drops", 24, "uint"),
        Attr("tx-hw-drop-errors", 25, "uint"),
        Attr("tx-csum-none", 26, "uint"),
        Attr("tx-needs-csum", 27, "uint"),
        Attr("tx-hw-gso-packets", 28, "uint"),
        Attr("tx-hw-gso-bytes", 29, "uint"),
        Attr("tx-hw-gso-wire-packets", 30, "uint"),
        Attr("tx-hw-gso-wire-bytes", 31, "uint"),
        Attr("tx-hw-drop-ratelimits", 32, "uint"),
        Attr("tx-stop", 33, "uint"),
        Attr("tx-wake", 34, "uint"),
    ),
)

_DMABUF = AttrSet(
    "dmabuf",
    (
        Attr("ifindex", 1, "u32"),
        Attr("queues", 2, "nest", nested="queue-id", multi=True),
        Attr("fd", 3, "u32"),
        Attr("id", 4, "u32"),
    ),
)

SPEC = FamilySpec(
    name="netdev",
    doc="netdev configuration over generic netlink.",
    commands=(
        Command("dev-get", 1, "dev", doc="Get (by ifindex) or dump netdevs."),
        Command("page-pool-get", 5, "page-pool", doc="Get (by id) or dump page pools."),
        Command(
            "page-pool-stats-get",
            9,
            "page-pool-stats",
            doc="Get or dump page pool statistics (kernels with CONFIG_PAGE_POOL_STATS).",
        ),
        Command("queue-get", 10, "queue", doc="Get one queue or dump the queues (of an ifindex)."),
        Command("napi-get", 11, "napi", doc="Get one NAPI instance or dump them (of an ifindex)."),
        Command("qstats-get", 12, "qstats", doc="Dump statistics, per device or per queue."),
        Command("bind-rx", 13, "dmabuf", doc="Bind a dmabuf to rx queues (admin)."),
        Command("napi-set", 14, "napi", doc="Set a NAPI instance's settings (admin)."),
        Command("bind-tx", 15, "dmabuf", doc="Bind a dmabuf to a netdev for tx."),
    ),
    notifications=(
        Command("dev-add-ntf", 2, "dev", doc="A netdev appeared (group mgmt)."),
        Command("dev-del-ntf", 3, "dev", doc="A netdev disappeared (group mgmt)."),
        Command("dev-change-ntf", 4, "dev", doc="A netdev's configuration changed (group mgmt)."),
        Command("page-pool-add-ntf", 6, "page-pool", doc="A page pool appeared (group page-pool)."),
        Command(
            "page-pool-del-ntf", 7, "page-pool", doc="A page pool went away (group page-pool)."
        ),
        Command(
            "page-pool-change-ntf", 8, "page-pool", doc="A page pool changed (group page-pool)."
        ),
    ),
    attribute_sets=(
        _DEV,
        _IO_URING_PROVIDER_INFO,
        _PAGE_POOL,
        _PAGE_POOL_INFO,
        _PAGE_POOL_STATS,
        _NAPI,
        _XSK_INFO,
        _QUEUE,
        _QSTATS,
        _QUEUE_ID,
        _DMABUF,
    ),
    enums=_ENUMS,
    groups=("mgmt", "page-pool"),
)
