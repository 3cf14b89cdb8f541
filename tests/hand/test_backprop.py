"""gradcheck.hand.backprop: every hand-derived derivative against its closed form and against
central differences, both seed networks step by step, biases, frozen groups, float32."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import assert_params_close, make_spec

from gradcheck.hand.activations import HAND_ACTIVATIONS
from gradcheck.hand.backprop import (
    backward,
    forward,
    hand_grads,
    loss_value,
)
from gradcheck.hand.losses import HAND_LOSSES
from gradcheck.hand.training import sgd_step, train_numpy
from gradcheck.spec import (
    ACTIVATIONS,
    LOSSES,
    GradcheckError,
    Params,
    Spec,
)

SLOPE = 0.07
# Grid over [-6, 6] that never hits relu's kink at 0 (step 12/119 leaves 0 between points).
GRID = np.linspace(-6.0, 6.0, 120)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# name -> (f(z), f'(z)) written from the textbook closed forms, one scalar at a time.
CLOSED_FORMS: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
    "identity": (lambda z: z, lambda z: 1.0),
    "sigmoid": (_sigmoid, lambda z: math.exp(-z) / (1.0 + math.exp(-z)) ** 2),
    "tanh": (math.tanh, lambda z: 1.0 / math.cosh(z) ** 2),
    "relu": (lambda z: max(z, 0.0), lambda z: 1.0 if z > 0 else 0.0),
    "leaky_relu": (lambda z: z if z > 0 else SLOPE * z, lambda z: 1.0 if z > 0 else SLOPE),
    "softplus": (lambda z: math.log1p(math.exp(z)), lambda z: 1.0 / (1.0 + math.exp(-z))),
    "elu": (lambda z: z if z > 0 else math.expm1(z), lambda z: 1.0 if z > 0 else math.exp(z)),
}


def _central_difference(f: Callable[[np.ndarray], np.ndarray], z: np.ndarray) -> np.ndarray:
    """Elementwise (f(z + h) - f(z - h)) / 2h for an elementwise f, h = 1e-6."""
    h = 1e-6
    slope: np.ndarray = (f(z + h) - f(z - h)) / (2 * h)
    return slope


def test_every_activation_has_a_closed_form_here() -> None:
    assert set(ACTIVATIONS) == HAND_ACTIVATIONS.names() == {*CLOSED_FORMS, "softmax"}
    assert set(LOSSES) == HAND_LOSSES.names()


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_activation_and_derivative_match_closed_form(name: str) -> None:
    f, df = HAND_ACTIVATIONS[name].value, HAND_ACTIVATIONS[name].derivative
    closed_f, closed_df = CLOSED_FORMS[name]
    out = f(GRID, SLOPE)
    np.testing.assert_allclose(out, [closed_f(z) for z in GRID], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(
        df(GRID, out, SLOPE), [closed_df(z) for z in GRID], rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_activation_derivative_matches_central_difference(name: str) -> None:
    f, df = HAND_ACTIVATIONS[name].value, HAND_ACTIVATIONS[name].derivative
    numeric = _central_difference(lambda z: f(z, SLOPE), GRID)
    np.testing.assert_allclose(df(GRID, f(GRID, SLOPE), SLOPE), numeric, rtol=1e-7, atol=1e-9)


def test_kinks_take_the_left_derivative() -> None:
    zero = np.zeros(1)
    assert HAND_ACTIVATIONS["relu"].derivative(zero, zero, 0.0).tolist() == [0.0]
    assert HAND_ACTIVATIONS["leaky_relu"].derivative(zero, zero, SLOPE).tolist() == [SLOPE]


def test_sigmoid_and_softplus_stay_finite_for_large_inputs() -> None:
    z = np.array([-800.0, -40.0, 40.0, 800.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is fine
        s = HAND_ACTIVATIONS["sigmoid"].value(z, 0.0)
        ds = HAND_ACTIVATIONS["sigmoid"].derivative(z, s, 0.0)
        sp = HAND_ACTIVATIONS["softplus"].value(z, 0.0)
    np.testing.assert_allclose(s, [0.0, math.exp(-40.0), 1.0, 1.0], rtol=1e-12, atol=0.0)
    assert ds[0] == 0.0 and ds[-1] == 0.0
    np.testing.assert_allclose(sp, [0.0, math.exp(-40.0), 40.0, 800.0], rtol=1e-12, atol=0.0)


# -- losses --------------------------------------------------------------------------------------
OUT = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]])
TARGET = np.array([[0.0, 1.0, 0.0], [0.3, 0.3, 0.4]])
B, N = OUT.shape
TARGETS = {"svm": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])}  # svm: one-hot, a true class


def _hinge_closed_form() -> tuple[float, np.ndarray]:
    """svm on OUT, sample by sample and class by class: every margin here is active."""
    t, value, grad = TARGETS["svm"], 0.0, np.zeros_like(OUT)
    for n in range(B):
        y = int(np.argmax(t[n]))
        for j in range(N):
            if j != y and OUT[n, j] - OUT[n, y] + 1 > 0:
                value += (OUT[n, j] - OUT[n, y] + 1) / B
                grad[n, j] += 1 / B
                grad[n, y] -= 1 / B
    return value, grad


LOSS_CLOSED_FORMS: dict[str, tuple[float, np.ndarray]] = {
    "half_sse": (
        0.5 * sum((t - o) ** 2 for t, o in zip(TARGET.flat, OUT.flat, strict=True)),
        OUT - TARGET,
    ),
    "sse": (
        sum((o - t) ** 2 for t, o in zip(TARGET.flat, OUT.flat, strict=True)),
        2.0 * (OUT - TARGET),
    ),
    "binary_cross_entropy": (
        -sum(
            t * math.log(o) + (1 - t) * math.log(1 - o)
            for t, o in zip(TARGET.flat, OUT.flat, strict=True)
        )
        / B,
        (OUT - TARGET) / (OUT * (1 - OUT)) / B,
    ),
    "mse": (
        sum((o - t) ** 2 for t, o in zip(TARGET.flat, OUT.flat, strict=True)) / (B * N),
        2.0 * (OUT - TARGET) / (B * N),
    ),
    "softmax_cross_entropy": (
        -sum(t * math.log(o) for t, o in zip(TARGET.flat, OUT.flat, strict=True)) / B,
        -TARGET / OUT / B,
    ),
    "svm": _hinge_closed_form(),
}


@pytest.mark.parametrize("name", LOSSES)
def test_loss_and_derivative_match_closed_form(name: str) -> None:
    value, grad = LOSS_CLOSED_FORMS[name]
    loss, dloss = HAND_LOSSES[name].value, HAND_LOSSES[name].gradient
    target = TARGETS.get(name, TARGET)
    assert float(loss(OUT, target)) == pytest.approx(value, rel=1e-14)
    np.testing.assert_allclose(dloss(OUT, target), grad, rtol=1e-14)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_derivative_matches_central_difference(name: str) -> None:
    loss, dloss = HAND_LOSSES[name].value, HAND_LOSSES[name].gradient
    numeric = np.zeros_like(OUT)
    h = 1e-6
    target = TARGETS.get(name, TARGET)
    for idx in np.ndindex(OUT.shape):
        up, down = OUT.copy(), OUT.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = (float(loss(up, target)) - float(loss(down, target))) / (2 * h)
    np.testing.assert_allclose(dloss(OUT, target), numeric, rtol=1e-7, atol=1e-10)


# -- small networks built in the tests -----------------------------------------------------------
INPUTS = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [-0.3, 0.8, 0.1], [0.0, -2.0, 1.0]]


def _mixed(loss: str, out_act: str, out_bias: dict[str, Any], dtype: str = "float64") -> Spec:
    """3-4-3-2 network touching every activation, both bias kinds and a frozen group."""
    targets = {
        "softmax_cross_entropy": [[1.0, 0.0], [0.0, 1.0], [0.3, 0.7], [0.5, 0.5]],
        "binary_cross_entropy": [[1.0, 0.0], [0.25, 0.9], [0.3, 0.7], [0.5, 0.05]],
        "svm": [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]],
    }.get(loss, [[0.1, 0.9], [0.4, -0.2], [0.0, 0.5], [1.0, 0.3]])
    return make_spec(
        [
            {
                "size": 4,
                "activation": "tanh",
                "init": {"rule": "normal", "scale": 0.8, "seed": 1},
                "bias": {"mode": "per_neuron", "value": [0.1, -0.2, 0.3, 0.05]},
            },
            {
                "size": 3,
                "activation": "leaky_relu",
                "slope": 0.1,
                "init": {"rule": "uniform", "scale": 1.0, "seed": 2},
                "bias": {"mode": "shared", "value": 0.2},
            },
            {
                "size": 2,
                "activation": out_act,
                "init": {"rule": "xavier", "scale": 1.0, "seed": 3},
                "bias": out_bias,
            },
        ],
        INPUTS,
        targets,
        loss=loss,
        dtype=dtype,
    )


def _numeric_grads(spec: Spec, params: Params) -> Params:
    """Central differences of loss_value, one scalar parameter at a time, h = 1e-6."""
    x, t = spec.inputs(), spec.targets()
    grads: Params = [{k: np.zeros_like(a) for k, a in layer.items()} for layer in params]
    h = 1e-6
    for i, layer in enumerate(params):
        for k, a in layer.items():
            for idx in np.ndindex(a.shape):
                up = [{kk: aa.copy() for kk, aa in lay.items()} for lay in params]
                down = [{kk: aa.copy() for kk, aa in lay.items()} for lay in params]
                up[i][k][idx] += h
                down[i][k][idx] -= h
                diff = loss_value(spec, up, x, t) - loss_value(spec, down, x, t)
                grads[i][k][idx] = diff / (2 * h)
    return grads


@pytest.mark.parametrize(
    ("loss", "out_act", "out_bias"),
    [
        ("half_sse", "sigmoid", {"mode": "per_neuron", "value": [0.1, 0.2]}),
        ("mse", "softplus", {"mode": "shared", "value": -0.1}),
        ("mse", "relu", {"mode": "shared", "value": 0.5, "trainable": False}),
        ("half_sse", "identity", {"mode": "none"}),
        ("half_sse", "softmax", {"mode": "per_neuron"}),
        ("softmax_cross_entropy", "softmax", {"mode": "shared", "value": 0.3}),
        ("sse", "tanh", {"mode": "per_neuron", "value": [0.1, 0.2]}),
        ("binary_cross_entropy", "sigmoid", {"mode": "shared", "value": 0.3}),
        ("svm", "identity", {"mode": "per_neuron", "value": [0.1, -0.2]}),
    ],
)
def test_hand_grads_match_central_differences(
    loss: str, out_act: str, out_bias: dict[str, Any]
) -> None:
    spec = _mixed(loss, out_act, out_bias)
    params = spec.initial_params()
    grads = hand_grads(spec, params, spec.inputs(), spec.targets())
    assert_params_close(grads, _numeric_grads(spec, params), rtol=1e-6, atol=1e-8)


def _softmax_jacobian(s: np.ndarray) -> np.ndarray:
    """d softmax_j / d net_k = s_j (delta_jk - s_k), written as an explicit matrix."""
    return np.diag(s) - np.outer(s, s)


@pytest.mark.parametrize("loss", ["half_sse", "softmax_cross_entropy"])
def test_softmax_delta_is_the_explicit_jacobian_applied(loss: str) -> None:
    targets = [[0.0, 1.0, 0.0], [0.2, 0.2, 0.6]]
    spec = make_spec(
        [{"size": 3, "activation": "softmax", "weights": [[1.0, -2.0], [0.5, 0.3], [-1.0, 2.0]]}],
        [[0.4, 0.9], [-1.2, 0.7]],
        targets,
        loss=loss,
    )
    params = spec.initial_params()
    fwd = forward(spec, params, spec.inputs())
    bwd = backward(spec, params, fwd, spec.targets())
    out, t = fwd.outs[-1], np.array(targets)
    g = out - t if loss == "half_sse" else -t / out / len(targets)
    explicit = np.stack([_softmax_jacobian(s).T @ gs for s, gs in zip(out, g, strict=True)])
    np.testing.assert_allclose(bwd.deltas[-1], explicit, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(bwd.dloss_dout[-1], g, rtol=1e-14)


def test_softmax_cross_entropy_is_stable_for_saturated_outputs() -> None:
    spec = make_spec(
        [{"size": 2, "activation": "softmax", "weights": [[500.0], [-500.0]]}],
        [[2.0]],
        [[0.0, 1.0]],
        loss="softmax_cross_entropy",
    )
    params = spec.initial_params()
    with np.errstate(over="raise", under="ignore"):
        loss = loss_value(spec, params, spec.inputs(), spec.targets())
        grads = hand_grads(spec, params, spec.inputs(), spec.targets())
    assert loss == pytest.approx(2000.0, rel=1e-12)  # -log softmax = net_0 - net_1
    np.testing.assert_allclose(grads[0]["W"], [[2.0], [-2.0]], rtol=1e-12)


# -- the two seed networks -----------------------------------------------------------------------
def test_linear_seed_forward_values(linear_seed: Spec) -> None:
    spec = linear_seed
    fwd = forward(spec, spec.initial_params(), spec.inputs())
    h1, h2 = 2 * 0.15 + 3 * 0.20, 2 * 0.10 + 3 * 0.05
    out = h1 * 0.16 + h2 * 0.20
    np.testing.assert_allclose(fwd.outs[1], [[h1, h2]], rtol=1e-15)
    np.testing.assert_allclose(fwd.outs[2], [[out]], rtol=1e-15)
    assert out == pytest.approx(0.214, rel=1e-14)
    loss = loss_value(spec, spec.initial_params(), spec.inputs(), spec.targets())
    assert loss == pytest.approx(0.5 * (out - 1.0) ** 2, rel=1e-14)


def test_linear_seed_one_step_update(linear_seed: Spec) -> None:
    spec = linear_seed
    lr, (i1, i2), (w1, w2, w3, w4, w5, w6) = 0.05, (2.0, 3.0), (0.15, 0.20, 0.10, 0.05, 0.16, 0.20)
    h1, h2 = i1 * w1 + i2 * w2, i1 * w3 + i2 * w4
    delta = h1 * w5 + h2 * w6 - 1.0  # dE/dout for E = (out - t)^2 / 2
    expected = {
        "w1": w1 - lr * i1 * delta * w5,
        "w2": w2 - lr * i2 * delta * w5,
        "w3": w3 - lr * i1 * delta * w6,
        "w4": w4 - lr * i2 * delta * w6,
        "w5": w5 - lr * h1 * delta,
        "w6": w6 - lr * h2 * delta,
    }
    assert expected["w1"] == pytest.approx(0.15 + 0.05 * 2 * 0.786 * 0.16, rel=1e-14)  # 0.162576
    stepped, losses = train_numpy(spec, 1)
    for name, value in expected.items():
        layer, group, idx = spec.param_names[name]
        assert stepped[layer][group][idx] == pytest.approx(value, rel=1e-14), name
    assert losses[0] == pytest.approx(0.5 * 0.786**2, rel=1e-14)


def _sigmoid_seed_by_hand(steps: int) -> tuple[list[float], list[float], list[float], float]:
    """The 2-2-2 seed trained by the scalar delta rule: (w1..w4, w5..w8, outputs, loss)."""
    i, t, lr, b1, b2 = (0.05, 0.10), (0.01, 0.99), 0.5, 0.35, 0.60
    w = [0.15, 0.20, 0.25, 0.30]  # h1 <- (w1, w2), h2 <- (w3, w4)
    v = [0.40, 0.45, 0.50, 0.55]  # o1 <- (w5, w6), o2 <- (w7, w8)
    for step in range(steps + 1):
        h = [_sigmoid(w[2 * j] * i[0] + w[2 * j + 1] * i[1] + b1) for j in range(2)]
        o = [_sigmoid(v[2 * k] * h[0] + v[2 * k + 1] * h[1] + b2) for k in range(2)]
        if step == steps:
            break
        d_o = [(o[k] - t[k]) * o[k] * (1 - o[k]) for k in range(2)]
        d_h = [(d_o[0] * v[j] + d_o[1] * v[2 + j]) * h[j] * (1 - h[j]) for j in range(2)]
        v = [v[2 * k + j] - lr * d_o[k] * h[j] for k in range(2) for j in range(2)]
        w = [w[2 * j + n] - lr * d_h[j] * i[n] for j in range(2) for n in range(2)]
    loss = 0.5 * ((t[0] - o[0]) ** 2 + (t[1] - o[1]) ** 2)
    return w, v, o, loss


def test_sigmoid_seed_forward_values(sigmoid_seed: Spec) -> None:
    spec = sigmoid_seed
    fwd = forward(spec, spec.initial_params(), spec.inputs())
    net_h = [0.15 * 0.05 + 0.20 * 0.10 + 0.35, 0.25 * 0.05 + 0.30 * 0.10 + 0.35]
    assert net_h == pytest.approx([0.3775, 0.3925], rel=1e-14)
    out_h = [_sigmoid(z) for z in net_h]
    net_o = [0.40 * out_h[0] + 0.45 * out_h[1] + 0.60, 0.50 * out_h[0] + 0.55 * out_h[1] + 0.60]
    out_o = [_sigmoid(z) for z in net_o]
    np.testing.assert_allclose(fwd.nets[0], [net_h], rtol=1e-15)
    np.testing.assert_allclose(fwd.outs[1], [out_h], rtol=1e-15)
    np.testing.assert_allclose(fwd.nets[1], [net_o], rtol=1e-15)
    np.testing.assert_allclose(fwd.outs[2], [out_o], rtol=1e-15)
    # The document prints these to 9 significant digits.
    assert out_h[0] == pytest.approx(0.593269992, abs=5e-10)
    assert out_o == pytest.approx([0.75136507, 0.772928465], abs=5e-9)
    loss = loss_value(spec, spec.initial_params(), spec.inputs(), spec.targets())
    assert loss == pytest.approx(_sigmoid_seed_by_hand(0)[3], rel=1e-14)


def test_sigmoid_seed_one_step_update(sigmoid_seed: Spec) -> None:
    spec = sigmoid_seed
    w, v, _, _ = _sigmoid_seed_by_hand(1)
    stepped = sgd_step(
        spec.initial_params(),
        hand_grads(spec, spec.initial_params(), spec.inputs(), spec.targets()),
        spec.learning_rate,
    )
    np.testing.assert_allclose(stepped[0]["W"].ravel(), w, rtol=1e-14)
    np.testing.assert_allclose(stepped[1]["W"].ravel(), v, rtol=1e-14)
    # The document's w5+ = 0.35891648 and w1+ (true gradient descent) = 0.149780716.
    assert stepped[1]["W"][0, 0] == pytest.approx(0.35891648, abs=5e-9)
    assert stepped[0]["W"][0, 0] == pytest.approx(0.149780716, abs=5e-10)


def test_sigmoid_seed_after_10000_steps_of_gradient_descent(sigmoid_seed: Spec) -> None:
    spec = sigmoid_seed
    params, losses = train_numpy(spec, 10_000, record_every=1000)
    out = forward(spec, params, spec.inputs()).outs[-1][0]
    w, v, by_hand, loss = _sigmoid_seed_by_hand(10_000)
    # Same arithmetic in a different order: rounding differences stay far below 1e-10.
    np.testing.assert_allclose(params[0]["W"].ravel(), w, rtol=1e-10)
    np.testing.assert_allclose(params[1]["W"].ravel(), v, rtol=1e-10)
    np.testing.assert_allclose(out, by_hand, rtol=1e-10)
    assert out == pytest.approx([0.0159136204, 0.9840642735], abs=1e-10)
    assert loss_value(spec, params, spec.inputs(), spec.targets()) == pytest.approx(loss, rel=1e-9)
    assert losses.shape == (10,)
    assert np.all(np.diff(losses) < 0)


# -- biases and frozen groups --------------------------------------------------------------------
def _biased(mode: str, trainable: bool = True, weights_trainable: bool = True) -> Spec:
    bias: dict[str, Any] = {"mode": mode, "trainable": trainable}
    bias["value"] = 0.3 if mode == "shared" else [0.3, 0.3, 0.3]
    return make_spec(
        [
            {
                "size": 3,
                "activation": "sigmoid",
                "weights": [[0.2, -0.4], [0.7, 0.1], [-0.5, 0.6]],
                "bias": bias,
                "trainable": weights_trainable,
            },
            {"size": 1, "activation": "identity", "weights": [[1.0, -2.0, 0.5]]},
        ],
        [[1.0, 2.0], [-0.5, 0.3], [0.8, -1.1]],
        [[0.5], [-0.2], [1.0]],
    )


def test_shared_bias_gradient_sums_over_neurons_and_samples() -> None:
    shared, per_neuron = _biased("shared"), _biased("per_neuron")
    g_shared = hand_grads(shared, shared.initial_params(), shared.inputs(), shared.targets())
    g_each = hand_grads(
        per_neuron, per_neuron.initial_params(), per_neuron.inputs(), per_neuron.targets()
    )
    assert g_shared[0]["b"].shape == ()
    assert g_each[0]["b"].shape == (3,)
    # Same bias value everywhere, so the networks agree and the shared gradient is the sum.
    assert float(g_shared[0]["b"]) == pytest.approx(float(g_each[0]["b"].sum()), rel=1e-14)
    np.testing.assert_allclose(g_shared[0]["W"], g_each[0]["W"], rtol=1e-14)
    numeric = _numeric_grads(shared, shared.initial_params())
    assert float(g_shared[0]["b"]) == pytest.approx(float(numeric[0]["b"]), rel=1e-7)


def test_per_neuron_bias_gradient_sums_deltas_over_samples() -> None:
    spec = _biased("per_neuron")
    params = spec.initial_params()
    bwd = backward(spec, params, forward(spec, params, spec.inputs()), spec.targets())
    assert bwd.deltas[0].shape == (3, 3)
    np.testing.assert_allclose(bwd.grads[0]["b"], bwd.deltas[0].sum(axis=0), rtol=1e-15)
    np.testing.assert_allclose(
        bwd.grads[0]["b"], _numeric_grads(spec, params)[0]["b"], rtol=1e-7, atol=1e-10
    )


@pytest.mark.parametrize(
    ("bias_trainable", "weights_trainable", "trainable_groups"),
    [(False, True, ["W"]), (True, False, ["b"]), (False, False, [])],
)
def test_frozen_groups_get_no_gradient_and_never_move(
    bias_trainable: bool, weights_trainable: bool, trainable_groups: list[str]
) -> None:
    spec = _biased("per_neuron", bias_trainable, weights_trainable)
    params = spec.initial_params()
    assert sorted(params[0]) == trainable_groups
    grads = hand_grads(spec, params, spec.inputs(), spec.targets())
    assert [sorted(g) for g in grads] == [trainable_groups, ["W"]]
    trained, losses = train_numpy(spec, 50)
    assert [sorted(p) for p in trained] == [trainable_groups, ["W"]]
    frozen = spec.frozen_params()[0]
    full = _biased("per_neuron").initial_params()[0]
    for group, value in frozen.items():
        np.testing.assert_array_equal(value, full[group])
    for group in trainable_groups:
        assert not np.allclose(trained[0][group], full[group])
    assert losses[-1] < losses[0]


def test_sigmoid_seed_shared_biases_stay_frozen(sigmoid_seed: Spec) -> None:
    spec = sigmoid_seed
    grads = hand_grads(spec, spec.initial_params(), spec.inputs(), spec.targets())
    assert [sorted(g) for g in grads] == [["W"], ["W"]]
    trained, _ = train_numpy(spec, 5)
    assert [sorted(p) for p in trained] == [["W"], ["W"]]
    assert [float(f["b"]) for f in spec.frozen_params()] == [0.35, 0.60]


def test_batch_gradient_is_the_sum_of_single_sample_gradients() -> None:
    spec = _mixed("half_sse", "sigmoid", {"mode": "per_neuron", "value": [0.1, 0.2]})
    params = spec.initial_params()
    x, t = spec.inputs(), spec.targets()
    batch = hand_grads(spec, params, x, t)
    singles = [hand_grads(spec, params, x[n : n + 1], t[n : n + 1]) for n in range(len(x))]
    summed = [{k: sum(s[i][k] for s in singles) for k in layer} for i, layer in enumerate(batch)]
    assert_params_close(batch, summed, rtol=1e-13, atol=1e-15)  # type: ignore[arg-type]


# -- dtype and arguments -------------------------------------------------------------------------
def test_float32_spec_computes_in_float32_end_to_end() -> None:
    spec32 = _mixed("mse", "softplus", {"mode": "shared", "value": -0.1}, dtype="float32")
    spec64 = _mixed("mse", "softplus", {"mode": "shared", "value": -0.1})
    fwd = forward(spec32, spec32.initial_params(), spec32.inputs())
    bwd = backward(spec32, spec32.initial_params(), fwd, spec32.targets())
    arrays = [*fwd.nets, *fwd.outs, *bwd.deltas, *(a for g in bwd.grads for a in g.values())]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}
    trained, losses = train_numpy(spec32, 3)
    assert {a.dtype for layer in trained for a in layer.values()} == {np.dtype(np.float32)}
    assert losses.dtype == np.float32
    # float64 inputs are cast to the spec's dtype rather than promoting the computation.
    assert forward(spec32, spec64.initial_params(), spec64.inputs()).outs[-1].dtype == np.float32
    grads64 = hand_grads(spec64, spec64.initial_params(), spec64.inputs(), spec64.targets())
    assert_params_close(bwd.grads, grads64, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("steps", "record_every", "message"),
    [
        (-1, 1, "train: steps must be >= 0 (got -1)"),
        (3, 0, "train: record_every must be >= 1 (got 0)"),
    ],
)
def test_train_numpy_rejects_bad_arguments(
    steps: int, record_every: int, message: str, linear_seed: Spec
) -> None:
    with pytest.raises(GradcheckError) as err:
        train_numpy(linear_seed, steps, record_every=record_every)
    assert str(err.value) == message


def test_train_numpy_records_the_loss_before_each_recorded_step(sigmoid_seed: Spec) -> None:
    spec = sigmoid_seed
    params, losses = train_numpy(spec, 4, record_every=2)
    one, _ = train_numpy(spec, 2)
    x, t = spec.inputs(), spec.targets()
    assert losses.tolist() == [
        loss_value(spec, spec.initial_params(), x, t),
        loss_value(spec, one, x, t),
    ]
    again, _ = train_numpy(spec, 2, params=one)
    assert_params_close(params, again, rtol=0.0, atol=0.0)
