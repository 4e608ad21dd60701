"""libnl_py.genl.replies: ``execute``/``dump`` with ``decode=True``.

A decoded request gives exactly what ``decode()`` gives for each message of
the same request without it: against the kernel (ethtool, netdev and nlctrl,
in a private namespace), for a dump spread over many receive batches, for
replies C leaves to Python (a command the spec lacks), with the kernel's
policy typing attributes a spec lacks, and from asyncio. A reply that does
not decode raises once the request is consumed, and the socket stays in step.
"""

from __future__ import annotations

import asyncio
import errno
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import call_in_netns, nlattr, require_root
from test_families import FAKE_ID, SpecPeer

from libnl_py.attrs import AttributeEncoder, MalformedAttributesError
from libnl_py.genl import GenlSocket
from libnl_py.genl.aio import AsyncGenlSocket
from libnl_py.spec import Codec, FamilySpec
from libnl_py.spec import registry as specs
from libnl_py.testing import FakePeer, Request

SPEC = FamilySpec.from_dict(
    {
        "name": "replies-test",
        "protocol": "genetlink",
        "definitions": [{"name": "kind", "type": "enum", "entries": ["small", "large"]}],
        "attribute-sets": [
            {
                "name": "main",
                "attributes": [
                    {"name": "name", "type": "string", "value": 1},
                    {"name": "value", "type": "u32", "value": 2},
                    {"name": "kind", "type": "u8", "enum": "kind", "value": 3},
                    {"name": "inner", "type": "nest", "nested-attributes": "inner", "value": 4},
                ],
            },
            {"name": "inner", "attributes": [{"name": "a", "type": "u16", "value": 1}]},
        ],
        "operations": {
            "list": [
                {
                    "name": "get",
                    "value": 1,
                    "attribute-set": "main",
                    "do": {"request": {"attributes": ["name"]}, "reply": {"attributes": []}},
                    "dump": {"reply": {"attributes": []}},
                }
            ]
        },
    }
)
BUILTIN = Path(specs.__file__).resolve().parent / "builtin"
UNKNOWN_CMD = 77  # a command SPEC lacks: C leaves its replies to the Python codec


def entry(i: int, *, extra: bool = False) -> bytes:
    enc = AttributeEncoder()
    enc.string(1, f"entry{i}")
    enc.u32(2, i * 1000)
    enc.u8(3, i % 2)
    with enc.nested(4):
        enc.u16(1, i)
    if extra:
        enc.u32(9, 0xABCD)  # a number the set lacks: bytes under its number
    return enc.encode()


def serve(peer: FakePeer, parts: list[list[bytes]], *, cmd: int | None = None) -> SpecPeer:
    def answer(p: FakePeer, req: Request, op: str, values: dict[str | int, Any]) -> None:
        if "name" in values and values["name"] == "bad":
            p.reply(req, nlattr(1, b"ok\0") + b"\x40\0\2\0" + b"\0" * 8)  # length 64 > the rest
            p.reply(req, entry(2))
            p.ack(req)
        elif req.message.flags & 0x300 == 0x300:
            for part in parts:
                p.send_raw(
                    req.port,
                    b"".join(
                        p.genl_message(
                            req.family_id,
                            req.cmd if cmd is None else cmd,
                            attrs,
                            seq=req.seq,
                            flags=0x2,
                        )
                        for attrs in part
                    ),
                )
            p.done(req)
        else:
            p.reply(req, entry(int(values.get("name", "entry0")[5:] or 0)))
            p.ack(req)

    return SpecPeer(peer, SPEC, answer)


@pytest.fixture
def fake() -> Any:
    with FakePeer() as peer:
        yield peer


def client_for(peer: FakePeer) -> GenlSocket:
    client = GenlSocket(peer_port=peer.port, specs=[SPEC], timeout=5)
    assert client.resolve_family("replies-test").id == FAKE_ID
    return client


def plain(client: GenlSocket, **kwargs: Any) -> list[Any]:
    return [client.decode(m) for m in client.dump("replies-test", "get", **kwargs)]


def test_a_dump_over_many_datagrams_decodes_as_decode_does(fake: FakePeer) -> None:
    parts = [[entry(i) for i in range(k * 50, k * 50 + 50)] for k in range(8)]
    serve(fake, parts)
    with client_for(fake) as client:
        got = client.dump("replies-test", "get", decode=True)
        assert got == plain(client)
        assert len(got) == 400
        assert got[3] == {"name": "entry3", "value": 3000, "kind": "large", "inner": {"a": 3}}
        assert [g["name"] for g in got] == [f"entry{i}" for i in range(400)]


def test_execute_decodes_its_reply(fake: FakePeer) -> None:
    serve(fake, [])
    with client_for(fake) as client:
        assert client.execute("replies-test", "get", {"name": "entry7"}, decode=True) == [
            {"name": "entry7", "value": 7000, "kind": "large", "inner": {"a": 7}}
        ]


