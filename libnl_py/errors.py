"""Exceptions for libnl's negative ``NLE_*`` returns, and the one checker.

Every class derives from :class:`NetlinkError`, itself an :class:`OSError`.
The common ones also derive from the builtin a Python caller would catch:
``except PermissionError`` works without knowing this library.

``NLE_OBJ_NOTFOUND`` maps to :class:`NotFoundError`, a :class:`LookupError`
(not :class:`FileNotFoundError`: what is missing is a family, a group or an
object, never a file); its ``errno`` is still ``ENOENT``.
"""

from __future__ import annotations

import errno as _errno
import os
from typing import Any, NoReturn

from libnl_py._ffi import ffi, lib

__all__ = [
    "NLE_NAMES",
    "AccessDeniedError",
    "AddressFamilyMismatchError",
    "AddressFamilyNotSupportedError",
    "AttributeSizeError",
    "BadSocketError",
    "BusyError",
    "DumpInterruptedError",
    "ExistsError",
    "FailureError",
    "ForkedSocketError",
    "FreedCallbacksError",
    "FreedMessageError",
    "FreedSocketError",
    "HostUnreachableError",
    "ImmutableError",
    "InterruptedCallError",
    "InvalidError",
    "MessageOverflowError",
    "MessageSizeError",
    "MessageTooShortError",
    "MessageTruncatedError",
    "MessageTypeNotSupportedError",
    "MissingAttributeError",
    "NetlinkError",
    "NetlinkTimeoutError",
    "NetworkDownError",
    "NoAddressError",
    "NoAttributeError",
    "NoCacheError",
    "NoDeviceError",
    "NotFoundError",
    "NotPermittedError",
    "NotSupportedError",
    "ObjectMismatchError",
    "OutOfMemoryError",
    "PacketLocationFileError",
    "ParseError",
    "ProtocolMismatchError",
    "RangeError",
    "SequenceMismatchError",
    "SourceRoutingNotSupportedError",
    "TryAgainError",
    "check",
    "error_for",
    "from_code",
    "from_errno",
    "message_for",
    "raise_for",
]


class NetlinkError(OSError):
    """A libnl call, or the kernel, reported an error.

    ``code`` is the positive ``NLE_*`` number, ``errno`` the closest POSIX
    errno (the kernel's own errno where the kernel sent it), ``function`` the
    libnl call or operation that failed, ``message`` the error text
    (``nl_geterror``'s unless a more precise one is known).
    """

    ext_ack: Any
    """The kernel's extended ACK (:class:`libnl_py.message.ExtAck`) when it sent one."""

    nle_name: str = "NLE_FAILURE"
    code: int = lib.NLE_FAILURE
    default_errno: int = _errno.EIO

    def __init__(
        self,
        code: int | None = None,
        function: str | None = None,
        message: str | None = None,
        *,
        errno: int | None = None,
    ) -> None:
        code = type(self).code if code is None else abs(code)
        message = message_for(code) if message is None else message
        super().__init__(type(self).default_errno if errno is None else errno, message)
        self.code = code
        self.function = function
        self.message = message
        self.ext_ack: Any = None

    def __str__(self) -> str:
        text = f"{self.message} (NLE {self.code}, errno {self.errno})"
        return f"{self.function}: {text}" if self.function else text

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild,
            (type(self), self.code, self.function, self.message, self.errno),
        )


def _rebuild(
    cls: type[NetlinkError], code: int, function: str | None, message: str, err: int
) -> NetlinkError:
    return cls(code, function, message, errno=err)


class FailureError(NetlinkError):
    """``NLE_FAILURE``."""

    nle_name = "NLE_FAILURE"
    code = lib.NLE_FAILURE
    default_errno = _errno.EIO


class InterruptedCallError(NetlinkError, InterruptedError):
    """``NLE_INTR``."""

    nle_name = "NLE_INTR"
    code = lib.NLE_INTR
    default_errno = _errno.EINTR


class BadSocketError(NetlinkError):
    """``NLE_BAD_SOCK``."""

    nle_name = "NLE_BAD_SOCK"
    code = lib.NLE_BAD_SOCK
    default_errno = _errno.EBADF


class TryAgainError(NetlinkError, BlockingIOError):
    """``NLE_AGAIN``."""

    nle_name = "NLE_AGAIN"
    code = lib.NLE_AGAIN
    default_errno = _errno.EAGAIN


