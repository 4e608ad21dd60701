"""Sphinx extension for libnl-py's docs: what is generated from the code at build time.

* ``nle-table``: every ``NLE_*`` code the errors module knows, its class, the
  builtin a caller can catch it as, its errno and ``nl_geterror``'s text, read
  from :mod:`libnl_py.errors` and the installed libnl.
* ``exception-table``: the exception classes of the public modules that stand
  for no ``NLE_*`` code of their own (timeouts, freed sockets, malformed input,
  spec errors).
* ``reexports``: the names a package (``libnl_py``, ``libnl_py.genl``,
  ``libnl_py.spec``) re-exports, each linked to where it is documented.
* References to a re-exported name (``libnl_py.genl.GenlSocket``) or to a name
  a module imports (``:class:`GenlSocket``` inside ``libnl_py.genl.aio``)
  resolve to where the object is documented, as Python itself would find it.
  References into the standard library are left as plain text: no
  inventory of the Python docs can be fetched offline. So are private names
  and type variables, which are not API and have no entry to link to (the
  type of ``SOCKET_TIMEOUT`` shows in the ``Timeout`` alias). Every other
  missing reference is a warning (CI builds with ``-W -n``).
* After reading, every name in every public module's ``__all__`` must be in
  the API reference; each one missing is a warning.
"""

from __future__ import annotations

import builtins
import dataclasses
import errno as errno_module
import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
import sysconfig
from collections.abc import Iterator
from typing import Any, TypeVar

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

import libnl_py
from libnl_py import errors

logger = logging.getLogger(__name__)

PACKAGE = "libnl_py"


# -- the public modules and their names ------------------------------------------