def test_replies_of_a_command_the_spec_lacks_decode_by_number(fake: FakePeer) -> None:
    serve(fake, [[entry(1), entry(2)], [entry(3)]], cmd=UNKNOWN_CMD)
    with client_for(fake) as client:
        got = client.dump("replies-test", "get", decode=True)
        assert got == plain(client)
        assert got[0][1] == b"entry1\0" and got[0][2] == (1000).to_bytes(4, "little")
        assert len(got) == 3


def test_attributes_the_set_lacks_stay_bytes_under_their_number(fake: FakePeer) -> None:
    serve(fake, [[entry(1, extra=True), entry(2)]])
    with client_for(fake) as client:  # a userspace peer has no policy to type them
        got = client.dump("replies-test", "get", decode=True)
        assert got == plain(client)
        assert got[0][9] == (0xABCD).to_bytes(4, "little") and 9 not in got[1]


def test_a_reply_that_does_not_decode_raises_after_the_request(fake: FakePeer) -> None:
    serve(fake, [])
    with client_for(fake) as client:
        with pytest.raises(MalformedAttributesError, match="runs past the end"):
            client.execute("replies-test", "get", {"name": "bad"}, decode=True)
        # Consumed through its ACK: the next request gets its own reply.
        assert (
            client.execute("replies-test", "get", {"name": "entry5"}, decode=True)[0]["value"]
            == 5000
        )
        assert client.dropped == 0


def test_an_error_ack_raises_as_without_decode(fake: FakePeer) -> None:
    def answer(p: FakePeer, req: Request, op: str, values: dict[str | int, Any]) -> None:
        p.ack(req, -errno.ENODEV, message="no such entry")

    SpecPeer(fake, SPEC, answer)
    with client_for(fake) as client, pytest.raises(OSError) as info:
        client.execute("replies-test", "get", {"name": "x"}, decode=True)
    assert info.value.errno == errno.ENODEV


def test_asyncio_dump_decodes_alike(fake: FakePeer) -> None:
    serve(fake, [[entry(i) for i in range(30)], [entry(i) for i in range(30, 40)]])

    async def main() -> tuple[list[Any], list[Any]]:
        async with AsyncGenlSocket(peer_port=fake.port, specs=[SPEC], timeout=5) as asock:
            await asock.resolve_family("replies-test")
            decoded = await asock.dump("replies-test", "get", decode=True)
            messages = await asock.dump("replies-test", "get")
            return decoded, [asock.decode(m) for m in messages]

    decoded, by_decode = asyncio.run(main())
    assert decoded == by_decode and len(decoded) == 40


# -- against the kernel ------------------------------------------------------------------------


def _kernel_pairs() -> dict[str, tuple[list[Any], list[Any]]]:
    found = {}
    with GenlSocket() as sock:
        for family, op, args in (
            ("ethtool", "linkinfo-get", {"header": {}}),
            ("ethtool", "linkmodes-get", {"header": {}}),
            ("ethtool", "rings-get", {"header": {}}),
            ("netdev", "dev-get", {}),
            ("nlctrl", "getfamily", {}),
        ):
            decoded = sock.dump(family, op, args, decode=True)
            found[f"{family} {op}"] = (
                decoded,
                [sock.decode(m) for m in sock.dump(family, op, args)],
            )
        for family in sock.list_families():
            decoded = sock.execute("nlctrl", "getfamily", {"family-name": family.name}, decode=True)
            messages = sock.execute("nlctrl", "getfamily", {"family-name": family.name})
            found[f"getfamily {family.name}"] = (decoded, [sock.decode(m) for m in messages])
    return found


def test_kernel_dumps_decode_as_decode_does(netns: str) -> None:
    require_root()
    batch = "".join(f"link add rv{i}a type veth peer name rv{i}b\n" for i in range(300))
    subprocess.run(["ip", "-n", netns, "-batch", "-"], input=batch, text=True, check=True)
    pairs = call_in_netns(netns, _kernel_pairs)
    for what, (decoded, by_decode) in pairs.items():
        assert decoded == by_decode, what
    links = pairs["ethtool linkinfo-get"][0]
    names = {m["header"]["dev-name"] for m in links}
    assert names == {f"rv{i}{s}" for i in range(300) for s in "ab"}  # lo has no link info
    assert {m["port"] for m in links} == {"tp"}
    assert pairs["getfamily nlctrl"][0][0]["family-id"] == 16
    assert any(m["ifindex"] == 1 for m in pairs["netdev dev-get"][0])


