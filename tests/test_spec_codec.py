"""libnl_py.spec.codec: Codec encode/decode on specs written for the test.

Expected wire bytes are built by hand with :mod:`struct` (``nlattr`` from
conftest pads to 4 bytes), never by the code under test.
"""

from __future__ import annotations

import contextlib
import ipaddress
import struct
import uuid
from typing import Any

import pytest
from conftest import nlattr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libnl_py.attrs import MalformedAttributesError
from libnl_py.spec import Codec, EncodeError, FamilySpec, Typed
from libnl_py.spec.codec import EncodeTypeError, UnknownAttributeError

NESTED = 0x8000

INT_ATTRS = [
    # name, YNL type, byte order, struct format, min, max
    ("u8", "u8", None, "=B", 0, 2**8 - 1),
    ("u16", "u16", None, "=H", 0, 2**16 - 1),
    ("u32", "u32", None, "=I", 0, 2**32 - 1),
    ("u64", "u64", None, "=Q", 0, 2**64 - 1),
    ("s8", "s8", None, "=b", -(2**7), 2**7 - 1),
    ("s16", "s16", None, "=h", -(2**15), 2**15 - 1),
    ("s32", "s32", None, "=i", -(2**31), 2**31 - 1),
    ("s64", "s64", None, "=q", -(2**63), 2**63 - 1),
    ("be16", "u16", "big-endian", ">H", 0, 2**16 - 1),
    ("be32", "u32", "big-endian", ">I", 0, 2**32 - 1),
    ("be64", "u64", "big-endian", ">Q", 0, 2**64 - 1),
    ("bes16", "s16", "big-endian", ">h", -(2**15), 2**15 - 1),
    ("bes64", "s64", "big-endian", ">q", -(2**63), 2**63 - 1),
    ("le32", "u32", "little-endian", "<I", 0, 2**32 - 1),
]


def _int_attr(name: str, kind: str, order: str | None) -> dict[str, Any]:
    attr: dict[str, Any] = {"name": name, "type": kind}
    if order is not None:
        attr["byte-order"] = order
    return attr


SPEC = FamilySpec.from_dict(
    {
        "name": "codec-test",
        "definitions": [
            {
                "name": "colour",
                "type": "enum",
                "value-start": 5,
                "entries": ["red", "green", "blue"],
            },
            {"name": "fl", "type": "flags", "entries": ["a", "b", {"name": "d", "value": 3}]},
            {
                "name": "pt",
                "type": "struct",
                "members": [
                    {"name": "x", "type": "u16"},
                    {"name": "pad", "type": "pad", "len": 2},
                    {"name": "y", "type": "u32", "byte-order": "big-endian"},
                    {"name": "c", "type": "u8", "enum": "colour"},
                    {"name": "mac", "type": "binary", "len": 6, "display-hint": "mac"},
                    {"name": "tag", "type": "string", "len": 5},
                ],
            },
            {
                "name": "hdr",
                "type": "struct",
                "members": [
                    {"name": "family", "type": "u8"},
                    {"name": "pad", "type": "pad", "len": 3},
                    {"name": "ifindex", "type": "s32"},
                ],
            },
        ],
        "attribute-sets": [
            {
                "name": "all",
                "attributes": [
                    *(_int_attr(name, kind, order) for name, kind, order, *_ in INT_ATTRS),
                    {"name": "uint", "type": "uint"},  # 15
                    {"name": "sint", "type": "sint"},
                    {"name": "str", "type": "string"},
                    {"name": "bin", "type": "binary"},
                    {"name": "flag", "type": "flag"},
                    {"name": "pt", "type": "binary", "struct": "pt"},  # 20
                    {"name": "arr", "type": "binary", "sub-type": "u16"},
                    {
                        "name": "arr-be",
                        "type": "binary",
                        "sub-type": "u32",
                        "byte-order": "big-endian",
                    },
                    {"name": "colour", "type": "u32", "enum": "colour"},
                    {"name": "flags", "type": "u32", "enum": "fl"},
                    {"name": "eflags", "type": "u8", "enum": "colour", "enum-as-flags": True},  # 25
                    {"name": "bf", "type": "bitfield32", "enum": "fl"},
                    {"name": "bfr", "type": "bitfield32"},
                    {"name": "nest", "type": "nest", "nested-attributes": "inner"},
                    {"name": "multi", "type": "u32", "multi-attr": True},
                    {
                        "name": "multi-nest",
                        "type": "nest",
                        "nested-attributes": "inner",
                        "multi-attr": True,
                    },  # 30
                    {"name": "ia", "type": "indexed-array", "sub-type": "u32"},
                    {
                        "name": "ian",
                        "type": "indexed-array",
                        "sub-type": "nest",
                        "nested-attributes": "inner",
                    },
                    {
                        "name": "ntv",
                        "type": "nest-type-value",
                        "nested-attributes": "inner",
                        "type-value": ["id"],
                    },
                    {
                        "name": "ip-be",
                        "type": "u32",
                        "byte-order": "big-endian",
                        "display-hint": "ipv4",
                    },
                    {"name": "ip-ne", "type": "u32", "display-hint": "ipv4"},  # 35
                    {"name": "v6", "type": "binary", "display-hint": "ipv6"},
                    {"name": "mac", "type": "binary", "display-hint": "mac"},
                    {"name": "uuid", "type": "binary", "display-hint": "uuid"},
                    {"name": "any-ip", "type": "binary", "display-hint": "ipv4-or-v6"},
                    {"name": "hex", "type": "binary", "display-hint": "hex"},  # 40
                    {"name": "name", "type": "string", "checks": {"max-len": 4}},
                    {"name": "key", "type": "binary", "checks": {"exact-len": 2}},
                    {"name": "level", "type": "u8", "checks": {"min": 2, "max": 10}},
                    {"name": "small", "type": "binary", "checks": {"min-len": 1, "max-len": 3}},
                    {"name": "link", "type": "nest", "nested-attributes": "link"},  # 45
                    {"name": "pad", "type": "pad"},
                    {"name": "named-max", "type": "u32", "checks": {"max": "SOME_C_MAX"}},
                ],
            },
            {
                "name": "inner",
                "attributes": [{"name": "v", "type": "u32"}, {"name": "s", "type": "string"}],
            },
            {
                "name": "link",
                "attributes": [
                    {"name": "kind", "type": "string"},
                    {
                        "name": "data",
                        "type": "sub-message",
                        "sub-message": "info",
                        "selector": "kind",
                    },
                ],
            },
            {
                "name": "vlan",
                "attributes": [
                    {"name": "id", "type": "u16"},
                    {"name": "proto", "type": "u16", "byte-order": "big-endian"},
                ],
            },
            {
                "name": "tree",
                "attributes": [{"name": "child", "type": "nest", "nested-attributes": "tree"}],
            },
        ],
        "sub-messages": [
            {
                "name": "info",
                "formats": [
                    {"value": "vlan", "attribute-set": "vlan"},
                    {"value": "hdr", "fixed-header": "hdr"},
                    {"value": "both", "fixed-header": "hdr", "attribute-set": "vlan"},
                ],
            }
        ],
        "operations": {
            "list": [
                {
                    "name": "get",
                    "attribute-set": "all",
                    "fixed-header": "hdr",
                    "do": {"request": {"attributes": ["u8"]}, "reply": {"attributes": ["u8"]}},
                }
            ]
        },
    }
)
CODEC = Codec(SPEC)
NUM = {a.name: a.value for a in SPEC.attr_set("all").attributes}


