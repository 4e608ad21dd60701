"""The package without ``libnl_py._codec``, as on PyPy: it imports, and gives the same answers.

``libnl_py._codec`` (the CPython-API accelerator) is optional: without it the
codec decodes in Python, families are decoded by ``family_from_attrs`` and the
receive batch's descriptors come from memoryview. A fresh interpreter that
cannot import it runs the same requests as one that can, and both print what
they got: the two must be equal.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = r"""
import json, struct, sys
if sys.argv[1] == "without":
    sys.modules["libnl_py._codec"] = None  # every import of it fails, as where it is not built

from libnl_py import lib
from libnl_py.attrs import MalformedAttributesError
from libnl_py.bindings import genl as bindings
from libnl_py.errors import NetlinkError
from libnl_py.genl import GenlSocket
from libnl_py.genl import family as family_module
from libnl_py.genl.family import family_from_bytes
from libnl_py.spec import registry

accelerated = family_module._ACCELERATED is not None
assert accelerated == (sys.argv[1] == "with"), accelerated
assert (bindings.messages is bindings.messages_of) == (sys.argv[1] == "without")
from libnl_py.message import GenlMessage
assert GenlMessage.__mro__[1].__name__ == ("Message" if accelerated else "_MessageFields")
assert registry.codec_for(registry.get("nlctrl")).accelerated == accelerated

out = {}
with GenlSocket(timeout=5) as sock:
    out["families"] = [repr(f) for f in sock.list_families()]
    out["nlctrl"] = repr(sock.resolve_family("nlctrl"))
    out["group"] = sock.resolve_group("nlctrl", "notify")
    (reply,) = sock.execute("nlctrl", "getfamily", {"family-name": "nlctrl"})
    out["reply"] = reply.data[20:].hex()
    out["fields"] = repr((reply.family_id, reply.cmd, reply.version, reply.flags, reply.port,
                          reply.header, reply.attrs_offset, reply.seq > 0))
    out["decoded"] = repr(sock.decode(reply))
    out["by names"] = repr(sock.execute("nlctrl", "getfamily", {"family-name": "nlctrl"},
                                        decode=True))
    out["dump"] = repr(sock.dump("nlctrl", "getfamily", decode=True))
    out["policy"] = repr(sock.get_policy("nlctrl"))
    try:
        sock.resolve_family("no-such-family")
    except NetlinkError as exc:
        out["missing"] = type(exc).__name__
    bad = reply.data[:20] + struct.pack("=H", 0x7FFF) + reply.data[22:]
    try:
        family_from_bytes(bad)
    except MalformedAttributesError as exc:
        out["malformed"] = type(exc).__name__
print(json.dumps(out))
"""


def run(mode: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-I", "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found: dict[str, object] = json.loads(proc.stdout)
    return found


def test_without_the_accelerator_the_answers_are_the_same() -> None:
    try:
        import libnl_py._codec  # noqa: F401
    except ImportError:
        pytest.skip("libnl_py._codec is not built here: nothing to compare with")
    with_it, without_it = run("with"), run("without")
    assert without_it == with_it
    assert with_it["malformed"] == "MalformedAttributesError"
    assert with_it["missing"] == "NotFoundError"
