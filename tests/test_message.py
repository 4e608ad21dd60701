"""libnl_py.message: datagram splitting, NLMSG_ERROR / NLMSG_DONE parsing, GenlMessage.

Every message here is built by hand with ``struct``.
"""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libnl_py import errors, lib
from libnl_py.attrs import NLA_F_NESTED
from libnl_py.message import (
    ExtAck,
    GenlMessage,
    MalformedMessageError,
    pack_genl_request,
    parse_done,
    parse_error,
    split_datagram,
)

NLMSGHDR = struct.Struct("=IHHII")
GENLHDR = struct.Struct("=BBH")
HDR = struct.Struct("=HH")


def nlmsg(
    msg_type: int, flags: int, seq: int, port: int, payload: bytes, length: int | None = None
) -> bytes:
    """One message, padded to 4 bytes; ``length`` overrides nlmsg_len."""
    size = 16 + len(payload) if length is None else length
    data = NLMSGHDR.pack(size, msg_type, flags, seq, port) + payload
    return data + b"\0" * (-len(data) % 4)


def nlattr(attr_type: int, payload: bytes) -> bytes:
    return HDR.pack(4 + len(payload), attr_type) + payload + b"\0" * (-len(payload) % 4)


def genl_payload(cmd: int, version: int, attrs: bytes = b"") -> bytes:
    return GENLHDR.pack(cmd, version, 0) + attrs


# -- split_datagram ------------------------------------------------------------------


def test_split_several_messages() -> None:
    a = nlmsg(0x20, lib.NLM_F_MULTI, 7, 1234, genl_payload(1, 1, nlattr(1, b"x")))  # 28 bytes
    b = nlmsg(0x20, lib.NLM_F_MULTI, 7, 1234, genl_payload(1, 1, b"\x01"))  # len 21, padded 24
    c = nlmsg(lib.NLMSG_DONE, lib.NLM_F_MULTI, 7, 1234, struct.pack("=i", 0))
    data = a + b + c
    assert split_datagram(data) == [
        (0x20, lib.NLM_F_MULTI, 7, 1234, 0, 28),
        (0x20, lib.NLM_F_MULTI, 7, 1234, 28, 28 + 21),
        (lib.NLMSG_DONE, lib.NLM_F_MULTI, 7, 1234, 52, 72),
    ]


def test_split_last_message_without_padding() -> None:
    data = nlmsg(0x20, 0, 1, 0, b"\x01\x02\x03")[:19]  # nlmsg_len 19, no tail padding
    assert split_datagram(data) == [(0x20, 0, 1, 0, 0, 19)]


def test_split_empty_datagram() -> None:
    assert split_datagram(b"") == []


@pytest.mark.parametrize("length", [0, 1, 15])
def test_split_nlmsg_len_below_header(length: int) -> None:
    good = nlmsg(0x20, 0, 1, 0, b"abcd")
    with pytest.raises(MalformedMessageError) as info:
        split_datagram(good + nlmsg(0x20, 0, 2, 0, b"abcd", length=length))
    assert info.value.offset == len(good)
    assert isinstance(info.value, errors.MessageTooShortError)
    assert isinstance(info.value, errors.NetlinkError)
    assert info.value.code == lib.NLE_MSG_TOOSHORT


def test_split_nlmsg_len_past_end() -> None:
    with pytest.raises(MalformedMessageError) as info:
        split_datagram(nlmsg(0x20, 0, 1, 0, b"abcd", length=100))
    assert info.value.offset == 0
    assert "100" in str(info.value)


def test_split_datagram_shorter_than_a_header() -> None:
    with pytest.raises(MalformedMessageError):
        split_datagram(b"\x10\x00\x00\x00\x20\x00")


