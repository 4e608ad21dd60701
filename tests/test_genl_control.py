"""libnl_py.genl.control's FamilyCache: what a socket remembers of nlctrl's answers."""

from __future__ import annotations

from typing import Any

from libnl_py.genl.control import FamilyCache
from libnl_py.genl.family import Family


def fam(family_id: int, name: str, hdrsize: int = 0) -> Family:
    return Family(id=family_id, name=name, version=1, hdrsize=hdrsize, maxattr=0)


def test_remember_all_caches_by_name_and_id_and_forgets_only_renamed_ids() -> None:
    cache = FamilyCache()
    derived: dict[int, Any] = {}
    cache.on_change.append(derived)
    first = [fam(16, "nlctrl"), fam(20, "ethtool"), fam(21, "netdev")]
    assert cache.remember_all(first) is first
    assert cache.by_id == {16: first[0], 20: first[1], 21: first[2]}
    assert cache.by_name == {"nlctrl": first[0], "ethtool": first[1], "netdev": first[2]}
    # Derived data of every id survives a dump that names them as before ...
    derived.update({16: "a", 20: "b", 21: "c", 99: "d"})
    again = [fam(16, "nlctrl"), fam(20, "ethtool", hdrsize=4), fam(21, "netdev")]
    cache.remember_all(again)
    assert derived == {16: "a", 20: "b", 21: "c", 99: "d"}
    assert cache.by_id[20] is again[1]  # the newest answer is kept
    # ... and loses an id that now names another family, or one new to the cache.
    cache.remember_all([fam(16, "nlctrl"), fam(20, "team"), fam(99, "new")])
    assert derived == {16: "a", 21: "c"}
    assert cache.by_name["team"].id == 20 and cache.by_id[20].name == "team"
    # One family at a time: the same rule.
    derived.update({21: "c", 22: "e"})
    cache.remember(fam(21, "netdev"))
    assert 21 in derived
    cache.remember(fam(22, "thermal"))
    cache.remember(fam(21, "mptcp_pm"))
    assert 21 not in derived and 22 not in derived
    assert cache.remember_all([]) == []


def test_known_and_name_of() -> None:
    cache = FamilyCache()
    cache.remember(fam(20, "ethtool", hdrsize=4))
    assert cache.known(20) == (20, 1, 4, "ethtool")
    assert cache.known(16) == (16, 2, 0, "nlctrl")
    assert cache.known(77) == (77, 1, 0, None)
    assert (cache.name_of(20), cache.name_of(16), cache.name_of(77)) == ("ethtool", "nlctrl", None)
    assert cache.name_of("x") == "x" and cache.name_of(fam(5, "y")) == "y"
