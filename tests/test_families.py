"""Family specs (``libnl_py.spec``): the built-in definitions, their codec, and real tasks.

* the registry: ``get``, ``register``, the built-in set;
* shape and codec of every built-in spec (every set round-trips);
* ethtool's directional ids: replies decode by the id the kernel sends;
* the kernel: nlctrl, netdev, ethtool, tcp_metrics, TASKSTATS, thermal read on
  the host; mptcp_pm, SEG6, IOAM6, ethtool on a veth and tcp_metrics changed
  only inside a private network namespace (``netns``);
* families this kernel lacks (devlink, dpll, team, from the kernel's YNL
  specs) against :class:`~libnl_py.testing.FakePeer`, which answers by the
  same spec.
"""

from __future__ import annotations

import errno
import glob
import ipaddress
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import call_in_netns, genl_ctrl_list, ip

from libnl_py import lib
from libnl_py.attrs import AttributeEncoder, Attributes
from libnl_py.errors import InvalidError, NetlinkError, NotSupportedError
from libnl_py.genl import GenlSocket
from libnl_py.message import GENL_HDRLEN, NLMSG_HDRLEN, GenlMessage, pack_genl_request
from libnl_py.spec import (
    AttrSet,
    AttrSpec,
    EncodeError,
    FamilySpec,
    Struct,
    load,
    registry,
)
from libnl_py.spec.codec import EncodeTypeError
from libnl_py.spec.loader import BUILTIN_DIR
from libnl_py.spec.policy import FamilyPolicy
from libnl_py.testing import FakePeer, Request

BUILTIN = tuple(sorted(p.name.removesuffix(".json") for p in BUILTIN_DIR.glob("*.json")))
KERNEL_SPECS = Path("/usr/share/doc/linux-doc-6.12/Documentation/netlink/specs")


def spec_of(name: str) -> FamilySpec:
    spec = registry.get(name)
    assert spec is not None, name
    return spec


def kernel_spec(name: str) -> Path:
    """A YNL spec of the kernel's documentation (Debian's linux-doc-6.12)."""
    path = KERNEL_SPECS / f"{name}.yaml.gz"
    if not path.exists():
        pytest.skip(f"needs {path} (Debian: linux-doc-6.12)")
    return path


# -- the registry ----------------------------------------------------------------


def test_builtin_definitions_are_there() -> None:
    assert {"ethtool", "netdev", "nlctrl", "tcp_metrics", "mptcp_pm", "TASKSTATS"} <= set(BUILTIN)
    sources = registry.sources()
    for name in BUILTIN:
        assert sources[name] in ("built-in", "registered"), name


@pytest.mark.parametrize("name", BUILTIN)
def test_get_returns_the_definition_of_that_name(name: str) -> None:
    spec = spec_of(name)
    assert isinstance(spec, FamilySpec)
    assert spec.name == name
    assert spec.source == "built-in"
    assert registry.get(name) is spec  # parsed once


def test_get_unknown_is_none() -> None:
    assert registry.get("no-such-family") is None
    assert registry.command_names("no-such-family") == {}


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(registry, "_registered", {})
    # The C decoder holds this very dict: restore its contents, not the name.
    saved = dict(registry.command_names_cache)
    registry.command_names_cache.clear()
    yield
    registry.command_names_cache.clear()
    registry.command_names_cache.update(saved)


MY_FAMILY = {
    "name": "my_family",
    "protocol": "genetlink",
    "attribute-sets": [{"name": "attrs", "attributes": [{"name": "value", "type": "u32"}]}],
    "operations": {
        "list": [{"name": "get", "attribute-set": "attrs", "do": {"request": {"attributes": []}}}]
    },
}


@pytest.mark.usefixtures("clean_registry")
def test_register_adds_and_replaces() -> None:
    mine = FamilySpec.from_dict(MY_FAMILY)
    registry.register(mine)
    assert registry.get("my_family") is mine
    assert registry.sources()["my_family"] == "registered"
    assert registry.command_names("my_family") == {1: "get"}
    assert registry.command_names_cache["my_family"] == {1: "get"}
    with GenlSocket() as sock:
        assert sock.spec_for("my_family") is mine

    shipped = spec_of("nlctrl")
    override = FamilySpec.from_dict(
        {"name": "nlctrl", "attribute-sets": [{"name": "empty", "attributes": []}]}
    )
    registry.register(override)
    assert registry.get("nlctrl") is override
    assert registry.sources()["nlctrl"] == "registered"
    assert registry.command_names("nlctrl") == {}
    assert shipped is not override
    # A socket given its own specs asks them first.
    with GenlSocket(specs=[shipped]) as sock:
        assert sock.spec_for("nlctrl") is shipped
    with GenlSocket() as sock:
        assert sock.spec_for("nlctrl") is override


def test_register_rejects_non_specs() -> None:
    with pytest.raises(TypeError):
        registry.register("nlctrl")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        registry.register(MY_FAMILY)  # type: ignore[arg-type]


def test_codec_for_is_one_per_spec() -> None:
    spec = spec_of("netdev")
    assert registry.codec_for(spec) is registry.codec_for(spec)
    assert registry.codec_for(spec).spec is spec


# -- shape -------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTIN)
def test_definition_is_consistent(name: str) -> None:
    spec = spec_of(name)
    assert spec.protocol in ("genetlink", "genetlink-c", "genetlink-legacy")
    for aset in spec.attribute_sets.values():
        attrs = [a for a in aset.attributes if a.type != "unused"]
        assert len(aset.by_name) == len(aset.attributes), aset.name
        assert len({a.value for a in attrs}) == len(attrs), aset.name
        assert all(0 < a.value < 0x4000 for a in attrs), aset.name
        for attr in attrs:
            if attr.nested_attributes is not None:
                spec.attr_set(attr.nested_attributes)
            if attr.enum is not None:
                spec.enum(attr.enum)
            if attr.struct is not None:
                spec.struct(attr.struct)
    for op in spec.operations:
        assert spec.ops[op.name] is op
        if op.attribute_set is not None:
            aset = spec.attr_set(op.attribute_set)
            for names in (*op.request_attrs.values(), *op.reply_attrs.values()):
                assert set(names) <= set(aset.by_name), (op.name, set(names) - set(aset.by_name))
        if op.is_call:
            assert spec.operation(op.name) is op
            assert spec.operation(op.req_value) is op  # type: ignore[arg-type]
    assert len(set(spec.mcast_groups)) == len(spec.mcast_groups)
    assert registry.command_names(name) == spec.command_names()


# -- codec: every attribute of every set round-trips ------------------------------


def sample(spec: FamilySpec, aset: AttrSet, within: tuple[str, ...] = ()) -> dict[str | int, Any]:
    """A value for every attribute of ``aset`` (nests filled in, multi ones twice).

    A nest of a set already being filled (seg6's hmacinfo, TASKSTATS' aggr-pid) is left out.
    """
    out: dict[str | int, Any] = {}
    within = (*within, aset.name)
    for attr in aset.attributes:
        if attr.type in ("pad", "unused") or attr.type == "sub-message":
            continue
        if attr.nested_attributes in within:
            continue
        value = sample_attr(spec, attr, within)
        out[attr.name] = [value, value] if attr.multi_attr else value
    return out


_HINTED = {
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "ipv4-or-v6": "2001:db8::2",
    "mac": "02:00:5e:00:53:01",
    "fddi": "02:00:5e:00:53:02",
    "uuid": "12345678-1234-5678-1234-567812345678",
}


