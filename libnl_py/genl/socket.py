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

Receiving is done by whichever caller holds the socket's lock: one C call
(``lnp_transact`` after a send, ``lnp_recv_batch`` otherwise) reads all that
is queued and sorts each message; Python routes it to the request it answers
or to the notification queue. Waiting for more happens outside the lock: one
thread sleeps in poll() on the fd (a wake-up pipe interrupts it when another
thread routes something), the others on a condition, so a thread waiting for
notifications never blocks another thread's request.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import enum
import errno
import os
import select
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Callable, Union

from libnl_py._ffi import lib
from libnl_py.attrs import AttributeEncoder, attribute_path
from libnl_py.bindings import genl as _g
from libnl_py.bindings import socket as _b
from libnl_py.errors import (
    DumpInterruptedError,
    NetlinkError,
    NetlinkTimeoutError,
    NotFoundError,
    OutOfMemoryError,
    check,
    error_for,
    from_errno,
)
from libnl_py.genl.family import Family, decode_batch, family_from_bytes
from libnl_py.genl.replies import ReplyDecoder
from libnl_py.message import (
    GENL_HDRLEN,
    NLM_F_ACK,
    NLM_F_ACK_TLVS,
    NLM_F_DUMP,
    NLM_F_DUMP_INTR,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_HDRLEN,
    NLMSG_NOOP,
    NLMSG_OVERRUN,
    ExtAck,
    GenlMessage,
    MalformedMessageError,
    parse_done,
    parse_error,
    split_datagram,
)
from libnl_py.netns import NetnsRef
from libnl_py.socket import Socket
from libnl_py.spec import registry as _specs
from libnl_py.spec.codec import Codec
from libnl_py.spec.loader import Catalog
from libnl_py.spec.model import AttrSet, FamilySpec, Operation
from libnl_py.spec.policy import FamilyPolicy, parse_policy_dump, spec_from_policy

__all__ = [
    "DEFAULT_TIMEOUT",
    "SOCKET_TIMEOUT",
    "FamilyRef",
    "GenlSocket",
    "OverrunError",
    "RequestAttrs",
    "Timeout",
]

DEFAULT_TIMEOUT = 10.0
"""Seconds a request or receive waits when the caller gives no timeout."""

DEFAULT_RCVBUF = 1024 * 1024
"""Kernel receive buffer asked for at connect (libnl's 32 KiB overruns under load; the
kernel caps it at ``net.core.rmem_max``)."""


_GENL_ID_CTRL = lib.GENL_ID_CTRL
_WAIT_MAX = threading.TIMEOUT_MAX
_CTRL_CMD_GETFAMILY = lib.CTRL_CMD_GETFAMILY


class _Default(enum.Enum):
    TIMEOUT = "the socket's timeout"


SOCKET_TIMEOUT = _Default.TIMEOUT
"""Default of every ``timeout`` argument: use the socket's :attr:`GenlSocket.timeout`."""

Timeout = Union[float, None, _Default]
"""A ``timeout`` argument: seconds, ``None`` for no limit, or :data:`SOCKET_TIMEOUT`."""

RequestAttrs = Union[None, bytes, bytearray, memoryview, AttributeEncoder, Mapping[Any, Any]]
"""A request's attributes: encoded bytes, an encoder, or a mapping the family's spec encodes."""

FamilyRef = Union[str, int, Family]
"""A family: its name, a :class:`~libnl_py.genl.family.Family`, or its numeric id."""


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


class _Request:
    """One request in flight: what it sent and what came back."""

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
        self.data = data
        self.hdrsize = hdrsize
        self.family_name = family_name  # for its definition, looked up on error
        self.what = what
        self.replies: list[Any] = []  # GenlMessage; Family (or bytes) for a family query
        self.families = False  # replies are CTRL_CMD_NEWFAMILY, decoded in C
        self.undecoded = 0  # replies the C decoder left as bytes
        self.done = False
        self.interrupted = False
        self.error: BaseException | None = None
        self.on_done: Callable[[_Request], None] | None = None
        self.catalog: Catalog | None = None  # the socket's own specs, if it was given any
        self.decoding: ReplyDecoder | None = None  # replies decoded as they come (decode=True)
        self.streaming = False  # dump_iter: read a batch at a time, replies taken as they come
        self.discard = False  # dump_iter stopped early: the rest is read and dropped

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


