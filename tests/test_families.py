"""The shipped family definitions: their shape, their codec, and what the kernel says.

Kernel tests go through the raw layer (``Socket``, ``pack_genl_request``,
``split_datagram``) so that they check the definitions, not a client built on them.
"""

from __future__ import annotations

import errno
import ipaddress
import itertools
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from libnl_py import Socket, lib
from libnl_py.attrs import Attributes
from libnl_py.bindings.socket import sendto
from libnl_py.genl import GenlSocket, families
from libnl_py.genl.families import ethtool
from libnl_py.genl.spec import Attr, AttrSet, Command, FamilySpec
from libnl_py.message import (
    GenlMessage,
    pack_genl_request,
    parse_done,
    parse_error,
    split_datagram,
)

SHIPPED = ("ethtool", "netdev", "nlctrl", "tcp_metrics")


def spec_of(name: str) -> FamilySpec:
    spec = families.get(name)
    assert spec is not None, name
    return spec


# -- the registry ----------------------------------------------------------------


def test_names_lists_the_shipped_families() -> None:
    assert set(SHIPPED) <= set(families.names())
    assert families.names() == sorted(families.names())


@pytest.mark.parametrize("name", SHIPPED)
def test_get_returns_the_definition_of_that_name(name: str) -> None:
    spec = spec_of(name)
    assert spec.name == name
    assert families.get(name) is spec  # loaded once


def test_get_unknown_is_none() -> None:
    assert families.get("no-such-family") is None


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(families, "_registered", {})
    # The C decoder holds this very dict: restore its contents, not the name.
    saved = dict(families.command_names_cache)
    families.command_names_cache.clear()
    yield
    families.command_names_cache.clear()
    families.command_names_cache.update(saved)


@pytest.mark.usefixtures("clean_registry")
def test_register_adds_and_replaces() -> None:
    mine = FamilySpec(
        name="my_family",
        commands=(Command("get", 1, "attrs"),),
        attribute_sets=(AttrSet("attrs", (Attr("value", 1, "u32"),)),),
    )
    families.register(mine)
    assert families.get("my_family") is mine
    assert "my_family" in families.names()

    shipped = spec_of("nlctrl")
    override = FamilySpec(name="nlctrl", commands=(), attribute_sets=(AttrSet("empty", ()),))
    families.register(override)
    assert families.get("nlctrl") is override
    assert families.names().count("nlctrl") == 1
    assert shipped is not override


def test_register_rejects_non_specs() -> None:
    with pytest.raises(TypeError):
        families.register("nlctrl")  # type: ignore[arg-type]


# -- shape -------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_definition_is_consistent(name: str) -> None:
    spec = spec_of(name)
    set_names = [s.name for s in spec.attribute_sets]
    assert len(set_names) == len(set(set_names))
    for aset in spec.attribute_sets:
        names = [a.name for a in aset.attrs]
        types = [a.type for a in aset.attrs]
        assert len(names) == len(set(names)), aset.name
        assert len(types) == len(set(types)), aset.name
        assert all(0 < t < 0x4000 for t in types), aset.name
        for attr in aset.attrs:
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", attr.name), attr.name
            if attr.kind in ("nest", "indexed-array", "nest-type-value") and attr.nested:
                spec.attribute_set(attr.nested)
    for group in (spec.commands, spec.notifications):
        assert len({c.name for c in group}) == len(group)
        assert len({c.id for c in group}) == len(group)
        for cmd in group:
            spec.attribute_set(cmd.attribute_set)
            if cmd.reply_set is not None:
                spec.attribute_set(cmd.reply_set)
    for cmd in spec.commands:
        assert spec.command(cmd.name) is cmd
    assert len(set(spec.groups)) == len(spec.groups)


# -- codec: every attribute of every set round-trips ------------------------------


