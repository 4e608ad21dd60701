"""A userspace generic netlink peer for tests: a fake family on a real libnl socket.

Point a :class:`~libnl_py.genl.GenlSocket` at it (``peer_port=peer.port``) and
the client talks to it exactly as to the kernel: requests arrive here, and the
peer answers with replies, ACKs, dumps, errors with extended ACK,
notifications, or deliberately broken messages.

>>> from libnl_py.genl import GenlSocket
>>> with FakePeer() as peer, GenlSocket(peer_port=peer.port) as client:
...     peer.serve(lambda peer, req: peer.reply(req, attrs=b"") or peer.ack(req))
...     (reply,) = client.execute(0x1234, 1)
>>> reply.cmd
1

Misbehaviour, to check that a client survives a hostile or broken peer:

* :meth:`FakePeer.truncated` (a message cut short of its ``nlmsg_len``),
  :meth:`FakePeer.bad_length` (``nlmsg_len`` too small or too large);
* wrong sequence numbers: the ``seq`` argument of :meth:`FakePeer.reply`,
  :meth:`FakePeer.ack` and :meth:`FakePeer.done`;
* :meth:`FakePeer.spoof`: send from a second socket, i.e. from the wrong port;
* :func:`silent`: a :meth:`FakePeer.serve` handler that never answers;
* :meth:`FakePeer.flood` (multicast, so the receiver overruns; needs
  ``CAP_NET_ADMIN``) and :meth:`FakePeer.flood_unicast` (until the sender
  would block: userspace unicast never overruns the receiver);
* :meth:`FakePeer.die_mid_dump`: part of a dump, then the peer frees its socket;
* :func:`hostile_datagram`: one random malformed (or valid) datagram, for fuzzing.
"""

from __future__ import annotations

import os
import random
import struct
import threading
from collections.abc import Callable, Iterable
from types import TracebackType

from libnl_py._ffi import lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.bindings import socket as _b
from libnl_py.errors import NetlinkTimeoutError, TryAgainError
from libnl_py.message import GenlMessage, pack_genl_request, split_datagram
from libnl_py.ownership import locked, pointer
from libnl_py.socket import Socket

__all__ = ["HOSTILE_KINDS", "FakePeer", "Request", "hostile_datagram", "silent"]

_NLMSGHDR = struct.Struct("=IHHII")
_GENLHDR = struct.Struct("=BBH")


class Request:
    """A request the peer received: the client's port and the parsed message."""

    __slots__ = ("message", "port", "raw")

    def __init__(self, message: GenlMessage, port: int, raw: bytes) -> None:
        self.message = message
        self.port = port
        self.raw = raw

    @property
    def seq(self) -> int:
        return self.message.seq

    @property
    def family_id(self) -> int:
        return self.message.family_id

    @property
    def cmd(self) -> int:
        return self.message.cmd


def _attrs_bytes(attrs: bytes | AttributeEncoder | None) -> bytes:
    if attrs is None:
        return b""
    if isinstance(attrs, AttributeEncoder):
        return attrs.encode()
    return bytes(attrs)


