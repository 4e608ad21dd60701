"""The CPython builtins compiled into the module (``decl/native.c``), as ``libnl_py._ffi.native``.

They take Python objects straight from the caller, so bad input must raise a
clear exception, never crash the interpreter. Their results are checked
against the Python decoders. (The receive batch's are in test_bindings_genl.)
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from conftest import marker, newfamily

from libnl_py import lib
from libnl_py._ffi import native
from libnl_py.attrs import AttributeEncoder, Attributes, MalformedAttributesError
from libnl_py.bindings import genl as _g
from libnl_py.errors import ParseError
from libnl_py.genl import GenlSocket
from libnl_py.genl.family import (
    Family,
    MulticastGroup,
    Operation,
    decode_batch,
    family_from_attrs,
    family_from_bytes,
)
from libnl_py.message import (
    GenlMessage,
    MalformedMessageError,
    pack_genl_request,
    split_datagram,
)
from libnl_py.spec import registry as families

NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
CTRL = lib.GENL_ID_CTRL
GETFAMILY = lib.CTRL_CMD_GETFAMILY
NEWFAMILY = lib.CTRL_CMD_NEWFAMILY
NLCTRL_NAMES = {3: "getfamily", 10: "getpolicy"}

# -- building messages, arenas and descriptors by hand ---------------------------------


def ctrl_message(enc: AttributeEncoder) -> bytes:
    """A CTRL_CMD_NEWFAMILY message with exactly the attributes of ``enc``."""
    return pack_genl_request(CTRL, 0, 1, 0, NEWFAMILY, 2, enc.encode())


def incomplete(what: str) -> bytes:
    """A NEWFAMILY message lacking ``what``: "family id", "op id" or "group name"."""
    enc = AttributeEncoder()
    if what != "family id":
        enc.u16(lib.CTRL_ATTR_FAMILY_ID, 0x20)
    enc.string(lib.CTRL_ATTR_FAMILY_NAME, "fake")
    with enc.nested(lib.CTRL_ATTR_OPS), enc.nested(1):
        if what != "op id":
            enc.u32(lib.CTRL_ATTR_OP_ID, 1)
        enc.u32(lib.CTRL_ATTR_OP_FLAGS, 2)
    with enc.nested(lib.CTRL_ATTR_MCAST_GROUPS), enc.nested(1):
        if what != "group name":
            enc.string(lib.CTRL_ATTR_MCAST_GRP_NAME, "g")
        enc.u32(lib.CTRL_ATTR_MCAST_GRP_ID, 3)
    return ctrl_message(enc)


def broken(message: bytes) -> bytes:
    """``message`` with its first attribute's nla_len running past the end."""
    return message[:20] + struct.pack("=H", 0x7FFF) + message[22:]


def attrs_of(data: bytes) -> Attributes:
    msg_type, flags, seq, port, start, end = split_datagram(data)[0]
    return GenlMessage(data, start, end, msg_type, flags, seq, port).attrs


def arena(*messages: bytes, lead: int = 0) -> tuple[bytes, list[tuple[int, int]]]:
    """Messages laid out as lnp_recv_batch does (4-aligned), after ``lead`` filler bytes."""
    buf = bytearray(b"\xa5" * lead)
    spans = []
    for msg in messages:
        spans.append((len(buf), len(buf) + len(msg)))
        buf += msg + b"\0" * (-len(msg) % 4)
    return bytes(buf), spans


def descriptor(kind: int, data: bytes, span: tuple[int, int], error: int = 0) -> list[int]:
    """The 8 words lnp_recv_batch writes for the message at ``span`` of ``data``.

    The port word (the sender's address there) is taken from nlmsg_pid here.
    """
    _length, msg_type, flags, seq, port = NLMSGHDR.unpack_from(data, span[0])
    return [kind, msg_type, flags, seq, port, span[0], span[1], error & 0xFFFFFFFF]


def ack(seq: int, error: int = 0) -> bytes:
    """A capped NLMSG_ERROR answering request ``seq``."""
    echoed = NLMSGHDR.pack(20, CTRL, lib.NLM_F_REQUEST, seq, 0)
    payload = struct.pack("=i", error) + echoed
    return NLMSGHDR.pack(16 + len(payload), lib.NLMSG_ERROR, lib.NLM_F_CAPPED, seq, 0) + payload