def sample(spec: FamilySpec, aset: AttrSet) -> dict[str | int, Any]:
    """A value for every attribute of ``aset`` (nests filled in, multi ones twice)."""
    out: dict[str | int, Any] = {}
    for attr in aset.attrs:
        if attr.kind in ("pad", "unused"):
            continue
        value = sample_attr(spec, attr)
        out[attr.name] = [value, value] if attr.multi else value
    return out


def sample_attr(spec: FamilySpec, attr: Attr) -> Any:
    kind = attr.kind
    if attr.enum is not None:
        enum = spec._enums[attr.enum]
        names = list(enum.values.values())
        return names[-1:] if enum.flags else names[-1]
    if kind in ("s8", "s16", "s32", "s64", "sint"):
        return -2
    if kind == "uint":
        return 1 << 40  # needs the 8-byte form
    if kind == "u64":
        return (1 << 64) - 1
    if kind in ("u8", "u16", "u32", "be16", "be32"):
        return 0x7F
    if kind == "string":
        return "eth0"
    if kind == "binary":
        return b"\x01\x02\x03"
    if kind == "flag":
        return True
    if kind == "nest":
        assert attr.nested is not None
        return sample(spec, spec.attribute_set(attr.nested))
    if kind == "indexed-array":
        if attr.nested is not None:
            entry = sample(spec, spec.attribute_set(attr.nested))
        else:
            entry = sample_attr(spec, Attr(attr.name, 1, attr.sub_type or "binary"))
        return [entry, entry]
    if kind == "nest-type-value":
        assert attr.nested is not None
        value: Any = sample(spec, spec.attribute_set(attr.nested))
        for level in range(attr.depth):
            value = {level + 3: value, level + 7: value}
        return value
    raise AssertionError(f"no sample for {attr.name} of kind {kind}")


def all_sets() -> Iterator[tuple[str, str]]:
    for name in SHIPPED:
        for aset in spec_of(name).attribute_sets:
            yield name, aset.name


@pytest.mark.parametrize(("family", "set_name"), list(all_sets()))
def test_every_set_round_trips(family: str, set_name: str) -> None:
    spec = spec_of(family)
    values = sample(spec, spec.attribute_set(set_name))
    data = spec.encode(set_name, values)
    assert spec.decode(set_name, Attributes(data)) == values


ROUND_TRIPS: list[tuple[str, str, dict[str | int, Any]]] = [
    (
        "nlctrl",
        "ctrl-attrs",
        {
            "family-id": 16,
            "family-name": "nlctrl",
            "version": 2,
            "ops": [{"id": 3, "flags": ["cmd-cap-do", "cmd-cap-dump"]}, {"id": 10, "flags": []}],
            "mcast-groups": [{"name": "notify", "id": 16}],
            "policy": {0: {2: {"type": "nul-string", "max-length": 15}, 1: {"type": "u16"}}},
            "op-policy": {3: {"do": 0, "dump": 0}, 10: {"dump": 1}},
        },
    ),
    (
        "netdev",
        "dev",
        {
            "ifindex": 1,
            "xdp-features": ["basic", "redirect", "ndo-xmit-sg"],
            "xdp-zc-max-segs": 1,
            "xdp-rx-metadata-features": [],
            "xsk-features": ["tx-checksum"],
        },
    ),
    (
        "netdev",
        "qstats",
        {"ifindex": 2, "queue-type": "tx", "queue-id": 0, "scope": ["queue"], "rx-bytes": 5},
    ),
    ("netdev", "napi", {"id": 8193, "ifindex": 2, "threaded": "enabled", "gro-flush-timeout": 0}),
    (
        "ethtool",
        "linkmodes",
        {
            "header": {"dev-index": 1, "dev-name": "lo", "flags": ["compact-bitsets", "stats"]},
            "autoneg": 1,
            "ours": {
                "size": 2,
                "bits": {
                    "bit": [
                        {"index": 0, "name": "10baseT/Half", "value": True},
                        {"index": 1, "name": "10baseT/Full"},
                    ]
                },
            },
            "speed": 1000,
        },
    ),
    (
        "ethtool",
        "strset",
        {
            "header": {"dev-name": "lo"},
            "stringsets": {
                "stringset": [
                    {
                        "id": "features",
                        "count": 1,
                        "strings": [{"string": [{"index": 0, "value": "tx-scatter-gather"}]}],
                    }
                ]
            },
        },
    ),
    (
        "tcp_metrics",
        "tcp-metrics",
        {
            "addr-ipv4": int(ipaddress.IPv4Address("192.0.2.1")),
            "saddr-ipv6": ipaddress.IPv6Address("2001:db8::1").packed,
            "age": 1234,
            "vals": {"rtt": 800, "cwnd": 10, "rtt-us": 100000},
            "fopen-cookie": bytes(range(8)),
        },
    ),
]


