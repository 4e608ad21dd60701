"""The built-in definitions (``libnl_py/spec/builtin``) against the kernel.

Two references:

* the running kernel (root): its operations (``CTRL_CMD_GETFAMILY``) and
  attribute policies (``CTRL_CMD_GETPOLICY``) for each built-in family it
  registers;
* the kernel's YNL specs installed by linux-doc (CI installs linux-doc-6.12),
  for the families both describe.

Built-ins are loaded as the Catalog loads them (source ``built-in``).
"""

from __future__ import annotations

import errno
import glob
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import in_ci

from libnl_py import lib
from libnl_py.errors import FailureError, NotFoundError
from libnl_py.genl import GenlSocket
from libnl_py.genl.family import Family
from libnl_py.spec import Catalog, FamilySpec, load
from libnl_py.spec.loader import BUILTIN_DIR
from libnl_py.spec.model import AttrSpec, EnumSet, Struct
from libnl_py.spec.policy import AttrPolicy, FamilyPolicy, spec_type

NAMES = sorted(p.name.removesuffix(".json") for p in BUILTIN_DIR.glob("*.json"))
_CATALOG = Catalog(search_path="", system=False)


def builtin(name: str) -> FamilySpec:
    spec = _CATALOG.find(name)
    assert spec is not None, name
    return spec


# -- against the running kernel ---------------------------------------------------------------

# Ops a built-in defines that a kernel has only with some build option.
KERNEL_OPTIONAL_OPS = {
    ("netdev", "page-pool-stats-get"): "CONFIG_PAGE_POOL_STATS",
}

ADMIN_FLAGS = lib.GENL_ADMIN_PERM | lib.GENL_UNS_ADMIN_PERM


@pytest.fixture
def kernel(root: None) -> Iterator[GenlSocket]:
    with GenlSocket(timeout=5) as sock:
        yield sock


def registered(sock: GenlSocket, name: str) -> Family:
    try:
        return sock.resolve_family(name)
    except NotFoundError:
        pytest.skip(f"this kernel registers no {name} family (module not loaded?)")


def test_the_kernel_registers_the_core_builtin_families(kernel: GenlSocket) -> None:
    # Guards the per-family tests below against skipping everything.
    names = {f.name for f in kernel.list_families()}
    assert {"nlctrl", "netdev", "ethtool"} <= names


@pytest.mark.parametrize("name", NAMES)
def test_kernel_ops_and_spec_requests_are_the_same(kernel: GenlSocket, name: str) -> None:
    family = registered(kernel, name)
    spec = builtin(name)
    kernel_ops = {op.id: op for op in family.operations}
    optional = {
        spec.ops[op].req_value for (fam, op), _option in KERNEL_OPTIONAL_OPS.items() if fam == name
    }
    assert sorted(set(spec.requests) - set(kernel_ops) - optional) == [], "ops the kernel lacks"
    assert sorted(set(kernel_ops) - set(spec.requests)) == [], "kernel ops the spec lacks"
    for op_id, kernel_op in kernel_ops.items():
        op = spec.requests[op_id]
        assert kernel_op.can_do == ("do" in op.modes), op.name
        assert kernel_op.can_dump == ("dump" in op.modes), op.name
        assert kernel_op.flags & ADMIN_FLAGS == op.flags, op.name


@pytest.mark.parametrize("name", NAMES)
def test_kernel_multicast_groups_are_the_spec_groups(kernel: GenlSocket, name: str) -> None:
    family = registered(kernel, name)
    assert sorted(g.name for g in family.groups) == sorted(builtin(name).mcast_groups)


def compatible(attr: AttrSpec, pol: AttrPolicy) -> bool:
    """Whether the kernel's validation of an attribute agrees with the spec's type."""
    kind = spec_type(pol)
    if kind is None or kind == attr.type:
        # Equal types include binary for a struct, a display-hinted or a sub-type
        # array binary (the kernel sees bytes), and string for either kind of string.
        return True
    if pol.kind == "nested-array":
        return attr.type in ("indexed-array", "nest")
    if pol.kind == "nested" and pol.policy is None:
        return attr.type == "nest"  # the kernel checks it is a nest, not what is inside
    return False