def header_fields(data: bytes | memoryview, offset: int = 0) -> tuple[int, int, int, int, int]:
    fields: tuple[int, int, int, int, int] = NLMSGHDR.unpack_from(data, offset)
    return fields


# -- bad input -------------------------------------------------------------------------

ARGUMENT_COUNTS = {
    "configure_families": 5,
    "family": 4,
    "families": 4,
}


@pytest.mark.parametrize("name", sorted(ARGUMENT_COUNTS))
def test_wrong_argument_count_raises_type_error(name: str) -> None:
    function = getattr(native, name)
    count = ARGUMENT_COUNTS[name]
    for nargs in (0, count - 1, count + 1):
        with pytest.raises(TypeError) as info:
            function(*[None] * nargs)
        assert str(info.value) == f"{name}() takes {count} arguments"


def test_non_buffer_raises_type_error() -> None:
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: native.family(42, 0, 0, None), "int"),
        (lambda: native.family("text", 0, 0, None), "str"),
        (lambda: native.families(None, [], _g.REPLY, []), "NoneType"),
        (lambda: native.families([1, 2], [], _g.REPLY, []), "list"),
    ]
    for call, type_name in calls:
        with pytest.raises(TypeError) as info:
            call()
        assert str(info.value) == f"a bytes-like object is required, not '{type_name}'"


@pytest.mark.parametrize(("start", "end"), [(-1, 8), (0, 45), (5, 4), (45, 45), (-8, -1)])
def test_family_span_outside_the_buffer_raises_value_error(start: int, end: int) -> None:
    data = bytes(44)
    with pytest.raises(ValueError) as info:
        native.family(data, start, end, None)
    assert str(info.value) == f"span [{start}, {end}) outside a buffer of 44 bytes"


def test_family_span_that_is_no_index_raises() -> None:
    data = newfamily(0x20, "fake", [], [])
    with pytest.raises(OverflowError):
        native.family(data, 0, 1 << 64, None)
    with pytest.raises(TypeError, match="an integer is required"):
        native.family(data, 0.0, len(data), None)
    with pytest.raises(TypeError, match="an integer is required"):
        native.family(data, 0, str(len(data)), None)


def test_families_rejects_bad_descriptors() -> None:
    data, spans = arena(newfamily(0x20, "fake", [(1, 2)], []))
    good = descriptor(_g.REPLY, data, spans[0])
    whole = "desc must be whole descriptors, and not out"
    for desc in (good[:7], [*good, 0], good[:1]):
        out: list[Any] = []
        with pytest.raises(ValueError) as info:
            native.families(data, desc, _g.REPLY, out)
        assert str(info.value) == whole
        assert out == []
    same: list[Any] = []
    with pytest.raises(ValueError) as info:
        native.families(data, same, _g.REPLY, same)
    assert str(info.value) == whole
    not_lists_args: list[tuple[Any, Any]] = [(tuple(good), []), (good, ())]
    for desc_arg, out_arg in not_lists_args:
        with pytest.raises(TypeError) as not_lists:
            native.families(data, desc_arg, _g.REPLY, out_arg)
        assert str(not_lists.value) == "families() needs lists for desc and out"
    with pytest.raises(OverflowError):
        native.families(data, good, -1, [])
    with pytest.raises(OverflowError):
        native.families(data, [*good[:5], -1, *good[6:]], _g.REPLY, [])
    with pytest.raises(TypeError, match="an integer is required"):
        native.families(data, [*good[:5], "0", *good[6:]], _g.REPLY, [])


@pytest.mark.parametrize(("start", "end"), [(0, 10_000), (10_000, 10_004), (8, 4)])
def test_families_descriptor_span_outside_the_buffer_raises_value_error(
    start: int, end: int
) -> None:
    data, spans = arena(newfamily(0x20, "fake", [(1, 2)], []))
    desc = descriptor(_g.REPLY, data, spans[0])
    desc[5:7] = [start, end]
    out: list[Any] = []
    with pytest.raises(ValueError) as info:
        native.families(data, desc, _g.REPLY, out)
    assert str(info.value) == "descriptor span outside the buffer"
    assert out == []


