"""libnl_py._codec, the C accelerator of the codec: the same results and errors as Python.

The Python codec (``Codec(spec, accelerate=False)``) is the reference. Every
test decodes the same bytes with both and compares the outcome strictly: the
values with their types (``True`` is not ``1``, a list of repeats is not a
plain list), the order of keys, the exception's class, text and offset, and
whether the decode met an attribute its set lacks. The inputs:

* messages made by hypothesis from the attribute sets of every spec there is
  here (the built-ins, every YNL spec linux-doc installs, and the test spec of
  ``test_spec_codec`` that holds every YNL type), valid, cut short, with
  lengths overwritten, and nested past the depth limit;
* attribute sets made by hypothesis (random kinds, enums, nests, arrays);
* real replies of the kernel: every family's policy dump, nlctrl's family
  dump, and ethtool and netdev dumps of veth interfaces in a private namespace.
"""

from __future__ import annotations

import array
import contextlib
import glob
import re
import struct
import subprocess
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import pytest
from conftest import in_ci, nlattr, require_root
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_spec_codec import SPEC as CODEC_TEST_SPEC

from libnl_py.attrs import MalformedAttributesError
from libnl_py.spec import Codec, FamilySpec
from libnl_py.spec import registry as specs
from libnl_py.spec.codec import Record, RecordField
from libnl_py.spec.loader import load
from libnl_py.spec.model import INT_TYPES, AttrSpec
from libnl_py.spec.policy import spec_from_policy

try:
    from libnl_py import _codec
except ImportError:  # pragma: no cover - PyPy
    _codec = None  # type: ignore[assignment]

if _codec is None:
    if in_ci():
        pytest.fail("CI=true but libnl_py._codec is not built", pytrace=False)
    pytest.skip("libnl_py._codec is not built (PyPy?)", allow_module_level=True)

BUILTIN_DIR = Path(specs.__file__).resolve().parent / "builtin"
DOC_GLOB = "/usr/share/doc/linux-doc-*/Documentation/netlink/specs/*.yaml*"
NESTED = 0x8000
BYTEORDER = 0x4000


def _doc_specs() -> list[Path]:
    newest: dict[str, Path] = {}
    for path in sorted(glob.glob(DOC_GLOB)):
        newest.setdefault(Path(path).name, Path(path))  # any version: all are compared
    return sorted(newest.values())


def _all_specs() -> dict[str, FamilySpec]:
    found = {"codec-test": CODEC_TEST_SPEC}
    for path in sorted(BUILTIN_DIR.glob("*.json")):
        found[f"builtin:{path.stem}"] = load(path)
    for path in _doc_specs():
        found[f"doc:{path.name.split('.')[0]}"] = load(path)
    return found


SPECS = _all_specs()
SETS = [(key, set_name) for key, spec in SPECS.items() for set_name in spec.attribute_sets]


def test_the_specs_are_there() -> None:
    """The comparison covers the built-ins and, where linux-doc is installed, its specs."""
    assert sum(key.startswith("builtin:") for key in SPECS) == 15
    if in_ci():
        assert sum(key.startswith("doc:") for key in SPECS) >= 19, "linux-doc-6.12 in CI (19)"


# -- comparing -------------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, keys in the same order, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def outcome(codec: Codec, fn: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn(codec), codec.saw_unknown)
    except MalformedAttributesError as exc:
        return ("error", type(exc), str(exc), exc.offset, codec.saw_unknown)


def both(spec: FamilySpec, fn: Any, policy: Any = None) -> tuple[Any, ...]:
    """The outcome of ``fn(codec)`` with the Python and the C decoder; they must agree."""
    python = outcome(Codec(spec, policy, accelerate=False), fn)
    native = outcome(Codec(spec, policy, accelerate=True), fn)
    assert python[0] == native[0], (python, native)
    if python[0] == "ok":
        assert same(python[1], native[1]), (python[1], native[1])
        assert python[2] == native[2]
    else:
        assert python[1:] == native[1:]
    return python


# -- messages made from a set ----------------------------------------------------------------


@st.composite
def payloads(draw: Any, spec: FamilySpec, attr: AttrSpec, depth: int) -> bytes:
    """A payload for ``attr``: mostly well formed, sometimes not."""
    if draw(st.integers(0, 9)) == 0:
        return bytes(draw(st.binary(max_size=12)))
    kind = attr.type
    if kind in INT_TYPES:
        size = {"u8": 1, "s8": 1, "u16": 2, "s16": 2, "u32": 4, "s32": 4}.get(kind, 8)
        if kind in ("uint", "sint"):
            size = draw(st.sampled_from([1, 2, 3, 4, 8]))
        if attr.enum is not None and draw(st.booleans()):
            values = list(spec.enum(attr.enum).by_value) or [0]
            value = draw(st.sampled_from(values))
            if spec.enum(attr.enum).is_flags or attr.enum_as_flags:
                value = sum(1 << v for v in values if v < 64 and draw(st.booleans()))
            return (value % (1 << (8 * size))).to_bytes(size, "little")
        return bytes(draw(st.binary(min_size=size, max_size=size)))
    if kind == "string":
        text = draw(st.text(max_size=8)).encode("utf-8", "surrogatepass")
        return text + draw(st.sampled_from([b"\0", b"", b"\0junk\xff"]))
    if kind == "flag":
        return b""
    if kind == "binary" and attr.struct is not None:
        size = spec.struct(attr.struct).size
        return bytes(draw(st.binary(min_size=size, max_size=size + 4)))
    if kind in ("nest", "indexed-array", "nest-type-value", "sub-message") and depth > 3:
        return b""
    if kind == "nest":
        assert attr.nested_attributes is not None
        return draw(attribute_stream(spec, attr.nested_attributes, depth + 1))
    if kind == "indexed-array":
        entries = []
        for i in range(draw(st.integers(0, 3))):
            if attr.sub_type == "nest" and attr.nested_attributes is not None:
                body = draw(attribute_stream(spec, attr.nested_attributes, depth + 1))
            else:
                inner = AttrSpec(
                    attr.name,
                    i,
                    attr.sub_type or "binary",
                    attr.byte_order,
                    enum=attr.enum,
                    display_hint=attr.display_hint,
                )
                body = draw(payloads(spec, inner, depth + 1))
            entries.append(nlattr(i + 1, body))
        return b"".join(entries)
    if kind == "nest-type-value" and attr.nested_attributes is not None:
        body = draw(attribute_stream(spec, attr.nested_attributes, depth + 1))
        for _ in range(max(1, len(attr.type_value))):
            body = nlattr(draw(st.integers(0, 5)) | NESTED, body)
        return body
    if kind == "sub-message" and attr.sub_message is not None:
        formats = list(spec.sub_messages[attr.sub_message].formats.values())
        if formats:
            set_name, header = draw(st.sampled_from(formats))
            head = b""
            if header is not None:
                size = spec.struct(header).size
                head = bytes(draw(st.binary(min_size=size, max_size=size)))
            if set_name is not None:
                head += draw(attribute_stream(spec, set_name, depth + 1))
            return head
    if kind == "bitfield32":
        return bytes(draw(st.binary(min_size=8, max_size=8)))
    return bytes(draw(st.binary(max_size=20)))


