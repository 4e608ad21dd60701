"""libnl_py.attrs: the attribute encoder, decoder and attribute_path (no kernel needed).

Expected bytes are built with ``struct`` (see ``ref_encode``), independently of
the code under test.
"""

from __future__ import annotations

import struct
from typing import Any, Union

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libnl_py import errors
from libnl_py.attrs import (
    NLA_F_NESTED,
    NLA_F_NET_BYTEORDER,
    AttributeEncoder,
    Attributes,
    MalformedAttributesError,
    attribute_path,
)

# A tree node is (type, payload bytes) for a leaf or (type, [children]) for a nest.
Node = tuple[int, Union[bytes, list[Any]]]

HDR = struct.Struct("=HH")


def ref_attr(attr_type: int, payload: bytes) -> bytes:
    return HDR.pack(4 + len(payload), attr_type) + payload + b"\0" * (-len(payload) % 4)


def ref_encode(nodes: list[Node]) -> bytes:
    """What nla_put / nla_nest_start+end write for ``nodes``."""
    out = b""
    for attr_type, value in nodes:
        if isinstance(value, bytes):
            out += ref_attr(attr_type, value)
        else:
            out += ref_attr(attr_type | NLA_F_NESTED, ref_encode(value))
    return out


def encode(nodes: list[Node], enc: AttributeEncoder | None = None) -> AttributeEncoder:
    enc = AttributeEncoder() if enc is None else enc
    for attr_type, value in nodes:
        if isinstance(value, bytes):
            enc.put(attr_type, value)
        else:
            with enc.nested(attr_type):
                encode(value, enc)
    return enc


def decode(attrs: Attributes) -> list[Node]:
    out: list[Node] = []
    for attr in attrs:
        if attr.flags & NLA_F_NESTED:
            out.append((attr.type, decode(attr.nested())))
        else:
            out.append((attr.type, attr.payload))
    return out


def depth(nodes: list[Node]) -> int:
    return max((1 + depth(v) if isinstance(v, list) else 1 for _t, v in nodes), default=0)


# Few distinct small types make repeated types likely; the full range covers the rest.
attr_types = st.one_of(st.sampled_from([1, 2, 3]), st.integers(1, 0x3FFF))


def nodes_up_to(levels: int) -> st.SearchStrategy[Node]:
    leaf = st.tuples(attr_types, st.binary(max_size=24))
    if levels <= 1:
        return leaf
    return st.one_of(leaf, st.tuples(attr_types, st.lists(nodes_up_to(levels - 1), max_size=3)))


trees = st.lists(nodes_up_to(5), max_size=5)


# -- round trip ------------------------------------------------------------------


@given(trees)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_tree_round_trip(tree: list[Node]) -> None:
    assert depth(tree) <= 5
    data = encode(tree).encode()
    assert data == ref_encode(tree)
    assert decode(Attributes(data)) == tree


def test_round_trip_keeps_repeated_types_in_order() -> None:
    tree: list[Node] = [(1, b"a"), (2, [(1, b"x"), (1, b"y")]), (1, b"b"), (2, [])]
    attrs = Attributes(encode(tree).encode())
    assert attrs.types() == [1, 2, 1, 2]
    assert [a.payload for a in attrs.get_all(1)] == [b"a", b"b"]
    assert attrs.get(1) is not None and attrs.get(1).payload == b"a"  # the first one
    assert attrs.nested(2).types() == [1, 1]
    assert len(attrs.get_all(2)[1].nested()) == 0
    assert 3 not in attrs and attrs.get(3) is None
    with pytest.raises(KeyError):
        attrs[3]


def test_empty_nest_and_empty_payload_bytes() -> None:
    enc = AttributeEncoder()
    enc.put(1, b"")
    with enc.nested(2):
        pass
    assert enc.encode() == HDR.pack(4, 1) + HDR.pack(4, 2 | NLA_F_NESTED)


# -- typed puts and gets -----------------------------------------------------------

INTS = [
    ("u8", 0xAB, struct.pack("=B", 0xAB)),
    ("u8", 0, b"\0"),
    ("u16", 0xBEEF, struct.pack("=H", 0xBEEF)),
    ("u32", 0xDEADBEEF, struct.pack("=I", 0xDEADBEEF)),
    ("u64", 2**64 - 1, struct.pack("=Q", 2**64 - 1)),
    ("s8", -128, struct.pack("=b", -128)),
    ("s8", 127, struct.pack("=b", 127)),
    ("s16", -2, struct.pack("=h", -2)),
    ("s32", -(2**31), struct.pack("=i", -(2**31))),
    ("s64", -(2**63), struct.pack("=q", -(2**63))),
    ("s64", 2**63 - 1, struct.pack("=q", 2**63 - 1)),
]


