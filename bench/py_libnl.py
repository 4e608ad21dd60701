"""libnl_py through its public API, for bench/run.py (see benchlib for the protocol).

Workloads: dump_families (``list_families``), getfamily (``execute`` with an
AttributeEncoder built per request, then ``family_from_message``),
getfamily_bytes (the same with the attributes encoded once, up front),
open_resolve_close (``with GenlSocket() as s: s.resolve_family("nlctrl")``),
linkinfo_dump (W5: ``dump("ethtool", "linkinfo-get", {"header": {}})``, every
reply through ``decode``), netdev_notify (W6: netdev's ``mgmt`` group joined,
``poll_notifications`` drained and every notification through ``decode``).

``python py_libnl.py memory REQUESTS SOCKETS`` is W4: RSS and open fds before
and after REQUESTS getfamily requests on one socket, then SOCKETS
``Socket()``/``free()`` pairs (no connect).

``python py_libnl.py profile WORKLOAD ITERATIONS`` prints a cProfile of the workload.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from typing import Any, Callable

import benchlib

from libnl_py.attrs import AttributeEncoder
from libnl_py.genl import Family, GenlSocket
from libnl_py.genl.family import family_from_message
from libnl_py.socket import Socket

GENL_ID_CTRL = 16
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_NAME = 2


def decoded(family: Family) -> benchlib.Decoded:
    return (
        family.id,
        family.name,
        family.version,
        [(op.id, op.flags) for op in family.operations],
        [(grp.name, grp.id) for grp in family.groups],
    )


def check(result: Any) -> dict[str, int]:
    if isinstance(result, (int, dict)):  # W3's family id, W6's counts
        return benchlib.check_result(result)
    if isinstance(result, list) and result and isinstance(result[0], dict):  # W5
        return benchlib.check_links(result)
    families = result if isinstance(result, list) else [result]
    return benchlib.check_of([decoded(f) for f in families])


_sock: GenlSocket | None = None


def shared_socket() -> GenlSocket:
    global _sock
    if _sock is None:
        _sock = GenlSocket()
    return _sock


def dump_families(n: int) -> list[Family]:
    sock = shared_socket()
    families: list[Family] = []
    for _ in range(n):
        families = sock.list_families()
    return families


def getfamily(n: int) -> Family | None:
    sock = shared_socket()
    family = None
    for _ in range(n):
        enc = AttributeEncoder()
        enc.string(CTRL_ATTR_FAMILY_NAME, "nlctrl")
        replies = sock.execute(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, enc)
        family = family_from_message(replies[0])
    return family


def getfamily_bytes(n: int) -> Family | None:
    sock = shared_socket()
    enc = AttributeEncoder()
    enc.string(CTRL_ATTR_FAMILY_NAME, "nlctrl")
    request = enc.encode()
    family = None
    for _ in range(n):
        replies = sock.execute(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, request)
        family = family_from_message(replies[0])
    return family


def open_resolve_close(n: int) -> int:
    family_id = 0
    for _ in range(n):
        with GenlSocket() as s:
            family_id = s.resolve_family("nlctrl").id
    return family_id


def linkinfo_dump(n: int) -> list[dict[Any, Any]]:
    sock = shared_socket()
    links: list[dict[Any, Any]] = []
    for _ in range(n):
        messages = sock.dump("ethtool", "linkinfo-get", {"header": {}})
        links = [sock.decode(m) for m in messages]
    return links


NOTIFY_RCVBUF = 4 << 20
"""W6's receive buffer, as large as C's (the kernel caps it at net.core.rmem_max)."""

_notify: GenlSocket | None = None


def netdev_notify(n: int) -> benchlib.Timed:
    global _notify
    if _notify is None:
        _notify = GenlSocket(rcvbuf=NOTIFY_RCVBUF)
        _notify.join_group("netdev", "mgmt")
    sock = _notify

    def drain() -> list[tuple[int, dict[Any, Any]]]:
        got: list[tuple[int, dict[Any, Any]]] = []
        while True:
            batch = sock.poll_notifications()
            if not batch:
                return got
            for msg in batch:
                got.append((msg.cmd, sock.decode(msg)))

    return benchlib.notify_cycles(n, drain)


WORKLOADS: dict[str, Callable[[int], Any]] = {
    "dump_families": dump_families,
    "getfamily": getfamily,
    "getfamily_bytes": getfamily_bytes,
    "open_resolve_close": open_resolve_close,
    "linkinfo_dump": linkinfo_dump,
    "netdev_notify": netdev_notify,
}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _measure(count: int, step: Callable[[int], object]) -> dict[str, Any]:
    """RSS and open fds before and after ``step(count)``, garbage collected."""
    gc.collect()
    rss0, fd0 = _rss_bytes(), _fds()
    step(count)
    gc.collect()
    rss1, fd1 = _rss_bytes(), _fds()
    return {
        "count": count,
        "rss_before_mib": rss0 / 2**20,
        "rss_after_mib": rss1 / 2**20,
        "rss_growth_mib": (rss1 - rss0) / 2**20,
        "fds_before": fd0,
        "fds_after": fd1,
    }


def _alloc_free(n: int) -> None:
    for _ in range(n):
        Socket().free()


def memory(requests: int, sockets: int) -> None:
    """W4: growth in RSS and fds over many requests, then many socket alloc/free."""
    getfamily(1000)  # warm caches and allocator pools first
    _alloc_free(1000)
    out: dict[str, Any] = {
        "workload": "memory",
        "requests": _measure(requests, getfamily),
        "sockets": _measure(sockets, _alloc_free),
    }
    print(json.dumps(out), flush=True)


def profile(workload: str, n: int) -> None:
    import cProfile
    import pstats

    work = WORKLOADS[workload]
    work(max(1, n // 10))
    prof = cProfile.Profile()
    prof.runcall(work, n)
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "memory":
        memory(int(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "profile":
        profile(sys.argv[2], int(sys.argv[3]))
    else:
        benchlib.run(WORKLOADS, check)
