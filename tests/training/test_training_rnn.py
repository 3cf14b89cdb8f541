"""Training a network with an rnn: the jitted ``lax.scan`` loop (JAX's gradient through the
reference recurrence) matches the NumPy loop (backpropagation through time by hand) step for
step, weight decay on both matrices and a frozen bias included; the output-first rule refuses it.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_params_close, make_spec

from gradcheck.hand import train_numpy
from gradcheck.layers import OUTPUT_FIRST
from gradcheck.spec import Spec
from gradcheck.training.runner import TrainError, train

TOLERANCE = {"float64": (1e-10, 1e-12), "float32": (2e-4, 1e-5)}


def _every_state_net(dtype: str) -> Spec:
    """rnn 2 units over 3 steps of 2 features, every state, flatten, dense 2, weight decay."""
    rnn = {
        "kind": "rnn",
        "size": 2,
        "states": "all",
        "init": {"rule": "xavier", "seed": 1},
        "bias": {"mode": "per_neuron", "value": [0.25, -0.5], "trainable": False},
    }
    head = {"size": 2, "activation": "tanh", "init": {"rule": "normal", "scale": 0.5, "seed": 2}}
    inputs = [[0.5, -1.0, 0.25, 0.75, -0.5, 1.0], [1.0, 0.5, -0.25, 0.0, 0.5, -1.0]]
    return make_spec(
        [rnn, {"kind": "flatten"}, head],
        inputs,
        [[0.5, -0.25], [-0.5, 0.75]],
        dtype=dtype,
        learning_rate=0.2,
        input={"shape": [3, 2]},
        weight_decay=0.01,
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_jax_loop_matches_the_numpy_loop_on_an_rnn(dtype: str) -> None:
    spec = _every_state_net(dtype)
    result = train(spec, 30, device="cpu")
    params, history = train_numpy(spec, 30)
    rtol, atol = TOLERANCE[dtype]
    assert_params_close(result.params, params, rtol, atol)
    np.testing.assert_allclose(result.loss_history, history, rtol=rtol, atol=atol)
    assert set(params[0]) == {"Wxh", "Whh"}  # the frozen bias is never trained
    assert history[-1] < history[0]


def test_output_first_training_refuses_an_rnn() -> None:
    with pytest.raises(TrainError, match="updates dense layers only"):
        train(_every_state_net("float64"), 5, rule=OUTPUT_FIRST, backend="numpy")