class OutOfMemoryError(NetlinkError):
    """``NLE_NOMEM``."""

    nle_name = "NLE_NOMEM"
    code = lib.NLE_NOMEM
    default_errno = _errno.ENOMEM


class ExistsError(NetlinkError, FileExistsError):
    """``NLE_EXIST``."""

    nle_name = "NLE_EXIST"
    code = lib.NLE_EXIST
    default_errno = _errno.EEXIST


class InvalidError(NetlinkError, ValueError):
    """``NLE_INVAL``."""

    nle_name = "NLE_INVAL"
    code = lib.NLE_INVAL
    default_errno = _errno.EINVAL


class RangeError(NetlinkError, ValueError):
    """``NLE_RANGE``."""

    nle_name = "NLE_RANGE"
    code = lib.NLE_RANGE
    default_errno = _errno.ERANGE


class MessageSizeError(NetlinkError):
    """``NLE_MSGSIZE``."""

    nle_name = "NLE_MSGSIZE"
    code = lib.NLE_MSGSIZE
    default_errno = _errno.EMSGSIZE


class NotSupportedError(NetlinkError):
    """``NLE_OPNOTSUPP``."""

    nle_name = "NLE_OPNOTSUPP"
    code = lib.NLE_OPNOTSUPP
    default_errno = _errno.EOPNOTSUPP


class AddressFamilyNotSupportedError(NetlinkError):
    """``NLE_AF_NOSUPPORT``."""

    nle_name = "NLE_AF_NOSUPPORT"
    code = lib.NLE_AF_NOSUPPORT
    default_errno = _errno.EAFNOSUPPORT


class NotFoundError(NetlinkError, LookupError):
    """``NLE_OBJ_NOTFOUND``."""

    nle_name = "NLE_OBJ_NOTFOUND"
    code = lib.NLE_OBJ_NOTFOUND
    default_errno = _errno.ENOENT


class NoAttributeError(NetlinkError):
    """``NLE_NOATTR``."""

    nle_name = "NLE_NOATTR"
    code = lib.NLE_NOATTR
    default_errno = _errno.ENODATA


class MissingAttributeError(NetlinkError, ValueError):
    """``NLE_MISSING_ATTR``."""

    nle_name = "NLE_MISSING_ATTR"
    code = lib.NLE_MISSING_ATTR
    default_errno = _errno.EINVAL


class AddressFamilyMismatchError(NetlinkError):
    """``NLE_AF_MISMATCH``."""

    nle_name = "NLE_AF_MISMATCH"
    code = lib.NLE_AF_MISMATCH
    default_errno = _errno.EAFNOSUPPORT


class SequenceMismatchError(NetlinkError):
    """``NLE_SEQ_MISMATCH``."""

    nle_name = "NLE_SEQ_MISMATCH"
    code = lib.NLE_SEQ_MISMATCH
    default_errno = _errno.EPROTO


class MessageOverflowError(NetlinkError):
    """``NLE_MSG_OVERFLOW``."""

    nle_name = "NLE_MSG_OVERFLOW"
    code = lib.NLE_MSG_OVERFLOW
    default_errno = _errno.EOVERFLOW


class MessageTruncatedError(NetlinkError):
    """``NLE_MSG_TRUNC``."""

    nle_name = "NLE_MSG_TRUNC"
    code = lib.NLE_MSG_TRUNC
    default_errno = _errno.EMSGSIZE


class NoAddressError(NetlinkError):
    """``NLE_NOADDR``."""

    nle_name = "NLE_NOADDR"
    code = lib.NLE_NOADDR
    default_errno = _errno.EADDRNOTAVAIL


class SourceRoutingNotSupportedError(NetlinkError):
    """``NLE_SRCRT_NOSUPPORT``."""

    nle_name = "NLE_SRCRT_NOSUPPORT"
    code = lib.NLE_SRCRT_NOSUPPORT
    default_errno = _errno.EOPNOTSUPP


class MessageTooShortError(NetlinkError):
    """``NLE_MSG_TOOSHORT``."""

    nle_name = "NLE_MSG_TOOSHORT"
    code = lib.NLE_MSG_TOOSHORT
    default_errno = _errno.EBADMSG


