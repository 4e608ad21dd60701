"""Message: libnl's struct nl_msg, owned, checked; attributes put and parsed back with libnl.

The bytes libnl writes are compared with the house's own encoder
(:class:`~libnl_py.attrs.AttributeEncoder`, pure Python, written from the
kernel's layout), so the two check each other. Misuse runs in a subprocess
(this file as a script), so that a crash shows as a signal.
"""

from __future__ import annotations

import resource
import struct
import subprocess
import sys
import threading
from typing import Any, Callable

import pytest

from libnl_py import NL_AUTO_PORT, NL_AUTO_SEQ, Message, Policy, PolicyEntry, errors, lib
from libnl_py.attrs import AttributeEncoder, MalformedAttributesError
from libnl_py.msg import HAS_NLA_UINT, Attr, GenlHeader, Header, Nest

NLMSGHDR = struct.Struct("=IHHII")
FAMILY = 0x1234
CMD = 7


def genl(msg: Message, flags: int = 0, hdrlen: int = 0, header: bytes | None = None) -> None:
    msg.genlmsg_put(NL_AUTO_PORT, NL_AUTO_SEQ, FAMILY, hdrlen, flags, CMD, 1, header=header)


def attrs_of(msg: Message, hdrlen: int = 0) -> bytes:
    """The attribute bytes after nlmsghdr + genlmsghdr + the family header."""
    return bytes(msg)[16 + 4 + hdrlen :]


def outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except BaseException as exc:
        return type(exc).__name__
    return "ok"


# -- allocation and headers -------------------------------------------------------------


def test_alloc_sizes() -> None:
    with Message() as msg:
        assert msg.max_size == resource.getpagesize()  # libnl's default
        assert msg.header == Header(16, 0, 0, 0, 0)
        assert bytes(msg) == NLMSGHDR.pack(16, 0, 0, 0, 0)
    with Message(256) as msg:
        assert msg.max_size == 256
    with pytest.raises(ValueError):
        Message(-1)
    with pytest.raises(TypeError):
        Message("big")  # type: ignore[arg-type]


def test_genlmsg_put() -> None:
    with Message() as msg:
        genl(msg, flags=lib.NLM_F_DUMP)
        assert msg.header == Header(20, FAMILY, lib.NLM_F_DUMP, 0, 0)
        assert msg.genl_header == GenlHeader(CMD, 1)
        assert bytes(msg) == NLMSGHDR.pack(20, FAMILY, lib.NLM_F_DUMP, 0, 0) + bytes([CMD, 1, 0, 0])
    with Message() as msg:
        msg.genlmsg_put(1234, 99, FAMILY, 8, 0, CMD, 2, header=b"abcdefgh")
        assert msg.header == Header(28, FAMILY, 0, 99, 1234)
        assert bytes(msg)[20:] == b"abcdefgh"
        with pytest.raises(ValueError, match="hdrlen"):
            msg.genlmsg_put(0, 0, FAMILY, 4, 0, CMD, 1, header=b"xy")
    with Message() as msg:
        msg.genlmsg_put(0, 0, FAMILY, 4, 0, CMD, 1)  # a zeroed family header
        assert bytes(msg)[20:] == bytes(4)


def test_genl_header_of_a_short_message() -> None:
    with Message() as msg, pytest.raises(errors.MessageTooShortError):
        msg.genl_header  # noqa: B018


def test_nlmsg_put_and_append() -> None:
    ifinfomsg = struct.pack("=BxHiII", 0, 0, 1, 0, 0)
    with Message() as msg:
        msg.nlmsg_put(0, 0, 18, 0, lib.NLM_F_REQUEST)  # RTM_GETLINK
        msg.append(ifinfomsg)
        msg.put_string(3, "lo")  # IFLA_IFNAME
        assert bytes(msg) == (
            NLMSGHDR.pack(16 + 16 + 8, 18, lib.NLM_F_REQUEST, 0, 0)
            + ifinfomsg
            + struct.pack("=HH", 7, 3)
            + b"lo\0\0"
        )
    with Message() as msg:
        msg.nlmsg_put(0, 0, 18, 16, 0)  # payload reserved, zeroed
        assert bytes(msg) == NLMSGHDR.pack(32, 18, 0, 0, 0) + bytes(16)
        msg.append(b"abc")  # padded to 4
        assert bytes(msg)[32:] == b"abc\0"