@pytest.mark.parametrize(("kind", "value", "payload"), INTS)
def test_int_put_get(kind: str, value: int, payload: bytes) -> None:
    enc = AttributeEncoder()
    getattr(enc, kind)(7, value)
    data = enc.encode()
    assert data == ref_attr(7, payload)
    (attr,) = Attributes(data)
    assert attr.type == 7 and attr.flags == 0
    assert getattr(attr, kind)() == value


@pytest.mark.parametrize(
    ("kind", "value", "payload"),
    [("be16", 0x1234, b"\x12\x34"), ("be32", 0x0A000001, b"\x0a\x00\x00\x01")],
)
def test_big_endian_put_get(kind: str, value: int, payload: bytes) -> None:
    enc = AttributeEncoder()
    getattr(enc, kind)(9, value)
    data = enc.encode()
    assert data == ref_attr(9 | NLA_F_NET_BYTEORDER, payload)
    (attr,) = Attributes(data)
    assert attr.type == 9
    assert attr.flags == NLA_F_NET_BYTEORDER
    assert getattr(attr, kind)() == value


@pytest.mark.parametrize(
    ("kind", "value", "payload"),
    [
        ("uint", 0, struct.pack("=I", 0)),
        ("uint", 2**32 - 1, struct.pack("=I", 2**32 - 1)),
        ("uint", 2**32, struct.pack("=Q", 2**32)),
        ("uint", 2**64 - 1, struct.pack("=Q", 2**64 - 1)),
        ("sint", -(2**31), struct.pack("=i", -(2**31))),
        ("sint", 2**31 - 1, struct.pack("=i", 2**31 - 1)),
        ("sint", -(2**31) - 1, struct.pack("=q", -(2**31) - 1)),
        ("sint", 2**31, struct.pack("=q", 2**31)),
    ],
)
def test_variable_width_ints(kind: str, value: int, payload: bytes) -> None:
    enc = AttributeEncoder()
    getattr(enc, kind)(3, value)
    data = enc.encode()
    assert data == ref_attr(3, payload)
    (attr,) = Attributes(data)
    assert len(attr) == len(payload)
    assert getattr(attr, kind)() == value


@given(st.integers(0, 2**64 - 1))
def test_uint_round_trip(value: int) -> None:
    enc = AttributeEncoder()
    enc.uint(1, value)
    attrs = Attributes(enc.encode())
    assert attrs.uint(1) == value
    assert len(attrs[1]) == (4 if value < 2**32 else 8)


@given(st.integers(-(2**63), 2**63 - 1))
def test_sint_round_trip(value: int) -> None:
    enc = AttributeEncoder()
    enc.sint(1, value)
    attrs = Attributes(enc.encode())
    assert attrs[1].sint() == value
    assert len(attrs[1]) == (4 if -(2**31) <= value < 2**31 else 8)


def test_uint_reads_every_kernel_width() -> None:
    data = ref_attr(1, b"\x05") + ref_attr(2, struct.pack("=H", 700)) + ref_attr(3, b"\0" * 3)
    attrs = Attributes(data)
    assert attrs.uint(1) == 5
    assert attrs.uint(2) == 700
    with pytest.raises(MalformedAttributesError):
        attrs.uint(3)  # 3 bytes is no integer width


def test_string_is_nul_terminated() -> None:
    enc = AttributeEncoder()
    enc.string(2, "nlctrl")
    data = enc.encode()
    assert data == HDR.pack(11, 2) + b"nlctrl\0" + b"\0"
    attrs = Attributes(data)
    assert attrs.string(2) == "nlctrl"
    assert attrs.binary(2) == b"nlctrl\0"


@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")))
def test_string_round_trip(value: str) -> None:
    enc = AttributeEncoder()
    enc.string(1, value)
    data = enc.encode()
    assert Attributes(data)[1].payload == value.encode() + b"\0"
    assert Attributes(data).string(1) == value


def test_string_without_nul_from_kernel_reads_whole_payload() -> None:
    assert Attributes(ref_attr(1, b"eth0")).string(1) == "eth0"
    assert Attributes(ref_attr(1, b"lo\0junk")).string(1) == "lo"