@st.composite
def attribute_stream(draw: Any, spec: FamilySpec, set_name: str, depth: int = 0) -> bytes:
    aset = spec.attr_set(set_name)
    parts = []
    for _ in range(draw(st.integers(0, 6 if depth == 0 else 3))):
        if aset.attributes and draw(st.integers(0, 5)):
            attr = draw(st.sampled_from(aset.attributes))
            number = attr.value
            payload = draw(payloads(spec, attr, depth))
            # Selector siblings first, sometimes: sub-messages decode by them.
            if attr.type == "sub-message" and attr.selector in aset.by_name and draw(st.booleans()):
                sel = aset.by_name[attr.selector]
                parts.append(nlattr(sel.value, draw(payloads(spec, sel, depth))))
        else:
            number = draw(st.integers(0, 60))
            payload = bytes(draw(st.binary(max_size=10)))
        number |= draw(st.sampled_from([0, 0, 0, NESTED, BYTEORDER]))
        parts.append(nlattr(number, payload))
    return b"".join(parts)


@st.composite
def damaged(draw: Any, data: bytes) -> bytes:
    """``data`` as it is, cut short, or with one attribute length overwritten."""
    how = draw(st.integers(0, 5))
    if how == 1 and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == 2 and len(data) >= 4:
        at = draw(st.integers(0, (len(data) - 4) // 4)) * 4
        length = draw(st.sampled_from([0, 1, 3, 4, 5, 0xFFFF, len(data) - at + 1]))
        return data[:at] + struct.pack("=H", length & 0xFFFF) + data[at + 2 :]
    return data


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_every_set_of_every_spec_decodes_the_same(data: Any) -> None:
    key, set_name = data.draw(st.sampled_from(SETS))
    spec = SPECS[key]
    raw = data.draw(damaged(data.draw(attribute_stream(spec, set_name))))
    start = data.draw(st.sampled_from([0, 0, min(4, len(raw))]))
    both(spec, lambda c: c.decode(set_name, raw, start))


RECEIVED = sorted(
    {
        (key, cmd, reply)
        for key, spec in SPECS.items()
        for cmd in {*spec.replies, *spec.events, *spec.requests}
        for reply in (True, False)
        if (op := spec.received(cmd, reply)) is not None and op.attribute_set is not None
    }
)


def received_parts(received: tuple[str, int, bool], data: Any) -> tuple[FamilySpec, bytes, bytes]:
    """(spec, fixed header (whole, short or absent), attributes, damaged) of a message."""
    key, cmd, reply = received
    spec = SPECS[key]
    op = spec.received(cmd, reply)
    assert op is not None and op.attribute_set is not None
    header = b""
    if op.fixed_header is not None:
        size = spec.struct(op.fixed_header).size
        header = bytes(data.draw(st.binary(min_size=size - 1 if size else 0, max_size=size)))
    body = data.draw(damaged(data.draw(attribute_stream(spec, op.attribute_set))))
    return spec, header, body


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(RECEIVED), st.data())
def test_every_message_of_every_spec_decodes_the_same(
    received: tuple[str, int, bool], data: Any
) -> None:
    """decode_message: the fixed header (whole, short or absent), then the attributes."""
    _key, cmd, reply = received
    spec, header, body = received_parts(received, data)
    msg = b"\0" * 20 + body
    both(spec, lambda c: c.decode_message(msg, 20, header, cmd, reply))


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(RECEIVED), st.data())
def test_decode_received_is_decode_message_of_the_whole_message(
    received: tuple[str, int, bool], data: Any
) -> None:
    """decode_received (one C call in the common case) gives decode_message's values and
    errors, the fixed header read from the message itself, in C and in Python alike."""
    _key, cmd, reply = received
    spec, header, body = received_parts(received, data)
    msg = b"\0" * 20 + header + body
    at = 20 + len(header)
    for accelerate in (False, True):
        whole = outcome(
            Codec(spec, accelerate=accelerate), lambda c: c.decode_received(msg, at, cmd, reply)
        )
        parts = outcome(
            Codec(spec, accelerate=accelerate),
            lambda c: c.decode_message(msg, at, header, cmd, reply)[1],
        )
        assert whole[0] == parts[0], (whole, parts)
        if whole[0] == "ok":
            assert same(whole[1], parts[1]) and whole[2] == parts[2]
        else:
            assert whole[1:] == parts[1:]


def test_a_command_no_spec_names_decodes_by_number() -> None:
    raw = b"\0" * 20 + nlattr(1, b"ab") + nlattr(1, b"cd") + nlattr(300, b"")
    result = both(SPECS["builtin:nlctrl"], lambda c: c.decode_message(raw, 20, b"", 250, True)[1])
    assert result[1] == {1: [b"ab", b"cd"], 300: b""}
    assert result[2] is True


# -- sets made by hypothesis -----------------------------------------------------------------

SCALARS = ["u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "uint", "sint"]


@st.composite
def random_specs(draw: Any) -> FamilySpec:
    entries = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, unique=True))
    sets = []
    n_sets = draw(st.integers(1, 3))
    for s in range(n_sets):
        attrs = []
        for i in range(draw(st.integers(1, 8))):
            kind = draw(
                st.sampled_from(
                    [
                        *SCALARS,
                        "string",
                        "flag",
                        "binary",
                        "nest",
                        "pad",
                        "indexed-array",
                        "bitfield32",
                    ]
                )
            )
            attr: dict[str, Any] = {
                "name": f"a{i}",
                "type": kind,
                "value": draw(st.integers(0, 12)),
            }
            if kind in SCALARS:
                if draw(st.booleans()) and kind not in ("uint", "sint"):
                    attr["byte-order"] = "big-endian"
                pick = draw(st.integers(0, 3))
                if pick == 1:
                    attr["enum"] = "en"
                elif pick == 2:
                    attr["enum"] = "fl"
                elif pick == 3 and kind == "u32":
                    attr["display-hint"] = "ipv4"
            if kind == "binary" and draw(st.booleans()):
                attr["sub-type"] = draw(st.sampled_from(["u16", "u32", "s8", "u64"]))
            if kind == "nest":
                attr["nested-attributes"] = f"s{draw(st.integers(0, n_sets - 1))}"
            if kind == "indexed-array":
                attr["sub-type"] = draw(st.sampled_from(["nest", "u32", "string", "binary"]))
                if attr["sub-type"] == "nest":
                    attr["nested-attributes"] = f"s{draw(st.integers(0, n_sets - 1))}"
            if kind not in ("pad", "flag") and draw(st.integers(0, 4)) == 0:
                attr["multi-attr"] = True
            attrs.append(attr)
        sets.append({"name": f"s{s}", "attributes": attrs})
    return FamilySpec.from_dict(
        {
            "name": "random",
            "protocol": "genetlink",
            "definitions": [
                {
                    "name": "en",
                    "type": "enum",
                    "entries": entries,
                    "value-start": draw(st.integers(0, 3)),
                },
                {"name": "fl", "type": "flags", "entries": entries},
            ],
            "attribute-sets": sets,
        }
    )


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_specs(), st.data())
def test_random_specs_decode_the_same(spec: FamilySpec, data: Any) -> None:
    raw = data.draw(damaged(data.draw(attribute_stream(spec, "s0"))))
    both(spec, lambda c: c.decode("s0", raw))


