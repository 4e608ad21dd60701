"""The ``libnl-py`` command: families, family, specs, do, dump, monitor; ``--version``.

Exit codes: 0 success, 1 a netlink or runtime error (one line on stderr),
2 a usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from libnl_py import LIBNL_VERSION, RUNTIME_VERSION, __version__
from libnl_py.errors import NetlinkError, NotFoundError
from libnl_py.genl.family import Family
from libnl_py.genl.socket import GenlSocket
from libnl_py.message import (
    NLM_F_APPEND,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    GenlMessage,
)
from libnl_py.spec import registry as _specs
from libnl_py.spec.codec import EncodeError, Typed
from libnl_py.spec.model import INT_TYPES, OP_FLAGS, AttrSet, AttrSpec, FamilySpec
from libnl_py.spec.policy import AttrPolicy, FamilyPolicy, policy_sets, spec_type

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


# GENL_* op flags as `family` prints them: YNL's words where YNL has one.
_OP_FLAGS = ((0x01, "admin"), (0x02, "do"), (0x04, "dump"), (0x08, "policy"), (0x10, "uns-admin"))
assert {bit for bit, _ in _OP_FLAGS} >= set(OP_FLAGS.values())


def _op_flags(flags: int) -> str:
    return ",".join(name for bit, name in _OP_FLAGS if flags & bit) or "-"


_COMPATIBLE = {
    "binary": {"binary", "string"},
    "nest": {"nest", "nest-type-value", "indexed-array", "sub-message"},
    "indexed-array": {"indexed-array", "nest", "nest-type-value"},
}


def disagreement(attr: AttrSpec | None, pol: AttrPolicy) -> str | None:
    """Why the spec's type of an attribute and the kernel's policy disagree, if they do."""
    if attr is None:
        return None
    kernel = spec_type(pol)
    if kernel is None or kernel == attr.type:
        return None
    if attr.type in _COMPATIBLE.get(kernel, ()):
        return None
    return f"spec says {attr.type}, kernel says {pol.kind}"


def _policy_json(table: dict[int, AttrPolicy], spec_set: AttrSet | None) -> list[dict[str, Any]]:
    out = []
    for attr_type in sorted(table):
        entry = table[attr_type].to_dict()
        named = spec_set.by_value.get(attr_type) if spec_set is not None else None
        entry["name"] = named.name if named is not None else None
        entry["spec-type"] = named.type if named is not None else None
        problem = disagreement(named, table[attr_type])
        if problem is not None:
            entry["disagreement"] = problem
        out.append(entry)
    return out


def policies_json(policy: FamilyPolicy, spec: FamilySpec | None) -> dict[str, Any]:
    names = spec.command_names() if spec is not None else {}
    ops = [
        {"id": op_id, "name": names.get(op_id), **policy.ops[op_id]} for op_id in sorted(policy.ops)
    ]
    sets = policy_sets(policy, spec)
    tables = {
        str(index): _policy_json(policy.policies[index], sets.get(index))
        for index in sorted(policy.policies)
    }
    return {"ops": ops, "tables": tables}


# -- attribute arguments ---------------------------------------------------------------

_TRUE = ("1", "true", "yes", "on", "")
_FALSE = ("0", "false", "no", "off")
_KINDS = (*sorted(INT_TYPES), "be16", "be32", "be64", "string", "binary", "flag")


def _typed(kind: str, text: Any, what: str) -> Typed:
    """A ``NUM:KIND`` value: the caller's explicit type, for attributes nothing types."""
    if kind not in _KINDS:
        raise UsageError(f"{what}: unknown kind {kind!r} (one of {', '.join(_KINDS)})")
    if kind == "flag":
        return Typed(kind, _flag(text, what))
    if kind == "string":
        return Typed(kind, str(text))
    if kind == "binary":
        return Typed(kind, _hex(text, what))
    return Typed(kind, _number(text, what, kind))


def _number(text: Any, what: str, kind: str = "integer") -> Any:
    if isinstance(text, int):
        return text
    try:
        return int(str(text), 0)
    except ValueError:
        raise UsageError(f"{what}: {kind} needs an integer, not {text!r}") from None


def _flag(text: Any, what: str) -> bool:
    if isinstance(text, bool):
        return text
    if str(text).lower() in _TRUE:
        return True
    if str(text).lower() in _FALSE:
        return False
    raise UsageError(f"{what}: a flag takes true or false, not {text!r}")


