"""Shared by the Python implementations of the benchmark: timing and the JSON line.

Every implementation script is run as ``python bench/py_X.py WORKLOAD ITERATIONS
[WARMUP]`` and prints one line of JSON, the same shape as ``c_libnl``:
``{"workload", "iterations", "seconds", "us_per_op", "check"}``. ``check``
sums what was decoded by the last iteration, so the runner can see that every
implementation decoded the same families, operations and groups.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
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


def check_result(result: Any) -> dict[str, int]:
    """The check of a workload's result: decoded families, or a family id (W3)."""
    if isinstance(result, int):
        return {"families": 1, "ops": 0, "groups": 0, "id_sum": result}
    return check_of(result)


def run(workloads: dict[str, Callable[[int], Any]], check: Callable[[Any], dict[str, int]]) -> None:
    """Parse argv, run the workload ``iterations`` times after a warm-up, print the JSON line.

    ``workloads[name](n)`` runs the work ``n`` times and returns the last result.
    """
    if len(sys.argv) < 3 or sys.argv[1] not in workloads:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(workloads)} ITERATIONS [WARMUP]")
    name = sys.argv[1]
    iterations = int(sys.argv[2])
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else iterations // 10 + 1
    work = workloads[name]
    if warmup:
        work(warmup)
    chunk = max(1, iterations // CHUNKS)
    per_op = []
    seconds = 0.0
    for _ in range(CHUNKS):
        t0 = time.perf_counter()
        last = work(chunk)
        elapsed = time.perf_counter() - t0
        seconds += elapsed
        per_op.append(elapsed / chunk * 1e6)
    print(
        json.dumps(
            {
                "workload": name,
                "iterations": chunk * CHUNKS,
                "seconds": seconds,
                "us_per_op": statistics.median(per_op),
                "check": check(last),
            }
        ),
        flush=True,
    )
