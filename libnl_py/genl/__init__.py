"""Generic netlink: :class:`GenlSocket`, families, groups, family definitions."""

from __future__ import annotations

from libnl_py.genl.family import Family, MulticastGroup, Operation, family_from_message
from libnl_py.genl.socket import DEFAULT_TIMEOUT, GenlSocket, OverrunError
from libnl_py.genl.spec import Attr, AttrSet, Command, Enum, FamilySpec
from libnl_py.message import ExtAck, GenlMessage

__all__ = [
    "DEFAULT_TIMEOUT",
    "Attr",
    "AttrSet",
    "Command",
    "Enum",
    "ExtAck",
    "Family",
    "FamilySpec",
    "GenlMessage",
    "GenlSocket",
    "MulticastGroup",
    "Operation",
    "OverrunError",
    "family_from_message",
]