@pytest.mark.parametrize(("family", "set_name", "values"), ROUND_TRIPS)
def test_round_trip(family: str, set_name: str, values: dict[str | int, Any]) -> None:
    spec = spec_of(family)
    assert spec.decode(set_name, Attributes(spec.encode(set_name, values))) == values


def test_tcp_metrics_ipv4_is_network_order() -> None:
    spec = spec_of("tcp_metrics")
    data = spec.encode("tcp-metrics", {"addr-ipv4": int(ipaddress.IPv4Address("192.0.2.1"))})
    (attr,) = Attributes(data)
    assert attr.type == 1
    assert attr.payload == bytes([192, 0, 2, 1])


def test_enum_names_encode_to_kernel_numbers() -> None:
    nlctrl = spec_of("nlctrl")
    (ops,) = Attributes(nlctrl.encode("op-attrs", {"flags": ["admin-perm", "cmd-cap-haspol"]}))
    assert ops.u32() == lib.GENL_ADMIN_PERM | lib.GENL_CMD_CAP_HASPOL
    ethtool_spec = spec_of("ethtool")
    (flags,) = Attributes(ethtool_spec.encode("header", {"flags": ["omit-reply"]}))
    assert flags.u32() == 2  # ETHTOOL_FLAG_OMIT_REPLY


def genl_message(cmd: int, payload: bytes) -> GenlMessage:
    data = pack_genl_request(0x15, 0, 1, 0, cmd, 1, payload)
    return GenlMessage(data, 0, len(data), 0x15, 0, 1, 0)


# Kernel-to-user ids of ethtool that equal the request id of a different
# operation: these must decode by the received message, not the request.
ETHTOOL_SHADOWED = {
    cmd_id
    for cmd_id, received in ethtool.RECEIVED.items()
    if cmd_id in {c.id for c in ethtool.SPEC.commands}
    and ethtool.SPEC.command(cmd_id).attribute_set != received.attribute_set
}


def test_ethtool_has_shadowed_ids() -> None:
    assert {13, 15, 17, 19, 21, 23, 25} <= ETHTOOL_SHADOWED


@pytest.mark.parametrize("cmd_id", sorted(ethtool.RECEIVED))
def test_ethtool_received_messages_decode_by_reply_id(cmd_id: int) -> None:
    received = ethtool.RECEIVED[cmd_id]
    spec = ethtool.SPEC
    values = sample(spec, spec.attribute_set(received.attribute_set))
    msg = genl_message(cmd_id, spec.encode(received.attribute_set, values))
    assert spec.decode_message(msg) == values


def test_ethtool_reply_ids_differ_from_request_ids() -> None:
    by_name = {c.name: c for c in ethtool.RECEIVED.values()}
    assert ethtool.SPEC.command("rings-get").id == 15
    assert by_name["rings-get-reply"].id == 16
    assert by_name["rings-ntf"].id == 17
    assert ethtool.SPEC.command("tsinfo-get").id == 25
    assert by_name["tsinfo-get-reply"].id == 26
    assert {13, 15, 17, 19, 21, 23, 25} == ETHTOOL_SHADOWED


# -- against the kernel (raw layer) -------------------------------------------------

_seq = itertools.count(4242)


class KernelError(OSError):
    pass


