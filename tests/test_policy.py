"""libnl_py.spec.policy: specs made from the kernel's policy, decoded by number."""

from __future__ import annotations

import pytest

from libnl_py.attrs import AttributeEncoder
from libnl_py.spec.codec import Codec, EncodeError, Typed
from libnl_py.spec.policy import AttrPolicy, FamilyPolicy, spec_from_policy

POLICY = FamilyPolicy(
    family_id=0x30,
    policies={
        0: {
            1: AttrPolicy(1, "u32"),
            2: AttrPolicy(2, "nested-array", policy=1),
            3: AttrPolicy(3, "u32"),
            4: AttrPolicy(4, "nul-string"),
            5: AttrPolicy(5, "nested", policy=1),
        },
        1: {1: AttrPolicy(1, "u32")},
    },
    ops={7: {"do": 0}, 8: {"dump": 1}},
)


def test_repeated_attributes_become_lists_of_their_values() -> None:
    enc = AttributeEncoder()
    enc.u32(1, 7)
    for value in (5, 6):  # a nested array, twice
        with enc.nested(2), enc.nested(1):
            enc.u32(1, value)
    enc.u32(3, 1)
    enc.u32(3, 2)
    enc.u32(3, 3)
    data = enc.encode()
    codec = Codec(spec_from_policy("fake", POLICY))
    decoded = codec.decode("policy-0", data)
    assert decoded == {1: 7, 2: [[{1: 5}], [{1: 6}]], 3: [1, 2, 3]}


def test_policy_spec_ops_and_types() -> None:
    spec = spec_from_policy("fake", POLICY)
    assert spec.source == "policy"
    assert spec.operation(7).attribute_set == "policy-0"  # type: ignore[union-attr]
    assert spec.operation(8).attribute_set == "policy-1"  # type: ignore[union-attr]
    types = {a.value: a.type for a in spec.attr_set("policy-0").attributes}
    assert types == {1: "u32", 2: "indexed-array", 3: "u32", 4: "string", 5: "nest"}


def test_policy_spec_encodes_by_number_with_the_kernel_types() -> None:
    codec = Codec(spec_from_policy("fake", POLICY))
    data = codec.encode("policy-0", {1: 5, 4: "x", 5: {1: 9}})
    expected = AttributeEncoder()
    expected.u32(1, 5)
    expected.string(4, "x")
    with expected.nested(5):
        expected.u32(1, 9)
    assert data == expected.encode()
    with pytest.raises(EncodeError, match="u32 needs an integer"):
        codec.encode("policy-0", {1: "5"})
    # What the policy lacks takes bytes or an explicit type, never a guess.
    with pytest.raises(EncodeError, match="no spec or policy says its type"):
        codec.encode("policy-0", {9: "0a090001"})
    assert codec.encode("policy-0", {9: Typed("be32", 0x0A090001)})[4:] == b"\x0a\x09\x00\x01"
