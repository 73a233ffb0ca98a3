"""The shipped spec's properties kill every mutant ``mostate mutate`` makes of it that behaves
differently: each one is killed under Z3 or proved equivalent by ``mostate diff``, none survives
and none stays unknown, so the mutation score is 100%.

``drop_confirmation`` was the last operator out of reach: an operation that forgot its
confirmation point carries a declined request out with 200, and only a property reading
``declines`` (the request carries the user's "no", asked for or not) can see that.
"""

from __future__ import annotations

import json

import pytest

from mostate import load_spec
from mostate.mutation import Outcome, Report, analyse, generate, label


@pytest.fixture(scope="module")
def report() -> Report:
    spec = load_spec()
    return analyse(spec, generate(spec), jobs=2)


def _describe(outcome: Outcome) -> str:
    row = outcome.to_json()
    why = row.get("witness", row.get("reason"))
    return f"{row['id']} {row['description']} ({row['location']}): {row['verdict']}: " + (
        json.dumps(why, sort_keys=True)
    )


@pytest.mark.slow  # all mutants of the shipped spec classified: about a minute on 2 busy cores
def test_the_score_is_100_percent(report: Report) -> None:
    assert len(report.outcomes) > 400, report.summary()
    missed = [o for o in report.outcomes if label(o.verdict) not in ("killed", "equivalent")]
    assert not missed, f"{len(missed)} not killed:\n" + "\n".join(_describe(o) for o in missed)
    assert report.score == 100.0


@pytest.mark.slow  # shares the run above
def test_every_operator_makes_a_mutant_the_spec_kills(report: Report) -> None:
    killed = {o.mutant.operator for o in report.outcomes if label(o.verdict) == "killed"}
    made = {o.mutant.operator for o in report.outcomes}
    assert killed == made, sorted(made - killed)
