"""libnl_py.genl.family: Family, Operation, MulticastGroup and their decoders.

``family_from_attrs`` is the reference, in Python. Where ``libnl_py._codec``
is built, ``family_from_bytes`` and ``decode_batch`` decode with the codec's
record tables for nlctrl's built-in spec (``_record``, ``_decode``): those
must give the reference's values exactly, named tuples included, or decline
(``None``, or bytes in a batch) so that the reference decides and names the
fault. Here: hand-made messages, malformed ones, every family the kernel
reports, and hypothesis-mutated kernel replies.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from conftest import marker, newfamily
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libnl_py import lib
from libnl_py.attrs import AttributeEncoder, Attributes, MalformedAttributesError
from libnl_py.bindings import genl as _g
from libnl_py.errors import NetlinkError, ParseError
from libnl_py.genl import GenlSocket
from libnl_py.genl import family as family_module
from libnl_py.genl.family import (
    Family,
    MulticastGroup,
    Operation,
    decode_batch,
    families_from_bytes,
    family_from_attrs,
    family_from_bytes,
)
from libnl_py.message import GenlMessage, MalformedMessageError, pack_genl_request, split_datagram
from libnl_py.spec import registry
from libnl_py.spec.loader import BUILTIN_DIR, load

NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
CTRL = lib.GENL_ID_CTRL
NEWFAMILY = lib.CTRL_CMD_NEWFAMILY
NLCTRL_NAMES = {3: "getfamily", 10: "getpolicy"}
ACCELERATED = family_module._ACCELERATED is not None
needs_c = pytest.mark.skipif(not ACCELERATED, reason="libnl_py._codec is not built (PyPy?)")


# -- messages, arenas and descriptors by hand ------------------------------------------


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


def reference(data: bytes, op_names: Mapping[int, str] | None) -> Family | type[BaseException]:
    """What family_from_attrs makes of a message as family_from_bytes reads it, or its error."""
    try:
        if len(data) >= 16:
            data = data[: NLMSGHDR.unpack_from(data)[0]]  # the first message alone
        messages = split_datagram(data)
        if not messages:
            raise MalformedMessageError("no message", 0)
        msg_type, flags, seq, port, start, end = messages[0]
        attrs = GenlMessage(data, start, end, msg_type, flags, seq, port).attrs
        return family_from_attrs(attrs, op_names)
    except NetlinkError as exc:
        return type(exc)


def c_family(data: Any, op_names: dict[int, str] | None = None) -> Family | None:
    """The accelerator's Family of a message, or None where it declines."""
    family: Family | None = family_module._record(data, op_names)
    return family


def assert_named_tuples(family: Family) -> None:
    assert type(family) is Family
    assert type(family.operations) is tuple and type(family.groups) is tuple
    assert all(type(op) is Operation for op in family.operations)
    assert all(type(group) is MulticastGroup for group in family.groups)


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


# -- the named tuples --------------------------------------------------------------------


def test_family_from_bytes_decodes_every_field() -> None:
    data = newfamily(0x40, "fake", [(1, 0x2), (7, 0xE)], [("events", 33), ("other", 34)])
    family = family_from_bytes(data, {7: "seven"})
    assert family == Family(
        0x40,
        "fake",
        3,
        4,
        9,
        (Operation(1, 2, None), Operation(7, 14, "seven")),
        (MulticastGroup("events", 33), MulticastGroup("other", 34)),
    )
    assert_named_tuples(family)
    assert family.group("other").id == 34
    assert family.operation(7) is not None and family.operation(7).can_dump  # type: ignore[union-attr]
    assert family_from_attrs(attrs_of(data), {7: "seven"}) == family


def test_families_from_bytes_equals_one_by_one() -> None:
    messages = [
        newfamily(
            0x40 + i,
            f"f{i}",
            [(j, j) for j in range(i)],
            [(f"g{j}", 100 + j) for j in range(i % 3)],
        )
        for i in range(12)
    ]
    assert families_from_bytes(messages) == [family_from_bytes(m) for m in messages]
    assert families_from_bytes([]) == []


def test_malformed_family_names_the_fault() -> None:
    good = newfamily(0x40, "fake", [(1, 2)], [])
    bad = good[:20] + struct.pack("=H", 0x7FFF) + good[22:]  # first nla_len past the end
    with pytest.raises(MalformedAttributesError):
        family_from_bytes(bad)
    with pytest.raises(MalformedAttributesError):
        families_from_bytes([good, bad])


