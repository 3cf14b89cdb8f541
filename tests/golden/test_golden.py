"""Golden cases: the verdict and cause of every number the two seed documents print, every bad
entry in one error, and the ``gradcheck golden`` command (each detector on planted prints is in
``test_causes.py``)."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from helpers import RunCli, assert_one_error_line, builtin_specs, linear_with_documented, seed_path

from gradcheck.golden.judging import (
    GoldenRecord,
    check_spec,
    judge,
    verdict_counts,
)
from gradcheck.spec import (
    Spec,
    SpecError,
    parse_spec,
    spec_to_toml,
)

REQUIRED_KEYS = {"network", "quantity", "where", "documented", "computed", "verdict", "cause"}


@pytest.fixture(scope="module")
def linear(linear_seed: Spec) -> list[GoldenRecord]:
    return check_spec(linear_seed)


@pytest.fixture(scope="module")
def sigmoid(sigmoid_seed: Spec) -> list[GoldenRecord]:
    return check_spec(sigmoid_seed)


def _table(text: str) -> list[tuple[str, str, str]]:
    rows = [line.split() for line in text.strip().splitlines()]
    return [(r[0], r[1], r[2] if len(r) > 2 else "") for r in rows]


def _at(records: list[GoldenRecord], line: int, quantity: str) -> GoldenRecord:
    (found,) = [
        r for r in records if r.where.startswith(f"line {line}:") and r.quantity == quantity
    ]
    return found


# -- seed 000: linear 2-2-1 ------------------------------------------------------------------
LINEAR = _table("""
    out:h1 match
    out:h2 match
    out:out match
    out:out match
    loss match
    dloss_dout:out match
    updated:w5 match
    updated:w6 match-truncated
    updated:w1 match-truncated
    updated:w2 match-truncated
    updated:w3 match-truncated
    updated:w4 match-truncated
    out:h1@1 discrepancy intermediates
    out:h2@1 discrepancy slip
    out:out@1 discrepancy intermediates
    out:out@1 discrepancy repeat
    out:out match
    out:h1 match
    out:h2 match
    out:out match
    dloss_dout:out match
    loss match
    updated:w1 discrepancy rule
    updated:w3 discrepancy rule
    updated:w2 discrepancy rule
    updated:w4 discrepancy rule
    updated:w5 match
    updated:w6 match
    out:h1@1 discrepancy rule
    out:h2@1 discrepancy rule
    out:out@1 discrepancy rule