def test_flag() -> None:
    enc = AttributeEncoder()
    enc.flag(5)
    enc.flag(6, False)
    data = enc.encode()
    assert data == HDR.pack(4, 5)
    attrs = Attributes(data)
    assert attrs.flag(5) is True
    assert attrs.flag(6) is False
    assert len(attrs[5]) == 0


def test_binary_is_put_as_is() -> None:
    enc = AttributeEncoder()
    enc.binary(4, bytearray(b"\x00\xff\x10"))
    enc.binary(4, memoryview(b"xyz!"))
    assert enc.encode() == ref_attr(4, b"\x00\xff\x10") + ref_attr(4, b"xyz!")


def test_getter_on_short_payload_raises_with_offset() -> None:
    data = ref_attr(1, b"\0" * 4) + ref_attr(2, b"\x01\x02")
    attrs = Attributes(data)
    with pytest.raises(MalformedAttributesError) as info:
        attrs.u32(2)
    assert info.value.offset == 12  # payload of the second attribute
    assert attrs.u16(2) == 0x0201


# -- encoder errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("u8", 256),
        ("u8", -1),
        ("u16", 0x10000),
        ("u32", 2**32),
        ("u64", 2**64),
        ("u64", -1),
        ("s8", 128),
        ("s8", -129),
        ("s16", 2**15),
        ("s32", -(2**31) - 1),
        ("s64", 2**63),
        ("be16", 0x10000),
        ("be32", -1),
        ("uint", -1),
        ("uint", 2**64),
        ("sint", 2**63),
        ("sint", -(2**63) - 1),
    ],
)
def test_out_of_range_value_is_recorded(kind: str, value: int) -> None:
    enc = AttributeEncoder()
    enc.u32(1, 7)
    before = len(enc)
    getattr(enc, kind)(2, value)  # records, does not raise
    assert len(enc) == before
    assert isinstance(enc.error, ValueError)
    assert str(value) in str(enc.error)
    with pytest.raises(ValueError) as info:
        enc.encode()
    assert info.value is enc.error


@pytest.mark.parametrize(
    ("kind", "value"),
    [("u8", "1"), ("u32", 1.0), ("s16", None), ("u8", True), ("string", b"bytes"), ("sint", 2.5)],
)
def test_wrong_type_value_is_recorded(kind: str, value: object) -> None:
    enc = AttributeEncoder()
    getattr(enc, kind)(1, value)
    assert len(enc) == 0
    with pytest.raises(TypeError):
        enc.encode()


@pytest.mark.parametrize("attr_type", [-1, 0x10000, "1", 1.0, True])
def test_bad_attribute_type_is_recorded(attr_type: object) -> None:
    enc = AttributeEncoder()
    enc.put(attr_type, b"x")  # type: ignore[arg-type]
    assert len(enc) == 0
    with pytest.raises((TypeError, ValueError)):
        enc.encode()


def test_first_error_wins_and_later_puts_are_ignored() -> None:
    enc = AttributeEncoder()
    enc.u16(1, 3)
    enc.u8(2, 300)  # first error: ValueError
    first = enc.error
    enc.u8(3, "x")  # type: ignore[arg-type]  # would be a TypeError
    enc.put(4, b"\0" * 70000)  # would be an AttributeSizeError
    enc.string(5, "ignored")
    with enc.nested(6):
        enc.u32(1, 1)
    assert enc.error is first
    assert len(enc) == 8  # only the u16 before the error
    with pytest.raises(ValueError, match="300"):
        enc.encode()
    with pytest.raises(ValueError, match="300"):
        enc.encode()  # still the same error, not a new one


def test_string_with_nul_is_recorded() -> None:
    enc = AttributeEncoder()
    enc.string(1, "a\0b")
    with pytest.raises(ValueError, match="NUL"):
        enc.encode()


def test_unencodable_string_is_recorded_not_raised() -> None:
    enc = AttributeEncoder()
    enc.string(1, "\ud800")  # a lone surrogate: a str that UTF-8 cannot encode
    with pytest.raises(ValueError):
        enc.encode()