def public_modules() -> list[str]:
    """Every module of the package whose dotted name has no part starting with ``_``."""
    found = [PACKAGE]
    for info in pkgutil.walk_packages(libnl_py.__path__, PACKAGE + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            found.append(info.name)
    return sorted(found)


def public_names(module_name: str) -> list[str]:
    """A module's ``__all__``; without one, the classes and functions it defines."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == module_name
    ]


def _split(target: str) -> tuple[str, list[str]] | None:
    """(longest importable module prefix, attribute path) of a dotted name in the package."""
    parts = target.split(".")
    if parts[0] != PACKAGE:
        return None
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        return name, parts[cut:]
    return None


def _lookup(target: str) -> Any:
    """The object a dotted name in the package reaches, or None."""
    split = _split(target)
    if split is None:
        return None
    obj: Any = sys.modules[split[0]]
    for part in split[1]:
        obj = getattr(obj, part, None)
    return obj


def candidates(target: str) -> Iterator[str]:
    """Where the object a dotted name reaches may be documented, most likely first.

    ``libnl_py.genl.GenlSocket`` -> ``libnl_py.genl.socket.GenlSocket`` (its
    ``__module__``); data re-exported by a package -> the same name in another
    public module whose ``__all__`` holds the same object.
    """
    split = _split(target)
    if split is None or not split[1]:
        return
    module_name, path = split
    module = sys.modules[module_name]
    head, rest = path[0], path[1:]
    obj = getattr(module, head, None)
    if obj is None:
        return
    tail = "".join("." + part for part in rest)
    home = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if (inspect.isclass(obj) or inspect.isfunction(obj)) and home and qualname:
        yield f"{home}.{qualname}{tail}"
    for other in public_modules():
        if other != module_name:
            owner = sys.modules.get(other) or importlib.import_module(other)
            if head in getattr(owner, "__all__", ()) and getattr(owner, head, None) is obj:
                yield f"{other}.{head}{tail}"


# -- generated tables -------------------------------------------------------------


def _xref(target: str, reftype: str = "class") -> nodes.Node:
    """A Python cross-reference showing the last part of ``target``, as ``~target`` does."""
    shown = target.rpartition(".")[2]
    ref = addnodes.pending_xref(
        "",
        nodes.literal(shown, shown, classes=["xref", "py", f"py-{reftype}"]),
        refdomain="py",
        reftype=reftype,
        reftarget=target,
        refexplicit=False,
        refwarn=True,
    )
    ref["py:module"] = None
    ref["py:class"] = None
    return ref


def _item(item: nodes.Node | str) -> nodes.Node:
    return nodes.Text(item) if isinstance(item, str) else item


def _cell(*content: nodes.Node | str) -> nodes.entry:
    para = nodes.paragraph()
    para.extend(_item(item) for item in content)
    return nodes.entry("", para)


def _table(header: list[str], rows: list[list[nodes.entry]], title: str) -> nodes.table:
    # colwidths-auto: the browser sizes the columns to their content.
    table = nodes.table(classes=["generated", "colwidths-auto"])
    table += nodes.title(title, title)
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    head += nodes.row("", *(_cell(text) for text in header))
    group += head
    body = nodes.tbody()
    for row in rows:
        body += nodes.row("", *row)
    group += body
    return table


def _qualified(cls: type) -> str:
    """Where a public exception class is documented (its __module__ may be a package)."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _builtin_parents(cls: type) -> list[type]:
    """The builtin exceptions ``cls`` derives from beyond what every NetlinkError is."""
    common = set(errors.NetlinkError.__mro__)
    return [
        base
        for base in cls.__mro__
        if base.__module__ == "builtins"
        and base not in common
        and getattr(builtins, base.__name__, None) is base
    ]


def _errno_name(number: int) -> str:
    return errno_module.errorcode.get(number, str(number))


_INLINE = re.compile(r"``(.+?)``|:(?:class|exc|func|meth|data|attr):`~?([^`]+)`")


def _inline(text: str, module: str) -> list[nodes.Node | str]:
    """A docstring's summary line as nodes: ``literals`` and :class:`refs`, the rest text.

    Short names in references are looked up from ``module``, as in its docstrings.
    """
    out: list[nodes.Node | str] = []
    pos = 0
    for match in _INLINE.finditer(text):
        out.append(text[pos : match.start()])
        if match.group(1) is not None:
            out.append(_literal(match.group(1)))
        else:
            ref = _xref(match.group(2), "obj")
            ref["py:module"] = module
            out.append(ref)
        pos = match.end()
    out.append(text[pos:])
    return [item for item in out if item != ""]


def _literal(text: str) -> nodes.literal:
    return nodes.literal(text, text)


def _coded_classes() -> list[type[errors.NetlinkError]]:
    """The classes that stand for one NLE code each, by code.

    A class sets its own ``code`` and is the one :func:`~libnl_py.errors.from_code`
    gives for it, or the installed libnl lacks that code (35 and 36 before 3.11).
    Subclasses that reuse a code (``NetlinkTimeoutError`` is ``NLE_AGAIN``) are not.
    """
    found = []
    for name in errors.__all__:
        obj = getattr(errors, name)
        if (
            inspect.isclass(obj)
            and issubclass(obj, errors.NetlinkError)
            and obj is not errors.NetlinkError
            and "code" in vars(obj)
            and (errors.from_code(obj.code) is obj or obj.code not in errors.NLE_NAMES)
        ):
            found.append(obj)
    return sorted(found, key=lambda cls: cls.code)


class NleTable(SphinxDirective):
    """``nle-table``: NLE code, class, builtin parent, errno, message; from the code."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        rows = []
        classes = _coded_classes()
        for cls in classes:
            mapped = errors.from_code(cls.code) is cls
            parents = _builtin_parents(cls)
            parent_cell = (
                _cell(*_joined([_xref(p.__name__, "exc") for p in parents]))
                if parents
                else _cell("—")
            )
            message = (
                errors.message_for(cls.code)
                if mapped
                else f"(this libnl, {libnl_py.LIBNL_VERSION}, has no {cls.nle_name})"
            )
            rows.append(
                [
                    _cell(f"{cls.code}\u00a0", _literal(cls.nle_name)),
                    _cell(_xref(_qualified(cls), "exc")),
                    parent_cell,
                    _cell(_literal(_errno_name(cls.default_errno))),
                    _cell(message),
                ]
            )
        # Codes of a libnl newer than the module: a class is made for each at import.
        known = {cls.code for cls in classes}
        for code, nle_name in sorted(errors.NLE_NAMES.items()):
            if code not in known:
                made = errors.from_code(code)
                rows.append(
                    [
                        _cell(f"{code}\u00a0", _literal(nle_name)),
                        _cell(_literal(made.__name__), " (made at import)"),
                        _cell("—"),
                        _cell(_literal(_errno_name(made.default_errno))),
                        _cell(errors.message_for(code)),
                    ]
                )
        header = ["NLE code", "class", "builtin parent", "errno", "message (nl_geterror)"]
        runtime = ".".join(map(str, libnl_py.RUNTIME_VERSION))
        title = f"NLE codes, as libnl {runtime} and libnl-py {libnl_py.__version__} define them"
        return [_table(header, rows, title)]


def _joined(items: list[nodes.Node]) -> list[nodes.Node | str]:
    out: list[nodes.Node | str] = []
    for index, item in enumerate(items):
        if index:
            out.append(", ")
        out.append(item)
    return out


def _exception_classes() -> list[type[BaseException]]:
    """Exception classes in public ``__all__`` lists that stand for no NLE code of their own."""
    coded = set(_coded_classes()) | {errors.NetlinkError}
    seen: dict[str, type[BaseException]] = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in public_names(module_name):
            obj = getattr(module, name, None)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj not in coded
                and obj.__module__ == module_name
            ):
                seen[_qualified(obj)] = obj
    return sorted(seen.values(), key=lambda cls: (cls.__module__, cls.__name__))


class ExceptionTable(SphinxDirective):
    """``exception-table``: class, base, code and errno, what it means; from the code."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        rows = []
        for cls in _exception_classes():
            bases = [
                _xref(_qualified(base) if base.__module__ != "builtins" else base.__name__, "exc")
                for base in cls.__bases__
            ]
            if issubclass(cls, errors.NetlinkError):
                code = cls.code
                code_cell = _cell(f"{code} ", _literal(errors.NLE_NAMES.get(code, f"NLE_{code}")))
                errno_cell = _cell(_literal(_errno_name(cls.default_errno)))
            else:
                code_cell = _cell("—")
                errno_cell = _cell("—")
            summary = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ")
            rows.append(
                [
                    _cell(_xref(_qualified(cls), "exc")),
                    _cell(*_joined(bases)),
                    code_cell,
                    errno_cell,
                    _cell(*_inline(summary, cls.__module__)),
                ]
            )
        header = ["class", "bases", "NLE code", "errno", "raised when"]
        return [_table(header, rows, "Exceptions with no NLE code of their own")]


class Reexports(SphinxDirective):
    """``reexports MODULE``: the names MODULE re-exports, linked to where they are documented."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        module_name = self.arguments[0]
        module = importlib.import_module(module_name)
        items = nodes.bullet_list()
        for name in public_names(module_name):
            target = next(candidates(f"{module_name}.{name}"), None)
            if target is None or target == f"{module_name}.{name}":
                continue
            obj = getattr(module, name)
            reftype = "exc" if inspect.isclass(obj) and issubclass(obj, BaseException) else "obj"
            documented = inspect.isclass(obj) or inspect.isfunction(obj)
            summary = (inspect.getdoc(obj) or "").split("\n\n")[0].replace("\n", " ")
            home = target.rpartition(".")[0]
            para = nodes.paragraph()
            para += _xref(target, reftype)
            para += nodes.Text(f" (from {home})")
            if documented and summary:
                para += nodes.Text(": ")
                para.extend(_item(item) for item in _inline(summary, home))
            items += nodes.list_item("", para)
        return [items]


# -- references and the completeness check ------------------------------------------


def _stdlib(target: str) -> bool:
    """True for a dotted name in the standard library (``collections.abc.Iterator``)."""
    top = target.split(".")[0]
    if top == PACKAGE or not top.isidentifier():
        return False
    names = getattr(sys, "stdlib_module_names", None)  # Python 3.10+
    if names is not None:
        return top in names
    spec = importlib.util.find_spec(top)
    origin = getattr(spec, "origin", None) or ""
    return origin in ("built-in", "frozen") or origin.startswith(sysconfig.get_paths()["stdlib"])


def _private(target: str) -> bool:
    """A name in the package with a private part (``libnl_py.genl.socket._Default``)."""
    parts = target.split(".")
    return parts[0] == PACKAGE and any(
        part.startswith("_") and not part.startswith("__") for part in parts
    )


def missing_reference(
    app: Sphinx, env: BuildEnvironment, node: addnodes.pending_xref, contnode: nodes.Element
) -> nodes.Node | None:
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if _stdlib(target):
        return contnode
    domain = env.get_domain("py")
    tried = [target]
    module = node.get("py:module")
    if module and not target.startswith(PACKAGE + "."):
        # A short name in a docstring or an annotation: what that module sees by the name.
        tried.insert(0, f"{module}.{target}")
    objects = domain.objects  # type: ignore[attr-defined]
    for name in tried:
        if _private(name) or isinstance(_lookup(name), TypeVar):
            # Not API, so no page of its own: a private sentinel's type in a
            # public alias (Timeout's _Default), a type variable.
            return contnode
        for candidate in candidates(name):
            if candidate in objects:
                return domain.resolve_xref(
                    env,
                    node.get("refdoc", ""),
                    app.builder,
                    node["reftype"],
                    candidate,
                    node,
                    contnode,
                )
            if _stdlib(candidate):
                return contnode
    return None


def check_reference_is_complete(app: Sphinx, env: BuildEnvironment) -> None:
    domain = env.get_domain("py")
    objects = domain.objects  # type: ignore[attr-defined]
    for module_name in public_modules():
        if module_name not in domain.modules:  # type: ignore[attr-defined]
            logger.warning("module %s is not in the API reference", module_name)
        for name in public_names(module_name):
            full = f"{module_name}.{name}"
            if full in objects or any(c in objects for c in candidates(full)):
                continue
            logger.warning("%s is public but not in the API reference", full)


def dataclass_defaults(
    app: Sphinx,
    what: str,
    name: str,
    obj: Any,
    options: Any,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str | None, str | None] | None:
    """A dataclass field's ``default_factory`` as a call (``dict()``), not ``<factory>``.

    ``inspect`` writes ``<factory>``, which is no Python, so Sphinx cannot
    parse the signature and splits it at every comma.
    """
    if not signature or "<factory>" not in signature or not dataclasses.is_dataclass(obj):
        return None
    for field in dataclasses.fields(obj):
        if field.init and field.default_factory is not dataclasses.MISSING:
            factory = getattr(field.default_factory, "__name__", "factory")
            signature = signature.replace("<factory>", f"{factory}()", 1)
    return signature, return_annotation


class BuiltinNames(SphinxPostTransform):
    """A bare builtin name in a signature (``type[X]``) is the builtin, never an attribute.

    Sphinx looks such names up fuzzily and finds every attribute called
    ``type``; Python would find the builtin, and so does this.
    """

    default_priority = 5  # before the references are resolved (10)

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(addnodes.pending_xref)):
            target = node.get("reftarget", "")
            if node.get("refdomain") == "py" and inspect.isclass(getattr(builtins, target, None)):
                module = sys.modules.get(node.get("py:module") or "")
                if module is None or target not in vars(module):
                    node.replace_self(node.children[0] if node.children else nodes.Text(target))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-process-signature", dataclass_defaults)
    app.add_post_transform(BuiltinNames)
    app.add_directive("nle-table", NleTable)
    app.add_directive("exception-table", ExceptionTable)
    app.add_directive("reexports", Reexports)
    app.connect("missing-reference", missing_reference)
    app.connect("env-check-consistency", check_reference_is_complete)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
