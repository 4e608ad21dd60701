"""The request engine under :class:`~libnl_py.genl.socket.GenlSocket` and
:class:`~libnl_py.genl.aio.AsyncGenlSocket`.

One :class:`Engine` per socket holds the requests in flight, reads what the
kernel sends, routes each message to the request it answers (by sequence
number and sender port) or to the notification queue, and lets callers wait.
It knows nothing of families, specs or encodings: its callers hand it a
request's numbers and bytes, and get :class:`InFlight` objects back.

Receiving is done by whichever caller holds the socket's lock: one C call
(``lnp_transact`` after a send, ``lnp_recv_batch`` otherwise) reads all that
is queued and sorts each message; Python routes what C did not. Waiting
happens outside the lock: one thread sleeps in poll() on the fd (a wake-up
pipe interrupts it when another thread routes something), the others on a
condition, so a thread waiting for notifications never blocks another
thread's request. An asyncio front end instead calls :meth:`Engine.pump`
when the fd is readable, and learns of progress through a request's
``on_done`` and ``on_replies`` hooks.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import select
import threading
import time
import weakref
from typing import Any, Callable

from libnl_py._ffi import lib
from libnl_py.bindings import genl as _g
from libnl_py.bindings import socket as _b
from libnl_py.errors import (
    BusyError,
    DumpInterruptedError,
    ForkedSocketError,
    FreedSocketError,
    NetlinkError,
    NetlinkTimeoutError,
    OutOfMemoryError,
    check,
    error_for,
)
from libnl_py.genl.extack import kernel_error
from libnl_py.genl.family import Family, decode_batch, family_from_bytes
from libnl_py.genl.replies import Pending, ReplyDecoder
from libnl_py.message import (
    NLM_F_ACK,
    NLM_F_ACK_TLVS,
    NLM_F_DUMP,
    NLM_F_DUMP_INTR,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_NOOP,
    NLMSG_OVERRUN,
    ExtAck,
    GenlMessage,
    MalformedMessageError,
    parse_done,
    parse_error,
    split_datagram,
)
from libnl_py.socket import fork_generation
from libnl_py.spec import registry as _specs
from libnl_py.spec.loader import Catalog
from libnl_py.spec.model import FamilySpec

__all__ = ["NO_TURN", "Engine", "InFlight", "OverrunError", "decoded_families", "poll_readable"]

NO_TURN: list[Any] = []
"""What :meth:`Engine.start` returns for replies when no turn was free (nothing was sent)."""

_WAIT_MAX = threading.TIMEOUT_MAX
_NOTIFY = _g.NOTIFY
assert _g.DESC_WORDS == 8, "Engine._dispatch unpacks descriptors of 8 words"


class OverrunError(OutOfMemoryError):
    """The socket's receive buffer overran (``ENOBUFS``): the kernel dropped messages.

    libnl reports this as ``NLE_NOMEM`` "Out of memory"; the class keeps that
    code and sets ``errno`` to ``ENOBUFS``. Requests in flight when it happened
    are failed with it (their replies may be lost); the socket stays usable.
    ``count`` is the socket's overrun count so far.
    """

    default_errno = errno.ENOBUFS

    def __init__(self, count: int, function: str | None = "recv") -> None:
        super().__init__(
            lib.NLE_NOMEM, function, "receive buffer overrun: messages were dropped (ENOBUFS)"
        )
        self.count = count

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.count, self.function))


class InFlight:
    """One request in flight: what it sent, what came back, and who to tell.

    ``on_done(request)`` runs when it ends and ``on_replies(request)`` when a
    streaming request has new replies, on whichever thread routed them (with
    the socket's lock held: a hook must not use the socket).
    """

    __slots__ = (
        "catalog",
        "cmd",
        "data",
        "decoding",
        "discard",
        "done",
        "dump",
        "error",
        "families",
        "family_id",
        "family_name",
        "hdrsize",
        "interrupted",
        "on_done",
        "on_replies",
        "replies",
        "seq",
        "streaming",
        "undecoded",
        "what",
    )

    def __init__(
        self,
        seq: int,
        dump: bool,
        family_id: int,
        cmd: int,
        data: bytes,
        hdrsize: int,
        family_name: str | None,
        what: str,
    ) -> None:
        self.seq = seq
        self.family_id = family_id
        self.cmd = cmd
        self.dump = dump
        self.data = data  # the family header and attributes sent, for naming errors
        self.hdrsize = hdrsize
        self.family_name = family_name  # for its definition, looked up on error
        self.what = what
        self.replies: list[Any] = []  # GenlMessage; Family (or bytes) for a family query
        self.families = False  # replies are CTRL_CMD_NEWFAMILY, decoded in C
        self.undecoded = 0  # replies the C decoder left as bytes
        self.done = False
        self.interrupted = False
        self.error: BaseException | None = None
        self.on_done: Callable[[InFlight], None] | None = None
        self.on_replies: Callable[[InFlight], None] | None = None
        self.catalog: Catalog | None = None  # the socket's own specs, if it was given any
        self.decoding: ReplyDecoder | None = None  # replies decoded as they come (decode=True)
        self.streaming = False  # a dump read a batch at a time, replies taken as they come
        self.discard = False  # a streaming dump stopped early: the rest is read and dropped

    def spec(self) -> FamilySpec | None:
        """The spec of the request's family (looked up on error only: off the hot path)."""
        if self.family_name is None:
            return None
        try:
            found = self.catalog.find(self.family_name) if self.catalog is not None else None
            return found if found is not None else _specs.get(self.family_name)
        except Exception:  # a broken spec file: errors are still reported, without names
            return None  # (this runs while routing, which must not stop half-way)

    def describe(self) -> str:
        """What the request was, for error messages: by names where a spec has them."""
        spec = self.spec()
        op = spec.operation(self.cmd) if spec is not None else None
        if op is not None:
            return f"{spec.name} {op.name}"  # type: ignore[union-attr]
        if self.family_name is not None:
            return f"{self.what} {self.family_name} cmd {self.cmd}"
        return f"{self.what} family {self.family_id} cmd {self.cmd}"


class Engine:
    """Requests in flight on one connected ``nl_sock``, their routing, and the waits for them.

    Made by :class:`~libnl_py.genl.socket.GenlSocket` with its lock, its
    ``nl_sock`` and its receive batch; ``owner`` names the socket in errors.
    Every method takes the lock itself unless it says "lock held".
    ``families`` maps family ids to what nlctrl said of them, so that a
    notification's family header is known; its owner keeps it filled.
    """

    __slots__ = (
        "__weakref__",
        "_cond",
        "_generation",
        "_owner",
        "_polling",
        "_sleepers",
        "_wake",
        "_wake_finalizer",
        "batch",
        "catalog",
        "dropped",
        "families",
        "groups",
        "lock",
        "max_in_flight",
        "notifications",
        "on_notification",
        "on_turn",
        "overruns",
        "peer",
        "pending",
        "queued",
        "reserved",
        "running",
        "sk",
        "streams",
    )

    def __init__(
        self,
        lock: threading.Lock,
        sk: Any,
        batch: _g.RecvBatch,
        families: dict[int, Family],
        catalog: Catalog | None,
        owner: str,
    ) -> None:
        self.lock = lock
        self.sk: Any = sk  # None once the socket is freed
        self.batch = batch
        self.families = families
        self.catalog = catalog
        self._owner = owner
        self._generation = fork_generation[0]
        self.pending: dict[int, InFlight] = {}
        self.streams: set[int] = set()  # seqs of streaming dumps in flight
        # Notifications in arrival order; an OverrunError marks where some were lost.
        self.notifications: collections.deque[GenlMessage | OverrunError] = collections.deque()
        self.groups: set[int] = set()
        self.on_notification: Callable[[], None] | None = None
        """Called (lock held) after a read queued notifications, on the thread that read."""
        self.on_turn: Callable[[], None] | None = None
        """Called (lock held) when a turn may have come free, on the thread that freed it."""
        self.max_in_flight = 64
        """Requests in flight at most (reserved turns included); more wait their turn."""
        self.reserved = 0  # turns reserved by callers about to start a request
        self.queued = 0  # notifications queued, ever (a count: others may take them meanwhile)
        self.peer = 0
        self.dropped = 0
        self.overruns = 0
        self.running = 0  # the thread whose libnl call (that may run callbacks) holds the lock
        self._cond: threading.Condition | None = None  # made when a second waiter comes
        self._polling = False
        self._sleepers = 0
        self._wake: tuple[int, int] | None = None

    # -- ownership -------------------------------------------------------------

    def live(self) -> Any:
        """The ``nl_sock *``; FreedSocketError or ForkedSocketError if it is not ours. Lock held."""
        sk = self.sk
        if sk is None:
            raise FreedSocketError(function=self._owner, message="socket has been freed")
        if self._generation != fork_generation[0]:
            raise ForkedSocketError(
                function=self._owner,
                message="socket belongs to the parent process; open a new one after fork()",
            )
        return sk

    def locked(self) -> threading.Lock:
        """The lock, once this process is known to own the socket (see ``Socket._locked``)."""
        if self._generation != fork_generation[0] or self.running:
            self._refuse()
        return self.lock

    def acquire(self) -> None:
        """Take the lock of a live socket (the caller releases it); raises without it."""
        if self._generation != fork_generation[0] or self.running:
            self._refuse()
        self.lock.acquire()
        if self.sk is None:
            self.lock.release()
            self.live()

    def _refuse(self) -> None:
        """Raise for a socket of the parent process, or on the thread whose callback runs."""
        if self._generation != fork_generation[0]:
            self.live()
        if self.running == threading.get_ident():
            raise BusyError(
                function=self._owner,
                message="socket is running this callback: a callback cannot use the socket"
                " whose libnl call runs it",
            )

    def detach(self) -> None:
        """The socket is being freed (lock held, or in a forked child): let go of its
        ``nl_sock`` before libnl frees it, and of the batch."""
        self.sk = None
        # Every use of the batch comes after live(), which now raises.
        self.batch.give_back()
        if self._polling:
            self.interrupt()  # the poller wakes, finds the socket freed, closes the pipe
        elif self._wake is not None:
            self._close_wake()

    def set_peer(self, port: int) -> None:
        """Accept replies from ``port`` only. Lock held."""
        self.peer = self.batch.batch.peer = port

    def membership(self, group: int, join: bool) -> None:
        """Join or leave multicast group ``group`` (``nl_socket_add/drop_membership``)."""
        with self.locked():
            if join:
                check(lib.nl_socket_add_membership(self.live(), group), "nl_socket_add_membership")
                self.groups.add(group)
            else:
                check(
                    lib.nl_socket_drop_membership(self.live(), group), "nl_socket_drop_membership"
                )
                self.groups.discard(group)

    # -- requests --------------------------------------------------------------

    def start(
        self,
        family_id: int,
        cmd: int,
        flags: int,
        version: int,
        body: bytes,
        hdrsize: int,
        name: str | None,
        what: str,
        decoding: ReplyDecoder | None = None,
        streaming: bool = False,
        families: bool = False,
        turn: bool = False,
    ) -> tuple[InFlight | None, list[Any]]:
        """Send a checked request and read what is already queued.

        (None, replies) when that was all of it, cleanly ended; else (the
        request in flight, with its replies so far) for :meth:`wait` or the
        request's hooks. ``families``: the replies are nlctrl's family
        messages, decoded into :class:`Family` (or left as bytes where C
        could not); ``decoding``: replies decoded into plain values as they
        come; ``streaming``: a dump read one batch at a time.

        A request takes one of the :attr:`max_in_flight` turns: ``turn`` says
        the caller reserved one (:meth:`take_turn`, :meth:`try_reserve`);
        without, when none is free, nothing is sent and the result is
        ``(None, NO_TURN)``.
        """
        dump = flags & NLM_F_DUMP == NLM_F_DUMP
        if not dump:
            flags |= NLM_F_ACK
        self.acquire()
        if turn:
            self.reserved -= 1  # the reserved turn is this request's (or free again)
        elif len(self.pending) + self.reserved >= self.max_in_flight:
            self.lock.release()
            return None, NO_TURN
        seq = 0
        try:
            # One C call sends and reads what is queued: the kernel answers
            # during sendmsg, so its reply (and ACK) usually come back with it.
            batch = self.batch
            seq, result, desc = batch.transact(family_id, flags, cmd, version, body)
            if result == _g.CLEAN:
                # Only this request's replies, then its plain ACK or DONE:
                # nothing in the batch is for anyone else, nothing to route.
                if families:
                    replies: list[Any] = []
                    if decode_batch(batch.view, desc, replies)[2]:
                        replies = decoded_families(replies)
                    return None, replies
                if decoding is not None:
                    replies = []
                    rest, _flags = decoding.batch(batch.view, desc, _g.REPLY, replies)
                    if len(rest) > _g.DESC_WORDS:  # replies C left: decoded one by one
                        for message in clean_replies(batch.view, rest, hdrsize):
                            decoding.one(message, replies)
                    return None, replies
                return None, clean_replies(batch.view, desc, hdrsize)
            req = InFlight(seq, dump, family_id, cmd, body, hdrsize, name, what)
            req.families = families
            req.decoding = decoding
            req.streaming = streaming
            if streaming:
                self.streams.add(seq)
            req.catalog = self.catalog
            self.pending[seq] = req
            try:
                self.pump(req, first=(result, desc))
            except BaseException:
                self.pending.pop(seq, None)
                self.streams.discard(seq)
                raise
        finally:
            if turn and (not seq or seq not in self.pending):
                self._turn_freed()  # answered at once (or failed): its turn is free again
            self.lock.release()
        return req, req.replies

    # -- turns -----------------------------------------------------------------

    def reserve(self) -> bool:
        """Reserve a turn if one is free (lock held): the next :meth:`start` with ``turn``."""
        if len(self.pending) + self.reserved < self.max_in_flight:
            self.reserved += 1
            return True
        return False

    def try_reserve(self) -> bool:
        """:meth:`reserve`, taking the lock."""
        with self.locked():
            return self.reserve()

    def take_turn(self, timeout: float | None, deadline: float | None = None) -> None:
        """Wait (reading meanwhile) until a turn is free, and reserve it."""
        limit = self.max_in_flight
        self.wait_until(
            self.reserve,
            None,
            timeout,
            lambda: f"a turn among {limit} requests in flight",
            deadline,
        )

    def _turn_freed(self) -> None:
        """A turn may be free: wake whoever waits for one (lock held)."""
        self._wake_waiters()
        if self.on_turn is not None:
            self.on_turn()

    def wait(self, req: InFlight, timeout: float | None, deadline: float | None = None) -> None:
        """Receive until ``req`` is done; raise its error. Removes it from the table.

        At most ``timeout`` seconds, or until ``deadline`` (``time.monotonic()``) if
        given, the call's ``timeout`` then being what errors report.
        """
        try:
            if not req.done:
                self.wait_until(lambda: req.done, req, timeout, req.describe, deadline)
        finally:
            self.abandon(req)
        if req.error is not None:
            raise req.error

    def abandon(self, req: InFlight) -> None:
        """Forget ``req`` if it is still in flight: its caller stopped waiting.

        Its late replies are dropped (and counted in :attr:`dropped`).
        """
        if not req.done:
            with self.locked():
                if self.pending.pop(req.seq, None) is not None:
                    self._turn_freed()
                self.streams.discard(req.seq)

    def _wake_waiters(self) -> None:
        """Wake every thread waiting here, to check again what it waits for. Lock held."""
        if self._sleepers and self._cond is not None:
            self._cond.notify_all()
        if self._polling:
            self.interrupt()

    def fail_all(self, error: BaseException) -> None:
        """Finish every request in flight with ``error`` (their waiters raise it)."""
        if self.sk is None:
            return
        with self.locked():
            for req in list(self.pending.values()):
                self.finish(req, error)
            self._turn_freed()

    def take_replies(self, req: InFlight) -> tuple[list[Any], Pending | None, bool]:
        """(a streaming request's replies since the last take, their pending decodes, ended?)."""
        with self.locked():
            chunk, req.replies = req.replies, []
            pending = req.decoding.take() if req.decoding is not None else None
            return chunk, pending, req.done

    def stop_streaming(self, req: InFlight) -> None:
        """A streaming dump's taker stopped: read the rest as it comes and drop it."""
        with self.locked():
            req.discard = True
            req.replies = []

    def discard(self, req: InFlight, timeout: float | None) -> None:
        """Read the rest of a streaming dump its taker stopped, and drop it."""
        self.stop_streaming(req)
        try:
            self.wait_until(lambda: req.done, req, timeout, req.describe)
        except NetlinkError:
            pass  # gone with it (a timeout, an overrun): routing by sequence drops the rest
        finally:
            self.abandon(req)

    # -- notifications ---------------------------------------------------------

    def poll_notifications(self) -> list[GenlMessage]:
        """Read what is queued; every notification queued now."""
        with self.locked():
            self.pump()
            return self.drain()

    def drain(self) -> list[GenlMessage]:
        """Take the queued notifications; an overrun raises (before them if it came first)."""
        out: list[GenlMessage] = []
        queue = self.notifications
        while queue:
            item = queue.popleft()
            if isinstance(item, OverrunError):
                if out:
                    queue.appendleft(item)
                    return out
                raise item
            out.append(item)
        return out

    def next_notification(self, timeout: float | None) -> GenlMessage:
        """Wait at most ``timeout`` seconds for the next notification."""
        queue = self.notifications
        item: GenlMessage | OverrunError = self.wait_until(
            lambda: queue.popleft() if queue else None, None, timeout, lambda: "next_notification"
        )
        if isinstance(item, OverrunError):
            raise item
        return item

    # -- waiting ---------------------------------------------------------------

    def wait_until(
        self,
        ready: Callable[[], Any],
        until: InFlight | None,
        timeout: float | None,
        what: Callable[[], str],
        deadline: float | None = None,
    ) -> Any:
        """Receive until ``ready()`` returns something true, and return that.

        ``ready`` runs with the lock held, so it can also take what it found
        (a notification) before another thread does. At most ``timeout`` seconds
        (or until ``deadline``, if given: see :meth:`wait`).

        Whoever holds the lock reads and routes; one thread at a time sleeps
        in poll() on the fd, without the lock, and the others sleep on the
        condition, which every read that routed something wakes. So a reply
        routed by another thread always wakes its waiter.
        """
        if deadline is None and timeout is not None:
            deadline = time.monotonic() + timeout
        with self.locked():
            while True:
                found = ready()
                if found:
                    return found
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise NetlinkTimeoutError(what(), timeout)
                if self._polling:
                    cond = self._cond
                    if cond is None:
                        cond = self._cond = threading.Condition(self.lock)
                    self._sleepers += 1
                    try:
                        # Condition.wait refuses more than TIMEOUT_MAX; the loop re-waits.
                        cond.wait(None if remaining is None else min(remaining, _WAIT_MAX))
                    finally:
                        self._sleepers -= 1
                    continue
                if self.pump(until):
                    continue  # something arrived: check again, then read on
                fd = lib.nl_socket_get_fd(self.sk)
                wake = self._wake_pipe()
                self._polling = True
                self.lock.release()
                try:
                    poll_readable(fd, wake[0], remaining)
                finally:
                    self.lock.acquire()
                    self._polling = False
                    _drain_pipe(wake[0])
                    if self.sk is None:  # freed while we slept: the pipe is ours to close
                        self._close_wake()
                    if self._sleepers and self._cond is not None:
                        self._cond.notify_all()

    def pump(
        self,
        until: InFlight | None = None,
        limit: int = 64,
        first: tuple[int, _g.Descriptors] | None = None,
    ) -> int:
        """Read and route what is queued; returns the datagrams read. Lock held.

        Stops when nothing is queued, as soon as ``until`` is done, or after
        ``limit`` batches (so a flood cannot keep the caller here forever).
        The C side sorts each message (a reply to ``until``, its end, a
        notification, or anything else) so that the common case needs no
        routing in Python. After an overrun it reads on until the queue is
        empty, so the next request's reply has room. ``first`` is a batch
        already read (by ``lnp_transact``).
        """
        self.live()  # the socket is live, so its batch is still its own
        batch = self.batch
        seq, dump = (until.seq, until.dump) if until is not None else (0, False)
        if (until is not None and until.streaming) or (until is None and self.streams):
            limit = 1  # one arena at a time: a streaming dump's memory stays that of one batch
        queued = self.queued
        count = -1  # unknown: the read raised
        try:
            count = self._read(batch, until, seq, dump, limit, first)
        finally:
            if count:  # something routed: they may wait for it, or for its turn
                self._wake_waiters()
                if self.on_turn is not None:
                    self.on_turn()
            if self.on_notification is not None and self.queued != queued:
                self.on_notification()
        return count

    def _read(
        self,
        batch: _g.RecvBatch,
        until: InFlight | None,
        seq: int,
        dump: bool,
        limit: int,
        first: tuple[int, _g.Descriptors] | None,
    ) -> int:
        """:meth:`pump`'s reading and routing: the datagrams read."""
        count = 0
        draining = False
        for _ in range(limit):
            if first is not None:
                (result, desc), first = first, None
            else:
                result, desc = batch.recv(self.peer, seq, dump)
            count += batch.batch.datagrams
            if desc:
                self._dispatch(desc, until)
            if result < 0:
                # e.g. NLE_MSG_TRUNC: a datagram too long for the arena was lost.
                raise error_for(result, "recvmsg", errno=batch.sys_errno())
            if result == _g.OVERRUN:
                self._overrun()
                count += 1
                draining = True
                continue
            if result == _g.AGAIN or (not draining and until is not None and until.done):
                break
        return count

    def interrupt(self) -> None:
        """Wake a thread sleeping in poll() on the fd (it checks again what it waits for)."""
        if self._wake is not None:
            with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending already
                os.write(self._wake[1], b"\0")

    def _wake_pipe(self) -> tuple[int, int]:
        """The pipe that interrupts a poll() when another thread routed something."""
        if self._wake is None:
            read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            self._wake = (read_end, write_end)
            # An engine dropped with its socket, unfreed: the pipe goes with this finalizer.
            self._wake_finalizer = weakref.finalize(self, _close_pipe, read_end, write_end)
        return self._wake

    def _close_wake(self) -> None:
        wake, self._wake = self._wake, None
        if wake is not None:
            self._wake_finalizer.detach()
            _close_pipe(*wake)

    # -- routing (lock held) ---------------------------------------------------

    def _dispatch(self, desc: _g.Descriptors, until: InFlight | None) -> None:
        view = self.batch.view
        if until is not None and until.families:
            # The replies become Family objects in one C call; the rest is routed here.
            decoded = len(until.replies)
            try:
                desc, flags, undecoded = decode_batch(view, desc, until.replies)
            except Exception:
                # The names loader failed (a broken family definition, say):
                # keep the replies as bytes, the caller decodes them again and
                # raises, and the rest of the batch is still routed below.
                del until.replies[decoded:]
            else:
                until.undecoded += undecoded
                if flags & NLM_F_DUMP_INTR:
                    until.interrupted = True
        elif until is not None and not until.discard:
            # The replies become plain values, or GenlMessages, in one C call; the
            # rest is routed here.
            if until.decoding is not None:
                desc, flags = until.decoding.batch(view, desc, _g.REPLY, until.replies)
            else:
                desc, flags = _g.messages(
                    view, desc, _g.REPLY, GenlMessage, until.hdrsize, until.replies, _g.ANY_KIND
                )
            if flags & NLM_F_DUMP_INTR:
                until.interrupted = True
        families = self.families
        notifications = self.notifications
        if self.groups:  # a flood of notifications is made in one C call
            # Up to the first message that may be a notification of another kind (a
            # unicast one, say): the queue keeps the order they came in.
            made: list[GenlMessage] = []
            desc = _g.messages(view, desc, _NOTIFY, GenlMessage, families, made, _g.REQUEST_KINDS)[
                0
            ]
            if made:
                notifications.extend(made)
                self.queued += len(made)
        words = iter(desc)  # DESC_WORDS (8) at a time, without slicing
        for kind, msg_type, flags, seq, port, start, end, error in zip(
            words, words, words, words, words, words, words, words
        ):
            if kind == _NOTIFY:
                # One too short for its headers (dropped), or one after the last group was left.
                known = families.get(msg_type)
                try:
                    msg = GenlMessage(
                        view[start:end],
                        0,
                        end - start,
                        msg_type,
                        flags,
                        seq,
                        port,
                        known.hdrsize if known is not None else 0,
                    )
                except MalformedMessageError:
                    self.dropped += 1
                else:
                    notifications.append(msg)
                    self.queued += 1
                continue
            if kind == _g.TERMINAL and not error and not flags & NLM_F_ACK_TLVS:
                # The common end of a request: a plain ACK or NLMSG_DONE, read in C.
                assert until is not None
                self._end(until, flags)
                continue
            data = view[start:end]
            if (kind == _g.REPLY or kind == _g.TERMINAL) and until is not None:
                try:
                    self._handle(until, data, 0, end - start, msg_type, flags, seq, port)
                except MalformedMessageError as exc:
                    self.finish(until, exc)
            elif kind == _g.MALFORMED:
                self._malformed(port, MalformedMessageError("nlmsg_len does not fit", start))
            elif kind == _g.UNSPLIT:
                self._route(data, port, msg_type)
            else:
                self._route_one(data, 0, end - start, msg_type, flags, seq, port)
        if until is not None and until.on_replies is not None and until.replies:
            until.on_replies(until)

    def _overrun(self) -> None:
        self.overruns += 1
        error = OverrunError(self.overruns)
        pending, self.pending = self.pending, {}
        self.streams.clear()
        for req in pending.values():
            self.finish(req, error)
        if self.groups or not pending:
            # The notification stream lost messages: its reader is told once.
            self.notifications.append(error)
            self.queued += 1

    def finish(self, req: InFlight, error: BaseException | None = None) -> None:
        """End ``req`` (with ``error``, if it has none yet) and tell its ``on_done``. Lock held."""
        if error is not None and req.error is None:
            req.error = error
        req.done = True
        self.pending.pop(req.seq, None)
        self.streams.discard(req.seq)
        if req.on_done is not None:
            req.on_done(req)

    def _route(self, data: bytes, port: int, groups: int) -> None:
        """Route every message of a datagram the C side left whole."""
        try:
            messages = split_datagram(data)
        except MalformedMessageError as exc:
            self._malformed(port, exc)
            return
        for msg_type, flags, seq, _sender, start, end in messages:
            if groups:
                self._notify(data, start, end, msg_type, flags, seq, port)
            else:
                self._route_one(data, start, end, msg_type, flags, seq, port)

    def _route_one(
        self, data: bytes, start: int, end: int, msg_type: int, flags: int, seq: int, port: int
    ) -> None:
        """Route one unicast message by its sender port and sequence number."""
        if port != self.peer:
            self.dropped += 1  # spoofed or stray: not from the port we talk to
            return
        req = self.pending.get(seq)
        if req is None:
            if seq == 0:
                self._notify(data, start, end, msg_type, flags, seq, port)
            else:
                self.dropped += 1  # answers nothing in flight (e.g. after a timeout)
            return
        try:
            self._handle(req, data, start, end, msg_type, flags, seq, port)
        except MalformedMessageError as exc:
            self.finish(req, exc)
        else:
            if req.on_replies is not None and req.replies:
                req.on_replies(req)

    def _malformed(self, port: int, exc: MalformedMessageError) -> None:
        self.dropped += 1
        if port == self.peer:
            # From the port we talk to: whatever we wait for from it is broken.
            for req in list(self.pending.values()):
                self.finish(req, exc)

    def _handle(
        self,
        req: InFlight,
        data: bytes,
        start: int,
        end: int,
        msg_type: int,
        flags: int,
        seq: int,
        port: int,
    ) -> None:
        if msg_type == NLMSG_ERROR:
            error, ext_ack = parse_error(data, start, end, flags)
            self._end(req, flags, error, ext_ack)
        elif msg_type == NLMSG_DONE:
            error, ext_ack = parse_done(data, start, end, flags)
            if req.dump or error or req.interrupted or flags & NLM_F_DUMP_INTR:
                self._end(req, flags, error, ext_ack)
            # A multipart reply to a plain request ends at its ACK, still to come.
        elif msg_type == NLMSG_NOOP:
            return
        elif msg_type == NLMSG_OVERRUN:
            self.finish(req, OverrunError(self.overruns, req.describe()))
        else:
            if flags & NLM_F_DUMP_INTR:
                req.interrupted = True
            if req.families:
                req.replies.append(data[start:end])  # decoded by the caller
                req.undecoded += 1
                return
            if req.discard:
                return  # the rest of a dump its taker stopped taking
            msg = GenlMessage(data, start, end, msg_type, flags, seq, port, req.hdrsize)
            if req.decoding is not None:
                req.decoding.one(msg, req.replies)
            else:
                req.replies.append(msg)

    def _end(
        self, req: InFlight, flags: int, error: int = 0, ext_ack: ExtAck | None = None
    ) -> None:
        """Finish ``req`` at its ACK or NLMSG_DONE: with the kernel's error, interrupted, or done.

        ``NLM_F_DUMP_INTR`` counts on the terminal message alone, too.
        """
        if flags & NLM_F_DUMP_INTR:
            req.interrupted = True
        if error:
            self.finish(req, kernel_error(req, error, ext_ack))
        elif req.interrupted:
            self.finish(req, DumpInterruptedError(function=req.describe()))
        else:
            self.finish(req)

    def _notify(
        self, data: bytes, start: int, end: int, msg_type: int, flags: int, seq: int, port: int
    ) -> None:
        known = self.families.get(msg_type)
        hdrsize = known.hdrsize if known is not None else 0
        try:
            msg = GenlMessage(data, start, end, msg_type, flags, seq, port, hdrsize)
        except MalformedMessageError:
            self.dropped += 1
            return
        self.notifications.append(msg)
        self.queued += 1


def clean_replies(view: Any, desc: _g.Descriptors, hdrsize: int) -> list[GenlMessage]:
    """The replies of a ``CLEAN`` batch (all its messages but the ACK or DONE ending it)."""
    replies: list[GenlMessage] = []
    rest = _g.messages(view, desc, _g.REPLY, GenlMessage, hdrsize, replies, _g.ANY_KIND)[0]
    if len(rest) > _g.DESC_WORDS:
        raise MalformedMessageError("message shorter than its generic netlink headers", 0)
    return replies


def decoded_families(replies: list[Any]) -> list[Family]:
    """A family query's replies, with those the C decoder left as bytes decoded in Python.

    The Python decoder names the fault of a message that does not decode.
    """
    return [family_from_bytes(r) if type(r) is bytes else r for r in replies]


def poll_readable(fd: int, wake: int, timeout: float | None) -> None:
    """Wait at most ``timeout`` seconds (None: no limit) for ``fd`` or ``wake`` to be readable."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(wake, select.POLLIN)
    poller.poll(_b.poll_ms(timeout))  # at most POLL_MAX_MS: the caller loops to its deadline


def _close_pipe(read_end: int, write_end: int) -> None:
    os.close(read_end)
    os.close(write_end)


def _drain_pipe(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass
