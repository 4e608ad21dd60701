"""How one socket names its families' messages: specs, the kernel's policies, and codecs.

A :class:`FamilyCodecs` per socket finds the spec of a family (the socket's
own specs first, then :mod:`libnl_py.spec.registry`), falls back on a spec
made from the kernel's policy where none is known, encodes requests given by
names, and decodes replies and notifications. What it fetches from the kernel
(policies) it fetches through the function its socket gives it, once per
family, and keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Union

from libnl_py.attrs import AttributeEncoder
from libnl_py.bindings import socket as _b
from libnl_py.errors import NetlinkError, NotFoundError
from libnl_py.genl.control import CTRL_ID, FamilyCache, FamilyRef
from libnl_py.genl.family import Family
from libnl_py.genl.replies import Pending, ReplyDecoder
from libnl_py.message import GenlMessage
from libnl_py.spec import registry as _specs
from libnl_py.spec.codec import Codec
from libnl_py.spec.loader import Catalog
from libnl_py.spec.model import AttrSet, FamilySpec, Operation
from libnl_py.spec.policy import FamilyPolicy, spec_from_policy

__all__ = ["FamilyCodecs", "PolicyFetcher", "RequestAttrs"]

RequestAttrs = Union[None, bytes, bytearray, memoryview, AttributeEncoder, Mapping[Any, Any]]
"""A request's attributes: encoded bytes, an encoder, or a mapping the family's spec encodes."""

PolicyFetcher = Callable[[Union[Family, str]], Union[FamilyPolicy, None]]
"""Fetches a family's policy from the kernel (None: there is none to be had)."""


