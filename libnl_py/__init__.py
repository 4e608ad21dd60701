"""libnl-py: Python bindings for libnl-3 and libnl-genl-3.

Layers, lowest first:

* ``libnl_py.ffi`` / ``libnl_py.lib``: the raw cffi objects; calls go to libnl as they are.
* :mod:`libnl_py.bindings`: one small checked wrapper per libnl call.
* :class:`Socket`, :mod:`libnl_py.genl`: the classes people use; for code
  ported from C, libnl's own message path: :class:`Message`,
  :class:`Callbacks`, :class:`Policy` with :meth:`Socket.send_auto` and
  :meth:`Socket.recvmsgs`.
"""

from __future__ import annotations

from libnl_py._ffi import LIBNL_VERSION, RUNTIME_VERSION, ffi, lib
from libnl_py.callbacks import NL_OK, NL_SKIP, NL_STOP, Callbacks
from libnl_py.errors import NetlinkError
from libnl_py.msg import NL_AUTO_PORT, NL_AUTO_SEQ, Message, Policy, PolicyEntry
from libnl_py.socket import Socket

__version__ = "0.1.0"

__all__ = [
    "LIBNL_VERSION",
    "NL_AUTO_PORT",
    "NL_AUTO_SEQ",
    "NL_OK",
    "NL_SKIP",
    "NL_STOP",
    "RUNTIME_VERSION",
    "Callbacks",
    "Message",
    "NetlinkError",
    "Policy",
    "PolicyEntry",
    "Socket",
    "__version__",
    "ffi",
    "lib",
]