# -- limits and shapes -----------------------------------------------------------------------

DEEP = FamilySpec.from_dict(
    {
        "name": "deep",
        "attribute-sets": [
            {
                "name": "n",
                "attributes": [
                    {"name": "down", "type": "nest", "nested-attributes": "n"},
                    {"name": "v", "type": "u32"},
                ],
            }
        ],
    }
)


@pytest.mark.parametrize("levels", [1, 31, 32, 33, 40, 2000])
def test_nesting_is_limited_alike(levels: int) -> None:
    raw = nlattr(2, struct.pack("=I", 7))
    for _ in range(levels):
        raw = nlattr(1 | NESTED, raw)
    result = both(DEEP, lambda c: c.decode("n", raw))
    if levels <= 32:
        assert result[0] == "ok"
    else:
        assert result[0] == "error" and "nested too deep" in result[2]


def test_repeats_under_a_number_become_one_list() -> None:
    raw = nlattr(240, b"x") * 3 + nlattr(241, b"y")
    result = both(CODEC_TEST_SPEC, lambda c: c.decode("all", raw))
    assert result[1] == {240: [b"x", b"x", b"x"], 241: b"y"}
    assert type(result[1][240]).__name__ == "_Repeats"


def test_a_negative_flags_value_stays_a_number() -> None:
    spec = FamilySpec.from_dict(
        {
            "name": "neg",
            "definitions": [{"name": "fl", "type": "flags", "entries": ["a", "b"]}],
            "attribute-sets": [
                {"name": "s", "attributes": [{"name": "x", "type": "s32", "enum": "fl"}]}
            ],
        }
    )
    result = both(spec, lambda c: c.decode("s", nlattr(1, struct.pack("=i", -3))))
    assert result[1] == {"x": -3}
    result = both(spec, lambda c: c.decode("s", nlattr(1, struct.pack("=i", 3))))
    assert result[1] == {"x": ["a", "b"]}


def test_buffers_of_every_kind_decode_alike() -> None:
    raw = nlattr(1, struct.pack("=H", 0x15)) + nlattr(2, b"ethtool\0")
    spec = SPECS["builtin:nlctrl"]
    want = {"family-id": 0x15, "family-name": "ethtool"}
    assert Codec(spec, accelerate=False).decode("ctrl-attrs", raw) == want
    codec = Codec(spec, accelerate=True)
    for buf in (raw, bytearray(raw), memoryview(raw)):
        assert codec.decode("ctrl-attrs", buf) == want  # type: ignore[arg-type]


def test_the_accelerator_is_used_by_default() -> None:
    assert Codec(SPECS["builtin:ethtool"]).accelerated
    assert not Codec(SPECS["builtin:ethtool"], accelerate=False).accelerated


# -- the Decoder type: misuse raises, never crashes ------------------------------------------


def test_decoder_misuse_raises() -> None:
    d = _codec.Decoder(MalformedAttributesError, list)
    with pytest.raises(IndexError):
        d.decode(0, b"")
    index = d.new_table(False)
    with pytest.raises(IndexError):
        d.decode(index, b"")  # not filled yet
    with pytest.raises(TypeError):
        d.fill(index, [("x",)])
    with pytest.raises(ValueError):
        d.fill(index, [(1, "k", 99, 0, 0, 0, 0, 0, None, "", 0, None)])  # no such op
    with pytest.raises(ValueError):
        d.fill(index, [(1, "k", _codec.OP_NEST, 0, 0, 0, 0, 7, None, "", 0, None)])
    with pytest.raises(ValueError):
        d.fill(index, [(1, "k", _codec.OP_INT, 0, 3, 0, 0, 0, None, "u24", 0, None)])
    with pytest.raises(TypeError):
        d.fill(index, [(1, "k", _codec.OP_PYTHON, 0, 0, 0, 0, 0, None, "", 0, None)])
    with pytest.raises(TypeError):
        d.fill(index, [(1, "k", _codec.OP_INT, 0, 4, 0, _codec.MAP_ENUM, 0, [], "u32", 0, None)])
    d.fill(index, [(1, "k", _codec.OP_INT, 0, 4, 0, 0, 0, None, "u32", 0, None)])
    with pytest.raises(ValueError, match="already filled"):
        d.fill(index, [])
    assert d.decode(index, nlattr(1, b"\1\0\0\0")) == {"k": 1}
    with pytest.raises(ValueError, match="outside"):
        d.decode(index, b"1234", 2, 9)
    with pytest.raises(ValueError, match="outside"):
        d.decode(index, b"1234", -1)
    with pytest.raises(TypeError):
        d.decode(index, "not a buffer")
    with pytest.raises(IndexError):
        d.decode_struct(index, b"")  # a set is no struct
    bare = _codec.Decoder.__new__(_codec.Decoder)
    with pytest.raises(RuntimeError):
        bare.new_table(False)
    with pytest.raises(TypeError):
        _codec.Decoder(MalformedAttributesError, dict)


def test_a_reader_that_adds_tables_mid_walk_is_safe() -> None:
    """Python readers may compile new sets while C walks: tables never move under it."""
    d = _codec.Decoder(MalformedAttributesError, list)
    outer = d.new_table(False)

    def reader(data: Any, start: int, end: int, depth: int) -> int:
        for _ in range(64):
            d.fill(d.new_table(False), [])
        return end - start

    d.fill(
        outer,
        [
            (1, "r", _codec.OP_PYTHON, 0, 0, 0, 0, 0, reader, "", 0, None),
            (2, "v", _codec.OP_INT, 0, 1, 0, 0, 0, None, "u8", 0, None),
        ],
    )
    raw = (nlattr(1, b"abc") + nlattr(2, b"\5")) * 4
    assert d.decode(outer, raw) == {"r": 3, "v": 5}
    assert d.tables == 1 + 4 * 64


