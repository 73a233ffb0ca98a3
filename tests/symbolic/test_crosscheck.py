"""``verify --cross-check``: cvc5 answers every query Z3 decided, from the SMT-LIB script Z3
writes in the portable encoding; the answers are reconciled three-way, and a disagreement is an
error naming the check, never a verdict."""

from __future__ import annotations

import json
import sys
import tomllib

import pytest

import mostate.symbolic._cvc5 as cvc5_module
from mostate import SolversDisagree, load_spec
from mostate.cli import main
from mostate.model import Role
from mostate.symbolic import Budget, Check, Proved, Undecided, Verifier, Violated
from mostate.symbolic._z3 import Session, Solver
from mostate.symbolic.crosscheck import cross_check, reconcile
from mostate.symbolic.transition import Branch, CompiledSpec, fresh_request, fresh_state
from tests.conftest import MUTANTS

MANIFEST = tomllib.loads((MUTANTS / "manifest.toml").read_text(encoding="utf-8"))
ROW = Check("one_active", "invariant", "add", "user", Proved(), 0.1)


def test_the_script_is_portable_smtlib_without_zs_array_default() -> None:
    spec = load_spec()
    z = Session()
    request = fresh_request(z, spec.ops["add"], Branch(Role.SERVER))
    step = CompiledSpec(spec).run_step(z, fresh_state(z), request)
    script = Solver(z, Budget()).smtlib([*request.facts, *step.side])
    assert script.startswith("(set-logic ALL)") and "(declare-fun dflt" in script
    assert "(default " not in script  # Z3's own array default, which cvc5 does not know
    assert isinstance(cvc5_module.check(script, Budget()), cvc5_module.Sat)


@pytest.mark.parametrize(
    ("z3", "cvc5"), [(Proved(), cvc5_module.Sat()), (None, cvc5_module.Unsat())]
)
def test_a_disagreement_is_an_error_naming_the_check(
    z3: Proved | None, cvc5: cvc5_module.Answer
) -> None:
    verdict = z3 if z3 is not None else Violated(load_trace(), None)
    with pytest.raises(SolversDisagree, match=r"invariant one_active \(add as user\)"):
        reconcile(Check("one_active", "invariant", "add", "user", verdict, 0.1), cvc5)


def load_trace() -> object:
    from mostate import DeviceState, Trace

    return Trace(DeviceState(), ())


def test_what_cvc5_cannot_decide_is_never_read_as_cross_checked() -> None:
    gave_up = reconcile(ROW, cvc5_module.Unknown("timeout"))
    assert gave_up.verdict == Undecided("Z3 proved it; cvc5 gave up (timeout)")
    assert gave_up.second == "unknown (timeout)"
    unknown = Check("one_active", "invariant", "add", "user", Undecided("rlimit"), 0.1)
    assert reconcile(unknown, cvc5_module.Unsat()).verdict == Undecided("rlimit; cvc5: unsat")
    assert reconcile(ROW, cvc5_module.Unsat()) == Check(
        "one_active", "invariant", "add", "user", Proved(), 0.1, "unsat"
    )


@pytest.mark.slow  # about 4 s here (2 cores)
def test_cvc5_agrees_with_z3_on_every_check_of_a_mutant() -> None:
    name = "lock_elsewhere_blocks_add"  # violations in two services, proofs everywhere else
    spec = load_spec(MUTANTS / MANIFEST[name]["file"])
    rows = list(Verifier(spec, depth=0, second=cross_check(Budget())).checks())
    violated = {c.name for c in rows if isinstance(c.verdict, Violated)}
    assert violated == set(MANIFEST[name]["breaks"])
    assert {c.second for c in rows if isinstance(c.verdict, Violated)} == {"sat"}
    assert {c.second for c in rows if isinstance(c.verdict, Proved)} == {"unsat"}


@pytest.mark.slow  # verify with every query asked twice: about 4 s here (2 cores)
def test_cli_cross_check_on_the_shipped_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--cross-check", "--depth", "0", "--format", "json"]) == 0
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert {c["cvc5"] for c in checks} == {"unsat"} and len(checks) > 400


def test_cli_a_disagreement_exits_3_naming_the_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cvc5_module, "check", lambda script, budget: cvc5_module.Sat())
    assert main(["verify", "--cross-check", "--depth", "0"]) == 3
    err = capsys.readouterr().err
    assert "INTERNAL ERROR: the solvers disagree on invariant one_active (the empty device)" in err


def test_cli_without_cvc5_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mostate.symbolic

    for name in ("cvc5", "mostate.symbolic._cvc5", "mostate.symbolic.crosscheck"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    for name in ("_cvc5", "crosscheck"):
        monkeypatch.delattr(mostate.symbolic, name, raising=False)
    monkeypatch.setitem(sys.modules, "cvc5", None)  # what an install without it looks like
    assert main(["verify", "--cross-check"]) == 2
    assert "pip install 'mostate[cross-check]'" in capsys.readouterr().err