class FakePeer:
    """A userspace netlink peer bound to its own port on ``NETLINK_GENERIC``."""

    def __init__(self, *, rcvbuf: int = 1024 * 1024) -> None:
        self.sock = Socket()
        try:
            self.sock.genl_connect()
            self.sock.set_buffer_size(rcvbuf, rcvbuf)
        except BaseException:
            self.sock.free()
            raise
        self.port = self.sock.local_port
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.served = 0
        self.errors: list[BaseException] = []
        self._other: Socket | None = None

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Stop serving and free the socket (and the :meth:`spoof` socket). Idempotent.

        May be called from a :meth:`serve` handler: the peer then dies there.
        """
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
            self._thread = None
        self.sock.free()
        if self._other is not None:
            self._other.free()

    def __enter__(self) -> FakePeer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- receiving -----------------------------------------------------------------

    def recv_request(self, timeout: float = 5.0) -> Request:
        """The next request (one message per datagram, as a client sends)."""
        data, port = self.sock.recv(timeout)
        msg_type, flags, seq, _pid, start, end = split_datagram(data)[0]
        return Request(GenlMessage(data, start, end, msg_type, flags, seq, port), port, data)

    def serve(self, handler: Callable[[FakePeer, Request], object]) -> None:
        """Answer every request with ``handler(peer, request)`` in a background thread."""

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    req = self.recv_request(timeout=0.1)
                except NetlinkTimeoutError:
                    continue
                except BaseException as exc:  # the socket was freed under us
                    if not self._stop.is_set():
                        self.errors.append(exc)
                    return
                try:
                    handler(self, req)
                    self.served += 1
                except BaseException as exc:
                    self.errors.append(exc)

        self._thread = threading.Thread(target=loop, name="FakePeer", daemon=True)
        self._thread.start()

    # -- sending ---------------------------------------------------------------------

    def send_raw(self, port: int, data: bytes) -> int:
        """Send ``data`` as it is to ``port`` (any bytes: the point of a fake)."""
        self.sock.set_peer_port(port)
        with locked(self.sock):
            sent: int = _b.sendto(pointer(self.sock), data)
        return sent

    @staticmethod
    def message(
        msg_type: int,
        flags: int,
        seq: int,
        port: int,
        payload: bytes,
        *,
        length: int | None = None,
    ) -> bytes:
        """One netlink message; ``length`` overrides nlmsg_len (to break it)."""
        size = 16 + len(payload)
        data = (
            _NLMSGHDR.pack(size if length is None else length, msg_type, flags, seq, port) + payload
        )
        return data + b"\0" * (-len(data) % 4)

    def genl_message(
        self,
        family_id: int,
        cmd: int,
        attrs: bytes | AttributeEncoder | None = None,
        *,
        seq: int = 0,
        flags: int = 0,
        version: int = 1,
    ) -> bytes:
        data = pack_genl_request(
            family_id, flags, seq, self.port, cmd, version, _attrs_bytes(attrs)
        )
        return data + b"\0" * (-len(data) % 4)

    def reply(
        self,
        req: Request,
        attrs: bytes | AttributeEncoder | None = None,
        *,
        cmd: int | None = None,
        flags: int = 0,
        seq: int | None = None,
    ) -> None:
        """One reply message to ``req`` (same family; ``cmd`` defaults to the request's)."""
        self.send_raw(
            req.port,
            self.genl_message(
                req.family_id,
                req.cmd if cmd is None else cmd,
                attrs,
                seq=req.seq if seq is None else seq,
                flags=flags,
            ),
        )

    def ack(
        self,
        req: Request,
        error: int = 0,
        *,
        message: str | None = None,
        offset: int | None = None,
        missing_type: int | None = None,
        seq: int | None = None,
    ) -> None:
        """An NLMSG_ERROR for ``req``: 0 is an ACK, a negative errno an error, with ext ACK TLVs."""
        tlvs = AttributeEncoder()
        if message is not None:
            tlvs.string(lib.NLMSGERR_ATTR_MSG, message)
        if offset is not None:
            tlvs.u32(lib.NLMSGERR_ATTR_OFFS, offset)
        if missing_type is not None:
            tlvs.u32(lib.NLMSGERR_ATTR_MISS_TYPE, missing_type)
        extra = tlvs.encode()
        flags = lib.NLM_F_CAPPED | (lib.NLM_F_ACK_TLVS if extra else 0)
        echoed = req.raw[:16]  # capped: the request's header only
        payload = struct.pack("=i", error) + echoed + extra
        self.send_raw(
            req.port,
            self.message(
                lib.NLMSG_ERROR, flags, req.seq if seq is None else seq, self.port, payload
            ),
        )

    def done(self, req: Request, error: int = 0, *, message: str | None = None) -> None:
        """NLMSG_DONE closing a dump, carrying ``error`` (and an ext ACK message)."""
        payload = struct.pack("=i", error)
        flags = lib.NLM_F_MULTI
        if message is not None:
            tlvs = AttributeEncoder()
            tlvs.string(lib.NLMSGERR_ATTR_MSG, message)
            payload += tlvs.encode()
            flags |= lib.NLM_F_ACK_TLVS
        self.send_raw(req.port, self.message(lib.NLMSG_DONE, flags, req.seq, self.port, payload))

    def dump(
        self,
        req: Request,
        parts: list[list[bytes | AttributeEncoder]],
        *,
        error: int = 0,
        interrupted: bool = False,
    ) -> None:
        """A multipart dump: each part one datagram of messages, then NLMSG_DONE."""
        flags = lib.NLM_F_MULTI | (lib.NLM_F_DUMP_INTR if interrupted else 0)
        for part in parts:
            datagram = b"".join(
                self.genl_message(req.family_id, req.cmd, attrs, seq=req.seq, flags=flags)
                for attrs in part
            )
            self.send_raw(req.port, datagram)
        self.done(req, error)

    def notify(
        self, port: int, family_id: int, cmd: int, attrs: bytes | AttributeEncoder | None = None
    ) -> None:
        """A unicast notification (sequence number 0) to ``port``."""
        self.send_raw(port, self.genl_message(family_id, cmd, attrs, seq=0))

    # -- misbehaviour ------------------------------------------------------------------

    def truncated(
        self, req: Request, keep: int, attrs: bytes | AttributeEncoder | None = None
    ) -> None:
        """A reply to ``req`` cut to its first ``keep`` bytes; its ``nlmsg_len`` still says all."""
        data = self.genl_message(req.family_id, req.cmd, attrs, seq=req.seq)
        self.send_raw(req.port, data[:keep])

    def bad_length(
        self, req: Request, length: int, attrs: bytes | AttributeEncoder | None = None
    ) -> None:
        """A reply to ``req`` whose ``nlmsg_len`` is ``length`` (below 16 or past the end)."""
        payload = _GENLHDR.pack(req.cmd, 1, 0) + _attrs_bytes(attrs)
        self.send_raw(
            req.port, self.message(req.family_id, 0, req.seq, self.port, payload, length=length)
        )

    @property
    def spoof_port(self) -> int:
        """The port :meth:`spoof` sends from (a second socket, opened on first use)."""
        return self._spoofer().local_port

    def _spoofer(self) -> Socket:
        if self._other is None:
            other = Socket()
            try:
                other.genl_connect()
            except BaseException:
                other.free()
                raise
            self._other = other
        return self._other

    def spoof(self, port: int, data: bytes) -> int:
        """Send ``data`` to ``port`` from a second socket: a reply from the wrong port.

        The messages in ``data`` may still claim this peer's port in their
        ``nlmsg_pid`` (as :meth:`genl_message` writes it); only the sender
        address, which the kernel sets, differs. Returns the bytes sent.
        """
        other = self._spoofer()
        other.set_peer_port(port)
        with locked(other):
            sent: int = _b.sendto(pointer(other), data)
        return sent

    def send_many(self, port: int, datagrams: Iterable[bytes]) -> int:
        """Send each of ``datagrams`` to ``port`` (blocking while the receiver is full).

        Returns how many were sent.
        """
        self.sock.set_peer_port(port)
        count = 0
        with locked(self.sock):
            sk = pointer(self.sock)
            for data in datagrams:
                _b.sendto(sk, data)
                count += 1
        return count

    def multicast(self, group: int, data: bytes) -> None:
        """Send ``data`` to multicast group ``group`` (1..32). Needs ``CAP_NET_ADMIN``."""
        if not 1 <= group <= 32:
            raise ValueError(f"group must be 1..32, got {group}")
        with locked(self.sock):
            sk = pointer(self.sock)
            lib.nl_socket_set_peer_groups(sk, 1 << (group - 1))
            # Port 0 as well: the kernel ignores a message without NLM_F_REQUEST.
            lib.nl_socket_set_peer_port(sk, 0)
            try:
                _b.sendto(sk, data)
            finally:
                lib.nl_socket_set_peer_groups(sk, 0)

    def flood(
        self, group: int, family_id: int, cmd: int, count: int = 200, *, size: int = 500
    ) -> None:
        """Multicast ``count`` notifications to ``group``, enough to overrun a small buffer.

        Notification ``i`` carries u32 attribute 1 = ``i`` and ``size`` bytes in
        attribute 2. The kernel reports an overrun (``ENOBUFS``) to a receiver
        only for kernel and multicast senders, hence multicast. Needs ``CAP_NET_ADMIN``.
        """
        for i in range(count):
            enc = AttributeEncoder()
            enc.u32(1, i)
            enc.put(2, b"\0" * size)
            self.multicast(group, self.genl_message(family_id, cmd, enc))

    def flood_unicast(
        self, port: int, family_id: int, cmd: int, limit: int = 100_000, *, size: int = 500
    ) -> int:
        """Unicast notifications to ``port`` until its receive buffer is full; returns the count.

        Notification ``i`` carries u32 attribute 1 = ``i``. A userspace sender
        to a full socket would block (the kernel drops nothing and reports no
        overrun): the socket is non-blocking meanwhile, and the flood stops at
        the first ``EAGAIN`` or after ``limit`` messages.
        """
        self.sock.set_peer_port(port)
        sent = 0
        fd = self.sock.fileno()
        with locked(self.sock):
            sk = pointer(self.sock)
            os.set_blocking(fd, False)
            try:
                for i in range(limit):
                    enc = AttributeEncoder()
                    enc.u32(1, i)
                    enc.put(2, b"\0" * size)
                    try:
                        _b.sendto(sk, self.genl_message(family_id, cmd, enc))
                    except TryAgainError:
                        break
                    sent += 1
            finally:
                os.set_blocking(fd, True)
        return sent

    def die_mid_dump(self, req: Request, parts: list[list[bytes | AttributeEncoder]]) -> None:
        """Send ``parts`` of a dump answering ``req`` (no NLMSG_DONE), then :meth:`close`.

        The client never gets the end of its dump: it must time out, not hang.
        """
        flags = lib.NLM_F_MULTI
        for part in parts:
            self.send_raw(
                req.port,
                b"".join(
                    self.genl_message(req.family_id, req.cmd, attrs, seq=req.seq, flags=flags)
                    for attrs in part
                ),
            )
        self.close()


def silent(peer: FakePeer, req: Request) -> None:
    """A :meth:`FakePeer.serve` handler that swallows every request and never answers."""


# -- fuzzing --------------------------------------------------------------------------------

HOSTILE_KINDS = (
    "random",
    "short_header",  # (an empty datagram cannot be sent: netlink refuses it with ENODATA)
    "len_small",
    "len_large",
    "truncated",
    "attr_past_end",
    "attr_zero_length",
    "attr_below_header",
    "deep_nesting",
    "huge_attribute",
    "oversized_datagram",
    "multipart_no_done",
    "bad_error",
    "bad_done",
    "overrun_message",
    "wrong_seq",
    "many_messages",
    "nlctrl_garbage",
    "valid_reply",
    "valid_notification",
)
"""The kinds of datagram :func:`hostile_datagram` makes."""

# The big ones (tens of KiB each) are rarer, so that a run sends many datagrams quickly.
_KIND_WEIGHTS = [
    0.1 if kind in ("deep_nesting", "huge_attribute", "oversized_datagram") else 1.0
    for kind in HOSTILE_KINDS
]

_NLATTR = struct.Struct("=HH")


def _attr(attr_type: int, payload: bytes, length: int | None = None) -> bytes:
    size = 4 + len(payload) if length is None else length
    return _NLATTR.pack(size & 0xFFFF, attr_type) + payload + b"\0" * (-len(payload) % 4)


def _random_attrs(rng: random.Random, depth: int = 0) -> bytes:
    out = b""
    for _ in range(rng.randrange(0, 6)):
        attr_type = rng.randrange(0, 1 << 16)
        if depth < 3 and rng.random() < 0.3:
            out += _attr(attr_type | 0x8000, _random_attrs(rng, depth + 1))
        else:
            out += _attr(attr_type, rng.randbytes(rng.choice((0, 1, 2, 4, 8, rng.randrange(64)))))
    return out


def hostile_datagram(
    rng: random.Random,
    *,
    port: int,
    seq: int,
    family_id: int,
    cmd: int,
    kind: str | None = None,
) -> tuple[str, bytes]:
    """One datagram as a hostile peer at ``port`` would send it: ``(kind, data)``.

    ``seq`` is the sequence number of the client's request in flight (0 for
    none); most kinds use it, so that the datagram aims at that request.
    ``kind`` is one of :data:`HOSTILE_KINDS` (random when None). A client
    must answer every one with a clear exception or a correctly decoded
    message. ``valid_notification`` is well formed, has sequence number 0, and
    carries ``rng``'s next 64-bit number in a u64 attribute 1: it must arrive.
    Reproducible: the same ``rng`` state gives the same datagram.
    """
    if kind is None:
        kind = rng.choices(HOSTILE_KINDS, _KIND_WEIGHTS)[0]
    pack = _NLMSGHDR.pack
    genl = _GENLHDR.pack(cmd, 1, 0)

    def msg(
        payload: bytes,
        *,
        msg_type: int = family_id,
        flags: int = 0,
        length: int | None = None,
        s: int = seq,
    ) -> bytes:
        return FakePeer.message(msg_type, flags, s, port, payload, length=length)

    if kind == "random":
        data = rng.randbytes(rng.randrange(1, 300))
    elif kind == "short_header":
        data = rng.randbytes(rng.randrange(1, 16))
    elif kind == "len_small":
        data = msg(genl + _random_attrs(rng), length=rng.randrange(0, 16))
    elif kind == "len_large":
        body = genl + _random_attrs(rng)
        data = msg(body, length=16 + len(body) + rng.randrange(1, 1 << 16))
    elif kind == "truncated":
        whole = msg(genl + _random_attrs(rng) + _attr(1, b"x" * 16))
        data = whole[: rng.randrange(1, len(whole))]
    elif kind == "attr_past_end":
        data = msg(genl + _random_attrs(rng) + _attr(1, b"abcd", length=rng.randrange(9, 0x10000)))
    elif kind == "attr_zero_length":
        data = msg(genl + _attr(rng.randrange(1 << 16), b"") + _random_attrs(rng))
    elif kind == "attr_below_header":
        data = msg(genl + _NLATTR.pack(rng.randrange(0, 4), 1) + b"\0" * 8)
    elif kind == "deep_nesting":
        depth = rng.randrange(100, 8000)
        inner = _attr(1, struct.pack("=I", depth))
        # Outermost first; each header's length covers every level inside it.
        headers = [
            _NLATTR.pack((4 * (depth - level) + len(inner)) & 0xFFFF, 0x8000 | (level & 0x3FFF))
            for level in range(depth)
        ]
        inner = b"".join(headers) + inner
        data = msg(genl + inner)
    elif kind == "huge_attribute":
        size = rng.randrange(60_000, 65_000 - 40)
        data = msg(genl + _attr(rng.randrange(1, 100), rng.randbytes(size)))
    elif kind == "oversized_datagram":
        data = msg(genl + _attr(1, b"\0" * 60_000) + _attr(2, b"\0" * 10_000))
    elif kind == "multipart_no_done":
        data = b"".join(
            msg(genl + _random_attrs(rng), flags=lib.NLM_F_MULTI)
            for _ in range(rng.randrange(1, 20))
        )
    elif kind == "bad_error":
        variant = rng.randrange(4)
        error = struct.pack(
            "=i", rng.choice((0, -1, -22, -95, 5, -(1 << 31), rng.randrange(-4096, 1)))
        )
        if variant == 0:  # shorter than struct nlmsgerr
            data = msg(error + rng.randbytes(rng.randrange(0, 16)), msg_type=lib.NLMSG_ERROR)
        elif variant == 1:  # ACK TLVs after an echoed header whose length lies
            echoed = pack(rng.randrange(1 << 32), 0, 0, seq, port)
            data = msg(
                error + echoed + _random_attrs(rng),
                msg_type=lib.NLMSG_ERROR,
                flags=lib.NLM_F_ACK_TLVS,
            )
        elif variant == 2:  # capped, with garbage TLVs
            data = msg(
                error + pack(16, 0, 0, seq, port) + rng.randbytes(rng.randrange(0, 64)),
                msg_type=lib.NLMSG_ERROR,
                flags=lib.NLM_F_ACK_TLVS | lib.NLM_F_CAPPED,
            )
        else:  # well-formed TLVs with wrong sizes
            tlvs = (
                _attr(lib.NLMSGERR_ATTR_MSG, rng.randbytes(rng.randrange(0, 40)))
                + _attr(lib.NLMSGERR_ATTR_OFFS, rng.randbytes(rng.randrange(0, 9)))
                + _attr(lib.NLMSGERR_ATTR_MISS_TYPE, rng.randbytes(rng.randrange(0, 9)))
            )
            data = msg(
                error + pack(16, 0, 0, seq, port) + tlvs,
                msg_type=lib.NLMSG_ERROR,
                flags=lib.NLM_F_ACK_TLVS | lib.NLM_F_CAPPED,
            )
    elif kind == "bad_done":
        data = msg(
            rng.randbytes(rng.randrange(0, 40)),
            msg_type=lib.NLMSG_DONE,
            flags=lib.NLM_F_MULTI | rng.choice((0, lib.NLM_F_ACK_TLVS)),
        )
    elif kind == "overrun_message":
        data = msg(
            rng.randbytes(rng.randrange(0, 8)),
            msg_type=rng.choice((lib.NLMSG_OVERRUN, lib.NLMSG_NOOP, rng.randrange(0, 16))),
        )
    elif kind == "wrong_seq":
        wrong = (seq + rng.choice((1, -1, 1 << 31, rng.randrange(1, 1 << 32)))) & 0xFFFFFFFF or 1
        data = msg(genl + _random_attrs(rng), s=wrong)
    elif kind == "many_messages":
        parts = [
            msg(genl + _random_attrs(rng), s=rng.choice((0, seq)))
            for _ in range(rng.randrange(2, 40))
        ]
        if rng.random() < 0.5:
            parts.append(rng.randbytes(rng.randrange(1, 40)))
        data = b"".join(parts)
    elif kind == "nlctrl_garbage":
        data = FakePeer.message(
            lib.GENL_ID_CTRL,
            0,
            rng.choice((0, seq)),
            port,
            _GENLHDR.pack(rng.randrange(0, 16), 2, 0) + _random_attrs(rng),
        )
    elif kind == "valid_reply":
        data = msg(genl + _random_attrs(rng))
    elif kind == "valid_notification":
        data = msg(
            genl + _attr(1, struct.pack("=Q", rng.getrandbits(64))) + _random_attrs(rng), s=0
        )
    else:
        raise ValueError(f"unknown kind {kind!r}; expected one of {HOSTILE_KINDS}")
    return kind, data