def test_the_builtin_spec_numbers_nlctrl_as_libnl_does() -> None:
    """The records read the spec's numbers, family_from_attrs libnl's constants: the same."""
    spec = load(BUILTIN_DIR / "nlctrl.json", "built-in")
    numbers = {
        ("ctrl-attrs", "family-id"): lib.CTRL_ATTR_FAMILY_ID,
        ("ctrl-attrs", "family-name"): lib.CTRL_ATTR_FAMILY_NAME,
        ("ctrl-attrs", "version"): lib.CTRL_ATTR_VERSION,
        ("ctrl-attrs", "hdrsize"): lib.CTRL_ATTR_HDRSIZE,
        ("ctrl-attrs", "maxattr"): lib.CTRL_ATTR_MAXATTR,
        ("ctrl-attrs", "ops"): lib.CTRL_ATTR_OPS,
        ("ctrl-attrs", "mcast-groups"): lib.CTRL_ATTR_MCAST_GROUPS,
        ("op-attrs", "id"): lib.CTRL_ATTR_OP_ID,
        ("op-attrs", "flags"): lib.CTRL_ATTR_OP_FLAGS,
        ("mcast-group-attrs", "name"): lib.CTRL_ATTR_MCAST_GRP_NAME,
        ("mcast-group-attrs", "id"): lib.CTRL_ATTR_MCAST_GRP_ID,
    }
    for (set_name, attr), number in numbers.items():
        assert spec.attr_set(set_name).by_name[attr].value == number, (set_name, attr)


# -- the accelerator's Family records against family_from_attrs --------------------------

WELL_FORMED = [
    newfamily(0x20, "fake", [], []),
    newfamily(0x40, "fake", [(1, 0x2), (7, 0xE)], [("events", 33), ("other", 34)]),
    newfamily(0xFFFF, "x" * 200, [(i, i) for i in range(40)], [(f"g{i}", i) for i in range(30)]),
    newfamily(0x41, "caf\u00e9", [(1, 0xFFFFFFFF)], [("gr\u00fcppe", 0xFFFFFFFF)]),
    newfamily(0x42, "", [(1, 2)], []),
    newfamily(0x43, "many", [(i, 0) for i in range(600)], [(f"g{i}", i) for i in range(200)]),
]


@needs_c
@pytest.mark.parametrize("data", WELL_FORMED)
@pytest.mark.parametrize("op_names", [{}, {1: "one", 7: "seven"}, {0: "zero"}, None])
def test_c_family_equals_the_python_decoder(data: bytes, op_names: dict[int, str] | None) -> None:
    registry.command_names(attrs_of(data).string(lib.CTRL_ATTR_FAMILY_NAME))  # for None
    family = c_family(data, op_names)
    assert family is not None
    names = op_names if op_names is not None else registry.command_names(family.name)
    assert family == family_from_attrs(attrs_of(data), names)
    assert family == family_from_bytes(data, op_names)
    assert_named_tuples(family)


@needs_c
def test_c_family_names_operations_from_the_registry() -> None:
    data = newfamily(CTRL, "nlctrl", [(3, 0xE), (10, 0xC), (99, 2)], [("notify", 16)])
    registry.command_names("nlctrl")  # in the cache the accelerator reads
    family = c_family(data)
    assert family is not None
    assert [(op.id, op.name) for op in family.operations] == [
        (3, "getfamily"),
        (10, "getpolicy"),
        (99, None),
    ]
    assert family == family_from_attrs(attrs_of(data), registry.command_names("nlctrl"))
    # An explicit mapping replaces the registry, even an empty one.
    assert [op.name for op in c_family(data, {}).operations] == [None] * 3  # type: ignore[union-attr]
    named = c_family(data, {10: "ten"})
    assert named is not None and [op.name for op in named.operations] == [None, "ten", None]
    # A family the registry does not know: no names.
    data = newfamily(0x30, "no-such-definition", [(3, 2)], [])
    registry.command_names("no-such-definition")
    assert c_family(data).operations == (Operation(3, 2, None),)  # type: ignore[union-attr]


