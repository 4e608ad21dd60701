"""nlctrl's queries, made through the engine like any family's: families and policies.

What is asked (:func:`family_query`, :func:`policy_query`), what the answers
mean (:func:`policy_from_replies`, :func:`unknown_family`) and what a socket
remembers of them (:class:`FamilyCache`). The I/O is the caller's: the
synchronous socket waits for the engine, the asyncio one awaits it.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Union

from libnl_py._ffi import lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.bindings import socket as _b
from libnl_py.errors import NotFoundError
from libnl_py.genl.family import Family
from libnl_py.spec.policy import FamilyPolicy, parse_policy_dump

__all__ = [
    "CTRL_ID",
    "GETFAMILY",
    "GETPOLICY",
    "FamilyCache",
    "FamilyRef",
    "family_query",
    "family_request",
    "only_reply",
    "policy_from_replies",
    "policy_query",
    "unknown_family",
]

CTRL_ID = lib.GENL_ID_CTRL
"""nlctrl's family id (fixed)."""
GETFAMILY = lib.CTRL_CMD_GETFAMILY
"""nlctrl's command for one family or, as a dump, all of them."""
GETPOLICY = lib.CTRL_CMD_GETPOLICY
"""nlctrl's command (a dump) for a family's attribute policies."""
CTRL_VERSION = 2
"""The nlctrl version requests are sent with (as libnl's ``genl_ctrl_resolve``)."""

_ID = itemgetter(0)  # Family.id and .name, as C-level callables
_NAME = itemgetter(1)

FamilyRef = Union[str, int, Family]
"""A family: its name, a :class:`~libnl_py.genl.family.Family`, or its numeric id."""


class FamilyCache:
    """What nlctrl said of families, per socket: by name and by id.

    ``by_id`` is the dict the engine reads to know a notification's family
    header; a remembered family replaces whatever had its id before.
    """

    __slots__ = ("_names", "by_id", "by_name", "on_change")

    def __init__(self) -> None:
        self.by_name: dict[str, Family] = {}
        self.by_id: dict[int, Family] = {}
        self.on_change: list[Any] = []  # dicts keyed by family id, emptied of an id renamed
        self._names: dict[int, str] = {}  # the name each id had when remembered

    def remember(self, family: Family) -> Family:
        """Cache one family."""
        self.by_name[family.name] = family
        self.by_id[family.id] = family
        if self._names.get(family.id) != family.name:
            self._names[family.id] = family.name
            for derived in self.on_change:
                derived.pop(family.id, None)  # the id names another family now
        return family

    def remember_all(self, families: list[Family]) -> list[Family]:
        """Cache every family of a dump; returns them.

        In C-level steps (a dump's usual answer: the families known, no id renamed).
        """
        ids = list(map(_ID, families))
        names = list(map(_NAME, families))
        named = dict(zip(ids, names))
        known = self._names
        if not named.items() <= known.items():  # an id new, or naming another family
            renamed = [i for i, name in named.items() if known.get(i) != name]
            known.update(named)
            for derived in self.on_change:
                for family_id in renamed:
                    derived.pop(family_id, None)
        self.by_name.update(zip(names, families))
        self.by_id.update(zip(ids, families))
        return families

    def known(self, family_id: int) -> tuple[int, int, int, str | None]:
        """(id, default version, hdrsize, name if known) of a family given by its id."""
        found = self.by_id.get(family_id)
        if found is not None:
            return family_id, found.version, found.hdrsize, found.name
        if family_id == CTRL_ID:
            return family_id, CTRL_VERSION, 0, "nlctrl"
        return family_id, 1, 0, None

    def name_of(self, family: FamilyRef) -> str | None:
        """The name of ``family``, if this cache (or the fixed nlctrl id) knows it."""
        if isinstance(family, Family):
            return family.name
        if isinstance(family, str):
            return family
        found = self.by_id.get(family)
        if found is not None:
            return found.name
        return "nlctrl" if family == CTRL_ID else None