@given(st.binary(max_size=120))
@settings(max_examples=400)
def test_split_random_bytes(data: bytes) -> None:
    try:
        parts = split_datagram(data)
    except MalformedMessageError as exc:
        assert 0 <= exc.offset < len(data)
        return
    pos = 0
    for msg_type, flags, seq, port, start, end in parts:
        assert start == pos
        assert end - start >= 16
        assert end <= len(data)
        assert NLMSGHDR.unpack_from(data, start) == (end - start, msg_type, flags, seq, port)
        pos = (end + 3) & ~3


# -- NLMSG_ERROR ----------------------------------------------------------------------

REQUEST = nlmsg(
    0x15,
    lib.NLM_F_REQUEST | lib.NLM_F_ACK,
    42,
    777,
    genl_payload(2, 1, nlattr(1 | NLA_F_NESTED, nlattr(2, b"nope0\0"))),
)


def error_message(error: int, flags: int, echoed: bytes, tlvs: bytes = b"") -> bytes:
    return nlmsg(lib.NLMSG_ERROR, flags, 42, 777, struct.pack("=i", error) + echoed + tlvs)


def test_parse_plain_ack() -> None:
    data = error_message(0, 0, REQUEST)
    assert parse_error(data, 0, len(data), 0) == (0, None)


def test_parse_error_without_tlvs() -> None:
    data = error_message(-errno.ENODEV, 0, REQUEST)
    assert parse_error(data, 0, len(data), 0) == (-errno.ENODEV, None)


def test_parse_error_capped_without_tlvs() -> None:
    data = error_message(-errno.EPERM, lib.NLM_F_CAPPED, REQUEST[:16])
    assert parse_error(data, 0, len(data), lib.NLM_F_CAPPED) == (-errno.EPERM, None)


def test_parse_error_capped_with_tlvs() -> None:
    tlvs = (
        nlattr(lib.NLMSGERR_ATTR_MSG, b"no device matches name\0")
        + nlattr(lib.NLMSGERR_ATTR_OFFS, struct.pack("=I", 28))
        + nlattr(lib.NLMSGERR_ATTR_MISS_TYPE, struct.pack("=I", 5))
        + nlattr(lib.NLMSGERR_ATTR_MISS_NEST, struct.pack("=I", 24))
        + nlattr(lib.NLMSGERR_ATTR_COOKIE, b"\x01\x02\x03")
    )
    flags = lib.NLM_F_CAPPED | lib.NLM_F_ACK_TLVS
    data = error_message(-errno.ENODEV, flags, REQUEST[:16], tlvs)
    error, ext_ack = parse_error(data, 0, len(data), flags)
    assert error == -errno.ENODEV
    assert ext_ack == ExtAck(
        message="no device matches name",
        offset=28,
        missing_type=5,
        missing_nest=24,
        cookie=b"\x01\x02\x03",
    )


def test_parse_error_uncapped_with_tlvs_skips_the_echoed_request() -> None:
    request = nlmsg(0x10, lib.NLM_F_REQUEST, 42, 777, genl_payload(3, 1, b"\x01\x02\x03"))
    assert NLMSGHDR.unpack_from(request)[0] == 23  # unaligned: the parser must align it
    tlvs = nlattr(lib.NLMSGERR_ATTR_MSG, b"bad\0") + nlattr(
        lib.NLMSGERR_ATTR_OFFS, struct.pack("=I", 20)
    )
    data = error_message(-errno.EINVAL, lib.NLM_F_ACK_TLVS, request, tlvs)
    error, ext_ack = parse_error(data, 0, len(data), lib.NLM_F_ACK_TLVS)
    assert error == -errno.EINVAL
    assert ext_ack is not None
    assert (ext_ack.message, ext_ack.offset, ext_ack.missing_type) == ("bad", 20, None)


def test_parse_error_ack_with_warning_message() -> None:
    flags = lib.NLM_F_CAPPED | lib.NLM_F_ACK_TLVS
    data = error_message(0, flags, REQUEST[:16], nlattr(lib.NLMSGERR_ATTR_MSG, b"deprecated\0"))
    assert parse_error(data, 0, len(data), flags) == (0, ExtAck(message="deprecated"))


