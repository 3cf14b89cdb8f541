"""finite_differences_many: finite differences of many networks, the stencils of alike networks
stacked, give every network the very numbers finite_difference gives it alone (values, error
estimates, steps, kink flags and brackets, bit for bit), for default, narrow (so that many
networks share a stacked pass) and exact-kink networks."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from gradcheck.generate.strategies import Case, sample_networks
from gradcheck.oracles import FDResult, fd_batched, finite_difference, finite_differences_many
from gradcheck.oracles.finite_differences import fd_setup

FIELDS = ("values", "errors", "steps", "kinks", "at_kink", "lower", "upper", "interval_errors")
# one layer of width 1-2, one or two samples: few shapes, so alike networks share a pass
DENSE = ("dense",)  # networks stacked across, whose passes can be shared
NARROW: dict[str, Any] = {"depth": (1, 2), "widths": (1, 2), "batch_size": (1, 2), "kinds": DENSE}


def arguments(cases: list[Case]) -> list[Any]:
    return [(c.spec, c.params, np.asarray(c.inputs), np.asarray(c.targets)) for c in cases]


@pytest.fixture(scope="module")
def cases() -> list[Any]:
    """Default and narrow networks (every activation, loss, bias mode, frozen pattern, weight
    decay, both dtypes) and networks with a relu unit exactly on its kink for every sample."""
    kinked = sample_networks(
        40, 2, target_kinks=True, activations=("relu", "leaky_relu", "tanh", "sigmoid")
    )
    drawn = sample_networks(120, 1, kinds=DENSE) + sample_networks(160, 4, **NARROW) + kinked
    drawn += sample_networks(12, 5)  # every kind: the networks differenced alone
    return arguments(drawn)


def assert_same(batched: FDResult, alone: FDResult) -> None:
    """Every field, bit for bit (NaN where NaN), with its dtype and shape."""
    assert batched.loss == alone.loss
    for name in (*FIELDS, "scales"):
        for got, want in zip(getattr(batched, name), getattr(alone, name), strict=True):
            assert got.keys() == want.keys()
            for g in want:
                assert got[g].dtype == want[g].dtype and got[g].shape == want[g].shape, name
                np.testing.assert_array_equal(got[g], want[g], err_msg=f"{name} {g}")


def stacked_runs(cases: list[Any]) -> Counter[Any]:
    """How many networks share each stacked pass (networks differenced alone left out)."""
    keys = (fd_batched._stackable(fd_setup(*case, checked=True)) for case in cases)
    return Counter(key for key in keys if key is not None)


def test_batched_differences_are_each_networks_own(cases: list[Any]) -> None:
    batched = finite_differences_many(cases)
    assert len(batched) == len(cases)
    for case, found in zip(cases, batched, strict=True):
        assert_same(found, finite_difference(*case, checked=True))


def test_the_comparison_meets_shared_passes_kinks_and_every_path(cases: list[Any]) -> None:
    """Not vacuous: many networks share a pass, the exact kinks are bracketed (alone), and the
    stacked networks span kinked activations, every loss, both bias layouts and weight decay."""
    runs = stacked_runs(cases)
    assert sum(n for n in runs.values() if n > 1) >= 40  # of the 160 narrow ones
    assert len(runs) < len(cases)
    found = finite_differences_many(cases)
    assert any(
        r.at_kink[i][g].any() for r in found for i, layer in enumerate(r.at_kink) for g in layer
    )
    stacked = [c for c in cases if fd_batched._stackable(fd_setup(*c, checked=True)) is not None]
    specs = [c[0] for c in stacked]
    assert {"relu", "leaky_relu"} <= {a for s in specs for a in s.activations}
    assert {s.loss for s in specs} >= {"svm", "softmax_cross_entropy", "mse"}
    assert any(s.weight_decay for s in specs)
    assert {np.ndim(layer["b"]) for c in stacked for layer in c[1] if "b" in layer} == {0, 1}


def test_runs_split_across_networks_give_the_same_numbers(
    cases: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small stencil chunk: runs of a few networks, larger networks differenced alone."""
    narrow = cases[120:280]
    whole = finite_differences_many(narrow)
    monkeypatch.setattr(fd_batched, "_CHUNK", 200)
    split = finite_differences_many(narrow)
    for a, b in zip(split, whole, strict=True):
        assert_same(a, b)


def test_rel_step_reaches_the_stacked_pass(cases: list[Any]) -> None:
    narrow = cases[120:160]
    batched = finite_differences_many(narrow, rel_step=1e-4)
    for case, found in zip(narrow, batched, strict=True):
        assert_same(found, finite_difference(*case, rel_step=1e-4, checked=True))