def nest(atype: int, payload: bytes) -> bytes:
    return nlattr(atype | NESTED, payload)


def enc(values: dict[Any, Any], set_name: str = "all") -> bytes:
    return CODEC.encode(set_name, values)


def dec(data: bytes, set_name: str = "all") -> dict[Any, Any]:
    return CODEC.decode(set_name, data)


# -- integers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "low", "high"), [(a[0], a[3], a[4], a[5]) for a in INT_ATTRS]
)
def test_integers_at_both_ends_of_their_range(name: str, fmt: str, low: int, high: int) -> None:
    for value in (low, high, (low + high) // 2):
        wire = nlattr(NUM[name], struct.pack(fmt, value))
        assert enc({name: value}) == wire
        assert dec(wire) == {name: value}


@pytest.mark.parametrize(("name", "low", "high"), [(a[0], a[4], a[5]) for a in INT_ATTRS])
def test_integers_out_of_range_raise(name: str, low: int, high: int) -> None:
    for value in (low - 1, high + 1):
        with pytest.raises(EncodeError, match=rf"all\.{name}: {value} is out of range"):
            enc({name: value})


def test_big_endian_is_network_order() -> None:
    assert enc({"be16": 0x1234}) == struct.pack("=HH", 6, NUM["be16"]) + b"\x12\x34\0\0"
    assert enc({"bes16": -2}) == struct.pack("=HH", 6, NUM["bes16"]) + b"\xff\xfe\0\0"


@pytest.mark.parametrize("value", [True, "1", 1.0, None, b"\x01"])
def test_integers_refuse_other_types(value: Any) -> None:
    with pytest.raises(EncodeTypeError, match="u32 needs an integer"):
        enc({"u32": value})
    assert issubclass(EncodeTypeError, TypeError)


@pytest.mark.parametrize(
    ("name", "value", "size"),
    [
        ("uint", 0, 4),
        ("uint", 2**32 - 1, 4),
        ("uint", 2**32, 8),
        ("uint", 2**64 - 1, 8),
        ("sint", -(2**31), 4),
        ("sint", 2**31 - 1, 4),
        ("sint", 2**31, 8),
        ("sint", -(2**31) - 1, 8),
        ("sint", -(2**63), 8),
    ],
)
def test_uint_and_sint_take_4_or_8_bytes(name: str, value: int, size: int) -> None:
    payload = value.to_bytes(size, "little", signed=name == "sint")
    wire = nlattr(NUM[name], payload)
    assert enc({name: value}) == wire
    assert dec(wire) == {name: value}


@pytest.mark.parametrize(("name", "value"), [("uint", -1), ("uint", 2**64), ("sint", 2**63)])
def test_uint_and_sint_ranges(name: str, value: int) -> None:
    with pytest.raises(EncodeError, match="out of range"):
        enc({name: value})


@pytest.mark.parametrize("size", [1, 2, 4, 8])
def test_uint_decodes_every_width(size: int) -> None:
    assert dec(nlattr(NUM["uint"], (2**size).to_bytes(size, "little"))) == {"uint": 2**size}
    assert dec(nlattr(NUM["sint"], (-3).to_bytes(size, "little", signed=True))) == {"sint": -3}


def test_short_integer_payload_is_malformed() -> None:
    with pytest.raises(MalformedAttributesError):
        dec(nlattr(NUM["u32"], b"\1\2"))
    with pytest.raises(MalformedAttributesError):
        dec(nlattr(NUM["uint"], b"\1\2\3"))


# -- strings, binary, flags -----------------------------------------------------------------


def test_string_is_nul_terminated_on_the_wire() -> None:
    wire = nlattr(NUM["str"], b"abc\0")
    assert wire == struct.pack("=HH", 8, NUM["str"]) + b"abc\0"
    assert enc({"str": "abc"}) == wire
    assert dec(wire) == {"str": "abc"}
    assert dec(nlattr(NUM["str"], b"abc")) == {"str": "abc"}  # no NUL: all of it
    assert dec(nlattr(NUM["str"], b"ab\0junk")) == {"str": "ab"}
    assert enc({"str": "é"}) == nlattr(NUM["str"], "é".encode() + b"\0")


@pytest.mark.parametrize("value", [b"abc", 3, None])
def test_string_refuses_other_types(value: Any) -> None:
    with pytest.raises(EncodeError, match="string needs str"):
        enc({"str": value})


def test_a_decoded_string_encodes_back_to_its_bytes() -> None:
    wire = nlattr(NUM["str"], b"\xff\0")
    decoded = dec(wire)
    assert decoded == {"str": "\udcff"}
    assert enc(decoded) == wire


@pytest.mark.parametrize(
    "value", [b"\x00\x01\x02", bytearray(b"\x00\x01\x02"), memoryview(b"\x00\x01\x02")]
)
def test_binary_takes_bytes_like_values(value: Any) -> None:
    wire = nlattr(NUM["bin"], b"\x00\x01\x02")
    assert enc({"bin": value}) == wire
    assert dec(wire) == {"bin": b"\x00\x01\x02"}


def test_binary_without_hint_refuses_text() -> None:
    with pytest.raises(EncodeError, match="binary needs bytes, not str"):
        enc({"bin": "00ff"})


def test_flag_is_present_or_absent() -> None:
    assert enc({"flag": True}) == struct.pack("=HH", 4, NUM["flag"])
    assert enc({"flag": False}) == b""
    assert dec(struct.pack("=HH", 4, NUM["flag"])) == {"flag": True}
    with pytest.raises(EncodeError, match="a flag takes True or False"):
        enc({"flag": 1})


def test_pad_attributes_are_skipped_when_decoding() -> None:
    data = nlattr(NUM["pad"], bytes(4)) + nlattr(NUM["u8"], b"\x07")
    assert dec(data) == {"u8": 7}


# -- structs and arrays in binary attributes -------------------------------------------------------


def test_binary_struct_packs_members_with_pad_and_byte_order() -> None:
    payload = (
        struct.pack("=H2x", 0x0102)
        + struct.pack(">I", 0x0A0B0C0D)
        + struct.pack("=B", 6)
        + bytes.fromhex("aabbccddeeff")
        + b"ab\0\0\0"
    )
    wire = nlattr(NUM["pt"], payload)
    value = {"x": 0x0102, "y": 0x0A0B0C0D, "c": "green", "mac": "aa:bb:cc:dd:ee:ff", "tag": "ab"}
    assert SPEC.struct("pt").size == len(payload) == 20
    assert enc({"pt": value}) == wire
    assert dec(wire) == {"pt": value}
    assert enc({"pt": {"x": 1}}) == nlattr(NUM["pt"], struct.pack("=H", 1) + bytes(18))
    assert enc({"pt": payload}) == wire  # bytes go through as they are


def test_binary_struct_errors() -> None:
    with pytest.raises(EncodeError, match="struct pt has no member 'z'"):
        enc({"pt": {"z": 1}})
    with pytest.raises(EncodeError, match=r"all\.pt\.x: 65536 is out of range"):
        enc({"pt": {"x": 65536}})
    with pytest.raises(EncodeError, match=r"all\.pt\.tag: 6 bytes do not fit in 5"):
        enc({"pt": {"tag": "abcdef"}})
    with pytest.raises(MalformedAttributesError, match="too short for struct pt"):
        dec(nlattr(NUM["pt"], bytes(17)))


def test_binary_sub_type_is_a_c_array() -> None:
    wire = nlattr(NUM["arr"], struct.pack("=3H", 1, 2, 0xFFFF))
    assert enc({"arr": [1, 2, 0xFFFF]}) == wire
    assert dec(wire) == {"arr": [1, 2, 0xFFFF]}
    wire_be = nlattr(NUM["arr-be"], struct.pack(">2I", 1, 0x01020304))
    assert enc({"arr-be": (1, 0x01020304)}) == wire_be
    assert dec(wire_be) == {"arr-be": [1, 0x01020304]}
    assert dec(nlattr(NUM["arr"], b"")) == {"arr": []}
    with pytest.raises(EncodeError, match="out of range for u16"):
        enc({"arr": [1, 65536]})


# -- enums and flags ----------------------------------------------------------------------------


def test_enums_by_name_and_by_number() -> None:
    wire = nlattr(NUM["colour"], struct.pack("=I", 6))
    assert enc({"colour": "green"}) == wire
    assert enc({"colour": 6}) == wire
    assert dec(wire) == {"colour": "green"}
    unknown = nlattr(NUM["colour"], struct.pack("=I", 99))
    assert enc({"colour": 99}) == unknown
    assert dec(unknown) == {"colour": 99}  # a number the enum lacks stays a number


def test_unknown_enum_name_lists_the_known_ones() -> None:
    with pytest.raises(
        EncodeError, match=r"'pink' is not a value of colour \(known: red, green, blue\)"
    ):
        enc({"colour": "pink"})


def test_flags_are_lists_of_names() -> None:
    wire = nlattr(NUM["flags"], struct.pack("=I", 0b1001))
    assert enc({"flags": ["a", "d"]}) == wire
    assert enc({"flags": ["d", "a"]}) == wire
    assert enc({"flags": 0b1001}) == wire
    assert enc({"flags": "d"}) == nlattr(NUM["flags"], struct.pack("=I", 0b1000))
    assert dec(wire) == {"flags": ["a", "d"]}
    assert enc({"flags": []}) == nlattr(NUM["flags"], struct.pack("=I", 0))
    assert dec(nlattr(NUM["flags"], struct.pack("=I", 0))) == {"flags": []}


def test_flag_bits_without_a_name_stay_numbers() -> None:
    wire = nlattr(NUM["flags"], struct.pack("=I", 0b10110))  # bits 1 (b), 2 (none), 4 (none)
    assert dec(wire) == {"flags": ["b", 4, 16]}
    assert enc({"flags": ["b", 4, 16]}) == wire


def test_unknown_flag_name_lists_the_known_ones() -> None:
    with pytest.raises(EncodeError, match=r"'zz' is not a flag of fl \(known: a, b, d\)"):
        enc({"flags": ["a", "zz"]})


def test_enum_as_flags_uses_enum_values_as_bit_numbers() -> None:
    wire = nlattr(NUM["eflags"], struct.pack("=B", 1 << 5 | 1 << 7))
    assert enc({"eflags": ["red", "blue"]}) == wire
    assert dec(wire) == {"eflags": ["red", "blue"]}


def test_bitfield32_with_a_flags_enum() -> None:
    wire = nlattr(NUM["bf"], struct.pack("=II", 0b0001, 0b1011))
    assert enc({"bf": {"value": ["a"], "selector": ["a", "b", "d"]}}) == wire
    assert dec(wire) == {"bf": {"value": ["a"], "selector": ["a", "b", "d"]}}
    # Without a selector, the bits given are the bits changed.
    assert enc({"bf": {"value": ["b"]}}) == nlattr(NUM["bf"], struct.pack("=II", 2, 2))


def test_bitfield32_of_numbers() -> None:
    wire = nlattr(NUM["bfr"], struct.pack("=II", 5, 7))
    assert enc({"bfr": {"value": 5, "selector": 7}}) == wire
    assert dec(wire) == {"bfr": {"value": 5, "selector": 7}}
    with pytest.raises(EncodeError, match="bitfield32 takes"):
        enc({"bfr": 5})
    with pytest.raises(EncodeError, match="bitfield32 takes"):
        enc({"bfr": {"value": 1, "mask": 1}})
    with pytest.raises(MalformedAttributesError):
        dec(nlattr(NUM["bfr"], bytes(4)))


# -- nests -----------------------------------------------------------------------------------------


def test_nest_sets_nla_f_nested() -> None:
    inner = nlattr(1, struct.pack("=I", 7)) + nlattr(2, b"hi\0")
    wire = nest(NUM["nest"], inner)
    assert wire[:4] == struct.pack("=HH", 4 + len(inner), NUM["nest"] | NESTED)
    assert enc({"nest": {"v": 7, "s": "hi"}}) == wire
    assert dec(wire) == {"nest": {"v": 7, "s": "hi"}}
    with pytest.raises(EncodeError, match="inner needs a mapping"):
        enc({"nest": [1]})


def test_multi_attr_repeats_the_attribute() -> None:
    wire = b"".join(nlattr(NUM["multi"], struct.pack("=I", v)) for v in (1, 2, 3))
    assert enc({"multi": [1, 2, 3]}) == wire
    assert dec(wire) == {"multi": [1, 2, 3]}
    assert enc({"multi": 4}) == nlattr(NUM["multi"], struct.pack("=I", 4))
    assert dec(nlattr(NUM["multi"], struct.pack("=I", 4))) == {"multi": [4]}
    nests = nest(NUM["multi-nest"], nlattr(1, struct.pack("=I", 1))) + nest(
        NUM["multi-nest"], nlattr(2, b"x\0")
    )
    assert enc({"multi-nest": [{"v": 1}, {"s": "x"}]}) == nests
    assert dec(nests) == {"multi-nest": [{"v": 1}, {"s": "x"}]}


def test_indexed_array_of_scalars() -> None:
    wire = nest(NUM["ia"], nlattr(1, struct.pack("=I", 7)) + nlattr(2, struct.pack("=I", 8)))
    assert enc({"ia": [7, 8]}) == wire
    assert dec(wire) == {"ia": [7, 8]}
    # The kernel's indices need not start at 1: order is what counts.
    assert dec(nest(NUM["ia"], nlattr(0, struct.pack("=I", 9)))) == {"ia": [9]}
    assert enc({"ia": []}) == nest(NUM["ia"], b"")
    with pytest.raises(EncodeError, match="indexed-array takes a list"):
        enc({"ia": {"v": 1}})


def test_indexed_array_of_nests() -> None:
    wire = nest(
        NUM["ian"],
        nest(1, nlattr(1, struct.pack("=I", 1))) + nest(2, nlattr(2, b"b\0")),
    )
    assert enc({"ian": [{"v": 1}, {"s": "b"}]}) == wire
    assert dec(wire) == {"ian": [{"v": 1}, {"s": "b"}]}


def test_nest_type_value_keys_are_numbers() -> None:
    wire = nest(NUM["ntv"], nest(7, nlattr(1, struct.pack("=I", 1))) + nest(3, nlattr(2, b"z\0")))
    assert enc({"ntv": {7: {"v": 1}, 3: {"s": "z"}}}) == wire
    assert dec(wire) == {"ntv": {7: {"v": 1}, 3: {"s": "z"}}}
    with pytest.raises(EncodeError, match="nest-type-value keys are numbers"):
        enc({"ntv": {"seven": {"v": 1}}})


# -- sub-messages ----------------------------------------------------------------------------------


def test_sub_message_follows_its_selector() -> None:
    body = nlattr(1, struct.pack("=H", 5)) + nlattr(2, struct.pack(">H", 0x8100))
    wire = nest(NUM["link"], nlattr(1, b"vlan\0") + nest(2, body))
    value = {"link": {"kind": "vlan", "data": {"id": 5, "proto": 0x8100}}}
    assert enc(value) == wire
    assert dec(wire) == value


def test_sub_message_with_a_fixed_header() -> None:
    header = struct.pack("=B3xi", 2, -1)
    wire = nest(NUM["link"], nlattr(1, b"hdr\0") + nest(2, header))
    value = {"link": {"kind": "hdr", "data": {"family": 2, "ifindex": -1}}}
    assert enc(value) == wire
    assert dec(wire) == value
    both = nest(
        NUM["link"], nlattr(1, b"both\0") + nest(2, header + nlattr(1, struct.pack("=H", 9)))
    )
    value = {"link": {"kind": "both", "data": {"family": 2, "ifindex": -1, "id": 9}}}
    assert enc(value) == both
    assert dec(both) == value


def test_sub_message_with_an_unknown_selector_value() -> None:
    wire = nest(NUM["link"], nlattr(1, b"veth\0") + nlattr(2, b"\x01\x02"))
    assert dec(wire) == {"link": {"kind": "veth", "data": b"\x01\x02"}}
    assert enc({"link": {"kind": "veth", "data": b"\x01\x02"}}) == wire
    with pytest.raises(EncodeError, match="no format for selector kind='veth'"):
        enc({"link": {"kind": "veth", "data": {"id": 1}}})
    with pytest.raises(EncodeError, match="this format has no attributes"):
        enc({"link": {"kind": "hdr", "data": {"family": 1, "id": 1}}})


TOP_SUB = FamilySpec.from_dict(
    {
        "name": "top-sub",
        "attribute-sets": [
            {
                "name": "top",
                "attributes": [
                    {"name": "kind", "type": "string"},
                    {
                        "name": "options",
                        "type": "sub-message",
                        "sub-message": "opts",
                        "selector": "kind",
                    },
                ],
            },
            {"name": "x", "attributes": [{"name": "v", "type": "u32"}]},
        ],
        "sub-messages": [{"name": "opts", "formats": [{"value": "x", "attribute-set": "x"}]}],
    }
)


def test_sub_message_at_the_top_level_decodes_by_its_selector() -> None:
    codec = Codec(TOP_SUB)
    value = {"kind": "x", "options": {"v": 5}}
    wire = nlattr(1, b"x\0") + nest(2, nlattr(1, struct.pack("=I", 5)))
    assert codec.encode("top", value) == wire
    assert codec.decode("top", wire) == value  # today: {'kind': 'x', 'options': b'...'}


# -- display hints ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ip-be", "ip-ne"])
def test_ipv4_hint_on_a_u32_is_network_order_whatever_its_byte_order(name: str) -> None:
    wire = nlattr(NUM[name], bytes([192, 0, 2, 1]))
    assert enc({name: "192.0.2.1"}) == wire
    assert enc({name: ipaddress.IPv4Address("192.0.2.1")}) == wire
    assert dec(wire) == {name: "192.0.2.1"}
    with pytest.raises(EncodeError, match=r"'192\.0\.2' is not an IPv4 address"):
        enc({name: "192.0.2"})


def test_ipv4_hint_still_takes_numbers_in_the_attributes_byte_order() -> None:
    assert enc({"ip-be": 0xC0000201}) == nlattr(NUM["ip-be"], struct.pack(">I", 0xC0000201))
    assert enc({"ip-ne": 0xC0000201}) == nlattr(NUM["ip-ne"], struct.pack("=I", 0xC0000201))


@pytest.mark.parametrize(
    ("name", "text", "obj", "raw"),
    [
        (
            "v6",
            "2001:db8::1",
            ipaddress.IPv6Address("2001:db8::1"),
            ipaddress.IPv6Address("2001:db8::1").packed,
        ),
        (
            "any-ip",
            "192.0.2.7",
            ipaddress.IPv4Address("192.0.2.7"),
            bytes([192, 0, 2, 7]),
        ),
        (
            "any-ip",
            "fe80::1",
            ipaddress.IPv6Address("fe80::1"),
            ipaddress.IPv6Address("fe80::1").packed,
        ),
        (
            "uuid",
            "12345678-9abc-def0-1234-56789abcdef0",
            uuid.UUID("12345678-9abc-def0-1234-56789abcdef0"),
            bytes.fromhex("123456789abcdef0123456789abcdef0"),
        ),
    ],
)
def test_address_hints_on_binary(name: str, text: str, obj: Any, raw: bytes) -> None:
    wire = nlattr(NUM[name], raw)
    assert enc({name: text}) == wire
    assert enc({name: obj}) == wire
    assert enc({name: raw}) == wire
    assert dec(wire) == {name: text}


def test_mac_hint() -> None:
    wire = nlattr(NUM["mac"], bytes.fromhex("0a1b2c3d4e5f"))
    assert enc({"mac": "0A:1b:2c:3d:4e:5f"}) == wire
    assert enc({"mac": "0a-1b-2c-3d-4e-5f"}) == wire
    assert dec(wire) == {"mac": "0a:1b:2c:3d:4e:5f"}
    with pytest.raises(EncodeError, match="'0a:zz' is not a mac value"):
        enc({"mac": "0a:zz"})


def test_hex_hint_takes_hex_text_and_decodes_to_bytes() -> None:
    wire = nlattr(NUM["hex"], b"\x00\xff")
    assert enc({"hex": "00ff"}) == wire
    assert dec(wire) == {"hex": b"\x00\xff"}


def test_address_hint_of_an_odd_length_decodes_to_bytes() -> None:
    assert dec(nlattr(NUM["v6"], b"\1\2\3")) == {"v6": b"\1\2\3"}
    assert dec(nlattr(NUM["uuid"], b"\1\2")) == {"uuid": b"\1\2"}
    with pytest.raises(EncodeError, match="is not a ipv6 value"):
        enc({"v6": "not-an-address"})


# -- checks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"name": "abcde"}, r"all\.name: 5 is above its max-len 4"),
        ({"key": b"abc"}, r"all\.key: 3 bytes, the attribute takes exactly 2"),
        ({"key": b"a"}, r"all\.key: 1 bytes, the attribute takes exactly 2"),
        ({"level": 1}, r"all\.level: 1 is below its min 2"),
        ({"level": 11}, r"all\.level: 11 is above its max 10"),
        ({"small": b""}, r"all\.small: 0 is below its min-len 1"),
        ({"small": b"abcd"}, r"all\.small: 4 is above its max-len 3"),
        # A good attribute first: nothing is returned, not even the part that fitted.
        ({"u8": 1, "level": 0}, r"all\.level: 0 is below its min 2"),
    ],
)
def test_checks_raise_encode_error(values: dict[str, Any], message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        enc(values)


def test_values_at_the_limits_pass_their_checks() -> None:
    assert enc({"name": "abcd"}) == nlattr(NUM["name"], b"abcd\0")
    assert enc({"key": b"ab"}) == nlattr(NUM["key"], b"ab")
    assert enc({"level": 2, "small": b"a"}) == nlattr(NUM["level"], b"\2") + nlattr(
        NUM["small"], b"a"
    )
    assert enc({"level": 10}) == nlattr(NUM["level"], b"\x0a")
    # A limit given by a C constant's name is the kernel's to check.
    assert enc({"named-max": 2**32 - 1}) == nlattr(NUM["named-max"], struct.pack("=I", 2**32 - 1))


# -- keys: names, numbers, unknowns ----------------------------------------------------------------


def test_known_attributes_by_number() -> None:
    assert enc({NUM["u32"]: 5}) == enc({"u32": 5}) == nlattr(NUM["u32"], struct.pack("=I", 5))
    assert enc({NUM["colour"]: "red"}) == nlattr(NUM["colour"], struct.pack("=I", 5))
    assert dec(nlattr(NUM["u32"], struct.pack("=I", 5))) == {"u32": 5}


def test_unknown_name_lists_the_valid_names() -> None:
    with pytest.raises(UnknownAttributeError) as info:
        enc({"nope": 1})
    text = str(info.value)
    assert "attribute set all has no attribute 'nope'" in text
    known = text.split("(known: ", 1)[1].rstrip(")").split(", ")
    assert known == [a.name for a in SPEC.attr_set("all").attributes]
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, EncodeError)


