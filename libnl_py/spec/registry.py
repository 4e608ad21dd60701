"""The process-wide answer to "which spec describes family NAME?", and its codecs.

:func:`get` asks specs registered in code first (:func:`register`), then the
default :class:`~libnl_py.spec.loader.Catalog` (``LIBNL_PY_SPEC_PATH``, the
built-in definitions, the system's specs). A socket made with its own
``specs=`` asks its own catalog before this one.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from libnl_py.spec.codec import Codec
from libnl_py.spec.loader import Catalog
from libnl_py.spec.model import FamilySpec

__all__ = [
    "codec_for",
    "command_names",
    "command_names_cache",
    "default_catalog",
    "get",
    "register",
    "sources",
]

_lock = threading.Lock()
_registered: dict[str, FamilySpec] = {}
_catalog: Catalog | None = None
_codecs: dict[int, tuple[FamilySpec, Codec]] = {}
generation = [0]
"""Bumped by every :func:`register`: lets a caller keep a lookup until the registry changes."""

_CACHE_MAX = 1024
command_names_cache: dict[str, Mapping[int, str]] = {}
"""Family name -> {request id: op name}, filled by :func:`command_names` (read by the C decoder)."""


def default_catalog() -> Catalog:
    """The catalog of the process (made on first use: importing costs nothing)."""
    global _catalog
    catalog = _catalog
    if catalog is None:
        with _lock:
            if _catalog is None:
                _catalog = Catalog()
            catalog = _catalog
    return catalog


def get(name: str) -> FamilySpec | None:
    """The spec of family ``name``: a registered one, else the default catalog's, else None."""
    spec = _registered.get(name)
    if spec is not None:
        return spec
    return default_catalog().find(name)


def register(spec: FamilySpec) -> None:
    """Use ``spec`` for family ``spec.name`` from now on, in this process."""
    if not isinstance(spec, FamilySpec):
        raise TypeError(f"register() needs a FamilySpec, not {type(spec).__name__}")
    with _lock:
        _registered[spec.name] = spec
        command_names_cache[spec.name] = spec.command_names()
        generation[0] += 1


def codec_for(spec: FamilySpec) -> Codec:
    """The codec of ``spec``, compiled once per spec object."""
    found = _codecs.get(id(spec))
    if found is not None and found[0] is spec:
        return found[1]
    codec = Codec(spec)
    with _lock:
        if len(_codecs) >= _CACHE_MAX:
            _codecs.clear()
        _codecs[id(spec)] = (spec, codec)  # the spec is kept alive, so its id stays its own
    return codec


def command_names(name: str) -> Mapping[int, str]:
    """{request id: op name} from family ``name``'s spec, {} without one; cached."""
    spec = get(name)
    found: Mapping[int, str] = spec.command_names() if spec is not None else {}
    with _lock:
        if len(command_names_cache) >= _CACHE_MAX:
            command_names_cache.clear()  # names a peer made up must not pile up
        command_names_cache[name] = found
    return found


def sources() -> dict[str, str]:
    """Family name -> where its spec comes from (``registered``, ``built-in`` or a path)."""
    out = {name: "registered" for name in _registered}
    for name, source in default_catalog().sources().items():
        out.setdefault(name, source)
    return out