def request(
    sock: Socket,
    family_id: int,
    spec: FamilySpec,
    command: str,
    values: Mapping[str | int, Any] | None = None,
    *,
    dump: bool = False,
    version: int = 1,
) -> list[GenlMessage]:
    """Send one request, read until its ACK or NLMSG_DONE; the replies, or KernelError."""
    cmd = spec.command(command)
    payload = spec.encode(cmd.attribute_set, values or {})
    seq = next(_seq)
    flags = lib.NLM_F_REQUEST | (lib.NLM_F_DUMP if dump else lib.NLM_F_ACK)
    port = sock.local_port
    data = pack_genl_request(family_id, flags, seq, port, cmd.id, version, payload)
    with sock._lock:
        sendto(sock._ptr(), data)
    replies: list[GenlMessage] = []
    while True:
        datagram, sender = sock.recv(timeout=2)
        assert sender == 0
        for msg_type, msg_flags, msg_seq, msg_port, start, end in split_datagram(datagram):
            assert (msg_seq, msg_port) == (seq, port)
            if msg_type == lib.NLMSG_ERROR:
                error, ext = parse_error(datagram, start, end, msg_flags)
                if error:
                    raise KernelError(-error, ext.describe() if ext else command)
                return replies
            if msg_type == lib.NLMSG_DONE:
                error, ext = parse_done(datagram, start, end, msg_flags)
                if error:
                    raise KernelError(-error, ext.describe() if ext else command)
                return replies
            assert msg_type == family_id
            replies.append(
                GenlMessage(datagram, start, end, msg_type, msg_flags, msg_seq, msg_port)
            )


@pytest.fixture
def sock(root: None) -> Iterator[Socket]:
    with Socket() as s:
        s.genl_connect()
        yield s


def resolve(sock: Socket, name: str) -> int:
    """The family id of ``name``, from an nlctrl getfamily."""
    (reply,) = request(
        sock, lib.GENL_ID_CTRL, spec_of("nlctrl"), "getfamily", {"family-name": name}
    )
    family_id = spec_of("nlctrl").decode_message(reply)["family-id"]
    assert isinstance(family_id, int)
    return family_id


def test_nlctrl_getfamily(sock: Socket) -> None:
    nlctrl = spec_of("nlctrl")
    (reply,) = request(sock, lib.GENL_ID_CTRL, nlctrl, "getfamily", {"family-name": "nlctrl"})
    assert nlctrl.command_name(reply.cmd) == "newfamily"
    got = nlctrl.decode_message(reply)
    assert got["family-id"] == 16
    assert got["family-name"] == "nlctrl"
    assert got["version"] == 2
    assert got["hdrsize"] == 0
    ops = {op["id"]: op["flags"] for op in got["ops"]}
    assert "cmd-cap-do" in ops[3]
    assert "cmd-cap-dump" in ops[3]
    assert "cmd-cap-dump" in ops[10]
    assert {"name": "notify", "id": 16} in got["mcast-groups"]


def genl_ctrl_list() -> dict[str, int]:
    tool = shutil.which("genl-ctrl-list")
    if tool is None:
        pytest.skip("genl-ctrl-list (libnl-utils) is not installed")
    out = subprocess.run([tool], capture_output=True, text=True, check=True).stdout
    listed = {}
    for line in out.splitlines():
        m = re.match(r"(0x[0-9a-f]+) (\S+) version \d+", line)
        if m:
            listed[m.group(2)] = int(m.group(1), 16)
    assert listed, out
    return listed


def test_nlctrl_dump_matches_genl_ctrl_list(sock: Socket) -> None:
    nlctrl = spec_of("nlctrl")
    replies = request(sock, lib.GENL_ID_CTRL, nlctrl, "getfamily", dump=True)
    dumped = {}
    for reply in replies:
        got = nlctrl.decode_message(reply)
        dumped[got["family-name"]] = got["family-id"]
    assert dumped == genl_ctrl_list()


