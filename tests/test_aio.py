"""AsyncGenlSocket: the asyncio front end, against the kernel's nlctrl and FakePeers.

Each test drives its own event loop with ``asyncio.run`` (no pytest plugin needed).
"""

from __future__ import annotations

import asyncio
import errno
import time

import pytest
from conftest import getfamily, marker

from libnl_py import errors, lib
from libnl_py.genl import GenlSocket
from libnl_py.genl.aio import YIELD_EVERY, AsyncGenlSocket
from libnl_py.testing import FakePeer, Request

FAKE_FAMILY = 0x1234
FAKE_CMD = 7


@pytest.fixture(scope="module")
def kernel_families() -> dict[str, int]:
    with GenlSocket(timeout=5) as sock:
        return {f.name: f.id for f in sock.list_families()}


def test_200_concurrent_executes(kernel_families: dict[str, int]) -> None:
    names = sorted(kernel_families)

    async def one(sock: AsyncGenlSocket, name: str) -> tuple[str, int, int]:
        (reply,) = await sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, getfamily(name))
        return (
            reply.attrs.string(lib.CTRL_ATTR_FAMILY_NAME),
            reply.attrs.u16(lib.CTRL_ATTR_FAMILY_ID),
            reply.seq,
        )

    async def main() -> tuple[list[tuple[str, int, int]], int]:
        async with AsyncGenlSocket(timeout=10) as sock:
            asked = [names[i % len(names)] for i in range(200)]
            got = await asyncio.gather(*(one(sock, name) for name in asked))
            assert [(name, family_id) for name, family_id, _seq in got] == [
                (name, kernel_families[name]) for name in asked
            ]
            return got, sock.sock.dropped

    got, dropped = asyncio.run(main())
    assert len({seq for _n, _i, seq in got}) == 200  # every reply answers its own request
    assert dropped == 0


def test_async_dump_and_list_families(kernel_families: dict[str, int]) -> None:
    async def main() -> tuple[int, dict[str, int]]:
        async with AsyncGenlSocket(timeout=5) as sock:
            dumped = await sock.dump(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY)
            assert all(m.flags & lib.NLM_F_MULTI for m in dumped)
            listed = await sock.list_families()
            return len(dumped), {f.name: f.id for f in listed}

    count, listed = asyncio.run(main())
    assert count == len(kernel_families)
    assert listed == kernel_families


def test_async_resolve_family_and_unknown_family() -> None:
    async def main() -> None:
        async with AsyncGenlSocket(timeout=5) as sock:
            family = await sock.resolve_family("nlctrl")
            assert (family.id, family.name) == (16, "nlctrl")
            assert family.group("notify").id == 16
            assert await sock.resolve_family("nlctrl") is family
            with pytest.raises(errors.NotFoundError) as info:
                await sock.resolve_family("nosuchfamily")
            assert info.value.errno == errno.ENOENT
            assert isinstance(info.value, LookupError)

    asyncio.run(main())


def test_async_notifications_from_peer(peer: FakePeer) -> None:
    async def main() -> list[tuple[int, str, int]]:
        async with AsyncGenlSocket(peer_port=peer.port, timeout=5) as sock:
            waiting = asyncio.ensure_future(sock.next_notification(timeout=5))
            await asyncio.sleep(0)  # the waiter is registered before anything arrives
            peer.notify(sock.sock.port, FAKE_FAMILY, FAKE_CMD, marker("first"))
            first = await waiting
            for i in range(3):
                peer.notify(sock.sock.port, FAKE_FAMILY, FAKE_CMD + 1, marker(f"more {i}"))
            rest = [m async for m in sock.notifications(timeout=0.5)]
            return [(m.cmd, m.attrs.string(1), m.seq) for m in [first, *rest]]

    assert asyncio.run(main()) == [
        (FAKE_CMD, "first", 0),
        *[(FAKE_CMD + 1, f"more {i}", 0) for i in range(3)],
    ]