def sample_attr(spec: FamilySpec, attr: AttrSpec, within: tuple[str, ...] = ()) -> Any:
    kind = attr.type
    if attr.enum is not None:
        enum = spec.enum(attr.enum)
        last = list(enum.entries)[-1]
        if kind == "bitfield32":
            return {"value": [last], "selector": [last]}
        return [last] if enum.is_flags or attr.enum_as_flags else last
    if kind == "u32" and attr.display_hint in ("ipv4", "ipv4-or-v6"):
        return "192.0.2.9"
    if kind in ("s8", "s16", "s32", "s64", "sint"):
        return -2
    if kind == "uint":
        return 1 << 40  # needs the 8-byte form
    if kind == "u64":
        return (1 << 64) - 1
    if kind in ("u8", "u16", "u32"):
        return 0x7F
    if kind == "string":
        return "eth0"
    if kind == "binary":
        if attr.struct is not None:
            return sample_struct(spec, spec.struct(attr.struct))
        if attr.sub_type is not None:
            return [1, 2, 3]
        if attr.display_hint in _HINTED:
            return _HINTED[attr.display_hint]
        size = attr.checks.get("exact-len", attr.checks.get("min-len", 3))
        return bytes(range(1, size + 1)) if isinstance(size, int) else b"\x01\x02\x03"
    if kind == "flag":
        return True
    if kind == "bitfield32":
        return {"value": 5, "selector": 7}
    if kind == "nest":
        assert attr.nested_attributes is not None
        return sample(spec, spec.attr_set(attr.nested_attributes), within)
    if kind == "indexed-array":
        if attr.sub_type == "nest":
            assert attr.nested_attributes is not None
            entry = sample(spec, spec.attr_set(attr.nested_attributes), within)
        else:
            entry = sample_attr(spec, AttrSpec(attr.name, 1, attr.sub_type or "binary"))
        return [entry, entry]
    if kind == "nest-type-value":
        assert attr.nested_attributes is not None
        value: Any = sample(spec, spec.attr_set(attr.nested_attributes), within)
        for level in range(max(1, len(attr.type_value))):
            value = {level + 3: value, level + 7: value}
        return value
    raise AssertionError(f"no sample for {attr.name} of kind {kind}")


def sample_struct(spec: FamilySpec, definition: Struct) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for member in definition.members:
        if member.type == "pad":
            continue
        if member.struct is not None:
            out[member.name] = sample_struct(spec, spec.struct(member.struct))
        elif member.enum is not None:
            enum = spec.enum(member.enum)
            first = next(iter(enum.entries))
            out[member.name] = [first] if enum.is_flags else first
        elif member.type == "string":
            out[member.name] = "comm"
        elif member.type == "binary":
            out[member.name] = bytes(range(member.size))
        else:
            out[member.name] = 0x12
    return out


def all_sets() -> Iterator[tuple[str, str]]:
    for name in BUILTIN:
        for set_name in spec_of(name).attribute_sets:
            yield name, set_name


@pytest.mark.parametrize(("family", "set_name"), list(all_sets()))
def test_every_set_round_trips(family: str, set_name: str) -> None:
    spec = spec_of(family)
    codec = registry.codec_for(spec)
    values = sample(spec, spec.attr_set(set_name))
    data = codec.encode(set_name, values)
    assert codec.decode(set_name, data) == values
    assert codec.decode(set_name, b"\0" * 4 + data, 4) == values  # from an offset


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
            "autoneg": "enable",
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
            "duplex": "unknown",
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
            "addr-ipv4": "192.0.2.1",
            "saddr-ipv6": "2001:db8::1",
            "age": 1234,
            "vals": {"rtt": 800, "cwnd": 10, "rtt-us": 100000},
            "fopen-cookie": bytes(range(8)),
        },
    ),
    (
        "mptcp_pm",
        "attr",
        {"addr": {"family": 2, "id": 5, "addr4": "10.9.0.1", "flags": ["signal", "backup"]}},
    ),
]


@pytest.mark.parametrize(("family", "set_name", "values"), ROUND_TRIPS)
def test_round_trip(family: str, set_name: str, values: dict[str | int, Any]) -> None:
    codec = registry.codec_for(spec_of(family))
    assert codec.decode(set_name, codec.encode(set_name, values)) == values


def test_tcp_metrics_ipv4_is_network_order() -> None:
    codec = registry.codec_for(spec_of("tcp_metrics"))
    for value in ("192.0.2.1", ipaddress.IPv4Address("192.0.2.1")):
        (attr,) = Attributes(codec.encode("tcp-metrics", {"addr-ipv4": value}))
        assert attr.type == 1
        assert attr.payload == bytes([192, 0, 2, 1])
    (attr,) = Attributes(codec.encode("tcp-metrics", {"addr-ipv6": "2001:db8::1"}))
    assert attr.payload == ipaddress.IPv6Address("2001:db8::1").packed


def test_unknown_attributes_decode_as_bytes_under_their_number() -> None:
    codec = registry.codec_for(spec_of("tcp_metrics"))
    data = codec.encode("tcp-metrics", {"age": 7}) + struct.pack("=HH", 7, 99) + b"xyz\0"
    assert codec.decode("tcp-metrics", data) == {"age": 7, 99: b"xyz"}


def test_enum_names_encode_to_kernel_numbers() -> None:
    nlctrl = registry.codec_for(spec_of("nlctrl"))
    (ops,) = Attributes(nlctrl.encode("op-attrs", {"flags": ["admin-perm", "cmd-cap-haspol"]}))
    assert ops.u32() == lib.GENL_ADMIN_PERM | lib.GENL_CMD_CAP_HASPOL
    ethtool = registry.codec_for(spec_of("ethtool"))
    (flags,) = Attributes(ethtool.encode("header", {"flags": ["omit-reply"]}))
    assert flags.u32() == 2  # ETHTOOL_FLAG_OMIT_REPLY
    (duplex,) = Attributes(ethtool.encode("linkmodes", {"duplex": "unknown"}))
    assert (duplex.type, duplex.u8()) == (6, 0xFF)  # DUPLEX_UNKNOWN
    (port,) = Attributes(ethtool.encode("linkinfo", {"port": "none"}))
    assert (port.type, port.u8()) == (2, 0xEF)  # PORT_NONE
    mptcp = registry.codec_for(spec_of("mptcp_pm"))
    (flags,) = Attributes(mptcp.encode("address", {"flags": ["signal", "fullmesh"]}))
    assert flags.u32() == 1 | 8  # MPTCP_PM_ADDR_FLAG_SIGNAL | MPTCP_PM_ADDR_FLAG_FULLMESH
    # Numbers are accepted as they are; a name the enum lacks is refused, by name.
    (flags,) = Attributes(mptcp.encode("address", {"flags": 9}))
    assert flags.u32() == 9
    with pytest.raises(EncodeError, match="'sideways' is not a flag of address-flags"):
        mptcp.encode("address", {"flags": ["sideways"]})
    with pytest.raises(EncodeError, match="is not a value of duplex"):
        ethtool.encode("linkmodes", {"duplex": "double"})


# -- ethtool's directional ids ----------------------------------------------------


def ethtool_shadowed() -> set[int]:
    """Kernel-to-user ids of ethtool equal to the request id of a different operation."""
    spec = spec_of("ethtool")
    received = {**spec.replies, **spec.events}
    return {
        cmd_id
        for cmd_id, op in received.items()
        if cmd_id in spec.requests and spec.requests[cmd_id].attribute_set != op.attribute_set
    }


def test_ethtool_reply_ids_differ_from_request_ids() -> None:
    spec = spec_of("ethtool")
    assert spec.msg_id_model == "directional"
    assert (spec.ops["rings-get"].req_value, spec.ops["rings-get"].rsp_value) == (15, 16)
    assert spec.ops["rings-ntf"].rsp_value == 17
    assert (spec.ops["tsinfo-get"].req_value, spec.ops["tsinfo-get"].rsp_value) == (25, 26)
    assert (spec.ops["features-get"].req_value, spec.ops["features-get"].rsp_value) == (11, 11)
    assert spec.ops["features-ntf"].rsp_value == 13
    assert spec.ops["linkstate-get"].rsp_value == 6
    assert spec.received(16, reply=True) is spec.ops["rings-get"]
    assert spec.received(17, reply=False) is spec.ops["rings-ntf"]
    assert spec.operation(17) is spec.ops["channels-get"]  # the request 17 is another op
    assert {13, 15, 17, 19, 21, 23, 25} <= ethtool_shadowed()


@pytest.fixture(scope="module")
def ethtool_id() -> int:
    with GenlSocket(timeout=5) as sock:
        return sock.resolve_family("ethtool").id


def ethtool_received() -> list[tuple[int, bool, str]]:
    spec = spec_of("ethtool")
    return sorted(
        [(i, True, op.name) for i, op in spec.replies.items()]
        + [(i, False, op.name) for i, op in spec.events.items()]
    )


@pytest.mark.parametrize(("cmd_id", "reply", "op_name"), ethtool_received())
def test_ethtool_received_messages_decode_by_reply_id(
    ethtool_id: int, cmd_id: int, reply: bool, op_name: str
) -> None:
    spec = spec_of("ethtool")
    op = spec.ops[op_name]
    assert op.attribute_set is not None
    values = sample(spec, spec.attr_set(op.attribute_set))
    payload = registry.codec_for(spec).encode(op.attribute_set, values)
    seq = 7 if reply else 0  # a reply answers a request; a notification has no sequence number
    data = pack_genl_request(ethtool_id, 0, seq, 0, cmd_id, 1, payload)
    msg = GenlMessage(data, 0, len(data), ethtool_id, 0, seq, 0)
    with GenlSocket(timeout=5) as sock:
        sock.resolve_family("ethtool")
        assert sock.operation_name(msg) == op_name
        assert sock.decode(msg) == values