# -- attributes: what libnl writes, against the house's encoder ----------------------------

INT_KINDS = [
    ("u8", 0xAB, "u8"),
    ("u16", 0xABCD, "u16"),
    ("u32", 0xDEADBEEF, "u32"),
    ("u64", 0x0123456789ABCDEF, "u64"),
    ("s8", -5, "s8"),
    ("s16", -3000, "s16"),
    ("s32", -70000, "s32"),
    ("s64", -(2**40), "s64"),
    ("msecs", 1234567, "u64"),
]


@pytest.mark.parametrize(("kind", "value", "encoder_kind"), INT_KINDS)
def test_put_int_kinds(kind: str, value: int, encoder_kind: str) -> None:
    with Message() as msg:
        genl(msg)
        getattr(msg, f"put_{kind}")(5, value)
        enc = AttributeEncoder()
        getattr(enc, encoder_kind)(5, value)
        assert attrs_of(msg) == enc.encode()
        (attr,) = [a for a in msg.genlmsg_parse(0, 5) if a is not None]
        assert attr.type == 5
        assert getattr(attr, f"get_{kind}")() == value


@pytest.mark.parametrize(("kind", "low", "high"), [
    ("u8", 0, 0xFF), ("u16", 0, 0xFFFF), ("u32", 0, 2**32 - 1), ("u64", 0, 2**64 - 1),
    ("s8", -128, 127), ("s16", -(2**15), 2**15 - 1), ("s32", -(2**31), 2**31 - 1),
    ("s64", -(2**63), 2**63 - 1),
])  # fmt: skip
def test_put_int_range(kind: str, low: int, high: int) -> None:
    with Message() as msg:
        put = getattr(msg, f"put_{kind}")
        put(1, low)
        put(2, high)
        tb = msg.nlmsg_parse(0, 2)
        assert getattr(tb[1], f"get_{kind}")() == low
        assert getattr(tb[2], f"get_{kind}")() == high
        for bad in (low - 1, high + 1):
            with pytest.raises(ValueError, match=kind):
                put(3, bad)
        for wrong in (True, 1.0, "1", None, b"\1"):
            with pytest.raises(TypeError):
                put(3, wrong)
        before = bytes(msg)
        assert bytes(msg) == before  # nothing was written by the refused puts


def test_put_uint_sint() -> None:
    with Message() as msg:
        if not HAS_NLA_UINT:
            assert outcome(lambda: msg.put_uint(1, 5)) == "NotSupportedError"
            assert outcome(lambda: msg.put_sint(1, -5)) == "NotSupportedError"
            msg.put(1, struct.pack("=I", 5))
            (attr,) = [a for a in msg.nlmsg_parse(0, 1) if a]
            assert outcome(attr.get_uint) == "NotSupportedError"
            return
        msg.put_uint(1, 5)
        msg.put_uint(2, 2**40)
        msg.put_sint(3, -5)
        msg.put_sint(4, -(2**40))
        tb = msg.nlmsg_parse(0, 4)
        assert [tb[i].len for i in (1, 2, 3, 4)] == [4, 8, 4, 8]  # type: ignore[union-attr]
        assert tb[1].get_uint() == 5 and tb[2].get_uint() == 2**40  # type: ignore[union-attr]
        assert tb[3].get_sint() == -5 and tb[4].get_sint() == -(2**40)  # type: ignore[union-attr]