class FamilyCodecs:
    """The specs and codecs one socket encodes and decodes with (see the module)."""

    __slots__ = (
        "_codecs",
        "_policy_codecs",
        "_policy_specs",
        "_requests",
        "catalog",
        "families",
        "fetch",
    )

    def __init__(
        self, catalog: Catalog | None, families: FamilyCache, fetch: PolicyFetcher
    ) -> None:
        self.catalog = catalog
        self.families = families
        self.fetch = fetch
        self._policy_specs: dict[str, FamilySpec | None] = {}
        self._policy_codecs: dict[tuple[int, int], Codec] = {}
        # Family id -> (registry generation, codec): decode() looks a family up once.
        self._codecs: dict[int, tuple[int, Codec]] = {}
        families.on_change.append(self._codecs)
        # (family name, cmd) -> (registry generation, cmd id, codec, op, the C encoder and
        # its table or None) of requests by names.
        self._requests: dict[
            tuple[str, int | str], tuple[int, int, Codec, Operation, tuple[Any, int] | None]
        ] = {}

    # -- specs -----------------------------------------------------------------

    def spec(self, name: str) -> FamilySpec | None:
        """The spec of family ``name``: the socket's own, else the registry's."""
        if self.catalog is not None:
            found = self.catalog.find(name)
            if found is not None:
                return found
        return _specs.get(name)

    def spec_for(self, family: FamilyRef) -> FamilySpec | None:
        """:meth:`spec` of a family given by name, :class:`Family` or a known id."""
        name = self.families.name_of(family)
        return self.spec(name) if name is not None else None

    def policy_spec(self, name: str) -> FamilySpec | None:
        """A spec made from the kernel's policy, for a family no spec describes (cached)."""
        if name in self._policy_specs:
            return self._policy_specs[name]
        try:
            policy = self.fetch(name)
        except NetlinkError:
            policy = None
        spec = spec_from_policy(name, policy) if policy is not None else None
        self._policy_specs[name] = spec
        return spec

    def knows_policy_spec(self, name: str) -> bool:
        """Whether :meth:`policy_spec` of ``name`` is answered without fetching."""
        return name in self._policy_specs

    def needs_policy(
        self, name: str | None, cmd: int | str, attrs: object, decode: bool = False
    ) -> bool:
        """Whether encoding this request (or decoding its replies, with ``decode``) would
        fetch a policy first: asyncio fetches it apart, off the loop."""
        if name is None or name in self._policy_specs:
            return False
        if not isinstance(attrs, Mapping):
            return decode and self.spec(name) is None
        spec = self.spec(name)
        if spec is None:
            return True
        return isinstance(cmd, int) and spec.operation(cmd) is None

    # -- requests --------------------------------------------------------------

    def encode(
        self, name: str | None, cmd: int | str, attrs: RequestAttrs, family: object
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
                _generation, known_id, known_codec, known_op, native = known
                if known_op.fixed_header is None:
                    assert known_op.attribute_set is not None
                    # codec.encode's two halves, its C table looked up once: the C
                    # encoder's call, then (no C encoder, or C gives it up) the Python one.
                    encoded = None if native is None else native[0].encode(native[1], attrs)
                    if encoded is None:
                        encoded = known_codec.encode_in_python(known_op.attribute_set, attrs)
                    return known_id, encoded, None
        spec = self.spec(name) if name is not None else None
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
            policy = self.policy_spec(name)
            if policy is not None:
                spec, op = policy, policy.operation(cmd_id)
        if spec is None or op is None or op.attribute_set is None:
            if all(isinstance(k, int) for k in attrs):
                spec = spec or UNTYPED
                op = _UNTYPED_OP
            else:
                raise NotFoundError(
                    function="execute",
                    message=f"attributes given by name, but no spec or policy describes"
                    f" family {family!r} cmd {cmd_id}",
                )
        codec = _specs.codec_for(spec)
        if name is not None and spec is not UNTYPED:
            native = None
            if op.attribute_set is not None and op.fixed_header is None:  # (as taken above)
                native = codec.encoder_table(op.attribute_set)
            self._requests[(name, cmd)] = (_specs.generation[0], cmd_id, codec, op, native)
        values = dict(attrs)
        fixed = None
        if op.fixed_header is not None:
            header_spec = spec.struct(op.fixed_header)
            fields = {m.name: values.pop(m.name) for m in header_spec.members if m.name in values}
            fixed = codec.encode_header(op.fixed_header, fields)
        assert op.attribute_set is not None
        return cmd_id, codec.encode(op.attribute_set, values), fixed

    # -- replies and notifications ---------------------------------------------

    def decoder(self, family_id: int, hdrsize: int, cmd: int) -> ReplyDecoder:
        """A :class:`ReplyDecoder` for the replies of one request of ``cmd`` (``decode=True``)."""
        return ReplyDecoder(self.reply_codec(family_id), family_id, hdrsize, cmd)

    def finish(
        self, decoding: ReplyDecoder, replies: list[Any], pending: Pending | None = None
    ) -> list[Any]:
        """The replies of a ``decode=True`` request, once its ``pending`` decodes are seen to.

        Not under the socket's lock: fetching the kernel's policy is a request of its own.
        """
        if pending is None:
            if not decoding.pending:
                return replies
        elif not pending:
            return replies
        return decoding.finish(
            replies, lambda: self.typed_codec(decoding.family_id, decoding.codec), pending
        )

    def decode(self, msg: GenlMessage) -> dict[Any, Any]:
        """A message as plain values, named by its family's spec (see ``GenlSocket.decode``)."""
        if not isinstance(msg, GenlMessage):
            raise TypeError(f"decode() takes a GenlMessage, not {type(msg).__name__}")
        family_id = msg.family_id
        found = self._codecs.get(family_id)
        if found is not None and found[0] == _specs.generation[0]:
            codec = found[1]  # the common case: this family's codec, looked up before
        else:
            codec = self.reply_codec(family_id)
        data, reply = msg.data, msg.seq != 0
        values = codec.decode_received(data, msg.attrs_offset, msg.cmd, reply)
        if codec.saw_unknown:
            typed = self.typed_codec(family_id, codec)
            if typed is not codec:
                values = typed.decode_received(data, msg.attrs_offset, msg.cmd, reply)
        return values

    def operation_name(self, msg: GenlMessage) -> str | None:
        """The name of what ``msg`` is (its operation, notification or event), if a spec knows."""
        spec = self.codec_for(msg.family_id).spec
        op = spec.received(msg.cmd, reply=msg.seq != 0)
        return op.name if op is not None else None

    def reply_codec(self, family_id: int) -> Codec:
        """The codec that decodes ``family_id``'s messages here (looked up once per family)."""
        found = self._codecs.get(family_id)
        if found is not None and found[0] == _specs.generation[0]:
            return found[1]  # the common case: this family's codec, looked up before
        codec = self.codec_for(family_id)
        if family_id in self.families.by_id or family_id == CTRL_ID:
            self._codecs[family_id] = (_specs.generation[0], codec)
        return codec

    def typed_codec(self, family_id: int, codec: Codec) -> Codec:
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
            known = self.families.by_id.get(family_id)
            if known is not None:
                try:
                    policy = self.fetch(known)
                except NetlinkError:
                    policy = None
                if policy is not None:
                    found = Codec(codec.spec, policy)
            self._policy_codecs[key] = found
        return found

    def codec_for(self, family_id: int) -> Codec:
        """The codec of ``family_id``'s spec, its policy's, or the untyped one."""
        spec = self.spec_for(family_id)
        if spec is None:
            known = self.families.by_id.get(family_id)
            if known is not None:
                spec = self.policy_spec(known.name)
        codec = _specs.codec_for(spec if spec is not None else UNTYPED)
        if codec.saw_unknown:
            # Once a spec fell short, the codec with the kernel's policy decodes for it.
            return self._policy_codecs.get((family_id, id(codec.spec)), codec)
        return codec


UNTYPED = FamilySpec(
    name="(untyped)",
    protocol="genetlink",
    attribute_sets={"attrs": AttrSet("attrs", (), numbered=True)},
    operations=(),
    source="none",
)
"""Attributes no spec or policy types: decoded under their numbers, as bytes."""
_UNTYPED_OP = Operation("(untyped)", None, None, "attrs", frozenset({"do"}))
