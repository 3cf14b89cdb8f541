"""Mutation score (``gradcheck mutate``): the operators plant the mutants they name, each mutant
changes one expression and nothing else, verification kills the mutants of a correct candidate,
an equivalent mutant (dead code, ``* 1.0`` -> ``/ 1.0``) is listed apart, a mutant verification
misses is reported as survived with its line, the mutated ``gradcheck.hand`` is the one called
(and the real one is back afterwards), mutants run in worker processes as in this one, and bad
input is one line with status 2.

Cost: about 20 s on 2 cores (the process pool test about half of it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import RunCli, assert_one_error_line, seed_path

from gradcheck.checking.mutants import OPERATORS, mutants, statement_ran
from gradcheck.checking.mutation import MutationReport, mutation_score
from gradcheck.spec import GradcheckError, Spec

ROOT = Path(__file__).resolve().parents[2]
LINEAR = seed_path("linear-2-2-1")

# Correct on linear-2-2-1 (identity layers, half_sse, no bias) but for a term of 1e-13 W1 that
# no tolerance sees; dead code in _unused; a factor 1.0 that / 1.0 leaves bitwise equal.
TINY = """\
import numpy as np


def _unused(x):
    return x * 2.0


def grads(spec, params, inputs, targets):
    w1, w2 = params[0]["W"], params[1]["W"]
    h = inputs @ w1.T
    o = h @ w2.T
    g = (o - targets) * 1.0
    d1 = g @ w2
    return [{"W": d1.T @ inputs + 1e-13 * w1}, {"W": g.T @ h}]
