"""Training a network with a residual block: the JAX loop and the hand-derived NumPy loop take
the same steps, weight decay on the block's inner weights included."""

from __future__ import annotations

import numpy as np
from helpers import assert_params_close, seed_spec

from gradcheck import train
from gradcheck.hand import train_numpy
from gradcheck.spec import parse_spec


def test_jax_and_numpy_train_a_decayed_residual_network_step_for_step() -> None:
    data = seed_spec("residual-mlp").model.model_dump(exclude_none=True)
    spec = parse_spec({**data, "weight_decay": 0.05})
    assert "residual" in spec.kinds and spec.decayed[1] == {"0.W", "1.W"}
    result = train(spec, 25, device="cpu")
    params, history = train_numpy(spec, 25)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9, atol=1e-12)
    assert_params_close(result.params, params, 1e-9, 1e-12)
    assert history[-1] < history[0]  # it learns: the block's gradients move the loss down