def test_unknown_numbers_decode_to_bytes_under_their_number() -> None:
    data = nlattr(200, b"\x01\x02\x03") + nlattr(NUM["u8"], b"\x09")
    assert dec(data) == {200: b"\x01\x02\x03", "u8": 9}
    inner = nest(NUM["nest"], nlattr(1, struct.pack("=I", 1)) + nlattr(9, b"zz"))
    assert dec(inner) == {"nest": {"v": 1, 9: b"zz"}}
    assert dec(nest(300, nlattr(1, b"x"))) == {300: nlattr(1, b"x")}


@pytest.mark.parametrize("value", [5, "x", {"a": 1}, [1], None, True])
def test_unknown_number_refuses_an_untyped_value(value: Any) -> None:
    with pytest.raises(EncodeError, match=r"all\.200: no spec or policy says its type"):
        enc({200: value})


def test_unknown_number_takes_bytes_or_typed_values() -> None:
    assert enc({200: b"ab"}) == nlattr(200, b"ab")
    assert enc({200: bytearray(b"ab")}) == nlattr(200, b"ab")
    assert enc({200: Typed("u32", 5)}) == nlattr(200, struct.pack("=I", 5))
    assert enc({200: Typed("be32", 5)}) == nlattr(200, struct.pack(">I", 5))
    assert enc({200: Typed("s8", -1)}) == nlattr(200, b"\xff")
    assert enc({200: Typed("string", "hi")}) == nlattr(200, b"hi\0")
    assert enc({200: Typed("flag", True)}) == struct.pack("=HH", 4, 200)
    assert enc({200: Typed("nest", {1: Typed("u8", 3)})}) == nest(200, nlattr(1, b"\3"))
    with pytest.raises(EncodeError, match="out of range for u8"):
        enc({200: Typed("u8", 256)})
    with pytest.raises(EncodeError, match="unknown kind 'u24'"):
        enc({200: Typed("u24", 1)})


