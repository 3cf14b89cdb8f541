"""Tolerances and the classification of disagreements (the records: tests/test_verdict.py)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import changed, make_spec, seed_spec

from gradcheck.checking import tolerances
from gradcheck.checking.compare import classify
from gradcheck.checking.tolerances import (
    CANCELLATION_PER_LAYER,
    TOLERANCES,
    group_floor,
    jax_tolerance,
    precision_allowance,
    tolerance_for,
)
from gradcheck.checking.verdict import STATUSES, Tolerance
from gradcheck.checking.verification import verify
from gradcheck.hand import hand_grads
from gradcheck.spec import (
    Array,
    GradcheckError,
    Params,
    Spec,
)

TIGHT = Tolerance(rtol=1e-9, atol=1e-12, fd_safety=4.0)

# hand, jax, fd, fd error estimate, stencil crosses a kink, point on a kink -> status
CLASSIFICATION = [
    ("all agree", 1.0, 1.0, 1.0 + 1e-9, 1e-9, False, False, "ok"),
    ("hand wrong", 1.1, 1.0, 1.0, 1e-9, False, False, "backprop-bug"),
    ("fd off", 1.0, 1.0, 1.2, 1e-9, False, False, "fd-artefact"),
    ("fd cannot tell, float64", 1.0, 1.0 + 1e-6, 1.0, 1e-5, False, False, "backprop-bug"),
    ("jax off", 1.0, 1.5, 1.0, 1e-9, False, False, "oracle-disagreement"),
    ("all differ", 1.0, 2.0, 3.0, 1e-9, False, False, "unresolved"),
    ("kink, hand = jax", 1.0, 1.0, 0.5, 1e-9, True, False, "non-differentiable here"),
    ("on the kink, no one-sided slopes", 1.0, 0.0, 0.5, 1e-9, True, True, "backprop-bug"),
    ("on the kink, hand = jax, no bracket", 1.0, 1.0, 0.5, 1e-9, True, True, "backprop-bug"),
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


# hand on a kink whose one-sided derivatives are 0 and 1 (error bound 1e-6), JAX says 0
ON_THE_KINK = [
    ("left derivative", 0.0, "non-differentiable here"),
    ("right derivative", 1.0, "non-differentiable here"),
    ("between", 0.3, "non-differentiable here"),
    ("inside the error bound", 1.0 + 3e-6, "non-differentiable here"),
    ("outside", 1.0 + 1e-5, "backprop-bug"),
    ("far outside", 1e6, "backprop-bug"),
    ("below", -0.1, "backprop-bug"),
    ("nan", np.nan, "backprop-bug"),
    ("inf", np.inf, "backprop-bug"),
]


@pytest.mark.parametrize(
    ("hand", "status"), [c[1:] for c in ON_THE_KINK], ids=[c[0] for c in ON_THE_KINK]
)
def test_on_the_kink_hand_must_lie_between_the_one_sided_derivatives(
    hand: float, status: str
) -> None:
    yes = np.ones(1, bool)
    one_sided = (np.zeros(1), np.ones(1), np.full(1, 1e-6))
    h, j, f, e = np.array([hand]), np.zeros(1), np.array([0.5]), np.array([0.5])
    codes, _, _ = classify(h, j, f, e, yes, yes, TIGHT, 0.0, subgradients=one_sided)
    assert STATUSES[int(codes[0])] == status


F32 = tolerance_for("float32")

# float32: hand, jax, fd, fd error, term magnitude m (c L eps m = 1.9e-3 at m = 1e3), measured
# rounding p, the group's largest |j| -> status
EVIDENCE = [
    # JAX and FD agree to 1e-8, hand is 1e-3 off: within the worst-case rounding of a sum whose
    # terms are 1000 times the entry, far beyond what the dtype measurably rounds. It was an
    # fd-artefact; JAX and FD siding together make it hand's.
    ("x0.999 where terms cancel", 0.999, 1.0, 1.0 + 1e-8, 1e-9, 1e3, 1e-6, 1.0, "backprop-bug"),
    ("fd the odd one out", 1.0, 1.0, 1.01, 1e-9, 1.0, 1e-6, 1.0, "fd-artefact"),
    ("jax between, hand farther", 1.0, 1.0015, 1.0025, 1e-9, 1e3, 0.0, 1.0, "backprop-bug"),
    ("jax between, fd farther", 1.0, 1.0005, 1.0025, 1e-9, 1e3, 0.0, 1.0, "fd-artefact"),
    # softmax's shared bias: E does not depend on it, so JAX and FD give exactly 0, and hand's
    # sum of 7.56 worth of terms rounds to one float32 ulp of 1: no evidence against it.
    ("exact zero, hand one rounding off", 1.19e-7, 0.0, 0.0, 7e-9, 7.56, 1.6e-15, 0.0, "ok"),
]


@pytest.mark.parametrize(
    ("hand", "jax", "fd", "error", "scale", "precision", "largest", "status"),
    [c[1:] for c in EVIDENCE],
    ids=[c[0] for c in EVIDENCE],
)
def test_blame_goes_by_evidence_in_float32(
    hand: float,
    jax: float,
    fd: float,
    error: float,
    scale: float,
    precision: float,
    largest: float,
    status: str,
) -> None:
    no = np.zeros(1, bool)
    h, j, f, e = (np.array([v]) for v in (hand, jax, fd, error))
    codes, _, _ = classify(
        h, j, f, e, no, no, F32, 0.0, np.array([precision]), scale=scale, magnitude=largest
    )
    assert STATUSES[int(codes[0])] == status


@pytest.mark.parametrize(
    ("jax", "status"),
    [(1.0 + 1e-6, "precision-limited"), (1.0 + 5e-6, "backprop-bug")],
)
def test_precision_limited_needs_a_measured_precision_and_stays_within_it(
    jax: float, status: str
) -> None:
    # FD (error 1e-5) cannot tell hand from JAX; the measured rounding is 2e-7, so hand may
    # differ from JAX by tol_jax + PRECISION_LIMIT * 2e-7 (about 1.8e-6) and no more.
    no = np.zeros(1, bool)
    h, j, f, e = np.ones(1), np.array([jax]), np.ones(1), np.array([1e-5])
    codes, tol, _ = classify(h, j, f, e, no, no, TIGHT, 0.0, np.array([2e-7]))
    assert STATUSES[int(codes[0])] == status
    assert tol[0] == pytest.approx(1e-12 + 1e-9 * jax + 2e-7)


def test_float64_has_no_precision_limited_a_relative_error_of_1e_8_is_a_bug(
    sigmoid_seed: Spec,
) -> None:
    verdict = verify(changed((1, "W"), Ellipsis, 1 + 1e-8), sigmoid_seed)
    assert not verdict.ok
    assert {e.location for e in verdict.failures} == {
        f"layer 2 W[{r},{c}]" for r in range(2) for c in range(2)
    }
    assert all(e.status == "backprop-bug" for e in verdict.failures)
    assert all(e.abs_error_jax > e.tol_jax for e in verdict.failures)  # the bound printed


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


def test_one_hand_vs_jax_tolerance_for_classification_and_projection_escalation() -> None:
    j = np.array([2.0, -1e-6, 0.0])
    floor = group_floor(j)
    assert floor == pytest.approx(2e-4)
    allowed = jax_tolerance(j, TIGHT, floor, np.array([0.0, 1e-10, 0.0]))
    np.testing.assert_allclose(allowed, [1e-12 + 2e-9, 1e-12 + 2e-13 + 1e-10, 1e-12 + 2e-13])
    no = np.zeros(3, bool)
    _, tol_jax, _ = classify(j, j, j, np.zeros(3), no, no, TIGHT, floor, np.array([0, 1e-10, 0]))
    np.testing.assert_array_equal(tol_jax, allowed)


def test_precision_allowance_measures_the_difference_to_float64() -> None:
    exact = np.array([1.0, 2.0, 3.0, 4.0])
    assert np.all(precision_allowance(exact, exact) == 0)
    rounded = exact + np.array([0.0, 0.0, 0.0, 4e-7])
    allowance = precision_allowance(rounded, exact)
    assert allowance[3] > allowance[0] > 0  # per entry, plus the group's rms for the others
    assert allowance[3] == pytest.approx(tolerances.PRECISION_FACTOR * (4e-7 + 2e-7))


def test_tolerance_for_reads_the_dtype_table_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tolerance_for("float64") == TOLERANCES["float64"]
    assert tolerance_for("float32", rtol=1e-3).rtol == 1e-3
    assert tolerance_for("float32", atol=0.0).atol == 0.0
    assert tolerance_for("float32").rtol > tolerance_for("float64").rtol
    monkeypatch.setitem(TOLERANCES, "float64", Tolerance(rtol=0.5, atol=0.25, fd_safety=2.0))
    spec = seed_spec("linear-2-2-1")
    verdict = verify(hand_grads, spec)
    assert verdict.tolerance == Tolerance(0.5, 0.25, 2.0)
    assert "rtol=0.5 atol=0.25 x max|grad| (floor 0.12..0.18) fd=2x estimate" in verdict.summary()
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


def test_the_cancellation_term_is_k_layers_eps_times_the_term_magnitude() -> None:
    j = np.array([2.0, -3.0])
    plain = jax_tolerance(j, TIGHT, 0.0)
    # Where nothing cancels the term magnitude is |j|: 48 eps |j| ~ 1e-14 |j| beside rtol |j|.
    widened = jax_tolerance(j, TIGHT, 0.0, 0.0, np.abs(j), depth=3)
    eps = float(np.finfo(np.float64).eps)
    np.testing.assert_allclose(widened - plain, CANCELLATION_PER_LAYER * 3 * eps * np.abs(j))
    assert np.all(widened - plain < 2e-5 * TIGHT.rtol * np.abs(j))
    assert tolerance_for("float32").eps == float(np.finfo(np.float32).eps)
    assert tolerance_for("float64").eps == eps


def _cancelling(w: float) -> Spec:
    """1-1 identity, no bias, two samples x = 1 whose contributions ``(w x - t) x`` to dE/dW
    are ``+1e4`` and ``-1e4 + 1e-11``: the gradient (~1e-11) is a sum of terms 1e15 larger."""
    layer = {"size": 1, "activation": "identity", "weights": [[w]], "bias": {"mode": "none"}}
    targets = [[w - 1e4], [w + 1e4 - 1e-11]]
    return make_spec([layer], [[1.0], [1.0]], targets, name="cancelling", path="<cancelling>")


def test_a_cancelling_entry_summed_in_another_order_passes_but_one_off_by_1e_6_fails() -> None:
    w = 0.3
    spec = _cancelling(w)

    def expanded(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        # sum_s (w x_s - t_s) x_s as w sum x_s^2 - sum t_s x_s: the same math, rounded otherwise
        x, t = inputs[:, 0], targets[:, 0]
        grad = params[0]["W"][0, 0] * np.sum(x * x) - np.sum(t * x)
        return [{"W": np.array([[grad]])}]

    def off(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        return [{"W": grads[0]["W"] + 1e-6}]

    passed = verify(expanded, spec)
    assert passed.ok, passed.summary()
    (entry,) = passed.entries
    assert abs(entry.jax) < 1e-10
    # The rounding gap is above the bound without the cancellation term, inside the one with it.
    assert entry.abs_error_jax > float(jax_tolerance(np.array([entry.jax]), TIGHT, 0.0)[0])
    assert entry.abs_error_jax <= entry.tol_jax < 1e-9
    failed = verify(off, spec)
    assert [e.status for e in failed.failures] == ["backprop-bug"]
