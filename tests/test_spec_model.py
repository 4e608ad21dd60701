"""libnl_py.spec.model: FamilySpec.from_dict, in the kernel's YNL vocabulary.

Every spec here is small and written for the test; the numbering rules are
YNL's (Documentation/userspace-api/netlink/genetlink-legacy.rst and
specs.rst): attributes count from 1 and on after an explicit ``value``, enum
entries from ``value-start``, flags by bit number, unified operations from 1,
directional ones per direction.
"""

from __future__ import annotations

from typing import Any

import pytest

from libnl_py.spec import EnumSet, FamilySpec, SpecError, Struct
from libnl_py.spec.model import OP_FLAGS, StructMember

SOURCE = "test.yaml"

ONE_SET = [{"name": "s", "attributes": [{"name": "x", "type": "u32"}]}]
REQ = {"attributes": ["x"]}


def build(**parts: Any) -> FamilySpec:
    return FamilySpec.from_dict({"name": "t", **parts}, SOURCE)


def ops_spec(ops: list[dict[str, Any]], model: str | None = None) -> FamilySpec:
    operations: dict[str, Any] = {"list": ops}
    if model is not None:
        operations["enum-model"] = model
    return build(**{"attribute-sets": ONE_SET, "operations": operations})


def received(spec: FamilySpec, cmd: int, reply: bool) -> str | None:
    """The name of what the kernel sent with ``cmd``, None if the spec knows nothing of it."""
    op = spec.received(cmd, reply=reply)
    return None if op is None else op.name


def ids(spec: FamilySpec) -> dict[str, tuple[int | None, int | None]]:
    """Operation name -> (request id, from-kernel id)."""
    return {op.name: (op.req_value, op.rsp_value) for op in spec.operations}


# -- attribute numbering ------------------------------------------------------------------


def test_attributes_count_from_one_and_on_after_an_explicit_value() -> None:
    spec = build(
        **{
            "attribute-sets": [
                {
                    "name": "s",
                    "attributes": [
                        {"name": "a", "type": "u32"},
                        {"name": "b", "type": "u32"},
                        {"name": "c", "type": "u32", "value": 10},
                        {"name": "d", "type": "u32"},
                        {"name": "e", "type": "u32", "value": 3},
                        {"name": "f", "type": "u32"},
                    ],
                }
            ]
        }
    )
    aset = spec.attr_set("s")
    assert [(a.name, a.value) for a in aset.attributes] == [
        ("a", 1),
        ("b", 2),
        ("c", 10),
        ("d", 11),
        ("e", 3),
        ("f", 4),
    ]
    assert aset.by_value[11].name == "d"
    assert aset.by_name["e"].value == 3
    assert aset.subset_of is None
    assert aset.numbered is False


def test_attribute_value_zero_is_kept() -> None:
    spec = build(
        **{
            "attribute-sets": [
                {
                    "name": "s",
                    "attributes": [
                        {"name": "unspec", "type": "unused", "value": 0},
                        {"name": "a", "type": "u8"},
                    ],
                }
            ]
        }
    )
    assert {a.name: a.value for a in spec.attr_set("s").attributes} == {"unspec": 0, "a": 1}