def test_configure_families_rejects_bad_arguments() -> None:
    cache = families.command_names_cache
    load = families.command_names

    class Plain(tuple):  # type: ignore[type-arg]
        __slots__ = ()

    named = "configure_families() needs named tuple classes"
    dict_and_callable = "configure_families() needs a dict and a callable"
    calls: list[tuple[tuple[Any, ...], str]] = [
        ((Family, Operation, dict, cache, load), named),
        ((list, Operation, MulticastGroup, cache, load), named),
        ((Family, (), MulticastGroup, cache, load), named),
        ((Family, tuple, MulticastGroup, cache, load), named),
        ((Family, Operation, Plain, cache, load), named),
        (
            (Operation, Operation, MulticastGroup, cache, load),
            "configure_families(): a class needs 7 fields",
        ),
        (
            (Family, Family, MulticastGroup, cache, load),
            "configure_families(): a class needs 3 fields",
        ),
        ((Family, Operation, MulticastGroup, [], load), dict_and_callable),
        ((Family, Operation, MulticastGroup, MappingProxyType({}), load), dict_and_callable),
        ((Family, Operation, MulticastGroup, cache, None), dict_and_callable),
    ]
    for args, message in calls:
        with pytest.raises(TypeError) as info:
            native.configure_families(*args)
        assert str(info.value) == message
    # The configuration is unchanged: the same classes, names from the registry.
    data = newfamily(0x20, "nlctrl", [(3, 2), (10, 6)], [("notify", 16)])
    family = native.family(data, 0, len(data), None)
    assert type(family) is Family
    assert [type(op) for op in family.operations] == [Operation, Operation]
    assert [type(g) for g in family.groups] == [MulticastGroup]
    assert [op.name for op in family.operations] == ["getfamily", "getpolicy"]


# -- native.family ---------------------------------------------------------------------

WELL_FORMED = [
    newfamily(0x20, "fake", [], []),
    newfamily(0x40, "fake", [(1, 0x2), (7, 0xE)], [("events", 33), ("other", 34)]),
    newfamily(0xFFFF, "x" * 200, [(i, i) for i in range(40)], [(f"g{i}", i) for i in range(30)]),
    newfamily(0x41, "caf\u00e9", [(1, 0xFFFFFFFF)], [("gr\u00fcppe", 0xFFFFFFFF)]),
]


@pytest.mark.parametrize("data", WELL_FORMED)
@pytest.mark.parametrize("op_names", [{}, {1: "one", 7: "seven"}, MappingProxyType({0: "zero"})])
def test_family_equals_the_python_decoder(data: bytes, op_names: Mapping[int, str]) -> None:
    family = native.family(data, 0, len(data), op_names)
    assert family == family_from_attrs(attrs_of(data), op_names)
    assert type(family) is Family
    assert all(type(op) is Operation for op in family.operations)
    assert all(type(group) is MulticastGroup for group in family.groups)


def test_family_decodes_every_field() -> None:
    data = WELL_FORMED[1]
    assert native.family(data, 0, len(data), {7: "seven"}) == Family(
        0x40,
        "fake",
        3,
        4,
        9,
        (Operation(1, 2, None), Operation(7, 14, "seven")),
        (MulticastGroup("events", 33), MulticastGroup("other", 34)),
    )


def test_family_names_operations_from_the_registry() -> None:
    data = newfamily(CTRL, "nlctrl", [(3, 0xE), (10, 0xC), (99, 2)], [("notify", 16)])
    family = native.family(data, 0, len(data), None)
    assert [(op.id, op.name) for op in family.operations] == [
        (3, "getfamily"),
        (10, "getpolicy"),
        (99, None),
    ]
    assert family == family_from_attrs(attrs_of(data), families.command_names("nlctrl"))
    # An explicit mapping replaces the registry, even an empty one.
    names = [op.name for op in native.family(data, 0, len(data), {}).operations]
    assert names == [None, None, None]
    names = [op.name for op in native.family(data, 0, len(data), {10: "ten"}).operations]
    assert names == [None, "ten", None]
    # A family the registry does not know: no names.
    data = newfamily(0x30, "no-such-definition", [(3, 2)], [])
    assert native.family(data, 0, len(data), None).operations == (Operation(3, 2, None),)