def test_nlctrl_getpolicy_of_nlctrl(sock: Socket) -> None:
    nlctrl = spec_of("nlctrl")
    replies = request(
        sock, lib.GENL_ID_CTRL, nlctrl, "getpolicy", {"family-name": "nlctrl"}, dump=True
    )
    policy, op_policy = merge_policy(nlctrl, replies)
    do_index = op_policy[3]["do"]  # getfamily
    assert op_policy[3]["dump"] == do_index
    family_name = policy[do_index][2]
    assert family_name["type"] == "nul-string"
    assert family_name["max-length"] == 15  # GENL_NAMSIZ - 1
    assert policy[do_index][1]["type"] == "u16"  # family-id
    # getpolicy is dump-only. The kernel nests a dump-only op's entry under
    # command 0: ctrl_dumppolicy_put_op() uses doit->cmd, zeroed when there is no doit.
    getpolicy = op_policy.get(10) or op_policy[0]
    assert "do" not in getpolicy
    assert 10 in policy[getpolicy["dump"]]  # op


def merge_policy(
    nlctrl: FamilySpec, replies: list[GenlMessage]
) -> tuple[dict[int, dict[int, dict[str | int, Any]]], dict[int, dict[str | int, Any]]]:
    policy: dict[int, dict[int, dict[str | int, Any]]] = {}
    op_policy: dict[int, dict[str | int, Any]] = {}
    for reply in replies:
        got = nlctrl.decode_message(reply)
        for index, attrs in got.get("policy", {}).items():
            policy.setdefault(index, {}).update(attrs)
        op_policy.update(got.get("op-policy", {}))
    return policy, op_policy


_KINDS_FOR = {
    "flag": {"flag"},
    "u8": {"u8"},
    "u16": {"u16", "be16"},
    "u32": {"u32", "be32"},
    "u64": {"u64"},
    "s8": {"s8"},
    "s16": {"s16"},
    "s32": {"s32"},
    "s64": {"s64"},
    "uint": {"uint"},
    "sint": {"sint"},
    "binary": {"binary"},
    "string": {"string"},
    "nul-string": {"string"},
    "nested": {"nest", "nest-type-value"},
    "nested-array": {"indexed-array", "nest"},
}


def check_against_policy(
    spec: FamilySpec,
    aset: AttrSet,
    policy: Mapping[int, Mapping[int, Mapping[str | int, Any]]],
    index: int,
    where: str,
    seen: set[tuple[str, int]],
) -> None:
    if (aset.name, index) in seen:
        return
    seen.add((aset.name, index))
    for attr_type, rule in policy[index].items():
        attr = aset.by_type.get(attr_type)
        assert attr is not None, f"{where}: kernel accepts attribute {attr_type} ({rule})"
        kinds = _KINDS_FOR.get(rule["type"], set())
        assert attr.kind in kinds, f"{where}.{attr.name}: kernel type {rule['type']}"
        if attr.enum is not None:
            enum = spec._enums[attr.enum]
            if enum.flags and "mask" in rule:
                known = 0
                for bit in enum.values:
                    known |= bit
                assert rule["mask"] & ~known == 0, f"{where}.{attr.name}: mask {rule['mask']:#x}"
            elif not enum.flags and "max-value-u" in rule:
                values = range(rule.get("min-value-u", 0), rule["max-value-u"] + 1)
                assert set(values) <= set(enum.values), f"{where}.{attr.name}: {rule}"
        if attr.nested is not None and "policy-idx" in rule:
            check_against_policy(
                spec,
                spec.attribute_set(attr.nested),
                policy,
                rule["policy-idx"],
                f"{where}.{attr.name}",
                seen,
            )


