"""libnl_py.netns: sockets opened in another network namespace than the caller's.

Two private namespaces made by the test, a veth pair in each: a socket for
one sees its pair and not the other's, whatever namespace the caller is in;
the calling thread's namespace is the same before and after; eight threads
open sockets in both at once; the errors are the documented ones.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import bare_nlctrl_spec, require_root
from test_cli import run_cli

from libnl_py import lib
from libnl_py.genl import GenlSocket
from libnl_py.genl.aio import AsyncGenlSocket
from libnl_py.netns import netns_path, pid_netns, run_in_netns
from libnl_py.socket import Socket


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def pair() -> Iterator[tuple[str, str]]:
    """Two namespaces, each with one veth pair: ``nsa0``/``nsa1`` and ``nsb0``/``nsb1``."""
    require_root()
    tag = uuid.uuid4().hex[:8]
    names = (f"lnp-a-{tag}", f"lnp-b-{tag}")
    try:
        for name, letter in zip(names, "ab"):
            ip("netns", "add", name)
            ip(
                "-n",
                name,
                "link",
                "add",
                f"ns{letter}0",
                "type",
                "veth",
                "peer",
                "name",
                f"ns{letter}1",
            )
        yield names
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=20)


def links(sock: GenlSocket) -> set[str]:
    return {
        m["header"]["dev-name"]
        for m in sock.dump("ethtool", "linkinfo-get", {"header": {}}, decode=True)
    }


def own_netns() -> str:
    return os.readlink("/proc/thread-self/ns/net")


def test_a_socket_sees_its_own_namespace(pair: tuple[str, str]) -> None:
    a, b = pair
    before = own_netns()
    with GenlSocket(netns=a) as sa, GenlSocket(netns=b) as sb, GenlSocket() as here:
        assert links(sa) == {"nsa0", "nsa1"}
        assert links(sb) == {"nsb0", "nsb1"}
        assert not links(here) & {"nsa0", "nsa1", "nsb0", "nsb1"}
        # netdev by name too: the same devices, by index, from each side.
        assert len(sa.dump("netdev", "dev-get", decode=True)) == 3  # lo and the pair
    assert own_netns() == before


def test_a_namespace_by_path_by_fd_and_by_pid(pair: tuple[str, str]) -> None:
    a, _b = pair
    with GenlSocket(netns=netns_path(a)) as by_path:
        assert links(by_path) == {"nsa0", "nsa1"}
    fd = os.open(netns_path(a), os.O_RDONLY | os.O_CLOEXEC)
    try:
        with GenlSocket(netns=fd) as by_fd:
            assert links(by_fd) == {"nsa0", "nsa1"}
        os.fstat(fd)  # the caller's fd is left open
    finally:
        os.close(fd)
    sleeper = subprocess.Popen(["ip", "netns", "exec", a, "sleep", "30"])
    try:
        for _ in range(100):
            if os.readlink(f"/proc/{sleeper.pid}/ns/net") != own_netns():
                break
            threading.Event().wait(0.02)  # ip netns exec has not entered it yet
        with GenlSocket(netns=pid_netns(sleeper.pid)) as by_pid:
            assert links(by_pid) == {"nsa0", "nsa1"}
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_plain_socket_connects_in_its_namespace(pair: tuple[str, str]) -> None:
    a, _b = pair
    with Socket(netns=a) as sock:
        sock.genl_connect()
        fd = sock.fileno()
        assert os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        # The fd's namespace is a's: a second socket from the same fd's namespace agrees.
        ns_of_socket = run_in_netns(a, own_netns)
        assert ns_of_socket != own_netns()
    with Socket(netns=a) as raw:
        raw.connect(lib.NETLINK_GENERIC)
        assert raw.connected


def test_eight_threads_open_sockets_in_both_at_once(pair: tuple[str, str]) -> None:
    a, b = pair
    before = own_netns()
    seen: dict[int, set[str]] = {}
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(i: int) -> None:
        try:
            start.wait(10)
            mine = own_netns()
            for _ in range(5):
                with GenlSocket(netns=a if i % 2 else b) as sock:
                    seen.setdefault(i, set()).update(links(sock))
            assert own_netns() == mine
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    for i in range(8):
        assert seen[i] == ({"nsa0", "nsa1"} if i % 2 else {"nsb0", "nsb1"})
    assert own_netns() == before


def test_asyncio_socket_in_a_namespace(pair: tuple[str, str]) -> None:
    a, _b = pair

    async def main() -> set[str]:
        async with AsyncGenlSocket(netns=a) as sock:
            replies = await sock.dump("ethtool", "linkinfo-get", {"header": {}}, decode=True)
            return {m["header"]["dev-name"] for m in replies}

    assert asyncio.run(main()) == {"nsa0", "nsa1"}


def test_a_missing_namespace_is_file_not_found() -> None:
    with pytest.raises(FileNotFoundError):
        GenlSocket(netns=f"no-such-netns-{uuid.uuid4().hex[:8]}")
    with pytest.raises(FileNotFoundError):
        Socket(netns="/nonexistent/ns").genl_connect()


def test_bad_namespace_arguments() -> None:
    with pytest.raises(TypeError):
        GenlSocket(netns=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        GenlSocket(netns=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        GenlSocket(netns="")
    with pytest.raises(ValueError, match="not a network namespace"):
        GenlSocket(netns="/proc/self/ns/uts")
    with pytest.raises(ValueError):
        pid_netns(0)


def test_an_unprivileged_user_gets_permission_error(pair: tuple[str, str]) -> None:
    a, _b = pair
    code = (
        "import ctypes, os, sys\n"  # imported as root: nobody cannot read root's Python
        "from libnl_py.genl import GenlSocket\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "try:\n"
        f"    GenlSocket(netns={a!r})\n"
        "except PermissionError as exc:\n"
        "    print('PermissionError', exc.errno)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["PermissionError", "1"]  # EPERM


def test_cli_netns(pair: tuple[str, str]) -> None:
    a, _b = pair
    inside = run_cli("--netns", a, "families", "--json")
    assert inside.returncode == 0, inside.stderr
    assert "nlctrl" in inside.stdout
    dumped = run_cli("--netns", a, "dump", "ethtool", "linkinfo-get", "--jsonl")
    assert dumped.returncode == 0, dumped.stderr
    names = sorted(
        line.split('"dev-name": "')[1].split('"')[0] for line in dumped.stdout.splitlines()
    )
    assert names == ["nsa0", "nsa1"]
    missing = run_cli("--netns", "no-such-netns-x", "families")
    assert missing.returncode == 1
    assert "No such file or directory" in missing.stderr


def test_results_of_any_type_come_back(pair: tuple[str, str]) -> None:
    a, _b = pair
    assert run_in_netns(a, lambda: 42) == 42
    with pytest.raises(ZeroDivisionError):
        run_in_netns(a, lambda: 1 / 0)
    result: Any = run_in_netns(a, own_netns)
    assert result != own_netns()


def test_a_policy_is_fetched_after_the_namespace_s_process_exits() -> None:
    """A socket opened in a process's namespace keeps working once the process is gone,
    and so does typing a request by the kernel's policy (fetched on the socket itself,
    not by entering the namespace again)."""
    require_root()
    import subprocess
    import time

    from libnl_py.netns import pid_netns

    bare = bare_nlctrl_spec()
    holder = subprocess.Popen(["unshare", "-n", "sleep", "30"])
    try:
        time.sleep(0.3)
        sock = GenlSocket(netns=pid_netns(holder.pid), specs=[bare])
    finally:
        holder.kill()
        holder.wait()
    with sock:
        (reply,) = sock.execute("nlctrl", 3, {2: "nlctrl"})
        assert reply.attrs.u16(1) == 0x10
