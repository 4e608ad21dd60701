"""The ``libnl-py`` command line, run as a subprocess against the real kernel.

Every run uses the libnl_py these tests import (installed copy or in-place
build): ``python -m libnl_py`` with that package first on ``PYTHONPATH``, and
the ``libnl-py`` console script when one sits next to the interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    KNOWN_OP_FLAGS,
    genl_ctrl_list,
    in_ci,
    ip,
    require_root,
)

import libnl_py
from libnl_py import lib
from libnl_py.cli import make_parser
from libnl_py.genl import Family, GenlSocket

TESTS_DIR = Path(__file__).resolve().parent
# Where the libnl_py under test lives: the installed copy, or an in-place build.
PACKAGE_ROOT = Path(libnl_py.__file__).resolve().parent.parent
CONSOLE_SCRIPT = Path(sys.executable).parent / "libnl-py"

TASKSTATS_CMD_GET = 1
TASKSTATS_CMD_NEW = 2
TASKSTATS_CMD_ATTR_PID = 1
TASKSTATS_TYPE_PID = 1
TASKSTATS_TYPE_AGGR_PID = 4

SUBCOMMANDS = ("families", "family", "do", "dump", "monitor")


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_ROOT), env.get("PYTHONPATH", "")])
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "libnl_py", *args]


def run_cli(
    *args: str, prefix: Sequence[str] = (), timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """``[prefix...] python -m libnl_py ARGS``; never raises on a non-zero exit."""
    return subprocess.run(
        [*prefix, *cli_command(*args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(),
        cwd="/",  # readable by any uid, and no ./libnl_py to shadow the package under test
    )


def run_ok(*args: str) -> str:
    proc = run_cli(*args)
    assert proc.returncode == 0, (args, proc.returncode, proc.stderr)
    assert proc.stderr == "", proc.stderr
    return proc.stdout


def run_json(*args: str) -> Any:
    return json.loads(run_ok(*args))


def error_lines(stderr: str) -> list[str]:
    """stderr without argparse's usage (``usage: ...`` and its indented continuation)."""
    lines = []
    in_usage = False
    for line in stderr.splitlines():
        if line.startswith("usage: "):
            in_usage = True
        elif in_usage and line.startswith(" "):
            continue
        else:
            in_usage = False
            lines.append(line)
    return [line for line in lines if not line.startswith("usage: ")]


