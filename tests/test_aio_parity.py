"""AsyncGenlSocket has every GenlSocket method, with the same parameters, and the same semantics.

The parity test reads both classes: a public method added to GenlSocket
without its asyncio counterpart fails it. The behaviour tests run the same
scenario through threads and through asyncio and compare what the peer saw
and what the callers got: turns among ``max_in_flight``, timeouts that cover
the wait for a turn, and a forgotten request's late reply dropped.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any

import pytest
from conftest import bare_nlctrl_spec, marker

from libnl_py import errors
from libnl_py.genl import GenlSocket
from libnl_py.genl.aio import AsyncGenlSocket
from libnl_py.socket import Socket
from libnl_py.testing import FakePeer, Request

FAKE_FAMILY = 0x1234
FAKE_CMD = 7

# libnl's raw calls, which bypass the routing: reached through AsyncGenlSocket.sock.
RAW = {"recv", "send_simple"}
# Methods that never wait for the kernel: plain methods on both.
NO_WAIT = {"spec_for", "decode", "operation_name", "set_peer_port", "poll_notifications", "close"}
# Of Socket's own methods, the ones a GenlSocket user needs beside the requests.
FROM_SOCKET = {"close", "fileno"}


def public_methods(cls: type) -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(cls).items()
        if not name.startswith("_") and callable(value) and name not in RAW
    }


def test_every_genl_socket_method_has_an_async_counterpart_with_the_same_parameters() -> None:
    sync_methods = public_methods(GenlSocket)
    sync_methods.update({n: getattr(Socket, n) for n in FROM_SOCKET})
    assert {"execute", "dump", "dump_iter", "get_policy", "resolve_group", "spec_or_policy"} <= set(
        sync_methods
    )
    missing, different, wrong_kind = [], [], []
    for name, method in sorted(sync_methods.items()):
        counterpart = getattr(AsyncGenlSocket, name, None)
        if counterpart is None:
            missing.append(name)
            continue
        ours = inspect.signature(method)
        theirs = inspect.signature(counterpart)
        if [(p.name, p.kind, p.default) for p in ours.parameters.values()] != [
            (p.name, p.kind, p.default) for p in theirs.parameters.values()
        ]:
            different.append(f"{name}{ours} vs {name}{theirs}")
        waits = name not in NO_WAIT and name not in FROM_SOCKET
        is_async = inspect.iscoroutinefunction(counterpart) or inspect.isasyncgenfunction(
            counterpart
        )
        if waits != is_async:
            wrong_kind.append(name)
    assert missing == []
    assert different == []
    assert wrong_kind == []
    for prop in ("port", "dropped", "overruns", "timeout"):
        assert isinstance(getattr(AsyncGenlSocket, prop), property), prop


def test_the_parity_test_sees_a_missing_method() -> None:
    class Wider(GenlSocket):
        def brand_new(self, x: int) -> int:
            return x

    assert "brand_new" in public_methods(Wider)
    assert getattr(AsyncGenlSocket, "brand_new", None) is None


def held_peer(peer: FakePeer, release: threading.Event, seen: list[tuple[float, int]]) -> None:
    """Serve: note when each request came and how many were unanswered then; answer on release."""
    held: list[Request] = []

    def loop() -> None:
        while len(seen) < 5:
            try:
                req = peer.recv_request(timeout=10)
            except errors.NetlinkTimeoutError:
                return
            held.append(req)
            seen.append((time.monotonic(), len(held)))
            if len(held) == 2:
                release.wait(10)
            while held and release.is_set():
                done = held.pop(0)
                peer.reply(done, marker(f"r{done.seq}"))
                peer.ack(done)

    threading.Thread(target=loop, daemon=True).start()


def test_max_in_flight_limits_threads_and_tasks_alike(peer: FakePeer) -> None:
    """Five callers, two turns: the peer never has more than two requests outstanding."""

    def with_threads() -> tuple[list[int], list[str]]:
        seen: list[tuple[float, int]] = []
        release = threading.Event()
        held_peer(peer, release, seen)
        with GenlSocket(peer_port=peer.port, timeout=10, max_in_flight=2) as sock:
            got: list[str] = []

            def one() -> None:
                (reply,) = sock.execute(FAKE_FAMILY, FAKE_CMD)
                got.append(reply.attrs.string(1))

            threads = [threading.Thread(target=one) for _ in range(5)]
            for t in threads:
                t.start()
            time.sleep(0.3)
            outstanding_before = len(seen)
            release.set()
            for t in threads:
                t.join(10)
            return [outstanding_before] + [n for _t, n in seen], got

    async def with_tasks() -> tuple[list[int], list[str]]:
        seen: list[tuple[float, int]] = []
        release = threading.Event()
        held_peer(peer, release, seen)
        async with AsyncGenlSocket(peer_port=peer.port, timeout=10, max_in_flight=2) as sock:
            tasks = [asyncio.ensure_future(sock.execute(FAKE_FAMILY, FAKE_CMD)) for _ in range(5)]
            await asyncio.sleep(0.3)
            outstanding_before = len(seen)
            release.set()
            replies = await asyncio.gather(*tasks)
            return [outstanding_before] + [n for _t, n in seen], [
                r.attrs.string(1) for (r,) in replies
            ]

    threads_seen, threads_got = with_threads()
    tasks_seen, tasks_got = asyncio.run(with_tasks())
    # Before the peer answered, exactly two requests had been sent, by either.
    assert threads_seen[0] == tasks_seen[0] == 2
    assert max(threads_seen[1:]) <= 2 and max(tasks_seen[1:]) <= 2
    assert len(threads_got) == len(tasks_got) == 5
    assert len(set(threads_got)) == len(set(tasks_got)) == 5  # each got its own reply


def test_a_timeout_covers_the_wait_for_a_turn(peer: FakePeer) -> None:
    """One turn, held by a request the peer never answers: the next caller times out
    waiting for it, and its request is never sent."""

    def with_threads() -> tuple[float, str, int]:
        with GenlSocket(peer_port=peer.port, timeout=10, max_in_flight=1) as sock:

            def blocked() -> None:
                with pytest.raises(errors.NetlinkTimeoutError):
                    sock.execute(FAKE_FAMILY, FAKE_CMD, timeout=1.0)

            blocker = threading.Thread(target=blocked)
            blocker.start()
            time.sleep(0.1)
            start = time.monotonic()
            with pytest.raises(errors.NetlinkTimeoutError) as info:
                sock.execute(FAKE_FAMILY, FAKE_CMD + 1, timeout=0.3)
            elapsed = time.monotonic() - start
            blocker.join()
            return elapsed, str(info.value), info.value.timeout

    async def with_tasks() -> tuple[float, str, float]:
        async with AsyncGenlSocket(peer_port=peer.port, timeout=10, max_in_flight=1) as sock:
            blocker = asyncio.ensure_future(sock.execute(FAKE_FAMILY, FAKE_CMD, timeout=1.0))
            await asyncio.sleep(0.1)
            start = time.monotonic()
            with pytest.raises(errors.NetlinkTimeoutError) as info:
                await sock.execute(FAKE_FAMILY, FAKE_CMD + 1, timeout=0.3)
            elapsed = time.monotonic() - start
            with pytest.raises(errors.NetlinkTimeoutError):
                await blocker
            return elapsed, str(info.value), info.value.timeout

    for elapsed, text, timeout in (with_threads(), asyncio.run(with_tasks())):
        assert 0.3 <= elapsed < 0.9
        assert timeout == 0.3
        assert "turn" in text
    # The peer got only the two blockers: the callers that timed out sent nothing.
    cmds = []
    while True:
        try:
            cmds.append(peer.recv_request(timeout=0.2).cmd)
        except errors.NetlinkTimeoutError:
            break
    assert cmds == [FAKE_CMD, FAKE_CMD]


def test_a_forgotten_request_s_late_reply_is_dropped_by_either(peer: FakePeer) -> None:
    """A timed-out (threads) or cancelled (asyncio) request is forgotten: its late reply
    is dropped and counted, and the next request gets its own reply."""

    def answer_late_then_next(p: FakePeer) -> None:
        first = p.recv_request(timeout=5)
        second = p.recv_request(timeout=5)
        for req in (first, second):
            p.reply(req, marker(f"cmd{req.cmd}"))
            p.ack(req)

    def with_threads() -> tuple[int, str]:
        with GenlSocket(peer_port=peer.port, timeout=5) as sock:
            server = threading.Thread(target=answer_late_then_next, args=(peer,))
            server.start()
            with pytest.raises(errors.NetlinkTimeoutError):
                sock.execute(FAKE_FAMILY, 1, timeout=0.2)
            (reply,) = sock.execute(FAKE_FAMILY, 2)
            server.join()
            return sock.dropped, reply.attrs.string(1)

    async def with_tasks() -> tuple[int, str]:
        async with AsyncGenlSocket(peer_port=peer.port, timeout=5) as sock:
            server = threading.Thread(target=answer_late_then_next, args=(peer,))
            server.start()
            first = asyncio.ensure_future(sock.execute(FAKE_FAMILY, 1))
            await asyncio.sleep(0.2)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            (reply,) = await sock.execute(FAKE_FAMILY, 2)
            server.join()
            return sock.dropped, reply.attrs.string(1)

    assert with_threads() == asyncio.run(with_tasks()) == (2, "cmd2")  # its reply and its ACK


def test_async_waiters_are_woken_when_a_thread_reads_the_socket(peer: FakePeer) -> None:
    """A thread using the socket synchronously routes what asyncio tasks wait for:
    a notification and a streaming dump's parts reach them at once, not at their timeout."""

    def dump_in_parts(p: FakePeer, req: Request) -> None:
        if req.cmd == FAKE_CMD:
            for i in range(3):
                p.reply(req, marker(f"part{i}"), flags=0x2)
                time.sleep(0.05)
            p.done(req)
        else:
            p.reply(req, marker("sync"))
            p.ack(req)

    async def main() -> tuple[list[str], str, float]:
        async with AsyncGenlSocket(peer_port=peer.port, timeout=5) as sock:
            loop = asyncio.get_running_loop()
            loop.remove_reader(sock.fileno())  # only the thread below reads the fd now
            peer.serve(dump_in_parts)
            start = time.monotonic()
            parts: list[str] = []

            async def iterate() -> None:
                async for msg in sock.dump_iter(FAKE_FAMILY, FAKE_CMD, timeout=3):
                    parts.append(msg.attrs.string(1))

            async def notified() -> str:
                msg = await sock.next_notification(timeout=3)
                return msg.attrs.string(1)

            it = asyncio.ensure_future(iterate())
            note = asyncio.ensure_future(notified())
            await asyncio.sleep(0.05)

            peer.notify(sock.port, FAKE_FAMILY, 9, marker("note"))
            reader = threading.Thread(target=lambda: _pump_until(sock, it, note))
            reader.start()
            await asyncio.wait_for(asyncio.gather(it, note), 3)
            reader.join()
            return parts, note.result(), time.monotonic() - start

    parts, note, elapsed = asyncio.run(main())
    assert parts == ["part0", "part1", "part2"]
    assert note == "note"
    assert elapsed < 2  # woken by the thread's reads, not by a timeout