def test_family_op_names_lookup_errors() -> None:
    data = newfamily(0x20, "fake", [(1, 2)], [])

    class Names(Mapping[int, str]):
        def __init__(self, error: BaseException) -> None:
            self.error = error

        def __getitem__(self, key: int) -> str:
            raise self.error

        def __iter__(self) -> Iterator[int]:
            return iter(())

        def __len__(self) -> int:
            return 0

    # A missing name (KeyError) is None; any other error propagates unchanged.
    assert native.family(data, 0, len(data), Names(KeyError(1))).operations[0].name is None
    boom = RuntimeError("boom")
    with pytest.raises(RuntimeError) as info:
        native.family(data, 0, len(data), Names(boom))
    assert info.value is boom
    with pytest.raises(TypeError, match="not subscriptable"):
        native.family(data, 0, len(data), 5)
    # Without operations the names are never looked at.
    data = newfamily(0x20, "fake", [], [])
    assert native.family(data, 0, len(data), 5) == family_from_attrs(attrs_of(data))


def test_family_at_an_offset_in_a_larger_buffer() -> None:
    message = WELL_FORMED[1]
    expected = native.family(message, 0, len(message), {7: "seven"})
    data = b"\xee" * 12 + message + b"\xdd" * 8
    for buf in (data, bytearray(data), memoryview(data)):
        assert native.family(buf, 12, 12 + len(message), {7: "seven"}) == expected
    two, spans = arena(WELL_FORMED[0], WELL_FORMED[1], lead=4)
    assert [native.family(two, start, end, {}) for start, end in spans] == [
        family_from_attrs(attrs_of(m)) for m in WELL_FORMED[:2]
    ]


def test_family_returns_none_for_malformed_messages() -> None:
    good = newfamily(0x20, "fake", [(1, 2)], [("g", 3)])
    empty_name = newfamily(0x20, "", [(1, 2)], [])
    cases = {
        "truncated attribute": broken(good),
        "cut short": good[:-3],
        "no name": newfamily(0x20, None, [(1, 2)], []),
        "empty name": empty_name,
        "headers only": good[:20],
        "shorter than the headers": good[:19],
        "empty": b"",
        "129 groups": newfamily(0x20, "fake", [], [(f"g{i}", i) for i in range(129)]),
        "513 operations": newfamily(0x20, "fake", [(i, 0) for i in range(513)], []),
        "no family id": incomplete("family id"),
        "an operation without id": incomplete("op id"),
        "a group without name": incomplete("group name"),
    }
    for what, data in cases.items():
        assert native.family(data, 0, len(data), None) is None, what
    for what in ("family id", "op id", "group name"):
        # The Python decoder refuses them too (a missing attribute: a malformed reply).
        with pytest.raises(ParseError, match="CTRL_CMD_NEWFAMILY reply without CTRL_ATTR_"):
            family_from_attrs(attrs_of(incomplete(what)))
    # The Python decoder then names the fault, or reads what C does not.
    with pytest.raises(MalformedAttributesError):
        family_from_bytes(cases["truncated attribute"])
    assert family_from_bytes(empty_name) == family_from_attrs(attrs_of(empty_name))
    # At the limits C still decodes.
    data = newfamily(0x20, "fake", [(i, 0) for i in range(512)], [(f"g{i}", i) for i in range(128)])
    assert native.family(data, 0, len(data), {}) == family_from_attrs(attrs_of(data))


def test_family_from_bytes_names_operations_beyond_the_c_limits() -> None:
    # 129 groups is past what the C decoder reads; the Python fallback must
    # still name operations from the registry, as the C decoder does for 128.
    groups = [(f"g{i}", i) for i in range(129)]
    data = newfamily(CTRL, "nlctrl", [(3, 0xE), (10, 0xC)], groups)
    expected = family_from_attrs(attrs_of(data), families.command_names("nlctrl"))
    assert [op.name for op in expected.operations] == ["getfamily", "getpolicy"]
    assert family_from_bytes(data) == expected


def test_family_from_bytes_refuses_a_message_cut_short_of_its_length() -> None:
    good = newfamily(0x20, "fake", [(1, 2)], [("g", 3)])
    cut = good[:40]  # the headers, the family id and the name: an attribute boundary
    assert header_fields(cut)[0] == len(good) > len(cut)
    with pytest.raises(MalformedMessageError):
        attrs_of(cut)
    with pytest.raises(MalformedMessageError):
        family_from_bytes(cut)