class MessageTypeNotSupportedError(NetlinkError):
    """``NLE_MSGTYPE_NOSUPPORT``."""

    nle_name = "NLE_MSGTYPE_NOSUPPORT"
    code = lib.NLE_MSGTYPE_NOSUPPORT
    default_errno = _errno.EOPNOTSUPP


class ObjectMismatchError(NetlinkError):
    """``NLE_OBJ_MISMATCH``."""

    nle_name = "NLE_OBJ_MISMATCH"
    code = lib.NLE_OBJ_MISMATCH
    default_errno = _errno.EINVAL


class NoCacheError(NetlinkError):
    """``NLE_NOCACHE``."""

    nle_name = "NLE_NOCACHE"
    code = lib.NLE_NOCACHE
    default_errno = _errno.ENOENT


class BusyError(NetlinkError):
    """``NLE_BUSY``."""

    nle_name = "NLE_BUSY"
    code = lib.NLE_BUSY
    default_errno = _errno.EBUSY


class ProtocolMismatchError(NetlinkError):
    """``NLE_PROTO_MISMATCH``."""

    nle_name = "NLE_PROTO_MISMATCH"
    code = lib.NLE_PROTO_MISMATCH
    default_errno = _errno.EPROTONOSUPPORT


class AccessDeniedError(NetlinkError, PermissionError):
    """``NLE_NOACCESS``."""

    nle_name = "NLE_NOACCESS"
    code = lib.NLE_NOACCESS
    default_errno = _errno.EACCES


class NotPermittedError(NetlinkError, PermissionError):
    """``NLE_PERM``."""

    nle_name = "NLE_PERM"
    code = lib.NLE_PERM
    default_errno = _errno.EPERM


class PacketLocationFileError(NetlinkError):
    """``NLE_PKTLOC_FILE``."""

    nle_name = "NLE_PKTLOC_FILE"
    code = lib.NLE_PKTLOC_FILE
    default_errno = _errno.ENOENT


class ParseError(NetlinkError, ValueError):
    """``NLE_PARSE_ERR``."""

    nle_name = "NLE_PARSE_ERR"
    code = lib.NLE_PARSE_ERR
    default_errno = _errno.EINVAL


class NoDeviceError(NetlinkError):
    """``NLE_NODEV``."""

    nle_name = "NLE_NODEV"
    code = lib.NLE_NODEV
    default_errno = _errno.ENODEV


class ImmutableError(NetlinkError):
    """``NLE_IMMUTABLE``."""

    nle_name = "NLE_IMMUTABLE"
    code = lib.NLE_IMMUTABLE
    default_errno = _errno.EPERM


class DumpInterruptedError(NetlinkError):
    """``NLE_DUMP_INTR``."""

    nle_name = "NLE_DUMP_INTR"
    code = lib.NLE_DUMP_INTR
    default_errno = _errno.EINTR


class AttributeSizeError(NetlinkError, ValueError):
    """``NLE_ATTRSIZE``."""

    nle_name = "NLE_ATTRSIZE"
    code = lib.NLE_ATTRSIZE
    default_errno = _errno.ERANGE


class HostUnreachableError(NetlinkError):
    """``NLE_HOSTUNREACH``."""

    nle_name = "NLE_HOSTUNREACH"
    code = 35
    default_errno = _errno.EHOSTUNREACH


class NetworkDownError(NetlinkError):
    """``NLE_NETDOWN``."""

    nle_name = "NLE_NETDOWN"
    code = 36
    default_errno = _errno.ENETDOWN