def assert_one_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """Exit ``code``, nothing on stdout, one error line (plus usage), no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""
    (line,) = error_lines(proc.stderr)
    assert line.startswith("libnl-py"), line
    if code == 2:
        assert proc.stderr.startswith("usage: libnl-py"), proc.stderr
    else:
        assert not proc.stderr.startswith("usage:"), proc.stderr
    return line


def kernel_families() -> dict[str, Family]:
    with GenlSocket(timeout=5) as sock:
        return {f.name: f for f in sock.list_families()}


def require_family(name: str) -> Family:
    family = kernel_families().get(name)
    if family is None:
        pytest.skip(f"no generic netlink family {name!r} in this kernel")
    return family


# -- families --------------------------------------------------------------------------------


def test_families_json_matches_genl_ctrl_list() -> None:
    expected = genl_ctrl_list()
    families = run_json("families", "--json")
    assert sorted(f["id"] for f in families) == sorted(expected)
    for family in families:
        want = expected[family["id"]]
        where = family["name"]
        assert set(family) == {"id", "name", "version", "hdrsize", "maxattr", "ops", "groups"}
        assert (family["name"], family["version"], family["hdrsize"], family["maxattr"]) == (
            want["name"],
            want["version"],
            want["hdrsize"],
            want["maxattr"],
        ), where
        assert [(g["name"], g["id"]) for g in family["groups"]] == want["groups"], where
        assert [op["id"] for op in family["ops"]] == [op[0] for op in want["ops"]], where
        for op, (op_id, mask, unknown, no_flags) in zip(family["ops"], want["ops"]):
            assert set(op) == {"id", "name", "flags"}, where
            if no_flags:
                assert op["flags"] == 0, (where, op_id)
                continue
            assert op["flags"] & KNOWN_OP_FLAGS == mask, (where, op_id)
            assert bool(op["flags"] & ~KNOWN_OP_FLAGS) == unknown, (where, op_id)
    (nlctrl,) = [f for f in families if f["name"] == "nlctrl"]
    assert nlctrl["id"] == lib.GENL_ID_CTRL
    assert {op["id"]: op["name"] for op in nlctrl["ops"]} == {
        lib.CTRL_CMD_GETFAMILY: "getfamily",
        lib.CTRL_CMD_GETPOLICY: "getpolicy",
    }


def test_console_script_prints_the_same() -> None:
    if not os.access(CONSOLE_SCRIPT, os.X_OK):
        pytest.skip(f"no libnl-py console script next to {sys.executable}")
    script = subprocess.run(
        [str(CONSOLE_SCRIPT), "families", "--json"],
        capture_output=True,
        text=True,
        timeout=30,
        env=cli_env(),
        cwd="/",
    )
    assert script.returncode == 0, script.stderr
    assert script.stdout == run_ok("families", "--json")


def test_families_table_is_aligned() -> None:
    families = kernel_families()
    header, *rows = run_ok("families").splitlines()
    columns = header.split()
    assert columns == ["ID", "NAME", "VERSION", "HDRSIZE", "MAXATTR", "OPS", "GROUPS"]
    starts = [header.index(f"{name}") for name in columns]
    assert len(rows) == len(families)
    names = []
    for row in rows:
        cells = [row[a:b].strip() for a, b in zip(starts, [*starts[1:], None])]
        # Aligned: every cell starts at its header's column and holds no spaces.
        assert cells == row.split(), (header, row)
        for a in starts[1:]:
            assert row[a - 1] == " " and row[a] != " ", (header, row)
        family = families[cells[1]]
        assert cells[0] == f"{family.id:#06x}"
        assert cells[2:6] == [
            str(family.version),
            str(family.hdrsize),
            str(family.maxattr),
            str(len(family.operations)),
        ]
        assert cells[6] == (",".join(g.name for g in family.groups) or "-")
        names.append(cells[1])
    assert sorted(names) == sorted(families)


# -- family -----------------------------------------------------------------------------------


def test_family_nlctrl_json_has_the_kernel_policies() -> None:
    out = run_json("family", "nlctrl", "--json")
    assert out["name"] == "nlctrl" and out["id"] == lib.GENL_ID_CTRL
    with GenlSocket(timeout=5) as sock:
        policy = sock.get_policy("nlctrl")
    policies = out["policies"]
    forms = {
        op["id"]: {k: v for k, v in op.items() if k in ("do", "dump")} for op in policies["ops"]
    }
    assert forms == policy.ops
    names = {op["id"]: op["name"] for op in policies["ops"]}
    assert names[lib.CTRL_CMD_GETFAMILY] == "getfamily"
    assert names[lib.CTRL_CMD_GETPOLICY] == "getpolicy"
    assert sorted(policies["tables"]) == sorted(str(i) for i in policy.policies)
    for index, table in policy.policies.items():
        got = policies["tables"][str(index)]
        # Beside the kernel's policy, the spec's own type of each attribute.
        assert {e["name"]: e["spec-type"] for e in got}.get("family-name") in ("string", None)
        assert [{k: v for k, v in e.items() if k not in ("name", "spec-type")} for e in got] == [
            table[t].to_dict() for t in sorted(table)
        ]
    for op_id in (lib.CTRL_CMD_GETFAMILY, lib.CTRL_CMD_GETPOLICY):
        op_forms = policy.ops[op_id]
        assert op_forms, op_id
        for table_index in op_forms.values():
            entries = {e["name"]: e for e in policies["tables"][str(table_index)]}
            assert entries["family-name"]["type"] == lib.CTRL_ATTR_FAMILY_NAME
            assert entries["family-name"]["kind"] == "nul-string"
            assert entries["family-name"]["max-length"] == 15  # GENL_NAMSIZ - 1
            assert entries["family-id"]["type"] == lib.CTRL_ATTR_FAMILY_ID
            assert entries["family-id"]["kind"] == "u16"
    getpolicy = policies["tables"][str(policy.ops[lib.CTRL_CMD_GETPOLICY]["dump"])]
    assert "op" in {e["name"] for e in getpolicy}


def test_family_nlctrl_human_output() -> None:
    text = run_ok("family", "nlctrl")
    first, *rest = text.splitlines()
    assert first.startswith(f"nlctrl: id {lib.GENL_ID_CTRL:#06x}, version 2")
    lines = [line.split() for line in rest]
    assert ["3", "getfamily", "do,dump,policy"] in [cells[:3] for cells in lines]
    assert ["2", "family-name", "string", "nul-string", "max-length=15"] in lines
    assert ["groups:"] in lines and ["16", "notify"] in lines


def test_family_unknown_is_one_line() -> None:
    line = assert_one_error(run_cli("family", "no-such-family"), 1)
    assert "no-such-family" in line


# -- do and dump -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("getfamily", "family-name=nlctrl"),
        ("3", "2=nlctrl"),  # command and attribute by number, typed by the definition
        ("getfamily", "--json-attrs", '{"family-name": "nlctrl"}'),
        ("getfamily", "--json-attrs", '{"2": "nlctrl"}'),
    ],
)
def test_do_nlctrl_getfamily(args: tuple[str, ...]) -> None:
    (reply,) = run_json("do", "nlctrl", *args)
    assert reply["cmd"] == "getfamily"  # the operation the reply answers
    assert reply["attrs"]["family-name"] == "nlctrl"
    assert reply["attrs"]["family-id"] == 16
    assert {op["id"] for op in reply["attrs"]["ops"]} == {
        lib.CTRL_CMD_GETFAMILY,
        lib.CTRL_CMD_GETPOLICY,
    }


def test_dump_nlctrl_getfamily_lists_every_family() -> None:
    replies = run_json("dump", "nlctrl", "getfamily")
    by_name = {r["attrs"]["family-name"]: r["attrs"]["family-id"] for r in replies}
    assert by_name == {name: f.id for name, f in kernel_families().items()}


def test_dump_netdev_dev_get() -> None:
    require_family("netdev")
    replies = run_json("dump", "netdev", "dev-get")
    assert all(r["cmd"] == "dev-get" for r in replies)
    assert 1 in [r["attrs"]["ifindex"] for r in replies]  # lo


def test_do_ethtool_linkstate_get_nested_json_attrs() -> None:
    require_family("ethtool")
    (reply,) = run_json(
        "do", "ethtool", "linkstate-get", "--json-attrs", '{"header": {"dev-name": "lo"}}'
    )
    assert reply["cmd"] == "linkstate-get"
    assert reply["attrs"]["header"] == {"dev-index": 1, "dev-name": "lo"}
    assert "link" in reply["attrs"]


@pytest.mark.parametrize("attr", ["1={pid}", "pid={pid}", '--json-attrs={{"1": {pid}}}'])
def test_do_taskstats_by_number_or_name(root: None, attr: str) -> None:
    """TASKSTATS by its built-in spec: numbers and names alike, struct taskstats by field."""
    taskstats = require_family("TASKSTATS")
    with GenlSocket(timeout=5) as sock:
        policy = sock.get_policy(taskstats)
    table = policy.for_command(TASKSTATS_CMD_GET)
    assert table is not None and table[TASKSTATS_CMD_ATTR_PID].kind == "u32"
    pid = os.getpid()
    (reply,) = run_json("do", "TASKSTATS", str(TASKSTATS_CMD_GET), attr.format(pid=pid))
    assert reply["cmd"] == "new"  # TASKSTATS_CMD_NEW answers TASKSTATS_CMD_GET
    aggregate = reply["attrs"]["aggr-pid"]
    assert aggregate["pid"] == pid
    assert aggregate["stats"]["ac_pid"] == pid


def test_do_by_number_with_an_explicit_kind(root: None) -> None:
    """NUM:KIND types what no spec or policy does; it goes out as given."""
    require_family("TASKSTATS")
    pid = os.getpid()
    (reply,) = run_json("do", "TASKSTATS", "1", f"1:u32={pid}")
    assert reply["attrs"]["aggr-pid"]["pid"] == pid


# -- monitor ------------------------------------------------------------------------------------


def joined(pid: int, group: int) -> bool:
    """True once process ``pid`` has a generic netlink socket in multicast ``group``.

    Reads ``/proc/PID/net/netlink``, which lists the sockets of that process's
    network namespace; libnl's ports carry the pid in their low 22 bits. The
    Groups column holds only groups 1..32.
    """
    assert 1 <= group <= 32, f"group {group} is not shown in /proc/net/netlink"
    try:
        with open(f"/proc/{pid}/net/netlink") as f:
            header = f.readline().split()
            eth, port, groups = header.index("Eth"), header.index("Pid"), header.index("Groups")
            for line in f:
                cols = line.split()
                if (
                    cols
                    and int(cols[eth]) == lib.NETLINK_GENERIC
                    and int(cols[port]) & 0x3FFFFF == pid & 0x3FFFFF
                    and int(cols[groups], 16) & (1 << (group - 1))
                ):
                    return True
    except FileNotFoundError:
        pass
    return False


def wait_joined(proc: subprocess.Popen[str], group: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not joined(proc.pid, group):
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"monitor exited early ({proc.returncode}): {out} {err}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"monitor did not join group {group} within {timeout} s")
        time.sleep(0.01)


def start_monitor(*args: str, prefix: Sequence[str] = ()) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*prefix, *cli_command("monitor", *args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd="/",
        # SIGINT is ignored in children of a shell's background job; the
        # monitor must see it as a terminal user's Ctrl-C would deliver it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_monitor_netdev_dev_add_in_netns(netns: str) -> None:
    netdev = require_family("netdev")
    group = netdev.group("mgmt").id  # family and group ids are the same in every namespace
    proc = start_monitor(
        "netdev", "mgmt", "--count", "1", "--timeout", "20", prefix=("ip", "netns", "exec", netns)
    )
    try:
        wait_joined(proc, group)
        ip("-n", netns, "link", "add", "vA", "type", "veth", "peer", "name", "vB")
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert err == ""
    (line,) = out.splitlines()
    event = json.loads(line)
    assert set(event) == {"family", "group", "cmd", "attrs"}
    assert (event["family"], event["group"], event["cmd"]) == ("netdev", "mgmt", "dev-add-ntf")
    links = {link["ifname"]: link["ifindex"] for link in json.loads(ip("-n", netns, "-j", "link"))}
    # veth registers the peer (vB) before vA: the first notification is one of the pair.
    assert event["attrs"]["ifindex"] in (links["vA"], links["vB"]), (event, links)
    assert event["attrs"]["ifindex"] != links["lo"]


def test_monitor_timeout_without_events() -> None:
    started = time.monotonic()
    proc = run_cli("monitor", "nlctrl", "--timeout", "0.5")
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout, proc.stderr) == ("", "")
    assert 0.5 <= elapsed < 10


def test_monitor_sigint_exits_0_quietly() -> None:
    proc = start_monitor("nlctrl")
    try:
        wait_joined(proc, kernel_families()["nlctrl"].group("notify").id)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert (out, err) == ("", "")


def test_monitor_timeout_is_apart_from_the_global_timeout() -> None:
    """Regression: monitor's --timeout (default None) used to overwrite the global one."""
    args = make_parser().parse_args(["--timeout", "5", "monitor", "nlctrl"])
    assert (args.timeout, args.duration) == (5.0, None)
    args = make_parser().parse_args(["monitor", "nlctrl", "--timeout", "0.2"])
    assert (args.timeout, args.duration) == (10.0, 0.2)
    proc = run_cli("--timeout", "5", "monitor", "nlctrl", "--timeout", "0.2")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("family", "no-such-family"), 1, "no-such-family"),
        (("do", "no-such-family", "1"), 1, "no-such-family"),
        (("dump", "no-such-family", "1"), 1, "no-such-family"),
        (("monitor", "no-such-family", "--timeout", "1"), 1, "no-such-family"),
        (("do", "nlctrl", "no-such-command"), 2, "no-such-command"),
        (("dump", "netdev", "no-such-command"), 2, "no-such-command"),
        (("do", "nlctrl", "getfamily", "--json-attrs", "{not json"), 2, "not valid JSON"),
        (("do", "nlctrl", "getfamily", "--json-attrs", "[1]"), 2, "JSON object"),
        (("do", "nlctrl", "getfamily", "family-id=abc"), 2, "u16"),
        (("do", "nlctrl", "getfamily", "family-id=70000"), 2, "u16"),
        (("do", "nlctrl", "getfamily", "--json-attrs", '{"family-id": "x"}'), 2, "u16"),
        (("do", "nlctrl", "getfamily", "no-such-attr=1"), 2, "no-such-attr"),
        (("do", "nlctrl", "getfamily", "family-name"), 2, "ATTR=VALUE"),
        (("do", "nlctrl", "getfamily", "1:u99=3"), 2, "u99"),
        (("do", "nlctrl", "300"), 2, "300"),
        (("do", "TASKSTATS", "1", "1=abc"), 2, "u32"),
        (("do", "TASKSTATS", "nosuch"), 2, "known: cgroupstats-get, get"),
        (("monitor", "nlctrl", "--count", "0"), 2, "--count"),
        (("monitor", "nlctrl", "no-such-group", "--timeout", "1"), 1, "no-such-group"),
        (("frobnicate",), 2, "frobnicate"),
        ((), 2, "required"),
    ],
)
def test_bad_input_is_one_line(args: tuple[str, ...], code: int, needle: str) -> None:
    line = assert_one_error(run_cli(*args), code)
    assert needle in line, line