def test_typed_overrides_a_known_attributes_type() -> None:
    assert enc({"u8": Typed("u32", 5)}) == nlattr(NUM["u8"], struct.pack("=I", 5))


def test_truncated_attributes_are_malformed() -> None:
    good = nlattr(NUM["u32"], struct.pack("=I", 1))
    with pytest.raises(MalformedAttributesError, match="runs past the end"):
        dec(good[:-1])
    with pytest.raises(MalformedAttributesError, match="below header size"):
        dec(struct.pack("=HH", 2, 1))
    assert dec(good + b"\0\0") == {"u32": 1}  # a tail shorter than a header is ignored


# -- fixed headers and whole messages --------------------------------------------------------------


def test_encode_header_packs_the_struct() -> None:
    assert CODEC.encode_header("hdr", {"family": 2, "ifindex": 7}) == struct.pack("=B3xi", 2, 7)
    assert CODEC.encode_header("hdr", {}) == bytes(8)


def test_decode_message_merges_fixed_header_and_attributes() -> None:
    header = struct.pack("=B3xi", 10, 3)
    attrs = nlattr(NUM["u8"], b"\x01")
    data = header + attrs
    op, values = CODEC.decode_message(data, len(header), header, 1, reply=True)
    assert op is SPEC.ops["get"]
    assert values == {"family": 10, "ifindex": 3, "u8": 1}
    op, values = CODEC.decode_message(data, len(header), header, 42, reply=True)
    assert op is None
    assert values == {NUM["u8"]: b"\x01"}


