"""Fuzzing the generic netlink client with a hostile peer.

A :class:`~libnl_py.testing.FakePeer` answers each request of a real
:class:`GenlSocket` with a batch of datagrams from
:func:`~libnl_py.testing.hostile_datagram` (bad ``nlmsg_len``, truncated
headers, attributes past the end, deep nesting, zero-length and huge
attributes, multipart without DONE, broken ACKs, random bytes, ...), then
with the proper end of the request. The client has a request in flight
(``execute`` or ``dump``) or waits for notifications while they arrive.

Every request ends in a :class:`~libnl_py.errors.NetlinkError` subclass or in
replies; every delivered message is decoded attribute by attribute, nested
ones too, and every decode either works or raises a ``NetlinkError``
subclass. Every well-formed notification of the batch must arrive, in order
(no lost message); nothing else may raise; no request may time out.

The bulk runs in subprocesses (this file run as a script), so a crash of
the interpreter shows as a signal and fails the test with its seed.

Scale: ``LIBNL_PY_FUZZ_DATAGRAMS`` (default 100000, split over two
processes); ``LIBNL_PY_FUZZ_SEED`` fixes the seed (default: a fixed one, so
CI is reproducible). A long run::

    LIBNL_PY_FUZZ_DATAGRAMS=5000000 LIBNL_PY_FUZZ_SEED=$RANDOM python -m pytest tests/test_fuzz.py

One worker by hand (prints its figures as JSON)::

    python tests/test_fuzz.py SEED DATAGRAMS
"""

from __future__ import annotations

import collections
import contextlib
import errno
import json
import os
import random
import struct
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import pytest
from conftest import marker

from libnl_py import errors, lib
from libnl_py.attrs import AttributeEncoder
from libnl_py.genl import GenlSocket
from libnl_py.genl.socket import OverrunError
from libnl_py.message import MalformedMessageError
from libnl_py.testing import FakePeer, Request, hostile_datagram, silent

FAMILY = 0x1234
CMD = 7
SENTINEL_FAMILY = 0x1235  # end of one batch, as a notification
MARKER_HDR = struct.pack("=HH", 12, 1)  # u64 attribute 1 of a valid_notification
BATCH = 200  # hostile datagrams per request cycle

DEFAULT_DATAGRAMS = 100_000
DEFAULT_SEED = 20240611
WORKERS = 2


def walk(attrs: Any) -> int:
    """Decode every attribute, nested ones too, without recursion; returns how many.

    Raises whatever the decoder raises for a malformed nest.
    """
    count = 0
    stack = [attrs]
    while stack:
        for attr in stack.pop():
            count += 1
            payload = attr.payload
            assert len(payload) == len(attr)
            attr.string()
            for reader in (attr.u8, attr.u16, attr.u32, attr.u64, attr.uint, attr.sint):
                try:
                    reader()
                except ValueError as exc:  # MalformedAttributesError: too short
                    assert type(exc).__name__ == "MalformedAttributesError", exc
            if attr.flags & 0x8000 or (len(attr) >= 4 and struct.unpack_from("=H", payload)[0]):
                try:
                    stack.append(attr.nested())
                except ValueError as exc:
                    assert type(exc).__name__ == "MalformedAttributesError", exc
    return count


