"""libnl_py.Socket against the running kernel and real userspace peers.

Messages are built and parsed with ``struct`` here (see conftest.py), not
with the library, so a codec bug cannot hide a socket bug.
"""

from __future__ import annotations

import errno
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import (
    GENLMSGHDR,
    NLMSGHDR,
    NetlinkEntry,
    bound_ports,
    dump_links,
    fd_inode,
    free_port,
    getfamily_request,
    netlink_entries,
    parse_attrs,
    recv_messages,
    require_root,
    resolve_nlctrl,
    split_messages,
)

import libnl_py
from libnl_py import Callbacks, Message, Socket, errors, lib

TESTS_DIR = Path(__file__).resolve().parent
# Where the libnl_py under test lives: the installed copy, or an in-place build.
PACKAGE_ROOT = Path(libnl_py.__file__).resolve().parent.parent


def run_python(code: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter importing the same libnl_py, and tests/."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PACKAGE_ROOT), str(TESTS_DIR), env.get("PYTHONPATH", "")]
    )
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=TESTS_DIR,
    )


def entry_for(protocol: int, port: int) -> NetlinkEntry:
    matches = [e for e in netlink_entries() if e.protocol == protocol and e.port == port]
    assert len(matches) == 1, (protocol, port, matches)
    return matches[0]


# -- the compiled module ----------------------------------------------------------


def test_compiled_constants() -> None:
    assert lib.NETLINK_GENERIC == 16
    assert lib.NETLINK_ROUTE == 0
    assert lib.GENL_ID_CTRL == 16
    assert lib.NLMSG_ERROR == 2
    assert lib.NLMSG_DONE == 3
    assert (lib.NLM_F_REQUEST, lib.NLM_F_MULTI, lib.NLM_F_ACK) == (1, 2, 4)
    assert lib.NLM_F_DUMP == 0x300
    assert lib.CTRL_CMD_GETFAMILY == 3
    assert (lib.CTRL_ATTR_FAMILY_ID, lib.CTRL_ATTR_FAMILY_NAME) == (1, 2)
    assert libnl_py.RUNTIME_VERSION[:2] >= (lib.LIBNL_VER_MAJ, lib.LIBNL_VER_MIN)
    assert libnl_py.LIBNL_VERSION.startswith(f"{lib.LIBNL_VER_MAJ}.{lib.LIBNL_VER_MIN}.")
    # names only newer libnl has are present exactly when compiled in
    assert hasattr(lib, "nla_get_uint") == bool(lib.HAS_NLA_UINT)
    assert bool(lib.HAS_NLA_UINT) == ((lib.LIBNL_VER_MAJ, lib.LIBNL_VER_MIN) >= (3, 11))