def policy_mismatches(spec: FamilySpec, policy: FamilyPolicy) -> list[str]:
    """Every kernel-typed attribute the spec lacks or types otherwise, nests followed."""
    problems: list[str] = []
    seen: set[tuple[int, str]] = set()

    def walk(index: int, set_name: str, path: str) -> None:
        if (index, set_name) in seen:
            return
        seen.add((index, set_name))
        aset = spec.attr_set(set_name)
        for number, pol in sorted(policy.policies.get(index, {}).items()):
            if spec_type(pol) is None:
                continue
            attr = aset.by_value.get(number)
            where = f"{path} {set_name}[{number}]"
            if attr is None:
                problems.append(f"{where}: kernel {pol.kind}, not in the spec")
                continue
            if not compatible(attr, pol):
                problems.append(f"{where} {attr.name}: kernel {pol.kind}, spec {attr.type}")
                continue
            nested = attr.nested_attributes
            if pol.policy is not None and nested and attr.type in ("nest", "indexed-array"):
                walk(pol.policy, nested, f"{path}.{attr.name}")

    ops = policy.ops
    if not ops and 0 in policy.policies:
        # A family with one policy for every op reports only index 0.
        ops = {cmd: {"do": 0} for cmd in spec.requests}
    for cmd, forms in sorted(ops.items()):
        op = spec.requests.get(cmd)
        if op is None or op.attribute_set is None:
            problems.append(f"cmd {cmd}: a policy but no request in the spec")
            continue
        for mode, index in sorted(forms.items()):
            walk(index, op.attribute_set, f"{op.name}/{mode}")
    return problems


@pytest.mark.parametrize("name", NAMES)
def test_kernel_policies_type_attributes_as_the_spec_does(kernel: GenlSocket, name: str) -> None:
    family = registered(kernel, name)
    spec = builtin(name)
    try:
        policy = kernel.get_policy(family)
    except FailureError as exc:
        if exc.errno != errno.ENODATA:
            raise
        # No policy at all: then no op may claim one.
        assert [op.id for op in family.operations if op.flags & lib.GENL_CMD_CAP_HASPOL] == []
        return
    assert policy.policies, "a policy dump without policies"
    assert policy_mismatches(spec, policy) == []


# -- against the kernel's YNL specs (linux-doc) -------------------------------------------------

DOC_FAMILIES = ["nlctrl", "netdev", "ethtool", "tcp_metrics", "mptcp_pm"]
DOC_GLOB = "/usr/share/doc/linux-doc-*/Documentation/netlink/specs"

# Deliberate differences, as reported by the people who wrote the built-ins.
ALLOWED_ATTR_DIFFERENCES = {
    # The 6.12 spec lists mask before pad without values, numbering them 11 and
    # 12; the UAPI (enum netlink_policy_type_attr) has PAD = 11, MASK = 12.
    ("nlctrl", "policy-attrs", "pad"),
    ("nlctrl", "policy-attrs", "mask"),
}
ALLOWED_ENUM_DIFFERENCES = {
    # The 6.12 spec numbers it from 0; the UAPI's STARTED is 1.
    ("ethtool", "module-fw-flash-status"),
    # The 6.12 spec lacks pd-dll-power-type (7 in the UAPI), so it numbers
    # power-not-available and short-detected one lower.
    ("ethtool", "c33-pse-ext-state"),
}


def _doc_version(folder: str) -> tuple[int, ...]:
    match = re.search(r"linux-doc-([0-9.]+)", folder)
    return tuple(int(p) for p in match.group(1).split(".") if p) if match else ()


def doc_spec(name: str) -> FamilySpec:
    """The family's spec from the newest linux-doc installed."""
    for folder in sorted(glob.glob(DOC_GLOB), key=_doc_version, reverse=True):
        for path in sorted(Path(folder).glob(f"{name}.yaml*")):
            return load(path)
    message = f"no linux-doc spec of {name} under {DOC_GLOB} (Debian: linux-doc-6.12)"
    if in_ci():
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