@pytest.mark.parametrize("name", SHIPPED)
def test_request_attributes_match_kernel_policy(sock: Socket, name: str) -> None:
    """Every attribute the kernel's policies accept for a defined command is defined alike."""
    nlctrl = spec_of("nlctrl")
    spec = spec_of(name)
    checked = 0
    for cmd in spec.commands:
        # One op at a time: a dump-only op comes back under command 0 (see above).
        values: dict[str | int, Any] = {"family-name": name, "op": cmd.id}
        try:
            replies = request(sock, lib.GENL_ID_CTRL, nlctrl, "getpolicy", values, dump=True)
        except KernelError as exc:
            # ENOENT: an op this kernel lacks (netdev's page-pool-stats-get
            # needs CONFIG_PAGE_POOL_STATS); ENODATA: an op without a policy.
            assert exc.errno in (errno.ENOENT, errno.ENODATA), (cmd.name, exc)
            continue
        policy, op_policy = merge_policy(nlctrl, replies)
        (indexes,) = op_policy.values()
        seen: set[tuple[str, int]] = set()
        for index in indexes.values():
            check_against_policy(
                spec, spec.attribute_set(cmd.attribute_set), policy, index, cmd.name, seen
            )
            checked += 1
    assert checked


def test_netdev_dev_get(sock: Socket) -> None:
    netdev = spec_of("netdev")
    family_id = resolve(sock, "netdev")
    lo = socket.if_nametoindex("lo")
    dumped = [
        netdev.decode_message(m) for m in request(sock, family_id, netdev, "dev-get", dump=True)
    ]
    by_index = {dev["ifindex"]: dev for dev in dumped}
    assert lo in by_index
    assert set(by_index) == {index for index, _name in socket.if_nameindex()}
    for dev in dumped:
        assert isinstance(dev["xdp-features"], list)
        assert all(isinstance(f, str) for f in dev["xdp-features"])
    (reply,) = request(sock, family_id, netdev, "dev-get", {"ifindex": lo})
    assert netdev.command_name(reply.cmd) == "dev-get"
    assert netdev.decode_message(reply) == by_index[lo]


def test_netdev_qstats_and_napi_dumps_decode(sock: Socket) -> None:
    netdev = spec_of("netdev")
    family_id = resolve(sock, "netdev")
    for command in ("qstats-get", "napi-get", "queue-get", "page-pool-get"):
        for msg in request(sock, family_id, netdev, command, dump=True):
            got = netdev.decode_message(msg)
            assert not [key for key in got if isinstance(key, int)], (command, got)


def lo_header(**extra: Any) -> dict[str | int, Any]:
    return {"header": {"dev-name": "lo", **extra}}


def test_ethtool_linkstate_of_lo(sock: Socket) -> None:
    spec = spec_of("ethtool")
    family_id = resolve(sock, "ethtool")
    (reply,) = request(sock, family_id, spec, "linkstate-get", lo_header())
    assert ethtool.RECEIVED[reply.cmd].name == "linkstate-get-reply"
    got = spec.decode_message(reply)
    assert got["header"]["dev-index"] == socket.if_nametoindex("lo")
    assert got["header"]["dev-name"] == "lo"
    assert got["link"] in (0, 1)


def test_ethtool_linkinfo(sock: Socket) -> None:
    spec = spec_of("ethtool")
    family_id = resolve(sock, "ethtool")
    # A dump skips the devices without get_link_ksettings; the rest say who they are.
    devices = {index: name for index, name in socket.if_nameindex()}
    for reply in request(sock, family_id, spec, "linkinfo-get", {"header": {}}, dump=True):
        assert ethtool.RECEIVED[reply.cmd].name == "linkinfo-get-reply"
        header = spec.decode_message(reply)["header"]
        assert devices[header["dev-index"]] == header["dev-name"]
    # lo has no get_link_ksettings: a do on it fails with EOPNOTSUPP.
    try:
        replies = request(sock, family_id, spec, "linkinfo-get", lo_header())
    except KernelError as exc:
        assert exc.errno == errno.EOPNOTSUPP, exc
        return
    (reply,) = replies
    got = spec.decode_message(reply)
    assert got["header"]["dev-index"] == socket.if_nametoindex("lo")
    assert got["header"]["dev-name"] == "lo"


