"""The ``svm`` loss (multiclass hinge on raw scores) and ``weight_decay``: the hand side against
closed forms, hand = JAX = finite differences on drawn networks in float64 and float32, planted
bugs caught (decay on biases, a hinge without the true class's -count term or without its margin
1), and margins exactly on the hinge's kink judged without false alarms in either dtype."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import planted_kinds
import pytest
from helpers import make_spec
from hypothesis import given, settings

from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import Case, networks, sample_networks
from gradcheck.hand import hand_grads
from gradcheck.hand.activations import HAND_ACTIVATIONS
from gradcheck.hand.backprop import forward, loss_value
from gradcheck.oracles import jax_loss_and_grads
from gradcheck.oracles.finite_differences import finite_difference
from gradcheck.spec import Params, Spec

Candidate = Callable[[Spec, Params, Any, Any], Params]
BOTH_DTYPES = ("float64", "float32")
SVM_NETWORKS: dict[str, Any] = {
    "losses": ("svm",),
    "activations": ("tanh", "relu", "sigmoid"),
    "dtypes": BOTH_DTYPES,
    "n_outputs": (2, 5),
    "batch_size": (2, 4),
    "kinds": ("dense",),  # the svm candidates below are written for dense layers
}


# -- closed forms on a tiny network ----------------------------------------------------------
X = [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]]
W = [[0.7, -0.4], [0.1, 0.9], [-0.6, 0.3]]
T = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]


def _scores_layer(**extra: Any) -> dict[str, Any]:
    return {"size": 3, "activation": "identity", "weights": W, **extra}


def test_svm_hand_value_and_gradient_are_the_hinge_written_out_per_sample_and_class() -> None:
    spec = make_spec(
        [_scores_layer(bias={"mode": "per_neuron", "value": [0.2, 0.0, -0.1]})], X, T, loss="svm"
    )
    x, params = np.array(X), spec.initial_params()
    s = x @ np.array(W).T + np.array([0.2, 0.0, -0.1])
    value, ds = 0.0, np.zeros_like(s)
    for n, row in enumerate(T):
        y = row.index(1.0)
        for j in range(3):
            if j != y and s[n, j] - s[n, y] + 1 > 0:
                value += (s[n, j] - s[n, y] + 1) / 3
                ds[n, j] += 1 / 3
                ds[n, y] -= 1 / 3
    assert value > 0 and np.count_nonzero(ds) >= 4  # several margins are active
    (g,) = hand_grads(spec, params, spec.inputs(), spec.targets())
    np.testing.assert_allclose(g["W"], ds.T @ x, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(g["b"], ds.sum(axis=0), rtol=1e-14, atol=1e-15)
    assert loss_value(spec, params, spec.inputs(), spec.targets()) == pytest.approx(value, 1e-14)


def _decay_net(weight_decay: float) -> Spec:
    """3-4-3 with a frozen first W, a per-neuron and a shared trainable bias."""
    layers = [
        {
            "size": 4,
            "activation": "tanh",
            "init": {"rule": "normal", "seed": 1},
            "trainable": False,
            "bias": {"mode": "per_neuron", "value": 0.1},
        },
        _scores_layer(weights=None, init={"rule": "normal", "seed": 2}, bias={"mode": "shared"}),
    ]
    x = [[0.5, -1.0, 0.2], [1.5, 0.25, -0.7], [-0.3, 0.8, 0.1]]
    return make_spec(layers, x, T, loss="svm", weight_decay=weight_decay)


def test_weight_decay_adds_half_lambda_w_squared_to_e_and_lambda_w_to_trainable_weights() -> None:
    lam = 0.3
    plain, decayed = _decay_net(0.0), _decay_net(lam)
    params, x, t = decayed.initial_params(), decayed.inputs(), decayed.targets()
    weights = [layer["W"] for layer in plain.frozen_params()[:1]] + [params[1]["W"]]
    squares = sum(float(np.sum(w**2)) for w in weights)  # the frozen W counts in E
    e_plain, e_decayed = (loss_value(s, params, x, t) for s in (plain, decayed))
    assert e_decayed - e_plain == pytest.approx(lam / 2 * squares, rel=1e-12)
    g_plain, g_decayed = (hand_grads(s, params, x, t) for s in (plain, decayed))
    assert g_decayed[0].keys() == {"b"} and g_decayed[0]["b"] == pytest.approx(g_plain[0]["b"])
    np.testing.assert_allclose(g_decayed[1]["W"] - g_plain[1]["W"], lam * params[1]["W"], 1e-12)
    assert g_decayed[1]["b"] == g_plain[1]["b"]  # biases never decay


# -- hand = JAX = finite differences ---------------------------------------------------------
def _drawn() -> list[Case]:
    """Generated svm networks (both dtypes, with and without a decay), then every loss with a
    decay of 0.25."""
    svm = sample_networks(8, seed=5, weight_decay=(0.0, 0.5), **SVM_NETWORKS)
    return svm + sample_networks(8, seed=6, weight_decay=0.25, dtypes=BOTH_DTYPES)


def test_every_gradient_source_agrees_on_drawn_svm_and_decayed_networks() -> None:
    cases = _drawn()
    assert {c.spec.model.dtype for c in cases} == set(BOTH_DTYPES)
    assert any(c.spec.loss == "svm" and c.spec.weight_decay > 0 for c in cases)
    failed = [v.summary() for v in (verify(hand_grads, *c) for c in cases) if not v.ok]
    assert not failed, "\n".join(failed)
    for spec, params, x, t in cases:  # and E itself: hand, JAX and the FD oracle's base pass
        hand = loss_value(spec, params, x, t)
        rtol = 1e-12 if spec.model.dtype == "float64" else 1e-5
        assert jax_loss_and_grads(spec, params, x, t)[0] == pytest.approx(hand, rel=rtol, abs=rtol)
        fd = finite_difference(spec, params, x, t, only=[]).loss
        assert fd == pytest.approx(hand, rel=rtol, abs=rtol)


@settings(max_examples=12, deadline=None)
@given(networks(weight_decay=(0.0, 1.0), **SVM_NETWORKS))
def test_hand_svm_gradients_verify_on_any_drawn_network(case: Case) -> None:
    verdict = verify(hand_grads, *case)
    assert verdict.ok, verdict.summary()


# -- planted bugs ----------------------------------------------------------------------------
def _svm_candidate(*, count: bool = True, margin: float = 1.0, at_zero: bool = False) -> Candidate:
    """A by-hand svm backprop: ``count=False`` leaves out the true class's ``-count / B``,
    ``margin=0`` drops the hinge's margin 1, ``at_zero`` takes the right derivative at ``m = 0``
    (1, where the hand side takes 0)."""

    def candidate(spec: Spec, params: Params, inputs: Any, targets: Any) -> Params:
        fwd = forward(spec, params, inputs)
        layers = [{**f, **p} for p, f in zip(params, spec.frozen_params(), strict=True)]
        s, t = fwd.outs[-1], np.asarray(targets)
        m = s - np.sum(s * t, axis=1, keepdims=True) + margin
        active = (1 - t) * ((m >= 0) if at_zero else (m > 0))
        delta = (active - (t * active.sum(axis=1, keepdims=True) if count else 0)) / len(t)
        grads: Params = []
        for i in reversed(range(len(layers))):
            g = {"W": delta.T @ fwd.outs[i] + spec.weight_decay * layers[i]["W"]}
            if "b" in layers[i]:
                g["b"] = delta.sum(axis=0) if layers[i]["b"].ndim else delta.sum()
            grads.insert(0, {k: np.asarray(g[k], spec.dtype) for k in params[i]})
            if i:
                act = HAND_ACTIVATIONS[spec.activations[i - 1]]
                up = delta @ layers[i]["W"]
                delta = act.backward(up, fwd.nets[i - 1], fwd.outs[i], spec.slopes[i - 1])
        return grads

    return candidate


def _differs(candidate: Candidate, case: Case) -> bool:
    """Whether ``candidate``'s gradient differs from the hand side's by more than rounding."""
    mine, hand = candidate(*case), hand_grads(*case)
    return any(
        not np.allclose(
            mine[i][k], hand[i][k], rtol=1e-3, atol=1e-3 * (np.abs(hand[i][k]).max() + 1e-3)
        )
        for i in range(len(hand))
        for k in hand[i]
    )


@pytest.mark.parametrize(
    ("candidate", "bounds"),
    [
        pytest.param(
            planted_kinds.decay_on_biases,
            {"weight_decay": 0.5, "bias_modes": ("shared", "per_neuron"), "allow_frozen": False},
            id="weight decay applied to biases",
        ),
        pytest.param(_svm_candidate(), {"weight_decay": 0.0, **SVM_NETWORKS}, id="correct svm"),
        pytest.param(
            _svm_candidate(count=False), {"weight_decay": 0.1, **SVM_NETWORKS}, id="no -count term"
        ),
        pytest.param(
            _svm_candidate(margin=0.0), {"weight_decay": 0.0, **SVM_NETWORKS}, id="margin 1 dropped"
        ),
    ],
)
def test_a_planted_bug_is_a_backprop_bug_wherever_it_changes_the_gradient(
    candidate: Candidate, bounds: dict[str, Any]
) -> None:
    cases = sample_networks(10, seed=11, **bounds)
    changed = [case for case in cases if _differs(candidate, case)]
    for case in cases:
        verdict = verify(candidate, *case)
        if case in changed:
            assert not verdict.ok and {e.status for e in verdict.failures} == {"backprop-bug"}
        else:
            assert verdict.ok, verdict.summary()
    correct = candidate.__name__ == "candidate" and not changed
    assert correct or len(changed) >= 3  # the bug shows on most networks, the correct code on none


# -- margins on the kink ---------------------------------------------------------------------
def _on_the_kink(dtype: str, hidden: bool) -> Spec:
    """Scores with margins exactly 0: sample 0 (class 1) has s_0 - s_1 = -1, sample 1 (class 0)
    s_1 - s_0 = -1; every other margin is 1/2 or more from 0. ``hidden``: an identity layer
    (a unit matrix) below the scores, so the kink is reached through a layer."""
    scores = _scores_layer(
        weights=[[0.5, 0.25], [1.5, -0.25], [-2.0, 0.75]],
        bias={"mode": "per_neuron", "value": [0.0, 0.0, 0.0]},
    )
    unit = {"size": 2, "activation": "identity", "weights": [[1.0, 0.0], [0.0, 1.0]]}
    inputs = [[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]
    targets = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    return make_spec(
        [unit, scores] if hidden else [scores], inputs, targets, loss="svm", dtype=dtype
    )


@pytest.mark.parametrize("hidden", [False, True], ids=["scores", "through a layer"])
@pytest.mark.parametrize("dtype", BOTH_DTYPES)
def test_margins_exactly_on_the_kink_pass_either_one_sided_derivative_and_catch_a_bug(
    dtype: str, hidden: bool
) -> None:
    spec = _on_the_kink(dtype, hidden)
    s = forward(spec, spec.initial_params(), spec.inputs()).outs[-1]
    margins = s - np.sum(s * spec.targets(), axis=1, keepdims=True) + 1
    assert np.count_nonzero(margins == 0) == 2  # exactly on the kink, in this dtype
    for candidate in (hand_grads, _svm_candidate(), _svm_candidate(at_zero=True)):
        verdict = verify(candidate, spec)
        assert verdict.ok, verdict.summary()
        assert verdict.counts["non-differentiable here"] > 0
    left, right = (
        _svm_candidate(at_zero=z)(spec, spec.initial_params(), spec.inputs(), spec.targets())
        for z in (False, True)
    )
    assert not np.allclose(left[-1]["W"], right[-1]["W"])  # the two conventions differ here
    wrong = verify(_svm_candidate(count=False), spec)
    assert not wrong.ok and "backprop-bug" in {e.status for e in wrong.failures}