def test_put_string_flag_binary() -> None:
    with Message() as msg:
        genl(msg)
        msg.put_string(1, "nlctrl")
        msg.put_string(2, b"raw")
        msg.put_string(3, "")
        msg.put_flag(4)
        msg.put(5, b"\x00\x01\x02")
        msg.put(6, b"")
        enc = AttributeEncoder()
        enc.string(1, "nlctrl")
        enc.string(2, "raw")
        enc.string(3, "")
        enc.flag(4)
        enc.put(5, b"\x00\x01\x02")
        enc.put(6, b"")
        assert attrs_of(msg) == enc.encode()
        tb = msg.genlmsg_parse(0, 6)
        assert tb[1].get_string() == "nlctrl"  # type: ignore[union-attr]
        assert tb[2].get_string() == "raw"  # type: ignore[union-attr]
        assert tb[3].get_string() == ""  # type: ignore[union-attr]
        assert tb[4].get_flag() is True and tb[4].len == 0  # type: ignore[union-attr]
        assert tb[5].data() == b"\x00\x01\x02"  # type: ignore[union-attr]
        assert tb[6].data() == b""  # type: ignore[union-attr]
        assert tb[0] is None
        with pytest.raises(ValueError, match="NUL"):
            msg.put_string(7, "a\0b")
        with pytest.raises(TypeError):
            msg.put_string(7, 5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            msg.put(7, "text")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            msg.put(7, [1, 2])  # type: ignore[arg-type]


def test_string_without_nul_reads_no_further() -> None:
    with Message() as msg:
        msg.put(1, b"abc")  # no NUL: libnl's nla_get_string would read past it
        msg.put(2, b"tail")
        tb = msg.nlmsg_parse(0, 2)
        assert tb[1].get_string() == "abc"  # type: ignore[union-attr]


def test_attribute_types() -> None:
    with Message() as msg:
        msg.put_u8(0xFFFF, 1)  # the NLA_F_* bits may be set by hand
        for bad in (-1, 0x10000):
            with pytest.raises(ValueError):
                msg.put_u8(bad, 1)
        with pytest.raises(TypeError):
            msg.put_u8("1", 1)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            msg.put_flag(True)


def test_attribute_longer_than_nla_len_can_say() -> None:
    """libnl 3.7's nla_put would write it with nla_len wrapped: refused instead."""
    with Message(1 << 20) as msg, Message(1 << 20) as big:
        msg.put(1, bytes(0xFFFF - 4))  # the largest that fits
        assert msg.nlmsg_parse(0, 1)[1].len == 0xFFFF - 4  # type: ignore[union-attr]
        before = bytes(msg)
        with pytest.raises(errors.AttributeSizeError) as info:
            msg.put(1, bytes(0xFFFF - 3))
        assert isinstance(info.value, ValueError) and info.value.function == "nla_put"
        with pytest.raises(errors.AttributeSizeError):
            msg.put_string(2, "x" * (0xFFFF - 4))  # its NUL makes one byte too many
        big.put(1, bytes(40000))
        big.put(2, bytes(40000))
        with pytest.raises(errors.AttributeSizeError):
            msg.put_nested(3, big)
        assert bytes(msg) == before
        nest = msg.nest_start(4)
        msg.put(5, bytes(0x8000))
        msg.put(6, bytes(0x8000))
        with pytest.raises(errors.AttributeSizeError):
            msg.nest_end(nest)  # libnl's own check


def test_full_message_is_out_of_memory_as_in_libnl() -> None:
    with Message(64) as msg:
        genl(msg)
        msg.put(1, bytes(40))  # 20 + 4 + 40: full
        before = bytes(msg)
        with pytest.raises(errors.OutOfMemoryError) as info:
            msg.put(2, b"")
        assert info.value.code == lib.NLE_NOMEM
        assert bytes(msg) == before
        with pytest.raises(errors.OutOfMemoryError):
            msg.nest_start(3)
        with pytest.raises(errors.OutOfMemoryError):
            msg.put_flag(3)
    with Message(16) as msg, pytest.raises(errors.OutOfMemoryError):
        genl(msg)


# -- nests ---------------------------------------------------------------------------------


def test_nests() -> None:
    with Message() as msg:
        genl(msg)
        outer = msg.nest_start(1)
        msg.put_u32(2, 7)
        inner = msg.nest_start(3)
        msg.put_string(4, "x")
        msg.nest_end(inner)
        msg.nest_end(outer)
        enc = AttributeEncoder()
        with enc.nested(1):
            enc.u32(2, 7)
            with enc.nested(3):
                enc.string(4, "x")
        assert attrs_of(msg) == enc.encode()
        assert (outer.state, inner.state) == ("ended", "ended")
        (top,) = [a for a in msg.genlmsg_parse(0, 1) if a]
        assert top.is_nested()  # libnl sets NLA_F_NESTED
        tb = top.parse_nested(3)
        assert tb[2].get_u32() == 7  # type: ignore[union-attr]
        assert [a.type for a in top.nested_attrs()] == [2, 3]
        assert tb[3].parse_nested(4)[4].get_string() == "x"  # type: ignore[union-attr]


def test_nest_misuse() -> None:
    with Message() as msg, Message() as other:
        outer = msg.nest_start(1)
        inner = msg.nest_start(2)
        with pytest.raises(ValueError, match="end it first"):
            msg.nest_end(outer)
        with pytest.raises(ValueError, match="end it first"):
            msg.nest_cancel(outer)
        with pytest.raises(ValueError, match="another message"):
            other.nest_end(inner)
        msg.put_u8(3, 1)
        msg.nest_end(inner)
        with pytest.raises(ValueError, match="ended already"):
            msg.nest_end(inner)
        msg.nest_end(outer)
        with pytest.raises(TypeError):
            msg.nest_end("nest")  # type: ignore[arg-type]


def test_nest_cancel_and_empty_nests() -> None:
    with Message() as msg:
        genl(msg)
        msg.put_u8(1, 1)
        before = bytes(msg)
        nest = msg.nest_start(2)
        msg.put_u32(3, 3)
        msg.nest_cancel(nest)
        assert nest.state == "cancelled"
        assert bytes(msg) == before
        msg.nest_end(msg.nest_start(4))  # libnl drops an empty nest
        assert bytes(msg) == before
        msg.nest_end(msg.nest_start(4), keep_empty=True)
        assert bytes(msg)[len(before) :] == struct.pack("=HH", 4, 4 | lib.NLA_F_NESTED)
        assert repr(nest) == "<Nest 2 cancelled>"


def test_put_nested() -> None:
    with Message() as inner, Message() as msg:
        inner.put_u16(1, 5)
        inner.put_string(2, "in")
        genl(msg)
        msg.put_nested(9, inner)
        enc = AttributeEncoder()
        with enc.nested(9):
            enc.u16(1, 5)
            enc.string(2, "in")
        # nla_put_nested does not set NLA_F_NESTED; the encoder's nested() does.
        expected = bytearray(enc.encode())
        expected[2:4] = struct.pack("=H", 9)
        assert attrs_of(msg) == bytes(expected)
        with pytest.raises(ValueError):
            msg.put_nested(1, msg)
        with pytest.raises(TypeError):
            msg.put_nested(1, b"")  # type: ignore[arg-type]


# -- parsing -------------------------------------------------------------------------------


def test_parse_with_policy() -> None:
    policy = Policy(
        {1: lib.NLA_U32, 2: PolicyEntry(lib.NLA_STRING, maxlen=8), 3: (lib.NLA_FLAG, 0, 0)},
        maxtype=4,
    )
    assert policy.maxtype == 4 and policy.entries[2] == PolicyEntry(lib.NLA_STRING, 0, 8)
    with Message() as msg:
        genl(msg)
        msg.put_u32(1, 9)
        msg.put_string(2, "short")
        msg.put_flag(3)
        msg.put_u8(4, 1)  # NLA_UNSPEC in the policy: not validated
        msg.put_u8(7, 1)  # above maxtype: skipped, as libnl does
        tb = msg.genlmsg_parse(0, 4, policy)
        assert len(tb) == 5
        assert tb[1].get_u32() == 9  # type: ignore[union-attr]
        assert tb[2].get_string() == "short"  # type: ignore[union-attr]
        assert tb[3].get_flag()  # type: ignore[union-attr]

    def parse(put: Callable[[Message], None]) -> str:
        with Message() as msg:
            genl(msg)
            put(msg)
            return outcome(lambda: msg.genlmsg_parse(0, 4, policy))

    assert parse(lambda m: m.put_u16(1, 1)) == "RangeError"  # shorter than a u32
    assert parse(lambda m: m.put_string(2, "far too long")) == "RangeError"  # maxlen
    assert parse(lambda m: m.put(2, b"no-nul")) == "InvalidError"  # NLA_STRING without NUL


def test_repeated_attribute_last_wins() -> None:
    with Message() as msg:
        msg.put_u8(1, 1)
        msg.put_u8(1, 2)
        assert msg.nlmsg_parse(0, 1)[1].get_u8() == 2  # type: ignore[union-attr]


def test_policy_checks() -> None:
    with pytest.raises(ValueError, match="policy type"):
        Policy({1: lib.NLA_TYPE_MAX + 1})  # libnl would abort() the process
    with pytest.raises(ValueError, match="above maxtype"):
        Policy({5: lib.NLA_U8}, maxtype=4)
    with pytest.raises(TypeError):
        Policy({"one": lib.NLA_U8})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        Policy({1: PolicyEntry(lib.NLA_U8, minlen=-1)})
    small = Policy({1: lib.NLA_U8})
    assert small.maxtype == 1
    with Message() as msg:
        msg.put_u8(1, 1)
        with pytest.raises(ValueError, match="covers attribute types up to 1"):
            msg.nlmsg_parse(0, 5, small)  # libnl would read past the array
        with pytest.raises(TypeError):
            msg.nlmsg_parse(0, 1, {1: lib.NLA_U8})  # type: ignore[arg-type]
        assert msg.nlmsg_parse(0, 1, small)[1].get_u8() == 1  # type: ignore[union-attr]
    assert "Policy(" in repr(small)


def test_parse_short_message() -> None:
    with Message() as msg:
        with pytest.raises(errors.MessageTooShortError):
            msg.genlmsg_parse(0, 1)  # no genl header
        genl(msg)
        with pytest.raises(errors.MessageTooShortError):
            msg.genlmsg_parse(8, 1)  # no 8-byte family header
        with pytest.raises(ValueError):
            msg.genlmsg_parse(0, -1)
        with pytest.raises(ValueError):
            msg.genlmsg_parse(0, 0x4000)


@pytest.mark.parametrize(("kind", "need"), [
    ("u8", 1), ("u16", 2), ("u32", 4), ("u64", 8), ("s8", 1), ("s16", 2), ("s32", 4),
    ("s64", 8), ("msecs", 8),
])  # fmt: skip
def test_getter_refuses_a_short_attribute(kind: str, need: int) -> None:
    with Message() as msg:
        genl(msg)
        msg.put(1, bytes(need - 1))
        (attr,) = [a for a in msg.genlmsg_parse(0, 1) if a]
        with pytest.raises(MalformedAttributesError) as info:
            getattr(attr, f"get_{kind}")()
        assert info.value.offset == 20  # after nlmsghdr and genlmsghdr
        assert isinstance(info.value, ValueError)


def test_family_header_and_nlmsg_parse() -> None:
    with Message() as msg:
        genl(msg, hdrlen=8, header=b"HEADER!!")
        msg.put_u32(1, 1)
        assert msg.genlmsg_parse(8, 1)[1].get_u32() == 1  # type: ignore[union-attr]
        # nlmsg_parse counts the genl header as part of hdrlen
        assert msg.nlmsg_parse(12, 1)[1].get_u32() == 1  # type: ignore[union-attr]


# -- ownership ------------------------------------------------------------------------------


def test_free_is_idempotent_and_every_use_after_raises() -> None:
    msg = Message()
    genl(msg)
    msg.put_u8(1, 1)
    (attr,) = [a for a in msg.genlmsg_parse(0, 1) if a]
    nest = msg.nest_start(2)
    msg.free()
    msg.free()
    assert msg.freed and repr(msg) == "<Message freed>"
    for name, call in message_calls(msg, nest).items():
        assert outcome(call) == after_free(name), name
    for name, call in attr_calls(attr).items():
        assert outcome(call) == after_free(name), name
    assert repr(attr) == "<Attr of a freed message>"
    with pytest.raises(errors.FreedMessageError) as info:
        msg.put_u8(1, 1)
    assert "free()" in str(info.value)
    assert isinstance(info.value, ValueError)
    with msg:  # a context manager on a freed message only frees again
        pass


def test_with_frees() -> None:
    with Message() as msg:
        pass
    assert msg.freed


def test_dropped_message_is_collected() -> None:
    import gc
    import weakref

    msg = Message()
    ref = weakref.ref(msg)
    del msg
    gc.collect()
    assert ref() is None


def test_repr() -> None:
    with Message() as msg:
        genl(msg)
        assert repr(msg) == "<Message len=20 type=0x1234 flags=0x0 seq=0 port=0>"
        msg.put_u8(1, 1)
        (attr,) = [a for a in msg.nlmsg_parse(4, 1) if a]
        assert repr(attr) == "<Attr type=1 len=1>"


def test_free_waits_for_another_thread() -> None:
    """Many threads putting while one frees: each put works or raises FreedMessageError."""
    for _ in range(20):
        msg = Message(1 << 16)
        results: list[str] = []
        start = threading.Barrier(5)

        def worker(
            m: Message = msg, out: list[str] = results, start: threading.Barrier = start
        ) -> None:
            start.wait()
            for i in range(500):
                try:
                    m.put_u32(1, i)
                    m.nlmsg_parse(0, 1)
                except (errors.FreedMessageError, errors.OutOfMemoryError) as exc:
                    out.append(type(exc).__name__)
                    return
            out.append("done")

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        start.wait()
        msg.free()
        for t in threads:
            t.join()
        assert set(results) <= {"FreedMessageError", "OutOfMemoryError", "done"}


# -- misuse, in a subprocess ----------------------------------------------------------------


def message_calls(msg: Any, nest: Any = None) -> dict[str, Callable[[], object]]:
    """One call of every public method and property of a Message."""
    other = Message()
    return {
        "genlmsg_put": lambda: msg.genlmsg_put(0, 0, FAMILY, 0, 0, CMD, 1),
        "nlmsg_put": lambda: msg.nlmsg_put(0, 0, 18, 0, 0),
        "append": lambda: msg.append(b"abcd"),
        "header": lambda: msg.header,
        "genl_header": lambda: msg.genl_header,
        "src": lambda: msg.src,
        "max_size": lambda: msg.max_size,
        "bytes": lambda: bytes(msg),
        "put_u8": lambda: msg.put_u8(1, 1),
        "put_u16": lambda: msg.put_u16(1, 1),
        "put_u32": lambda: msg.put_u32(1, 1),
        "put_u64": lambda: msg.put_u64(1, 1),
        "put_s8": lambda: msg.put_s8(1, 1),
        "put_s16": lambda: msg.put_s16(1, 1),
        "put_s32": lambda: msg.put_s32(1, 1),
        "put_s64": lambda: msg.put_s64(1, 1),
        "put_msecs": lambda: msg.put_msecs(1, 1),
        "put_string": lambda: msg.put_string(1, "x"),
        "put_flag": lambda: msg.put_flag(1),
        "put": lambda: msg.put(1, b"x"),
        "put_nested": lambda: msg.put_nested(1, other),
        "put_nested (into another)": lambda: other.put_nested(1, msg),
        "nest_start": lambda: msg.nest_start(1),
        "nest_end": lambda: msg.nest_end(nest if nest is not None else Nest(msg, None, 1)),
        "nest_cancel": lambda: msg.nest_cancel(nest if nest is not None else Nest(msg, None, 1)),
        "nlmsg_parse": lambda: msg.nlmsg_parse(0, 1),
        "genlmsg_parse": lambda: msg.genlmsg_parse(0, 1),
        "put_uint": lambda: msg.put_uint(1, 1),
        "put_sint": lambda: msg.put_sint(1, 1),
    }


def attr_calls(attr: Attr) -> dict[str, Callable[[], object]]:
    """One call of every public method and property of an Attr."""
    calls: dict[str, Callable[[], object]] = {
        "type": lambda: attr.type,
        "len": lambda: attr.len,
        "data": attr.data,
        "is_nested": attr.is_nested,
        "get_string": attr.get_string,
        "get_flag": attr.get_flag,
        "parse_nested": lambda: attr.parse_nested(1),
        "nested_attrs": attr.nested_attrs,
    }
    for kind in ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "msecs", "uint", "sint"):
        calls[f"get_{kind}"] = getattr(attr, f"get_{kind}")
    return calls


