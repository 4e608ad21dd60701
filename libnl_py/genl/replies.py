"""Replies decoded as they arrive: ``execute(..., decode=True)`` and ``dump(..., decode=True)``.

A :class:`ReplyDecoder` goes with one request. Each receive batch's replies
are decoded in one C call (``libnl_py._codec.decode_replies``) straight from
the arena, with no :class:`~libnl_py.message.GenlMessage` in between; what C
leaves (a command the spec lacks, a message too short, a codec without the
accelerator) is decoded one message at a time, by the same codec. Either way
a value is what ``GenlSocket.decode`` gives for the message.

Two things wait for the request to end, because they must not happen while
the socket's lock is held: a reply that did not decode raises then (the
request is consumed first, so the socket stays in step), and replies that
met attributes the spec lacks are decoded again with the kernel's policy
(which takes a request of its own).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from libnl_py.bindings.genl import Descriptors
from libnl_py.message import GENL_HDRLEN, NLMSG_HDRLEN, GenlMessage
from libnl_py.spec.codec import Codec

try:
    from libnl_py._codec import decode_replies as _decode_replies
except ImportError:  # PyPy: every reply is decoded by the Python codec
    _decode_replies = None  # type: ignore[assignment]

__all__ = ["Pending", "ReplyDecoder"]

Pending = list[tuple[int, bytes, Optional[BaseException]]]
"""(position, message, error or None) of replies to see to when their request ends."""


class ReplyDecoder:
    """Decodes one request's replies with ``codec``, batch by batch, into plain values."""

    __slots__ = ("codec", "family_id", "hdrsize", "pending", "tables")

    def __init__(self, codec: Codec, family_id: int, hdrsize: int, cmd: int | None = None) -> None:
        self.codec = codec
        self.family_id = family_id
        self.hdrsize = hdrsize
        self.pending: Pending = []
        """The replies to see to when the request ends."""
        # The tables of the replies a request of cmd gets, looked up now: batch() runs
        # with the socket's lock held, and C then calls no Python code to find them.
        self.tables: Any = codec.request_tables(cmd) if cmd is not None else codec.reply_tables

    def batch(
        self, view: Any, desc: Descriptors, reply_kind: int, out: list[Any]
    ) -> tuple[Descriptors, int]:
        """Decode the batch's replies into ``out``: (the descriptors left, OR of their flags)."""
        decoder = self.codec.decoder
        if decoder is None or _decode_replies is None:
            return desc, 0
        decoded, pending = len(out), len(self.pending)
        try:
            rest, flags, _count = _decode_replies(
                decoder,
                view,
                desc,
                reply_kind,
                self.tables,
                self.hdrsize,
                out,
                self.pending,
            )
        except Exception:
            # Not a reply's fault (those wait in .pending): this batch's replies are
            # decoded one by one instead, each error kept with its reply.
            del out[decoded:]
            del self.pending[pending:]
            return desc, 0
        return rest, flags

    def one(self, msg: GenlMessage, out: list[Any]) -> None:
        """Decode one reply the batch left into ``out``."""
        codec = self.codec
        before = codec.unknowns
        try:
            _op, values = codec.decode_message(
                msg.data, msg.attrs_offset, msg.header, msg.cmd, True
            )
        except Exception as exc:  # raised once the request ended, as decode() would raise it
            self.pending.append((len(out), msg.data, exc))
            out.append(None)
            return
        if codec.unknowns != before:
            self.pending.append((len(out), msg.data, None))
        out.append(values)

    def take(self) -> Pending:
        """The pending entries so far, for :meth:`finish` of the replies taken with them."""
        pending, self.pending = self.pending, []
        return pending

    def finish(
        self,
        out: list[Any],
        policy_codec: Callable[[], Codec],
        pending: Pending | None = None,
    ) -> list[Any]:
        """``out`` once the request ended: raises the first reply's decode error, if any;
        replies that met attributes the spec lacks decoded again by ``policy_codec()``.

        ``pending`` (from :meth:`take`) goes with ``out`` when the replies are taken
        as they come (a streaming dump); by default, all of this request's."""
        if pending is None:
            pending = self.pending
        for _position, _data, error in pending:
            if error is not None:
                raise error
        if not pending:
            return out
        typed = policy_codec()
        if typed is self.codec:
            return out
        at = NLMSG_HDRLEN + GENL_HDRLEN
        for position, data, _error in pending:
            header = data[at : at + self.hdrsize]
            _op, out[position] = typed.decode_message(
                data, at + self.hdrsize, header, data[NLMSG_HDRLEN], True
            )
        return out