""")


def test_linear_second_forward_pass_follows_from_truncated_weights_and_a_slip(
    linear: list[GoldenRecord],
) -> None:
    h1 = _at(linear, 131, "out:h1@1")
    assert "2 * 0.162 + 3 * 0.218 = 0.978" in h1.cause
    assert "0.162 = updated:w1 (truncated)" in h1.cause
    assert h1.computed == pytest.approx(0.981744, abs=1e-12)
    h2 = _at(linear, 132, "out:h2@1")
    assert h2.cause == "arithmetic slip: 2 * 0.115 + 3 * 0.073 = 0.449, printed 0.448"
    out = _at(linear, 133, "out:out@1")
    assert "0.978 * 0.195 + 0.448 * 0.213 = 0.286134 (rounded)" in out.cause
    assert "0.448 = out:h2@1 (slip)" in out.cause
    assert _at(linear, 137, "out:out@1").cause.startswith("repeats line 133")


def test_linear_code_comments_follow_the_code_layout_rule(linear: list[GoldenRecord]) -> None:
    rules = {(r.where[:8], r.quantity): r.rule for r in linear if r.finding == "rule"}
    assert rules == {
        ("line 184", "updated:w1"): "output-first, code-layout",  # w1 pairs i1 with w5' either way
        ("line 184", "updated:w3"): "code-layout",
        ("line 185", "updated:w2"): "code-layout",
        ("line 185", "updated:w4"): "output-first, code-layout",
        ("line 192", "out:h1@1"): "code-layout",
        ("line 192", "out:h2@1"): "code-layout",
        ("line 193", "out:out@1"): "code-layout",
    }
    w3 = _at(linear, 184, "updated:w3")
    assert w3.alternative == pytest.approx(0.11535608, abs=5e-9)
    assert w3.computed == pytest.approx(0.11572, abs=1e-12)  # true gradient descent


# -- seed 001: sigmoid 2-2-2 -----------------------------------------------------------------
SIGMOID = _table("""
    net:h1 match
    out:h1 match
    net:h2 match
    out:h2 match
    net:o1 match
    out:o1 match
    out:o1 match
    out:h1 discrepancy typo
    net:o2 discrepancy knock-on
    out:o2 match
    out:o2 match
    out:o1 match
    out:o2 match
    out:o1 match
    loss:o1 match
    out:o2 match
    loss:o2 match
    loss match
    dloss_dout:o1 match
    dout_dnet:o1 match
    dnet_dparam:w5 match
    grad:w5 match
    updated:w5 match
    updated:w5 match
    dloss_dout:o1 match
    dout_dnet:o1 match
    dnet_dparam:w6 match
    grad:w6 match-truncated
    updated:w6 match
    updated:w6 match
    dloss_dout:o2 discrepancy typo
    dout_dnet:o2 match
    dnet_dparam:w7 match
    dloss_dout:o2 match
    grad:w7 discrepancy intermediates
    updated:w7 match
    updated:w7 match
    dloss_dout:o2 discrepancy repeat
    dout_dnet:o2 match
    dnet_dparam:w8 match
    grad:w8 match
    updated:w8 match
    updated:w8 match
    dloss_dout:o1 match
    dout_dnet:o1 match
    delta:o1 match
    dnet_dout:h1->o1 match
    dloss_dout_via:h1<-o1 match
    dout_dnet:o2 match
    dloss_dout:o2 match
    delta:o2 match-truncated
    dnet_dout:h1->o2 match
    param:w8 discrepancy copied
    dloss_dout_via:h1<-o2 match-truncated
    dloss_dout:h1 match
    out:h1 match
    dout_dnet:h1 match
    dnet_dparam:w1 match
    dout_dnet:h1 match
    grad:w1 match
    updated:w1 match
    dloss_dout:h1 discrepancy typo
    dout_dnet:h1 match
    grad:w2 discrepancy operator
    updated:w2 match
    grad:w3 discrepancy copied
    updated:w3 discrepancy knock-on
    dloss_dout:h2 discrepancy unexplained
    dout_dnet:h2 match
    grad:w4 discrepancy operator
    updated:w4 match
    loss match
    loss@1 discrepancy rule
    out:o1@10000 discrepancy rule
    out:o2@10000 discrepancy rule