def test_attribute_keys_are_kept_under_their_ynl_meaning() -> None:
    spec = build(
        definitions=[
            {"name": "e", "type": "enum", "entries": ["x"]},
            {"name": "st", "type": "struct", "members": [{"name": "m", "type": "u32"}]},
        ],
        **{
            "attribute-sets": [
                {
                    "name": "s",
                    "attributes": [
                        {
                            "name": "port",
                            "type": "u16",
                            "byte-order": "big-endian",
                            "checks": {"min": 1, "max": 9},
                        },
                        {
                            "name": "kids",
                            "type": "nest",
                            "nested-attributes": "s",
                            "multi-attr": True,
                        },
                        {"name": "arr", "type": "binary", "sub-type": "u32"},
                        {"name": "mode", "type": "u32", "enum": "e", "enum-as-flags": True},
                        {"name": "blob", "type": "binary", "struct": "st"},
                        {"name": "mac", "type": "binary", "display-hint": "mac", "len": 6},
                        {"name": "name", "type": "string", "len": "IFNAMSIZ"},
                        {
                            "name": "table",
                            "type": "nest-type-value",
                            "nested-attributes": "s",
                            "type-value": ["id", "sub"],
                        },
                    ],
                }
            ]
        },
    )
    by_name = spec.attr_set("s").by_name
    assert by_name["port"].byte_order == "big-endian"
    assert dict(by_name["port"].checks) == {"min": 1, "max": 9}
    assert (by_name["kids"].type, by_name["kids"].nested_attributes) == ("nest", "s")
    assert by_name["kids"].multi_attr is True
    assert by_name["port"].multi_attr is False
    assert by_name["arr"].sub_type == "u32"
    assert (by_name["mode"].enum, by_name["mode"].enum_as_flags) == ("e", True)
    assert by_name["blob"].struct == "st"
    assert (by_name["mac"].display_hint, by_name["mac"].len) == ("mac", 6)
    assert by_name["name"].len is None  # a C constant's name: the kernel's to check
    assert by_name["table"].type_value == ("id", "sub")


# -- definitions -----------------------------------------------------------------------------


def test_enum_entries_count_from_value_start() -> None:
    spec = build(
        definitions=[
            {
                "name": "colour",
                "type": "enum",
                "value-start": 5,
                "entries": ["red", "green", {"name": "blue", "value": 10}, "cyan"],
            },
            {"name": "plain", "type": "enum", "entries": ["zero", "one"]},
        ]
    )
    colour = spec.enum("colour")
    assert isinstance(colour, EnumSet)
    assert dict(colour.entries) == {"red": 5, "green": 6, "blue": 10, "cyan": 11}
    assert colour.by_value[10] == "blue"
    assert colour.is_flags is False
    assert dict(spec.enum("plain").entries) == {"zero": 0, "one": 1}


def test_flags_entries_are_bit_numbers() -> None:
    spec = build(
        definitions=[
            {"name": "f", "type": "flags", "entries": ["a", "b", {"name": "c", "value": 7}, "d"]},
            {"name": "g", "type": "flags", "value-start": 3, "entries": ["x", "y"]},
        ]
    )
    assert spec.enum("f").is_flags is True
    assert dict(spec.enum("f").entries) == {"a": 0, "b": 1, "c": 7, "d": 8}
    assert dict(spec.enum("g").entries) == {"x": 3, "y": 4}


def test_const_definitions_are_values() -> None:
    spec = build(definitions=[{"name": "max-len", "type": "const", "value": 16}])
    assert spec.definitions["max-len"] == 16


def test_struct_size_counts_pad_members() -> None:
    spec = build(
        definitions=[
            {"name": "e", "type": "enum", "entries": ["x"]},
            {
                "name": "inner",
                "type": "struct",
                "members": [{"name": "a", "type": "u16"}, {"name": "b", "type": "u16"}],
            },
            {
                "name": "hdr",
                "type": "struct",
                "members": [
                    {"name": "family", "type": "u8", "enum": "e"},
                    {"name": "pad", "type": "pad", "len": 3},
                    {"name": "ifindex", "type": "s32"},
                    {"name": "addr", "type": "binary", "len": 6, "display-hint": "mac"},
                    {"name": "label", "type": "string", "len": 4},
                    {"name": "port", "type": "u16", "byte-order": "big-endian"},
                    {"name": "nested", "type": "binary", "struct": "inner"},
                    {"name": "big", "type": "u64"},
                ],
            },
        ]
    )
    hdr = spec.struct("hdr")
    assert isinstance(hdr, Struct)
    assert [(m.name, m.size) for m in hdr.members] == [
        ("family", 1),
        ("pad", 3),
        ("ifindex", 4),
        ("addr", 6),
        ("label", 4),
        ("port", 2),
        ("nested", 4),
        ("big", 8),
    ]
    assert hdr.size == 32
    assert spec.struct("inner").size == 4
    assert hdr.members[0] == StructMember("family", "u8", 1, enum="e")
    assert hdr.members[3].display_hint == "mac"
    assert hdr.members[5].byte_order == "big-endian"
    assert hdr.members[6].struct == "inner"


