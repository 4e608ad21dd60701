"""libnl_py.genl.family: Family, Operation, MulticastGroup and their C-backed decoders."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
from conftest import newfamily

from libnl_py import lib
from libnl_py.attrs import MalformedAttributesError
from libnl_py.genl import GenlSocket
from libnl_py.genl.family import (
    Family,
    MulticastGroup,
    Operation,
    families_from_bytes,
    family_from_attrs,
    family_from_bytes,
)
from libnl_py.message import GenlMessage, split_datagram
from libnl_py.spec import registry


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
    assert family.group("other").id == 34
    assert family.operation(7) is not None and family.operation(7).can_dump  # type: ignore[union-attr]
    (msg_type, flags, seq, port, start, end) = split_datagram(data)[0]
    attrs = GenlMessage(data, start, end, msg_type, flags, seq, port).attrs
    assert family_from_attrs(attrs, {7: "seven"}) == family


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


def test_kernel_dump_decodes_alike(genl_socket_for_family: GenlSocket) -> None:
    sock = genl_socket_for_family
    # Decoded in C while the dump is read, from bytes afterwards, and in Python.
    listed = sock.list_families()
    messages = sock.dump(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, version=2)
    raw = [msg.data for msg in messages]
    assert listed == families_from_bytes(raw)
    in_python = [
        family_from_attrs(msg.attrs, registry.command_names(msg.attrs.string(2)))
        for msg in messages
    ]
    assert listed == in_python
    nlctrl = listed[0]
    assert (nlctrl.id, nlctrl.name) == (16, "nlctrl")
    assert [op.name for op in nlctrl.operations] == ["getfamily", "getpolicy"]


@pytest.fixture
def genl_socket_for_family() -> Iterator[GenlSocket]:
    with GenlSocket() as sock:
        yield sock
