#!/usr/bin/env python3
"""Stress libnl-py's C paths for a leak checker: requests, dumps, errors, timeouts, sockets, fuzz.

Run it under valgrind to find leaks in code we own (the cffi module
``libnl_py/_libnl*.so``, the codec's accelerator ``libnl_py/_codec*.so``, and libnl)::

    PYTHONMALLOC=malloc valgrind --tool=memcheck --leak-check=full \\
        --errors-for-leak-kinds=definite --num-callers=40 --log-file=vg.log \\
        python tools/leakcheck.py --rounds 200
    python tools/leakcheck.py --report vg.log

``--report`` reads the valgrind log and lists every *definitely lost* block
allocated by ``_libnl``, ``_codec`` or ``libnl-3``/``libnl-genl-3`` (their frames above
the first Python frame of the stack); it exits 1 if there is one. (Python
itself leaves definitely lost blocks at exit that are not ours: they are
counted apart.) Without valgrind, the script prints RSS and open fds before
and after, which must stay flat.

Needs root for nothing; it talks to the kernel's nlctrl family and to a
FakePeer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import resource
import sys
import time

OURS = re.compile(
    r"_libnl[.\w-]*\.so|_codec[.\w-]*\.so|libnl-3\.so|libnl-genl-3\.so|lnp_|\bnl_\w+|genl_\w+"
)
EVAL = re.compile(r"_PyEval_EvalFrame")
FAMILY = 0x1234
CMD = 7


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (resource.getpagesize() // 1024)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def stress(rounds: int, fuzz: int) -> None:
    from libnl_py import errors, lib
    from libnl_py.attrs import AttributeEncoder
    from libnl_py.genl import GenlSocket
    from libnl_py.genl.aio import AsyncGenlSocket
    from libnl_py.testing import FakePeer, Request, hostile_datagram, silent

    nlctrl = {"family-name": "nlctrl"}
    with GenlSocket(timeout=5) as sock:
        for _ in range(rounds):
            sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, nlctrl)  # request + ACK
            sock.list_families()  # dump over several datagrams
            sock.get_policy("nlctrl")
            with contextlib.suppress(errors.NotFoundError):
                sock.resolve_family("no-such-family")  # error ACK with extended ACK
            with contextlib.suppress(errors.InvalidError):
                sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, {99: b"x"})
            sock.dump(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, decode=True)  # C decoder
            sock.execute("nlctrl", "getfamily", nlctrl, decode=True)
        sock.join_group("nlctrl", "notify")
        sock.poll_notifications()

    # The C decoder on random bytes (errors, unknown attributes, nests) for every built-in.
    from libnl_py.attrs import MalformedAttributesError
    from libnl_py.spec import registry

    drng = random.Random(2)
    for name, source in registry.sources().items():
        spec = registry.get(name) if source == "built-in" else None  # no YAML under valgrind
        if spec is None:
            continue
        codec = registry.codec_for(spec)
        for set_name in spec.attribute_sets:
            for _ in range(max(1, fuzz // 100)):
                data = bytes(drng.randrange(256) for _ in range(drng.randrange(64)))
                with contextlib.suppress(MalformedAttributesError):
                    codec.decode(set_name, data)

    # nlctrl's replies as the codec's Family records make them, and mutated: records C
    # declines (malformed, a required attribute absent, names not looked up) and makes.
    from libnl_py.genl.family import family_from_bytes

    with GenlSocket(timeout=5) as sock:
        replies = [m.data for m in sock.dump(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY)]
    frng = random.Random(3)
    for _ in range(fuzz):
        data = bytearray(frng.choice(replies))
        for _ in range(frng.randrange(1, 4)):
            data[frng.randrange(20, len(data))] = frng.randrange(256)
        if frng.random() < 0.3:
            del data[frng.randrange(len(data)) :]
        with contextlib.suppress(errors.NetlinkError):
            family_from_bytes(bytes(data), None if frng.random() < 0.5 else {1: "x"})

    for _ in range(rounds):  # open/close cycles, closed and freed
        s = GenlSocket()
        s.close()
        s.free()
        with GenlSocket() as s:
            s.resolve_family("nlctrl")

    # A peer: replies, dumps, error ACKs, timeouts, a peer dying mid-dump.
    with FakePeer() as peer, GenlSocket(peer_port=peer.port, timeout=5) as client:

        def handler(p: FakePeer, req: Request) -> None:
            enc = AttributeEncoder()
            enc.string(1, "x" * 100)
            if req.message.flags & lib.NLM_F_DUMP == lib.NLM_F_DUMP:
                p.dump(req, [[enc, enc], [enc]], error=0)
            elif req.cmd == 2:
                p.ack(req, -22, message="bad", offset=20, missing_type=3)
            else:
                p.reply(req, enc)
                p.ack(req)

        peer.serve(handler)
        for _ in range(rounds):
            client.execute(FAMILY, CMD)
            client.dump(FAMILY, CMD)
            client.dump(FAMILY, CMD, decode=True)  # by number: C leaves nothing, all unknown
            with contextlib.suppress(errors.InvalidError):
                client.execute(FAMILY, 2)
    with FakePeer() as peer, GenlSocket(peer_port=peer.port) as client:
        peer.serve(silent)
        for _ in range(max(1, rounds // 10)):
            with contextlib.suppress(errors.NetlinkTimeoutError):
                client.execute(FAMILY, CMD, timeout=0.001)
    for _ in range(max(1, rounds // 10)):
        with FakePeer() as peer, GenlSocket(peer_port=peer.port, timeout=0.05) as client:
            peer.serve(lambda p, req: p.die_mid_dump(req, [[b"\0" * 8]]))
            with contextlib.suppress(errors.NetlinkTimeoutError):
                client.dump(FAMILY, CMD)

    # The fuzz corpus: hostile datagrams while a request is in flight.
    rng = random.Random(1)
    with FakePeer() as peer, GenlSocket(peer_port=peer.port, timeout=5) as client:
        batch = 100

        def hostile(p: FakePeer, req: Request) -> None:
            p.send_many(
                req.port,
                (
                    hostile_datagram(rng, port=p.port, seq=req.seq, family_id=FAMILY, cmd=CMD)[1]
                    for _ in range(batch)
                ),
            )
            p.ack(req)
            p.notify(req.port, FAMILY + 1, CMD)

        peer.serve(hostile)
        for _ in range(max(1, fuzz // batch)):
            try:
                for msg in client.execute(FAMILY, CMD):
                    list(msg.attrs)
            except errors.NetlinkError:
                pass
            while True:
                try:
                    note = client.next_notification(5)
                except errors.NetlinkError:
                    break
                if note.family_id == FAMILY + 1:
                    break
                with contextlib.suppress(errors.NetlinkError):
                    list(note.attrs)

    async def aio() -> None:
        for _ in range(max(1, rounds // 10)):
            async with AsyncGenlSocket(timeout=5) as asock:
                await asock.resolve_family("nlctrl")
                await asock.list_families()
                with contextlib.suppress(errors.NotFoundError):
                    await asock.resolve_family("no-such-family")

    asyncio.run(aio())

    # libnl's own message path: messages, callback sets, Python callbacks
    # (one raising now and then), nl_send_auto, nl_wait_for_ack.
    from libnl_py import NL_OK, Callbacks, Message, Socket
    from libnl_py.callbacks import NL_CB_VALID

    def valid(msg: Message) -> int:
        msg.genlmsg_parse(0, 2)
        return NL_OK

    def raising(msg: Message) -> int:
        raise KeyError("leakcheck")

    with Socket() as sk, Callbacks() as cb:
        sk.genl_connect()
        cb.set(NL_CB_VALID, valid)
        cb.err(lambda sender, err: -lib.NLE_OBJ_NOTFOUND)
        for i in range(rounds):
            for name in ("nlctrl", "no-such-family"):
                with Message() as msg:
                    msg.genlmsg_put(0, 0, lib.GENL_ID_CTRL, 0, 0, lib.CTRL_CMD_GETFAMILY, 1)
                    msg.put_string(lib.CTRL_ATTR_FAMILY_NAME, name)
                    nest = msg.nest_start(9)
                    msg.put_u32(1, i)
                    msg.nest_cancel(nest)
                    sk.send_auto(msg)
                with contextlib.suppress(errors.NotFoundError):
                    sk.recvmsgs(cb)
                    sk.wait_for_ack()
            with cb.clone() as other:
                other.set(NL_CB_VALID, raising)
                with Message() as msg:
                    msg.genlmsg_put(0, 0, lib.GENL_ID_CTRL, 0, 0, lib.CTRL_CMD_GETFAMILY, 1)
                    msg.put_string(lib.CTRL_ATTR_FAMILY_NAME, "nlctrl")
                    sk.send_auto(msg)
                with contextlib.suppress(KeyError):
                    sk.recvmsgs(other)  # the reply, whose callback raises
                sk.wait_for_ack()  # then its ACK
            Message().free()
            Callbacks().free()


def _allocating_frames(record: str) -> str:
    """The frames of a record's stack above the first Python frame.

    What Python code allocates is Python's, even when our C called that code
    (a Python reader the codec's decoder calls imports a module, say): only a
    block allocated before the stack reaches Python again is ours.
    """
    python = EVAL.search(record)
    return record if python is None else record[: python.start()]


def report(log: str) -> int:
    """Definitely lost records in a valgrind log, ours apart from Python's; exit status."""
    with open(log) as f:
        text = f.read()
    records = re.split(r"\n(?===\d+== \n)", text)
    ours, others = [], 0
    for rec in records:
        if "definitely lost in loss record" not in rec:
            continue
        if OURS.search(_allocating_frames(rec)):
            ours.append(rec)
        else:
            others += 1
    summary = re.findall(r"(definitely lost|indirectly lost|possibly lost): ([\d,]+) bytes", text)
    errors = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
    print(f"valgrind leak summary: {dict(summary)}; error summary: {errors[-1:]}")
    print(f"definitely lost records through libnl / _libnl: {len(ours)}; elsewhere: {others}")
    for rec in ours:
        print(rec)
    return 1 if ours else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument(
        "--fuzz", type=int, default=None, help="hostile datagrams (default: 10*rounds)"
    )
    parser.add_argument("--report", metavar="VALGRIND_LOG")
    args = parser.parse_args()
    if args.report:
        return report(args.report)
    fuzz = 10 * args.rounds if args.fuzz is None else args.fuzz
    before = (rss_kib(), open_fds())
    started = time.monotonic()
    stress(args.rounds, fuzz)
    after = (rss_kib(), open_fds())
    print(
        f"leakcheck: {args.rounds} rounds, {fuzz} hostile datagrams in "
        f"{time.monotonic() - started:.1f} s; RSS {before[0]} -> {after[0]} KiB, "
        f"fds {before[1]} -> {after[1]}"
    )
    return 0 if after[1] <= before[1] else 1


if __name__ == "__main__":
    sys.exit(main())
