"""Every ``>>>`` example in a public module's docstrings runs (they are in the API reference).

The examples talk to ``nlctrl`` and to a :class:`~libnl_py.testing.FakePeer`,
which need no privilege; each runs with its module's globals, as ``doctest``
does, so an example must import what its module does not.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import libnl_py


def public_modules() -> list[str]:
    names = ["libnl_py"]
    for info in pkgutil.walk_packages(libnl_py.__path__, "libnl_py."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def docstring_examples() -> dict[str, doctest.DocTest]:
    # The finder looks only at what each module defines, so nothing is found twice.
    finder = doctest.DocTestFinder(exclude_empty=True)
    return {
        test.name: test
        for name in public_modules()
        for test in finder.find(importlib.import_module(name))
        if test.examples
    }


EXAMPLES = docstring_examples()


def test_there_are_docstring_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_docstring_example(name: str) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(EXAMPLES[name], clear_globs=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