def test_an_exception_in_a_python_reader_comes_through() -> None:
    d = _codec.Decoder(MalformedAttributesError, list)
    index = d.new_table(False)

    def reader(data: Any, start: int, end: int, depth: int) -> int:
        raise ZeroDivisionError("from the reader")

    d.fill(index, [(1, "r", _codec.OP_PYTHON, 0, 0, 0, 0, 0, reader, "", 0, None)])
    with pytest.raises(ZeroDivisionError, match="from the reader"):
        d.decode(index, nlattr(1, b""))


# -- the kernel's own replies ----------------------------------------------------------------


ETHTOOL_DUMPS = [
    "linkinfo-get",
    "linkmodes-get",
    "linkstate-get",
    "rings-get",
    "features-get",
    "channels-get",
    "coalesce-get",
    "privflags-get",
    "stats-get",
]


def _kernel_messages() -> list[tuple[str, Any]]:
    """(family, message) of dumps the kernel answers here, and the policies of three."""
    from libnl_py.errors import NetlinkError
    from libnl_py.genl import GenlSocket

    found: list[tuple[str, Any]] = []
    with GenlSocket() as sock:
        names = [f.name for f in sock.list_families()]
        found += [("nlctrl", m) for m in sock.dump("nlctrl", "getfamily")]
        for name in names:
            with contextlib.suppress(NetlinkError):  # families without policies
                found += [
                    ("nlctrl", m) for m in sock.dump("nlctrl", "getpolicy", {"family-name": name})
                ]
        for op in ETHTOOL_DUMPS:
            with contextlib.suppress(NetlinkError):  # an op veth does not have
                found += [("ethtool", m) for m in sock.dump("ethtool", op, {"header": {}})]
        found += [("netdev", m) for m in sock.dump("netdev", "dev-get")]
        for name in ("ethtool", "netdev", "nlctrl"):
            found.append(("policy", (name, sock.get_policy(name))))
    return found


def test_kernel_replies_decode_the_same(netns: str) -> None:
    """Every reply, by its spec; by its spec and policy; by a spec made from the policy."""
    require_root()
    from conftest import call_in_netns

    subprocess.run(
        ["ip", "-n", netns, "link", "add", "dv0", "type", "veth", "peer", "name", "dv1"], check=True
    )
    collected = call_in_netns(netns, _kernel_messages)
    policies = {item[0]: item[1] for kind, item in collected if kind == "policy"}
    decoded = {}
    for family, msg in collected:
        if family == "policy":
            continue

        def decode(c: Codec, msg: Any = msg) -> Any:
            return c.decode_message(msg.data, msg.attrs_offset, msg.header, msg.cmd, msg.seq != 0)[
                1
            ]

        spec = specs.get(family)
        assert spec is not None
        assert both(spec, decode)[0] == "ok"
        policy = policies[family]
        assert both(spec, decode, policy)[0] == "ok"
        assert both(spec_from_policy(family, policy), decode)[0] == "ok"
        decoded[family] = decoded.get(family, 0) + 1
    # nlctrl: every family and every policy; ethtool: several dumps of two veths.
    assert decoded["nlctrl"] >= 30 and decoded["ethtool"] >= 8 and decoded["netdev"] >= 3


# -- encoding: the C encoder of the common requests ----------------------------------------------


class _Int(int):
    """An int subclass: the C encoder leaves it to Python."""


@st.composite
def attr_values(draw: Any, spec: FamilySpec, attr: AttrSpec, depth: int) -> Any:
    """A value for ``attr``: mostly of its kind, sometimes out of range or of another type."""
    pick = draw(st.integers(0, 9))
    if pick == 0:
        return draw(
            st.sampled_from(
                [None, True, False, 1.5, "text", b"\x01\x02", [], {}, -1, 2**64, _Int(3), "a\0b"]
            )
        )
    kind = attr.type
    if kind in INT_TYPES:
        if attr.enum is not None and draw(st.booleans()):
            enum = spec.enum(attr.enum)
            names = list(enum.entries) or ["none"]
            if enum.is_flags or attr.enum_as_flags:
                chosen = draw(st.lists(st.sampled_from([*names, "no-such-flag"]), max_size=3))
                return tuple(chosen) if draw(st.booleans()) else chosen
            return draw(st.sampled_from([*names, "no-such-name"]))
        bits = {"u8": 8, "s8": 8, "u16": 16, "s16": 16, "u32": 32, "s32": 32}.get(kind, 64)
        signed = kind.startswith("s")
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return draw(
            st.one_of(
                st.integers(low, high),
                st.sampled_from([low, high, low - 1, high + 1, 0, 1 << 32, -(1 << 31) - 1]),
            )
        )
    if kind == "string":
        return draw(
            st.one_of(
                st.text(max_size=12),
                st.text(
                    alphabet=st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), max_size=3
                ),
                st.sampled_from(["", "x" * 70000, "\ud800"]),
            )
        )
    if kind == "flag":
        return draw(st.sampled_from([True, False, 1, None]))
    if kind == "binary":
        return draw(
            st.one_of(
                st.binary(max_size=24),
                st.binary(max_size=8).map(bytearray),
                st.binary(max_size=8).map(memoryview),
            )
        )
    if kind == "nest" and attr.nested_attributes is not None and depth < 3:
        return draw(value_maps(spec, attr.nested_attributes, depth + 1))
    return draw(st.sampled_from([b"", {}, [b"x"], 5]))


@st.composite
def value_maps(draw: Any, spec: FamilySpec, set_name: str, depth: int = 0) -> dict[Any, Any]:
    aset = spec.attr_set(set_name)
    out: dict[Any, Any] = {}
    for _ in range(draw(st.integers(0, 5))):
        if aset.attributes and draw(st.integers(0, 7)):
            attr = draw(st.sampled_from(aset.attributes))
            value = draw(attr_values(spec, attr, depth))
            if attr.multi_attr and draw(st.booleans()):
                value = [value, draw(attr_values(spec, attr, depth))]
            out[attr.name] = value
        else:
            out[draw(st.sampled_from(["no-such-attr", 250, 7]))] = draw(
                st.sampled_from([b"raw", 5, "x"])
            )
    return out


def encoded(codec: Codec, set_name: str, values: Any) -> tuple[Any, ...]:
    try:
        return ("ok", codec.encode(set_name, values))
    except Exception as exc:  # the class and text are what is compared
        return ("error", type(exc), str(exc))


def both_encode(spec: FamilySpec, set_name: str, values: Any) -> tuple[Any, ...]:
    python = encoded(Codec(spec, accelerate=False), set_name, values)
    native = encoded(Codec(spec, accelerate=True), set_name, values)
    assert python == native, (values, python, native)
    return python


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_every_set_of_every_spec_encodes_the_same(data: Any) -> None:
    key, set_name = data.draw(st.sampled_from(SETS))
    spec = SPECS[key]
    both_encode(spec, set_name, data.draw(value_maps(spec, set_name)))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_specs(), st.data())
