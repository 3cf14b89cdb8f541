"""jax_loss_and_grads_many: the JAX oracle over many networks, one vmapped call per bucket chunk,
gives each network's loss and gradients as the one-network call does (to rounding), the very same
numbers whichever networks share its call, and compiles once per bucket."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck.generate.strategies import sample_networks
from gradcheck.oracles import jax_grad


def test_many_networks_match_one_at_a_time_with_one_compile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jax_grad, "_MANY_CHUNK", 8)
    # one bucket: a single layer of width <= 8 and up to 4 samples, float32 networks
    cases = sample_networks(19, 3, depth=1, widths=(1, 8), dtypes=("float32",), kinds=("dense",))
    arguments = [tuple(case) for case in cases]
    before = jax_grad.jax_cache_info()["traces"]
    many = jax_grad.jax_loss_and_grads_many(arguments)  # chunks of 8, 8 and 3
    traces = jax_grad.jax_cache_info()["traces"] - before
    assert traces <= 1  # one program: the last 3 networks padded to a chunk of 8
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


def test_a_networks_numbers_do_not_depend_on_its_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bit for bit: alone (its chunk padded with copies of it) or among others, a network gets
    the same loss and gradients, so a saved failing network replays with its batch's numbers."""
    monkeypatch.setattr(jax_grad, "_MANY_CHUNK", 8)
    arguments = [
        tuple(c) for c in sample_networks(19, 3, depth=1, dtypes=("float32",), kinds=("dense",))
    ]
    together = jax_grad.jax_loss_and_grads_many(arguments)
    for k in (0, 9, 18):
        ((loss, grads),) = jax_grad.jax_loss_and_grads_many([arguments[k]])
        assert loss == together[k][0]
        for got, want in zip(grads, together[k][1], strict=True):
            assert all(np.array_equal(got[g], want[g]) for g in want)