def test_usage_error_shows_the_subcommand_usage() -> None:
    proc = run_cli("do", "nlctrl", "no-such-command")
    assert proc.stderr.startswith("usage: libnl-py do "), proc.stderr


def test_ethtool_missing_device_shows_ext_ack() -> None:
    require_family("ethtool")
    proc = run_cli(
        "do", "ethtool", "linkstate-get", "--json-attrs", '{"header": {"dev-name": "nosuchdev0"}}'
    )
    line = assert_one_error(proc, 1)
    assert "No such device" in line
    assert "no device matches name" in line  # the kernel's extended ACK message
    assert "header/dev-name" in line  # and the offending attribute


def unprivileged_prefix() -> list[str]:
    """A command prefix that runs the CLI without CAP_NET_ADMIN, or skip.

    ``setpriv`` to nobody when nobody can run this interpreter and read the
    package; otherwise ``unshare --user``: uid 0's file access, but no
    capability in the initial user namespace, which owns the network one.
    """
    require_root("needs root to drop privileges")
    probe = [sys.executable, "-c", "import libnl_py.cli"]
    tried = []
    for prefix in (
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
        ["unshare", "--user"],
    ):
        if shutil.which(prefix[0]) is None:
            tried.append(f"{prefix[0]}: not installed")
            continue
        proc = subprocess.run(
            [*prefix, *probe], capture_output=True, text=True, timeout=30, env=cli_env(), cwd="/"
        )
        if proc.returncode == 0:
            return prefix
        tried.append(f"{prefix[0]}: {proc.stderr.strip().splitlines()[-1:]}")
    message = "cannot run the CLI unprivileged: " + "; ".join(tried)
    if in_ci():
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


