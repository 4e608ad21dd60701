"""Wrappers for the generic netlink fast paths written in C (``decl/helpers.c``)."""

from __future__ import annotations

from typing import Any

from libnl_py._ffi import ffi, lib
from libnl_py.errors import check, error_for

ARENA_SIZE = 96 * 1024
"""Bytes of datagrams read per batch."""

MAX_DATAGRAM = 64 * 1024
"""The largest datagram received whole; a longer one fails with NLE_MSG_TRUNC."""

MAX_DESCRIPTORS = 512
DESC_WORDS = lib.LNP_DESC_WORDS

REPLY = lib.LNP_REPLY
TERMINAL = lib.LNP_TERMINAL
NOTIFY = lib.LNP_NOTIFY
OTHER = lib.LNP_OTHER
MALFORMED = lib.LNP_MALFORMED
UNSPLIT = lib.LNP_UNSPLIT

AGAIN = lib.LNP_AGAIN
DONE = lib.LNP_DONE
FULL = lib.LNP_FULL
OVERRUN = lib.LNP_OVERRUN
CLEAN = lib.LNP_CLEAN

# Arenas are overwritten by every receive: no need to zero them.
_raw_alloc = ffi.new_allocator(should_clear_after_alloc=False)


def genl_open(sk: Any, rcvbuf: int, ext_ack: bool) -> None:
    """``lnp_genl_open``: genl_connect plus the options a GenlSocket uses, in one call."""
    err = lib.lnp_genl_open(sk, rcvbuf, 1 if ext_ack else 0)
    if err:
        check(err, "genl_connect")


_POOL_SIZE = 8


class RecvBatch:
    """An arena and descriptor table for ``lnp_recv_batch``, one per socket."""

    __slots__ = ("_arena", "_desc", "batch", "view")

    def __init__(self) -> None:
        self._arena = _raw_alloc("uint8_t[]", ARENA_SIZE)
        self._desc = _raw_alloc("uint32_t[]", MAX_DESCRIPTORS * DESC_WORDS)
        batch = self.batch = ffi.new("struct lnp_batch *")
        batch.buf = self._arena
        batch.cap = ARENA_SIZE
        batch.room = MAX_DATAGRAM
        batch.desc = self._desc
        batch.max_desc = MAX_DESCRIPTORS
        self.view = ffi.buffer(self._arena)

    @classmethod
    def take(cls) -> RecvBatch:
        """A batch from the pool of freed sockets' batches, or a new one."""
        try:
            batch = _pool.pop()
        except IndexError:
            return cls()
        batch.batch.peer = 0
        batch.batch.seq = 0
        return batch

    def give_back(self) -> None:
        """Return the batch to the pool; its socket must never touch it again."""
        if len(_pool) < _POOL_SIZE:
            _pool.append(self)

    def transact(
        self, sk: Any, family: int, flags: int, cmd: int, version: int, payload: bytes
    ) -> tuple[int, int, list[int]]:
        """``lnp_transact``: send a request and read what is queued for it.

        (sequence number, result, descriptor words); a failed send raises.
        """
        batch = self.batch
        result = lib.lnp_transact(sk, batch, family, flags, cmd, version, payload, len(payload))
        seq = batch.seq
        if not seq:
            raise error_for(result, "nl_sendto")
        n = batch.n_desc
        return seq, result, ffi.unpack(self._desc, n * DESC_WORDS) if n else []

    def recv(self, sk: Any, peer: int, seq: int, dump: bool) -> tuple[int, list[int]]:
        """Read what is queued: (result, descriptor words). Data is in :attr:`view`.

        A negative result is an NLE code: what was read before it is described
        all the same, and the caller routes that before raising.
        """
        batch = self.batch
        batch.peer = peer
        batch.seq = seq
        batch.dump = dump
        result = lib.lnp_recv_batch(sk, batch)
        n = batch.n_desc
        return result, ffi.unpack(self._desc, n * DESC_WORDS) if n else []


_pool: list[RecvBatch] = []  # list.pop/append are atomic: no lock needed
