"""Leaks: open fds and RSS stay flat over long-ish loops of every request path.

Each test warms up (caches, allocator pools, interned strings), measures,
runs many more iterations, and measures again: an fd leaked per iteration or
a few hundred bytes kept per iteration would show. A run under valgrind
(``tools/leakcheck.py``) covers what RSS cannot see; ``test_valgrind`` runs a
short version of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest
from conftest import in_ci

from libnl_py import NL_OK, Callbacks, Message, Socket, errors, lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.callbacks import NL_CB_MSG_OUT, NL_CB_VALID
from libnl_py.genl import GenlSocket
from libnl_py.genl.aio import AsyncGenlSocket
from libnl_py.testing import FakePeer, Request, silent

FAMILY = 0x1234
CMD = 7
NLCTRL = {"family-name": "nlctrl"}
NLCTRL_QUERY = struct.pack("=HH", 11, lib.CTRL_ATTR_FAMILY_NAME) + b"nlctrl\0\0"
RSS_SLACK_KIB = 2048  # allocator noise; a leak of >= 200 bytes per iteration exceeds it
LEAKCHECK = Path(__file__).resolve().parent.parent / "tools" / "leakcheck.py"


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (resource.getpagesize() // 1024)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def assert_flat(step: Callable[[], object], iterations: int, warmup: int = 200) -> None:
    for _ in range(warmup):
        step()
    fds, rss = open_fds(), rss_kib()
    for _ in range(iterations):
        step()
    grown = rss_kib() - rss
    assert open_fds() == fds, f"fds {fds} -> {open_fds()}"
    assert grown < RSS_SLACK_KIB, f"RSS grew {grown} KiB over {iterations} iterations"


def test_execute(sock: GenlSocket) -> None:
    assert_flat(lambda: sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, NLCTRL), 10000)


def test_dump(sock: GenlSocket) -> None:
    assert_flat(lambda: sock.dump(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY), 2000)


def test_decoded_dump(sock: GenlSocket) -> None:
    """Replies decoded in C as they arrive (libnl_py._codec.decode_replies)."""
    assert_flat(lambda: sock.dump(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, decode=True), 2000)


def test_decoder_on_malformed_and_unknown_attributes() -> None:
    """Errors raised from C, unknown attributes kept under their numbers, repeats."""
    from libnl_py.attrs import MalformedAttributesError
    from libnl_py.spec import registry

    codec = registry.codec_for(registry.get("ethtool"))  # type: ignore[arg-type]
    nest = struct.pack("=HH", 12, 0x8001) + struct.pack("=HH", 8, 2) + b"lo\0\0"
    good = nest + struct.pack("=HHI", 8, 99, 7) * 3  # header, then an unknown number thrice
    bad = nest + struct.pack("=HH", 40, 2)

    def step() -> None:
        assert codec.decode("linkinfo", good)[99] == [b"\7\0\0\0"] * 3
        with contextlib.suppress(MalformedAttributesError):
            codec.decode("linkinfo", bad)

    assert_flat(step, 100000)


def test_family_dump_and_lookups(sock: GenlSocket) -> None:
    """Families made by the codec's records in C (a dump, one request), and their names."""

    def step() -> None:
        sock.list_families()
        sock._ctrl(NLCTRL_QUERY, 0)

    assert_flat(step, 3000)


