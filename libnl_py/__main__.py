"""``python -m libnl_py``: the ``libnl-py`` command line."""

from __future__ import annotations

import sys

from libnl_py.cli import main

if __name__ == "__main__":
    sys.exit(main())