class GenlSocket(Socket):
    """A libnl socket connected to ``NETLINK_GENERIC``, with a request/reply client.

    >>> with GenlSocket() as sock:
    ...     family = sock.resolve_family("nlctrl")
    ...     replies = sock.execute("nlctrl", "getfamily", {"family-name": "ethtool"})

    ``timeout`` is the default, in seconds, for every wait (``None``: no limit).
    ``ext_ack`` turns on ``NETLINK_EXT_ACK`` and ``NETLINK_CAP_ACK``.
    ``local_port``/``peer_port`` are set before connecting (0: libnl's choice /
    the kernel). ``rcvbuf`` sets the kernel receive buffer in bytes (None:
    libnl's 32 KiB). ``netns`` opens the socket in another network namespace
    (a name, a path or an fd: see :mod:`libnl_py.netns`).
    """

    __slots__ = (
        "_batch",
        "_by_id",
        "_catalog",
        "_codecs",
        "_cond",
        "_families",
        "_groups",
        "_nonblocking",
        "_notifications",
        "_peer",
        "_pending",
        "_policy_codecs",
        "_policy_specs",
        "_polling",
        "_port",
        "_requests",
        "_sleepers",
        "_streams",
        "_wake",
        "_wake_finalizer",
        "dropped",
        "overruns",
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
    ) -> None:
        super().__init__(netns=netns)
        # The caller's specs come before every other source (see libnl_py.spec.loader).
        self._catalog = (
            Catalog(specs, search_path="", builtin=False, system=False) if specs else None
        )
        self._policy_specs: dict[str, FamilySpec | None] = {}
        self._policy_codecs: dict[tuple[int, int], Codec] = {}
        # Family id -> (registry generation, codec): decode() looks a family up once.
        self._codecs: dict[int, tuple[int, Codec]] = {}
        # (family name, cmd) -> (registry generation, cmd id, codec, op) of requests by names.
        self._requests: dict[tuple[str, int | str], tuple[int, int, Codec, Operation]] = {}
        self._streams: set[int] = set()  # seqs of dump_iter requests in flight
        self.timeout = timeout if timeout is DEFAULT_TIMEOUT else _b.checked_timeout(timeout)
        """Seconds every wait may take unless a call gives its own ``timeout`` (None: no limit)."""
        self._pending: dict[int, _Request] = {}
        # Notifications in arrival order; an OverrunError marks where some were lost.
        self._notifications: collections.deque[GenlMessage | OverrunError] = collections.deque()
        self._groups: set[int] = set()
        self._families: dict[str, Family] = {}
        self._by_id: dict[int, Family] = {}
        self.dropped = 0
        """Messages dropped: from an unexpected port, or answering no request in flight."""
        self.overruns = 0
        """Receive-buffer overruns seen (each also raised as :class:`OverrunError`)."""
        self._peer = 0
        self._port = 0
        self._nonblocking = False  # set by the first raw recv()/send_simple()
        self._cond: threading.Condition | None = None  # made when a second waiter comes
        self._polling = False
        self._sleepers = 0
        self._wake: tuple[int, int] | None = None
        self._batch = _g.RecvBatch.take()
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
            self._port = self._in_netns(lambda: self._batch.genl_open(sk, size, ext_ack))
        except BaseException:
            self.free()
            raise

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

    def set_peer_port(self, port: int) -> None:
        """Send requests to userspace port ``port`` (0: the kernel).

        Replies are accepted only from that port.
        """
        port = _b.checked_uint(port, "port", _b.PORT_MAX)
        with self._locked():  # libnl's peer and the batch's change together
            lib.nl_socket_set_peer_port(self._ptr(), port)
            self._peer = self._batch.batch.peer = port

    # -- families --------------------------------------------------------------

    def resolve_family(self, name: str) -> Family:
        """Ask nlctrl for family ``name`` (``CTRL_CMD_GETFAMILY``); cached per socket.

        An unknown family raises :class:`~libnl_py.errors.NotFoundError` carrying
        the kernel's errno (``ENOENT``) and message, which ``genl_ctrl_resolve`` hides.
        """
        self._ptr()  # a freed or forked socket answers nothing, not even from its cache
        family = self._families.get(name)
        if family is None:
            try:
                replies = self._ctrl(_family_query(name), 0)
            except NotFoundError as exc:
                raise _unknown_family(exc, name) from None
            family = self._remember(_only_reply(replies, name))
        return family

    def _ctrl(self, attrs: bytes, flags: int) -> list[Family]:
        """A CTRL_CMD_GETFAMILY request or dump; the replies decoded as they are read."""
        req, replies = self._start(
            _GENL_ID_CTRL,
            _CTRL_CMD_GETFAMILY,
            flags | NLM_F_REQUEST,
            2,
            attrs,
            0,
            "nlctrl",
            "getfamily",
            True,
        )
        if req is not None:
            self._wait(req, self.timeout)
            replies = _decoded(req.replies) if req.undecoded else req.replies
        return replies

    def _remember(self, family: Family) -> Family:
        """Cache one family."""
        self._families[family.name] = family
        self._by_id[family.id] = family
        self._codecs.pop(family.id, None)  # the id may name another family now
        return family

    def _remember_all(self, families: list[Family]) -> list[Family]:
        """Cache every family of a dump."""
        for family in families:
            self._remember(family)
        return families

    def list_families(self) -> list[Family]:
        """Every registered family (a ``CTRL_CMD_GETFAMILY`` dump), in kernel order."""
        return self._remember_all(self._ctrl(b"", NLM_F_DUMP))

    def get_policy(self, family: FamilyRef, cmd: int | None = None) -> FamilyPolicy:
        """The kernel's attribute policies for ``family`` (a ``CTRL_CMD_GETPOLICY`` dump).

        With ``cmd``, only that command's policies (``CTRL_ATTR_OP``).
        """
        resolved = self._family(family) if not isinstance(family, int) else None
        family_id = (
            resolved.id
            if resolved is not None
            else _b.checked_uint(family, "family id", _b.U16_MAX)
        )
        enc = AttributeEncoder()
        enc.u16(lib.CTRL_ATTR_FAMILY_ID, family_id)
        if cmd is not None:
            enc.u32(lib.CTRL_ATTR_OP, _b.checked_uint(cmd, "cmd", 0xFF))
        replies = self.dump(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETPOLICY, enc, version=2)
        policy = parse_policy_dump(replies, family_id)
        if resolved is not None and cmd is None:
            _fix_dump_only_op(policy, resolved)
        return policy

    def resolve_group(self, family: FamilyRef, group: str) -> int:
        """The id of multicast group ``group`` of ``family``."""
        return self._family(family).group(group).id

    def _family(self, family: FamilyRef) -> Family:
        if isinstance(family, Family):
            self._ptr()  # as resolve_family: no answers from a freed socket
            return family
        if isinstance(family, str):
            return self.resolve_family(family)
        raise TypeError(f"family must be a name or a Family, not {type(family).__name__}")

    def _target(self, family: FamilyRef) -> tuple[int, int, int, str | None]:
        """(family id, default version, hdrsize, name if known) for a family reference."""
        if isinstance(family, int):
            if type(family) is not int or not 0 <= family <= _b.U16_MAX:  # not the usual
                if isinstance(family, bool):
                    raise TypeError("family must be a name, a Family or an id, not bool")
                family = _b.checked_uint(family, "family id", _b.U16_MAX)
            known = self._by_id.get(family)
            if known is not None:
                return family, known.version, known.hdrsize, known.name
            if family == _GENL_ID_CTRL:
                return family, 2, 0, "nlctrl"
            return family, 1, 0, None
        resolved = self._family(family)
        return resolved.id, resolved.version, resolved.hdrsize, resolved.name

    def spec_for(self, family: FamilyRef) -> FamilySpec | None:
        """The spec that names ``family``'s operations and attributes, if one is known.

        ``family`` is a name, a :class:`Family` or an id this socket has
        resolved. Specs given to this socket come first, then
        :func:`libnl_py.spec.registry.get` (registered, ``LIBNL_PY_SPEC_PATH``,
        built-in, the system's). Looked up each time, so a spec registered
        later applies at once.
        """
        if isinstance(family, Family):
            name: str | None = family.name
        elif isinstance(family, str):
            name = family
        else:
            known = self._by_id.get(family)
            name = (
                known.name if known is not None else ("nlctrl" if family == _GENL_ID_CTRL else None)
            )
        return self._spec(name) if name is not None else None

    def _spec(self, name: str) -> FamilySpec | None:
        if self._catalog is not None:
            found = self._catalog.find(name)
            if found is not None:
                return found
        return _specs.get(name)

    def spec_or_policy(self, family: FamilyRef) -> FamilySpec | None:
        """:meth:`spec_for`, else a spec made from the kernel's policy (``source == "policy"``)."""
        spec = self.spec_for(family)
        if spec is None and not isinstance(family, int):
            resolved = self._family(family)
            spec = self._policy_spec(resolved.name, resolved)
        return spec

    def _policy_spec(self, name: str, family: object) -> FamilySpec | None:
        """A spec made from the kernel's policy, for a family no spec describes (cached)."""
        if name in self._policy_specs:
            return self._policy_specs[name]
        try:
            spec: FamilySpec | None = spec_from_policy(name, self.get_policy(name))
        except NetlinkError:
            spec = None  # no policy to be had (a peer that is no kernel, say)
        self._policy_specs[name] = spec
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
        makes it a dump: see :meth:`dump`).

        ``decode=True`` returns each reply as :meth:`decode` gives it (plain
        values, named by the spec), decoded as the replies arrive, in C where
        the accelerator is built; a reply that does not decode raises
        :class:`~libnl_py.attrs.MalformedAttributesError` once the request is
        consumed.

        Raises the :class:`~libnl_py.errors.NetlinkError` subclass for the
        kernel's errno, with ``.ext_ack``; :class:`NetlinkTimeoutError` when
        the ACK does not come within ``timeout``.
        """
        wait = self._timeout(timeout)
        req, replies, decoding = self._send(
            family, cmd, attrs, flags, version, header, "execute", decode
        )
        if req is not None:
            self._wait(req, wait)
            replies = req.replies
        return replies if decoding is None else self._finish_decoding(decoding, replies)

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
        consumed, unless ``retries`` allows that many fresh attempts.
        ``decode=True``: each message as :meth:`decode` gives it (see :meth:`execute`).
        """
        wait = self._timeout(timeout)
        retries = _b.checked_uint(retries, "retries", 1 << 16)
        for attempt in range(retries + 1):
            req, replies, decoding = self._send(
                family, cmd, attrs, flags | NLM_F_DUMP, version, header, "dump", decode
            )
            if req is not None:
                try:
                    self._wait(req, wait)
                except DumpInterruptedError:
                    if attempt == retries:
                        raise
                    continue
                replies = req.replies
            return replies if decoding is None else self._finish_decoding(decoding, replies)
        raise AssertionError("unreachable")

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
        wait = self._timeout(timeout)
        req, replies, decoding = self._send(
            family, cmd, attrs, flags | NLM_F_DUMP, version, header, "dump", decode, streaming=True
        )
        yield from self._stream(req, replies, decoding, wait)

    def _stream(
        self,
        req: _Request | None,
        replies: list[Any],
        decoding: ReplyDecoder | None,
        wait: float | None,
    ) -> Iterator[Any]:
        if req is None:  # answered whole by the first batch
            yield from (replies if decoding is None else self._finish_decoding(decoding, replies))
            return
        try:
            while True:
                chunk, done = self._stream_take(req, decoding)
                yield from chunk
                if done:
                    break
                self._wait_until(lambda: req.done or req.replies, req, wait, req.describe)
            if req.error is not None:
                raise req.error
        finally:
            if not req.done:
                self._discard(req, wait)

    def _stream_take(self, req: _Request, decoding: ReplyDecoder | None) -> tuple[list[Any], bool]:
        """(the replies of a streaming dump since the last take, whether it has ended).

        For :meth:`dump_iter` and its asyncio twin; a reply that did not decode
        raises here, once those before it were taken.
        """
        with self._locked():
            chunk, req.replies = req.replies, []
            pending = decoding.take() if decoding is not None else None
            done = req.done
        if decoding is not None and pending:
            family_id, codec = decoding.family_id, decoding.codec
            chunk = decoding.finish(chunk, lambda: self._typed_codec(family_id, codec), pending)
        return chunk, done

    def _stream_stop(self, req: _Request) -> None:
        """Mark a streaming dump whose iterator stopped: its rest is read and dropped."""
        with self._locked():
            req.discard = True
            req.replies = []

    def _discard(self, req: _Request, wait: float | None) -> None:
        """Read the rest of a dump its iterator stopped taking, and drop it."""
        self._stream_stop(req)
        try:
            self._wait_until(lambda: req.done, req, wait, req.describe)
        except NetlinkError:
            pass  # gone with it (a timeout, an overrun): routing by sequence drops the rest
        finally:
            self._abandon(req)

    def _encode(
        self, name: str | None, cmd: int | str, attrs: RequestAttrs, family: object, dump: bool
    ) -> tuple[int, bytes, bytes | None]:
        """(cmd id, attributes, fixed header or None) of a request."""
        if type(cmd) is int and 0 <= cmd <= 0xFF:  # the common case, first
            if type(attrs) is bytes:
                return cmd, attrs, None
            if type(attrs) is AttributeEncoder:
                return cmd, attrs.encode(), None
            if attrs is None:
                return cmd, b"", None
        if type(attrs) is dict and name is not None:
            # A request by names, as asked before: its operation and codec, looked up once.
            known = self._requests.get((name, cmd))
            if known is not None and known[0] == _specs.generation[0]:
                _generation, known_id, known_codec, known_op = known
                if known_op.fixed_header is None:
                    assert known_op.attribute_set is not None
                    return known_id, known_codec.encode(known_op.attribute_set, attrs), None
        spec = self._spec(name) if name is not None else None
        if isinstance(cmd, str):
            if spec is None:
                raise NotFoundError(
                    function="execute",
                    message=f"command {cmd!r} given by name, but no spec describes"
                    f" family {family!r} (give the command as a number)",
                )
            op = spec.operation(cmd)
            if op is None or op.req_value is None:
                calls = sorted(o.name for o in spec.operations if o.is_call)
                raise NotFoundError(
                    function="execute",
                    message=f"family {spec.name!r} has no operation {cmd!r}"
                    f" (known: {', '.join(calls)})",
                )
            cmd_id = op.req_value
        else:
            cmd_id = _b.checked_uint(cmd, "cmd", 0xFF)
        if attrs is None:
            return cmd_id, b"", None
        if isinstance(attrs, AttributeEncoder):
            return cmd_id, attrs.encode(), None
        if isinstance(attrs, (bytes, bytearray, memoryview)):
            return cmd_id, bytes(attrs), None
        if not isinstance(attrs, Mapping):
            raise TypeError(
                f"attrs must be bytes, an AttributeEncoder or a mapping, not {type(attrs).__name__}"
            )
        op = spec.operation(cmd_id) if spec is not None else None
        if op is None and name is not None:
            # No spec knows this command: type it as the kernel validates it.
            policy = self._policy_spec(name, family)
            if policy is not None:
                spec, op = policy, policy.operation(cmd_id)
        if spec is None or op is None or op.attribute_set is None:
            if all(isinstance(k, int) for k in attrs):
                spec = spec or _UNTYPED
                op = _UNTYPED_OP
            else:
                raise NotFoundError(
                    function="execute",
                    message=f"attributes given by name, but no spec or policy describes"
                    f" family {family!r} cmd {cmd_id}",
                )
        codec = _specs.codec_for(spec)
        if name is not None and spec is not _UNTYPED:
            self._requests[(name, cmd)] = (_specs.generation[0], cmd_id, codec, op)
        values = dict(attrs)
        fixed = None
        if op.fixed_header is not None:
            header_spec = spec.struct(op.fixed_header)
            fields = {m.name: values.pop(m.name) for m in header_spec.members if m.name in values}
            fixed = codec.encode_header(op.fixed_header, fields)
        assert op.attribute_set is not None
        return cmd_id, codec.encode(op.attribute_set, values), fixed

    def _send(
        self,
        family: FamilyRef,
        cmd: int | str,
        attrs: RequestAttrs,
        flags: int,
        version: int | None,
        header: bytes,
        what: str,
        decode: bool = False,
        streaming: bool = False,
    ) -> tuple[_Request | None, list[Any], ReplyDecoder | None]:
        """Check and send a request: (the request in flight or None, its replies so far,
        how its replies are decoded if ``decode``)."""
        family_id, default_version, hdrsize, name = self._target(family)
        cmd_id, payload, fixed = self._encode(name, cmd, attrs, family, what == "dump")
        if fixed is not None and not header:
            header = fixed
        if type(flags) is not int or not 0 <= flags <= _b.U16_MAX:
            flags = _b.checked_uint(flags, "flags", _b.U16_MAX)
        flags |= NLM_F_REQUEST
        version = default_version if version is None else _b.checked_uint(version, "version", 0xFF)
        if header or hdrsize:
            if not isinstance(header, (bytes, bytearray, memoryview)):
                raise TypeError(f"header must be bytes, not {type(header).__name__}")
            if len(header) != hdrsize and header:
                raise ValueError(f"family header must be {hdrsize} bytes, got {len(header)}")
            payload = (bytes(header) or b"\0" * hdrsize) + payload
        elif type(header) is not bytes and not isinstance(header, (bytearray, memoryview)):
            raise TypeError(f"header must be bytes, not {type(header).__name__}")
        decoding = (
            ReplyDecoder(self._reply_codec(family_id), family_id, hdrsize) if decode else None
        )
        req, replies = self._start(
            family_id,
            cmd_id,
            flags,
            version,
            payload,
            hdrsize,
            name,
            what,
            decoding=decoding,
            streaming=streaming,
        )
        return req, replies, decoding

    def _start(
        self,
        family_id: int,
        cmd: int,
        flags: int,
        version: int,
        body: bytes,
        hdrsize: int,
        name: str | None,
        what: str,
        families: bool = False,
        decoding: ReplyDecoder | None = None,
        streaming: bool = False,
    ) -> tuple[_Request | None, list[Any]]:
        """Send a checked request and read what is already queued.

        (None, replies) when that was all of it, cleanly ended; else (the
        request in flight, with its replies so far) for :meth:`_wait`.
        """
        dump = flags & NLM_F_DUMP == NLM_F_DUMP
        if not dump:
            flags |= NLM_F_ACK
        self._acquire()  # the lock, once the socket is known to be live and ours
        try:
            # One C call sends and reads what is queued: the kernel answers
            # during sendmsg, so its reply (and ACK) usually come back with it.
            seq, result, desc = self._batch.transact(family_id, flags, cmd, version, body)
            if result == _g.CLEAN:
                # Only this request's replies, then its plain ACK or DONE:
                # nothing in the batch is for anyone else, nothing to route.
                if families:
                    replies: list[Any] = []
                    if decode_batch(self._batch.view, desc, replies)[2]:
                        replies = _decoded(replies)
                    return None, replies
                if decoding is not None:
                    replies = []
                    rest, _flags = decoding.batch(self._batch.view, desc, _g.REPLY, replies)
                    if len(rest) > _g.DESC_WORDS:  # replies C left: decoded one by one
                        for message in self._batch.replies(rest, GenlMessage, hdrsize):
                            decoding.one(message, replies)
                    return None, replies
                return None, self._batch.replies(desc, GenlMessage, hdrsize)
            req = _Request(seq, dump, family_id, cmd, body, hdrsize, name, what)
            req.families = families
            req.decoding = decoding
            req.streaming = streaming
            if streaming:
                self._streams.add(seq)
            req.catalog = self._catalog
            self._pending[seq] = req
            try:
                self._pump(req, first=(result, desc))
            except BaseException:
                self._pending.pop(seq, None)
                raise
        finally:
            self._lock.release()
        return req, req.replies

    # -- receiving -------------------------------------------------------------

    def _timeout(self, timeout: Timeout) -> float | None:
        """A call's ``timeout`` argument, checked; the socket's for SOCKET_TIMEOUT."""
        if timeout is SOCKET_TIMEOUT:
            return self.timeout
        return _b.checked_timeout(timeout)

    def _wait(self, req: _Request, timeout: float | None) -> None:
        """Receive until ``req`` is done; raise its error. Removes it from the table."""
        try:
            if not req.done:
                self._wait_until(lambda: req.done, req, timeout, req.describe)
        finally:
            self._abandon(req)
        if req.error is not None:
            raise req.error

    def _abandon(self, req: _Request) -> None:
        """Forget ``req`` if it is still in flight: its caller stopped waiting."""
        if not req.done:
            with self._locked():
                self._pending.pop(req.seq, None)
                self._streams.discard(req.seq)

    def _wait_until(
        self,
        ready: Callable[[], Any],
        until: _Request | None,
        timeout: float | None,
        what: Callable[[], str],
    ) -> Any:
        """Receive until ``ready()`` returns something true, and return that.

        ``ready`` runs with the lock held, so it can also take what it found
        (a notification) before another thread does. At most ``timeout`` seconds.

        Whoever holds the lock reads and routes; one thread at a time sleeps
        in poll() on the fd, without the lock, and the others sleep on the
        condition, which every read that routed something wakes. So a reply
        routed by another thread always wakes its waiter.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._locked():
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
                        cond = self._cond = threading.Condition(self._lock)
                    self._sleepers += 1
                    try:
                        # Condition.wait refuses more than TIMEOUT_MAX; the loop re-waits.
                        cond.wait(None if remaining is None else min(remaining, _WAIT_MAX))
                    finally:
                        self._sleepers -= 1
                    continue
                if self._pump(until):
                    continue  # something arrived: check again, then read on
                fd = lib.nl_socket_get_fd(self._sk)
                wake = self._wake_pipe()
                self._polling = True
                self._lock.release()
                try:
                    _poll_readable(fd, wake[0], remaining)
                finally:
                    self._lock.acquire()
                    self._polling = False
                    _drain_pipe(wake[0])
                    if self._sk is None:  # freed while we slept: the pipe is ours to close
                        self._close_wake()
                    if self._sleepers and self._cond is not None:
                        self._cond.notify_all()

    def _pump(
        self,
        until: _Request | None = None,
        limit: int = 64,
        first: tuple[int, list[int]] | None = None,
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
        self._ptr()  # the socket is live, so its batch is still its own
        batch = self._batch
        seq, dump = (until.seq, until.dump) if until is not None else (0, False)
        if (until is not None and until.streaming) or (until is None and self._streams):
            limit = 1  # one arena at a time: a streaming dump's memory stays that of one batch
        count = 0
        draining = False
        for _ in range(limit):
            if first is not None:
                (result, desc), first = first, None
            else:
                result, desc = batch.recv(self._peer, seq, dump)
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
        if count:
            if self._sleepers and self._cond is not None:
                self._cond.notify_all()
            if self._polling:
                self._interrupt_poll()  # it may be waiting for what was just routed
        return count

    def _wake_pipe(self) -> tuple[int, int]:
        """The pipe that interrupts a poll() when another thread routed something."""
        if self._wake is None:
            read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            self._wake = (read_end, write_end)
            # A socket dropped without free(): its C object goes with ffi.gc,
            # the pipe with this finalizer.
            self._wake_finalizer = weakref.finalize(self, _close_pipe, read_end, write_end)
        return self._wake

    def _release(self) -> bool:
        # Called by free(), with the lock held (or in a forked child).
        released = super()._release()
        if released:
            # Every use of the batch comes after _ptr(), which now raises.
            self._batch.give_back()
        if self._polling:
            self._interrupt_poll()  # the poller wakes, finds the socket freed, closes the pipe
        elif self._wake is not None:
            self._close_wake()
        return released

    def _close_wake(self) -> None:
        wake, self._wake = self._wake, None
        if wake is not None:
            self._wake_finalizer.detach()
            _close_pipe(*wake)

    def _interrupt_poll(self) -> None:
        if self._wake is not None:
            with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending already
                os.write(self._wake[1], b"\0")

    def close(self) -> None:
        """Close the fd (see :meth:`Socket.close`); a thread waiting on it wakes and raises."""
        super().close()
        with self._locked():
            if self._polling:
                self._interrupt_poll()

    def _dispatch(self, desc: list[int], until: _Request | None) -> None:
        view = self._batch.view
        if until is not None and until.families:
            # The replies become Family objects in one C call; the rest is routed here.
            decoded = len(until.replies)
            try:
                desc, flags, undecoded = decode_batch(view, desc, until.replies)
            except Exception:
                # The names loader failed (a broken family definition, say):
                # keep the replies as bytes, _ctrl decodes them again and
                # raises, and the rest of the batch is still routed below.
                del until.replies[decoded:]
            else:
                until.undecoded += undecoded
                if flags & NLM_F_DUMP_INTR:
                    until.interrupted = True
        elif until is not None and until.decoding is not None and not until.discard:
            # The replies become plain values in one C call; the rest is routed here.
            desc, flags = until.decoding.batch(view, desc, _g.REPLY, until.replies)
            if flags & NLM_F_DUMP_INTR:
                until.interrupted = True
        for i in range(0, len(desc), _g.DESC_WORDS):
            kind, msg_type, flags, seq, port, start, end, error = desc[i : i + _g.DESC_WORDS]
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
                    self._finish(until, exc)
            elif kind == _g.NOTIFY:
                self._notify(data, 0, end - start, msg_type, flags, seq, port)
            elif kind == _g.MALFORMED:
                self._malformed(port, MalformedMessageError("nlmsg_len does not fit", start))
            elif kind == _g.UNSPLIT:
                self._route(data, port, msg_type)
            else:
                self._route_one(data, 0, end - start, msg_type, flags, seq, port)

    def _overrun(self) -> None:
        self.overruns += 1
        error = OverrunError(self.overruns)
        pending, self._pending = self._pending, {}
        self._streams.clear()
        for req in pending.values():
            self._finish(req, error)
        if self._groups or not pending:
            # The notification stream lost messages: its reader is told once.
            self._notifications.append(error)

    def _finish(self, req: _Request, error: BaseException | None = None) -> None:
        if error is not None and req.error is None:
            req.error = error
        req.done = True
        self._pending.pop(req.seq, None)
        self._streams.discard(req.seq)
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
        if port != self._peer:
            self.dropped += 1  # spoofed or stray: not from the port we talk to
            return
        req = self._pending.get(seq)
        if req is None:
            if seq == 0:
                self._notify(data, start, end, msg_type, flags, seq, port)
            else:
                self.dropped += 1  # answers nothing in flight (e.g. after a timeout)
            return
        try:
            self._handle(req, data, start, end, msg_type, flags, seq, port)
        except MalformedMessageError as exc:
            self._finish(req, exc)

    def _malformed(self, port: int, exc: MalformedMessageError) -> None:
        self.dropped += 1
        if port == self._peer:
            # From the port we talk to: whatever we wait for from it is broken.
            for req in list(self._pending.values()):
                self._finish(req, exc)

    def _handle(
        self,
        req: _Request,
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
            self._finish(req, OverrunError(self.overruns, req.describe()))
        else:
            if flags & NLM_F_DUMP_INTR:
                req.interrupted = True
            if req.families:
                req.replies.append(data[start:end])  # decoded by _ctrl
                req.undecoded += 1
                return
            if req.discard:
                return  # the rest of a dump its iterator stopped taking
            msg = GenlMessage(data, start, end, msg_type, flags, seq, port, req.hdrsize)
            if req.decoding is not None:
                req.decoding.one(msg, req.replies)
            else:
                req.replies.append(msg)

    def _end(
        self, req: _Request, flags: int, error: int = 0, ext_ack: ExtAck | None = None
    ) -> None:
        """Finish ``req`` at its ACK or NLMSG_DONE: with the kernel's error, interrupted, or done.

        ``NLM_F_DUMP_INTR`` counts on the terminal message alone, too.
        """
        if flags & NLM_F_DUMP_INTR:
            req.interrupted = True
        if error:
            self._finish(req, self._kernel_error(req, error, ext_ack))
        elif req.interrupted:
            self._finish(req, DumpInterruptedError(function=req.describe()))
        else:
            self._finish(req)

    def _kernel_error(self, req: _Request, error: int, ext_ack: ExtAck | None) -> NetlinkError:
        if ext_ack is not None and ext_ack.offset is not None:
            # Offsets count from the request's nlmsghdr; req.data starts after
            # the genl header, with the family header, then the attributes.
            body_offset = ext_ack.offset - NLMSG_HDRLEN - GENL_HDRLEN
            if body_offset >= req.hdrsize:
                path = tuple(attribute_path(req.data, body_offset, req.hdrsize))
                names = _attribute_names(req, path)
                ext_ack = dataclasses.replace(ext_ack, attribute_path=path, attribute_names=names)
        if ext_ack is not None and ext_ack.missing_type is not None:
            ext_ack = dataclasses.replace(ext_ack, missing_name=_missing_name(req, ext_ack))
        exc = from_errno(error, req.describe())
        if ext_ack is not None:
            detail = ext_ack.describe()
            if detail:
                exc.message = f"{exc.message}: {detail}"
                exc.strerror = exc.message
        exc.ext_ack = ext_ack
        return exc

    def _notify(
        self, data: bytes, start: int, end: int, msg_type: int, flags: int, seq: int, port: int
    ) -> None:
        known = self._by_id.get(msg_type)
        hdrsize = known.hdrsize if known is not None else 0
        try:
            msg = GenlMessage(data, start, end, msg_type, flags, seq, port, hdrsize)
        except MalformedMessageError:
            self.dropped += 1
            return
        self._notifications.append(msg)

    # -- notifications ---------------------------------------------------------

    def join_group(self, family: FamilyRef, group: str | int) -> int:
        """Join a multicast group (``nl_socket_add_membership``); returns its id."""
        group_id = self._group_id(family, group)
        if isinstance(family, (str, Family)):
            # Known by id from now on, so its notifications decode with its definition.
            self._remember(self._family(family))
        with self._locked():
            check(lib.nl_socket_add_membership(self._ptr(), group_id), "nl_socket_add_membership")
            self._groups.add(group_id)
        return group_id

    def leave_group(self, family: FamilyRef, group: str | int) -> int:
        """Leave a multicast group (``nl_socket_drop_membership``); returns its id."""
        group_id = self._group_id(family, group)
        with self._locked():
            check(lib.nl_socket_drop_membership(self._ptr(), group_id), "nl_socket_drop_membership")
            self._groups.discard(group_id)
        return group_id

    def _group_id(self, family: FamilyRef, group: str | int) -> int:
        if isinstance(group, str):
            return self.resolve_group(family, group)
        return _b.checked_uint(group, "group", 0x7FFFFFFF)

    def poll_notifications(self) -> list[GenlMessage]:
        """Every notification queued now, without waiting."""
        with self._locked():
            self._pump()
            return self._drain()

    def _drain(self) -> list[GenlMessage]:
        out: list[GenlMessage] = []
        queue = self._notifications
        while queue:
            item = queue.popleft()
            if isinstance(item, OverrunError):
                if out:
                    queue.appendleft(item)
                    return out
                raise item
            out.append(item)
        return out

    def next_notification(self, timeout: Timeout = SOCKET_TIMEOUT) -> GenlMessage:
        """The next notification, waiting at most ``timeout`` seconds.

        Raises :class:`NetlinkTimeoutError` when none comes, and
        :class:`OverrunError` (once) when the kernel dropped notifications.
        """
        wait = self._timeout(timeout)
        queue = self._notifications
        item: GenlMessage | OverrunError = self._wait_until(
            lambda: queue.popleft() if queue else None, None, wait, lambda: "next_notification"
        )
        if isinstance(item, OverrunError):
            raise item
        return item

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
        if not isinstance(msg, GenlMessage):
            raise TypeError(f"decode() takes a GenlMessage, not {type(msg).__name__}")
        codec = self._reply_codec(msg.family_id)
        _op, values = codec.decode_message(
            msg.data, msg.attrs_offset, msg.header, msg.cmd, reply=msg.seq != 0
        )
        if codec.saw_unknown:
            typed = self._typed_codec(msg.family_id, codec)
            if typed is not codec:
                _op, values = typed.decode_message(
                    msg.data, msg.attrs_offset, msg.header, msg.cmd, reply=msg.seq != 0
                )
        return values

    def _finish_decoding(self, decoding: ReplyDecoder, replies: list[Any]) -> list[Any]:
        """The replies of an ended ``decode=True`` request (see :class:`ReplyDecoder`).

        Not under the lock: fetching the kernel's policy is a request of its own.
        """
        if not decoding.pending:
            return replies
        return decoding.finish(
            replies, lambda: self._typed_codec(decoding.family_id, decoding.codec)
        )

    def _reply_codec(self, family_id: int) -> Codec:
        """The codec that decodes ``family_id``'s messages here (looked up once per family)."""
        found = self._codecs.get(family_id)
        if found is not None and found[0] == _specs.generation[0]:
            return found[1]  # the common case: this family's codec, looked up before
        codec = self._codec_for(family_id)
        if family_id in self._by_id or family_id == _GENL_ID_CTRL:
            self._codecs[family_id] = (_specs.generation[0], codec)
        return codec

    def _typed_codec(self, family_id: int, codec: Codec) -> Codec:
        """``codec`` once a decode met attributes its spec lacks: with the kernel's policy.

        The kernel may be newer than the spec: its policy types them (fetched
        once per family), under their numbers. From then on that codec decodes
        for the family.
        """
        if codec.spec.source == "policy":
            return codec
        typed = self._policy_codec(family_id, codec)
        if family_id in self._codecs:
            self._codecs[family_id] = (_specs.generation[0], typed)
        return typed

    def _policy_codec(self, family_id: int, codec: Codec) -> Codec:
        """``codec`` with the kernel's policy typing what its spec lacks; ``codec`` if none."""
        key = (family_id, id(codec.spec))
        found = self._policy_codecs.get(key)
        if found is None:
            found = codec
            known = self._by_id.get(family_id)
            if known is not None and self._peer == 0:  # only the kernel has policies
                # Asked on a socket of its own: this one may be in the middle of a dump
                # (dump_iter), and the kernel runs one dump per socket at a time.
                with contextlib.suppress(NetlinkError), GenlSocket(timeout=self.timeout) as other:
                    found = Codec(codec.spec, other.get_policy(known))
            self._policy_codecs[key] = found
        return found

    def operation_name(self, msg: GenlMessage) -> str | None:
        """The name of what ``msg`` is (its operation, notification or event), if a spec knows."""
        spec = self._codec_for(msg.family_id).spec
        op = spec.received(msg.cmd, reply=msg.seq != 0)
        return op.name if op is not None else None

    def _codec_for(self, family_id: int) -> Codec:
        spec = self.spec_for(family_id)
        if spec is None:
            known = self._by_id.get(family_id)
            if known is not None:
                spec = self._policy_spec(known.name, known)
        codec = _specs.codec_for(spec if spec is not None else _UNTYPED)
        if codec.saw_unknown:
            # Once a spec fell short, the codec with the kernel's policy decodes for it.
            return self._policy_codecs.get((family_id, id(codec.spec)), codec)
        return codec

    # -- state -----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The local port bound at connect."""
        return self._port

    def __repr__(self) -> str:
        if self.freed:
            return "<GenlSocket freed>"
        return f"<GenlSocket port={self._port} pending={len(self._pending)}>"


