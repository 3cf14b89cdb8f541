"""Training with ``weight_decay`` and the ``svm`` loss: the compiled JAX loop gives the hand-derived
NumPy loop's params and losses step for step (both dtypes, frozen weights that count in E only),
the output-first rule decays like its NumPy reference, and a decay shrinks the weights."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from helpers import assert_params_close, make_spec
from hypothesis import given, settings

from gradcheck.generate.strategies import Case, networks
from gradcheck.golden.judging import output_first_grads
from gradcheck.hand import loss_value, train_numpy
from gradcheck.spec import Spec
from gradcheck.training.runner import train

DEVICE = os.environ.get("GRADCHECK_TEST_DEVICE", "cpu")
TOLERANCE = {"float64": (1e-9, 1e-12), "float32": (2e-4, 1e-5)}  # as tests/training/test_train.py


def _network(loss: str, dtype: str, weight_decay: float, frozen: bool = False) -> Spec:
    """3-4-3: tanh (its W frozen if ``frozen``) then an output fit for ``loss``."""
    rng = np.random.default_rng(3)
    targets = np.eye(3)[rng.integers(0, 3, size=4)] if loss == "svm" else rng.uniform(size=(4, 3))
    layers: list[dict[str, Any]] = [
        {
            "size": 4,
            "activation": "tanh",
            "init": {"rule": "xavier", "seed": 1},
            "trainable": not frozen,
            "bias": {"mode": "per_neuron", "value": 0.1},
        },
        {
            "size": 3,
            "activation": "identity" if loss == "svm" else "sigmoid",
            "init": {"rule": "xavier", "seed": 2},
            "bias": {"mode": "shared", "value": -0.2},
        },
    ]
    inputs = rng.uniform(-1.0, 1.0, size=(4, 3))
    return make_spec(
        layers,
        inputs,
        targets,
        loss=loss,
        dtype=dtype,
        learning_rate=0.2,
        weight_decay=weight_decay,
    )


@pytest.mark.parametrize(
    ("loss", "dtype", "frozen"),
    [("svm", "float64", False), ("half_sse", "float64", True), ("svm", "float32", True)],
)
def test_jax_and_numpy_loops_agree_step_for_step_with_a_weight_decay(
    loss: str, dtype: str, frozen: bool
) -> None:
    spec = _network(loss, dtype, 0.3, frozen)
    result = train(spec, 60, device=DEVICE)
    params, history = train_numpy(spec, 60)
    rtol, atol = TOLERANCE[dtype]
    assert_params_close(result.params, params, rtol, atol)
    np.testing.assert_allclose(result.loss_history, history, rtol=rtol, atol=atol)
    want = loss_value(spec, params, spec.inputs(), spec.targets())  # the decay included
    assert result.loss == pytest.approx(want, rel=max(rtol, 1e-7))


@settings(max_examples=6, deadline=None)
@given(networks(dtypes=("float64",), weight_decay=(0.05, 0.5), weight_scale=(0.1, 1.0)))
def test_jax_and_numpy_loops_agree_on_generated_networks_with_a_weight_decay(case: Case) -> None:
    result = train(case.spec, 20, device=DEVICE)
    params, history = train_numpy(case.spec, 20)
    assert_params_close(result.params, params, *TOLERANCE["float64"])
    np.testing.assert_allclose(result.loss_history, history, *TOLERANCE["float64"])


def test_a_decay_shrinks_the_weights_and_leaves_the_biases_to_the_loss() -> None:
    plain, decayed = (train(_network("svm", "float64", lam), 200, device=DEVICE) for lam in (0, 2))
    norm = [sum(float(np.sum(g["W"] ** 2)) for g in r.params) for r in (plain, decayed)]
    assert norm[1] < 0.5 * norm[0]


def test_the_output_first_rule_decays_like_its_numpy_reference() -> None:
    spec = _network("svm", "float64", 0.3)
    jax_run = train(spec, 40, device=DEVICE, rule="output-first")
    reference = train_numpy(spec, 40, grad_fn=output_first_grads)[0]
    assert_params_close(jax_run.params, reference, *TOLERANCE["float64"])
    gradient = train(spec, 40, device=DEVICE)
    assert not np.allclose(jax_run.params[0]["W"], gradient.params[0]["W"])  # another rule