def test_async_timeout(peer: FakePeer) -> None:
    async def main() -> float:
        async with AsyncGenlSocket(peer_port=peer.port, timeout=5) as sock:
            start = time.monotonic()
            with pytest.raises(errors.NetlinkTimeoutError) as info:
                await sock.execute(FAKE_FAMILY, FAKE_CMD, timeout=0.3)
            elapsed = time.monotonic() - start
            assert isinstance(info.value, TimeoutError)
            assert info.value.errno == errno.ETIMEDOUT
            with pytest.raises(errors.NetlinkTimeoutError):
                await sock.next_notification(timeout=0.1)
            return elapsed

    elapsed = asyncio.run(main())
    assert 0.3 <= elapsed < 1.5
    assert peer.recv_request().cmd == FAKE_CMD  # it was sent


def test_async_replies_out_of_order(peer: FakePeer) -> None:
    """Three requests in flight; the peer answers the last first: each gets its own reply."""

    def answer_reversed() -> list[int]:
        requests: list[Request] = [peer.recv_request() for _ in range(3)]
        for req in reversed(requests):
            peer.reply(req, marker(req.message.attrs.string(1).upper()))
            peer.ack(req)
        return [req.seq for req in requests]

    async def main() -> tuple[list[str], list[int]]:
        async with AsyncGenlSocket(peer_port=peer.port, timeout=5) as sock:
            calls = [sock.execute(FAKE_FAMILY, FAKE_CMD, marker(w)) for w in ("a", "b", "c")]
            tasks = [asyncio.ensure_future(c) for c in calls]
            await asyncio.sleep(0)  # all three are sent
            seqs = await asyncio.get_running_loop().run_in_executor(None, answer_reversed)
            replies = await asyncio.gather(*tasks)
            return [r.attrs.string(1) for (r,) in replies], seqs

    texts, seqs = asyncio.run(main())
    assert texts == ["A", "B", "C"]
    assert len(set(seqs)) == 3


def test_async_error_ack(peer: FakePeer) -> None:
    peer.serve(lambda p, req: p.ack(req, -errno.EBUSY, message="busy"))

    async def main() -> None:
        async with AsyncGenlSocket(peer_port=peer.port, timeout=5) as sock:
            with pytest.raises(errors.BusyError) as info:
                await sock.execute(FAKE_FAMILY, FAKE_CMD)
            assert info.value.errno == errno.EBUSY
            assert info.value.ext_ack.message == "busy"

    asyncio.run(main())


def test_close_frees_the_socket() -> None:
    async def main() -> GenlSocket:
        sock = AsyncGenlSocket(timeout=5)
        sock.close()
        sock.close()  # idempotent
        return sock.sock

    assert asyncio.run(main()).freed


def test_requests_answered_at_once_still_let_other_tasks_run() -> None:
    """Requests answered within their own send call need no wait, but a task making
    them in a loop yields to the loop every YIELD_EVERY of them: it cannot starve others."""

    async def main() -> int:
        ticks = 0
        stop = False

        async def ticker() -> None:
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0)

        async with AsyncGenlSocket() as sock:
            task = asyncio.ensure_future(ticker())
            for _ in range(200):
                await sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, getfamily("nlctrl"))
            stop = True
            await task
        return ticks

    assert asyncio.run(main()) >= 200 // YIELD_EVERY


def test_close_fails_requests_in_flight_at_once(peer: FakePeer) -> None:
    async def main() -> float:
        sock = AsyncGenlSocket(peer_port=peer.port, timeout=10)
        request = asyncio.ensure_future(sock.execute(FAKE_FAMILY, FAKE_CMD))
        await asyncio.sleep(0.05)  # sent; the silent peer never answers
        start = time.monotonic()
        sock.close()
        with pytest.raises(errors.FreedSocketError):
            await request
        return time.monotonic() - start

    assert asyncio.run(main()) < 1


def test_notification_read_with_a_reply_reaches_its_waiter(peer: FakePeer) -> None:
    def handler(p: FakePeer, req: Request) -> None:
        p.notify(req.port, FAKE_FAMILY, FAKE_CMD, marker("news"))
        p.reply(req, marker("answer"))
        p.ack(req)

    async def main() -> tuple[str, str]:
        async with AsyncGenlSocket(peer_port=peer.port, timeout=5) as sock:
            waiting = asyncio.ensure_future(sock.next_notification(timeout=2))
            await asyncio.sleep(0)
            (reply,) = await sock.execute(FAKE_FAMILY, FAKE_CMD)
            news = await waiting
            return reply.attrs.string(1), news.attrs.string(1)

    peer.serve(handler)
    assert asyncio.run(main()) == ("answer", "news")