def _decoded(replies: list[Any]) -> list[Family]:
    """Family replies, with those the C decoder left as bytes decoded in Python.

    The Python decoder names the fault of a message that does not decode.
    """
    return [family_from_bytes(r) if type(r) is bytes else r for r in replies]


_queries: dict[str, bytes] = {}  # family name -> its query, for names asked for before


def _family_query(name: str) -> bytes:
    """The attributes of a CTRL_CMD_GETFAMILY request for family ``name``."""
    query = _queries.get(name) if type(name) is str else None
    if query is None:
        if not isinstance(name, str):
            raise TypeError(f"family name must be a str, not {type(name).__name__}")
        enc = AttributeEncoder()
        enc.string(lib.CTRL_ATTR_FAMILY_NAME, name)
        query = enc.encode()
        if len(_queries) >= 256:
            _queries.clear()
        _queries[name] = query
    return query


def _unknown_family(exc: NotFoundError, name: str) -> NotFoundError:
    """The kernel's not-found error, said of the family asked for."""
    exc.function = "resolve_family"
    exc.message = f"no generic netlink family {name!r} ({exc.message})"
    return exc


def _only_reply(replies: list[Any], name: str) -> Any:
    if not replies:
        raise NotFoundError(function="resolve_family", message=f"no reply for family {name!r}")
    return replies[0]