def test_random_specs_encode_the_same(spec: FamilySpec, data: Any) -> None:
    both_encode(spec, "s0", data.draw(value_maps(spec, "s0")))


def test_the_common_requests_are_encoded_in_c() -> None:
    """The C encoder does them itself (not a Python fallback every time)."""
    ethtool = Codec(SPECS["builtin:ethtool"], accelerate=True)
    values = {"header": {"dev-name": "lo", "flags": ["omit-reply"]}}
    native = ethtool.encoder_table("linkinfo")
    assert native is not None
    encoder, index = native
    assert Codec(SPECS["builtin:ethtool"], accelerate=False).encoder_table("linkinfo") is None
    fast = encoder.encode(index, values)
    assert fast == Codec(SPECS["builtin:ethtool"], accelerate=False).encode("linkinfo", values)
    assert fast == (nlattr(1 | NESTED, nlattr(2, b"lo\0") + nlattr(3, struct.pack("=I", 2))))
    # Left to Python: a number key, an address object, a value out of range.
    for other in ({1: b"x"}, {"header": {"dev-index": 2**40}}, {"header": []}):
        assert encoder.encode(index, other) is None
    # The Python half alone, as callers holding the C table fall back on it.
    assert ethtool.encode_in_python("linkinfo", values) == fast
    for other in ({1: b"x"}, {"header": {"dev-index": 2**40}}):
        with pytest.raises(Exception) as by_python:
            ethtool.encode_in_python("linkinfo", other)
        with pytest.raises(type(by_python.value), match=re.escape(str(by_python.value))):
            ethtool.encode("linkinfo", other)


def test_encoder_misuse_raises() -> None:
    e = _codec.Encoder()
    with pytest.raises(IndexError):
        e.encode(0, {})
    index = e.new_table()
    with pytest.raises(TypeError):
        e.fill(index, [("x",)])
    with pytest.raises(ValueError):
        e.fill(index, [("a", 1, 99, 4, 0, None, 0, 0, 0, None, None)])
    with pytest.raises(ValueError):
        e.fill(index, [("a", 1, _codec.E_NEST, 0, 0, None, 0, 0, 5, None, None)])
    e.fill(index, [("a", 1, _codec.E_INT, 4, 0, None, 0, 0, 0, None, None)])
    with pytest.raises(ValueError, match="already filled"):
        e.fill(index, [])
    assert e.encode(index, {"a": 7}) == nlattr(1, struct.pack("=I", 7))
    assert e.encode(index, {"a": -1}) is None
    assert e.encode(index, [("a", 7)]) is None  # type: ignore[arg-type]


# -- found in review ------------------------------------------------------------------------------


def test_attribute_numbers_no_header_carries_are_never_met_alike() -> None:
    spec = FamilySpec.from_dict(
        {
            "name": "odd-numbers",
            "attribute-sets": [
                {
                    "name": "s",
                    "attributes": [
                        {"name": "a", "type": "u32", "value": 1},
                        {"name": "big", "type": "u32", "value": 0x4001},
                        {"name": "neg", "type": "u32", "value": -1},
                    ],
                }
            ],
        }
    )
    raw = nlattr(1, struct.pack("=I", 5)) + nlattr(0x4001, struct.pack("=I", 6))
    result = both(spec, lambda c: c.decode("s", raw))
    # 0x4001 carries NLA_F_NET_BYTEORDER: masked, it is 1, "a" again; 0x4001 and -1 never match.
    assert result[1] == {"a": 6}


@pytest.mark.parametrize(
    "args",
    [
        (bytearray(nlattr(2, b"ethtool\0")),),
        (memoryview(nlattr(2, b"ethtool\0")),),
        (nlattr(2, b"ethtool\0"), 8, 4),
        (nlattr(2, b"ethtool\0"), 0, 99),
        (nlattr(2, b"ethtool\0"), -1),
    ],
)
def test_the_public_decode_takes_its_arguments_alike(args: tuple[Any, ...]) -> None:
    spec = SPECS["builtin:nlctrl"]
    outcomes = []
    for accelerate in (False, True):
        try:
            outcomes.append(("ok", Codec(spec, accelerate=accelerate).decode("ctrl-attrs", *args)))
        except ValueError as exc:
            outcomes.append(("error", str(exc)))
    assert outcomes[0] == outcomes[1]


def test_decode_replies_reads_a_copy_of_the_descriptors() -> None:
    """A lookup that empties the list it was given does not pull descriptors away."""
    codec = Codec(SPECS["builtin:nlctrl"], accelerate=True)
    msg = struct.pack("=IHHII", 28, 16, 0, 1, 0) + bytes([1, 2, 0, 0]) + nlattr(1, b"\x10\0")
    desc = [0, 16, 0, 1, 0, 0, len(msg), 0, 1, 3, 0, 1, 0, 0, 0, 0]
    out: list[Any] = []

    def lookup(cmd: int) -> Any:
        desc.clear()
        return codec.reply_tables(cmd)

    rest, _flags, count = _codec.decode_replies(codec.decoder, msg, desc, 0, lookup, 0, out, [])
    assert count == 1 and out == [{"family-id": 16}] and rest == [1, 3, 0, 1, 0, 0, 0, 0]


def test_decode_replies_looks_tables_up_in_a_dict_without_python_code() -> None:
    """The request's tables, looked up before it was sent: C reads the dict (the socket's
    lock is held then), calls nothing, and leaves a command the dict lacks to Python."""
    codec = Codec(SPECS["builtin:nlctrl"], accelerate=True)
    tables = codec.request_tables(3)  # CTRL_CMD_GETFAMILY: answered with NEWFAMILY (1)
    assert set(tables) == {1, 3} and tables[1] == codec.reply_tables(1)
    assert codec.request_tables(3) is tables  # once per command

    class Watched(dict):  # type: ignore[type-arg]
        def __getitem__(self, key: Any) -> Any:
            raise AssertionError("Python code called")

        def __missing__(self, key: Any) -> Any:
            raise AssertionError("Python code called")

    def msg(cmd: int, at: int) -> bytes:
        return struct.pack("=IHHII", 28, 16, 0, 1, 0) + bytes([cmd, 2, 0, 0]) + nlattr(1, b"\x10\0")

    arena = msg(1, 0) + msg(1, 28) + msg(9, 56) + msg(1, 84)
    desc: list[int] = []
    for i in range(4):
        desc += [0, 16, 0, 1, 0, 28 * i, 28 * (i + 1), 0]
    desc += [1, 3, 0, 1, 0, 0, 0, 0]
    for lookup in (Watched(tables), dict(tables)):
        out: list[Any] = []
        rest, _flags, count = _codec.decode_replies(
            codec.decoder, arena, desc, 0, lookup, 0, out, []
        )
        # Cmd 9 is no reply of this request: it, and what follows it, go to Python.
        assert count == 2 and out == [{"family-id": 16}] * 2 and rest == desc[16:]
    with pytest.raises(TypeError, match="set index, header index"):
        _codec.decode_replies(codec.decoder, arena, desc, 0, {1: "no"}, 0, [], [])


