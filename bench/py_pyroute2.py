"""pyroute2's generic netlink API, for bench/run.py (see benchlib); runs in bench/out/venv-pyroute2.

``GenericNetlinkSocket.bind("nlctrl", ctrlmsg)`` resolves the family and maps
nlctrl's messages to ``ctrlmsg``; requests go through ``nlm_request``, which
consumes the ACK of a plain request. W3 is ``GenericNetlinkSocket()``,
``bind`` (the family lookup), ``close``.

W5 (linkinfo_dump) binds ``ethtool`` with pyroute2's own
``ethtool_linkinfo_msg`` and dumps with ``nlm_request``; each reply becomes the
same dict by names as libnl_py's ``decode``. W6 is not run: pyroute2 ships no
netdev family definition.

W7 (aio_getfamily) is W2 on one ``AsyncGenericNetlinkSocket`` (pyroute2's
asyncio core), 1,000 ``nlm_request`` at a time in ``asyncio.gather``; W8
(threads_shared, threads_own) is W2 from 4 threads on one
``GenericNetlinkSocket`` (pyroute2 serialises its requests itself) or on one
each.
"""

from __future__ import annotations

import asyncio
from typing import Any

import benchlib
from pyroute2.netlink import (
    CTRL_CMD_GETFAMILY,
    GENL_ID_CTRL,
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    ctrlmsg,
)
from pyroute2.netlink.generic import AsyncGenericNetlinkSocket, GenericNetlinkSocket
from pyroute2.netlink.generic.ethtool import (
    ETHTOOL_GENL_NAME,
    ETHTOOL_GENL_VERSION,
    ETHTOOL_MSG_LINKINFO_GET,
    ethtool_linkinfo_msg,
)


def decode(msg: Any) -> benchlib.Decoded:
    return (
        msg.get_attr("CTRL_ATTR_FAMILY_ID"),
        msg.get_attr("CTRL_ATTR_FAMILY_NAME"),
        msg.get_attr("CTRL_ATTR_VERSION") or 0,
        [
            (op.get_attr("CTRL_ATTR_OP_ID"), op.get_attr("CTRL_ATTR_OP_FLAGS") or 0)
            for op in msg.get_attr("CTRL_ATTR_OPS", [])
        ],
        [
            (grp.get_attr("CTRL_ATTR_MCAST_GRP_NAME"), grp.get_attr("CTRL_ATTR_MCAST_GRP_ID"))
            for grp in msg.get_attr("CTRL_ATTR_MCAST_GROUPS", [])
        ],
    )


_sock: Any = None


def shared_socket() -> Any:
    global _sock
    if _sock is None:
        _sock = GenericNetlinkSocket()
        _sock.bind("nlctrl", ctrlmsg)
    return _sock


def getfamily_msg(name: str | None) -> Any:
    msg = ctrlmsg()
    msg["cmd"] = CTRL_CMD_GETFAMILY
    msg["version"] = 2
    if name is not None:
        msg["attrs"].append(["CTRL_ATTR_FAMILY_NAME", name])
    return msg


def dump_families(n: int) -> list[benchlib.Decoded]:
    sock = shared_socket()
    families: list[benchlib.Decoded] = []
    for _ in range(n):
        replies = sock.nlm_request(getfamily_msg(None), GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP)
        families = [decode(msg) for msg in replies]
    return families


def getfamily(n: int) -> list[benchlib.Decoded]:
    return getfamily_on(shared_socket(), n)


def getfamily_on(sock: Any, n: int) -> list[benchlib.Decoded]:
    families: list[benchlib.Decoded] = []
    for _ in range(n):
        replies = sock.nlm_request(getfamily_msg("nlctrl"), GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK)
        families = [decode(msg) for msg in replies]
    return families


def open_resolve_close(n: int) -> int:
    family_id = 0
    for _ in range(n):
        sock = GenericNetlinkSocket()
        try:
            sock.bind("nlctrl", ctrlmsg)
            family_id = sock.prid
        finally:
            sock.close()
    return family_id


