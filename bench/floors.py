"""Floors: what W2, W3 and W8 cost with no libnl-py Python code at all.

Each workload once through libnl-py and once as the bare calls its fast path
makes, from a Python loop: ``lnp_batch_transact`` (the send and every
receive of a request, in C) through cffi; for W3 also ``nl_socket_alloc``,
``lnp_genl_open`` and ``nl_socket_free``. Nothing is decoded on the bare
side, so these are lower bounds for any binding over the same C, and the
difference is what libnl-py's Python layer costs. C libnl's figures for the
same workloads run in the same session, from ``bench/out/c_libnl`` (build it
with ``bench/run.py`` first).

    python3 bench/floors.py [--json bench/out/floors.json]

Best of 5 runs of N operations each, us per operation; not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

from libnl_py import lib
from libnl_py.bindings import genl as _g
from libnl_py.genl import GenlSocket
from libnl_py.genl.control import family_query

HERE = Path(__file__).resolve().parent
C_PROGRAM = HERE / "out" / "c_libnl"
FLAGS = lib.NLM_F_REQUEST | lib.NLM_F_ACK
QUERY = family_query("nlctrl")
THREADS = 4


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


def bare_open_resolve_close(n: int) -> None:
    batch = _g.RecvBatch()
    transact = lib.lnp_batch_transact
    for _ in range(n):
        sk = lib.nl_socket_alloc()
        lib.lnp_genl_open(sk, batch.batch, 0, 1)
        transact(batch.batch, lib.GENL_ID_CTRL, FLAGS, lib.CTRL_CMD_GETFAMILY, 2, QUERY, len(QUERY))
        lib.nl_socket_free(sk)


def libnl_py_open_resolve_close(n: int) -> None:
    for _ in range(n):
        with GenlSocket() as sock:
            sock.resolve_family("nlctrl")


def threaded(make: Callable[[GenlSocket], Callable[[int], None]]) -> Callable[[int], None]:
    """W8 (a socket each): ``n`` requests over THREADS threads."""
    socks = [GenlSocket() for _ in range(THREADS)]
    runs = [make(sock) for sock in socks]
    for run in runs:
        run(10)

    def run(n: int) -> None:
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
    rows: list[tuple[str, str, Callable[[int], object], Callable[[int], object], int]] = [
        ("W2 getfamily", "getfamily", bare_request(sock), libnl_py_request(sock), 100_000),
        (
            "W3 open_resolve_close",
            "open_resolve_close",
            bare_open_resolve_close,
            libnl_py_open_resolve_close,
            30_000,
        ),
        (
            "W8 4 threads, a socket each",
            "threads_own",
            threaded(bare_request),
            threaded(libnl_py_request),
            100_000,
        ),
    ]
    figures: dict[str, Any] = {}
    print(f"{'workload':30} {'C libnl':>8} {'bare (x C)':>14} {'libnl_py (x C)':>16}")
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