def test_family_records_of_malformed_and_unnamed_replies() -> None:
    """Records C declines (malformed, required attribute absent, names not cached): no leak."""
    from libnl_py.genl import family as family_module
    from libnl_py.spec import registry

    def reply(group_id: bool) -> bytes:
        enc = AttributeEncoder()
        enc.u16(lib.CTRL_ATTR_FAMILY_ID, 0x20)
        enc.string(lib.CTRL_ATTR_FAMILY_NAME, "leak-check-family")
        with enc.nested(lib.CTRL_ATTR_OPS):
            for i in range(1, 5):
                with enc.nested(i):
                    enc.u32(lib.CTRL_ATTR_OP_ID, i)
                    enc.u32(lib.CTRL_ATTR_OP_FLAGS, 2)
        with enc.nested(lib.CTRL_ATTR_MCAST_GROUPS), enc.nested(1):
            enc.string(lib.CTRL_ATTR_MCAST_GRP_NAME, "g")
            if group_id:
                enc.u32(lib.CTRL_ATTR_MCAST_GRP_ID, 7)
        attrs = enc.encode()
        return struct.pack("=IHHII", 20 + len(attrs), 16, 0, 1, 0) + b"\x01\x02\0\0" + attrs

    complete, no_group_id = reply(True), reply(False)
    cut = complete[:-6]
    names = {1: "one"}
    if family_module._ACCELERATED is None:
        pytest.skip("libnl_py._codec is not built (PyPy?)")

    def step() -> None:
        registry.command_names_cache.pop("leak-check-family", None)
        assert family_module._record(complete, None) is None  # names not looked up yet
        assert family_module._record(complete, names) is not None
        assert family_module._record(no_group_id, names) is None
        assert family_module._record(cut, names) is None
        out: list[object] = []
        family_module.decode_batch(complete, [0, 16, 0, 1, 0, 0, len(complete), 0], out)
        assert out == [complete]

    assert_flat(step, 100000)


def test_error_with_ext_ack(sock: GenlSocket) -> None:
    def step() -> None:
        with contextlib.suppress(errors.InvalidError):
            sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, {99: b"x"})
        with contextlib.suppress(errors.NotFoundError):
            sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, {"family-name": "nosuch"})

    assert_flat(step, 5000)


def test_timeout() -> None:
    with FakePeer() as peer, GenlSocket(peer_port=peer.port) as client:
        peer.serve(silent)
        sent = [0]

        def step() -> None:
            with contextlib.suppress(errors.NetlinkTimeoutError):
                client.execute(FAMILY, CMD, timeout=0)
            sent[0] += 1
            # Let the silent peer read it: a peer that falls behind fills its
            # receive queue, and the client's send then fails with EAGAIN.
            deadline = time.monotonic() + 5
            while peer.served < sent[0] and time.monotonic() < deadline:
                time.sleep(0.0001)

        assert_flat(step, 3000)
        assert client.engine.pending == {}
        assert peer.errors == []


def test_peer_replies_dumps_and_errors() -> None:
    with FakePeer() as peer, GenlSocket(peer_port=peer.port, timeout=5) as client:
        enc = AttributeEncoder()
        enc.string(1, "x" * 200)

        def handler(p: FakePeer, req: Request) -> None:
            if req.message.flags & lib.NLM_F_DUMP == lib.NLM_F_DUMP:
                p.dump(req, [[enc, enc], [enc]])
            elif req.cmd == 2:
                p.ack(req, -22, message="bad", offset=20)
            else:
                p.reply(req, enc)
                p.ack(req)

        peer.serve(handler)

        def step() -> None:
            client.execute(FAMILY, CMD)
            client.dump(FAMILY, CMD)
            with contextlib.suppress(errors.InvalidError):
                client.execute(FAMILY, 2)

        assert_flat(step, 1500)


def test_socket_open_close_cycles() -> None:
    def step() -> None:
        s = GenlSocket()
        s.close()
        s.free()
        with GenlSocket() as t:
            t.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, NLCTRL)
        GenlSocket()  # dropped without free(): the garbage collector frees it

    assert_flat(step, 2000)


def test_fake_peer_cycles() -> None:
    def step() -> None:
        with FakePeer() as peer:
            peer.spoof(peer.port, b"\0" * 16)  # opens the second socket too

    assert_flat(step, 1000, warmup=100)


def test_async() -> None:
    async def main() -> None:
        async with AsyncGenlSocket(timeout=5) as asock:

            async def batch() -> None:
                await asyncio.gather(
                    *(
                        asock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, NLCTRL)
                        for _ in range(20)
                    )
                )
                await asock.list_families()
                with contextlib.suppress(errors.NotFoundError):
                    await asock.resolve_family("nosuch")

            for _ in range(50):
                await batch()
            fds, rss = open_fds(), rss_kib()
            for _ in range(300):
                await batch()
            assert open_fds() == fds
            assert rss_kib() - rss < RSS_SLACK_KIB

        async def cycle() -> None:
            async with AsyncGenlSocket(timeout=5) as s:
                await s.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, NLCTRL)

        for _ in range(50):
            await cycle()
        fds, rss = open_fds(), rss_kib()
        for _ in range(500):
            await cycle()
        assert open_fds() == fds
        assert rss_kib() - rss < RSS_SLACK_KIB

    asyncio.run(main())


