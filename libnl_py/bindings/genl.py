"""Wrappers for the generic netlink fast paths in C (the helpers compiled into ``_libnl``).

Plain cffi calls: the send and receive loops run in C without the GIL. The
descriptors they write come back as a view of the batch's descriptor table (a
memoryview of uint32 words, no int made per word): ``libnl_py._codec`` reads it
as a buffer, Python code indexes it. It is valid until the batch's next receive,
which overwrites the table: what is kept longer is copied (``rest`` lists).
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar, Union

from libnl_py._ffi import ffi, lib
from libnl_py.errors import check, error_for

T = TypeVar("T")

Descriptors = Union[list[int], memoryview]
"""A batch's descriptor words: the table's view (as received) or a list (what is left)."""

ARENA_SIZE = 96 * 1024
"""Bytes of datagrams read per batch."""

MAX_DATAGRAM = 64 * 1024
"""A batch reads on only while this much of the arena is free. A datagram up to
that size is always received whole; a longer one is received whole only if it
fits the space left (up to ARENA_SIZE), else it fails with NLE_MSG_TRUNC."""

MAX_DESCRIPTORS = 2048
"""Messages a batch describes. Enough for an arena of 48-byte messages (an ethtool
dump's are ~90): a full table leaves the rest of a datagram to be split in Python."""
DESC_WORDS = lib.LNP_DESC_WORDS

_HEADERS = 20
"""NLMSG_HDRLEN + GENL_HDRLEN: what a message holds before its family header."""

REPLY = lib.LNP_REPLY
TERMINAL = lib.LNP_TERMINAL
NOTIFY = lib.LNP_NOTIFY
OTHER = lib.LNP_OTHER
MALFORMED = lib.LNP_MALFORMED
UNSPLIT = lib.LNP_UNSPLIT

ANY_KIND = 0xFFFFFFFF
"""``messages()``'s ``passing`` mask that steps over every other kind."""
REQUEST_KINDS = (1 << REPLY) | (1 << TERMINAL)
"""The kinds that belong to the request read for: routed apart from notifications."""

_NO_SOCKET = lib.LNP_NO_SOCKET
_transact = lib.lnp_batch_transact
_recv = lib.lnp_batch_recv

AGAIN = lib.LNP_AGAIN
DONE = lib.LNP_DONE
FULL = lib.LNP_FULL
OVERRUN = lib.LNP_OVERRUN
CLEAN = lib.LNP_CLEAN

# Arenas are overwritten by every receive: no need to zero them.
_raw_alloc = ffi.new_allocator(should_clear_after_alloc=False)


_POOL_SIZE = 8


class RecvBatch:
    """An arena and descriptor table for ``lnp_recv_batch``, one per socket.

    While the C batch points at a socket (from :meth:`genl_open` to
    :meth:`give_back`) it holds that socket's ``nl_sock`` cdata too: a batch
    kept after its socket was dropped unfreed then never reads a freed
    ``nl_sock`` (``nl_socket_free`` runs when the last of them goes).
    """

    __slots__ = ("_arena", "_desc", "_sk", "batch", "view", "words")

    def __init__(self) -> None:
        self._sk: Any = None  # the nl_sock cdata batch.sk points at, kept alive with it
        self._arena = _raw_alloc("uint8_t[]", ARENA_SIZE)
        self._desc = _raw_alloc("uint32_t[]", MAX_DESCRIPTORS * DESC_WORDS)
        batch = self.batch = ffi.new("struct lnp_batch *")
        batch.buf = self._arena
        batch.cap = ARENA_SIZE
        batch.room = MAX_DATAGRAM
        batch.desc = self._desc
        batch.max_desc = MAX_DESCRIPTORS
        self.view = ffi.buffer(self._arena)
        self.words = memoryview(ffi.buffer(self._desc)).cast("I")
        """The whole descriptor table, as uint32 words."""

    @classmethod
    def take(cls) -> RecvBatch:
        """A batch from the pool of freed sockets' batches, or a new one."""
        try:
            return _pool.pop()  # genl_open() makes it the new socket's
        except IndexError:
            return cls()

    def give_back(self) -> None:
        """Return the batch to the pool; its socket must never touch it again."""
        self.batch.sk = ffi.NULL  # calls on it fail cleanly until genl_open
        self._sk = None
        if len(_pool) < _POOL_SIZE:
            _pool.append(self)

    def genl_open(self, sk: Any, rcvbuf: int, ext_ack: bool) -> int:
        """``lnp_genl_open``: connect ``sk`` the way a GenlSocket wants it; read for it from now on.

        genl_connect plus the options, in one call. Returns the local port.
        """
        port: int = check(
            lib.lnp_genl_open(sk, self.batch, rcvbuf, 1 if ext_ack else 0), "genl_connect"
        )
        self._sk = sk  # (set only now: a failed open leaves batch.sk as it was, NULL)
        return port

    def transact(
        self, family: int, flags: int, cmd: int, version: int, payload: bytes
    ) -> tuple[int, int, Descriptors]:
        """``lnp_batch_transact``: send a request, read what is queued for it.

        Returns (sequence number, result, descriptor words, until the next
        receive); a failed send
        raises. cffi checks the arguments before anything is sent: the
        payload is bytes (C reads its buffer, immutable while the GIL is
        released), a header field out of its C range raises OverflowError.
        """
        batch = self.batch
        result: int = _transact(batch, family, flags, cmd, version, payload, len(payload))
        if result < 0 and (result == _NO_SOCKET or not batch.seq):
            if result == _NO_SOCKET:
                raise ValueError("batch has no socket")
            raise error_for(result, "sendto", errno=self.sys_errno())
        return batch.seq, result, self.words[: batch.n_desc * DESC_WORDS]

    def recv(self, peer: int, seq: int, dump: bool) -> tuple[int, Descriptors]:
        """``lnp_batch_recv``: read what is queued, (result, descriptor words until the
        next receive).

        The data is in :attr:`view`. A negative result is an NLE code: what was
        read before it is described all the same, and the caller routes that
        before raising.
        """
        batch = self.batch
        result: int = _recv(batch, peer, seq, 1 if dump else 0)
        if result == _NO_SOCKET:
            raise ValueError("batch has no socket")
        return result, self.words[: batch.n_desc * DESC_WORDS]

    def sys_errno(self) -> int | None:
        """The errno of the system call behind the last negative result, if it was one.

        libnl's ``nl_syserr2nlerr`` picks the exception class and loses the
        errno (EMSGSIZE becomes ``NLE_FAILURE``); the C side keeps it here.
        """
        return int(self.batch.sys_errno) or None


def messages_of(
    view: Any,
    desc: Descriptors,
    kind: int,
    cls: Callable[..., T],
    hdrsizes: Any,
    out: list[T],
    passing: int,
) -> tuple[list[int], int]:
    """The messages of ``kind`` in a batch, made ``cls(data, 0, len, type, flags, seq,
    port, hdrsize)`` and appended to ``out``; returns (the descriptors left, the OR of
    the made messages' flags).

    ``hdrsizes`` is the family header size of them all, or a dict of family id to
    something with a ``hdrsize`` (0 for a family it lacks or holds None for).
    ``passing`` is a mask of kinds (``1 << kind``) stepped over into the rest; at
    any other kind, or a message too short for its headers, the walk stops and
    everything from there is left, so that what the caller routes keeps its order.
    The reference of ``libnl_py._codec.messages``, which fills GenlMessage's C base
    without running Python code per message.
    """
    if len(desc) % DESC_WORDS:
        raise ValueError("desc must be whole descriptors")
    fixed = None
    if isinstance(hdrsizes, int):
        fixed = _size(hdrsizes)
    elif not isinstance(hdrsizes, dict):
        raise TypeError("hdrsizes is an int or a dict")
    rest: list[int] = []
    flags = 0
    i, n = 0, len(desc)
    while i < n:
        found = desc[i]
        if found != kind:
            if found < 64 and passing >> found & 1:
                rest += desc[i : i + DESC_WORDS]
                i += DESC_WORDS
                continue
            break
        start, end = desc[i + 5], desc[i + 6]
        if start > end or end > len(view):
            raise ValueError("descriptor span outside the buffer")
        hdrsize = fixed
        if hdrsize is None:
            family = hdrsizes.get(desc[i + 1])
            hdrsize = _size(family.hdrsize) if family is not None else 0
        if end - start < _HEADERS + hdrsize:
            break  # too short: it, and what follows, are routed by the caller
        out.append(
            cls(
                view[start:end],
                0,
                end - start,
                desc[i + 1],
                desc[i + 2],
                desc[i + 3],
                desc[i + 4],
                hdrsize,
            )
        )
        flags |= desc[i + 2]
        i += DESC_WORDS
    rest += desc[i:]
    return rest, flags


def _size(value: object) -> int:
    """A header size, checked as ``_codec.messages`` checks it."""
    if not isinstance(value, int):
        raise TypeError(f"hdrsize must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError("hdrsize out of range")
    return int(value)


messages: Callable[[Any, Descriptors, int, Any, Any, list[Any], int], tuple[list[int], int]]
try:
    from libnl_py._codec import messages
except ImportError:  # PyPy
    messages = messages_of


_pool: list[RecvBatch] = []  # list.pop/append are atomic: no lock needed