def test_parse_error_inside_a_datagram() -> None:
    first = nlmsg(0x10, 0, 1, 0, genl_payload(1, 2))
    err = error_message(-errno.EBUSY, lib.NLM_F_CAPPED, REQUEST[:16])
    data = first + err
    (first_type, *_), (etype, eflags, _, _, estart, eend) = split_datagram(data)
    assert first_type == 0x10
    assert etype == lib.NLMSG_ERROR
    assert parse_error(data, estart, eend, eflags) == (-errno.EBUSY, None)


def test_parse_error_too_short() -> None:
    data = nlmsg(lib.NLMSG_ERROR, 0, 1, 0, struct.pack("=i", -1) + b"\0" * 8)
    with pytest.raises(MalformedMessageError):
        parse_error(data, 0, len(data), 0)


def test_parse_error_malformed_tlvs_give_empty_ext_ack() -> None:
    flags = lib.NLM_F_CAPPED | lib.NLM_F_ACK_TLVS
    data = error_message(-errno.EINVAL, flags, REQUEST[:16], HDR.pack(2, 1) + b"\0\0")
    assert parse_error(data, 0, len(data), flags) == (-errno.EINVAL, ExtAck())


def test_parse_error_offs_of_wrong_size_keeps_message() -> None:
    flags = lib.NLM_F_CAPPED | lib.NLM_F_ACK_TLVS
    tlvs = nlattr(lib.NLMSGERR_ATTR_MSG, b"why\0") + nlattr(lib.NLMSGERR_ATTR_OFFS, b"\x01")
    data = error_message(-errno.EINVAL, flags, REQUEST[:16], tlvs)
    assert parse_error(data, 0, len(data), flags) == (-errno.EINVAL, ExtAck(message="why"))


# -- NLMSG_DONE ---------------------------------------------------------------------


def test_parse_done_without_payload() -> None:
    data = nlmsg(lib.NLMSG_DONE, lib.NLM_F_MULTI, 1, 0, b"")
    assert parse_done(data, 0, len(data), lib.NLM_F_MULTI) == (0, None)


def test_parse_done_with_error() -> None:
    data = nlmsg(lib.NLMSG_DONE, lib.NLM_F_MULTI, 1, 0, struct.pack("=i", -errno.EBUSY))
    assert parse_done(data, 0, len(data), lib.NLM_F_MULTI) == (-errno.EBUSY, None)


def test_parse_done_with_ext_ack() -> None:
    flags = lib.NLM_F_MULTI | lib.NLM_F_ACK_TLVS
    payload = struct.pack("=i", -errno.EBUSY) + nlattr(lib.NLMSGERR_ATTR_MSG, b"try later\0")
    data = nlmsg(lib.NLMSG_DONE, flags, 1, 0, payload)
    assert parse_done(data, 0, len(data), flags) == (-errno.EBUSY, ExtAck(message="try later"))


# -- GenlMessage and requests -------------------------------------------------------------


def test_genl_message_fields_and_attrs() -> None:
    attrs = nlattr(1, struct.pack("=H", 0x15)) + nlattr(2, b"ethtool\0")
    data = nlmsg(0x10, lib.NLM_F_MULTI, 9, 4321, genl_payload(1, 2, attrs))
    msg = GenlMessage(data, 0, len(data), 0x10, lib.NLM_F_MULTI, 9, 4321)
    assert (msg.family_id, msg.cmd, msg.version, msg.seq, msg.port, msg.flags) == (
        0x10,
        1,
        2,
        9,
        4321,
        lib.NLM_F_MULTI,
    )
    assert msg.header == b""
    assert msg.attrs.u16(1) == 0x15
    assert msg.attrs.string(2) == "ethtool"
    assert msg.data == data


def test_genl_message_family_header() -> None:
    fixed = b"\xaa\xbb\xcc\xdd\xee\xff\x00\x11"
    data = nlmsg(0x30, 0, 1, 0, genl_payload(5, 1, fixed + nlattr(3, b"\x07")))
    msg = GenlMessage(data, 0, len(data), 0x30, 0, 1, 0, hdrsize=8)
    assert msg.header == fixed
    assert msg.attrs.u8(3) == 7