# -- against the kernel: read-only, in the host's namespace ---------------------------


@pytest.fixture
def sock() -> Iterator[GenlSocket]:
    with GenlSocket(timeout=5) as s:
        yield s


def test_nlctrl_getfamily(sock: GenlSocket) -> None:
    (reply,) = sock.execute("nlctrl", "getfamily", {"family-name": "nlctrl"})
    assert reply.cmd == 1  # CTRL_CMD_NEWFAMILY
    assert sock.operation_name(reply) == "getfamily"
    got = sock.decode(reply)
    assert got["family-id"] == 16
    assert got["family-name"] == "nlctrl"
    assert got["version"] == 2
    assert got["hdrsize"] == 0
    ops = {op["id"]: op["flags"] for op in got["ops"]}
    assert {"cmd-cap-do", "cmd-cap-dump", "cmd-cap-haspol"} <= set(ops[3])
    assert "cmd-cap-dump" in ops[10]
    assert "cmd-cap-do" not in ops[10]
    assert {"name": "notify", "id": 16} in got["mcast-groups"]
    with pytest.raises(NetlinkError) as info:
        sock.execute("nlctrl", "getfamily", {"family-name": "no-such-family"})
    assert info.value.errno == errno.ENOENT
    assert "nlctrl getfamily" in str(info.value)


def test_nlctrl_dump_matches_genl_ctrl_list(sock: GenlSocket) -> None:
    dumped = {}
    for reply in sock.dump("nlctrl", "getfamily"):
        got = sock.decode(reply)
        dumped[got["family-id"]] = got["family-name"]
    assert dumped == {fid: f["name"] for fid, f in genl_ctrl_list().items()}


def merged_policy(
    sock: GenlSocket, values: Mapping[str, Any]
) -> tuple[dict[int, dict[int, dict[str | int, Any]]], dict[int, dict[str | int, Any]]]:
    policy: dict[int, dict[int, dict[str | int, Any]]] = {}
    op_policy: dict[int, dict[str | int, Any]] = {}
    for reply in sock.dump("nlctrl", "getpolicy", values):
        assert sock.operation_name(reply) == "getpolicy"
        got = sock.decode(reply)
        for index, attrs in got.get("policy", {}).items():
            policy.setdefault(index, {}).update(attrs)
        op_policy.update(got.get("op-policy", {}))
    return policy, op_policy


def test_nlctrl_getpolicy_of_nlctrl(sock: GenlSocket) -> None:
    policy, op_policy = merged_policy(sock, {"family-name": "nlctrl"})
    do_index = op_policy[3]["do"]  # getfamily
    assert op_policy[3]["dump"] == do_index
    family_name = policy[do_index][2]
    assert family_name["type"] == "nul-string"
    assert family_name["max-length"] == 15  # GENL_NAMSIZ - 1
    assert policy[do_index][1]["type"] == "u16"  # family-id
    assert policy[do_index][1]["max-value-u"] == 0xFFFF
    # getpolicy is dump-only. The kernel nests a dump-only op's entry under
    # command 0: ctrl_dumppolicy_put_op() uses doit->cmd, zeroed when there is no doit.
    getpolicy = op_policy.get(10) or op_policy[0]
    assert "do" not in getpolicy
    assert 10 in policy[getpolicy["dump"]]  # op
    assert policy[getpolicy["dump"]][10]["type"] == "u32"
    # The same through get_policy (which re-keys the op kernels file under 0).
    parsed = sock.get_policy("nlctrl")
    assert isinstance(parsed, FamilyPolicy)
    assert parsed.ops[10] == {"dump": getpolicy["dump"]}
    assert parsed.for_command(3)[2].max_length == 15  # type: ignore[index]


_KINDS_FOR = {
    "flag": {"flag"},
    "u8": {"u8"},
    "u16": {"u16"},
    "u32": {"u32"},
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
    "bitfield32": {"bitfield32"},
    "nested": {"nest", "nest-type-value", "indexed-array"},
    "nested-array": {"indexed-array", "nest"},
}


_FULL_RANGE = {"u8": 0xFF, "u16": 0xFFFF, "u32": 0xFFFFFFFF}


def check_against_policy(
    spec: FamilySpec,
    aset: AttrSet,
    policy: FamilyPolicy,
    index: int,
    where: str,
    seen: set[tuple[str, int]],
) -> None:
    if (aset.name, index) in seen:
        return
    seen.add((aset.name, index))
    for attr_type, rule in policy.policies[index].items():
        attr = aset.by_value.get(attr_type)
        assert attr is not None, f"{where}: the kernel accepts attribute {attr_type} ({rule})"
        assert attr.type in _KINDS_FOR.get(rule.kind, set()), (
            f"{where}.{attr.name}: {attr.type}, the kernel says {rule.kind}"
        )
        if attr.enum is not None:
            enum = spec.enum(attr.enum)
            if enum.is_flags or attr.enum_as_flags:
                if rule.mask is not None:
                    known = sum(1 << bit for bit in enum.entries.values())
                    assert rule.mask & ~known == 0, f"{where}.{attr.name}: mask {rule.mask:#x}"
            elif rule.max_value is not None and rule.max_value < _FULL_RANGE.get(rule.kind, 0):
                # A range narrower than the type's (the kernel reports one for every integer).
                values = range(rule.min_value or 0, rule.max_value + 1)
                assert set(values) <= set(enum.by_value), f"{where}.{attr.name}: {rule}"
        if attr.nested_attributes is not None and rule.policy is not None:
            check_against_policy(
                spec,
                spec.attr_set(attr.nested_attributes),
                policy,
                rule.policy,
                f"{where}.{attr.name}",
                seen,
            )


@pytest.mark.parametrize("name", [n for n in BUILTIN if spec_of(n).requests])
def test_request_attributes_match_kernel_policy(sock: GenlSocket, name: str) -> None:
    """Every attribute the kernel's policies accept for a defined call is defined alike."""
    spec = spec_of(name)
    checked = 0
    for op in spec.operations:
        if op.req_value is None or op.attribute_set is None:
            continue
        try:
            policy = sock.get_policy(name, op.req_value)
        except NetlinkError as exc:
            # ENOENT: an op this kernel lacks (netdev's page-pool-stats-get
            # needs CONFIG_PAGE_POOL_STATS); ENODATA: an op without a policy.
            assert exc.errno in (errno.ENOENT, errno.ENODATA), (op.name, exc)
            continue
        # One op at a time: a dump-only op comes back under command 0.
        (indexes,) = policy.ops.values()
        seen: set[tuple[str, int]] = set()
        for index in indexes.values():
            check_against_policy(
                spec, spec.attr_set(op.attribute_set), policy, index, op.name, seen
            )
            checked += 1
    assert checked


def test_netdev_dev_get(sock: GenlSocket) -> None:
    lo = socket.if_nametoindex("lo")
    dumped = [sock.decode(m) for m in sock.dump("netdev", "dev-get")]
    by_index = {dev["ifindex"]: dev for dev in dumped}
    assert set(by_index) == {index for index, _name in socket.if_nameindex()}
    features = spec_of("netdev").enum("xdp-act").entries
    for dev in dumped:
        assert isinstance(dev["xdp-features"], list)
        assert set(dev["xdp-features"]) <= set(features)
    (reply,) = sock.execute("netdev", "dev-get", {"ifindex": lo})
    assert sock.operation_name(reply) == "dev-get"
    assert sock.decode(reply) == by_index[lo]
    # The numbers behind the names: the kernel's own bits.
    raw = reply.attrs.u64(3)  # NETDEV_A_DEV_XDP_FEATURES
    assert raw == sum(1 << features[f] for f in by_index[lo]["xdp-features"])


