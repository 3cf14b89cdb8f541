"""The finite-difference and JAX oracles against the hand-derived gradients and each other."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from helpers import builtin_names, builtin_specs, make_spec, seed_spec

from gradcheck import oracles
from gradcheck.generate.strategies import sample_networks
from gradcheck.hand import hand_grads
from gradcheck.oracles import error_model, fd_directional, fd_network, finite_differences
from gradcheck.oracles import jax_grad as jax_oracle
from gradcheck.spec import (
    Params,
    Spec,
    SpecError,
)


def network(
    sizes: tuple[int, ...],
    activations: tuple[str, ...],
    loss: str = "half_sse",
    bias: tuple[str, ...] | None = None,
    frozen: tuple[str, ...] = (),
    dtype: str = "float64",
    batch: int = 3,
    seed: int = 0,
    weights: list[list[list[float]]] | None = None,
    inputs: list[list[float]] | None = None,
) -> Spec:
    """A spec with seeded uniform weights; ``frozen`` holds ``"W1"``/``"b2"``-style groups."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, act in enumerate(activations):
        n_in, n_out = sizes[i], sizes[i + 1]
        mode = (bias or ("per_neuron",) * len(activations))[i]
        layer: dict[str, Any] = {
            "size": n_out,
            "activation": act,
            "weights": weights[i] if weights else rng.uniform(-1, 1, (n_out, n_in)).tolist(),
            "trainable": f"W{i + 1}" not in frozen,
            "bias": {"mode": mode},
        }
        if act == "leaky_relu":
            layer["slope"] = 0.1
        if mode != "none":
            value = rng.uniform(-0.5, 0.5, n_out).tolist()
            layer["bias"]["value"] = value if mode == "per_neuron" else value[0]
            layer["bias"]["trainable"] = f"b{i + 1}" not in frozen
        layers.append(layer)
    x = inputs or rng.uniform(-1, 1, (batch, sizes[0])).tolist()
    if loss == "softmax_cross_entropy":
        targets = np.eye(sizes[-1])[rng.integers(0, sizes[-1], len(x))].tolist()
    else:
        targets = rng.uniform(-1, 1, (len(x), sizes[-1])).tolist()
    name = "test-" + "-".join(map(str, sizes))
    return make_spec(layers, x, targets, name=name, loss=loss, dtype=dtype)


def case(spec: Spec) -> tuple[Spec, Params, Any, Any]:
    return spec, spec.initial_params(), spec.inputs(), spec.targets()


# Every activation, loss, bias mode, a frozen group of each kind, and float32.
NETWORKS = {
    "sigmoid-tanh shared biases": network((3, 4, 2), ("sigmoid", "tanh"), bias=("shared",) * 2),
    "relu-identity mse": network((2, 5, 3), ("relu", "identity"), "mse", seed=3),
    "leaky-softplus no biases": network((4, 3, 2), ("leaky_relu", "softplus"), bias=("none",) * 2),
    "tanh-softmax cross-entropy": network((3, 6, 4), ("tanh", "softmax"), "softmax_cross_entropy"),
    "softmax with half_sse": network((2, 3), ("softmax",), "half_sse", batch=2),
    "frozen W1 and b2": network((3, 4, 2), ("tanh", "sigmoid"), frozen=("W1", "b2")),
    "frozen shared b1": network(
        (2, 3, 1), ("sigmoid", "identity"), bias=("shared", "per_neuron"), frozen=("b1",)
    ),
    "float32 three layers": network((3, 5, 4, 2), ("tanh", "sigmoid", "identity"), dtype="float32"),
}