def worker(seed: int, datagrams: int) -> dict[str, Any]:
    """Run one fuzz session; returns its figures (``unexpected`` lists real failures)."""
    from libnl_py import errors, lib
    from libnl_py.genl import GenlSocket
    from libnl_py.testing import FakePeer, hostile_datagram

    rng = random.Random(seed)
    sent_kinds: collections.Counter[str] = collections.Counter()
    outcomes: collections.Counter[str] = collections.Counter()
    decode_errors: collections.Counter[str] = collections.Counter()
    unexpected: list[str] = []
    expected_markers: list[int] = []
    received_markers: list[int] = []
    stats = {"datagrams": 0, "messages": 0, "attributes": 0, "cycles": 0}
    modes = ("execute", "dump", "poll")

    def handler(peer: FakePeer, req: Request) -> None:
        cycle = req.message.attrs.u32(1)
        mode = modes[req.message.attrs.u32(2)]
        if mode == "poll":  # the request ends first: the batch arrives while the client polls
            peer.ack(req)
        batch = []
        for _ in range(BATCH):
            # While the client polls, everything is a notification (seq 0), so
            # that malformed attributes reach the decoder.
            seq = 0 if mode == "poll" else req.seq
            kind, data = hostile_datagram(rng, port=peer.port, seq=seq, family_id=FAMILY, cmd=CMD)
            sent_kinds[kind] += 1
            if kind == "valid_notification":
                expected_markers.append(struct.unpack_from("=Q", data, 24)[0])
            batch.append(data)
        peer.send_many(req.port, batch)
        stats["datagrams"] += len(batch)
        if mode == "dump":
            peer.done(req)
        elif mode == "execute":
            peer.ack(req)
        sentinel = struct.pack("=HHI", 8, 1, cycle)
        peer.notify(req.port, SENTINEL_FAMILY, CMD, sentinel)

    def decode(client: GenlSocket, msg: Any) -> None:
        stats["messages"] += 1
        try:
            stats["attributes"] += walk(msg.attrs)
            if msg.family_id == lib.GENL_ID_CTRL:
                client.decode(msg)
        except errors.NetlinkError as exc:
            decode_errors[type(exc).__name__] += 1

    def note(exc: BaseException, where: str) -> None:
        if isinstance(exc, errors.NetlinkError) and not isinstance(exc, errors.NetlinkTimeoutError):
            outcomes[type(exc).__name__] += 1
        else:
            unexpected.append(
                f"{where}: {''.join(traceback.format_exception_only(type(exc), exc))}"
            )

    with (
        FakePeer(rcvbuf=4 << 20) as peer,
        GenlSocket(peer_port=peer.port, timeout=10, rcvbuf=4 << 20) as client,
    ):
        peer.serve(handler)
        cycle = 0
        while stats["datagrams"] < datagrams and not peer.errors and len(unexpected) < 20:
            cycle += 1
            mode = cycle % 3
            request = struct.pack("=HHIHHI", 8, 1, cycle, 8, 2, mode)
            try:
                if modes[mode] == "dump":
                    replies = client.dump(FAMILY, CMD, request)
                else:
                    replies = client.execute(FAMILY, CMD, request)
                outcomes["replies"] += 1
                for msg in replies:
                    decode(client, msg)
            except Exception as exc:
                note(exc, f"cycle {cycle} {modes[mode]}")
            # Read notifications up to this cycle's sentinel.
            while True:
                try:
                    msg = client.next_notification(timeout=10)
                except Exception as exc:
                    note(exc, f"cycle {cycle} notifications")
                    break
                if msg.family_id == SENTINEL_FAMILY:
                    if msg.attrs.u32(1) == cycle:
                        break
                    continue
                decode(client, msg)
                data = msg.data
                if msg.family_id == FAMILY and len(data) >= 32 and data[20:24] == MARKER_HDR:
                    received_markers.append(struct.unpack_from("=Q", data, 24)[0])
        stats["cycles"] = cycle
        peer_errors = [repr(e) for e in peer.errors]
        peer.close()
        # The same socket still talks to the kernel.
        client.set_peer_port(0)
        (reply,) = client.execute(
            lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, {"family-name": "nlctrl"}
        )
        kernel_ok = reply.attrs.string(lib.CTRL_ATTR_FAMILY_NAME) == "nlctrl"
        dropped = client.dropped
        overruns = client.overruns

    # Markers of valid notifications that happen to be all-garbage-free must all arrive;
    # random notifications in "many_messages" datagrams are not counted here.
    received = set(received_markers)
    expected = set(expected_markers)
    lost = [m for m in expected_markers if m not in received]
    return {
        "seed": seed,
        **stats,
        "sent_kinds": dict(sent_kinds),
        "outcomes": dict(outcomes),
        "decode_errors": dict(decode_errors),
        "dropped": dropped,
        "overruns": overruns,
        "expected_notifications": len(expected_markers),
        "lost_notifications": len(lost),
        "in_order": [m for m in received_markers if m in expected] == expected_markers,
        "kernel_ok": kernel_ok,
        "peer_errors": peer_errors,
        "unexpected": unexpected,
    }


# -- the pytest side --------------------------------------------------------------------------