def test_netdev_qstats_and_napi_dumps_decode(sock: GenlSocket) -> None:
    netdev = spec_of("netdev")
    for command in ("qstats-get", "napi-get", "queue-get", "page-pool-get"):
        for msg in sock.dump("netdev", command):
            assert sock.operation_name(msg) == command
            got = sock.decode(msg)
            assert not [key for key in got if isinstance(key, int)], (command, got)
            assert got["ifindex"] > 0 if "ifindex" in got else True
            if command == "napi-get":
                assert got.get("threaded", "disabled") in netdev.enum("napi-threaded").entries
            if command == "queue-get":
                assert got["type"] in ("rx", "tx")
    # qstats by queue: each carries its queue type by name.
    for msg in sock.dump("netdev", "qstats-get", {"scope": ["queue"]}):
        got = sock.decode(msg)
        assert got["queue-type"] in ("rx", "tx"), got
        assert isinstance(got["queue-id"], int)


def lo_header(**extra: Any) -> dict[str, Any]:
    return {"header": {"dev-name": "lo", **extra}}


def test_ethtool_linkstate_of_lo(sock: GenlSocket) -> None:
    (reply,) = sock.execute("ethtool", "linkstate-get", lo_header())
    assert reply.cmd == 6  # ETHTOOL_MSG_LINKSTATE_GET_REPLY
    assert sock.operation_name(reply) == "linkstate-get"
    got = sock.decode(reply)
    assert got["header"] == {"dev-index": socket.if_nametoindex("lo"), "dev-name": "lo"}
    assert got["link"] == 1  # lo is always up
    with pytest.raises(InvalidError) as info:
        sock.execute("ethtool", "linkstate-get", {})
    assert str(info.value).startswith("ethtool linkstate-get: ")
    assert "missing attribute header" in str(info.value)
    assert info.value.ext_ack.missing_name == "header"


def test_ethtool_linkinfo(sock: GenlSocket) -> None:
    devices = dict(socket.if_nameindex())
    # A dump skips the devices without get_link_ksettings; the rest say who they are.
    for reply in sock.dump("ethtool", "linkinfo-get", {"header": {}}):
        assert sock.operation_name(reply) == "linkinfo-get"
        header = sock.decode(reply)["header"]
        assert devices[header["dev-index"]] == header["dev-name"]
    # lo has no get_link_ksettings: a do on it fails with EOPNOTSUPP, named by op.
    with pytest.raises(NotSupportedError) as info:
        sock.execute("ethtool", "linkinfo-get", lo_header())
    assert info.value.errno == errno.EOPNOTSUPP
    assert "ethtool linkinfo-get" in str(info.value)


def test_ethtool_features_of_lo(sock: GenlSocket) -> None:
    (reply,) = sock.execute("ethtool", "features-get", lo_header())
    assert reply.cmd == 11  # ETHTOOL_MSG_FEATURES_GET_REPLY
    assert sock.operation_name(reply) == "features-get"
    got = sock.decode(reply)
    active = {bit["name"] for bit in got["active"]["bits"]["bit"]}
    assert "loopback" in active
    assert got["active"]["nomask"] is True
    (compact,) = sock.execute("ethtool", "features-get", lo_header(flags=["compact-bitsets"]))
    got = sock.decode(compact)
    size = got["active"]["size"]
    assert size > 0
    assert len(got["active"]["value"]) * 8 >= size
    # The same bits, by name and compact.
    (names,) = sock.execute(
        "ethtool", "strset-get", {**lo_header(), "stringsets": {"stringset": [{"id": "features"}]}}
    )
    (stringset,) = sock.decode(names)["stringsets"]["stringset"]
    index = {s["value"]: s["index"] for strings in stringset["strings"] for s in strings["string"]}
    bits = int.from_bytes(got["active"]["value"], "little")
    assert {name for name, i in index.items() if bits >> i & 1} == active


def test_ethtool_strset_features(sock: GenlSocket) -> None:
    values = {**lo_header(), "stringsets": {"stringset": [{"id": "features"}]}}
    (reply,) = sock.execute("ethtool", "strset-get", values)
    got = sock.decode(reply)
    assert got["header"]["dev-name"] == "lo"
    (stringset,) = got["stringsets"]["stringset"]
    assert stringset["id"] == "features"
    names = [s["value"] for strings in stringset["strings"] for s in strings["string"]]
    assert len(names) == stringset["count"]
    assert "loopback" in names
    # An empty header (it may not be left out) asks for the global string sets.
    (reply,) = sock.execute("ethtool", "strset-get", {"header": {}, "counts-only": True})
    counts = {s["id"]: s["count"] for s in sock.decode(reply)["stringsets"]["stringset"]}
    assert {"features", "link-modes", "msg-classes"} <= counts.keys()
    assert counts["features"] == stringset["count"]
    # A dump goes over the devices, each with its own string sets (maybe none).
    devices = {name for _index, name in socket.if_nameindex()}
    for msg in sock.dump("ethtool", "strset-get", {"counts-only": True}):
        assert sock.decode(msg)["header"]["dev-name"] in devices


def test_ethtool_tsinfo_of_lo(sock: GenlSocket) -> None:
    (reply,) = sock.execute("ethtool", "tsinfo-get", lo_header())
    assert reply.cmd == 26  # ETHTOOL_MSG_TSINFO_GET_REPLY, not the request's 25
    assert sock.operation_name(reply) == "tsinfo-get"
    got = sock.decode(reply)
    assert got["header"]["dev-name"] == "lo"
    timestamping = {bit["name"] for bit in got["timestamping"]["bits"]["bit"]}
    assert {"software-transmit", "software-receive", "software-system-clock"} <= timestamping


def test_ethtool_other_gets_of_lo(sock: GenlSocket) -> None:
    answered = []
    for command in (
        "debug-get",
        "rings-get",
        "channels-get",
        "pause-get",
        "coalesce-get",
        "module-get",
        "phc-vclocks-get",
    ):
        try:
            replies = sock.execute("ethtool", command, lo_header())
        except NotSupportedError as exc:
            assert exc.errno == errno.EOPNOTSUPP, (command, exc)  # lo lacks most ethtool_ops
            assert f"ethtool {command}" in str(exc)
            continue
        for reply in replies:
            assert sock.operation_name(reply) == command
            got = sock.decode(reply)
            assert got["header"]["dev-name"] == "lo", command
            assert not [key for key in got if isinstance(key, int)], (command, got)
            answered.append(command)
    assert answered  # module-get and phc-vclocks-get answer for any device


def test_tcp_metrics_dump(sock: GenlSocket) -> None:
    for reply in sock.dump("tcp_metrics", "get"):
        assert sock.operation_name(reply) == "get"
        got = sock.decode(reply)
        address = got.get("addr-ipv4", got.get("addr-ipv6"))
        assert isinstance(address, str), got
        ipaddress.ip_address(address)  # text, as the display hint shows it
        assert not [key for key in got if isinstance(key, int)], got


def test_join_group_by_family_object_decodes_its_notifications() -> None:
    with GenlSocket(timeout=5) as resolver:
        netdev = resolver.resolve_family("netdev")
    with GenlSocket(timeout=5) as sock:
        assert sock.spec_for(netdev.id) is None  # a Family from another socket: not known here
        group = sock.join_group(netdev, "mgmt")
        assert group == netdev.group("mgmt").id
        spec = sock.spec_for(netdev.id)
        assert spec is not None and spec.name == "netdev"
        # A notification of that family now decodes by its names.
        payload = registry.codec_for(spec).encode("dev", {"ifindex": 9, "xdp-features": ["basic"]})
        data = pack_genl_request(netdev.id, 0, 0, 0, 2, 1, payload)  # NETDEV_CMD_DEV_ADD_NTF
        msg = GenlMessage(data, 0, len(data), netdev.id, 0, 0, 0)
        assert sock.operation_name(msg) == "dev-add-ntf"
        assert sock.decode(msg) == {"ifindex": 9, "xdp-features": ["basic"]}


def test_join_group_by_family_object_gets_a_real_notification_in_netns(netns: str) -> None:
    with GenlSocket(timeout=5) as resolver:
        netdev = resolver.resolve_family("netdev")  # family ids are the same in every netns
    with in_netns(netns) as sock:
        sock.join_group(netdev, "mgmt")
        ip("-n", netns, "link", "add", "vA", "type", "veth", "peer", "name", "vB")
        links = {
            link["ifname"]: link["ifindex"] for link in json.loads(ip("-n", netns, "-j", "link"))
        }
        added = {}
        deadline = time.monotonic() + 5
        while set(added) != {links["vA"], links["vB"]}:
            msg = sock.next_notification(timeout=max(0.1, deadline - time.monotonic()))
            assert msg.family_id == netdev.id
            if sock.operation_name(msg) == "dev-add-ntf":
                got = sock.decode(msg)
                added[got["ifindex"]] = got
        assert all(isinstance(dev["xdp-features"], list) for dev in added.values())


