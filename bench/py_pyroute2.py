"""pyroute2's generic netlink API, for bench/run.py (see benchlib); runs in bench/out/venv-pyroute2.

``GenericNetlinkSocket.bind("nlctrl", ctrlmsg)`` resolves the family and maps
nlctrl's messages to ``ctrlmsg``; requests go through ``nlm_request``, which
consumes the ACK of a plain request. W3 is ``GenericNetlinkSocket()``,
``bind`` (the family lookup), ``close``.
"""

from __future__ import annotations

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
from pyroute2.netlink.generic import GenericNetlinkSocket


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
    sock = shared_socket()
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


if __name__ == "__main__":
    benchlib.run(
        {
            "dump_families": dump_families,
            "getfamily": getfamily,
            "open_resolve_close": open_resolve_close,
        },
        benchlib.check_result,
    )
