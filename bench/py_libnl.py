"""libnl_py through its public API, for bench/run.py (see benchlib for the protocol).

Workloads: dump_families (``list_families``), getfamily (``execute`` with an
AttributeEncoder built per request, then ``family_from_message``),
getfamily_bytes (the same with the attributes encoded once, up front),
open_resolve_close (``with GenlSocket() as s: s.resolve_family("nlctrl")``),
linkinfo_dump (W5: ``dump("ethtool", "linkinfo-get", {"header": {}},
decode=True)``; where dump() has no ``decode``, every reply through
``decode``), netdev_notify (W6: netdev's ``mgmt`` group joined,
``poll_notifications`` drained and every notification through ``decode``),
aio_getfamily (W7: getfamily on one ``AsyncGenlSocket``, 1,000 at a time in
``asyncio.gather``), threads_shared and threads_own (W8: getfamily from 4
threads on one shared ``GenlSocket``, or on a socket each).

``python py_libnl.py memory REQUESTS SOCKETS DUMP`` is W4: RSS and open fds
before and after REQUESTS getfamily requests on one socket, SOCKETS
``Socket()``/``free()`` pairs (no connect), SOCKETS ``GenlSocket()``/``close()``
cycles (connected), then a dump of DUMP messages from a userspace peer
(``py_libnl.py dump_peer``, its own process) iterated and decoded, with the
peak RSS while it is iterated.

``python py_libnl.py profile WORKLOAD ITERATIONS`` prints a cProfile of the workload.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import os
import subprocess
import sys
from typing import Any, Callable

import benchlib

from libnl_py.attrs import AttributeEncoder
from libnl_py.genl import Family, GenlSocket
from libnl_py.genl.aio import AsyncGenlSocket
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


def decoded_values(values: dict[str, Any]) -> benchlib.Decoded:
    """A family as decode() gives it, for the check: its op flags as numbers again."""
    bit = {
        "admin-perm": 0,
        "cmd-cap-do": 1,
        "cmd-cap-dump": 2,
        "cmd-cap-haspol": 3,
        "uns-admin-perm": 4,
    }
    return (
        values["family-id"],
        values["family-name"],
        values.get("version", 0),
        [(op["id"], sum(1 << bit[f] for f in op.get("flags", ()))) for op in values["ops"]],
        [(grp["name"], grp["id"]) for grp in values.get("mcast-groups", ())],
    )


def check(result: Any) -> dict[str, int]:
    if isinstance(result, dict) and "family-id" in result:  # W2 by names
        return benchlib.check_of([decoded_values(result)])
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
    return getfamily_on(shared_socket(), n)


def getfamily_on(sock: GenlSocket, n: int) -> Family | None:
    family = None
    for _ in range(n):
        enc = AttributeEncoder()
        enc.string(CTRL_ATTR_FAMILY_NAME, "nlctrl")
        replies = sock.execute(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, enc)
        family = family_from_message(replies[0])
    return family


def getfamily_names(n: int) -> dict[str, Any] | None:
    """W2 as a user writes it by names: a mapping in, the reply decoded as it arrives."""
    sock = shared_socket()
    reply = None
    for _ in range(n):
        reply = sock.execute("nlctrl", "getfamily", {"family-name": "nlctrl"}, decode=True)[0]
    return reply


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


# dump(..., decode=True) decodes each reply as it arrives (in C where the
# accelerator is built); an older libnl_py has only dump() then decode().
DUMP_DECODES = "decode" in inspect.signature(GenlSocket.dump).parameters


def linkinfo_dump(n: int) -> list[dict[Any, Any]]:
    sock = shared_socket()
    links: list[dict[Any, Any]] = []
    for _ in range(n):
        if DUMP_DECODES:
            links = sock.dump("ethtool", "linkinfo-get", {"header": {}}, decode=True)
        else:
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


_aio: tuple[asyncio.AbstractEventLoop, AsyncGenlSocket] | None = None


def aio_getfamily(n: int) -> Family | None:
    """W7: ``n`` getfamily requests, CONCURRENT at a time, on one AsyncGenlSocket
    (its default max_in_flight); each decoded as in W2."""
    global _aio
    if _aio is None:
        loop = asyncio.new_event_loop()

        async def make() -> AsyncGenlSocket:
            return AsyncGenlSocket()

        _aio = loop, loop.run_until_complete(make())
    loop, sock = _aio

    async def one() -> Family:
        enc = AttributeEncoder()
        enc.string(CTRL_ATTR_FAMILY_NAME, "nlctrl")
        replies = await sock.execute(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, enc)
        return family_from_message(replies[0])

    async def together(k: int) -> list[Family]:
        return await asyncio.gather(*[one() for _ in range(k)])

    family = None
    done = 0
    while done < n:
        k = min(benchlib.CONCURRENT, n - done)
        family = loop.run_until_complete(together(k))[-1]
        done += k
    return family


_threads: dict[str, benchlib.Threads] = {}


def threads_shared(n: int) -> benchlib.Timed:
    """W8: W2 from THREADS threads on one GenlSocket (it locks for itself)."""
    if "shared" not in _threads:
        sock = GenlSocket()
        _threads["shared"] = benchlib.Threads([lambda k: getfamily_on(sock, k)] * benchlib.THREADS)
    return _threads["shared"](n)


def threads_own(n: int) -> benchlib.Timed:
    """W8: W2 from THREADS threads, each on its own GenlSocket."""
    if "own" not in _threads:
        socks = [GenlSocket() for _ in range(benchlib.THREADS)]
        _threads["own"] = benchlib.Threads(
            [lambda k, s=s: getfamily_on(s, k) for s in socks]  # type: ignore[misc]
        )
    return _threads["own"](n)


WORKLOADS: dict[str, Callable[[int], Any]] = {
    "dump_families": dump_families,
    "getfamily": getfamily,
    "getfamily_bytes": getfamily_bytes,
    "getfamily_names": getfamily_names,
    "open_resolve_close": open_resolve_close,
    "linkinfo_dump": linkinfo_dump,
    "netdev_notify": netdev_notify,
    "aio_getfamily": aio_getfamily,
    "threads_shared": threads_shared,
    "threads_own": threads_own,
}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _peak_reset() -> bool:
    """Reset the kernel's peak RSS of this process (VmHWM), if it lets us."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _measure(count: int, step: Callable[[int], object]) -> dict[str, Any]:
    """RSS and open fds before and after ``step(count)``, garbage collected,
    and the peak RSS during it (when the kernel lets the peak be reset)."""
    gc.collect()
    rss0, fd0 = _rss_bytes(), _fds()
    peak = _peak_reset()
    step(count)
    peak_rss = _peak_bytes() if peak else None
    gc.collect()
    rss1, fd1 = _rss_bytes(), _fds()
    return {
        "count": count,
        "rss_before_mib": rss0 / 2**20,
        "rss_after_mib": rss1 / 2**20,
        "rss_growth_mib": (rss1 - rss0) / 2**20,
        "rss_peak_growth_mib": None if peak_rss is None else (peak_rss - rss0) / 2**20,
        "fds_before": fd0,
        "fds_after": fd1,
    }