def test_decoder_fill_refuses_what_could_break_a_walk() -> None:
    d = _codec.Decoder(MalformedAttributesError, list)
    structure = d.new_table(True)
    with pytest.raises(TypeError, match="name"):
        d.fill(structure, [], None, 5, 4)  # a struct's name is a str
    with pytest.raises(ValueError, match="filled struct"):
        d.fill(
            structure,
            [(0, "me", _codec.OP_STRUCT, 0, 0, 0, 0, structure, None, "", 4, None)],
            None,
            "loop",
            4,
        )  # a struct holding itself
    sets = d.new_table(False)
    with pytest.raises(ValueError, match="IPv4"):
        d.fill(sets, [(1, "a", _codec.OP_INT, 0, 1, 0, _codec.MAP_IPV4, 0, None, "u8", 0, None)])

    d.fill(sets, [(1, "a", _codec.OP_FLAG, 0, 0, 0, 0, 0, None, "", 0, None)])
    assert d.decode(sets, nlattr(1, b"")) == {"a": True}


def test_an_indexed_array_of_a_buffer_changed_mid_walk_stays_in_bounds() -> None:
    """A Python reader that rewrites the bytearray being walked: lengths are checked again."""
    d = _codec.Decoder(MalformedAttributesError, list)
    sets = d.new_table(False)
    raw = bytearray(nlattr(1, nlattr(1, b"ab") + nlattr(2, b"cd")))

    def reader(data: Any, start: int, end: int, depth: int) -> bytes:
        data[12:14] = b"\xff\x7f"  # the second entry's length, now far past the end
        return bytes(data[start:end])

    inner = (0, 0, _codec.OP_PYTHON, 0, 0, 0, 0, 0, reader, "", 0, None)
    d.fill(sets, [(1, "arr", _codec.OP_INDEXED, 0, 0, 0, 0, 0, None, "", 0, inner)])
    with pytest.raises(MalformedAttributesError, match="invalid"):
        d.decode(sets, raw)


def test_a_name_given_twice_encodes_as_the_python_encoder_reads_it() -> None:
    spec = FamilySpec.from_dict(
        {
            "name": "twice",
            "attribute-sets": [
                {
                    "name": "s",
                    "attributes": [
                        {"name": "x", "type": "u32", "value": 1},
                        {"name": "x", "type": "bitfield32", "value": 2},
                    ],
                }
            ],
        }
    )
    # The later one, a kind C leaves to Python: C must not encode the earlier u32.
    result = both_encode(spec, "s", {"x": 7})
    assert result[0] == "error" and "bitfield32" in result[2]
    assert both_encode(spec, "s", {"x": {"value": 1}}) == (
        "ok",
        nlattr(2, struct.pack("=II", 1, 1)),
    )


# -- records: named tuples made of a set --------------------------------------------------


class Point(NamedTuple):
    x: int
    label: str
    tags: tuple[int, ...] = ()
    name: str | None = None


class Pair(NamedTuple):
    a: int
    b: int


RECORD_SPEC = FamilySpec.from_dict(
    {
        "name": "records",
        "definitions": [{"name": "kinds", "type": "enum", "entries": ["zero", "one"]}],
        "attribute-sets": [
            {
                "name": "point",
                "attributes": [
                    {"name": "x", "type": "u32", "value": 1, "enum": "kinds"},
                    {"name": "label", "type": "string", "value": 2},
                    {"name": "tag", "type": "u16", "value": 3, "multi-attr": True},
                    {
                        "name": "pairs",
                        "type": "indexed-array",
                        "value": 4,
                        "sub-type": "nest",
                        "nested-attributes": "pair",
                    },
                    {"name": "bits", "type": "bitfield32", "value": 5},
                    {"name": "one", "type": "nest", "value": 6, "nested-attributes": "pair"},
                ],
            },
            {
                "name": "pair",
                "attributes": [
                    {"name": "a", "type": "u8", "value": 1},
                    {"name": "b", "type": "s16", "value": 2},
                ],
            },
        ],
    }
)


def _point_record(names: dict[str, Any] | None = None) -> Record:
    return Record(
        Point,
        (
            RecordField("x"),
            RecordField("label", "none"),
            RecordField("tag", ()),
            RecordField("x", None, names=True),
        ),
        names=("label", names) if names is not None else None,
    )


def message(attrs: bytes) -> bytes:
    return struct.pack("=IHHII", 20 + len(attrs), 0x30, 0, 1, 0) + bytes([1, 1, 0, 0]) + attrs


def test_a_record_is_its_named_tuple() -> None:
    codec = Codec(RECORD_SPEC, accelerate=True)
    index = codec.record_table("point", _point_record())
    assert index is not None
    assert codec.record_table("point", _point_record()) != index  # a record object each
    record = _point_record()
    index = codec.record_table("point", record)
    assert codec.record_table("point", record) == index  # made once
    d = codec.decoder
    raw = nlattr(1, b"\1\0\0\0") + nlattr(3, b"\7\0") + nlattr(2, b"pt\0") + nlattr(3, b"\x08\0")
    got = d.record(index, message(raw))
    # Integers stay numbers (no enum names), a multi-attr's values make a tuple.
    assert got == Point(1, "pt", (7, 8), None)
    assert type(got) is Point and type(got.tags) is tuple
    # The same through decode(), of attributes alone.
    assert d.decode(index, raw) == got
    # Defaults, and the first of an attribute wins (a later one is not even read).
    assert d.record(index, message(nlattr(1, b"\2\0\0\0") + nlattr(1, b"\3"))) == Point(2, "none")
    # A required attribute absent, malformed attributes, a message cut short: no record.
    assert d.record(index, message(nlattr(2, b"pt\0"))) is None
    assert d.record(index, message(nlattr(1, b"\1\0"))) is None  # too short for a u32
    assert d.record(index, message(raw)[:-2]) is None
    assert d.record(index, message(raw)[:19]) is None
    assert d.record(index, b"") is None
    # What no field takes (bitfield32, an unknown number) is not read, nor counted.
    unknowns = codec.unknowns
    odd = raw + nlattr(5, b"\xff") + nlattr(99, b"junk")
    assert d.record(index, message(odd)) == Point(1, "pt", (7, 8), None)
    assert codec.unknowns == unknowns


