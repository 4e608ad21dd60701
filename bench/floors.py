"""Floors: what W1, W2, W3, W7 and W8 cost with no libnl-py Python code at all.

Each workload once through libnl-py and once as the bare calls its fast path
makes, from Python: ``lnp_batch_transact`` (the send and every receive of a
request, in C) through cffi; for W3 also ``nl_socket_alloc``,
``lnp_genl_open`` and ``nl_socket_free``; for W1 also the C decode of the
dump into ``Family`` named tuples (``decode_batch``), the least a decoded
answer costs; for W7 an asyncio task per request, 1,000 at a time in
``gather`` (and an empty task alone); for W8 four threads, on a socket each
or on one behind a ``threading.Lock``. Requests are pre-encoded and replies
left undecoded on both sides (W1 aside), unlike ``run.py``'s W2, W7 and W8,
which build each request with an ``AttributeEncoder`` and decode each reply
into a ``Family``. The rows marked "as run.py" (W2, W7, W8) do that work on
both sides: the encoder, the reply made in C (``messages``) and its
``Family``; the row "with its Family" (W3) decodes the bare side's reply
into its ``Family`` too (libnl-py's W3 always does). Their bare sides have
no engine, no socket object and no check in between: the least those
workloads cost in Python whatever the engine. These are lower bounds for any binding over the same C
under this interpreter; the difference to libnl-py is what its Python layer
costs. C libnl's figures for the same workloads are run in the same session
from ``bench/out/c_libnl`` (build it with ``bench/run.py`` first); W7's is
C's serial W2.

    python3 bench/floors.py [--json bench/out/floors.json]

Best of 5 runs of N operations each, us per operation; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import subprocess
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Callable

from libnl_py import lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.bindings import genl as _g
from libnl_py.genl import GenlSocket
from libnl_py.genl.aio import AsyncGenlSocket
from libnl_py.genl.control import family_query
from libnl_py.genl.family import decode_batch, family_from_message
from libnl_py.message import GenlMessage

HERE = Path(__file__).resolve().parent
C_PROGRAM = HERE / "out" / "c_libnl"
FLAGS = lib.NLM_F_REQUEST | lib.NLM_F_ACK
QUERY = family_query("nlctrl")
THREADS = 4
CONCURRENT = 1000


def best(run: Callable[[int], object], n: int, rounds: int = 5) -> float:
    """The best of ``rounds`` runs of ``run(n)``, in us per operation."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run(n)
        times.append(time.perf_counter() - start)
    return min(times) / n * 1e6


def bare_request(sock: GenlSocket) -> Callable[[int], None]:
    """W2 as one cffi call a request on ``sock``'s batch: nothing made, nothing decoded."""
    batch = sock.engine.batch.batch
    transact = lib.lnp_batch_transact

    def run(n: int) -> None:
        for _ in range(n):
            transact(batch, lib.GENL_ID_CTRL, FLAGS, lib.CTRL_CMD_GETFAMILY, 2, QUERY, len(QUERY))

    return run


def libnl_py_request(sock: GenlSocket) -> Callable[[int], None]:
    def run(n: int) -> None:
        for _ in range(n):
            sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, QUERY)

    return run


def least_request(sock: GenlSocket) -> Callable[[int], None]:
    """W2 as ``run.py`` makes it, with no engine: the request built with an
    AttributeEncoder, the bare call, the reply made in C and decoded into a Family."""
    recv = sock.engine.batch
    batch, transact = recv.batch, lib.lnp_batch_transact

    def run(n: int) -> None:
        for _ in range(n):
            enc = AttributeEncoder()
            enc.string(lib.CTRL_ATTR_FAMILY_NAME, "nlctrl")
            query = enc.encode()
            transact(batch, lib.GENL_ID_CTRL, FLAGS, lib.CTRL_CMD_GETFAMILY, 2, query, len(query))
            replies: list[GenlMessage] = []
            desc = recv.words[: batch.n_desc * _g.DESC_WORDS]
            _g.messages(recv.view, desc, _g.REPLY, GenlMessage, 0, replies, _g.ANY_KIND)
            family_from_message(replies[0])

    return run


