"""asyncio over the same request engine as :class:`~libnl_py.genl.socket.GenlSocket`.

The socket's fd is watched with ``loop.add_reader``; whenever it is readable
the engine reads every queued datagram and routes each message to the
request it answers or to the notification queue. A request's ``on_done`` and
``on_replies`` hooks resolve the futures its task awaits, and the engine's
``on_notification`` hook hands notifications to waiting tasks, whichever
thread did the reading (a thread may use the socket synchronously too). Any
number of requests can be in flight at once, up to ``max_in_flight``.

Every :class:`GenlSocket` method has its counterpart here, with the same
parameters: those that wait for the kernel are coroutines; those that do not
(:meth:`AsyncGenlSocket.spec_for`, :meth:`AsyncGenlSocket.decode`, ...) are
plain methods. Timeouts, turns and cancellation behave as in threads: a
``timeout`` covers the whole call (a turn among ``max_in_flight`` requests,
then the replies), a cancelled call forgets its request (late replies are
dropped and counted in :attr:`AsyncGenlSocket.dropped`), and a streaming dump
stopped early has the rest of its dump read and dropped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Callable

from libnl_py.bindings import socket as _b
from libnl_py.errors import (
    DumpInterruptedError,
    FreedSocketError,
    NetlinkError,
    NetlinkTimeoutError,
    NotFoundError,
)
from libnl_py.genl import control as _ctrl
from libnl_py.genl.codecs import RequestAttrs
from libnl_py.genl.control import FamilyRef
from libnl_py.genl.engine import NO_TURN, Engine, InFlight, OverrunError, decoded_families
from libnl_py.genl.family import Family
from libnl_py.genl.socket import (
    DEFAULT_MAX_IN_FLIGHT,
    SOCKET_TIMEOUT,
    GenlSocket,
    Prepared,
    Timeout,
    checked_max_in_flight,
    prepare,
    wait_time,
)
from libnl_py.message import NLM_F_DUMP, GenlMessage
from libnl_py.spec.model import FamilySpec
from libnl_py.spec.policy import FamilyPolicy

__all__ = ["YIELD_EVERY", "AsyncGenlSocket"]

YIELD_EVERY = 16
"""Requests answered at once after which a caller yields to the loop (see ``execute``)."""


class AsyncGenlSocket:
    """An asyncio front end for a :class:`GenlSocket`; it owns the socket.

    Create it inside a running loop (``async with AsyncGenlSocket() as sock``);
    keyword arguments go to :class:`GenlSocket`. At most ``max_in_flight``
    requests are outstanding at once (more wait their turn), so replies do not
    overrun the receive buffer. :meth:`close` stops watching the fd and frees
    the socket. The :class:`GenlSocket` itself is :attr:`sock`, for libnl's
    raw calls.
    """

    def __init__(
        self,
        sock: GenlSocket | None = None,
        *,
        max_in_flight: int | None = None,
        **kwargs: Any,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        limit = None if max_in_flight is None else checked_max_in_flight(max_in_flight)
        if sock is None:
            sock = GenlSocket(max_in_flight=limit or DEFAULT_MAX_IN_FLIGHT, **kwargs)
        elif kwargs:
            raise TypeError("give either a GenlSocket or its keyword arguments, not both")
        elif limit is not None:
            sock.max_in_flight = limit
        self.sock = sock
        """The :class:`GenlSocket` this front end owns."""
        self.engine: Engine = sock.engine
        """The socket's request engine."""
        # Tasks waiting for one of the engine's turns (threads wait in the engine itself).
        self._turn_waiters: collections.deque[asyncio.Future[object]] = collections.deque()
        self._streak = 0  # requests answered at once since the last yield
        self._fd = sock.fileno()
        self._waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._closed = False
        # Weakly: a front end dropped unclosed must not be kept alive by its engine.
        self.engine.on_notification = _weakly(self, AsyncGenlSocket._notified)
        self.engine.on_turn = _weakly(self, AsyncGenlSocket._on_turn)
        self._loop.add_reader(self._fd, self._on_readable)

    # -- lifecycle -------------------------------------------------------------

    def close(self) -> None:
        """Stop watching the fd, fail waiting calls, free the socket. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        self.engine.on_notification = self.engine.on_turn = None
        for waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        self._waiters.clear()
        with contextlib.suppress(NetlinkError):  # forked: nothing of ours to finish
            self.engine.fail_all(
                FreedSocketError(function="AsyncGenlSocket", message="socket has been closed")
            )
        self.sock.free()

    async def __aenter__(self) -> AsyncGenlSocket:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def fileno(self) -> int:
        """The socket's fd (watched by the loop)."""
        return self.sock.fileno()

    @property
    def timeout(self) -> float | None:
        """The socket's default timeout (see :attr:`GenlSocket.timeout`)."""
        return self.sock.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self.sock.timeout = wait_time(self.sock, value)

    @property
    def port(self) -> int:
        """The local port bound at connect."""
        return self.sock.port

    @property
    def dropped(self) -> int:
        """Messages dropped: from an unexpected port, or answering no request in flight."""
        return self.engine.dropped

    @property
    def overruns(self) -> int:
        """Receive-buffer overruns seen (each also raised as :class:`OverrunError`)."""
        return self.engine.overruns

    def set_peer_port(self, port: int) -> None:
        """:meth:`GenlSocket.set_peer_port`."""
        self.sock.set_peer_port(port)

    # -- the reader ------------------------------------------------------------

    def _on_readable(self) -> None:
        engine = self.engine
        try:
            with engine.locked():
                engine.pump()
        except Exception as exc:  # a freed socket or a libnl error: fail every waiter
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            self._waiters.clear()
            with contextlib.suppress(NetlinkError):  # freed or forked: nothing to finish
                engine.fail_all(exc)
            return
        self._deliver()

    def _notified(self) -> None:
        """The engine queued notifications (lock held): hand them to waiting tasks, soon."""
        if not self._waiters:
            return
        if threading.get_ident() == self._thread:
            self._loop.call_soon(self._deliver)
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                self._loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        """Give queued notifications to the waiting tasks, in order (under the lock:
        a thread may take notifications from the same queue)."""
        queue = self.engine.notifications
        waiters = self._waiters
        if not (queue and waiters) or self._closed:
            return
        with contextlib.suppress(NetlinkError), self.engine.locked():  # freed: close() fails them
            while queue and waiters:
                waiter = waiters.popleft()
                if waiter.done():
                    continue
                item = queue.popleft()
                if isinstance(item, OverrunError):
                    waiter.set_exception(item)
                else:
                    waiter.set_result(item)

    def _hook(self, future: asyncio.Future[Any]) -> Callable[[InFlight], None]:
        """A request hook that resolves ``future``, from whichever thread routed."""

        def wake(_req: InFlight) -> None:
            if threading.get_ident() == self._thread:
                if not future.done():
                    future.set_result(None)
            else:  # pumped by a thread using the socket synchronously
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                    self._loop.call_soon_threadsafe(_resolve, future)

        return wake

    # -- turns and waits -------------------------------------------------------

    async def _turn(self, deadline: float | None, wait: float | None) -> None:
        """Reserve one of the engine's ``max_in_flight`` turns, by ``deadline``.

        Tasks wait in order; a turn freed by any thread or task wakes the first.
        """
        engine = self.engine
        while not engine.try_reserve():
            future: asyncio.Future[object] = self._loop.create_future()
            self._turn_waiters.append(future)
            try:
                timed_out = await self._wait(future, deadline) is _TIMED_OUT
            except BaseException:
                if future.done() and not future.cancelled():
                    self._wake_turn_waiter()  # woken just as it gave up: pass it on
                raise
            finally:
                with contextlib.suppress(ValueError):
                    self._turn_waiters.remove(future)
            if timed_out:
                raise NetlinkTimeoutError("a turn among requests in flight", wait)

    def _on_turn(self) -> None:
        """The engine's hook (lock held, any thread): a turn may be free for a waiting task."""
        if not self._turn_waiters:
            return
        if threading.get_ident() == self._thread:
            self._wake_turn_waiter()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                self._loop.call_soon_threadsafe(self._wake_turn_waiter)

    def _wake_turn_waiter(self) -> None:
        """Wake the first task waiting for a turn (it tries to reserve it)."""
        for future in self._turn_waiters:
            if not future.done():
                future.set_result(None)
                return

    async def _wait(self, future: asyncio.Future[Any], deadline: float | None) -> object:
        """Await ``future`` until ``deadline``: its result, or ``_TIMED_OUT``.

        A timer on the loop, not ``asyncio.wait_for`` (which makes a task per wait).
        """
        if deadline is None:
            return await future
        timer = self._loop.call_later(max(0.0, deadline - time.monotonic()), _time_out, future)
        try:
            return await future
        finally:
            timer.cancel()

    async def _until(
        self,
        req: InFlight,
        ready: Callable[[], object],
        deadline: float | None,
        wait: float | None,
        parts: bool = False,
    ) -> None:
        """Wait, by ``deadline``, until ``ready()`` (of ``req``, as its hooks tell).

        ``parts``: wake on each part of replies too (a streaming dump), not only the end.
        """
        while not ready():
            future: asyncio.Future[object] = self._loop.create_future()
            hook = self._hook(future)
            req.on_done = hook
            if parts:
                req.on_replies = hook
            if ready():  # a thread's pump got there before the hooks were set
                req.on_done = req.on_replies = None
                return
            try:
                if await self._wait(future, deadline) is _TIMED_OUT:
                    raise NetlinkTimeoutError(req.describe(), wait)
            finally:
                req.on_done = req.on_replies = None

    def _prepare_now(
        self,
        family: FamilyRef,
        cmd: int | str,
        attrs: RequestAttrs,
        flags: int,
        version: int | None,
        header: bytes,
        what: str,
        decode: bool,
    ) -> Prepared | None:
        """:func:`~libnl_py.genl.socket.prepare` when it would block on nothing (the usual:
        a family resolved before, its spec at hand); else None, for :meth:`_prepare`.

        Not a coroutine: a request that needs no await makes none here.
        """
        sock = self.sock
        if type(family) is int and not decode and not isinstance(attrs, Mapping):
            return prepare(sock, family, cmd, attrs, flags, version, header, what, decode)
        if isinstance(family, str) and family not in sock.families.by_name:
            return None  # resolved first, awaited: prepare() would block on it
        name = sock.families.name_of(family) if not isinstance(family, bool) else None
        if sock.codecs.needs_policy(name, cmd, attrs, decode):
            return None
        return prepare(sock, family, cmd, attrs, flags, version, header, what, decode)

    async def _prepare(
        self,
        family: FamilyRef,
        cmd: int | str,
        attrs: RequestAttrs,
        flags: int,
        version: int | None,
        header: bytes,
        what: str,
        decode: bool,
    ) -> Prepared:
        """:func:`~libnl_py.genl.socket.prepare`, with what it would block on done first.

        For a request :meth:`_prepare_now` could not prepare: callers try that first.
        """
        sock = self.sock
        if isinstance(family, str) and family not in sock.families.by_name:
            await self.resolve_family(family)
        name = sock.families.name_of(family) if not isinstance(family, bool) else None
        codecs = sock.codecs
        if codecs.needs_policy(name, cmd, attrs, decode):
            assert name is not None
            await self._off_loop(codecs.policy_spec, name)
        return prepare(sock, family, cmd, attrs, flags, version, header, what, decode)

    async def _off_loop(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` in the loop's executor: it may ask the kernel (a policy), blocking."""
        return await self._loop.run_in_executor(None, call, *args)

    async def _finish(self, prepared: Prepared, replies: list[Any]) -> list[Any]:
        decoding = prepared[8]
        if decoding is None or not decoding.pending:
            return replies
        # A reply met attributes its spec lacks: the kernel's policy types them.
        result: list[Any] = await self._off_loop(self.sock.codecs.finish, decoding, replies)
        return result

    async def _start_in_turn(
        self,
        request: tuple[Any, ...],
        deadline: float | None,
        wait: float | None,
        streaming: bool = False,
        families: bool = False,
    ) -> tuple[InFlight | None, list[Any]]:
        """``engine.start`` of a request that found every turn taken, once it has one."""
        await self._turn(deadline, wait)
        # No await between the reservation and the start: a cancel cannot come between.
        return self.engine.start(*request, streaming, families, True)  # type: ignore[call-arg]

    async def _end_of(self, req: InFlight, deadline: float | None, wait: float | None) -> list[Any]:
        """Wait for ``req`` to end (by ``deadline``): its replies, or its error raised."""
        try:
            await self._until(req, lambda: req.done, deadline, wait)
        finally:
            self.engine.abandon(req)
        if req.error is not None:
            raise req.error
        return req.replies

    async def _run(self, prepared: Prepared, wait: float | None) -> list[Any]:
        deadline = None if wait is None else time.monotonic() + wait
        engine = self.engine
        req, replies = engine.start(*prepared)
        if replies is NO_TURN:
            req, replies = await self._start_in_turn(prepared, deadline, wait)
        if engine.notifications and self._waiters:
            self._deliver()  # notifications read along with the replies
        if req is not None:
            replies = await self._end_of(req, deadline, wait)
        else:
            # Answered at once (the kernel answers within the send): no need to wait,
            # as asyncio.Queue.get() with items does not. Every YIELD_EVERY such
            # answers the caller yields, so a task requesting in a loop cannot starve
            # the others.
            self._streak += 1
            if self._streak >= YIELD_EVERY:
                self._streak = 0
                await asyncio.sleep(0)
        return replies

    # -- requests --------------------------------------------------------------

    async def execute(
        self,
        family: FamilyRef,
        cmd: int | str,
        attrs: RequestAttrs = None,
        *,
        flags: int = 0,
        version: int | None = None,
        header: bytes = b"",
        timeout: Timeout = SOCKET_TIMEOUT,
        decode: bool = False,
    ) -> list[Any]:
        """:meth:`GenlSocket.execute`, awaited."""
        wait = wait_time(self.sock, timeout)
        prepared = self._prepare_now(
            family, cmd, attrs, flags, version, header, "execute", decode
        ) or await self._prepare(family, cmd, attrs, flags, version, header, "execute", decode)
        replies = await self._run(prepared, wait)
        decoding = prepared[8]
        if decoding is None or not decoding.pending:  # (_finish, without a coroutine)
            return replies
        return await self._finish(prepared, replies)

    async def dump(
        self,
        family: FamilyRef,
        cmd: int | str,
        attrs: RequestAttrs = None,
        *,
        flags: int = 0,
        version: int | None = None,
        header: bytes = b"",
        timeout: Timeout = SOCKET_TIMEOUT,
        retries: int = 0,
        decode: bool = False,
    ) -> list[Any]:
        """:meth:`GenlSocket.dump`, awaited (``retries`` as there)."""
        wait = wait_time(self.sock, timeout)
        retries = _b.checked_uint(retries, "retries", 1 << 16)
        for attempt in range(retries + 1):
            request = (family, cmd, attrs, flags | NLM_F_DUMP, version, header, "dump", decode)
            prepared = self._prepare_now(*request) or await self._prepare(*request)
            try:
                replies = await self._run(prepared, wait)
            except DumpInterruptedError:
                if attempt == retries:
                    raise
                continue
            decoding = prepared[8]
            if decoding is None or not decoding.pending:  # (_finish, without a coroutine)
                return replies
            return await self._finish(prepared, replies)
        raise AssertionError("unreachable")

    async def dump_iter(
        self,
        family: FamilyRef,
        cmd: int | str,
        attrs: RequestAttrs = None,
        *,
        flags: int = 0,
        version: int | None = None,
        header: bytes = b"",
        timeout: Timeout = SOCKET_TIMEOUT,
        decode: bool = False,
    ) -> AsyncIterator[Any]:
        """:meth:`GenlSocket.dump_iter` as an asynchronous iterator (``async for``).

        ``timeout`` is per wait for the next part, as there. Stopping early
        (``break``, an exception, ``aclose()``, cancellation) reads the rest
        of the dump and drops it, as the synchronous one does.
        """
        wait = wait_time(self.sock, timeout)
        request = (family, cmd, attrs, flags | NLM_F_DUMP, version, header, "dump", decode)
        prepared = self._prepare_now(*request) or await self._prepare(*request)
        engine = self.engine
        codecs = self.sock.codecs
        decoding = prepared[8]
        req, replies = engine.start(*prepared, True)
        if replies is NO_TURN:
            deadline = None if wait is None else time.monotonic() + wait
            req, replies = await self._start_in_turn(prepared, deadline, wait, True)
        self._deliver()
        if req is None:  # answered whole by the first batch
            for item in await self._finish(prepared, replies):
                yield item
            return
        try:
            while True:
                chunk, pending, done = engine.take_replies(req)
                if decoding is not None and pending:
                    chunk = await self._off_loop(codecs.finish, decoding, chunk, pending)
                for item in chunk:
                    yield item
                if done:
                    break
                part = None if wait is None else time.monotonic() + wait
                await self._until(req, lambda: req.done or req.replies, part, wait, parts=True)
            if req.error is not None:
                raise req.error
        finally:
            try:
                if not req.done:
                    engine.stop_streaming(req)
                    with contextlib.suppress(NetlinkError):
                        end = None if wait is None else time.monotonic() + wait
                        await self._until(req, lambda: req.done, end, wait)
            finally:
                engine.abandon(req)  # even when cancelled again while draining

    # -- families --------------------------------------------------------------

    async def _ctrl(self, attrs: bytes, flags: int) -> list[Family]:
        """:meth:`GenlSocket._ctrl`'s request, awaited: family replies decoded as they come."""
        wait = self.sock.timeout
        deadline = None if wait is None else time.monotonic() + wait
        engine = self.engine
        request = (*_ctrl.family_request(attrs, flags), None)
        req, replies = engine.start(*request, False, True)
        if replies is NO_TURN:
            req, replies = await self._start_in_turn(request, deadline, wait, False, True)
        self._deliver()  # notifications read along with the replies
        if req is not None:
            replies = await self._end_of(req, deadline, wait)
            if req.undecoded:
                replies = decoded_families(replies)
        return replies

    async def resolve_family(self, name: str) -> Family:
        """:meth:`GenlSocket.resolve_family`, awaited."""
        self.engine.live()
        families = self.sock.families
        cached = families.by_name.get(name)
        if cached is not None:
            return cached
        try:
            replies = await self._ctrl(_ctrl.family_query(name), 0)
        except NotFoundError as exc:
            raise _ctrl.unknown_family(exc, name) from None
        family: Family = families.remember(_ctrl.only_reply(replies, name))
        return family

    async def list_families(self) -> list[Family]:
        """:meth:`GenlSocket.list_families`, awaited."""
        return self.sock.families.remember_all(await self._ctrl(b"", NLM_F_DUMP))

    async def _family(self, family: FamilyRef) -> Family:
        found = _ctrl.family_or_name(family)
        if isinstance(found, Family):
            self.engine.live()
            return found
        return await self.resolve_family(found)

    async def get_policy(self, family: FamilyRef, cmd: int | None = None) -> FamilyPolicy:
        """:meth:`GenlSocket.get_policy`, awaited."""
        resolved = await self._family(family) if not isinstance(family, int) else None
        family_id = resolved.id if resolved is not None else _ctrl.family_id(family)
        replies = await self.dump(
            _ctrl.CTRL_ID, _ctrl.GETPOLICY, _ctrl.policy_query(family_id, cmd), version=2
        )
        return _ctrl.policy_from_replies(replies, family_id, resolved, cmd)

    async def resolve_group(self, family: FamilyRef, group: str) -> int:
        """:meth:`GenlSocket.resolve_group`, awaited."""
        return (await self._family(family)).group(group).id

    def spec_for(self, family: FamilyRef) -> FamilySpec | None:
        """:meth:`GenlSocket.spec_for` (no I/O)."""
        return self.sock.spec_for(family)

    async def spec_or_policy(self, family: FamilyRef) -> FamilySpec | None:
        """:meth:`GenlSocket.spec_or_policy`, awaited (the policy is fetched off the loop)."""
        spec = self.sock.codecs.spec_for(family)
        if spec is None and not isinstance(family, int):
            name = (await self._family(family)).name
            codecs = self.sock.codecs
            if codecs.knows_policy_spec(name):
                return codecs.policy_spec(name)
            spec = await self._off_loop(codecs.policy_spec, name)
        return spec

    # -- notifications ---------------------------------------------------------

    async def _group_id(self, family: FamilyRef, group: str | int) -> tuple[FamilyRef, int]:
        if isinstance(family, str):
            family = await self.resolve_family(family)
        if isinstance(group, str):
            return family, await self.resolve_group(family, group)
        return family, group

    async def join_group(self, family: FamilyRef, group: str | int) -> int:
        """:meth:`GenlSocket.join_group`, after resolving the family without blocking."""
        family, _id = await self._group_id(family, group)
        return self.sock.join_group(family, group)

    async def leave_group(self, family: FamilyRef, group: str | int) -> int:
        """:meth:`GenlSocket.leave_group`, after resolving the family without blocking."""
        family, _id = await self._group_id(family, group)
        return self.sock.leave_group(family, group)

    def poll_notifications(self) -> list[GenlMessage]:
        """:meth:`GenlSocket.poll_notifications`: what is queued now (no waiting).

        Tasks waiting in :meth:`next_notification` are served first.
        """
        self._deliver()
        with self.engine.locked():
            self.engine.pump()
        self._deliver()
        return self.engine.drain()

    async def next_notification(self, timeout: Timeout = SOCKET_TIMEOUT) -> GenlMessage:
        """The next notification; :class:`NetlinkTimeoutError` after ``timeout`` seconds."""
        if self._closed:
            raise FreedSocketError(function="next_notification", message="socket has been closed")
        wait = wait_time(self.sock, timeout)
        queue = self.engine.notifications
        if queue and not self._waiters:
            item = queue.popleft()
            if isinstance(item, OverrunError):
                raise item
            return item
        waiter: asyncio.Future[Any] = self._loop.create_future()
        self._waiters.append(waiter)
        self._deliver()
        got = await self._wait(waiter, None if wait is None else time.monotonic() + wait)
        if not isinstance(got, GenlMessage):
            raise NetlinkTimeoutError("next_notification", wait)
        return got

    async def notifications(self, timeout: float | None = None) -> AsyncIterator[GenlMessage]:
        """Notifications as they arrive; stops after ``timeout`` seconds without one."""
        while True:
            try:
                yield await self.next_notification(timeout)
            except NetlinkTimeoutError:
                return

    def decode(self, msg: GenlMessage) -> dict[Any, Any]:
        """:meth:`GenlSocket.decode` (no I/O but, once per family whose spec falls short,
        fetching the kernel's policy)."""
        return self.sock.decode(msg)

    def operation_name(self, msg: GenlMessage) -> str | None:
        """:meth:`GenlSocket.operation_name`."""
        return self.sock.operation_name(msg)

    def __repr__(self) -> str:
        if self._closed:
            return "<AsyncGenlSocket closed>"
        return f"<AsyncGenlSocket port={self.sock.port} pending={len(self.engine.pending)}>"


_TIMED_OUT = object()


def _weakly(
    owner: AsyncGenlSocket, method: Callable[[AsyncGenlSocket], None]
) -> Callable[[], None]:
    """``method`` of ``owner`` as a hook that does not keep ``owner`` alive."""
    ref = weakref.ref(owner)

    def hook() -> None:
        found = ref()
        if found is not None:
            method(found)

    return hook


def _resolve(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(None)


def _time_out(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(_TIMED_OUT)