def family_id(family: object) -> int:
    """A family given by its id, checked (bool is no id)."""
    if type(family) is int and 0 <= family <= _b.U16_MAX:  # the usual
        return family
    if isinstance(family, bool):
        raise TypeError("family must be a name, a Family or an id, not bool")
    return _b.checked_uint(family, "family id", _b.U16_MAX)


def family_or_name(family: object) -> Family | str:
    """``family`` if it is a :class:`Family` or a name (TypeError otherwise)."""
    if isinstance(family, (Family, str)):
        return family
    raise TypeError(f"family must be a name or a Family, not {type(family).__name__}")


_queries: dict[str, bytes] = {}  # family name -> its query, for names asked for before


def family_query(name: str) -> bytes:
    """The attributes of a ``CTRL_CMD_GETFAMILY`` request for family ``name``."""
    query = _queries.get(name) if type(name) is str else None
    if query is None:
        if not isinstance(name, str):
            raise TypeError(f"family name must be a str, not {type(name).__name__}")
        enc = AttributeEncoder()
        enc.string(lib.CTRL_ATTR_FAMILY_NAME, name)
        query = enc.encode()
        if len(_queries) >= 256:
            _queries.clear()
        _queries[name] = query
    return query


def unknown_family(exc: NotFoundError, name: str) -> NotFoundError:
    """The kernel's not-found error, said of the family asked for."""
    exc.function = "resolve_family"
    exc.message = f"no generic netlink family {name!r} ({exc.message})"
    return exc


def only_reply(replies: list[Any], name: str) -> Any:
    """The one reply to a family query (NotFoundError if a peer sent none)."""
    if not replies:
        raise NotFoundError(function="resolve_family", message=f"no reply for family {name!r}")
    return replies[0]


def family_request(attrs: bytes, flags: int) -> tuple[int, int, int, int, bytes, int, str, str]:
    """The engine's request for a family query (``attrs``: :func:`family_query`, or
    ``b""`` with ``NLM_F_DUMP`` for every family): its first eight arguments."""
    return (
        CTRL_ID,
        GETFAMILY,
        flags | lib.NLM_F_REQUEST,
        CTRL_VERSION,
        attrs,
        0,
        "nlctrl",
        "getfamily",
    )


def policy_query(family_id: int, cmd: int | None) -> bytes:
    """The attributes of a ``CTRL_CMD_GETPOLICY`` dump: a family's, or one command's."""
    enc = AttributeEncoder()
    enc.u16(lib.CTRL_ATTR_FAMILY_ID, family_id)
    if cmd is not None:
        enc.u32(lib.CTRL_ATTR_OP, _b.checked_uint(cmd, "cmd", 0xFF))
    return enc.encode()


def policy_from_replies(
    replies: list[Any], family_id: int, resolved: Family | None, cmd: int | None
) -> FamilyPolicy:
    """A ``CTRL_CMD_GETPOLICY`` dump's messages as a :class:`FamilyPolicy`."""
    policy = parse_policy_dump(replies, family_id)
    if resolved is not None and cmd is None:
        _fix_dump_only_op(policy, resolved)
    return policy


def _fix_dump_only_op(policy: FamilyPolicy, family: Family) -> None:
    """Re-key the op that kernels file under op 0.

    Linux (at least up to 6.18) writes a dump-only op's entry in a whole-family
    policy dump under ``doit->cmd``, which is 0 for such an op. When exactly
    one dump-only op of the family has no entry, the op-0 entry is its.
    """
    if 0 not in policy.ops or family.operation(0) is not None:
        return
    missing = [
        op.id
        for op in family.operations
        if op.id not in policy.ops
        and op.can_dump
        and not op.can_do
        and op.flags & lib.GENL_CMD_CAP_HASPOL
    ]
    if len(missing) == 1:
        policy.ops[missing[0]] = policy.ops.pop(0)
