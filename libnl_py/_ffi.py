"""The one gateway to the compiled module ``libnl_py._libnl``.

Every other module gets ``ffi`` and ``lib`` from here. ``lib`` is the compiled
library less the names that the libnl it was built against lacks (see the
``HAS_*`` flags in ``build_libnl.py``), so ``hasattr(lib, "nla_get_uint")``
tells the truth. The module is a binding of libnl plus plain C helpers; the C
that builds Python values is :mod:`libnl_py._codec`'s.
"""

from __future__ import annotations

import types
from typing import Any

from libnl_py._libnl import ffi as _ffi
from libnl_py._libnl import lib as _compiled

# flag -> the names it guards
_CONDITIONAL_NAMES = {
    "HAS_NLE_HOSTUNREACH": ("NLE_HOSTUNREACH",),
    "HAS_NLE_NETDOWN": ("NLE_NETDOWN",),
    "HAS_NLA_UINT": ("nla_get_uint", "nla_put_uint", "nla_get_sint", "nla_put_sint"),
}


def _conditional_library(compiled: Any) -> types.ModuleType:
    missing = {
        name
        for flag, names in _CONDITIONAL_NAMES.items()
        if not getattr(compiled, flag)
        for name in names
    }
    module = types.ModuleType("libnl_py.lib", "libnl-3 and libnl-genl-3, as compiled.")
    for name in dir(compiled):
        if name not in missing:
            setattr(module, name, getattr(compiled, name))
    return module


ffi: Any = _ffi
lib: Any = _conditional_library(_compiled)

LIBNL_VERSION: str = _ffi.string(_compiled.LIBNL_VERSION).decode()
"""Version of the libnl headers the module was compiled against."""

RUNTIME_VERSION: tuple[int, int, int] = (
    int(_compiled.nl_ver_maj),
    int(_compiled.nl_ver_min),
    int(_compiled.nl_ver_mic),
)
"""Version of the libnl shared library loaded at run time."""

if RUNTIME_VERSION[:2] < (_compiled.LIBNL_VER_MAJ, _compiled.LIBNL_VER_MIN):
    raise ImportError(
        f"libnl_py was built against libnl {LIBNL_VERSION} but libnl "
        f"{'.'.join(map(str, RUNTIME_VERSION))} is loaded; rebuild libnl-py"
    )
