"""The ``sse`` and ``binary_cross_entropy`` losses: hand gradients against closed forms on a tiny
network, a wrong binary cross-entropy delta caught as ``backprop-bug``, soft targets verified."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import make_spec

from gradcheck.checking.verification import verify
from gradcheck.hand.activations import sigmoid
from gradcheck.hand.backprop import forward, hand_grads, loss_value
from gradcheck.spec import Params, Spec

X = [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]]
W = [[0.7, -0.4]]
BIAS = 0.2


def _tiny(loss: str, activation: str, targets: list[list[float]]) -> Spec:
    """2-1 network, one dense layer with a per-neuron bias, three samples."""
    layer = {"size": 1, "activation": activation, "weights": W}
    layer["bias"] = {"mode": "per_neuron", "value": [BIAS]}
    return make_spec([layer], X, targets, loss=loss)


def _z() -> np.ndarray:
    return np.array([W[0][0] * a + W[0][1] * b + BIAS for a, b in X])


def test_sse_hand_gradient_is_its_closed_form() -> None:
    t = np.array([0.3, -0.5, 1.0])
    spec = _tiny("sse", "identity", [[v] for v in t])
    x, o = np.array(X), _z()  # identity: o = z
    (g,) = hand_grads(spec, spec.initial_params(), spec.inputs(), spec.targets())
    np.testing.assert_allclose(g["W"], [2.0 * ((o - t) @ x)], rtol=1e-14)
    np.testing.assert_allclose(g["b"], [2.0 * np.sum(o - t)], rtol=1e-14)
    value = loss_value(spec, spec.initial_params(), spec.inputs(), spec.targets())
    assert value == pytest.approx(float(np.sum((o - t) ** 2)), rel=1e-14)  # no 1/2


def test_binary_cross_entropy_hand_gradient_is_its_closed_form() -> None:
    t = np.array([0.0, 0.35, 1.0])  # not only 0 or 1
    spec = _tiny("binary_cross_entropy", "sigmoid", [[v] for v in t])
    x, z = np.array(X), _z()
    o = 1.0 / (1.0 + np.exp(-z))
    (g,) = hand_grads(spec, spec.initial_params(), spec.inputs(), spec.targets())
    np.testing.assert_allclose(g["W"], [(o - t) @ x / 3.0], rtol=1e-13)
    np.testing.assert_allclose(g["b"], [np.sum(o - t) / 3.0], rtol=1e-13)
    value = loss_value(spec, spec.initial_params(), spec.inputs(), spec.targets())
    want = (
        -sum(ti * math.log(oi) + (1 - ti) * math.log(1 - oi) for ti, oi in zip(t, o, strict=True))
        / 3.0
    )
    assert value == pytest.approx(want, rel=1e-13)


def test_binary_cross_entropy_value_is_finite_where_the_sigmoid_saturates() -> None:
    spec = _tiny("binary_cross_entropy", "sigmoid", [[1.0], [0.0], [0.5]])
    params: Params = [{"W": np.array([[400.0, 0.0]]), "b": np.array([0.0])}]
    value = loss_value(spec, params, spec.inputs(), spec.targets())
    z = 400.0 * np.array(X)[:, 0]
    want = float(np.sum(np.logaddexp(0.0, z) - np.array([1.0, 0.0, 0.5]) * z) / 3.0)
    assert value == pytest.approx(want, rel=1e-14)
    (g,) = hand_grads(spec, params, spec.inputs(), spec.targets())
    assert np.all(np.isfinite(g["W"])) and np.all(np.isfinite(g["b"]))


def _with_delta(
    output_delta: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> Callable[[Spec, Params, Any, Any], Params]:
    """A one-layer candidate whose output delta is ``output_delta(z, o, t)``."""

    def candidate(spec: Spec, params: Params, inputs: Any, targets: Any) -> Params:
        x, t = np.asarray(inputs), np.asarray(targets)
        layer = {**spec.frozen_params()[0], **params[0]}
        z = x @ layer["W"].T + layer.get("b", 0.0)
        delta = output_delta(z, sigmoid(z), t)
        grads = {"W": delta.T @ x, "b": delta.sum(axis=0)}
        return [{k: grads[k].astype(spec.dtype) for k in params[0]}]

    candidate.__name__ = output_delta.__name__
    return candidate


def fused(z: np.ndarray, o: np.ndarray, t: np.ndarray) -> np.ndarray:
    return (o - t) / len(t)


def missing_one_over_b(z: np.ndarray, o: np.ndarray, t: np.ndarray) -> np.ndarray:
    return o - t


def not_fused(z: np.ndarray, o: np.ndarray, t: np.ndarray) -> np.ndarray:
    return (o - t) * o * (1 - o) / len(t)  # o - t taken as dE/do, then through the sigmoid again


SOFT = [[0.1], [0.65], [1.0]]


def test_the_fused_binary_cross_entropy_delta_verifies_with_soft_targets() -> None:
    spec = _tiny("binary_cross_entropy", "sigmoid", SOFT)
    assert verify(_with_delta(fused), spec).ok
    assert verify(hand_grads, spec).ok


@pytest.mark.parametrize("wrong", [missing_one_over_b, not_fused])
def test_a_wrong_binary_cross_entropy_delta_is_a_backprop_bug(
    wrong: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> None:
    spec = _tiny("binary_cross_entropy", "sigmoid", SOFT)
    verdict = verify(_with_delta(wrong), spec)
    assert not verdict.ok
    assert {e.status for e in verdict.failures} == {"backprop-bug"}


def test_forward_of_the_tiny_network_is_the_sigmoid_of_z() -> None:
    spec = _tiny("binary_cross_entropy", "sigmoid", SOFT)
    outs = forward(spec, spec.initial_params(), spec.inputs()).outs[-1][:, 0]
    np.testing.assert_allclose(outs, 1.0 / (1.0 + np.exp(-_z())), rtol=1e-15)