# -- libnl's own message path (Message, Callbacks) -------------------------------------


def test_messages_built_and_freed() -> None:
    """100,000 messages built, parsed back and freed (every other one left to the collector)."""
    count = [0]

    def step() -> None:
        msg = Message()
        msg.genlmsg_put(0, 0, FAMILY, 0, 0, CMD, 1)
        msg.put_u32(1, 5)
        msg.put_string(2, "x" * 20)
        nest = msg.nest_start(3)
        msg.put_u64(4, 1)
        msg.nest_end(nest)
        tb = msg.genlmsg_parse(0, 4)
        tb[3].parse_nested(4)  # type: ignore[union-attr]
        bytes(msg)
        count[0] += 1
        if count[0] % 2:
            msg.free()

    assert_flat(step, 100_000)


def test_callbacks() -> None:
    """100,000 Python callbacks run by nl_recvmsgs (some raising), and callback sets."""
    enc = AttributeEncoder()
    enc.u32(1, 7)
    calls = [0]

    def valid(msg: Message) -> int:
        tb = msg.genlmsg_parse(0, 1)
        calls[0] += tb[1].get_u32()  # type: ignore[union-attr]
        return NL_OK

    def raising(msg: Message) -> int:
        raise KeyError(msg.header.seq)

    with FakePeer() as peer, Socket() as sock, Callbacks() as cb:
        sock.genl_connect()
        sock.set_peer_port(peer.port)
        sock.disable_auto_ack()
        port = sock.local_port
        datagram = b"".join(peer.genl_message(FAMILY, CMD, enc) for _ in range(100))
        cb.set(NL_CB_VALID, valid)
        sock.modify_cb(NL_CB_MSG_OUT, lambda m: NL_OK)
        steps = [0]

        def step() -> None:
            peer.send_raw(port, datagram)
            sock.recvmsgs(cb)  # 100 callbacks
            steps[0] += 1
            if steps[0] % 10 == 0:
                with Callbacks() as other:
                    other.set(NL_CB_VALID, raising)
                    clone = other.clone()
                    peer.send_raw(port, datagram[: len(datagram) // 100])
                    with contextlib.suppress(KeyError):
                        sock.recvmsgs(clone)
                    clone.free()
                with Message() as msg:
                    msg.genlmsg_put(0, 0, FAMILY, 0, 0, CMD, 1)
                    sock.send_auto(msg)  # one NL_CB_MSG_OUT
                peer.recv_request()

        assert_flat(step, 1000)
    assert calls[0] == 7 * 100 * 1200


# -- valgrind ----------------------------------------------------------------------------------


def test_valgrind(tmp_path: Path) -> None:
    """A short tools/leakcheck.py under memcheck: no definite leak through libnl or _libnl.

    Python's own blocks still reachable or lost at exit are not ours and are
    not counted. Skips without valgrind, except under CI=true (then it fails).
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        if in_ci():
            pytest.fail("CI=true but valgrind is missing (apt-get install valgrind)", pytrace=False)
        pytest.skip("valgrind is not installed (apt-get install valgrind)")
    if not LEAKCHECK.exists():
        pytest.skip(f"{LEAKCHECK} is not part of this tree")
    log = tmp_path / "valgrind.log"
    env = {**os.environ, "PYTHONMALLOC": "malloc"}
    proc = subprocess.run(
        [
            valgrind,
            "--tool=memcheck",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--num-callers=40",
            f"--log-file={log}",
            sys.executable,
            str(LEAKCHECK),
            "--rounds",
            "10",
            "--fuzz",
            "1000",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    report = subprocess.run(
        [sys.executable, str(LEAKCHECK), "--report", str(log)], capture_output=True, text=True
    )
    print(report.stdout)
    assert report.returncode == 0, report.stdout[-6000:]
    text = log.read_text()
    assert "Invalid read" not in text and "Invalid write" not in text, text[-6000:]
