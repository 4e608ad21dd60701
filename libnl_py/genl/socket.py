"""``GenlSocket``: a generic netlink client over a libnl socket.

What it adds to libnl:

* every request is matched to its replies by sequence number and sender port,
  and consumed through its ACK, so replies never run one behind;
* errors in ``NLMSG_ERROR`` and in a dump's ``NLMSG_DONE`` raise, with the
  kernel's own errno and its extended ACK (libnl swallows the latter and has
  no extended-ACK support);
* ``NLM_F_DUMP_INTR`` raises :class:`~libnl_py.errors.DumpInterruptedError`;
* multicast notifications are queued apart from replies;
* every wait has a timeout (its sends and receives pass ``MSG_DONTWAIT``;
  waits use poll);
* ``ENOBUFS`` (libnl's "Out of memory") raises :class:`OverrunError`.

The socket is a thin front over its parts: the request engine
(:mod:`libnl_py.genl.engine`: requests in flight, routing, waiting), nlctrl's
queries (:mod:`libnl_py.genl.control`) and the codecs that name messages
(:mod:`libnl_py.genl.codecs`). :class:`~libnl_py.genl.aio.AsyncGenlSocket`
is the same front for asyncio, over the same parts.
"""

from __future__ import annotations

import enum
import os
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, Callable, Optional, Union

from libnl_py._ffi import lib
from libnl_py.bindings import genl as _g
from libnl_py.bindings import socket as _b
from libnl_py.errors import (
    DumpInterruptedError,
    NetlinkError,
    NetlinkTimeoutError,
    NotFoundError,
    check,
)
from libnl_py.genl import control as _ctrl
from libnl_py.genl.codecs import FamilyCodecs, RequestAttrs
from libnl_py.genl.control import FamilyCache, FamilyRef
from libnl_py.genl.engine import NO_TURN, Engine, OverrunError, decoded_families
from libnl_py.genl.family import Family
from libnl_py.genl.replies import ReplyDecoder
from libnl_py.message import NLM_F_DUMP, NLM_F_REQUEST, GenlMessage
from libnl_py.netns import NetnsRef
from libnl_py.socket import Socket
from libnl_py.spec.loader import Catalog
from libnl_py.spec.model import FamilySpec
from libnl_py.spec.policy import FamilyPolicy

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TIMEOUT",
    "SOCKET_TIMEOUT",
    "FamilyRef",
    "GenlSocket",
    "OverrunError",
    "Prepared",
    "RequestAttrs",
    "Timeout",
    "checked_max_in_flight",
    "prepare",
    "target",
    "wait_time",
]

DEFAULT_TIMEOUT = 10.0
"""Seconds a request or receive waits when the caller gives no timeout."""

DEFAULT_RCVBUF = 1024 * 1024
"""Kernel receive buffer asked for at connect (libnl's 32 KiB overruns under load; the
kernel caps it at ``net.core.rmem_max``)."""

DEFAULT_MAX_IN_FLIGHT = 64
"""Requests a socket has outstanding at most; more wait their turn (threads and tasks alike)."""


class _Default(enum.Enum):
    TIMEOUT = "the socket's timeout"


SOCKET_TIMEOUT = _Default.TIMEOUT
"""Default of every ``timeout`` argument: use the socket's :attr:`GenlSocket.timeout`."""

Timeout = Union[float, None, _Default]
"""A ``timeout`` argument: seconds, ``None`` for no limit, or :data:`SOCKET_TIMEOUT`."""


Prepared = tuple[int, int, int, int, bytes, int, Optional[str], str, Optional[ReplyDecoder]]
"""A request checked and encoded by :func:`prepare`: the arguments of
:meth:`Engine.start <libnl_py.genl.engine.Engine.start>` up to ``decoding``
(family id, cmd, flags, version, body, hdrsize, family name, what, decoding)."""