def test_a_struct_may_use_one_defined_before_it() -> None:
    spec = build(
        definitions=[
            {"name": "inner", "type": "struct", "members": [{"name": "v", "type": "u64"}]},
            {
                "name": "outer",
                "type": "struct",
                "members": [
                    {"name": "i", "type": "binary", "struct": "inner"},
                    {"name": "after", "type": "u8"},
                ],
            },
        ]
    )
    assert spec.struct("outer").size == 9


def test_a_struct_may_use_one_defined_after_it() -> None:
    spec = build(
        definitions=[
            {
                "name": "outer",
                "type": "struct",
                "members": [
                    {"name": "i", "type": "binary", "struct": "inner"},
                    {"name": "after", "type": "u8"},
                ],
            },
            {"name": "inner", "type": "struct", "members": [{"name": "v", "type": "u64"}]},
        ]
    )
    assert [m.size for m in spec.struct("outer").members] == [8, 1]  # today: [0, 1]


# -- subset-of ------------------------------------------------------------------------------------


def test_subset_takes_numbers_and_types_from_its_parent() -> None:
    spec = build(
        **{
            "attribute-sets": [
                # The subset comes first: a parent may be defined later in the file.
                {
                    "name": "sub",
                    "subset-of": "main",
                    "attributes": [
                        {"name": "c", "checks": {"max": 3}},
                        {"name": "a"},
                        {"name": "d", "nested-attributes": "other"},
                    ],
                },
                {
                    "name": "main",
                    "attributes": [
                        {"name": "a", "type": "u16", "byte-order": "big-endian"},
                        {"name": "b", "type": "string"},
                        {"name": "c", "type": "u32", "value": 7, "checks": {"max": 10, "min": 1}},
                        {"name": "d", "type": "nest", "nested-attributes": "main"},
                    ],
                },
                {"name": "other", "attributes": [{"name": "z", "type": "flag"}]},
            ]
        }
    )
    sub = spec.attr_set("sub")
    assert sub.subset_of == "main"
    assert [(a.name, a.value, a.type) for a in sub.attributes] == [
        ("c", 7, "u32"),
        ("a", 1, "u16"),
        ("d", 8, "nest"),
    ]
    assert sub.by_name["a"].byte_order == "big-endian"
    assert dict(sub.by_name["c"].checks) == {"max": 3}  # the subset's refinement wins
    assert dict(spec.attr_set("main").by_name["c"].checks) == {"max": 10, "min": 1}
    assert sub.by_name["d"].nested_attributes == "other"
    assert "b" not in sub.by_name


# -- sub-messages and fixed headers ----------------------------------------------------------


def test_sub_messages_map_selector_values_to_formats() -> None:
    spec = build(
        definitions=[{"name": "hdr", "type": "struct", "members": [{"name": "v", "type": "u32"}]}],
        **{
            "attribute-sets": [
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
                {"name": "vlan", "attributes": [{"name": "id", "type": "u16"}]},
            ],
            "sub-messages": [
                {
                    "name": "info",
                    "formats": [
                        {"value": "vlan", "attribute-set": "vlan"},
                        {"value": "hdr-only", "fixed-header": "hdr"},
                        {"value": 3, "fixed-header": "hdr", "attribute-set": "vlan"},
                        {"value": "empty"},
                    ],
                }
            ],
        },
    )
    data = spec.attr_set("link").by_name["data"]
    assert (data.type, data.sub_message, data.selector) == ("sub-message", "info", "kind")
    assert dict(spec.sub_messages["info"].formats) == {
        "vlan": ("vlan", None),
        "hdr-only": (None, "hdr"),
        "3": ("vlan", "hdr"),  # selector values are compared as text
        "empty": (None, None),
    }


