"""Three sides agree on networks with image kinds: hand-derived = JAX = finite differences.

Networks drawn with every kind allowed (an image stem of conv2d / max_pool2d / avg_pool2d, then
flatten and dense layers), in float64 and float32: the hand-derived gradients match
``jax.value_and_grad`` of the reference forwards to the dtype's rounding of the terms each entry
sums, and the float64 finite differences within their own error estimate.
"""

from __future__ import annotations

import pytest
from helpers import assert_three_sides_agree
from hypothesis import given, settings

from gradcheck.generate.images import IMAGE_KINDS
from gradcheck.generate.sequences import SEQUENCE_KINDS
from gradcheck.generate.strategies import Case, networks, sample_networks
from gradcheck.layers import KINDS

EVERY_KIND = tuple(KINDS)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hand_jax_and_finite_differences_agree_on_each_image_kind(dtype: str) -> None:
    cases = sample_networks(
        len(IMAGE_KINDS) + len(SEQUENCE_KINDS), 11, kinds=EVERY_KIND, dtypes=(dtype,)
    )
    drawn = {k for c in cases for k in c.spec.kinds}
    assert drawn == set(KINDS) - {"residual"}  # the plan gives each image kind a stem
    # (and the case after the stems a residual block: tests/oracles/test_residual_kind.py)
    for case in cases:
        assert_three_sides_agree(case)


@settings(max_examples=4, deadline=None)
@given(networks(kinds=EVERY_KIND, depth=(1, 2), dtypes=("float64", "float32")))
def test_hand_jax_and_finite_differences_agree_on_drawn_networks(case: Case) -> None:
    assert_three_sides_agree(case)