@pytest.mark.parametrize("name", builtin_names())
def test_both_oracles_agree_with_hand_grads_on_the_builtin_networks(name: str) -> None:
    spec, p, x, t = case(seed_spec(name))
    hand = hand_grads(spec, p, x, t)
    fd = oracles.finite_difference(spec, p, x, t)
    jax = oracles.jax_grads(spec, p, x, t)
    for i, layer in enumerate(hand):
        for g, h in layer.items():
            np.testing.assert_allclose(jax[i][g], h, rtol=1e-13, atol=1e-15)
            assert np.all(np.abs(fd.values[i][g] - h) <= fd.errors[i][g])
            # the estimate is tight, not a blanket bound: the loss's rounding over the step,
            # about 1e-8 here (the conv net's loss sums the most terms: 1.2e-8)
            assert np.all(fd.errors[i][g] < 1e-7)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_both_oracles_agree_with_hand_grads_on_every_feature(name: str) -> None:
    spec, p, x, t = case(NETWORKS[name])
    hand = hand_grads(spec, p, x, t)
    fd = oracles.finite_difference(spec, p, x, t)
    jax = oracles.jax_grads(spec, p, x, t)
    rtol = 1e-12 if spec.model.dtype == "float64" else 1e-5
    assert [sorted(g) for g in jax] == [sorted(g) for g in p]
    for i, layer in enumerate(hand):
        for g, h in layer.items():
            assert jax[i][g].dtype == spec.dtype and jax[i][g].shape == h.shape
            scale = np.max(np.abs(h))
            np.testing.assert_allclose(jax[i][g], h, rtol=rtol, atol=rtol * scale)
            assert not fd.kinks[i][g].any()
            allowed = fd.errors[i][g] + rtol * scale  # float32 hand vs float64 FD
            assert np.all(np.abs(fd.values[i][g] - h) <= allowed)


def test_error_estimate_bounds_the_actual_error_on_generated_networks() -> None:
    cases = sample_networks(30, seed=11, depth=(1, 3), widths=(1, 6), saturating=True)
    checked = 0
    for spec, p, x, t in cases:
        fd = oracles.finite_difference(spec, p, x, t)
        exact = oracles.jax_grads(spec, p, x, t, dtype="float64")
        for i, layer in enumerate(exact):
            for g, j in layer.items():
                smooth = ~fd.kinks[i][g]
                error = np.abs(fd.values[i][g] - j)[smooth]
                assert np.all(error <= fd.errors[i][g][smooth]), spec.name
                checked += int(smooth.sum())
    assert checked > 300


def test_error_estimate_grows_with_the_step_and_still_bounds_the_error(sigmoid_seed: Spec) -> None:
    spec, p, x, t = case(sigmoid_seed)
    exact = oracles.jax_grads(spec, p, x, t)
    small = oracles.finite_difference(spec, p, x, t)
    large = oracles.finite_difference(spec, p, x, t, rel_step=0.3)
    for i, layer in enumerate(exact):
        for g, j in layer.items():
            assert np.all(large.errors[i][g] > 10 * small.errors[i][g])
            assert np.all(np.abs(large.values[i][g] - j) <= large.errors[i][g])
            np.testing.assert_allclose(large.steps[i][g], 0.3 * np.maximum(np.abs(p[i][g]), 1))


def test_only_differences_the_entries_asked_for(sigmoid_seed: Spec) -> None:
    spec, p, x, t = case(sigmoid_seed)
    fd = oracles.finite_difference(spec, p, x, t, only=[(1, "W", (1, 0))])
    full = oracles.finite_difference(spec, p, x, t)
    assert np.isnan(fd.values[0]["W"]).all()
    assert np.isfinite(fd.values[1]["W"]).sum() == 1
    assert fd.values[1]["W"][1, 0] == full.values[1]["W"][1, 0]
    # listed against layer order (and out of order within a layer): each entry keeps its value
    only = [(1, "W", (1, 0)), (0, "W", (1, 1)), (1, "W", (0, 1)), (0, "W", (0, 0))]
    fd = oracles.finite_difference(spec, p, x, t, only=only)
    for layer, group, index in only:
        where = (layer, group, index)
        assert fd.steps[layer][group][index] == full.steps[layer][group][index], where
        got, want = fd.values[layer][group][index], full.values[layer][group][index]
        assert got == pytest.approx(want, rel=1e-12), where