def test_taskstats_get_of_this_process(root: None, sock: GenlSocket) -> None:
    pid = os.getpid()
    (reply,) = sock.execute("TASKSTATS", "get", {"pid": pid})
    assert reply.cmd == 2  # TASKSTATS_CMD_NEW answers TASKSTATS_CMD_GET
    assert sock.operation_name(reply) == "new"
    got = sock.decode(reply)
    assert set(got) == {"aggr-pid"}
    assert got["aggr-pid"]["pid"] == pid
    stats = got["aggr-pid"]["stats"]
    assert stats["ac_pid"] == pid
    assert stats["ac_ppid"] == os.getppid()
    assert stats["ac_uid"] == os.getuid()
    with open("/proc/self/comm") as f:
        assert stats["ac_comm"] == f.read().rstrip("\n")[:15]
    assert stats["version"] >= 8
    assert isinstance(stats["ac_flag"], list)
    assert set(stats["ac_flag"]) <= set(spec_of("TASKSTATS").enum("ac-flags").entries)
    with pytest.raises(NetlinkError) as info:
        sock.execute("TASKSTATS", "get", {"pid": 0x7FFFFFF0})
    assert info.value.errno == errno.ESRCH
    assert "TASKSTATS get" in str(info.value)


def test_thermal_tz_get_id_dump(sock: GenlSocket) -> None:
    zones = {}
    for zone in glob.glob("/sys/class/thermal/thermal_zone*"):
        with open(f"{zone}/type") as f:
            zones[int(zone.rsplit("zone", 1)[1])] = f.read().strip()
    # The kernel answers thermal dumps with sequence number 0 and port 0
    # (thermal_genl_cmd_dumpit: genlmsg_put(skb, 0, 0, ...)), so the reply
    # answers no request: the dump ends empty at its NLMSG_DONE, and the reply
    # is queued as a notification. Read as one (no sequence number), its id 1
    # is event-tz-create's, and it decodes by the same attribute set.
    assert sock.dump("thermal", "tz-get-id") == []
    (msg,) = sock.poll_notifications()
    assert (msg.cmd, msg.seq, msg.port) == (1, 0, 0)
    assert msg.family_id == sock.resolve_family("thermal").id
    assert sock.operation_name(msg) == "event-tz-create"
    got = sock.decode(msg)
    assert set(got) == {"tz"}
    if not zones:
        assert got["tz"] == {}  # the kernel's empty nest
    else:
        # Every zone's id and name in one nest, which the spec does not mark multi-attr.
        assert zones[got["tz"]["tz-id"]] == got["tz"]["tz-name"]
    assert sock.dropped == 0


# -- real tasks in a private network namespace --------------------------------------


def in_netns(netns: str, **kwargs: Any) -> GenlSocket:
    """A GenlSocket opened in namespace ``netns`` (it stays there, whichever thread uses it)."""
    return call_in_netns(netns, lambda: GenlSocket(timeout=5, **kwargs))


def endpoints(netns: str) -> list[dict[str, Any]]:
    out = ip("-n", netns, "-j", "mptcp", "endpoint", "show").strip()
    return json.loads(out) if out else []


def test_mptcp_add_addr_by_name_in_netns(netns: str) -> None:
    with in_netns(netns) as sock:
        assert sock.spec_for("mptcp_pm").source == "built-in"  # type: ignore[union-attr]
        addr = {"family": 2, "addr4": "10.9.0.1", "id": 5, "flags": ["signal"]}
        assert sock.execute("mptcp_pm", "add-addr", {"addr": addr}) == []
        (reply,) = sock.dump("mptcp_pm", "get-addr")
        assert sock.operation_name(reply) == "get-addr"
        assert sock.decode(reply) == {"addr": {**addr, "port": 0}}
        # The numbers on the wire: the address in network order, the flag's bit.
        nest = reply.attrs.nested(1)
        assert nest.binary(3) == bytes([10, 9, 0, 1])
        assert nest.u32(6) == 1  # MPTCP_PM_ADDR_FLAG_SIGNAL
        (one,) = sock.execute("mptcp_pm", "get-addr", {"addr": {"id": 5}})
        assert sock.decode(one)["addr"]["addr4"] == "10.9.0.1"
        # A second add of the same address is refused by the kernel, by op name.
        with pytest.raises(NetlinkError) as info:
            sock.execute("mptcp_pm", "add-addr", {"addr": addr})
        assert "mptcp_pm add-addr" in str(info.value)
    assert endpoints(netns) == [{"address": "10.9.0.1", "id": 5, "signal": True}]


ADDR_10_9_0_2 = int(ipaddress.IPv4Address("10.9.0.2"))  # 0x0a090002


def add_by_kernel_spec(netns: str, addr4: Any) -> dict[str, Any]:
    """add-addr with the linux-doc mptcp_pm spec (no display hint, flags a plain u32)."""
    path = kernel_spec("mptcp_pm")
    with in_netns(netns, specs=[path]) as sock:
        spec = sock.spec_for("mptcp_pm")
        assert spec is not None and spec.source == str(path)
        assert spec.attr_set("address").by_name["addr4"].display_hint is None
        addr = {"family": 2, "addr4": addr4, "id": 6, "flags": 1}
        assert sock.execute("mptcp_pm", "add-addr", {"addr": addr}) == []
        (reply,) = sock.dump("mptcp_pm", "get-addr")
        nest = reply.attrs.nested(1)
        assert nest.binary(3) == bytes([10, 9, 0, 2])  # network order on the wire
        return sock.decode(reply)


def test_mptcp_add_addr_with_the_kernel_spec_as_int(netns: str) -> None:
    got = add_by_kernel_spec(netns, ADDR_10_9_0_2)
    # A big-endian u32 without a display hint comes back as the number it is.
    assert got == {"addr": {"family": 2, "addr4": 0x0A090002, "id": 6, "flags": 1, "port": 0}}
    assert endpoints(netns) == [{"address": "10.9.0.2", "id": 6, "signal": True}]


def test_mptcp_add_addr_with_the_kernel_spec_as_ipv4address(netns: str) -> None:
    got = add_by_kernel_spec(netns, ipaddress.IPv4Address("10.9.0.2"))
    assert got["addr"]["addr4"] == 0x0A090002
    assert endpoints(netns) == [{"address": "10.9.0.2", "id": 6, "signal": True}]


def test_mptcp_ascii_address_in_a_numeric_request_is_refused(netns: str) -> None:
    with in_netns(netns) as sock:
        sock.execute("mptcp_pm", "add-addr", {"addr": {"family": 2, "addr4": "10.9.0.1", "id": 5}})
    before = endpoints(netns)
    assert [e["address"] for e in before] == ["10.9.0.1"]
    with in_netns(netns) as sock:
        # Numbers for attributes and command: addr (1) / addr4 (3), add-addr (1).
        # "0a090001" is no IPv4 address: refused while encoding, nothing is sent.
        for cmd in ("add-addr", 1):
            with pytest.raises(EncodeError, match="'0a090001' is not an IPv4 address"):
                sock.execute("mptcp_pm", cmd, {1: {3: "0a090001"}})
        # The socket is still in step: its next request gets its own answer.
        (reply,) = sock.dump("mptcp_pm", "get-addr")
        assert sock.decode(reply)["addr"]["addr4"] == "10.9.0.1"
        assert sock.dropped == 0
    # Without the display hint the attribute is a plain u32: text is the wrong type.
    with (
        in_netns(netns, specs=[kernel_spec("mptcp_pm")]) as sock,
        pytest.raises(EncodeTypeError, match="u32 needs an integer, not '0a090001'"),
    ):
        sock.execute("mptcp_pm", 1, {1: {3: "0a090001"}})
    assert endpoints(netns) == before


