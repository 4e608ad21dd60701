"""How one Python object owns one libnl C object: what Socket, Message and Callbacks share.

An :class:`Owner` serialises the calls into its C object with a lock (they
run without the GIL), knows when the C object is gone (its ``_ptr`` raises
the owner's "freed" error), and marks the thread of a libnl call that may run
Python callbacks, so that such a callback using the object gets
:class:`~libnl_py.errors.BusyError` instead of a deadlock. ``with`` frees it.

Other modules reach an owner's C object only through the functions here:
:func:`locked`, :func:`pointer`, :func:`run` and :func:`release`.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Callable, ClassVar, TypeVar

from libnl_py.errors import BusyError

__all__ = ["Owner", "locked", "pointer", "release", "run"]

_O = TypeVar("_O", bound="Owner")


class Owner:
    """The base of the classes that own a libnl C object (see the module)."""

    __slots__ = ("_lock", "_running")

    _busy_message: ClassVar[str] = "object is in use by the libnl call running this callback"
    """What BusyError says when a callback uses the object its libnl call holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # The thread running a libnl call of this object that may call Python
        # callbacks, while it runs; else 0.
        self._running = 0

    def _locked(self) -> threading.Lock:
        """The lock, unless a libnl call that runs callbacks holds it on this thread."""
        running = self._running
        if running and running == threading.get_ident():
            raise BusyError(function=type(self).__name__, message=self._busy_message)
        return self._lock

    def _ptr(self) -> Any:
        """The live C object; raises the owner's "freed" error. Call with the lock held."""
        raise NotImplementedError

    def _release(self, by: str) -> bool:
        """Free the C object now (lock held); True if this call did. ``by`` says who."""
        raise NotImplementedError

    def free(self) -> None:
        """Release the C object. Idempotent."""
        raise NotImplementedError

    def __enter__(self: _O) -> _O:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.free()


def locked(owner: Owner) -> threading.Lock:
    """``owner``'s lock, to hold while using :func:`pointer` (BusyError from its callback)."""
    return owner._locked()


def pointer(owner: Owner) -> Any:
    """``owner``'s live C object; the lock must be held."""
    return owner._ptr()


def release(owner: Owner, by: str) -> bool:
    """Free ``owner``'s C object now (its lock held): libnl took it (``by`` says how)."""
    return owner._release(by)


def run(owners: tuple[Owner, ...], call: Callable[..., int], *args: Any) -> int:
    """``call(*args)``, a libnl call that may run Python callbacks, with ``owners`` in use.

    Call with every owner's lock held. Marks them as running on this thread
    meanwhile, so that a callback using one of them gets BusyError instead of
    a deadlock.
    """
    me = threading.get_ident()
    for owner in owners:
        owner._running = me
    try:
        return call(*args)
    finally:
        for owner in owners:
            owner._running = 0
