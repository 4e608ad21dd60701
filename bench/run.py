"""Run the libnl-py benchmarks against a C libnl program, socket+struct and pyroute2.

    python3 bench/run.py [--short] [--rounds N] [--json bench/out/results.json] [--no-pyroute2]

Builds bench/c_libnl.c into bench/out/, installs pyroute2 into its own venv
(bench/out/venv-pyroute2; skipped with a note when that fails), then runs each
(workload, round) once per implementation, each as its own process, in the
order C, libnl_py, socket+struct, pyroute2 within a round. Each process
times its iterations in 10 chunks and reports the median chunk's time per
operation; the table shows medians of those over rounds. libnl_py and
socket+struct run under the Python that runs this script, which must be able
to import libnl_py.

W5 (an ethtool dump of many devices), W6 (netdev notifications) and the cold
start run in a network namespace this script makes (`ip netns add`, N veth
pairs) and deletes at the end, whatever happens; every implementation's
process is started in it with `ip netns exec`. The host's interfaces are
never touched. Without root or `ip`, those parts are skipped with a note.

It exits non-zero only when something crashed (a build, an implementation, a
decode that does not run); timings and ratios never fail it. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
C_SOURCE = BENCH / "c_libnl.c"
C_BINARY = OUT / "c_libnl"
PYROUTE2_VENV = OUT / "venv-pyroute2"
COLD_SCRIPT = BENCH / "py_libnl_cold.py"

IMPLS = ("C", "libnl_py", "socket", "pyroute2")
WORKLOADS = (
    "dump_families",
    "getfamily",
    "getfamily_bytes",
    "open_resolve_close",
    "linkinfo_dump",
    "netdev_notify",
)
# W5's per-message figure is derived from its per-dump one (divided by the
# messages C decoded); it is a row of the table, not a process of its own.
PER_MESSAGE = "linkinfo_dump_per_message"
ROWS = (*WORKLOADS[:5], PER_MESSAGE, "netdev_notify")
LABELS = {
    "dump_families": "W1 dump_families",
    "getfamily": "W2 getfamily",
    "getfamily_bytes": "W2 getfamily, pre-encoded",
    "open_resolve_close": "W3 open_resolve_close",
    "linkinfo_dump": "W5 linkinfo dump, per dump",
    PER_MESSAGE: "W5 linkinfo dump, per message",
    "netdev_notify": "W6 netdev notification",
}
# The pre-encoded variant exists only for libnl_py; its ratio is to C's getfamily.
C_WORKLOAD = {"getfamily_bytes": "getfamily"}
ONLY = {
    "getfamily_bytes": ("libnl_py",),
    # pyroute2 ships no netdev family definition.
    "netdev_notify": ("C", "libnl_py", "socket"),
}
NOT_RUN = {("pyroute2", "netdev_notify"): "pyroute2 ships no netdev family definition"}
# Run inside the benchmark's network namespace, with `ip netns exec`.
NETNS_WORKLOADS = ("linkinfo_dump", "netdev_notify")

# Timed iterations per process, chosen for roughly 0.3-0.6 s each on a quiet
# 2-core machine. Fixed, so that every round measures the same amount of work.
ITERATIONS: dict[str, dict[str, int]] = {
    "C": {"dump_families": 5000, "getfamily": 20000, "open_resolve_close": 10000},
    "libnl_py": {
        "dump_families": 300,
        "getfamily": 5000,
        "getfamily_bytes": 5000,
        "open_resolve_close": 2000,
    },
    "socket": {"dump_families": 2000, "getfamily": 10000, "open_resolve_close": 10000},
    "pyroute2": {"dump_families": 60, "getfamily": 1000, "open_resolve_close": 300},
}
# W5 and W6 shrink their size in --short (fewer veth pairs), not their
# iterations: dumps (10 is the fewest: one per chunk) and W6 cycles.
ITERATIONS["C"]["linkinfo_dump"] = 100
ITERATIONS["libnl_py"]["linkinfo_dump"] = 10
ITERATIONS["socket"]["linkinfo_dump"] = 20
ITERATIONS["pyroute2"]["linkinfo_dump"] = 10
for _impl in ("C", "libnl_py", "socket"):
    ITERATIONS[_impl]["netdev_notify"] = 10
SIZED = ("linkinfo_dump", "netdev_notify")
NETNS_PAIRS = 1000  # W5: 2,000 devices to dump
SHORT_NETNS_PAIRS = 50
NOTIFY_PAIRS = 100  # W6: veth pairs created and deleted per cycle (6 notifications each)
SHORT_NOTIFY_PAIRS = 10
COLD_SAMPLES = 15  # fresh processes per implementation
SHORT_COLD_SAMPLES = 5
NETNS_PREFIX = "libnl-py-bench-"
SHORT_DIVISOR = 20
DEFAULT_ROUNDS = 5
SHORT_ROUNDS = 2
MEMORY = {"requests": 100_000, "sockets": 1_000_000}
SHORT_MEMORY = {"requests": 2_000, "sockets": 20_000}
# What libnl-py aims for (printed for information, never a failure).
TARGET_RATIO_TO_C = {"dump_families": 1.3, "getfamily": 1.5, "open_resolve_close": 1.5}
TARGET_SPEEDUP_VS_PYROUTE2 = 50.0


class Crash(Exception):
    """Something that must fail the run: a build or a benchmark process that broke."""


def log(msg: str) -> None:
    print(msg, flush=True)


def build_c() -> str:
    if shutil.which("pkg-config") is None:
        raise Crash("pkg-config not found (apt-get install pkg-config libnl-genl-3-dev)")
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "libnl-genl-3.0"], capture_output=True, text=True
    )
    if flags.returncode != 0:
        raise Crash(f"pkg-config libnl-genl-3.0 failed: {flags.stderr.strip()}")
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-O2", "-pthread", "-o", str(C_BINARY), str(C_SOURCE), *shlex.split(flags.stdout)]
    OUT.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise Crash(f"building the C program failed:\n$ {shlex.join(cmd)}\n{done.stderr}")
    version = subprocess.run(
        ["pkg-config", "--modversion", "libnl-genl-3.0"], capture_output=True, text=True
    ).stdout.strip()
    return version


def pyroute2_python(short: bool) -> tuple[str | None, str]:
    """(python of the pyroute2 venv, pyroute2 version) or (None, why not)."""
    python = PYROUTE2_VENV / "bin" / "python"
    probe = [
        str(python),
        "-c",
        "import pyroute2, importlib.metadata as m; print(m.version('pyroute2'))",
    ]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True)
        if found.returncode == 0:
            return str(python), found.stdout.strip()
    try:
        if not python.exists():
            subprocess.run(
                [sys.executable, "-m", "venv", str(PYROUTE2_VENV)],
                check=True,
                capture_output=True,
                text=True,
                timeout=120,
            )
        pip = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--timeout",
                "10",
                "--retries",
                "1",
                "pyroute2",
            ],
            capture_output=True,
            text=True,
            timeout=30 if short else 300,
        )
    except subprocess.TimeoutExpired as exc:
        return None, f"installing it timed out after {exc.timeout:.0f} s"
    except subprocess.CalledProcessError as exc:
        return None, f"python -m venv failed: {(exc.stderr or '').strip().splitlines()[-1:]}"
    if pip.returncode != 0:
        last = [line for line in pip.stderr.strip().splitlines() if line.strip()][-1:]
        return (
            None,
            f"pip install pyroute2 failed: {last[0] if last else f'exit {pip.returncode}'}",
        )
    found = subprocess.run(probe, capture_output=True, text=True)
    if found.returncode != 0:
        return None, f"import pyroute2 failed after install: {found.stderr.strip()[-200:]}"
    return str(python), found.stdout.strip()


def iterations_for(impl: str, workload: str, divisor: int) -> int:
    n = ITERATIONS[impl][workload]
    return n if workload in SIZED else max(5, n // divisor)


def in_netns(netns: str | None, cmd: list[str]) -> list[str]:
    return cmd if netns is None else ["ip", "netns", "exec", netns, *cmd]


def command(
    impl: str,
    workload: str,
    iterations: int,
    pyroute2: str | None,
    netns: str | None = None,
    notify_pairs: int = NOTIFY_PAIRS,
) -> list[str]:
    warmup = str(max(1, iterations // 10))
    extra = [str(notify_pairs)] if workload == "netdev_notify" else []
    if impl == "C":
        cmd = [str(C_BINARY), workload, str(iterations), warmup, *extra]
    else:
        script = {
            "libnl_py": "py_libnl.py",
            "socket": "py_socket.py",
            "pyroute2": "py_pyroute2.py",
        }[impl]
        python = pyroute2 if impl == "pyroute2" else sys.executable
        assert python is not None
        cmd = [python, str(BENCH / script), workload, str(iterations), warmup, *extra]
    return in_netns(netns if workload in NETNS_WORKLOADS else None, cmd)


# -- the network namespace of W5, W6 and the cold start -----------------------


def netns_unavailable() -> str | None:
    """Why W5/W6 cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (ip netns add)"
    if shutil.which("ip") is None:
        return "iproute2's ip not found"
    return None


