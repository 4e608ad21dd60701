"""Family specs in the kernel's YNL vocabulary, and the one codec they drive.

* :mod:`~libnl_py.spec.model`: :class:`FamilySpec` and its parts, built from a
  YNL document (the kernel's YAML specs, the built-in JSON definitions, or a
  dict made in code).
* :mod:`~libnl_py.spec.loader`: reading spec files and finding a family's
  (:class:`Catalog`: caller's specs, ``LIBNL_PY_SPEC_PATH``, built-ins, the
  system's specs).
* :mod:`~libnl_py.spec.codec`: :class:`Codec`, Python values to attributes and back.
* :mod:`~libnl_py.spec.policy`: the kernel's policies (``CTRL_CMD_GETPOLICY``),
  and specs made from them for families no spec describes.
* :mod:`~libnl_py.spec.registry`: the process-wide lookup, :func:`register`.

It depends only on the wire layer (``attrs``, ``message``, ``errors``); the
generic netlink client and the CLI use it.
"""

from __future__ import annotations

from libnl_py.spec.codec import Codec, EncodeError, Typed
from libnl_py.spec.loader import Catalog, load
from libnl_py.spec.model import AttrSet, AttrSpec, EnumSet, FamilySpec, Operation, SpecError, Struct
from libnl_py.spec.registry import get, register

__all__ = [
    "AttrSet",
    "AttrSpec",
    "Catalog",
    "Codec",
    "EncodeError",
    "EnumSet",
    "FamilySpec",
    "Operation",
    "SpecError",
    "Struct",
    "Typed",
    "get",
    "load",
    "register",
]
