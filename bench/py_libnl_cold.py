"""libnl_py's cold start, one sample per process, for bench/run.py.

In a fresh interpreter: ``import libnl_py.genl``, ``GenlSocket()``, then the
first request by names (``execute("ethtool", "linkstate-get", {"header":
{"dev-name": "lo"}})`` and ``decode``) and the second, identical one. The
first pays for what the second finds done: resolving the family, loading its
definition, whatever is built on first use. Prints one JSON line with the
times in milliseconds, like ``c_libnl cold_start``.

Nothing is imported before the timed import but ``sys`` and ``time`` (built
in), so that it pays for everything libnl_py needs.
"""

import sys
import time

t0 = time.perf_counter()
import libnl_py.genl  # noqa: E402

t1 = time.perf_counter()
sock = libnl_py.genl.GenlSocket()
t2 = time.perf_counter()
replies = sock.execute("ethtool", "linkstate-get", {"header": {"dev-name": "lo"}})
first = [sock.decode(m) for m in replies]
t3 = time.perf_counter()
replies = sock.execute("ethtool", "linkstate-get", {"header": {"dev-name": "lo"}})
second = [sock.decode(m) for m in replies]
t4 = time.perf_counter()
sock.close()

import json  # noqa: E402

if first != second or len(first) != 1:
    sys.exit(f"the two requests decoded differently: {first!r} != {second!r}")
print(
    json.dumps(
        {
            "workload": "cold_start",
            "import_ms": (t1 - t0) * 1e3,
            "open_ms": (t2 - t1) * 1e3,
            "first_ms": (t3 - t2) * 1e3,
            "second_ms": (t4 - t3) * 1e3,
            "check": {"link": [first[0].get("link", -1), second[0].get("link", -1)]},
        }
    ),
    flush=True,
)