def test_int_payload_is_a_type_error() -> None:
    enc = AttributeEncoder()
    enc.put(1, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        enc.encode()


def test_non_bytes_payload_is_recorded() -> None:
    enc = AttributeEncoder()
    enc.put(1, "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes-like"):
        enc.encode()


def test_attribute_size_limit() -> None:
    enc = AttributeEncoder()
    enc.put(1, b"\0" * (0xFFFF - 4))  # nla_len 65535: the largest that fits
    data = enc.encode()
    assert HDR.unpack_from(data) == (0xFFFF, 1)
    assert len(Attributes(data)[1]) == 0xFFFF - 4

    enc = AttributeEncoder()
    enc.put(1, b"\0" * (0xFFFF - 3))
    with pytest.raises(errors.AttributeSizeError) as info:
        enc.encode()
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, errors.NetlinkError)
    assert info.value.code == errors.AttributeSizeError.code


def test_nest_size_limit() -> None:
    enc = AttributeEncoder()
    with enc.nested(1):
        enc.put(1, b"\0" * 40000)
        enc.put(2, b"\0" * 40000)
    with pytest.raises(errors.AttributeSizeError):
        enc.encode()


def test_unclosed_nest_is_an_error() -> None:
    enc = AttributeEncoder()
    enc.nest_start(1)
    enc.u8(1, 1)
    with pytest.raises(ValueError, match="left open"):
        enc.encode()


def test_mismatched_nest_end_is_an_error() -> None:
    enc = AttributeEncoder()
    outer = enc.nest_start(1)
    enc.nest_start(2)
    enc.nest_end(outer)  # the inner one is still open
    with pytest.raises(ValueError, match="innermost"):
        enc.encode()


def test_nest_end_without_nest_is_an_error() -> None:
    enc = AttributeEncoder()
    enc.nest_end(0)
    with pytest.raises(ValueError):
        enc.encode()


def test_nest_cancel_and_exception_in_nest_drop_the_nest() -> None:
    enc = AttributeEncoder()
    enc.u8(1, 1)
    token = enc.nest_start(2)
    enc.u32(1, 5)
    enc.nest_cancel(token)
    with pytest.raises(RuntimeError), enc.nested(3):
        enc.u32(1, 5)
        raise RuntimeError("abandon the nest")
    assert enc.encode() == ref_attr(1, b"\x01")


def test_nest_start_end_by_token() -> None:
    enc = AttributeEncoder()
    outer = enc.nest_start(1)
    enc.u16(1, 2)
    inner = enc.nest_start(2)
    enc.flag(3)
    enc.nest_end(inner)
    enc.nest_end(outer)
    expected = ref_encode([(1, [(1, struct.pack("=H", 2)), (2, [(3, b"")])])])
    assert enc.encode() == expected


# -- malformed buffers -----------------------------------------------------------------


def check_malformed(exc: MalformedAttributesError) -> None:
    assert isinstance(exc, ValueError)
    assert isinstance(exc, errors.NetlinkError)
    assert exc.offset >= 0


def walk(attrs: Attributes) -> None:
    """Touch everything: iteration, nested parses and every getter."""
    for attr in attrs:
        for getter in ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "uint", "sint"):
            try:
                getattr(attr, getter)()
            except MalformedAttributesError as exc:
                check_malformed(exc)
        attr.string()
        try:
            walk(attr.nested())
        except MalformedAttributesError as exc:
            check_malformed(exc)


