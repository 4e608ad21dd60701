"""A userspace generic netlink peer for tests: a fake family on a real libnl socket.

Point a :class:`~libnl_py.genl.GenlSocket` at it (``peer_port=peer.port``) and
the client talks to it exactly as to the kernel: requests arrive here, and the
peer answers with replies, ACKs, dumps, errors with extended ACK,
notifications, or deliberately broken messages.

>>> with FakePeer() as peer, GenlSocket(peer_port=peer.port) as client:
...     peer.serve(lambda peer, req: peer.reply(req, attrs=b"") or peer.ack(req))
...     client.execute(0x1234, 1)
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from types import TracebackType

from libnl_py._ffi import lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.bindings import socket as _b
from libnl_py.errors import NetlinkTimeoutError
from libnl_py.message import GenlMessage, split_datagram
from libnl_py.socket import Socket

__all__ = ["FakePeer", "Request"]

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

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Stop serving and free the socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.sock.free()

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
        with self.sock._locked():
            sent: int = _b.sendto(self.sock._ptr(), data)
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
        return self.message(
            family_id, flags, seq, self.port, _GENLHDR.pack(cmd, version, 0) + _attrs_bytes(attrs)
        )

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