def test_family_from_bytes_ignores_bytes_after_the_message() -> None:
    good = newfamily(0x20, "fake", [(1, 2)], [("g", 3)])
    extra = AttributeEncoder()
    extra.u16(lib.CTRL_ATTR_FAMILY_ID, 0x99)
    data = good + extra.encode()
    assert header_fields(data)[0] == len(good)
    assert family_from_attrs(attrs_of(data)) == family_from_attrs(attrs_of(good))
    assert family_from_bytes(data) == family_from_bytes(good)


# -- native.families -------------------------------------------------------------------


def test_families_decodes_only_descriptors_of_the_kind() -> None:
    first = newfamily(CTRL, "nlctrl", [(3, 0xE), (10, 0xC)], [("notify", 16)], flags=2, seq=7)
    second = newfamily(0x21, "fake", [(1, 2)], [], flags=2 | 0x10, seq=7)
    third = broken(newfamily(0x22, "bad", [(1, 2)], [], flags=2 | 0x20, seq=7))
    note = pack_genl_request(0x21, lib.NLM_F_ECHO, 0, 4242, 5, 1, marker("n").encode())
    end = ack(7, -errno.EINVAL)
    data, spans = arena(first, note, second, third, end, lead=8)
    desc = [
        *descriptor(_g.REPLY, data, spans[0]),
        *descriptor(_g.NOTIFY, data, spans[1]),
        *descriptor(_g.REPLY, data, spans[2]),
        *descriptor(_g.REPLY, data, spans[3]),
        *descriptor(_g.TERMINAL, data, spans[4], -errno.EINVAL),
        # Descriptors not of the kind are passed on as they are, unchecked.
        *[_g.OTHER, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 1 << 20, 1 << 21, 0xFFFFFFFF],
    ]
    before = list(desc)
    out: list[Any] = ["earlier"]
    rest, flags, failed = native.families(data, desc, _g.REPLY, out)
    assert out == [
        "earlier",
        family_from_attrs(attrs_of(first), families.command_names("nlctrl")),
        family_from_attrs(attrs_of(second)),
        third,
    ]
    assert type(out[3]) is bytes
    assert rest == desc[8:16] + desc[32:]
    assert rest[:8] == [_g.NOTIFY, 0x21, lib.NLM_F_ECHO, 0, 4242, spans[1][0], spans[1][1], 0]
    assert rest[8:16] == [
        _g.TERMINAL,
        lib.NLMSG_ERROR,
        lib.NLM_F_CAPPED,
        7,
        0,
        *spans[4],
        0xFFFFFFEA,
    ]
    # The OR of the decoded kind's flags only, the undecodable one included.
    assert flags == 2 | 0x10 | 0x20
    assert failed == 1
    assert desc == before
    # decode_batch is the same call, for REPLY descriptors.
    again: list[Any] = []
    assert decode_batch(data, desc, again) == (rest, flags, failed)
    assert again == out[1:]


def test_families_without_descriptors_of_the_kind() -> None:
    message = newfamily(0x21, "fake", [], [], flags=2)
    data, spans = arena(message, ack(1))
    desc = descriptor(_g.OTHER, data, spans[0]) + descriptor(_g.TERMINAL, data, spans[1])
    out: list[Any] = []
    rest, flags, failed = native.families(data, desc, _g.REPLY, out)
    assert (rest, flags, failed, out) == (desc, 0, 0, [])
    assert rest is not desc
    assert native.families(data, [], _g.REPLY, out) == ([], 0, 0)
    # Any kind may be asked for.
    assert native.families(data, desc, _g.OTHER, out) == (desc[8:], 2, 0)
    assert out == [family_from_attrs(attrs_of(message))]


# -- through GenlSocket ------------------------------------------------------------------


def test_list_families_equals_decoding_the_dump(sock: GenlSocket) -> None:
    listed = sock.list_families()
    messages = sock.dump(CTRL, GETFAMILY, version=2)
    assert listed == [family_from_bytes(m.data) for m in messages]
    assert listed == [
        family_from_attrs(
            m.attrs, families.command_names(m.attrs.string(lib.CTRL_ATTR_FAMILY_NAME))
        )
        for m in messages
    ]
    nlctrl = listed[0]
    assert (nlctrl.id, nlctrl.name) == (CTRL, "nlctrl")
    assert {op.id: op.name for op in nlctrl.operations} == NLCTRL_NAMES
    assert nlctrl.group("notify").id == CTRL
    assert all(type(f) is Family for f in listed)