def test_ethtool_features_of_lo(sock: Socket) -> None:
    spec = spec_of("ethtool")
    family_id = resolve(sock, "ethtool")
    (reply,) = request(sock, family_id, spec, "features-get", lo_header())
    assert ethtool.RECEIVED[reply.cmd].name == "features-get-reply"
    got = spec.decode_message(reply)
    active = {bit["name"] for bit in got["active"]["bits"]["bit"]}
    assert "loopback" in active
    (compact,) = request(
        sock, family_id, spec, "features-get", lo_header(flags=["compact-bitsets"])
    )
    got = spec.decode_message(compact)
    assert got["active"]["size"] > 0
    assert len(got["active"]["value"]) * 8 >= got["active"]["size"]


def test_ethtool_strset_features(sock: Socket) -> None:
    spec = spec_of("ethtool")
    family_id = resolve(sock, "ethtool")
    values = {**lo_header(), "stringsets": {"stringset": [{"id": "features"}]}}
    (reply,) = request(sock, family_id, spec, "strset-get", values)
    got = spec.decode_message(reply)
    assert got["header"]["dev-name"] == "lo"
    (stringset,) = got["stringsets"]["stringset"]
    assert stringset["id"] == "features"
    names = [s["value"] for strings in stringset["strings"] for s in strings["string"]]
    assert len(names) == stringset["count"]
    assert "loopback" in names
    # An empty header (it may not be left out) asks for the global string sets.
    (reply,) = request(sock, family_id, spec, "strset-get", {"header": {}, "counts-only": True})
    counts = {s["id"]: s["count"] for s in spec.decode_message(reply)["stringsets"]["stringset"]}
    assert {"features", "link-modes", "msg-classes"} <= counts.keys()
    assert counts["features"] == stringset["count"]
    # A dump goes over the devices, each with its own string sets (maybe none).
    devices = {name for _index, name in socket.if_nameindex()}
    for msg in request(sock, family_id, spec, "strset-get", {"counts-only": True}, dump=True):
        assert spec.decode_message(msg)["header"]["dev-name"] in devices


def test_ethtool_tsinfo_of_lo(sock: Socket) -> None:
    spec = spec_of("ethtool")
    family_id = resolve(sock, "ethtool")
    (reply,) = request(sock, family_id, spec, "tsinfo-get", lo_header())
    assert reply.cmd == 26  # ETHTOOL_MSG_TSINFO_GET_REPLY, not the request's 25
    got = spec.decode_message(reply)
    assert got["header"]["dev-name"] == "lo"
    timestamping = {bit["name"] for bit in got["timestamping"]["bits"]["bit"]}
    assert "software-receive" in timestamping


def test_ethtool_other_gets_of_lo(sock: Socket) -> None:
    spec = spec_of("ethtool")
    family_id = resolve(sock, "ethtool")
    for command in ("debug-get", "rings-get", "channels-get", "pause-get", "coalesce-get"):
        try:
            replies = request(sock, family_id, spec, command, lo_header())
        except KernelError as exc:
            assert exc.errno == errno.EOPNOTSUPP, (command, exc)  # lo lacks most ethtool_ops
            continue
        for reply in replies:
            got = spec.decode_message(reply)
            assert got["header"]["dev-name"] == "lo", command


def test_tcp_metrics_dump(sock: Socket) -> None:
    spec = spec_of("tcp_metrics")
    family_id = resolve(sock, "tcp_metrics")
    for reply in request(sock, family_id, spec, "get", dump=True):
        got = spec.decode_message(reply)
        assert "addr-ipv4" in got or "addr-ipv6" in got
        assert not [key for key in got if isinstance(key, int)], got


def test_join_group_by_family_object_decodes_its_notifications(root: None) -> None:
    with GenlSocket(timeout=5) as resolver:
        netdev = resolver.resolve_family("netdev")
    with GenlSocket(timeout=5) as sock:
        assert sock.spec_for(netdev.id) is None  # a Family from another socket: not known here
        sock.join_group(netdev, "mgmt")
        spec = sock.spec_for(netdev.id)
        assert spec is not None and spec.name == "netdev"