@pytest.mark.parametrize("name", DOC_FAMILIES)
def test_builtin_has_every_attribute_set_of_the_kernel_spec(name: str) -> None:
    doc, spec = doc_spec(name), builtin(name)
    assert sorted(set(doc.attribute_sets) - set(spec.attribute_sets)) == []
    assert doc.msg_id_model == spec.msg_id_model


@pytest.mark.parametrize("name", DOC_FAMILIES)
def test_builtin_attributes_match_the_kernel_spec(name: str) -> None:
    doc, spec = doc_spec(name), builtin(name)
    problems = []
    compared = 0
    for set_name, doc_set in doc.attribute_sets.items():
        ours = spec.attribute_sets.get(set_name)
        if ours is None:
            continue
        for attr in doc_set.attributes:
            mine = ours.by_name.get(attr.name)
            if mine is None or (name, set_name, attr.name) in ALLOWED_ATTR_DIFFERENCES:
                continue
            compared += 1
            theirs = (attr.value, attr.type, attr.nested_attributes)
            found = (mine.value, mine.type, mine.nested_attributes)
            if theirs != found:
                problems.append(f"{set_name}.{attr.name}: kernel {theirs}, built-in {found}")
            same_number = ours.by_value.get(attr.value)
            if same_number is not None and same_number.name != attr.name:
                problems.append(
                    f"{set_name}[{attr.value}]: kernel {attr.name}, built-in {same_number.name}"
                )
    assert problems == []
    assert compared > 0


@pytest.mark.parametrize("name", DOC_FAMILIES)
def test_builtin_operations_match_the_kernel_spec(name: str) -> None:
    doc, spec = doc_spec(name), builtin(name)
    problems = []
    for op in doc.operations:
        mine = spec.ops.get(op.name)
        if mine is None:
            problems.append(f"{op.name}: not in the built-in")
            continue
        theirs = (op.req_value, op.rsp_value, sorted(op.modes))
        found = (mine.req_value, mine.rsp_value, sorted(mine.modes))
        if theirs != found:
            problems.append(f"{op.name}: kernel {theirs}, built-in {found}")
    assert problems == []


@pytest.mark.parametrize("name", DOC_FAMILIES)
def test_builtin_definitions_match_the_kernel_spec(name: str) -> None:
    doc, spec = doc_spec(name), builtin(name)
    problems = []
    for def_name, theirs in doc.definitions.items():
        mine = spec.definitions.get(def_name)
        if isinstance(theirs, EnumSet):
            if (name, def_name) in ALLOWED_ENUM_DIFFERENCES:
                continue
            if not isinstance(mine, EnumSet) or mine.type != theirs.type:
                problems.append(f"{def_name}: kernel {theirs.type}, built-in {mine!r}")
                continue
            # Built-ins follow a newer UAPI: they may add entries, never renumber.
            for entry, value in theirs.entries.items():
                if mine.entries.get(entry) != value:
                    problems.append(
                        f"{def_name}.{entry}: kernel {value}, built-in {mine.entries.get(entry)}"
                    )
        elif isinstance(theirs, Struct) and mine != theirs:
            problems.append(f"struct {def_name}: kernel {theirs}, built-in {mine}")
    assert problems == []


def test_deliberate_differences_follow_the_uapi() -> None:
    # <linux/netlink.h>: NL_POLICY_TYPE_ATTR_BITFIELD32_MASK = 10, PAD = 11, MASK = 12.
    policy_attrs = builtin("nlctrl").attr_set("policy-attrs").by_name
    assert (
        policy_attrs["bitfield32-mask"].value,
        policy_attrs["pad"].value,
        policy_attrs["mask"].value,
    ) == (
        10,
        11,
        12,
    )
    ethtool = builtin("ethtool")
    # <linux/ethtool.h>: ETHTOOL_MODULE_FW_FLASH_STATUS_STARTED = 1, then on.
    assert dict(ethtool.enum("module-fw-flash-status").entries) == {
        "started": 1,
        "in_progress": 2,
        "completed": 3,
        "error": 4,
    }
    pse = ethtool.enum("c33-pse-ext-state").entries
    assert (pse["pd-dll-power-type"], pse["power-not-available"], pse["short-detected"]) == (
        7,
        8,
        9,
    )