# HOSTUNREACH (35) and NETDOWN (36) exist only in libnl newer than 3.7; their
# classes exist everywhere, but from_code() maps only the codes the installed
# libnl defines.
_ALL_CLASSES: tuple[type[NetlinkError], ...] = (
    FailureError,
    InterruptedCallError,
    BadSocketError,
    TryAgainError,
    OutOfMemoryError,
    ExistsError,
    InvalidError,
    RangeError,
    MessageSizeError,
    NotSupportedError,
    AddressFamilyNotSupportedError,
    NotFoundError,
    NoAttributeError,
    MissingAttributeError,
    AddressFamilyMismatchError,
    SequenceMismatchError,
    MessageOverflowError,
    MessageTruncatedError,
    NoAddressError,
    SourceRoutingNotSupportedError,
    MessageTooShortError,
    MessageTypeNotSupportedError,
    ObjectMismatchError,
    NoCacheError,
    BusyError,
    ProtocolMismatchError,
    AccessDeniedError,
    NotPermittedError,
    PacketLocationFileError,
    ParseError,
    NoDeviceError,
    ImmutableError,
    DumpInterruptedError,
    AttributeSizeError,
    HostUnreachableError,
    NetworkDownError,
)
# Classes of codes the compiled libnl lacks (lib has no such name; see _ffi) stay out.
_BY_CODE: dict[int, type[NetlinkError]] = {
    cls.code: cls for cls in _ALL_CLASSES if hasattr(lib, cls.nle_name)
}
# A libnl newer than this module may define codes it has no name for: each
# still gets a class of its own.
for _code in range(1, lib.NLE_MAX + 1):
    if _code not in _BY_CODE:
        _BY_CODE[_code] = type(
            f"NLE{_code}Error",
            (NetlinkError,),
            {"__module__": __name__, "nle_name": f"NLE_{_code}", "code": _code},
        )
NLE_NAMES: dict[int, str] = {code: cls.nle_name for code, cls in _BY_CODE.items()}
"""Positive NLE code -> its name (``"NLE_EXIST"``), for the installed libnl."""

_MESSAGES: dict[int, str] = {}


def message_for(code: int) -> str:
    """``nl_geterror(code)``'s text (either sign of ``code``)."""
    code = abs(code)
    text = _MESSAGES.get(code)
    if text is None:
        # nl_geterror returns static strings, so caching them is safe.
        text = ffi.string(lib.nl_geterror(code)).decode("utf-8", "replace")
        _MESSAGES[code] = text
    return text


def from_code(code: int) -> type[NetlinkError]:
    """The exception class for an NLE code (either sign); unknown codes give NetlinkError."""
    return _BY_CODE.get(abs(code), NetlinkError)


def error_for(
    code: int,
    function: str | None = None,
    *,
    errno: int | None = None,
    message: str | None = None,
) -> NetlinkError:
    """An exception instance for a libnl return code (either sign)."""
    return from_code(code)(abs(code), function, message, errno=errno)


def from_errno(err: int, function: str | None = None, message: str | None = None) -> NetlinkError:
    """An exception for a POSIX errno (either sign), classed as libnl classes it.

    The class is the one for ``nl_syserr2nlerr(err)``; ``.errno`` keeps ``err``
    itself, which libnl's mapping loses (ENOBUFS and ENOMEM both become NLE_NOMEM).
    """
    err = abs(err)
    if err > 0x7FFFFFFF:  # not an errno (a hostile peer can send any int32)
        code = lib.NLE_FAILURE
        if message is None:
            message = f"Unknown error {err}"
    else:
        code = lib.nl_syserr2nlerr(err)
        if message is None:
            message = os.strerror(err)
    return from_code(code)(code, function, message, errno=err)


def raise_for(code: int, function: str | None = None) -> NoReturn:
    """Raise the exception for a libnl return code."""
    raise error_for(code, function)


def check(ret: int, function: str) -> int:
    """Return ``ret`` if it is not negative, else raise the class for ``-ret``.

    The one place where a negative libnl return becomes an exception.
    """
    if ret < 0:
        raise error_for(ret, function)
    return ret


class FreedSocketError(BadSocketError):
    """The socket was freed: its libnl object no longer exists."""


class ForkedSocketError(BadSocketError):
    """The socket was created in a parent process; a forked child must open its own."""


class FreedMessageError(InvalidError):
    """The message no longer exists: freed, consumed by ``send_sync``, or one a callback
    received whose callback has returned (libnl frees those after the call)."""


class FreedCallbacksError(InvalidError):
    """The callback set was freed: its libnl ``struct nl_cb`` no longer exists."""


class NetlinkTimeoutError(NetlinkError, TimeoutError):
    """Nothing arrived within the timeout (libnl itself has no timeouts)."""

    nle_name = "NLE_AGAIN"
    code = lib.NLE_AGAIN
    default_errno = _errno.ETIMEDOUT

    def __init__(self, function: str | None = None, timeout: float | None = None) -> None:
        message = "timed out" if timeout is None else f"timed out after {timeout:g} s"
        super().__init__(lib.NLE_AGAIN, function, message)
        self.timeout = timeout

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.function, self.timeout))