def test_attribute_names_along_a_path() -> None:
    assert CODEC.attribute_names("all", [NUM["nest"], 2]) == ("nest", "s")
    assert CODEC.attribute_names("all", [NUM["ian"], 5, 1]) == ("ian", "5", "v")
    assert CODEC.attribute_names("all", [999, 1]) == ("999", "1")


# -- malformed input -------------------------------------------------------------------------------


def test_deep_nesting_is_malformed_not_a_crash() -> None:
    data = b""
    for _ in range(5000):  # 20,000 bytes: each level adds one 4-byte header
        data = nest(1, data)
    with contextlib.suppress(MalformedAttributesError):
        Codec(SPEC).decode("tree", data)


# -- hypothesis: round trips and fuzzing -----------------------------------------------------------

U32 = st.integers(0, 2**32 - 1)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=12)
FLAG_NAMES = {0: "a", 1: "b", 3: "d"}
# Normalised flags: names (or masks of unnamed bits) in bit order.
FLAGS = st.sets(st.integers(0, 31), max_size=6).map(
    lambda bits: [FLAG_NAMES.get(b, 1 << b) for b in sorted(bits)]
)
INNER = st.fixed_dictionaries({}, optional={"v": U32, "s": TEXT})
VLAN = st.fixed_dictionaries(
    {}, optional={"id": st.integers(0, 2**16 - 1), "proto": st.integers(0, 2**16 - 1)}
)
HDR = st.fixed_dictionaries(
    {"family": st.integers(0, 255), "ifindex": st.integers(-(2**31), 2**31 - 1)}
)
LINK = st.one_of(
    st.fixed_dictionaries({"kind": st.just("vlan"), "data": VLAN}),
    st.fixed_dictionaries({"kind": st.just("hdr"), "data": HDR}),
    st.builds(lambda h, v: {"kind": "both", "data": {**h, **v}}, HDR, VLAN),
    st.fixed_dictionaries({"kind": st.just("other"), "data": st.binary(max_size=8)}),
    st.fixed_dictionaries({}, optional={"kind": TEXT}),
)
MAC = st.binary(min_size=1, max_size=8).map(lambda b: ":".join(f"{x:02x}" for x in b))