def test_fixed_header_applies_to_every_op_unless_an_op_names_its_own() -> None:
    spec = build(
        definitions=[
            {"name": "h1", "type": "struct", "members": [{"name": "a", "type": "u32"}]},
            {"name": "h2", "type": "struct", "members": [{"name": "b", "type": "u8"}]},
        ],
        **{
            "attribute-sets": ONE_SET,
            "operations": {
                "fixed-header": "h1",
                "list": [
                    {"name": "get", "attribute-set": "s", "do": {"request": REQ}},
                    {
                        "name": "set",
                        "attribute-set": "s",
                        "fixed-header": "h2",
                        "do": {"request": REQ},
                    },
                ],
            },
        },
    )
    assert spec.fixed_header == "h1"
    assert spec.ops["get"].fixed_header == "h1"
    assert spec.ops["set"].fixed_header == "h2"


# -- operations: unified ------------------------------------------------------------------


def test_unified_ops_count_from_one() -> None:
    spec = ops_spec(
        [
            {"name": "a", "attribute-set": "s", "do": {"request": REQ, "reply": REQ}},
            {"name": "b", "attribute-set": "s", "dump": {"reply": REQ}},
            {"name": "c", "value": 4, "notify": "a"},
            {"name": "d", "attribute-set": "s", "do": {"request": REQ}},
        ]
    )
    assert spec.msg_id_model == "unified"
    assert ids(spec) == {"a": (1, 1), "b": (2, 2), "c": (None, 4), "d": (5, 5)}
    assert sorted(spec.requests) == [1, 2, 5]
    assert sorted(spec.replies) == [1, 2, 5]
    assert {k: v.name for k, v in spec.events.items()} == {4: "c"}
    assert spec.command_names() == {1: "a", 2: "b", 5: "d"}


def test_unified_op_without_modes_reserves_its_number() -> None:
    spec = ops_spec(
        [
            {"name": "unspec", "value": 0, "doc": "reserved"},
            {"name": "get", "attribute-set": "s", "do": {"request": REQ}},
            {"name": "hole"},
            {"name": "set", "attribute-set": "s", "do": {"request": REQ}},
        ],
        "unified",
    )
    assert ids(spec) == {"get": (1, 1), "set": (3, 3)}
    assert "unspec" not in spec.ops and "hole" not in spec.ops


# -- operations: directional ---------------------------------------------------------------


def test_directional_ids_follow_the_kernel_documentation_example() -> None:
    # genetlink-legacy.rst's example: a (2, 1), b from-kernel 2, c 7, d (3, 8).
    spec = ops_spec(
        [
            {
                "name": "a",
                "attribute-set": "s",
                "do": {"request": {"value": 2, **REQ}, "reply": {"value": 1, **REQ}},
            },
            {"name": "b", "notify": "a"},
            {"name": "c", "notify": "a", "value": 7},
            {"name": "d", "attribute-set": "s", "do": {"request": REQ, "reply": REQ}},
        ],
        "directional",
    )
    assert spec.msg_id_model == "directional"
    assert ids(spec) == {"a": (2, 1), "b": (None, 2), "c": (None, 7), "d": (3, 8)}


