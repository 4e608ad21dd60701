"""Definitions of kernel families, by name: ``get("nlctrl")``, ``register(spec)``.

The shipped definitions (``nlctrl``, ``netdev``, ``ethtool``, ``tcp_metrics``)
follow the kernel's UAPI headers and YNL specs; each module is imported the
first time its family is asked for, so importing this package costs nothing.
A definition given to :func:`register` replaces a shipped one of the same name.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping

from libnl_py.genl.spec import FamilySpec

__all__ = ["command_names", "get", "names", "register"]

# Kernel family name -> module (in this package) whose SPEC defines it.
_SHIPPED = {
    "nlctrl": "nlctrl",
    "netdev": "netdev",
    "ethtool": "ethtool",
    "tcp_metrics": "tcp_metrics",
}

_lock = threading.Lock()
_registered: dict[str, FamilySpec] = {}
_loaded: dict[str, FamilySpec] = {}

_CACHE_MAX = 1024
command_names_cache: dict[str, Mapping[int, str]] = {}
"""Family name -> {command id: name}, filled by :func:`command_names` (the C decoder reads it)."""


def _load(name: str) -> FamilySpec | None:
    module_name = _SHIPPED.get(name)
    if module_name is None:
        return None
    spec = _loaded.get(name)
    if spec is None:
        module = importlib.import_module(f"{__name__}.{module_name}")
        found = getattr(module, "SPEC", None)
        if not isinstance(found, FamilySpec):
            raise TypeError(f"{module.__name__}.SPEC is not a FamilySpec")
        spec = _loaded.setdefault(name, found)
    return spec


def get(name: str) -> FamilySpec | None:
    """The definition of family ``name``: a registered one first, else a shipped one, else None."""
    # Lock-free fast path: single dict reads are atomic, and a definition,
    # once registered or loaded, is only ever replaced by register().
    spec = _registered.get(name) or _loaded.get(name)
    if spec is not None or name not in _SHIPPED:
        return spec
    with _lock:
        spec = _registered.get(name)
        if spec is not None:
            return spec
        return _load(name)


def register(spec: FamilySpec) -> None:
    """Use ``spec`` for family ``spec.name`` from now on, replacing any definition of that name."""
    if not isinstance(spec, FamilySpec):
        raise TypeError(f"register() needs a FamilySpec, not {type(spec).__name__}")
    with _lock:
        _registered[spec.name] = spec
        command_names_cache[spec.name] = spec.command_names


def command_names(name: str) -> Mapping[int, str]:
    """{command id: name} from family ``name``'s definition, {} without one; cached."""
    with _lock:  # ordered with register(), so a newer definition is never overwritten
        spec = _registered.get(name) or _load(name)
        found: Mapping[int, str] = spec.command_names if spec is not None else {}
        if len(command_names_cache) >= _CACHE_MAX:
            command_names_cache.clear()  # names a peer made up must not pile up
        command_names_cache[name] = found
    return found


def names() -> list[str]:
    """The names of every family with a definition, shipped or registered, sorted."""
    with _lock:
        return sorted(_SHIPPED.keys() | _registered.keys())
