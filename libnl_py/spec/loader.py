"""Reading specs from files, and finding the one for a family.

A family is found by the ``name:`` in its spec (``drm_ras.yaml`` holds
``drm-ras``), in this order:

1. specs given by the caller (``GenlSocket(specs=...)``, the CLI's ``--spec``);
2. the folders in ``LIBNL_PY_SPEC_PATH`` (colon-separated);
3. the built-in definitions shipped in this package (``spec/builtin/*.json``);
4. specs installed on the system: ``/usr/share/ynl/specs``,
   ``/usr/local/share/ynl/specs`` (where the kernel's ynl installs them) and
   Debian's kernel documentation,
   ``/usr/share/doc/linux-doc-*/Documentation/netlink/specs/*.yaml.gz``,
   newest version first.

Files are ``.yaml``, ``.yml`` or ``.json``, each possibly gzipped. PyYAML is
imported only when a YAML file is read (its C loader when it has one). A
parsed spec is cached per process by path and modification time.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from libnl_py.spec.model import FamilySpec, SpecError

__all__ = [
    "BUILTIN_DIR",
    "SYSTEM_DIRS",
    "Catalog",
    "load",
    "spec_files",
    "system_dirs",
]

BUILTIN_DIR = Path(__file__).with_name("builtin")
"""The built-in definitions shipped in the package (``libnl_py/spec/builtin/*.json``)."""
SYSTEM_DIRS = (Path("/usr/share/ynl/specs"), Path("/usr/local/share/ynl/specs"))
"""Where installed YNL specs are looked for (besides Debian's linux-doc packages)."""
_DOC_GLOB = "/usr/share/doc/linux-doc-*/Documentation/netlink/specs"
_SUFFIXES = (".yaml", ".yml", ".json", ".yaml.gz", ".yml.gz", ".json.gz")
_NAME = re.compile(rb"^name:\s*['\"]?([A-Za-z0-9_.-]+)", re.MULTILINE)

_lock = threading.Lock()
_parsed: dict[tuple[str, float, str], FamilySpec] = {}


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data


def _parse(path: Path, data: bytes) -> Any:
    if path.name.removesuffix(".gz").endswith(".json"):
        return json.loads(data)
    import yaml  # type: ignore[import-untyped]  # only here: most processes never read YAML

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(data, Loader=loader)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())  # one line: PyYAML's message spans several
        raise SpecError(str(path), f"not valid YAML: {detail}") from None


def load(path: str | os.PathLike[str], source: str | None = None) -> FamilySpec:
    """The spec in file ``path`` (parsed once per process while the file is unchanged)."""
    path = Path(path)
    try:
        key = (str(path.resolve()), path.stat().st_mtime, source or "")
    except OSError as exc:
        raise SpecError(str(path), f"cannot read: {exc.strerror}") from None
    spec = _parsed.get(key)
    if spec is not None:
        return spec
    try:
        raw = _parse(path, _read(path))
    except (OSError, ValueError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(str(path), f"cannot read: {exc}") from None
    spec = FamilySpec.from_dict(raw, source or str(path))
    with _lock:
        return _parsed.setdefault(key, spec)


def system_dirs() -> list[Path]:
    """The system's spec folders, Debian's kernel docs newest version first."""
    docs = sorted(Path("/").glob(_DOC_GLOB.lstrip("/")), key=_version_key, reverse=True)
    return [*SYSTEM_DIRS, *docs]


def _version_key(path: Path) -> tuple[int, ...]:
    match = re.search(r"linux-doc-([0-9.]+)", str(path))
    return tuple(int(p) for p in match.group(1).split(".") if p) if match else ()


def spec_files(folder: Path) -> Iterator[Path]:
    """The spec files of ``folder`` (not its subfolders), sorted."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(_SUFFIXES) and entry.is_file():
            yield entry


def _name_of(path: Path) -> str | None:
    """The family name a spec file declares, read without parsing the whole file."""
    if path.parent == BUILTIN_DIR:
        return path.name.removesuffix(".json")  # built-ins are named after their family
    try:
        data = _read(path)
    except OSError:
        return None
    if path.name.removesuffix(".gz").endswith(".json"):
        try:
            name = json.loads(data).get("name")
        except (ValueError, AttributeError):
            return None
        return name if isinstance(name, str) else None
    match = _NAME.search(data)
    return match.group(1).decode() if match else None


class Catalog:
    """Where each family's spec comes from, in the search order above.

    ``specs`` are the caller's: paths or :class:`FamilySpec` objects. Folders
    are indexed (file name -> family name) the first time a family is looked
    up, and that index is kept: a file added later is found by a new catalog.
    """

    def __init__(
        self,
        specs: Iterable[str | os.PathLike[str] | FamilySpec] = (),
        *,
        search_path: str | None = None,
        builtin: bool = True,
        system: bool = True,
    ) -> None:
        self._given: dict[str, FamilySpec | Path] = {}
        for item in specs:
            if isinstance(item, FamilySpec):
                self._given[item.name] = item
            else:
                spec = load(item)
                self._given[spec.name] = spec
        env = os.environ.get("LIBNL_PY_SPEC_PATH", "") if search_path is None else search_path
        self._folders: list[tuple[str, Path]] = [("path", Path(p)) for p in env.split(":") if p]
        if builtin:
            self._folders.append(("built-in", BUILTIN_DIR))
        if system:
            self._folders.extend(("system", p) for p in system_dirs())
        self._indexes: list[dict[str, Path] | None] = [None] * len(self._folders)
        self._found: dict[str, FamilySpec | None] = {}
        self._lock = threading.Lock()

    def _folder_index(self, i: int) -> dict[str, Path]:
        """Family name -> file in folder ``i``, read the first time it is asked for."""
        index = self._indexes[i]
        if index is None:
            with self._lock:
                index = self._indexes[i]
                if index is None:
                    index = {}
                    for path in spec_files(self._folders[i][1]):
                        name = _name_of(path)
                        if name is not None:
                            index.setdefault(name, path)
                    self._indexes[i] = index
        return index

    def _locate(self, name: str) -> tuple[str, Path] | None:
        # Folder by folder, so that a family found early never reads the later ones.
        for i, (kind, _folder) in enumerate(self._folders):
            path = self._folder_index(i).get(name)
            if path is not None:
                return kind, path
        return None

    def find(self, name: str) -> FamilySpec | None:
        """The spec of family ``name``, or None if no source has one (answers are kept)."""
        try:
            return self._found[name]
        except KeyError:
            pass
        given = self._given.get(name)
        if isinstance(given, FamilySpec):
            return given
        found = self._locate(name)
        spec = None
        if found is not None:
            kind, path = found
            spec = load(path, "built-in" if kind == "built-in" else None)
        with self._lock:
            if len(self._found) >= 1024:
                self._found.clear()  # names a peer made up must not pile up
            self._found[name] = spec
        return spec

    def sources(self) -> dict[str, str]:
        """Family name -> where its spec comes from (a path, ``built-in`` or ``given``)."""
        out = {name: "given" for name in self._given}
        for i, (kind, _folder) in enumerate(self._folders):
            for name, path in self._folder_index(i).items():
                out.setdefault(name, "built-in" if kind == "built-in" else str(path))
        return out