def test_directional_ethtool_like_get_set_ntf_pattern() -> None:
    # get (request and reply), set (request only), ntf (from-kernel only), then
    # an action without reply and its event: replies run behind requests.
    get = {"request": REQ, "reply": REQ}
    spec = ops_spec(
        [
            {"name": "a-get", "attribute-set": "s", "do": get, "dump": get},
            {"name": "b-get", "attribute-set": "s", "do": get, "dump": get},
            {"name": "b-set", "attribute-set": "s", "do": {"request": REQ}},
            {"name": "b-ntf", "notify": "b-get"},
            {"name": "c-get", "attribute-set": "s", "do": get},
            {"name": "c-act", "attribute-set": "s", "do": {"request": REQ}},
            {"name": "c-event", "attribute-set": "s", "event": REQ},
            {"name": "d-set", "attribute-set": "s", "do": {"request": REQ, "reply": REQ}},
            {"name": "d-ntf", "notify": "d-set"},
        ],
        "directional",
    )
    assert ids(spec) == {
        "a-get": (1, 1),
        "b-get": (2, 2),
        "b-set": (3, None),
        "b-ntf": (None, 3),
        "c-get": (4, 4),
        "c-act": (5, None),
        "c-event": (None, 5),
        "d-set": (6, 6),
        "d-ntf": (None, 7),
    }
    assert spec.ops["a-get"].modes == frozenset({"do", "dump"})
    assert spec.ops["b-ntf"].modes == frozenset({"notify"})
    assert spec.ops["c-event"].modes == frozenset({"event"})
    assert spec.ops["b-ntf"].is_async and not spec.ops["b-ntf"].is_call
    assert spec.ops["b-set"].is_call and not spec.ops["b-set"].is_async
    # Requests 3 and 5 have no reply; 3 and 5 from the kernel are notifications.
    assert {k: v.name for k, v in spec.replies.items()} == {
        1: "a-get",
        2: "b-get",
        4: "c-get",
        6: "d-set",
    }
    assert {k: v.name for k, v in spec.events.items()} == {3: "b-ntf", 5: "c-event", 7: "d-ntf"}
    assert spec.requests[3].name == "b-set"


def test_directional_reply_value_moves_the_reply_counter() -> None:
    spec = ops_spec(
        [
            {
                "name": "a",
                "attribute-set": "s",
                "do": {"request": REQ, "reply": {"value": 10, **REQ}},
            },
            {
                "name": "b",
                "attribute-set": "s",
                "do": {"request": {"value": 20, **REQ}, "reply": REQ},
            },
            {"name": "n", "notify": "b"},
        ],
        "directional",
    )
    assert ids(spec) == {"a": (1, 10), "b": (20, 11), "n": (None, 12)}


def test_directional_calls_never_share_a_reply_id() -> None:
    spec = ops_spec(
        [
            {
                "name": "a",
                "attribute-set": "s",
                "do": {"request": REQ},
                "dump": {"request": REQ, "reply": REQ},
            },
            {"name": "b", "attribute-set": "s", "do": {"request": REQ, "reply": REQ}},
        ],
        "directional",
    )
    replies = [op.rsp_value for op in spec.operations if op.rsp_value is not None]
    assert len(replies) == len(set(replies)), ids(spec)  # today: a (1, 1), b (2, 1)


def test_request_and_reply_attributes_per_mode() -> None:
    spec = ops_spec(
        [
            {
                "name": "get",
                "attribute-set": "s",
                "do": {"request": {"attributes": ["x"]}, "reply": {"attributes": ["x", "y"]}},
                "dump": {"reply": {"attributes": ["y"]}},
            },
            {"name": "ntf", "notify": "get"},
            {"name": "ev", "attribute-set": "s", "event": {"attributes": ["x"]}},
        ]
    )
    get, ntf, ev = spec.ops["get"], spec.ops["ntf"], spec.ops["ev"]
    assert dict(get.request_attrs) == {"do": ("x",)}
    assert dict(get.reply_attrs) == {"do": ("x", "y"), "dump": ("y",)}
    # A notification uses the set and reply attributes of the op it names.
    assert ntf.attribute_set == "s"
    assert dict(ntf.reply_attrs) == {"event": ("x", "y")}
    assert dict(ev.reply_attrs) == {"event": ("x",)}


