"""Every Python example in README.md and docs/*.md runs as written and prints what the page shows.

An example is a ```python block; the plain ``` block after it, if any (prose
may come between), is what it prints. Each runs in a fresh network namespace
(``unshare --net``), so the examples that create interfaces touch nothing of
the machine's. Numbers that differ from run to run (ports, interface indexes)
are compared by shape only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_root

import libnl_py

SOURCE_ROOT = Path(__file__).resolve().parent.parent
README = SOURCE_ROOT / "README.md"
DOCS = SOURCE_ROOT / "docs"
PACKAGE_ROOT = Path(libnl_py.__file__).resolve().parent.parent

# A python block, then optionally prose, then the output block it produced.
_EXAMPLE = re.compile(r"```python\n(.*?)```\n(?:(?:(?!```).)*?```\n(.*?)```)?", re.S)
_VARIABLE = (
    re.compile(r"^\d+ True$", re.M),  # how many families this network namespace sees
    re.compile(r"port \d+"),
    re.compile(r"is \d+\)"),
    re.compile(r"'ifindex': \d+"),
)


def pages() -> list[Path]:
    """README.md and the documentation's pages; none beside an installed copy without them."""
    found = [README] if README.exists() else []
    return found + sorted(DOCS.glob("*.md"))


def examples(page: Path) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in _EXAMPLE.finditer(page.read_text())]


def _shape(text: str) -> str:
    for pattern in _VARIABLE:
        text = pattern.sub(lambda m: re.sub(r"\d+", "N", m.group(0)), text)
    return text.strip()


EXAMPLES = {
    f"{page.relative_to(SOURCE_ROOT)}:{number}": example
    for page in pages()
    for number, example in enumerate(examples(page), 1)
}


def test_readme_has_examples() -> None:
    if not README.exists():
        pytest.skip("README.md is not beside the tests")
    assert len(examples(README)) >= 2


def test_docs_have_examples() -> None:
    """The pages that show code show it runnable: one or more examples each."""
    if not DOCS.is_dir():
        pytest.skip("docs/ is not beside the tests")
    for name in ("socket", "genl", "specs", "errors", "asyncio", "namespaces", "testing"):
        assert examples(DOCS / f"{name}.md"), f"docs/{name}.md has no example"
    assert sum(len(examples(page)) for page in DOCS.glob("*.md")) >= 15


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_runs(name: str) -> None:
    require_root("the examples talk to the kernel and create interfaces")
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    code, output = EXAMPLES[name]
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    script = "ip link set lo up && exec " + " ".join(
        [sys.executable, "-c", "'" + code.replace("'", "'\"'\"'") + "'"]
    )
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    if output is not None and output.strip():
        assert _shape(done.stdout) == _shape(output)
