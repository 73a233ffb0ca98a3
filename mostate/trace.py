"""Traces: the one replayable form every checker reports in, and the JSON-lines files people run.

A trace file has one request per line (the JSON form of :class:`~mostate.model.Request`). Two
optional extras make it self-contained:

* a first line ``{"start": STATE}`` sets the state the trace starts from (a counterexample to
  induction starts from an arbitrary state, not the empty device);
* a request line may carry ``"expect": {"status": 200, "state"?: STATE}``, what a real device was
  seen to answer; ``mostate check`` reports where the spec disagrees.

:class:`Trace` is what Z3, the explorer and the Hypothesis kit return for a violation. It is
replayed through the engine before anyone reports it (:meth:`Trace.confirm`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from . import strictjson
from .engine import Engine, Transition
from .errors import ReplayError, RequestError
from .model import Clause, DeviceState, Outcome, Request, Status


@attrs.frozen
class TraceLine:
    """One line of a trace file, read: a request or the reason it is malformed."""

    number: int
    request: Request | None
    error: str | None = None
    expect: Any = None


_UNDECODED = re.compile("[\udc80-\udcff]")
"""The lone surrogates a line read with ``errors="surrogateescape"`` holds for bytes that are
not UTF-8: such a line is malformed (answered 400), the rest of the file is read."""

MAX_LINE = 1_000_000
"""The longest trace line read (characters); a request is a few hundred."""


def read_lines(lines: Iterable[str]) -> tuple[DeviceState | None, list[TraceLine]]:
    """Read a trace file's lines: the start state (if its first line gives one) and each request.

    A malformed request line is kept with its error (it gets status 400; the run goes on). A
    start state that does not read is a :class:`~mostate.errors.RequestError` naming its line:
    running from the empty device instead would check another trace than the one given.

    >>> start, lines = read_lines(['{"start": {}}', '{"actor": "user", "op": "get_active",'
    ...                            ' "service": "MMS"}', 'not json', ''])
    >>> start, [(line.number, line.error) for line in lines]
    (DeviceState(services=FrozenMap({})), [(2, None), (3, 'line 3: not JSON: ...')])
    """
    start: DeviceState | None = None
    out: list[TraceLine] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        if len(text) > MAX_LINE:
            out.append(TraceLine(number, None, f"line {number}: longer than {MAX_LINE} characters"))
            continue
        if _UNDECODED.search(text):
            out.append(TraceLine(number, None, f"line {number}: not UTF-8 text"))
            continue
        try:
            obj = strictjson.load(text)
        except RequestError as err:
            out.append(TraceLine(number, None, f"line {number}: {err}"))
            continue
        if isinstance(obj, dict) and set(obj) == {"start"} and not out and start is None:
            try:
                start = DeviceState.from_json(obj["start"])
            except RequestError as err:
                raise RequestError(f"line {number}: bad start state: {err}") from None
            continue
        out.append(_request_line(number, obj))
    return start, out


def _request_line(number: int, obj: object) -> TraceLine:
    expect = None
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k != "note"}  # a comment for people
        expect = obj.pop("expect", None)
    try:
        return TraceLine(number, Request.from_json(obj), expect=expect)
    except RequestError as err:
        return TraceLine(number, None, f"line {number}: {err}", expect)


def run_lines(engine: Engine, state: DeviceState, lines: Iterable[TraceLine]) -> Iterator[Outcome]:
    """Apply each line in turn; a malformed line answers 400 and leaves the state as it was."""
    for line in lines:
        if line.request is None:
            yield Outcome(
                Status.BAD_REQUEST, state, Clause("request", "malformed"), reason=line.error
            )
            continue
        outcome = engine.apply(state, line.request)
        state = outcome.state
        yield outcome


@attrs.frozen
class Trace:
    """A sequence of requests from a start state; ``violates`` names what its last step breaks.

    >>> from mostate import load_spec, Engine, Request
    >>> r = Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "a"})
    >>> t = Trace(DeviceState(), (r,))
    >>> print(t.to_jsonl())
    {"start": {}}
    {"actor": "server", "op": "add", "service": "MMS", "instance": "a"}
    <BLANKLINE>
    >>> Trace.from_jsonl(t.to_jsonl()) == t == Trace.from_json(t.to_json())
    True
    >>> t.to_json()["requests"][0]["op"]
    'add'
    """

    start: DeviceState
    requests: tuple[Request, ...]
    violates: str | None = None

    def to_jsonl(self) -> str:
        lines = [json.dumps({"start": self.start.to_json()})]
        lines.extend(json.dumps(r.to_json()) for r in self.requests)
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        """The trace as one JSON object (for reports): ``{"start": STATE, "requests": [...]}``,
        with ``"violates"`` when it names what its last step breaks."""
        out: dict[str, Any] = {
            "start": self.start.to_json(),
            "requests": [r.to_json() for r in self.requests],
        }
        if self.violates is not None:
            out["violates"] = self.violates
        return out

    @classmethod
    def from_json(cls, obj: Any) -> Trace:
        """A trace from :meth:`to_json`'s form; RequestError when it is not one."""
        if not isinstance(obj, dict) or not isinstance(obj.get("requests"), list):
            raise RequestError('a trace is an object with "requests": [...] and maybe "start"')
        start = DeviceState.from_json(obj.get("start", {}))
        requests = tuple(Request.from_json(r) for r in obj["requests"])
        violates = obj.get("violates")
        return cls(start, requests, violates if isinstance(violates, str) else None)

    @classmethod
    def from_jsonl(cls, text: str, violates: str | None = None) -> Trace:
        start, lines = read_lines(text.splitlines())
        bad = [line.error for line in lines if line.request is None]
        if bad:
            raise RequestError(bad[0] or "malformed trace")
        requests = tuple(line.request for line in lines if line.request is not None)
        return cls(start or DeviceState(), requests, violates)

    def replay(self, engine: Engine) -> list[Transition]:
        """The raw steps of the trace, each from the state the previous one left."""
        state, out = self.start, []
        for request in self.requests:
            step = engine.evaluate(state, request)
            out.append(step)
            state = step.outcome.state
        return out

    def confirm_start(self, engine: Engine) -> tuple[Clause, ...]:
        """Check that the start state itself breaks what the trace claims (a violation of no
        request: the empty device breaking an invariant); returns what the start state breaks.

        >>> from mostate import load_spec
        >>> Trace(DeviceState(), (), "one_active").confirm_start(Engine(load_spec()))
        Traceback (most recent call last):
        mostate.errors.ReplayError: the start state does not break 'one_active' (it breaks: nothing)
        """
        broken = engine.state_violations(self.start)
        if self.violates is None or self.violates not in {c.name for c in broken}:
            names = sorted(c.name for c in broken) or "nothing"
            raise ReplayError(
                f"the start state does not break {self.violates!r} (it breaks: {names})"
            )
        return broken

    def confirm(self, engine: Engine) -> Transition:
        """Replay the trace and check that its last step breaks what it claims to.

        Raises :class:`~mostate.errors.ReplayError` when it does not: the checker that built
        the trace disagrees with the engine, a bug in mostate rather than in the spec.
        """
        if not self.requests:
            raise ReplayError("an empty trace shows nothing (see confirm_start)")
        steps = self.replay(engine)
        last = steps[-1]
        names = {c.name for c in last.violations}
        if self.violates is not None and self.violates in {
            i.name for i in engine.spec.independences
        }:
            names |= {c.name for c in engine.independence_violations(last.before, last.request)}
        if self.violates is not None and self.violates not in names:
            raise ReplayError(
                f"the engine does not see {self.violates!r} broken by the last step "
                f"(it sees: {sorted(names) or 'nothing'})"
            )
        return last