@needs_c
def test_names_the_cache_lacks_leave_the_family_to_python() -> None:
    """Names not looked up yet: C declines; family_from_attrs looks them up, and C has them."""
    name = "fake-family-for-names"
    registry.command_names_cache.pop(name, None)
    spec_names = {5: "five"}
    data = newfamily(0x50, name, [(5, 2), (6, 2)], [])
    decoder = family_module._ACCELERATED[1].args[0]  # type: ignore[index]
    misses = decoder.misses
    assert c_family(data) is None
    assert decoder.misses > misses
    registry.command_names_cache[name] = spec_names
    try:
        assert c_family(data) == Family(
            0x50, name, 3, 4, 9, (Operation(5, 2, "five"), Operation(6, 2, None)), ()
        )
        # A family without operations needs no names.
        del registry.command_names_cache[name]
        empty = newfamily(0x50, name, [], [])
        assert c_family(empty) == family_from_attrs(attrs_of(empty))
        # Names the cache holds that are not a dict: left to Python (which asks the registry).
        registry.command_names_cache[name] = MappingProxyType(spec_names)
        assert c_family(data) is None
        assert family_from_bytes(data) == family_from_attrs(attrs_of(data))
    finally:
        registry.command_names_cache.pop(name, None)
    # family_from_bytes asks the registry (none here), which caches the answer.
    assert family_from_bytes(data).operations == (Operation(5, 2, None), Operation(6, 2, None))
    assert registry.command_names_cache[name] == {}
    assert c_family(data) == family_from_bytes(data)


def test_op_names_that_are_no_dict_go_to_the_python_decoder() -> None:
    data = newfamily(0x20, "fake", [(1, 2)], [])

    class Names(Mapping[int, str]):
        def __init__(self, error: BaseException, size: int = 1) -> None:
            self.error, self.size = error, size

        def __getitem__(self, key: int) -> str:
            raise self.error

        def __iter__(self) -> Iterator[int]:
            return iter(())

        def __len__(self) -> int:
            return self.size

    # The reference's rules, whatever they are: a missing name (KeyError) is None,
    # any other error propagates unchanged, an empty mapping names nothing.
    assert family_from_bytes(data, Names(KeyError(1))).operations[0].name is None
    boom = RuntimeError("boom")
    with pytest.raises(RuntimeError) as info:
        family_from_bytes(data, Names(boom))
    assert info.value is boom
    assert family_from_bytes(data, Names(boom, 0)).operations[0].name is None
    assert family_from_bytes(data, MappingProxyType({1: "one"})).operations[0].name == "one"
    with pytest.raises(AttributeError):
        family_from_bytes(data, 5)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        family_from_attrs(attrs_of(data), 5)  # type: ignore[arg-type]
    # Without operations the names are never looked at.
    data = newfamily(0x20, "fake", [], [])
    assert family_from_bytes(data, 5) == family_from_attrs(attrs_of(data))  # type: ignore[arg-type]


@needs_c
def test_c_family_refuses_names_that_are_no_dict() -> None:
    data = newfamily(0x20, "fake", [(1, 2)], [])
    for names in (MappingProxyType({}), 5, [], {1: "x"}.items()):
        with pytest.raises(TypeError, match="names must be a dict or None"):
            c_family(data, names)  # type: ignore[arg-type]


@needs_c
def test_c_family_reads_any_buffer() -> None:
    message = WELL_FORMED[1]
    expected = c_family(message, {7: "seven"})
    data = b"\xee" * 12 + message + b"\xdd" * 8
    for buf in (bytearray(message), memoryview(message), memoryview(data)[12:-8]):
        assert c_family(buf, {7: "seven"}) == expected
    for bad in (42, "text", None):
        with pytest.raises(TypeError, match="a bytes-like object is required"):
            c_family(bad)


@needs_c
def test_c_family_declines_malformed_messages() -> None:
    good = newfamily(0x20, "fake", [(1, 2)], [("g", 3)])
    cases = {
        "truncated attribute": broken(good),
        "cut short": good[:-3],
        "no name": newfamily(0x20, None, [(1, 2)], []),
        "headers only": good[:20],
        "shorter than the headers": good[:19],
        "empty": b"",
        "no family id": incomplete("family id"),
        "an operation without id": incomplete("op id"),
        "a group without name": incomplete("group name"),
    }
    for what, data in cases.items():
        assert c_family(data, {}) is None, what
        # The Python decoder then names the fault.
        expected = reference(data, {})
        assert isinstance(expected, type) and issubclass(expected, NetlinkError), what
        with pytest.raises(expected):
            family_from_bytes(data, {})
    for what in ("family id", "op id", "group name"):
        with pytest.raises(ParseError, match="CTRL_CMD_NEWFAMILY reply without CTRL_ATTR_"):
            family_from_bytes(incomplete(what))