def _alloc_free(n: int) -> None:
    for _ in range(n):
        Socket().free()


def _open_close(n: int) -> None:
    for _ in range(n):
        with GenlSocket():
            pass


# The peer's made-up family: messages shaped like W5's linkinfo replies
# (a header nest with an index and a name, five u8), so that a big dump
# costs what a big kernel dump costs per message.
PEER_FAMILY = 0x7F00
PEER_CMD = 1
PEER_DATAGRAM = 16 * 1024  # bytes of messages per datagram, as the kernel fills a dump's


def _peer_attrs(i: int) -> bytes:
    enc = AttributeEncoder()
    with enc.nested(1):
        enc.u32(1, i + 1)
        enc.string(2, f"peer{i}")
    for t in range(2, 7):
        enc.u8(t, i % 7)
    return enc.encode()


def dump_peer(messages: int) -> None:
    """A userspace peer answering every request with a dump of ``messages``
    messages; prints its port, serves until stdin closes."""
    from libnl_py.testing import FakePeer

    attrs = [_peer_attrs(i) for i in range(messages)]
    per_part = max(1, PEER_DATAGRAM // (len(attrs[0]) + 20))
    parts = [attrs[i : i + per_part] for i in range(0, messages, per_part)]

    def answer(peer: FakePeer, req: Any) -> None:
        # attribute 1, if any: a shorter dump of that many messages (the warm-up)
        count = req.message.attrs.u32(1) if req.message.attrs.get(1) is not None else 0
        peer.dump(req, parts if not count else [attrs[:count]])

    with FakePeer(rcvbuf=1 << 20) as peer:
        peer.serve(answer)
        print(peer.port, flush=True)
        sys.stdin.read()
        if peer.errors:
            sys.exit(f"dump_peer: {peer.errors[0]!r}")


def _dump_measure(messages: int) -> dict[str, Any]:
    """W4's dump: RSS while a dump of ``messages`` messages from a userspace
    peer is iterated, every message decoded and dropped. dump() returns a list
    today; the iterator (dump_iter) is used where the socket has one."""
    peer = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "dump_peer", str(messages)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert peer.stdout is not None and peer.stdin is not None
    try:
        port = int(peer.stdout.readline())
        sock = GenlSocket(peer_port=port, timeout=60.0)
        iterate = getattr(sock, "dump_iter", None)
        form = "dump_iter" if iterate is not None else "dump (list)"
        small = AttributeEncoder()
        small.u32(1, 100)
        seen = [0]

        def run(k: int, attrs: Any = None) -> None:
            source = iterate if iterate is not None else sock.dump
            for msg in source(PEER_FAMILY, PEER_CMD, attrs):
                sock.decode(msg)
                seen[0] += 1

        run(1, small)  # a short dump first: codec and caches warm
        seen[0] = 0
        out = _measure(messages, run)
        out["form"] = form
        out["decoded"] = seen[0]
        sock.close()
    finally:
        peer.stdin.close()
        code = peer.wait(30)
    if code:
        sys.exit(f"dump_peer exited {code}")
    return out


def memory(requests: int, sockets: int, dump: int) -> None:
    """W4: growth in RSS and fds over many requests, socket cycles and a big dump."""
    getfamily(1000)  # warm caches and allocator pools first
    _alloc_free(1000)
    _open_close(1000)
    out: dict[str, Any] = {
        "workload": "memory",
        "requests": _measure(requests, getfamily),
        "sockets": _measure(sockets, _alloc_free),
        "genl_sockets": _measure(sockets, _open_close),
        "dump": _dump_measure(dump),
    }
    print(json.dumps(out), flush=True)


def profile(workload: str, n: int) -> None:
    """A cProfile of ``n`` operations after a warm-up, by time spent in each function.

    cProfile sees one thread only: for W8 each worker thread gets its own
    profiler (from the timed call on) and their figures are added up; the
    caller's thread only waits on the barrier. Times are wall time, so a
    thread waiting for the GIL or a lock shows it there.
    """
    import cProfile
    import pstats

    profilers = [cProfile.Profile()]
    timed = [False]
    if workload.startswith("threads_"):
        profilers = []
        plain = benchlib.Threads

        def profiled(worker: Callable[[int], Any]) -> Callable[[int], Any]:
            prof = cProfile.Profile()
            profilers.append(prof)
            return lambda k: prof.runcall(worker, k) if timed[0] else worker(k)

        class ProfiledThreads(plain):  # type: ignore[misc, valid-type]
            def __init__(self, workers: list[Callable[[int], Any]]) -> None:
                super().__init__([profiled(w) for w in workers])

        benchlib.Threads = ProfiledThreads  # type: ignore[misc]
    work = WORKLOADS[workload]
    work(max(1, n // 10))
    timed[0] = True
    if workload.startswith("threads_"):
        work(n)
    else:
        profilers[0].runcall(work, n)
    pstats.Stats(*profilers).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "memory":
        memory(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 3 and sys.argv[1] == "dump_peer":
        dump_peer(int(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "profile":
        profile(sys.argv[2], int(sys.argv[3]))
    else:
        benchlib.run(WORKLOADS, check)
