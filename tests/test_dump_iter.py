"""GenlSocket.dump_iter: a dump as an iterator, its memory that of one receive batch.

Against a userspace peer (100,000 messages, errors in NLMSG_DONE, DUMP_INTR,
stopping early) and against the kernel (ethtool over veths in a private
namespace, where a second dump on a socket whose dump is unfinished would be
refused with EBUSY: stopping early must read the rest).
"""

from __future__ import annotations

import errno
import resource
import subprocess
import threading
from typing import Any

import pytest
from conftest import call_in_netns, marker, require_root

from libnl_py import errors, lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.genl import GenlSocket
from libnl_py.testing import FakePeer, Request

FAKE_FAMILY = 0x1234
FAKE_CMD = 7


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (resource.getpagesize() // 1024)


def numbered(i: int) -> AttributeEncoder:
    enc = AttributeEncoder()
    enc.u32(1, i)
    enc.string(2, "x" * 40)
    return enc


def serve_dumps(peer: FakePeer, messages: int, per_datagram: int = 100) -> None:
    """Dumps of ``messages`` numbered messages; any other request gets one reply and an ACK."""

    def handler(p: FakePeer, req: Request) -> None:
        if req.message.flags & lib.NLM_F_DUMP != lib.NLM_F_DUMP:
            p.reply(req, marker("reply"))
            p.ack(req)
            return
        for start in range(0, messages, per_datagram):
            part = [numbered(i) for i in range(start, min(messages, start + per_datagram))]
            p.send_raw(
                req.port,
                b"".join(
                    p.genl_message(req.family_id, req.cmd, a, seq=req.seq, flags=lib.NLM_F_MULTI)
                    for a in part
                ),
            )
        p.done(req)

    peer.serve(handler)


@pytest.fixture
def peer() -> Any:
    with FakePeer(rcvbuf=256 * 1024) as p:
        yield p


def test_messages_come_in_order_and_equal_the_list_form(peer: FakePeer) -> None:
    serve_dumps(peer, 2500)
    with GenlSocket(peer_port=peer.port, timeout=10) as sock:
        streamed = [m.attrs.u32(1) for m in sock.dump_iter(FAKE_FAMILY, FAKE_CMD)]
        listed = [m.attrs.u32(1) for m in sock.dump(FAKE_FAMILY, FAKE_CMD)]
        assert streamed == listed == list(range(2500))


def test_100000_messages_iterated_in_bounded_memory(peer: FakePeer) -> None:
    """RSS grows by less than 4 MiB over the iteration; the list form's growth for comparison."""
    total = 100_000
    serve_dumps(peer, total)
    with GenlSocket(peer_port=peer.port, timeout=30) as sock:
        for _ in sock.dump_iter(FAKE_FAMILY, FAKE_CMD):
            pass  # warm: arenas, codecs
        before = rss_kib()
        peak = before
        seen = 0
        for msg in sock.dump_iter(FAKE_FAMILY, FAKE_CMD):
            seen += 1
            if seen % 5000 == 0:
                peak = max(peak, rss_kib())
            assert msg.attrs.u32(1) == seen - 1
        assert seen == total
        grown = peak - before
        listed_before = rss_kib()
        messages = sock.dump(FAKE_FAMILY, FAKE_CMD)
        listed = rss_kib() - listed_before
        assert len(messages) == total
        print(f"dump_iter: peak RSS +{grown} KiB; dump(): +{listed} KiB for {total} messages")
        assert grown < 4 * 1024, f"dump_iter grew RSS by {grown} KiB"
        assert listed > grown


def test_stopping_early_leaves_the_socket_in_step(peer: FakePeer) -> None:
    serve_dumps(peer, 3000)
    with GenlSocket(peer_port=peer.port, timeout=10) as sock:
        got = []
        for msg in sock.dump_iter(FAKE_FAMILY, FAKE_CMD):
            got.append(msg.attrs.u32(1))
            if len(got) == 10:
                break
        assert got == list(range(10))
        (reply,) = sock.execute(FAKE_FAMILY, FAKE_CMD)
        assert reply.attrs.string(1) == "reply"  # its own reply, not the dump's rest
        assert len(sock.dump(FAKE_FAMILY, FAKE_CMD)) == 3000
        # An exception in the loop, and close() on the iterator, do the same.
        with pytest.raises(ZeroDivisionError):
            for _msg in sock.dump_iter(FAKE_FAMILY, FAKE_CMD):
                raise ZeroDivisionError
        iterator = sock.dump_iter(FAKE_FAMILY, FAKE_CMD)
        next(iterator)
        iterator.close()  # type: ignore[attr-defined]
        assert sock.execute(FAKE_FAMILY, FAKE_CMD)[0].attrs.string(1) == "reply"


def test_an_error_in_done_raises_after_the_messages_before_it(peer: FakePeer) -> None:
    def handler(p: FakePeer, req: Request) -> None:
        p.dump(req, [[marker("a"), marker("b")]], error=-errno.EBUSY)

    peer.serve(handler)
    with GenlSocket(peer_port=peer.port, timeout=5) as sock:
        got = []
        with pytest.raises(errors.BusyError) as info:
            for msg in sock.dump_iter(FAKE_FAMILY, FAKE_CMD):
                got.append(msg.attrs.string(1))
        assert got == ["a", "b"] and info.value.errno == errno.EBUSY


def test_dump_intr_raises_from_the_iterator(peer: FakePeer) -> None:
    peer.serve(lambda p, req: p.dump(req, [[marker("a")], [marker("b")]], interrupted=True))
    with GenlSocket(peer_port=peer.port, timeout=5) as sock:
        with pytest.raises(errors.DumpInterruptedError):
            list(sock.dump_iter(FAKE_FAMILY, FAKE_CMD))
        assert sock.dropped == 0


def test_a_silent_peer_times_out_per_wait() -> None:
    with FakePeer() as quiet:
        quiet.serve(
            lambda p, req: p.send_raw(
                req.port,
                p.genl_message(
                    req.family_id, req.cmd, marker("first"), seq=req.seq, flags=lib.NLM_F_MULTI
                ),
            )
        )
        with GenlSocket(peer_port=quiet.port, timeout=0.2) as sock:
            iterator = sock.dump_iter(FAKE_FAMILY, FAKE_CMD)
            assert next(iterator).attrs.string(1) == "first"
            with pytest.raises(errors.NetlinkTimeoutError):
                next(iterator)


def test_threads_share_a_socket_while_one_iterates(peer: FakePeer) -> None:
    serve_dumps(peer, 5000)
    with GenlSocket(peer_port=peer.port, timeout=10) as sock:
        failures: list[BaseException] = []

        def requests() -> None:
            try:
                for _ in range(200):
                    assert sock.execute(FAKE_FAMILY, FAKE_CMD)[0].attrs.string(1) == "reply"
            except BaseException as exc:  # reported by the main thread
                failures.append(exc)

        worker = threading.Thread(target=requests)
        worker.start()
        count = sum(1 for _ in sock.dump_iter(FAKE_FAMILY, FAKE_CMD))
        worker.join(30)
        assert count == 5000 and failures == []


# -- against the kernel ------------------------------------------------------------------------


def _kernel_case() -> dict[str, Any]:
    with GenlSocket() as sock:
        listed = [sock.decode(m) for m in sock.dump("ethtool", "linkinfo-get", {"header": {}})]
        streamed = [
            sock.decode(m) for m in sock.dump_iter("ethtool", "linkinfo-get", {"header": {}})
        ]
        decoded = list(sock.dump_iter("ethtool", "linkinfo-get", {"header": {}}, decode=True))
        first = []
        for msg in sock.dump_iter("ethtool", "linkinfo-get", {"header": {}}, decode=True):
            first.append(msg["header"]["dev-name"])
            if len(first) == 10:
                break
        # The kernel refuses a second dump while one runs: the rest must have been read.
        after = sock.dump("ethtool", "linkinfo-get", {"header": {}}, decode=True)
        reply = sock.execute("nlctrl", "getfamily", {"family-name": "ethtool"}, decode=True)
        return {
            "listed": listed,
            "streamed": streamed,
            "decoded": decoded,
            "first": first,
            "after": after,
            "reply": reply,
        }


def test_kernel_dump_iter(netns: str) -> None:
    require_root()
    batch = "".join(f"link add it{i}a type veth peer name it{i}b\n" for i in range(500))
    subprocess.run(["ip", "-n", netns, "-batch", "-"], input=batch, text=True, check=True)
    case = call_in_netns(netns, _kernel_case)
    assert len(case["listed"]) == 1000
    assert case["streamed"] == case["listed"] == case["decoded"] == case["after"]
    assert case["first"] == [m["header"]["dev-name"] for m in case["listed"][:10]]
    assert case["reply"][0]["family-name"] == "ethtool"


# -- asyncio ------------------------------------------------------------------------------------


def test_asyncio_dump_iter(peer: FakePeer) -> None:
    """async for: the same messages; break, then a request gets its own reply; memory bounded."""
    import asyncio

    from libnl_py.genl.aio import AsyncGenlSocket

    serve_dumps(peer, 50_000)

    async def main() -> dict[str, Any]:
        async with AsyncGenlSocket(peer_port=peer.port, timeout=30) as asock:
            async for _ in asock.dump_iter(FAKE_FAMILY, FAKE_CMD):
                pass  # warm
            before = rss_kib()
            peak = before
            numbers = []
            async for msg in asock.dump_iter(FAKE_FAMILY, FAKE_CMD):
                numbers.append(msg.attrs.u32(1))
                if len(numbers) % 5000 == 0:
                    peak = max(peak, rss_kib())
            first = []
            async for msg in asock.dump_iter(FAKE_FAMILY, FAKE_CMD):
                first.append(msg.attrs.u32(1))
                if len(first) == 10:
                    break
            reply = await asock.execute(FAKE_FAMILY, FAKE_CMD)
            return {
                "numbers": numbers,
                "grown": peak - before,
                "first": first,
                "reply": reply[0].attrs.string(1),
                "dropped": asock.sock.dropped,
            }

    got = asyncio.run(main())
    assert got["numbers"] == list(range(50_000))
    assert got["grown"] < 4 * 1024, got["grown"]
    assert got["first"] == list(range(10))
    assert got["reply"] == "reply"


def test_asyncio_dump_iter_raises_the_done_error(peer: FakePeer) -> None:
    import asyncio

    from libnl_py.genl.aio import AsyncGenlSocket

    peer.serve(lambda p, req: p.dump(req, [[marker("a")], [marker("b")]], error=-errno.EBUSY))

    async def main() -> list[str]:
        got: list[str] = []
        async with AsyncGenlSocket(peer_port=peer.port, timeout=5) as asock:
            with pytest.raises(errors.BusyError):
                async for msg in asock.dump_iter(FAKE_FAMILY, FAKE_CMD):
                    got.append(msg.attrs.string(1))
        return got

    assert asyncio.run(main()) == ["a", "b"]


def test_an_iterator_dropped_unstarted_sends_nothing(peer: FakePeer) -> None:
    serve_dumps(peer, 500)
    with GenlSocket(peer_port=peer.port, timeout=10) as sock:
        unstarted = sock.dump_iter(FAKE_FAMILY, FAKE_CMD)
        del unstarted
        assert peer.served == 0  # nothing was sent
        assert sock.execute(FAKE_FAMILY, FAKE_CMD)[0].attrs.string(1) == "reply"
        assert len(list(sock.dump_iter(FAKE_FAMILY, FAKE_CMD))) == 500