def remove_stale_netns() -> list[str]:
    """Delete namespaces left by runs that were killed (their pid is gone)."""
    removed: list[str] = []
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return removed
    for name in names:
        m = re.fullmatch(re.escape(NETNS_PREFIX) + r"(\d+)-[0-9a-f]+", name)
        if m is None or Path(f"/proc/{m.group(1)}").exists():
            continue
        if subprocess.run(["ip", "netns", "delete", name], capture_output=True).returncode == 0:
            removed.append(name)
    return removed


@contextlib.contextmanager
def bench_netns(pairs: int) -> Iterator[str]:
    """A fresh namespace holding ``pairs`` veth pairs, deleted on the way out."""
    name = f"{NETNS_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    done = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if done.returncode != 0:
        raise Crash(f"ip netns add {name} failed: {done.stderr.strip()}")
    try:
        # One ip process and one rtnetlink request per pair: 1,000 pairs in about a second.
        batch = "".join(f"link add w5a{i} type veth peer name w5b{i}\n" for i in range(pairs))
        done = subprocess.run(
            ["ip", "-n", name, "-batch", "-"],
            input=batch,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise Crash(f"creating {pairs} veth pairs in {name} failed: {done.stderr[-500:]}")
        yield name
    finally:
        done = subprocess.run(["ip", "netns", "delete", name], capture_output=True, text=True)
        if done.returncode != 0:
            log(f"warning: ip netns delete {name} failed: {done.stderr.strip()}")


def netns_pairs_of(args: argparse.Namespace) -> int:
    return SHORT_NETNS_PAIRS if args.short else NETNS_PAIRS


def _terminate(signum: int, _frame: object) -> None:
    # Turned into an exception so that the namespace's `finally` runs.
    raise SystemExit(128 + signum)


def run_json(cmd: list[str], timeout: float) -> dict[str, Any]:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Crash(f"timed out after {timeout:.0f} s: {shlex.join(cmd)}") from None
    if done.returncode != 0:
        raise Crash(f"exit {done.returncode}: {shlex.join(cmd)}\n{done.stderr.strip()[-3000:]}")
    try:
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise Crash(f"no JSON line from {shlex.join(cmd)}:\n{done.stdout[-1000:]}") from None
    return result


def fmt_us(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def table(medians: dict[str, dict[str, float]], impls: list[str]) -> list[str]:
    header = [
        "workload",
        "C us/op",
        "libnl_py us/op (x C)",
        "socket+struct us/op (x C)",
        "pyroute2 us/op (x C)",
        "libnl_py vs pyroute2",
    ]
    rows = []
    for workload in ROWS:
        if workload not in medians.get("libnl_py", {}):
            continue
        c = medians["C"].get(C_WORKLOAD.get(workload, workload))
        row = [LABELS[workload], fmt_us(c)]
        for impl in ("libnl_py", "socket", "pyroute2"):
            value = medians.get(impl, {}).get(workload)
            if value is None:
                row.append("-" if impl in impls else "n/a")
            else:
                row.append(f"{fmt_us(value)} ({value / c:.2f}x)" if c else fmt_us(value))
        ours = medians["libnl_py"].get(workload)
        theirs = medians.get("pyroute2", {}).get(C_WORKLOAD.get(workload, workload))
        row.append(f"{theirs / ours:.1f}x faster" if ours and theirs else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
            )
            + " |"
        )

    return [
        line(header),
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
        *[line(r) for r in rows],
    ]


def target_lines(medians: dict[str, dict[str, float]]) -> list[str]:
    out = []
    lib, c, p2, sock = (medians.get(k, {}) for k in ("libnl_py", "C", "pyroute2", "socket"))
    for workload, limit in TARGET_RATIO_TO_C.items():
        if workload in lib and workload in c:
            ratio = lib[workload] / c[workload]
            out.append(
                f"  {workload}: libnl_py {ratio:.2f}x C (target <= {limit}x): "
                f"{'met' if ratio <= limit else 'MISSED'}"
            )
        if workload in lib and workload in p2:
            speedup = p2[workload] / lib[workload]
            out.append(
                f"  {workload}: libnl_py {speedup:.1f}x faster than pyroute2 "
                f"(target >= {TARGET_SPEEDUP_VS_PYROUTE2:.0f}x): "
                f"{'met' if speedup >= TARGET_SPEEDUP_VS_PYROUTE2 else 'MISSED'}"
            )
        if workload in lib and workload in sock:
            faster = lib[workload] < sock[workload]
            out.append(
                f"  {workload}: libnl_py {sock[workload] / lib[workload]:.2f}x the speed of "
                f"socket+struct (target > 1x): {'met' if faster else 'MISSED'}"
            )
    return out


def memory_lines(mem: dict[str, Any]) -> list[str]:
    out = []
    for key, what in (
        ("requests", "getfamily requests on one socket"),
        ("sockets", "Socket() alloc/free (no connect)"),
    ):
        m = mem[key]
        out.append(
            f"W4 memory, libnl_py, {m['count']:,} {what}: RSS {m['rss_growth_mib']:+.2f} MiB "
            f"({m['rss_before_mib']:.1f} -> {m['rss_after_mib']:.1f}), "
            f"fds {m['fds_before']} -> {m['fds_after']}"
        )
    return out


def cold_start_lines(cold: dict[str, dict[str, float]], samples: int) -> list[str]:
    lib, c = cold.get("libnl_py"), cold.get("C")
    out = [f"cold start, medians of {samples} fresh processes each (ms):"]
    if lib:
        out.append(
            f"  libnl_py: import libnl_py.genl {lib['import_ms']:.1f}, GenlSocket() "
            f"{lib['open_ms']:.2f}, first request by name {lib['first_ms']:.2f}, "
            f"second {lib['second_ms']:.3f}"
        )
    if c:
        out.append(
            f"  C: socket + genl_connect {c['open_ms']:.3f}, genl_ctrl_resolve + first request "
            f"{c['first_ms']:.3f}, second {c['second_ms']:.3f}"
        )
    if lib:
        line = f"  first request by name adds {lib['added_ms']:.2f} ms over the second"
        if c:
            line += (
                f" (C: genl_ctrl_resolve + request adds {c['added_ms']:.3f} ms over the request "
                f"alone; {lib['added_ms'] / c['added_ms']:.1f}x)"
                if c["added_ms"] > 0
                else ""
            )
        out.append(line)
    return out


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--short",
        action="store_true",
        help=f"1/{SHORT_DIVISOR} of the iterations, {SHORT_ROUNDS} rounds, small W4, "
        f"{SHORT_NETNS_PAIRS} veth pairs (CI smoke run)",
    )
    parser.add_argument(
        "--rounds", type=int, help=f"rounds (default {DEFAULT_ROUNDS}, --short {SHORT_ROUNDS})"
    )
    parser.add_argument(
        "--json", type=Path, default=OUT / "results.json", help="where to write raw figures"
    )
    parser.add_argument(
        "--no-pyroute2", action="store_true", help="skip pyroute2 (no venv, no install)"
    )
    args = parser.parse_args()
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main() -> int:
    args = parse_args()
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    netns_status = netns_unavailable()
    if netns_status is not None:
        return run_all(args, started, None, netns_status)
    for name in remove_stale_netns():
        log(f"removed the namespace of a run that died: {name}")
    pairs = netns_pairs_of(args)
    try:
        with bench_netns(pairs) as netns:
            return run_all(args, started, netns, f"{netns}, {pairs:,} veth pairs")
    except Crash as exc:  # from making the namespace (deleted again by then)
        log(f"error: {exc}")
        return 1


