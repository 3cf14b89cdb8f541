"""Three sides agree on networks with norms: hand-derived = JAX = finite differences.

Networks drawn with ``batch_norm`` and ``layer_norm`` allowed (after hidden dense layers), in
float64 and float32: the hand-derived gradients match ``jax.value_and_grad`` of the reference
forwards to the dtype's rounding of the terms each entry sums (the error model's magnitudes,
which scale with ``1 / std`` of each norm's input), and the float64 finite differences within
their own error estimate. Image networks with a norm after a conv stage are drawn by
``tests/oracles/test_image_kinds.py`` (every kind allowed).
"""

from __future__ import annotations

import pytest
from helpers import assert_three_sides_agree
from hypothesis import given, settings

from gradcheck.checking.verification import verify
from gradcheck.generate.norms import NORM_KINDS
from gradcheck.generate.strategies import Case, networks, sample_networks
from gradcheck.hand import hand_grads
from gradcheck.oracles import jax_grads
from gradcheck.spec import Array, Params, Spec, parse_spec

KINDS = ("dense", *NORM_KINDS)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hand_jax_and_finite_differences_agree_on_each_norm(dtype: str) -> None:
    cases = sample_networks(len(NORM_KINDS), 7, kinds=KINDS, dtypes=(dtype,), batch_size=(2, 4))
    assert {k for c in cases for k in c.spec.kinds} == set(KINDS)  # the plan places each norm
    for case in cases:
        assert_three_sides_agree(case)


@settings(max_examples=2, deadline=None)
@given(networks(kinds=KINDS, depth=(2, 3), dtypes=("float64", "float32")))
def test_hand_jax_and_finite_differences_agree_on_drawn_networks_with_norms(case: Case) -> None:
    assert_three_sides_agree(case)


def test_a_batch_norm_over_equal_inputs_passes_on_rounding_noise_alone() -> None:
    """Every sample and position equal: ``x - mean`` is exactly 0 in NumPy's sums and rounding
    noise in XLA's, so are the output and ``x_hat`` after it, and JAX's gradient is their
    product, about eps^2 of their terms (3e-40 here, hand and FD exactly 0): the error model's
    second order allows it (a trial's shrunk network; it failed as an oracle disagreement)."""
    data = {
        "name": "equal-inputs-batch-norm",
        "loss": "half_sse",
        "optimizer": {"learning_rate": 0.1},
        "input": {"shape": [1, 3, 3]},
        "layers": [
            {"kind": "conv2d", "channels": 1, "kernel": 1, "activation": "identity",
             "weights": [[[[-3.204345703125e-05]]]], "bias": {"mode": "none"}},
            {"kind": "batch_norm"},
            {"kind": "flatten"},
            {"kind": "dense", "size": 1, "activation": "identity",
             "weights": [[0.0] * 8 + [-3.204345703125e-05]], "bias": {"mode": "none"}},
        ],
        "samples": [{"input": [1.0] * 9, "target": [0.0]}] * 2,
    }  # fmt: skip
    spec = parse_spec(data, "equal-inputs.toml")
    grads = jax_grads(spec, spec.initial_params(), spec.inputs(), spec.targets())
    assert 0 < abs(grads[3]["W"][0, 0]) < 1e-35  # the noise this is about is there
    verdict = verify(hand_grads, spec)
    assert verdict.ok, verdict.summary()


def test_the_second_order_term_leaves_each_norms_own_eps_alone() -> None:
    """The network dtype's epsilon rides in the error model's options under its own key: under
    ``eps`` it replaced a layer_norm's 1e-5, ``1 / std`` grew where the variance is small, and
    the allowance with it (9e-9 -> 1.1e-4 of the largest gradient: a reviewer's 3e-6 slip in a
    weight below a layer_norm passed)."""
    kinds = ("dense", "residual", "layer_norm")
    case = sample_networks(1, 2, kinds=kinds)[0]
    assert "layer_norm" in case.spec.kinds and case.spec.model.dtype == "float64"

    def slipped(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        grads[0]["W"].flat[3] *= 1 + 3e-6
        return grads

    assert verify(hand_grads, *case).ok
    assert not verify(slipped, *case).ok
