"""libnl_py's libnl path against a C program doing the same, through the same libnl.

``tests/libnl_sequences.c`` is compiled here with gcc and ``pkg-config
libnl-genl-3.0``. Each scenario runs twice, in C and through
:class:`~libnl_py.Socket`, :class:`~libnl_py.Message` and
:class:`~libnl_py.Callbacks`, against the kernel's nlctrl and against a
userspace peer that answers like nlctrl (:class:`~libnl_py.testing.FakePeer`).
Both print the same trace: each message built (its bytes), each callback that
fired (type, message type, flags, sequence number relative to the first
request), each return code. The traces must be equal, and so must the bytes
the peer received (sequence numbers and ports aside).

Scenarios: a request with a reply and an ACK; ``nl_send_sync``; a dump; an
error reply, with and without an error callback; and the "one reply behind"
trap (a request whose ACK nobody waits for, so the next receive reads it in
place of the next reply), reproduced on purpose.
"""

from __future__ import annotations

import errno
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest
from conftest import in_ci

from libnl_py import NL_AUTO_PORT, NL_AUTO_SEQ, NL_OK, NL_SKIP, NL_STOP, Message, Socket, lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.callbacks import (
    NL_CB_ACK,
    NL_CB_FINISH,
    NL_CB_MSG_IN,
    NL_CB_MSG_OUT,
    NL_CB_VALID,
    ErrorMessage,
)
from libnl_py.errors import NetlinkError
from libnl_py.msg import Address, Header
from libnl_py.testing import FakePeer, Request

SOURCE = Path(__file__).resolve().parent / "libnl_sequences.c"
PORTING = Path(__file__).resolve().parent.parent / "docs" / "porting.md"
SCENARIOS = ["ack", "sync", "dump", "error", "behind"]
CTRL_ATTR_MAX = lib.CTRL_ATTR_OP  # the last CTRL_ATTR_*, as in <linux/genetlink.h>

# What each callback returns: the same table as on_message() in the C program.
RETURNS = {"MSG_IN": NL_OK, "MSG_OUT": NL_OK, "VALID": NL_OK, "FINISH": NL_SKIP, "ACK": NL_STOP}
TYPES = {
    "MSG_IN": NL_CB_MSG_IN,
    "MSG_OUT": NL_CB_MSG_OUT,
    "VALID": NL_CB_VALID,
    "FINISH": NL_CB_FINISH,
    "ACK": NL_CB_ACK,
}

# The peer's families, as nlctrl would describe them.
PEER_FAMILIES = {"nlctrl": 0x10, "fake0": 0x30, "fake1": 0x31}


def _fail_or_skip(message: str) -> None:
    if in_ci():
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


