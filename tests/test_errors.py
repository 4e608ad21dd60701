"""libnl_py.errors: NLE code -> exception mapping. Pure logic, no kernel needed."""

from __future__ import annotations

import errno
import os
import pickle

import pytest

from libnl_py import errors, ffi, lib

# NLE name -> the errno its exception documents.
DOCUMENTED_ERRNO = {
    "NLE_FAILURE": errno.EIO,
    "NLE_INTR": errno.EINTR,
    "NLE_BAD_SOCK": errno.EBADF,
    "NLE_AGAIN": errno.EAGAIN,
    "NLE_NOMEM": errno.ENOMEM,
    "NLE_EXIST": errno.EEXIST,
    "NLE_INVAL": errno.EINVAL,
    "NLE_RANGE": errno.ERANGE,
    "NLE_MSGSIZE": errno.EMSGSIZE,
    "NLE_OPNOTSUPP": errno.EOPNOTSUPP,
    "NLE_AF_NOSUPPORT": errno.EAFNOSUPPORT,
    "NLE_OBJ_NOTFOUND": errno.ENOENT,
    "NLE_NOATTR": errno.ENODATA,
    "NLE_MISSING_ATTR": errno.EINVAL,
    "NLE_AF_MISMATCH": errno.EAFNOSUPPORT,
    "NLE_SEQ_MISMATCH": errno.EPROTO,
    "NLE_MSG_OVERFLOW": errno.EOVERFLOW,
    "NLE_MSG_TRUNC": errno.EMSGSIZE,
    "NLE_NOADDR": errno.EADDRNOTAVAIL,
    "NLE_SRCRT_NOSUPPORT": errno.EOPNOTSUPP,
    "NLE_MSG_TOOSHORT": errno.EBADMSG,
    "NLE_MSGTYPE_NOSUPPORT": errno.EOPNOTSUPP,
    "NLE_OBJ_MISMATCH": errno.EINVAL,
    "NLE_NOCACHE": errno.ENOENT,
    "NLE_BUSY": errno.EBUSY,
    "NLE_PROTO_MISMATCH": errno.EPROTONOSUPPORT,
    "NLE_NOACCESS": errno.EACCES,
    "NLE_PERM": errno.EPERM,
    "NLE_PKTLOC_FILE": errno.ENOENT,
    "NLE_PARSE_ERR": errno.EINVAL,
    "NLE_NODEV": errno.ENODEV,
    "NLE_IMMUTABLE": errno.EPERM,
    "NLE_DUMP_INTR": errno.EINTR,
    "NLE_ATTRSIZE": errno.ERANGE,
    "NLE_HOSTUNREACH": errno.EHOSTUNREACH,
    "NLE_NETDOWN": errno.ENETDOWN,
}

# NLE name -> the builtin its exception doubles as.
BUILTIN_DOUBLES = {
    "NLE_PERM": PermissionError,
    "NLE_NOACCESS": PermissionError,
    "NLE_EXIST": FileExistsError,
    "NLE_AGAIN": BlockingIOError,
    "NLE_INTR": InterruptedError,
    "NLE_INVAL": ValueError,
    "NLE_RANGE": ValueError,
    "NLE_OBJ_NOTFOUND": LookupError,
}

ALL_CODES = range(1, lib.NLE_MAX + 1)
# The names the installed libnl defines (lib drops NLE_HOSTUNREACH/NETDOWN on 3.7).
KNOWN_NAMES: dict[str, int] = {
    name: getattr(lib, name) for name in DOCUMENTED_ERRNO if hasattr(lib, name)
}


def nl_geterror(code: int) -> str:
    return str(ffi.string(lib.nl_geterror(code)).decode())


def test_nle_max_covers_libnl_3_7() -> None:
    assert lib.NLE_MAX >= lib.NLE_ATTRSIZE == 34
    assert lib.NLE_SUCCESS == 0
    # every code up to NETDOWN (36) that this libnl defines has its documented name
    assert set(range(1, min(lib.NLE_MAX, 36) + 1)) == set(KNOWN_NAMES.values())
    assert hasattr(lib, "NLE_HOSTUNREACH") == bool(lib.HAS_NLE_HOSTUNREACH)
    assert hasattr(lib, "NLE_NETDOWN") == bool(lib.HAS_NLE_NETDOWN)