def _run_workers(seed: int, total: int) -> list[dict[str, Any]]:
    per = -(-total // WORKERS)
    env = dict(os.environ)
    procs = [
        (
            seed + i,
            subprocess.Popen(
                [sys.executable, __file__, str(seed + i), str(per)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            ),
        )
        for i in range(WORKERS)
    ]
    results = []
    for worker_seed, proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, (
            f"fuzz worker with seed {worker_seed} died with "
            f"{'signal ' + str(-proc.returncode) if proc.returncode < 0 else proc.returncode}"
            f"; reproduce: python {__file__} {worker_seed} {per}\n{err[-4000:]}"
        )
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_fuzz_hostile_peer() -> None:
    total = int(os.environ.get("LIBNL_PY_FUZZ_DATAGRAMS", DEFAULT_DATAGRAMS))
    seed = int(os.environ.get("LIBNL_PY_FUZZ_SEED", DEFAULT_SEED))
    started = time.monotonic()
    results = _run_workers(seed, total)
    elapsed = time.monotonic() - started
    sent = sum(r["datagrams"] for r in results)
    outcomes: collections.Counter[str] = collections.Counter()
    decode_errors: collections.Counter[str] = collections.Counter()
    for r in results:
        outcomes.update(r["outcomes"])
        decode_errors.update(r["decode_errors"])
    summary = (
        f"fuzz: {sent} datagrams in {elapsed:.1f} s, seeds {[r['seed'] for r in results]}, "
        f"{sum(r['messages'] for r in results)} messages and "
        f"{sum(r['attributes'] for r in results)} attributes decoded, "
        f"request outcomes {dict(outcomes)}, decode errors {dict(decode_errors)}, "
        f"dropped {sum(r['dropped'] for r in results)}"
    )
    print(summary)
    for r in results:
        where = f"seed {r['seed']}: reproduce with python {__file__} {r['seed']} {r['datagrams']}"
        assert r["unexpected"] == [], where
        assert r["peer_errors"] == [], where
        assert r["kernel_ok"], where
        assert r["lost_notifications"] == 0, (where, r["lost_notifications"])
        assert r["in_order"], where
        assert r["expected_notifications"] > 0
    assert sent >= total


# -- regressions: bugs the fuzzer found (fixed in be3d59e) ----------------------------------


def answer(text: str) -> Callable[[FakePeer, Request], None]:
    def handler(p: FakePeer, req: Request) -> None:
        p.reply(req, marker(text))
        p.ack(req)

    return handler


def test_error_ack_int_min(peer: FakePeer, client: GenlSocket) -> None:
    peer.serve(lambda p, req: p.ack(req, -(1 << 31)))
    with pytest.raises(errors.NetlinkError):
        client.execute(FAMILY, CMD)


def test_messages_before_an_oversized_datagram_arrive(peer: FakePeer, client: GenlSocket) -> None:
    for i in range(10):
        enc = marker(f"{i}")
        enc.put(2, b"x" * 3000)
        peer.notify(client.port, FAMILY, CMD, enc)
    _, big = hostile_datagram(
        random.Random(1),
        port=peer.port,
        seq=0,
        family_id=FAMILY,
        cmd=CMD,
        kind="oversized_datagram",
    )
    peer.send_raw(client.port, big)
    peer.notify(client.port, FAMILY, CMD, marker("after"))
    got: list[str] = []
    for _ in range(3):
        # The oversized datagram itself may be reported and dropped.
        with contextlib.suppress(errors.MessageTruncatedError):
            got += [m.attrs.string(1) for m in client.poll_notifications()]
    assert [g for g in got if g] == [*map(str, range(10)), "after"]


# -- FakePeer misbehaviour, one by one --------------------------------------------------------


def test_truncated_reply_fails_the_request(peer: FakePeer, client: GenlSocket) -> None:
    peer.serve(lambda p, req: p.truncated(req, 18, marker("cut")))
    with pytest.raises(MalformedMessageError):
        client.execute(FAMILY, CMD)
    peer.close()
    assert client.dropped == 1


@pytest.mark.parametrize("length", [0, 4, 15, 200, 0xFFFFFFFF])
def test_bad_length_fails_the_request(peer: FakePeer, client: GenlSocket, length: int) -> None:
    peer.serve(lambda p, req: p.bad_length(req, length, marker("bad")))
    with pytest.raises(MalformedMessageError):
        client.execute(FAMILY, CMD)


def test_wrong_seq_reply_and_ack_are_dropped_never_returned(
    peer: FakePeer, client: GenlSocket
) -> None:
    def handler(p: FakePeer, req: Request) -> None:
        p.reply(req, marker("stale"), seq=req.seq - 1)
        p.ack(req, -errno.EPERM, seq=req.seq + 1)
        p.reply(req, marker("future"), seq=req.seq + 1000)
        p.reply(req, marker("real"))
        p.ack(req)

    peer.serve(handler)
    replies = client.execute(FAMILY, CMD)
    assert [m.attrs.string(1) for m in replies] == ["real"]
    assert client.dropped == 3
    assert client.poll_notifications() == []


@pytest.mark.parametrize("what", ["reply", "ack", "error", "done"])
def test_spoofed_terminal_messages_are_dropped(
    peer: FakePeer, client: GenlSocket, what: str
) -> None:
    """Right seq, right nlmsg_pid, wrong sender port: dropped and counted, never acted on."""
    dump = what == "done"

    def handler(p: FakePeer, req: Request) -> None:
        if what == "reply":
            spoofed = p.genl_message(req.family_id, req.cmd, marker("spoofed"), seq=req.seq)
        elif what == "done":
            spoofed = p.message(lib.NLMSG_DONE, lib.NLM_F_MULTI, req.seq, p.port, bytes(4))
        else:
            error = 0 if what == "ack" else -errno.EACCES
            body = struct.pack("=i", error) + req.raw[:16]
            spoofed = p.message(lib.NLMSG_ERROR, lib.NLM_F_CAPPED, req.seq, p.port, body)
        p.spoof(req.port, spoofed)
        p.spoof(req.port, spoofed)
        if dump:
            p.dump(req, [[marker("real")]])
        else:
            p.reply(req, marker("real"))
            p.ack(req)

    peer.serve(handler)
    replies = (client.dump if dump else client.execute)(FAMILY, CMD)
    assert [(m.attrs.string(1), m.port) for m in replies] == [("real", peer.port)]
    assert client.dropped == 2
    assert client.poll_notifications() == []


def test_spoofed_notifications_are_dropped(peer: FakePeer, client: GenlSocket) -> None:
    """seq 0 unicast from a port other than the peer: not a notification of ours."""
    for _ in range(3):
        peer.spoof(client.port, peer.genl_message(FAMILY, CMD, marker("spoofed")))
    peer.notify(client.port, FAMILY, CMD, marker("real"))
    assert [m.attrs.string(1) for m in client.poll_notifications()] == ["real"]
    assert client.dropped == 3
    assert peer.spoof_port not in (0, peer.port, client.port)


def test_multicast_looking_message_from_a_userspace_port(
    root: None, peer: FakePeer, client: GenlSocket
) -> None:
    """A userspace multicast to a group the client joined is a notification, never a reply."""
    group = 31
    client.join_group(lib.GENL_ID_CTRL, group)

    def handler(p: FakePeer, req: Request) -> None:
        # A reply and an error ACK for the request in flight, sent to the group.
        p.multicast(group, p.genl_message(req.family_id, req.cmd, marker("mcast"), seq=req.seq))
        body = struct.pack("=i", -errno.EPERM) + req.raw[:16]
        p.multicast(group, p.message(lib.NLMSG_ERROR, lib.NLM_F_CAPPED, req.seq, p.port, body))
        p.reply(req, marker("real"))
        p.ack(req)

    peer.serve(handler)
    replies = client.execute(FAMILY, CMD)
    assert [m.attrs.string(1) for m in replies] == ["real"]
    notes = client.poll_notifications()
    assert [m.family_id for m in notes].count(FAMILY) == 1
    assert notes[0].attrs.string(1) == "mcast"


def test_silent_peer_times_out_then_works(peer: FakePeer, client: GenlSocket) -> None:
    peer.serve(silent)
    started = time.monotonic()
    with pytest.raises(errors.NetlinkTimeoutError):
        client.execute(FAMILY, CMD, timeout=0.2)
    with pytest.raises(errors.NetlinkTimeoutError):
        client.dump(FAMILY, CMD, timeout=0.2)
    assert time.monotonic() - started < 2
    peer.close()
    client.set_peer_port(0)
    assert client.resolve_family("nlctrl").id == lib.GENL_ID_CTRL


def test_peer_dies_mid_dump_gives_a_timeout(peer: FakePeer, client: GenlSocket) -> None:
    peer.serve(lambda p, req: p.die_mid_dump(req, [[marker("a"), marker("b")], [marker("c")]]))
    started = time.monotonic()
    with pytest.raises(errors.NetlinkTimeoutError):
        client.dump(FAMILY, CMD, timeout=0.5)
    assert time.monotonic() - started < 3
    assert peer.sock.freed
    # Nothing of the dead dump leaks into the next request.
    with FakePeer() as second:
        client.set_peer_port(second.port)
        second.serve(answer("next"))
        assert [m.attrs.string(1) for m in client.execute(FAMILY, CMD)] == ["next"]


def test_unicast_flood_fills_but_never_overruns(peer: FakePeer) -> None:
    with GenlSocket(peer_port=peer.port, rcvbuf=4096, timeout=2) as sock:
        sent = peer.flood_unicast(sock.port, FAMILY, CMD, limit=1000)
        assert 0 < sent < 1000
        got = sock.poll_notifications()
        assert [m.attrs.u32(1) for m in got] == list(range(sent))
        assert sock.overruns == 0
        peer.notify(sock.port, FAMILY, CMD, marker("after"))  # the peer blocks again
        assert sock.next_notification(timeout=2).attrs.string(1) == "after"


# -- load: floods during concurrent requests ---------------------------------------------------


def test_flood_during_concurrent_requests(root: None, peer: FakePeer) -> None:
    """8 threads execute against the kernel while multicast floods overrun the socket.

    Every request ends in its own replies or in OverrunError (never in another
    request's reply); afterwards, the socket works.
    """
    with GenlSocket(rcvbuf=16384, timeout=5) as sock:
        families = sorted(f.name for f in sock.list_families())
        group = 30
        sock.join_group(lib.GENL_ID_CTRL, group)
        stop = threading.Event()
        counts: collections.Counter[str] = collections.Counter()
        lock = threading.Lock()

        def flooder() -> None:
            while not stop.is_set():
                peer.flood(group, FAMILY, CMD, count=50)

        def worker(k: int) -> None:
            # 150 requests each, and on until the flood has overrun the socket.
            for i in range(3000):
                if i >= 150 and sock.overruns:
                    break
                name = families[(k + i) % len(families)]
                try:
                    replies = sock.execute(
                        lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, {"family-name": name}
                    )
                except OverrunError as exc:
                    assert exc.count >= 1
                    outcome = "overrun"
                else:
                    assert [m.attrs.string(lib.CTRL_ATTR_FAMILY_NAME) for m in replies] == [name]
                    outcome = "ok"
                with lock:
                    counts[outcome] += 1
                    counts["requests"] += 1

        def reader() -> None:
            while not stop.is_set():
                try:
                    for msg in sock.poll_notifications():
                        assert (msg.family_id, msg.cmd, msg.seq) == (FAMILY, CMD, 0)
                except OverrunError:
                    with lock:
                        counts["notification overrun"] += 1
                time.sleep(0.001)

        flood_thread = threading.Thread(target=flooder)
        read_thread = threading.Thread(target=reader)
        flood_thread.start()
        read_thread.start()
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(worker, range(8), timeout=120))
        finally:
            stop.set()
            flood_thread.join(10)
            read_thread.join(10)
        assert counts["ok"] + counts["overrun"] == counts["requests"] >= 8 * 150
        assert counts["ok"] > 0
        assert sock.overruns > 0, counts
        # Recovery: drain, then the socket answers.
        sock.leave_group(lib.GENL_ID_CTRL, group)
        for _ in range(3):
            try:
                sock.poll_notifications()
            except OverrunError:
                continue
        (reply,) = sock.execute(lib.GENL_ID_CTRL, lib.CTRL_CMD_GETFAMILY, {"family-name": "nlctrl"})
        assert reply.attrs.u16(lib.CTRL_ATTR_FAMILY_ID) == lib.GENL_ID_CTRL


def test_peer_replies_to_concurrent_requests_never_misrouted(peer: FakePeer) -> None:
    """8 threads, one peer that answers with each request's own value, with hostile noise."""
    rng = random.Random(7)

    def handler(p: FakePeer, req: Request) -> None:
        value = req.message.attrs.u32(1)
        for _ in range(3):
            _, noise = hostile_datagram(
                rng,
                port=p.port,
                seq=rng.randrange(1, 1 << 32),
                family_id=FAMILY,
                cmd=CMD,
                kind="wrong_seq",
            )
            p.send_raw(req.port, noise)
        p.spoof(req.port, p.genl_message(FAMILY, CMD, marker("spoofed"), seq=req.seq))
        enc = AttributeEncoder()
        enc.u32(1, value)
        p.reply(req, enc)
        p.ack(req)

    peer.serve(handler)
    with GenlSocket(peer_port=peer.port, timeout=10) as sock:

        def worker(k: int) -> int:
            for i in range(200):
                enc = AttributeEncoder()
                enc.u32(1, k * 1000 + i)
                (reply,) = sock.execute(FAMILY, CMD, enc)
                assert reply.attrs.u32(1) == k * 1000 + i
            return k

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert sorted(pool.map(worker, range(8), timeout=120)) == list(range(8))
        assert sock.dropped >= 8 * 200  # at least the spoofed reply of each
        assert peer.errors == []


if __name__ == "__main__":
    _result = worker(int(sys.argv[1]), int(sys.argv[2]))
    print(json.dumps(_result))
    sys.exit(0)