def _hex(text: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(str(text))
    except ValueError:
        raise UsageError(f"{what}: binary values are hex, not {text!r}") from None


def convert(spec: FamilySpec | None, aset: AttrSet | None, values: Any, where: str) -> Any:
    """Command-line values (text or JSON) as the codec takes them, typed by the spec.

    Keys are names or numbers, or ``NUM:KIND`` for an attribute nothing types;
    integers may be decimal or ``0x`` hex text; binary is hex unless a display
    hint reads it (addresses, MACs); nests are objects.
    """
    if not isinstance(values, dict):
        raise UsageError(f"{where or 'attributes'}: expected an object of attributes")
    out: dict[Any, Any] = {}
    for key, value in values.items():
        what = f"{where}.{key}" if where else str(key)
        name, _, kind = str(key).partition(":")
        if kind:
            if not name.isdigit():
                raise UsageError(f"attribute {key!r}: a type (NUM:KIND) needs a numeric attribute")
            out[int(name)] = _typed(kind, value, what)
            continue
        attr = None
        if aset is not None:
            attr = aset.by_value.get(int(name)) if name.isdigit() else aset.by_name.get(name)
        if attr is None:
            if aset is not None and not name.isdigit():
                known = ", ".join(a.name for a in aset.attributes if a.type != "unused")
                raise UsageError(f"attribute {what!r} is not in {aset.name} (known: {known})")
            raise UsageError(
                f"attribute {what!r}: nothing types it here; give it as NUM:KIND=VALUE"
                f" (KIND: {', '.join(_KINDS)})"
            )
        out[attr.name if not aset.numbered else attr.value] = _value(spec, attr, value, what)  # type: ignore[union-attr]
    return out


def _value(spec: FamilySpec | None, attr: AttrSpec, value: Any, what: str) -> Any:
    if attr.multi_attr and isinstance(value, list):
        return [_one(spec, attr, v, what) for v in value]
    return _one(spec, attr, value, what)


def _one(spec: FamilySpec | None, attr: AttrSpec, value: Any, what: str) -> Any:
    kind = attr.type
    if kind in INT_TYPES:
        if isinstance(value, str) and (attr.enum or attr.display_hint):
            try:
                return int(value, 0)
            except ValueError:
                if (
                    attr.enum
                    and spec is not None
                    and (spec.enum(attr.enum).is_flags or attr.enum_as_flags)
                ):
                    return [v for v in value.split(",") if v]
                return value  # an enum name or an address: the codec decides
        if isinstance(value, list):
            return value  # flag names
        return _number(value, what, kind)
    if kind == "flag":
        return _flag(value, what)
    if kind == "string":
        return str(value)
    if kind == "binary":
        if isinstance(value, (dict, list)):
            return value  # a struct's members, or a C array
        if attr.display_hint is not None and attr.display_hint != "hex":
            return str(value)
        return _hex(value, what)
    if kind == "nest" and spec is not None and attr.nested_attributes:
        return convert(spec, spec.attr_set(attr.nested_attributes), value, what)
    if kind == "indexed-array" and isinstance(value, list):
        if attr.sub_type == "nest" and spec is not None and attr.nested_attributes:
            inner = spec.attr_set(attr.nested_attributes)
            return [convert(spec, inner, v, what) for v in value]
        return value
    return value


def _nest_assignment(values: dict[str, Any], path: list[str], text: str) -> None:
    for part in path[:-1]:
        inner = values.setdefault(part, {})
        if not isinstance(inner, dict):
            raise UsageError(f"attribute {'.'.join(path)}: {part} is not a nest")
        values = inner
    values[path[-1]] = text


def parse_values(assignments: Sequence[str], json_attrs: str | None) -> dict[str, Any]:
    """ATTR=VALUE arguments (``a.b=v`` into nests) merged into --json-attrs."""
    values: dict[str, Any] = {}
    if json_attrs is not None:
        try:
            loaded = json.loads(json_attrs)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--json-attrs is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise UsageError("--json-attrs must be a JSON object")
        values.update(loaded)
    for item in assignments:
        if "=" not in item:
            raise UsageError(f"attribute {item!r}: expected ATTR=VALUE")
        key, text = item.split("=", 1)
        path = key.split(".")
        if not all(path):
            raise UsageError(f"attribute {item!r}: empty attribute name")
        _nest_assignment(values, path, text)
    return values


def build_attrs(
    spec: FamilySpec | None,
    set_name: str | None,
    assignments: Sequence[str],
    json_attrs: str | None,
) -> dict[Any, Any]:
    """The request's attributes from the command line, ready for ``execute``."""
    aset = spec.attr_set(set_name) if spec is not None and set_name is not None else None
    converted: dict[Any, Any] = convert(spec, aset, parse_values(assignments, json_attrs), "")
    return converted


# -- output ------------------------------------------------------------------------------


def _print_json(value: Any, pretty: bool = True) -> None:
    json.dump(jsonable(value), sys.stdout, indent=2 if pretty else None)
    sys.stdout.write("\n")


def decode_message(sock: GenlSocket, msg: GenlMessage) -> dict[str, Any]:
    name = sock.operation_name(msg)
    return {"cmd": name if name is not None else msg.cmd, "attrs": sock.decode(msg)}


# -- subcommands -------------------------------------------------------------------------


def cmd_families(args: argparse.Namespace) -> int:
    with GenlSocket(timeout=args.timeout, netns=args.netns) as sock:
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


def _socket(args: argparse.Namespace) -> GenlSocket:
    try:
        return GenlSocket(timeout=args.timeout, specs=args.spec or (), netns=args.netns)
    except ValueError as exc:  # SpecError: a --spec file that is no spec
        raise UsageError(f"--spec: {exc}") from None


def cmd_family(args: argparse.Namespace) -> int:
    with _socket(args) as sock:
        family = sock.resolve_family(args.name)
        policy = sock.get_policy(family)
        spec = sock.spec_for(family)
    if args.json:
        out = family_json(family)
        out["spec"] = spec.source if spec is not None else None
        out["policies"] = policies_json(policy, spec)
        _print_json(out)
        return 0
    print(
        f"{family.name}: id {family.id:#06x}, version {family.version}, "
        f"hdrsize {family.hdrsize}, maxattr {family.maxattr}"
    )
    print(f"spec: {spec.source if spec is not None else 'none (kernel policy only)'}")
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
            attr = aset.by_value.get(attr_type) if aset is not None else None
            name = attr.name if attr is not None else "?"
            typed = attr.type if attr is not None else "-"
            problem = disagreement(attr, pol_entry)
            note = f"  ! {problem}" if problem else ""
            row = f"  {attr_type:3d} {name:24s} {typed:14s} {pol_entry.kind:12s} {extra}{note}"
            print(row.rstrip())
    return 0


def _command(spec: FamilySpec | None, family: Family, cmd: str) -> tuple[int, str | None]:
    """(request id, attribute set) of a command given by name or number."""
    if cmd.isdigit() or cmd.startswith("0x"):
        try:
            cmd_id = int(cmd, 0)
        except ValueError:
            raise UsageError(f"command {cmd!r} is not a number") from None
        if not 0 <= cmd_id <= 255:
            raise UsageError(f"command {cmd_id} is out of range 0..255")
        op = spec.operation(cmd_id) if spec is not None else None
        return cmd_id, op.attribute_set if op is not None else None
    op = spec.operation(cmd) if spec is not None else None
    if spec is None or op is None or op.req_value is None:
        if spec is None or spec.source == "policy":
            raise UsageError(f"family {family.name!r} has no spec: give the command as a number")
        calls = ", ".join(sorted(o.name for o in spec.operations if o.is_call))
        raise UsageError(f"family {family.name!r} has no command {cmd!r} (known: {calls})")
    return op.req_value, op.attribute_set


def cmd_request(args: argparse.Namespace) -> int:
    dump = args.command == "dump"
    flags = 0
    for option, bit in (
        ("create", NLM_F_CREATE),
        ("excl", NLM_F_EXCL),
        ("replace", NLM_F_REPLACE),
        ("append", NLM_F_APPEND),
    ):
        if getattr(args, option):
            flags |= bit
    if not dump and flags & NLM_F_DUMP == NLM_F_DUMP:
        # NLM_F_REPLACE | NLM_F_EXCL share their bits with NLM_F_ROOT | NLM_F_MATCH:
        # generic netlink would take the request for a dump.
        raise UsageError("--replace with --excl is NLM_F_DUMP (0x300) on the wire: use dump")
    with _socket(args) as sock:
        family = sock.resolve_family(args.family)
        spec = sock.spec_or_policy(family)
        cmd_id, set_name = _command(spec, family, args.cmd)
        values = build_attrs(spec, set_name, args.attrs, args.json_attrs)
        try:
            if dump and args.jsonl:  # printed as the dump arrives, in a batch's memory
                replies: Iterable[GenlMessage] = sock.dump_iter(
                    family, cmd_id, values or None, flags=flags
                )
            else:
                run = sock.dump if dump else sock.execute
                replies = run(family, cmd_id, values or None, flags=flags)
        except (EncodeError, TypeError) as exc:
            raise UsageError(f"attributes: {exc}") from None
        if args.jsonl:
            for msg in replies:
                _print_json(decode_message(sock, msg), pretty=False)
        else:
            _print_json([decode_message(sock, msg) for msg in replies])
    return 0


def cmd_specs(args: argparse.Namespace) -> int:
    """Each family (the kernel's and those with a spec) and where its definition comes from."""
    given = {}
    for path in args.spec or ():
        try:
            given[_specs_load(path).name] = path
        except ValueError as exc:
            raise UsageError(f"--spec: {exc}") from None
    sources = _specs.sources()
    with GenlSocket(timeout=args.timeout, netns=args.netns) as sock:
        kernel = {f.name for f in sock.list_families()}
    rows = []
    for name in sorted(kernel | set(sources) | set(given), key=str.lower):
        source = given.get(name) or sources.get(name) or "policy only"
        rows.append({"family": name, "in-kernel": name in kernel, "source": source})
    if args.json:
        _print_json(rows)
        return 0
    table = [("FAMILY", "KERNEL", "DEFINITION")]
    table += [(str(r["family"]), "yes" if r["in-kernel"] else "-", str(r["source"])) for r in rows]
    _print_table(table)
    return 0


def _specs_load(path: str) -> FamilySpec:
    from libnl_py.spec.loader import load

    return load(path)


def cmd_monitor(args: argparse.Namespace) -> int:
    sockets: list[tuple[GenlSocket, str]] = []
    try:
        with _socket(args) as resolver:
            family = resolver.resolve_family(args.family)
        groups = args.groups or [g.name for g in family.groups]
        if not groups:
            raise NotFoundError(
                function="monitor", message=f"family {family.name!r} has no multicast groups"
            )
        # One socket per group: the group of each notification is then known
        # exactly (the kernel's sender address cannot name groups above 32).
        for name in groups:
            sock = _socket(args)
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
            ready = poller.poll(None if wait is None else min(wait * 1000, 2**31 - 1))
            for fd, _event in ready:
                sock, name = by_fd[fd]
                for msg in sock.poll_notifications():
                    line = {"family": family.name, "group": name, **decode_message(sock, msg)}
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


def _version_text() -> str:
    """What ``libnl-py --version`` prints: one line each for libnl-py, libnl and the kernel.

    libnl's is the version of the shared library loaded now (``nl_ver_maj``,
    ``nl_ver_min``, ``nl_ver_mic``), then the headers the module was compiled
    against; the kernel's is ``os.uname().release``.
    """
    uname = os.uname()
    return (
        f"libnl-py {__version__}\n"
        f"libnl {'.'.join(map(str, RUNTIME_VERSION))} (built against {LIBNL_VERSION})\n"
        f"{uname.sysname} {uname.release}"
    )


class _Version(argparse.Action):
    """``--version``: argparse's own action would join the three lines into one."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "print the versions of libnl-py, libnl and the kernel, and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(_version_text())
        parser.exit(0)


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
    parser.add_argument("--version", action=_Version)
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for the kernel (default 10)"
    )
    parser.add_argument(
        "--netns",
        metavar="NAME",
        help="talk to the kernel from network namespace NAME (/run/netns/NAME, or a path)",
    )
    parser.add_argument(
        "--spec",
        action="append",
        metavar="FILE",
        help="a YNL spec file (YAML or JSON) to use before any other; may repeat",
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
            "attrs",
            nargs="*",
            metavar="ATTR=VALUE",
            help="attribute by name (a.b=VALUE inside nests) or NUM[:KIND]=VALUE",
        )
        p.add_argument(
            "--json-attrs", metavar="JSON", help="attributes as a JSON object (nests as objects)"
        )
        p.add_argument("--json", action="store_true", help="print JSON (always so here)")
        p.add_argument("--jsonl", action="store_true", help="one JSON object per line")
        for flag, text in (
            ("create", "NLM_F_CREATE"),
            ("excl", "NLM_F_EXCL"),
            ("replace", "NLM_F_REPLACE"),
            ("append", "NLM_F_APPEND"),
        ):
            p.add_argument(f"--{flag}", action="store_true", help=f"set {text}")
        p.set_defaults(run=cmd_request, parser=p)

    p = sub.add_parser("specs", help="every family and where its definition comes from")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_specs, parser=p)

    p = sub.add_parser("monitor", help="print notifications as JSON lines")
    p.add_argument("family")
    p.add_argument("groups", nargs="*", metavar="GROUP", help="groups to join (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON lines (always so here)")
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