def test_op_flags_are_genl_bits() -> None:
    spec = ops_spec(
        [
            {"name": "a", "attribute-set": "s", "flags": ["admin-perm"], "do": {"request": REQ}},
            {
                "name": "b",
                "attribute-set": "s",
                "flags": ["uns-admin-perm"],
                "do": {"request": REQ},
            },
            {
                "name": "c",
                "attribute-set": "s",
                "flags": ["admin-perm", "uns-admin-perm"],
                "do": {"request": REQ},
            },
            {"name": "d", "attribute-set": "s", "do": {"request": REQ}},
        ]
    )
    assert {op.name: op.flags for op in spec.operations} == {
        "a": 0x01,
        "b": 0x10,
        "c": 0x11,
        "d": 0,
    }
    assert OP_FLAGS == {"admin-perm": 0x01, "uns-admin-perm": 0x10}


# -- what the kernel sent ----------------------------------------------------------------------


def test_received_tells_a_reply_from_an_event_with_the_same_id() -> None:
    spec = ops_spec(
        [
            {"name": "get", "attribute-set": "s", "do": {"request": REQ, "reply": REQ}},
            {"name": "closed", "attribute-set": "s", "value": 1, "event": REQ},
            {"name": "set", "attribute-set": "s", "do": {"request": REQ}},
        ],
        "directional",
    )
    assert ids(spec) == {"get": (1, 1), "closed": (None, 1), "set": (2, None)}
    assert received(spec, 1, reply=True) == "get"
    assert received(spec, 1, reply=False) == "closed"
    # Directional: request 2 is not a from-kernel id.
    assert spec.received(2, reply=True) is None
    assert spec.received(2, reply=False) is None


def test_received_in_a_unified_family_with_colliding_event() -> None:
    spec = ops_spec(
        [
            {
                "name": "get-addr",
                "attribute-set": "s",
                "value": 3,
                "do": {"request": REQ, "reply": REQ},
            },
            {"name": "closed", "attribute-set": "s", "value": 3, "event": REQ},
            {"name": "created", "attribute-set": "s", "value": 1, "event": REQ},
        ],
        "unified",
    )
    assert received(spec, 3, reply=True) == "get-addr"
    assert received(spec, 3, reply=False) == "closed"
    # Each falls back to the other table when its own has no entry.
    assert received(spec, 1, reply=True) == "created"
    assert spec.received(9, reply=True) is None


def test_operation_by_name_or_request_id_finds_calls_only() -> None:
    spec = ops_spec(
        [
            {"name": "get", "attribute-set": "s", "do": {"request": REQ, "reply": REQ}},
            {"name": "ntf", "notify": "get"},
        ]
    )
    assert spec.operation("get") is spec.ops["get"]
    assert spec.operation(1) is spec.ops["get"]
    assert spec.operation("ntf") is None
    assert spec.operation(2) is None
    assert spec.operation("nope") is None


def test_family_level_keys() -> None:
    spec = FamilySpec.from_dict(
        {
            "name": "fam",
            "doc": "  Some text.\n",
            "attribute-sets": ONE_SET,
            "mcast-groups": {"list": [{"name": "monitor"}, {"name": "events"}]},
        },
        "somewhere.json",
    )
    assert spec.name == "fam"
    assert spec.protocol == "genetlink"  # YNL's default
    assert spec.mcast_groups == ("monitor", "events")
    assert spec.doc == "Some text."
    assert spec.source == "somewhere.json"
    assert spec.operations == ()
    assert FamilySpec.from_dict({"name": "raw", "protocol": "netlink-raw"}).source == "<code>"


def test_lookups_of_missing_names_raise_key_error_naming_them() -> None:
    spec = build(**{"attribute-sets": ONE_SET})
    with pytest.raises(KeyError, match="no attribute set 'zz'"):
        spec.attr_set("zz")
    with pytest.raises(KeyError, match="no enum or flags definition 'zz'"):
        spec.enum("zz")
    with pytest.raises(KeyError, match="no struct definition 'zz'"):
        spec.struct("zz")