@pytest.mark.parametrize("code", ALL_CODES)
def test_from_code_maps_every_code(code: int) -> None:
    cls = errors.from_code(code)
    assert issubclass(cls, errors.NetlinkError)
    assert issubclass(cls, OSError)
    assert cls is not errors.NetlinkError
    assert cls.code == code
    assert errors.from_code(-code) is cls

    exc = cls(code, "nl_something")
    assert exc.code == code
    assert exc.function == "nl_something"
    assert exc.message == nl_geterror(code)
    assert nl_geterror(code) in str(exc)
    assert str(exc).startswith("nl_something: ")
    assert f"NLE {code}" in str(exc)


@pytest.mark.parametrize(
    ("code", "name"), sorted((code, name) for name, code in KNOWN_NAMES.items())
)
def test_documented_errno(code: int, name: str) -> None:
    cls = errors.from_code(code)
    assert cls.nle_name == name
    assert errors.NLE_NAMES[code] == name
    exc = errors.error_for(-code, "f")
    assert type(exc) is cls
    assert exc.errno == DOCUMENTED_ERRNO[name]
    assert exc.args == (DOCUMENTED_ERRNO[name], nl_geterror(code))
    assert f"errno {DOCUMENTED_ERRNO[name]}" in str(exc)


@pytest.mark.parametrize(("name", "builtin"), sorted(BUILTIN_DOUBLES.items()))
def test_builtin_doubles(name: str, builtin: type[Exception]) -> None:
    cls = errors.from_code(getattr(lib, name))
    assert issubclass(cls, builtin)
    with pytest.raises(builtin):
        errors.raise_for(-getattr(lib, name), "f")


def test_builtin_doubles_are_precise() -> None:
    """Codes that are not bad input do not pass as ValueError, and so on."""
    assert not issubclass(errors.from_code(lib.NLE_BAD_SOCK), ValueError)
    assert not issubclass(errors.from_code(lib.NLE_EXIST), PermissionError)
    assert not issubclass(errors.from_code(lib.NLE_FAILURE), (ValueError, LookupError))
    # what is missing is a family or an object, never a file
    assert not issubclass(errors.NotFoundError, FileNotFoundError)
    assert errors.NotFoundError().errno == errno.ENOENT


def test_named_classes() -> None:
    assert errors.from_code(lib.NLE_EXIST) is errors.ExistsError
    assert errors.from_code(lib.NLE_BAD_SOCK) is errors.BadSocketError
    assert errors.from_code(lib.NLE_OBJ_NOTFOUND) is errors.NotFoundError
    assert errors.from_code(lib.NLE_NOMEM) is errors.OutOfMemoryError
    assert errors.from_code(lib.NLE_AGAIN) is errors.TryAgainError
    assert errors.ExistsError.code == 6
    assert errors.BadSocketError.code == 3


@pytest.mark.parametrize("code", [999, -999, 0])
def test_from_code_unknown(code: int) -> None:
    assert errors.from_code(code) is errors.NetlinkError
    exc = errors.error_for(code, "f")
    assert type(exc) is errors.NetlinkError
    assert exc.code == abs(code)
    assert exc.errno == errno.EIO


def test_check_passes_non_negative() -> None:
    assert errors.check(5, "f") == 5
    assert errors.check(0, "f") == 0


def test_check_raises_for_negative() -> None:
    with pytest.raises(errors.ExistsError) as info:
        errors.check(-6, "f")
    exc = info.value
    assert isinstance(exc, FileExistsError)
    assert exc.function == "f"
    assert exc.code == 6
    assert exc.errno == errno.EEXIST
    assert exc.message == nl_geterror(6) == "Object exists"
    assert str(exc) == f"f: Object exists (NLE 6, errno {errno.EEXIST})"


