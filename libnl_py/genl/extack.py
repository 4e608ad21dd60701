"""A kernel error as an exception, with its extended ACK named by the request's spec.

The kernel points at the attribute it refused by its offset in the request
(``NLMSGERR_ATTR_OFFS``) and at a missing one by its type and nest
(``NLMSGERR_ATTR_MISS_TYPE``/``MISS_NEST``); here those become attribute
paths and, where a spec knows the request, names.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from libnl_py.attrs import attribute_path
from libnl_py.errors import NetlinkError, from_errno
from libnl_py.message import GENL_HDRLEN, NLMSG_HDRLEN, ExtAck
from libnl_py.spec import registry as _specs

if TYPE_CHECKING:
    from libnl_py.genl.engine import InFlight

__all__ = ["kernel_error"]


def kernel_error(req: InFlight, error: int, ext_ack: ExtAck | None) -> NetlinkError:
    """The exception for the kernel's negative ``error`` answering ``req``."""
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


def _attribute_names(req: InFlight, path: tuple[int, ...]) -> tuple[str, ...]:
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


def _missing_name(req: InFlight, ext_ack: ExtAck) -> str | None:
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
