"""Generic netlink: :class:`GenlSocket`, families, groups; specs are :mod:`libnl_py.spec`."""

from __future__ import annotations

from libnl_py.genl.family import Family, MulticastGroup, Operation, family_from_message
from libnl_py.genl.socket import DEFAULT_TIMEOUT, GenlSocket, OverrunError
from libnl_py.message import ExtAck, GenlMessage
from libnl_py.spec import FamilySpec, Typed

__all__ = [
    "DEFAULT_TIMEOUT",
    "ExtAck",
    "Family",
    "FamilySpec",
    "GenlMessage",
    "GenlSocket",
    "MulticastGroup",
    "Operation",
    "OverrunError",
    "Typed",
    "family_from_message",
]