def compile_c(source: Path, binary: Path) -> Path:
    """``source`` built with gcc against the installed libnl (pkg-config libnl-genl-3.0)."""
    if shutil.which("gcc") is None or shutil.which("pkg-config") is None:
        _fail_or_skip("gcc and pkg-config are needed to build the C side")
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "libnl-genl-3.0"],
        capture_output=True,
        text=True,
    )
    if flags.returncode != 0:
        _fail_or_skip(f"pkg-config does not know libnl-genl-3.0: {flags.stderr.strip()}")
    build = subprocess.run(
        ["gcc", "-O1", "-Wall", "-Werror", "-o", str(binary), str(source), *flags.stdout.split()],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    return binary


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/libnl_sequences.c, compiled."""
    return compile_c(SOURCE, tmp_path_factory.mktemp("c") / "libnl_sequences")


def run_c(program: Path, scenario: str, peer_port: int) -> list[str]:
    done = subprocess.run(
        [str(program), scenario, str(peer_port)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def c_hex(value: int) -> str:
    """printf's ``%#x``: no 0x for zero."""
    return f"{value:#x}" if value else "0"


def run_python(scenario: str, peer_port: int) -> list[str]:
    """The C program's main(), line by line, through libnl_py."""
    lines: list[str] = []
    first: list[int] = []

    def header(what: str, h: Header) -> None:
        if not first and h.seq:
            first.append(h.seq)
        rel = h.seq - first[0] if first else -1
        rel = (rel + 2**31) % 2**32 - 2**31  # C's (int) of the unsigned difference
        lines.append(f"{what} type={h.type} flags={c_hex(h.flags)} seq={rel}")

    def on_message(name: str) -> object:
        def callback(msg: Message) -> int:
            header(f"cb {name}", msg.header)
            if name == "VALID":
                try:
                    tb = msg.genlmsg_parse(0, CTRL_ATTR_MAX)
                except NetlinkError as exc:
                    lines.append(f"parse {-exc.code}")
                    return NL_OK
                text = "parse 0"
                if tb[lib.CTRL_ATTR_FAMILY_NAME] is not None:
                    text += f" name={tb[lib.CTRL_ATTR_FAMILY_NAME].get_string()}"
                if tb[lib.CTRL_ATTR_FAMILY_ID] is not None:
                    text += f" id={tb[lib.CTRL_ATTR_FAMILY_ID].get_u16()}"
                lines.append(text)
            return RETURNS[name]

        return callback

    def on_error(sender: Address, err: ErrorMessage) -> int:
        header(f"err error={err.error} from={'peer' if sender.port else 'kernel'}", err.request)
        return NL_STOP

    def ret(call: str, function: Callable[..., int | None], *args: object) -> int:
        try:
            value = function(*args) or 0  # None: a method that returns nothing succeeded
        except NetlinkError as exc:
            value = -exc.code
        lines.append(f"ret {call} {value}")
        return value

    def getfamily(family: int, name: str | None, flags: int) -> Message:
        msg = Message()
        msg.genlmsg_put(NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, lib.CTRL_CMD_GETFAMILY, 1)
        if name is not None:
            msg.put_string(lib.CTRL_ATTR_FAMILY_NAME, name)
        lines.append(f"built {bytes(msg).hex()}")
        return msg

    def send_auto(sk: Socket, msg: Message) -> None:
        ret("send_auto", sk.send_auto, msg)
        header("sent", msg.header)

    with Socket() as sk:
        ret("genl_connect", sk.genl_connect)
        sk.set_peer_port(peer_port)
        for name, cb_type in TYPES.items():
            sk.modify_cb(cb_type, on_message(name))  # type: ignore[arg-type]
        sk.modify_err_cb(on_error)

        family = ret("genl_ctrl_resolve", sk.genl_ctrl_resolve, "nlctrl")
        assert family > 0

        if scenario == "ack":
            with getfamily(family, "nlctrl", 0) as msg:
                send_auto(sk, msg)
                ret("recvmsgs_default", sk.recvmsgs_default)
                ret("wait_for_ack", sk.wait_for_ack)
        elif scenario == "sync":
            msg = getfamily(family, "nlctrl", 0)
            ret("send_sync", sk.send_sync, msg)
            assert msg.freed
            ret("wait_for_ack", sk.wait_for_ack)
        elif scenario == "dump":
            with getfamily(family, None, lib.NLM_F_DUMP) as msg:
                send_auto(sk, msg)
                ret("recvmsgs_default", sk.recvmsgs_default)
        elif scenario == "error":
            with getfamily(family, "nosuch-family", 0) as msg:
                send_auto(sk, msg)
                ret("recvmsgs_default", sk.recvmsgs_default)
            sk.modify_err_cb(None)
            with getfamily(family, "nosuch-family", 0) as msg:
                send_auto(sk, msg)
                ret("recvmsgs_default", sk.recvmsgs_default)
        elif scenario == "behind":
            with getfamily(family, "nlctrl", 0) as msg:
                send_auto(sk, msg)
                ret("recvmsgs_default", sk.recvmsgs_default)
                with getfamily(family, "nlctrl", 0) as second:
                    send_auto(sk, second)
                    ret("recvmsgs_default", sk.recvmsgs_default)
                    ret("recvmsgs_default", sk.recvmsgs_default)
                    ret("wait_for_ack", sk.wait_for_ack)
        else:
            raise AssertionError(scenario)
    return lines


# -- a userspace peer that answers like nlctrl --------------------------------------------


def _family_attrs(name: str, family_id: int) -> AttributeEncoder:
    enc = AttributeEncoder()
    enc.u16(lib.CTRL_ATTR_FAMILY_ID, family_id)
    enc.string(lib.CTRL_ATTR_FAMILY_NAME, name)
    enc.u32(lib.CTRL_ATTR_VERSION, 2)
    enc.u32(lib.CTRL_ATTR_HDRSIZE, 0)
    enc.u32(lib.CTRL_ATTR_MAXATTR, 0)
    return enc


class RecordingPeer(FakePeer):
    """A FakePeer that keeps every request it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[bytes] = []


def nlctrl_like(peer: FakePeer, req: Request) -> None:
    assert isinstance(peer, RecordingPeer)
    peer.received.append(req.raw)
    if req.message.flags & lib.NLM_F_DUMP == lib.NLM_F_DUMP:
        items = [_family_attrs(n, i) for n, i in PEER_FAMILIES.items()]
        peer.dump(req, [items[:2], items[2:]])  # two datagrams, then NLMSG_DONE
        return
    name = req.message.attrs.string(lib.CTRL_ATTR_FAMILY_NAME)
    if name not in PEER_FAMILIES:
        peer.ack(req, -errno.ENOENT)
        return
    peer.reply(req, _family_attrs(name, PEER_FAMILIES[name]), cmd=lib.CTRL_CMD_NEWFAMILY)
    peer.ack(req)


@pytest.fixture
def peer() -> Iterator[RecordingPeer]:
    with RecordingPeer() as p:
        p.serve(nlctrl_like)
        yield p
        assert p.errors == []


def _normalised(raw: bytes) -> bytes:
    """A request with its sequence number and port zeroed."""
    return raw[:8] + bytes(8) + raw[16:]


def _received(peer: RecordingPeer, count: int) -> list[bytes]:
    got = peer.received
    assert len(got) == count, got
    taken = [_normalised(r) for r in got]
    got.clear()
    return taken


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_against_the_kernel(program: Path, scenario: str) -> None:
    c = run_c(program, scenario, 0)
    py = run_python(scenario, 0)
    assert py == c
    assert any(line.startswith("cb VALID") or line.startswith("err") for line in c)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_against_a_peer(program: Path, peer: RecordingPeer, scenario: str) -> None:
    c = run_c(program, scenario, peer.port)
    sent_by_c = peer.received[:]
    peer.received.clear()
    py = run_python(scenario, peer.port)
    assert py == c
    requests = sum(line.startswith("ret send") for line in c) + 1  # and genl_ctrl_resolve's
    assert _received(peer, requests) == [_normalised(r) for r in sent_by_c]


def test_the_traces_show_what_they_claim(peer: RecordingPeer) -> None:
    """The expected behaviour itself, so that two equal but wrong traces cannot pass."""
    behind = run_python("behind", peer.port)
    calls = [i for i, line in enumerate(behind) if line.startswith("ret recvmsgs_default")]
    # First receive: the first reply. Second: only the first request's ACK
    # (seq 1; seq 0 is genl_ctrl_resolve's request), no reply. Third: the
    # second reply (seq 2).
    first, second, third = (behind[a:b] for a, b in zip([0, *calls], calls))
    assert any(line.startswith("cb VALID") and line.endswith("seq=1") for line in first)
    second_cbs = [line for line in second if line.startswith("cb ") and "MSG_OUT" not in line]
    assert [line.split()[1] for line in second_cbs] == ["MSG_IN", "ACK"]
    assert second_cbs[-1].endswith("seq=1")
    assert any(line.startswith("cb VALID") and line.endswith("seq=2") for line in third)

    error = run_python("error", peer.port)
    assert [line for line in error if line.startswith("ret recvmsgs_default")] == [
        f"ret recvmsgs_default {-lib.NLE_OBJ_NOTFOUND}"
    ] * 2
    assert sum(line.startswith("err error=-2 from=peer") for line in error) == 1

    dump = run_python("dump", peer.port)
    assert [line.split()[1] for line in dump if line.startswith("cb VALID")] == ["VALID"] * 3
    assert sum(line.startswith("cb FINISH") for line in dump) == 1

    sync = run_python("sync", peer.port)
    assert "ret send_sync 0" in sync
    # nl_send_sync returned after the reply: the ACK came to wait_for_ack.
    after = sync[sync.index("ret send_sync 0") :]
    assert any(line.startswith("cb MSG_IN type=2") for line in after)


def test_built_bytes_are_libnls(program: Path) -> None:
    """bytes(msg) before sending: what libnl wrote, and what the kernel docs say it is."""
    lines = run_python("ack", 0)
    built = bytes.fromhex(next(line for line in lines if line.startswith("built "))[6:])
    length, msg_type, flags, seq, port = struct.unpack_from("=IHHII", built)
    assert (length, msg_type, flags, seq, port) == (len(built), lib.GENL_ID_CTRL, 0, 0, 0)
    assert built[16:20] == bytes([lib.CTRL_CMD_GETFAMILY, 1, 0, 0])
    assert built[20:] == struct.pack("=HH", 11, lib.CTRL_ATTR_FAMILY_NAME) + b"nlctrl\0\0"


def test_readme_c_program_prints_what_its_port_prints(tmp_path: Path) -> None:
    """docs/porting.md ("Porting a libnl C program"): the C program prints the output shown
    for its Python port (tests/test_readme.py runs the port and compares it too)."""
    if not PORTING.exists():
        pytest.skip("docs/porting.md is not beside the tests")
    section = PORTING.read_text()
    c_source = re.search(r"```c\n(.*?)```", section, re.S)
    output = re.search(r"```python\n.*?```\n```\n(.*?)```", section, re.S)
    assert c_source is not None and output is not None
    source = tmp_path / "port.c"
    source.write_text(c_source.group(1))
    binary = compile_c(source, tmp_path / "port")
    done = subprocess.run([str(binary)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout == output.group(1)