def run_all(args: argparse.Namespace, started: float, netns: str | None, netns_status: str) -> int:
    """Everything once the namespace is there: build, rounds, W4, cold start, report."""
    rounds = args.rounds or (SHORT_ROUNDS if args.short else DEFAULT_ROUNDS)
    divisor = SHORT_DIVISOR if args.short else 1
    memory = SHORT_MEMORY if args.short else MEMORY
    timeout = 120.0 if args.short else 600.0
    notify_pairs = SHORT_NOTIFY_PAIRS if args.short else NOTIFY_PAIRS
    cold_samples = SHORT_COLD_SAMPLES if args.short else COLD_SAMPLES

    try:
        libnl_version = build_c()
    except Crash as exc:
        log(f"error: {exc}")
        return 1
    # As the benchmark scripts see it: sys.path[0] is their folder, not the current one.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.pop(0); import libnl_py, libnl_py._libnl; "
            "print(libnl_py.__version__)",
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        log(
            f"error: {sys.executable} cannot import libnl_py (install it, or build it in "
            "place with `python build_libnl.py` and set PYTHONPATH to the checkout):\n"
            f"{probe.stderr.strip()[-1500:]}"
        )
        return 1

    impls = ["C", "libnl_py", "socket"]
    pyroute2: str | None = None
    pyroute2_status = "skipped (--no-pyroute2)"
    if not args.no_pyroute2:
        pyroute2, detail = pyroute2_python(args.short)
        if pyroute2 is None:
            pyroute2_status = f"unavailable ({detail})"
        else:
            pyroute2_status = detail
            impls.append("pyroute2")
    setup_seconds = time.monotonic() - started

    log(
        f"libnl-py bench: {'short' if args.short else 'full'} run, {rounds} rounds, "
        f"iterations 1/{divisor} of the table in run.py"
        + (" (W5, W6: a smaller namespace instead)" if args.short else "")
    )
    log(
        f"  python {platform.python_version()} ({sys.executable}), "
        f"libnl_py {probe.stdout.strip()}, "
        f"libnl {libnl_version}, kernel {platform.release()}, {os.cpu_count()} CPUs, "
        f"load {loadavg()}"
    )
    log(f"  pyroute2: {pyroute2_status}")
    if netns is None:
        log(f"  W5, W6: skipped ({netns_status}); cold start in this namespace")
    else:
        log(
            f"  W5, W6, cold start: namespace {netns_status}; W6 creates and deletes "
            f"{notify_pairs} veth pairs per cycle"
        )
    log(f"  setup (namespace, C build, venv check): {setup_seconds:.1f} s")

    runs: list[dict[str, Any]] = []
    crashes: list[str] = []
    for rnd in range(1, rounds + 1):
        t0 = time.monotonic()
        for workload in WORKLOADS:
            if workload in NETNS_WORKLOADS and netns is None:
                continue
            for impl in impls:
                if impl not in ONLY.get(workload, IMPLS) or workload not in ITERATIONS[impl]:
                    continue
                iterations = iterations_for(impl, workload, divisor)
                cmd = command(impl, workload, iterations, pyroute2, netns, notify_pairs)
                try:
                    result = run_json(cmd, timeout)
                except Crash as exc:
                    if impl == "pyroute2":
                        log(
                            f"  round {rnd}: pyroute2 {workload} failed, ignored (optional): "
                            f"{str(exc).splitlines()[0]}"
                        )
                        continue
                    log(f"error: round {rnd}, {impl} {workload}: {exc}")
                    crashes.append(f"{impl} {workload}")
                    continue
                result.update(impl=impl, round=rnd)
                runs.append(result)
        log(f"  round {rnd}/{rounds} done in {time.monotonic() - t0:.1f} s (load {loadavg()})")

    mem: dict[str, Any] | None = None
    t0 = time.monotonic()
    try:
        mem = run_json(
            [
                sys.executable,
                str(BENCH / "py_libnl.py"),
                "memory",
                str(memory["requests"]),
                str(memory["sockets"]),
            ],
            timeout,
        )
    except Crash as exc:
        log(f"error: W4 memory: {exc}")
        crashes.append("libnl_py memory")
    memory_seconds = time.monotonic() - t0

    # Cold start: C and libnl_py alternating, a fresh process per sample.
    t0 = time.monotonic()
    cold_runs: list[dict[str, Any]] = []
    cold_cmds = {
        "C": [str(C_BINARY), "cold_start"],
        "libnl_py": [sys.executable, str(COLD_SCRIPT)],
    }
    for sample in range(1, cold_samples + 1):
        for impl, cmd in cold_cmds.items():
            if f"{impl} cold_start" in crashes:
                continue
            try:
                result = run_json(in_netns(netns, cmd), timeout)
            except Crash as exc:
                log(f"error: cold start, {impl}: {exc}")
                crashes.append(f"{impl} cold_start")
                continue
            added = result["first_ms"] - result["second_ms"]
            result.update(impl=impl, sample=sample, added_ms=added)
            cold_runs.append(result)
    cold: dict[str, dict[str, float]] = {}
    for impl in cold_cmds:
        mine = [r for r in cold_runs if r["impl"] == impl]
        if mine:
            keys = [k for k in mine[0] if k.endswith("_ms")]
            cold[impl] = {k: statistics.median(r[k] for r in mine) for k in keys}
    cold_seconds = time.monotonic() - t0

    samples: dict[str, dict[str, list[float]]] = {}
    for r in runs:
        samples.setdefault(r["impl"], {}).setdefault(r["workload"], []).append(r["us_per_op"])
        if r["workload"] == "linkinfo_dump" and r["check"].get("messages"):
            samples[r["impl"]].setdefault(PER_MESSAGE, []).append(
                r["us_per_op"] / r["check"]["messages"]
            )
    medians = {
        impl: {w: statistics.median(v) for w, v in ws.items()} for impl, ws in samples.items()
    }

    # Every implementation must have decoded what C decoded.
    mismatches = []
    reference = {r["workload"]: r["check"] for r in runs if r["impl"] == "C"}
    for r in runs:
        want = reference.get(C_WORKLOAD.get(r["workload"], r["workload"]))
        if want is not None and r["check"] != want:
            mismatches.append(
                f"{r['impl']} {r['workload']} round {r['round']}: {r['check']} != C {want}"
            )

    log("")
    log(f"medians over {rounds} rounds, us per operation (ratio to C); lower is better")
    if "C" in medians and "libnl_py" in medians:
        for line in table(medians, impls):
            log(line)
    if "linkinfo_dump" in reference:
        log(
            f"W5: one ethtool linkinfo-get dump of {reference['linkinfo_dump']['messages']:,} "
            "devices, every message decoded; per message = per dump / messages"
        )
    if "netdev_notify" in reference:
        log(
            "W6: receiving and decoding one netdev mgmt notification; "
            f"{reference['netdev_notify']['notifications']:,} per cycle of {notify_pairs} "
            "veth pairs created and deleted"
        )
    for (impl, workload), why in NOT_RUN.items():
        if impl in impls and netns is not None:
            log(f"{LABELS[workload]}, {impl}: not run ({why})")
    if mem is not None:
        for line in memory_lines(mem):
            log(line)
    if cold:
        for line in cold_start_lines(cold, cold_samples):
            log(line)
    if "pyroute2" not in impls:
        log(f"pyroute2: {pyroute2_status}")
    if "C" in medians and "libnl_py" in medians:
        log("targets (information only):")
        for line in target_lines(medians):
            log(line)
    for line in mismatches:
        log(f"warning: decoded something else than C: {line}")
    total = time.monotonic() - started
    log(
        f"total {total:.1f} s (setup {setup_seconds:.1f} s, W4 {memory_seconds:.1f} s, "
        f"cold start {cold_seconds:.1f} s); load {loadavg()}"
    )

    report = {
        "mode": "short" if args.short else "full",
        "rounds": rounds,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "libnl_py": probe.stdout.strip(),
        "libnl": libnl_version,
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "pyroute2": pyroute2_status,
        "netns": {
            "status": netns_status,
            "name": netns,
            "veth_pairs": netns_pairs_of(args) if netns is not None else 0,
            "notify_pairs_per_cycle": notify_pairs,
        },
        "iterations": {
            impl: {w: iterations_for(impl, w, divisor) for w in ws}
            for impl, ws in ITERATIONS.items()
        },
        "runs": runs,
        "medians_us_per_op": medians,
        "not_run": {f"{i} {w}": why for (i, w), why in NOT_RUN.items()},
        "memory": mem,
        "cold_start": {"samples": cold_runs, "medians_ms": cold},
        "decode_mismatches": mismatches,
        "crashes": crashes,
        "seconds": {
            "total": total,
            "setup": setup_seconds,
            "memory": memory_seconds,
            "cold_start": cold_seconds,
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    log(f"raw figures: {args.json}")
    if crashes:
        log(f"FAILED: {', '.join(crashes)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
