"""Training networks with image kinds: the jitted ``lax.scan`` loop matches the NumPy loop step
for step, and the output-first rule (dense layers only) refuses them in one line."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_params_close

from gradcheck.generate.images import IMAGE_KINDS
from gradcheck.generate.sequences import SEQUENCE_KINDS
from gradcheck.generate.strategies import sample_networks
from gradcheck.hand import train_numpy
from gradcheck.layers import KINDS, OUTPUT_FIRST
from gradcheck.training.runner import TrainError, train

TOLERANCE = {"float64": (1e-10, 1e-12), "float32": (2e-4, 1e-5)}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_jax_loop_matches_the_numpy_loop_on_image_networks(dtype: str) -> None:
    cases = sample_networks(
        len(IMAGE_KINDS) + len(SEQUENCE_KINDS),
        2,
        kinds=tuple(KINDS),
        dtypes=(dtype,),
        weight_scale=(0.1, 1.0),
    )
    # every kind but residual (trained in tests/training/test_residual_training.py)
    assert {k for c in cases for k in c.spec.kinds} == set(KINDS) - {"residual"}
    for case in cases:
        result = train(case.spec, 20, device="cpu")
        params, history = train_numpy(case.spec, 20)
        rtol, atol = TOLERANCE[dtype]
        assert_params_close(result.params, params, rtol, atol)
        np.testing.assert_allclose(result.loss_history, history, rtol=rtol, atol=atol)


def test_output_first_training_refuses_a_network_with_image_kinds() -> None:
    (case,) = sample_networks(1, 0, kinds=tuple(KINDS))
    with pytest.raises(TrainError, match="updates dense layers only"):
        train(case.spec, 5, rule=OUTPUT_FIRST, backend="numpy")