def after_free(name: str) -> str:
    """What a call on a freed message raises: uint/sint say first that libnl lacks them."""
    if not HAS_NLA_UINT and name.endswith(("_uint", "_sint")):
        return "NotSupportedError"
    return "FreedMessageError"


def test_misuse_matrices_cover_the_public_api() -> None:
    msg = Message()
    msg.put_u8(1, 1)
    attr = msg.nlmsg_parse(0, 1)[1]
    assert attr is not None
    public = {name for name in dir(Message) if not name.startswith("_")}
    covered = {name.split(" ")[0] for name in message_calls(msg)} | {"free", "freed"}
    assert public | {"bytes"} == covered
    public = {name for name in dir(Attr) if not name.startswith("_")}
    assert public == set(attr_calls(attr))
    msg.free()


def scenario_after_free() -> None:
    msg = Message()
    genl(msg)
    msg.put(1, bytes(8))
    (attr,) = [a for a in msg.genlmsg_parse(0, 1) if a]
    nest = msg.nest_start(2)
    msg.free()
    got = {name: outcome(call) for name, call in message_calls(msg, nest).items()}
    assert got == {name: after_free(name) for name in got}, got
    got = {name: outcome(call) for name, call in attr_calls(attr).items()}
    assert got == {name: after_free(name) for name in got}, got
    msg.free()