def test_ethtool_veth_linkinfo_and_linkmodes_in_netns(netns: str) -> None:
    ip("-n", netns, "link", "add", "vA", "type", "veth", "peer", "name", "vB")
    index = json.loads(ip("-n", netns, "-j", "link", "show", "vA"))[0]["ifindex"]
    spec = spec_of("ethtool")
    with in_netns(netns) as sock:
        (reply,) = sock.execute("ethtool", "linkinfo-get", {"header": {"dev-name": "vA"}})
        assert reply.cmd == spec.ops["linkinfo-get"].rsp_value
        assert sock.operation_name(reply) == "linkinfo-get"
        got = sock.decode(reply)
        # veth_get_link_ksettings: twisted pair, internal transceiver, no MDI-X.
        assert got == {
            "header": {"dev-index": index, "dev-name": "vA"},
            "port": "tp",
            "phyaddr": 0,
            "tp-mdix": "invalid",
            "tp-mdix-ctrl": "invalid",
            "transceiver": "internal",
        }
        raw = reply.attrs
        for name, attr_type, enum in (
            ("port", 2, "port"),
            ("tp-mdix", 4, "tp-mdix"),
            ("tp-mdix-ctrl", 5, "tp-mdix"),
            ("transceiver", 6, "transceiver"),
        ):
            assert spec.enum(enum).entries[got[name]] == raw.u8(attr_type), name
        assert raw.u8(2) == 0  # PORT_TP

        (reply,) = sock.execute("ethtool", "linkmodes-get", {"header": {"dev-name": "vA"}})
        assert sock.operation_name(reply) == "linkmodes-get"
        got = sock.decode(reply)
        assert got["header"] == {"dev-index": index, "dev-name": "vA"}
        assert (got["autoneg"], got["duplex"], got["speed"]) == ("disable", "full", 10000)
        assert got["rate-matching"] == "none"
        raw = reply.attrs
        assert raw.u8(2) == spec.enum("autoneg").entries[got["autoneg"]] == 0  # AUTONEG_DISABLE
        assert raw.u8(6) == spec.enum("duplex").entries[got["duplex"]] == 1  # DUPLEX_FULL
        assert raw.u32(5) == 10000  # SPEED_10000
        assert raw.u8(10) == spec.enum("rate-matching").entries[got["rate-matching"]]
        # Both ends: the dump lists the pair, each by its own header.
        names = {
            sock.decode(m)["header"]["dev-name"]
            for m in sock.dump("ethtool", "linkinfo-get", {"header": {}})
        }
        assert names == {"vA", "vB"}
        (state,) = sock.execute("ethtool", "linkstate-get", {"header": {"dev-index": index}})
        assert sock.decode(state)["link"] == 0  # down: never set up


def loopback_connection() -> None:
    """A TCP connection over 127.0.0.1 that sends some bytes and closes (metrics are saved)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            conn, _ = server.accept()
            with conn:
                client.sendall(b"x" * 65536)
                got = 0
                while got < 65536:
                    chunk = conn.recv(65536)
                    assert chunk
                    got += len(chunk)


def test_tcp_metrics_of_a_loopback_connection_in_netns(netns: str) -> None:
    ip("-n", netns, "link", "set", "lo", "up")
    with in_netns(netns) as sock:
        assert sock.dump("tcp_metrics", "get") == []  # a new namespace has none
        call_in_netns(netns, loopback_connection)
        deadline = time.monotonic() + 5
        while not (dumped := [sock.decode(m) for m in sock.dump("tcp_metrics", "get")]):
            assert time.monotonic() < deadline, "no tcp_metrics entry after the connection"
            time.sleep(0.05)
        (entry,) = dumped
        assert entry["addr-ipv4"] == "127.0.0.1"
        assert entry["saddr-ipv4"] == "127.0.0.1"
        assert isinstance(entry["age"], int)
        (reply,) = sock.execute("tcp_metrics", "get", {"addr-ipv4": "127.0.0.1"})
        assert sock.operation_name(reply) == "get"
        got = sock.decode(reply)
        assert got["addr-ipv4"] == "127.0.0.1"
        assert got["vals"].keys() == entry["vals"].keys()
        assert reply.attrs.binary(1) == bytes([127, 0, 0, 1])
        with pytest.raises(NetlinkError) as info:
            sock.execute("tcp_metrics", "get", {"addr-ipv4": "127.0.0.2"})
        assert info.value.errno == errno.ESRCH
        assert "tcp_metrics get" in str(info.value)
    assert "127.0.0.1" in ip("-n", netns, "tcp_metrics", "show")


def test_seg6_tunsrc_by_name_in_netns(netns: str) -> None:
    with in_netns(netns) as sock:
        (reply,) = sock.execute("SEG6", "get-tunsrc")
        assert sock.decode(reply) == {"dst": "::"}  # unset
        assert sock.execute("SEG6", "set-tunsrc", {"dst": "fc00::1"}) == []
        (reply,) = sock.execute("SEG6", "get-tunsrc")
        assert sock.operation_name(reply) == "get-tunsrc"
        assert sock.decode(reply) == {"dst": "fc00::1"}
        raw = reply.attrs.binary(1)
        assert raw == ipaddress.IPv6Address("fc00::1").packed
        # ipaddress objects are taken as the text is.
        sock.execute("SEG6", "set-tunsrc", {"dst": ipaddress.IPv6Address("fc00::2")})
        (reply,) = sock.execute("SEG6", "get-tunsrc")
        assert sock.decode(reply) == {"dst": "fc00::2"}
    assert ip("-n", netns, "sr", "tunsrc", "show").split() == ["tunsrc", "addr", "fc00::2"]


def test_ioam6_namespaces_by_name_in_netns(netns: str) -> None:
    with in_netns(netns) as sock:
        assert sock.dump("IOAM6", "dump-namespaces") == []
        sock.execute(
            "IOAM6", "add-namespace", {"ns-id": 7, "ns-data": 0x1234, "ns-data-wide": 1 << 40}
        )
        sock.execute("IOAM6", "add-namespace", {"ns-id": 9})
        dumped = [sock.decode(m) for m in sock.dump("IOAM6", "dump-namespaces")]
        by_id = {ns["ns-id"]: ns for ns in dumped}
        assert by_id[7] == {"ns-id": 7, "ns-data": 0x1234, "ns-data-wide": 1 << 40}
        assert by_id[9]["ns-id"] == 9
        assert set(by_id) == {7, 9}
        with pytest.raises(NetlinkError) as info:
            sock.execute("IOAM6", "add-namespace", {"ns-id": 7})
        assert info.value.errno == errno.EEXIST
        assert "IOAM6 add-namespace" in str(info.value)
        sock.execute("IOAM6", "del-namespace", {"ns-id": 9})
        assert [sock.decode(m)["ns-id"] for m in sock.dump("IOAM6", "dump-namespaces")] == [7]
    shown = ip("-n", netns, "ioam", "namespace", "show")
    assert "namespace 7, data 0x00001234, wide 0x0000010000000000" in shown


# -- families this kernel lacks, against a fake peer answering by their spec ------------

FAKE_ID = 0x1234  # no kernel family: the peer says what it is


def attr_numbers(spec: FamilySpec, set_name: str, names: Sequence[str]) -> list[int]:
    """Attribute numbers of a path of names, outermost first."""
    numbers = []
    aset: AttrSet | None = spec.attr_set(set_name)
    for name in names:
        assert aset is not None
        attr = aset.by_name[name]
        numbers.append(attr.value)
        aset = spec.attr_set(attr.nested_attributes) if attr.nested_attributes else None
    return numbers


def attr_offset(raw: bytes, path: Sequence[int]) -> int:
    """Offset from the nlmsghdr of the (first) attribute at ``path`` in request ``raw``."""
    pos, end = NLMSG_HDRLEN + GENL_HDRLEN, len(raw)
    for depth, want in enumerate(path):
        while pos + 4 <= end:
            length, attr_type = struct.unpack_from("=HH", raw, pos)
            if attr_type & lib.NLA_TYPE_MASK == want:
                break
            pos += (length + 3) & ~3
        else:
            raise AssertionError(f"no attribute {want} at depth {depth} of {raw.hex()}")
        if depth == len(path) - 1:
            return pos
        pos, end = pos + 4, pos + length
    raise AssertionError("empty path")


Answer = Callable[[FakePeer, Request, str, "dict[str | int, Any]"], None]


class SpecPeer:
    """A fake family served by a spec: nlctrl's answer for it, then requests by that spec.

    Every request is decoded with the spec's codec and kept in ``requests``
    (op name, values, the request); ``answer`` replies to it.
    """

    def __init__(self, peer: FakePeer, spec: FamilySpec, answer: Answer) -> None:
        self.peer = peer
        self.spec = spec
        self.codec = registry.codec_for(spec)
        self.answer = answer
        self.requests: list[tuple[str, dict[str | int, Any], Request]] = []
        self.lock = threading.Lock()
        peer.serve(self)

    def __call__(self, peer: FakePeer, req: Request) -> None:
        if req.family_id == lib.GENL_ID_CTRL:
            self.newfamily(req)
            return
        assert req.family_id == FAKE_ID
        op = self.spec.operation(req.cmd)
        assert op is not None and op.attribute_set is not None, req.cmd
        values = self.codec.decode(op.attribute_set, req.message.data, req.message.attrs_offset)
        with self.lock:
            self.requests.append((op.name, values, req))
        try:
            self.answer(peer, req, op.name, values)
        except BaseException as exc:
            # Fail the request at once (not by its timeout); peer.errors keeps the cause.
            peer.ack(req, -errno.EPROTO, message=f"fake peer failed: {exc}")
            raise

    def newfamily(self, req: Request) -> None:
        """CTRL_CMD_NEWFAMILY for the family asked for, as the kernel would send it."""
        nlctrl = spec_of("nlctrl")
        codec = registry.codec_for(nlctrl)
        asked = codec.decode("ctrl-attrs", req.message.data, req.message.attrs_offset)
        assert asked == {"family-name": self.spec.name}
        ops = [
            {
                "id": op.req_value,
                "flags": ["cmd-cap-do"] + (["cmd-cap-dump"] if "dump" in op.modes else []),
            }
            for op in self.spec.operations
            if op.req_value is not None
        ]
        groups = [{"name": g, "id": 0x40 + i} for i, g in enumerate(self.spec.mcast_groups)]
        values: dict[str, Any] = {
            "family-id": FAKE_ID,
            "family-name": self.spec.name,
            "version": 1,
            "hdrsize": 0,
            "maxattr": 255,
            "ops": ops,
        }
        if groups:
            values["mcast-groups"] = groups
        newfamily = nlctrl.ops["newfamily"].rsp_value
        self.peer.reply(req, codec.encode("ctrl-attrs", values), cmd=newfamily)
        self.peer.ack(req)

    def reply(self, req: Request, op_name: str, *messages: Mapping[str, Any]) -> None:
        """Replies encoded by the spec, with the op's reply id, then the ACK."""
        op = self.spec.ops[op_name]
        assert op.attribute_set is not None
        cmd = op.rsp_value if op.rsp_value is not None else op.req_value
        for values in messages:
            self.peer.reply(req, self.codec.encode(op.attribute_set, values), cmd=cmd)
        self.peer.ack(req)

    def error(self, req: Request, op_name: str, names: Sequence[str], message: str) -> None:
        """EINVAL with an extended ACK pointing at the attribute named by ``names``."""
        op = self.spec.ops[op_name]
        assert op.attribute_set is not None
        offset = attr_offset(req.raw, attr_numbers(self.spec, op.attribute_set, names))
        self.peer.ack(req, -errno.EINVAL, message=message, offset=offset)

    def missing(self, req: Request, op_name: str, nest: Sequence[str], missing: str) -> None:
        """EINVAL saying attribute ``missing`` is missing in the nest named by ``nest``.

        As the kernel's NL_SET_ERR_ATTR_MISS: NLMSGERR_ATTR_MISS_NEST (the
        nest's offset) and NLMSGERR_ATTR_MISS_TYPE (FakePeer.ack has no nest).
        """
        op = self.spec.ops[op_name]
        assert op.attribute_set is not None
        numbers = attr_numbers(self.spec, op.attribute_set, [*nest, missing])
        tlvs = AttributeEncoder()
        tlvs.u32(lib.NLMSGERR_ATTR_MISS_TYPE, numbers[-1])
        tlvs.u32(lib.NLMSGERR_ATTR_MISS_NEST, attr_offset(req.raw, numbers[:-1]))
        payload = struct.pack("=i", -errno.EINVAL) + req.raw[:NLMSG_HDRLEN] + tlvs.encode()
        flags = lib.NLM_F_CAPPED | lib.NLM_F_ACK_TLVS
        self.peer.send_raw(
            req.port, self.peer.message(lib.NLMSG_ERROR, flags, req.seq, self.peer.port, payload)
        )


