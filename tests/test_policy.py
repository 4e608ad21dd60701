"""libnl_py.genl.policy: decoding attributes by the kernel's policy."""

from __future__ import annotations

from libnl_py.attrs import AttributeEncoder, Attributes
from libnl_py.genl.policy import AttrPolicy, FamilyPolicy, decode_by_policy


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
    policy = FamilyPolicy(
        family_id=0x30,
        policies={
            0: {
                1: AttrPolicy(1, "u32"),
                2: AttrPolicy(2, "nested-array", policy=1),
                3: AttrPolicy(3, "u32"),
            },
            1: {1: AttrPolicy(1, "u32")},
        },
    )
    decoded = decode_by_policy(Attributes(data, 0, len(data)), policy, policy.policies[0])
    assert decoded == {1: 7, 2: [[{1: 5}], [{1: 6}]], 3: [1, 2, 3]}