def run_py_request(sock: GenlSocket) -> Callable[[int], None]:
    """W2 exactly as ``run.py`` runs it through libnl-py."""

    def run(n: int) -> None:
        for _ in range(n):
            enc = AttributeEncoder()
            enc.string(lib.CTRL_ATTR_FAMILY_NAME, "nlctrl")
            family_from_message(sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, enc)[0])

    return run


def bare_open_resolve_close(n: int, family: bool = False) -> None:
    """W3 with no socket object: the bare calls (``family``: the reply decoded into its
    Family too)."""
    batch = _g.RecvBatch()
    transact = lib.lnp_batch_transact
    for _ in range(n):
        sk = lib.nl_socket_alloc()
        lib.lnp_genl_open(sk, batch.batch, 0, 1)
        transact(batch.batch, lib.GENL_ID_CTRL, FLAGS, lib.CTRL_CMD_GETFAMILY, 2, QUERY, len(QUERY))
        if family:
            decode_batch(batch.view, batch.words[: batch.batch.n_desc * _g.DESC_WORDS], [])
        lib.nl_socket_free(sk)


def libnl_py_open_resolve_close(n: int) -> None:
    for _ in range(n):
        with GenlSocket() as sock:
            sock.resolve_family("nlctrl")


def bare_dump_families(sock: GenlSocket) -> Callable[[int], None]:
    """W1: the dump, and its families decoded in C; nothing cached."""
    engine = sock.engine
    transact = lib.lnp_batch_transact
    dump = lib.NLM_F_REQUEST | lib.NLM_F_DUMP

    def run(n: int) -> None:
        batch = engine.batch
        for _ in range(n):
            result = transact(
                batch.batch, lib.GENL_ID_CTRL, dump, lib.CTRL_CMD_GETFAMILY, 2, b"", 0
            )
            assert result == _g.CLEAN, "the dump did not come back in one clean batch"
            decode_batch(batch.view, batch.words[: batch.batch.n_desc * _g.DESC_WORDS], [])

    return run


def libnl_py_dump_families(sock: GenlSocket) -> Callable[[int], None]:
    def run(n: int) -> None:
        for _ in range(n):
            sock.list_families()

    return run


def in_tasks(body: Callable[[], Awaitable[object]]) -> Callable[[int], None]:
    """W7: ``n`` runs of ``body``, each in a task of its own, CONCURRENT at a time."""
    loop = asyncio.new_event_loop()

    async def together(k: int) -> None:
        await asyncio.gather(*[body() for _ in range(k)])

    def run(n: int) -> None:
        done = 0
        while done < n:
            k = min(CONCURRENT, n - done)
            loop.run_until_complete(together(k))
            done += k

    return run


def aio_rows() -> list[tuple[str, Callable[[int], object]]]:
    sock = GenlSocket()
    batch = sock.engine.batch.batch
    transact = lib.lnp_batch_transact
    loop_sock: list[AsyncGenlSocket] = []

    async def nothing() -> None:
        return None

    async def bare() -> None:
        transact(batch, lib.GENL_ID_CTRL, FLAGS, lib.CTRL_CMD_GETFAMILY, 2, QUERY, len(QUERY))

    async def full() -> None:
        if not loop_sock:
            loop_sock.append(AsyncGenlSocket())
        await loop_sock[0].execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, QUERY)

    least = least_request(sock)

    async def least_in_task() -> None:
        least(1)

    own_sock: list[AsyncGenlSocket] = []  # of this row's loop (in_tasks makes one a row)

    async def as_run_py() -> None:
        if not own_sock:
            own_sock.append(AsyncGenlSocket())
        enc = AttributeEncoder()
        enc.string(lib.CTRL_ATTR_FAMILY_NAME, "nlctrl")
        replies = await own_sock[0].execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, enc)
        family_from_message(replies[0])

    return [
        ("empty task", in_tasks(nothing)),
        ("bare", in_tasks(bare)),
        ("full", in_tasks(full)),
        ("least", in_tasks(least_in_task)),
        ("as run.py", in_tasks(as_run_py)),
    ]


