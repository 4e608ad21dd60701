"""Shared by the Python implementations of the benchmark: timing and the JSON line.

Every implementation script is run as ``python bench/py_X.py WORKLOAD ITERATIONS
[WARMUP [PAIRS]]`` and prints one line of JSON, the same shape as ``c_libnl``:
``{"workload", "iterations", "seconds", "us_per_op", "check"}``. ``check``
sums what was decoded by the last iteration, so the runner can see that every
implementation decoded the same families, operations and groups (W5: devices,
W6: notifications).

W6 (netdev_notify) also makes and deletes the veth pairs that produce its
notifications (:func:`notify_cycles`); its ITERATIONS are cycles, PAIRS the
veth pairs per cycle, and its JSON line adds ``ops`` (notifications timed).

W7 (aio_getfamily) runs its ITERATIONS requests in ``asyncio.gather`` batches
of :data:`CONCURRENT`; W8 (threads_shared, threads_own) splits them over
:data:`THREADS` threads (:class:`Threads`). Both report time per request.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

CHUNKS = 10
"""The timed part runs in this many equal chunks; ``us_per_op`` is the median
chunk's, so a burst of noise on a shared machine moves no figure (the C program
reports the same statistic)."""

# (id, name, version, [(op id, op flags)], [(group name, group id)])
Decoded = tuple[int, str, int, list[tuple[int, int]], list[tuple[str, int]]]


def check_of(families: list[Decoded]) -> dict[str, int]:
    return {
        "families": len(families),
        "ops": sum(len(f[3]) for f in families),
        "groups": sum(len(f[4]) for f in families),
        "id_sum": sum(f[0] for f in families),
    }


LINKINFO_U8 = ("port", "phyaddr", "tp-mdix", "tp-mdix-ctrl", "transceiver")
"""ethtool linkinfo's u8 attributes, by name; C's check sums the same fields."""


def _linkinfo_enums() -> dict[str, dict[int, str]]:
    """Names of the values of linkinfo's enum fields (port, tp-mdix, transceiver).

    Read from libnl-py's built-in ethtool definition (a file, so that the
    socket+struct and pyroute2 processes need no libnl_py): every Python
    implementation names them, as libnl-py does, and the check maps names back.
    """
    path = Path(__file__).resolve().parent.parent / "libnl_py/spec/builtin/ethtool.json"
    spec = json.loads(path.read_text())
    enums = {
        d["name"]: {e["value"]: e["name"] for e in d["entries"]}
        for d in spec["definitions"]
        if d.get("type") == "enum"
    }
    (linkinfo,) = (s for s in spec["attribute-sets"] if s["name"] == "linkinfo")
    return {a["name"]: enums[a["enum"]] for a in linkinfo["attributes"] if "enum" in a}


LINKINFO_ENUMS = _linkinfo_enums()
_LINKINFO_NUMBERS = {k: {v: n for n, v in names.items()} for k, names in LINKINFO_ENUMS.items()}


def check_links(links: list[dict[Any, Any]]) -> dict[str, int]:
    """W5's check: ethtool linkinfo replies decoded to dicts by names."""
    ifindexes = name_bytes = fields = 0
    for link in links:
        header = link.get("header", {})
        ifindexes += header.get("dev-index", 0)
        name_bytes += len(header.get("dev-name", ""))
        for k in LINKINFO_U8:
            value = link.get(k, 0)
            fields += _LINKINFO_NUMBERS[k][value] if isinstance(value, str) else value
    return {
        "messages": len(links),
        "ifindex_sum": ifindexes,
        "name_bytes": name_bytes,
        "field_sum": fields,
    }


def check_result(result: Any) -> dict[str, int]:
    """The check of a workload's result: decoded families, a family id (W3),
    decoded devices (W5), or a check W6 already made."""
    if isinstance(result, int):
        return {"families": 1, "ops": 0, "groups": 0, "id_sum": result}
    if isinstance(result, dict):
        return result
    if result and isinstance(result[0], dict):
        return check_links(result)
    return check_of(result)


# -- W7 and W8: many requests at once ------------------------------------------

CONCURRENT = 1000
"""W7: requests in flight together, one ``asyncio.gather`` each batch."""

THREADS = 4
"""W8: threads doing W2 at once (c_libnl.c and go_genetlink use the same)."""


