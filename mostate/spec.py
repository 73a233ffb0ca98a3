"""Loading spec files: TOML in, a checked :class:`~mostate.rules.Spec` out.

Every mistake in a spec file is reported as one :class:`~mostate.errors.SpecError` whose message
starts with ``file:line:col:`` (a TOML syntax error, an unknown key, a wrong type, an unknown name
or an ill-typed expression), so an editor can jump to it. The shipped CCS spec is found inside the
installed package, so :func:`load_spec` with no argument works from any folder.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import Location, SpecError, SpecErrors
from .frozenmap import FrozenMap
from .model import FLAGS, Role, Status
from .rules import (
    ArgDecl,
    Confirmation,
    Domain,
    Effect,
    Field,
    Independence,
    Invariant,
    Operation,
    Property,
    Refusal,
    Spec,
    Step,
    Type,
)
from .suggest import closest, did_you_mean
from .syntax import Scope, parse_expr, parse_typed
from .tomlpos import KeyPath, locate

_ARG_TYPES = {"str": Type.STR, "name": Type.STR, "bool": Type.BOOL, "params": Type.PARAMS}
# Request keys, and the built-in names a property reads (an argument would hide them there).
_RESERVED_ARGS = frozenset(
    {"actor", "server_id", "op", "service", "instance", "confirm", "i"}
    | {"target", "status", "result", "declined", "declines"}
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def specs_dir() -> Path:
    """The folder of shipped specs: inside the installed package (where the build puts
    ``specs/`` as ``mostate/specs``), or ``specs/`` beside the package in a checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "specs"
    return installed if (installed / "ccs.toml").is_file() else here.parent / "specs"


def default_spec_path() -> Path:
    """The shipped Configuration Context Status spec."""
    return specs_dir() / "ccs.toml"


def load_spec(path: str | Path | None = None) -> Spec:
    """Load and check a spec file (the shipped ``ccs.toml`` when ``path`` is None).

    >>> spec = load_spec()
    >>> spec.name, "set_active" in spec.ops
    ('ccs', True)
    """
    file = Path(path) if path is not None else default_spec_path()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise SpecError(f"cannot read the spec: {why}", Location(str(file), 0, 0)) from None
    return parse_spec(text, str(path if path is not None else file))


def parse_spec(text: str, source: str = "<spec>") -> Spec:
    """Check spec text; ``source`` is the name used in error locations.

    Every error of the file is found, not only the first: the loader goes on past a step, an
    expression or a table it cannot read (a TOML syntax error goes on at the next line). One
    error is raised as a :class:`~mostate.errors.SpecError`, several as
    :class:`~mostate.errors.SpecErrors` (which reads as the first and holds them all).

    >>> parse_spec('[ops.a]\\n[[ops.a.steps]]\\nrefuse = 404\\nwhen = "activ(target)"\\n', "s.toml")
    Traceback (most recent call last):
    ...
    mostate.errors.SpecError: s.toml:4:9: unknown function 'activ'; did you mean 'active'?
    """
    text = text.removeprefix("\ufeff")  # a BOM some editors write is not part of the TOML
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise _collected(_toml_errors(text, source)) from None
    except RecursionError:  # tomllib reads nested arrays recursively
        raise SpecError("TOML nested too deep", Location(source, 0, 0)) from None
    loader = _Loader(doc, locate(text, source), source)
    spec = loader.spec()
    if loader.errors:
        raise _collected(loader.errors)
    return spec


MAX_ERRORS = 50
"""The most errors reported for one file (the rest are usually consequences of the first)."""


def _collected(errors: list[SpecError]) -> SpecError:
    unique = list(dict.fromkeys(errors))
    unique.sort(key=lambda e: (e.location.line, e.location.column))
    unique = unique[:MAX_ERRORS]
    return unique[0] if len(unique) == 1 else SpecErrors(tuple(unique))


def _toml_errors(text: str, source: str) -> list[SpecError]:
    """Every TOML syntax error: after each, its line is blanked and the file read again."""
    lines = text.split("\n")
    errors: list[SpecError] = []
    while len(errors) < MAX_ERRORS:
        try:
            tomllib.loads("\n".join(lines))
            break
        except tomllib.TOMLDecodeError as err:
            error = _toml_error(err, source)
            errors.append(error)
            line = error.location.line
            if not 1 <= line <= len(lines) or not lines[line - 1].strip():
                break  # nothing left to blank: an unclosed string or table at the end
            lines[line - 1] = ""
        except RecursionError:
            break
    return errors


def _toml_error(err: tomllib.TOMLDecodeError, source: str) -> SpecError:
    message = str(err)
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if match:
        line, col = int(match.group(1)), int(match.group(2))
        message = message[: match.start()].strip()
    else:
        line, col = 1, 1
    return SpecError(f"TOML syntax: {message}", Location(source, line, col))