@pytest.fixture
def fake_peer() -> Iterator[FakePeer]:
    with FakePeer() as p:
        yield p


def fake_client(peer: FakePeer, family: str) -> tuple[GenlSocket, Path]:
    path = kernel_spec(family)
    client = GenlSocket(peer_port=peer.port, specs=[path], timeout=5)
    return client, path


def resolve_fake(client: GenlSocket, family: str, path: Path) -> None:
    # By id the client knows only families it resolved: the peer answers nlctrl's query.
    assert client.spec_for(FAKE_ID) is None
    resolved = client.resolve_family(family)
    assert (resolved.id, resolved.name, resolved.hdrsize) == (FAKE_ID, family, 0)
    spec = client.spec_for(FAKE_ID)
    assert spec is not None and spec.source == str(path)
    assert client.spec_or_policy(FAKE_ID) is spec


def test_devlink_by_names_against_a_fake_peer(fake_peer: FakePeer) -> None:
    def answer(peer: FakePeer, req: Request, op: str, values: dict[str | int, Any]) -> None:
        if op == "get":
            served.reply(
                req,
                op,
                {
                    **values,
                    "reload-failed": 0,
                    "dev-stats": {
                        "reload-stats": {
                            "reload-action-info": [
                                {
                                    "reload-action": "driver-reinit",
                                    "reload-action-stats": [
                                        {
                                            "reload-stats-entry": [
                                                {"reload-stats-limit": 0, "reload-stats-value": 3}
                                            ]
                                        }
                                    ],
                                }
                            ]
                        }
                    },
                },
            )
        elif op == "info-get":
            served.reply(
                req,
                op,
                {
                    **values,
                    "info-driver-name": "netdevsim",
                    "info-version-running": [
                        {"info-version-name": "fw", "info-version-value": "1.2.3"},
                        {"info-version-name": "fw.mgmt", "info-version-value": "4.5"},
                    ],
                },
            )
        elif op == "port-set":
            served.error(req, op, ["port-function", "hw-addr"], "hw address not settable")
        elif op == "port-new":
            peer.ack(req, -errno.EINVAL, message="need an index", missing_type=3)
        else:
            raise AssertionError(op)

    spec = load(kernel_spec("devlink"))
    served = SpecPeer(fake_peer, spec, answer)
    client, path = fake_client(fake_peer, "devlink")
    with client:
        resolve_fake(client, "devlink", path)
        dev = {"bus-name": "netdevsim", "dev-name": "netdevsim1"}

        (reply,) = client.execute(FAKE_ID, "get", dev)
        assert reply.cmd == spec.ops["get"].rsp_value == 3  # DEVLINK_CMD_NEW answers GET
        assert client.operation_name(reply) == "get"
        got = client.decode(reply)
        assert got["bus-name"] == "netdevsim"
        assert got["reload-failed"] == 0
        (info,) = got["dev-stats"]["reload-stats"]["reload-action-info"]
        assert info["reload-action"] == "driver-reinit"
        assert info["reload-action-stats"] == [
            {"reload-stats-entry": [{"reload-stats-limit": 0, "reload-stats-value": 3}]}
        ]

        (reply,) = client.execute(FAKE_ID, "info-get", dev)
        got = client.decode(reply)
        assert got["info-driver-name"] == "netdevsim"
        assert [v["info-version-name"] for v in got["info-version-running"]] == ["fw", "fw.mgmt"]

        port = {**dev, "port-index": 1, "port-type": "eth"}
        function = {"hw-addr": bytes.fromhex("020000000001"), "state": "active"}
        with pytest.raises(InvalidError) as info_exc:
            client.execute(FAKE_ID, "port-set", {**port, "port-function": function})
        exc = info_exc.value
        assert exc.ext_ack.message == "hw address not settable"
        assert exc.ext_ack.attribute_path == (145, 1)  # DEVLINK_ATTR_PORT_FUNCTION / HW_ADDR
        assert exc.ext_ack.attribute_names == ("port-function", "hw-addr")
        assert str(exc).startswith("devlink port-set: ")
        assert "offending attribute port-function/hw-addr" in str(exc)

        with pytest.raises(InvalidError) as info_exc:
            client.execute(FAKE_ID, "port-new", {**dev, "port-flavour": "pci_sf"})
        assert info_exc.value.ext_ack.missing_name == "port-index"

    # The peer read every request by the spec's names, enums by name; numbers on the wire.
    assert [(op, values) for op, values, _ in served.requests] == [
        ("get", dev),
        ("info-get", dev),
        ("port-set", {**port, "port-function": function}),
        ("port-new", {**dev, "port-flavour": "pci_sf"}),
    ]
    port_set = served.requests[2][2].message.attrs
    assert port_set.u16(4) == 2  # DEVLINK_PORT_TYPE_ETH
    assert port_set.nested(145).u8(2) == 1  # DEVLINK_PORT_FN_STATE_ACTIVE
    assert served.requests[3][2].message.attrs.u16(77) == 7  # DEVLINK_PORT_FLAVOUR_PCI_SF
    assert fake_peer.errors == []