def test_genl_message_copied_out_of_a_datagram() -> None:
    first = nlmsg(0x20, 0, 1, 0, genl_payload(1, 1, nlattr(1, b"first")))
    second = nlmsg(0x20, 0, 1, 0, genl_payload(2, 1, nlattr(1, b"second")))
    data = first + second
    _, (msg_type, flags, seq, port, start, end) = split_datagram(data)
    msg = GenlMessage(data, start, end, msg_type, flags, seq, port)
    assert msg.data == data[start:end]
    assert msg.cmd == 2
    assert msg.attrs.binary(1) == b"second"


def test_genl_message_too_short() -> None:
    data = nlmsg(0x20, 0, 1, 0, b"\x01\x01")
    with pytest.raises(MalformedMessageError):
        GenlMessage(data, 0, 18, 0x20, 0, 1, 0)
    good = nlmsg(0x20, 0, 1, 0, genl_payload(1, 1, b"\0" * 4))
    with pytest.raises(MalformedMessageError):
        GenlMessage(good, 0, len(good), 0x20, 0, 1, 0, hdrsize=8)


def test_genl_message_malformed_attrs_raise_on_access() -> None:
    data = nlmsg(0x20, 0, 1, 0, genl_payload(1, 1, HDR.pack(40, 1) + b"\0" * 4))
    msg = GenlMessage(data, 0, len(data), 0x20, 0, 1, 0)
    assert msg.cmd == 1
    with pytest.raises(errors.ParseError):
        _ = msg.attrs


def test_pack_genl_request() -> None:
    data = pack_genl_request(
        0x15, lib.NLM_F_REQUEST | lib.NLM_F_ACK, 77, 4000, 2, 1, b"\x08\x00\x02\x00lo\0\0"
    )
    assert (
        data
        == NLMSGHDR.pack(28, 0x15, lib.NLM_F_REQUEST | lib.NLM_F_ACK, 77, 4000)
        + GENLHDR.pack(2, 1, 0)
        + b"\x08\x00\x02\x00lo\0\0"
    )
    assert split_datagram(data) == [(0x15, lib.NLM_F_REQUEST | lib.NLM_F_ACK, 77, 4000, 0, 28)]


def test_ext_ack_describe() -> None:
    assert ExtAck().describe() == ""
    assert ExtAck(message="bad").describe() == "bad"
    assert ExtAck(offset=24).describe() == "offending offset 24"
    text = ExtAck(message="no device", offset=28, attribute_path=(1, 2)).describe()
    assert text == "no device; offending attribute 1/2 (offset 28)"
    named = ExtAck(offset=28, attribute_path=(1, 2), attribute_names=("header", "dev-name"))
    assert named.describe() == "offending attribute header/dev-name (offset 28)"
    assert ExtAck(missing_type=3).describe() == "missing attribute 3"


def test_genl_message_over_a_cffi_buffer_has_int_header_fields() -> None:
    from libnl_py._ffi import ffi

    data = pack_genl_request(0x30, 0, 9, 0, 5, 3, b"")
    buf = ffi.buffer(ffi.new("char[]", data), len(data))
    msg = GenlMessage(buf, 0, len(data), 0x30, 0, 9, 0)
    assert (msg.cmd, msg.version) == (5, 3)
    assert type(msg.cmd) is int


def test_genl_message_fields_are_the_c_base_s() -> None:
    """Without the accelerator GenlMessage's base is a slots class with the C base's fields."""
    import types

    from libnl_py import message

    codec = pytest.importorskip("libnl_py._codec")
    members = {
        name
        for name, value in vars(codec.Message).items()
        if isinstance(value, types.MemberDescriptorType)
    }
    assert members == set(message._MessageFields.__slots__)
    assert GenlMessage.__mro__[1] is codec.Message