def scenario_wrong_types() -> None:
    wrong: list[object] = [None, "1", 1.5, b"1", True, [1], object()]
    with Message() as msg:
        for name, call in {
            "genlmsg_put port": lambda v: msg.genlmsg_put(v, 0, FAMILY, 0, 0, CMD, 1),
            "genlmsg_put family": lambda v: msg.genlmsg_put(0, 0, v, 0, 0, CMD, 1),
            "genlmsg_put cmd": lambda v: msg.genlmsg_put(0, 0, FAMILY, 0, 0, v, 1),
            "nlmsg_put type": lambda v: msg.nlmsg_put(0, 0, v, 0, 0),
            "append": lambda v: msg.append(v),
            "put_u32 type": lambda v: msg.put_u32(v, 1),
            "put_u32 value": lambda v: msg.put_u32(1, v),
            "put_string": lambda v: msg.put_string(1, v),
            "put": lambda v: msg.put(1, v),
            "put_nested": lambda v: msg.put_nested(1, v),
            "nest_start": lambda v: msg.nest_start(v),
            "nest_end": lambda v: msg.nest_end(v),
            "nlmsg_parse maxtype": lambda v: msg.nlmsg_parse(0, v),
            "genlmsg_parse policy": lambda v: msg.genlmsg_parse(0, 1, v),
        }.items():
            for value in wrong:
                if name in ("append", "put") and isinstance(value, bytes):
                    continue
                if name == "put_string" and isinstance(value, (bytes, str)):
                    continue
                if name == "genlmsg_parse policy" and value is None:
                    continue
                got = outcome(lambda c=call, v=value: c(v))  # type: ignore[misc]
                assert got in ("TypeError", "MessageTooShortError"), (name, value, got)
        for value in (-1, 2**64, 2**32):
            assert outcome(lambda v=value: msg.put_u32(1, v)) == "ValueError"  # type: ignore[misc]
            assert outcome(lambda v=value: msg.put_u8(v, 1)) == "ValueError"  # type: ignore[misc]
            assert outcome(lambda v=value: msg.genlmsg_put(v, 0, 1, 0, 0, 1, 1)) == "ValueError"  # type: ignore[misc]