# -- specs that describe no family ------------------------------------------------------------


def with_attr(**attr: Any) -> dict[str, Any]:
    return {"attribute-sets": [{"name": "s", "attributes": [{"name": "x", **attr}]}]}


ATTR0 = "attribute-sets[0].attributes[0]"

BAD_SPECS = {
    "unknown type": (with_attr(type="u24"), ATTR0, "unknown attribute type 'u24'"),
    "unknown sub-type": (
        with_attr(type="binary", **{"sub-type": "u12"}),
        ATTR0,
        "unknown sub-type 'u12'",
    ),
    "nest without nested-attributes": (with_attr(type="nest"), ATTR0, "'nested-attributes'"),
    "nest-type-value without nested-attributes": (
        with_attr(type="nest-type-value"),
        ATTR0,
        "'nested-attributes'",
    ),
    "indexed-array of nests without nested-attributes": (
        with_attr(type="indexed-array", **{"sub-type": "nest"}),
        ATTR0,
        "'nested-attributes'",
    ),
    "nest of an unknown set": (
        with_attr(type="nest", **{"nested-attributes": "zz"}),
        "attribute-sets s.x",
        "nested-attributes names unknown set 'zz'",
    ),
    "unknown enum": (with_attr(type="u32", enum="zz"), ATTR0, "no enum or flags definition 'zz'"),
    "unknown struct": (with_attr(type="binary", struct="zz"), ATTR0, "no struct definition 'zz'"),
    "bad byte-order": (
        with_attr(type="u32", **{"byte-order": "middle-endian"}),
        ATTR0,
        "unknown byte-order 'middle-endian'",
    ),
    "bad display-hint": (
        with_attr(type="binary", **{"display-hint": "ipv5"}),
        ATTR0,
        "unknown display-hint 'ipv5'",
    ),
    "bad value": (with_attr(type="u32", value="3"), ATTR0, "'value' must be an integer"),
    "bool value": (with_attr(type="u32", value=True), ATTR0, "'value' must be an integer"),
    "checks not a mapping": (
        with_attr(type="u32", checks=[1]),
        ATTR0,
        "'checks' must be a mapping",
    ),
    "sub-message without selector": (
        with_attr(type="sub-message", **{"sub-message": "m"}),
        ATTR0,
        "'selector'",
    ),
    "unknown sub-message": (
        with_attr(type="sub-message", **{"sub-message": "zz", "selector": "x"}),
        "attribute-sets s.x",
        "no sub-message 'zz'",
    ),
    "attribute without name": (
        {"attribute-sets": [{"name": "s", "attributes": [{"type": "u8"}]}]},
        ATTR0,
        "has no 'name'",
    ),
    "subset-of unknown set": (
        {"attribute-sets": [{"name": "s", "subset-of": "zz", "attributes": []}]},
        "attribute-sets[0]",
        "subset-of unknown set 'zz'",
    ),
    "subset names an attribute its parent lacks": (
        {
            "attribute-sets": [
                *ONE_SET,
                {"name": "sub", "subset-of": "s", "attributes": [{"name": "y"}]},
            ]
        },
        "attribute-sets[1].attributes[0]",
        "'y' is not in s",
    ),
    "attribute-sets not a list": (
        {"attribute-sets": {"s": []}},
        "",
        "'attribute-sets' must be a list",
    ),
    "unknown definition type": (
        {"definitions": [{"name": "d", "type": "union"}]},
        "definitions[0]",
        "unknown definition type 'union'",
    ),
    "unknown member type": (
        {
            "definitions": [
                {"name": "d", "type": "struct", "members": [{"name": "m", "type": "nest"}]}
            ]
        },
        "definitions[0].members[0]",
        "unknown member type 'nest'",
    ),
    "binary member without len": (
        {
            "definitions": [
                {"name": "d", "type": "struct", "members": [{"name": "m", "type": "binary"}]}
            ]
        },
        "definitions[0].members[0]",
        "needs 'len'",
    ),
    "member of an unknown enum": (
        {
            "definitions": [
                {
                    "name": "d",
                    "type": "struct",
                    "members": [{"name": "m", "type": "u8", "enum": "zz"}],
                }
            ]
        },
        "definitions[0].members[0]",
        "no enum 'zz'",
    ),
    "bad value-start": (
        {"definitions": [{"name": "e", "type": "enum", "value-start": "1", "entries": []}]},
        "definitions[0]",
        "'value-start' must be an integer",
    ),
    "unknown protocol": ({"protocol": "netlink-cooked"}, "protocol", "unknown protocol"),
    "unknown enum-model": (
        {"operations": {"enum-model": "sideways", "list": []}},
        "operations.enum-model",
        "unknown model 'sideways'",
    ),
    "unknown fixed-header": (
        {"operations": {"fixed-header": "zz", "list": []}},
        "operations.fixed-header",
        "no struct 'zz'",
    ),
    "operations not a mapping": (
        {"operations": [{"name": "get"}]},
        "operations",
        "must be a mapping with a 'list'",
    ),
    "notify naming an unknown op": (
        {"attribute-sets": ONE_SET, "operations": {"list": [{"name": "ntf", "notify": "get"}]}},
        "operations.list[0]",
        "notify names unknown operation 'get'",
    ),
    "op of an unknown set": (
        {"operations": {"list": [{"name": "get", "attribute-set": "zz", "do": {}}]}},
        "operations.list[0]",
        "no attribute set 'zz'",
    ),
    "do without a set": (
        {"operations": {"list": [{"name": "get", "do": {}}]}},
        "operations.list[0]",
        "needs an 'attribute-set'",
    ),
    "unknown op flag": (
        {
            "attribute-sets": ONE_SET,
            "operations": {
                "list": [{"name": "a", "attribute-set": "s", "flags": ["root"], "do": {}}]
            },
        },
        "operations.list[0]",
        "unknown op flag 'root'",
    ),
    "directional op without a mode": (
        {"operations": {"enum-model": "directional", "list": [{"name": "a"}]}},
        "operations.list[0]",
        "needs do, dump, notify or event",
    ),
    "format without value": (
        {
            "attribute-sets": ONE_SET,
            "sub-messages": [{"name": "m", "formats": [{"attribute-set": "s"}]}],
        },
        "sub-messages[0].formats[0]",
        "needs a 'value'",
    ),
    "format of an unknown set": (
        {"sub-messages": [{"name": "m", "formats": [{"value": "a", "attribute-set": "zz"}]}]},
        "sub-messages[0].formats[0]",
        "no attribute set 'zz'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_raises_spec_error_naming_source_and_key(case: str) -> None:
    parts, where, message = BAD_SPECS[case]
    with pytest.raises(SpecError) as info:
        FamilySpec.from_dict({"name": "t", **parts}, SOURCE)
    text = str(info.value)
    assert text.startswith(SOURCE), text
    assert info.value.where.startswith(SOURCE)
    assert where in info.value.where, text
    assert message in text, text


@pytest.mark.parametrize("top", [["name", "t"], "name: t", None, 3])
def test_top_level_must_be_a_mapping(top: Any) -> None:
    with pytest.raises(SpecError, match=r"^test\.yaml: a spec must be a mapping at the top$"):
        FamilySpec.from_dict(top, SOURCE)


def test_spec_without_name() -> None:
    with pytest.raises(SpecError, match=r"^test\.yaml: has no 'name'$"):
        FamilySpec.from_dict({"attribute-sets": []}, SOURCE)


def test_spec_error_is_a_value_error() -> None:
    assert issubclass(SpecError, ValueError)