def test_missing_privileges() -> None:
    taskstats = require_family("TASKSTATS")
    op = taskstats.operation(TASKSTATS_CMD_GET)
    assert op is not None and op.admin_only  # GENL_ADMIN_PERM: CAP_NET_ADMIN
    prefix = unprivileged_prefix()
    # Reads need no privilege...
    proc = run_cli("do", "nlctrl", "getfamily", "family-name=nlctrl", prefix=prefix)
    assert proc.returncode == 0, proc.stderr
    # ...the admin-only command does.
    proc = run_cli("do", "TASKSTATS", str(TASKSTATS_CMD_GET), "1=1", prefix=prefix)
    line = assert_one_error(proc, 1)
    assert "Operation not permitted" in line


# -- version --------------------------------------------------------------------------------------


def expected_version_lines() -> list[str]:
    """What --version must say, worked out here from the sources of each number."""
    from importlib.metadata import version

    libnl_runtime = f"{lib.nl_ver_maj}.{lib.nl_ver_min}.{lib.nl_ver_mic}"
    libnl_headers = f"{lib.LIBNL_VER_MAJ}.{lib.LIBNL_VER_MIN}.{lib.LIBNL_VER_MIC}"
    uname = os.uname()
    assert libnl_py.__version__ == version("libnl-py")  # the metadata and the module agree
    return [
        f"libnl-py {version('libnl-py')}",
        f"libnl {libnl_runtime} (built against {libnl_headers})",
        f"{uname.sysname} {uname.release}",
    ]


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines() == expected_version_lines()