def test_dpll_by_names_against_a_fake_peer(fake_peer: FakePeer) -> None:
    device = {
        "id": 3,
        "module-name": "ice",
        "mode": "automatic",
        "mode-supported": ["manual", "automatic"],
        "lock-status": "locked-ho-acq",
        "lock-status-error": "none",
        "temp": -1500,
        "clock-id": 0x1122334455667788,
        "type": "eec",
    }

    def answer(peer: FakePeer, req: Request, op: str, values: dict[str | int, Any]) -> None:
        if op == "device-id-get":
            served.reply(req, op, {"id": 3})
        elif op == "device-get" and req.message.flags & lib.NLM_F_DUMP == lib.NLM_F_DUMP:
            codec = served.codec
            peer.dump(
                req,
                [
                    [codec.encode("dpll", device)],
                    [codec.encode("dpll", {**device, "id": 4, "type": "pps", "mode": "manual"})],
                ],
            )
        elif op == "pin-get":
            served.reply(
                req,
                op,
                {
                    "id": values["id"],
                    "board-label": "SMA1",
                    "type": "ext",
                    "capabilities": ["state-can-change", "priority-can-change"],
                    "frequency": 10_000_000,
                    "frequency-supported": [
                        {"frequency-min": 1, "frequency-max": 1},
                        {"frequency-min": 10_000_000, "frequency-max": 10_000_000},
                    ],
                    "parent-device": [
                        {"parent-id": 3, "direction": "input", "prio": 2, "state": "selectable"}
                    ],
                    "fractional-frequency-offset": -(1 << 40),
                },
            )
        elif op == "pin-set":
            served.error(req, op, ["parent-device", "prio"], "prio out of range")
        else:
            raise AssertionError(op)

    spec = load(kernel_spec("dpll"))
    served = SpecPeer(fake_peer, spec, answer)
    client, path = fake_client(fake_peer, "dpll")
    with client:
        resolve_fake(client, "dpll", path)
        ask = {"module-name": "ice", "clock-id": 0x1122334455667788, "type": "eec"}
        (reply,) = client.execute(FAKE_ID, "device-id-get", ask)
        assert client.decode(reply) == {"id": 3}

        dumped = client.dump(FAKE_ID, "device-get")
        assert [client.operation_name(m) for m in dumped] == ["device-get", "device-get"]
        first, second = (client.decode(m) for m in dumped)
        assert first == device
        assert (second["id"], second["type"], second["mode"]) == (4, "pps", "manual")
        raw = dumped[0].attrs
        assert [a.u32() for a in raw.get_all(6)] == [1, 2]  # DPLL_MODE_MANUAL, _AUTOMATIC
        assert raw.u32(7) == 3  # DPLL_LOCK_STATUS_LOCKED_HO_ACQ
        assert raw.s32(8) == -1500

        (reply,) = client.execute(FAKE_ID, "pin-get", {"id": 12})
        pin = client.decode(reply)
        # Flags come back in bit order, whatever order they were given in.
        assert pin["capabilities"] == ["priority-can-change", "state-can-change"]
        assert reply.attrs.u32(17) == 0b110
        assert pin["type"] == "ext"
        assert pin["parent-device"] == [
            {"parent-id": 3, "direction": "input", "prio": 2, "state": "selectable"}
        ]
        assert [f["frequency-min"] for f in pin["frequency-supported"]] == [1, 10_000_000]
        assert pin["fractional-frequency-offset"] == -(1 << 40)

        request = {"id": 12, "parent-device": [{"parent-id": 3, "prio": 300, "state": "connected"}]}
        with pytest.raises(InvalidError) as info:
            client.execute(FAKE_ID, "pin-set", request)
        assert info.value.ext_ack.attribute_names == ("parent-device", "prio")
        assert info.value.ext_ack.attribute_path == (18, 15)
        assert str(info.value).startswith("dpll pin-set: ")

    assert [op for op, _values, _req in served.requests] == [
        "device-id-get",
        "device-get",
        "pin-get",
        "pin-set",
    ]
    assert served.requests[0][1] == ask
    assert served.requests[0][2].message.attrs.u32(9) == 2  # DPLL_TYPE_EEC
    assert served.requests[3][1] == request
    assert served.requests[3][2].message.attrs.nested(18).u32(16) == 1  # CONNECTED
    assert fake_peer.errors == []


def test_team_by_names_against_a_fake_peer(fake_peer: FakePeer) -> None:
    def answer(peer: FakePeer, req: Request, op: str, values: dict[str | int, Any]) -> None:
        if op == "options-get":
            served.reply(
                req,
                op,
                {
                    "team-ifindex": values["team-ifindex"],
                    "list-option": {
                        "option": {"name": "mode", "type": 3, "data": b"activebackup\0"}
                    },
                },
            )
        elif op == "port-list-get":
            served.reply(
                req,
                op,
                {
                    "team-ifindex": values["team-ifindex"],
                    "list-port": {
                        "port": {"ifindex": 8, "linkup": True, "speed": 1000, "duplex": 1}
                    },
                },
            )
        elif op == "options-set" and "type" not in values["list-option"]["option"]:
            served.missing(req, op, ["list-option", "option"], "type")
        elif op == "options-set":
            served.error(req, op, ["list-option", "option", "data"], "no such mode")
        else:
            raise AssertionError(op)

    spec = load(kernel_spec("team"))
    served = SpecPeer(fake_peer, spec, answer)
    client, path = fake_client(fake_peer, "team")
    with client:
        resolve_fake(client, "team", path)
        (reply,) = client.execute(FAKE_ID, "options-get", {"team-ifindex": 7})
        assert client.operation_name(reply) == "options-get"
        assert client.decode(reply) == {
            "team-ifindex": 7,
            "list-option": {"option": {"name": "mode", "type": 3, "data": b"activebackup\0"}},
        }
        (reply,) = client.execute(FAKE_ID, "port-list-get", {"team-ifindex": 7})
        got = client.decode(reply)
        assert got["list-port"]["port"] == {
            "ifindex": 8,
            "linkup": True,
            "speed": 1000,
            "duplex": 1,
        }

        option = {"name": "mode", "type": 3, "data": b"sideways\0"}
        with pytest.raises(InvalidError) as info:
            client.execute(
                FAKE_ID, "options-set", {"team-ifindex": 7, "list-option": {"option": option}}
            )
        exc = info.value
        assert exc.ext_ack.attribute_path == (2, 1, 4)
        assert exc.ext_ack.attribute_names == ("list-option", "option", "data")
        assert "offending attribute list-option/option/data" in str(exc)
        assert str(exc).startswith("team options-set: Invalid argument: no such mode; ")

        # A missing attribute inside a nest is named from that nest's set.
        untyped = {"name": "mode", "data": b"roundrobin\0"}
        with pytest.raises(InvalidError) as info:
            client.execute(
                FAKE_ID, "options-set", {"team-ifindex": 7, "list-option": {"option": untyped}}
            )
        assert info.value.ext_ack.missing_type == 3  # TEAM_ATTR_OPTION_TYPE
        assert info.value.ext_ack.missing_nest is not None
        assert info.value.ext_ack.missing_name == "type"
        assert "missing attribute type" in str(info.value)

    assert [(op, values) for op, values, _ in served.requests] == [
        ("options-get", {"team-ifindex": 7}),
        ("port-list-get", {"team-ifindex": 7}),
        ("options-set", {"team-ifindex": 7, "list-option": {"option": option}}),
        ("options-set", {"team-ifindex": 7, "list-option": {"option": untyped}}),
    ]
    assert fake_peer.errors == []


def test_fake_family_unresolved_cannot_go_by_names(fake_peer: FakePeer) -> None:
    """By a bare id the client knows no spec: names need the family resolved (or a Family)."""
    client, _path = fake_client(fake_peer, "team")
    with client, pytest.raises(NetlinkError, match="no spec describes"):
        client.execute(FAKE_ID, "options-get", {"team-ifindex": 7})