VALUES: dict[str, Any] = {name: st.integers(low, high) for name, _k, _o, _f, low, high in INT_ATTRS}
VALUES.update(
    {
        "uint": st.integers(0, 2**64 - 1),
        "sint": st.integers(-(2**63), 2**63 - 1),
        "str": TEXT,
        "bin": st.binary(max_size=20),
        "flag": st.just(True),
        "pt": st.fixed_dictionaries(
            {
                "x": st.integers(0, 2**16 - 1),
                "y": U32,
                "c": st.one_of(st.sampled_from(["red", "green", "blue"]), st.integers(8, 255)),
                "mac": st.binary(min_size=6, max_size=6).map(
                    lambda b: ":".join(f"{x:02x}" for x in b)
                ),
                "tag": st.text("abcxyz", max_size=5),
            }
        ),
        "arr": st.lists(st.integers(0, 2**16 - 1), max_size=6),
        "arr-be": st.lists(U32, max_size=6),
        "colour": st.one_of(st.sampled_from(["red", "green", "blue"]), st.integers(8, 2**32 - 1)),
        "flags": FLAGS,
        "eflags": st.sets(st.integers(0, 7)).map(
            lambda bits: [{5: "red", 6: "green", 7: "blue"}.get(b, 1 << b) for b in sorted(bits)]
        ),
        "bf": st.fixed_dictionaries({"value": FLAGS, "selector": FLAGS}),
        "bfr": st.fixed_dictionaries({"value": U32, "selector": U32}),
        "nest": INNER,
        "multi": st.lists(U32, min_size=1, max_size=4),
        "multi-nest": st.lists(INNER, min_size=1, max_size=3),
        "ia": st.lists(U32, max_size=4),
        "ian": st.lists(INNER, max_size=3),
        "ntv": st.dictionaries(st.integers(0, 0x3FFF), INNER, max_size=3),
        "ip-be": st.ip_addresses(v=4).map(str),
        "ip-ne": st.ip_addresses(v=4).map(str),
        "v6": st.ip_addresses(v=6).map(str),
        "mac": MAC,
        "uuid": st.uuids().map(str),
        "any-ip": st.ip_addresses().map(str),
        "hex": st.binary(max_size=8),
        "name": st.text("abcdef", max_size=4),
        "key": st.binary(min_size=2, max_size=2),
        "level": st.integers(2, 10),
        "small": st.binary(min_size=1, max_size=3),
        "link": LINK,
        "named-max": U32,
    }
)


