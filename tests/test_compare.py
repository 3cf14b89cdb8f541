"""Tolerances, the classification of disagreements, and the verdict records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradcheck import compare
from gradcheck.backprop import hand_grads
from gradcheck.compare import (
    STATUSES,
    TOLERANCES,
    NetworkVerdict,
    Tolerance,
    classify,
    precision_allowance,
    tolerance_for,
)
from gradcheck.spec import (
    Array,
    GradcheckError,
    Params,
    Spec,
    builtin_networks_dir,
    load_specs,
)
from gradcheck.verify import verify

TIGHT = Tolerance(rtol=1e-9, atol=1e-12, fd_safety=4.0)

# hand, jax, fd, fd error estimate, stencil crosses a kink, point on a kink -> status
CLASSIFICATION = [
    ("all agree", 1.0, 1.0, 1.0 + 1e-9, 1e-9, False, False, "ok"),
    ("hand wrong", 1.1, 1.0, 1.0, 1e-9, False, False, "backprop-bug"),
    ("fd off", 1.0, 1.0, 1.2, 1e-9, False, False, "fd-artefact"),
    ("fd cannot tell", 1.0, 1.0 + 1e-6, 1.0, 1e-5, False, False, "precision-limited"),
    ("jax off", 1.0, 1.5, 1.0, 1e-9, False, False, "oracle-disagreement"),
    ("all differ", 1.0, 2.0, 3.0, 1e-9, False, False, "unresolved"),
    ("kink, hand = jax", 1.0, 1.0, 0.5, 1e-9, True, False, "non-differentiable here"),
    ("on the kink", 1.0, 0.0, 0.5, 1e-9, True, True, "non-differentiable here"),
    ("kink, hand wrong", 1.0, 0.0, 0.5, 1e-9, True, False, "backprop-bug"),
    ("hand nan", np.nan, 1.0, 1.0, 1e-9, False, False, "backprop-bug"),
]


@pytest.mark.parametrize(
    ("hand", "jax", "fd", "error", "kink", "at_kink", "status"),
    [c[1:] for c in CLASSIFICATION],
    ids=[c[0] for c in CLASSIFICATION],
)
def test_the_disagreement_pattern_names_the_status(
    hand: float, jax: float, fd: float, error: float, kink: bool, at_kink: bool, status: str
) -> None:
    codes, tol_jax, tol_fd = classify(
        *(np.array([v]) for v in (hand, jax, fd, error, kink, at_kink)), TIGHT, 0.0
    )
    assert STATUSES[int(codes[0])] == status
    assert tol_jax[0] == pytest.approx(1e-12 + 1e-9 * abs(jax))
    assert tol_fd[0] == pytest.approx(4 * error + 1e-12 + 1e-9 * abs(fd))


def test_group_floor_and_precision_widen_the_tolerance() -> None:
    h, j = np.array([1e-10 + 5e-12]), np.array([1e-10])
    strict, _, _ = classify(h, j, j, np.zeros(1), np.zeros(1, bool), np.zeros(1, bool), TIGHT, 0.0)
    floored, tol, _ = classify(
        h, j, j, np.zeros(1), np.zeros(1, bool), np.zeros(1, bool), TIGHT, 10.0
    )
    assert STATUSES[int(strict[0])] == "backprop-bug"  # 5e-12 > 1e-12 + 1e-19
    assert STATUSES[int(floored[0])] == "ok" and tol[0] == pytest.approx(1e-12 + 1e-8)
    zero = np.zeros(1, bool)
    widened, tol, _ = classify(h, j, j, np.zeros(1), zero, zero, TIGHT, 0.0, np.array([1e-11]))
    assert STATUSES[int(widened[0])] == "ok" and tol[0] > 1e-11


def test_precision_allowance_measures_the_difference_to_float64() -> None:
    exact = np.array([1.0, 2.0, 3.0, 4.0])
    assert np.all(precision_allowance(exact, exact) == 0)
    rounded = exact + np.array([0.0, 0.0, 0.0, 4e-7])
    allowance = precision_allowance(rounded, exact)
    assert allowance[3] > allowance[0] > 0  # per entry, plus the group's rms for the others
    assert allowance[3] == pytest.approx(compare.PRECISION_FACTOR * (4e-7 + 2e-7))


def test_tolerance_for_reads_the_dtype_table_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tolerance_for("float64") == TOLERANCES["float64"]
    assert tolerance_for("float32", rtol=1e-3).rtol == 1e-3
    assert tolerance_for("float32", atol=0.0).atol == 0.0
    assert tolerance_for("float32").rtol > tolerance_for("float64").rtol
    monkeypatch.setitem(TOLERANCES, "float64", Tolerance(rtol=0.5, atol=0.25, fd_safety=2.0))
    spec = load_specs([builtin_networks_dir()])[0]
    verdict = verify(hand_grads, spec)
    assert verdict.tolerance == Tolerance(0.5, 0.25, 2.0)
    assert "rtol=0.5 atol=0.25 fd=2x estimate" in verdict.summary()
    assert verdict.to_dict()["tolerance"] == {"rtol": 0.5, "atol": 0.25, "fd_safety": 2.0}


@pytest.mark.parametrize(
    ("dtype", "rtol", "atol", "message"),
    [
        ("float16", None, None, "TOLERANCES: no entry for dtype 'float16'"),
        ("float64", -1.0, None, "rtol: expected a finite number >= 0, got -1.0"),
        ("float64", None, float("nan"), "atol: expected a finite number >= 0, got nan"),
    ],
)
def test_bad_tolerances_raise_one_line(
    dtype: str, rtol: float | None, atol: float | None, message: str
) -> None:
    with pytest.raises(GradcheckError, match=message):
        tolerance_for(dtype, rtol, atol)


def sigmoid_seed_verdict(scale_w7: float = 1.0) -> NetworkVerdict:
    spec = next(s for s in load_specs([builtin_networks_dir()]) if s.name == "sigmoid-2-2-2")

    def candidate(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        grads[1]["W"][1, 0] *= scale_w7
        return grads

    return verify(candidate, spec)


def test_verdict_records_are_json_and_name_every_entry() -> None:
    verdict = sigmoid_seed_verdict(scale_w7=1.5)
    data = json.loads(json.dumps(verdict.to_dict(), allow_nan=False))
    assert data["ok"] is False and data["mode"] == "entries" and data["n_params"] == 8
    assert data["counts"]["backprop-bug"] == 1 and data["counts"]["ok"] == 7
    assert [e["label"] for e in data["entries"]] == [f"w{k}" for k in range(1, 9)]
    w7 = data["entries"][6]
    assert w7["location"] == "layer 2 W[1,0]" and w7["index"] == [1, 0] and w7["layer"] == 1
    assert w7["status"] == "backprop-bug" and w7["abs_error_jax"] > w7["tol_jax"]
    assert w7["hand"] == pytest.approx(1.5 * w7["jax"])
    assert w7["rel_error_jax"] == pytest.approx(0.5)
    assert set(w7) >= {"fd", "fd_error_estimate", "step", "abs_error_fd", "rel_error_fd", "tol_fd"}


def test_summary_is_one_line_naming_the_failing_layer_and_entry() -> None:
    failed = sigmoid_seed_verdict(scale_w7=1.5).summary()
    assert "\n" not in failed
    assert failed.startswith("sigmoid-2-2-2: FAILED 1 of 8 entries; w7 (layer 2 W[1,0]): hand ")
    assert "[backprop-bug]" in failed and "[float64 rtol=1e-09" in failed
    passed = sigmoid_seed_verdict().summary()
    assert passed.startswith("sigmoid-2-2-2: verified, 8 entries: hand = JAX = FD [float64")


def test_failures_and_entries_are_built_lazily_from_the_arrays() -> None:
    verdict = sigmoid_seed_verdict(scale_w7=-1.0)
    assert verdict.failures == tuple(e for e in verdict.entries if e.status == "backprop-bug")
    assert [e.label for e in verdict.failures] == ["w7"]
    assert not verdict.ok and verdict.counts["backprop-bug"] == 1


def test_relative_errors_against_an_exact_zero_are_zero_or_infinite() -> None:
    spec = next(s for s in load_specs([builtin_networks_dir()]) if s.name == "linear-2-2-1")
    zero_input = np.zeros((1, 2))  # every layer-1 weight gradient is exactly 0
    right = verify(hand_grads, spec, inputs=zero_input)
    assert [e.rel_error_jax for e in right.entries[:4]] == [0.0] * 4 and right.ok

    def nonzero(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        grads[0]["W"][0, 0] = 1e-3
        return grads

    wrong = verify(nonzero, spec, inputs=zero_input)
    assert [(e.label, e.rel_error_jax) for e in wrong.failures] == [("w1", float("inf"))]
    assert json.loads(json.dumps(wrong.to_dict()))["entries"][0]["rel_error_jax"] == "inf"