def _unit_on_its_kink() -> tuple[Spec, Params]:
    """2-2-1 relu net whose unit 0 of layer 1 sits exactly on the kink (net = 2e-6 * 1 + 1 * 0
    - 2e-6 = 0), so any step of its weights or bias moves it across; unit 1 (net 0.8) stays far
    from it."""
    spec = network(
        (2, 2, 1),
        ("relu", "identity"),
        weights=[[[1.0, 0.0], [0.5, 0.5]], [[1.0, 1.0]]],
        inputs=[[2e-6, 1.0]],
    )
    p = spec.initial_params()
    p[0]["b"] = np.array([-2e-6, 0.3])
    return spec, p


def test_a_stencil_across_a_relu_kink_is_flagged() -> None:
    spec, p = _unit_on_its_kink()
    fd = oracles.finite_difference(spec, p, spec.inputs(), spec.targets())
    assert fd.kinks[0]["b"].tolist() == [True, False]
    assert fd.at_kink[0]["b"].tolist() == [True, False]
    assert fd.kinks[0]["W"].tolist() == [[True, True], [False, False]]
    assert not fd.kinks[1]["W"].any()  # layer 2 steps do not move layer 1's pre-activations


def test_directional_derivative_matches_the_projected_gradient() -> None:
    spec, p, x, t = case(NETWORKS["tanh-softmax cross-entropy"])
    d = oracles.directional_finite_difference(spec, p, x, t, seed=3)
    jax = oracles.jax_grads(spec, p, x, t)
    for i, layer in enumerate(jax):
        for g, j in layer.items():
            v = d.directions[i][g]
            assert v.shape == j.shape and np.max(np.abs(v)) == 1.0
            assert abs(d.values[i][g] - np.sum(j * v)) <= d.errors[i][g] < 1e-8
            assert not d.kinks[i][g]


@pytest.mark.parametrize("name", builtin_names())
def test_directions_differenced_in_one_pass_equal_each_group_on_its_own(name: str) -> None:
    # Every group's stencil runs through one batched pass; on its own pass it must give the
    # same Richardson value (rounding of a larger batch aside) and the same kink findings.
    spec = next(s for s in builtin_specs() if s.name == name)
    p, x, t = spec.initial_params(), spec.inputs(), spec.targets()
    together = oracles.directional_finite_difference(spec, p, x, t, seed=5)
    base = fd_network.base_pass(spec, p, x, t)
    terms = error_model.forward_terms(spec, base)
    base = dataclasses.replace(base, near=error_model.near_kinks(spec, base, terms))
    noise = error_model.rounding_noise(spec, base)
    for i, layer in enumerate(p):
        for g in layer:
            v, h = together.directions[i][g], together.steps[i][g]
            found, value, error, _ = fd_directional._along_alone(spec, base, i, g, v, h, noise)
            assert together.values[i][g] == pytest.approx(float(value[0]), rel=1e-9, abs=1e-12)
            assert together.errors[i][g] == pytest.approx(float(error[0]), rel=1e-6, abs=1e-12)
            assert together.at_kink[i][g] == bool(found.at_kink.any())


def test_a_direction_that_moves_a_unit_on_its_kink_is_bracketed_on_its_own() -> None:
    # the directions of layer 1's groups move its unit on the kink, so those groups leave the
    # shared pass and get a bracket; layer 2's do not move it
    spec, p = _unit_on_its_kink()
    d = oracles.directional_finite_difference(spec, p, spec.inputs(), spec.targets())
    assert d.at_kink[0] == {"W": True, "b": True}
    assert all(d.lower[0][g] <= d.upper[0][g] for g in ("W", "b"))
    assert not d.at_kink[1]["W"] and np.isnan(d.lower[1]["W"])