""")


@pytest.mark.parametrize(
    ("seed", "table", "counts"),
    [
        (
            "linear",
            LINEAR,
            {"linear-2-2-1": {"match": 15, "match-truncated": 5, "discrepancy": 11}},
        ),
        (
            "sigmoid",
            SIGMOID,
            {"sigmoid-2-2-2": {"match": 57, "match-truncated": 3, "discrepancy": 15}},
        ),
    ],
)
def test_each_seed_documented_value_gets_its_verdict(
    seed: str,
    table: list[tuple[str, str, str]],
    counts: dict[str, int],
    request: pytest.FixtureRequest,
) -> None:
    records: list[GoldenRecord] = request.getfixturevalue(seed)
    assert [(r.quantity, r.verdict, r.finding) for r in records] == table
    assert verdict_counts(records) == counts
    assert all(r.cause == "" for r in records if r.verdict != "discrepancy")


@pytest.mark.parametrize(
    ("line", "quantity", "phrases"),
    [
        (73, "out:h1", ["a digit is dropped", "0.593269992"]),
        (
            73,
            "net:o2",
            [
                "knock-on from line 73 (out:h1 printed 0.59326992, typo)",
                "0.5 * 0.59326992 + 0.55",
                "(truncated)",
                "corrected (0.59326992 -> 0.59326999) it gives 1.2249214029",
                "0.59326992 = out:h1 (typo)",
            ],
        ),
        (305, "dloss_dout:o2", ["'0.' is missing", "-0.21707153"]),
        (340, "grad:w7", ["-0.21707153 * 0.17551005 * 0.593269992 = -0.02260253", "truncated"]),
        (374, "dloss_dout:o2", ["repeats line 305", "'0.' is missing"]),
        (561, "dloss_dout:h1", ["two adjacent digits are swapped", "0.03635031"]),
        (561, "grad:w2", ["'+' where '*'", "0.03635013 = dloss_dout:h1 (typo)"]),
        (573, "grad:w3", ["copied from grad:w1", "(truncated)"]),
        (
            575,
            "updated:w3",
            [
                "knock-on from line 573 (grad:w3 printed 0.00043856, copied)",
                "0.25 - 0.5 * 0.00043856",
                "0.00043856 = grad:w3 (copied)",
            ],
        ),
        (492, "param:w8", ["copied from param:w7 = 0.5 (exact)", "param:w8 is 0.55"]),
        (586, "dloss_dout:h2", ["unexplained: computed 0.04137032"]),
        (586, "grad:w4", ["'+' where '*'", "0.041369954 = dloss_dout:h2 (unexplained)"]),
        (
            605,
            "loss@1",
            [
                "update rule output-first",
                "true gradient descent gives 0.2910277",
                "it explains 3 prints, at line 605, line 610, line 611",
            ],
        ),
        (610, "out:o1@10000", ["follows from update rule output-first, as at line 605: "]),
    ],
)
def test_sigmoid_discrepancy_causes_name_the_finding(
    sigmoid: list[GoldenRecord], line: int, quantity: str, phrases: list[str]
) -> None:
    cause = _at(sigmoid, line, quantity).cause
    for phrase in phrases:
        assert phrase in cause


def test_sigmoid_matches_say_what_the_printed_arithmetic_leaves_out(
    sigmoid: list[GoldenRecord],
) -> None:
    assert "0.036350306 * 0.2413 * 0.05 gives 0.000438566" in _at(sigmoid, 549, "grad:w1").note
    assert _at(sigmoid, 549, "dout_dnet:h1").verdict == "match"  # 0.2413: fewer digits, not wrong


def _reference_2_2_2(steps: int, output_first: bool) -> list[float]:
    """Seed 001 in plain Python floats: sigmoid layers, frozen shared biases 0.35 / 0.60."""
    w, v, x, t, lr = (
        [[0.15, 0.20], [0.25, 0.30]],
        [[0.40, 0.45], [0.50, 0.55]],
        (0.05, 0.1),
        (0.01, 0.99),
        0.5,
    )

    def sig(z: float) -> float:
        return 1.0 / (1.0 + math.exp(-z))

    def outputs() -> tuple[list[float], list[float]]:
        h = [sig(w[j][0] * x[0] + w[j][1] * x[1] + 0.35) for j in range(2)]
        return h, [sig(v[k][0] * h[0] + v[k][1] * h[1] + 0.60) for k in range(2)]

    for _ in range(steps):
        h, o = outputs()
        d_o = [(o[k] - t[k]) * o[k] * (1 - o[k]) for k in range(2)]
        new_v = [[v[k][j] - lr * d_o[k] * h[j] for j in range(2)] for k in range(2)]
        through = new_v if output_first else v
        d_h = [sum(d_o[k] * through[k][j] for k in range(2)) * h[j] * (1 - h[j]) for j in range(2)]
        w = [[w[j][i] - lr * d_h[j] * x[i] for i in range(2)] for j in range(2)]
        v = new_v
    return outputs()[1]


def test_sigmoid_10000_steps_reproduce_the_document_only_with_output_weights_first(
    sigmoid: list[GoldenRecord],
) -> None:
    true_gd, first = _reference_2_2_2(10000, False), _reference_2_2_2(10000, True)
    for k, (line, printed, gd_digits) in enumerate(
        [(610, "0.015912196", "0.01591362"), (611, "0.984065734", "0.98406427")]
    ):
        r = _at(sigmoid, line, f"out:o{k + 1}@10000")
        assert r.documented == printed
        assert r.computed == pytest.approx(true_gd[k], abs=1e-12)
        assert r.alternatives and dict(r.alternatives)["output-first"] == pytest.approx(
            first[k], abs=1e-12
        )
        assert judge(printed, first[k]) == "match"
        assert judge(printed, true_gd[k]) == "discrepancy"
        assert judge(gd_digits, true_gd[k]) == "match"
        assert r.rule == "output-first"  # trained biases do not reproduce it
        assert "trained biases" in "".join(dict(r.alternatives))


# -- bad entries -----------------------------------------------------------------------------
def test_every_bad_entry_is_reported_in_one_error() -> None:
    spec = linear_with_documented(
        [
            {"quantity": "grad:w9", "printed": "1"},
            {"quantity": "loss", "printed": "1", "expression": "os.sep"},
        ]
    )
    with pytest.raises(SpecError) as err:
        check_spec(spec)
    message = str(err.value)
    assert "documented[0].quantity" in message and "documented[1].expression" in message
    assert "\n" not in message


# -- the command -----------------------------------------------------------------------------
def test_cli_json_lists_every_record_of_every_documented_builtin_network(
    run_cli: RunCli, linear: list[GoldenRecord], sigmoid: list[GoldenRecord]
) -> None:
    status, out, _ = run_cli(["golden", "--json"])
    assert status == 0
    rows: list[dict[str, Any]] = json.loads(out)
    assert all(row.keys() >= REQUIRED_KEYS for row in rows)
    assert all(isinstance(row["computed"], float) for row in rows)
    seeds = {"linear-2-2-1": linear, "sigmoid-2-2-2": sigmoid}  # checked already
    checked = [seeds.get(s.name) or check_spec(s) for s in builtin_specs() if s.documented]
    expected = [(r.network, r.quantity, r.verdict, r.cause) for records in checked for r in records]
    assert [(r["network"], r["quantity"], r["verdict"], r["cause"]) for r in rows] == expected


def test_cli_tables_end_with_counts_per_verdict(run_cli: RunCli) -> None:
    path = str(seed_path("linear-2-2-1"))
    status, out, _ = run_cli(["golden", path])
    assert status == 0
    assert "linear-2-2-1: 15 match, 5 match-truncated, 11 discrepancy" in out
    assert "out:h2@1" in out and "discrepancy" in out


def test_cli_bad_quantity_is_one_line_with_file_and_field(tmp_path: Path, run_cli: RunCli) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        spec_to_toml(linear_with_documented([{"quantity": "updated:w7", "printed": "0.5"}]))
    )
    status, out, err = run_cli(["golden", str(bad)])
    assert status == 2 and out == ""
    assert_one_error_line(err, str(bad), "documented[0].quantity", "'w7'")


def test_cli_spec_without_documented_values_is_bad_input(tmp_path: Path, run_cli: RunCli) -> None:
    bare = tmp_path / "bare.toml"
    bare.write_text(spec_to_toml(linear_with_documented([])))
    status, _, err = run_cli(["golden", str(bare)])
    assert status == 2 and "no [[documented]] values" in err


def test_a_float32_spec_is_judged_in_float64() -> None:
    data = tomllib.loads(seed_path("linear-2-2-1").read_text())
    as64 = check_spec(parse_spec(data, "linear.toml"))
    as32 = check_spec(parse_spec({**data, "dtype": "float32"}, "linear.toml"))
    assert [(r.verdict, r.cause) for r in as32] == [(r.verdict, r.cause) for r in as64]


def test_a_given_constant_printed_with_fewer_digits_is_not_a_truncation(
    sigmoid: list[GoldenRecord],
) -> None:
    """w8 is 0.55 in the network; printing it as "0.5" names another number (w7's), so it is a
    discrepancy, although cutting 0.55 at one decimal would give the same digits."""
    record = _at(sigmoid, 492, "param:w8")
    assert (record.verdict, record.finding) == ("discrepancy", "copied")
    assert judge("0.5", 0.55) == "match-truncated"  # the rule for computed values is unchanged
