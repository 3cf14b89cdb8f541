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

from gradcheck.generate.norms import NORM_KINDS
from gradcheck.generate.strategies import Case, networks, sample_networks

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