def shared(sock: GenlSocket, bare: bool) -> Callable[[int], None]:
    """W8 on one socket: ``n`` requests over THREADS threads (bare: behind a Lock)."""
    lock = threading.Lock()
    request = bare_request(sock) if bare else libnl_py_request(sock)

    def locked(n: int) -> None:
        for _ in range(n):
            with lock:
                request(1)

    worker = locked if bare else request

    def run(n: int) -> None:
        threads = [threading.Thread(target=worker, args=(n // THREADS,)) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    return run


def threaded(make: Callable[[GenlSocket], Callable[[int], None]]) -> Callable[[int], None]:
    """W8 (a socket each): ``n`` requests over THREADS threads."""
    socks = [GenlSocket() for _ in range(THREADS)]
    runs = [make(sock) for sock in socks]
    for run in runs:
        run(10)

    def run(n: int, _socks: list[GenlSocket] = socks) -> None:  # (the sockets live as long)
        threads = [threading.Thread(target=r, args=(n // THREADS,)) for r in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    return run


def c_figure(workload: str, n: int) -> float | None:
    if not C_PROGRAM.exists():
        return None
    out = subprocess.run(
        [str(C_PROGRAM), workload, str(n)], capture_output=True, text=True, check=True
    )
    figure: float = json.loads(out.stdout)["us_per_op"]
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sock = GenlSocket()
    aio = dict(aio_rows())
    rows: list[tuple[str, str, Callable[[int], object], Callable[[int], object], int]] = [
        (
            "W1 dump_families",
            "dump_families",
            bare_dump_families(sock),
            libnl_py_dump_families(sock),
            10_000,
        ),
        ("W2 getfamily", "getfamily", bare_request(sock), libnl_py_request(sock), 100_000),
        (
            "W2 as run.py: encoder, Family",
            "getfamily",
            least_request(sock),
            run_py_request(sock),
            100_000,
        ),
        (
            "W3 open_resolve_close",
            "open_resolve_close",
            bare_open_resolve_close,
            libnl_py_open_resolve_close,
            30_000,
        ),
        (
            "W3 with its Family",
            "open_resolve_close",
            functools.partial(bare_open_resolve_close, family=True),
            libnl_py_open_resolve_close,
            30_000,
        ),
        ("W7 asyncio, empty tasks", "getfamily", aio["empty task"], aio["empty task"], 20_000),
        ("W7 asyncio getfamily", "getfamily", aio["bare"], aio["full"], 20_000),
        ("W7 as run.py: encoder, Family", "getfamily", aio["least"], aio["as run.py"], 20_000),
        (
            "W8 4 threads, one socket",
            "threads_shared",
            shared(sock, bare=True),
            shared(GenlSocket(), bare=False),
            100_000,
        ),
        (
            "W8 4 threads, a socket each",
            "threads_own",
            threaded(bare_request),
            threaded(libnl_py_request),
            100_000,
        ),
        (
            "W8 a socket each, as run.py",
            "threads_own",
            threaded(least_request),
            threaded(run_py_request),
            100_000,
        ),
    ]
    figures: dict[str, Any] = {}
    print(f"{'workload':30} {'C libnl':>8} {'bare (x C)':>14} {'libnl_py (x C)':>16}")
    print("(W7's C is C's serial W2; its empty-task row is asyncio's cost alone, in both columns)")
    for label, c_name, bare, full, n in rows:
        c = c_figure(c_name, n)
        floor, ours = best(bare, n), best(full, n)

        def ratio(x: float, c: float | None = c) -> str:
            return f"{x:.2f} ({x / c:.2f}x)" if c else f"{x:.2f}"

        print(f"{label:30} {c or float('nan'):8.2f} {ratio(floor):>14} {ratio(ours):>16}")
        figures[label] = {"C": c, "bare": floor, "libnl_py": ours}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