_ethtool: Any = None
# pyroute2's names for the u8 attributes, in benchlib.LINKINFO_U8's order
_LINKINFO_U8 = tuple(
    zip(
        benchlib.LINKINFO_U8,
        (
            "ETHTOOL_A_LINKINFO_PORT",
            "ETHTOOL_A_LINKINFO_PHYADDR",
            "ETHTOOL_A_LINKINFO_TP_MDIX",
            "ETHTOOL_A_LINKINFO_TP_MDIX_CTR",
            "ETHTOOL_A_LINKINFO_TRANSCEIVER",
        ),
    )
)


def decode_linkinfo(msg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    header = msg.get_attr("ETHTOOL_A_LINKINFO_HEADER")
    if header is not None:
        decoded = {}
        index = header.get_attr("ETHTOOL_A_HEADER_DEV_INDEX")
        if index is not None:
            decoded["dev-index"] = index
        name = header.get_attr("ETHTOOL_A_HEADER_DEV_NAME")
        if name is not None:
            decoded["dev-name"] = name
        out["header"] = decoded
    for ours, theirs in _LINKINFO_U8:
        value = msg.get_attr(theirs)
        if value is not None:
            out[ours] = value
    return out


def linkinfo_dump(n: int) -> list[dict[str, Any]]:
    global _ethtool
    if _ethtool is None:
        _ethtool = GenericNetlinkSocket()
        _ethtool.bind(ETHTOOL_GENL_NAME, ethtool_linkinfo_msg)
    sock = _ethtool
    links: list[dict[str, Any]] = []
    for _ in range(n):
        msg = ethtool_linkinfo_msg()
        msg["cmd"] = ETHTOOL_MSG_LINKINFO_GET
        msg["version"] = ETHTOOL_GENL_VERSION
        msg["attrs"].append(("ETHTOOL_A_LINKINFO_HEADER", {"attrs": []}))
        replies = sock.nlm_request(msg, sock.prid, NLM_F_REQUEST | NLM_F_DUMP)
        links = [decode_linkinfo(m) for m in replies]
    return links


_aio: tuple[asyncio.AbstractEventLoop, Any] | None = None


def aio_getfamily(n: int) -> list[benchlib.Decoded]:
    global _aio
    if _aio is None:
        loop = asyncio.new_event_loop()

        async def make() -> Any:
            sock = AsyncGenericNetlinkSocket()
            await sock.bind("nlctrl", ctrlmsg)
            return sock

        _aio = loop, loop.run_until_complete(make())
    loop, sock = _aio

    async def one() -> list[benchlib.Decoded]:
        replies = await sock.nlm_request(
            getfamily_msg("nlctrl"), msg_type=GENL_ID_CTRL, msg_flags=NLM_F_REQUEST | NLM_F_ACK
        )
        return [decode(msg) async for msg in replies]

    async def together(k: int) -> list[list[benchlib.Decoded]]:
        return await asyncio.gather(*[one() for _ in range(k)])

    families: list[benchlib.Decoded] = []
    done = 0
    while done < n:
        k = min(benchlib.CONCURRENT, n - done)
        families = loop.run_until_complete(together(k))[-1]
        done += k
    return families


_threads: dict[str, benchlib.Threads] = {}


def threads_shared(n: int) -> benchlib.Timed:
    if "shared" not in _threads:
        sock = shared_socket()
        _threads["shared"] = benchlib.Threads([lambda k: getfamily_on(sock, k)] * benchlib.THREADS)
    return _threads["shared"](n)


def threads_own(n: int) -> benchlib.Timed:
    if "own" not in _threads:
        socks = []
        for _ in range(benchlib.THREADS):
            sock = GenericNetlinkSocket()
            sock.bind("nlctrl", ctrlmsg)
            socks.append(sock)
        _threads["own"] = benchlib.Threads(
            [lambda k, s=s: getfamily_on(s, k) for s in socks]  # type: ignore[misc]
        )
    return _threads["own"](n)


if __name__ == "__main__":
    benchlib.run(
        {
            "dump_families": dump_families,
            "getfamily": getfamily,
            "open_resolve_close": open_resolve_close,
            "linkinfo_dump": linkinfo_dump,
            "aio_getfamily": aio_getfamily,
            "threads_shared": threads_shared,
            "threads_own": threads_own,
        },
        benchlib.check_result,
    )