def test_padding_to_a_shape_bucket_gives_the_unpadded_gradients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    specs = [NETWORKS[n] for n in ("tanh-softmax cross-entropy", "sigmoid-tanh shared biases")]
    specs.append(NETWORKS["relu-identity mse"])  # mse: the mean must not count padded entries
    padded = [oracles.jax_loss_and_grads(*case(s)) for s in specs]
    monkeypatch.setattr(jax_oracle, "_padded_width", lambda n, smallest: n)  # exact shapes,
    monkeypatch.setattr(jax_oracle, "_SHARED_WIDTH", 0)  # each layer its own: no padding
    exact = [oracles.jax_loss_and_grads(*case(s)) for s in specs]
    for (loss_p, grads_p), (loss_e, grads_e) in zip(padded, exact, strict=True):
        assert loss_p == pytest.approx(loss_e, rel=1e-15)
        for gp, ge in zip(grads_p, grads_e, strict=True):
            for g in ge:
                np.testing.assert_allclose(gp[g], ge[g], rtol=1e-14, atol=1e-16)


def test_networks_of_one_shape_bucket_share_one_trace() -> None:
    # depth 1 to 4, widths <= 8, batch <= 4, float64: one bucket, whatever the depth,
    # activations and biases (a shallower network is led by pass-through layers)
    shapes = [(3, 5, 2, 4), (8, 8, 8, 8, 8), (1, 2), (2, 7, 6), (6, 1, 4, 2)]
    acts = ("tanh", "relu", "sigmoid", "identity"), ("softplus", "leaky_relu", "elu", "tanh")
    specs = [
        network(s, acts[k % 2][: len(s) - 1], batch=1 + k % 4, seed=k) for k, s in enumerate(shapes)
    ]
    oracles.jax_grads(*case(specs[0]))
    before = oracles.jax_cache_info()
    for spec in specs[1:]:
        oracles.jax_grads(*case(spec))
    assert oracles.jax_cache_info() == before


def test_networks_of_mixed_widths_share_a_bucket_per_widest_width() -> None:
    # widths 2 to 10 in any mix: every layer is padded to the widest one's width (16 here), so
    # the mixes share a program (each layer padded alone compiled most mixes of 8 and 16, and a
    # long run over such networks ran out of memory maps)
    shapes = [(9, 3, 2), (2, 10, 3), (3, 2, 10), (10, 10, 2), (5, 9, 9)]
    specs = [network(s, ("tanh", "identity"), batch=2, seed=k) for k, s in enumerate(shapes)]
    oracles.jax_grads(*case(specs[0]))
    before = oracles.jax_cache_info()
    for spec in specs[1:]:
        oracles.jax_grads(*case(spec))
    assert oracles.jax_cache_info() == before


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pass_through_layers_leave_the_loss_and_gradients_as_the_exact_depth_gives_them(
    monkeypatch: pytest.MonkeyPatch, dtype: str
) -> None:
    """Depth 1-3 networks run behind W = I pass-through layers: the same loss and gradients
    as a program of their exact depth, to rounding (XLA may fuse the two programs otherwise),
    and no weight decay from the pass-through W (which would add (4 - depth) * 8 / 2 * lambda)."""
    cases = sample_networks(40, 11, depth=(1, 3), dtypes=(dtype,), kinds=("dense",))
    decayed = [c.spec for c in cases if c.spec.weight_decay > 0]
    assert decayed  # the draw covers the decay term
    padded = [oracles.jax_loss_and_grads(*c) for c in cases]
    monkeypatch.setattr(jax_oracle, "_DEPTH_STEP", 1)
    exact = [oracles.jax_loss_and_grads(*c) for c in cases]
    eps = float(np.finfo(dtype).eps)
    for (loss_p, grads_p), (loss_e, grads_e) in zip(padded, exact, strict=True):
        assert abs(loss_p - loss_e) <= 16 * eps * max(abs(loss_e), 1.0)
        for gp, ge in zip(grads_p, grads_e, strict=True):
            assert gp.keys() == ge.keys()
            for g in ge:
                scale = 16 * eps * max(float(np.max(np.abs(ge[g]), initial=0.0)), 1.0)
                assert np.all(np.abs(gp[g] - ge[g]) <= scale)


