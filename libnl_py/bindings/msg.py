"""Wrappers for ``<netlink/msg.h>``, ``<netlink/attr.h>`` and the genl message calls.

Every function takes live pointers (the caller, :class:`libnl_py.msg.Message`,
checks that they are) and checked Python values; it calls libnl and turns a
failure into an exception: a negative return through
:func:`libnl_py.errors.check`, ``NULL`` from a put as libnl's own functions
report a full message (``-NLE_NOMEM``), ``NULL`` from an allocator as
:class:`MemoryError`.
"""

from __future__ import annotations

from typing import Any

from libnl_py._ffi import ffi, lib
from libnl_py.errors import check

NLMSG_HDRLEN = int(lib.NLMSG_HDRLEN)
GENL_HDRLEN = int(lib.GENL_HDRLEN)

INT_KINDS: dict[str, tuple[int, int, int]] = {
    "u8": (1, 0, 0xFF),
    "u16": (2, 0, 0xFFFF),
    "u32": (4, 0, 0xFFFFFFFF),
    "u64": (8, 0, 0xFFFFFFFFFFFFFFFF),
    "s8": (1, -0x80, 0x7F),
    "s16": (2, -0x8000, 0x7FFF),
    "s32": (4, -0x80000000, 0x7FFFFFFF),
    "s64": (8, -0x8000000000000000, 0x7FFFFFFFFFFFFFFF),
    # nla_put_msecs takes an unsigned long and writes it as a u64.
    "msecs": (8, 0, 2 ** (8 * ffi.sizeof("unsigned long")) - 1),
    # libnl 3.11+: the smallest of 4 or 8 bytes that holds the value.
    "uint": (4, 0, 0xFFFFFFFFFFFFFFFF),
    "sint": (4, -0x8000000000000000, 0x7FFFFFFFFFFFFFFF),
}
"""Kind -> (bytes ``nla_get_<kind>`` needs at least, smallest value, largest value)."""

# None for uint/sint without libnl 3.11: the class layer refuses those first.
_PUT: dict[str, Any] = {kind: getattr(lib, f"nla_put_{kind}", None) for kind in INT_KINDS}
_GET: dict[str, Any] = {kind: getattr(lib, f"nla_get_{kind}", None) for kind in INT_KINDS}


def alloc(size: int | None) -> Any:
    """``nlmsg_alloc()`` (``size`` None) or ``nlmsg_alloc_size(size)``, owned by the cdata."""
    msg = lib.nlmsg_alloc() if size is None else lib.nlmsg_alloc_size(size)
    if msg == ffi.NULL:
        raise MemoryError("nlmsg_alloc returned NULL")
    return ffi.gc(msg, lib.nlmsg_free)


def _full(function: str) -> None:
    # What nla_put and nlmsg_append return when the message has no room left.
    check(-lib.NLE_NOMEM, function)


def genlmsg_put(
    msg: Any,
    port: int,
    seq: int,
    family: int,
    hdrlen: int,
    flags: int,
    cmd: int,
    version: int,
    header: bytes | None,
) -> None:
    """``genlmsg_put``; ``header`` (``hdrlen`` bytes) is copied into the family header."""
    user = lib.genlmsg_put(msg, port, seq, family, hdrlen, flags, cmd, version)
    if user == ffi.NULL:
        _full("genlmsg_put")
    if header:
        ffi.memmove(user, header, len(header))


def nlmsg_put(msg: Any, port: int, seq: int, msg_type: int, payload: int, flags: int) -> None:
    """``nlmsg_put``: fill in the netlink header, reserve ``payload`` bytes after it."""
    if lib.nlmsg_put(msg, port, seq, msg_type, payload, flags) == ffi.NULL:
        _full("nlmsg_put")


def append(msg: Any, data: bytes, pad: int) -> None:
    """``nlmsg_append``: ``data`` at the tail, padded to ``pad``."""
    check(lib.nlmsg_append(msg, ffi.from_buffer(data), len(data), pad), "nlmsg_append")


def put_int(msg: Any, kind: str, attrtype: int, value: int) -> None:
    """``nla_put_<kind>(msg, attrtype, value)``; the value is in range (checked by the caller)."""
    put = _PUT[kind]
    check(put(msg, attrtype, value), f"nla_put_{kind}")


def put(msg: Any, attrtype: int, data: bytes) -> None:
    """``nla_put``: an attribute holding ``data`` as it is."""
    check(lib.nla_put(msg, attrtype, len(data), ffi.from_buffer(data)), "nla_put")


def put_string(msg: Any, attrtype: int, value: bytes) -> None:
    """``nla_put_string``: ``value`` (without a NUL) and a NUL."""
    check(lib.nla_put_string(msg, attrtype, value), "nla_put_string")


def put_flag(msg: Any, attrtype: int) -> None:
    """``nla_put_flag``: an attribute without payload."""
    check(lib.nla_put_flag(msg, attrtype), "nla_put_flag")


def put_nested(msg: Any, attrtype: int, nested: Any) -> None:
    """``nla_put_nested``: the attributes of message ``nested`` inside one attribute."""
    check(lib.nla_put_nested(msg, attrtype, nested), "nla_put_nested")


def nest_start(msg: Any, attrtype: int) -> Any:
    """``nla_nest_start``: the nest's ``struct nlattr *`` (inside the message's buffer)."""
    attr = lib.nla_nest_start(msg, attrtype)
    if attr == ffi.NULL:
        _full("nla_nest_start")
    return attr


def nest_end(msg: Any, attr: Any, keep_empty: bool) -> None:
    """``nla_nest_end`` (drops an empty nest) or ``nla_nest_end_keep_empty``."""
    if keep_empty:
        check(lib.nla_nest_end_keep_empty(msg, attr), "nla_nest_end_keep_empty")
    else:
        check(lib.nla_nest_end(msg, attr), "nla_nest_end")


def nest_cancel(msg: Any, attr: Any) -> None:
    """``nla_nest_cancel``: cut the message back to where the nest started."""
    lib.nla_nest_cancel(msg, attr)


def data(msg: Any) -> bytes:
    """The message as it would be sent: ``nlmsg_len`` bytes from ``nlmsg_hdr(msg)``."""
    hdr = lib.nlmsg_hdr(msg)
    raw: bytes = ffi.buffer(hdr, hdr.nlmsg_len)[:]
    return raw


def datalen(msg: Any) -> int:
    """``nlmsg_datalen(nlmsg_hdr(msg))``: the bytes after the netlink header."""
    return int(lib.nlmsg_datalen(lib.nlmsg_hdr(msg)))


def new_table(maxtype: int) -> Any:
    """The ``struct nlattr *tb[maxtype + 1]`` a parse fills."""
    return ffi.new("struct nlattr *[]", maxtype + 1)


def nlmsg_parse(msg: Any, hdrlen: int, tb: Any, maxtype: int, policy: Any) -> None:
    """``nlmsg_parse(nlmsg_hdr(msg), hdrlen, tb, maxtype, policy)``."""
    check(lib.nlmsg_parse(lib.nlmsg_hdr(msg), hdrlen, tb, maxtype, policy), "nlmsg_parse")


def genlmsg_parse(msg: Any, hdrlen: int, tb: Any, maxtype: int, policy: Any) -> None:
    """``genlmsg_parse(nlmsg_hdr(msg), hdrlen, tb, maxtype, policy)``."""
    check(lib.genlmsg_parse(lib.nlmsg_hdr(msg), hdrlen, tb, maxtype, policy), "genlmsg_parse")


def parse_nested(tb: Any, maxtype: int, attr: Any, policy: Any) -> None:
    """``nla_parse_nested(tb, maxtype, attr, policy)``."""
    check(lib.nla_parse_nested(tb, maxtype, attr, policy), "nla_parse_nested")


def nested_attrs(attr: Any) -> list[Any]:
    """The attributes inside ``attr``, as ``nla_for_each_nested`` walks them."""
    found = []
    rem = ffi.new("int *", lib.nla_len(attr))
    pos = ffi.cast("struct nlattr *", lib.nla_data(attr))
    while lib.nla_ok(pos, rem[0]):
        found.append(pos)
        pos = lib.nla_next(pos, rem)
    return found


def get_int(attr: Any, kind: str) -> int:
    """``nla_get_<kind>(attr)``; the caller checked that the payload is long enough."""
    value: int = _GET[kind](attr)
    return value


def payload(attr: Any) -> bytes:
    """A copy of ``nla_data(attr)``, ``nla_len(attr)`` bytes."""
    raw: bytes = ffi.buffer(lib.nla_data(attr), lib.nla_len(attr))[:]
    return raw


def get_string(attr: Any) -> bytes:
    """``nla_get_string``, read no further than the payload: up to the first NUL."""
    raw: bytes = ffi.string(ffi.cast("char *", lib.nla_data(attr)), lib.nla_len(attr))
    return raw


def new_policy(entries: dict[int, tuple[int, int, int]], maxtype: int) -> Any:
    """``struct nla_policy[maxtype + 1]``, zero (``NLA_UNSPEC``) where ``entries`` has no type."""
    policy = ffi.new("struct nla_policy[]", maxtype + 1)
    for attrtype, (kind, minlen, maxlen) in entries.items():
        entry = policy[attrtype]
        entry.type = kind
        entry.minlen = minlen
        entry.maxlen = maxlen
    return policy