class GenlSocket(Socket):
    """A libnl socket connected to ``NETLINK_GENERIC``, with a request/reply client.

    >>> with GenlSocket() as sock:
    ...     family = sock.resolve_family("nlctrl")
    ...     replies = sock.execute("nlctrl", "getfamily", {"family-name": "ethtool"})

    ``timeout`` is the default, in seconds, for every wait (``None``: no limit).
    ``ext_ack`` turns on ``NETLINK_EXT_ACK`` and ``NETLINK_CAP_ACK``.
    ``local_port``/``peer_port`` are set before connecting (0: libnl's choice /
    the kernel). ``rcvbuf`` sets the kernel receive buffer in bytes (None:
    libnl's 32 KiB). ``specs`` are spec files or :class:`FamilySpec` objects
    that come before every other source. ``netns`` opens the socket in
    another network namespace (a name, a path or an fd: see
    :mod:`libnl_py.netns`). At most ``max_in_flight`` requests are
    outstanding at once, over all threads; a thread with more waits its turn
    (the wait counts against its timeout), so replies do not overrun the
    receive buffer.
    """

    __slots__ = (
        "_catalog",
        "_codecs",
        "_nonblocking",
        "_port",
        "engine",
        "families",
        "timeout",
    )

    def __init__(
        self,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        ext_ack: bool = True,
        local_port: int = 0,
        peer_port: int = 0,
        rcvbuf: int | None = DEFAULT_RCVBUF,
        specs: Iterable[str | os.PathLike[str] | FamilySpec] = (),
        netns: NetnsRef | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        super().__init__(netns=netns)
        self.timeout = timeout if timeout is DEFAULT_TIMEOUT else _b.checked_timeout(timeout)
        """Seconds every wait may take unless a call gives its own ``timeout`` (None: no limit)."""
        limit = (
            max_in_flight
            if max_in_flight is DEFAULT_MAX_IN_FLIGHT
            else checked_max_in_flight(max_in_flight)
        )
        # The caller's specs come before every other source (see libnl_py.spec.loader).
        catalog = Catalog(specs, search_path="", builtin=False, system=False) if specs else None
        self.families = FamilyCache()
        """What nlctrl said of families, cached by name and by id."""
        self._catalog = catalog
        self._codecs: FamilyCodecs | None = None  # made when first needed
        self._port = 0
        self._nonblocking = False  # set by the first raw recv()/send_simple()
        batch = _g.RecvBatch.take()
        self.engine = Engine(
            self._lock, self._sk, batch, self.families.by_id, catalog, type(self).__name__
        )
        self.engine.max_in_flight = limit
        """The request engine: requests in flight, routing, waits (for front ends)."""
        try:
            if local_port:
                self.set_local_port(local_port)
            if peer_port:
                self.set_peer_port(peer_port)
            if rcvbuf is not DEFAULT_RCVBUF:
                rcvbuf = 0 if rcvbuf is None else _b.checked_uint(rcvbuf, "rcvbuf", 0x7FFFFFFF)
            # No lock: no other thread can reach the socket before __init__ returns.
            # No MSG_PEEK (one recvmsg per datagram), a large receive buffer,
            # extended ACKs. Sends and receives pass MSG_DONTWAIT themselves.
            sk, size = self._sk, rcvbuf
            self._port = self._in_netns(lambda: batch.genl_open(sk, size, ext_ack))
        except BaseException:
            self.free()
            raise

    @property
    def codecs(self) -> FamilyCodecs:
        """The specs and codecs this socket names messages with."""
        codecs = self._codecs
        if codecs is None:
            codecs = self._codecs = FamilyCodecs(
                self._catalog, self.families, _policy_fetcher(self)
            )
        return codecs

    # -- counters --------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Messages dropped: from an unexpected port, or answering no request in flight."""
        return self.engine.dropped

    @dropped.setter
    def dropped(self, value: int) -> None:
        self.engine.dropped = _b.checked_uint(value, "dropped", 1 << 63)

    @property
    def overruns(self) -> int:
        """Receive-buffer overruns seen (each also raised as :class:`OverrunError`)."""
        return self.engine.overruns

    @overruns.setter
    def overruns(self, value: int) -> None:
        self.engine.overruns = _b.checked_uint(value, "overruns", 1 << 63)

    @property
    def max_in_flight(self) -> int:
        """Requests outstanding at most, over all threads and tasks (see the class)."""
        return self.engine.max_in_flight

    @max_in_flight.setter
    def max_in_flight(self, value: int) -> None:
        self.engine.max_in_flight = checked_max_in_flight(value)

    @property
    def port(self) -> int:
        """The local port bound at connect."""
        return self._port

    # -- raw escape hatches ----------------------------------------------------

    def recv(self, timeout: float | None = None) -> tuple[bytes, int]:
        """:meth:`Socket.recv`, the raw escape hatch: it bypasses the routing.

        The fd is made non-blocking first, so with nothing queued it raises
        :class:`~libnl_py.errors.TryAgainError` instead of blocking.
        """
        self._raw_io()
        return super().recv(timeout)

    def send_simple(self, msg_type: int, flags: int = 0, payload: Any = b"") -> int:
        """:meth:`Socket.send_simple` on the non-blocking fd (a full peer: TryAgainError)."""
        self._raw_io()
        return super().send_simple(msg_type, flags, payload)

    def _raw_io(self) -> None:
        """Make the fd non-blocking before a raw libnl call, once.

        GenlSocket's own sends and receives pass ``MSG_DONTWAIT`` and leave
        the fd as nl_connect made it (a system call less per socket); libnl's
        ``nl_recv`` and ``nl_send_simple`` need the fd itself non-blocking.
        """
        if not self._nonblocking:
            with self._locked():
                check(lib.nl_socket_set_nonblocking(self._ptr()), "nl_socket_set_nonblocking")
                self._nonblocking = True

    def _run(self, objects: tuple[Any, ...], call: Any, *args: Any) -> int:
        # A libnl call that may run Python callbacks: the engine refuses them the socket too.
        self.engine.running = threading.get_ident()
        try:
            return super()._run(objects, call, *args)
        finally:
            self.engine.running = 0

    def set_peer_port(self, port: int) -> None:
        """Send requests to userspace port ``port`` (0: the kernel).

        Replies are accepted only from that port.
        """
        port = _b.checked_uint(port, "port", _b.PORT_MAX)
        with self._locked():  # libnl's peer and the engine's change together
            lib.nl_socket_set_peer_port(self._ptr(), port)
            self.engine.set_peer(port)

    # -- families --------------------------------------------------------------

    def resolve_family(self, name: str) -> Family:
        """Ask nlctrl for family ``name`` (``CTRL_CMD_GETFAMILY``); cached per socket.

        An unknown family raises :class:`~libnl_py.errors.NotFoundError` carrying
        the kernel's errno (``ENOENT``) and message, which ``genl_ctrl_resolve`` hides.
        """
        self.engine.live()  # a freed or forked socket answers nothing, not even from its cache
        family = self.families.by_name.get(name)
        if family is None:
            try:
                replies = self._ctrl(_ctrl.family_query(name), 0)
            except NotFoundError as exc:
                raise _ctrl.unknown_family(exc, name) from None
            family = self.families.remember(_ctrl.only_reply(replies, name))
        return family

    def _ctrl(self, attrs: bytes, flags: int) -> list[Family]:
        """A CTRL_CMD_GETFAMILY request or dump; the replies decoded as they are read."""
        engine = self.engine
        req, replies = engine.start(
            _ctrl.CTRL_ID,
            _ctrl.GETFAMILY,
            flags | NLM_F_REQUEST,
            _ctrl.CTRL_VERSION,
            attrs,
            0,
            "nlctrl",
            "getfamily",
            None,
            False,
            True,
        )
        deadline = None
        if replies is NO_TURN:  # every turn taken: wait for one
            wait = self.timeout
            deadline = None if wait is None else time.monotonic() + wait
            engine.take_turn(wait, deadline)
            request = _ctrl.family_request(attrs, flags)
            req, replies = engine.start(*request, None, False, True, True)
        if req is not None:
            engine.wait(req, self.timeout, deadline)
            replies = decoded_families(req.replies) if req.undecoded else req.replies
        return replies

    def list_families(self) -> list[Family]:
        """Every registered family (a ``CTRL_CMD_GETFAMILY`` dump), in kernel order."""
        return self.families.remember_all(self._ctrl(b"", NLM_F_DUMP))

    def get_policy(self, family: FamilyRef, cmd: int | None = None) -> FamilyPolicy:
        """The kernel's attribute policies for ``family`` (a ``CTRL_CMD_GETPOLICY`` dump).

        With ``cmd``, only that command's policies (``CTRL_ATTR_OP``).
        """
        resolved = self._family(family) if not isinstance(family, int) else None
        family_id = resolved.id if resolved is not None else _ctrl.family_id(family)
        replies = self.dump(
            _ctrl.CTRL_ID, _ctrl.GETPOLICY, _ctrl.policy_query(family_id, cmd), version=2
        )
        return _ctrl.policy_from_replies(replies, family_id, resolved, cmd)

    def resolve_group(self, family: FamilyRef, group: str) -> int:
        """The id of multicast group ``group`` of ``family``."""
        return self._family(family).group(group).id

    def _family(self, family: FamilyRef) -> Family:
        found = _ctrl.family_or_name(family)
        if isinstance(found, Family):
            self.engine.live()  # as resolve_family: no answers from a freed socket
            return found
        return self.resolve_family(found)

    def spec_for(self, family: FamilyRef) -> FamilySpec | None:
        """The spec that names ``family``'s operations and attributes, if one is known.

        ``family`` is a name, a :class:`Family` or an id this socket has
        resolved. Specs given to this socket come first, then
        :func:`libnl_py.spec.registry.get` (registered, ``LIBNL_PY_SPEC_PATH``,
        built-in, the system's). Looked up each time, so a spec registered
        later applies at once.
        """
        return self.codecs.spec_for(family)

    def spec_or_policy(self, family: FamilyRef) -> FamilySpec | None:
        """:meth:`spec_for`, else a spec made from the kernel's policy (``source == "policy"``)."""
        spec = self.codecs.spec_for(family)
        if spec is None and not isinstance(family, int):
            spec = self.codecs.policy_spec(self._family(family).name)
        return spec

    # -- requests --------------------------------------------------------------

    def execute(
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
        """Send one request and return its replies, consuming everything through its ACK.

        ``family`` is a name, a :class:`Family` or a numeric id; ``cmd`` a
        number or, with a family definition, a name; ``attrs`` bytes, an
        :class:`~libnl_py.attrs.AttributeEncoder`, or a mapping of attribute
        names (or numbers) to values encoded by the family definition.
        ``flags`` are added to ``NLM_F_REQUEST | NLM_F_ACK`` (``NLM_F_DUMP``
        makes it a dump: see :meth:`dump`). ``timeout`` covers the whole
        call: a turn among ``max_in_flight`` requests, then the replies.

        ``decode=True`` returns each reply as :meth:`decode` gives it (plain
        values, named by the spec), decoded as the replies arrive, in C where
        the accelerator is built; a reply that does not decode raises
        :class:`~libnl_py.attrs.MalformedAttributesError` once the request is
        consumed.

        Raises the :class:`~libnl_py.errors.NetlinkError` subclass for the
        kernel's errno, with ``.ext_ack``; :class:`NetlinkTimeoutError` when
        the ACK does not come within ``timeout``.
        """
        wait = self.timeout if timeout is SOCKET_TIMEOUT else _b.checked_timeout(timeout)
        prepared = prepare(self, family, cmd, attrs, flags, version, header, "execute", decode)
        engine = self.engine
        req, replies = engine.start(*prepared)
        if req is not None:
            engine.wait(req, wait)
            replies = req.replies
        elif replies is NO_TURN:  # every turn taken: wait for one
            replies = self._run_request(prepared, wait)
        decoding = prepared[8]
        return replies if decoding is None else self.codecs.finish(decoding, replies)

    def dump(
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
        """Send a dump request (``NLM_F_DUMP``) and return every message of the dump.

        An error in ``NLMSG_DONE`` raises like an error ACK. A dump the kernel
        marks ``NLM_F_DUMP_INTR`` (the data changed under it) raises
        :class:`~libnl_py.errors.DumpInterruptedError` after the dump is fully
        consumed, unless ``retries`` allows that many fresh attempts (each
        with the whole ``timeout``).
        ``decode=True``: each message as :meth:`decode` gives it (see :meth:`execute`).
        """
        wait = wait_time(self, timeout)
        retries = _b.checked_uint(retries, "retries", 1 << 16)
        for attempt in range(retries + 1):
            prepared = prepare(
                self, family, cmd, attrs, flags | NLM_F_DUMP, version, header, "dump", decode
            )
            try:
                replies = self._run_request(prepared, wait)
            except DumpInterruptedError:
                if attempt == retries:
                    raise
                continue
            decoding = prepared[8]
            return replies if decoding is None else self.codecs.finish(decoding, replies)
        raise AssertionError("unreachable")

    def _run_request(self, prepared: Prepared, wait: float | None) -> list[Any]:
        """Send ``prepared`` when a turn is free and wait for its end: its replies."""
        engine = self.engine
        req, replies = engine.start(*prepared)
        deadline = None
        if replies is NO_TURN:
            deadline = None if wait is None else time.monotonic() + wait
            engine.take_turn(wait, deadline)
            req, replies = engine.start(*prepared, False, False, True)
        if req is not None:
            engine.wait(req, wait, deadline)
            replies = req.replies
        return replies

    def dump_iter(
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
    ) -> Iterator[Any]:
        """:meth:`dump` as an iterator: the messages as their datagrams arrive.

        Memory stays that of one receive batch, whatever the dump's size: the
        kernel makes the next part of a dump only when the last was read.
        ``timeout`` is per wait for the next part. An error in ``NLMSG_DONE``
        or ``NLM_F_DUMP_INTR`` raises from the iterator once the messages
        before it were taken. Stopping early (``break``, an exception,
        ``close()``) reads the rest of the dump and drops it, so the socket is
        in step for the next request (the kernel runs one dump per socket at a
        time: another dump started on this socket while iterating raises
        :class:`~libnl_py.errors.BusyError`).

        The request is sent when the iteration starts, so that an iterator
        made and dropped unstarted leaves no dump running on the socket.
        """
        wait = wait_time(self, timeout)
        prepared = prepare(
            self, family, cmd, attrs, flags | NLM_F_DUMP, version, header, "dump", decode
        )
        engine = self.engine
        req, replies = engine.start(*prepared, True)
        if replies is NO_TURN:  # every turn taken: wait for one
            engine.take_turn(wait)
            req, replies = engine.start(*prepared, True, False, True)
        decoding = prepared[8]
        if req is None:  # answered whole by the first batch
            yield from (replies if decoding is None else self.codecs.finish(decoding, replies))
            return
        try:
            while True:
                chunk, pending, done = engine.take_replies(req)
                if decoding is not None and pending:
                    chunk = self.codecs.finish(decoding, chunk, pending)
                yield from chunk
                if done:
                    break
                engine.wait_until(lambda: req.done or req.replies, req, wait, req.describe)
            if req.error is not None:
                raise req.error
        finally:
            if not req.done:
                engine.discard(req, wait)

    # -- state -----------------------------------------------------------------

    def _release(self, by: str) -> bool:
        # Called by free(), with the lock held (or in a forked child). The engine lets go
        # of the nl_sock first, so it never holds one libnl has freed.
        if self._sk is not None:
            self.engine.detach()
        return super()._release(by)

    def close(self) -> None:
        """Close the fd (see :meth:`Socket.close`); a thread waiting on it wakes and raises."""
        super().close()
        if not self.freed:
            with self._locked():
                self.engine.interrupt()

    # -- notifications ---------------------------------------------------------

    def join_group(self, family: FamilyRef, group: str | int) -> int:
        """Join a multicast group (``nl_socket_add_membership``); returns its id."""
        group_id = self._group_id(family, group)
        if isinstance(family, (str, Family)):
            # Known by id from now on, so its notifications decode with its definition.
            self.families.remember(self._family(family))
        self.engine.membership(group_id, True)
        return group_id

    def leave_group(self, family: FamilyRef, group: str | int) -> int:
        """Leave a multicast group (``nl_socket_drop_membership``); returns its id."""
        group_id = self._group_id(family, group)
        self.engine.membership(group_id, False)
        return group_id

    def _group_id(self, family: FamilyRef, group: str | int) -> int:
        if isinstance(group, str):
            return self.resolve_group(family, group)
        return _b.checked_uint(group, "group", 0x7FFFFFFF)

    def poll_notifications(self) -> list[GenlMessage]:
        """Every notification queued now, without waiting."""
        return self.engine.poll_notifications()

    def next_notification(self, timeout: Timeout = SOCKET_TIMEOUT) -> GenlMessage:
        """The next notification, waiting at most ``timeout`` seconds.

        Raises :class:`NetlinkTimeoutError` when none comes, and
        :class:`OverrunError` (once) when the kernel dropped notifications.
        """
        return self.engine.next_notification(wait_time(self, timeout))

    def notifications(self, timeout: float | None = None) -> Iterator[GenlMessage]:
        """Iterate over notifications as they arrive.

        With a ``timeout``, iteration stops after that many seconds without one.
        """
        timeout = _b.checked_timeout(timeout)
        while True:
            try:
                yield self.next_notification(timeout)
            except NetlinkTimeoutError:
                return

    def decode(self, msg: GenlMessage) -> dict[Any, Any]:
        """A message as plain Python values, named by its family's spec.

        Without a spec, the kernel's policy types the attributes (fetched once
        per family); what neither knows stays bytes under its attribute number.
        A message with a sequence number is taken for a reply, one without for
        a notification (families number the two apart).
        """
        codecs = self._codecs
        return (codecs if codecs is not None else self.codecs).decode(msg)

    def operation_name(self, msg: GenlMessage) -> str | None:
        """The name of what ``msg`` is (its operation, notification or event), if a spec knows."""
        return self.codecs.operation_name(msg)

    def _fetch_policy(self, family: Family | str) -> FamilyPolicy | None:
        """The kernel's policy of ``family``, for the codecs: None if there is none to be had.

        Asked on this socket, unless a streaming dump runs on it (the kernel
        runs one dump per socket at a time): then on a short-lived socket of
        its own, in the same namespace. None when this socket talks to a
        userspace peer (only the kernel has policies).
        """
        if self.engine.peer:
            return None
        try:
            if not self.engine.streams:
                return self.get_policy(family)
            with GenlSocket(timeout=self.timeout, netns=self._netns) as other:
                return other.get_policy(family)
        except (NetlinkError, OSError, ValueError):
            return None

    def __repr__(self) -> str:
        if self.freed:
            return "<GenlSocket freed>"
        return f"<GenlSocket port={self._port} pending={len(self.engine.pending)}>"


def _policy_fetcher(sock: GenlSocket) -> Callable[[Family | str], FamilyPolicy | None]:
    """``sock._fetch_policy``, holding the socket weakly (its codecs must not keep it alive)."""
    ref = weakref.ref(sock)

    def fetch(family: Family | str) -> FamilyPolicy | None:
        owner = ref()
        return owner._fetch_policy(family) if owner is not None else None

    return fetch


# -- for front ends (this socket's methods and asyncio's) ----------------------


def checked_max_in_flight(value: object) -> int:
    """A ``max_in_flight`` argument: a whole number of requests, at least 1."""
    count = _b.checked_uint(value, "max_in_flight", 1 << 20)
    if count < 1:
        raise ValueError("max_in_flight must be at least 1")
    return count


def wait_time(sock: GenlSocket, timeout: Timeout) -> float | None:
    """A call's ``timeout`` argument, checked: seconds or None; ``sock``'s for SOCKET_TIMEOUT."""
    if timeout is SOCKET_TIMEOUT:
        return sock.timeout
    return _b.checked_timeout(timeout)


def target(sock: GenlSocket, family: FamilyRef) -> tuple[int, int, int, str | None]:
    """(family id, default version, hdrsize, name if known) of a family reference.

    A name ``sock`` has not resolved yet is resolved (a request to nlctrl).
    """
    if isinstance(family, int):  # (prepare() looks a known id or name up itself, first)
        return sock.families.known(_ctrl.family_id(family))
    resolved = sock._family(family)
    return resolved.id, resolved.version, resolved.hdrsize, resolved.name


def prepare(
    sock: GenlSocket,
    family: FamilyRef,
    cmd: int | str,
    attrs: RequestAttrs,
    flags: int,
    version: int | None,
    header: bytes,
    what: str,
    decode: bool = False,
) -> Prepared:
    """Check and encode a request of ``sock``'s (``what``: "execute" or "dump", for errors).

    A family name ``sock`` has not resolved yet is resolved here, blocking:
    asyncio resolves it first.
    """
    name: str | None
    if type(family) is int:
        known = sock.families.by_id.get(family)
    elif type(family) is str:
        # resolve_family's cache hit, inline (so its override is not called for a name
        # resolved before): no answers from a freed socket's cache.
        sock.engine.live()
        known = sock.families.by_name.get(family)
    else:
        known = None
    if known is not None:  # the usual: a family resolved before, by its id or name
        # Family's id, name, version and hdrsize by index, quicker than by name.
        family_id, default_version, hdrsize, name = known[0], known[2], known[3], known[1]
    else:
        family_id, default_version, hdrsize, name = target(sock, family)
    if type(cmd) is int and 0 <= cmd <= 0xFF and type(attrs) is bytes:  # built by hand
        cmd_id, payload = cmd, attrs
    else:
        cmd_id, payload, fixed = sock.codecs.encode(name, cmd, attrs, family)
        if fixed is not None and not header:
            header = fixed
    if type(flags) is not int or not 0 <= flags <= _b.U16_MAX:
        flags = _b.checked_uint(flags, "flags", _b.U16_MAX)
    flags |= NLM_F_REQUEST
    if version is None:
        version = default_version
    elif type(version) is not int or not 0 <= version <= 0xFF:
        version = _b.checked_uint(version, "version", 0xFF)
    if header or hdrsize:
        if not isinstance(header, (bytes, bytearray, memoryview)):
            raise TypeError(f"header must be bytes, not {type(header).__name__}")
        if len(header) != hdrsize and header:
            raise ValueError(f"family header must be {hdrsize} bytes, got {len(header)}")
        payload = (bytes(header) or b"\0" * hdrsize) + payload
    elif type(header) is not bytes and not isinstance(header, (bytearray, memoryview)):
        raise TypeError(f"header must be bytes, not {type(header).__name__}")
    decoding = sock.codecs.decoder(family_id, hdrsize, cmd_id) if decode else None
    return family_id, cmd_id, flags, version, payload, hdrsize, name, what, decoding