def test_the_round_trip_strategy_covers_every_attribute() -> None:
    sendable = {a.name for a in SPEC.attr_set("all").attributes if a.type != "pad"}
    assert set(VALUES) == sendable


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional=VALUES))
def test_decode_of_encode_is_the_value(values: dict[str, Any]) -> None:
    assert dec(enc(values)) == values


def _attrs(items: list[tuple[int, bool, bytes]]) -> bytes:
    return b"".join(nlattr(t | (NESTED if n else 0), p) for t, n, p in items)


LEAVES = st.one_of(
    st.binary(max_size=24),
    st.sampled_from([b"vlan\0", b"hdr\0", b"both\0", bytes(8), bytes(16)]),
)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.lists(st.tuples(st.integers(0, 50), st.booleans(), inner), max_size=5).map(
        _attrs
    ),
    max_leaves=25,
)
SETS = sorted(SPEC.attribute_sets)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.sampled_from(SETS))
def test_random_bytes_decode_to_a_dict_or_raise_malformed(data: bytes, set_name: str) -> None:
    try:
        decoded = dec(data, set_name)
    except MalformedAttributesError:
        return
    assert isinstance(decoded, dict)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES, st.sampled_from(SETS), st.integers(0, 400))
def test_random_attribute_trees_decode_to_a_dict_or_raise_malformed(
    data: bytes, set_name: str, cut: int
) -> None:
    for sample in (data, data[:cut]):
        try:
            decoded = dec(sample, set_name)
        except MalformedAttributesError:
            continue
        assert isinstance(decoded, dict)