@needs_c
def test_c_family_reads_what_the_python_decoder_reads() -> None:
    """The first of an attribute counts and later ones are not read; others are ignored."""
    enc = AttributeEncoder()
    enc.u16(lib.CTRL_ATTR_FAMILY_ID, 0x20)
    enc.string(lib.CTRL_ATTR_FAMILY_NAME, "first")
    enc.put(lib.CTRL_ATTR_FAMILY_ID, b"\x01")  # too short, but a repeat: not read
    enc.string(lib.CTRL_ATTR_FAMILY_NAME, "second")
    enc.put(lib.CTRL_ATTR_VERSION, b"\x05\0\0\0\xff\xff")  # longer than a u32: its first 4
    enc.put(8, b"\xff\xff\xff\xff")  # CTRL_ATTR_POLICY, no family field: not read
    enc.put(200, b"unknown")
    with enc.nested(lib.CTRL_ATTR_OPS), enc.nested(7):  # the entry's type is not looked at
        enc.u32(lib.CTRL_ATTR_OP_ID, 4)
        enc.u32(lib.CTRL_ATTR_OP_ID, 5)
        enc.put(9, b"")
    enc.put(lib.CTRL_ATTR_OPS, b"\xff\xff\xff\xff")  # a second ops: not read
    data = ctrl_message(enc)
    expected = family_from_attrs(attrs_of(data), {})
    assert expected == Family(0x20, "first", 5, 0, 0, (Operation(4, 0, None),), ())
    assert c_family(data, {}) == expected


def test_family_from_bytes_refuses_a_message_cut_short_of_its_length() -> None:
    good = newfamily(0x20, "fake", [(1, 2)], [("g", 3)])
    cut = good[:40]  # the headers, the family id and the name: an attribute boundary
    assert NLMSGHDR.unpack_from(cut)[0] == len(good) > len(cut)
    with pytest.raises(MalformedMessageError):
        attrs_of(cut)
    with pytest.raises(MalformedMessageError):
        family_from_bytes(cut)


def test_family_from_bytes_ignores_bytes_after_the_message() -> None:
    good = newfamily(0x20, "fake", [(1, 2)], [("g", 3)])
    extra = AttributeEncoder()
    extra.u16(lib.CTRL_ATTR_FAMILY_ID, 0x99)
    data = good + extra.encode()
    assert NLMSGHDR.unpack_from(data)[0] == len(good)
    assert family_from_attrs(attrs_of(data)) == family_from_attrs(attrs_of(good))
    assert family_from_bytes(data) == family_from_bytes(good)


@pytest.mark.parametrize("size", [0, 1, 15, 19])
def test_family_input_shorter_than_its_headers_raises_malformed(size: int) -> None:
    with pytest.raises(MalformedMessageError):
        family_from_bytes(WELL_FORMED[1][:size])


# -- every family the kernel has, and mutations of them ----------------------------------


@pytest.fixture(scope="module")
def kernel_replies() -> list[bytes]:
    """Every CTRL_CMD_NEWFAMILY reply of a CTRL_CMD_GETFAMILY dump, as bytes."""
    with GenlSocket(timeout=5) as sock:
        return [m.data for m in sock.dump(CTRL, lib.CTRL_CMD_GETFAMILY, version=2)]


@needs_c
def test_c_family_equals_the_python_decoder_for_every_kernel_family(
    kernel_replies: list[bytes],
) -> None:
    assert len(kernel_replies) > 1
    for data in kernel_replies:
        name = attrs_of(data).string(lib.CTRL_ATTR_FAMILY_NAME)
        names = registry.command_names(name)  # looked up, as family_from_attrs does
        expected = family_from_attrs(attrs_of(data), names)
        assert c_family(data) == expected, name
        assert c_family(data, dict(names)) == expected, name
        assert c_family(data, {}) == family_from_attrs(attrs_of(data), {}), name
        assert_named_tuples(c_family(data))  # type: ignore[arg-type]
    # The same through a batch, in one call.
    data, spans = arena(*kernel_replies, ack(1), lead=4)
    desc = [w for span in spans[:-1] for w in descriptor(_g.REPLY, data, span)]
    desc += descriptor(_g.TERMINAL, data, spans[-1])
    out: list[Any] = []
    flags = 0
    for message in kernel_replies:
        flags |= NLMSGHDR.unpack_from(message)[2]
    assert decode_batch(data, desc, out) == (desc[-8:], flags, 0)
    assert out == [family_from_bytes(m) for m in kernel_replies]