def scenario_free_races() -> None:
    """Threads putting, parsing and reading attributes while another thread frees."""
    for _ in range(200):
        msg = Message()
        msg.put_u32(1, 1)
        (attr,) = [a for a in msg.nlmsg_parse(0, 1) if a]
        errors_seen: list[str] = []

        def use(m: Message = msg, a: Attr = attr, out: list[str] = errors_seen) -> None:
            for _ in range(50):
                try:
                    m.put_u32(2, 2)
                    a.get_u32()
                    bytes(m)
                except errors.NetlinkError as exc:
                    out.append(type(exc).__name__)
                    return

        threads = [threading.Thread(target=use) for _ in range(3)]
        for t in threads:
            t.start()
        msg.free()
        for t in threads:
            t.join()
        assert set(errors_seen) <= {"FreedMessageError", "OutOfMemoryError"}, errors_seen


SCENARIOS = ["scenario_after_free", "scenario_wrong_types", "scenario_free_races"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_misuse(scenario: str) -> None:
    proc = subprocess.run(
        [sys.executable, __file__, scenario], capture_output=True, text=True, timeout=120
    )
    if proc.returncode < 0:
        pytest.fail(f"{scenario} crashed with signal {-proc.returncode}\n{proc.stderr[-4000:]}")
    assert proc.returncode == 0, f"{scenario} failed:\n{proc.stderr[-4000:]}"


if __name__ == "__main__":
    globals()[sys.argv[1]]()
    sys.exit(0)