class _Loader:
    """Walks the TOML document, checking every key against the schema as it goes."""

    def __init__(self, doc: dict[str, Any], locs: dict[KeyPath, Location], source: str) -> None:
        self.doc = doc
        self.locs = locs
        self.source = source
        self.errors: list[SpecError] = []

    @contextlib.contextmanager
    def recover(self) -> Iterator[None]:
        """Note an error in what the block reads and go on with the rest of the file."""
        try:
            yield
        except SpecErrors as err:
            self.errors.extend(err.errors)
        except SpecError as err:
            self.errors.append(err)

    def loc(self, path: KeyPath) -> Location:
        for end in range(len(path), 0, -1):
            if path[:end] in self.locs:
                return self.locs[path[:end]]
            # A table only ever written as [a.b] has no line of its own for "a": use its first.
            inside = [loc for key, loc in self.locs.items() if key[:end] == path[:end]]
            if inside:
                return min(inside, key=lambda loc: (loc.line, loc.column))
        return Location(self.source, 1, 1)

    def fail(self, message: str, path: KeyPath) -> SpecError:
        return SpecError(message, self.loc(path))

    def table(self, value: object, path: KeyPath, allowed: frozenset[str]) -> Mapping[str, Any]:
        """``value`` as a table of the allowed keys; each unknown key is noted (with the closest
        allowed one) and left out, so the rest of the table is still read."""
        if not isinstance(value, dict):
            raise self.fail(f"'{_dotted(path)}' must be a table", path)
        for key in value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                near = closest(key, allowed)
                self.errors.append(
                    SpecError(
                        f"unknown key '{key}'{did_you_mean(near)} (expected one of: {known})",
                        self.loc((*path, key)),
                        culprit=key,
                        suggestion=near,
                    )
                )
        return {k: v for k, v in value.items() if k in allowed}

    def string(
        self, table: Mapping[str, Any], key: str, path: KeyPath, default: str | None = None
    ) -> str:
        value = table.get(key, default)
        if value is None:
            raise self.fail(f"'{_dotted(path)}' needs a '{key}'", path)
        if not isinstance(value, str):
            raise self.fail(f"'{key}' must be a string", (*path, key))
        return value

    def expr_at(
        self, table: Mapping[str, Any], key: str, path: KeyPath, scope: Scope, typ: Type
    ) -> Any:
        text = self.string(table, key, path)
        return parse_expr(text, scope, self.loc((*path, key)), typ)

    def roles(self, table: Mapping[str, Any], path: KeyPath) -> frozenset[Role]:
        value = table.get("actors", ["user", "server"])
        if not isinstance(value, list) or not value:
            raise self.fail("'actors' must be a non-empty list", (*path, "actors"))
        out = set()
        for item in value:
            if item not in ("user", "server"):
                near = closest(str(item), ("user", "server"))
                raise SpecError(
                    f"unknown actor {item!r} (user or server){did_you_mean(near)}",
                    self.loc((*path, "actors")),
                    culprit=str(item),
                    suggestion=near,
                )
            out.add(Role(item))
        return frozenset(out)

    def named_tables(self, key: str) -> list[tuple[str, Mapping[str, Any], KeyPath]]:
        section = self.doc.get(key, {})
        if not isinstance(section, dict):
            raise self.fail(f"'{key}' must be a table of named entries", (key,))
        out: list[tuple[str, Mapping[str, Any], KeyPath]] = []
        for name, body in section.items():
            if not _NAME.match(name):
                self.errors.append(
                    self.fail(f"{key} name {name!r} must be an identifier", (key, name))
                )
                continue
            out.append((name, body, (key, name)))
        return out

    # -- the document ---------------------------------------------------------------------------

    def spec(self) -> Spec:
        self.table(
            self.doc, (), frozenset({"spec", "ops", "invariants", "properties", "independence"})
        )
        header: Mapping[str, Any] = {}
        with self.recover():
            header = self.table(self.doc.get("spec", {}), ("spec",), frozenset({"name", "doc"}))
        ops: dict[str, Operation] = {}
        for name, body, path in self.named_tables("ops"):
            with self.recover():
                ops[name] = self.operation(name, body, path)
        if not ops and not self.errors:
            raise self.fail("a spec needs at least one operation under [ops.NAME]", ())
        name, doc = Path(self.source).stem, ""
        with self.recover():
            name = self.string(header, "name", ("spec",), name)
            doc = self.string(header, "doc", ("spec",), "")
        return Spec(
            name=name,
            source=self.source,
            ops=FrozenMap(ops),
            invariants=tuple(self.each("invariants", self.invariant)),
            properties=tuple(
                self.each("properties", lambda name, body, at: self.property(name, body, at, ops))
            ),
            independences=tuple(self.each("independence", self.independence)),
            doc=doc,
        )

    def each(self, key: str, read: Any) -> Iterator[Any]:
        """Each named entry of section ``key`` read by ``read``; one that does not read is
        noted and left out."""
        for entry in self.named_tables(key):
            with self.recover():
                yield read(*entry)

    def operation(self, name: str, body: object, path: KeyPath) -> Operation:
        keys = frozenset({"doc", "target", "args", "steps", "result"})
        table = self.table(body, path, keys)
        has_target = table.get("target", True)
        if not isinstance(has_target, bool):
            raise self.fail("'target' must be true or false", (*path, "target"))
        args = self.args(table.get("args", {}), (*path, "args"))
        scope = Scope(args=FrozenMap((a.name, a.type) for a in args), target=has_target)
        steps_value = table.get("steps", [])
        if not isinstance(steps_value, list):
            raise self.fail(
                "'steps' must be an array of tables ([[ops.NAME.steps]])", (*path, "steps")
            )
        steps = []
        for index, item in enumerate(steps_value):
            with self.recover():
                steps.append(self.step(name, index, item, (*path, "steps", index), scope))
        result, result_type = None, None
        if "result" in table:
            with self.recover():
                text = self.string(table, "result", path)
                result, result_type = parse_typed(text, scope, self.loc((*path, "result")))
                if result_type not in (Type.INSTANCE, Type.OPT_INSTANCE):
                    raise self.fail(
                        "a query's result must be an instance or instance?", (*path, "result")
                    )
        doc = self.string(table, "doc", path, "")
        return Operation(
            name, args, has_target, tuple(steps), result, result_type, doc, self.loc(path)
        )

    def args(self, value: object, path: KeyPath) -> tuple[ArgDecl, ...]:
        if not isinstance(value, dict):
            raise self.fail("'args' must be a table of name = type", path)
        out = []
        for name, kind in value.items():
            with self.recover():
                out.append(self.arg(name, kind, path))
        return tuple(out)

    def arg(self, name: str, kind: object, path: KeyPath) -> ArgDecl:
        if not _NAME.match(name) or name in _RESERVED_ARGS:
            raise self.fail(
                f"argument name {name!r} is reserved or not an identifier", (*path, name)
            )
        text = kind if isinstance(kind, str) else ""
        optional = text.endswith("?")
        typ = _ARG_TYPES.get(text.rstrip("?"))
        if typ is None or (optional and typ is not Type.PARAMS):
            raise self.fail(
                f"argument {name!r}: type must be str, name, bool, params or params?",
                (*path, name),
            )
        return ArgDecl(name, typ, optional, is_name=text == "name")

    def step(self, op: str, index: int, body: object, path: KeyPath, scope: Scope) -> Step:
        keys = frozenset({"name", "refuse", "when", "actors", "confirm", "effect", "over"})
        table = self.table(body, path, keys)
        kinds = [k for k in ("refuse", "confirm", "effect") if k in table]
        if len(kinds) != 1:
            raise self.fail("a step has exactly one of 'refuse', 'confirm' or 'effect'", path)
        default_name = "confirmation" if kinds[0] == "confirm" else f"{kinds[0]} #{index + 1}"
        label = f"{op}: {self.string(table, 'name', path, default_name)}"
        if kinds[0] == "refuse":
            return self.refusal(label, table, path, scope)
        if kinds[0] == "confirm":
            if table["confirm"] is not True or set(table) - {"name", "confirm"}:
                raise self.fail("a confirmation step is just 'confirm = true'", path)
            return Confirmation(label, self.loc(path))
        return self.effect(label, table, path, scope)

    def refusal(self, label: str, table: Mapping[str, Any], path: KeyPath, scope: Scope) -> Refusal:
        code = table["refuse"]
        try:
            if type(code) is not int:  # 418.0 or true are not status codes
                raise ValueError(code)
            status = Status(code)
        except ValueError:
            codes = ", ".join(str(int(s)) for s in Status if s >= 400 or s == 215)
            raise self.fail(
                f"refuse = {code!r}: not a status code ({codes})", (*path, "refuse")
            ) from None
        if status is Status.OK:
            raise self.fail("a refusal cannot answer 200", (*path, "refuse"))
        when = self.expr_at(table, "when", path, scope, Type.BOOL)
        return Refusal(label, when, status, self.roles(table, path), self.loc(path))

    def effect(self, label: str, table: Mapping[str, Any], path: KeyPath, scope: Scope) -> Effect:
        if "when" in table or "actors" in table:
            raise self.fail("an effect applies to every request that reaches it: no 'when'", path)
        over_text = table.get("over", "service")
        if over_text not in ("service", "device"):
            raise self.fail("'over' is 'service' or 'device'", (*path, "over"))
        updates_table = self.table(
            table["effect"], (*path, "effect"), frozenset(f.value for f in Field)
        )
        inner = scope.bind("i")
        updates = []
        for field_name in updates_table:
            field = Field(field_name)
            typ = Type.PARAMS if field is Field.PARAMS else Type.BOOL
            with self.recover():
                updates.append(
                    (field, self.expr_at(updates_table, field_name, (*path, "effect"), inner, typ))
                )
        return Effect(label, Domain(over_text), tuple(updates), self.loc(path))

    def invariant(self, name: str, body: object, path: KeyPath) -> Invariant:
        table = self.table(body, path, frozenset({"expr", "doc"}))
        expr = self.expr_at(table, "expr", path, Scope(), Type.BOOL)
        return Invariant(name, expr, self.string(table, "doc", path, ""), self.loc(path))

    def property(
        self, name: str, body: object, path: KeyPath, ops: Mapping[str, Operation]
    ) -> Property:
        table = self.table(body, path, frozenset({"expr", "doc", "ops", "actors"}))
        selected = self.op_filter(table, path, ops)
        chosen = [ops[o] for o in selected] if selected is not None else list(ops.values())
        args, hints = self.shared_args(chosen, ops)
        scope = Scope(
            args=args,
            target=any(op.has_target for op in chosen),
            target_optional=not all(op.has_target for op in chosen),
            primed=True,
            status=True,
            declined=True,
            result=self.result_type(chosen),
            arg_hints=hints,
        )
        expr = self.expr_at(table, "expr", path, scope, Type.BOOL)
        roles = self.roles(table, path)
        return Property(
            name, expr, selected, roles, self.string(table, "doc", path, ""), self.loc(path)
        )

    def op_filter(
        self, table: Mapping[str, Any], path: KeyPath, ops: Mapping[str, Operation]
    ) -> frozenset[str] | None:
        if "ops" not in table:
            return None
        value = table["ops"]
        if not isinstance(value, list) or not value:
            raise self.fail("'ops' must be a non-empty list of operation names", (*path, "ops"))
        for item in value:
            if not isinstance(item, str):
                raise self.fail(f"'ops' lists operation names, not {item!r}", (*path, "ops"))
            if item not in ops:
                near = closest(item, ops)
                raise SpecError(
                    f"unknown operation {item!r}{did_you_mean(near)}",
                    self.loc((*path, "ops")),
                    culprit=item,
                    suggestion=near,
                )
        return frozenset(value)

    def shared_args(
        self, chosen: list[Operation], ops: Mapping[str, Operation]
    ) -> tuple[FrozenMap[str, Type], FrozenMap[str, str]]:
        """The arguments a property may read: those every chosen operation declares, with one
        type (an optional ``params?`` left out reads as the empty map). For every other argument
        some operation of the spec declares, why it is not in scope."""
        declared: dict[str, dict[str, Type]] = {}
        for op in ops.values():
            for decl in op.args:
                declared.setdefault(decl.name, {})[op.name] = decl.type
        shared, hints = {}, {}
        for name, types in declared.items():
            lacking = [op.name for op in chosen if op.name not in types]
            kinds = {types[op.name] for op in chosen if op.name in types}
            if lacking:
                hints[name] = (
                    f"declared by {_names(types)} but not by {_names(lacking)},"
                    " which this property speaks of"
                )
            elif len(kinds) > 1:
                by_type = "; ".join(
                    f"{kind.value} in {_names([o.name for o in chosen if types[o.name] is kind])}"
                    for kind in sorted(kinds, key=lambda k: k.value)
                )
                hints[name] = f"the operations give it different types: {by_type}"
            else:
                shared[name] = kinds.pop()
        return FrozenMap(shared), FrozenMap(hints)

    def result_type(self, chosen: list[Operation]) -> Type | None:
        """``result`` is in scope when every chosen operation is a query of one result type."""
        types = {op.result_type for op in chosen}
        return types.pop() if len(types) == 1 else None

    def independence(self, name: str, body: object, path: KeyPath) -> Independence:
        table = self.table(body, path, frozenset({"field", "actors", "doc"}))
        field_name = self.string(table, "field", path)
        if field_name not in FLAGS:
            flags = ", ".join(FLAGS[:-1]) + f" or {FLAGS[-1]}"
            raise self.fail(f"'field' must be {flags}", (*path, "field"))
        return Independence(
            name,
            Field(field_name),
            self.roles(table, path),
            self.string(table, "doc", path, ""),
            self.loc(path),
        )


def _names(names: Iterable[str]) -> str:
    """Operation names for a message, sorted: ``add, delete``."""
    return ", ".join(sorted(names))


def _dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path) or "the document"