def _pump_until(sock: AsyncGenlSocket, *tasks: asyncio.Future[Any]) -> None:
    """Read the socket on this thread (as synchronous code would) until the tasks finish."""
    engine = sock.engine
    deadline = time.monotonic() + 3
    while not all(t.done() for t in tasks) and time.monotonic() < deadline:
        with engine.locked():
            engine.pump()
        time.sleep(0.01)


def test_max_in_flight_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GenlSocket(max_in_flight=0)
    with pytest.raises(TypeError):
        GenlSocket(max_in_flight=1.5)  # type: ignore[arg-type]

    async def main() -> None:
        with pytest.raises(ValueError, match="at least 1"):
            AsyncGenlSocket(max_in_flight=0)
        with pytest.raises(TypeError, match="not both"):
            AsyncGenlSocket(GenlSocket(), timeout=1)

    asyncio.run(main())


def test_max_in_flight_is_exact_under_many_threads(peer: FakePeer) -> None:
    """A turn is reserved under the lock: however many threads wake for a free turn,
    one takes it (20 threads, one turn, ACKs 0.1 s late: never two out at once)."""
    out: list[int] = []
    lock = threading.Lock()
    most = [0]

    def late_ack(p: FakePeer, req: Request) -> None:
        with lock:
            out.append(req.seq)
            most[0] = max(most[0], len(out))

        def ack() -> None:
            time.sleep(0.1)
            with lock:
                out.remove(req.seq)
            p.ack(req)

        threading.Thread(target=ack).start()

    peer.serve(late_ack)
    with GenlSocket(peer_port=peer.port, timeout=30, max_in_flight=1) as sock:
        threads = [
            threading.Thread(target=lambda: sock.execute(FAKE_FAMILY, FAKE_CMD)) for _ in range(20)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sock.engine.pending == {} and sock.engine.reserved == 0
    assert most[0] == 1


def test_an_unclosed_async_socket_is_freed_by_refcounting() -> None:
    """Its engine's hooks hold it weakly: dropped unclosed, its fd closes at once."""
    import gc
    import os

    async def main() -> None:
        sock = AsyncGenlSocket(timeout=5)
        await sock.resolve_family("nlctrl")
        sock.sock.engine  # noqa: B018 (used, then dropped with it)

    gc.disable()
    try:
        before = len(os.listdir("/proc/self/fd"))
        asyncio.run(main())
        after = len(os.listdir("/proc/self/fd"))
    finally:
        gc.enable()
    assert after <= before


def test_a_notification_read_by_a_family_query_reaches_its_waiter(peer: FakePeer) -> None:
    """resolve_family reads what is queued with its reply; a waiting task gets it."""

    def answer(p: FakePeer, req: Request) -> None:
        p.notify(req.port, FAKE_FAMILY, 9, marker("with the reply"))
        p.ack(req, -2, message="no such family")

    async def main() -> tuple[str, float]:
        async with AsyncGenlSocket(peer_port=peer.port, timeout=5) as sock:
            waiter = asyncio.ensure_future(sock.next_notification(timeout=3))
            await asyncio.sleep(0)
            peer.serve(answer)
            start = time.monotonic()
            with pytest.raises(errors.NotFoundError):
                await sock.resolve_family("nosuch")
            msg = await waiter
            return msg.attrs.string(1), time.monotonic() - start

    text, elapsed = asyncio.run(main())
    assert text == "with the reply"
    assert elapsed < 1.5


def test_a_streaming_dump_cancelled_while_draining_leaves_nothing_in_flight(
    peer: FakePeer,
) -> None:
    """Cancelled, then cancelled again while the rest is read: the request is forgotten,
    its turn free (a later request on the socket is not kept waiting)."""

    def one_part_no_done(p: FakePeer, req: Request) -> None:
        if req.cmd == FAKE_CMD:
            p.reply(req, marker("part"), flags=0x2)
        else:
            p.reply(req, marker("next"))
            p.ack(req)

    async def main() -> tuple[int, int, str]:
        async with AsyncGenlSocket(peer_port=peer.port, timeout=5, max_in_flight=1) as sock:
            peer.serve(one_part_no_done)
            parts = sock.dump_iter(FAKE_FAMILY, FAKE_CMD, timeout=5)
            first = await parts.__anext__()
            assert first.attrs.string(1) == "part"
            # Closing reads the rest of the dump (its DONE never comes) ...
            closing = asyncio.ensure_future(parts.aclose())
            await asyncio.sleep(0.2)
            assert len(sock.engine.pending) == 1
            closing.cancel()  # ... and is cancelled while it does
            with pytest.raises(asyncio.CancelledError):
                await closing
            (reply,) = await sock.execute(FAKE_FAMILY, FAKE_CMD + 1, timeout=2)
            return len(sock.engine.pending), len(sock.engine.streams), reply.attrs.string(1)

    assert asyncio.run(main()) == (0, 0, "next")


def test_counters_can_be_reset() -> None:
    with GenlSocket() as sock:
        sock.dropped = 0
        sock.overruns = 0
        assert (sock.dropped, sock.overruns) == (0, 0)
        sock.max_in_flight = 3
        assert sock.engine.max_in_flight == 3
        with pytest.raises(ValueError):
            sock.max_in_flight = 0


def test_asyncio_fetches_policies_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """A spec that lacks the command: its policy is fetched in the executor, never on the
    loop's thread, whether the family is given by name or by id."""
    from libnl_py.genl.codecs import FamilyCodecs

    bare = bare_nlctrl_spec()
    threads: list[str] = []
    real = FamilyCodecs.policy_spec

    def spy(self: FamilyCodecs, name: str) -> Any:
        if not self.knows_policy_spec(name):  # a fetch, not a cached answer
            threads.append(threading.current_thread().name)
        return real(self, name)

    monkeypatch.setattr(FamilyCodecs, "policy_spec", spy)

    async def main() -> list[int]:
        ids = []
        for family in ("nlctrl", 0x10):
            async with AsyncGenlSocket(specs=[bare]) as sock:
                await sock.resolve_family("nlctrl")
                (reply,) = await sock.execute(family, 3, {2: "nlctrl"})
                ids.append(reply.attrs.u16(1))
        return ids

    assert asyncio.run(main()) == [0x10, 0x10]
    assert threads and threading.main_thread().name not in threads