def test_float32_specs_compute_in_float32_unless_asked_for_float64() -> None:
    spec, p, x, t = case(NETWORKS["float32 three layers"])
    single = oracles.jax_grads(spec, p, x, t)
    double = oracles.jax_loss_and_grads(spec, p, x, t, dtype="float64")[1]
    assert single[0]["W"].dtype == np.float32 and double[0]["W"].dtype == np.float64
    assert not np.array_equal(single[0]["W"].astype(np.float64), double[0]["W"])
    np.testing.assert_allclose(single[0]["W"], double[0]["W"], rtol=1e-4, atol=1e-6)


def test_importing_and_using_gradcheck_leaves_jax_x64_off() -> None:
    code = (
        "import jax, gradcheck, gradcheck.oracles as o, gradcheck.checking.verification as v\n"
        "from gradcheck.spec import builtin_networks_dir, load_specs\n"
        "s = load_specs([builtin_networks_dir()])[0]\n"
        "g = o.jax_grads(s, s.initial_params(), s.inputs(), s.targets())\n"
        "assert g[0]['W'].dtype == 'float64', g[0]['W'].dtype\n"
        "print(jax.config.jax_enable_x64, jax.numpy.ones(1).dtype)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "float32"]


BAD_ARGUMENTS = [
    ("params", lambda p, x, t: ([p[0]], x, t), "params: expected a list of 2 dicts, got 1"),
    ("group", lambda p, x, t: ([{"b": 1.0}, p[1]], x, t), "params[0]: groups ['b'], expected"),
    ("shape", lambda p, x, t: ([{"W": p[0]["W"].T[:1]}, p[1]], x, t), "params[0]['W']: shape"),
    ("inputs", lambda p, x, t: (p, x[:, :1], t), "inputs: shape (1, 1), expected (batch, 2)"),
    ("targets", lambda p, x, t: (p, x, t[:, :1]), "targets: shape (1, 1), expected (1, 2)"),
    ("nan", lambda p, x, t: (p, x * np.nan, t), "inputs[0, 0]: nan is not finite"),
    ("text", lambda p, x, t: (p, x, np.array([["a", "b"]])), "targets: dtype <U1, expected"),
]


@pytest.mark.parametrize(
    ("what", "mangle", "message"), BAD_ARGUMENTS, ids=[b[0] for b in BAD_ARGUMENTS]
)
def test_bad_arguments_raise_one_line_naming_the_field(
    what: str, mangle: Any, message: str, sigmoid_seed: Spec
) -> None:
    spec, p, x, t = case(sigmoid_seed)
    for oracle in (oracles.finite_difference, oracles.jax_grads):
        with pytest.raises(SpecError) as err:
            oracle(spec, *mangle(p, x, t))
        assert message in str(err.value) and "\n" not in str(err.value)
        assert str(err.value).startswith(spec.path)


def test_scales_are_the_gradient_magnitudes_where_no_sum_cancels() -> None:
    # Identity layers, positive weights, biases and inputs, targets <= 0: every term of every
    # sum the delta rule forms has one sign, so the term magnitude is |grad| itself.
    layers = [
        {
            "size": 3,
            "activation": "identity",
            "weights": [[0.5, 0.2], [0.1, 0.7], [0.3, 0.4]],
            "bias": {"mode": "per_neuron", "value": [0.1, 0.2, 0.3]},
        },
        {
            "size": 1,
            "activation": "identity",
            "weights": [[0.6, 0.9, 0.2]],
            "bias": {"mode": "shared", "value": 0.25},
        },
    ]
    positive = make_spec(
        layers, [[1.0, 2.0], [0.5, 0.25]], [[-0.5], [0.0]], name="positive", path="<positive>"
    )
    spec, params, x, t = case(positive)
    hand = hand_grads(spec, params, x, t)
    for result in (
        oracles.finite_difference(spec, params, x, t),
        oracles.directional_finite_difference(spec, params, x, t),
    ):
        for scales, grads in zip(result.scales, hand, strict=True):
            assert scales.keys() == grads.keys()
            for g, a in grads.items():
                np.testing.assert_allclose(scales[g], np.abs(a), rtol=1e-14)


def test_scales_exceed_the_gradient_where_its_terms_cancel() -> None:
    # Sample contributions (w x - t) x of +1e4 and -1e4 + 1e-11: the gradient is ~1e-11, the
    # terms it sums are 2e4.
    spec, params, _, _ = case(network((1, 1), ("identity",), bias=("none",), batch=2))
    w = float(params[0]["W"][0, 0])
    xs = np.array([[1.0], [1.0]])
    ts = np.array([[w - 1e4], [w + 1e4 - 1e-11]])
    result = oracles.finite_difference(spec, params, xs, ts)
    grad = hand_grads(spec, params, xs, ts)[0]["W"]
    assert abs(float(grad[0, 0])) < 1e-10
    np.testing.assert_allclose(result.scales[0]["W"], 2e4 + 2 * abs(w), rtol=1e-12)


@pytest.mark.parametrize(
    ("loss", "activation"),
    [("binary_cross_entropy", "sigmoid"), ("softmax_cross_entropy", "softmax")],
)
def test_an_output_whose_net_cancels_carries_its_terms_into_the_delta(
    loss: str, activation: str
) -> None:
    # net_0 = 100 - 99.9 = 0.1, summed from terms of 200: the output rounds with its slope
    # (1/8 to 1/4, as the model probes it) times 200, so dE/dnet = out - t does too, and a W
    # entry's terms are that times |x| = 100 (these two losses counted the output's value
    # alone: a trial's float32 network, its own backprop's rounding 10x JAX's, failed as a
    # backprop-bug)
    layer = {
        "size": 2,
        "activation": activation,
        "weights": [[1.0, -0.999], [0.5, -0.5]],
        "bias": {"mode": "none"},
    }
    spec = make_spec([layer], [[100.0, 100.0]], [[1.0, 0.0]], name="cancel", loss=loss)
    fd = oracles.finite_difference(*case(spec))
    assert float(fd.scales[0]["W"][0, 0]) >= 0.1 * 200.0 * 100.0  # 1.5e2 when counted alone


def exact_cancel() -> Spec:
    """Issue 10's network: unit 0's pre-activation is 0 in decimal arithmetic and rounds to
    +4e-16 in float64 (and to 0.0 in XLA)."""
    layers = [
        {
            "size": 2,
            "activation": "relu",
            "weights": [[-0.3, -1.3, 1.4, -0.4, 0.6], [-1.7, -2.0, -0.6, 0.1, 1.4]],
            "bias": {"mode": "per_neuron", "value": [-2.13, -1.7]},
        },
        {"size": 1, "activation": "identity", "weights": [[1.2, -2.0]]},
    ]
    return make_spec(layers, [[0.3, 0.0, 1.6, -1.9, -1.3]], [[-0.1]], name="exact-cancel")


def test_a_pre_activation_within_its_rounding_bound_of_0_is_on_its_kink() -> None:
    spec, p, x, t = case(exact_cancel())
    base = fd_network.base_pass(spec, p, x, t)
    assert 0 < abs(base.nets[0][0, 0]) < 1e-15  # not 0: the old rule never saw a kink here
    band = error_model.kink_bands(spec, base)[0]
    terms = np.abs(x) @ np.abs(p[0]["W"]).T + np.abs(p[0]["b"])
    np.testing.assert_allclose(band, error_model.ROUNDING_PER_LAYER * np.finfo(float).eps * terms)
    fd = oracles.finite_difference(spec, p, x, t)
    # x[1] = 0: a step of W[0,1] does not move unit 0, so it is the only entry of row 0 off it
    assert fd.at_kink[0]["W"].tolist() == [[True, False, True, True, True], [False] * 5]
    assert fd.at_kink[0]["b"].tolist() == [True, False]
    assert not fd.at_kink[1]["W"].any()


def test_on_a_kink_the_bracket_spans_the_derivatives_of_both_pieces() -> None:
    spec, p, x, t = case(exact_cancel())
    fd = oracles.finite_difference(spec, p, x, t)
    # dE/dnet_0 = (out - t) * 1.2 with out = 0 + relu(net_1) * -2 = 0, so 0.12 on the right piece
    delta = (0.0 - -0.1) * 1.2
    right = delta * np.array([0.3, 0.0, 1.6, -1.9, -1.3])
    on = fd.at_kink[0]["W"][0]
    np.testing.assert_allclose(fd.lower[0]["W"][0][on], np.minimum(right, 0.0)[on], atol=1e-9)
    np.testing.assert_allclose(fd.upper[0]["W"][0][on], np.maximum(right, 0.0)[on], atol=1e-9)
    assert fd.lower[0]["b"][0] == pytest.approx(0.0, abs=1e-9)
    assert fd.upper[0]["b"][0] == pytest.approx(delta, abs=1e-9)
    assert np.all(fd.interval_errors[0]["W"][0][on] < 1e-8)
    assert np.isnan(fd.lower[1]["W"]).all()  # not at a kink: no bracket


def test_elu_below_0_counts_the_terms_of_1_plus_out() -> None:
    # elu' = 1 + out below 0, as JAX computes it: at net = -30 that cancels to e^-30, so the
    # term magnitude of the bias is |upstream| (1 + |out|), not |upstream| e^-30 (the unit is
    # saturated: its output rounds as itself, |out| + |t| upstream).
    layer = {"size": 1, "activation": "elu", "weights": [[1.0]], "bias": {"mode": "per_neuron"}}
    spec = make_spec([dict(layer, bias={"mode": "per_neuron", "value": [-30.0]})], [[0.0]], [[1.0]])
    fd = oracles.finite_difference(*case(spec))
    upstream = abs(np.expm1(-30.0)) + 1.0  # |out| + |t| for half_sse
    assert float(fd.scales[0]["b"][0]) == pytest.approx(upstream * (1.0 + abs(np.expm1(-30.0))))


def test_the_compiled_programs_kept_are_bounded_and_a_cleared_one_compiles_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a long run over drawn image networks compiled a program per shape until the process ran
    # out of memory maps; past the bound every cache starts again, and the values stay the same
    from gradcheck.layers import KINDS
    from gradcheck.oracles import jax_exact

    cases = [c for c in sample_networks(12, 3, kinds=tuple(KINDS)) if not c.spec.is_dense][:3]
    widths = [(3, 2), (12, 2), (40, 2)]  # dense ones in three buckets count too (8, 16, 64 wide)
    dense = [network(s, ("tanh",), batch=2, seed=1) for s in widths]
    cases += [(d, d.initial_params(), d.inputs(), d.targets()) for d in dense]
    first = [oracles.jax_loss_and_grads(*c)[1] for c in cases]
    monkeypatch.setattr(jax_exact, "_KEEP_PROGRAMS", 2)
    monkeypatch.setattr(jax_exact, "_PROGRAMS", set())
    held = (jax_exact._LOSS_AND_GRAD, jax_exact._QUICK_LOSS_AND_GRAD, jax_oracle._LOSS_AND_GRAD)
    for jitted in held:  # from here on, every program compiled counts
        jitted.clear_cache()
    for case, grads in zip(cases * 2, first * 2, strict=True):
        again = oracles.jax_loss_and_grads(*case)[1]
        assert len(jax_exact._PROGRAMS) <= 2
        assert sum(jitted._cache_size() for jitted in held) <= 2, "programs compiled and kept"
        for mine, theirs in zip(again, grads, strict=True):
            for g, a in theirs.items():
                np.testing.assert_array_equal(mine[g], a)


def _product_run(seen: list[tuple[int, int]]) -> Any:
    """A synthetic ``run``: one entry whose value is 3 a b - 2 b + 1, ``a`` and ``b`` the pieces
    (0 or 1) of unit 0 in slot 0 and unit 0 in slot 1: a path through both units."""

    def run(forced: Any) -> tuple[np.ndarray, np.ndarray]:
        a, b = (int(max(f[0, 0], 0)) for f in forced)
        seen.append((a, b))
        return np.array([3.0 * a * b - 2.0 * b + 1.0]), np.array([1e-9])

    return run


def test_units_of_two_layers_tried_by_stage_bracket_their_product(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Units in two slots (in series) tried by stage: both pieces of each alone and together,
    the coefficient of the product by Moebius inversion (2 - 1 - (-1) + 1 = 3), the bracket
    the least and the greatest vertex (1, 1, -1, 2) as where every combination is tried, and no
    hull claimed."""
    touched = [np.array([[True]]), np.array([[True]])]
    seen: list[tuple[int, int]] = []
    exact = finite_differences.bracket(_product_run(seen), touched)
    assert (exact.lower[0], exact.upper[0]) == (-1.0, 2.0) and exact.hull
    monkeypatch.setattr(finite_differences, "ENUMERATED_UNITS", 1)
    seen.clear()
    staged = finite_differences.bracket(_product_run(seen), touched)
    assert sorted(seen) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert (staged.lower[0], staged.upper[0]) == (-1.0, 2.0)  # each product's sign: (-1, 4)
    assert not staged.hull
    # too many choices by stage: each unit alone, and no bound is claimed for their product
    monkeypatch.setattr(finite_differences, "_MAX_STAGED", 2)
    alone = finite_differences.bracket(_product_run(seen), touched)
    assert (alone.lower[0], alone.upper[0]) == (-np.inf, np.inf) and not alone.hull


def test_units_side_by_side_tried_one_at_a_time_give_the_hull(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two units of one slot and one sample, tried alone: one group of changes per unit, the
    hull of their sum exact (their changes add), so the joint check may use it."""
    monkeypatch.setattr(finite_differences, "ENUMERATED_UNITS", 1)

    def run(forced: Any) -> tuple[np.ndarray, np.ndarray]:
        a, b = (int(max(p, 0)) for p in forced[0][0])
        return np.array([2.0 * a - 1.0 * b, 1.0 * a]), np.zeros(2)

    found = finite_differences.bracket(run, [np.array([[True, True]])])
    assert found.hull and len(found.changes) == 2
    np.testing.assert_array_equal(found.lower, [-1.0, 0.0])
    np.testing.assert_array_equal(found.upper, [2.0, 1.0])


@pytest.mark.parametrize("enumerated, calls", [(8, 4 * 3), (1, 1 + 3 + 2)])
def test_a_bracket_spans_every_piece_of_units_where_more_than_two_meet(
    monkeypatch: pytest.MonkeyPatch, enumerated: int, calls: int
) -> None:
    """Two units of one sample, four and three pieces meeting at their kinks (max-pool windows
    with four and three tied inputs), each piece adding its own slope: every combination tried
    (12 runs), or each unit's pieces alone (6 runs, their extremes added), the bracket is the
    least and the greatest sum."""
    monkeypatch.setattr(finite_differences, "ENUMERATED_UNITS", enumerated)
    slopes = [np.array([1.0, 3.0, 0.0, 2.0]), np.array([2.0, 1.0, 2.5])]
    seen: list[tuple[int, ...]] = []

    def run(forced: Any) -> tuple[np.ndarray, np.ndarray]:
        pieces = tuple(int(max(p, 0)) for p in forced[1][0])  # -1: piece 0, +j: piece j
        seen.append(pieces)
        value = sum(s[p] for s, p in zip(slopes, pieces, strict=True))
        return np.array([value]), np.array([1e-9])

    touched = [None, np.array([[True, True]])]
    ways = (None, np.array([[4, 3]]))
    lower, upper, error = finite_differences.bracket(run, touched, ways)[:3]
    assert (lower[0], upper[0]) == (0.0 + 1.0, 3.0 + 2.5)
    assert len(seen) == calls and len(set(seen)) == calls
    assert error[0] > 0
