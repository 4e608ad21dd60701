"""No module of the package uses another module's private names.

Read from the source with ``ast``: an attribute ``x._name`` on anything but
``self``, ``cls`` or ``super()`` must be a name this module defines (its own
classes' private state, reached from a sibling class or function of the same
module) and no module it imports defines (so that a module overriding a
protocol's private method cannot call it on the other module's objects), and
``from libnl_py... import _name`` is refused outright.
Shared protocols go through public functions instead (for example
:mod:`libnl_py.ownership` for the objects that own a libnl C object, and the
engine's public API for the asyncio front end).
"""

from __future__ import annotations

import ast
import pathlib

import libnl_py

PACKAGE = pathlib.Path(libnl_py.__file__).parent
# The compiled modules and their gateway: private modules, imported by name.
PRIVATE_MODULES = {"_codec", "_ffi", "_libnl"}


def defined_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("_")
            and node.value.isidentifier()
        ):
            names.add(node.value)  # a __slots__ entry
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def modules() -> dict[str, ast.AST]:
    return {
        str(path.relative_to(PACKAGE)): ast.parse(path.read_text(), str(path))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def imported_modules(tree: ast.AST, known: set[str]) -> set[str]:
    """The package's modules (as keys of ``known``) that ``tree`` imports."""
    found = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("libnl_py"):
            base = node.module.replace(".", "/")  # type: ignore[union-attr]
            names = [base] + [f"{base}/{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.replace(".", "/") for a in node.names if a.name.startswith("libnl_py")]
        for dotted in names:
            rel = dotted.removeprefix("libnl_py").lstrip("/")
            for candidate in (f"{rel}.py", f"{rel}/__init__.py"):
                if candidate in known:
                    found.add(candidate)
    return found


def private_uses(trees: dict[str, ast.AST]) -> list[str]:
    defined = {name: defined_names(tree) for name, tree in trees.items()}
    found = []
    for name, tree in trees.items():
        imported = imported_modules(tree, set(trees))
        theirs = set().union(*(defined[other] for other in imported if other != name))
        mine = defined[name] - theirs
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                attr = node.attr
                if not attr.startswith("_") or attr.startswith("__"):
                    continue
                value = node.value
                if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                    continue
                if (
                    isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Name)
                    and value.func.id == "super"
                ):
                    continue
                if attr in PRIVATE_MODULES or attr in mine:
                    continue
                found.append(f"{name}:{node.lineno}: .{attr}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("libnl_py"):
                for alias in node.names:
                    imported = alias.name
                    if (
                        imported.startswith("_")
                        and not imported.startswith("__")
                        and imported not in PRIVATE_MODULES
                    ):
                        found.append(f"{name}:{node.lineno}: import {imported} from {node.module}")
    return found


def test_no_module_uses_another_module_s_private_names() -> None:
    assert private_uses(modules()) == []


def test_the_check_sees_a_private_use() -> None:
    trees = {
        "a.py": ast.parse("class A:\n    def _state(self):\n        return 1\n"),
        "b.py": ast.parse(
            "from libnl_py.genl.socket import _hidden\n"
            "from libnl_py.a import A\n"
            "def peek(a):\n    return a._state()\n"
            "class B(A):\n    __slots__ = ('_own',)\n"
            "    def _state(self):\n        return 2\n"
            "def sibling(b):\n    return b._own\n"
        ),
    }
    # b overrides A._state, but A comes from a: calling it on another object is a's business.
    assert private_uses(trees) == [
        "b.py:1: import _hidden from libnl_py.genl.socket",
        "b.py:4: ._state",
    ]
