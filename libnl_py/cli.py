"""The ``libnl-py`` command: families, family, do, dump, monitor.

Exit codes: 0 success, 1 a netlink or runtime error (one line on stderr),
2 a usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import json
import select
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from libnl_py import LIBNL_VERSION
from libnl_py.attrs import AttributeEncoder
from libnl_py.errors import NetlinkError, NotFoundError
from libnl_py.genl import families as _families
from libnl_py.genl.family import Family
from libnl_py.genl.policy import AttrPolicy, FamilyPolicy, decode_by_policy
from libnl_py.genl.socket import GenlSocket
from libnl_py.genl.spec import SCALAR_KINDS, Attr, AttrSet, FamilySpec
from libnl_py.message import GenlMessage

__all__ = ["main"]


class UsageError(Exception):
    """Bad command-line input: exit code 2."""


# -- JSON shapes ----------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON values: bytes as hex, mapping keys as strings, tuples as lists."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def family_json(family: Family) -> dict[str, Any]:
    return {
        "id": family.id,
        "name": family.name,
        "version": family.version,
        "hdrsize": family.hdrsize,
        "maxattr": family.maxattr,
        "ops": [{"id": op.id, "name": op.name, "flags": op.flags} for op in family.operations],
        "groups": [{"id": g.id, "name": g.name} for g in family.groups],
    }


_OP_FLAGS = ((0x01, "admin"), (0x02, "do"), (0x04, "dump"), (0x08, "policy"), (0x10, "uns-admin"))


def _op_flags(flags: int) -> str:
    return ",".join(name for bit, name in _OP_FLAGS if flags & bit) or "-"


def _policy_json(table: dict[int, AttrPolicy], spec_set: AttrSet | None) -> list[dict[str, Any]]:
    out = []
    for attr_type in sorted(table):
        entry = table[attr_type].to_dict()
        named = spec_set.by_type.get(attr_type) if spec_set is not None else None
        entry["name"] = named.name if named is not None else None
        out.append(entry)
    return out


def policy_sets(policy: FamilyPolicy, spec: FamilySpec | None) -> dict[int, AttrSet]:
    """Which attribute set of the definition each policy index describes."""
    if spec is None:
        return {}
    found: dict[int, AttrSet] = {}
    for op_id, forms in policy.ops.items():
        try:
            aset = spec.attribute_set(spec.command(op_id).attribute_set)
        except (NotFoundError, KeyError):
            continue
        for index in forms.values():
            found.setdefault(index, aset)
    todo = list(found.items())
    while todo:
        index, aset = todo.pop()
        for attr_type, pol in policy.policies.get(index, {}).items():
            attr = aset.by_type.get(attr_type)
            if (
                pol.policy is not None
                and attr is not None
                and attr.nested
                and pol.policy not in found
            ):
                try:
                    found[pol.policy] = spec.attribute_set(attr.nested)
                except KeyError:
                    continue
                todo.append((pol.policy, found[pol.policy]))
    return found


def policies_json(policy: FamilyPolicy, spec: FamilySpec | None) -> dict[str, Any]:
    ops = []
    for op_id in sorted(policy.ops):
        name = spec.command_names.get(op_id) if spec is not None else None
        ops.append({"id": op_id, "name": name, **policy.ops[op_id]})
    sets = policy_sets(policy, spec)
    tables = {}
    for index in sorted(policy.policies):
        tables[str(index)] = _policy_json(policy.policies[index], sets.get(index))
    return {"ops": ops, "tables": tables}


# -- attribute arguments ---------------------------------------------------------------

_POLICY_KINDS = {
    "u8": "u8",
    "u16": "u16",
    "u32": "u32",
    "u64": "u64",
    "s8": "s8",
    "s16": "s16",
    "s32": "s32",
    "s64": "s64",
    "uint": "uint",
    "sint": "sint",
    "string": "string",
    "nul-string": "string",
    "binary": "binary",
    "flag": "flag",
}


def _convert(text: str, kind: str, what: str) -> Any:
    if kind in SCALAR_KINDS:
        try:
            return int(text, 0)
        except ValueError:
            return text  # maybe an enum name; the definition decides
    if kind == "flag":
        if text.lower() in ("1", "true", "yes", "on", ""):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"{what}: a flag takes true or false, not {text!r}")
    if kind == "binary":
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise UsageError(f"{what}: binary values are hex, not {text!r}") from None
    if kind == "string":
        return text
    raise UsageError(f"{what}: a {kind} attribute can only be given with --json-attrs")


def _split_assignment(item: str) -> tuple[str, str | None, str]:
    if "=" not in item:
        raise UsageError(f"attribute {item!r}: expected ATTR=VALUE")
    key, value = item.split("=", 1)
    kind = None
    if ":" in key:
        key, kind = key.split(":", 1)
    if not key:
        raise UsageError(f"attribute {item!r}: empty attribute name")
    return key, kind, value


def build_attrs(
    spec: FamilySpec | None,
    set_name: str | None,
    policy: dict[int, AttrPolicy] | None,
    assignments: Sequence[str],
    json_attrs: str | None,
) -> bytes:
    """Encode ATTR=VALUE arguments and --json-attrs, typed by definition or kernel policy."""
    values: dict[Any, Any] = {}
    if json_attrs is not None:
        try:
            loaded = json.loads(json_attrs)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--json-attrs is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise UsageError("--json-attrs must be a JSON object")
        values.update(loaded)
    explicit: list[tuple[int, str, Any]] = []
    for item in assignments:
        key, kind, text = _split_assignment(item)
        if kind is not None:
            if not key.isdigit():
                raise UsageError(f"attribute {key!r}: a type (NUM:KIND) needs a numeric attribute")
            explicit.append((int(key), kind, _convert(text, kind, key)))
            continue
        attr = _spec_attr(spec, set_name, key)
        if attr is not None:
            values[attr.name] = _convert(text, attr.kind, key)
        elif key.isdigit() and policy is not None and int(key) in policy:
            kind_name = _POLICY_KINDS.get(policy[int(key)].kind)
            if kind_name is None:
                raise UsageError(f"attribute {key}: {policy[int(key)].kind} needs --json-attrs")
            explicit.append((int(key), kind_name, _convert(text, kind_name, key)))
        else:
            raise UsageError(
                f"attribute {key!r} is unknown here; give it as NUM:KIND=VALUE"
                " (KIND: u8..u64, s8..s64, string, binary, flag)"
            )
    enc = AttributeEncoder()
    if values:
        if spec is not None and set_name is not None:
            try:
                data = spec.encode(set_name, _json_keys(values))
            except (KeyError, TypeError, ValueError) as exc:
                raise UsageError(f"attributes: {exc}") from None
            enc.put_raw(data)
        else:
            _encode_by_policy(enc, values, policy)
    for attr_type, kind, value in explicit:
        _encode_kind(enc, attr_type, kind, value)
    try:
        return enc.encode()
    except (TypeError, ValueError) as exc:
        raise UsageError(f"attributes: {exc}") from None


def _json_keys(values: dict[Any, Any]) -> dict[Any, Any]:
    return {int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in values.items()}


def _spec_attr(spec: FamilySpec | None, set_name: str | None, key: str) -> Attr | None:
    if spec is None or set_name is None:
        return None
    aset = spec.attribute_set(set_name)
    return aset.by_type.get(int(key)) if key.isdigit() else aset.by_name.get(key)


def _encode_kind(enc: AttributeEncoder, attr_type: int, kind: str, value: Any) -> None:
    if kind in SCALAR_KINDS:
        getattr(enc, kind)(attr_type, value)  # a non-integer is the encoder's error
    elif kind == "string":
        enc.string(attr_type, str(value))
    elif kind == "binary":
        try:
            data = value if isinstance(value, bytes) else bytes.fromhex(str(value))
        except ValueError:
            raise UsageError(f"attribute {attr_type}: binary needs hex, not {value!r}") from None
        enc.binary(attr_type, data)
    elif kind == "flag":
        enc.flag(attr_type, bool(value))
    else:
        raise UsageError(f"attribute {attr_type}: unknown kind {kind!r}")


def _encode_by_policy(
    enc: AttributeEncoder, values: dict[Any, Any], policy: dict[int, AttrPolicy] | None
) -> None:
    for key, value in values.items():
        if not str(key).isdigit():
            raise UsageError(f"attribute {key!r}: this family has no definition; use numbers")
        attr_type = int(key)
        pol = (policy or {}).get(attr_type)
        if isinstance(value, dict):
            with enc.nested(attr_type):
                _encode_by_policy(enc, value, None)
            continue
        if pol is None:
            if isinstance(value, str):
                enc.string(attr_type, value)
            elif isinstance(value, bool):
                enc.flag(attr_type, value)
            elif isinstance(value, int):
                enc.u32(attr_type, value)
            else:
                raise UsageError(f"attribute {attr_type}: cannot encode {value!r}")
            continue
        kind = _POLICY_KINDS.get(pol.kind)
        if kind is None:
            raise UsageError(
                f"attribute {attr_type}: {pol.kind} attributes need a family definition"
            )
        _encode_kind(enc, attr_type, kind, value)


# -- output ------------------------------------------------------------------------------


def _print_json(value: Any, pretty: bool = True) -> None:
    json.dump(jsonable(value), sys.stdout, indent=2 if pretty else None)
    sys.stdout.write("\n")


def decode_message(
    msg: GenlMessage,
    spec: FamilySpec | None,
    policy: FamilyPolicy | None,
    dump: bool,
) -> dict[str, Any]:
    if spec is not None:
        name = spec.command_name(msg.cmd)
        attrs: dict[Any, Any] = spec.decode_message(msg)
        return {"cmd": name if name is not None else msg.cmd, "attrs": attrs}
    if policy is not None:
        table = policy.for_command(msg.cmd, dump)
        return {"cmd": msg.cmd, "attrs": decode_by_policy(msg.attrs, policy, table)}
    return {"cmd": msg.cmd, "attrs": {a.type: a.payload.hex() for a in msg.attrs}}


# -- subcommands -------------------------------------------------------------------------


def cmd_families(args: argparse.Namespace) -> int:
    with GenlSocket(timeout=args.timeout) as sock:
        families = sock.list_families()
    if args.json:
        _print_json([family_json(f) for f in families])
        return 0
    rows = [("ID", "NAME", "VERSION", "HDRSIZE", "MAXATTR", "OPS", "GROUPS")]
    for f in families:
        rows.append(
            (
                f"{f.id:#06x}",
                f.name,
                str(f.version),
                str(f.hdrsize),
                str(f.maxattr),
                str(len(f.operations)),
                ",".join(g.name for g in f.groups) or "-",
            )
        )
    _print_table(rows)
    return 0


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def cmd_family(args: argparse.Namespace) -> int:
    with GenlSocket(timeout=args.timeout) as sock:
        family = sock.resolve_family(args.name)
        policy = sock.get_policy(family)
    spec = _families.get(family.name)
    if args.json:
        out = family_json(family)
        out["policies"] = policies_json(policy, spec)
        _print_json(out)
        return 0
    print(
        f"{family.name}: id {family.id:#06x}, version {family.version}, "
        f"hdrsize {family.hdrsize}, maxattr {family.maxattr}"
    )
    print("operations:")
    for op in family.operations:
        forms = policy.ops.get(op.id, {})
        pol = ", ".join(f"{k} policy {v}" for k, v in forms.items()) or "no policy"
        print(f"  {op.id:3d} {op.name or '?':24s} {_op_flags(op.flags):20s} {pol}")
    print("groups:" + ("" if family.groups else " none"))
    for grp in family.groups:
        print(f"  {grp.id:3d} {grp.name}")
    sets = policy_sets(policy, spec)
    for index in sorted(policy.policies):
        aset = sets.get(index)
        print(f"policy {index}" + (f" ({aset.name}):" if aset is not None else ":"))
        for attr_type, pol_entry in sorted(policy.policies[index].items()):
            limits = {k: v for k, v in pol_entry.to_dict().items() if k not in ("type", "kind")}
            extra = " ".join(f"{k}={v}" for k, v in limits.items())
            attr = aset.by_type.get(attr_type) if aset is not None else None
            name = attr.name if attr is not None else "?"
            print(f"  {attr_type:3d} {name:24s} {pol_entry.kind:12s} {extra}".rstrip())
    return 0


def _command_id(spec: FamilySpec | None, family: Family, cmd: str) -> tuple[int, str | None]:
    if cmd.isdigit() or cmd.startswith("0x"):
        try:
            cmd_id = int(cmd, 0)
        except ValueError:
            raise UsageError(f"command {cmd!r} is not a number") from None
        if not 0 <= cmd_id <= 255:
            raise UsageError(f"command {cmd_id} is out of range 0..255")
        set_name = None
        if spec is not None:
            try:
                set_name = spec.command(cmd_id).attribute_set
            except NotFoundError:
                set_name = None
        return cmd_id, set_name
    if spec is None:
        raise UsageError(f"family {family.name!r} has no definition: give the command as a number")
    try:
        command = spec.command(cmd)
    except NotFoundError as exc:
        raise UsageError(exc.message) from None
    return command.id, command.attribute_set


def cmd_request(args: argparse.Namespace) -> int:
    dump = args.command == "dump"
    with GenlSocket(timeout=args.timeout) as sock:
        family = sock.resolve_family(args.family)
        spec = _families.get(family.name)
        cmd_id, set_name = _command_id(spec, family, args.cmd)
        policy: FamilyPolicy | None = None
        if spec is None or set_name is None:
            try:
                policy = sock.get_policy(family, cmd_id)
            except NetlinkError:
                policy = None
        table = policy.for_command(cmd_id, dump) if policy is not None else None
        payload = build_attrs(spec, set_name, table, args.attrs, args.json_attrs)
        if dump:
            replies = sock.dump(family, cmd_id, payload)
        else:
            replies = sock.execute(family, cmd_id, payload)
        _print_json([decode_message(msg, spec, policy, dump) for msg in replies])
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    sockets: list[tuple[GenlSocket, str]] = []
    try:
        with GenlSocket(timeout=args.timeout) as resolver:
            family = resolver.resolve_family(args.family)
        groups = args.groups or [g.name for g in family.groups]
        if not groups:
            raise NotFoundError(
                function="monitor", message=f"family {family.name!r} has no multicast groups"
            )
        spec = _families.get(family.name)
        # One socket per group: the group of each notification is then known
        # exactly (the kernel's sender address cannot name groups above 32).
        for name in groups:
            sock = GenlSocket()
            sockets.append((sock, name))
            sock.join_group(family, family.group(name).id)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        poller = select.poll()
        by_fd = {}
        for sock, name in sockets:
            poller.register(sock.fileno(), select.POLLIN)
            by_fd[sock.fileno()] = (sock, name)
        printed = 0
        while args.count is None or printed < args.count:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if wait == 0.0:
                break
            ready = poller.poll(None if wait is None else wait * 1000)
            for fd, _event in ready:
                sock, name = by_fd[fd]
                for msg in sock.poll_notifications():
                    decoded = decode_message(msg, spec, None, False)
                    line = {"family": family.name, "group": name, **decoded}
                    _print_json(line, pretty=False)
                    sys.stdout.flush()
                    printed += 1
                    if args.count is not None and printed >= args.count:
                        return 0
        return 0
    finally:
        for sock, _name in sockets:
            sock.free()


# -- entry point ---------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No prefix abbreviations: `dump ... --json` must not be taken for --json-attrs.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="libnl-py",
        description=f"Talk to the kernel's generic netlink families (libnl {LIBNL_VERSION}).",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for the kernel (default 10)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("families", help="list every generic netlink family")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_families, parser=p)

    p = sub.add_parser("family", help="one family in detail, with its kernel policies")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_family, parser=p)

    for name, text in (
        ("do", "send one request, print its replies"),
        ("dump", "dump, print every message"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("family")
        p.add_argument("cmd", help="command name (with a definition) or number")
        p.add_argument(
            "attrs", nargs="*", metavar="ATTR=VALUE", help="attribute by name or NUM[:KIND]=VALUE"
        )
        p.add_argument(
            "--json-attrs", metavar="JSON", help="attributes as a JSON object (nests as objects)"
        )
        p.add_argument("--json", action="store_true", help="print JSON (always so here)")
        p.set_defaults(run=cmd_request, parser=p)

    p = sub.add_parser("monitor", help="print notifications as JSON lines")
    p.add_argument("family")
    p.add_argument("groups", nargs="*", metavar="GROUP", help="groups to join (default: all)")
    p.add_argument("--count", type=_positive_int, help="exit after N notifications")
    # Its own dest: sharing "timeout" with the global option would let this
    # default (None) silently replace a global --timeout given before "monitor".
    p.add_argument(
        "--timeout", type=float, dest="duration", metavar="S", help="exit after S seconds"
    )
    p.set_defaults(run=cmd_monitor, parser=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except UsageError as exc:
        # The usage of the subcommand that was given, as argparse prints it.
        args.parser.print_usage(sys.stderr)
        print(f"libnl-py: error: {exc}", file=sys.stderr)
        return 2
    except NetlinkError as exc:
        print(f"libnl-py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0
    except OSError as exc:
        print(f"libnl-py: {exc}", file=sys.stderr)
        return 1
