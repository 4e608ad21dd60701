"""Types of libnl_py._codec, the C accelerator of libnl_py.spec.codec (its decoder and encoder)."""

from collections.abc import Callable, Sequence
from typing import Any

from libnl_py.attrs import Attributes

OP_SKIP: int
OP_INT: int
OP_STRING: int
OP_FLAG: int
OP_BINARY: int
OP_NEST: int
OP_ARRAY: int
OP_STRUCT: int
OP_INDEXED: int
OP_PYTHON: int
MAP_NONE: int
MAP_ENUM: int
MAP_FLAGS: int
MAP_IPV4: int
MULTI_ONE: int
MULTI_LIST: int
MULTI_NUMBERED: int
F_SIGNED: int
F_BIG: int
F_VAR: int
MAX_DEPTH: int
E_INT: int
E_STRING: int
E_FLAG: int
E_BINARY: int
E_NEST: int
FIELD_VALUE: int
FIELD_REQUIRED: int
FIELD_NAME: int

class Decoder:
    """Compiled attribute-set and struct tables, and the walker over them."""

    saw_unknown: bool
    @property
    def unknowns(self) -> int: ...
    @property
    def misses(self) -> int: ...
    @property
    def tables(self) -> int: ...
    def __init__(
        self, error: Callable[[str, int], BaseException], repeats: type[list[Any]]
    ) -> None: ...
    def new_table(self, is_struct: bool) -> int: ...
    def fill(
        self,
        index: int,
        entries: Sequence[tuple[Any, ...]],
        post: Callable[[dict[Any, Any], int], object] | None = None,
        name: str | None = None,
        size: int = 0,
        record: tuple[type[tuple[Any, ...]], Sequence[tuple[int, Any, Any]], Any] | None = None,
    ) -> None: ...
    def decode(
        self,
        index: int,
        data: bytes | bytearray | memoryview,
        start: int = 0,
        end: int | None = None,
        depth: int = 0,
    ) -> dict[Any, Any]: ...
    def decode_struct(
        self,
        index: int,
        data: bytes | bytearray | memoryview,
        start: int = 0,
        end: int | None = None,
        depth: int = 0,
    ) -> dict[str, Any]: ...
    def record(
        self, index: int, data: bytes | bytearray | memoryview, names: dict[Any, Any] | None = None
    ) -> tuple[Any, ...] | None: ...

class Encoder:
    """Attribute-set tables of the common requests, encoded in one call."""

    def new_table(self) -> int: ...
    def fill(self, index: int, entries: Sequence[tuple[Any, ...]]) -> None: ...
    def encode(self, index: int, values: dict[Any, Any]) -> bytes | None: ...

def decode_replies(
    decoder: Decoder,
    view: bytes | bytearray | memoryview,
    desc: list[int] | memoryview,
    reply_kind: int,
    lookup: Callable[[int], tuple[int, int] | None] | tuple[int, int],
    hdrsize: int,
    out: list[Any],
    pending: list[tuple[int, bytes, BaseException | None]] | None,
) -> tuple[list[int], int, int]: ...

class Message:
    """The fields of libnl_py.message.GenlMessage (its base), for messages() to fill."""

    _attrs: Attributes | None
    _attrs_at: int
    _data: bytes
    cmd: int
    family_id: int
    flags: int
    port: int
    seq: int
    version: int

def messages(
    view: Any,
    desc: list[int] | memoryview,
    kind: int,
    cls: Any,
    hdrsizes: Any,
    out: list[Any],
    passing: int,
) -> tuple[list[int], int]: ...