def test_libnl_version_matches_pkg_config() -> None:
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config not installed")
    proc = subprocess.run(
        ["pkg-config", "--modversion", "libnl-3.0"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"pkg-config does not know libnl-3.0: {proc.stderr.strip()}")
    assert proc.stdout.strip() == libnl_py.LIBNL_VERSION


# -- connecting --------------------------------------------------------------------


def test_new_socket_is_unconnected() -> None:
    with Socket() as s:
        assert s.fileno() == -1
        assert s.connected is False
        assert s.peer_port == 0
        assert s.freed is False
        assert repr(s) == "<Socket unconnected>"


def test_genl_connect_binds_generic_netlink_port(genl_socket: Socket) -> None:
    port = genl_socket.local_port
    fd = genl_socket.fileno()
    assert port != 0
    assert fd >= 0
    assert genl_socket.connected is True
    entry = entry_for(lib.NETLINK_GENERIC, port)
    assert entry.inode == fd_inode(fd)
    assert repr(genl_socket) == f"<Socket fd={fd} local_port={port}>"


def test_explicit_local_port_is_bound() -> None:
    port = free_port(lib.NETLINK_GENERIC)
    with Socket() as s:
        s.set_local_port(port)
        assert s.local_port == port
        s.genl_connect()
        assert s.local_port == port
        assert entry_for(lib.NETLINK_GENERIC, port).inode == fd_inode(s.fileno())
        assert resolve_nlctrl(s)[0] == lib.GENL_ID_CTRL


def test_local_port_in_use_is_exists_error() -> None:
    port = free_port(lib.NETLINK_GENERIC)
    with Socket() as a, Socket() as b:
        a.set_local_port(port)
        a.genl_connect()
        b.set_local_port(port)
        with pytest.raises(FileExistsError) as info:
            b.genl_connect()
        exc = info.value
        assert isinstance(exc, errors.ExistsError)
        assert exc.errno == errno.EEXIST
        assert exc.code == lib.NLE_EXIST == 6
        assert exc.function == "genl_connect"
        # libnl closed the failed fd; the socket stays usable
        assert b.fileno() == -1
        assert b.connected is False
        assert b.local_port == port

        b.set_local_port(0)
        b.genl_connect()
        assert b.local_port not in (0, port)
        assert entry_for(lib.NETLINK_GENERIC, b.local_port).inode == fd_inode(b.fileno())
        assert entry_for(lib.NETLINK_GENERIC, port).inode == fd_inode(a.fileno())
        assert resolve_nlctrl(b)[0] == lib.GENL_ID_CTRL
        assert resolve_nlctrl(a)[0] == lib.GENL_ID_CTRL


def test_genl_connect_twice_is_bad_socket(genl_socket: Socket) -> None:
    fd = genl_socket.fileno()
    port = genl_socket.local_port
    inode = fd_inode(fd)
    with pytest.raises(errors.BadSocketError) as info:
        genl_socket.genl_connect()
    assert info.value.code == lib.NLE_BAD_SOCK == 3
    assert info.value.errno == errno.EBADF
    assert not isinstance(info.value, errors.FreedSocketError)
    with pytest.raises(errors.BadSocketError):
        genl_socket.connect(lib.NETLINK_ROUTE)
    # the first connection is untouched
    assert genl_socket.fileno() == fd
    assert genl_socket.local_port == port
    assert fd_inode(fd) == inode
    assert entry_for(lib.NETLINK_GENERIC, port).inode == inode
    assert resolve_nlctrl(genl_socket)[0] == lib.GENL_ID_CTRL


def test_unconnected_socket_io_is_bad_socket() -> None:
    with Socket() as s:
        with pytest.raises(errors.BadSocketError) as info:
            s.send_simple(lib.GENL_ID_CTRL, 0, getfamily_request("nlctrl"))
        assert info.value.code == 3
        assert info.value.function == "nl_send_simple"
        with pytest.raises(errors.BadSocketError) as info:
            s.recv(timeout=0.1)
        assert info.value.function == "nl_recv"
        with pytest.raises(errors.BadSocketError) as info:
            s.set_buffer_size(65536, 65536)
        assert info.value.function == "nl_socket_set_buffer_size"


def test_connect_route_and_dump_links() -> None:
    with Socket() as s:
        s.connect(lib.NETLINK_ROUTE)
        assert entry_for(lib.NETLINK_ROUTE, s.local_port).inode == fd_inode(s.fileno())
        links = dump_links(s)
        assert (1, "lo") in links
        # the dump was fully consumed: nothing is left queued
        with pytest.raises(errors.NetlinkTimeoutError):
            s.recv(timeout=0.05)


@pytest.mark.parametrize("protocol", [-1, 32, 2**32])
def test_connect_rejects_bad_protocol(protocol: int) -> None:
    with Socket() as s, pytest.raises(ValueError):
        s.connect(protocol)


def test_set_buffer_size(genl_socket: Socket) -> None:
    genl_socket.set_buffer_size(65536, 65536)
    with socket.socket(fileno=os.dup(genl_socket.fileno())) as view:
        value = view.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    assert value == 2 * 65536  # the kernel doubles it for bookkeeping
    with pytest.raises(ValueError):
        genl_socket.set_buffer_size(-1)


# -- lifecycle ---------------------------------------------------------------------


def test_close_twice_then_reconnect(genl_socket: Socket) -> None:
    port = genl_socket.local_port
    old_inode = fd_inode(genl_socket.fileno())
    genl_socket.close()
    genl_socket.close()
    assert genl_socket.fileno() == -1
    assert genl_socket.connected is False
    assert genl_socket.freed is False
    assert port not in bound_ports(lib.NETLINK_GENERIC)
    # nl_close keeps the port: a later connect binds it again
    genl_socket.genl_connect()
    assert genl_socket.local_port == port
    inode = fd_inode(genl_socket.fileno())
    assert inode != old_inode
    assert entry_for(lib.NETLINK_GENERIC, port).inode == inode
    assert resolve_nlctrl(genl_socket)[0] == lib.GENL_ID_CTRL


def test_close_unconnected_is_noop() -> None:
    with Socket() as s:
        s.close()
        assert s.fileno() == -1
        s.genl_connect()
        assert s.fileno() >= 0


def test_free_twice_releases_fd_and_port() -> None:
    s = Socket()
    s.genl_connect()
    port = s.local_port
    inode = fd_inode(s.fileno())
    s.free()
    s.free()
    assert s.freed is True
    assert repr(s) == "<Socket freed>"
    assert port not in bound_ports(lib.NETLINK_GENERIC)
    assert inode not in {e.inode for e in netlink_entries()}
    with pytest.raises(errors.FreedSocketError) as info:
        s.local_port  # noqa: B018
    exc = info.value
    assert isinstance(exc, errors.BadSocketError)
    assert isinstance(exc, errors.NetlinkError)
    assert isinstance(exc, OSError)
    assert exc.code == lib.NLE_BAD_SOCK
    assert exc.errno == errno.EBADF
    assert "freed" in str(exc)


# Every public member of Socket, called on a freed socket.
AFTER_FREE_CALLS = {
    "set_local_port": "s.set_local_port(1234)",
    "local_port": "s.local_port",
    "set_peer_port": "s.set_peer_port(1234)",
    "peer_port": "s.peer_port",
    "connect": "s.connect(lib.NETLINK_ROUTE)",
    "genl_connect": "s.genl_connect()",
    "fileno": "s.fileno()",
    "connected": "s.connected",
    "set_buffer_size": "s.set_buffer_size(65536, 65536)",
    "send_simple": "s.send_simple(16, 0, b'x')",
    "recv": "s.recv()",
    "recv(timeout)": "s.recv(timeout=0.1)",
    # libnl's own message path
    "send_auto": "s.send_auto(Message())",
    "send_sync": "s.send_sync(Message())",
    "recvmsgs": "s.recvmsgs(Callbacks())",
    "recvmsgs_report": "s.recvmsgs_report(Callbacks())",
    "recvmsgs_default": "s.recvmsgs_default()",
    "wait_for_ack": "s.wait_for_ack()",
    "modify_cb": "s.modify_cb(0, lambda m: 0)",
    "modify_err_cb": "s.modify_err_cb(lambda who, e: 0)",
    "genl_ctrl_resolve": "s.genl_ctrl_resolve('nlctrl')",
    "genl_ctrl_resolve_grp": "s.genl_ctrl_resolve_grp('nlctrl', 'notify')",
    "disable_seq_check": "s.disable_seq_check()",
    "disable_auto_ack": "s.disable_auto_ack()",
    "enable_auto_ack": "s.enable_auto_ack()",
    "disable_msg_peek": "s.disable_msg_peek()",
    "enable_msg_peek": "s.enable_msg_peek()",
    "set_nonblocking": "s.set_nonblocking()",
}
# ... and the ones that stay harmless after free.
AFTER_FREE_NOOPS = {"close", "free", "freed"}


def test_after_free_matrix_covers_public_api() -> None:
    public = {name for name in dir(Socket) if not name.startswith("_")}
    covered = {call.split("(")[0] for call in AFTER_FREE_CALLS} | AFTER_FREE_NOOPS
    assert public == covered


@pytest.mark.parametrize("connected", [True, False], ids=["connected", "unconnected"])
def test_after_free_matrix_in_subprocess(connected: bool) -> None:
    code = f"""
        from libnl_py import Callbacks, Message, Socket, errors, lib
        s = Socket()
        if {connected}:
            s.genl_connect()
        s.free()
        s.free()
        for name, expr in {AFTER_FREE_CALLS!r}.items():
            try:
                eval(expr)
            except errors.FreedSocketError as exc:
                print(name, "FreedSocketError", exc.code, exc.errno,
                      isinstance(exc, errors.BadSocketError), isinstance(exc, OSError))
            except BaseException as exc:
                print(name, "WRONG", type(exc).__name__, exc)
            else:
                print(name, "NO-ERROR")
        s.close()
        s.free()
        print("after", s.freed, repr(s))
    """
    proc = run_python(code)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    expected = [
        f"{name} FreedSocketError {lib.NLE_BAD_SOCK} {errno.EBADF} True True"
        for name in AFTER_FREE_CALLS
    ] + ["after True <Socket freed>"]
    assert proc.stdout.splitlines() == expected
    assert proc.stderr == ""


def test_context_manager_frees() -> None:
    s = Socket()
    with s as entered:
        assert entered is s
        s.genl_connect()
        port = s.local_port
        assert port in bound_ports(lib.NETLINK_GENERIC)
    assert s.freed is True
    assert port not in bound_ports(lib.NETLINK_GENERIC)


def test_context_manager_frees_on_exception() -> None:
    with pytest.raises(RuntimeError, match="boom"), Socket() as s:
        s.genl_connect()
        port = s.local_port
        raise RuntimeError("boom")
    assert s.freed is True
    assert port not in bound_ports(lib.NETLINK_GENERIC)


# -- fork -----------------------------------------------------------------------


def in_child(body: Callable[[], str], timeout: float = 10) -> str:
    """Run ``body`` in a forked child; return what it returned (or the exception it raised).

    A child that hangs is killed and reported as "TIMEOUT".
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        status = 0
        try:
            os.close(read_fd)
            try:
                result = body()
            except BaseException as exc:
                result = f"raised {type(exc).__name__}: {exc}"
            os.write(write_fd, result.encode())
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    try:
        chunks = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([read_fd], [], [], max(0.0, remaining))
            if not ready:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                return "TIMEOUT"
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return b"".join(chunks).decode()


# Every call that must refuse a parent's socket (recv() included: it must not block).
FORK_CALLS = {**AFTER_FREE_CALLS, "close": "s.close()"}


def test_forked_child_gets_forked_socket_error(genl_socket: Socket) -> None:
    port = genl_socket.local_port
    fd = genl_socket.fileno()

    def child() -> str:
        lines = []
        for name, expr in FORK_CALLS.items():
            try:
                names = {"s": genl_socket, "lib": lib, "Message": Message, "Callbacks": Callbacks}
                eval(expr, names)
            except errors.ForkedSocketError as exc:
                lines.append(f"{name} ForkedSocketError {exc.code}")
            except BaseException as exc:
                lines.append(f"{name} WRONG {type(exc).__name__}: {exc}")
            else:
                lines.append(f"{name} NO-ERROR")
        lines.append(repr(genl_socket))
        # the child's copy can be freed, and the child can open its own socket
        genl_socket.free()
        lines.append(f"freed {genl_socket.freed}")
        with Socket() as own:
            own.genl_connect()
            lines.append(f"own {resolve_nlctrl(own)[0]} {own.local_port != port}")
        return "\n".join(lines)

    result = in_child(child)
    assert result.splitlines() == [
        f"{name} ForkedSocketError {lib.NLE_BAD_SOCK}" for name in FORK_CALLS
    ] + ["<Socket of the parent process>", "freed True", f"own {lib.GENL_ID_CTRL} True"]
    # the parent's socket is unaffected
    assert genl_socket.freed is False
    assert genl_socket.fileno() == fd
    assert entry_for(lib.NETLINK_GENERIC, port).inode == fd_inode(fd)
    assert resolve_nlctrl(genl_socket)[0] == lib.GENL_ID_CTRL


def test_forked_child_while_another_thread_is_in_recv() -> None:
    """A thread blocked in recv() holds the socket's lock when the process forks.

    The child must still get ForkedSocketError, not wait forever for a lock
    that no thread of its own will release.
    """
    with Socket() as receiver, Socket() as sender:
        receiver.genl_connect()
        sender.genl_connect()
        sender.set_peer_port(receiver.local_port)
        received: list[tuple[bytes, int]] = []
        thread = threading.Thread(target=lambda: received.append(receiver.recv(timeout=10)))
        thread.start()
        try:
            deadline = time.monotonic() + 5
            while not receiver._lock.locked():  # the thread is inside recv()
                assert time.monotonic() < deadline, "receiver thread never entered recv()"
                time.sleep(0.001)

            def child() -> str:
                try:
                    receiver.local_port  # noqa: B018
                except errors.ForkedSocketError:
                    return "ForkedSocketError"
                return "NO-ERROR"

            result = in_child(child, timeout=3)
        finally:
            sender.send_simple(0x20, 0, b"wake up")
            thread.join(5)
        assert not thread.is_alive()
        assert received and received[0][1] == sender.local_port
        assert result == "ForkedSocketError"


# -- ports -----------------------------------------------------------------------


BAD_PORTS = [
    (-1, (ValueError, OverflowError)),
    (2**32, (ValueError, OverflowError)),
    (2**64, (ValueError, OverflowError)),
    (1.5, TypeError),
    (1.0, TypeError),
    ("1", TypeError),
    (None, TypeError),
    (True, TypeError),
    (b"\x01", TypeError),
]


@pytest.mark.parametrize(("value", "exc_type"), BAD_PORTS, ids=repr)
def test_set_local_port_rejects(value: object, exc_type: type[Exception]) -> None:
    with Socket() as s:
        s.set_local_port(1234)
        with pytest.raises(exc_type):
            s.set_local_port(value)  # type: ignore[arg-type]
        assert s.local_port == 1234


@pytest.mark.parametrize(("value", "exc_type"), BAD_PORTS, ids=repr)
def test_set_peer_port_rejects(value: object, exc_type: type[Exception]) -> None:
    with Socket() as s:
        s.set_peer_port(4321)
        with pytest.raises(exc_type):
            s.set_peer_port(value)  # type: ignore[arg-type]
        assert s.peer_port == 4321


def test_port_bounds_and_index() -> None:
    class Index:
        def __index__(self) -> int:
            return 77

    with Socket() as s:
        s.set_peer_port(2**32 - 1)
        assert s.peer_port == 0xFFFFFFFF
        s.set_peer_port(Index())  # type: ignore[arg-type]
        assert s.peer_port == 77
        s.set_peer_port(0)
        assert s.peer_port == 0
        s.set_local_port(2**32 - 1)
        assert s.local_port == 0xFFFFFFFF


# -- raw I/O -------------------------------------------------------------------


def test_unicast_between_userspace_sockets() -> None:
    with Socket() as a, Socket() as b:
        a.genl_connect()
        b.genl_connect()
        b.set_peer_port(a.local_port)
        assert b.peer_port == a.local_port
        sent = b.send_simple(0x20, 0, b"hello world!")
        assert sent == NLMSGHDR.size + 12

        data, port = a.recv(timeout=2)
        assert port == b.local_port
        assert len(data) == NLMSGHDR.size + 12
        length, mtype, flags, _seq, pid = NLMSGHDR.unpack_from(data)
        assert length == len(data)
        assert mtype == 0x20
        assert flags & lib.NLM_F_REQUEST
        assert flags & lib.NLM_F_ACK  # libnl's auto-ACK
        assert pid == b.local_port
        assert data[NLMSGHDR.size :] == b"hello world!"

        # nothing else arrived on either side
        for s in (a, b):
            with pytest.raises(errors.NetlinkTimeoutError):
                s.recv(timeout=0.05)


def test_send_accepts_buffers(genl_socket: Socket) -> None:
    genl_socket.set_peer_port(genl_socket.local_port)  # to itself
    for payload in (bytearray(b"abcd"), memoryview(b"xxabcdxx")[2:6]):
        assert genl_socket.send_simple(0x21, 0, payload) == NLMSGHDR.size + 4
        (msg,), port = recv_messages(genl_socket)
        assert port == genl_socket.local_port
        assert (msg.type, msg.payload) == (0x21, b"abcd")


@pytest.mark.parametrize(
    ("args", "exc_type"),
    [
        ((2**16, 0, b""), ValueError),
        ((-1, 0, b""), ValueError),
        ((0x20, 2**16, b""), ValueError),
        ((0x20, 0, "text"), TypeError),
        ((0x20, 0, None), TypeError),
    ],
)
def test_send_simple_rejects(
    genl_socket: Socket, args: tuple[object, ...], exc_type: type[Exception]
) -> None:
    with pytest.raises(exc_type):
        genl_socket.send_simple(*args)  # type: ignore[arg-type]


def test_recv_timeout(genl_socket: Socket) -> None:
    start = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        genl_socket.recv(timeout=0.2)
    elapsed = time.monotonic() - start
    assert 0.19 <= elapsed < 1.0
    exc = info.value
    assert isinstance(exc, errors.NetlinkTimeoutError)
    assert isinstance(exc, errors.NetlinkError)
    assert exc.timeout == 0.2
    assert exc.errno == errno.ETIMEDOUT
    assert exc.function == "nl_recv"
    # the socket is still usable after a timeout
    assert resolve_nlctrl(genl_socket)[0] == lib.GENL_ID_CTRL


def test_getfamily_nlctrl_raw(genl_socket: Socket) -> None:
    request = getfamily_request("nlctrl")
    assert request == struct.pack("=BBH", 3, 1, 0) + struct.pack("=HH", 11, 2) + b"nlctrl\0\0"
    sent = genl_socket.send_simple(lib.GENL_ID_CTRL, 0, request)
    assert sent == NLMSGHDR.size + len(request) == 32

    # the reply
    data, port = genl_socket.recv(timeout=2)
    assert port == 0
    (reply,) = split_messages(data)
    assert reply.type == lib.GENL_ID_CTRL
    assert reply.pid == genl_socket.local_port
    cmd, _version, _reserved = GENLMSGHDR.unpack_from(reply.payload)
    assert cmd == lib.CTRL_CMD_NEWFAMILY
    attrs = parse_attrs(reply.payload[GENLMSGHDR.size :])
    assert struct.unpack("=H", attrs[lib.CTRL_ATTR_FAMILY_ID]) == (lib.GENL_ID_CTRL,)
    assert attrs[lib.CTRL_ATTR_FAMILY_NAME] == b"nlctrl\0"

    # then the ACK libnl asked for, echoing the request's header
    data, port = genl_socket.recv(timeout=2)
    assert port == 0
    (ack,) = split_messages(data)
    assert ack.type == lib.NLMSG_ERROR
    assert ack.seq == reply.seq
    error, *echoed = struct.unpack_from("=iIHHII", ack.payload)
    assert error == 0
    assert echoed == [
        sent,
        lib.GENL_ID_CTRL,
        lib.NLM_F_REQUEST | lib.NLM_F_ACK,
        reply.seq,
        genl_socket.local_port,
    ]

    # and nothing more; the next request takes the next sequence number
    with pytest.raises(errors.NetlinkTimeoutError):
        genl_socket.recv(timeout=0.05)
    assert resolve_nlctrl(genl_socket) == (lib.GENL_ID_CTRL, reply.seq + 1)


def test_getfamily_unknown_family_gets_error_ack(genl_socket: Socket) -> None:
    genl_socket.send_simple(lib.GENL_ID_CTRL, 0, getfamily_request("no-such-family-xyz"))
    (ack,), port = recv_messages(genl_socket)
    assert port == 0
    assert ack.type == lib.NLMSG_ERROR
    # the kernel's own errno: EINVAL on current kernels, ENOENT on older ones
    assert struct.unpack_from("=i", ack.payload)[0] in (-errno.EINVAL, -errno.ENOENT)
    with pytest.raises(errors.NetlinkTimeoutError):
        genl_socket.recv(timeout=0.05)


# -- resources -----------------------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def _churn(n: int, explicit_free: bool) -> None:
    for _ in range(n):
        s = Socket()
        s.genl_connect()
        if explicit_free:
            s.free()
    # no gc.collect(): reference counting alone must release the last one
    del s


@pytest.mark.parametrize("explicit_free", [False, True], ids=["dropped", "freed"])
def test_many_sockets_release_fds_and_memory(explicit_free: bool) -> None:
    _churn(2000, explicit_free)  # warm up allocator and caches
    fds = _open_fds()
    rss = _rss_kib()
    start = time.monotonic()
    _churn(20_000, explicit_free)
    elapsed = time.monotonic() - start
    assert _open_fds() == fds
    growth_kib = _rss_kib() - rss
    assert growth_kib < 8 * 1024, f"RSS grew by {growth_kib} KiB"
    assert elapsed < 15, f"20,000 sockets took {elapsed:.1f} s"


# -- network namespaces (root) ---------------------------------------------------------


def test_fresh_network_namespace() -> None:
    """In a new network namespace there is only lo, and only our socket in /proc."""
    require_root("needs root (CAP_SYS_ADMIN) for unshare(CLONE_NEWNET)")
    code = """
        import ctypes, os
        CLONE_NEWNET = 0x40000000
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
        from conftest import dump_links, netlink_entries
        from libnl_py import Socket, lib
        with Socket() as s:
            s.connect(lib.NETLINK_ROUTE)
            print("links", dump_links(s))
            users = sorted((e.protocol, e.port) for e in netlink_entries() if e.port != 0)
            print("mine", users == [(lib.NETLINK_ROUTE, s.local_port)])
    """
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["links [(1, 'lo')]", "mine True"]
