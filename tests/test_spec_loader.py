"""libnl_py.spec.loader: load() and Catalog, on files written to tmp_path.

The built-in definitions and the kernel's specs installed by linux-doc
(CI installs linux-doc-6.12) are loaded here too: all of them must load,
and every attribute set of the generic netlink ones must compile.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import in_ci

from libnl_py.spec import Catalog, Codec, FamilySpec, SpecError, load
from libnl_py.spec import loader as loader_module
from libnl_py.spec.loader import BUILTIN_DIR
from libnl_py.spec.model import GENL_PROTOCOLS

DOC_SPECS = "/usr/share/doc/linux-doc-*/Documentation/netlink/specs"

YAML_SPEC = """\
# A comment, then the family.
name: demo
doc: A family for the loader's tests.
attribute-sets:
  -
    name: main
    attributes:
      -
        name: id
        type: u32
      -
        name: label
        type: string
operations:
  list:
    -
      name: get
      attribute-set: main
      do:
        request:
          attributes: [ id ]
"""


def demo_dict(name: str = "demo", marker: str = "") -> dict[str, Any]:
    """The same family as YAML_SPEC, as JSON loads it; ``marker`` tells copies apart."""
    return {
        "name": name,
        "doc": marker,
        "attribute-sets": [
            {
                "name": "main",
                "attributes": [{"name": "id", "type": "u32"}, {"name": "label", "type": "string"}],
            }
        ],
        "operations": {
            "list": [
                {"name": "get", "attribute-set": "main", "do": {"request": {"attributes": ["id"]}}}
            ]
        },
    }


def write_json(path: Path, name: str, marker: str = "") -> Path:
    path.write_text(json.dumps(demo_dict(name, marker)))
    return path


def check_demo(spec: FamilySpec) -> None:
    assert spec.name == "demo"
    assert [(a.name, a.value, a.type) for a in spec.attr_set("main").attributes] == [
        ("id", 1, "u32"),
        ("label", 2, "string"),
    ]
    assert spec.ops["get"].req_value == 1


# -- load() -------------------------------------------------------------------------------


def test_load_yaml(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(YAML_SPEC)
    spec = load(path)
    check_demo(spec)
    assert spec.doc == "A family for the loader's tests."
    assert spec.source == str(path)


def test_load_json(tmp_path: Path) -> None:
    path = write_json(tmp_path / "demo.json", "demo")
    check_demo(load(path))
    assert load(str(path)).source == str(path)


@pytest.mark.parametrize(
    ("suffix", "text"), [(".yaml.gz", YAML_SPEC), (".json.gz", json.dumps(demo_dict()))]
)
def test_load_gzipped(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"demo{suffix}"
    path.write_bytes(gzip.compress(text.encode()))
    check_demo(load(path))


def test_load_with_a_source_name(tmp_path: Path) -> None:
    path = write_json(tmp_path / "demo.json", "demo")
    assert load(path, "built-in").source == "built-in"


def test_load_keeps_the_source_each_caller_gives(tmp_path: Path) -> None:
    path = write_json(tmp_path / "demo.json", "demo")
    assert load(path).source == str(path)
    assert load(path, "built-in").source == "built-in"  # today: str(path)


def test_load_parses_a_file_once_while_it_is_unchanged(tmp_path: Path) -> None:
    path = write_json(tmp_path / "demo.json", "demo", marker="first")
    first = load(path)
    assert load(path) is first
    write_json(path, "demo", marker="second")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load(path).doc == "second"


def test_yaml_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: demo\nattribute-sets: [\n  - oops: [\n")
    with pytest.raises(SpecError, match="not valid YAML") as info:
        load(path)
    assert str(info.value).startswith(f"{path}: ")
    assert info.value.where == str(path)


def test_json_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"name": "demo",')
    with pytest.raises(SpecError, match="cannot read") as info:
        load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(SpecError, match="cannot read") as info:
        load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_a_bad_spec_in_a_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(YAML_SPEC.replace("type: u32", "type: u33"))
    with pytest.raises(
        SpecError, match=r"attribute-sets\[0\]\.attributes\[0\]: unknown attribute type 'u33'"
    ) as info:
        load(path)
    assert str(info.value).startswith(str(path))
    top = tmp_path / "list.yaml"
    top.write_text("- name: demo\n")
    with pytest.raises(SpecError, match="a spec must be a mapping at the top") as info:
        load(top)
    assert str(info.value).startswith(str(top))


# -- Catalog ------------------------------------------------------------------------------


def test_catalog_finds_a_family_by_its_name_not_its_file_name(tmp_path: Path) -> None:
    (tmp_path / "x_y.yaml").write_text(YAML_SPEC.replace("name: demo", "name: x-y", 1))
    catalog = Catalog(search_path=str(tmp_path), builtin=False, system=False)
    spec = catalog.find("x-y")
    assert spec is not None
    assert spec.name == "x-y"
    assert spec.source == str(tmp_path / "x_y.yaml")
    assert catalog.find("x_y") is None
    assert catalog.sources() == {"x-y": str(tmp_path / "x_y.yaml")}


def test_catalog_reads_every_kind_of_file_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(YAML_SPEC.replace("name: demo", "name: fam-a", 1))
    (tmp_path / "b.yml").write_text(YAML_SPEC.replace("name: demo", 'name: "fam-b"', 1))
    write_json(tmp_path / "c.json", "fam-c")
    (tmp_path / "d.yaml.gz").write_bytes(
        gzip.compress(YAML_SPEC.replace("name: demo", "name: fam-d", 1).encode())
    )
    (tmp_path / "e.json.gz").write_bytes(gzip.compress(json.dumps(demo_dict("fam-e")).encode()))
    (tmp_path / "notes.txt").write_text("name: fam-f\n")
    (tmp_path / "sub").mkdir()
    write_json(tmp_path / "sub" / "g.json", "fam-g")
    catalog = Catalog(search_path=str(tmp_path), builtin=False, system=False)
    assert sorted(catalog.sources()) == ["fam-a", "fam-b", "fam-c", "fam-d", "fam-e"]
    for name in ("fam-a", "fam-b", "fam-c", "fam-d", "fam-e"):
        found = catalog.find(name)
        assert found is not None and found.name == name
    assert catalog.find("fam-f") is None
    assert catalog.find("fam-g") is None


def test_catalog_order_given_then_path_then_builtin_then_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, system = (tmp_path / n for n in ("first", "second", "system"))
    for folder in (first, second, system):
        folder.mkdir()
    # The family "nlctrl" in every source, each copy marked; "only-*" in one each.
    write_json(first / "nlctrl.json", "nlctrl", "first")
    write_json(second / "nlctrl.json", "nlctrl", "second")
    write_json(second / "only-second.json", "only-second", "second")
    write_json(system / "nlctrl.json", "nlctrl", "system")
    write_json(system / "only-system.json", "only-system", "system")
    write_json(system / "tcp_metrics.json", "tcp_metrics", "system")
    given = FamilySpec.from_dict(demo_dict("nlctrl", "given"))
    monkeypatch.setattr(loader_module, "system_dirs", lambda: [system])
    monkeypatch.setenv("LIBNL_PY_SPEC_PATH", f"{first}:{second}")

    def marker(catalog: Catalog, name: str) -> str:
        spec = catalog.find(name)
        assert spec is not None, name
        if spec.source == "built-in" or Path(spec.source).parent == BUILTIN_DIR:
            return "built-in"  # either: load() keeps the first caller's source
        return spec.doc

    assert marker(Catalog([given]), "nlctrl") == "given"
    assert marker(Catalog(), "nlctrl") == "first"  # LIBNL_PY_SPEC_PATH, in its order
    assert marker(Catalog(), "only-second") == "second"
    assert marker(Catalog(search_path=""), "nlctrl") == "built-in"  # search_path beats the env
    assert marker(Catalog(search_path=str(second)), "nlctrl") == "second"
    assert marker(Catalog(), "tcp_metrics") == "built-in"  # built-in before the system's
    assert marker(Catalog(builtin=False), "tcp_metrics") == "system"
    assert marker(Catalog(), "only-system") == "system"
    assert Catalog(system=False).find("only-system") is None
    assert Catalog().find("no-such-family") is None

    sources = Catalog([given]).sources()
    assert sources["nlctrl"] == "given"
    assert sources["only-second"] == str(second / "only-second.json")
    assert sources["tcp_metrics"] == "built-in"
    assert sources["only-system"] == str(system / "only-system.json")
    assert sources["netdev"] == "built-in"


def test_catalog_given_paths_are_loaded(tmp_path: Path) -> None:
    path = write_json(tmp_path / "anything.json", "demo", "given-path")
    catalog = Catalog([path], search_path="", builtin=False, system=False)
    found = catalog.find("demo")
    assert found is not None and found.doc == "given-path"
    assert catalog.sources() == {"demo": "given"}


def test_catalog_given_a_bad_path_raises(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        Catalog([tmp_path / "absent.json"])


def test_catalog_sources_name_every_builtin() -> None:
    sources = Catalog(search_path="", system=False).sources()
    assert sources == {p.name.removesuffix(".json"): "built-in" for p in BUILTIN_DIR.glob("*.json")}


# -- the built-in definitions --------------------------------------------------------------------


BUILTINS = sorted(BUILTIN_DIR.glob("*.json"))


def test_there_are_builtin_definitions() -> None:
    assert {p.stem for p in BUILTINS} >= {"nlctrl", "netdev", "ethtool", "tcp_metrics", "mptcp_pm"}


@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: p.stem)
def test_builtin_loads_and_is_named_after_its_file(path: Path) -> None:
    raw = json.loads(path.read_text())
    assert raw["name"] == path.name.removesuffix(".json")
    # As the Catalog loads it: load() keeps the first source it is given (see above),
    # and other tests expect "built-in".
    spec = load(path, "built-in")
    assert spec.name == path.stem
    assert spec.source == "built-in"
    assert spec.protocol in GENL_PROTOCOLS
    codec = Codec(spec)
    for set_name in spec.attribute_sets:
        codec._table(set_name)
    found = Catalog(search_path="", system=False).find(spec.name)
    assert found is not None and found.name == spec.name


# -- the kernel's specs ----------------------------------------------------------------------------


def kernel_spec_files() -> list[str]:
    return sorted(glob.glob(f"{DOC_SPECS}/*.yaml*"))


def require_kernel_specs() -> list[str]:
    files = kernel_spec_files()
    if not files:
        message = f"no kernel YNL specs under {DOC_SPECS} (Debian: apt-get install linux-doc-6.12)"
        if in_ci():
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    return files


def test_every_installed_kernel_spec_loads_and_compiles() -> None:
    files = require_kernel_specs()
    genl = 0
    for path in files:
        spec = load(path)
        assert spec.name, path
        assert spec.source == path
        if spec.protocol not in GENL_PROTOCOLS:
            continue  # netlink-raw: loaded, not used by the generic netlink client
        genl += 1
        codec = Codec(spec)
        for set_name in spec.attribute_sets:
            table = codec._table(set_name)
            # by_value: devlink's dl-dpipe-table lists two attributes twice.
            assert table.keys() == spec.attr_set(set_name).by_value.keys(), (path, set_name)
    assert genl > 0


def test_kernel_specs_are_found_by_name() -> None:
    require_kernel_specs()
    catalog = Catalog(search_path="", builtin=False)
    sources = catalog.sources()
    for name in ("nlctrl", "netdev", "ethtool"):
        assert Path(sources[name]).parent in loader_module.system_dirs(), sources[name]
        found = catalog.find(name)
        assert found is not None and found.name == name
    # The file is rt_addr.yaml.gz; the family is rt-addr.
    if any(p.endswith("/rt_addr.yaml.gz") for p in kernel_spec_files()):
        found = catalog.find("rt-addr")
        assert found is not None and found.protocol == "netlink-raw"


# -- PyYAML only when YAML is read -----------------------------------------------------------------


def test_importing_the_package_does_not_import_yaml() -> None:
    # conftest put the package under test on PYTHONPATH for subprocesses.
    code = (
        "import sys, libnl_py, libnl_py.genl, libnl_py.spec\n"
        "assert 'yaml' not in sys.modules, 'import'\n"
        "from libnl_py.spec import registry\n"
        "assert registry.get('nlctrl').source == 'built-in'\n"
        "registry.sources()\n"
        "assert 'yaml' not in sys.modules, 'built-in lookup'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LIBNL_PY_SPEC_PATH"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