@st.composite
def mutated(draw: Any, bases: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "cut", "zero", "splice"]))
        if how == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif how == "cut":
            del data[draw(st.integers(0, len(data))) :]
        elif how == "zero" and len(data) > 20:
            i = draw(st.integers(20, len(data) - 1))
            data[i : i + 4] = bytes(len(data[i : i + 4]))
        elif how == "splice" and len(data) > 24:
            # An attribute of the message again, elsewhere: repeats, nests in nests.
            i = draw(st.integers(20, len(data) - 4))
            j = draw(st.integers(20, len(data)))
            length = struct.unpack_from("=H", data, i)[0]
            data[j:j] = data[i : i + max(4, min(length, len(data) - i))]
    if len(data) >= 4 and draw(st.booleans()):
        data[0:4] = struct.pack("=I", len(data))  # often whole: the attributes get decoded
    return bytes(data)


@needs_c
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_c_family_agrees_with_python_on_mutated_kernel_replies(data: st.DataObject) -> None:
    message = data.draw(mutated(_kernel_replies()))
    names = data.draw(st.sampled_from([None, {}, {1: "one", 3: "three"}]))
    expected = reference(message, registry_names(message) if names is None else names)
    got = c_family(message, names)
    if got is not None:
        assert got == expected  # C made it: exactly the reference's, never where it raises
        assert_named_tuples(got)
    try:
        again: Family | type[BaseException] = family_from_bytes(message, names)
    except NetlinkError as exc:
        again = type(exc)
    assert again == expected
    # In a batch: the Family, or the bytes family_from_bytes is left to decode.
    arena_data, spans = arena(message, lead=8) if len(message) >= 16 else (b"", [])
    if spans and NLMSGHDR.unpack_from(message)[0] == len(message) and names is None:
        out: list[Any] = []
        decode_batch(arena_data, descriptor(_g.REPLY, arena_data, spans[0]), out)
        assert out in ([expected], [message]) if isinstance(expected, Family) else out == [message]


_cached_replies: list[bytes] = []


def _kernel_replies() -> list[bytes]:
    """The kernel's family replies, dumped once for all examples."""
    if not _cached_replies:
        with GenlSocket(timeout=5) as sock:
            dump = sock.dump(CTRL, lib.CTRL_CMD_GETFAMILY, version=2)
        _cached_replies.extend(m.data for m in dump)
    return _cached_replies


def registry_names(message: bytes) -> Mapping[int, str] | None:
    """The registry's names for the family a message names, as family_from_attrs asks."""
    try:
        return registry.command_names(attrs_of(message).string(lib.CTRL_ATTR_FAMILY_NAME))
    except (NetlinkError, KeyError, IndexError):
        return None


# -- decode_batch ------------------------------------------------------------------------


def test_decode_batch_decodes_only_replies() -> None:
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
        # Descriptors of other kinds are passed on as they are, unchecked.
        *[_g.OTHER, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 1 << 20, 1 << 21, 0xFFFFFFFF],
    ]
    before = list(desc)
    registry.command_names("nlctrl")  # the names the accelerator reads, looked up
    registry.command_names("fake")
    out: list[Any] = ["earlier"]
    rest, flags, failed = decode_batch(data, desc, out)
    assert out[:3] == [
        "earlier",
        family_from_attrs(attrs_of(first), registry.command_names("nlctrl")),
        family_from_attrs(attrs_of(second), registry.command_names("fake")),
    ]
    # The one that does not decode stays bytes, for family_from_bytes to name the fault.
    assert out[3] == third and type(out[3]) is bytes
    with pytest.raises(MalformedAttributesError):
        family_from_bytes(out[3])
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
    # The OR of the replies' flags, the undecodable one's included.
    assert flags == 2 | 0x10 | 0x20
    assert failed == 1
    assert desc == before
    if ACCELERATED:
        assert [type(f) for f in out[1:3]] == [Family, Family]
        assert_named_tuples(out[1])


