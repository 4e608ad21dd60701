"""asyncio over :class:`~libnl_py.genl.socket.GenlSocket`: same requests, same routing.

The socket's fd is watched with ``loop.add_reader``; whenever it is readable
the socket's pump reads every queued datagram and routes each message to the
request it answers (resolving that request's future) or to the notification
queue. Any number of requests can be in flight at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from libnl_py._ffi import lib
from libnl_py.errors import FreedSocketError, NetlinkError, NetlinkTimeoutError, NotFoundError
from libnl_py.genl.family import Family, family_from_message
from libnl_py.genl.socket import (
    SOCKET_TIMEOUT,
    FamilyRef,
    GenlSocket,
    OverrunError,
    RequestAttrs,
    Timeout,
    _family_query,
    _only_reply,
    _Request,
    _unknown_family,
)
from libnl_py.message import GenlMessage

__all__ = ["AsyncGenlSocket"]


class AsyncGenlSocket:
    """An asyncio front end for a :class:`GenlSocket`; it owns the socket.

    Create it inside a running loop (``async with AsyncGenlSocket() as sock``);
    keyword arguments go to :class:`GenlSocket`. At most ``max_in_flight``
    requests are outstanding at once (more wait their turn), so replies do not
    overrun the receive buffer. :meth:`close` stops watching the fd and frees
    the socket.
    """

    def __init__(
        self, sock: GenlSocket | None = None, *, max_in_flight: int = 64, **kwargs: Any
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._thread = threading.get_ident()
        self.sock = sock if sock is not None else GenlSocket(**kwargs)
        self._fd = self.sock.fileno()
        self._waiters: collections.deque[asyncio.Future[GenlMessage]] = collections.deque()
        # dump_iter: (its request, the future its next wait resolves on replies or the end)
        self._streams: list[tuple[_Request, asyncio.Future[None]]] = []
        self._closed = False
        self._loop.add_reader(self._fd, self._on_readable)

    # -- lifecycle -------------------------------------------------------------

    def close(self) -> None:
        """Stop watching the fd, fail waiting calls, free the socket. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        self._waiters.clear()
        self._fail_requests(
            FreedSocketError(function="AsyncGenlSocket", message="socket has been closed")
        )
        self.sock.free()

    def _fail_requests(self, error: BaseException) -> None:
        """Finish every request in flight with ``error`` (their awaiting calls raise it)."""
        sock = self.sock
        if sock.freed:
            return
        with sock._locked():
            for req in list(sock._pending.values()):
                sock._finish(req, error)

    async def __aenter__(self) -> AsyncGenlSocket:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the reader ------------------------------------------------------------

    def _on_readable(self) -> None:
        sock = self.sock
        try:
            with sock._locked():
                sock._pump()
        except Exception as exc:  # a freed socket or a libnl error: fail every waiter
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            self._waiters.clear()
            with contextlib.suppress(NetlinkError):  # freed or forked: nothing to finish
                self._fail_requests(exc)
            self._wake_streams(exc)
            return
        self._deliver()
        self._wake_streams()

    def _wake_streams(self, error: BaseException | None = None) -> None:
        """Wake the dump_iter waits whose dump has new replies, or has ended."""
        waiting, self._streams = self._streams, []
        for req, future in waiting:
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            elif req.replies or req.done:
                future.set_result(None)
            else:
                self._streams.append((req, future))

    def _deliver(self) -> None:
        queue = self.sock._notifications
        waiters = self._waiters
        while queue and waiters:
            waiter = waiters.popleft()
            if waiter.done():
                continue
            item = queue.popleft()
            if isinstance(item, OverrunError):
                waiter.set_exception(item)
            else:
                waiter.set_result(item)

    def _settle(self, req: _Request, future: asyncio.Future[list[GenlMessage]]) -> None:
        if future.done():
            return
        if req.error is not None:
            future.set_exception(req.error)
        else:
            future.set_result(req.replies)

    def _on_done(self, future: asyncio.Future[list[GenlMessage]]) -> Any:
        def on_done(req: _Request) -> None:
            if threading.get_ident() == self._thread:
                self._settle(req, future)
            else:  # pumped by a thread using the socket synchronously
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                    self._loop.call_soon_threadsafe(self._settle, req, future)

        return on_done

    # -- requests --------------------------------------------------------------

    async def _request(
        self,
        family: FamilyRef,
        cmd: int | str,
        attrs: RequestAttrs,
        flags: int,
        version: int | None,
        header: bytes,
        timeout: Timeout,
        what: str,
        decode: bool = False,
    ) -> list[Any]:
        sock = self.sock
        if isinstance(family, str) and family not in sock._families:
            await self.resolve_family(family)
        wait = sock._timeout(timeout)
        async with self._slots:
            future: asyncio.Future[list[GenlMessage]] = self._loop.create_future()
            req, replies, decoding = sock._send(
                family, cmd, attrs, flags, version, header, what, decode
            )
            self._deliver()  # notifications read along with the replies
            if req is not None:
                req.on_done = self._on_done(future)
                if req.done:  # a thread's pump finished it before the callback was set
                    self._settle(req, future)
                try:
                    replies = await asyncio.wait_for(future, wait)
                except asyncio.TimeoutError:
                    raise NetlinkTimeoutError(req.what, wait) from None
                finally:
                    sock._abandon(req)
        if req is None:  # answered in full at once: still a point where other tasks run,
            await asyncio.sleep(0)  # but with its slot given back (no queue at the semaphore)
        return replies if decoding is None else sock._finish_decoding(decoding, replies)

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
        return await self._request(
            family, cmd, attrs, flags, version, header, timeout, "execute", decode
        )

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
        decode: bool = False,
    ) -> list[Any]:
        """:meth:`GenlSocket.dump`, awaited."""
        flags |= lib.NLM_F_DUMP
        return await self._request(
            family, cmd, attrs, flags, version, header, timeout, "dump", decode
        )

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

        Stopping early (``break``, an exception, ``aclose()``) reads the rest
        of the dump and drops it, as the synchronous one does.
        """
        sock = self.sock
        if isinstance(family, str) and family not in sock._families:
            await self.resolve_family(family)
        wait = sock._timeout(timeout)
        async with self._slots:
            req, replies, decoding = sock._send(
                family,
                cmd,
                attrs,
                flags | lib.NLM_F_DUMP,
                version,
                header,
                "dump",
                decode,
                streaming=True,
            )
            self._deliver()
            if req is None:  # answered whole by the first batch
                for item in (
                    replies if decoding is None else sock._finish_decoding(decoding, replies)
                ):
                    yield item
                return
            try:
                while True:
                    chunk, done = sock._stream_take(req, decoding)
                    for item in chunk:
                        yield item
                    if done:
                        break
                    await self._next_part(req, wait)
                if req.error is not None:
                    raise req.error
            finally:
                if not req.done:
                    sock._stream_stop(req)
                    with contextlib.suppress(NetlinkError, asyncio.TimeoutError):
                        while not req.done:
                            await self._next_part(req, wait)
                sock._abandon(req)

    async def _next_part(self, req: _Request, wait: float | None) -> None:
        """Wait until ``req`` (a streaming dump) has replies again, or has ended."""
        if req.replies or req.done:
            return
        future: asyncio.Future[None] = self._loop.create_future()
        self._streams.append((req, future))
        try:
            await asyncio.wait_for(future, wait)
        except asyncio.TimeoutError:
            raise NetlinkTimeoutError(req.what, wait) from None

    async def resolve_family(self, name: str) -> Family:
        """:meth:`GenlSocket.resolve_family`, awaited."""
        sock = self.sock
        cached = sock._families.get(name)
        if cached is not None:
            return cached
        try:
            replies = await self.execute(
                lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, _family_query(name), version=2
            )
        except NotFoundError as exc:
            raise _unknown_family(exc, name) from None
        return sock._remember(family_from_message(_only_reply(replies, name)))

    async def list_families(self) -> list[Family]:
        """:meth:`GenlSocket.list_families`, awaited."""
        replies = await self.dump(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, version=2)
        return self.sock._remember_all([family_from_message(msg) for msg in replies])

    async def join_group(self, family: FamilyRef, group: str | int) -> int:
        """:meth:`GenlSocket.join_group`, after resolving the family without blocking."""
        if isinstance(family, str):
            family = await self.resolve_family(family)
        return self.sock.join_group(family, group)

    async def leave_group(self, family: FamilyRef, group: str | int) -> int:
        if isinstance(family, str):
            family = await self.resolve_family(family)
        return self.sock.leave_group(family, group)

    # -- notifications ---------------------------------------------------------

    async def next_notification(self, timeout: Timeout = SOCKET_TIMEOUT) -> GenlMessage:
        """The next notification; :class:`NetlinkTimeoutError` after ``timeout`` seconds."""
        if self._closed:
            raise FreedSocketError(function="next_notification", message="socket has been closed")
        wait = self.sock._timeout(timeout)
        queue = self.sock._notifications
        if queue and not self._waiters:
            item = queue.popleft()
            if isinstance(item, OverrunError):
                raise item
            return item
        waiter: asyncio.Future[GenlMessage] = self._loop.create_future()
        self._waiters.append(waiter)
        self._deliver()
        try:
            return await asyncio.wait_for(waiter, wait)
        except asyncio.TimeoutError:
            raise NetlinkTimeoutError("next_notification", wait) from None

    async def notifications(self, timeout: float | None = None) -> AsyncIterator[GenlMessage]:
        """Notifications as they arrive; stops after ``timeout`` seconds without one."""
        while True:
            try:
                yield await self.next_notification(timeout)
            except NetlinkTimeoutError:
                return

    def decode(self, msg: GenlMessage) -> dict[Any, Any]:
        return self.sock.decode(msg)