@given(st.binary(max_size=200))
@settings(max_examples=500)
def test_random_bytes_parse_or_raise_malformed(data: bytes) -> None:
    try:
        attrs = Attributes(data)
    except MalformedAttributesError as exc:
        check_malformed(exc)
        assert exc.offset <= len(data) - 4
        return
    walk(attrs)
    attribute_path(data, len(data) // 2)  # never raises on any buffer


@given(trees, st.data())
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_corrupted_valid_buffers_parse_or_raise_malformed(tree: list[Node], data: Any) -> None:
    buf = bytearray(ref_encode(tree))
    if buf:
        for _ in range(data.draw(st.integers(1, 4))):
            buf[data.draw(st.integers(0, len(buf) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    raw = bytes(buf[:cut])
    try:
        attrs = Attributes(raw)
    except MalformedAttributesError as exc:
        check_malformed(exc)
        return
    walk(attrs)


@pytest.mark.parametrize("nla_len", [0, 1, 2, 3])
def test_nla_len_below_header(nla_len: int) -> None:
    data = ref_attr(1, b"ok!!") + HDR.pack(nla_len, 2) + b"\0" * 4
    with pytest.raises(MalformedAttributesError) as info:
        Attributes(data)
    check_malformed(info.value)
    assert info.value.offset == 8


def test_nla_len_past_end() -> None:
    data = HDR.pack(12, 1) + b"\0" * 4  # claims 8 payload bytes, has 4
    with pytest.raises(MalformedAttributesError) as info:
        Attributes(data)
    assert info.value.offset == 0
    assert "past the end" in str(info.value)


def test_truncated_header_is_trailing_padding() -> None:
    # Fewer than 4 bytes after the last attribute: ignored, as the kernel's nla_ok does.
    attrs = Attributes(ref_attr(1, b"\x07") + b"\x08\x00")
    assert attrs.types() == [1]
    assert len(Attributes(b"\x08\x00")) == 0


def test_malformed_nest_raises_when_opened_with_absolute_offset() -> None:
    inner = HDR.pack(2, 1) + b"\0\0"  # nla_len 2 < 4
    data = ref_attr(1, b"abcd") + ref_attr(2 | NLA_F_NESTED, inner)
    attrs = Attributes(data)  # the outer level is fine
    assert attrs.types() == [1, 2]
    with pytest.raises(MalformedAttributesError) as info:
        attrs.nested(2)
    assert info.value.offset == 12  # 8 bytes of attribute 1, then the nest's 4-byte header


def test_start_end_window() -> None:
    data = b"\xff" * 6 + ref_attr(3, b"\x01\x00") + b"\xee" * 5
    attrs = Attributes(data, 6, 6 + 8)
    assert attrs.types() == [3]
    assert attrs.u16(3) == 1
    assert attrs[3].offset == 10


# -- attribute_path ------------------------------------------------------------------


def test_attribute_path_in_a_request() -> None:
    header = b"\x11" * 20  # nlmsghdr + genlmsghdr stand-in
    enc = AttributeEncoder()
    enc.string(1, "abc")  # 20..28
    with enc.nested(2):  # header 28..32
        enc.u32(1, 5)  # 32..40
        with enc.nested(3):  # header 40..44
            enc.u8(4, 1)  # 44..52 (payload 48, padding 49..52)
    enc.u16(5, 9)  # 52..60
    data = header + enc.encode()
    assert len(data) == 60
    expect = {
        20: [1],
        24: [1],
        27: [1],
        28: [2],
        31: [2],
        32: [2, 1],
        36: [2, 1],
        40: [2, 3],
        44: [2, 3, 4],
        48: [2, 3, 4],
        50: [2, 3],  # padding after the u8, inside nest 3
        52: [5],
        56: [5],
    }
    for offset, path in expect.items():
        assert attribute_path(data, offset, 20) == path, offset
    assert attribute_path(data, 60, 20) == []  # past the end
    assert attribute_path(data, 5, 20) == []  # before start: in the headers


def paths_by_offset(
    nodes: list[Node], base: int, parent: list[int], out: dict[int, list[int]]
) -> int:
    """Reference: the path attribute_path must give for every byte of ``nodes``."""
    pos = base
    for attr_type, value in nodes:
        path = [*parent, attr_type]
        for off in range(pos, pos + 4):
            out[off] = path
        if isinstance(value, bytes):
            for off in range(pos + 4, pos + 4 + len(value)):
                out[off] = path
            for off in range(pos + 4 + len(value), pos + 4 + len(value) + (-len(value) % 4)):
                out[off] = parent  # padding belongs to the enclosing attribute
            pos += 4 + len(value) + (-len(value) % 4)
        else:
            end = paths_by_offset(value, pos + 4, path, out)
            pos = end
    return pos


@given(trees)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_attribute_path_matches_reference(tree: list[Node]) -> None:
    start = 20
    data = b"\0" * start + ref_encode(tree)
    expect: dict[int, list[int]] = {}
    end = paths_by_offset(tree, start, [], expect)
    assert end == len(data)
    for offset in range(start, len(data)):
        assert attribute_path(data, offset, start) == expect[offset], offset


def test_string_reports_a_bad_value_before_a_bad_type() -> None:
    enc = AttributeEncoder()
    enc.string(-1, 5)  # type: ignore[arg-type]
    assert isinstance(enc.error, TypeError)
    assert str(enc.error) == "attribute -1: string needs a str, not int"
    enc = AttributeEncoder()
    enc.string(70000, "a\0b")
    assert str(enc.error) == "attribute 70000: string contains a NUL character"
