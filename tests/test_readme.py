"""Every Python example in README.md runs as written and prints what the README shows.

Each runs in a fresh network namespace (``unshare --net``), so the examples that
create interfaces touch nothing of the machine's. Numbers that differ from run
to run (ports, interface indexes) are compared by shape only.
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

README = Path(__file__).resolve().parent.parent / "README.md"
PACKAGE_ROOT = Path(libnl_py.__file__).resolve().parent.parent

# A python block, then optionally prose, then the output block it produced.
_EXAMPLE = re.compile(r"```python\n(.*?)```\n(?:(?:(?!```).)*?```\n(.*?)```)?", re.S)
_VARIABLE = (
    re.compile(r"^\d+ True$", re.M),  # how many families this network namespace sees
    re.compile(r"port \d+"),
    re.compile(r"is \d+\)"),
    re.compile(r"'ifindex': \d+"),
)


def examples() -> list[tuple[str, str | None]]:
    if not README.exists():  # an installed copy without the source tree
        return []
    found = []
    for match in _EXAMPLE.finditer(README.read_text()):
        found.append((match.group(1), match.group(2)))
    return found


def _shape(text: str) -> str:
    for pattern in _VARIABLE:
        text = pattern.sub(lambda m: re.sub(r"\d+", "N", m.group(0)), text)
    return text.strip()


EXAMPLES = examples()


def test_readme_has_examples() -> None:
    if not README.exists():
        pytest.skip("README.md is not beside the tests")
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_example_runs(index: int) -> None:
    require_root("README examples talk to the kernel and create interfaces")
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    code, output = EXAMPLES[index]
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