def test_version_agrees_with_pkg_config() -> None:
    """The libnl numbers are those of the library on this machine, not constants."""
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config is not installed")
    found = subprocess.run(
        ["pkg-config", "--modversion", "libnl-3.0"], capture_output=True, text=True
    )
    if found.returncode != 0:
        pytest.skip("pkg-config knows no libnl-3.0 here")
    libnl_line = run_ok("--version").splitlines()[1]
    assert libnl_line == f"libnl {found.stdout.strip()} (built against {found.stdout.strip()})"


def test_version_before_a_subcommand_wins() -> None:
    """As argparse's own --version: it prints and exits, whatever follows."""
    assert run_ok("--version", "families").splitlines() == expected_version_lines()


def test_console_script_version() -> None:
    if not os.access(CONSOLE_SCRIPT, os.X_OK):
        pytest.skip(f"no libnl-py console script next to {sys.executable}")
    script = subprocess.run(
        [str(CONSOLE_SCRIPT), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        env=cli_env(),
        cwd="/",
    )
    assert script.returncode == 0, script.stderr
    assert script.stdout.splitlines() == expected_version_lines()


# -- help -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("subcommand", [None, *SUBCOMMANDS])
def test_help(subcommand: str | None) -> None:
    args = ["--help"] if subcommand is None else [subcommand, "--help"]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    expected = "usage: libnl-py" + ("" if subcommand is None else f" {subcommand}")
    assert proc.stdout.startswith(expected), proc.stdout
    if subcommand is None:
        for name in SUBCOMMANDS:
            assert name in proc.stdout


def test_family_json_names_ops_by_their_request_names() -> None:
    require_family("ethtool")
    out = run_json("family", "ethtool", "--json")
    names = {op["id"]: op["name"] for op in out["policies"]["ops"]}
    # Request ids, not the ids of replies and notifications (1 is strset-get, not -reply).
    assert names[1] == "strset-get"
    assert names[13] == "privflags-get"


def test_bad_hex_for_an_untyped_binary_attribute_is_a_usage_error() -> None:
    from libnl_py.cli import UsageError, build_attrs
    from libnl_py.spec.codec import Typed

    with pytest.raises(UsageError) as info:
        build_attrs(None, None, [], '{"1:binary": "zz"}')
    assert str(info.value) == "1:binary: binary values are hex, not 'zz'"
    assert build_attrs(None, None, [], '{"1:binary": "0aff"}') == {1: Typed("binary", b"\n\xff")}
    with pytest.raises(UsageError, match="nothing types it here"):
        build_attrs(None, None, ["1=5"], None)
