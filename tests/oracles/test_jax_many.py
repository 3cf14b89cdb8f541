"""jax_loss_and_grads_many: the JAX oracle over many networks, one vmapped call per bucket chunk,
gives each network's loss and gradients as the one-network call does, and compiles at most twice
per bucket however many networks it gets."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck.generate.strategies import sample_networks
from gradcheck.oracles import jax_grad


def test_many_networks_match_one_at_a_time_with_two_compiles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jax_grad, "_MANY_CHUNK", 8)
    monkeypatch.setattr(jax_grad, "_MANY_SMALL", 4)
    # one bucket: a single layer of width <= 8 and up to 4 samples, float32 networks
    cases = sample_networks(19, 3, depth=1, widths=(1, 8), dtypes=("float32",))
    arguments = [tuple(case) for case in cases]
    before = jax_grad.jax_cache_info()["traces"]
    many = jax_grad.jax_loss_and_grads_many(arguments)  # chunks of 8, 8 and 3
    traces = jax_grad.jax_cache_info()["traces"] - before
    assert traces <= 2  # one program per chunk size: 8, and 4 for the last 3 networks
    assert len(many) == len(cases)
    for case, (loss, grads) in zip(cases, many, strict=True):
        one_loss, one_grads = jax_grad.jax_loss_and_grads(*case)
        eps = float(np.finfo(case.spec.dtype).eps)
        assert abs(loss - one_loss) <= 64 * eps * max(abs(one_loss), 1.0)
        for got, want in zip(grads, one_grads, strict=True):
            assert got.keys() == want.keys()
            for g in want:
                assert got[g].dtype == want[g].dtype and got[g].shape == want[g].shape
                scale = 64 * eps * max(float(np.max(np.abs(want[g]), initial=0.0)), 1.0)
                assert np.all(np.abs(got[g] - want[g]) <= scale)
