"""The ``libnl-py`` command line with specs: ``--spec``, ``specs``, names inside nests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import in_ci
from test_cli import error_lines, require_family, run_cli, run_json, run_ok

from libnl_py.genl import GenlSocket

DOC_SPECS = Path("/usr/share/doc/linux-doc-6.12/Documentation/netlink/specs")
BUILTIN = {
    "nlctrl", "netdev", "ethtool", "tcp_metrics", "mptcp_pm", "TASKSTATS", "thermal", "SEG6",
    "IOAM6", "VFS_DQUOT", "acpi_event", "NLBL_MGMT", "NLBL_CIPSOv4", "NLBL_CALIPSO", "NLBL_UNLBL",
}  # fmt: skip


def doc_spec(name: str) -> Path:
    path = DOC_SPECS / f"{name}.yaml.gz"
    if not path.exists():
        if in_ci():
            pytest.fail(f"{path} missing: .ci/run installs linux-doc-6.12")
        pytest.skip(f"{path} is not installed (apt install linux-doc-6.12)")
    return path


def test_specs_lists_every_kernel_family_and_its_source() -> None:
    rows = {r["family"]: r for r in run_json("specs", "--json")}
    kernel = {name for name, r in rows.items() if r["in-kernel"]}
    with GenlSocket() as sock:
        assert kernel == {f.name for f in sock.list_families()}  # every kernel family listed
    assert kernel <= BUILTIN  # and each has a built-in
    for name in kernel & BUILTIN:
        assert rows[name]["source"] == "built-in", rows[name]
    if (DOC_SPECS / "devlink.yaml.gz").exists():
        assert rows["devlink"] == {
            "family": "devlink",
            "in-kernel": False,
            "source": str(DOC_SPECS / "devlink.yaml.gz"),
        }


def test_spec_file_goes_first() -> None:
    path = doc_spec("netdev")
    require_family("netdev")
    out = run_json("--spec", str(path), "family", "netdev", "--json")
    assert out["spec"] == str(path)
    (first, *_rest) = run_json("--spec", str(path), "dump", "netdev", "dev-get")
    assert first["cmd"] == "dev-get" and first["attrs"]["ifindex"] == 1


def test_a_file_that_is_no_spec_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    proc = run_cli("--spec", str(bad), "family", "nlctrl")
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert str(bad) in line


def test_nested_assignment_and_jsonl() -> None:
    require_family("ethtool")
    text = run_ok("do", "ethtool", "linkstate-get", "header.dev-name=lo", "--jsonl")
    (line,) = text.splitlines()
    reply = json.loads(line)
    assert reply["cmd"] == "linkstate-get"
    assert reply["attrs"]["header"] == {"dev-index": 1, "dev-name": "lo"}


def test_num_kind_inside_json_attrs() -> None:
    (reply,) = run_json("do", "nlctrl", "getfamily", "--json-attrs", '{"2:string": "nlctrl"}')
    assert reply["attrs"]["family-id"] == 16


def test_ascii_text_for_an_address_is_refused_before_sending() -> None:
    require_family("mptcp_pm")
    proc = run_cli("do", "mptcp_pm", "1", "--json-attrs", '{"1":{"1":2,"3":"0a090001","6":1}}')
    assert proc.returncode == 2, proc.stderr
    (line,) = error_lines(proc.stderr)
    assert "'0a090001' is not an IPv4 address" in line


def test_do_refuses_replace_with_excl_which_is_nlm_f_dump() -> None:
    """0x100 | 0x200 is NLM_F_ROOT | NLM_F_MATCH: genetlink would run a dump, not the do."""
    proc = run_cli("do", "nlctrl", "getfamily", "family-name=nlctrl", "--replace", "--excl")
    assert proc.returncode == 2
    assert error_lines(proc.stderr) == [
        "libnl-py: error: --replace with --excl is NLM_F_DUMP (0x300) on the wire: use dump"
    ]
    assert proc.stdout == ""
    # Each alone is sent as asked (nlctrl ignores them and answers the one family).
    replies = run_json("do", "nlctrl", "getfamily", "family-name=nlctrl", "--replace")
    assert [r["attrs"]["family-name"] for r in replies] == ["nlctrl"]