def test_record_names_come_from_the_cache_by_an_attribute() -> None:
    cache: dict[str, Any] = {"pt": {1: "one", 2: "two"}}
    codec = Codec(RECORD_SPEC, accelerate=True)
    index = codec.record_table("point", _point_record(cache))
    assert index is not None
    d = codec.decoder
    raw = nlattr(1, b"\1\0\0\0") + nlattr(2, b"pt\0")
    assert d.record(index, message(raw)) == Point(1, "pt", (), "one")
    # Names given: the cache is not read; a value they lack has none.
    assert d.record(index, message(raw), {1: "uno"}) == Point(1, "pt", (), "uno")
    assert d.record(index, message(raw), {}) == Point(1, "pt", (), None)
    # A name the cache lacks: no record (a miss, counted), until the cache has it.
    other = nlattr(1, b"\2\0\0\0") + nlattr(2, b"other\0")
    misses = d.misses
    assert d.record(index, message(other)) is None
    assert d.misses == misses + 1
    cache["other"] = {2: "deux"}
    assert d.record(index, message(other)) == Point(2, "other", (), "deux")
    cache["other"] = MappingProxyType({2: "deux"})  # names that are no dict: a miss too
    assert d.record(index, message(other)) is None
    # The first of the attribute selects them, as it fills its field.
    twice = nlattr(1, b"\2\0\0\0") + nlattr(2, b"pt\0") + nlattr(2, b"other\0")
    assert d.record(index, message(twice)) == Point(2, "pt", (), "two")
    with pytest.raises(TypeError, match="names must be a dict"):
        d.record(index, message(raw), MappingProxyType({}))


def test_records_nest_records() -> None:
    class Outer(NamedTuple):
        pairs: tuple[Pair, ...]
        one: Pair | None

    pair = Record(Pair, (RecordField("a", 0), RecordField("b", 0)))
    outer = Record(Outer, (RecordField("pairs", (), pair), RecordField("one", None, pair)))
    codec = Codec(RECORD_SPEC, accelerate=True)
    index = codec.record_table("point", outer)
    assert index is not None
    entries = nlattr(1, nlattr(1, b"\5") + nlattr(2, struct.pack("=h", -2))) + nlattr(2, b"")
    raw = nlattr(4, entries) + nlattr(6, nlattr(2, struct.pack("=h", 9)))
    got = codec.decoder.record(index, message(raw))
    assert got == Outer((Pair(5, -2), Pair(0, 0)), Pair(0, 9))
    assert type(got.pairs) is tuple and all(type(p) is Pair for p in got.pairs)
    assert codec.decoder.record(index, message(nlattr(4, b"\x09\0\1\0"))) is None  # bad entry


def test_record_tables_refuse_what_they_cannot_make() -> None:
    codec = Codec(RECORD_SPEC, accelerate=True)
    pair = Record(Pair, (RecordField("a"), RecordField("b")))
    with pytest.raises(ValueError, match="has no 'nope'"):
        codec.record_table("pair", Record(Pair, (RecordField("a"), RecordField("nope"))))
    with pytest.raises(ValueError, match="does not take a bitfield32"):
        codec.record_table("point", Record(Pair, (RecordField("x"), RecordField("bits"))))
    with pytest.raises(ValueError, match="does not take a nest"):
        codec.record_table("point", Record(Pair, (RecordField("x"), RecordField("one"))))
    with pytest.raises(TypeError, match="needs a class of 3 fields"):
        codec.record_table("pair", Record(Pair, (*pair.fields, RecordField("a", names=True))))
    with pytest.raises(ValueError, match="two record fields take 'a'"):
        codec.record_table("pair", Record(Pair, (RecordField("a"), RecordField("a"))))
    assert Codec(RECORD_SPEC, accelerate=False).record_table("pair", pair) is None


def test_decoder_fill_of_a_record_refuses_bad_input() -> None:
    d = _codec.Decoder(MalformedAttributesError, list)
    u8 = (1, "a", _codec.OP_INT, 0, 1, 0, 0, 0, None, "u8", 0, None)
    fields = ((_codec.FIELD_REQUIRED, "a", None), (_codec.FIELD_VALUE, "b", 0))
    dict_table = d.new_table(False)
    d.fill(dict_table, [])
    calls: list[tuple[Any, str]] = [
        ((dict, fields, None), "named tuple"),
        ((tuple, fields, None), "named tuple"),
        ((Point, fields, None), "class of 2 fields"),
        ((Pair, [(0, "a")], None), "class of 1 fields"),
        ((Pair, [(0, "a", None), (9, "b", None)], None), "out of range"),
        ((Pair, [(0, "a", None), "b"], None), "(how, key, default)"),
        ((Pair, [(_codec.FIELD_NAME, "a", None), (0, "a", None)], None), "no earlier"),
        ((Pair, [(0, "a", None), (0, "z", None)], (1, [])), "a dict"),
        ((Pair, [(0, "a", None), (0, "z", None)], (-1, {})), "a dict"),
        ((Pair, [(0, "a", None), (0, "z", None)], "names"), "(number, cache)"),
        ((Pair, [(0, "b", None), (0, "z", None)], None), "no record field takes entry 'a'"),
        ("record", "(type, fields, names)"),
    ]
    for record, message_text in calls:
        index = d.new_table(False)
        with pytest.raises((TypeError, ValueError), match=re.escape(message_text)):
            d.fill(index, [u8], record=record)
    refused = [
        (1, "a", _codec.OP_PYTHON, 0, 0, 0, 0, 0, len, "", 0, None),
        (1, "a", _codec.OP_NEST, 0, 0, 0, 0, dict_table, None, "", 0, None),
        (1, "a", _codec.OP_INT, _codec.MULTI_NUMBERED, 1, 0, 0, 0, None, "u8", 0, None),
    ]
    for entry in refused:
        index = d.new_table(False)
        with pytest.raises(ValueError, match="holds no Python reader"):
            d.fill(index, [entry], record=(Pair, fields, None))
    index = d.new_table(False)
    with pytest.raises(TypeError, match="no post"):
        d.fill(index, [u8], lambda values, depth: None, record=(Pair, fields, None))
    with pytest.raises(TypeError, match="no post"):
        d.fill(d.new_table(True), [], None, "s", 0, (Pair, fields, None))
    d.fill(index, [u8], record=(Pair, fields, None))
    assert d.decode(index, nlattr(1, b"\3")) == Pair(3, 0)
    with pytest.raises(IndexError, match="no such record table"):
        d.record(dict_table, b"")
    with pytest.raises(TypeError):
        d.record(index)