def _poll_readable(fd: int, wake: int, timeout: float | None) -> None:
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


def _fix_dump_only_op(policy: FamilyPolicy, family: Family) -> None:
    """Re-key the op that kernels file under op 0.

    Linux (at least up to 6.18) writes a dump-only op's entry in a whole-family
    policy dump under ``doit->cmd``, which is 0 for such an op. When exactly
    one dump-only op of the family has no entry, the op-0 entry is its.
    """
    if 0 not in policy.ops or family.operation(0) is not None:
        return
    missing = [
        op.id
        for op in family.operations
        if op.id not in policy.ops
        and op.can_dump
        and not op.can_do
        and op.flags & lib.GENL_CMD_CAP_HASPOL
    ]
    if len(missing) == 1:
        policy.ops[missing[0]] = policy.ops.pop(0)


def _attribute_names(req: _Request, path: tuple[int, ...]) -> tuple[str, ...]:
    spec = req.spec()
    if spec is None or not path:
        return ()
    op = spec.operation(req.cmd)
    if op is None or op.attribute_set is None:
        return ()
    try:
        return _specs.codec_for(spec).attribute_names(op.attribute_set, path)
    except (KeyError, ValueError):  # a broken spec: the error goes without names
        return ()


def _missing_name(req: _Request, ext_ack: ExtAck) -> str | None:
    """The name of the attribute the kernel says is missing (in the nest it points at)."""
    path: tuple[int, ...] = ()
    if ext_ack.missing_nest is not None:
        body_offset = ext_ack.missing_nest - NLMSG_HDRLEN - GENL_HDRLEN
        if body_offset < req.hdrsize:
            return None
        path = tuple(attribute_path(req.data, body_offset, req.hdrsize))
    assert ext_ack.missing_type is not None
    names = _attribute_names(req, (*path, ext_ack.missing_type))
    return names[-1] if names and not names[-1].isdigit() else None


# Attributes no spec or policy types: decoded under their numbers, as bytes.
_UNTYPED = FamilySpec(
    name="(untyped)",
    protocol="genetlink",
    attribute_sets={"attrs": AttrSet("attrs", (), numbered=True)},
    operations=(),
    source="none",
)
_UNTYPED_OP = Operation("(untyped)", None, None, "attrs", frozenset({"do"}))