def test_attributes_a_spec_lacks_are_typed_by_the_kernel_policy(netns: str) -> None:
    """ethtool with linkinfo's "phyaddr" left out: linkinfo-set's policy types it (a u8)."""
    require_root()
    subprocess.run(
        ["ip", "-n", netns, "link", "add", "pv0", "type", "veth", "peer", "name", "pv1"],
        check=True,
    )
    raw = json.loads((BUILTIN / "ethtool.json").read_text())
    linkinfo = next(a for a in raw["attribute-sets"] if a["name"] == "linkinfo")
    linkinfo["attributes"] = [a for a in linkinfo["attributes"] if a["name"] != "phyaddr"]
    trimmed = FamilySpec.from_dict(raw, "ethtool without linkinfo phyaddr")

    def run() -> tuple[list[Any], list[Any]]:
        with GenlSocket(specs=[trimmed]) as sock:
            decoded = sock.dump("ethtool", "linkinfo-get", {"header": {}}, decode=True)
        with GenlSocket(specs=[trimmed]) as sock:
            by_decode = [
                sock.decode(m) for m in sock.dump("ethtool", "linkinfo-get", {"header": {}})
            ]
        return decoded, by_decode

    decoded, by_decode = call_in_netns(netns, run)
    assert decoded == by_decode
    assert len(decoded) == 2
    for message in decoded:
        assert message[3] == 0  # ETHTOOL_A_LINKINFO_PHYADDR under its number, an int
        assert "phyaddr" not in message and message["port"] == "tp"


# -- found in review: order, errors across batches, errors of any kind ----------------------------


def test_replies_keep_their_order_when_c_leaves_some_to_python(fake: FakePeer) -> None:
    def answer(p: FakePeer, req: Request, op: str, values: dict[str | int, Any]) -> None:
        for cmd, i in ((1, 1), (UNKNOWN_CMD, 2), (1, 3)):  # one datagram each, then together
            p.send_raw(
                req.port, p.genl_message(req.family_id, cmd, entry(i), seq=req.seq, flags=0x2)
            )
        p.send_raw(
            req.port,
            b"".join(
                p.genl_message(req.family_id, cmd, entry(i), seq=req.seq, flags=0x2)
                for cmd, i in ((UNKNOWN_CMD, 4), (1, 5), (UNKNOWN_CMD, 6))
            ),
        )
        p.done(req)

    SpecPeer(fake, SPEC, answer)
    with client_for(fake) as client:
        got = client.dump("replies-test", "get", decode=True)
        assert got == plain(client)
        names = [g["name"] if "name" in g else g[1] for g in got]
        assert names == ["entry1", b"entry2\0", "entry3", b"entry4\0", "entry5", b"entry6\0"]


def test_a_failing_batch_keeps_the_errors_of_earlier_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch C cannot decode (not a reply's fault) goes to Python; what came before stays."""
    from libnl_py.genl import replies

    earlier = MalformedAttributesError("from an earlier batch", 20)
    decoding = replies.ReplyDecoder(Codec(SPEC, accelerate=True), FAKE_ID, 0)
    decoding.pending.append((0, b"earlier", earlier))
    out: list[Any] = [None, {"name": "entry1"}]

    def failing(*args: Any) -> Any:
        args[6].append({"half": "made"})  # out, part-filled when it failed
        args[7].append((2, b"", None))
        raise MemoryError("made up")

    monkeypatch.setattr(replies, "_decode_replies", failing)
    desc = [0] * 16
    assert decoding.batch(b"", desc, 0, out) == (desc, 0)  # all of it left to Python
    assert out == [None, {"name": "entry1"}]
    assert decoding.pending == [(0, b"earlier", earlier)]
    with pytest.raises(MalformedAttributesError, match="from an earlier batch"):
        decoding.finish(out, lambda: decoding.codec)


def test_any_decode_error_waits_for_the_end_of_the_request(
    fake: FakePeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error of another kind than a malformed reply (here from a broken codec)."""
    serve(fake, [[entry(1), entry(2)]], cmd=UNKNOWN_CMD)
    with client_for(fake) as client:
        codec = client.codecs.reply_codec(FAKE_ID)

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise ZeroDivisionError("broken codec")

        monkeypatch.setattr(codec, "decode_message", broken)
        with pytest.raises(ZeroDivisionError, match="broken codec"):
            client.dump("replies-test", "get", decode=True)
        monkeypatch.undo()
        assert client.dropped == 0
        assert len(client.dump("replies-test", "get", decode=True)) == 2


def test_a_request_s_reply_tables_are_looked_up_before_it_is_sent() -> None:
    """batch() runs with the socket's lock held: its tables are a dict made beforehand."""
    from libnl_py.genl import replies

    codec = Codec(SPEC, accelerate=True)
    op = next(o for o in SPEC.operations if o.is_call and o.req_value is not None)
    decoding = replies.ReplyDecoder(codec, FAKE_ID, 0, op.req_value)
    assert type(decoding.tables) is dict
    assert decoding.tables is codec.request_tables(op.req_value)
    expected = {op.req_value} | ({op.rsp_value} if op.rsp_value is not None else set())
    assert set(decoding.tables) == expected
    # Without a command (a caller of its own), the codec's lookup, as before.
    assert replies.ReplyDecoder(codec, FAKE_ID, 0).tables == codec.reply_tables