@pytest.mark.parametrize("sign", [1, -1])
def test_from_errno_keeps_errno(sign: int) -> None:
    exc = errors.from_errno(sign * errno.ENOBUFS, "recv")
    assert type(exc) is errors.OutOfMemoryError
    assert exc.code == lib.NLE_NOMEM
    assert exc.errno == errno.ENOBUFS
    assert exc.function == "recv"
    assert exc.message == os.strerror(errno.ENOBUFS)


@pytest.mark.parametrize(
    ("err", "cls"),
    [
        (errno.EADDRINUSE, errors.ExistsError),
        (errno.EEXIST, errors.ExistsError),
        (errno.ENOENT, errors.NotFoundError),
        (errno.ESRCH, errors.NotFoundError),
        (errno.EACCES, errors.AccessDeniedError),
        (errno.EPERM, errors.NotPermittedError),
        (errno.EAGAIN, errors.TryAgainError),
        (errno.EINTR, errors.InterruptedCallError),
        (errno.EINVAL, errors.InvalidError),
        (errno.ENOMEM, errors.OutOfMemoryError),
        (errno.ENODEV, errors.NoDeviceError),
        (errno.EBUSY, errors.BusyError),
        (errno.ERANGE, errors.RangeError),
        (errno.EOPNOTSUPP, errors.NotSupportedError),
        (errno.EXDEV, errors.FailureError),
    ],
)
def test_from_errno_follows_libnl_mapping(err: int, cls: type[errors.NetlinkError]) -> None:
    exc = errors.from_errno(err)
    assert type(exc) is cls
    assert exc.code == lib.nl_syserr2nlerr(err) == cls.code
    assert exc.errno == err


def test_message_for_either_sign() -> None:
    assert errors.message_for(-lib.NLE_BAD_SOCK) == errors.message_for(lib.NLE_BAD_SOCK)
    assert errors.message_for(lib.NLE_BAD_SOCK) == nl_geterror(3) == "Bad socket"


def test_socket_errors_hierarchy() -> None:
    for cls in (errors.FreedSocketError, errors.ForkedSocketError):
        assert issubclass(cls, errors.BadSocketError)
        assert issubclass(cls, errors.NetlinkError)
        assert issubclass(cls, OSError)
        exc = cls(function="Socket", message="gone")
        assert exc.code == lib.NLE_BAD_SOCK
        assert exc.errno == errno.EBADF
        assert str(exc) == f"Socket: gone (NLE 3, errno {errno.EBADF})"
    assert not issubclass(errors.FreedSocketError, errors.ForkedSocketError)


def test_timeout_error() -> None:
    exc = errors.NetlinkTimeoutError("nl_recv", 0.25)
    assert isinstance(exc, TimeoutError)
    assert isinstance(exc, errors.NetlinkError)
    assert exc.timeout == 0.25
    assert exc.code == lib.NLE_AGAIN
    assert exc.errno == errno.ETIMEDOUT
    assert str(exc) == f"nl_recv: timed out after 0.25 s (NLE 4, errno {errno.ETIMEDOUT})"


def _same(a: errors.NetlinkError, b: errors.NetlinkError) -> None:
    assert type(a) is type(b)
    assert (a.code, a.errno, a.function, a.message, str(a)) == (
        b.code,
        b.errno,
        b.function,
        b.message,
        str(b),
    )
    assert a.args == b.args


@pytest.mark.parametrize("code", [*ALL_CODES, 999])
def test_pickle_round_trip(code: int) -> None:
    exc = errors.error_for(-code, "genl_connect")
    _same(pickle.loads(pickle.dumps(exc)), exc)


@pytest.mark.parametrize(
    "exc",
    [
        errors.from_errno(errno.ENOBUFS, "nl_recv"),
        errors.ExistsError(function="f", message="custom", errno=errno.EADDRINUSE),
        errors.FreedSocketError(function="Socket", message="socket has been freed"),
        errors.ForkedSocketError(function="Socket", message="parent's"),
        errors.NetlinkTimeoutError("nl_recv", 0.2),
        errors.NetlinkError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_pickle_round_trip_special(exc: errors.NetlinkError) -> None:
    copy = pickle.loads(pickle.dumps(exc))
    _same(copy, exc)
    if isinstance(exc, errors.NetlinkTimeoutError):
        assert copy.timeout == exc.timeout