def test_decode_batch_without_replies() -> None:
    message = newfamily(0x21, "fake", [], [], flags=2)
    data, spans = arena(message, ack(1))
    desc = descriptor(_g.OTHER, data, spans[0]) + descriptor(_g.TERMINAL, data, spans[1])
    out: list[Any] = []
    rest, flags, failed = decode_batch(data, desc, out)
    assert (rest, flags, failed, out) == (desc, 0, 0, [])
    assert rest is not desc
    assert decode_batch(data, [], out) == ([], 0, 0)
    assert out == []


def test_decode_batch_leaves_a_reply_too_short_for_its_headers_as_bytes() -> None:
    good = newfamily(0x21, "fake", [(1, 2)], [])
    short = NLMSGHDR.pack(18, CTRL, 0x40, 1, 0) + b"\x01\x02"
    data, spans = arena(good, short, good, ack(1))
    desc = [w for span in spans[:3] for w in descriptor(_g.REPLY, data, span)]
    desc += descriptor(_g.TERMINAL, data, spans[3])
    registry.command_names("fake")
    out: list[Any] = []
    rest, flags, failed = decode_batch(data, desc, out)
    assert rest == desc[24:]
    assert flags == 0x40
    if ACCELERATED:
        assert out == [family_from_bytes(good), short, family_from_bytes(good)]
        assert failed == 1
    else:
        assert (out, failed) == ([good, short, good], 3)
    with pytest.raises(MalformedMessageError):
        family_from_bytes(short)


def test_decode_batch_rejects_bad_descriptors() -> None:
    data, spans = arena(newfamily(0x20, "fake", [(1, 2)], []))
    good = descriptor(_g.REPLY, data, spans[0])
    for desc in (good[:7], [*good, 0], good[:1]):
        out: list[Any] = []
        with pytest.raises(ValueError, match="desc must be whole descriptors"):
            decode_batch(data, desc, out)
        assert out == []
    for start, end in ((0, 10_000), (10_000, 10_004), (8, 4)):
        desc = [*good[:5], start, end, good[7]]
        out = []
        with pytest.raises(ValueError, match="descriptor span outside the buffer"):
            decode_batch(data, desc, out)
        assert out == []
    with pytest.raises(OverflowError if ACCELERATED else ValueError):
        decode_batch(data, [*good[:5], -1, *good[6:]], [])
    with pytest.raises(TypeError):
        decode_batch(data, [*good[:5], "0", *good[6:]], [])  # type: ignore[list-item]
    for bad in (None, 42, "text"):
        with pytest.raises(TypeError):
            decode_batch(bad, good, [])


def test_decode_batch_without_the_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    """No libnl_py._codec (PyPy): every reply stays bytes, and family_from_bytes decodes it."""
    monkeypatch.setattr(family_module, "_decode", family_module._no_decode)
    monkeypatch.setattr(family_module, "_record", family_module._no_record)
    first = newfamily(0x21, "fake", [(1, 2)], [("g", 5)], flags=2)
    second = newfamily(0x22, "other", [], [], flags=0x10)
    data, spans = arena(first, second, ack(1))
    desc = [w for span in spans[:2] for w in descriptor(_g.REPLY, data, span)]
    desc += descriptor(_g.TERMINAL, data, spans[2])
    out: list[Any] = []
    assert decode_batch(data, desc, out) == (desc[16:], 0x12, 2)
    assert out == [first, second]
    assert family_from_bytes(first) == family_from_attrs(attrs_of(first))
    with pytest.raises(MalformedAttributesError):
        family_from_bytes(broken(first))


# -- through GenlSocket ------------------------------------------------------------------


def test_list_families_equals_decoding_the_dump(sock: GenlSocket) -> None:
    listed = sock.list_families()
    messages = sock.dump(CTRL, lib.CTRL_CMD_GETFAMILY, version=2)
    assert listed == [family_from_bytes(m.data) for m in messages]
    assert listed == families_from_bytes([m.data for m in messages])
    names = [registry.command_names(m.attrs.string(lib.CTRL_ATTR_FAMILY_NAME)) for m in messages]
    assert listed == [family_from_attrs(m.attrs, n) for m, n in zip(messages, names)]
    nlctrl = listed[0]
    assert (nlctrl.id, nlctrl.name) == (CTRL, "nlctrl")
    assert {op.id: op.name for op in nlctrl.operations} == NLCTRL_NAMES
    assert nlctrl.group("notify").id == CTRL
    for family in listed:
        assert_named_tuples(family)