"""
TINY_LINES = {
    "dead": 5,
    "factor": 12,
    "tiny term": 14,
}


def _networks(spec: Spec) -> list[tuple[Any, ...]]:
    return [(spec, spec.initial_params(), spec.inputs(), spec.targets())]


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    path = tmp_path / "tiny.py"
    path.write_text(TINY)
    return f"{path}:grads"


@pytest.fixture(scope="module")
def linear() -> Spec:
    from gradcheck.spec import load_spec

    return load_spec(LINEAR)


def _at(report: MutationReport, line: int) -> dict[str, str]:
    """description -> status of the mutants on ``line``."""
    return {r.mutant.description: r.status for r in report.results if r.mutant.line == line}


# -- the operators ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "operator", "mutated"),
    [
        ("y = a + b", "arithmetic", "y = a - b"),
        ("y = a / b", "arithmetic", "y = a * b"),
        ("y += a", "arithmetic", "y -= a"),
        ("y = a + b", "drop-term", "y = b"),
        ("y = a * b", "drop-term", "y = a"),
        ("y = a @ b", "swap", "y = b @ a"),
        ("y = f(a, b)", "swap", "y = f(b, a)"),
        ("y = d.T @ x", "transpose", "y = d @ x"),
        ("y = -a", "sign", "y = a"),
        ("y = 2.0 * a", "sign", "y = -2.0 * a"),
        ("y = 2.0 * a", "constant", "y = 3.0 * a"),
        ("y = a.sum(axis=0)", "axis", "y = a.sum(axis=-1)"),
        ("y = a.sum(axis=-1)", "axis", "y = a.sum(axis=0)"),
        ("y = a.sum(1)", "axis", "y = a.sum(0)"),
        ("y = a.max(axis=1, keepdims=True)", "axis", "y = a.max(axis=1, keepdims=False)"),
        ("y = a > 0", "condition", "y = a <= 0"),
        ("y = 'W' in p", "condition", "y = 'W' not in p"),
        ("y = a is not None", "condition", "y = a is None"),
        ("y = a and b", "condition", "y = a or b"),
        ("y = a - (2 ** x)", "sign", "y = a - ((-2) ** x)"),  # parenthesised where needed
    ],
)
def test_each_operator_plants_the_mutant_it_names(line: str, operator: str, mutated: str) -> None:
    found = {m.source.strip() for m in mutants(line + "\n", "m.py", "m", [operator])}
    assert mutated in found


def test_a_mutant_changes_one_expression_and_keeps_every_other_line() -> None:
    source = "import numpy as np\n\n\ndef f(a, b):  # a comment\n    return np.sum(a * b, axis=0)\n"
    found = mutants(source, "m.py", "m")
    assert {m.operator for m in found} == {"drop-term", "arithmetic", "axis"}
    for m in found:
        old, new = source.splitlines(), m.source.splitlines()
        assert len(old) == len(new) and m.line == 5
        assert [k for k, (a, b) in enumerate(zip(old, new, strict=True)) if a != b] == [4]
        assert m.changed_lines() == [f"-{old[4]}", f"+{new[4]}"]
        assert m.diff.startswith("--- m.py\n+++ m.py (mutant)\n@@ -5 +5 @@")


def test_annotations_f_strings_and_lines_marked_no_mutate_are_left_alone() -> None:
    source = (
        "def f(a: int = 1) -> list[int]:\n"
        "    print(f'{a + 1}')\n"
        "    return a + 2  # pragma: no mutate\n"
    )
    found = mutants(source, "m.py", "m")
    assert {m.line for m in found} == {1}  # the default value 1 only
    assert all(m.description in ("1 -> 2", "1 -> -1") for m in found)


def test_a_statement_ran_where_any_of_its_lines_ran_or_it_lies_outside_functions() -> None:
    source = (
        "X = 1.0\n\n\ndef f(a):\n    if a:\n        return (a +\n                X)\n    return 0\n"
    )
    assert statement_ran(source, 1, set())  # module level: runs on import, never traced
    assert not statement_ran(source, 7, {4, 5, 8})  # the return's two lines never ran
    assert statement_ran(source, 7, {6})  # one line of the statement ran: it ran
    assert statement_ran(source, 5, {5, 8}) and not statement_ran(source, 8, {5, 6})


def test_an_unknown_operator_is_refused() -> None:
    with pytest.raises(GradcheckError, match="unknown mutation operators"):
        mutants("x = 1\n", "m.py", "m", ["arithmetic", "nonsense"])
    assert len(OPERATORS) == len(set(OPERATORS))


# -- classification --------------------------------------------------------------------------
def test_dead_code_and_a_times_one_are_equivalent_and_a_missed_term_survives(
    tiny: str, linear: Spec
) -> None:
    report = mutation_score(tiny, _networks(linear), jobs=1)
    assert all(s == "equivalent" for s in _at(report, TINY_LINES["dead"]).values())
    assert _at(report, TINY_LINES["factor"])["* -> /"] == "equivalent"
    # dead code never ran, and is said so; the factor ran, an identity (both were "equivalent")
    reach = {r.mutant.line: r.reached for r in report.results}
    assert (reach[TINY_LINES["dead"]], reach[TINY_LINES["factor"]]) == (False, True)
    dead = [r for r in report.results if r.mutant.line == TINY_LINES["dead"]]
    assert report.not_reached == len(dead) and report.to_dict()["not_reached"] == len(dead)
    assert all(r.reason.startswith("its statement never ran") for r in dead)
    assert f"({len(dead)} of them on lines no network ran)" in report.summary()
    term = _at(report, TINY_LINES["tiny term"])
    survivors = {description for description, status in term.items() if status == "survived"}
    assert survivors == {  # each changes the 1e-13 w1 term, which no tolerance sees
        "d1.T @ inputs + 1e-13 * w1 -> d1.T @ inputs",
        "+ -> -",
        "* -> /",
        "1e-13 * w1 -> 1e-13",
        "1e-13 -> -1e-13",
    }
    assert term["1e-13 -> 1.0000000000001"] == "killed"
    assert term["d1.T -> d1"] == "killed"  # a shape error: the mutant raised
    assert {r.mutant.line for r in report.results if r.status == "survived"} == {14}
    killed, judged = report.count("killed"), len(report.results) - report.count("equivalent")
    assert report.score == killed / judged and 0.75 < report.score < 1
    assert not report.ok
    reason = next(r.reason for r in report.results if r.status == "survived")
    assert reason.startswith("verified on all 1 networks; gradients differ")


def test_a_correct_candidates_mutants_are_mostly_killed() -> None:
    from helpers import builtin_specs

    from gradcheck.generate.strategies import sample_networks

    networks = [n for s in builtin_specs() for n in _networks(s)]
    networks += [tuple(c) for c in sample_networks(1, 0)]
    candidate = f"{ROOT / 'examples' / 'minimal_candidate.py'}:grads"
    report = mutation_score(candidate, networks, limit=10, seed=0, jobs=1)
    assert len(report.results) == 10 < report.found
    assert report.count("killed") >= 3  # most others: paths these 3 networks do not take
    assert report.score is not None and report.score >= 0.8


def test_a_mutant_that_runs_forever_is_killed_by_the_timeout(tmp_path: Path, linear: Spec) -> None:
    path = tmp_path / "looping.py"
    path.write_text(
        "from gradcheck.hand import hand_grads\n"
        "\n"
        "def grads(spec, params, inputs, targets):\n"
        "    n = 3\n"
        "    while n > 0:\n"
        "        n -= 1  # n += 1: forever\n"
        "    return hand_grads(spec, params, inputs, targets)\n"
    )
    report = mutation_score(
        f"{path}:grads", _networks(linear), operators=["arithmetic"], jobs=1, timeout=0.5
    )
    [result] = report.results
    assert (result.mutant.line, result.status) == (6, "killed")
    assert result.reason == "ran past the 0.5 s timeout"


def test_the_mutated_hand_module_is_the_one_called_and_the_real_one_comes_back(
    linear: Spec,
) -> None:
    import gradcheck.hand
    import gradcheck.hand.dense

    before = {n: m for n, m in sys.modules.items() if n.startswith("gradcheck.hand")}
    report = mutation_score(
        "gradcheck.hand:hand_grads",
        _networks(linear),
        modules=["gradcheck.hand.dense"],
        operators=["transpose", "swap"],
        jobs=1,
    )
    assert report.modules == ("gradcheck/hand/dense.py",)
    status = {r.mutant.description: r.status for r in report.results}
    assert status['layer["W"].T -> layer["W"]'] == "killed"
    assert status["delta.T -> delta"] == "killed"
    assert {n: m for n, m in sys.modules.items() if n.startswith("gradcheck.hand")} == before
    assert gradcheck.hand.dense is before["gradcheck.hand.dense"]


def test_worker_processes_judge_mutants_as_this_process_does(tiny: str, linear: Spec) -> None:
    here = mutation_score(tiny, _networks(linear), operators=["drop-term", "sign"], jobs=1)
    pooled = mutation_score(tiny, _networks(linear), operators=["drop-term", "sign"], jobs=2)
    assert pooled.jobs == 2
    assert [(r.mutant.description, r.status) for r in pooled.results] == [
        (r.mutant.description, r.status) for r in here.results
    ]


# -- the command line ------------------------------------------------------------------------
def test_mutate_prints_survivors_and_equivalents_with_line_and_diff(
    tiny: str, run_cli: RunCli
) -> None:
    args = ["mutate", str(LINEAR), "--examples", "0", "--candidate", tiny, "--jobs", "1"]
    status, out, err = run_cli([*args, "--operators", "drop-term,arithmetic"])
    assert status == 1, err
    lines = out.splitlines()
    file = tiny.rpartition(":")[0]
    at = f"{file}:{TINY_LINES['tiny term']} drop-term: d1.T @ inputs + 1e-13 * w1 -> d1.T @ inputs"
    survived = lines.index(f"SURVIVED   {at}")
    assert lines[survived + 1].strip().startswith("-    return [{")
    assert lines[survived + 2].strip() == '+    return [{"W": d1.T @ inputs}, {"W": g.T @ h}]'
    assert lines[survived + 3].strip().startswith("verified on all 1 networks; gradients differ")
    assert any(line.startswith(f"equivalent {file}:{TINY_LINES['dead']}") for line in lines)
    assert lines[-1].startswith(f"{tiny}: ") and "mutation score" in lines[-1]

    status, out, _ = run_cli([*args, "--operators", "transpose", "--json"])
    data = json.loads(out)  # w1.T, w2.T, d1.T and g.T; g is 1 x 1, so g.T -> g is equivalent
    assert status == 0 and data["ok"] and data["survived"] == 0
    assert (data["killed"], data["equivalent"], data["checked"]) == (3, 1, 4)
    assert data["score"] == 1.0
    for r in data["results"]:  # a unified diff of the one changed line
        diff = r["diff"].splitlines()
        assert diff[2] == f"@@ -{r['line']} +{r['line']} @@"
        assert [line[0] for line in diff[3:]] == ["-", "+"]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--candidate", "nowhere.py:grads"], "no such file"),
        (["--candidate", "gradcheck.hand:hand_grads", "--mutate", "no_such_module_x"], "--mutate"),
        (["--candidate", "gradcheck.hand:hand_grads", "--operators", "nonsense"], "nonsense"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    extra: list[str], fragment: str, run_cli: RunCli
) -> None:
    status, out, err = run_cli(["mutate", str(LINEAR), "--examples", "0", "--jobs", "1", *extra])
    assert status == 2 and out == ""
    assert_one_error_line(err, fragment)


def test_a_candidate_that_fails_itself_is_bad_input(tmp_path: Path, run_cli: RunCli) -> None:
    path = tmp_path / "wrong.py"
    path.write_text(
        "def grads(spec, params, inputs, targets):\n"
        "    return [{k: 2 * a for k, a in g.items()} for g in params]\n"
    )
    status, _, err = run_cli(
        ["mutate", str(LINEAR), "--examples", "0", "--candidate", f"{path}:grads"]
    )
    assert status == 2
    assert_one_error_line(err, "fails verification itself", "linear-2-2-1")
