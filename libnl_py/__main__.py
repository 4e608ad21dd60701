"""``python -m libnl_py``: the libnl version and a generic netlink socket opened."""

from __future__ import annotations

import sys

from libnl_py import LIBNL_VERSION, RUNTIME_VERSION, NetlinkError, Socket


def main() -> int:
    print(f"libnl headers {LIBNL_VERSION}, library {'.'.join(map(str, RUNTIME_VERSION))}")
    try:
        with Socket() as sock:
            sock.genl_connect()
            print(f"generic netlink socket open: fd {sock.fileno()}, local port {sock.local_port}")
    except NetlinkError as exc:
        print(f"libnl-py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