class Threads:
    """:data:`THREADS` worker threads that run ``workers[i](n)`` together when called.

    The threads start once and wait on a barrier between calls, so a call
    times only the work (no thread start-up). Calling it with ``n`` requests
    gives each thread ``n // THREADS`` and returns a :class:`Timed` of the
    wall time from releasing the threads to the last one finishing, with
    ``ops`` the requests made; its result is thread 0's last result.
    """

    def __init__(self, workers: list[Callable[[int], Any]]) -> None:
        self.workers = workers
        self.per_thread = 0
        self.results: list[Any] = [None] * len(workers)
        self.errors: list[BaseException] = []
        self.start = threading.Barrier(len(workers) + 1)
        self.done = threading.Barrier(len(workers) + 1)
        for i in range(len(workers)):
            threading.Thread(target=self._loop, args=(i,), daemon=True).start()

    def _loop(self, i: int) -> None:
        while True:
            self.start.wait()
            try:
                self.results[i] = self.workers[i](self.per_thread)
            except BaseException as exc:  # reported by the caller, after the barrier
                self.errors.append(exc)
            self.done.wait()

    def __call__(self, n: int) -> Timed:
        self.per_thread = max(1, n // len(self.workers))
        t0 = time.perf_counter()
        self.start.wait()
        self.done.wait()
        elapsed = time.perf_counter() - t0
        if self.errors:
            raise self.errors[0]
        return Timed(elapsed, self.per_thread * len(self.workers), self.results[0])


# -- W6: notifications made by veth pairs, outside the timed part ---------------

NETDEV_CMDS = {2: "dev-add-ntf", 3: "dev-del-ntf", 4: "dev-change-ntf"}
W6_GROUP = 6
"""The veth pairs' ip link group: ``ip link delete group`` removes them in one
request (W5's devices are in group 0). c_libnl.c uses the same."""

PAIRS = 100
"""veth pairs per W6 cycle (argv[4])."""


@dataclass
class Timed:
    """What a workload returns when only a part of it is timed (W6).

    ``seconds`` are the timed part, ``ops`` the operations in it (notifications).
    """

    seconds: float
    ops: int
    result: Any


def _ip_batch(commands: str) -> None:
    subprocess.run(
        ["ip", "-batch", "-"], input=commands, text=True, check=True, stdout=subprocess.DEVNULL
    )


def add_veth_pairs(pairs: int) -> None:
    pid = os.getpid()
    _ip_batch(
        "".join(
            f"link add w6{pid}a{i} group {W6_GROUP} type veth peer name w6{pid}b{i}\n"
            for i in range(pairs)
        )
    )


def delete_veth_pairs() -> None:
    subprocess.run(["ip", "link", "delete", "group", str(W6_GROUP)], check=True)


Drain = Callable[[], list[tuple[int, dict[Any, Any]]]]


def notify_cycles(n: int, drain: Drain) -> Timed:
    """``n`` W6 cycles: PAIRS veth pairs created, then deleted, by ``ip``
    (untimed); ``drain()`` receives and decodes what each step queued and is
    timed. It returns (cmd, decoded attributes) per notification.
    """
    seconds = 0.0
    ops = 0
    got: list[tuple[int, dict[Any, Any]]] = []
    for _ in range(n):
        add_veth_pairs(PAIRS)
        t0 = time.perf_counter()
        added = drain()
        t1 = time.perf_counter()
        delete_veth_pairs()
        t2 = time.perf_counter()
        deleted = drain()
        t3 = time.perf_counter()
        seconds += (t1 - t0) + (t3 - t2)
        got = added + deleted
        ops += len(got)
    if not ops:
        sys.exit("no notification received")
    check = {"notifications": len(got)}
    for cmd, name in NETDEV_CMDS.items():
        check[name] = sum(1 for c, _ in got if c == cmd)
    check["attrs"] = sum(len(attrs) for _, attrs in got)
    return Timed(seconds, ops, check)


def run(workloads: dict[str, Callable[[int], Any]], check: Callable[[Any], dict[str, int]]) -> None:
    """Parse argv, run the workload ``iterations`` times after a warm-up, print the JSON line.

    ``workloads[name](n)`` runs the work ``n`` times and returns the last result,
    or a :class:`Timed` when only part of it is to be timed.
    """
    global PAIRS
    if len(sys.argv) < 3 or sys.argv[1] not in workloads:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(workloads)} ITERATIONS [WARMUP [PAIRS]]")
    name = sys.argv[1]
    iterations = int(sys.argv[2])
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else iterations // 10 + 1
    if len(sys.argv) > 4:
        PAIRS = int(sys.argv[4])
    work = workloads[name]
    if warmup:
        work(warmup)
    chunk = max(1, iterations // CHUNKS)
    per_op = []
    seconds = 0.0
    ops = 0
    timed = False
    for _ in range(CHUNKS):
        t0 = time.perf_counter()
        last = work(chunk)
        elapsed = time.perf_counter() - t0
        count = chunk
        if isinstance(last, Timed):
            timed = True
            elapsed, count, last = last.seconds, last.ops, last.result
        seconds += elapsed
        ops += count
        per_op.append(elapsed / count * 1e6)
    out: dict[str, Any] = {"workload": name, "iterations": chunk * CHUNKS}
    if timed:
        out["ops"] = ops
    out.update(seconds=seconds, us_per_op=statistics.median(per_op), check=check(last))
    print(json.dumps(out), flush=True)