def test_decode_replies_makes_records_with_a_constant_lookup() -> None:
    cache: dict[str, Any] = {"pt": {1: "one"}}
    codec = Codec(RECORD_SPEC, accelerate=True)
    index = codec.record_table("point", _point_record(cache))
    assert index is not None
    good = message(nlattr(1, b"\1\0\0\0") + nlattr(2, b"pt\0"))
    unnamed = message(nlattr(1, b"\1\0\0\0") + nlattr(2, b"new\0"))
    bad = message(nlattr(2, b"pt\0"))  # no x
    arena = b""
    desc: list[int] = []
    for msg in (good, unnamed, bad, good):
        desc += [0, 0x30, 2, 1, 0, len(arena), len(arena) + len(msg), 0]
        arena += msg
    desc += [1, 3, 0, 1, 0, 0, 0, 0]
    out: list[Any] = []
    pending: list[Any] = []
    rest, flags, count = _codec.decode_replies(
        codec.decoder, arena, desc, 0, (index, -1), 0, out, pending
    )
    assert (rest, flags, count) == (desc[-8:], 2, 4)
    assert out[0] == out[3] == Point(1, "pt", (), "one")
    # Named without its names: the record, and in pending to decode again; a failure: None.
    assert out[1] == Point(1, "new", (), None) and out[2] is None
    assert [(p[0], p[1], type(p[2])) for p in pending] == [
        (1, unnamed, type(None)),
        (2, bad, MalformedAttributesError),
    ]
    # The list given as out is not the descriptors': read as a copy then, the same.
    same = list(desc)
    assert _codec.decode_replies(codec.decoder, arena, same, 0, (index, -1), 0, same, [])[2] == 4
    # (-1, -1): every reply left to Python; a record takes no fixed header.
    assert _codec.decode_replies(codec.decoder, arena, desc, 0, (-1, -1), 0, [], [])[0] == desc
    header = codec.decoder.new_table(True)
    codec.decoder.fill(header, [], None, "h", 0)
    with pytest.raises(ValueError, match="no fixed header"):
        _codec.decode_replies(codec.decoder, arena, desc, 0, (index, header), 0, [], [])
    with pytest.raises(IndexError):
        _codec.decode_replies(codec.decoder, arena, desc, 0, (999, -1), 0, [], [])
    with pytest.raises(TypeError):
        _codec.decode_replies(codec.decoder, arena, desc, 0, (index,), 0, [], [])


def test_decode_replies_reads_descriptors_from_a_buffer_as_from_a_list() -> None:
    """The receive batch hands decode_replies its table's words (a buffer): the same answers."""
    cache: dict[str, Any] = {"pt": {1: "one"}}
    codec = Codec(RECORD_SPEC, accelerate=True)
    index = codec.record_table("point", _point_record(cache))
    assert index is not None
    good = message(nlattr(1, b"\1\0\0\0") + nlattr(2, b"pt\0"))
    bad = message(nlattr(2, b"pt\0"))
    arena = b""
    desc: list[int] = []
    for kind, msg in ((0, good), (2, good), (0, bad), (0, good[:10]), (0, good)):
        desc += [kind, 0x30, 2, 1, 0xFFFFFFFF, len(arena), len(arena) + len(msg), 0]
        arena += msg
    desc += [1, 3, 0, 1, 0, 0, 0, 0]
    for pending_given in ([], None):
        answers = []
        for words in (desc, memoryview(array.array("I", desc)), array.array("I", desc)):
            out: list[Any] = []
            pending = None if pending_given is None else []
            found = _codec.decode_replies(
                codec.decoder, arena, words, 0, (index, -1), 0, out, pending
            )
            answers.append((found, out, [(p[0], p[1], type(p[2])) for p in pending or []]))
        assert answers[1] == answers[0] and answers[2] == answers[0]
        assert all(type(word) is int for word in answers[1][0][0])
    # Bytes, or words of another size, are refused: not read as if they were uint32.
    for wrong in (array.array("I", desc).tobytes(), array.array("Q", desc)):
        with pytest.raises(TypeError, match="uint32"):
            _codec.decode_replies(codec.decoder, arena, wrong, 0, (index, -1), 0, [], [])
    with pytest.raises(ValueError, match="desc must be whole descriptors"):
        _codec.decode_replies(
            codec.decoder, arena, array.array("I", desc[:-1]), 0, (index, -1), 0, [], []
        )
    with pytest.raises(TypeError):
        _codec.decode_replies(codec.decoder, arena, "words", 0, (index, -1), 0, [], [])


def test_decode_replies_leaves_the_collector_as_it_found_it() -> None:
    """decode_replies pauses the cyclic GC while it builds a batch's values, and puts it
    back as it was: enabled stays enabled, a caller's gc.disable() stays disabled."""
    import gc

    from libnl_py._codec import decode_replies

    codec = Codec(SPECS["builtin:nlctrl"], accelerate=True)
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            out: list[Any] = []
            decode_replies(codec.decoder, b"", [], 0, lambda cmd: None, 0, out, [])
            assert gc.isenabled() is enabled
        finally:
            gc.enable()


def test_decode_replies_without_pending_leaves_what_it_cannot_make_as_bytes() -> None:
    """pending None: every reply in out, made or as its bytes; the count is of the bytes."""
    cache: dict[str, Any] = {"pt": {1: "one"}}
    codec = Codec(RECORD_SPEC, accelerate=True)
    index = codec.record_table("point", _point_record(cache))
    assert index is not None
    good = message(nlattr(1, b"\1\0\0\0") + nlattr(2, b"pt\0"))
    unnamed = message(nlattr(1, b"\1\0\0\0") + nlattr(2, b"new\0"))
    bad = message(nlattr(2, b"pt\0"))
    short = struct.pack("=IHHII", 18, 0x30, 0x40, 1, 0) + b"\1\1"
    arena = b""
    desc: list[int] = []
    for msg in (good, unnamed, short, bad, good):
        flags = 0x40 if msg is short else 2
        desc += [0, 0x30, flags, 1, 0, len(arena), len(arena) + len(msg), 0]
        arena += msg + bytes(-len(msg) % 4)
    desc += [1, 3, 0, 1, 0, 0, 0, 0]
    out: list[Any] = []
    rest, flags, count = _codec.decode_replies(
        codec.decoder, arena, desc, 0, (index, -1), 0, out, None
    )
    assert (rest, flags, count) == (desc[-8:], 0x42, 3)
    assert out == [Point(1, "pt", (), "one"), unnamed, short, bad, Point(1, "pt", (), "one")]
    # A command the lookup leaves to Python: its bytes too.
    out = []
    left = _codec.decode_replies(codec.decoder, arena, desc, 0, lambda cmd: None, 0, out, None)
    assert left == (desc[-8:], 0x42, 5)
    assert out == [good, unnamed, short, bad, good]
    # A span outside the buffer is no message at all.
    for start, end in ((0, len(arena) + 4), (8, 4)):
        bad_span = [0, 0x30, 0, 1, 0, start, end, 0]
        with pytest.raises(ValueError, match="descriptor span outside the buffer"):
            _codec.decode_replies(codec.decoder, arena, bad_span, 0, (index, -1), 0, [], None)
    with pytest.raises(TypeError):
        _codec.decode_replies(codec.decoder, arena, desc, 0, (index, -1), 0, [], ())
